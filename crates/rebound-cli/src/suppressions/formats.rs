//! The suppression exports of the ESPs people move from, and Rebound's own, read
//! into records. Pure: a header row (or a JSON object's keys) picks the layout, each
//! row becomes a record, a row to skip (with why) or a row to reject (with why).
//!
//! | export | columns | kind |
//! |---|---|---|
//! | Rebound (`suppressions export`) | `address,channel,status,since`, or headerless `address[,status]` | per row: `status` |
//! | Amazon SES account suppression list (`aws sesv2 list-suppressed-destinations`, JSON or CSV) | `EmailAddress,Reason,LastUpdateTime` | per row: `BOUNCE`, `COMPLAINT` |
//! | Mailgun bounces | `address,code,error,created_at` | bounce |
//! | Mailgun unsubscribes | `address,tag(s),created_at` | unsubscribe |
//! | Mailgun complaints | `address,created_at` | complaint |
//! | SendGrid bounces, blocks | `email,created,status,reason` | bounce (`blocks` in the file name, or `--kind block`: block) |
//! | SendGrid invalid emails | `email,created,reason` | bounce |
//! | SendGrid spam reports | `email,created,ip` | complaint |
//! | SendGrid unsubscribes (global, group) | `email,created` | unsubscribe |
//! | Postmark suppressions | `EmailAddress,SuppressionReason,Origin,CreatedAt` | per row: `HardBounce`, `SpamComplaint`, `ManualSuppression` |
//!
//! Column names are matched ignoring case, spaces, `_` and `-`. The kind of a row is
//! `--kind` if given, else the row's own column, else what the file name says
//! (`bounces`, `blocks`, `spam`/`complaints`, `unsubscribes`), else what the columns
//! say.
//!
//! A bounce row whose provider quotes the receiving server's reply (Mailgun's
//! `code`/`error`, SendGrid's `status`/`reason`) is judged by the classifier, as a
//! webhook or a DSN with that reply would be: only a permanent recipient- or
//! domain-scope hard bounce blocks; a refusal of the sender (IP reputation,
//! authentication, content) or a transient one is skipped, with why, because the
//! provider's list is wrong about that address. When the text says nothing the
//! classifier knows, the provider's own judgement (it listed a hard bounce) stands.
//! A block (SendGrid's blocks list) is imported only when its text proves a hard
//! bounce. Complaints become complaints, unsubscribes unsubscribes, manual
//! suppressions (Postmark) and Rebound's `unsubscribed` an opt-out by the importer.
//! The provider's date is the event's time; rows without one take `--at` (or now).

use rebound_classify::Scratch;
use rebound_pipeline::{Fact, Fallback, Report, parse_time};
use rebound_policy::Event;
use rebound_store::{Channel, Detail, Record, Tenant, Ts};
use rebound_vocab::{Category, Reason, Scope};
use std::sync::LazyLock;
use time::format_description::well_known::Rfc2822;
use time::format_description::{OwnedFormatItem, parse_owned};
use time::{OffsetDateTime, PrimitiveDateTime};

/// `YYYY-MM-DD HH:MM:SS[.fff]` (or with a `T`), and a bare date.
static NAIVE: LazyLock<(OwnedFormatItem, OwnedFormatItem)> = LazyLock::new(|| {
    (
        parse_owned::<2>(
            "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]",
        )
        .expect("a valid description"),
        parse_owned::<2>("[year]-[month]-[day]").expect("a valid description"),
    )
});

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Detect from the header row (or the JSON keys).
    Auto,
    Rebound,
    Ses,
    Mailgun,
    Sendgrid,
    Postmark,
}

/// `--kind`: what every row of the input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Hard bounces.
    Bounce,
    /// Blocks (SendGrid): imported only where the text proves a hard bounce.
    Block,
    Complaint,
    Unsubscribe,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Bounce => "bounces",
            Kind::Block => "blocks",
            Kind::Complaint => "complaints",
            Kind::Unsubscribe => "unsubscribes",
        }
    }

    /// What a file's name says it holds, if anything.
    pub fn from_file_name(name: &str) -> Option<Kind> {
        let n = name.to_ascii_lowercase();
        let n = n.rsplit('/').next().unwrap_or(&n);
        if n.contains("block") {
            Some(Kind::Block)
        } else if n.contains("spam") || n.contains("complain") {
            Some(Kind::Complaint)
        } else if n.contains("unsub") {
            Some(Kind::Unsubscribe)
        } else if n.contains("bounce") || n.contains("invalid") {
            Some(Kind::Bounce)
        } else {
            None
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Rebound,
    Ses,
    Mailgun,
    Sendgrid,
    Postmark,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Rebound => "rebound",
            Provider::Ses => "ses",
            Provider::Mailgun => "mailgun",
            Provider::Sendgrid => "sendgrid",
            Provider::Postmark => "postmark",
        }
    }
}

