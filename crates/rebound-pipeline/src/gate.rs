//! Gating one recipient at a time against a [`GateSnapshot`] (SPEC §4): the
//! snapshot is read once per list, the list streams through [`Gate::decide`].
//! `rebound gate` and `POST /v1/gate` both use it, so they decide alike.

use rebound_policy::{GateFacts, Policy, SkipReason, decide};
use rebound_store::{Attempt, Channel, GateSnapshot, Ts};

/// One list's gating: the snapshot, the clock, and the sends decided so far (they
/// count against the frequency cap of the recipients that follow).
pub struct Gate {
    snap: GateSnapshot,
    policy: Policy,
    channel: Channel,
    campaign: Option<String>,
    at: Ts,
    window_start: Ts,
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
        }
    }

    /// `Ok` to send (with the attempt to record unless it is a dry run), or the
    /// reason to skip.
    pub fn decide(&mut self, recipient: &str) -> Result<Attempt, SkipReason> {
        let address = crate::normalize(self.channel, recipient, &self.snap.tenant).ok();
        let at = self.at;
        let recent_sends = match &address {
            Some(a) if self.policy.frequency_cap > 0 => {
                self.snap.recent_sends.get(a).map_or(0, |v| {
                    v.iter()
                        .filter(|&&t| t > self.window_start && t <= at)
                        .count()
                }) as u32
            }
            _ => 0,
        };
        let domain_nonexistent = match (&address, self.channel) {
            (Some(a), Channel::Email) => self
                .snap
                .nonexistent_domains
                .contains(rebound_address::email_domain(a)),
            _ => false,
        };
        let facts = GateFacts {
            tenant_restricted: self.snap.tenant.restricted.is_some(),
            campaign_stopped: self.snap.campaign_stopped,
            address_valid: address.is_some(),
            state: address.as_ref().and_then(|a| self.snap.states.get(a)),
            domain_nonexistent,
            recent_sends,
        };
        if let Some(skip) = decide(&facts, &self.policy, at) {
            return Err(skip);
        }
        let address = address.ok_or(SkipReason::InvalidAddress)?;
        if self.policy.frequency_cap > 0 {
            self.snap
                .recent_sends
                .entry(address.clone())
                .or_default()
                .push(at);
        }
        Ok(Attempt {
            tenant: self.snap.tenant.name.clone(),
            campaign: self.campaign.clone(),
            channel: self.channel,
            address,
            at,
        })
    }
}
