//! Gating one recipient at a time against a [`GateSnapshot`] (SPEC §4): the
//! snapshot is read once per list, the list streams through [`Gate::decide`].
//! `rebound gate` and `POST /v1/gate` both use it, so they decide alike.

use rebound_policy::{GateFacts, Policy, SkipReason, decide};
use rebound_store::{Channel, GateSnapshot, Sends, Ts};

/// One list's gating: the snapshot, the clock, and the sends decided so far (they
/// count against the frequency cap of the recipients that follow).
pub struct Gate {
    snap: GateSnapshot,
    policy: Policy,
    channel: Channel,
    campaign: Option<String>,
    at: Ts,
    window_start: Ts,
    /// The normalised form of the recipient being decided.
    buf: String,
}

impl Gate {
    pub fn new(snap: GateSnapshot, channel: Channel, campaign: Option<String>, at: Ts) -> Gate {
        let policy = snap.tenant.policy.clone();
        let window_start = at.saturating_sub(policy.frequency_window);
        Gate {
            snap,
            policy,
            channel,
            campaign,
            at,
            window_start,
            buf: String::new(),
        }
    }

    /// `Ok` with the normalised address to send to (valid until the next call; the
    /// caller records it unless it is a dry run), or the reason to skip.
    ///
    /// Why a borrowed address: a list of millions is decided in one loop, and the
    /// normalised form is built in one reused buffer instead of a new string each.
    pub fn decide(&mut self, recipient: &str) -> Result<&str, SkipReason> {
        let valid = match self.channel {
            Channel::Email => {
                rebound_address::normalize_email_into(recipient, &mut self.buf).is_ok()
            }
            Channel::Sms => match crate::normalize(self.channel, recipient, &self.snap.tenant) {
                Ok(a) => {
                    self.buf = a;
                    true
                }
                Err(_) => false,
            },
        };
        let address = valid.then_some(self.buf.as_str());
        let at = self.at;
        let recent_sends = match address {
            Some(a) if self.policy.frequency_cap > 0 => {
                self.snap.recent_sends.get(a).map_or(0, |v| {
                    v.iter()
                        .filter(|&&t| t > self.window_start && t <= at)
                        .count()
                }) as u32
            }
            _ => 0,
        };
        let domain_nonexistent = match (address, self.channel) {
            (Some(a), Channel::Email) => {
                !self.snap.nonexistent_domains.is_empty()
                    && self
                        .snap
                        .nonexistent_domains
                        .contains(rebound_address::email_domain(a))
            }
            _ => false,
        };
        let facts = GateFacts {
            tenant_restricted: self.snap.tenant.restricted.is_some(),
            campaign_stopped: self.snap.campaign_stopped,
            address_valid: address.is_some(),
            state: match address {
                Some(a) if !self.snap.states.is_empty() => self.snap.states.get(a),
                _ => None,
            },
            domain_nonexistent,
            recent_sends,
        };
        if let Some(skip) = decide(&facts, &self.policy, at) {
            return Err(skip);
        }
        if !valid {
            return Err(SkipReason::InvalidAddress);
        }
        if self.policy.frequency_cap > 0 {
            self.snap
                .recent_sends
                .entry(self.buf.clone())
                .or_default()
                .push(at);
        }
        Ok(&self.buf)
    }

    /// An empty record of this list's sends, to push decided addresses into.
    pub fn sends(&self) -> Sends {
        Sends::new(
            &self.snap.tenant.name,
            self.campaign.as_deref(),
            self.channel,
            self.at,
        )
    }
}
