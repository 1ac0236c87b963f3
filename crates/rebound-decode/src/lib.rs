//! The bounce decoder: any message in (bytes), the kind of message and a list of
//! per-recipient delivery facts out, each with the classifier's verdict on top.
//!
//! A message is one of: a bounce, a delay notice, a complaint (ARF, RFC 5965, and
//! provider variants), an auto-reply (RFC 3834 and the informal kinds), a delivery
//! notice, or none of these. The readers are tried from the most structured to the
//! least: complaint reports ([`rfc5965`]), provider notifications ([`formats::ses`]),
//! standard DSNs ([`rfc3464`], RFC 3464 and RFC 6533), the plain-text reports of
//! the MTA families ([`formats`]), auto-replies ([`rfc3834`]), and last what the
//! headers alone say (`X-Failed-Recipients`, the returned message, a VERP return
//! path, [`verp`]).
//!
//! Architecture invariant: this crate is pure. No IO, no tokio, no database, no
//! network: bytes in, facts out. It never panics and never hangs on any input; input it
//! cannot read as a message gets an [`Error`] with a closed [`ErrorKind`].

pub mod address;
mod error;
pub mod formats;
mod head;
pub mod knowledge;
pub mod mbox;
mod mime;
pub mod phrases;
pub mod rfc3464;
pub mod rfc3834;
pub mod rfc5965;
pub mod sisimai;
pub mod text;
pub mod verp;

pub use error::{Error, ErrorKind};
use rebound_classify::{Classifier, Reply, Scratch, Verdict};
use serde::Serialize;

/// The largest message decoded, in bytes.
pub const MAX_INPUT: usize = 64 * 1024 * 1024;

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A delivery failed (a non-delivery report).
    Bounce,
    /// Delivery is delayed; the sending MTA is still trying.
    Delay,
    /// A spam complaint or other feedback report.
    Complaint,
    /// An auto-reply: out of office, vacation, autoresponder. Never a bounce.
    AutoReply,
    /// A delivery (success) notice.
    Delivered,
    /// Not a report of any kind.
    NotBounce,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bounce => "bounce",
            Kind::Delay => "delay",
            Kind::Complaint => "complaint",
            Kind::AutoReply => "auto_reply",
            Kind::Delivered => "delivered",
            Kind::NotBounce => "not_bounce",
        }
    }
}

/// Headers of the message that was returned (the one we sent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Returned {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
}

impl Returned {
    pub fn is_empty(&self) -> bool {
        self.message_id.is_none()
            && self.subject.is_none()
            && self.from.is_none()
            && self.to.is_empty()
            && self.list_id.is_none()
    }
}

/// Where the recipient's address was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientSource {
    FinalRecipient,
    OriginalRecipient,
    XFailedRecipients,
    Body,
    ReturnedMessage,
    Verp,
    Feedback,
    Sender,
    Notification,
    /// A complaint that names no complainer: the report's own addressee (the
    /// feedback-loop subscriber) stands in, so that the complaint is recorded.
    ReportAddressee,
}

/// The Sisimai-compatible view of a recipient's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SisimaiView {
    pub reason: &'static str,
    pub hardbounce: bool,
}

/// Everything known about one recipient of a report.
#[derive(Clone, Debug, Serialize)]
pub struct Recipient {
    pub recipient: String,
    pub source: RecipientSource,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_recipient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The words a DSN's `Status` field adds to its code (`5.2.1 (mailbox disabled,
    /// not accepting messages)`): the reporting MTA's own reading of the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    pub diagnostic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_type: Option<String>,
    /// The SMTP command the remote server refused (`MAIL`, `RCPT`, `DATA`, `CONN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_command: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_mta: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporting_mta: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback_type: Option<String>,
    pub returned: Returned,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub sisimai: SisimaiView,
}

impl Recipient {
    /// A fact with only the address and kind known yet.
    pub fn new(recipient: String, source: RecipientSource, kind: Kind) -> Recipient {
        Recipient {
            recipient,
            source,
            kind,
            original_recipient: None,
            action: None,
            status: None,
            status_comment: None,
            reply_code: None,
            diagnostic: String::new(),
            diagnostic_type: None,
            smtp_command: None,
            remote_mta: None,
            reporting_mta: None,
            arrival_date: None,
            last_attempt_date: None,
            feedback_type: None,
            returned: Returned::default(),
            verdict: None,
            sisimai: SisimaiView {
                reason: "undefined",
                hardbounce: false,
            },
        }
    }
}

