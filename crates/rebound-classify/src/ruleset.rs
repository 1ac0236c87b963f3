//! Rule files: their TOML schema, and turning them into checked [`Rule`]s.
//!
//! A rule file may hold text rules (`[[rule]]`), status code entries (`[[status]]`)
//! and reply code entries (`[[reply]]`); the format is described in `rules/README.md`.
//! Loading checks everything a user can get wrong — unknown fields, reasons,
//! categories, scopes and Sisimai names, bad regexes, duplicate ids, missing
//! examples — and reports each problem with its line number, so that
//! `rebound rules check` can point at it.

use rebound_vocab::{Category, Reason, SISIMAI_REASONS, Scope};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use toml::Spanned;

/// How much a text rule says; see the precedence in `rules/README.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strength {
    /// Beats the enhanced status code.
    #[default]
    Specific,
    /// Applies only when the status code says nothing specific.
    Generic,
}

/// What a matching rule or table entry concludes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conclusion {
    pub reason: Reason,
    pub category: Category,
    pub scope: Scope,
    pub sisimai: &'static str,
}

/// One checked text rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: Arc<str>,
    pub provider: Option<Arc<str>>,
    /// Each phrase is a list of fragments that must occur in this order.
    pub phrases: Vec<Vec<String>>,
    pub regexes: Vec<String>,
    pub status: Vec<String>,
    pub reply: Vec<String>,
    pub hosts: Vec<String>,
    pub strength: Strength,
    pub conclusion: Conclusion,
    pub examples: Vec<String>,
    /// Where the rule came from: file name and line.
    pub origin: Arc<str>,
}

/// One entry of a status or reply code table.
#[derive(Clone, Debug)]
pub struct CodeEntry {
    pub code: String,
    /// How the entry is named in evidence: `status X.1.1`, `reply 550`.
    pub label: Arc<str>,
    pub meaning: String,
    pub conclusion: Conclusion,
}

/// Everything one rule file holds, checked.
#[derive(Clone, Debug, Default)]
pub struct RuleFile {
    pub rules: Vec<Rule>,
    pub status: Vec<CodeEntry>,
    pub reply: Vec<CodeEntry>,
}

/// A problem in a rule file, with the line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for RuleError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    status: Vec<Spanned<RawCode>>,
    #[serde(default)]
    reply: Vec<Spanned<RawCode>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    provider: Option<String>,
    #[serde(default)]
    text: Vec<Spanned<String>>,
    #[serde(default)]
    regex: Vec<Spanned<String>>,
    #[serde(default)]
    status: Vec<Spanned<String>>,
    #[serde(default)]
    reply: Vec<Spanned<String>>,
    #[serde(default)]
    hosts: Vec<String>,
    reason: Spanned<String>,
    category: Option<Spanned<String>>,
    scope: Option<Spanned<String>>,
    sisimai: Option<Spanned<String>>,
    strength: Option<Spanned<String>>,
    #[serde(default)]
    examples: Vec<String>,
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCode {
    code: Spanned<String>,
    #[serde(default)]
    meaning: String,
    reason: Spanned<String>,
    category: Option<Spanned<String>>,
    scope: Option<Spanned<String>>,
    sisimai: Option<Spanned<String>>,
}

/// Turns byte offsets into line numbers.
struct Lines<'a> {
    /// Byte offset of every newline, for a binary search per lookup.
    newlines: Vec<usize>,
    file: &'a str,
}

impl<'a> Lines<'a> {
    fn new(src: &str, file: &'a str) -> Self {
        let newlines = src
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .map(|(i, _)| i)
            .collect();
        Lines { newlines, file }
    }

    fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }

    fn err<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> RuleError {
        RuleError {
            file: self.file.to_string(),
            line: self.line(spanned.span().start),
            message: message.into(),
        }
    }
}

