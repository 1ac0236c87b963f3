//! Hostile and broken input: the decoder never panics and never hangs. Random bytes,
//! corpus messages cut and mutated at random, deep MIME nesting, huge and tiny inputs.

use proptest::prelude::*;
use rebound_decode::decode;
use std::path::Path;
use std::time::{Duration, Instant};

fn corpus_messages() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/maildir/bsd");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .step_by(7)
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn random_header_like_text_never_panics(s in "([A-Za-z-]{1,12}: [ -~]{0,60}\r?\n){0,8}\r?\n[ -~\n<>@:;]{0,800}") {
        let _ = decode(s.as_bytes());
    }

    #[test]
    fn mutated_corpus_messages_never_panic(
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16),
    ) {
        let msgs = corpus_messages();
        prop_assume!(!msgs.is_empty());
        let mut m = msgs[pick.index(msgs.len())].clone();
        for (at, b) in edits {
            let i = at.index(m.len().max(1));
            if i < m.len() {
                m[i] = b;
            }
        }
        let keep = cut.index(m.len() + 1);
        m.truncate(keep);
        let _ = decode(&m);
    }
}

#[test]
fn tiny_inputs_give_a_clear_error_or_nothing() {
    for input in [&b""[..], b"\n", b"x", b"\r\n\r", b"abc", b":", b"a:"] {
        match decode(input) {
            Ok(d) => assert!(d.recipients.is_empty()),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    let mut m = String::from("From: MAILER-DAEMON@example.jp\nSubject: Undelivered Mail\n");
    for i in 0..1000 {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
        ));
    }
    m.push_str("Content-Type: text/plain\n\n<kijitora@example.jp>: 550 5.1.1 User unknown\n");
    let start = Instant::now();
    let _ = decode(m.as_bytes());
    let mut r = String::from("From: MAILER-DAEMON@example.jp\nSubject: Undelivered Mail\n");
    for _ in 0..1000 {
        r.push_str("Content-Type: message/rfc822\n\n");
    }
    r.push_str("Subject: x\n\nbody\n");
    let _ = decode(r.as_bytes());
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn large_inputs_finish() {
    let mut m = b"From: MAILER-DAEMON@example.jp\nSubject: Undelivered Mail Returned to Sender\nContent-Type: text/plain\n\n".to_vec();
    let line = b"<user@example.jp>: host mx.example.jp said: 550 5.1.1 <user@example.jp> User unknown <a@b.c> <>@@@ <<<< \n";
    while m.len() < 8 * 1024 * 1024 {
        m.extend_from_slice(line);
    }
    let start = Instant::now();
    let _ = decode(&m);
    let junk: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let _ = decode(&junk);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
}

/// A 50 MB bounce (a DSN returning a huge message): decoded, its recipient found, in
/// bounded time. The input is built by repeating one line, so building it is cheap.
#[test]
fn a_fifty_megabyte_message_is_decoded() {
    let head = b"From: MAILER-DAEMON@example.jp\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nThis is the mail system.\n\n<user@example.jp>: host mx.example.jp said: 550 5.1.1 User unknown\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; user@example.jp\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n--B\nContent-Type: message/rfc822\n\nFrom: sender@example.org\nTo: user@example.jp\nSubject: big\n\n";
    let line = b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    let size = 50 * 1024 * 1024;
    let mut m = Vec::with_capacity(size + 4096);
    m.extend_from_slice(head);
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m.extend_from_slice(b"\n--B--\n");
    let start = Instant::now();
    let d = decode(&m).expect("a 50 MB DSN decodes");
    assert_eq!(d.recipients.len(), 1);
    assert_eq!(d.recipients[0].recipient, "user@example.jp");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
    // Over the limit: a clear error at once, nothing read.
    m.resize(rebound_decode::MAX_INPUT + 1, b'A');
    let start = Instant::now();
    assert!(decode(&m).is_err());
    assert!(start.elapsed() < Duration::from_secs(1));
}

/// Broken MIME: boundaries that never close, that are declared but never used, that
/// are empty or repeated, parts cut off mid-header, a report whose last part is cut.
#[test]
fn broken_mime_boundaries_never_panic() {
    let cases: &[&str] = &[
        "From: MAILER-DAEMON@example.jp\nContent-Type: multipart/report; boundary=\"X\"\n\n--X\nContent-Type: text/plain\n\n<a@example.jp>: 550 5.1.1 User unknown\n",
        "From: MAILER-DAEMON@example.jp\nContent-Type: multipart/mixed; boundary=\"NEVER\"\n\n--OTHER\n\nbody\n--OTHER--\n",
        "From: MAILER-DAEMON@example.jp\nContent-Type: multipart/mixed; boundary=\"\"\n\n--\n\n----\n",
        "From: MAILER-DAEMON@example.jp\nContent-Type: multipart/mixed; boundary=X\n\n--X\n--X\n--X--\n--X\n--X--\n",
        "From: MAILER-DAEMON@example.jp\nContent-Type: multipart/report; report-type=delivery-status; boundary=X\n\n--X\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@example.jp\nAction: fai",
        "From: MAILER-DAEMON@example.jp\nContent-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: message/rfc822\n\n--X--",
        "From: MAILER-DAEMON@example.jp\nContent-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain; charset=\"x-unknown\"\nContent-Transfer-Encoding: base64\n\n!!!!****\n--X\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n=ZZ=\n=\n--X--\n",
        "Content-Type: multipart/mixed; boundary=X\n",
        "Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n",
    ];
    for c in cases {
        let _ = decode(c.as_bytes());
        // Every prefix of it, too (a message cut anywhere).
        for cut in 0..c.len() {
            if c.is_char_boundary(cut) {
                let _ = decode(&c.as_bytes()[..cut]);
            }
        }
    }
}

/// Nested multiparts whose boundaries never close, 1,000 deep, and an unterminated
/// `message/rfc822` chain inside a multipart: bounded time, no stack overflow.
#[test]
fn deep_unclosed_nesting_finishes() {
    let mut m = String::from("From: MAILER-DAEMON@example.jp\n");
    for i in 0..1000 {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\nContent-Type: message/rfc822\n\n"
        ));
    }
    let start = Instant::now();
    let _ = decode(m.as_bytes());
    assert!(start.elapsed() < Duration::from_secs(30));
}

/// Binary junk after a plausible header, and NUL bytes everywhere.
#[test]
fn binary_junk_after_headers_never_panics() {
    let mut m = b"From: MAILER-DAEMON@example.jp\nSubject: Undelivered\n\n".to_vec();
    m.extend((0..200_000u32).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8));
    let _ = decode(&m);
    let nul: Vec<u8> = b"From:\0x\nTo: \0\0@\0\n\n\0\0\0"
        .iter()
        .copied()
        .cycle()
        .take(100_000)
        .collect();
    let _ = decode(&nul);
}
