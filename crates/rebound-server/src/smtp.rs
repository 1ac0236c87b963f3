//! The bounce receiver's [`Sink`]: which addresses take mail, and what a message
//! becomes.
//!
//! An address takes mail when it is a signed VERP return path (its token names the
//! tenant, campaign and recipient) or when its domain is a configured bounce domain
//! of a tenant (`[[smtp.domain]]`; the recipient is then read from the report).
//! Anything else is refused at `RCPT` (`550 5.1.1`), so the receiver is no open
//! mailbox.
//!
//! A message is decoded (the pure decoder), its reports stored under an idempotency
//! key made of the message's SHA-256 and the recipient, and only then answered
//! `250`: a client that never saw the answer sends the message again, and the
//! second copy is recognised. A store failure answers `451 4.3.0`, so the sending
//! MTA keeps the message and retries: nothing acknowledged is lost. A message that
//! is no report at all (spam to the bounce address, a newsletter) is accepted and
//! dropped, never bounced back (no backscatter).

use crate::App;
use rebound_classify::Scratch;
use rebound_pipeline::message::{ReturnPath, reports};
use rebound_smtp::{Envelope, Reply, Sink};
use rebound_store::Submission;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub struct BounceSink {
    pub app: Arc<App>,
}

enum Target {
    Verp(rebound_verp::Target),
    Domain(String),
}

fn target(app: &App, address: &str) -> Option<Target> {
    if let Ok(t) = app.signer.verp_decode(address) {
        return Some(Target::Verp(t));
    }
    let domain = address.rsplit_once('@')?.1;
    app.config
        .smtp
        .domains
        .iter()
        .find(|d| d.domain.eq_ignore_ascii_case(domain))
        .map(|d| Target::Domain(d.tenant.clone()))
}

impl Sink for BounceSink {
    fn check_recipient(&self, address: &str) -> Result<(), Reply> {
        match target(&self.app, address) {
            Some(_) => Ok(()),
            None => Err(Reply::new(
                550,
                "5.1.1",
                format!("<{address}>: not a bounce address of this server"),
            )),
        }
    }

    fn deliver(&self, envelope: Envelope) -> Pin<Box<dyn Future<Output = Vec<Reply>> + Send>> {
        let app = self.app.clone();
        Box::pin(async move { deliver(&app, envelope).await })
    }
}

async fn deliver(app: &App, env: Envelope) -> Vec<Reply> {
    let data = Arc::new(env.data);
    let digest = crate::auth::hex(ring::digest::digest(&ring::digest::SHA256, &data).as_ref());
    let bytes = data.clone();
    // Decoding a large message takes a while: not on a runtime thread.
    let decoded = tokio::task::spawn_blocking(move || rebound_decode::decode(&bytes))
        .await
        .ok()
        .and_then(Result::ok);
    let now = rebound_pipeline::now();
    let mut replies: Vec<Option<Reply>> = vec![None; env.recipients.len()];
    let mut pending: Vec<(usize, Submission)> = Vec::new();
    let mut scratch = Scratch::default();
    for (i, rcpt) in env.recipients.iter().enumerate() {
        let (tenant, path) = match target(app, rcpt) {
            Some(Target::Verp(t)) => (
                t.tenant,
                ReturnPath {
                    recipient: Some(t.recipient),
                    campaign: t.campaign,
                },
            ),
            Some(Target::Domain(t)) => (t, ReturnPath::default()),
            None => {
                replies[i] = Some(Reply::new(550, "5.1.1", "not a bounce address"));
                continue;
            }
        };
        let found = match &decoded {
            Some(d) => reports(d, &path, now, "smtp"),
            None => Vec::new(),
        };
        if found.is_empty() {
            app.metrics.add(
                "rebound_smtp_messages_total",
                &[("result", "not_a_report")],
                1,
            );
            replies[i] = Some(Reply::new(
                250,
                "2.6.0",
                "accepted; not a delivery report, nothing recorded",
            ));
            continue;
        }
        let t = match app.tenant(&tenant).await {
            Ok(t) => t,
            Err(e) if e.code == "unknown_tenant" => {
                replies[i] = Some(Reply::new(
                    550,
                    "5.1.1",
                    format!("no tenant {tenant:?} here"),
                ));
                continue;
            }
            Err(_) => {
                replies[i] = Some(Reply::new(451, "4.3.0", "temporary failure, try again"));
                continue;
            }
        };
        let records: Vec<_> = found
            .into_iter()
            .filter_map(|r| rebound_pipeline::to_record(&t, r, &mut scratch).ok())
            .collect();
        if records.is_empty() {
            replies[i] = Some(Reply::new(
                250,
                "2.6.0",
                "accepted; no readable recipient, nothing recorded",
            ));
            continue;
        }
        pending.push((
            i,
            Submission {
                tenant,
                key: Some(format!("smtp:{digest}:{}", rcpt.to_ascii_lowercase()))
                    .map(|k| k.chars().take(rebound_store::MAX_KEY_LEN).collect()),
                at: now,
                records,
            },
        ));
    }
    let (index, subs): (Vec<usize>, Vec<Submission>) = pending.into_iter().unzip();
    let outcomes = app.db.submit_many(subs).await;
    for (i, outcome) in index.into_iter().zip(outcomes) {
        let (result, reply) = match outcome {
            Ok(Some(_)) => ("stored", Reply::new(250, "2.0.0", "recorded")),
            Ok(None) => ("duplicate", Reply::new(250, "2.0.0", "already recorded")),
            Err(_) => (
                "tempfail",
                Reply::new(451, "4.3.0", "temporary failure, try again"),
            ),
        };
        app.metrics
            .add("rebound_smtp_messages_total", &[("result", result)], 1);
        replies[i] = Some(reply);
    }
    replies
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Reply::new(451, "4.3.0", "temporary failure, try again")))
        .collect()
}

/// The STARTTLS acceptor for a PEM certificate chain and private key.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("the TLS certificate and key do not fit: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
