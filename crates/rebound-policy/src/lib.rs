//! Rebound's policies (SPEC §3) and send gating (SPEC §4) as pure functions.
//!
//! Every outcome and admin action for an address is an [`Event`]; the address's state
//! is what [`apply`] makes of its history, one event at a time, under a tenant's
//! [`Policy`]. Because the state is a fold over the history, replaying an address's
//! history always gives its stored state, and a store only needs to persist events
//! and a cached copy of the fold. [`decide`] turns state into `send` or `skip` with a
//! reason.
//!
//! Architecture invariant: no IO and no clock. Time is always an argument, so policies
//! over time can be tested by moving it.

use rebound_vocab::{Category, Scope};
use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, UTC.
pub type Ts = i64;

pub const DAY: i64 = 86_400;

/// A tenant's policy. Every default is SPEC §3's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// A permanent hard bounce (scope recipient or domain) blocks the address.
    pub hard_bounce_blocks: bool,
    /// This many consecutive recipient-side soft bounces suppress the address (0: never).
    pub soft_bounce_limit: u32,
    /// After a recipient-side soft bounce the address rests this long (seconds).
    pub soft_bounce_rest: i64,
    /// A spam complaint suppresses the address for good.
    pub complaint_suppresses: bool,
    /// Smart sending: at most this many messages per recipient per window (0: no cap).
    pub frequency_cap: u32,
    /// The smart-sending window (seconds).
    pub frequency_window: i64,
    /// A domain is confirmed non-existent after this many permanent `bad_domain`
    /// bounces (0: never on bad_domain alone)...
    pub domain_confirm_bounces: u32,
    /// ...spread over more than this many seconds, so that one passing DNS failure,
    /// however many recipients it hits at once, never suppresses a whole domain.
    pub domain_confirm_span: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            hard_bounce_blocks: true,
            soft_bounce_limit: 4,
            soft_bounce_rest: 7 * DAY,
            complaint_suppresses: true,
            frequency_cap: 0,
            frequency_window: DAY,
            domain_confirm_bounces: 2,
            domain_confirm_span: DAY,
        }
    }
}

/// What happened to an address, or what someone did to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Delivered,
    /// A classified bounce.
    Bounce {
        category: Category,
        scope: Scope,
        permanent: bool,
    },
    Complaint,
    Unsubscribe,
    AutoReply,
    /// An admin removed a block or suppression.
    Unblock {
        by: String,
    },
    /// An admin opted the address out.
    OptOut {
        by: String,
    },
    /// An admin opted the address back in, with consent evidence.
    OptIn {
        by: String,
        consent: String,
    },
    /// An admin undid the confirmation that the address's domain does not exist.
    /// Recorded in the domain's own history (the address `@domain`); it changes no
    /// address's state, only the domain's ([`DomainEvidence::Cleared`]).
    UnblockDomain {
        by: String,
    },
}

/// Why an event cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Opting back in needs recorded consent (SPEC §3).
    ConsentMissing,
    /// An admin action needs to say who did it.
    WhoMissing,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::ConsentMissing => "opt-in refused: consent evidence is required",
            Refusal::WhoMissing => "admin action refused: say who did it (--by)",
        })
    }
}

impl std::error::Error for Refusal {}

/// The derived state of one address. Several marks can hold at once (an address can
/// be both opted out and blocked); gating reports the one that matters most.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressState {
    pub blocked_at: Option<Ts>,
    pub suppressed_at: Option<Ts>,
    pub complained_at: Option<Ts>,
    pub opted_out_at: Option<Ts>,
    /// Consecutive recipient-side soft bounces since the last delivery.
    pub soft_streak: u32,
    pub last_soft_bounce_at: Option<Ts>,
    pub last_delivered_at: Option<Ts>,
}

/// The one-word state shown on a contact card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    SoftBouncing,
    Blocked,
    Suppressed,
    Complained,
    OptedOut,
}

impl AddressState {
    pub fn status(&self) -> Status {
        if self.opted_out_at.is_some() {
            Status::OptedOut
        } else if self.complained_at.is_some() {
            Status::Complained
        } else if self.blocked_at.is_some() {
            Status::Blocked
        } else if self.suppressed_at.is_some() {
            Status::Suppressed
        } else if self.soft_streak > 0 {
            Status::SoftBouncing
        } else {
            Status::Active
        }
    }
}

