//! Integration configuration: read from the `DD_*` environment, overridable in code.

use crate::header_tags::HeaderTags;
use crate::obfuscation::QueryObfuscation;
use crate::status::StatusRanges;
use crate::tags::{parse_asgi_tags, TagsError};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Everything an integration needs to decide what goes on a request span.
///
/// `Config::from_env()` reads the environment; `Config::builder()` starts from the
/// environment and lets code override each setting. Service, env, version, `DD_TAGS`, sampling
/// and propagation styles belong to the Datadog pipeline (see [`crate::init`]).
///
/// ```
/// use ddtrace_core::Config;
///
/// let config = Config::builder()
///     .service("shop-api")
///     .tags("env:staging, app:shop")
///     .server_error_statuses("500-599,429")
///     .build()
///     .unwrap();
/// assert_eq!(config.service(), Some("shop-api"));
/// assert!(config.server_error_statuses().contains(429));
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) service: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) distributed_tracing: bool,
    pub(crate) header_tags: HeaderTags,
    pub(crate) server_error_statuses: StatusRanges,
    /// gRPC status codes that make a gRPC server span an error.
    pub(crate) grpc_server_error_statuses: StatusRanges,
    pub(crate) query: QueryObfuscation,
    pub(crate) client_ip_enabled: bool,
    pub(crate) client_ip_header: Option<http::HeaderName>,
    /// The hooks set in code (`ConfigBuilder::ignore`, `resource_name`, …).
    pub(crate) hooks: crate::request_head::Hooks,
    /// `false` from `ConfigBuilder::enabled(false)`: every request passes through untraced.
    pub(crate) enabled: bool,
}

impl Default for Config {
    /// The documented defaults, ignoring the environment.
    fn default() -> Self {
        Config {
            service: None,
            tags: Vec::new(),
            distributed_tracing: true,
            header_tags: HeaderTags::default(),
            server_error_statuses: StatusRanges::default(),
            grpc_server_error_statuses: StatusRanges::parse_lenient(
                crate::grpc::DEFAULT_SERVER_ERROR_STATUSES,
            )
            .0,
            query: QueryObfuscation::default(),
            client_ip_enabled: false,
            client_ip_header: None,
            hooks: crate::request_head::Hooks::default(),
            enabled: true,
        }
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// A malformed value is logged once (target `ddtrace`) and its default is used instead.
    pub fn from_env() -> Config {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (a variable name to its value) instead of the
    /// process environment; an empty value is a value, distinct from an unset variable.
    ///
    /// ```
    /// use ddtrace_core::Config;
    ///
    /// let config = Config::from_lookup(|name| match name {
    ///     "DD_TRACE_CLIENT_IP_ENABLED" => Some("true".to_string()),
    ///     _ => None,
    /// });
    /// assert!(config.client_ip_enabled());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Config {
        let mut config = Config::default();
        if let Some(v) = lookup("DD_TRACE_HEADER_TAGS") {
            let (tags, rejected) = HeaderTags::parse_lenient(&v);
            for item in rejected {
                warn_env(
                    "DD_TRACE_HEADER_TAGS",
                    &v,
                    &format!("{item:?} is not a valid header name; it is ignored"),
                );
            }
            config.header_tags = tags;
        }
        if let Some(ranges) = ranges_from(&lookup, "DD_TRACE_HTTP_SERVER_ERROR_STATUSES") {
            config.server_error_statuses = ranges;
        }
        if let Some(ranges) = ranges_from(&lookup, "DD_GRPC_SERVER_ERROR_STATUSES") {
            config.grpc_server_error_statuses = ranges;
        }
        if let Some(v) = lookup("DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP") {
            config.query = match QueryObfuscation::from_pattern(&v) {
                Ok(q) => q,
                Err(e) => {
                    // dd-trace-py: a pattern that does not compile stops query tagging, so a
                    // typo never leaks what the user meant to redact.
                    warn_env(
                        "DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP",
                        &v,
                        &format!("the regex does not compile ({e}); query strings are not tagged"),
                    );
                    QueryObfuscation::Drop
                }
            };
        }
        if let Some(v) = lookup("DD_HTTP_SERVER_TAG_QUERY_STRING") {
            match parse_bool(&v) {
                Some(false) => config.query = QueryObfuscation::Drop,
                Some(true) => {}
                None => warn_env(
                    "DD_HTTP_SERVER_TAG_QUERY_STRING",
                    &v,
                    "expected true or false; using true",
                ),
            }
        }
        if let Some(v) = lookup("DD_TRACE_CLIENT_IP_ENABLED") {
            match parse_bool(&v) {
                Some(b) => config.client_ip_enabled = b,
                None => warn_env(
                    "DD_TRACE_CLIENT_IP_ENABLED",
                    &v,
                    "expected true or false; using false",
                ),
            }
        }
        if let Some(v) = lookup("DD_TRACE_CLIENT_IP_HEADER") {
            let v = v.trim();
            if !v.is_empty() {
                match http::HeaderName::from_bytes(v.as_bytes()) {
                    Ok(name) => config.client_ip_header = Some(name),
                    Err(_) => warn_env(
                        "DD_TRACE_CLIENT_IP_HEADER",
                        v,
                        "not a valid header name; the default headers are used",
                    ),
                }
            }
        }
        config
    }

    /// Starts a builder from the environment ([`Config::from_env`]).
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            base: Config::from_env(),
            tags: None,
            error: None,
            finish: identity,
        }
    }

    /// The service name this integration's spans use, when set in code.
    pub fn service(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// Extra tags put on every request span.
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// Whether the parent context is extracted from request headers.
    pub fn distributed_tracing(&self) -> bool {
        self.distributed_tracing
    }

    /// The statuses that mark a request span as an error.
    pub fn server_error_statuses(&self) -> &StatusRanges {
        &self.server_error_statuses
    }

    /// The gRPC status codes that mark a gRPC server span as an error (default `2-16`).
    pub fn grpc_server_error_statuses(&self) -> &StatusRanges {
        &self.grpc_server_error_statuses
    }

    /// Whether `http.client_ip` and `network.client.ip` are collected.
    pub fn client_ip_enabled(&self) -> bool {
        self.client_ip_enabled
    }

    /// The headers copied to span tags.
    pub fn header_tags(&self) -> &HeaderTags {
        &self.header_tags
    }

    /// How the query string of `http.url` is treated.
    pub fn query_obfuscation(&self) -> &QueryObfuscation {
        &self.query
    }
}

