//! The shared vocabulary of Rebound: what a delivery outcome is called.
//!
//! Every other crate speaks in these terms: a bounce has a [`Category`] (how bad),
//! a [`Reason`] (what happened, from a closed list) and a [`Scope`] (who has to
//! act). Each reason carries its defaults and its equivalent in Sisimai's reason
//! names, the lingua franca of bounce processing, so that a verdict can always be
//! printed in either vocabulary.
//!
//! This crate has no logic beyond naming and lookup, and depends on serde only.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad a bounce is for the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The address is not valid: misspelled, non-existent, closed, or its domain is bad.
    Hard,
    /// The address exists but cannot take this mail now (full, inactive, or the
    /// message or its sender was refused for content, authentication or reputation).
    Soft,
    /// A temporary problem on the receiving side or the path to it: server down or
    /// busy, rate limiting, greylisting, network or DNS trouble.
    Technical,
    /// No usable information.
    Other,
}

/// Who has to act on a bounce. Scope drives policy: only `recipient` and `domain`
/// bounces can ever count against an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The address itself.
    Recipient,
    /// The recipient's whole domain.
    Domain,
    /// The receiving server, temporarily.
    Receiver,
    /// The sender: its content, authentication, links, reputation or sending rate.
    Sender,
}

/// Declares [`Reason`] from one table: name, default category, default scope,
/// Sisimai equivalent, report label and meaning. One row per reason keeps the
/// enum, its parsing and its documentation from drifting apart.
macro_rules! reasons {
    ($( #[doc = $doc:literal] $variant:ident = $name:literal, $cat:ident, $scope:ident, $sisimai:literal, $label:literal; )*) => {
        /// What happened, from a closed and documented list.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Reason {
            $( #[doc = $doc] $variant, )*
        }

        impl Reason {
            /// Every reason, in documentation order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant),*];

            /// The stable snake_case name used in JSON, rule files and the CLI.
            pub fn as_str(self) -> &'static str {
                match self { $(Reason::$variant => $name,)* }
            }

            /// The category a bounce with this reason has unless a rule says otherwise.
            pub fn default_category(self) -> Category {
                match self { $(Reason::$variant => Category::$cat,)* }
            }

            /// The scope a bounce with this reason has unless a rule says otherwise.
            pub fn default_scope(self) -> Scope {
                match self { $(Reason::$variant => Scope::$scope,)* }
            }

            /// The nearest Sisimai reason name (Sisimai 5 vocabulary).
            pub fn default_sisimai(self) -> &'static str {
                match self { $(Reason::$variant => $sisimai,)* }
            }

            /// What the reason means, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self { $(Reason::$variant => $doc.trim_ascii(),)* }
            }

            /// The label senders see in reports.
            pub fn label(self) -> &'static str {
                match self { $(Reason::$variant => $label,)* }
            }
        }

        impl FromStr for Reason {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s { $($name => Ok(Reason::$variant),)* _ => Err(UnknownName::new("reason", s)) }
            }
        }
    };
}

