//! The SMTP reply classifier: given what a receiving server said, what happened,
//! whose problem is it, and must the address be blocked?
//!
//! Knowledge lives in rule files (`rules/*.toml`, embedded at build time, see
//! `rules/README.md`); this crate reads a reply into codes and text
//! ([`reply`]), compiles the rules into one matcher ([`matcher`]) and applies a fixed,
//! documented precedence: specific text rule, then enhanced status code, then generic
//! text rule, then basic reply code. Permanence comes from the codes alone.
//!
//! Architecture invariant: this crate is pure. No IO, no tokio, no database; it
//! cannot fail on any input, and every input gets a [`Verdict`].

pub mod builtin;
mod matcher;
mod regex_words;
pub mod reply;
pub mod ruleset;
mod scan;

pub use matcher::Scratch;
use matcher::{KeyTable, Matcher};
use rebound_vocab::{Category, Reason, Scope};
pub use reply::Reply;
use ruleset::{CodeEntry, Conclusion, Rule, RuleError, Strength};
use rustc_hash::FxHashMap;
use serde::Serialize;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// What a reply means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub category: Category,
    pub reason: Reason,
    pub scope: Scope,
    /// True when this one reply is enough to block the address or its domain.
    pub suppress: bool,
    /// The nearest Sisimai reason name.
    pub sisimai_reason: &'static str,
    pub evidence: Evidence,
}

/// Which part of the reply decided the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A specific text rule.
    Text,
    /// The enhanced status code.
    Status,
    /// A generic text rule (the status code said nothing specific).
    GenericText,
    /// The basic reply code.
    ReplyCode,
    /// Nothing usable.
    None,
}

/// Whether the failure is permanent, as the codes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permanence {
    /// 2xx: accepted.
    Success,
    /// 4xx: the sender will retry.
    Transient,
    /// 5xx: the sender gives up.
    Permanent,
    /// No code at all.
    Unknown,
}

/// Why the verdict is what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The rule or table entry that decided: a rule id, `status X.1.1` or `reply 550`.
    pub rule: Arc<str>,
    pub source: Source,
    /// Where the rule is written (`file:line`), for rules from files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusCode>,
    /// What the enhanced status code alone would have concluded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<Reason>,
    pub permanence: Permanence,
    /// Where the codes and the text disagreed, and how it was resolved.
    #[serde(skip_serializing_if = "SmallVec::is_empty")]
    pub conflicts: Conflicts,
}

/// The conflicts of a verdict. Classifying finds at most three and nearly always
/// none or one, so two are kept inline: a `Vec` allocated for 443 of the 1,137
/// replies of the bench mix, about a hundred instructions each time.
pub type Conflicts = SmallVec<[Conflict; 2]>;

/// An enhanced status code (RFC 3463), kept as numbers: `5.7.1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StatusCode {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl StatusCode {
    /// Reads `5.7.1`; `None` for anything else.
    pub fn parse(s: &str) -> Option<StatusCode> {
        let (class, subject, detail) = status_key(s)?;
        (class != 0).then_some(StatusCode {
            class,
            subject,
            detail,
        })
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl Serialize for StatusCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where the codes and the text disagreed, and how the precedence resolved it. Kept as
/// data and put into words only when shown, so classifying stays cheap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// The reply code and the status code have different classes.
    ClassMismatch { code: u16, status: StatusCode },
    /// A specific text rule overrode what the status code says.
    TextOverStatus {
        status: StatusCode,
        status_says: Reason,
        text_says: Reason,
    },
    /// The status code overrode a generic text rule.
    StatusOverGenericText { rule: Arc<str>, text_says: Reason },
    /// A normally hard reason on a transient reply.
    TransientNotHard { reason: Reason },
    /// Anything a caller adds (e.g. the CLI's "input is not a reply object").
    Note(String),
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::ClassMismatch { code, status } => write!(
                f,
                "reply code {code} and status {status} disagree on the class; the reply code decides, as it is what the sending MTA acts on"
            ),
            Conflict::TextOverStatus {
                status,
                status_says,
                text_says,
            } => write!(
                f,
                "status {status} says {status_says} but the text says {text_says}; a specific text rule takes precedence over the status code"
            ),
            Conflict::StatusOverGenericText { rule, text_says } => {
                write!(
                    f,
                    "generic text rule {rule} says {text_says}; the status code is more specific"
                )
            }
            Conflict::TransientNotHard { reason } => {
                write!(
                    f,
                    "{reason} is normally hard, but the reply is transient (4xx): soft, not suppressed"
                )
            }
            Conflict::Note(s) => f.write_str(s),
        }
    }
}

