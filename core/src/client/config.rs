//! How client spans are tagged: read from `DD_*` or set in code.

use crate::config::{lookup_flag, ranges_from};
use crate::obfuscation::QueryObfuscation;
use crate::status::StatusRanges;
use std::sync::{Arc, OnceLock};

/// How client spans are tagged. [`crate::ClientSpan::start`] reads it from the environment
/// once; client integrations take one in code.
///
/// - `DD_TRACE_HTTP_CLIENT_ERROR_STATUSES` (default `400-499`): answers that make the span an
///   error;
/// - `DD_TRACE_HTTP_CLIENT_TAG_QUERY_STRING` (default `true`): the query in `http.url`,
///   obfuscated with `DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP` as on server spans;
/// - `DD_TRACE_HTTP_CLIENT_SPLIT_BY_DOMAIN` (default `false`): the span's service is the host
///   (with its port) it calls;
/// - `DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED=true` (or `DD_TRACE_SPAN_ATTRIBUTE_SCHEMA=v1`):
///   `peer.service` is the host called, with `_dd.peer.service.source` `out.host`, renamed by
///   `DD_TRACE_PEER_SERVICE_MAPPING` (`host:name,…`, the original then in
///   `_dd.peer.service.remapped_from`), as dd-trace-py's `PeerServiceConfig` does;
/// - `DD_GRPC_CLIENT_ERROR_STATUSES` (default `1-16`): gRPC status codes that make a gRPC
///   client span an error.
///
/// ```
/// use ddtrace_core::ClientConfig;
///
/// let config = ClientConfig::from_env()
///     .error_statuses("400-403,405-499")
///     .unwrap()
///     .split_by_domain(true);
/// assert!(config.is_error(403) && !config.is_error(404) && !config.is_error(503));
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    // Shared with each span, which decides from its status when it ends: a reference count
    // per outgoing call, not a copy of the ranges.
    pub(crate) error_statuses: Arc<StatusRanges>,
    pub(crate) grpc_error_statuses: Arc<StatusRanges>,
    pub(crate) query: QueryObfuscation,
    pub(crate) split_by_domain: bool,
    pub(crate) peer_service: bool,
    pub(crate) peer_service_mapping: Vec<(String, String)>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            error_statuses: Arc::new(StatusRanges::parse_lenient("400-499").0),
            grpc_error_statuses: Arc::new(
                StatusRanges::parse_lenient(crate::grpc::DEFAULT_CLIENT_ERROR_STATUSES).0,
            ),
            query: QueryObfuscation::default(),
            split_by_domain: false,
            peer_service: false,
            peer_service_mapping: Vec::new(),
        }
    }
}

impl ClientConfig {
    /// The configuration `DD_*` variables give; a malformed value is reported once and its
    /// default used.
    pub fn from_env() -> ClientConfig {
        ClientConfig::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ClientConfig {
        let mut config = ClientConfig::default();
        if let Some(ranges) = ranges_from(&lookup, "DD_TRACE_HTTP_CLIENT_ERROR_STATUSES") {
            config.error_statuses = Arc::new(ranges);
        }
        if let Some(ranges) = ranges_from(&lookup, "DD_GRPC_CLIENT_ERROR_STATUSES") {
            config.grpc_error_statuses = Arc::new(ranges);
        }
        // The server's obfuscation applies to client URLs as well (dd-trace-py's
        // `_set_url_tag`), and so does its rule that a pattern that does not compile stops
        // query tagging.
        if let Some(v) = lookup("DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP") {
            config.query = QueryObfuscation::from_pattern(&v).unwrap_or(QueryObfuscation::Drop);
        }
        let flag = |name: &str, default: bool| lookup_flag(&lookup, name, default);
        if !flag("DD_TRACE_HTTP_CLIENT_TAG_QUERY_STRING", true) {
            config.query = QueryObfuscation::Drop;
        }
        config.split_by_domain = flag("DD_TRACE_HTTP_CLIENT_SPLIT_BY_DOMAIN", false);
        let schema_v1 = lookup("DD_TRACE_SPAN_ATTRIBUTE_SCHEMA")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("v1"));
        config.peer_service = schema_v1 || flag("DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED", false);
        if let Some(v) = lookup("DD_TRACE_PEER_SERVICE_MAPPING") {
            config.peer_service_mapping = crate::tags::parse_dd_tags(&v);
        }
        config
    }

    /// The statuses that make a client span an error, as `DD_TRACE_HTTP_CLIENT_ERROR_STATUSES`
    /// writes them (`400-499`, `500,502-504`).
    pub fn error_statuses(mut self, ranges: &str) -> Result<Self, crate::StatusRangesError> {
        self.error_statuses = Arc::new(ranges.parse()?);
        Ok(self)
    }