/// Lower-cases a phrase and folds its white space, as the reply text is normalised,
/// then splits it at ` ... ` gaps.
pub(crate) fn phrase_fragments(phrase: &str) -> Vec<String> {
    phrase
        .split(" ... ")
        .map(|part| {
            let mut s = Vec::new();
            crate::reply::normalize(part, &mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

fn conclusion(
    lines: &Lines<'_>,
    reason: &Spanned<String>,
    category: &Option<Spanned<String>>,
    scope: &Option<Spanned<String>>,
    sisimai: &Option<Spanned<String>>,
    errors: &mut Vec<RuleError>,
) -> Option<Conclusion> {
    let reason_v = match reason.get_ref().parse::<Reason>() {
        Ok(r) => r,
        Err(e) => {
            errors.push(lines.err(
                reason,
                format!("{e}; see the vocabulary in rules/README.md"),
            ));
            return None;
        }
    };
    let mut c = Conclusion {
        reason: reason_v,
        category: reason_v.default_category(),
        scope: reason_v.default_scope(),
        sisimai: reason_v.default_sisimai(),
    };
    if let Some(cat) = category {
        match cat.get_ref().parse() {
            Ok(v) => c.category = v,
            Err(e) => {
                errors.push(lines.err(cat, format!("{e}; expected hard, soft, technical or other")))
            }
        }
    }
    if let Some(sc) = scope {
        match sc.get_ref().parse() {
            Ok(v) => c.scope = v,
            Err(e) => errors.push(lines.err(
                sc,
                format!("{e}; expected recipient, domain, receiver or sender"),
            )),
        }
    }
    if let Some(s) = sisimai {
        match SISIMAI_REASONS.iter().find(|n| **n == s.get_ref().as_str()) {
            Some(n) => c.sisimai = n,
            None => errors.push(lines.err(s, format!("unknown Sisimai reason {:?}", s.get_ref()))),
        }
    }
    if c.scope == Scope::Sender && c.category == Category::Hard {
        errors.push(lines.err(
            reason,
            "a sender-scope verdict can never be hard: the recipient is not at fault",
        ));
    }
    Some(c)
}

fn valid_status_pattern(p: &str) -> bool {
    let parts: Vec<&str> = p.split('.').collect();
    !parts.is_empty()
        && parts.len() <= 3
        && matches!(parts[0], "2" | "4" | "5" | "X" | "x")
        && parts[1..]
            .iter()
            .all(|d| !d.is_empty() && d.len() <= 3 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses and checks one rule file. `file` names it in error messages. All problems
/// are reported, not only the first.
pub fn parse_rule_file(file: &str, src: &str) -> Result<RuleFile, Vec<RuleError>> {
    let lines = Lines::new(src, file);
    let raw: RawFile = match toml::from_str(src) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map(|s| lines.line(s.start)).unwrap_or(1);
            let message = e.message().trim().to_string();
            return Err(vec![RuleError {
                file: file.to_string(),
                line,
                message,
            }]);
        }
    };
    let mut errors = Vec::new();
    let mut out = RuleFile::default();
    let mut seen_ids = std::collections::HashMap::new();

    for spanned in &raw.rule {
        let r = spanned.get_ref();
        let line = lines.line(spanned.span().start);
        let id = r.id.get_ref().trim().to_string();
        if id.is_empty() {
            errors.push(lines.err(&r.id, "rule id is empty"));
        } else if let Some(first) = seen_ids.insert(id.clone(), lines.line(r.id.span().start)) {
            errors.push(lines.err(
                &r.id,
                format!("duplicate rule id {id:?} (first on line {first})"),
            ));
        }
        if r.text.is_empty() && r.regex.is_empty() {
            errors.push(lines.err(
                &r.id,
                "rule has neither `text` nor `regex`: it could never match",
            ));
        }
        let mut phrases = Vec::new();
        for t in &r.text {
            let frags = phrase_fragments(t.get_ref());
            if frags.is_empty() {
                errors.push(lines.err(t, "empty phrase"));
            } else {
                phrases.push(frags);
            }
        }
        for re in &r.regex {
            if let Err(e) = regex::RegexBuilder::new(re.get_ref())
                .size_limit(1 << 20)
                .build()
            {
                let first = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("invalid")
                    .to_string();
                errors.push(lines.err(re, format!("bad regex: {first}")));
            }
        }
        for s in &r.status {
            if !valid_status_pattern(s.get_ref()) {
                errors.push(lines.err(
                    s,
                    format!(
                        "bad status pattern {:?}; expected e.g. \"5.1.1\" or \"5.7\"",
                        s.get_ref()
                    ),
                ));
            }
        }
        for s in &r.reply {
            let v = s.get_ref();
            if v.is_empty() || v.len() > 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(lines.err(
                    s,
                    format!("bad reply pattern {v:?}; expected e.g. \"550\" or \"4\""),
                ));
            }
        }
        let strength = match r.strength.as_ref().map(|s| (s, s.get_ref().as_str())) {
            None | Some((_, "specific")) => Strength::Specific,
            Some((_, "generic")) => Strength::Generic,
            Some((s, other)) => {
                errors.push(lines.err(
                    s,
                    format!("unknown strength {other:?}; expected specific or generic"),
                ));
                Strength::Specific
            }
        };
        if r.examples.is_empty() {
            errors.push(lines.err(
                &r.id,
                "rule has no `examples`: give at least one real reply it decides",
            ));
        }
        let Some(conclusion) = conclusion(
            &lines,
            &r.reason,
            &r.category,
            &r.scope,
            &r.sisimai,
            &mut errors,
        ) else {
            continue;
        };
        out.rules.push(Rule {
            id: id.into(),
            provider: r.provider.as_deref().map(Arc::from),
            phrases,
            regexes: r.regex.iter().map(|s| s.get_ref().clone()).collect(),
            status: r
                .status
                .iter()
                .map(|s| s.get_ref().replace(['X', 'x'], ""))
                .collect(),
            reply: r.reply.iter().map(|s| s.get_ref().clone()).collect(),
            hosts: r
                .hosts
                .iter()
                .map(|h| h.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            strength,
            conclusion,
            examples: r.examples.clone(),
            origin: format!("{file}:{line}").into(),
        });
    }

    for (table, is_status) in [(&raw.status, true), (&raw.reply, false)] {
        for spanned in table {
            let c = spanned.get_ref();
            let code = c.code.get_ref().trim().to_string();
            let ok = if is_status {
                valid_status_pattern(&code) && code.split('.').count() == 3
            } else {
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit())
            };
            if !ok {
                errors.push(lines.err(&c.code, format!("bad code {code:?}")));
                continue;
            }
            if let Some(conclusion) = conclusion(
                &lines,
                &c.reason,
                &c.category,
                &c.scope,
                &c.sisimai,
                &mut errors,
            ) {
                let code = code.replace('x', "X");
                let kind = if is_status { "status" } else { "reply" };
                let entry = CodeEntry {
                    label: format!("{kind} {code}").into(),
                    code,
                    meaning: c.meaning.clone(),
                    conclusion,
                };
                if is_status {
                    out.status.push(entry)
                } else {
                    out.reply.push(entry)
                }
            }
        }
    }

    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        parse_rule_file("t.toml", src)
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn a_good_file_loads() {
        let f = parse_rule_file(
            "t.toml",
            r#"
[[rule]]
id = "t.a"
text = ["User Unknown", "no such ... user"]
reason = "invalid_recipient"
examples = ["550 user unknown"]

[[status]]
code = "X.1.1"
reason = "invalid_recipient"
"#,
        )
        .unwrap();
        assert_eq!(
            f.rules[0].phrases,
            vec![
                vec!["user unknown".to_string()],
                vec!["no such".into(), "user".into()]
            ]
        );
        assert_eq!(f.status[0].code, "X.1.1");
    }

    #[test]
    fn problems_are_reported_with_their_lines() {
        let e = errors(
            "[[rule]]\nid = \"a\"\ntext = [\"x\"]\nreason = \"nope\"\nexamples = [\"x\"]\n\n[[rule]]\nid = \"a\"\nregex = [\"(\"]\nreason = \"spam_content\"\ncategory = \"hard\"\n",
        );
        assert!(
            e.iter().any(|m| m.starts_with("t.toml:4: unknown reason")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.starts_with("t.toml:8: duplicate rule id")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.starts_with("t.toml:9: bad regex")),
            "{e:?}"
        );
        assert!(e.iter().any(|m| m.contains("no `examples`")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("never be hard")), "{e:?}");
    }

    #[test]
    fn syntax_errors_and_unknown_fields_have_lines() {
        let e = errors("[[rule]]\nid = \"a\"\ntxt = [\"x\"]\n");
        assert!(e[0].starts_with("t.toml:3:"), "{e:?}");
        let e = errors("\n\n[[rule]\n");
        assert!(e[0].starts_with("t.toml:3:"), "{e:?}");
    }
}
