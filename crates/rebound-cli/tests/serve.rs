//! `rebound serve` as a process: it prints where it listens, takes API keys made by
//! `rebound keys create`, and on SIGTERM finishes the request in flight before it
//! exits (graceful shutdown), answering it only after the events are stored.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rebound");

fn rebound(data: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("REBOUND_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serve_finishes_the_request_in_flight_on_sigterm() {
    let data = std::env::temp_dir().join(format!("rebound-serve-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    rebound(&data, &["tenant", "create", "--tenant", "demo"]);
    let key = rebound(&data, &["keys", "create", "--tenant", "demo"])
        .trim()
        .to_string();
    assert!(key.starts_with("rbk_"), "{key}");
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(&data)
        .args(["serve", "--http", "127.0.0.1:0", "--smtp", "127.0.0.1:0"])
        .env_remove("REBOUND_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let http = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http="))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();

    let body = r#"[{"channel":"email","recipient":"jo@example.com","event":"bounce","at":"2026-11-22T10:00:00Z","reply":"550 5.1.1 user unknown"}]"#;
    let mut c = TcpStream::connect(&http).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        c,
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..20]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    std::thread::sleep(Duration::from_millis(300));
    // The request started before SIGTERM is still served.
    c.write_all(&body.as_bytes()[20..]).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("\"rejected\"") {
        let n = c.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before answering: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"accepted\":1"), "{answer}");
    drop(c);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
    assert!(err.contains("stopped"), "{err}");
    // What was acknowledged is in the store.
    let gate = Command::new(BIN)
        .arg("--data")
        .arg(&data)
        .args(["gate", "--tenant", "demo", "--dry-run"])
        .env_remove("REBOUND_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    gate.stdin
        .as_ref()
        .unwrap()
        .write_all(b"jo@example.com\n")
        .unwrap();
    let out = gate.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("hard_bounced"));
    // A secret was made for the tokens, readable by its owner only.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("secret.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o077, 0, "secret.key is private");
    let _ = std::fs::remove_dir_all(&data);
}
