//! What the store keeps: tenants, address events (outcomes and admin actions),
//! campaigns and send attempts, and what gating needs from them in one read.

use rebound_policy::{AddressState, Event, Policy, Ts};
use rebound_vocab::Reason;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The two channels state is kept for (SPEC §3: per tenant, per channel, per address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// Who did something, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub by: String,
    pub at: Ts,
}

/// A sender account. Its policy is SPEC §3's defaults with the tenant's overrides on top.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    pub name: String,
    /// ISO 3166 alpha-2 country for national phone numbers.
    pub default_country: Option<String>,
    /// The overrides as given (a JSON object of [`Policy`] fields); unset fields follow
    /// the defaults, so a later change of a default reaches every tenant that kept it.
    pub policy_overrides: String,
    pub policy: Policy,
    /// Set while the tenant is suspended (SPEC §4 `sender_restricted`).
    pub restricted: Option<Mark>,
}

impl Tenant {
    /// A tenant with the default policy.
    pub fn new(name: &str) -> Tenant {
        Tenant {
            name: name.to_string(),
            default_country: None,
            policy_overrides: "{}".into(),
            policy: Policy::default(),
            restricted: None,
        }
    }

    /// Reads policy overrides (a JSON object); unknown fields are refused.
    pub fn parse_policy(overrides: &str) -> Result<Policy, String> {
        serde_json::from_str(overrides).map_err(|e| format!("invalid policy overrides: {e}"))
    }
}

/// Evidence kept with an event, for the contact card and reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    /// The SMTP reply or SMS error text as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// A gateway's error code or SMPP receipt state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Where the event came from (an ESP name, `mta-log`, `cli` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The rule or table entry that classified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Detail {
    pub fn is_empty(&self) -> bool {
        *self == Detail::default()
    }
}

/// One event for one address, to be appended to its history.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub tenant: String,
    pub channel: Channel,
    /// Normalised (email: lower case, IDNA domain; SMS: E.164).
    pub address: String,
    pub at: Ts,
    pub event: Event,
    /// The classified reason of a bounce.
    pub reason: Option<Reason>,
    pub campaign: Option<String>,
    pub detail: Detail,
}

impl Record {
    /// An outcome may arrive twice (a webhook retried, a log re-read): outcomes with
    /// identical content are stored once. Admin actions are never merged: doing the
    /// same thing twice in one second is still two actions.
    pub fn is_outcome(&self) -> bool {
        matches!(
            self.event,
            Event::Delivered
                | Event::Bounce { .. }
                | Event::Complaint
                | Event::Unsubscribe
                | Event::AutoReply
        )
    }
}

/// A record as stored, with its place in the history.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRecord {
    /// Insertion order; ties in `at` are ordered by it.
    pub id: i64,
    pub record: Record,
}

/// What became of one appended record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    Stored,
    /// The same outcome was already stored (retries are idempotent).
    Duplicate,
    /// The policy refused it (e.g. opt-in without consent); nothing was stored.
    Refused(rebound_policy::Refusal),
}

/// A campaign: running unless someone stopped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign {
    pub tenant: String,
    pub name: String,
    pub stopped: Option<Mark>,
}

/// Recorded `send` decisions of one tenant, campaign, channel and time: one gate run
/// or a part of one.
///
/// Why one value for many sends: a gate run decides millions of recipients at one
/// instant, and a row per send would make recording them, not deciding them, the
/// cost of gating. The store keeps each `Sends` as one row holding the addresses,
/// each ended by a line feed (a normalised address never contains one), compressed,
/// with their count.
///
/// Parts of a run may be packed where they were decided ([`Sends::seal`]): the
/// compressed frames of several threads are joined as they are (zstd frames in a
/// row decode as their contents in a row), so compressing — most of what recording
/// a send costs — is spread over the deciding threads instead of falling on the one
/// that writes.
#[derive(Clone, Debug)]
pub struct Sends {
    pub tenant: String,
    pub campaign: Option<String>,
    pub channel: Channel,
    pub at: Ts,
    /// Sealed addresses: compressed frames, in order, before `addresses`.
    sealed: Vec<u8>,
    /// Addresses not sealed yet, each ended by a line feed.
    addresses: String,
    count: u64,
}

