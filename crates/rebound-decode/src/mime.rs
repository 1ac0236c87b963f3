//! The MIME layer: takes a parsed message (mail-parser does base64, quoted-printable,
//! RFC 2047 words and charsets) apart into what the decoders need: the top-level header
//! fields, the human-readable report text, the machine-readable report parts
//! (`message/delivery-status`, `message/global-delivery-status`,
//! `message/feedback-report`), and the headers of the returned message
//! (`message/rfc822`, `message/global`, `text/rfc822-headers`, or a copy pasted into a
//! plain text report after a boundary phrase).

use crate::Returned;
use crate::head;
use crate::knowledge;
use crate::text;
use mail_parser::parsers::MessageStream;
use mail_parser::{
    ContentType, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};

mod fast;
mod fields;
mod qp;
use std::borrow::Cow;
use std::sync::LazyLock;

/// The one message parser, built once: it parses only the header fields the decoder
/// reads (MIME structure, addresses, subject, message id); every other field, and
/// above all the costly `Received` chains, is only skipped over (its raw bytes stay
/// reachable through the header offsets, which is how the decoder reads them).
pub static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        // The MIME fields that make the structure and the decoding of the parts (not
        // Content-ID, -Description, -Location, which the decoder does not read).
        .header_content_type(HeaderName::ContentType)
        .header_content_type(HeaderName::ContentDisposition)
        .header_text(HeaderName::ContentTransferEncoding)
        .header_text(HeaderName::Subject)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_id(HeaderName::MessageId)
        .default_header_ignore()
});

/// What `message` becomes in the `Content-Type` of a returned message hidden from
/// mail-parser by [`hide_returned_messages`] (the same length, so that nothing moves).
const HIDDEN_TYPE: &str = "rebound";

/// What mail-parser is given of a message ([`for_mail_parser`]).
pub struct Fed<'a> {
    pub bytes: Cow<'a, [u8]>,
    /// Where the body starts in `bytes`.
    pub body: usize,
    /// Whether an empty line ends the header block (else the input ends in it).
    pub ended: bool,
}

/// What mail-parser is given of a message: its returned messages hidden
/// ([`hide_returned_messages`]), and of its top-level header fields only those that
/// mail-parser reads for the view (the MIME fields, `From`, `To`, `Cc`, `Subject`);
/// the others (`Received` chains, signatures ...) are read raw from `head` by
/// [`View::build`], or not at all.
pub fn for_mail_parser<'a>(bytes: &'a [u8], head: &head::Block) -> Fed<'a> {
    let parsed = |f: &&head::Field| {
        let name = f.name(bytes);
        name.get(..8)
            .is_some_and(|n| n.eq_ignore_ascii_case(b"content-"))
            || PARSED_FIELDS
                .iter()
                .any(|p| name.eq_ignore_ascii_case(p.as_bytes()))
    };
    let ended = head.end < head.body;
    let kept = head.fields.iter().filter(parsed).count();
    if kept == 0 || kept == head.fields.len() {
        let bytes = match hide_returned_messages(bytes) {
            Some(hidden) => Cow::Owned(hidden),
            None => Cow::Borrowed(bytes),
        };
        return Fed {
            bytes,
            body: head.body,
            ended,
        };
    }
    let mut out = Vec::with_capacity(bytes.len());
    for f in head.fields.iter().filter(parsed) {
        out.extend_from_slice(&bytes[f.start..f.end]);
    }
    let body = out.len() + (head.body - head.end);
    out.extend_from_slice(&bytes[head.end..]);
    let at = returned_types(&out);
    hide_at(&mut out, &at);
    Fed {
        bytes: Cow::Owned(out),
        body,
        ended,
    }
}

/// The top-level fields besides `Content-*` that mail-parser parses for the view.
const PARSED_FIELDS: &[&str] = &["subject", "from", "to", "cc"];

