//! One SMTP or LMTP session: the greeting, commands (pipelined or not), the
//! message data, STARTTLS, and the limits.

use crate::{Options, Sink};
use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{Error as ProtoError, Request};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// One message as received.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub peer: SocketAddr,
    pub helo: String,
    /// The reverse path; empty for a bounce (`MAIL FROM:<>`).
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
    /// Whether the session was encrypted (STARTTLS).
    pub tls: bool,
}

/// A reply: basic code, enhanced status code (RFC 3463) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub status: String,
    pub text: String,
}

impl Reply {
    pub fn new(code: u16, status: &str, text: impl Into<String>) -> Reply {
        Reply {
            code,
            status: status.to_string(),
            text: text.into(),
        }
    }

    fn line(&self) -> String {
        // A reply is one line: no CR or LF may come from the text.
        let text: String = self
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if self.status.is_empty() {
            format!("{} {text}\r\n", self.code)
        } else {
            format!("{} {} {text}\r\n", self.code, self.status)
        }
    }
}

/// The one reply an SMTP client gets for a message with several recipients: a
/// temporary failure for any makes the client retry (stored recipients are then
/// duplicates, recognised as such); else success if any succeeded.
fn combine(replies: &[Reply]) -> Reply {
    if let Some(r) = replies.iter().find(|r| (400..500).contains(&r.code)) {
        return r.clone();
    }
    if let Some(r) = replies.iter().find(|r| r.code < 300) {
        return r.clone();
    }
    replies
        .first()
        .cloned()
        .unwrap_or_else(|| Reply::new(554, "5.5.1", "no valid recipients"))
}

/// Resolves once the stop flag is set (the guard `wait_for` returns is not held).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

pub(crate) async fn refuse(mut stream: TcpStream, host: &str) {
    let r = Reply::new(
        421,
        "4.3.2",
        format!("{host} too many connections, try again later"),
    );
    let _ = stream.write_all(r.line().as_bytes()).await;
    let _ = stream.shutdown().await;
}

enum Flow {
    Close,
    StartTls,
}

pub(crate) async fn run(
    mut stream: TcpStream,
    peer: SocketAddr,
    options: Arc<Options>,
    sink: Arc<dyn Sink>,
    stop: watch::Receiver<bool>,
) {
    let banner = if options.lmtp { "LMTP" } else { "ESMTP" };
    let greeting = format!(
        "220 {} Rebound bounce receiver {banner}\r\n",
        options.hostname
    );
    if stream.write_all(greeting.as_bytes()).await.is_err() {
        return;
    }
    let mut s = Session::new(peer, options.clone(), sink.clone(), stop.clone(), false);
    if let Flow::StartTls = s.serve(&mut stream).await
        && let Some(acceptor) = &options.tls
    {
        let handshake = tokio::time::timeout(options.limits.idle_timeout, acceptor.accept(stream));
        if let Ok(Ok(mut tls)) = handshake.await {
            // RFC 3207: the client starts over with EHLO; nothing from before counts.
            let mut s = Session::new(peer, options, sink, stop, true);
            s.serve(&mut tls).await;
            let _ = tls.shutdown().await;
        }
    }
}

struct Session {
    peer: SocketAddr,
    options: Arc<Options>,
    sink: Arc<dyn Sink>,
    stop: watch::Receiver<bool>,
    tls: bool,
    helo: Option<String>,
    mail: Option<String>,
    recipients: Vec<String>,
    errors: usize,
    out: Vec<u8>,
}

/// What the data phase is doing.
struct Data {
    rx: DataReceiver,
    buf: Vec<u8>,
    too_big: bool,
}

impl Session {
    fn new(
        peer: SocketAddr,
        options: Arc<Options>,
        sink: Arc<dyn Sink>,
        stop: watch::Receiver<bool>,
        tls: bool,
    ) -> Session {
        Session {
            peer,
            options,
            sink,
            stop,
            tls,
            helo: None,
            mail: None,
            recipients: Vec::new(),
            errors: 0,
            out: Vec::new(),
        }
    }

    fn reply(&mut self, code: u16, status: &str, text: impl Into<String>) {
        self.out
            .extend_from_slice(Reply::new(code, status, text).line().as_bytes());
    }

    /// Counts a protocol error; false once the client has made too many.
    fn error(&mut self, code: u16, status: &str, text: &str) -> bool {
        self.errors += 1;
        if self.errors > self.options.limits.max_errors {
            self.reply(421, "4.7.0", "too many errors, closing");
            return false;
        }
        self.reply(code, status, text);
        true
    }

    fn reset(&mut self) {
        self.mail = None;
        self.recipients.clear();
    }

