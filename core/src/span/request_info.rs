//! What an integration tells the core about a request when its span starts.

use crate::HeaderSource;
use std::net::IpAddr;

/// What an integration knows about a request when it starts the span, in plain strings so
/// that any framework (whatever `http` version it uses) can describe its request.
///
/// ```
/// use ddtrace_core::RequestInfo;
///
/// let req = http::Request::get("/users/7?q=1").body(()).unwrap();
/// let info = RequestInfo::from_request(&req).peer_ip(Some("10.0.0.1".parse().unwrap()));
/// assert_eq!((info.path, info.query), ("/users/7", Some("q=1")));
///
/// // A framework with its own types fills the fields itself:
/// let headers = http::HeaderMap::new();
/// let info = RequestInfo::new("GET", "/users/7", None, &headers).scheme("https");
/// # let _ = info;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RequestInfo<'a, H: ?Sized = http::HeaderMap> {
    /// The request method, as the request line carries it.
    pub method: &'a str,
    /// `http` or `https` (default `http`).
    pub scheme: &'a str,
    /// The authority when the request target had one (HTTP/2, absolute form); otherwise the
    /// `Host` header is used.
    pub authority: Option<&'a str>,
    /// The path, still percent-encoded.
    pub path: &'a str,
    /// The raw query, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a H,
    /// The socket peer's address, when the framework knows it.
    pub peer_ip: Option<IpAddr>,
}

impl<'a> RequestInfo<'a, http::HeaderMap> {
    /// Takes method, URI and headers from an `http` 1 request.
    pub fn from_request<B>(req: &'a http::Request<B>) -> Self {
        let uri = req.uri();
        RequestInfo {
            method: req.method().as_str(),
            scheme: uri.scheme_str().unwrap_or("http"),
            authority: uri.authority().map(|a| a.as_str()),
            path: uri.path(),
            query: uri.query(),
            headers: req.headers(),
            peer_ip: None,
        }
    }
}

impl<'a, H: HeaderSource + ?Sized> RequestInfo<'a, H> {
    /// Builds from parts, for frameworks with their own request types.
    pub fn new(method: &'a str, path: &'a str, query: Option<&'a str>, headers: &'a H) -> Self {
        RequestInfo {
            method,
            scheme: "http",
            authority: None,
            path,
            query,
            headers,
            peer_ip: None,
        }
    }

    /// Sets the scheme (`https` behind TLS).
    pub fn scheme(mut self, scheme: &'a str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sets the authority of an absolute request target.
    pub fn authority(mut self, authority: Option<&'a str>) -> Self {
        self.authority = authority;
        self
    }

    /// Sets the socket peer's address (used for client IP resolution).
    pub fn peer_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.peer_ip = ip;
        self
    }
}
