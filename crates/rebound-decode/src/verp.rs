//! VERP (variable envelope return path) tokens: `bounces+user=example.com@bounce.example.net`
//! names the recipient in the return path itself, so a report that names no
//! recipient can still be tied to one.

/// The recipient encoded in a VERP address, if `addr` is one: the part after the
/// first `+` (or `-`) separator of the local part, with its last `=` read as `@`.
pub fn recipient(addr: &str) -> Option<String> {
    let (local, _domain) = addr.trim().trim_matches(['<', '>']).rsplit_once('@')?;
    let token = local
        .split_once('+')
        .map(|x| x.1)
        .or_else(|| local.split_once('-').map(|x| x.1))?;
    let (user, dom) = token.rsplit_once('=')?;
    if user.is_empty() || !dom.contains('.') || dom.contains('=') {
        return None;
    }
    if !dom
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    Some(format!("{user}@{}", dom.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tokens() {
        assert_eq!(
            recipient("bounces+kijitora=example.jp@bounce.example.net").as_deref(),
            Some("kijitora@example.jp")
        );
        assert_eq!(
            recipient("bounce-neko=example.org@x.jp").as_deref(),
            Some("neko@example.org")
        );
        assert_eq!(recipient("plain@example.jp"), None);
        assert_eq!(recipient("a+tag@example.jp"), None);
    }
}
