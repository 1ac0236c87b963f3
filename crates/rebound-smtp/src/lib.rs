//! An SMTP (RFC 5321) and LMTP (RFC 2033) receiver for the bounce domain: a small
//! tokio server loop around smtp-proto's command parser, with the limits a server
//! on the open internet needs and STARTTLS (RFC 3207) when a certificate is given.
//!
//! What to accept and what to do with a message is the [`Sink`]'s: the receiver
//! asks it about each `RCPT TO` and hands it each message, and answers the client
//! with the sink's replies, so the server that embeds this crate decides when a
//! message is safe (Rebound answers `250` only after the message's outcome is
//! durably stored).
//!
//! Limits, each with the reply RFC 5321 and RFC 3463 give it: message size
//! (`SIZE` advertised; `552 5.3.4`), recipients per message (`452 4.5.3`),
//! connections at once (`421 4.3.2` and close), idle time (`421 4.4.2` and close),
//! line length (`500 5.5.2`), and repeated errors (`421 4.7.0` and close).
//! Commands out of sequence get `503 5.5.1`; unknown ones `500 5.5.2`; a null
//! reverse path (`MAIL FROM:<>`, which every bounce carries) is accepted.
//!
//! Shutdown: once asked to stop, the listener accepts nothing more; a session
//! waiting for a command is told `421 4.3.2` and closed, and one in the middle of a
//! transaction finishes it (within the idle timeout) first.

mod session;

pub use session::{Envelope, Reply};

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// What the receiver accepts.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_message_size: usize,
    pub max_recipients: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
    /// Protocol errors tolerated per session before it is closed.
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 10 << 20,
            max_recipients: 100,
            max_connections: 256,
            idle_timeout: Duration::from_secs(60),
            max_errors: 10,
        }
    }
}

/// How the receiver presents itself.
#[derive(Clone)]
pub struct Options {
    pub hostname: String,
    /// Speak LMTP: `LHLO` instead of `EHLO`, one reply per recipient after `DATA`.
    pub lmtp: bool,
    pub limits: Limits,
    /// Offers STARTTLS when set.
    pub tls: Option<TlsAcceptor>,
}

/// Decides about recipients and takes messages.
pub trait Sink: Send + Sync + 'static {
    /// May this address receive mail here? `Err` is the reply to `RCPT TO`.
    fn check_recipient(&self, address: &str) -> Result<(), Reply>;
    /// Takes one message; returns one reply per recipient, in order, once the
    /// message is safe (or refused).
    fn deliver(&self, envelope: Envelope) -> Pin<Box<dyn Future<Output = Vec<Reply>> + Send>>;
}

/// Serves `listener` until `stop` turns true, then waits for open sessions.
pub async fn serve(
    listener: TcpListener,
    options: Arc<Options>,
    sink: Arc<dyn Sink>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(options.limits.max_connections));
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = session::stopped(&mut stop) => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of file descriptors and the like: wait, do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let permit = slots.clone().try_acquire_owned();
                let (options, sink, stop) = (options.clone(), sink.clone(), stop.clone());
                sessions.spawn(async move {
                    match permit {
                        Ok(_permit) => session::run(stream, peer, options, sink, stop).await,
                        Err(_) => session::refuse(stream, &options.hostname).await,
                    }
                });
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    drop(listener);
    while sessions.join_next().await.is_some() {}
}

/// The peer of a session, for `Received:` lines and logs.
pub type Peer = SocketAddr;