/// What one row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowKind {
    HardBounce,
    Block,
    Complaint,
    Unsubscribe,
    /// Put on the list by a person (Postmark's manual suppressions, Rebound's own
    /// `unsubscribed`): an opt-out by the importer.
    OptOut,
}

impl From<Kind> for RowKind {
    fn from(k: Kind) -> RowKind {
        match k {
            Kind::Bounce => RowKind::HardBounce,
            Kind::Block => RowKind::Block,
            Kind::Complaint => RowKind::Complaint,
            Kind::Unsubscribe => RowKind::Unsubscribe,
        }
    }
}

/// Where the columns of one input are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub provider: Provider,
    /// False for a headerless Rebound list: the first row is data.
    pub has_header: bool,
    address: usize,
    kind: Option<usize>,
    channel: Option<usize>,
    date: Option<usize>,
    code: Option<usize>,
    status: Option<usize>,
    text: Option<usize>,
    origin: Option<usize>,
    /// What the columns say every row is (Mailgun's and SendGrid's lists).
    file_kind: Option<Kind>,
    /// How many columns the header names.
    columns: usize,
}

impl Layout {
    /// `mailgun bounces`, `ses`: what was read, for the summary.
    pub fn describe(&self, kind: Option<Kind>) -> String {
        match kind.or(self.file_kind) {
            Some(k) => format!("{} {}", self.provider.name(), k.noun()),
            None => self.provider.name().to_string(),
        }
    }
}