impl Serialize for Conflict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Evidence names that are not rules, made once so verdicts share them.
struct Labels {
    none: Arc<str>,
    success: Arc<str>,
    class4: Arc<str>,
    class5: Arc<str>,
}

/// A compiled set of rules and code tables.
pub struct Classifier {
    labels: Labels,
    rules: Vec<Rule>,
    matcher: Matcher,
    /// Keyed by [`status_number`] of (class, subject, detail); class 0 stands for
    /// `X`. An open-addressing table of plain integer keys: up to three look-ups per
    /// reply, each a multiply and a compare or two.
    status: KeyTable<CodeEntry>,
    reply: FxHashMap<u16, CodeEntry>,
}

static BUILTIN: LazyLock<Classifier> = LazyLock::new(|| {
    Classifier::new(&[]).unwrap_or_else(|e| panic!("built-in rules are invalid: {}", e[0]))
});

impl Classifier {
    /// The classifier with only the built-in rules, compiled once per process.
    pub fn builtin() -> &'static Classifier {
        &BUILTIN
    }

    /// Compiles user rule files (`(name, source)`, consulted first, in the order
    /// given) on top of the built-in ones. A user rule with the id of a built-in rule
    /// replaces it.
    pub fn new(user_files: &[(&str, &str)]) -> Result<Classifier, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        let mut status = FxHashMap::default();
        let mut reply = FxHashMap::default();
        let mut user_ids = std::collections::HashSet::new();
        let files = user_files
            .iter()
            .map(|f| (f, true))
            .chain(builtin::FILES.iter().map(|f| (f, false)));
        for (&(name, src), is_user) in files {
            match ruleset::parse_rule_file(name, src) {
                Ok(f) => {
                    // A user rule with a built-in rule's id replaces it.
                    if is_user {
                        user_ids.extend(f.rules.iter().map(|r| r.id.clone()));
                        rules.extend(f.rules);
                    } else {
                        rules.extend(f.rules.into_iter().filter(|r| !user_ids.contains(&r.id)));
                    }
                    // Earlier files win for codes too: a user's entry shadows ours.
                    for e in f.status {
                        if let Some(key) = status_key(&e.code) {
                            status.entry(key).or_insert(e);
                        }
                    }
                    for e in f.reply {
                        if let Ok(code) = e.code.parse::<u16>() {
                            reply.entry(code).or_insert(e);
                        }
                    }
                }
                Err(e) => errors.extend(e),
            }
        }
        let mut seen = HashMap::new();
        for r in &rules {
            if let Some(first) = seen.insert(&*r.id, &*r.origin) {
                let (file, line) = r.origin.rsplit_once(':').unwrap_or((&r.origin, "0"));
                errors.push(RuleError {
                    file: file.to_string(),
                    line: line.parse().unwrap_or(0),
                    message: format!("rule id {:?} is also defined at {first}", r.id),
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let matcher = Matcher::build(&rules).map_err(|message| {
            vec![RuleError {
                file: "(all rules)".into(),
                line: 0,
                message,
            }]
        })?;
        let labels = Labels {
            none: "none".into(),
            success: "success code".into(),
            class4: "class 4".into(),
            class5: "class 5".into(),
        };
        let status = status
            .into_iter()
            .map(|((c, s, d), e)| (status_number(c, s, d), e))
            .collect();
        Ok(Classifier {
            labels,
            rules,
            matcher,
            status: KeyTable::from_map(status),
            reply,
        })
    }

    /// All rules, user rules first.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Classifies one reply string.
    pub fn classify_line(&self, line: &str) -> Verdict {
        self.classify(&Reply::parse(line), &mut Scratch::default())
    }

    /// Classifies a reply, reusing `scratch` between calls.
    pub fn classify(&self, reply: &Reply<'_>, scratch: &mut Scratch) -> Verdict {
        let permanence = match reply.class() {
            Some(2) => Permanence::Success,
            Some(4) => Permanence::Transient,
            Some(5) => Permanence::Permanent,
            _ => Permanence::Unknown,
        };
        // The evidence is built without its rule name, which is cloned in once
        // the deciding rule is known (an `Arc` clone is an atomic operation).
        let status = reply.status.and_then(StatusCode::parse);
        let mut conflicts = Conflicts::new();
        if let (Some(code), Some(status)) = (reply.code, status)
            && status.class as u16 != code / 100
        {
            conflicts.push(Conflict::ClassMismatch { code, status });
        }
        let evidence = |rule: &Arc<str>, source, conflicts| Evidence {
            rule: Arc::clone(rule),
            source,
            origin: None,
            provider: None,
            reply_code: reply.code,
            status,
            status_reason: None,
            permanence,
            conflicts,
        };
        if permanence == Permanence::Success {
            let source = if reply.code.is_some() {
                Source::ReplyCode
            } else {
                Source::Status
            };
            return finish(
                conclude(Reason::Delivered),
                evidence(&self.labels.success, source, conflicts),
            );
        }

        matcher::prepare(reply.text, scratch);
        self.matcher.matching_rules(scratch);
        let host = reply.host.map(str::to_ascii_lowercase);
        let mut specific = None;
        let mut generic = None;
        for &ri in &scratch.rules {
            let rule = &self.rules[ri as usize];
            if !conditions_hold(rule, reply, host.as_deref(), scratch.text()) {
                continue;
            }
            match rule.strength {
                Strength::Specific => {
                    specific = Some(rule);
                    break;
                }
                Strength::Generic if generic.is_none() => generic = Some(rule),
                Strength::Generic => {}
            }
        }

        let status_entry = status.and_then(|s| self.lookup_status(s));
        let status_reason = status_entry.map(|e| e.conclusion.reason);
        let specific_status = status_entry.filter(|e| e.code != "X.0.0");

        // The name of what decided; cloned into the evidence once, at the end.
        let mut label: &Arc<str> = &self.labels.none;
        let (conclusion, source, rule) = if let Some(rule) = specific {
            if let Some(st) = specific_status
                && st.conclusion.reason != rule.conclusion.reason
            {
                conflicts.push(Conflict::TextOverStatus {
                    status: status.unwrap_or_default(),
                    status_says: st.conclusion.reason,
                    text_says: rule.conclusion.reason,
                });
            }
            (rule.conclusion.clone(), Source::Text, Some(rule))
        } else if let Some(st) = specific_status {
            label = &st.label;
            if let Some(g) = generic
                && g.conclusion.reason != st.conclusion.reason
            {
                conflicts.push(Conflict::StatusOverGenericText {
                    rule: g.id.clone(),
                    text_says: g.conclusion.reason,
                });
            }
            (st.conclusion.clone(), Source::Status, None)
        } else if let Some(rule) = generic {
            (rule.conclusion.clone(), Source::GenericText, Some(rule))
        } else if let Some(e) = reply.code.and_then(|c| self.reply.get(&c)) {
            label = &e.label;
            (e.conclusion.clone(), Source::ReplyCode, None)
        } else if let Some(class) = reply.class() {
            label = if class == 4 {
                &self.labels.class4
            } else {
                &self.labels.class5
            };
            let reason = if class == 4 {
                Reason::ReceiverError
            } else {
                Reason::GeneralError
            };
            (conclude(reason), Source::ReplyCode, None)
        } else {
            (conclude(Reason::Unknown), Source::None, None)
        };
        if let Some(rule) = rule {
            label = &rule.id;
        }
        // The verdict is written as one literal, its evidence inside it, so that it is
        // built where the caller receives it: an evidence built first and moved into
        // the verdict was copied twice (two `memcpy` calls, 58 instructions a reply).
        let (category, suppress) = settle(&conclusion, permanence, &mut conflicts);
        Verdict {
            category,
            reason: conclusion.reason,
            scope: conclusion.scope,
            suppress,
            sisimai_reason: conclusion.sisimai,
            evidence: Evidence {
                rule: Arc::clone(label),
                source,
                origin: rule.map(|r| r.origin.clone()),
                provider: rule.and_then(|r| r.provider.clone()),
                reply_code: reply.code,
                status,
                status_reason,
                permanence,
                conflicts,
            },
        }
    }

    /// The status table entry for a code: the full code, else its class-free form,
    /// else the subject's `X.s.0` (RFC 3463: an unknown detail is read as `.0`).
    fn lookup_status(&self, status: StatusCode) -> Option<&CodeEntry> {
        let StatusCode {
            class,
            subject,
            detail,
        } = status;
        self.status
            .get(status_number(class, subject, detail))
            .or_else(|| self.status.get(status_number(0, subject, detail)))
            .or_else(|| self.status.get(status_number(0, subject, 0)))
    }
}

/// The key of a status code in the table: its three numbers packed (the parts have at
/// most three digits, so ten bits each are enough) and mixed into a table key.
/// Distinct codes have distinct keys; the only two keys a table merges are 0 and 1,
/// which no code's key is (a test checks every packed value).
fn status_number(class: u8, subject: u16, detail: u16) -> u64 {
    matcher::number_key((class as u64) << 20 | (subject as u64) << 10 | detail as u64)
}

/// `5.7.1` → (5, 7, 1); `X.7.1` → (0, 7, 1). Read byte by byte: it runs once per
/// classified reply.
fn status_key(code: &str) -> Option<(u8, u16, u16)> {
    let b = code.as_bytes();
    let class = match b.first()? {
        b'X' | b'x' => 0,
        c @ b'0'..=b'9' => c - b'0',
        _ => return None,
    };
    if b.get(1) != Some(&b'.') {
        return None;
    }
    let (subject, used) = number(&b[2..])?;
    let rest = &b[2 + used..];
    if rest.first() != Some(&b'.') {
        return None;
    }
    let (detail, used) = number(&rest[1..])?;
    (used == rest.len() - 1).then_some((class, subject, detail))
}

/// A decimal number of one to three digits at the start of `b`, and its length.
fn number(b: &[u8]) -> Option<(u16, usize)> {
    let n = b.iter().take(4).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 3 {
        return None;
    }
    Some((
        b[..n].iter().fold(0u16, |v, &c| v * 10 + (c - b'0') as u16),
        n,
    ))
}

fn conclude(reason: Reason) -> Conclusion {
    Conclusion {
        reason,
        category: reason.default_category(),
        scope: reason.default_scope(),
        sisimai: reason.default_sisimai(),
    }
}

/// The category and whether to suppress, once the codes' permanence is applied: a
/// transient reply is never hard (noted as a conflict) and never suppresses.
#[inline(always)]
fn settle(c: &Conclusion, permanence: Permanence, conflicts: &mut Conflicts) -> (Category, bool) {
    let mut category = c.category;
    if permanence == Permanence::Transient && category == Category::Hard {
        category = Category::Soft;
        conflicts.push(Conflict::TransientNotHard { reason: c.reason });
    }
    let suppress = category == Category::Hard
        && matches!(c.scope, Scope::Recipient | Scope::Domain)
        && permanence != Permanence::Transient;
    (category, suppress)
}

/// Applies what the codes say about permanence: a transient reply is never hard and
/// never suppresses. Inlined, so that the verdict is built where the caller returns
/// it: called, the evidence was copied in and out (17 instructions a reply more).
#[inline(always)]
fn finish(c: Conclusion, mut ev: Evidence) -> Verdict {
    let (category, suppress) = settle(&c, ev.permanence, &mut ev.conflicts);
    Verdict {
        category,
        reason: c.reason,
        scope: c.scope,
        suppress,
        sisimai_reason: c.sisimai,
        evidence: ev,
    }
}

/// Whether a status code matches a pattern component-wise: `5.7` matches `5.7.1` but
/// not `5.71.1`; a class-free pattern (`.1.1`, written `X.1.1`) matches any class.
fn status_matches(pattern: &str, status: &str) -> bool {
    let s = if pattern.starts_with('.') {
        &status[1..]
    } else {
        status
    };
    s == pattern || (s.starts_with(pattern) && s.as_bytes().get(pattern.len()) == Some(&b'.'))
}

/// Whether a reply code matches a pattern of its leading digits (`55` matches 550).
fn code_matches(pattern: &str, code: u16) -> bool {
    let digits = [
        b'0' + (code / 100 % 10) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
    ];
    let p = pattern.as_bytes();
    p.len() <= 3 && digits.starts_with(p)
}

fn conditions_hold(rule: &Rule, reply: &Reply<'_>, host: Option<&str>, text: &[u8]) -> bool {
    if !rule.status.is_empty() {
        match reply.status {
            Some(s) if rule.status.iter().any(|p| status_matches(p, s)) => {}
            _ => return false,
        }
    }
    if !rule.reply.is_empty() {
        match reply.code {
            Some(c) if rule.reply.iter().any(|p| code_matches(p, c)) => {}
            _ => return false,
        }
    }
    if !rule.hosts.is_empty() {
        let by_host = host.is_some_and(|h| {
            rule.hosts.iter().any(|d| {
                h == d || (h.ends_with(d.as_str()) && h.as_bytes()[h.len() - d.len() - 1] == b'.')
            })
        });
        if !by_host
            && !rule
                .hosts
                .iter()
                .any(|d| memchr::memmem::find(text, d.as_bytes()).is_some())
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_status_code_has_a_key_the_table_merges() {
        // Classes 0-9, subjects and details 0-999 pack into 24 bits.
        assert!((0..1u64 << 24).all(|n| matcher::number_key(n) > 1));
    }

    #[test]
    fn status_patterns_match_by_component() {
        assert!(status_matches("5.7", "5.7.1"));
        assert!(!status_matches("5.7", "5.71.1"));
        assert!(status_matches("5.7.1", "5.7.1"));
        assert!(!status_matches("5.7.1", "5.7.10"));
        assert!(status_matches(".1.1", "4.1.1"));
        assert!(!status_matches(".1.1", "4.1.10"));
    }
}
