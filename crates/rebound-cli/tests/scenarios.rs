//! The policy table (SPEC §3) and the skip reasons (SPEC §4), one scenario each, run
//! through the real `rebound` binary: `ingest` what happened, then `gate` with `--at`
//! moving time forward. Every scenario runs on the embedded store and on PostgreSQL
//! (`REBOUND_TEST_DATABASE_URL`, required: see `./scripts/test`).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_rebound");
static N: AtomicU32 = AtomicU32::new(0);

/// One data directory (and, for PostgreSQL, one schema) per scenario.
struct World {
    dir: PathBuf,
    pg: Option<(String, String)>,
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl World {
    fn new(postgres: bool) -> World {
        let dir = std::env::temp_dir().join(unique("rebound-scenario"));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = postgres.then(|| {
            let base = std::env::var("REBOUND_TEST_DATABASE_URL").unwrap_or_else(|_| {
                panic!("REBOUND_TEST_DATABASE_URL is not set: PostgreSQL scenarios cannot run (use ./scripts/test)")
            });
            let schema = unique("rebound_scn");
            let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
            c.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
            (base, schema)
        });
        let w = World { dir, pg };
        w.ok(&["tenant", "create", "--tenant", "acme", "--country", "GB"]);
        w
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data").arg(&self.dir).args(args);
        c.env_remove("REBOUND_DATABASE_URL");
        if let Some((base, schema)) = &self.pg {
            let sep = if base.contains('?') { '&' } else { '?' };
            c.env(
                "REBOUND_DATABASE_URL",
                format!("{base}{sep}options=-csearch_path%3D{schema}"),
            );
        }
        c
    }

    fn run(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Written from a thread: a command that answers as it reads (gate) fills
        // its output pipe while a big input is still going in. A command that
        // reads no input may exit before taking it all.
        let mut pipe = child.stdin.take().unwrap();
        let input = stdin.as_bytes().to_vec();
        let feeder = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args, "");
        assert_eq!(code, 0, "rebound {args:?} failed: {err}");
        out
    }

    /// Ingests events given as (recipient, event, day, extra fields).
    fn ingest(&self, events: &[Value]) -> (i32, String) {
        let input: String = events.iter().map(|e| format!("{e}\n")).collect();
        let (code, out, _) = self.run(&["ingest"], &input);
        (code, out)
    }

    fn ingest_ok(&self, events: &[Value]) {
        let (code, out) = self.ingest(events);
        assert_eq!(code, 0, "ingest: {out}");
    }

