//! gRPC spans: what a gRPC server or client integration (`ddtrace-tonic`) shares.
//!
//! The semantics follow Datadog's own gRPC integrations:
//! - operation `grpc.server` for a call a service handles and `grpc.client` for one it makes
//!   (dd-trace-go's `google.golang.org/grpc` and dd-trace-js's `grpc` plugin name them so);
//!   type `grpc` (dd-trace-py's `SpanTypes.GRPC`); `span.kind` `server` or `client`;
//! - resource the full method, `/package.Service/Method` (all of them);
//! - `rpc.system` `grpc`, `rpc.service` `package.Service` (dd-trace-go, dd-trace-py),
//!   `rpc.method` `Method` (OpenTelemetry's convention), and dd-trace-py's and dd-trace-js's
//!   `grpc.method.path`, `grpc.method.package`, `grpc.method.service` and `grpc.method.name`;
//! - the status as the metrics `grpc.status.code` (dd-trace-js) and `rpc.grpc.status_code`
//!   (OpenTelemetry's convention), read from the `grpc-status` trailer, or from the headers of
//!   a trailers-only answer; a call the client gave up on is `CANCELLED` (1) on the server;
//! - an error when the status is in `DD_GRPC_SERVER_ERROR_STATUSES` (default `2-16`) on a
//!   server span or `DD_GRPC_CLIENT_ERROR_STATUSES` (default `1-16`) on a client span, as
//!   dd-trace-js and dd-trace-java decide (dd-trace-go's default is the same: all but `OK` and
//!   `CANCELLED` on both sides), with `error.message` the status message (`grpc-message`,
//!   percent-decoded) and `error.type` the code's name (`NOT_FOUND`; dd-trace-py writes
//!   `StatusCode.NOT_FOUND`).
//!
//! Not tagged: `grpc.method.kind` (unary or streaming). A tower layer sees HTTP/2 requests and
//! responses only, and nothing in them says which kind of method the call is.

mod body;
mod method;
pub(crate) mod span;

pub use body::{complete_grpc_client_response, complete_grpc_response, GrpcBody};
pub(crate) use method::MethodTags;

use percent_encoding::percent_decode_str;

/// The default `DD_GRPC_SERVER_ERROR_STATUSES`: every code but `OK` and `CANCELLED`.
pub(crate) const DEFAULT_SERVER_ERROR_STATUSES: &str = "2-16";
/// The default `DD_GRPC_CLIENT_ERROR_STATUSES`: every code but `OK`.
pub(crate) const DEFAULT_CLIENT_ERROR_STATUSES: &str = "1-16";

/// The status code of a call the client gave up on.
pub const CANCELLED: u16 = 1;

/// The name gRPC's specification gives a status code (`NOT_FOUND`), or `None` for a code it
/// does not define.
///
/// ```
/// assert_eq!(ddtrace_core::grpc::code_name(5), Some("NOT_FOUND"));
/// assert_eq!(ddtrace_core::grpc::code_name(17), None);
/// ```
pub fn code_name(code: u16) -> Option<&'static str> {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(usize::from(code)).copied()
}

/// Where a gRPC channel connects, read once from a target as gRPC clients write it
/// (`inventory:50051`, `[::1]:50051`, or a URI, `http://inventory:50051`): the host and port
/// every client span of the channel carries (`out.host`, `network.destination.port`).
///
/// ```
/// use ddtrace_core::grpc::GrpcTarget;
///
/// let target = GrpcTarget::parse("http://inventory:50051").unwrap();
/// assert_eq!((target.host(), target.port()), ("inventory", Some("50051")));
/// assert!(GrpcTarget::parse("not a target").is_none());
/// ```
#[derive(Clone, Debug)]
pub struct GrpcTarget {
    // Span text, shared by reference count with every span that carries it.
    pub(crate) host: libdd_tinybytes::BytesString,
    pub(crate) port: Option<libdd_tinybytes::BytesString>,
}

impl GrpcTarget {
    /// Reads `target`; `None` when it names no host.
    pub fn parse(target: &str) -> Option<GrpcTarget> {
        let uri: http::Uri = target.trim().parse().ok()?;
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return None;
        }
        Some(GrpcTarget {
            host: libdd_tinybytes::BytesString::from_string(host.to_string()),
            port: uri
                .port_u16()
                .map(|p| libdd_tinybytes::BytesString::from_string(p.to_string())),
        })
    }

    /// The host, without brackets for an IPv6 address.
    pub fn host(&self) -> &str {
        self.host.as_str()
    }

    /// The port, when the target names one.
    pub fn port(&self) -> Option<&str> {
        self.port.as_ref().map(|p| p.as_str())
    }
}

/// A call's outcome as its `grpc-status` and `grpc-message` give it.
///
/// ```
/// use ddtrace_core::grpc::GrpcStatus;
///
/// let mut trailers = http::HeaderMap::new();
/// trailers.insert("grpc-status", "5".parse().unwrap());
/// trailers.insert("grpc-message", "no%20such%20user".parse().unwrap());
/// let status = GrpcStatus::from_headers(&trailers).unwrap();
/// assert_eq!((status.code, status.message.as_deref()), (5, Some("no such user")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcStatus {
    /// The status code (`0` is `OK`).
    pub code: u16,
    /// The status message, percent-decoded, when there is one.
    pub message: Option<String>,
}

