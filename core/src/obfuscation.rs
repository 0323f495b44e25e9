//! Query-string obfuscation for `http.url`, as Datadog's tracers do it.

use regex::bytes::{Regex, RegexBuilder};
use std::borrow::Cow;

/// The default obfuscation pattern of dd-trace-py 4.16 (`DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP`).
///
/// It is the cross-language documented default with one change: a JWT only matches when it is
/// not glued to a preceding word character, and the character before it (group 1) is kept.
pub const DEFAULT_QUERY_OBFUSCATION_REGEX: &str = r#"(?i)(?:(?:"|%22)?)(?:(?:old[-_]?|new[-_]?)?p(?:ass)?w(?:or)?d(?:1|2)?|pass(?:[-_]?phrase)?|secret|(?:api[-_]?|private[-_]?|public[-_]?|access[-_]?|secret[-_]?|app(?:lication)?[-_]?)key(?:[-_]?id)?|token|consumer[-_]?(?:id|key|secret)|sign(?:ed|ature)?|auth(?:entication|orization)?)(?:(?:\s|%20)*(?:=|%3D)[^&]+|(?:"|%22)(?:\s|%20)*(?::|%3A)(?:\s|%20)*(?:"|%22)(?:%2[^2]|%[^2]|[^"%])+(?:"|%22))|(?:bearer(?:\s|%20)+[a-z0-9._\-]+|token(?::|%3A)[a-z0-9]{13}|gh[opsu]_[0-9a-zA-Z]{36}|(^|[^\w%-]|%[0-9a-f]{2})ey[I-L][\w-]+(?:=|%3D)*\.ey[I-L][\w-]+(?:=|%3D)*(?:\.(?:[\w.+/=-]|%3D|%2F|%2B)+)?|-{5}BEGIN(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY-{5}[^\-]+-{5}END(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY(?:-{5})?(?:\n|%0A)?|(?:ssh-(?:rsa|dss)|ecdsa-[a-z0-9]+-[a-z0-9]+)(?:\s|%20|%09)+(?:[a-z0-9/.+]|%2F|%5C|%2B){100,}(?:=|%3D)*(?:(?:\s|%20|%09)+[a-z0-9._-]+)?)"#;

const REDACTED: &[u8] = b"<redacted>";

/// What happens to the query string of `http.url`.
///
/// ```
/// use ddtrace_core::QueryObfuscation;
///
/// let q = QueryObfuscation::default();
/// assert_eq!(q.apply("a=1&password=hunter2&b=2").as_deref(), Some("a=1&<redacted>&b=2"));
/// let off = QueryObfuscation::from_pattern("").unwrap();
/// assert_eq!(off.apply("password=x").as_deref(), Some("password=x"));
/// ```
#[derive(Clone, Debug)]
pub enum QueryObfuscation {
    /// Every match of the regex is replaced by `<redacted>` (the default regex keeps the
    /// character it matched in front of a JWT).
    Redact {
        /// The compiled pattern, matched on the raw percent-encoded bytes.
        regex: Regex,
        /// True for the default pattern, whose group 1 is preserved.
        keep_group1: bool,
    },
    /// The query is tagged verbatim (an empty regex).
    Verbatim,
    /// The query is not tagged at all.
    Drop,
}

impl Default for QueryObfuscation {
    fn default() -> Self {
        // The default pattern is a constant known to compile; a failure would be a bug in this
        // crate, caught by its tests, and still degrades to dropping the query, not a panic.
        match compile(DEFAULT_QUERY_OBFUSCATION_REGEX) {
            Ok(regex) => QueryObfuscation::Redact {
                regex,
                keep_group1: true,
            },
            Err(_) => QueryObfuscation::Drop,
        }
    }
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    // Datadog's tracers match on bytes with ASCII classes; fall back to Unicode mode for
    // patterns that need it, rather than rejecting them.
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(1 << 22)
        .build()
        .or_else(|_| RegexBuilder::new(pattern).size_limit(1 << 22).build())
}

impl QueryObfuscation {
    /// Builds from a `DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP` value: `""` keeps the query
    /// verbatim, anything else replaces the default pattern.
    pub fn from_pattern(pattern: &str) -> Result<Self, regex::Error> {
        if pattern.is_empty() {
            return Ok(QueryObfuscation::Verbatim);
        }
        if pattern == DEFAULT_QUERY_OBFUSCATION_REGEX {
            return Ok(Self::default());
        }
        Ok(QueryObfuscation::Redact {
            regex: compile(pattern)?,
            keep_group1: false,
        })
    }

    /// Returns the query as it should appear in `http.url`, or `None` when it is not tagged.
    pub fn apply<'a>(&self, query: &'a str) -> Option<Cow<'a, str>> {
        match self {
            QueryObfuscation::Verbatim => Some(Cow::Borrowed(query)),
            QueryObfuscation::Drop => None,
            QueryObfuscation::Redact { regex, keep_group1 } => {
                let replaced = if *keep_group1 {
                    regex.replace_all(query.as_bytes(), |caps: &regex::bytes::Captures<'_>| {
                        let mut out = caps
                            .get(1)
                            .map(|m| m.as_bytes().to_vec())
                            .unwrap_or_default();
                        out.extend_from_slice(REDACTED);
                        out
                    })
                } else {
                    regex.replace_all(query.as_bytes(), REDACTED)
                };
                match replaced {
                    Cow::Borrowed(_) => Some(Cow::Borrowed(query)),
                    // Replacements happen on match boundaries of a valid UTF-8 input with an
                    // ASCII replacement; a lossy conversion only guards against a custom
                    // pattern that splits a multi-byte character.
                    Cow::Owned(bytes) => Some(Cow::Owned(match String::from_utf8(bytes) {
                        Ok(s) => s,
                        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    })),
                }
            }
        }
    }
}
