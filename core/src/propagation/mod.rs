//! Trace-context propagation: the core's own engine for Datadog, W3C Trace Context, B3 and
//! W3C Baggage headers.
//!
//! The engine reads a request's headers once ([`Propagator::extract`]), merges what every
//! configured style found as Datadog's tracers do, and gives an [`Extracted`] context. A
//! [`TraceContext`] holds one local trace's propagation state (trace id, sampling decision,
//! origin, `_dd.p.*` tags, other vendors' `tracestate`, baggage) from which any span of the
//! trace injects headers into an outgoing request ([`TraceContext::inject`]) and the local
//! root span gets its tags ([`TraceContext::root_tags`]).
//!
//! ```
//! use ddtrace_core::propagation::{PropagationConfig, Propagator, TraceContext};
//!
//! let propagator = Propagator::new(PropagationConfig::default());
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap());
//! incoming.insert("tracestate", "dd=s:2;t.dm:-4,rojo=00f067aa0ba902b7".parse().unwrap());
//!
//! let mut trace = TraceContext::start(propagator.extract(&incoming), propagator.config());
//! assert_eq!(trace.parent_id(), 0xb7ad6b7169203331);
//! assert_eq!(trace.sampling_priority(), Some(2));
//!
//! let mut outgoing = http::HeaderMap::new();
//! trace.inject(0x53995c3f42cd8ad8, propagator.config(), &mut outgoing);
//! assert_eq!(outgoing["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-53995c3f42cd8ad8-01");
//! assert_eq!(outgoing["tracestate"], "dd=p:53995c3f42cd8ad8;s:2;t.dm:-4,rojo=00f067aa0ba902b7");
//! assert_eq!(outgoing["x-datadog-trace-id"], "9532127138774266268");
//! ```
//!
//! Bad input never fails: a header that breaks its format is ignored (or starts a new trace)
//! with Datadog's documented outcome, `_dd.propagation_error` where Datadog's tracers set it,
//! and no log line.
//!
//! The functions [`extract`] and [`inject`] and the types [`HeaderExtractor`] and
//! [`HeaderInjector`] serve the OpenTelemetry pipeline (`datadog-opentelemetry`'s propagator).

mod b3;
mod baggage;
mod carrier;
mod config;
mod context;
mod datadog;
mod otel;
mod trace;
mod tracecontext;

pub use baggage::Baggage;
pub use config::{ExtractBehavior, PropagationConfig, Style};
pub(crate) use context::known_text;
pub use context::{Extracted, RemoteContext, SpanLink, TraceTags};
pub use otel::{extract, inject, HeaderExtractor, HeaderInjector};
pub(crate) use trace::Text;
pub use trace::TraceContext;

use crate::HeaderSource;
use carrier::{Carrier, Header};

/// Where injected headers go: an outgoing request's header list.
///
/// Implemented for `http::HeaderMap`; a client with its own header type implements it for a
/// thin wrapper.
///
/// ```
/// use ddtrace_core::propagation::Injector;
///
/// struct Pairs(Vec<(&'static str, String)>);
/// impl Injector for Pairs {
///     fn set(&mut self, name: &'static str, value: &str) {
///         self.0.push((name, value.to_string()));
///     }
/// }
/// ```
pub trait Injector {
    /// Sets header `name` (lower-case) to `value`, replacing any value it had.
    fn set(&mut self, name: &'static str, value: &str);
}

impl Injector for http::HeaderMap {
    fn set(&mut self, name: &'static str, value: &str) {
        // Every value the engine writes is visible ASCII; baggage and origin are encoded.
        if let Ok(value) = http::HeaderValue::from_str(value) {
            self.insert(http::HeaderName::from_static(name), value);
        }
    }
}

/// Extracts trace contexts from requests with one configuration; cheap to clone.
///
/// ```
/// use ddtrace_core::propagation::{PropagationConfig, Propagator};
///
/// let propagator = Propagator::new(PropagationConfig::from_env());
/// let extracted = propagator.extract(&http::HeaderMap::new());
/// assert!(extracted.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Propagator {
    config: std::sync::Arc<PropagationConfig>,
}

impl Propagator {
    /// A propagator for `config`.
    pub fn new(config: PropagationConfig) -> Self {
        Propagator {
            config: std::sync::Arc::new(config),
        }
    }

    /// The configuration it applies.
    pub fn config(&self) -> &PropagationConfig {
        &self.config
    }