fn norm(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !matches!(c, '_' | ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The layout of an input from its first row (a header, or for a headerless Rebound
/// list the first address).
pub fn detect(first: &[String], format: FormatArg) -> Result<Layout, String> {
    let cols: Vec<String> = first.iter().map(|c| norm(c)).collect();
    let col = |n: &str| cols.iter().position(|c| c == n);
    let has = |n: &str| col(n).is_some();
    let provider = match format {
        FormatArg::Rebound => Provider::Rebound,
        FormatArg::Ses => Provider::Ses,
        FormatArg::Mailgun => Provider::Mailgun,
        FormatArg::Sendgrid => Provider::Sendgrid,
        FormatArg::Postmark => Provider::Postmark,
        FormatArg::Auto => {
            if has("emailaddress") && has("suppressionreason") {
                Provider::Postmark
            } else if has("emailaddress") && has("reason") {
                Provider::Ses
            } else if has("email") && has("created") {
                Provider::Sendgrid
            } else if has("address")
                && !has("status")
                && !has("channel")
                && ["code", "error", "createdat", "tag", "tags"]
                    .iter()
                    .any(|c| has(c))
            {
                Provider::Mailgun
            } else if has("address") || first.first().is_some_and(|f| f.contains('@')) {
                Provider::Rebound
            } else {
                return Err(format!(
                    "the header row {:?} is not one of the exports read here \
                     (rebound, ses, mailgun, sendgrid, postmark); name it with --format",
                    first.join(",")
                ));
            }
        }
    };
    let blank = Layout {
        provider,
        has_header: true,
        address: 0,
        kind: None,
        channel: None,
        date: None,
        code: None,
        status: None,
        text: None,
        origin: None,
        file_kind: None,
        columns: first.len(),
    };
    let need = |n: &str| {
        col(n).ok_or_else(|| {
            format!(
                "a {} export has a column `{n}`; the header row is {:?}",
                provider.name(),
                first.join(",")
            )
        })
    };
    Ok(match provider {
        Provider::Rebound => match col("address") {
            Some(address) => Layout {
                address,
                kind: col("status"),
                channel: col("channel"),
                date: col("since"),
                ..blank
            },
            None if first.first().is_some_and(|f| f.contains('@')) => Layout {
                has_header: false,
                kind: Some(1),
                ..blank
            },
            None => need("address").map(|_| blank)?,
        },
        Provider::Ses => Layout {
            address: need("emailaddress")?,
            kind: Some(need("reason")?),
            date: col("lastupdatetime"),
            ..blank
        },
        Provider::Postmark => Layout {
            address: need("emailaddress")?,
            kind: Some(need("suppressionreason")?),
            date: col("createdat"),
            origin: col("origin"),
            ..blank
        },
        Provider::Mailgun => Layout {
            address: need("address")?,
            code: col("code"),
            text: col("error"),
            date: col("createdat"),
            file_kind: Some(if has("code") || has("error") {
                Kind::Bounce
            } else if has("tag") || has("tags") {
                Kind::Unsubscribe
            } else {
                Kind::Complaint
            }),
            ..blank
        },
        Provider::Sendgrid => Layout {
            address: need("email")?,
            status: col("status"),
            text: col("reason"),
            date: col("created"),
            file_kind: Some(if has("ip") {
                Kind::Complaint
            } else if has("status") || has("reason") {
                Kind::Bounce
            } else {
                Kind::Unsubscribe
            }),
            ..blank
        },
    })
}

/// What the caller knows beyond the row.
pub struct Context<'a> {
    pub tenant: &'a Tenant,
    pub channel: Channel,
    pub by: &'a str,
    /// The time of rows that carry none.
    pub at: Ts,
    /// `--kind`.
    pub kind: Option<Kind>,
    /// What the file name says.
    pub name_kind: Option<Kind>,
}

/// What became of one row.
#[derive(Debug)]
pub enum Row {
    Record(Box<Record>),
    /// Read, and deliberately not imported.
    Skipped(String),
    Rejected(String),
    /// No address: an empty line.
    Blank,
}

fn row_kind(layout: &Layout, value: &str) -> Result<Option<RowKind>, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let lower = v.to_ascii_lowercase();
    Ok(Some(match layout.provider {
        Provider::Ses => match lower.as_str() {
            "bounce" => RowKind::HardBounce,
            "complaint" => RowKind::Complaint,
            _ => return Err(format!("Reason {v:?} is not BOUNCE or COMPLAINT")),
        },
        Provider::Postmark => match lower.as_str() {
            "hardbounce" => RowKind::HardBounce,
            "spamcomplaint" => RowKind::Complaint,
            "manualsuppression" => RowKind::OptOut,
            _ => {
                return Err(format!(
                    "SuppressionReason {v:?} is not HardBounce, SpamComplaint or ManualSuppression"
                ));
            }
        },
        _ => match lower.as_str() {
            "unsubscribed" | "unsubscribe" | "opted_out" | "opt_out" => RowKind::OptOut,
            "complained" | "complaint" | "spam" | "spamreport" => RowKind::Complaint,
            "hard_bounced" | "hard_bounce" | "bounced" | "bounce" | "blocked" => {
                RowKind::HardBounce
            }
            _ => {
                return Err(format!(
                    "status {v:?} is not unsubscribed, complained or hard_bounced"
                ));
            }
        },
    }))
}

/// Reads one row.
pub fn read_row(
    layout: &Layout,
    fields: &[String],
    cx: &Context<'_>,
    scratch: &mut Scratch,
) -> Row {
    match try_row(layout, fields, cx, scratch) {
        Ok(row) => row,
        Err(why) => Row::Rejected(why),
    }
}

fn try_row(
    layout: &Layout,
    fields: &[String],
    cx: &Context<'_>,
    scratch: &mut Scratch,
) -> Result<Row, String> {
    let field = |i: Option<usize>| i.and_then(|i| fields.get(i)).map_or("", |f| f.trim());
    let raw = field(Some(layout.address));
    if raw.is_empty() {
        return Ok(if fields.iter().all(|f| f.trim().is_empty()) {
            Row::Blank
        } else {
            return Err("no address".into());
        });
    }
    let row_channel = field(layout.channel);
    if !row_channel.is_empty() && row_channel != cx.channel.as_str() {
        return Err(format!(
            "channel {row_channel:?}, importing {}",
            cx.channel.as_str()
        ));
    }
    let address = rebound_pipeline::normalize(cx.channel, raw, cx.tenant)?;
    let kind = match cx.kind {
        Some(k) => RowKind::from(k),
        None => row_kind(layout, field(layout.kind))?
            .or(cx.name_kind.map(RowKind::from))
            .or(layout.file_kind.map(RowKind::from))
            .unwrap_or(RowKind::OptOut),
    };
    // An unquoted RFC 2822 date (`Tue, 10 Feb 2026 ...`) in the last column splits
    // in two: it is put back together.
    let joined;
    let date = match layout.date {
        Some(d) if d + 1 == layout.columns && fields.len() > layout.columns => {
            joined = fields[d..].join(",");
            joined.trim()
        }
        _ => field(layout.date),
    };
    let at = if date.is_empty() {
        cx.at
    } else {
        provider_time(date).map_err(|e| format!("date {date:?}: {e}"))?
    };
    let provider = layout.provider.name();
    let mut source = format!("{provider} import by {}", cx.by);
    let origin = field(layout.origin);
    if !origin.is_empty() {
        source += &format!(" (origin {origin})");
    }
    let record = |event: Event, reason: Option<Reason>, detail: Detail| {
        Row::Record(Box::new(Record {
            tenant: cx.tenant.name.clone(),
            channel: cx.channel,
            address: address.clone(),
            at,
            event,
            reason,
            campaign: None,
            detail,
        }))
    };
    let plain = Detail {
        source: Some(source.clone()),
        ..Detail::default()
    };
    Ok(match kind {
        RowKind::OptOut => record(
            Event::OptOut {
                by: cx.by.to_string(),
            },
            None,
            plain,
        ),
        RowKind::Unsubscribe => record(Event::Unsubscribe, None, plain),
        RowKind::Complaint => record(Event::Complaint, None, plain),
        RowKind::HardBounce | RowKind::Block => {
            let (code, status, text) =
                (field(layout.code), field(layout.status), field(layout.text));
            if code.is_empty() && status.is_empty() && text.is_empty() {
                if kind == RowKind::Block {
                    return Ok(Row::Skipped(
                        "a block with no reply text says nothing against the address".into(),
                    ));
                }
                let mut detail = plain;
                detail.rule = Some(format!("{provider} suppression list"));
                return Ok(record(
                    Event::Bounce {
                        category: Category::Hard,
                        scope: Scope::Recipient,
                        permanent: true,
                    },
                    Some(Reason::GeneralHardBounce),
                    detail,
                ));
            }
            let report = Report {
                channel: cx.channel,
                recipient: raw.to_string(),
                at,
                fact: Fact::Bounce {
                    reply_code: code.parse().ok(),
                    status: (!status.is_empty()).then(|| status.to_string()),
                    text: text.to_string(),
                    host: None,
                    fallback: (kind == RowKind::HardBounce).then(|| Fallback {
                        reason: Reason::GeneralHardBounce,
                        category: Category::Hard,
                        scope: Scope::Recipient,
                        permanent: true,
                        rule: format!("{provider} suppression list"),
                    }),
                },
                campaign: None,
                source: Some(source),
                reply: Some(evidence_text(status, text)),
                code: (!code.is_empty()).then(|| code.to_string()),
            };
            let mut r = rebound_pipeline::to_record(cx.tenant, report, scratch)?;
            if kind == RowKind::HardBounce && r.reason == Some(Reason::ProviderSuppressed) {
                // "Not delivering to a previously bounced address": the provider's
                // marker for its own list, the original reply lost. Its judgement
                // stands, as when the text says nothing.
                r.event = Event::Bounce {
                    category: Category::Hard,
                    scope: Scope::Recipient,
                    permanent: true,
                };
            }
            match r.event {
                Event::Bounce {
                    category: Category::Hard,
                    scope: Scope::Recipient | Scope::Domain,
                    permanent: true,
                } => Row::Record(Box::new(r)),
                Event::Bounce {
                    category, scope, ..
                } => Row::Skipped(not_blocking(category, scope, r.reason)),
                _ => Row::Skipped("not a bounce".into()),
            }
        }
    })
}

/// The reply as the provider quoted it, status code first when it gave one apart.
fn evidence_text(status: &str, text: &str) -> String {
    if status.is_empty() || text.contains(status) {
        text.to_string()
    } else if text.is_empty() {
        status.to_string()
    } else {
        format!("{status} {text}")
    }
}

fn not_blocking(category: Category, scope: Scope, reason: Option<Reason>) -> String {
    let reason = reason.map_or("unknown", |r| r.as_str());
    let category = category.as_str();
    match scope {
        Scope::Sender => format!(
            "the reply is a refusal of the sender ({reason}), not of the recipient: not imported"
        ),
        Scope::Receiver => format!(
            "the reply is a problem of the receiving server ({category}, {reason}): not imported"
        ),
        _ if category == "hard" => format!(
            "the reply is not a permanent hard bounce ({reason}, a transient reply): not imported"
        ),
        _ => format!(
            "the reply is a {category} bounce ({reason}), which does not block an address: not imported"
        ),
    }
}

/// A provider's date: RFC 3339 (SES, Postmark), RFC 2822 with `UTC`/`GMT` (Mailgun),
/// Unix seconds or milliseconds (SendGrid's API), `YYYY-MM-DD HH:MM:SS` in UTC
/// (SendGrid's CSV), or a bare date.
pub fn provider_time(s: &str) -> Result<Ts, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().map_err(|_| "too large".to_string())?;
        // Milliseconds from 2001 on are longer than any date in seconds until 2286.
        return Ok(if n >= 100_000_000_000 { n / 1000 } else { n });
    }
    if let Ok(t) = parse_time(s) {
        return Ok(t);
    }
    let zoned = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix(" GMT"))
        .or_else(|| s.strip_suffix(" UT"))
        .map(|rest| format!("{rest} +0000"));
    if let Ok(t) = OffsetDateTime::parse(zoned.as_deref().unwrap_or(s), &Rfc2822) {
        return Ok(t.unix_timestamp());
    }
    let naive = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s);
    if let Ok(t) = PrimitiveDateTime::parse(naive, &NAIVE.0) {
        return Ok(t.assume_utc().unix_timestamp());
    }
    if let Ok(d) = time::Date::parse(naive, &NAIVE.1) {
        return Ok(d.midnight().assume_utc().unix_timestamp());
    }
    Err(
        "not a date this import reads (RFC 3339, RFC 2822, Unix seconds, YYYY-MM-DD HH:MM:SS)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    #[test]
    fn headers_pick_the_provider_and_the_kind() {
        let d = |h: &str| {
            let l = detect(&cols(h), FormatArg::Auto).unwrap();
            l.describe(None)
        };
        assert_eq!(d("EmailAddress,Reason,LastUpdateTime"), "ses");
        assert_eq!(
            d("EmailAddress,SuppressionReason,Origin,CreatedAt"),
            "postmark"
        );
        assert_eq!(d("address,code,error,created_at"), "mailgun bounces");
        assert_eq!(d("address,tags,created_at"), "mailgun unsubscribes");
        assert_eq!(d("address,created_at"), "mailgun complaints");
        assert_eq!(d("email,created,status,reason"), "sendgrid bounces");
        assert_eq!(d("email,created,reason"), "sendgrid bounces");
        assert_eq!(d("email,created,ip"), "sendgrid complaints");
        assert_eq!(d("email,created"), "sendgrid unsubscribes");
        assert_eq!(d("address,channel,status,since"), "rebound");
        assert_eq!(d("jo@example.com,complained"), "rebound");
        assert!(
            !detect(&cols("jo@example.com"), FormatArg::Auto)
                .unwrap()
                .has_header
        );
        assert!(detect(&cols("name,phone"), FormatArg::Auto).is_err());
        let forced = detect(&cols("address,created_at"), FormatArg::Ses).unwrap_err();
        assert!(forced.contains("column `emailaddress`"), "{forced}");
    }

    #[test]
    fn file_names_say_the_kind() {
        assert_eq!(
            Kind::from_file_name("exports/sendgrid_blocks.csv"),
            Some(Kind::Block)
        );
        assert_eq!(
            Kind::from_file_name("spam_reports.csv"),
            Some(Kind::Complaint)
        );
        assert_eq!(
            Kind::from_file_name("mg-complaints.csv"),
            Some(Kind::Complaint)
        );
        assert_eq!(
            Kind::from_file_name("global_unsubscribes.csv"),
            Some(Kind::Unsubscribe)
        );
        assert_eq!(Kind::from_file_name("bounces-2026.csv"), Some(Kind::Bounce));
        assert_eq!(Kind::from_file_name("list.csv"), None);
    }

    #[test]
    fn provider_dates() {
        let t = 1_770_732_201; // 2026-02-10T14:03:21Z
        assert_eq!(provider_time("2026-02-10T14:03:21.512000+00:00"), Ok(t));
        assert_eq!(provider_time("Tue, 10 Feb 2026 14:03:21 UTC"), Ok(t));
        assert_eq!(provider_time("Tue, 10 Feb 2026 14:03:21 GMT"), Ok(t));
        assert_eq!(provider_time("Tue, 10 Feb 2026 15:03:21 +0100"), Ok(t));
        assert_eq!(provider_time("1770732201"), Ok(t));
        assert_eq!(provider_time("1770732201000"), Ok(t));
        assert_eq!(provider_time("2026-02-10 14:03:21"), Ok(t));
        assert_eq!(provider_time("2026-02-10 14:03:21 UTC"), Ok(t));
        assert_eq!(
            provider_time("2026-02-10"),
            Ok(t - (14 * 3600 + 3 * 60 + 21))
        );
        assert!(provider_time("yesterday").is_err());
        assert!(provider_time("2026-02-30 10:00:00").is_err());
    }
}
