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