/// A decoded message.
#[derive(Clone, Debug, Serialize)]
pub struct Decoded {
    pub kind: Kind,
    /// Which reader understood it (`rfc3464`, `arf`, `qmail`, `exim`, ...).
    pub format: &'static str,
    pub recipients: Vec<Recipient>,
}

/// Decodes one message with the built-in classifier.
pub fn decode(input: &[u8]) -> Result<Decoded, Error> {
    decode_with(input, Classifier::builtin())
}

/// Decodes one message, judging each failure with `classifier`.
pub fn decode_with(input: &[u8], classifier: &Classifier) -> Result<Decoded, Error> {
    if input.len() > MAX_INPUT {
        return Err(Error::new(ErrorKind::TooLarge));
    }
    if input.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::new(ErrorKind::Empty));
    }
    let bytes = normalize_line_ends(input);
    let bytes = mbox::strip_from_line(&bytes);
    if !has_header_block(bytes) {
        return Err(Error::new(ErrorKind::NotAMessage));
    }
    let head = head::read(bytes);
    let view = mime::View::parse(bytes, &head).ok_or_else(|| Error::new(ErrorKind::NotAMessage))?;
    let (format, mut recipients) = read(&view, classifier);
    finish(&view, &mut recipients, classifier, format);
    let kind = message_kind(&recipients);
    Ok(Decoded {
        kind,
        format: if recipients.is_empty() {
            "none"
        } else {
            format
        },
        recipients,
    })
}

/// Tries the readers in order of structure; the first that finds recipients wins.
fn read(view: &mime::View, classifier: &Classifier) -> (&'static str, Vec<Recipient>) {
    let r = rfc5965::read(view);
    if !r.is_empty() {
        return ("arf", r);
    }
    let r = formats::ses::read(view);
    if !r.is_empty() {
        return ("amazonses", r);
    }
    let r = rfc3464::read(view);
    if !r.is_empty() {
        return ("rfc3464", r);
    }
    if formats::looks_like_report(view) {
        let (name, r) = formats::read(view);
        if !r.is_empty() {
            return (name, r);
        }
        let r = formats::from_headers(view, classifier);
        if !r.is_empty() {
            return ("headers", r);
        }
    }
    // A delivery status report is never an auto-reply, whatever its headers say
    // (Postfix marks its bounces `Auto-Submitted: auto-replied`).
    if view.report_type == "delivery-status" {
        return ("none", Vec::new());
    }
    let r = rfc3834::read(view);
    if !r.is_empty() {
        return ("rfc3834", r);
    }
    ("none", Vec::new())
}

