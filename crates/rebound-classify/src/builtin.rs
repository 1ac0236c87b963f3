//! The built-in rule files, embedded at compile time, in the order they are consulted.
//!
//! Order matters for text rules (first match wins): provider-specific texts first,
//! then security gateways and blocklists, non-English texts, MTA texts, and the broad
//! everyday phrases last. The code tables are order-free lookups.

/// `(name, source)` of every built-in rule file.
pub const FILES: &[(&str, &str)] = &[
    ("providers.toml", include_str!("../rules/providers.toml")),
    ("filters.toml", include_str!("../rules/filters.toml")),
    ("intl.toml", include_str!("../rules/intl.toml")),
    ("mta.toml", include_str!("../rules/mta.toml")),
    ("generic.toml", include_str!("../rules/generic.toml")),
    (
        "status-codes.toml",
        include_str!("../rules/status-codes.toml"),
    ),
    (
        "reply-codes.toml",
        include_str!("../rules/reply-codes.toml"),
    ),
];