    /// Reads the request's propagation headers in one pass and merges what the configured
    /// styles found:
    /// - the first style (in configured order) that yields a context is the one continued;
    /// - a later style with another trace id becomes a span link (`terminated_context`);
    /// - a later W3C context of the same trace contributes its `tracestate`, and its parent id
    ///   when it differs (the Datadog parent is then kept as `_dd.parent_id`);
    /// - with `DD_TRACE_PROPAGATION_EXTRACT_FIRST`, only the first configured style is read;
    /// - `restart` links to the context instead of continuing it; `ignore` drops everything.
    ///
    /// Nothing is allocated for a request without propagation headers.
    pub fn extract<H: HeaderSource + ?Sized>(&self, headers: &H) -> Extracted {
        Self::extract_with(&self.config, headers)
    }

    /// [`Propagator::extract`] with a configuration held elsewhere.
    pub(crate) fn extract_with<H: HeaderSource + ?Sized>(
        config: &PropagationConfig,
        headers: &H,
    ) -> Extracted {
        let carrier = Carrier::read(headers);
        if !carrier.any() {
            return Extracted::default();
        }
        Self::extract_from(config, &carrier)
    }

    fn extract_from(config: &PropagationConfig, carrier: &Carrier<'_>) -> Extracted {
        if config.behavior == ExtractBehavior::Ignore {
            return Extracted::default();
        }
        let baggage = if config.extracts_baggage() {
            carrier
                .get(Header::Baggage)
                .and_then(|v| {
                    baggage::extract(v, config.baggage_max_items, config.baggage_max_bytes)
                })
                .unwrap_or_default()
        } else {
            Baggage::default()
        };

        let mut primary: Option<context::RemoteContext> = None;
        let mut links = Vec::new();
        let trace_styles = config.extract.iter().filter(|s| **s != Style::Baggage);
        // dd-trace-py reads only the first configured style when extract-first is set, and the
        // newest dd-trace-py decides where Datadog's tracers differ.
        let limit = if config.extract_first { 1 } else { usize::MAX };
        for &style in trace_styles.take(limit) {
            let Some(cx) = extract_style(style, carrier) else {
                continue;
            };
            let Some(first) = primary.as_mut() else {
                primary = Some(cx);
                continue;
            };
            if cx.trace_id != first.trace_id {
                if cx.parent_id != 0 {
                    links.push(cx.link("terminated_context", carrier.get(Header::TraceState)));
                }
            } else if style == Style::TraceContext {
                first.tracestate = cx.tracestate;
                first.random = cx.random;
                if cx.parent_id != first.parent_id {
                    first.dd_parent_id = cx.dd_parent_id.or_else(|| {
                        let mut hex = String::with_capacity(16);
                        push_hex16(&mut hex, first.parent_id);
                        Some(hex.into())
                    });
                    first.parent_id = cx.parent_id;
                }
            }
        }
        let Some(primary) = primary else {
            return Extracted {
                remote: None,
                links: Vec::new(),
                baggage,
            };
        };
        if config.behavior == ExtractBehavior::Restart {
            let tracestate = carrier.get(Header::TraceState);
            return Extracted {
                remote: None,
                links: vec![primary.link("propagation_behavior_extract", tracestate)],
                baggage,
            };
        }
        Extracted {
            remote: Some(primary),
            links,
            baggage,
        }
    }
}

fn extract_style(style: Style, carrier: &Carrier<'_>) -> Option<context::RemoteContext> {
    match style {
        Style::Datadog => datadog::extract(carrier),
        Style::TraceContext => tracecontext::extract(carrier),
        Style::B3Multi => b3::extract_multi(carrier),
        Style::B3 => b3::extract_single(carrier),
        Style::Baggage => None,
    }
}

/// Appends `n` as 16 lower-case hex digits.
pub(crate) fn push_hex16(out: &mut String, n: u64) {
    let mut buf = [0u8; 16];
    out.push_str(hex16(&mut buf, n));
}

/// `n` as 16 lower-case hex digits, written into `buf`.
pub(crate) fn hex16(buf: &mut [u8; 16], n: u64) -> &str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in buf.iter_mut().enumerate() {
        *b = DIGITS[((n >> ((15 - i) * 4)) & 0xf) as usize];
    }
    // Every byte is an ASCII hex digit.
    std::str::from_utf8(buf).unwrap_or_default()
}