/// mail-parser parses a `message/rfc822` (or `message/global`) part as a whole message,
/// body and attachments decoded and copied, of which the decoder reads only the header
/// block. Here such a part's `Content-Type: message/...` becomes
/// `Content-Type: rebound/...` (in a copy of `bytes`, made only if there is one): mail-parser
/// then keeps the part as opaque bytes, and [`View`] reads its headers itself. A part
/// missed here (an unusual spelling) is still read, only more slowly.
fn hide_returned_messages(bytes: &[u8]) -> Option<Vec<u8>> {
    let at = returned_types(bytes);
    if at.is_empty() {
        return None;
    }
    let mut out = bytes.to_vec();
    hide_at(&mut out, &at);
    Some(out)
}

/// Where the `message` of each returned message's `Content-Type` starts in `bytes`.
fn returned_types(bytes: &[u8]) -> Vec<usize> {
    static TYPE_END: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new("essage/"));
    let mut out = Vec::new();
    for at in TYPE_END.find_iter(bytes) {
        let (Some(start), sub) = (at.checked_sub(1), at + "essage/".len()) else {
            continue;
        };
        let Some(end) = [&b"rfc822"[..], b"global"].iter().find_map(|s| {
            bytes
                .get(sub..sub + s.len())
                .filter(|t| t.eq_ignore_ascii_case(s))
                .map(|_| sub + s.len())
        }) else {
            continue;
        };
        if bytes[start].eq_ignore_ascii_case(&b'm') && is_content_type_value(bytes, start, end) {
            out.push(start);
        }
    }
    out
}

/// Writes [`HIDDEN_TYPE`] over the `message` at each of `at`.
fn hide_at(bytes: &mut [u8], at: &[usize]) {
    for &start in at {
        bytes[start..start + HIDDEN_TYPE.len()].copy_from_slice(HIDDEN_TYPE.as_bytes());
    }
}

/// Whether `bytes[start..end]` is the whole media type of a `Content-Type` field: the
/// field name starts a line, and only white space (folding included) comes between its
/// colon and the type; a parameter, a comment or the line end follows the type.
fn is_content_type_value(bytes: &[u8], start: usize, end: usize) -> bool {
    if bytes
        .get(end)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'+'))
    {
        return false;
    }
    let mut i = start;
    while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\r' | b'\n') {
        i -= 1;
    }
    const NAME: &[u8] = b"content-type:";
    i >= NAME.len()
        && bytes[i - NAME.len()..i].eq_ignore_ascii_case(NAME)
        && (i == NAME.len() || bytes[i - NAME.len() - 1] == b'\n')
}

/// The top-level header fields the readers look at, besides those mail-parser reads
/// (`From`, `To`, `Cc`, `Subject`) and `Delivered-To` / `X-Original-To` (read into
/// [`View::delivered_to`]); the others are not copied into the view. The auto-reply
/// marks of [`knowledge::AUTOREPLY_HEADERS`] are read too.
pub const READ_HEADERS: &[&str] = &[
    "Subject",
    "Auto-Submitted",
    "X-Apple-Unsubscribe",
    "X-Failed-Recipients",
];

fn is_read_header(name: &str) -> bool {
    is_read_header_name(name.as_bytes())
}

/// [`is_read_header`] of a raw field name (a name that is not UTF-8 is none of them).
fn is_read_header_name(name: &[u8]) -> bool {
    READ_HEADERS
        .iter()
        .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
        || knowledge::AUTOREPLY_HEADERS
            .iter()
            .any(|(h, _)| h.as_bytes().eq_ignore_ascii_case(name))
}

/// The longest report text looked at, in bytes. Real reports are a few kilobytes; the
/// cap bounds the work on hostile input.
const MAX_TEXT: usize = 256 * 1024;