    /// Gates recipients on `day`; returns each one's decision (`send` or the skip reason).
    fn gate(&self, day: u32, extra: &[&str], recipients: &[&str]) -> Vec<String> {
        let at = day_at(day);
        let mut args = vec!["gate", "--tenant", "acme", "--at", &at];
        args.extend_from_slice(extra);
        let input: String = recipients.iter().map(|r| format!("{r}\n")).collect();
        let (code, out, err) = self.run(&args, &input);
        assert_eq!(code, 0, "gate: {err}");
        out.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                match v["decision"].as_str().unwrap() {
                    "send" => "send".to_string(),
                    _ => v["reason"].as_str().unwrap().to_string(),
                }
            })
            .collect()
    }

    fn gate1(&self, day: u32, recipient: &str) -> String {
        self.gate(day, &["--dry-run"], &[recipient]).remove(0)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((base, schema)) = &self.pg
            && let Ok(mut c) = postgres::Client::connect(base, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

/// Midnight UTC, `d` days after 2026-03-01, as RFC 3339 (`--at` and `at`).
fn day_at(d: u32) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(1_772_323_200 + i64::from(d) * 86_400).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn email(recipient: &str, event: &str, day: u32, reply: Option<&str>) -> Value {
    let mut v = json!({"tenant": "acme", "channel": "email", "recipient": recipient, "event": event, "at": day_at(day)});
    if let Some(r) = reply {
        v["reply"] = json!(r);
    }
    v
}

const USER_UNKNOWN: &str = "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown";
const MAILBOX_FULL: &str = "552 5.2.2 Mailbox full";
const SERVER_ERROR: &str = "421 4.3.0 Temporary server error, try again later";
const SPF_FAIL: &str = "550 5.7.1 Message rejected due to SPF policy";
const NO_SUCH_DOMAIN: &str = "550 5.1.2 Host unknown: Domain name not found";
const NULL_MX: &str = "556 5.1.10 Recipient address has null MX";

macro_rules! scenarios {
    ($($name:ident,)*) => {
        mod embedded {
            $( #[test] fn $name() { super::$name(&super::World::new(false)) } )*
        }
        mod postgresql {
            $( #[test] fn $name() { super::$name(&super::World::new(true)) } )*
        }
    };
}

scenarios! {
    hard_bounce_blocks_at_once_and_stays_blocked_until_someone_removes_the_block,
    bad_domain_confirmed_nonexistent_suppresses_every_address_at_it,
    a_passing_dns_failure_does_not_suppress_a_domain,
    soft_bounce_excludes_the_address_for_seven_days,
    four_consecutive_soft_bounces_suppress_and_a_delivery_resets_the_count,
    server_related_soft_failures_never_suppress,
    technical_bounce_does_nothing_to_the_address,
    sender_scope_bounce_does_nothing_to_the_address,
    spam_complaint_suppresses_for_good,
    unsubscribe_opts_out_and_opting_in_needs_consent,
    auto_reply_is_recorded_only,
    sms_follows_the_same_model,
    invalid_addresses_are_skipped,
    smart_sending_caps_messages_per_recipient_per_window,
    a_stopped_campaign_skips_its_remaining_recipients,
    a_restricted_sender_is_skipped_until_lifted,
    ingest_rejects_bad_lines_by_number_and_stores_the_rest,
    retried_events_are_stored_once,
    suppression_lists_export_and_import_as_csv,
    reports_count_what_a_campaign_did,
    ses_suppression_lists_import_as_json_and_csv,
    mailgun_exports_import_and_sender_blocks_are_skipped,
    sendgrid_exports_import_and_blocks_need_proof,
    postmark_suppressions_import,
    kind_and_format_can_be_named,
    reports_read_as_tables_for_people_and_json_for_scripts,
    an_admin_undoes_a_confirmed_nonexistent_domain,
}

fn hard_bounce_blocks_at_once_and_stays_blocked_until_someone_removes_the_block(w: &World) {
    w.ingest_ok(&[email("jo@example.com", "bounce", 0, Some(USER_UNKNOWN))]);
    assert_eq!(w.gate1(0, "jo@example.com"), "hard_bounced");
    assert_eq!(w.gate1(365, "Jo@EXAMPLE.com"), "hard_bounced");
    w.ok(&[
        "unblock",
        "--tenant",
        "acme",
        "--by",
        "ana",
        "--at",
        &day_at(400),
        "jo@example.com",
    ]);
    assert_eq!(w.gate1(400, "jo@example.com"), "send");
}

fn bad_domain_confirmed_nonexistent_suppresses_every_address_at_it(w: &World) {
    w.ingest_ok(&[
        email("a@gone.example", "bounce", 0, Some(NO_SUCH_DOMAIN)),
        email("b@gone.example", "bounce", 2, Some(NO_SUCH_DOMAIN)),
        email("c@nullmx.example", "bounce", 0, Some(NULL_MX)),
    ]);
    assert_eq!(
        w.gate(
            3,
            &["--dry-run"],
            &[
                "never-mailed@gone.example",
                "x@nullmx.example",
                "a@gone.example"
            ]
        ),
        ["domain_nonexistent", "domain_nonexistent", "hard_bounced"]
    );
}

fn a_passing_dns_failure_does_not_suppress_a_domain(w: &World) {
    let burst: Vec<Value> = (0..10)
        .map(|i| {
            email(
                &format!("u{i}@flaky.example"),
                "bounce",
                0,
                Some(NO_SUCH_DOMAIN),
            )
        })
        .collect();
    w.ingest_ok(&burst);
    assert_eq!(w.gate1(3, "someone-else@flaky.example"), "send");
}

fn soft_bounce_excludes_the_address_for_seven_days(w: &World) {
    w.ingest_ok(&[email("jo@example.com", "bounce", 0, Some(MAILBOX_FULL))]);
    assert_eq!(w.gate1(0, "jo@example.com"), "recent_soft_bounce");
    assert_eq!(w.gate1(6, "jo@example.com"), "recent_soft_bounce");
    assert_eq!(w.gate1(7, "jo@example.com"), "send");
}

fn four_consecutive_soft_bounces_suppress_and_a_delivery_resets_the_count(w: &World) {
    let soft = |r: &str, d| email(r, "bounce", d, Some(MAILBOX_FULL));
    w.ingest_ok(&[
        soft("jo@example.com", 0),
        soft("jo@example.com", 8),
        soft("jo@example.com", 16),
    ]);
    assert_eq!(
        w.gate1(24, "jo@example.com"),
        "send",
        "three are not enough"
    );
    w.ingest_ok(&[soft("jo@example.com", 24)]);
    assert_eq!(w.gate1(40, "jo@example.com"), "suppressed");
    w.ingest_ok(&[
        soft("al@example.com", 0),
        soft("al@example.com", 8),
        soft("al@example.com", 16),
        email("al@example.com", "delivered", 20, None),
        soft("al@example.com", 24),
    ]);
    assert_eq!(w.gate1(40, "al@example.com"), "send");
}

fn server_related_soft_failures_never_suppress(w: &World) {
    let busy: Vec<Value> = (0..6)
        .map(|d| email("jo@example.com", "bounce", d, Some(SERVER_ERROR)))
        .collect();
    w.ingest_ok(&busy);
    assert_eq!(w.gate1(6, "jo@example.com"), "send");
}

fn technical_bounce_does_nothing_to_the_address(w: &World) {
    w.ingest_ok(&[email("jo@example.com", "bounce", 0, Some(SERVER_ERROR))]);
    assert_eq!(w.gate1(0, "jo@example.com"), "send");
}

fn sender_scope_bounce_does_nothing_to_the_address(w: &World) {
    let blocked: Vec<Value> = (0..6)
        .map(|d| email("jo@example.com", "bounce", d, Some(SPF_FAIL)))
        .collect();
    w.ingest_ok(&blocked);
    assert_eq!(w.gate1(6, "jo@example.com"), "send");
}

fn spam_complaint_suppresses_for_good(w: &World) {
    w.ingest_ok(&[
        email("jo@example.com", "complaint", 0, None),
        email("jo@example.com", "delivered", 5, None),
    ]);
    assert_eq!(w.gate1(1000, "jo@example.com"), "complained");
    w.ok(&[
        "unblock",
        "--tenant",
        "acme",
        "--by",
        "ana",
        "jo@example.com",
    ]);
    assert_eq!(
        w.gate1(1000, "jo@example.com"),
        "complained",
        "unblock does not undo a complaint"
    );
}

fn unsubscribe_opts_out_and_opting_in_needs_consent(w: &World) {
    w.ingest_ok(&[email("jo@example.com", "unsubscribe", 0, None)]);
    assert_eq!(w.gate1(1, "jo@example.com"), "unsubscribed");
    let (code, _, err) = w.run(
        &[
            "opt-in",
            "--tenant",
            "acme",
            "--by",
            "ana",
            "jo@example.com",
        ],
        "",
    );
    assert_ne!(code, 0);
    assert!(err.contains("consent"), "{err}");
    assert_eq!(w.gate1(1, "jo@example.com"), "unsubscribed");
    w.ok(&[
        "opt-in",
        "--tenant",
        "acme",
        "--by",
        "ana",
        "--consent",
        "double opt-in 2026-03-02, form 7",
        "--at",
        &day_at(1),
        "jo@example.com",
    ]);
    assert_eq!(w.gate1(2, "jo@example.com"), "send");
    w.ok(&[
        "opt-out",
        "--tenant",
        "acme",
        "--by",
        "ana",
        "--at",
        &day_at(3),
        "jo@example.com",
    ]);
    assert_eq!(w.gate1(3, "jo@example.com"), "unsubscribed");
}

fn auto_reply_is_recorded_only(w: &World) {
    let away: Vec<Value> = (0..6)
        .map(|d| email("jo@example.com", "auto_reply", d, Some("I am on holiday")))
        .collect();
    w.ingest_ok(&away);
    assert_eq!(w.gate1(6, "jo@example.com"), "send");
}

fn sms_follows_the_same_model(w: &World) {
    let sms = |r: &str, code: Option<&str>, reply: Option<&str>| {
        let mut v = json!({"tenant": "acme", "channel": "sms", "recipient": r, "event": "bounce", "at": day_at(0), "source": "twilio"});
        if let Some(c) = code {
            v["code"] = json!(c);
        }
        if let Some(t) = reply {
            v["reply"] = json!(t);
        }
        v
    };
    w.ingest_ok(&[
        sms("+447700900001", Some("30005"), None),
        sms("07700 900002", Some("30003"), None),
        json!({"tenant": "acme", "channel": "sms", "recipient": "+447700900003", "event": "auto_reply", "reply": "Stop", "at": day_at(0)}),
        sms("+447700900004", None, Some("id:7 sub:001 dlvrd:000 submit date:2603010000 done date:2603010100 stat:EXPIRED err:000")),
        sms("+447700900005", Some("21610"), None),
    ]);
    assert_eq!(
        w.gate(
            1,
            &["--channel", "sms", "--dry-run"],
            &[
                "+447700900001",
                "+44 7700 900002",
                "+447700900003",
                "07700900004",
                "+447700900005",
                "+447700900006"
            ]
        ),
        [
            "hard_bounced",
            "recent_soft_bounce",
            "unsubscribed",
            "recent_soft_bounce",
            "unsubscribed",
            "send"
        ]
    );
    assert_eq!(
        w.gate(1, &["--dry-run"], &["+447700900001"]),
        ["invalid_address"],
        "the email list is apart"
    );
}

fn invalid_addresses_are_skipped(w: &World) {
    assert_eq!(
        w.gate(
            0,
            &["--dry-run"],
            &["not an address", "jo@localhost", "ok@example.com"]
        ),
        ["invalid_address", "invalid_address", "send"]
    );
}

fn smart_sending_caps_messages_per_recipient_per_window(w: &World) {
    w.ok(&[
        "tenant",
        "policy",
        "--tenant",
        "acme",
        "--policy",
        r#"{"frequency_cap": 2, "frequency_window": 86400}"#,
    ]);
    let c = ["--campaign", "c1"];
    assert_eq!(
        w.gate(
            0,
            &c,
            &["jo@example.com", "jo@example.com", "jo@example.com"]
        ),
        ["send", "send", "frequency_capped"]
    );
    assert_eq!(
        w.gate(0, &c, &["jo@example.com", "al@example.com"]),
        ["frequency_capped", "send"],
        "sends are recorded"
    );
    assert_eq!(w.gate(0, &["--dry-run"], &["al@example.com"]), ["send"]);
    assert_eq!(
        w.gate(0, &["--dry-run"], &["al@example.com"]),
        ["send"],
        "dry runs record nothing"
    );
    assert_eq!(
        w.gate(1, &c, &["jo@example.com"]),
        ["send"],
        "the window has passed"
    );
}

fn a_stopped_campaign_skips_its_remaining_recipients(w: &World) {
    assert_eq!(
        w.gate(0, &["--campaign", "spring"], &["jo@example.com"]),
        ["send"]
    );
    w.ok(&[
        "campaign", "stop", "spring", "--tenant", "acme", "--by", "ana",
    ]);
    assert_eq!(
        w.gate(0, &["--campaign", "spring"], &["al@example.com"]),
        ["campaign_stopped"]
    );
    assert_eq!(
        w.gate(0, &["--campaign", "summer"], &["al@example.com"]),
        ["send"]
    );
}

fn a_restricted_sender_is_skipped_until_lifted(w: &World) {
    w.ok(&[
        "tenant",
        "restrict",
        "--tenant",
        "acme",
        "--by",
        "trust-and-safety",
    ]);
    assert_eq!(
        w.gate(0, &[], &["jo@example.com", "not an address"]),
        ["sender_restricted", "sender_restricted"]
    );
    w.ok(&[
        "tenant",
        "unrestrict",
        "--tenant",
        "acme",
        "--by",
        "trust-and-safety",
    ]);
    assert_eq!(w.gate(0, &[], &["jo@example.com"]), ["send"]);
}

fn ingest_rejects_bad_lines_by_number_and_stores_the_rest(w: &World) {
    let input = [
        email("jo@example.com", "unsubscribe", 0, None).to_string(),
        "{not json".to_string(),
        json!({"tenant": "nobody", "channel": "email", "recipient": "a@example.com", "event": "delivered", "at": day_at(0)}).to_string(),
        json!({"tenant": "acme", "channel": "email", "recipient": "a@example.com", "event": "delivered", "at": "2026-02-30T00:00:00Z"}).to_string(),
        json!({"tenant": "acme", "channel": "email", "recipient": "not-an-address", "event": "delivered", "at": day_at(0)}).to_string(),
        json!({"tenant": "acme", "channel": "fax", "recipient": "a@example.com", "event": "delivered", "at": day_at(0)}).to_string(),
        json!({"tenant": "acme", "channel": "email", "recipient": "a@example.com", "event": "opened", "at": day_at(0)}).to_string(),
        email("al@example.com", "complaint", 0, None).to_string(),
    ]
    .join("\n");
    let (code, out, _) = w.run(&["ingest"], &input);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 1, "one summary line: {out}");
    assert!(out.starts_with("accepted 2, rejected 6"), "{out}");
    for n in 2..=7 {
        assert!(out.contains(&format!("line {n}:")), "{out}");
    }
    assert!(out.contains("unknown tenant \"nobody\""), "{out}");
    assert_eq!(
        w.gate(1, &["--dry-run"], &["jo@example.com", "al@example.com"]),
        ["unsubscribed", "complained"]
    );
}

fn retried_events_are_stored_once(w: &World) {
    let soft = email("jo@example.com", "bounce", 0, Some(MAILBOX_FULL));
    for _ in 0..4 {
        w.ingest_ok(std::slice::from_ref(&soft));
    }
    assert_eq!(
        w.gate1(8, "jo@example.com"),
        "send",
        "one soft bounce, not four"
    );
}

fn suppression_lists_export_and_import_as_csv(w: &World) {
    w.ingest_ok(&[
        email("out@example.com", "unsubscribe", 0, None),
        email("spam@example.com", "complaint", 0, None),
        email("gone@example.com", "bounce", 0, Some(USER_UNKNOWN)),
        email("fine@example.com", "delivered", 0, None),
    ]);
    let csv = w.ok(&["suppressions", "export", "--tenant", "acme"]);
    assert_eq!(
        csv,
        "address,channel,status,since\n\
         gone@example.com,email,hard_bounced,2026-03-01T00:00:00Z\n\
         out@example.com,email,unsubscribed,2026-03-01T00:00:00Z\n\
         spam@example.com,email,complained,2026-03-01T00:00:00Z\n"
    );
    w.ok(&["tenant", "create", "--tenant", "beta"]);
    let (code, out, err) = w.run(
        &[
            "suppressions",
            "import",
            "--tenant",
            "beta",
            "--by",
            "ana",
            "--at",
            &day_at(0),
        ],
        &format!("{csv}not-an-address,unsubscribed\nx@example.com,maybe\n"),
    );
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err.lines().last().unwrap(),
        "rebound suppressions import: standard input (rebound): imported 3, skipped 0, rejected 2 (lines 5, 6)"
    );
    let (_, out, _) = w.run(
        &["gate", "--tenant", "beta", "--dry-run", "--at", &day_at(1)],
        "out@example.com\nspam@example.com\ngone@example.com\nfine@example.com\n",
    );
    let reasons: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            json!("unsubscribed"),
            json!("complained"),
            json!("hard_bounced"),
            Value::Null
        ]
    );
}

