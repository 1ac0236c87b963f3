//! A real Postfix (Debian's `postfix`, run as a throwaway instance in a temporary
//! directory, never the system one) bounces a message, and its genuine DSN is
//! delivered to Rebound's SMTP receiver and ends on the contact card.
//!
//! The message is sent to Postfix with a signed VERP return path as its sender, to
//! a recipient whose domain Postfix routes to Rebound's receiver, which refuses it
//! (`550 5.1.1`: it takes bounces only). Postfix then does what it does for any
//! refused message: it writes a delivery status notification and sends it to the
//! return path, whose domain it also routes to Rebound. Needs root (Postfix's
//! master drops to the `postfix` user) and the package: `./scripts/test` installs
//! it when missing. Without it the test fails; it never skips.

mod common;

use common::Server;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const POSTFIX: &str = "/usr/sbin/postfix";

struct Postfix {
    dir: PathBuf,
    port: u16,
}

impl Postfix {
    fn start(rebound_smtp: SocketAddr) -> Postfix {
        assert!(
            Path::new(POSTFIX).exists(),
            "Postfix is not installed: run ./scripts/test (it installs the Debian package postfix)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("rebound-postfix-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["conf", "queue", "data"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let run = |cmd: &mut Command| {
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        // The postfix user must reach its queue and data directories.
        run(Command::new("chmod").arg("755").arg(&dir));
        run(Command::new("chown").arg("postfix").arg(dir.join("data")));
        let d = dir.display();
        let to_rebound = format!("smtp:[{}]:{}", rebound_smtp.ip(), rebound_smtp.port());
        std::fs::write(
            dir.join("conf/main.cf"),
            format!(
                "compatibility_level = 3.6\n\
                 queue_directory = {d}/queue\n\
                 data_directory = {d}/data\n\
                 mail_owner = postfix\n\
                 setgid_group = postdrop\n\
                 myhostname = mta.sender.example\n\
                 mydomain = sender.example\n\
                 mydestination =\n\
                 inet_interfaces = 127.0.0.1\n\
                 inet_protocols = ipv4\n\
                 mynetworks = 127.0.0.0/8\n\
                 smtpd_relay_restrictions = permit_mynetworks, reject\n\
                 transport_maps = inline:{{ dead.example={to_rebound}, bounce.acme.example={to_rebound} }}\n\
                 smtp_dns_support_level = disabled\n\
                 smtp_tls_security_level = none\n\
                 maillog_file = {d}/maillog\n\
                 maillog_file_prefixes = {d}\n\
                 alias_maps =\n\
                 alias_database =\n\
                 biff = no\n"
            ),
        )
        .unwrap();
        // Only the services this test needs, none chrooted.
        let services = [
            ("pickup", "unix  n - n 60 1", "pickup"),
            ("cleanup", "unix  n - n - 0", "cleanup"),
            ("qmgr", "unix  n - n 300 1", "qmgr"),
            ("rewrite", "unix  - - n - -", "trivial-rewrite"),
            ("bounce", "unix  - - n - 0", "bounce"),
            ("defer", "unix  - - n - 0", "bounce"),
            ("trace", "unix  - - n - 0", "bounce"),
            ("verify", "unix  - - n - 1", "verify"),
            ("flush", "unix  n - n 1000? 0", "flush"),
            ("proxymap", "unix  - - n - -", "proxymap"),
            ("smtp", "unix  - - n - -", "smtp"),
            ("relay", "unix  - - n - -", "smtp"),
            ("showq", "unix  n - n - -", "showq"),
            ("error", "unix  - - n - -", "error"),
            ("retry", "unix  - - n - -", "error"),
            ("discard", "unix  - - n - -", "discard"),
            ("anvil", "unix  - - n - 1", "anvil"),
            ("scache", "unix  - - n - 1", "scache"),
            ("postlog", "unix-dgram n - n - 1", "postlogd"),
        ];
        let mut master = format!("127.0.0.1:{port} inet n - n - - smtpd\n");
        for (name, flags, cmd) in services {
            master += &format!("{name} {flags} {cmd}\n");
        }
        std::fs::write(dir.join("conf/master.cf"), master).unwrap();
        let pf = Postfix { dir, port };
        let out = Command::new(POSTFIX)
            .arg("-c")
            .arg(pf.dir.join("conf"))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "postfix start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            pf.log()
        );
        pf
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new(POSTFIX)
            .arg("-c")
            .arg(self.dir.join("conf"))
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Submits a message to Postfix over SMTP; returns the reply to the data.
fn submit(port: u16, from: &str, to: &str, message: &str) -> String {
    let w = TcpStream::connect(("127.0.0.1", port)).unwrap();
    w.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(w.try_clone().unwrap());
    let mut w = w;
    let mut reply = || {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            all += &line;
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    };
    assert!(reply().starts_with("220"));
    for cmd in [
        "EHLO sender.example".to_string(),
        format!("MAIL FROM:<{from}>"),
        format!("RCPT TO:<{to}>"),
        "DATA".into(),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        let r = reply();
        assert!(r.starts_with('2') || r.starts_with('3'), "{cmd}: {r}");
    }
    w.write_all(message.as_bytes()).unwrap();
    w.write_all(b"\r\n.\r\n").unwrap();
    let r = reply();
    let _ = w.write_all(b"QUIT\r\n");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genuine_postfix_dsn_ends_on_the_contact_card() {
    let s = Server::start().await;
    let smtp = s.running.as_ref().unwrap().smtp.unwrap();
    let target = rebound_verp::Target {
        tenant: "acme".into(),
        campaign: Some("winter".into()),
        channel: "email".into(),
        recipient: "jo@dead.example".into(),
    };
    let return_path = s
        .running
        .as_ref()
        .unwrap()
        .app
        .signer
        .verp_address("bounces", "bounce.acme.example", &target)
        .unwrap();
    let pf = tokio::task::spawn_blocking(move || Postfix::start(smtp))
        .await
        .unwrap();
    let port = pf.port;
    let rp = return_path.clone();
    let reply = tokio::task::spawn_blocking(move || {
        submit(
            port,
            &rp,
            "jo@dead.example",
            "From: News <news@sender.example>\r\nTo: jo@dead.example\r\nSubject: Winter sale\r\nMessage-ID: <winter-1@sender.example>\r\n\r\nHello Jo.",
        )
    })
    .await
    .unwrap();
    assert!(
        reply.starts_with("250"),
        "Postfix took the message: {reply}"
    );
    let started = Instant::now();
    let card = loop {
        let (_, card) = s.get("/v1/addresses/jo@dead.example", &s.acme).await;
        if card["status"] == "blocked" {
            break card;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no bounce on the card after 60 s: {card}\nPostfix log:\n{}",
            pf.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let h = &card["history"][0];
    assert_eq!(h["event"], "bounce", "{card}");
    assert_eq!(h["category"], "hard");
    assert_eq!(h["reason"], "invalid_recipient", "{card}");
    assert_eq!(h["campaign"], "winter");
    assert_eq!(h["detail"]["source"], "smtp");
    let quoted = h["detail"]["reply"].as_str().unwrap_or("");
    assert!(
        quoted.contains("550 5.1.1"),
        "the DSN quotes the refusal: {quoted}"
    );
    let log = pf.log();
    assert!(log.contains("status=bounced"), "{log}");
    assert!(log.contains("sender non-delivery notification"), "{log}");
    drop(pf);
    s.stop().await;
}