/// A message taken apart for decoding. Everything is owned and decoded to UTF-8.
#[derive(Debug, Default)]
pub struct View {
    pub subject: String,
    /// The sender's address and display name.
    pub from_addr: String,
    pub from_name: String,
    /// Every address in To and Cc of the report.
    pub to_addrs: Vec<String>,
    /// Delivered-To and X-Original-To of the report (where it was delivered: a VERP
    /// return path, or with some MTAs the failed recipient itself).
    pub delivered_to: Vec<String>,
    /// The top-level header fields the readers look at ([`READ_HEADERS`]), unfolded
    /// (name, value), in order.
    pub headers: Vec<(String, String)>,
    /// `report-type` of a `multipart/report`, lower case.
    pub report_type: String,
    /// Human-readable text parts, in order, line ends normalised to `\n`.
    pub texts: Vec<String>,
    /// `message/delivery-status` and `message/global-delivery-status` contents.
    pub dsn: Vec<String>,
    /// `message/feedback-report` contents.
    pub feedback: Vec<String>,
    /// The returned message's headers, if any part carried them.
    pub returned: Option<Returned>,
    /// The returned message's raw header block, for formats that look into it.
    pub returned_raw: String,
    /// All human-readable text joined ([`View::text`]) and its lower-case form, made
    /// once when the view is built.
    joined: String,
    joined_lower: String,
    /// What the phrases of the text say (family, delay, refused command), found once.
    phrases: std::sync::OnceLock<crate::phrases::ReportPhrases>,
}