impl GrpcStatus {
    /// Reads `grpc-status` and `grpc-message` from trailers (or from the headers of a
    /// trailers-only answer); `None` when there is no `grpc-status`. A status that is not a
    /// number is `UNKNOWN` (2), as gRPC's clients read it.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<GrpcStatus> {
        let code = headers.get("grpc-status")?;
        let code = std::str::from_utf8(code.as_bytes())
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .unwrap_or(2);
        let message = headers
            .get("grpc-message")
            .map(|m| {
                let mut message = String::from_utf8_lossy(m.as_bytes()).into_owned();
                if message.contains('%') {
                    message = percent_decode_str(&message)
                        .decode_utf8_lossy()
                        .into_owned();
                }
                crate::header_tags::truncate(&mut message, crate::error::MAX_MESSAGE_LEN);
                message
            })
            .filter(|m| !m.is_empty());
        Some(GrpcStatus { code, message })
    }

    /// The status a gRPC client gives a call whose answer is not gRPC (an HTTP status other
    /// than 200 and no `grpc-status`, from a proxy or a load balancer), by gRPC's mapping
    /// (`doc/http-grpc-status-mapping.md`): 400 `INTERNAL`, 401 `UNAUTHENTICATED`, 403
    /// `PERMISSION_DENIED`, 404 `UNIMPLEMENTED`, 429, 502, 503 and 504 `UNAVAILABLE`, any other
    /// `UNKNOWN`.
    ///
    /// ```
    /// let status = ddtrace_core::grpc::GrpcStatus::from_http(503);
    /// assert_eq!((status.code, status.message.as_deref()), (14, Some("HTTP status 503")));
    /// ```
    pub fn from_http(status: u16) -> GrpcStatus {
        let code = match status {
            400 => 13,
            401 => 16,
            403 => 7,
            404 => 12,
            429 | 502 | 503 | 504 => 14,
            _ => 2,
        };
        GrpcStatus {
            code,
            message: Some(format!("HTTP status {status}")),
        }
    }

    /// The status with no message.
    pub fn code(code: u16) -> GrpcStatus {
        GrpcStatus {
            code,
            message: None,
        }
    }

    /// The error this status makes on a span: type the code's name, message the status
    /// message (or the name when there is none).
    pub(crate) fn error(&self) -> crate::ErrorInfo {
        let name = code_name(self.code);
        let message = match (&self.message, name) {
            (Some(message), _) => message.clone(),
            (None, Some(name)) => name.to_string(),
            (None, None) => format!("gRPC status {}", self.code),
        };
        match name {
            Some(name) => crate::ErrorInfo::new(name, message),
            None => crate::ErrorInfo::new("grpc", message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn status_is_read_as_grpc_clients_read_it() {
        assert_eq!(GrpcStatus::from_headers(&headers(&[])), None);
        assert_eq!(
            GrpcStatus::from_headers(&headers(&[("grpc-status", "0")])),
            Some(GrpcStatus::code(0))
        );
        // Not a number: UNKNOWN.
        assert_eq!(
            GrpcStatus::from_headers(&headers(&[("grpc-status", "abc")])).map(|s| s.code),
            Some(2)
        );
        let status = GrpcStatus::from_headers(&headers(&[
            ("grpc-status", "13"),
            ("grpc-message", "caf%C3%A9%20%FF"),
        ]))
        .unwrap();
        assert_eq!(status.message.as_deref(), Some("café \u{fffd}"));
        let long = "x".repeat(10_000);
        let status =
            GrpcStatus::from_headers(&headers(&[("grpc-status", "2"), ("grpc-message", &long)]))
                .unwrap();
        assert!(status.message.unwrap().len() <= crate::error::MAX_MESSAGE_LEN);
    }

    #[test]
    fn targets_are_read_as_grpc_clients_write_them() {
        let read = |t: &str| {
            GrpcTarget::parse(t).map(|t| (t.host().to_string(), t.port().map(str::to_string)))
        };
        let s = |x: &str| x.to_string();
        assert_eq!(
            read("inventory:50051"),
            Some((s("inventory"), Some(s("50051"))))
        );
        assert_eq!(
            read("http://inventory:50051"),
            Some((s("inventory"), Some(s("50051"))))
        );
        assert_eq!(read("https://inventory"), Some((s("inventory"), None)));
        assert_eq!(read("[::1]:50051"), Some((s("::1"), Some(s("50051")))));
        assert_eq!(read("not a target"), None);
        assert_eq!(read(""), None);
    }

    #[test]
    fn answers_that_are_not_grpc_map_as_grpc_clients_map_them() {
        let code = |http| GrpcStatus::from_http(http).code;
        assert_eq!(
            [code(400), code(401), code(403), code(404)],
            [13, 16, 7, 12]
        );
        assert_eq!([code(429), code(502), code(503), code(504)], [14; 4]);
        assert_eq!([code(500), code(302), code(0)], [2; 3]);
    }

    #[test]
    fn errors_carry_the_code_name_and_the_message() {
        let error = GrpcStatus {
            code: 5,
            message: Some("no such user".into()),
        }
        .error();
        assert_eq!(
            (&*error.error_type, &*error.message),
            ("NOT_FOUND", "no such user")
        );
        let error = GrpcStatus::code(14).error();
        assert_eq!(
            (&*error.error_type, &*error.message),
            ("UNAVAILABLE", "UNAVAILABLE")
        );
        let error = GrpcStatus::code(99).error();
        assert_eq!(&*error.message, "gRPC status 99");
    }
}
