//! The bounce receiver over real loopback sockets: Python's smtplib as a real
//! client (SMTP, LMTP, STARTTLS), and a raw socket for the limits and hostile
//! input.

mod common;

use common::Server;
use rebound_server::config::SmtpDomain;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

fn dsn(final_recipient: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@bounce.acme.example\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <dsn-1@mx.example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; {final_recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <{final_recipient}>: Recipient address rejected: User unknown\r\n--b--\r\n"
    )
}

fn verp(s: &Server, recipient: &str) -> String {
    let t = rebound_verp::Target {
        tenant: "acme".into(),
        campaign: Some("spring".into()),
        channel: "email".into(),
        recipient: recipient.into(),
    };
    s.running
        .as_ref()
        .unwrap()
        .app
        .signer
        .verp_address("bounces", "bounce.acme.example", &t)
        .unwrap()
}

/// Runs the Python client; returns its exit code and output.
fn python(mode: &str, addr: SocketAddr, to: &str, message: &str, dir: &Path) -> (i32, String) {
    let file = dir.join(format!("msg-{}.eml", rand_suffix()));
    std::fs::write(&file, message).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_client.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args([
            mode,
            &addr.ip().to_string(),
            &addr.port().to_string(),
            "",
            to,
        ])
        .arg(&file)
        .output()
        .expect("python3 runs (Debian's python3; scripts/test needs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn receiver(tweak: impl FnOnce(&mut rebound_server::Config) + Send + 'static) -> Server {
    Server::start_with(move |c| {
        c.smtp.domains = vec![SmtpDomain {
            domain: "bounce.acme.example".into(),
            tenant: "acme".into(),
        }];
        tweak(c);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_delivers_a_dsn_to_a_verp_address_and_it_ends_on_the_card() {
    let s = receiver(|_| {}).await;
    let addr = s.running.as_ref().unwrap().smtp.unwrap();
    let to = verp(&s, "jo@example.com");
    // The DSN names a forwarded address; the signed return path says whom we sent to.
    let msg = dsn("forwarded@elsewhere.example");
    let dir = s.dir.0.clone();
    let (to2, msg2) = (to.clone(), msg.clone());
    let (code, out) = tokio::task::spawn_blocking(move || python("smtp", addr, &to2, &msg2, &dir))
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");
    let (_, card) = s.get("/v1/addresses/jo@example.com", &s.acme).await;
    assert_eq!(card["status"], "blocked", "{card}");
    let h = &card["history"][0];
    assert_eq!(
        (h["reason"].as_str(), h["campaign"].as_str()),
        (Some("invalid_recipient"), Some("spring"))
    );
    assert_eq!(h["detail"]["source"], "smtp");
    // The MTA sends the same message again (it never saw our 250): stored once.
    let dir = s.dir.0.clone();
    let (code, out) = tokio::task::spawn_blocking(move || python("smtp", addr, &to, &msg, &dir))
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");
    let (_, card) = s.get("/v1/addresses/jo@example.com", &s.acme).await;
    assert_eq!(card["history"].as_array().unwrap().len(), 1);
    // A plain address at the tenant's bounce domain: the recipient comes from the DSN.
    let dir = s.dir.0.clone();
    let (code, out) = tokio::task::spawn_blocking(move || {
        python(
            "smtp",
            addr,
            "bounces@bounce.acme.example",
            &dsn("ann@example.com"),
            &dir,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    let (_, card) = s.get("/v1/addresses/ann@example.com", &s.acme).await;
    assert_eq!(card["status"], "blocked");
    // beta sees none of it.
    let (_, card) = s.get("/v1/addresses/jo@example.com", &s.beta).await;
    assert_eq!(card["status"], "active");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lmtp_answers_per_recipient_and_starttls_works() {
    let s = receiver(|c| c.smtp.lmtp = true).await;
    let addr = s.running.as_ref().unwrap().smtp.unwrap();
    let to = format!(
        "{},{}",
        verp(&s, "a1@example.com"),
        verp(&s, "a2@example.com")
    );
    let dir = s.dir.0.clone();
    let (code, out) =
        tokio::task::spawn_blocking(move || python("lmtp", addr, &to, &dsn("x@example.com"), &dir))
            .await
            .unwrap();
    assert_eq!(code, 0, "{out}");
    for a in ["a1@example.com", "a2@example.com"] {
        let (_, card) = s.get(&format!("/v1/addresses/{a}"), &s.acme).await;
        assert_eq!(card["status"], "blocked", "{a}");
    }
    s.stop().await;

    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let s = receiver(move |c| {
        c.smtp.tls_cert = Some(data.join("localhost-cert.pem"));
        c.smtp.tls_key = Some(data.join("localhost-key.pem"));
    })
    .await;
    let addr = s.running.as_ref().unwrap().smtp.unwrap();
    let to = verp(&s, "tls@example.com");
    let dir = s.dir.0.clone();
    let (code, out) = tokio::task::spawn_blocking(move || {
        python("starttls", addr, &to, &dsn("x@example.com"), &dir)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    let (_, card) = s.get("/v1/addresses/tls@example.com", &s.acme).await;
    assert_eq!(card["status"], "blocked");
    s.stop().await;
}

/// A line-oriented raw client.
struct Raw {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let w = TcpStream::connect(addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw {
            r: BufReader::new(w.try_clone().unwrap()),
            w,
        }
    }

    /// The next reply (all its lines), or "" at end of stream.
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if self.r.read_line(&mut line).unwrap_or(0) == 0 {
                return all;
            }
            all += &line;
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    }

    fn send(&mut self, line: &str) -> String {
        self.w.write_all(line.as_bytes()).unwrap();
        self.w.write_all(b"\r\n").unwrap();
        self.reply()
    }

    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.r.read(&mut b), Ok(0) | Err(_))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_hostile_input_get_the_right_replies() {
    let s = receiver(|c| {
        c.smtp.max_message_size = 4096;
        c.smtp.max_recipients = 2;
        c.smtp.max_connections = 3;
        c.smtp.idle_timeout = 1;
    })
    .await;
    let addr = s.running.as_ref().unwrap().smtp.unwrap();
    let good = verp(&s, "jo@example.com");
    tokio::task::spawn_blocking(move || {
        let mut c = Raw::connect(addr);
        assert!(c.reply().starts_with("220 "));
        assert!(
            c.send("MAIL FROM:<>").starts_with("503 5.5.1"),
            "MAIL before EHLO"
        );
        let ehlo = c.send("EHLO client.test");
        assert!(
            ehlo.contains("250-SIZE 4096") && ehlo.contains("PIPELINING"),
            "{ehlo}"
        );
        assert!(!ehlo.contains("STARTTLS"), "no certificate, no STARTTLS");
        assert!(c.send("RCPT TO:<x@y.example>").starts_with("503 5.5.1"));
        assert!(c.send("DATA").starts_with("503 5.5.1"));
        assert!(c.send("MAIL FROM:<> SIZE=999999").starts_with("552 5.3.4"));
        assert!(c.send("MAIL FROM:<>").starts_with("250 2.1.0"));
        assert!(
            c.send("RCPT TO:<stranger@example.com>")
                .starts_with("550 5.1.1"),
            "not a bounce address"
        );
        assert!(
            c.send("RCPT TO:<bounces+forged0000@bounce.other.example>")
                .starts_with("550 5.1.1")
        );
        assert!(
            c.send(&format!("RCPT TO:<{good}>"))
                .starts_with("250 2.1.5")
        );
        assert!(
            c.send("RCPT TO:<b@bounce.acme.example>")
                .starts_with("250 2.1.5")
        );
        assert!(
            c.send("RCPT TO:<c@bounce.acme.example>")
                .starts_with("452 4.5.3"),
            "too many recipients"
        );
        assert!(c.send("DATA").starts_with("354"));
        let big = format!("Subject: big\r\n\r\n{}\r\n.", "x".repeat(200).repeat(40));
        assert!(c.send(&big).starts_with("552 5.3.4"), "message too big");
        assert!(c.send("NOOP").starts_with("250"), "the session goes on");
        assert!(c.send("FROB").starts_with("500 5.5.2"));
        assert!(
            c.send(&"A".repeat(5000)).starts_with("500 5.5.2"),
            "line too long"
        );
        assert!(c.send("STARTTLS").starts_with("502"));
        assert!(c.send("QUIT").starts_with("221"));

        // Pipelined commands, a message that is only the terminator, binary junk.
        let mut c = Raw::connect(addr);
        c.reply();
        c.w.write_all(format!("EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<{good}>\r\nDATA\r\n").as_bytes())
            .unwrap();
        assert!(c.reply().starts_with("250-"));
        assert!(c.reply().starts_with("250 2.1.0"));
        assert!(c.reply().starts_with("250 2.1.5"));
        assert!(c.reply().starts_with("354"));
        let r = c.send(".");
        assert!(
            r.starts_with("250 2.6.0"),
            "an empty message is no report: {r}"
        );
        let mut gave_up = false;
        for _ in 0..20 {
            let r = c.send("\u{1}\u{2}\u{7f}garbage\u{0}");
            if r.starts_with("421 4.7.0") || r.is_empty() {
                gave_up = true;
                break;
            }
        }
        assert!(gave_up, "too many errors closes the session");

        // Idle clients are told and closed.
        let mut c = Raw::connect(addr);
        c.reply();
        std::thread::sleep(Duration::from_millis(1500));
        assert!(c.reply().starts_with("421 4.4.2"));
        assert!(c.closed());

        // More connections than allowed: the extra one is refused at once.
        let held: Vec<Raw> = (0..3)
            .map(|_| {
                let mut c = Raw::connect(addr);
                assert!(c.reply().starts_with("220"));
                c
            })
            .collect();
        let mut extra = Raw::connect(addr);
        assert!(extra.reply().starts_with("421 4.3.2"));
        drop(held);
    })
    .await
    .unwrap();
    let (st, _) = s.get("/healthz", "").await;
    assert_eq!(st, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_a_transaction_in_flight_and_closes_idle_sessions() {
    let s = receiver(|_| {}).await;
    let addr = s.running.as_ref().unwrap().smtp.unwrap();
    let to = verp(&s, "late@example.com");
    let (mut busy, mut idle) = tokio::task::spawn_blocking(move || {
        let mut busy = Raw::connect(addr);
        busy.reply();
        busy.send("EHLO x");
        busy.send("MAIL FROM:<>");
        busy.send(&format!("RCPT TO:<{to}>"));
        assert!(busy.send("DATA").starts_with("354"));
        let mut idle = Raw::connect(addr);
        idle.reply();
        idle.send("EHLO y");
        (busy, idle)
    })
    .await
    .unwrap();
    let running = s.running.as_ref().unwrap();
    running.shutdown();
    let reply = tokio::task::spawn_blocking(move || {
        assert!(
            idle.reply().starts_with("421 4.3.2"),
            "idle sessions are told"
        );
        let msg = dsn("late@example.com");
        busy.w.write_all(msg.as_bytes()).unwrap();
        busy.send(".")
    })
    .await
    .unwrap();
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let mut store = s.store();
    let h = store
        .history("acme", rebound_store::Channel::Email, "late@example.com")
        .unwrap();
    assert_eq!(h.len(), 1, "acknowledged, so stored");
    s.stop().await;
}