impl View {
    /// Header value by name (case-insensitive), first occurrence, unfolded. Only the
    /// fields [`READ_HEADERS`] names are kept.
    pub fn header(&self, name: &str) -> Option<&str> {
        debug_assert!(is_read_header(name), "{name} is not in READ_HEADERS");
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All human-readable text, joined.
    pub fn text(&self) -> &str {
        &self.joined
    }

    /// [`View::text`] in lower case.
    pub fn text_lower(&self) -> &str {
        &self.joined_lower
    }

    /// What the phrases of the text say: the MTA family, a delay, the refused SMTP
    /// command ([`crate::phrases::report_phrases`]), found once.
    pub fn phrases(&self) -> crate::phrases::ReportPhrases {
        *self
            .phrases
            .get_or_init(|| crate::phrases::report_phrases(&self.joined_lower))
    }

    /// The view of `original`, a message whose header block is `head`; `None` if it is
    /// not a message. The parts are taken apart by [`fast`] if it can, else by
    /// mail-parser.
    pub fn parse(original: &[u8], head: &head::Block) -> Option<View> {
        let fed = for_mail_parser(original, head);
        if let Some(v) = fast::view(&fed, original, head) {
            return Some(v);
        }
        let msg = PARSER.parse(&fed.bytes[..])?;
        if msg.headers().is_empty() {
            return None;
        }
        Some(View::build(&msg, original, head))
    }

    /// The view of a message: `msg` is mail-parser's parse of what [`for_mail_parser`]
    /// made of `original`, whose header block is `head`.
    pub fn build(msg: &Message<'_>, original: &[u8], head: &head::Block) -> View {
        View::build_with(&Top::of(msg), original, head, |v| v.walk(msg))
    }

    /// The view of a message whose top-level header fields the view reads are `top`,
    /// with `walk` taking in its parts.
    fn build_with(
        top: &Top<'_>,
        original: &[u8],
        head: &head::Block,
        walk: impl FnOnce(&mut View),
    ) -> View {
        let mut v = View {
            subject: top
                .subject
                .and_then(HeaderValue::as_text)
                .unwrap_or_default()
                .trim()
                .to_string(),
            ..View::default()
        };
        if let Some(a) = top
            .from
            .and_then(HeaderValue::as_address)
            .and_then(|a| a.first())
        {
            v.from_addr = a.address().unwrap_or_default().trim().to_string();
            v.from_name = a.name().unwrap_or_default().trim().to_string();
        }
        if v.from_addr.is_empty()
            && let Some(raw) = top.from_raw
        {
            v.from_addr = raw.trim().to_string();
        }
        push_addresses(&mut v.to_addrs, top.to, top.cc);
        for f in &head.fields {
            // Names are compared as bytes: most fields are none of these, and a name
            // that equals one ignoring ASCII case is ASCII.
            let raw_name = f.name(original);
            let delivered = raw_name.eq_ignore_ascii_case(b"Delivered-To")
                || raw_name.eq_ignore_ascii_case(b"X-Original-To");
            if !delivered && !is_read_header_name(raw_name) {
                continue;
            }
            let name = std::str::from_utf8(raw_name).unwrap_or_default();
            let Some(value) = f.value(original) else {
                continue;
            };
            if delivered {
                if let Some(a) = crate::address::first(value) {
                    v.delivered_to.push(a.to_string());
                }
            } else {
                v.headers.push((name.to_string(), unfold(value)));
            }
        }
        if v.subject.is_empty()
            && let Some(s) = v.header("Subject")
        {
            v.subject = s.to_string();
        }
        if let Some(ct) = top.content_type
            && ct.ctype().eq_ignore_ascii_case("multipart")
            && let Some(rt) = ct.attribute("report-type")
        {
            v.report_type = rt.to_ascii_lowercase();
        }
        walk(&mut v);
        if v.texts.is_empty() && v.dsn.is_empty() && v.feedback.is_empty() {
            // A multipart whose boundaries are missing or broken: the body as text.
            let raw = original;
            let body_at = head.body;
            if body_at < raw.len() {
                let end = raw.len().min(body_at + MAX_TEXT);
                v.texts.push(text::to_text(&raw[body_at..end]));
            }
        }
        v.cut_returned_copy_and_join();
        v
    }

    /// Takes in every part of mail-parser's parse, in order.
    fn walk(&mut self, msg: &Message<'_>) {
        let mut text_bytes = 0usize;
        for (i, part) in msg.parts.iter().enumerate() {
            let body = match &part.body {
                PartType::Multipart(_) => Body::Multipart,
                PartType::Message(m) => Body::Message(m),
                PartType::Text(t) => Body::Text(t),
                PartType::Html(h) => Body::Html(h),
                PartType::Binary(b) | PartType::InlineBinary(b) => Body::Bytes(b),
            };
            self.take(i, part.content_type(), body, &mut text_bytes);
        }
    }

    /// Takes in part `i` of the message (in mail-parser's order: a multipart before its
    /// parts), of type `ct`, whose decoded contents are `body`; `text_bytes` counts the
    /// report text taken so far.
    fn take(
        &mut self,
        i: usize,
        ct: Option<&ContentType<'_>>,
        body: Body<'_, '_>,
        text_bytes: &mut usize,
    ) {
        let (ctype, subtype) = media_type(ct);
        let bytes = match body {
            Body::Multipart | Body::Skipped => return,
            Body::Message(m) => {
                if self.returned.is_none() {
                    self.returned = Some(returned_of(m));
                    self.returned_raw = header_block(m.raw_message());
                }
                return;
            }
            Body::Text(t) | Body::Html(t) => t.as_bytes(),
            Body::Bytes(b) => b,
        };
        match use_of(i, &ctype, &subtype) {
            Use::Dsn => self.dsn.push(text::to_text(bytes)),
            Use::Feedback => self.feedback.push(text::to_text(bytes)),
            Use::Headers => self.offer_returned(bytes),
            // The returned message, kept opaque ([`hide_returned_messages`]): its header
            // block is read here, and it is the returned message even if it names
            // nothing.
            Use::Returned => self.take_returned_message(bytes),
            Use::Text => {
                if *text_bytes > MAX_TEXT {
                    return;
                }
                let mut t = match body {
                    Body::Text(t) => text::normalize_newlines(t),
                    Body::Html(h) => text::strip_html(h),
                    _ => text::to_text(bytes),
                };
                if subtype == "html" && !matches!(body, Body::Html(_)) {
                    t = text::strip_html(&t);
                }
                // A text part that is itself a header block (some MTAs attach the
                // returned headers as text/plain).
                if self.returned.is_none() && !self.texts.is_empty() && looks_like_headers(&t) {
                    self.set_returned_from_bytes(t.as_bytes());
                    return;
                }
                // A text part that is itself a DSN (some MTAs label it text/plain).
                *text_bytes += t.len();
                self.texts.push(t);
            }
            Use::Nothing => {}
        }
    }

    /// Takes the header block of `bytes`, a returned message, as the returned message's
    /// headers (even if it names nothing), unless some part already gave them.
    fn take_returned_message(&mut self, bytes: &[u8]) {
        if self.returned.is_none() {
            let head = header_block(bytes);
            self.returned = Some(returned_of_block(&head));
            self.returned_raw = head;
        }
    }

    /// Takes the headers in `bytes` as the returned message's, unless some part
    /// already gave them.
    fn offer_returned(&mut self, bytes: &[u8]) {
        if self.returned.is_none() {
            self.set_returned_from_bytes(bytes);
        }
    }

    fn set_returned_from_bytes(&mut self, bytes: &[u8]) {
        let head = header_block(bytes);
        let r = returned_of_block(&head);
        if !r.is_empty() {
            self.returned = Some(r);
        }
        self.returned_raw = head;
    }

    /// In a plain-text report, the returned message follows a boundary phrase: cut the
    /// text there and read the headers after it. Then joins the texts kept, and their
    /// lower-case forms ([`text::lower`]), into [`View::text`] and [`View::text_lower`]
    /// (up to [`MAX_TEXT`]). Each text is lowered straight into the joined lower-case
    /// text, where its boundary phrase is looked for: a lower-case copy per text, and
    /// a copy of the cut-off tail, cost more than the lowering itself.
    fn cut_returned_copy_and_join(&mut self) {
        let total: usize = self.texts.iter().map(|t| t.len() + 1).sum();
        let cap = total.min(MAX_TEXT + MAX_TEXT / 4);
        let mut joined = String::with_capacity(cap);
        let mut joined_lower = String::with_capacity(cap);
        // A text past `MAX_TEXT` is not joined, but its boundary phrase still cuts.
        let mut scratch = String::new();
        for ti in 0..self.texts.len() {
            let into_join = joined.len() <= MAX_TEXT;
            let lower = if into_join {
                &mut joined_lower
            } else {
                scratch.clear();
                &mut scratch
            };
            let start = lower.len();
            text::lower_into(&self.texts[ti], lower);
            let cut = boundary_line(&lower[start..]);
            // The lower-case text has the same length and character boundaries as the
            // text: both are kept up to the boundary line.
            let keep = cut.unwrap_or(self.texts[ti].len());
            lower.truncate(start + keep);
            if into_join {
                lower.push('\n');
                joined.push_str(&self.texts[ti][..keep]);
                joined.push('\n');
            }
            let Some(pos) = cut else {
                continue;
            };
            let mut t = std::mem::take(&mut self.texts[ti]);
            // Skip the boundary line itself, then any blank or separator lines.
            let after = t[pos..].split_once('\n').map(|x| x.1).unwrap_or("");
            let after = after.trim_start_matches(|c: char| {
                c == '\n' || c == ' ' || c == '-' || c == '*' || c == '='
            });
            if self.returned.is_none() {
                self.set_returned_from_bytes(after.as_bytes());
            }
            t.truncate(pos);
            self.texts[ti] = t;
            // Anything after belongs to the returned message, not to the report.
            self.texts.truncate(ti + 1);
            break;
        }
        self.joined = joined;
        self.joined_lower = joined_lower;
    }
}

/// The top-level header fields the view reads, as mail-parser parses them: the last of
/// each name (the one mail-parser's accessors read).
pub(crate) struct Top<'a> {
    pub subject: Option<&'a HeaderValue<'a>>,
    pub from: Option<&'a HeaderValue<'a>>,
    /// The raw value of `From` (read when it holds no address).
    pub from_raw: Option<&'a str>,
    pub to: Option<&'a HeaderValue<'a>>,
    pub cc: Option<&'a HeaderValue<'a>>,
    pub content_type: Option<&'a ContentType<'a>>,
}

