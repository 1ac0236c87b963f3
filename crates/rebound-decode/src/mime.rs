//! The MIME layer: takes a parsed message (mail-parser does base64, quoted-printable,
//! RFC 2047 words and charsets) apart into what the decoders need: the top-level header
//! fields, the human-readable report text, the machine-readable report parts
//! (`message/delivery-status`, `message/global-delivery-status`,
//! `message/feedback-report`), and the headers of the returned message
//! (`message/rfc822`, `message/global`, `text/rfc822-headers`, or a copy pasted into a
//! plain text report after a boundary phrase).

use crate::Returned;
use crate::text;
use mail_parser::{HeaderName, Message, MessageParser, MimeHeaders, PartType};
use std::sync::LazyLock;

/// The one message parser, built once: it parses only the header fields the decoder
/// reads (MIME structure, addresses, subject, message id); every other field, and
/// above all the costly `Received` chains, is only skipped over (its raw bytes stay
/// reachable through the header offsets, which is how the decoder reads them).
pub static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .with_mime_headers()
        .header_text(HeaderName::Subject)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_id(HeaderName::MessageId)
        .default_header_ignore()
});

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
    /// The top-level header fields, raw (name, value), in order.
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
    /// The MTA family the text names, found once.
    family: std::sync::OnceLock<Option<&'static str>>,
}

impl View {
    /// Header value by name (case-insensitive), first occurrence, unfolded.
    pub fn header(&self, name: &str) -> Option<&str> {
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

    /// The MTA family named by the text, computed once by `find`.
    pub fn family_with(
        &self,
        find: impl FnOnce(&str) -> Option<&'static str>,
    ) -> Option<&'static str> {
        *self.family.get_or_init(|| find(&self.joined_lower))
    }

    fn join_texts(&mut self) {
        let mut s = String::new();
        for t in &self.texts {
            if s.len() > MAX_TEXT {
                break;
            }
            s.push_str(t);
            s.push('\n');
        }
        self.joined_lower = text::lower(&s);
        self.joined = s;
    }

    pub fn build(msg: &Message<'_>) -> View {
        let mut v = View {
            subject: msg.subject().unwrap_or_default().trim().to_string(),
            ..View::default()
        };
        if let Some(a) = msg.from().and_then(|a| a.first()) {
            v.from_addr = a.address().unwrap_or_default().trim().to_string();
            v.from_name = a.name().unwrap_or_default().trim().to_string();
        }
        if v.from_addr.is_empty()
            && let Some(raw) = msg.header_raw("From")
        {
            v.from_addr = raw.trim().to_string();
        }
        for a in msg.to().into_iter().chain(msg.cc()) {
            for addr in a.iter() {
                if let Some(s) = addr.address() {
                    v.to_addrs.push(s.trim().to_string());
                }
            }
        }
        for (name, value) in msg.headers_raw() {
            let value = unfold(value);
            if (name.eq_ignore_ascii_case("Delivered-To")
                || name.eq_ignore_ascii_case("X-Original-To"))
                && let Some(a) = crate::address::first(&value)
            {
                v.delivered_to.push(a.to_string());
            }
            v.headers.push((name.to_string(), value));
        }
        if v.subject.is_empty()
            && let Some(s) = v.header("Subject")
        {
            v.subject = s.to_string();
        }
        if let Some(ct) = msg.root_part().content_type()
            && ct.ctype().eq_ignore_ascii_case("multipart")
            && let Some(rt) = ct.attribute("report-type")
        {
            v.report_type = rt.to_ascii_lowercase();
        }
        v.walk(msg);
        if v.texts.is_empty() && v.dsn.is_empty() && v.feedback.is_empty() {
            // A multipart whose boundaries are missing or broken: the body as text.
            let raw = msg.raw_message();
            let body_at = msg.root_part().offset_body as usize;
            if body_at < raw.len() {
                let end = raw.len().min(body_at + MAX_TEXT);
                v.texts.push(text::to_text(&raw[body_at..end]));
            }
        }
        v.cut_returned_copy();
        v.join_texts();
        v
    }

