//! The tag-string grammars users already know from Datadog's tracers and from ddtrace-asgi.

use std::fmt;

/// Parses a `DD_TAGS` / `DD_TRACE_HEADER_TAGS` string exactly as Datadog's tracers do
/// (dd-trace-py `parse_tags_str`).
///
/// The separator is a comma if the string contains one anywhere, otherwise a single space;
/// each item is split on its first `:`; keys and values are trimmed; items with an empty key
/// are dropped; a later duplicate key replaces the earlier value in place. The result keeps
/// the first-seen order of keys.
///
/// ```
/// use ddtrace_core::tags::parse_dd_tags;
///
/// let tags = parse_dd_tags("env:prod,team:web:core, ,:orphan");
/// assert_eq!(tags, vec![
///     ("env".to_string(), "prod".to_string()),
///     ("team".to_string(), "web:core".to_string()),
/// ]);
/// // Without a comma, spaces separate.
/// assert_eq!(parse_dd_tags("a:1 b").len(), 2);
/// ```
pub fn parse_dd_tags(input: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if input.is_empty() {
        return out;
    }
    let sep = if input.contains(',') { ',' } else { ' ' };
    for item in input.split(sep) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (key, value) = item.split_once(':').unwrap_or((item, ""));
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => out.push((key.to_string(), value.to_string())),
        }
    }
    out
}

/// The error returned when a tags string given in code is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagsError {
    item: String,
}

impl fmt::Display for TagsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid tag {:?}: tags are `key:value` items separated by commas, e.g. \"env:staging, app:shop\"",
            self.item
        )
    }
}

impl std::error::Error for TagsError {}

/// Parses the `tags` string of ddtrace-asgi's `TraceMiddleware` (`"env:staging, app:shop"`).
///
/// Items are separated by commas only and trimmed; each splits on its first `:`; key and value
/// keep their inner spaces. A double- or single-quoted item is unquoted, as the shell-like
/// parser ddtrace-asgi uses does. An item without `:` (including an empty item between two
/// commas) is an error, as it is there.
///
/// ```
/// use ddtrace_core::tags::parse_asgi_tags;
///
/// let tags = parse_asgi_tags("env:staging, app:shop").unwrap();
/// assert_eq!(tags[1], ("app".to_string(), "shop".to_string()));
/// assert!(parse_asgi_tags("env-testing").is_err());
/// ```
pub fn parse_asgi_tags(input: &str) -> Result<Vec<(String, String)>, TagsError> {
    let mut out = Vec::new();
    if input.trim().is_empty() {
        return Ok(out);
    }
    for raw in split_shell_commas(input) {
        let item = raw.trim();
        match item.split_once(':') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None => {
                return Err(TagsError {
                    item: item.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// Splits on commas outside quotes, removing the quotes (starlette's `CommaSeparatedStrings`
/// is `shlex` with `,` as the only whitespace).
fn split_shell_commas(input: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut saw_token = false;
    for c in input.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                saw_token = true;
            }
            (None, ',') => {
                if saw_token || !current.is_empty() {
                    items.push(std::mem::take(&mut current));
                }
                saw_token = false;
            }
            (None, c) => current.push(c),
        }
    }
    if saw_token || !current.is_empty() {
        items.push(current);
    }
    // shlex collapses runs of separators, but starlette then strips each item; an item made
    // only of spaces (", ,") survives as an empty string and fails the `:` check.
    items
}

/// Turns a header name into the default tag-name suffix: lower-cased, trimmed, and every
/// character outside `[a-z0-9_\-:/]` replaced by one `_` (dd-trace-py `_normalize_tag_name`).
///
/// ```
/// use ddtrace_core::tags::normalize_header_tag_name;
///
/// assert_eq!(normalize_header_tag_name("C!#ontent-Type"), "c__ontent-type");
/// assert_eq!(normalize_header_tag_name("api.token"), "api_token");
/// ```
pub fn normalize_header_tag_name(header: &str) -> String {
    header
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | ':' | '/') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asgi_quotes_and_spaces() {
        assert_eq!(
            parse_asgi_tags("\"a:b,c\", d : e").unwrap(),
            vec![
                ("a".to_string(), "b,c".to_string()),
                ("d ".to_string(), " e".to_string())
            ]
        );
        assert!(parse_asgi_tags(" , env:x").is_err());
        assert_eq!(parse_asgi_tags("").unwrap(), vec![]);
    }

    #[test]
    fn dd_tags_duplicate_keeps_position() {
        assert_eq!(
            parse_dd_tags("k1:v1,k2:x,k1:v2"),
            vec![
                ("k1".to_string(), "v2".to_string()),
                ("k2".to_string(), "x".to_string())
            ]
        );
    }
}