impl<'a> Top<'a> {
    fn of(msg: &'a Message<'_>) -> Top<'a> {
        Top {
            subject: msg.header(HeaderName::Subject),
            from: msg.header(HeaderName::From),
            from_raw: msg.header_raw("From"),
            to: msg.header(HeaderName::To),
            cc: msg.header(HeaderName::Cc),
            content_type: msg.root_part().content_type(),
        }
    }
}

/// A part's decoded contents, as [`View::take`] reads them: mail-parser's
/// [`PartType`], or what [`fast`] made of a part.
#[derive(Clone, Copy)]
pub(crate) enum Body<'a, 'x> {
    Multipart,
    /// A returned message that mail-parser parsed (one [`hide_returned_messages`]
    /// missed).
    Message(&'a Message<'x>),
    Text(&'a str),
    Html(&'a str),
    Bytes(&'a [u8]),
    /// A part that the view does not read ([`use_of`] gives [`Use::Nothing`]), not
    /// decoded.
    Skipped,
}

/// What the view makes of a leaf part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// A delivery status report.
    Dsn,
    /// A feedback report.
    Feedback,
    /// The returned message's header block.
    Headers,
    /// The returned message (hidden from mail-parser).
    Returned,
    /// Human-readable report text.
    Text,
    /// Nothing: images, attachments.
    Nothing,
}

/// The media type of a part as the view names it (lower case; a returned message hidden
/// by [`hide_returned_messages`] is `message/...` again; none is `text/plain`).
pub(crate) fn media_type<'a>(ct: Option<&'a ContentType<'_>>) -> (Cow<'a, str>, Cow<'a, str>) {
    match ct {
        Some(ct) if ct.ctype().eq_ignore_ascii_case(HIDDEN_TYPE) => (
            Cow::Borrowed("message"),
            lower_cow(ct.subtype().unwrap_or_default()),
        ),
        Some(ct) => (
            lower_cow(ct.ctype()),
            lower_cow(ct.subtype().unwrap_or_default()),
        ),
        None => (Cow::Borrowed("text"), Cow::Borrowed("plain")),
    }
}

/// What the view makes of leaf part `i` of type `ctype/subtype` ([`media_type`]).
pub(crate) fn use_of(i: usize, ctype: &str, subtype: &str) -> Use {
    match (ctype, subtype) {
        ("message", "delivery-status")
        | ("message", "global-delivery-status")
        | ("text", "delivery-status") => Use::Dsn,
        ("message", "feedback-report") => Use::Feedback,
        ("text", "rfc822-headers")
        | ("message", "rfc822-headers")
        | ("message", "global-headers")
        | ("text", "rfc822-header")
        | ("message", "partial") => Use::Headers,
        ("message", "rfc822" | "global") => Use::Returned,
        _ if ctype == "text" || (i == 0 && ctype != "multipart") => Use::Text,
        _ => Use::Nothing,
    }
}

/// `s` in ASCII lower case, copied only if it has an upper-case letter (mail-parser
/// gives media types in lower case already).
fn lower_cow(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Where the first returned-message boundary phrase starts its line, in a text in
/// lower case ([`text::lower`] keeps the text's offsets).
fn boundary_line(lower: &str) -> Option<usize> {
    let at = crate::phrases::RETURNED_BOUNDARIES.earliest(lower)?;
    Some(lower[..at].rfind('\n').map_or(0, |i| i + 1))
}

fn unfold(v: &str) -> String {
    if !v.contains('\n') {
        return v.trim().to_string();
    }
    let mut s = String::with_capacity(v.len());
    for (i, line) in v.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if i > 0 {
            s.push(' ');
            s.push_str(line.trim_start());
        } else {
            s.push_str(line);
        }
    }
    s.trim().to_string()
}

/// The header block at the start of `bytes` (up to the first empty line).
fn header_block(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(64 * 1024)];
    // Only the header block is converted: it ends before the first empty line after
    // the first line (`\r\n` line ends count as `\n`).
    let mut start = 0;
    while let Some(nl) = memchr::memchr(b'\n', &bytes[start..]) {
        let line = &bytes[start..start + nl];
        if start > 0 && (line.is_empty() || line == b"\r") {
            return text::to_text(&bytes[..start]);
        }
        start += nl + 1;
    }
    text::to_text(bytes)
}