impl Sends {
    pub fn new(tenant: &str, campaign: Option<&str>, channel: Channel, at: Ts) -> Sends {
        Sends {
            tenant: tenant.to_string(),
            campaign: campaign.map(str::to_string),
            channel,
            at,
            sealed: Vec::new(),
            addresses: String::new(),
            count: 0,
        }
    }

    /// Adds one send. A line feed cannot be part of a normalised address; one in
    /// `address` would split it in two on reading, so it is refused (false).
    pub fn push(&mut self, address: &str) -> bool {
        if address.is_empty() || memchr::memchr(b'\n', address.as_bytes()).is_some() {
            return false;
        }
        self.addresses.push_str(address);
        self.addresses.push('\n');
        self.count += 1;
        true
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Compresses the addresses added since the last seal into a frame of the
    /// stored form, with a compressor the caller keeps (one per thread).
    pub fn seal(&mut self, packer: &mut Packer) -> crate::Result<()> {
        if !self.addresses.is_empty() {
            packer.pack_into(self.addresses.as_bytes(), &mut self.sealed)?;
            self.addresses.clear();
        }
        Ok(())
    }

    /// The stored form: every address, compressed.
    pub fn packed(&self) -> crate::Result<std::borrow::Cow<'_, [u8]>> {
        if self.addresses.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(&self.sealed));
        }
        let mut out = self.sealed.clone();
        Packer::new()?.pack_into(self.addresses.as_bytes(), &mut out)?;
        Ok(std::borrow::Cow::Owned(out))
    }

    /// Every address, in order (unpacking what is sealed).
    pub fn addresses(&self) -> crate::Result<Vec<String>> {
        let mut out = crate::codec::unpack_sends(&self.sealed)?;
        out.extend(self.addresses.lines().map(str::to_string));
        Ok(out)
    }

    /// Moves `other`'s addresses to the end of these (the same run, decided in parts).
    pub fn append(&mut self, other: &mut Sends) -> crate::Result<()> {
        if other.count == 0 {
            return Ok(());
        }
        if !other.sealed.is_empty() {
            // What is unsealed here comes first: seal it before the frames follow.
            if !self.addresses.is_empty() {
                let raw = std::mem::take(&mut self.addresses);
                Packer::new()?.pack_into(raw.as_bytes(), &mut self.sealed)?;
            }
            self.sealed.extend_from_slice(&other.sealed);
        }
        self.addresses.push_str(&other.addresses);
        self.count += other.count;
        other.clear();
        Ok(())
    }

    /// Forgets the addresses, keeping tenant, campaign, channel and time.
    pub fn clear(&mut self) {
        self.sealed.clear();
        self.addresses.clear();
        self.count = 0;
    }
}

/// Two records of sends are equal when they hold the same run and the same
/// addresses in order, however they are packed.
impl PartialEq for Sends {
    fn eq(&self, other: &Sends) -> bool {
        self.tenant == other.tenant
            && self.campaign == other.campaign
            && self.channel == other.channel
            && self.at == other.at
            && self.count == other.count
            && self.addresses().ok() == other.addresses().ok()
    }
}

impl Eq for Sends {}