    fn walk(&mut self, msg: &Message<'_>) {
        let mut text_bytes = 0usize;
        for (i, part) in msg.parts.iter().enumerate() {
            let (ctype, subtype) = match part.content_type() {
                Some(ct) => (
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or_default().to_ascii_lowercase(),
                ),
                None => ("text".to_string(), "plain".to_string()),
            };
            let full = format!("{ctype}/{subtype}");
            match &part.body {
                PartType::Multipart(_) => {}
                PartType::Message(m) => {
                    if self.returned.is_none() {
                        self.returned = Some(returned_of(m));
                        self.returned_raw = header_block(m.raw_message());
                    }
                }
                _ => {
                    let bytes = part.contents();
                    match full.as_str() {
                        "message/delivery-status"
                        | "message/global-delivery-status"
                        | "text/delivery-status" => {
                            self.dsn.push(text::to_text(bytes));
                        }
                        "message/feedback-report" => self.feedback.push(text::to_text(bytes)),
                        "text/rfc822-headers"
                        | "message/rfc822-headers"
                        | "message/global-headers"
                        | "text/rfc822-header"
                        // message/* not parsed by mail-parser (nested too deep, or
                        // encoded): its headers are still worth reading.
                        | "message/rfc822"
                        | "message/global"
                        | "message/partial" => self.offer_returned(bytes),
                        _ if ctype == "text" || (i == 0 && ctype != "multipart") => {
                            if text_bytes > MAX_TEXT {
                                continue;
                            }
                            let mut t = match &part.body {
                                PartType::Text(t) => text::normalize_newlines(t),
                                PartType::Html(h) => text::strip_html(h),
                                _ => text::to_text(bytes),
                            };
                            if subtype == "html" && !matches!(part.body, PartType::Html(_)) {
                                t = text::strip_html(&t);
                            }
                            // A text part that is itself a header block (some MTAs
                            // attach the returned headers as text/plain).
                            if self.returned.is_none()
                                && !self.texts.is_empty()
                                && looks_like_headers(&t)
                            {
                                self.set_returned_from_bytes(t.as_bytes());
                                continue;
                            }
                            // A text part that is itself a DSN (some MTAs label it text/plain).
                            text_bytes += t.len();
                            self.texts.push(t);
                        }
                        _ => {}
                    }
                }
            }
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
        if let Some(m) = PARSER.parse_headers(head.as_bytes()) {
            let r = returned_of(&m);
            if !r.is_empty() {
                self.returned = Some(r);
            }
        }
        self.returned_raw = head;
    }

    /// In a plain-text report, the returned message follows a boundary phrase: cut the
    /// text there and read the headers after it.
    fn cut_returned_copy(&mut self) {
        for ti in 0..self.texts.len() {
            let Some(pos) = find_boundary(&self.texts[ti]) else {
                continue;
            };
            let tail = self.texts[ti][pos..].to_string();
            self.texts[ti].truncate(pos);
            // Skip the boundary line itself, then any blank or separator lines.
            let after = tail.split_once('\n').map(|x| x.1).unwrap_or("");
            let after = after.trim_start_matches(|c: char| {
                c == '\n' || c == ' ' || c == '-' || c == '*' || c == '='
            });
            if self.returned.is_none() {
                self.set_returned_from_bytes(after.as_bytes());
            }
            // Anything after belongs to the returned message, not to the report.
            self.texts.truncate(ti + 1);
            break;
        }
    }
}

/// Where the first returned-message boundary phrase starts its line in `text`.
pub fn find_boundary(text: &str) -> Option<usize> {
    let lower = text::lower(text);
    let at = crate::phrases::RETURNED_BOUNDARIES.earliest(&lower)?;
    // `lower` may differ in length from `text` for some characters; map by line.
    let line_start_lower = lower[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_no = lower[..line_start_lower].matches('\n').count();
    let mut off = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if n == line_no {
            return Some(off);
        }
        off += line.len();
    }
    None
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
            let l = l.to_ascii_lowercase();
            l.starts_with("received:")
                || l.starts_with("message-id:")
                || l.starts_with("return-path:")
        })
}

fn returned_of(m: &Message<'_>) -> Returned {
    let addr = |a: Option<&mail_parser::Address<'_>>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(|s| s.trim().to_string())
    };
    let mut to = Vec::new();
    for a in m.to().into_iter().chain(m.cc()) {
        for x in a.iter() {
            if let Some(s) = x.address() {
                to.push(s.trim().to_string());
            }
        }
    }
    let list_id = m
        .header_raw("List-Id")
        .map(unfold)
        .filter(|v| !v.is_empty());
    Returned {
        message_id: m.message_id().map(str::to_string),
        subject: m.subject().map(|s| s.trim().to_string()),
        from: addr(m.from()),
        to,
        list_id,
    }
}