    async fn flush<S: AsyncWrite + Unpin>(&mut self, stream: &mut S) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let ok = stream.write_all(&self.out).await.is_ok() && stream.flush().await.is_ok();
        self.out.clear();
        ok
    }

    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(&mut self, stream: &mut S) -> Flow {
        let mut buf = vec![0u8; 16 * 1024];
        let mut commands = RequestReceiver::default();
        let mut data: Option<Data> = None;
        // After an overlong line, the rest of it is skipped, not read as commands.
        let mut skipping = false;
        let idle = self.options.limits.idle_timeout;
        loop {
            let in_transaction = self.mail.is_some() || data.is_some();
            let mut stop = self.stop.clone();
            let read = tokio::select! {
                r = tokio::time::timeout(idle, stream.read(&mut buf)) => r,
                _ = stopped(&mut stop), if !in_transaction => {
                    self.reply(421, "4.3.2", format!("{} shutting down, try again later", self.options.hostname));
                    self.flush(stream).await;
                    return Flow::Close;
                }
            };
            let n = match read {
                Err(_) => {
                    self.reply(
                        421,
                        "4.4.2",
                        format!("{} idle too long, closing", self.options.hostname),
                    );
                    self.flush(stream).await;
                    return Flow::Close;
                }
                Ok(Ok(0)) | Ok(Err(_)) => return Flow::Close,
                Ok(Ok(n)) => n,
            };
            let mut bytes = buf[..n].iter();
            loop {
                if let Some(d) = &mut data {
                    let done = d.rx.ingest(&mut bytes, &mut d.buf);
                    if d.buf.len() > self.options.limits.max_message_size {
                        // Keep reading to the end of the data, keep none of it.
                        d.too_big = true;
                        d.buf.clear();
                    }
                    if !done {
                        break;
                    }
                    let d = data.take().expect("in the data phase");
                    if !self.flush(stream).await {
                        return Flow::Close;
                    }
                    self.message(d).await;
                    continue;
                }
                if skipping {
                    let rest = bytes.as_slice();
                    match rest.iter().position(|&b| b == b'\n') {
                        Some(i) => {
                            bytes = rest[i + 1..].iter();
                            skipping = false;
                        }
                        None => break,
                    }
                }
                let request = match commands.ingest(&mut bytes) {
                    Ok(r) => r.into_owned(),
                    Err(ProtoError::NeedsMoreData { .. }) => break,
                    Err(ProtoError::ResponseTooLong) => {
                        skipping = true;
                        if !self.error(500, "5.5.2", "line too long") {
                            self.flush(stream).await;
                            return Flow::Close;
                        }
                        continue;
                    }
                    Err(ProtoError::UnknownCommand) => {
                        if !self.error(500, "5.5.2", "command not recognised") {
                            self.flush(stream).await;
                            return Flow::Close;
                        }
                        continue;
                    }
                    Err(ProtoError::InvalidSenderAddress)
                    | Err(ProtoError::InvalidRecipientAddress) => {
                        if !self.error(501, "5.1.3", "bad address syntax") {
                            self.flush(stream).await;
                            return Flow::Close;
                        }
                        continue;
                    }
                    Err(_) => {
                        if !self.error(501, "5.5.4", "syntax error in parameters") {
                            self.flush(stream).await;
                            return Flow::Close;
                        }
                        continue;
                    }
                };
                match self.command(request) {
                    Next::Go => {}
                    Next::Data => {
                        let mut rx = DataReceiver::new();
                        let mut seed = Vec::new();
                        // The data begins right after the DATA line's CRLF: prime the
                        // receiver with one, so a message that is only "." ends at once.
                        rx.ingest(&mut b"\r\n".iter(), &mut seed);
                        data = Some(Data {
                            rx,
                            buf: Vec::new(),
                            too_big: false,
                        });
                    }
                    Next::StartTls => {
                        // RFC 3207: what the client pipelined after STARTTLS is dropped.
                        self.flush(stream).await;
                        return Flow::StartTls;
                    }
                    Next::Close => {
                        self.flush(stream).await;
                        return Flow::Close;
                    }
                }
            }
            if !self.flush(stream).await {
                return Flow::Close;
            }
        }
    }

    fn command(&mut self, r: Request<String>) -> Next {
        let lmtp = self.options.lmtp;
        let limits = self.options.limits.clone();
        match r {
            Request::Lhlo { host } if lmtp => self.hello(host, true),
            Request::Ehlo { host } if !lmtp => self.hello(host, true),
            Request::Helo { host } if !lmtp => self.hello(host, false),
            Request::Ehlo { .. } | Request::Helo { .. } | Request::Lhlo { .. } => {
                let want = if lmtp { "LHLO" } else { "EHLO or HELO" };
                self.fail(
                    500,
                    "5.5.1",
                    &format!("this is {}: say {want}", if lmtp { "LMTP" } else { "SMTP" }),
                )
            }
            Request::Mail { from } => {
                if self.helo.is_none() {
                    return self.fail(503, "5.5.1", "say hello first");
                }
                if self.mail.is_some() {
                    return self.fail(503, "5.5.1", "nested MAIL command");
                }
                if from.size > limits.max_message_size {
                    self.reply(
                        552,
                        "5.3.4",
                        format!("message size exceeds {} bytes", limits.max_message_size),
                    );
                    return Next::Go;
                }
                self.mail = Some(from.address);
                self.reply(250, "2.1.0", "sender ok");
                Next::Go
            }
            Request::Rcpt { to } => {
                if self.mail.is_none() {
                    return self.fail(503, "5.5.1", "need MAIL before RCPT");
                }
                if self.recipients.len() >= limits.max_recipients {
                    self.reply(452, "4.5.3", "too many recipients");
                    return Next::Go;
                }
                match self.sink.check_recipient(&to.address) {
                    Ok(()) => {
                        self.recipients.push(to.address);
                        self.reply(250, "2.1.5", "recipient ok");
                    }
                    Err(r) => self.out.extend_from_slice(r.line().as_bytes()),
                }
                Next::Go
            }
            Request::Data => {
                if self.mail.is_none() {
                    return self.fail(503, "5.5.1", "need MAIL before DATA");
                }
                if self.recipients.is_empty() {
                    self.reply(554, "5.5.1", "no valid recipients");
                    self.reset();
                    return Next::Go;
                }
                self.reply(354, "", "end data with <CR><LF>.<CR><LF>");
                Next::Data
            }
            Request::Bdat { .. } => self.fail(502, "5.5.1", "BDAT is not offered here; use DATA"),
            Request::Rset => {
                self.reset();
                self.reply(250, "2.0.0", "reset");
                Next::Go
            }
            Request::Noop { .. } => {
                self.reply(250, "2.0.0", "ok");
                Next::Go
            }
            Request::Vrfy { .. } => {
                self.reply(252, "2.5.0", "cannot verify; send a message");
                Next::Go
            }
            Request::Help { .. } => {
                self.reply(
                    214,
                    "2.0.0",
                    "this server takes bounces: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT",
                );
                Next::Go
            }
            Request::Quit => {
                self.reply(221, "2.0.0", "bye");
                Next::Close
            }
            Request::StartTls => {
                if self.tls {
                    return self.fail(503, "5.5.1", "TLS is already active");
                }
                if self.options.tls.is_none() {
                    return self.fail(502, "5.5.1", "STARTTLS is not offered here");
                }
                if self.mail.is_some() {
                    return self.fail(503, "5.5.1", "STARTTLS in the middle of a transaction");
                }
                self.reply(220, "2.0.0", "ready to start TLS");
                Next::StartTls
            }
            Request::Auth { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. }
            | Request::Expn { .. } => self.fail(502, "5.5.1", "command not implemented"),
        }
    }

    fn fail(&mut self, code: u16, status: &str, text: &str) -> Next {
        if self.error(code, status, text) {
            Next::Go
        } else {
            Next::Close
        }
    }

    fn hello(&mut self, host: String, extended: bool) -> Next {
        self.reset();
        let name = self.options.hostname.clone();
        if !extended {
            self.reply(250, "", format!("{name} hello {host}"));
            self.helo = Some(host);
            return Next::Go;
        }
        let mut lines = vec![
            format!("{name} hello {host}"),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.options.limits.max_message_size),
            "8BITMIME".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "SMTPUTF8".to_string(),
        ];
        if self.options.tls.is_some() && !self.tls {
            lines.push("STARTTLS".to_string());
        }
        let last = lines.len() - 1;
        for (i, l) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            self.out
                .extend_from_slice(format!("250{sep}{l}\r\n").as_bytes());
        }
        self.helo = Some(host);
        Next::Go
    }

    async fn message(&mut self, d: Data) {
        let recipients = std::mem::take(&mut self.recipients);
        let from = self.mail.take().unwrap_or_default();
        let n = recipients.len();
        if d.too_big {
            let r = Reply::new(552, "5.3.4", "message too big");
            for _ in 0..if self.options.lmtp { n } else { 1 } {
                self.out.extend_from_slice(r.line().as_bytes());
            }
            return;
        }
        let envelope = Envelope {
            peer: self.peer,
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: from,
            recipients,
            data: d.buf,
            tls: self.tls,
        };
        let mut replies = self.sink.deliver(envelope).await;
        replies.resize_with(n, || {
            Reply::new(451, "4.3.0", "temporary failure, try again")
        });
        if self.options.lmtp {
            for r in &replies {
                self.out.extend_from_slice(r.line().as_bytes());
            }
        } else {
            self.out
                .extend_from_slice(combine(&replies).line().as_bytes());
        }
    }
}

enum Next {
    Go,
    Data,
    StartTls,
    Close,
}
