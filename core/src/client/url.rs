//! What a client span takes from the URL it calls.

use crate::obfuscation::QueryObfuscation;

/// The parts of an outgoing request's URL that its span is tagged with.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Target {
    /// `http.url`: scheme, host, port and path, and the query as configured; never the
    /// userinfo or the fragment.
    pub http_url: String,
    /// `out.host`: the host alone.
    pub host: Option<String>,
    /// The host with its port, as `DD_TRACE_HTTP_CLIENT_SPLIT_BY_DOMAIN` names the service.
    pub authority: Option<String>,
    /// The path, for the resource (`GET /users/7`).
    pub path: String,
}

impl Target {
    pub(super) fn parse(url: &str, query: &QueryObfuscation) -> Target {
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        let Ok(uri) = url.parse::<http::Uri>() else {
            return Target::default();
        };
        let host = uri.host().map(str::to_string);
        let authority = uri
            .authority()
            .map(|a| a.as_str())
            .map(|a| a.rsplit_once('@').map_or(a, |(_, h)| h).to_string());
        let mut http_url = String::with_capacity(url.len());
        if let Some(scheme) = uri.scheme_str() {
            http_url.push_str(scheme);
            http_url.push_str("://");
        }
        if let Some(authority) = &authority {
            http_url.push_str(authority);
        }
        http_url.push_str(uri.path());
        if let Some(q) = uri.query().filter(|q| !q.is_empty()) {
            if let Some(q) = query.apply(q) {
                http_url.push('?');
                http_url.push_str(&q);
            }
        }
        let path = match uri.path() {
            "" => "/".to_string(),
            p => p.to_string(),
        };
        Target {
            http_url,
            host,
            authority,
            path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_fragments_never_reach_a_tag_and_the_query_is_obfuscated() {
        let t = Target::parse(
            "http://user:pw@example.com:8080/a/b?token=x&page=2#frag",
            &QueryObfuscation::default(),
        );
        assert_eq!(t.http_url, "http://example.com:8080/a/b?<redacted>&page=2");
        assert_eq!(t.host.as_deref(), Some("example.com"));
        assert_eq!(t.authority.as_deref(), Some("example.com:8080"));
        assert_eq!(t.path, "/a/b");
        let dropped = Target::parse("http://example.com/a?page=2", &QueryObfuscation::Drop);
        assert_eq!(dropped.http_url, "http://example.com/a");
        assert_eq!(
            Target::parse("not a url", &QueryObfuscation::Drop),
            Target::default()
        );
    }
}