reasons! {
    /// The mailbox does not exist (user unknown, no such user).
    InvalidRecipient = "invalid_recipient", Hard, Recipient, "userunknown", "Invalid recipient";
    /// The recipient's domain does not exist or has no usable mail host.
    BadDomain = "bad_domain", Hard, Domain, "hostunknown", "Bad domain";
    /// The domain says it accepts no mail at all (null MX, RFC 7505).
    DomainNotAccepting = "domain_not_accepting", Hard, Domain, "notaccept", "Bad domain";
    /// The address is syntactically invalid.
    AddressError = "address_error", Hard, Recipient, "userunknown", "Address error";
    /// The account existed but has been closed or deleted for good.
    ClosedAccount = "closed_account", Hard, Recipient, "userunknown", "Closed account";
    /// The recipient has moved and left no forwarding (551 User not local).
    HasMoved = "has_moved", Hard, Recipient, "hasmoved", "Closed account";
    /// A permanent failure for this recipient with no more specific reason.
    GeneralHardBounce = "general_hard_bounce", Hard, Recipient, "userunknown", "General hard bounce";
    /// The sending provider refused because the address is on its suppression list.
    ProviderSuppressed = "provider_suppressed", Hard, Recipient, "suppressed", "General hard bounce";
    /// The mailbox is full or over quota.
    MailboxFull = "mailbox_full", Soft, Recipient, "mailboxfull", "Mailbox full";
    /// The account exists but is disabled, suspended or inactive.
    AccountInactive = "account_inactive", Soft, Recipient, "suspend", "Account inactive";
    /// The recipient's own filter or settings refused this message.
    Filtered = "filtered", Soft, Recipient, "filtered", "Other receiver error";
    /// A permanent refusal that names no cause.
    GeneralError = "general_error", Soft, Recipient, "undefined", "General error";
    /// The message exceeds a size limit.
    MessageTooLarge = "message_too_large", Soft, Sender, "mesgtoobig", "Message too large";
    /// The message is malformed or not compliant with the mail RFCs.
    DataFormatError = "data_format_error", Soft, Sender, "contenterror", "Data format error";
    /// The message was refused as spam or for its content.
    SpamContent = "spam_content", Soft, Sender, "spamdetected", "Spam/content block";
    /// A virus or malware was found in the message.
    VirusDetected = "virus_detected", Soft, Sender, "virusdetected", "Virus detected";
    /// SPF, DKIM, DMARC or ARC checks failed, or authentication was required.
    AuthFailure = "auth_failure", Soft, Sender, "authfailure", "Authentication failure";
    /// The sending IP or domain has a bad reputation or is on a blocklist.
    SenderReputation = "sender_reputation", Soft, Sender, "blocked", "Sender reputation/blocklist";
    /// A URL or domain inside the message is on a blocklist.
    UrlBlocklisted = "url_blocklisted", Soft, Sender, "spamdetected", "URL in message blocklisted";
    /// The sending IP has no (or no matching) reverse DNS.
    ReverseDnsMissing = "reverse_dns_missing", Soft, Sender, "requireptr", "Sender reputation/blocklist";
    /// The envelope sender (return path) or its domain was refused.
    SenderRejected = "sender_rejected", Soft, Sender, "rejected", "Sender rejected";
    /// The receiver's policy refused the message or the sender.
    PolicyViolation = "policy_violation", Soft, Sender, "policyviolation", "Policy block";
    /// The receiver requires TLS (or a TLS property) that the sender did not offer.
    TlsRequired = "tls_required", Soft, Sender, "failedstarttls", "TLS required";
    /// The server refused to relay for the recipient's domain.
    RelayDenied = "relay_denied", Soft, Domain, "norelaying", "Relay denied";
    /// The sender is sending too fast or too much (rate limit, sending quota).
    RateLimited = "rate_limited", Technical, Sender, "speeding", "Rate limited";
    /// The receiver deferred a first attempt on purpose (greylisting).
    Greylisted = "greylisted", Technical, Receiver, "blocked", "Greylisted";
    /// The receiving server is busy, overloaded or out of resources.
    ServerBusy = "server_busy", Technical, Receiver, "toomanyconn", "Server too busy";
    /// Network or DNS trouble on the way to the receiver.
    NetworkError = "network_error", Technical, Receiver, "networkerror", "Network error";
    /// Another fault of the receiving system (local delivery, storage, configuration).
    ReceiverError = "receiver_error", Technical, Receiver, "systemerror", "Other receiver error";
    /// The SMTP conversation itself failed (syntax error, bad command sequence).
    ProtocolError = "protocol_error", Technical, Sender, "syntaxerror", "Other receiver error";
    /// The sending MTA gave up after retrying for too long.
    Expired = "expired", Technical, Receiver, "expired", "Expired";
    /// The message was delivered (a success reply or notice).
    Delivered = "delivered", Other, Recipient, "delivered", "Delivered";
    /// Nothing usable could be read.
    Unknown = "unknown", Other, Recipient, "undefined", "Unknown";
}

