//! Read access to a framework's request or response headers, whatever type it uses.

/// Headers as the core reads them: by lower-case name, every value in order.
///
/// Implemented for `http::HeaderMap` (axum, poem, hyper); integrations whose framework has
/// its own header type (actix-web, rocket) implement it for a thin wrapper.
///
/// ```
/// use ddtrace_core::HeaderSource;
///
/// let mut headers = http::HeaderMap::new();
/// headers.append("accept", "a".parse().unwrap());
/// headers.append("accept", "b".parse().unwrap());
/// let all: Vec<&[u8]> = headers.values_of("accept").collect();
/// assert_eq!(all, [&b"a"[..], &b"b"[..]]);
/// ```
pub trait HeaderSource {
    /// Every value of the header `name` (given lower-case), in order.
    fn values_of<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a;

    /// Every distinct header name present, lower-case.
    fn names(&self) -> impl Iterator<Item = &str>;

    /// Every (name, value) pair in order; values of one name keep their order. Names are
    /// compared case-insensitively by the core, so a source may give them in any case.
    ///
    /// The default goes through [`names`](Self::names) and [`values_of`](Self::values_of);
    /// a source that can iterate its entries directly should, as the core reads every header
    /// once per request to find the propagation headers.
    fn entries(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.names()
            .flat_map(move |name| self.values_of(name).map(move |value| (name, value)))
    }

    /// The first value of `name` as text, if it is valid visible ASCII.
    fn first_str(&self, name: &str) -> Option<&str> {
        self.values_of(name)
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

impl HeaderSource for http::HeaderMap {
    fn values_of<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // The two names every request span reads, as `http`'s constants: a name given as text
        // is parsed and hashed byte by byte on every lookup, a constant is not.
        let values = match name {
            "host" => self.get_all(http::header::HOST),
            "user-agent" => self.get_all(http::header::USER_AGENT),
            _ => self.get_all(name),
        };
        values.into_iter().map(http::HeaderValue::as_bytes)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.keys().map(http::HeaderName::as_str)
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `host` and `user-agent` are looked up by `http`'s constants; every name finds the same
    /// values, in order, as a lookup by text.
    #[test]
    fn a_header_map_gives_every_value_of_a_name() {
        let mut map = http::HeaderMap::new();
        map.append("host", http::HeaderValue::from_static("shop.example"));
        map.append("user-agent", http::HeaderValue::from_static("curl/8"));
        map.append("user-agent", http::HeaderValue::from_static("again"));
        map.append("x-request-id", http::HeaderValue::from_static("7"));
        let values = |name| map.values_of(name).collect::<Vec<_>>();
        assert_eq!(values("host"), [b"shop.example".as_slice()]);
        assert_eq!(values("user-agent"), [b"curl/8".as_slice(), b"again"]);
        assert_eq!(values("x-request-id"), [b"7".as_slice()]);
        assert!(values("accept").is_empty());
    }
}