fn reports_count_what_a_campaign_did(w: &World) {
    w.ingest_ok(&[email("out@example.com", "unsubscribe", 0, None)]);
    let c = ["--campaign", "spring"];
    assert_eq!(
        w.gate(
            1,
            &c,
            &["a@example.com", "b@other.example", "out@example.com", "bad"]
        ),
        ["send", "send", "unsubscribed", "invalid_address"]
    );
    w.gate(
        1,
        &["--campaign", "spring", "--dry-run"],
        &["out@example.com"],
    );
    let mut events = vec![
        email("a@example.com", "delivered", 1, None),
        email("b@other.example", "bounce", 1, Some(MAILBOX_FULL)),
        email("a@example.com", "complaint", 2, None),
    ];
    for e in &mut events {
        e["campaign"] = json!("spring");
    }
    w.ingest_ok(&events);
    let out = w.ok(&["report", "--tenant", "acme", "--campaign", "spring"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["attempted"], 2);
    assert_eq!(r["delivered"], 1);
    assert_eq!(r["bounced"]["total"], 1);
    assert_eq!(r["bounced"]["by_category"]["soft"], 1);
    assert_eq!(r["bounced"]["by_reason"]["mailbox_full"], 1);
    assert_eq!(r["bounced"]["by_domain"]["other.example"], 1);
    assert_eq!(r["complaints"], 1);
    assert_eq!(
        r["unsubscribes"], 0,
        "the unsubscribe was not part of the campaign"
    );
    assert_eq!(r["skipped"]["total"], 2, "dry runs count nothing: {out}");
    assert_eq!(r["skipped"]["by_reason"]["unsubscribed"], 1);
    assert_eq!(r["skipped"]["by_reason"]["invalid_address"], 1);
    assert_eq!(r["rates"]["bounce"], 0.5);
    let early = w.ok(&[
        "report",
        "--tenant",
        "acme",
        "--campaign",
        "spring",
        "--to",
        &day_at(1),
    ]);
    let r: Value = serde_json::from_str(&early).unwrap();
    assert_eq!(r["complaints"], 0);
}

/// SPEC §7: nothing acknowledged is lost. Lines are fed slowly to `rebound ingest
/// --ack`; once it has acknowledged some, it is killed mid-stream (SIGKILL, no chance
/// to clean up), and every acknowledged line must be stored.
#[test]
fn killing_ingest_loses_nothing_it_acknowledged() {
    let w = World::new(false);
    let mut child = w
        .cmd(&["ingest", "--ack"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut acks = BufReader::new(child.stderr.take().unwrap());
    let mut acked = 0usize;
    let mut sent = 0usize;
    for round in 0..5 {
        for _ in 0..(50 + round * 30) {
            sent += 1;
            writeln!(
                stdin,
                "{}",
                email(&format!("u{sent}@example.com"), "unsubscribe", 0, None)
            )
            .unwrap();
        }
        stdin.flush().unwrap();
        let mut line = String::new();
        acks.read_line(&mut line).unwrap();
        acked = line
            .trim()
            .strip_prefix("committed through line ")
            .unwrap()
            .parse()
            .unwrap();
    }
    // A half-written line and more unacknowledged ones, then the kill.
    write!(stdin, "{{\"tenant\": \"acme\", \"chan").unwrap();
    stdin.flush().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(acked > 0);
    let recipients: Vec<String> = (1..=acked).map(|i| format!("u{i}@example.com")).collect();
    let refs: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let decisions = w.gate(1, &["--dry-run"], &refs);
    assert_eq!(decisions.len(), acked);
    assert!(
        decisions.iter().all(|d| d == "unsubscribed"),
        "an acknowledged line was lost"
    );
}

/// `rebound gate` as a conversation: each recipient's decision comes out (recorded
/// first) before the next recipient is written, so a caller may gate one send at a
/// time over a pipe. Then a list far larger than one batch: one decision per line,
/// every send recorded once.
#[test]
fn gate_answers_each_line_of_a_slow_producer_and_records_big_lists_whole() {
    let w = World::new(false);
    w.ingest_ok(&[email("gone@example.com", "unsubscribe", 0, None)]);
    let mut child = w
        .cmd(&[
            "gate",
            "--tenant",
            "acme",
            "--campaign",
            "talk",
            "--at",
            &day_at(1),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            for _ in 0..600 {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            // A decision never came: stop the test instead of hanging it.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for (r, want) in [
        ("a@example.com", "send"),
        ("gone@example.com", "skip"),
        ("b@example.com", "send"),
    ] {
        writeln!(stdin, "{r}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).expect("a decision before the next line");
        assert_eq!(
            (v["recipient"].as_str(), v["decision"].as_str()),
            (Some(r), Some(want))
        );
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    done.store(true, Ordering::Relaxed);
    watchdog.join().unwrap();

    let n = 120_000;
    let list: String = (0..n).map(|i| format!("user{i}@big.example\n")).collect();
    let (code, out, err) = w.run(
        &[
            "gate",
            "--tenant",
            "acme",
            "--campaign",
            "big",
            "--at",
            &day_at(1),
        ],
        &list,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), n);
    assert!(out.lines().all(|l| l.ends_with(r#""decision":"send"}"#)));
    let r: Value =
        serde_json::from_str(&w.ok(&["report", "--tenant", "acme", "--campaign", "big"])).unwrap();
    assert_eq!(r["attempted"], n);
}

/// A fixture export under `tests/data/suppressions/`.
fn fixture(name: &str) -> String {
    format!(
        "{}/tests/data/suppressions/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

impl World {
    /// `suppressions import` of fixture files into acme; (exit code, stderr).
    fn import(&self, files: &[&str], extra: &[&str], stdin: &str) -> (i32, String) {
        let paths: Vec<String> = files.iter().map(|f| fixture(f)).collect();
        let mut args = vec!["suppressions", "import", "--tenant", "acme", "--by", "ana"];
        args.extend_from_slice(extra);
        args.extend(paths.iter().map(String::as_str));
        let (code, out, err) = self.run(&args, stdin);
        assert_eq!(out, "", "the import prints nothing on standard output");
        (code, err)
    }

    /// The history of one address, read from the store the binary wrote.
    fn history(&self, address: &str) -> Vec<rebound_store::StoredRecord> {
        let url = self.pg.as_ref().map(|(base, schema)| {
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-csearch_path%3D{schema}")
        });
        let mut store = rebound_store::open(&self.dir, url.as_deref()).unwrap();
        store
            .history("acme", rebound_store::Channel::Email, address)
            .unwrap()
    }
}

/// The last line of an import's standard error, without the file's directory.
fn summary(err: &str) -> String {
    let dir = format!("{}/tests/data/suppressions/", env!("CARGO_MANIFEST_DIR"));
    err.lines().last().unwrap_or("").replace(&dir, "")
}

fn ses_suppression_lists_import_as_json_and_csv(w: &World) {
    let (code, err) = w.import(&["ses-list-suppressed-destinations.json"], &[], "");
    assert_eq!(code, 1, "two entries are malformed: {err}");
    assert!(
        err.contains("entry 3 rejected: \"not-an-address\" is not a valid email address"),
        "{err}"
    );
    assert!(
        err.contains("entry 4 rejected: Reason \"UNKNOWN\" is not BOUNCE or COMPLAINT"),
        "{err}"
    );
    assert_eq!(
        summary(&err),
        "rebound suppressions import: ses-list-suppressed-destinations.json (ses): imported 2, skipped 0, rejected 2 (entries 3, 4)"
    );
    let (code, err) = w.import(&["ses-suppressed.csv"], &[], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        w.gate(
            1,
            &["--dry-run"],
            &[
                "gone.user@example.com",
                "angry.reader@example.net",
                "odd@example.com",
                "bounced.twice@example.org",
                "reported@example.org",
            ]
        ),
        [
            "hard_bounced",
            "complained",
            "send",
            "hard_bounced",
            "complained"
        ]
    );
    // The provider's date is the event's time.
    let h = w.history("gone.user@example.com");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].record.at, 1_770_732_201, "2026-02-10T14:03:21Z");
    assert_eq!(
        h[0].record.detail.source.as_deref(),
        Some("ses import by ana")
    );
}

fn mailgun_exports_import_and_sender_blocks_are_skipped(w: &World) {
    let (code, err) = w.import(&["mailgun-bounces.csv"], &[], "");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("line 3 skipped: the reply is a refusal of the sender (sender_reputation)"),
        "a Spamhaus listing of the sender's IP says nothing about bob: {err}"
    );
    assert!(
        err.contains("line 5 skipped: the reply is a soft bounce (account_inactive)"),
        "{err}"
    );
    assert!(err.contains("line 7 rejected: no address"), "{err}");
    assert!(
        err.contains("line 8 rejected: date \"sometime last week\""),
        "{err}"
    );
    assert_eq!(
        summary(&err),
        "rebound suppressions import: mailgun-bounces.csv (mailgun bounces): imported 2, skipped 2, rejected 2 (lines 7, 8)"
    );
    let (code, err) = w.import(
        &[
            "mailgun-unsubscribes.csv",
            "mailgun-complaints.csv",
            "mailgun-bounces-api.json",
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let summaries: Vec<String> = err.lines().map(summary).collect();
    assert_eq!(
        summaries,
        [
            "rebound suppressions import: mailgun-unsubscribes.csv (mailgun unsubscribes): imported 2, skipped 0, rejected 0",
            "rebound suppressions import: mailgun-complaints.csv (mailgun complaints): imported 1, skipped 0, rejected 0",
            "rebound suppressions import: mailgun-bounces-api.json (mailgun bounces): imported 1, skipped 0, rejected 0",
        ]
    );
    assert_eq!(
        w.gate(
            1,
            &["--dry-run"],
            &[
                "alice@example.com",
                "bob@example.org",
                "carol@example.net",
                "dave@example.com",
                "erin@example.com",
                "frank@example.com",
                "grace@example.com",
                "heidi@example.com",
                "xavier@example.com",
            ]
        ),
        [
            "hard_bounced",
            "send",
            "hard_bounced",
            "send",
            "send",
            "unsubscribed",
            "unsubscribed",
            "complained",
            "hard_bounced"
        ]
    );
    // The provider's reply is kept as evidence, and judged by the classifier.
    let h = w.history("alice@example.com");
    assert_eq!(h.len(), 1);
    let r = &h[0].record;
    assert!(
        r.detail
            .reply
            .as_deref()
            .unwrap()
            .starts_with("550 5.1.1 The email account that you tried to reach does not exist")
    );
    assert_eq!(r.detail.code.as_deref(), Some("550"));
    assert_eq!(r.reason.map(|x| x.as_str()), Some("invalid_recipient"));
    assert_eq!(r.at, 1_770_732_201, "Tue, 10 Feb 2026 14:03:21 UTC");
    // An unquoted RFC 2822 date in the last column is read whole.
    assert_eq!(w.history("carol@example.net")[0].record.at, 1_770_918_310);
    // The same export again changes nothing: same rows, same dates.
    let (code, err) = w.import(&["mailgun-complaints.csv"], &[], "");
    assert_eq!(code, 0);
    assert!(err.contains("imported 1 (1 already stored)"), "{err}");
    assert_eq!(w.history("heidi@example.com").len(), 1);
}

fn sendgrid_exports_import_and_blocks_need_proof(w: &World) {
    let (code, err) = w.import(
        &[
            "sendgrid_bounces.csv",
            "sendgrid_blocks.csv",
            "sendgrid_spam_reports.csv",
            "sendgrid_global_unsubscribes.csv",
            "sendgrid_invalid_emails.csv",
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("sendgrid_bounces.csv: line 3 skipped: the reply is a refusal of the sender (spam_content)"),
        "{err}"
    );
    assert!(
        err.contains("sendgrid_blocks.csv: line 2 skipped: the reply is a refusal of the sender (sender_reputation)"),
        "{err}"
    );
    let summaries: Vec<String> = err
        .lines()
        .filter(|l| l.contains("): imported"))
        .map(summary)
        .collect();
    assert_eq!(
        summaries,
        [
            "rebound suppressions import: sendgrid_bounces.csv (sendgrid bounces): imported 2, skipped 1, rejected 0",
            "rebound suppressions import: sendgrid_blocks.csv (sendgrid blocks): imported 1, skipped 1, rejected 0",
            "rebound suppressions import: sendgrid_spam_reports.csv (sendgrid complaints): imported 1, skipped 0, rejected 0",
            "rebound suppressions import: sendgrid_global_unsubscribes.csv (sendgrid unsubscribes): imported 1, skipped 0, rejected 0",
            "rebound suppressions import: sendgrid_invalid_emails.csv (sendgrid bounces): imported 1, skipped 0, rejected 0",
        ]
    );
    assert_eq!(
        w.gate(
            1,
            &["--dry-run"],
            &[
                "ivan@example.com",
                "judy@example.org",
                "mallory@example.net",
                "niaj@example.com",
                "olivia@example.com",
                "peggy@example.com",
                "rupert@example.com",
                "sybil@no-such-domain.invalid",
            ]
        ),
        [
            "hard_bounced",
            "send",
            "hard_bounced",
            "send",
            "hard_bounced",
            "complained",
            "unsubscribed",
            "hard_bounced"
        ]
    );
    assert_eq!(
        w.history("ivan@example.com")[0].record.at,
        1_769_937_011,
        "2026-02-01 09:10:11 UTC"
    );
    assert_eq!(w.history("peggy@example.com")[0].record.at, 1_770_100_000);
}

fn postmark_suppressions_import(w: &World) {
    let (code, err) = w.import(&["postmark-suppressions.csv"], &[], "");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("line 5 rejected: SuppressionReason \"Unsubscribed\" is not HardBounce, SpamComplaint or ManualSuppression"),
        "{err}"
    );
    assert_eq!(
        summary(&err),
        "rebound suppressions import: postmark-suppressions.csv (postmark): imported 3, skipped 0, rejected 1 (line 5)"
    );
    assert_eq!(
        w.gate(
            1,
            &["--dry-run"],
            &[
                "trent@example.com",
                "victor@example.com",
                "walter@example.com",
                "wendy@example.com"
            ]
        ),
        ["hard_bounced", "complained", "unsubscribed", "send"]
    );
    let h = w.history("walter@example.com");
    assert_eq!(h[0].record.at, 1_769_097_600, "2026-01-22T11:00:00-05:00");
    assert_eq!(
        h[0].record.detail.source.as_deref(),
        Some("postmark import by ana (origin Customer)")
    );
}

fn kind_and_format_can_be_named(w: &World) {
    // SendGrid's unsubscribes and spam reports without their telling column: the
    // kind is given.
    let at = day_at(0);
    let (code, err) = w.import(
        &[],
        &["--kind", "complaint", "--at", &at],
        "email,created\nyves@example.com,\nzoe@example.com,1770000000\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        summary(&err),
        "rebound suppressions import: standard input (sendgrid complaints): imported 2, skipped 0, rejected 0"
    );
    assert_eq!(
        w.history("yves@example.com")[0].record.at,
        1_772_323_200,
        "no date: --at"
    );
    // A header that is not one of the exports is refused whole, and names --format.
    let (code, err) = w.import(&[], &[], "name,phone\nann,+441234\n");
    assert_eq!(code, 1);
    assert!(err.contains("line 1 rejected: the header row"), "{err}");
    assert!(err.contains("--format"), "{err}");
    // A named format that the header does not fit says which column is missing.
    let (code, err) = w.import(&["mailgun-complaints.csv"], &["--format", "ses"], "");
    assert_eq!(code, 1);
    assert!(err.contains("column `emailaddress`"), "{err}");
    assert_eq!(
        w.gate(
            1,
            &["--dry-run"],
            &["yves@example.com", "zoe@example.com", "heidi@example.com"]
        ),
        ["complained", "complained", "send"]
    );
}

/// SPEC §6: long work shows progress, on a terminal only. Under a pseudo-terminal
/// (util-linux `script`) `ingest`, `suppressions import` and `parse` (when its
/// output goes to a file) draw a byte-based bar on standard error; with standard
/// error on a pipe they print exactly what they printed before.
#[test]
fn progress_bars_show_on_a_terminal_and_nowhere_else() {
    let w = World::new(false);
    let events = w.dir.join("events.jsonl");
    let lines: String = (0..300)
        .map(|i| {
            format!(
                "{}\n",
                email(&format!("u{i}@example.com"), "delivered", 0, None)
            )
        })
        .collect();
    std::fs::write(&events, &lines).unwrap();
    let dsn = w.dir.join("bounce.eml");
    std::fs::write(
        &dsn,
        "From: MAILER-DAEMON@mx.example.com\r\nTo: sender@example.org\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n\
         I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n\
         <jo@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown\r\n",
    )
    .unwrap();

    // Piped: nothing but what was printed before.
    let out = w
        .cmd(&["ingest"])
        .stdin(std::fs::File::open(&events).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "accepted 300, rejected 0\n"
    );
    let out = w.cmd(&["parse", dsn.to_str().unwrap()]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "rebound parse: 1 messages, 1 recipients (bounce 1), 0 unreadable\n"
    );

    // On a terminal: a bar with the input's size.
    let data = w.dir.to_str().unwrap();
    let tty = |command: String| {
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_remove("REBOUND_DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .expect("util-linux script runs a command on a pseudo-terminal");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let size = lines.len() as f64 / 1024.0;
    let shown = tty(format!("{BIN} --data {data} ingest < {}", events.display()));
    assert!(shown.contains("ingesting ["), "{shown}");
    assert!(shown.contains(&format!("/{size:.2} KiB")), "{shown}");
    assert!(
        shown.contains("accepted 300 (300 already stored), rejected 0"),
        "{shown}"
    );
    let shown = tty(format!(
        "{BIN} --data {data} suppressions import --tenant acme --by ana {}",
        fixture("ses-suppressed.csv")
    ));
    assert!(shown.contains("importing ["), "{shown}");
    assert!(shown.contains("/141 B"), "{shown}");
    // parse draws its bar only when the recipients go elsewhere than the terminal.
    let shown = tty(format!("{BIN} --data {data} parse {}", dsn.display()));
    assert!(!shown.contains("parsing ["), "{shown}");
    assert!(shown.contains(r#""recipient":"jo@example.com""#), "{shown}");
    let parsed = w.dir.join("parsed.jsonl");
    let shown = tty(format!(
        "{BIN} --data {data} parse {} > {}",
        dsn.display(),
        parsed.display()
    ));
    assert!(shown.contains("parsing ["), "{shown}");
    let size = std::fs::metadata(&dsn).unwrap().len();
    assert!(shown.contains(&format!("/{size} B")), "{shown}");
    assert!(
        std::fs::read_to_string(&parsed)
            .unwrap()
            .contains(r#""recipient":"jo@example.com""#)
    );
}

fn reports_read_as_tables_for_people_and_json_for_scripts(w: &World) {
    let c = ["--campaign", "autumn"];
    assert_eq!(
        w.gate(
            1,
            &c,
            &[
                "a@example.com",
                "b@example.com",
                "c@other.example",
                "d@other.example",
                "e@third.example",
                "nope",
            ]
        ),
        ["send", "send", "send", "send", "send", "invalid_address"]
    );
    let mut events = vec![
        email("a@example.com", "delivered", 1, None),
        email("b@example.com", "bounce", 1, Some(USER_UNKNOWN)),
        email("c@other.example", "bounce", 1, Some(MAILBOX_FULL)),
        email("d@other.example", "auto_reply", 2, None),
        email("e@third.example", "delivered", 2, None),
        email("e@third.example", "unsubscribe", 3, None),
        email("a@example.com", "complaint", 4, None),
    ];
    for e in &mut events {
        e["campaign"] = json!("autumn");
    }
    w.ingest_ok(&events);
    // Once more, now that b is blocked and e unsubscribed: skipped, never billed.
    assert_eq!(
        w.gate(5, &c, &["b@example.com", "e@third.example"]),
        ["hard_bounced", "unsubscribed"]
    );

    let json: Value =
        serde_json::from_str(&w.ok(&["report", "--tenant", "acme", "--campaign", "autumn"]))
            .unwrap();
    assert_eq!(json["attempted"], 5);
    assert_eq!(json["billable"], 5);
    assert_eq!(json["skipped"]["total"], 3);
    assert_eq!(json["auto_replies"], 1);
    assert_eq!(json["unsubscribes"], 1);
    assert_eq!(
        json["bounced"]["by_category"],
        json!({"hard": 1, "soft": 1})
    );
    assert_eq!(
        json["bounced"]["by_reason"],
        json!({"invalid_recipient": 1, "mailbox_full": 1})
    );
    assert_eq!(
        json["by_domain"]["other.example"],
        json!({"delivered": 0, "bounced": 1, "complaints": 0, "auto_replies": 1, "unsubscribes": 0})
    );

    let table = w.ok(&[
        "report",
        "--tenant",
        "acme",
        "--campaign",
        "autumn",
        "--format",
        "table",
    ]);
    assert_eq!(
        table,
        "report for tenant acme, campaign autumn, from the beginning to the end

attempted (billed)     5
delivered              2
bounced                2  bounce rate 50.00%
  by category
    hard               1
    soft               1
  by reason
    invalid_recipient  1
    mailbox_full       1
complaints             1  complaint rate 50.00%
auto-replies           1
unsubscribes           1
skipped (not billed)   3
  hard_bounced         1
  invalid_address      1
  unsubscribed         1

domain         delivered  bounced  complaints  auto-replies  unsubscribes
example.com            1        1           1             0             0
other.example          0        1           0             1             0
third.example          1        0           0             0             1
"
    );

    // --since and --until bound the range (both inclusive); --from/--to still work.
    let window: Value = serde_json::from_str(&w.ok(&[
        "report",
        "--tenant",
        "acme",
        "--since",
        &day_at(2),
        "--until",
        &day_at(3),
    ]))
    .unwrap();
    assert_eq!(window["attempted"], 0, "the sends were on day 1 and day 5");
    assert_eq!(window["delivered"], 1);
    assert_eq!(window["auto_replies"], 1);
    assert_eq!(window["unsubscribes"], 1);
    assert_eq!(window["bounced"]["total"], 0);
    assert_eq!(window["from"], json!(day_at(2)));
    let old: Value =
        serde_json::from_str(&w.ok(&["report", "--tenant", "acme", "--from", &day_at(5)])).unwrap();
    assert_eq!(old["attempted"], 0);
    assert_eq!(old["skipped"]["total"], 2);
    let (code, _, err) = w.run(
        &[
            "report",
            "--tenant",
            "acme",
            "--since",
            &day_at(3),
            "--until",
            &day_at(2),
        ],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("--since is after --until"), "{err}");
}

fn an_admin_undoes_a_confirmed_nonexistent_domain(w: &World) {
    w.ingest_ok(&[
        email("a@gone.example", "bounce", 0, Some(NO_SUCH_DOMAIN)),
        email("e@gone.example", "bounce", 1, Some(USER_UNKNOWN)),
        email("b@gone.example", "bounce", 2, Some(NO_SUCH_DOMAIN)),
    ]);
    let at_gone = ["new@gone.example", "a@gone.example", "e@gone.example"];
    assert_eq!(
        w.gate(3, &["--dry-run"], &at_gone),
        ["domain_nonexistent", "hard_bounced", "hard_bounced"]
    );
    let unblock = |day: u32, extra: &[&str]| {
        let at = day_at(day);
        let mut args = vec![
            "unblock-domain",
            "--tenant",
            "acme",
            "--by",
            "ana",
            "--domain",
            "GONE.example",
            "--at",
            &at,
        ];
        args.extend_from_slice(extra);
        w.run(&args, "")
    };
    let (code, _, err) = w.run(
        &[
            "unblock-domain",
            "--tenant",
            "acme",
            "--by",
            "ana",
            "--domain",
            "fine.example",
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("fine.example is not confirmed non-existent"),
        "{err}"
    );
    let (code, _, err) = w.run(
        &[
            "unblock-domain",
            "--tenant",
            "acme",
            "--by",
            " ",
            "--domain",
            "gone.example",
        ],
        "",
    );
    assert_eq!(code, 2, "who did it is required");
    assert!(err.contains("--by"), "{err}");

    let (code, out, err) = unblock(4, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "unblock-domain gone.example of acme by ana\n");
    assert!(
        err.contains("2 addresses at gone.example stay blocked by the domain's bounces (a@gone.example, b@gone.example)"),
        "{err}"
    );
    assert_eq!(
        w.gate(4, &["--dry-run"], &at_gone),
        ["send", "hard_bounced", "hard_bounced"]
    );
    let (code, _, err) = unblock(4, &[]);
    assert_eq!(code, 1, "nothing left to undo: {err}");
    // Recorded in the domain's own history: who and when.
    let h = w.history("@gone.example");
    assert_eq!(h.len(), 1);
    assert_eq!(
        h[0].record.event,
        rebound_policy::Event::UnblockDomain { by: "ana".into() }
    );
    assert_eq!(h[0].record.at, 1_772_323_200 + 4 * 86_400);

    // A policy change refolds every history: the domain stays cleared.
    w.ok(&[
        "tenant",
        "policy",
        "--tenant",
        "acme",
        "--policy",
        r#"{"frequency_cap": 5}"#,
    ]);
    assert_eq!(w.gate1(4, "new@gone.example"), "send");

    // New lasting evidence confirms it again, counted from the clearing on.
    w.ingest_ok(&[email("c@gone.example", "bounce", 5, Some(NO_SUCH_DOMAIN))]);
    assert_eq!(
        w.gate1(6, "new@gone.example"),
        "send",
        "one bounce is not proof"
    );
    w.ingest_ok(&[email("d@gone.example", "bounce", 7, Some(NO_SUCH_DOMAIN))]);
    assert_eq!(w.gate1(8, "new@gone.example"), "domain_nonexistent");

    // --with-addresses also lifts the blocks the domain's failure caused, not the
    // ones an address earned itself.
    let (code, out, err) = unblock(9, &["--with-addresses"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "unblock-domain gone.example of acme by ana\n\
         unblock a@gone.example by ana\n\
         unblock b@gone.example by ana\n\
         unblock c@gone.example by ana\n\
         unblock d@gone.example by ana\n"
    );
    assert_eq!(
        w.gate(9, &["--dry-run"], &at_gone),
        ["send", "send", "hard_bounced"]
    );
    assert_eq!(w.history("@gone.example").len(), 2);
}