/// A reusable compressor for [`Sends::seal`]: zstd level 1, which shrank a list of
/// common names at common mailbox domains 3.7-fold (3.5-fold in frames of 100 KB)
/// for about 30 instructions a byte, where LZ4 took 20 and shrank it 2.4-fold.
pub struct Packer(zstd::bulk::Compressor<'static>);

impl Packer {
    pub fn new() -> crate::Result<Packer> {
        zstd::bulk::Compressor::new(1)
            .map(Packer)
            .map_err(|e| crate::Error::Backend(format!("compressing sends: {e}")))
    }

    fn pack_into(&mut self, raw: &[u8], out: &mut Vec<u8>) -> crate::Result<()> {
        let frame = self
            .0
            .compress(raw)
            .map_err(|e| crate::Error::Backend(format!("compressing sends: {e}")))?;
        out.extend_from_slice(&frame);
        Ok(())
    }
}

/// How many recipients of one gate run (or part of one) were skipped for one reason.
/// Skips are counted, never billed (SPEC §4), and kept for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub tenant: String,
    pub campaign: Option<String>,
    pub channel: Channel,
    pub at: Ts,
    /// A gate skip reason (`unsubscribed`, `frequency_capped` ...).
    pub reason: String,
    pub count: u64,
}

/// Outcome events counted by kind, bounce category and reason, and receiving domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeCount {
    /// `delivered`, `bounce`, `complaint`, `unsubscribe` or `auto_reply`.
    pub kind: String,
    pub category: Option<String>,
    pub reason: Option<String>,
    /// The recipient's domain (empty for SMS).
    pub domain: String,
    pub count: u64,
}

/// What a campaign (or a whole tenant) did in a time range: the raw counts that
/// `rebound report` arranges (SPEC §5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub attempted: u64,
    /// Skips by reason.
    pub skipped: Vec<(String, u64)>,
    pub outcomes: Vec<OutcomeCount>,
}

/// Everything gating a list needs, read once, so the list itself can stream: only
/// the addresses that are not plainly active are held, never the list.
#[derive(Clone, Debug)]
pub struct GateSnapshot {
    pub tenant: Tenant,
    pub campaign_stopped: bool,
    /// Addresses with a mark, or a soft bounce recent enough to matter at `at`.
    pub states: crate::FastMap<String, PackedState>,
    /// Email domains confirmed non-existent.
    pub nonexistent_domains: HashSet<String>,
    /// Send times within the frequency window before `at`, per address (empty when
    /// the tenant has no frequency cap).
    pub recent_sends: HashMap<String, Vec<Ts>>,
}

/// An [`AddressState`] in half the space, for gate snapshots that hold a million.
///
/// Why: the map's table is sized in powers of two, so each byte of value is paid
/// about twice per marked address; an `Option<i64>` takes 16 bytes, a time with a
/// reserved "never" value 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedState {
    times: [i64; 6],
    soft_streak: u32,
}

/// The time no event can have (`Ts::MIN` is refused at the edges), meaning "never".
const NEVER: i64 = i64::MIN;

impl PackedState {
    pub fn pack(s: &AddressState) -> PackedState {
        let t = |v: Option<i64>| v.unwrap_or(NEVER);
        PackedState {
            times: [
                t(s.blocked_at),
                t(s.suppressed_at),
                t(s.complained_at),
                t(s.opted_out_at),
                t(s.last_soft_bounce_at),
                t(s.last_delivered_at),
            ],
            soft_streak: s.soft_streak,
        }
    }

