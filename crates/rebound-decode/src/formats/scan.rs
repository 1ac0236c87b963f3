//! The shared reader of plain-text reports: finds the lines that name a failed
//! recipient and gathers, for each, the error that follows it (or, when the MTA names
//! the error first, precedes it). See the module doc of [`crate::formats`].

use crate::knowledge;
use crate::mime::View;
use crate::text;
use crate::{Kind, Recipient, RecipientSource, address};
use std::borrow::Cow;
use std::sync::LazyLock;

/// The most lines of a report read after a recipient line.
const MAX_BLOCK_LINES: usize = 30;

/// Reads the failed recipients and their errors from a view's report text.
pub fn scan_text(view: &View) -> Vec<Recipient> {
    // Borrowed where the view holds them: copying them cost an allocation each.
    let mut exclude: Vec<Cow<'_, str>> = Vec::with_capacity(view.to_addrs.len() + 3);
    exclude.extend(view.to_addrs.iter().map(|a| Cow::Borrowed(a.as_str())));
    exclude.push(Cow::Borrowed(&view.from_addr));
    if let Some(ret) = &view.returned
        && let Some(f) = &ret.from
    {
        exclude.push(Cow::Borrowed(f));
    }
    // The returned message's envelope sender (its `Return-Path`) is the sender too.
    for line in text::lines(&view.returned_raw) {
        if text::starts_with_ci(line, "return-path:")
            && let Some(a) = address::normalize(&line["return-path:".len()..])
        {
            exclude.push(Cow::Owned(a));
        }
    }
    scan_as(view.text(), &exclude, kind_of_view(view))
}

/// Reads failed recipients from a report's text, leaving out the addresses in `exclude`
/// (the report's sender and addressee: the original sender).
pub fn scan(report: &str, exclude: &[String]) -> Vec<Recipient> {
    scan_as(report, exclude, kind_of_text(report))
}

/// [`scan`], the kind of report (bounce or delay) being known.
pub fn scan_as(report: &str, exclude: &[impl AsRef<str>], kind: Kind) -> Vec<Recipient> {
    let lines: Vec<&str> = text::lines(report).map(unquote).collect();
    // Each recipient line: where it is, the address and the rest of the line.
    let mut starts: Vec<(usize, String, &str)> = Vec::new();
    // The last non-blank line before the current one.
    let mut prev = "";
    for (i, line) in lines.iter().enumerate() {
        let t = text::trim(line);
        if let Some((addr, inline)) = recipient_on_line(t)
            && !exclude.iter().any(|x| address::same(x.as_ref(), &addr))
            && !knowledge::SENDER_INTRODUCTIONS
                .iter()
                .any(|p| text::ends_with_ci(prev.trim_end(), p))
        {
            starts.push((i, addr, inline));
        }
        if !t.is_empty() {
            prev = line;
        }
    }
    let mut out: Vec<Recipient> = Vec::new();
    for (k, (i, addr, inline)) in starts.iter().enumerate() {
        let end = starts
            .get(k + 1)
            .map_or(lines.len(), |n| n.0)
            .min(i + 1 + MAX_BLOCK_LINES);
        let prev_end = if k == 0 { 0 } else { starts[k - 1].0 + 1 };
        let mut block: Vec<&str> = Vec::new();
        let transcript = is_transcript_verdict(inline);
        if transcript {
            // Sendmail's transcript closes each recipient's session with its verdict
            // line (`554 <user@example.org>... Service unavailable`); the lines before
            // it, back to the previous recipient or to the "while talking to" line,
            // say why (`mail.local: unknown user: user`, the remote `<<<` reply); the
            // lines after it are another session's (the next recipient's, or another
            // host's deferral).
            block.extend(transcript_session(&lines[prev_end..*i]));
        }
        if !inline.is_empty() {
            block.push(inline);
        }
        if !transcript {
            block.extend(lines[i + 1..end].iter().copied());
        }
        let mut diag = pick_error(&block);
        if diag.is_empty() {
            // The error came first (Notes: the reason, then the address).
            let before: Vec<&str> = lines[prev_end..*i]
                .iter()
                .rev()
                .take_while(|l| !l.trim().is_empty())
                .copied()
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            diag = pick_error(&before);
        }
        if !has_error_code(&diag) {
            // The recipient is named in a list of the message's details (James,
            // carriers' MMS gateways) after the error: take the nearest paragraph
            // before it that holds an error code.
            if let Some(p) = lines[prev_end..*i]
                .split(|l| l.trim().is_empty())
                .rev()
                .find(|p| p.iter().any(|l| has_error_code(l)))
            {
                diag = pick_error(p);
            }
        }
        if let Some(prev) = out.iter_mut().find(|r| address::same(&r.recipient, addr)) {
            if prev.diagnostic.is_empty() || !has_code(&prev.diagnostic) && has_code(&diag) {
                prev.diagnostic = diag;
            } else if !diag.is_empty() && !prev.diagnostic.contains(&diag) && has_code(&diag) {
                prev.diagnostic.push(' ');
                prev.diagnostic.push_str(&diag);
            }
            continue;
        }
        let mut r = Recipient::new(addr.clone(), RecipientSource::Body, kind);
        r.diagnostic = diag;
        out.push(r);
    }
    if out.len() == 1 && out[0].diagnostic.is_empty() {
        out[0].diagnostic = report_error(report);
    }
    out
}