fn looks_like_headers(t: &str) -> bool {
    let mut fields = 0;
    for line in t.lines().take(8) {
        if line.is_empty() {
            break;
        }
        if let Some((name, _)) = line.split_once(':')
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            fields += 1;
        }
    }
    fields >= 3
        && t.lines().take(30).any(|l| {
            text::starts_with_ci(l, "received:")
                || text::starts_with_ci(l, "message-id:")
                || text::starts_with_ci(l, "return-path:")
        })
}

/// The returned message's header fields that [`Returned`] holds (`Cc` is read with
/// `To`).
const RETURNED_FIELDS: &[&str] = &["message-id", "subject", "from", "to", "cc", "list-id"];

/// The returned message's headers from its header block. Only the last field of each
/// name read ([`RETURNED_FIELDS`]) is parsed, by mail-parser's parser for it
/// ([`fields`]): the rest of the block, mostly `Received` chains and signatures, is only
/// stepped over here.
fn returned_of_block(head: &str) -> Returned {
    let b = head.as_bytes();
    let block = head::read(b);
    let mut last: [Option<&head::Field>; RETURNED_FIELDS.len()] = [None; RETURNED_FIELDS.len()];
    for f in &block.fields {
        if let Some(i) = RETURNED_FIELDS.iter().position(|n| f.is(b, n)) {
            last[i] = Some(f);
        }
    }
    if last.iter().all(Option::is_none) {
        return Returned::default();
    }
    let [id, subject, from, to, cc, list_id] = last;
    let values = [id, subject, from, to, cc].map(|f| f.map(|f| fields::value(b, f)));
    let parsed = (|| {
        let [id, subject, from, to, cc] = &values;
        let id = fields::optional(id.as_deref(), fields::parse_id)?;
        let subject = fields::optional(subject.as_deref(), |v| {
            fields::parse(v, MessageStream::parse_unstructured)
        })?;
        let from = fields::optional(from.as_deref(), fields::parse_address)?;
        let to = fields::optional(to.as_deref(), fields::parse_address)?;
        let cc = fields::optional(cc.as_deref(), fields::parse_address)?;
        Some(returned_from(
            id.as_ref(),
            subject.as_ref(),
            from.as_ref(),
            to.as_ref(),
            cc.as_ref(),
            list_id.and_then(|f| f.value(b)),
        ))
    })();
    parsed.unwrap_or_else(|| returned_of_fields(b, &block))
}

