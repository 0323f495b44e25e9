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

/// Text headers kept past the moment a framework hands them on, for a hook that runs later:
/// names and values up to [`MAX_KEPT_HEADER_BYTES`] in all, so a request or response with huge
/// or countless headers costs no more.
#[derive(Debug, Default)]
pub(crate) struct OwnedHeaders(Vec<(Box<str>, Box<str>)>);

/// How much of a request's or response's headers a later hook can see.
pub(crate) const MAX_KEPT_HEADER_BYTES: usize = 16 * 1024;

impl OwnedHeaders {
    pub(crate) fn of<H: HeaderSource + ?Sized>(headers: &H) -> Self {
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
        OwnedHeaders(kept)
    }
}

impl FirstHeader for OwnedHeaders {
    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }
}

/// The request as it arrived, kept from the span's start to its end for the `resource_name`
/// hook, which runs once the route is known (at the end for rocket, poem and the template).
/// Made only when that hook is set.
#[derive(Debug)]
pub(crate) struct OwnedHead {
    path: String,
    query: Option<String>,
    headers: OwnedHeaders,
}

impl OwnedHead {
    pub(crate) fn of<H: HeaderSource + ?Sized>(
        path: &str,
        query: Option<&str>,
        headers: &H,
    ) -> Self {
        OwnedHead {
            path: path.to_string(),
            query: query.map(str::to_string),
            headers: OwnedHeaders::of(headers),
        }
    }

    /// The request as `RequestHead`, with its method.
    pub(crate) fn view<'a>(&'a self, method: &'a str) -> RequestHead<'a> {
        RequestHead {
            method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
        }
    }
}

/// A response as the `on_response` hook sees it: its status and headers, whatever the
/// framework.
///
/// ```
/// use ddtrace_core::ResponseHead;
///
/// fn cache_tag(resp: &ResponseHead<'_>) -> String {
///     match resp.header("x-cache") {
///         Some(cache) => cache.to_string(),
///         None if resp.status() == 304 => "revalidated".to_string(),
///         None => "none".to_string(),
///     }
/// }
/// # let _ = cache_tag;
/// ```
pub struct ResponseHead<'a> {
    pub(crate) status: u16,
    pub(crate) headers: &'a dyn FirstHeader,
}

impl ResponseHead<'_> {
    /// The status code (`200`); 500 for a handler that panicked.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of header `name` (any case), when it is text. Headers are kept up to
    /// 16 KiB; a response that never reached the integration (a panic) has none.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.first(name)
    }
}

impl std::fmt::Debug for ResponseHead<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseHead")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

pub(crate) type IgnoreFn = dyn Fn(&RequestHead<'_>) -> bool + Send + Sync;
type ResourceFn = dyn Fn(&RequestHead<'_>, Option<&str>) -> Option<String> + Send + Sync;
type OnRequestFn = dyn Fn(&RequestHead<'_>, &mut crate::SpanTags<'_>) + Send + Sync;
type OnResponseFn = dyn Fn(&ResponseHead<'_>, &mut crate::SpanTags<'_>) + Send + Sync;
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

    /// Runs the `on_response` hook, if set, on a span whose response had `status` (none: the
    /// handler never answered) and the `headers` [`RequestSpan::record_status`] kept.
    ///
    /// [`RequestSpan::record_status`]: crate::RequestSpan::record_status
    pub(crate) fn response(
        &self,
        status: Option<u16>,
        headers: Option<Box<OwnedHeaders>>,
        tags: &mut crate::SpanTags<'_>,
    ) {
        let (Some(hook), Some(status)) = (&self.on_response, status) else {
            return;
        };
        let headers = headers.unwrap_or_default();
        hook(
            &ResponseHead {
                status,
                headers: &*headers,
            },
            tags,
        );
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

    /// The same for a gRPC call, whose route is its full method (the request's path).
    pub(crate) fn grpc_resource(&self, head: Option<Box<OwnedHead>>) -> Option<String> {
        let hook = self.resource_name.as_ref()?;
        let head = head?;
        hook(&head.view("POST"), Some(&head.path))
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
        let kept: usize = head.headers.0.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(kept <= MAX_KEPT_HEADER_BYTES, "{kept} bytes kept");
        assert_eq!(head.headers.first("x-operation"), Some("GetUser"));
        assert_eq!(head.headers.first("x-binary"), None, "not text: left out");
        let view = head.view("POST");
        assert_eq!(
            (view.method(), view.path(), view.query()),
            ("POST", "/graphql", Some("q=1"))
        );
        assert_eq!(view.header("X-OPERATION"), Some("GetUser"));
    }
}