/// Applies one event at time `at` under `policy`. Pure: the same history always
/// folds to the same state.
pub fn apply(
    state: &AddressState,
    event: &Event,
    at: Ts,
    policy: &Policy,
) -> Result<AddressState, Refusal> {
    let mut s = state.clone();
    match event {
        Event::Delivered => {
            s.soft_streak = 0;
            s.last_delivered_at = Some(at);
        }
        Event::Bounce {
            category,
            scope,
            permanent,
        } => {
            let recipient_side = matches!(scope, Scope::Recipient | Scope::Domain);
            match category {
                Category::Hard if recipient_side && *permanent && policy.hard_bounce_blocks => {
                    s.blocked_at.get_or_insert(at);
                }
                // A hard verdict on a transient reply, or a soft one: recipient-side
                // soft bounces rest the address and count towards suppression;
                // server-, domain- and sender-related ones do not.
                Category::Hard | Category::Soft if *scope == Scope::Recipient => {
                    s.soft_streak = s.soft_streak.saturating_add(1);
                    s.last_soft_bounce_at = Some(at);
                    if policy.soft_bounce_limit > 0 && s.soft_streak >= policy.soft_bounce_limit {
                        s.suppressed_at.get_or_insert(at);
                    }
                }
                _ => {}
            }
        }
        Event::Complaint => {
            if policy.complaint_suppresses {
                s.complained_at.get_or_insert(at);
            }
        }
        Event::Unsubscribe => {
            s.opted_out_at.get_or_insert(at);
        }
        Event::AutoReply => {}
        Event::Unblock { by } => {
            require_who(by)?;
            s.blocked_at = None;
            s.suppressed_at = None;
            s.soft_streak = 0;
            s.last_soft_bounce_at = None;
        }
        Event::OptOut { by } => {
            require_who(by)?;
            s.opted_out_at.get_or_insert(at);
        }
        Event::UnblockDomain { by } => require_who(by)?,
        Event::OptIn { by, consent } => {
            require_who(by)?;
            if consent.trim().is_empty() {
                return Err(Refusal::ConsentMissing);
            }
            s.opted_out_at = None;
            s.complained_at = None;
        }
    }
    Ok(s)
}

fn require_who(by: &str) -> Result<(), Refusal> {
    if by.trim().is_empty() {
        Err(Refusal::WhoMissing)
    } else {
        Ok(())
    }
}

/// Folds a history (in order) into a state, skipping refused events (they were
/// refused when they arrived and are not stored, but a replay must not fail).
pub fn replay<'a>(
    history: impl IntoIterator<Item = (&'a Event, Ts)>,
    policy: &Policy,
) -> AddressState {
    history
        .into_iter()
        .fold(AddressState::default(), |s, (e, at)| {
            apply(&s, e, at, policy).unwrap_or(s)
        })
}

/// What an event says about the recipient's whole domain (SPEC §3: "bad domain
/// confirmed non-existent").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainEvidence {
    /// A permanent `bad_domain` bounce (NXDOMAIN-type: host or domain not found).
    /// Alone it proves little: resolvers fail for a while and then recover.
    BadDomain,
    /// A permanent `domain_not_accepting` bounce: the domain publishes a null MX
    /// (RFC 7505), an explicit statement by its owner, so one is enough.
    NotAccepting,
    /// A delivery to an address at the domain: it exists after all.
    Delivered,
    /// An admin said the domain exists ([`Event::UnblockDomain`]): like a delivery,
    /// the evidence before it no longer counts.
    Cleared,
}

impl DomainEvidence {
    /// The domain evidence in an address event, given the bounce's reason.
    pub fn of(event: &Event, reason: Option<rebound_vocab::Reason>) -> Option<DomainEvidence> {
        use rebound_vocab::Reason;
        match (event, reason) {
            (Event::Delivered, _) => Some(DomainEvidence::Delivered),
            (Event::UnblockDomain { .. }, _) => Some(DomainEvidence::Cleared),
            (
                Event::Bounce {
                    permanent: true, ..
                },
                Some(Reason::BadDomain),
            ) => Some(DomainEvidence::BadDomain),
            (
                Event::Bounce {
                    permanent: true, ..
                },
                Some(Reason::DomainNotAccepting),
            ) => Some(DomainEvidence::NotAccepting),
            _ => None,
        }
    }
}

/// The derived state of one recipient domain, a fold over the domain evidence of all
/// its addresses' events (in time order), like [`AddressState`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainState {
    /// Permanent bad_domain bounces since the last delivery.
    pub bad_count: u32,
    pub bad_first_at: Option<Ts>,
    pub bad_last_at: Option<Ts>,
    /// Set once the domain is confirmed non-existent; cleared by a delivery.
    pub nonexistent_since: Option<Ts>,
}

