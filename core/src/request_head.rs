//! What the `ignore` hook of [`crate::ConfigBuilder`] sees of a request.

use crate::HeaderSource;
use std::sync::Arc;

/// A request as an integration's hooks see it: method, path, query and headers, whatever the
/// framework.
///
/// ```
/// use ddtrace_core::RequestHead;
///
/// fn is_probe(req: &RequestHead<'_>) -> bool {
///     req.path() == "/healthz" || req.header("user-agent").is_some_and(|ua| ua.starts_with("kube-probe"))
/// }
/// # let _ = is_probe;
/// ```
pub struct RequestHead<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a dyn FirstHeader,
}

/// Object-safe header access over any [`HeaderSource`].
pub(crate) trait FirstHeader {
    fn first(&self, name: &str) -> Option<&str>;
}

/// Any [`HeaderSource`], sized, so it can be seen through [`FirstHeader`].
pub(crate) struct Headers<'a, H: ?Sized>(pub(crate) &'a H);

impl<H: HeaderSource + ?Sized> FirstHeader for Headers<'_, H> {
    fn first(&self, name: &str) -> Option<&str> {
        self.0.first_str(name)
    }
}

impl<'a> RequestHead<'a> {
    /// The method (`GET`).
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The path, still percent-encoded (`/users/7`).
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The raw query, without `?`.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The first value of header `name` (lower case), when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.first(name)
    }
}

impl std::fmt::Debug for RequestHead<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

/// The request as it arrived, kept from the span's start to its end for the `resource_name`
/// hook, which runs once the route is known (at the end for rocket, poem and the template).
/// Made only when that hook is set.
#[derive(Debug)]
pub(crate) struct OwnedHead {
    path: String,
    query: Option<String>,
    /// Text headers, in order, until [`MAX_KEPT_HEADER_BYTES`] of them.
    headers: Vec<(Box<str>, Box<str>)>,
}

/// How much of the request's headers the `resource_name` hook can see: names and values up to
/// this many bytes in all, so a request with huge or countless headers costs no more.
pub(crate) const MAX_KEPT_HEADER_BYTES: usize = 16 * 1024;

impl OwnedHead {
    pub(crate) fn of<H: HeaderSource + ?Sized>(
        path: &str,
        query: Option<&str>,
        headers: &H,
    ) -> Self {
        let mut kept = Vec::new();
        let mut bytes = 0;
        for (name, value) in headers.entries() {
            let Ok(value) = std::str::from_utf8(value) else {
                continue;
            };
            bytes += name.len() + value.len();
            if bytes > MAX_KEPT_HEADER_BYTES {
                break;
            }
            kept.push((name.to_ascii_lowercase().into_boxed_str(), value.into()));
        }
        OwnedHead {
            path: path.to_string(),
            query: query.map(str::to_string),
            headers: kept,
        }
    }

    /// The request as `RequestHead`, with its method.
    pub(crate) fn view<'a>(&'a self, method: &'a str) -> RequestHead<'a> {
        RequestHead {
            method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: self,
        }
    }
}

impl FirstHeader for OwnedHead {
    fn first(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }
}

type IgnoreFn = dyn Fn(&RequestHead<'_>) -> bool + Send + Sync;
type ResourceFn = dyn Fn(&RequestHead<'_>, Option<&str>) -> Option<String> + Send + Sync;
type OnRequestFn = dyn Fn(&RequestHead<'_>, &mut crate::SpanTags<'_>) + Send + Sync;
type OnResponseFn = dyn Fn(u16, &mut crate::SpanTags<'_>) + Send + Sync;
type ErrorStatusFn = dyn Fn(u16) -> bool + Send + Sync;

/// The hooks set in code (`ConfigBuilder::ignore` and its siblings), shared by every clone of
/// the configuration. None is set by default, and then none costs more than a check.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) ignore: Option<Arc<IgnoreFn>>,
    pub(crate) resource_name: Option<Arc<ResourceFn>>,
    pub(crate) on_request: Option<Arc<OnRequestFn>>,
    pub(crate) on_response: Option<Arc<OnResponseFn>>,
    pub(crate) error_status: Option<Arc<ErrorStatusFn>>,
}

impl Hooks {
    /// Whether any hook needs to see the request when its span starts.
    pub(crate) fn sees_request(&self) -> bool {
        self.resource_name.is_some() || self.on_request.is_some()
    }

    /// The `resource_name` hook's choice for a request, now that its route is known.
    pub(crate) fn resource(
        &self,
        head: Option<Box<OwnedHead>>,
        method: &str,
        route: Option<&str>,
    ) -> Option<String> {
        let hook = self.resource_name.as_ref()?;
        let head = head?;
        hook(&head.view(method), route)
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("ignore", &self.ignore.is_some())
            .field("resource_name", &self.resource_name.is_some())
            .field("on_request", &self.on_request.is_some())
            .field("on_response", &self.on_response.is_some())
            .field("error_status", &self.error_status.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{FirstHeader, OwnedHead, MAX_KEPT_HEADER_BYTES};

    #[test]
    fn the_kept_request_is_bounded_and_reads_like_the_original() {
        let mut headers = http::HeaderMap::new();
        headers.insert("X-Operation", "GetUser".parse().unwrap());
        headers.insert(
            "x-binary",
            http::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        for i in 0..10_000 {
            let name = http::HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()).unwrap();
            headers.insert(name, "v".repeat(100).parse().unwrap());
        }
        let head = OwnedHead::of("/graphql", Some("q=1"), &headers);
        let kept: usize = head.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(kept <= MAX_KEPT_HEADER_BYTES, "{kept} bytes kept");
        assert_eq!(head.first("x-operation"), Some("GetUser"));
        assert_eq!(head.first("x-binary"), None, "not text: left out");
        let view = head.view("POST");
        assert_eq!(
            (view.method(), view.path(), view.query()),
            ("POST", "/graphql", Some("q=1"))
        );
        assert_eq!(view.header("X-OPERATION"), Some("GetUser"));
    }
}
