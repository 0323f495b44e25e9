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

/// A hook set in code, shared by every clone of the configuration.
#[derive(Clone)]
pub(crate) struct Ignore(pub(crate) Arc<dyn Fn(&RequestHead<'_>) -> bool + Send + Sync>);

impl std::fmt::Debug for Ignore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ignore(<fn>)")
    }
}
