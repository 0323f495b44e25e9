//! What the `ignore` hook of [`crate::ConfigBuilder`] sees of a request.

use crate::HeaderSource;
use std::sync::Arc;

/// A request as an integration's hooks see it, before its span starts: method, path, query
/// and headers, whatever the framework.
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

type IgnoreFn = dyn Fn(&RequestHead<'_>) -> bool + Send + Sync;
type ResourceFn = dyn Fn(&RequestHead<'_>) -> Option<String> + Send + Sync;
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