/// Applies one piece of domain evidence at time `at`.
pub fn apply_domain(
    state: &DomainState,
    evidence: DomainEvidence,
    at: Ts,
    policy: &Policy,
) -> DomainState {
    let mut s = state.clone();
    match evidence {
        DomainEvidence::Delivered | DomainEvidence::Cleared => s = DomainState::default(),
        DomainEvidence::NotAccepting => {
            s.nonexistent_since.get_or_insert(at);
        }
        DomainEvidence::BadDomain => {
            s.bad_count = s.bad_count.saturating_add(1);
            let first = *s.bad_first_at.get_or_insert(at);
            s.bad_last_at = Some(at);
            if policy.domain_confirm_bounces > 0
                && s.bad_count >= policy.domain_confirm_bounces
                && at - first > policy.domain_confirm_span
            {
                s.nonexistent_since.get_or_insert(at);
            }
        }
    }
    s
}

/// Folds a domain's evidence (in time order) into its state.
pub fn replay_domain(
    history: impl IntoIterator<Item = (DomainEvidence, Ts)>,
    policy: &Policy,
) -> DomainState {
    history
        .into_iter()
        .fold(DomainState::default(), |s, (e, at)| {
            apply_domain(&s, e, at, policy)
        })
}

/// Why a send is skipped (SPEC §4, §8 `rebound gate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Unsubscribed,
    Complained,
    HardBounced,
    Suppressed,
    InvalidAddress,
    DomainNonexistent,
    RecentSoftBounce,
    FrequencyCapped,
    CampaignStopped,
    SenderRestricted,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Unsubscribed => "unsubscribed",
            SkipReason::Complained => "complained",
            SkipReason::HardBounced => "hard_bounced",
            SkipReason::Suppressed => "suppressed",
            SkipReason::InvalidAddress => "invalid_address",
            SkipReason::DomainNonexistent => "domain_nonexistent",
            SkipReason::RecentSoftBounce => "recent_soft_bounce",
            SkipReason::FrequencyCapped => "frequency_capped",
            SkipReason::CampaignStopped => "campaign_stopped",
            SkipReason::SenderRestricted => "sender_restricted",
        }
    }
}

/// Everything a gate decision for one recipient depends on.
#[derive(Clone, Debug, Default)]
pub struct GateFacts<'a> {
    pub tenant_restricted: bool,
    pub campaign_stopped: bool,
    pub address_valid: bool,
    pub state: Option<&'a AddressState>,
    pub domain_nonexistent: bool,
    /// Sends to this recipient within the policy's frequency window before `now`.
    pub recent_sends: u32,
}

