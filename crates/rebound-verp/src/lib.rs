//! Signed tokens that let a message's return path and its unsubscribe link say, by
//! themselves, whom the message was sent to, for which tenant and campaign.
//!
//! - A VERP return path, `<prefix>+<token>@<bounce domain>`: a bounce that reaches
//!   it is tied to its recipient even when the report names none, or names a
//!   forwarded address ([`Signer::verp_address`], [`Signer::verp_decode`]).
//! - A one-click unsubscribe link (RFC 8058), `<public url>/u/<token>`, and the
//!   `List-Unsubscribe` / `List-Unsubscribe-Post` header values to send with it
//!   ([`Signer::unsubscribe`], [`Signer::unsubscribe_decode`]).
//!
//! Tokens are HMAC-SHA-256 signed with keys derived from one server secret (a
//! different key for each kind of token, so one can never pass for the other), so
//! nobody can forge a bounce for an address or unsubscribe someone else. VERP
//! tokens are base32 in lower case: mail systems may change the case of a local
//! part, and base32 survives that. A long recipient makes a local part longer than
//! the 64 octets RFC 5321 §4.5.3.1.1 asks every server to accept; the MTAs that send
//! bounces (Postfix, Exim, the big providers) take longer ones, which VERP
//! deployments have long relied on.
//!
//! Architecture invariant: pure. The caller hands in the secret; nothing is read
//! from disk or the network here.

mod base32;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

/// Token layout version (the first byte of every token).
const VERSION: u8 = 1;
/// Signature bytes kept in a token: 80 bits, beyond guessing by a bounce forger.
const MAC_LEN: usize = 10;
/// The longest field a token carries.
pub const MAX_FIELD: usize = 255;

/// Who a message went to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub tenant: String,
    pub campaign: Option<String>,
    /// `email` or `sms` (unsubscribe links only; VERP is email).
    pub channel: String,
    pub recipient: String,
}

/// Why a token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of this kind at all (no `+`, not base32, truncated).
    Malformed,
    /// Well formed but not signed by this server's secret (forged or altered).
    BadSignature,
    /// A field is empty or too long to encode.
    Field(&'static str),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Malformed => f.write_str("not a Rebound token"),
            TokenError::BadSignature => f.write_str("the token's signature does not match"),
            TokenError::Field(name) => write!(f, "{name} must have 1 to {MAX_FIELD} bytes"),
        }
    }
}

impl std::error::Error for TokenError {}

/// The header values a sender copies into a message (RFC 2369, RFC 8058).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsubscribeLink {
    pub url: String,
    /// `List-Unsubscribe: <https://...>`.
    pub list_unsubscribe: String,
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub list_unsubscribe_post: String,
}

/// Signs and checks tokens with keys derived from one server secret.
pub struct Signer {
    verp: hmac::Key,
    unsubscribe: hmac::Key,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derive =
            |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, label).as_ref());
        Signer {
            verp: derive(b"rebound verp v1"),
            unsubscribe: derive(b"rebound unsubscribe v1"),
        }
    }

    /// `<prefix>+<token>@<domain>` for an email recipient.
    pub fn verp_address(
        &self,
        prefix: &str,
        domain: &str,
        t: &Target,
    ) -> Result<String, TokenError> {
        let bytes = seal(&self.verp, &payload(t, false)?);
        Ok(format!("{prefix}+{}@{domain}", base32::encode(&bytes)))
    }

    /// The target named by a VERP address (any prefix, any domain).
    pub fn verp_decode(&self, address: &str) -> Result<Target, TokenError> {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
        let (_, token) = local.split_once('+').ok_or(TokenError::Malformed)?;
        let bytes = base32::decode(token).ok_or(TokenError::Malformed)?;
        let body = open(&self.verp, &bytes)?;
        parse(body, false)
    }

    /// A one-click unsubscribe link under `public_url` (`https://host[/prefix]`).
    pub fn unsubscribe(&self, public_url: &str, t: &Target) -> Result<UnsubscribeLink, TokenError> {
        let token = URL_SAFE_NO_PAD.encode(seal(&self.unsubscribe, &payload(t, true)?));
        let url = format!("{}/u/{token}", public_url.trim_end_matches('/'));
        Ok(UnsubscribeLink {
            list_unsubscribe: format!("<{url}>"),
            list_unsubscribe_post: "List-Unsubscribe=One-Click".into(),
            url,
        })
    }

    /// The target of an unsubscribe link's token (the last path segment).
    pub fn unsubscribe_decode(&self, token: &str) -> Result<Target, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| TokenError::Malformed)?;
        parse(open(&self.unsubscribe, &bytes)?, true)
    }
}

fn field(out: &mut Vec<u8>, name: &'static str, v: &str, optional: bool) -> Result<(), TokenError> {
    if v.len() > MAX_FIELD || (v.is_empty() && !optional) {
        return Err(TokenError::Field(name));
    }
    out.push(v.len() as u8);
    out.extend_from_slice(v.as_bytes());
    Ok(())
}

fn payload(t: &Target, with_channel: bool) -> Result<Vec<u8>, TokenError> {
    let mut out = vec![VERSION];
    field(&mut out, "tenant", &t.tenant, false)?;
    field(
        &mut out,
        "campaign",
        t.campaign.as_deref().unwrap_or(""),
        true,
    )?;
    if with_channel {
        out.push(match t.channel.as_str() {
            "email" => b'e',
            "sms" => b's',
            _ => return Err(TokenError::Field("channel")),
        });
    }
    field(&mut out, "recipient", &t.recipient, false)?;
    Ok(out)
}