/// A name that is not in the vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    kind: &'static str,
    name: String,
}

impl UnknownName {
    fn new(kind: &'static str, name: &str) -> Self {
        UnknownName {
            kind,
            name: name.chars().take(80).collect(),
        }
    }
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.kind, self.name)
    }
}

impl std::error::Error for UnknownName {}

impl Category {
    pub const ALL: &'static [Category] = &[
        Category::Hard,
        Category::Soft,
        Category::Technical,
        Category::Other,
    ];

    /// What the category means.
    pub fn meaning(self) -> &'static str {
        match self {
            Category::Hard => {
                "The address is not valid: misspelled, non-existent, closed, or its domain is bad."
            }
            Category::Soft => {
                "The address exists but cannot take this mail now, or the message or its sender was refused (content, authentication, reputation)."
            }
            Category::Technical => {
                "A temporary problem at the receiving side or on the way: server down or busy, rate limiting, greylisting, network or DNS trouble."
            }
            Category::Other => "No usable information.",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Hard => "hard",
            Category::Soft => "soft",
            Category::Technical => "technical",
            Category::Other => "other",
        }
    }
}

impl FromStr for Category {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Category::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownName::new("category", s))
    }
}

impl Scope {
    pub const ALL: &'static [Scope] = &[
        Scope::Recipient,
        Scope::Domain,
        Scope::Receiver,
        Scope::Sender,
    ];

    /// Who has to act.
    pub fn meaning(self) -> &'static str {
        match self {
            Scope::Recipient => "The address itself: it may count against the address.",
            Scope::Domain => "The recipient's whole domain.",
            Scope::Receiver => "The receiving server, temporarily: nothing happens to the address.",
            Scope::Sender => {
                "The sender's own content, authentication, links, reputation or rate: never counts against the recipient; the sender is alerted."
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Recipient => "recipient",
            Scope::Domain => "domain",
            Scope::Receiver => "receiver",
            Scope::Sender => "sender",
        }
    }
}

impl FromStr for Scope {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Scope::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownName::new("scope", s))
    }
}

/// Sisimai 5's reason names, for validating overrides in rule files.
pub const SISIMAI_REASONS: &[&str] = &[
    "authfailure",
    "badreputation",
    "blocked",
    "contenterror",
    "delivered",
    "exceedlimit",
    "expired",
    "failedstarttls",
    "feedback",
    "filtered",
    "hasmoved",
    "hostunknown",
    "mailboxfull",
    "mailererror",
    "mesgtoobig",
    "networkerror",
    "norelaying",
    "notaccept",
    "notcompliantrfc",
    "onhold",
    "policyviolation",
    "ratelimited",
    "rejected",
    "requireptr",
    "securityerror",
    "spamdetected",
    "speeding",
    "suppressed",
    "suspend",
    "syntaxerror",
    "systemerror",
    "systemfull",
    "toomanyconn",
    "undefined",
    "userunknown",
    "vacation",
    "virusdetected",
];

macro_rules! serde_by_name {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
serde_by_name!(Reason);

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Reason::ALL {
            assert_eq!(r.as_str().parse::<Reason>().unwrap(), *r);
            assert!(SISIMAI_REASONS.contains(&r.default_sisimai()), "{r}");
        }
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
        }
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), *s);
        }
        assert!("nonsense".parse::<Reason>().is_err());
    }

    #[test]
    fn sender_reasons_never_default_to_recipient_scope() {
        for r in [
            Reason::SpamContent,
            Reason::AuthFailure,
            Reason::SenderReputation,
            Reason::UrlBlocklisted,
            Reason::ReverseDnsMissing,
            Reason::RateLimited,
        ] {
            assert_eq!(r.default_scope(), Scope::Sender, "{r}");
        }
    }
}