/// Whether a recipient line is a Sendmail transcript's verdict on the recipient:
/// a reply code, the address, `...` and the error (`554 <user@example.org>... error`).
fn is_transcript_verdict(line: &str) -> bool {
    let t = line.trim_start();
    let b = t.as_bytes();
    b.len() > 4
        && b[..3].iter().all(u8::is_ascii_digit)
        && matches!(b[0], b'4' | b'5')
        && b[3] == b' '
        && t.contains("...")
}

/// The lines of a Sendmail transcript that lead up to a recipient's verdict line:
/// the contiguous non-blank lines just before it, from the last "while talking to"
/// line among them if there is one.
fn transcript_session<'a>(before: &[&'a str]) -> Vec<&'a str> {
    let from = before
        .iter()
        .rposition(|l| l.trim().is_empty())
        .map_or(0, |p| p + 1);
    let run = &before[from..];
    let start = run
        .iter()
        .rposition(|l| l.to_ascii_lowercase().contains("while talking to"))
        .unwrap_or(0);
    run[start..].to_vec()
}

/// Undoes forwarding quotation (`> `) so that a forwarded report still reads.
fn unquote(line: &str) -> &str {
    let mut l = line;
    while let Some(rest) = l.strip_prefix('>') {
        if rest.starts_with(">>") {
            break; // a Sendmail transcript line (`>>> RCPT TO`), not a quote
        }
        l = rest.strip_prefix(' ').unwrap_or(rest);
    }
    l
}

/// The address a line (trimmed) names as a failed recipient, and the rest of the line
/// after it.
fn recipient_on_line(t: &str) -> Option<(String, &str)> {
    if t.len() > 1000 || memchr::memchr(b'@', t.as_bytes()).is_none() {
        return None;
    }
    if knowledge::NOT_RECIPIENT_PREFIXES
        .iter()
        .any(|p| text::starts_with_ci(t, p))
    {
        return None;
    }
    let found = address::find_all(t);
    let first = found.first()?;
    let before = &t[..first.start];
    let at_start = before.chars().all(|c| {
        matches!(
            c,
            '<' | '"' | '\'' | '(' | '*' | '-' | '[' | ' ' | '\t' | '•'
        )
    });
    let by_phrase = !at_start && {
        let lb = before.trim_end_matches(['<', '"', '\'', ' ', '\t', '[', '(']);
        RECIPIENT_PHRASE_ENDS
            .iter()
            .any(|p| text::ends_with_ci(lb, p))
    };
    // Sendmail's transcript: `554 <user@example.org>... error`.
    let by_code = !at_start && !by_phrase && {
        let b = before.trim();
        let code = b.split_whitespace().next().unwrap_or_default();
        code.len() == 3
            && rebound_classify::reply::find_reply_code(code).is_some()
            && b.split_whitespace().count() <= 2
            && t[first.end..].trim_start_matches('>').starts_with("...")
    };
    if !at_start && !by_phrase && !by_code {
        return None;
    }
    let addr = address::normalize(first.addr)?;
    if by_phrase || by_code {
        // The line itself says what went wrong ("Unknown user: x", "554 <x>... error").
        return Some((addr, t));
    }
    let rest = t[first.end..]
        .trim_start_matches(['>', '"', '\'', ']', ')', ':', ' ', '\t', '.', ','])
        .trim();
    // "addr on <date>" (Exchange), "addr [reason]" (appliances): keep the words.
    Some((addr, rest))
}