fn parse(mut b: &[u8], with_channel: bool) -> Result<Target, TokenError> {
    let take = |b: &mut &[u8]| -> Result<String, TokenError> {
        let (&n, rest) = b.split_first().ok_or(TokenError::Malformed)?;
        let n = n as usize;
        if rest.len() < n {
            return Err(TokenError::Malformed);
        }
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| TokenError::Malformed)?;
        *b = &rest[n..];
        Ok(s.to_string())
    };
    match b.split_first() {
        Some((&VERSION, rest)) => b = rest,
        _ => return Err(TokenError::Malformed),
    }
    let tenant = take(&mut b)?;
    let campaign = Some(take(&mut b)?).filter(|c| !c.is_empty());
    let channel = if with_channel {
        let (&c, rest) = b.split_first().ok_or(TokenError::Malformed)?;
        b = rest;
        match c {
            b'e' => "email",
            b's' => "sms",
            _ => return Err(TokenError::Malformed),
        }
    } else {
        "email"
    };
    let recipient = take(&mut b)?;
    if !b.is_empty() || tenant.is_empty() || recipient.is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(Target {
        tenant,
        campaign,
        channel: channel.into(),
        recipient,
    })
}

/// The payload followed by its truncated signature.
fn seal(key: &hmac::Key, payload: &[u8]) -> Vec<u8> {
    let tag = hmac::sign(key, payload);
    let mut out = payload.to_vec();
    out.extend_from_slice(&tag.as_ref()[..MAC_LEN]);
    out
}

/// The payload of a sealed token, if its signature is this key's.
fn open<'a>(key: &hmac::Key, sealed: &'a [u8]) -> Result<&'a [u8], TokenError> {
    if sealed.len() <= MAC_LEN {
        return Err(TokenError::Malformed);
    }
    let (body, mac) = sealed.split_at(sealed.len() - MAC_LEN);
    let tag = hmac::sign(key, body);
    // Constant time: how much of a forged signature matched must not show.
    let diff = tag.as_ref()[..MAC_LEN]
        .iter()
        .zip(mac)
        .fold(0u8, |d, (a, b)| d | (a ^ b));
    if diff == 0 {
        Ok(body)
    } else {
        Err(TokenError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            tenant: "demo".into(),
            campaign: Some("spring-sale".into()),
            channel: "email".into(),
            recipient: "Jo.Smith+news@Example.com".into(),
        }
    }

    #[test]
    fn verp_round_trips_and_survives_case_changes() {
        let s = Signer::new(b"secret");
        let a = s
            .verp_address("bounces", "bounce.example.net", &target())
            .unwrap();
        assert!(
            a.starts_with("bounces+") && a.ends_with("@bounce.example.net"),
            "{a}"
        );
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+@.".contains(&b))
        );
        assert_eq!(s.verp_decode(&a).unwrap(), target());
        assert_eq!(s.verp_decode(&a.to_ascii_uppercase()).unwrap(), target());
        assert_eq!(s.verp_decode(&format!("<{a}>")).unwrap(), target());
        let no_campaign = Target {
            campaign: None,
            ..target()
        };
        let b = s.verp_address("b", "x.example", &no_campaign).unwrap();
        assert_eq!(s.verp_decode(&b).unwrap(), no_campaign);
    }

    #[test]
    fn forged_altered_or_foreign_tokens_are_refused() {
        let s = Signer::new(b"secret");
        let a = s.verp_address("bounces", "b.example", &target()).unwrap();
        assert_eq!(
            Signer::new(b"other").verp_decode(&a),
            Err(TokenError::BadSignature)
        );
        // Flip one character of the token.
        let i = a.find('+').unwrap() + 5;
        let mut bytes = a.clone().into_bytes();
        bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
        let altered = String::from_utf8(bytes).unwrap();
        assert!(s.verp_decode(&altered).is_err());
        assert_eq!(s.verp_decode("plain@b.example"), Err(TokenError::Malformed));
        assert_eq!(s.verp_decode("a+tag@b.example"), Err(TokenError::Malformed));
        assert_eq!(s.verp_decode("a+@b.example"), Err(TokenError::Malformed));
        // An unsubscribe token never passes for a VERP one, nor the reverse.
        let u = s.unsubscribe("https://r.example", &target()).unwrap();
        let token = u.url.rsplit('/').next().unwrap();
        assert!(s.verp_decode(&format!("b+{token}@x")).is_err());
        let v = a.split_once('+').unwrap().1.split_once('@').unwrap().0;
        assert!(s.unsubscribe_decode(v).is_err());
    }

    #[test]
    fn unsubscribe_links_and_headers() {
        let s = Signer::new(b"secret");
        let sms = Target {
            channel: "sms".into(),
            recipient: "+447700900123".into(),
            ..target()
        };
        let u = s.unsubscribe("https://rebound.example.com/", &sms).unwrap();
        assert!(
            u.url.starts_with("https://rebound.example.com/u/"),
            "{}",
            u.url
        );
        assert_eq!(u.list_unsubscribe, format!("<{}>", u.url));
        assert_eq!(u.list_unsubscribe_post, "List-Unsubscribe=One-Click");
        let token = u.url.rsplit('/').next().unwrap();
        assert_eq!(s.unsubscribe_decode(token).unwrap(), sms);
        assert_eq!(s.unsubscribe_decode("!!"), Err(TokenError::Malformed));
        assert_eq!(s.unsubscribe_decode(""), Err(TokenError::Malformed));
    }

    #[test]
    fn fields_are_bounded() {
        let s = Signer::new(b"k");
        let long = Target {
            recipient: "x".repeat(256),
            ..target()
        };
        assert_eq!(
            s.verp_address("b", "d", &long),
            Err(TokenError::Field("recipient"))
        );
        let empty = Target {
            tenant: String::new(),
            ..target()
        };
        assert_eq!(
            s.verp_address("b", "d", &empty),
            Err(TokenError::Field("tenant"))
        );
    }
}