/// Status ranges from variable `name`, when it is set: items that are not codes or ranges are
/// reported once and skipped, the others apply.
pub(crate) fn ranges_from(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Option<StatusRanges> {
    let v = lookup(name)?;
    let (ranges, rejected) = StatusRanges::parse_lenient(&v);
    for item in rejected {
        warn_env(
            name,
            &v,
            &format!("{item:?} is not a status code or range; it is ignored"),
        );
    }
    Some(ranges)
}

pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// Variable `name`, read through `lookup`, as a boolean: `default` when it is unset or empty,
/// and when it is not a boolean (reported once).
pub(crate) fn lookup_flag(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
) -> bool {
    match lookup(name) {
        Some(v) if !v.trim().is_empty() => parse_bool(&v).unwrap_or_else(|| {
            warn_env(
                name,
                &v,
                &format!("expected true or false; using {default}"),
            );
            default
        }),
        _ => default,
    }
}

pub(crate) fn warn_env(name: &str, value: &str, what: &str) {
    // Bounded so a hostile or accidental megabyte-long value cannot flood the log.
    let shown: String = value.chars().take(200).collect();
    tracing::warn!(target: "ddtrace", "{name}={shown:?}: {what}");
}

/// Tags given in code: a ddtrace-asgi style string (`"env:staging, app:shop"`) or pairs.
///
/// ```
/// use ddtrace_core::Tags;
/// use std::collections::HashMap;
///
/// let from_str: Tags = "env:staging, app:shop".into();
/// let from_map: Tags = HashMap::from([("env", "staging")]).into();
/// let from_pairs: Tags = [("env", "staging")].into();
/// # let _ = (from_str, from_map, from_pairs);
/// ```
#[derive(Clone, Debug)]
pub enum Tags {
    /// Parsed with the ddtrace-asgi grammar when the configuration is built.
    Text(String),
    /// Used as given.
    Pairs(Vec<(String, String)>),
}

impl From<&str> for Tags {
    fn from(s: &str) -> Self {
        Tags::Text(s.to_string())
    }
}

impl From<String> for Tags {
    fn from(s: String) -> Self {
        Tags::Text(s)
    }
}

impl<K: Into<String>, V: Into<String>> From<HashMap<K, V>> for Tags {
    fn from(m: HashMap<K, V>) -> Self {
        let mut pairs: Vec<(String, String)> =
            m.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        pairs.sort();
        Tags::Pairs(pairs)
    }
}

impl<K: Into<String>, V: Into<String>> From<BTreeMap<K, V>> for Tags {
    fn from(m: BTreeMap<K, V>) -> Self {
        Tags::Pairs(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<K: Into<String>, V: Into<String>> From<Vec<(K, V)>> for Tags {
    fn from(v: Vec<(K, V)>) -> Self {
        Tags::Pairs(v.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for Tags {
    fn from(v: [(K, V); N]) -> Self {
        Tags::Pairs(v.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// Why a configuration given in code was rejected.
#[derive(Debug, Clone)]
pub enum ConfigError {
    /// The tags string is malformed.
    Tags(TagsError),
    /// The server error statuses string has an invalid item.
    ServerErrorStatuses(crate::status::StatusRangesError),
    /// The gRPC server error statuses string has an invalid item.
    GrpcServerErrorStatuses(crate::status::StatusRangesError),
    /// The query obfuscation regex does not compile.
    QueryObfuscationRegex(String),
    /// A header name (header tags or client IP header) is not a valid HTTP header name.
    HeaderName(String),
    /// The service name is empty.
    EmptyService,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Tags(e) => write!(f, "tags: {e}"),
            ConfigError::ServerErrorStatuses(e) => write!(f, "server_error_statuses: {e}"),
            ConfigError::GrpcServerErrorStatuses(e) => {
                write!(f, "grpc_server_error_statuses: {e}")
            }
            ConfigError::QueryObfuscationRegex(e) => {
                write!(
                    f,
                    "query_obfuscation_regex: the regex does not compile: {e}"
                )
            }
            ConfigError::HeaderName(h) => write!(f, "{h:?} is not a valid HTTP header name"),
            ConfigError::EmptyService => write!(f, "service: the service name must not be empty"),
        }
    }
}

impl std::error::Error for ConfigError {}

fn identity(config: Config) -> Config {
    config
}

/// Builds a [`Config`] in code (see [`Config::builder`]), or, after [`ConfigBuilder::map`],
/// whatever an integration makes from it: every integration's `builder()` is this type, so
/// they all take the same options.
///
/// Setters never fail; [`ConfigBuilder::build`] reports the first invalid value.
///
/// ```
/// use ddtrace_core::{Config, ConfigBuilder, Integration, RequestTracer};
///
/// // An integration's `builder()` in one line:
/// fn builder() -> ConfigBuilder<RequestTracer> {
///     Config::builder().map(|c| RequestTracer::new(Integration::new("foo", "foo.request"), c))
/// }
/// let tracer = builder().service("shop-api").build().unwrap();
/// assert_eq!(tracer.config().service(), Some("shop-api"));
/// ```
#[must_use = "call .build() to finish"]
pub struct ConfigBuilder<T = Config> {
    base: Config,
    tags: Option<Tags>,
    error: Option<ConfigError>,
    finish: fn(Config) -> T,
}

impl<T> fmt::Debug for ConfigBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("base", &self.base)
            .field("tags", &self.tags)
            .field("error", &self.error)
            .finish()
    }
}

impl ConfigBuilder<Config> {
    /// Starts from the documented defaults instead of the environment.
    ///
    /// ```
    /// let config = ddtrace_core::ConfigBuilder::defaults().build().unwrap();
    /// assert!(config.distributed_tracing());
    /// ```
    pub fn defaults() -> ConfigBuilder {
        ConfigBuilder {
            base: Config::default(),
            tags: None,
            error: None,
            finish: identity,
        }
    }

    /// Makes `build()` return `finish(config)`: how an integration turns this builder into
    /// the builder of its layer or middleware.
    pub fn map<U>(self, finish: fn(Config) -> U) -> ConfigBuilder<U> {
        ConfigBuilder {
            base: self.base,
            tags: self.tags,
            error: self.error,
            finish,
        }
    }
}

impl<T> ConfigBuilder<T> {
    fn fail(&mut self, e: ConfigError) {
        self.error.get_or_insert(e);
    }

    /// The service name of this integration's spans (default: the pipeline's `DD_SERVICE`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        let service = service.into();
        if service.trim().is_empty() {
            self.fail(ConfigError::EmptyService);
        } else {
            self.base.service = Some(service);
        }
        self
    }

    /// Tags put on every request span: a string such as `"env:staging, app:shop"` or pairs.
    pub fn tags(mut self, tags: impl Into<Tags>) -> Self {
        self.tags = Some(tags.into());
        self
    }

    /// Whether to continue traces from incoming headers (default true).
    pub fn distributed_tracing(mut self, enabled: bool) -> Self {
        self.base.distributed_tracing = enabled;
        self
    }

    /// Headers to tag, in the `DD_TRACE_HEADER_TAGS` grammar (`"x-request-id:request_id,accept"`).
    pub fn header_tags(mut self, spec: &str) -> Self {
        let (tags, rejected) = HeaderTags::parse_lenient(spec);
        match rejected.into_iter().next() {
            Some(bad) => self.fail(ConfigError::HeaderName(bad)),
            None => self.base.header_tags = tags,
        }
        self
    }

    /// Statuses that mark the span as an error, e.g. `"500-599,429"` (default `500-599`).
    pub fn server_error_statuses(mut self, spec: &str) -> Self {
        match spec.parse() {
            Ok(r) => self.base.server_error_statuses = r,
            Err(e) => self.fail(ConfigError::ServerErrorStatuses(e)),
        }
        self
    }

    /// gRPC status codes that make a gRPC server span an error, e.g. `"2-16"` (the default:
    /// every code but `OK` and `CANCELLED`), as `DD_GRPC_SERVER_ERROR_STATUSES`.
    ///
    /// ```
    /// let config = ddtrace_core::Config::builder()
    ///     .grpc_server_error_statuses("2-4,6-16")
    ///     .build()
    ///     .unwrap();
    /// assert!(!config.grpc_server_error_statuses().contains(5));
    /// ```
    pub fn grpc_server_error_statuses(mut self, spec: &str) -> Self {
        match spec.parse() {
            Ok(r) => self.base.grpc_server_error_statuses = r,
            Err(e) => self.fail(ConfigError::GrpcServerErrorStatuses(e)),
        }
        self
    }

    /// The query obfuscation regex; `""` tags the query verbatim.
    pub fn query_obfuscation_regex(mut self, pattern: &str) -> Self {
        match QueryObfuscation::from_pattern(pattern) {
            Ok(q) => self.base.query = q,
            Err(e) => self.fail(ConfigError::QueryObfuscationRegex(e.to_string())),
        }
        self
    }

    /// Whether the query string is tagged at all (default true).
    pub fn tag_query_string(mut self, enabled: bool) -> Self {
        if !enabled {
            self.base.query = QueryObfuscation::Drop;
        }
        self
    }

    /// Whether to collect `http.client_ip` and `network.client.ip` (default false).
    pub fn client_ip(mut self, enabled: bool) -> Self {
        self.base.client_ip_enabled = enabled;
        self
    }

    /// The only header the client IP is read from (default: the standard list).
    pub fn client_ip_header(mut self, header: &str) -> Self {
        match http::HeaderName::from_bytes(header.trim().as_bytes()) {
            Ok(h) => self.base.client_ip_header = Some(h),
            Err(_) => self.fail(ConfigError::HeaderName(header.to_string())),
        }
        self
    }

    /// Requests for which `ignore` returns true get no span at all: nothing is sampled or
    /// sent, and their trace context is not continued (health checks, metrics scrapes).
    /// Called once per request, before anything else.
    ///
    /// ```
    /// let config = ddtrace_core::Config::builder()
    ///     .ignore(|req| req.path() == "/healthz" || req.path() == "/metrics")
    ///     .build()
    ///     .unwrap();
    /// # let _ = config;
    /// ```
    pub fn ignore(
        mut self,
        ignore: impl Fn(&crate::RequestHead<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.base.hooks.ignore = Some(std::sync::Arc::new(ignore));
        self
    }

    /// Names the span's resource in place of `<METHOD> <route>`: `Some(name)` wins, `None`
    /// keeps Datadog's (as dd-trace-go's `WithResourceNamer`).
    ///
    /// Called once per request, when the route is known (for rocket, poem and the template,
    /// that is when the response is ready), with the request as it arrived (method, path,
    /// query, and its headers up to 16 KiB) and the matched route template, `None` when no
    /// route matched. Setting it costs one copy of the request's path and headers per request.
    ///
    /// ```
    /// let config = ddtrace_core::Config::builder()
    ///     .resource_name(|req, route| match route {
    ///         // One resource for every GraphQL operation, named by the client's header.
    ///         Some("/graphql") => req.header("x-operation").map(|op| format!("graphql {op}")),
    ///         // Versioned routes share a resource: `GET /v2/users/{id}` as `GET /users/{id}`.
    ///         Some(route) => route
    ///             .strip_prefix("/v2")
    ///             .map(|rest| format!("{} {rest}", req.method())),
    ///         None => None,
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = config;
    /// ```
    pub fn resource_name(
        mut self,
        name: impl Fn(&crate::RequestHead<'_>, Option<&str>) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.base.hooks.resource_name = Some(std::sync::Arc::new(name));
        self
    }

    /// Adds tags (or changes the service, type or error) when the span starts, from the
    /// request.
    ///
    /// ```
    /// let config = ddtrace_core::Config::builder()
    ///     .on_request(|req, span| {
    ///         if let Some(user) = req.header("x-user-id") {
    ///             span.set_tag("usr.id", user);
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = config;
    /// ```
    pub fn on_request(
        mut self,
        hook: impl Fn(&crate::RequestHead<'_>, &mut crate::SpanTags<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.base.hooks.on_request = Some(std::sync::Arc::new(hook));
        self
    }

    /// Adds tags (or changes the service, type or error) when the span ends, from the response:
    /// its status and headers (up to 16 KiB of them; kept only when this hook is set). A
    /// handler that panicked has status 500 and no headers.
    ///
    /// ```
    /// let config = ddtrace_core::Config::builder()
    ///     .on_response(|resp, span| {
    ///         span.set_tag("status.class", format!("{}xx", resp.status() / 100));
    ///         if let Some(cache) = resp.header("x-cache") {
    ///             span.set_tag("cache.result", cache);
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = config;
    /// ```
    pub fn on_response(
        mut self,
        hook: impl Fn(&crate::ResponseHead<'_>, &mut crate::SpanTags<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.base.hooks.on_response = Some(std::sync::Arc::new(hook));
        self
    }

    /// Decides which statuses make the span an error, in code, in place of
    /// `server_error_statuses` / `DD_TRACE_HTTP_SERVER_ERROR_STATUSES`.
    ///
    /// ```
    /// let config = ddtrace_core::Config::builder()
    ///     .error_status(|status| status >= 500 || status == 404)
    ///     .build()
    ///     .unwrap();
    /// # let _ = config;
    /// ```
    pub fn error_status(mut self, is_error: impl Fn(u16) -> bool + Send + Sync + 'static) -> Self {
        self.base.hooks.error_status = Some(std::sync::Arc::new(is_error));
        self
    }

    /// `false` makes the integration a pass-through: no request is traced. The environment
    /// does the same with `DD_TRACE_<INTEGRATION>_ENABLED=false` (`DD_TRACE_AXUM_ENABLED`,
    /// `DD_TRACE_ACTIX_WEB_ENABLED`, …), which wins over this setting.
    ///
    /// ```
    /// // Traced only where the deployment says so.
    /// let traced = std::env::var("APP_TRACED").map_or(true, |v| v != "0");
    /// let config = ddtrace_core::Config::builder().enabled(traced).build().unwrap();
    /// # let _ = config;
    /// ```
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.base.enabled = enabled;
        self
    }

    /// Validates the settings and finishes (a [`Config`], or the integration's type).
    pub fn build(self) -> Result<T, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut config = self.base;
        match self.tags {
            Some(Tags::Text(s)) => config.tags = parse_asgi_tags(&s).map_err(ConfigError::Tags)?,
            Some(Tags::Pairs(p)) => config.tags = p,
            None => {}
        }
        Ok((self.finish)(config))
    }
}

/// An environment made of `pairs`, for the `from_lookup` constructors in tests.
#[cfg(test)]
pub(crate) fn lookup_in<'a>(
    pairs: &'a [(&'a str, &'a str)],
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// The options every integration's builder takes, as one doc paragraph with links.
///
/// Each integration's builder is a type alias of [`ConfigBuilder`]; rustdoc shows an alias's
/// methods only through JavaScript, so the alias includes this list
/// (`#[doc = ddtrace_core::builder_options_doc!()]`) and its page names every option as text.
#[doc(hidden)]
#[macro_export]
macro_rules! builder_options_doc {
    () => {
        "\n\nIts options, each overriding its `DD_*` variable (methods of \
[`ConfigBuilder`](ddtrace_core::ConfigBuilder)):\n\n\
| option | what |\n|---|---|\n\
| [`service`](ddtrace_core::ConfigBuilder::service) | the spans' service (`DD_SERVICE`) |\n\
| [`tags`](ddtrace_core::ConfigBuilder::tags) | tags on every span (`DD_TAGS`) |\n\
| [`distributed_tracing`](ddtrace_core::ConfigBuilder::distributed_tracing) | continue traces from incoming headers |\n\
| [`header_tags`](ddtrace_core::ConfigBuilder::header_tags) | headers to tag (`DD_TRACE_HEADER_TAGS`) |\n\
| [`server_error_statuses`](ddtrace_core::ConfigBuilder::server_error_statuses) | statuses that are errors (`DD_TRACE_HTTP_SERVER_ERROR_STATUSES`) |\n\
| [`error_status`](ddtrace_core::ConfigBuilder::error_status) | the same, as code |\n\
| [`grpc_server_error_statuses`](ddtrace_core::ConfigBuilder::grpc_server_error_statuses) | gRPC codes that are errors (`DD_GRPC_SERVER_ERROR_STATUSES`) |\n\
| [`query_obfuscation_regex`](ddtrace_core::ConfigBuilder::query_obfuscation_regex), [`tag_query_string`](ddtrace_core::ConfigBuilder::tag_query_string) | the query in `http.url` |\n\
| [`client_ip`](ddtrace_core::ConfigBuilder::client_ip), [`client_ip_header`](ddtrace_core::ConfigBuilder::client_ip_header) | client IP collection |\n\
| [`ignore`](ddtrace_core::ConfigBuilder::ignore) | requests that get no span |\n\
| [`resource_name`](ddtrace_core::ConfigBuilder::resource_name) | your own resource names |\n\
| [`on_request`](ddtrace_core::ConfigBuilder::on_request), [`on_response`](ddtrace_core::ConfigBuilder::on_response) | tags from the request or the response |\n\
| [`enabled`](ddtrace_core::ConfigBuilder::enabled) | switch the integration off (`DD_TRACE_<INTEGRATION>_ENABLED`) |\n\
| [`build`](ddtrace_core::ConfigBuilder::build) | finish; the first invalid value is an `Err` |\n"
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Config {
        Config::from_lookup(lookup_in(pairs))
    }

    #[test]
    fn bad_environment_values_fall_back_to_defaults() {
        let config = from(&[
            ("DD_TRACE_CLIENT_IP_ENABLED", "maybe"),
            ("DD_TRACE_HTTP_SERVER_ERROR_STATUSES", "abc"),
            ("DD_TRACE_CLIENT_IP_HEADER", "bad header"),
            ("DD_HTTP_SERVER_TAG_QUERY_STRING", "perhaps"),
        ]);
        assert!(!config.client_ip_enabled());
        assert!(config.client_ip_header.is_none());
        // Every item invalid: nothing is an error status, as dd-trace-py does with no valid item.
        assert!(!config.server_error_statuses().contains(500));
        assert!(matches!(
            config.query_obfuscation(),
            QueryObfuscation::Redact { .. }
        ));
    }

    #[test]
    fn an_empty_value_is_a_value() {
        let config = from(&[("DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP", "")]);
        assert!(matches!(
            config.query_obfuscation(),
            QueryObfuscation::Verbatim
        ));
        assert!(matches!(
            Config::default().query_obfuscation(),
            QueryObfuscation::Redact { .. }
        ));
    }

    #[test]
    fn bad_values_in_code_are_errors_with_a_message() {
        let err = |b: ConfigBuilder| b.build().unwrap_err().to_string();
        let base = ConfigBuilder::defaults;
        assert!(err(base().server_error_statuses("500-599,abc")).contains("\"abc\""));
        let grpc = err(base().grpc_server_error_statuses("2-16,abc"));
        assert!(grpc.starts_with("grpc_server_error_statuses:") && grpc.contains("\"abc\""));
        assert!(err(base().query_obfuscation_regex("(unclosed")).contains("does not compile"));
        assert!(err(base().service("  ")).contains("must not be empty"));
        assert!(err(base().header_tags("x-ok,bad(header):x")).contains("bad(header)"));
        assert!(err(base().client_ip_header("bad header")).contains("bad header"));
        assert!(err(base().tags("env-testing")).contains("env-testing"));
    }

    #[test]
    fn tags_in_code_accept_strings_and_pairs() {
        let config = ConfigBuilder::defaults()
            .tags("env:staging, app:shop")
            .build()
            .unwrap();
        assert_eq!(
            config.tags(),
            &[
                ("env".to_string(), "staging".to_string()),
                ("app".to_string(), "shop".to_string())
            ]
        );
        let config = ConfigBuilder::defaults()
            .tags(BTreeMap::from([("a", "1")]))
            .build()
            .unwrap();
        assert_eq!(config.tags(), &[("a".to_string(), "1".to_string())]);
    }
}
