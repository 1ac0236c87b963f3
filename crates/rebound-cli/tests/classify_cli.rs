//! The `rebound classify` and `rebound rules check` contracts, through the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], input: &[u8]) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rebound");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        String::from_utf8(out.stdout).expect("output is UTF-8"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn one_json_verdict_per_input_line_whatever_the_line_holds() {
    let mut input = Vec::new();
    input.extend_from_slice(b"550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in local recipient table\n");
    input.extend_from_slice(b"\n");
    input.extend_from_slice(b"\xff\xfe\x00 binary \x80noise\r\n");
    input.extend(std::iter::repeat_n(b'x', 1 << 20));
    input.extend_from_slice(b"\nnot a reply at all\n");
    input.extend_from_slice(
        b"554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org",
    );
    let (out, _err, code) = run(&["classify"], &input);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 6, "{out}");
    for v in &lines {
        for field in ["category", "reason", "scope", "suppress", "sisimai_reason"] {
            assert!(v.get(field).is_some(), "missing {field}: {v}");
        }
    }
    assert_eq!(lines[0]["category"], "hard");
    assert_eq!(lines[0]["suppress"], true);
    for v in &lines[1..5] {
        assert_eq!(v["category"], "other");
        assert_eq!(v["reason"], "unknown");
    }
    assert_eq!(lines[5]["scope"], "sender");
    assert_eq!(lines[5]["suppress"], false);
}

#[test]
fn json_input_takes_parts_and_reports_bad_lines() {
    let input = b"{\"code\":550,\"status\":\"5.1.1\",\"text\":\"No such user\"}\n{oops\n";
    let (out, _err, code) = run(&["classify", "--input", "json"], input);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["reason"], "invalid_recipient");
    assert_eq!(lines[1]["evidence"]["rule"], "invalid input");
}

#[test]
fn a_user_rule_file_is_consulted_first_and_checked_with_line_numbers() {
    let dir = std::env::temp_dir().join(format!("rebound-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[[rule]]\nid = \"mine.vip\"\ntext = [\"user unknown\"]\nreason = \"mailbox_full\"\nexamples = [\"550 5.1.1 user unknown\"]\n",
    )
    .unwrap();
    let (out, _, code) = run(
        &["classify", "--rules", good.to_str().unwrap()],
        b"550 5.1.1 user unknown\n",
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["reason"], "mailbox_full");
    assert_eq!(v["evidence"]["rule"], "mine.vip");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[rule]]\nid = \"mine.x\"\ntext = [\"x\"]\nreason = \"no_such_reason\"\nexamples = [\"x\"]\n").unwrap();
    let (out, _, code) = run(&["rules", "check", bad.to_str().unwrap()], b"");
    assert_ne!(code, 0);
    assert!(out.contains("bad.toml:4: unknown reason"), "{out}");
    let (out, _, code) = run(&["rules", "check", good.to_str().unwrap()], b"");
    assert_eq!(code, 0, "{out}");
    std::fs::remove_dir_all(&dir).ok();
}