/// [`knowledge::RECIPIENT_PHRASES`] as a line before an address ends them: without
/// the white space at their ends, each once (trimming each phrase for each line cost
/// more than comparing it).
static RECIPIENT_PHRASE_ENDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut ends: Vec<&str> = Vec::new();
    for p in knowledge::RECIPIENT_PHRASES {
        let p = p.trim_end();
        if !ends.contains(&p) {
            ends.push(p);
        }
    }
    ends
});

pub fn has_code(s: &str) -> bool {
    rebound_classify::reply::find_reply_code(s).is_some()
        || rebound_classify::reply::find_status(s).is_some()
        || has_qmail_code(s)
}

/// Whether `s` holds qmail's `(#`: `s.contains("(#")`, without setting up a substring
/// search for each of the many short lines this is asked of.
fn has_qmail_code(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b'(', b).any(|i| b.get(i + 1) == Some(&b'#'))
}

/// Whether a text holds a failure's code: a 4xx/5xx reply code, a 4.x.x/5.x.x status,
/// or qmail's `(#5.x.x)`.
fn has_error_code(s: &str) -> bool {
    rebound_classify::reply::find_reply_code(s).is_some_and(|c| (400..600).contains(&c))
        || rebound_classify::reply::find_status(s).is_some_and(|st| !st.starts_with('2'))
        || has_qmail_code(s)
}

fn is_boilerplate(line: &str) -> bool {
    crate::phrases::BOILERPLATE_ANY_CASE.any_in(line)
}

/// From the lines about one recipient, the error: everything up to the end of the
/// paragraph holding the first SMTP code, else the first lines of prose.
fn pick_error(block: &[&str]) -> String {
    let code_at = block.iter().position(|l| has_code(l));
    let mut out = String::new();
    let mut n = 0;
    for (i, l) in block.iter().enumerate() {
        let t = text::trim(l);
        if t.is_empty() {
            if code_at.is_some_and(|c| i > c) {
                break;
            }
            if code_at.is_none() && n >= 2 {
                break;
            }
            continue;
        }
        if (is_boilerplate(t) && !has_code(t))
            || t.bytes()
                .all(|c| matches!(c, b'-' | b'=' | b'*' | b'#' | b'_'))
        {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t);
        n += 1;
        if n > 12 {
            break;
        }
    }
    out
}

/// The error a report states without tying it to a recipient: the first paragraph
/// holding an SMTP code, else the whole short text without boilerplate.
pub fn report_error(report: &str) -> String {
    let lines: Vec<&str> = text::lines(report).collect();
    let code_at = lines.iter().position(|l| has_code(l));
    let from = match code_at {
        Some(c) => lines[..c]
            .iter()
            .rposition(|l| l.trim().is_empty())
            .map_or(0, |p| p + 1),
        None => 0,
    };
    let block: Vec<&str> = lines[from..].iter().take(40).copied().collect();
    pick_error(&block)
}