/// Decides one recipient: `None` means send. The order is the order of certainty and
/// of what a sender must fix first: the whole sender, the campaign, the address
/// itself, then its state, then timing.
pub fn decide(f: &GateFacts<'_>, policy: &Policy, now: Ts) -> Option<SkipReason> {
    if f.tenant_restricted {
        return Some(SkipReason::SenderRestricted);
    }
    if f.campaign_stopped {
        return Some(SkipReason::CampaignStopped);
    }
    if !f.address_valid {
        return Some(SkipReason::InvalidAddress);
    }
    if let Some(s) = f.state {
        if s.opted_out_at.is_some() {
            return Some(SkipReason::Unsubscribed);
        }
        if s.complained_at.is_some() {
            return Some(SkipReason::Complained);
        }
        if s.blocked_at.is_some() {
            return Some(SkipReason::HardBounced);
        }
        if s.suppressed_at.is_some() {
            return Some(SkipReason::Suppressed);
        }
    }
    if f.domain_nonexistent {
        return Some(SkipReason::DomainNonexistent);
    }
    if let Some(last) = f.state.and_then(|s| s.last_soft_bounce_at)
        && now >= last
        && now - last < policy.soft_bounce_rest
    {
        return Some(SkipReason::RecentSoftBounce);
    }
    if policy.frequency_cap > 0 && f.recent_sends >= policy.frequency_cap {
        return Some(SkipReason::FrequencyCapped);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soft() -> Event {
        Event::Bounce {
            category: Category::Soft,
            scope: Scope::Recipient,
            permanent: true,
        }
    }

    fn run(events: &[Event]) -> AddressState {
        let p = Policy::default();
        replay(
            events.iter().enumerate().map(|(i, e)| (e, i as Ts * DAY)),
            &p,
        )
    }

    #[test]
    fn four_consecutive_recipient_soft_bounces_suppress_and_delivery_resets() {
        assert_eq!(
            run(&[soft(), soft(), soft()]).status(),
            Status::SoftBouncing
        );
        assert_eq!(
            run(&[soft(), soft(), soft(), soft()]).status(),
            Status::Suppressed
        );
        assert_eq!(
            run(&[soft(), soft(), soft(), Event::Delivered, soft()]).soft_streak,
            1
        );
    }

    #[test]
    fn sender_and_receiver_bounces_never_count() {
        let sender = Event::Bounce {
            category: Category::Soft,
            scope: Scope::Sender,
            permanent: true,
        };
        let busy = Event::Bounce {
            category: Category::Technical,
            scope: Scope::Receiver,
            permanent: false,
        };
        let s = run(&[sender.clone(), sender.clone(), busy.clone(), sender, busy]);
        assert_eq!(s, AddressState::default());
    }

    #[test]
    fn hard_bounce_blocks_until_unblocked() {
        let hard = Event::Bounce {
            category: Category::Hard,
            scope: Scope::Recipient,
            permanent: true,
        };
        assert_eq!(run(std::slice::from_ref(&hard)).status(), Status::Blocked);
        assert_eq!(
            run(&[hard.clone(), Event::Delivered]).status(),
            Status::Blocked
        );
        assert_eq!(
            run(&[hard, Event::Unblock { by: "ops".into() }]).status(),
            Status::Active
        );
    }

    #[test]
    fn opt_in_needs_consent() {
        let p = Policy::default();
        let s = apply(&AddressState::default(), &Event::Unsubscribe, 0, &p).unwrap();
        let refused = apply(
            &s,
            &Event::OptIn {
                by: "ops".into(),
                consent: " ".into(),
            },
            1,
            &p,
        );
        assert_eq!(refused, Err(Refusal::ConsentMissing));
        let ok = apply(
            &s,
            &Event::OptIn {
                by: "ops".into(),
                consent: "form 12 signed".into(),
            },
            1,
            &p,
        )
        .unwrap();
        assert_eq!(ok.status(), Status::Active);
    }

    #[test]
    fn a_domain_is_nonexistent_only_on_lasting_or_explicit_evidence() {
        let p = Policy::default();
        let burst = replay_domain((0..50).map(|i| (DomainEvidence::BadDomain, i * 60)), &p);
        assert_eq!(burst.nonexistent_since, None, "one DNS outage is not proof");
        let lasting = replay_domain(
            [
                (DomainEvidence::BadDomain, 0),
                (DomainEvidence::BadDomain, DAY + 1),
            ],
            &p,
        );
        assert_eq!(lasting.nonexistent_since, Some(DAY + 1));
        let revived = apply_domain(&lasting, DomainEvidence::Delivered, 2 * DAY, &p);
        assert_eq!(revived, DomainState::default());
        let null_mx = replay_domain([(DomainEvidence::NotAccepting, 5)], &p);
        assert_eq!(null_mx.nonexistent_since, Some(5));
    }

    #[test]
    fn an_admin_clears_a_nonexistent_domain_and_new_evidence_counts_afresh() {
        let p = Policy::default();
        let unblock = Event::UnblockDomain { by: "ana".into() };
        assert_eq!(
            DomainEvidence::of(&unblock, None),
            Some(DomainEvidence::Cleared)
        );
        assert_eq!(
            apply(
                &AddressState::default(),
                &Event::UnblockDomain { by: " ".into() },
                0,
                &p
            ),
            Err(Refusal::WhoMissing)
        );
        let cleared = replay_domain(
            [
                (DomainEvidence::BadDomain, 0),
                (DomainEvidence::BadDomain, DAY + 1),
                (DomainEvidence::Cleared, DAY + 2),
                (DomainEvidence::BadDomain, DAY + 3),
            ],
            &p,
        );
        assert_eq!(cleared.nonexistent_since, None);
        assert_eq!(cleared.bad_count, 1, "only what came after the clearing");
        let null_mx = replay_domain(
            [
                (DomainEvidence::NotAccepting, 0),
                (DomainEvidence::Cleared, 1),
            ],
            &p,
        );
        assert_eq!(null_mx, DomainState::default());
    }

    #[test]
    fn soft_bounce_rests_the_address_for_seven_days() {
        let s = run(&[soft()]);
        let p = Policy::default();
        let f = GateFacts {
            address_valid: true,
            state: Some(&s),
            ..Default::default()
        };
        assert_eq!(decide(&f, &p, 6 * DAY), Some(SkipReason::RecentSoftBounce));
        assert_eq!(decide(&f, &p, 7 * DAY), None);
    }
}