/// [`returned_of_block`] by mail-parser's parse of the block's fields read (a field
/// parser did not stop at the end of a field).
fn returned_of_fields(b: &[u8], block: &head::Block) -> Returned {
    let mut wanted: Vec<u8> = Vec::new();
    for f in &block.fields {
        if RETURNED_FIELDS.iter().any(|n| f.is(b, n)) {
            wanted.extend_from_slice(&b[f.start..f.end]);
            if wanted.last() != Some(&b'\n') {
                wanted.push(b'\n');
            }
        }
    }
    PARSER
        .parse_headers(&wanted[..])
        .map(|m| returned_of(&m))
        .unwrap_or_default()
}

fn returned_of(m: &Message<'_>) -> Returned {
    let h = |name| m.header(name);
    returned_from(
        h(HeaderName::MessageId),
        h(HeaderName::Subject),
        h(HeaderName::From),
        h(HeaderName::To),
        h(HeaderName::Cc),
        m.header_raw("List-Id"),
    )
}

/// The returned message's headers from the values of its last `Message-ID`, `Subject`,
/// `From`, `To` and `Cc` as mail-parser parses them, and the raw value of its last
/// `List-Id`: what mail-parser's accessors (`message_id()`, `subject()`, ...) give.
fn returned_from(
    id: Option<&HeaderValue<'_>>,
    subject: Option<&HeaderValue<'_>>,
    from: Option<&HeaderValue<'_>>,
    to: Option<&HeaderValue<'_>>,
    cc: Option<&HeaderValue<'_>>,
    list_id: Option<&str>,
) -> Returned {
    let mut to_addrs = Vec::new();
    push_addresses(&mut to_addrs, to, cc);
    Returned {
        message_id: id.and_then(HeaderValue::as_text).map(str::to_string),
        subject: subject
            .and_then(HeaderValue::as_text)
            .map(|s| s.trim().to_string()),
        from: from
            .and_then(HeaderValue::as_address)
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(|s| s.trim().to_string()),
        to: to_addrs,
        list_id: list_id.map(unfold).filter(|v| !v.is_empty()),
    }
}

/// Appends the addresses of a `To` and a `Cc` value (trimmed, in mail-parser's order).
fn push_addresses(
    out: &mut Vec<String>,
    to: Option<&HeaderValue<'_>>,
    cc: Option<&HeaderValue<'_>>,
) {
    for a in [to, cc]
        .into_iter()
        .flatten()
        .filter_map(HeaderValue::as_address)
    {
        fields::each_addr(a, |x| {
            if let Some(s) = x.address() {
                out.push(s.trim().to_string());
            }
        });
    }
}