    /// The gRPC status codes that make a gRPC client span an error, as
    /// `DD_GRPC_CLIENT_ERROR_STATUSES` writes them (default `1-16`).
    ///
    /// ```
    /// let config = ddtrace_core::ClientConfig::from_env().grpc_error_statuses("2-16").unwrap();
    /// assert!(config.is_grpc_error(5) && !config.is_grpc_error(1));
    /// ```
    pub fn grpc_error_statuses(mut self, ranges: &str) -> Result<Self, crate::StatusRangesError> {
        self.grpc_error_statuses = Arc::new(ranges.parse()?);
        Ok(self)
    }

    /// Whether a gRPC status `code` makes a gRPC client span an error.
    pub fn is_grpc_error(&self, code: u16) -> bool {
        self.grpc_error_statuses.contains(code)
    }

    /// Names the span's service after the host it calls.
    pub fn split_by_domain(mut self, split: bool) -> Self {
        self.split_by_domain = split;
        self
    }

    /// Tags `peer.service` with the host called (`DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED`).
    pub fn peer_service(mut self, enabled: bool) -> Self {
        self.peer_service = enabled;
        self
    }

    /// The `peer.service` of a host: `(peer.service, renamed from)`, when peer services are on.
    pub(crate) fn peer_service_of(&self, host: &str) -> Option<(String, Option<String>)> {
        if !self.peer_service {
            return None;
        }
        Some(
            match self
                .peer_service_mapping
                .iter()
                .find(|(from, _)| from == host)
            {
                Some((_, to)) => (to.clone(), Some(host.to_string())),
                None => (host.to_string(), None),
            },
        )
    }

    /// Keeps (obfuscated) or drops the query in `http.url`.
    pub fn tag_query_string(mut self, tag: bool) -> Self {
        if !tag {
            self.query = QueryObfuscation::Drop;
        } else if matches!(self.query, QueryObfuscation::Drop) {
            self.query = QueryObfuscation::default();
        }
        self
    }

    /// Whether an answer with `status` makes the span an error.
    pub fn is_error(&self, status: u16) -> bool {
        self.error_statuses.contains(status)
    }

    /// The configuration [`crate::ClientSpan::start`] uses, read from the environment once.
    pub(crate) fn global() -> &'static ClientConfig {
        static GLOBAL: OnceLock<ClientConfig> = OnceLock::new();
        GLOBAL.get_or_init(ClientConfig::from_env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> ClientConfig {
        ClientConfig::from_lookup(crate::config::lookup_in(pairs))
    }

    #[test]
    fn defaults_and_variables() {
        let default = from(&[]);
        assert!(default.is_error(404) && !default.is_error(500) && !default.split_by_domain);
        assert!(matches!(default.query, QueryObfuscation::Redact { .. }));
        let set = from(&[
            ("DD_TRACE_HTTP_CLIENT_ERROR_STATUSES", "500-599"),
            ("DD_TRACE_HTTP_CLIENT_TAG_QUERY_STRING", "false"),
            ("DD_TRACE_HTTP_CLIENT_SPLIT_BY_DOMAIN", "true"),
        ]);
        assert!(set.is_error(503) && !set.is_error(404) && set.split_by_domain);
        assert!(default.is_grpc_error(1) && default.is_grpc_error(16) && !default.is_grpc_error(0));
        let grpc = from(&[("DD_GRPC_CLIENT_ERROR_STATUSES", "2-4,x")]);
        assert!(grpc.is_grpc_error(3) && !grpc.is_grpc_error(1));
        assert!(matches!(set.query, QueryObfuscation::Drop));
        let malformed = from(&[
            ("DD_TRACE_HTTP_CLIENT_SPLIT_BY_DOMAIN", "sometimes"),
            ("DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP", "("),
        ]);
        assert!(!malformed.split_by_domain && !malformed.peer_service);
        let peers = from(&[
            ("DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED", "true"),
            ("DD_TRACE_PEER_SERVICE_MAPPING", "inventory:stock-api"),
        ]);
        assert_eq!(
            peers.peer_service_of("inventory"),
            Some(("stock-api".to_string(), Some("inventory".to_string())))
        );
        assert_eq!(
            peers.peer_service_of("users"),
            Some(("users".to_string(), None))
        );
        assert_eq!(from(&[]).peer_service_of("users"), None);
        assert!(from(&[("DD_TRACE_SPAN_ATTRIBUTE_SCHEMA", "v1")]).peer_service);
        assert!(matches!(malformed.query, QueryObfuscation::Drop));
    }
}