/// Whether a report's text says the message is only delayed.
pub fn kind_of_text(report: &str) -> Kind {
    kind_of_lower(&text::lower(report))
}

/// [`kind_of_text`] of a view's report text, found once per view.
pub fn kind_of_view(view: &View) -> Kind {
    if view.phrases().delayed {
        Kind::Delay
    } else {
        Kind::Bounce
    }
}

/// [`kind_of_text`] of a text already in lower case.
pub fn kind_of_lower(l: &str) -> Kind {
    if crate::phrases::DELAY_PHRASES.any_in(l) {
        Kind::Delay
    } else {
        Kind::Bounce
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The phrases are compared ignoring ASCII case ([`text::starts_with_ci`]), which is
    /// the same as comparing them with the lower-cased text only if they are ASCII and
    /// in lower case.
    #[test]
    fn line_phrases_are_lower_case_ascii() {
        for p in knowledge::NOT_RECIPIENT_PREFIXES
            .iter()
            .chain(knowledge::RECIPIENT_PHRASES)
            .chain(knowledge::SENDER_INTRODUCTIONS)
        {
            assert!(p.is_ascii() && p.to_ascii_lowercase() == *p, "{p}");
        }
    }

    #[test]
    fn a_qmail_code_is_what_contains_finds() {
        for s in [
            "",
            "(",
            "(#",
            "x (#5.1.1)",
            "((#",
            "( #",
            "#(",
            "é(#",
            "(é#",
        ] {
            assert_eq!(has_qmail_code(s), s.contains("(#"), "{s:?}");
        }
    }

    #[test]
    fn reads_a_qmail_style_report() {
        let t = "Hi. This is the qmail-send program at mx.example.jp.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n\n<kijitora@example.jp>:\n192.0.2.1 does not like recipient.\nRemote host said: 550 5.1.1 unknown user\nGiving up on 192.0.2.1.\n\n<neko@example.jp>:\nSorry, no mailbox here by that name. (#5.1.1)\n";
        let r = scan(t, &[]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].recipient, "kijitora@example.jp");
        assert!(r[0].diagnostic.contains("550 5.1.1"));
        assert!(r[1].diagnostic.contains("no mailbox"));
    }

    #[test]
    fn a_sendmail_verdict_line_takes_the_session_before_it() {
        let t = "   ----- Transcript of session follows -----\nWhile talking to mx.example.edu:\n>>> MAIL From:<sender@example.jp>\n<<< 550 Insecure Mail Relay\n554 <a@example.edu>... Remote protocol error\n550 example.or.jp (smtp)... 550 Host unknown\n554 <b@example.or.jp>... 550 Host unknown (Authoritative answer from name server)\n421 example.org (smtp)... Deferred: Connection timed out\n";
        let r = scan(t, &[]);
        assert_eq!(r.len(), 2);
        assert!(
            r[0].diagnostic.contains("Insecure Mail Relay"),
            "{}",
            r[0].diagnostic
        );
        assert!(
            !r[0].diagnostic.contains("Host unknown"),
            "{}",
            r[0].diagnostic
        );
        assert!(
            r[1].diagnostic.starts_with("550 example.or.jp"),
            "{}",
            r[1].diagnostic
        );
        assert!(!r[1].diagnostic.contains("Deferred"), "{}", r[1].diagnostic);
        let t = "   ----- Transcript of session follows -----\nmail.local: unknown user: kijitora\n554 <kijitora@example.net>... Service unavailable\n";
        let r = scan(t, &[]);
        assert!(
            r[0].diagnostic.starts_with("mail.local: unknown user"),
            "{}",
            r[0].diagnostic
        );
    }

    #[test]
    fn reads_the_error_before_the_address() {
        let t = "------- Failure Reasons --------\n\nUser not listed in public Name & Address Book\nkijitora@example.com\n";
        let r = scan(t, &[]);
        assert_eq!(r.len(), 1);
        assert!(r[0].diagnostic.contains("not listed"));
    }
}
