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

    /// True when decisions depend on earlier decisions of the same list (a
    /// frequency cap counts this run's sends): the list must then be decided in
    /// order by [`Gate::decide`]; otherwise [`Gate::decide_shared`] may decide its
    /// parts side by side.
    pub fn ordered(&self) -> bool {
        self.policy.frequency_cap > 0
    }

    /// `Ok` with the normalised address to send to (valid until the next call; the
    /// caller records it unless it is a dry run), or the reason to skip.
    ///
    /// Why a borrowed address: a list of millions is decided in one loop, and the
    /// normalised form is built in one reused buffer instead of a new string each.
    pub fn decide(&mut self, recipient: &str) -> Result<&str, SkipReason> {
        let mut buf = std::mem::take(&mut self.buf);
        let d = self.decide_shared(recipient, &mut buf);
        self.buf = buf;
        d?;
        if self.policy.frequency_cap > 0 {
            self.snap
                .recent_sends
                .entry(self.buf.clone())
                .or_default()
                .push(self.at);
        }
        Ok(&self.buf)
    }

    /// Decides one recipient against the snapshot alone, leaving the normalised
    /// address in `buf` when it is to be sent. It does not count the send against
    /// the frequency cap of later recipients: use it only when the gate is not
    /// [`ordered`](Gate::ordered), or through [`Gate::decide`].
    pub fn decide_shared(&self, recipient: &str, buf: &mut String) -> Result<(), SkipReason> {
        let valid = match self.channel {
            Channel::Email => rebound_address::normalize_email_into(recipient, buf).is_ok(),
            Channel::Sms => match crate::normalize(self.channel, recipient, &self.snap.tenant) {
                Ok(a) => {
                    *buf = a;
                    true
                }
                Err(_) => false,
            },
        };
        let address = valid.then_some(buf.as_str());
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
        let state = match address {
            Some(a) if !self.snap.states.is_empty() => self.snap.states.get(a).map(|p| p.unpack()),
            _ => None,
        };
        let facts = GateFacts {
            tenant_restricted: self.snap.tenant.restricted.is_some(),
            campaign_stopped: self.snap.campaign_stopped,
            address_valid: address.is_some(),
            state: state.as_ref(),
            domain_nonexistent,
            recent_sends,
        };
        if let Some(skip) = decide(&facts, &self.policy, at) {
            return Err(skip);
        }
        if !valid {
            return Err(SkipReason::InvalidAddress);
        }
        Ok(())
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