    /// The stored form, column `packed`, which is all a gate snapshot reads: a
    /// byte whose bit `i` says the `i`th time is set and bit 6 that a streak
    /// follows, then each set time as 8 bytes and the streak as 4, little-endian.
    /// A blocked address takes 9 bytes.
    ///
    /// Why one column: a gate snapshot read each marked address's seven state
    /// columns for about 3,700 instructions; reading this one instead, about 2,300
    /// (callgrind, 50,000 marked addresses on SQLite).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(53);
        out.push(0);
        for (i, &t) in self.times.iter().enumerate() {
            if t != NEVER {
                out[0] |= 1 << i;
                out.extend_from_slice(&t.to_le_bytes());
            }
        }
        if self.soft_streak != 0 {
            out[0] |= 1 << 6;
            out.extend_from_slice(&self.soft_streak.to_le_bytes());
        }
        out
    }

    /// Reads [`PackedState::to_bytes`]; `None` if the bytes are not of that form.
    pub fn from_bytes(b: &[u8]) -> Option<PackedState> {
        let (&flags, mut rest) = b.split_first()?;
        let mut take = |n: usize| {
            let (head, tail) = rest.split_at_checked(n)?;
            rest = tail;
            Some(head)
        };
        let mut times = [NEVER; 6];
        for (i, t) in times.iter_mut().enumerate() {
            if flags & (1 << i) != 0 {
                *t = i64::from_le_bytes(take(8)?.try_into().ok()?);
            }
        }
        let soft_streak = if flags & (1 << 6) != 0 {
            u32::from_le_bytes(take(4)?.try_into().ok()?)
        } else {
            0
        };
        (rest.is_empty() && flags & 0x80 == 0).then_some(PackedState { times, soft_streak })
    }

    pub fn unpack(&self) -> AddressState {
        let t = |i: usize| (self.times[i] != NEVER).then_some(self.times[i]);
        AddressState {
            blocked_at: t(0),
            suppressed_at: t(1),
            complained_at: t(2),
            opted_out_at: t(3),
            soft_streak: self.soft_streak,
            last_soft_bounce_at: t(4),
            last_delivered_at: t(5),
        }
    }
}

#[cfg(test)]
mod packed_tests {
    use super::*;
    use proptest::prelude::*;

    fn time() -> impl Strategy<Value = Option<i64>> {
        proptest::option::of((i64::MIN + 1)..=i64::MAX)
    }

    /// Any state: every time set or not, any streak.
    fn state() -> impl Strategy<Value = AddressState> {
        (time(), time(), time(), time(), time(), time(), any::<u32>()).prop_map(
            |(a, b, c, d, e, f, streak)| AddressState {
                blocked_at: a,
                suppressed_at: b,
                complained_at: c,
                opted_out_at: d,
                soft_streak: streak,
                last_soft_bounce_at: e,
                last_delivered_at: f,
            },
        )
    }

    proptest! {
        #[test]
        fn stored_bytes_keep_every_field(s in state()) {
            let p = PackedState::pack(&s);
            let bytes = p.to_bytes();
            prop_assert_eq!(PackedState::from_bytes(&bytes), Some(p));
            // Cut or lengthened, the bytes are refused, not misread.
            prop_assert_eq!(PackedState::from_bytes(&bytes[..bytes.len() - 1]), None);
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert_eq!(PackedState::from_bytes(&longer), None);
        }

        #[test]
        fn packing_keeps_every_field(s in state()) {
            prop_assert_eq!(PackedState::pack(&s).unpack(), s);
        }
    }
}

#[cfg(test)]
mod sends_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// However a run is cut into parts, sealed or not, and joined, its stored
        /// form reads back as every address in order.
        #[test]
        fn sealed_parts_read_back_in_order(
            parts in proptest::collection::vec(
                (proptest::collection::vec("[a-z]{1,8}@[a-z]{1,5}\\.example", 0..20), any::<bool>()),
                0..8,
            ),
            seal_whole in any::<bool>(),
        ) {
            let mut packer = Packer::new().unwrap();
            let mut whole = Sends::new("t", Some("c"), Channel::Email, 7);
            let mut want = Vec::new();
            for (addresses, seal) in &parts {
                let mut part = Sends::new("t", Some("c"), Channel::Email, 7);
                for a in addresses {
                    prop_assert!(part.push(a));
                    want.push(a.clone());
                }
                if *seal {
                    part.seal(&mut packer).unwrap();
                }
                whole.append(&mut part).unwrap();
                prop_assert!(part.is_empty());
            }
            if seal_whole {
                whole.seal(&mut packer).unwrap();
            }
            prop_assert_eq!(whole.len(), want.len() as u64);
            prop_assert_eq!(&whole.addresses().unwrap(), &want);
            let stored = crate::codec::unpack_sends(&whole.packed().unwrap()).unwrap();
            prop_assert_eq!(stored, want);
        }
    }
}
