//! W3C Baggage (`baggage`), with Datadog's limits and encoding.
//!
//! Extraction reads at most `DD_TRACE_BAGGAGE_MAX_ITEMS` items and `DD_TRACE_BAGGAGE_MAX_BYTES`
//! bytes; an item without `=`, or with an empty key or value, discards the whole header, as
//! Datadog's tracers do. Properties (`;k=v`) are kept as part of the value, not parsed.
//! Injection percent-encodes keys and values with the character sets dd-trace-py uses and
//! stops before the item that would exceed either limit.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters a key keeps as they are: W3C `token` characters.
const KEY_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'%')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'*')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Characters a value keeps as they are.
const VALUE_SAFE: &AsciiSet = &KEY_SAFE
    .remove(b'(')
    .remove(b')')
    .remove(b'/')
    .remove(b':')
    .remove(b'<')
    .remove(b'>')
    .remove(b'?')
    .remove(b'@')
    .remove(b'[')
    .remove(b']')
    .remove(b'{')
    .remove(b'}');

/// Baggage items in the order they were set; setting a key again replaces its value in place.
///
/// ```
/// use ddtrace_core::propagation::Baggage;
///
/// let mut baggage = Baggage::default();
/// baggage.set("user.id", "42");
/// baggage.set("region", "eu");
/// assert_eq!(baggage.get("user.id"), Some("42"));
/// assert_eq!(baggage.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["user.id", "region"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baggage(Vec<(String, String)>);

impl Baggage {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value`. Any key and value are accepted: they are percent-encoded when
    /// sent.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key, value)),
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    /// Every item, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when there is no item.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Reads a `baggage` header; `None` when it must be discarded whole.
pub(crate) fn extract(value: &str, max_items: usize, max_bytes: usize) -> Option<Baggage> {
    let mut baggage = Baggage::default();
    let mut used = 0;
    for (i, item) in value.split(',').enumerate() {
        used += item.len() + usize::from(i > 0);
        if i >= max_items || used > max_bytes {
            // Items past the limits are not read, so they cannot spoil the header.
            break;
        }
        let (key, val) = item.split_once('=')?;
        let (key, val) = (key.trim_matches([' ', '\t']), val.trim_matches([' ', '\t']));
        if key.is_empty() || val.is_empty() {
            return None;
        }
        baggage.set(
            percent_decode_str(key).decode_utf8_lossy(),
            percent_decode_str(val).decode_utf8_lossy(),
        );
    }
    Some(baggage)
}

/// The `baggage` header for `baggage`, within the limits; `None` when nothing fits.
pub(crate) fn encode(baggage: &Baggage, max_items: usize, max_bytes: usize) -> Option<String> {
    let mut out = String::new();
    for (i, (key, value)) in baggage.iter().enumerate() {
        if i >= max_items {
            break;
        }
        let mark = out.len();
        if i > 0 {
            out.push(',');
        }
        out.extend(utf8_percent_encode(key.trim(), KEY_SAFE));
        out.push('=');
        out.extend(utf8_percent_encode(value.trim(), VALUE_SAFE));
        if out.len() > max_bytes {
            out.truncate(mark);
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_baggage_is_dropped_whole() {
        assert!(extract("a=1,b=2;prop=x", 64, 8192).is_some());
        for bad in ["a=1,b", "a=1, =2", "a=", "=", ","] {
            assert_eq!(extract(bad, 64, 8192), None, "{bad:?}");
        }
    }

    #[test]
    fn items_past_the_limits_are_not_read() {
        let b = extract("a=1,b=2,c", 2, 8192).unwrap();
        assert_eq!(b.len(), 2);
        let b = extract("a=1,b=2", 64, 4).unwrap();
        assert_eq!(b.iter().collect::<Vec<_>>(), [("a", "1")]);
    }

    #[test]
    fn encoding_matches_datadog() {
        let mut b = Baggage::default();
        b.set("userId", "Amélie");
        b.set("serverNode", "DF 28");
        b.set("\",;\\()/:<=>?@[]{}", "\",;\\");
        assert_eq!(
            encode(&b, 64, 8192).unwrap(),
            "userId=Am%C3%A9lie,serverNode=DF%2028,%22%2C%3B%5C%28%29%2F%3A%3C%3D%3E%3F%40%5B%5D%7B%7D=%22%2C%3B%5C"
        );
        let decoded = extract(&encode(&b, 64, 8192).unwrap(), 64, 8192).unwrap();
        assert_eq!(decoded, b);
    }

    #[test]
    fn injection_keeps_whole_items_within_the_limits() {
        let mut b = Baggage::default();
        for c in ['a', 'b', 'c'] {
            b.set(format!("k{c}"), c.to_string().repeat(3997));
        }
        let out = encode(&b, 64, 8192).unwrap();
        assert_eq!(out.split(',').count(), 2);
        assert!(out.len() <= 8192);
    }
}