/// Fills in what every reader leaves to the end: the returned message's headers, the
/// remote host, the classifier's verdict and the Sisimai view.
fn finish(view: &mime::View, recipients: &mut [Recipient], classifier: &Classifier, format: &str) {
    // The classifier's working buffers, kept from one message to the next on a thread
    // (not after a long diagnostic, so that what is kept stays small).
    let mut scratch = SCRATCH.try_with(|s| s.take()).unwrap_or_default();
    finish_with(view, recipients, classifier, format, &mut scratch);
    if recipients
        .iter()
        .all(|r| r.diagnostic.len() <= KEEP_SCRATCH_BELOW)
    {
        let _ = SCRATCH.try_with(|s| s.replace(scratch));
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// The longest diagnostic after which the classifier's buffers are still kept.
const KEEP_SCRATCH_BELOW: usize = 16 * 1024;

fn finish_with(
    view: &mime::View,
    recipients: &mut [Recipient],
    classifier: &Classifier,
    format: &str,
    scratch: &mut Scratch,
) {
    let report_command = view.phrases().command.map(|i| phrases::SMTP_COMMANDS.0[i]);
    // A Google Groups refusal may reach us in any reader's shape; it is judged as one.
    let family = formats::family(view);
    let sisimai_format = if family == Some("googlegroups") {
        "googlegroups"
    } else {
        format
    };
    // Exim names a delivery to a local program as "pipe to |command": its failure is
    // the program's, as a DSN's `Diagnostic-Code: X-Unix` says.
    static TO_PROGRAM: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("pipe to |"));
    let to_program = TO_PROGRAM.find(view.text_lower().as_bytes()).is_some();
    for r in recipients.iter_mut() {
        if to_program && r.diagnostic_type.is_none() {
            r.diagnostic_type = Some("X-Unix".to_string());
        }
        if r.returned.is_empty()
            && let Some(ret) = &view.returned
        {
            r.returned = ret.clone();
        }
        if !text::is_squashed(&r.diagnostic) {
            r.diagnostic = text::squash(&r.diagnostic);
        }
        if r.reply_code.is_none() {
            r.reply_code = rebound_classify::reply::find_reply_code(&r.diagnostic)
                .filter(|c| (200..600).contains(c));
        }
        if r.reply_code.is_some_and(|c| c < 400) && matches!(r.kind, Kind::Bounce | Kind::Delay) {
            // A failure quoted after the server's greeting or a positive reply
            // (`220-host 421 4.2.1 Service refused`): the failure is the reply.
            if let Some(c) = r
                .diagnostic
                .split_whitespace()
                .filter_map(rebound_classify::reply::find_reply_code)
                .find(|c| (400..600).contains(c))
            {
                r.reply_code = Some(c);
            }
        }
        // The remote server's own status, quoted in the diagnostic, is more precise
        // than the summary status of the report (`4.4.7` "delivery time expired" over
        // the `4.7.1` the server gave; a bare `5.0.0`); the innermost (last) quote is the
        // remote server's.
        if let Some(q) = last_status(&r.diagnostic)
            && r.status.as_deref() != Some(q)
        {
            r.status = Some(q.to_string());
        }
        if r.remote_mta.is_none() || r.smtp_command.is_none() {
            // Both are read from the diagnostic in lower case: lowered once.
            let lower = text::lower(&r.diagnostic);
            if r.remote_mta.is_none() {
                r.remote_mta = text::host_in_lower(&lower);
            }
            if r.smtp_command.is_none() {
                r.smtp_command = formats::smtp_command_lower(&lower).or(report_command);
            }
        }
        if matches!(r.kind, Kind::Bounce | Kind::Delay | Kind::Delivered) {
            let reply = Reply::from_parts(r.reply_code, r.status.as_deref(), &r.diagnostic)
                .with_host(r.remote_mta.as_deref());
            let mut verdict = classifier.classify(&reply, scratch);
            if verdict.reason == rebound_vocab::Reason::Expired
                && let Some(head) = sisimai::before_expiry(&r.diagnostic)
            {
                // The MTA gave up retrying; the remote server's own words before that
                // say why it retried (`450 4.2.2 Mailbox full ... Giving up`). A
                // specific cause is the reason, and so is a fault of the receiving
                // system itself (`Unable to contact LDAP server`); a connection or
                // network trouble leaves it expired.
                let cause = classifier.classify(
                    &Reply::from_parts(r.reply_code, r.status.as_deref(), head)
                        .with_host(r.remote_mta.as_deref()),
                    scratch,
                );
                if cause.evidence.source == rebound_classify::Source::Text
                    && (cause.reason == rebound_vocab::Reason::ReceiverError
                        || !matches!(
                            cause.category,
                            rebound_vocab::Category::Technical | rebound_vocab::Category::Other
                        ))
                {
                    verdict = cause;
                }
            }
            r.verdict = Some(verdict);
        }
        r.sisimai = sisimai::view(r, sisimai_format, family);
    }
}

/// The last enhanced status code in a text.
fn last_status(text: &str) -> Option<&str> {
    let mut rest = text;
    let mut last = None;
    while let Some(found) = rebound_classify::reply::find_status(rest) {
        last = Some(found);
        let end = found.as_ptr() as usize - rest.as_ptr() as usize + found.len();
        rest = &rest[end..];
    }
    last
}

fn message_kind(recipients: &[Recipient]) -> Kind {
    recipients
        .iter()
        .map(|r| r.kind)
        .min()
        .unwrap_or(Kind::NotBounce)
}

/// mail-parser reads `\n` and `\r\n`; a message with old Mac `\r` line ends is
/// rewritten with `\n`.
fn normalize_line_ends(input: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if memchr::memchr(b'\n', input).is_some() || memchr::memchr(b'\r', input).is_none() {
        return std::borrow::Cow::Borrowed(input);
    }
    std::borrow::Cow::Owned(
        input
            .iter()
            .map(|&b| if b == b'\r' { b'\n' } else { b })
            .collect(),
    )
}

/// Whether the input starts with something like a header field (`Name: value`).
fn has_header_block(b: &[u8]) -> bool {
    let line_end = memchr::memchr(b'\n', b).unwrap_or(b.len());
    let first = &b[..line_end.min(1000)];
    match memchr::memchr(b':', first) {
        Some(colon) if colon > 0 => first[..colon]
            .iter()
            .all(|&c| c.is_ascii_graphic() && c != b':'),
        _ => false,
    }
}
