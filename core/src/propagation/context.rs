//! What extraction yields: the remote context, span links and baggage.

use super::baggage::Baggage;
use super::config::Style;
use smallvec::SmallVec;
use std::borrow::Cow;

/// The `_dd.p.*` trace tags a trace propagates, in the order they were first set.
///
/// Keys keep their `_dd.p.` prefix. `_dd.p.tid` is never stored: it is the trace id's high
/// half, written from the id itself when a span or a header needs it.
///
/// ```
/// use ddtrace_core::propagation::TraceTags;
///
/// let mut tags = TraceTags::default();
/// tags.set("_dd.p.usr.id", "baz64");
/// tags.set("_dd.p.dm", "-4");
/// tags.set("_dd.p.usr.id", "other");
/// let all: Vec<_> = tags.iter().collect();
/// assert_eq!(all, [("_dd.p.usr.id", "other"), ("_dd.p.dm", "-4")]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceTags(SmallVec<[(Cow<'static, str>, Cow<'static, str>); 2]>);

impl TraceTags {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// Sets `key` to `value`, keeping its place when it is already set.
    pub fn set(&mut self, key: &str, value: &str) {
        self.set_text(known(key), known(value));
    }

    /// The same, with text that may be static (a trace's decision maker is): then nothing is
    /// copied, and a trace's one or two tags need no allocation at all.
    pub(crate) fn set_text(&mut self, key: Cow<'static, str>, value: Cow<'static, str>) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key, value)),
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    /// Every tag, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Every tag, in order, as stored (static text stays static).
    pub(crate) fn entries(&self) -> impl Iterator<Item = &(Cow<'static, str>, Cow<'static, str>)> {
        self.0.iter()
    }

    /// True when no tag is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The common propagated keys, whose text every trace repeats.
const KNOWN_KEYS: [&str; 3] = ["_dd.p.dm", "_dd.p.ksr", "_dd.p.usr.id"];

/// `_dd.p.<suffix>` (a `tracestate` `t.<suffix>` item's key): static text for the common keys,
/// so that reading them copies nothing.
pub(crate) fn propagated_key(suffix: &str) -> Cow<'static, str> {
    match KNOWN_KEYS.iter().find(|k| k.get(6..) == Some(suffix)) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(format!("_dd.p.{suffix}")),
    }
}

/// Text every trace repeats (the common keys, the decision makers, the kept rates of 1 and
/// 0) as static text; anything else is copied.
pub(crate) fn known(text: &str) -> Cow<'static, str> {
    match known_text(text) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(text.to_string()),
    }
}

/// `text` as the static text of [`known`], when it is one.
pub(crate) fn known_text(text: &str) -> Option<&'static str> {
    const KNOWN_VALUES: [&str; 16] = [
        "-0", "-1", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9", "-10", "-11", "-12", "-13",
        "1", "0",
    ];
    KNOWN_KEYS
        .iter()
        .chain(KNOWN_VALUES.iter())
        .find(|k| **k == text)
        .copied()
}

/// A span link: a reference from the server span to a trace context it did not continue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanLink {
    /// The linked trace's id (128 bits; the high half is 0 for a 64-bit id).
    pub trace_id: u128,
    /// The linked span's id.
    pub span_id: u64,
    /// The W3C trace flags: 1 when the linked context was sampled.
    pub flags: u8,
    /// The linked context's `tracestate`, for a W3C context.
    pub tracestate: Option<Box<str>>,
    /// Why the context was not continued: `terminated_context` (another style carried another
    /// trace) or `propagation_behavior_extract` (`DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT=restart`).
    pub reason: &'static str,
    /// The style the linked context came from.
    pub context_headers: Style,
}

/// A trace context carried by a request: the trace to continue and the parent to continue
/// it from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteContext {
    pub(crate) style: Style,
    pub(crate) trace_id: u128,
    /// 0 when the request carried no parent span id.
    pub(crate) parent_id: u64,
    pub(crate) priority: Option<i32>,
    pub(crate) origin: Option<Box<str>>,
    pub(crate) tags: TraceTags,
    /// Other vendors' `tracestate` members, in order, within the W3C limits (no `dd=`).
    pub(crate) tracestate: Option<Box<str>>,
    /// `_dd.parent_id`: the last Datadog span on the W3C path (tracestate `p`).
    pub(crate) dd_parent_id: Option<Box<str>>,
    /// The level-2 random-trace-id flag of the `traceparent`.
    pub(crate) random: bool,
    /// `_dd.propagation_error`, with Datadog's reason strings.
    pub(crate) error: Option<Box<str>>,
}

impl RemoteContext {
    pub(crate) fn new(style: Style, trace_id: u128, parent_id: u64) -> Self {
        RemoteContext {
            style,
            trace_id,
            parent_id,
            priority: None,
            origin: None,
            tags: TraceTags::default(),
            tracestate: None,
            dd_parent_id: None,
            random: false,
            error: None,
        }
    }

    /// The style this context was read from (the first one, when several agreed).
    pub fn style(&self) -> Style {
        self.style
    }

    /// The trace id, 128 bits (the high half is 0 for a 64-bit id).
    pub fn trace_id(&self) -> u128 {
        self.trace_id
    }

    /// The parent span id; 0 when the request carried none.
    pub fn parent_id(&self) -> u64 {
        self.parent_id
    }

    /// The upstream sampling decision.
    pub fn sampling_priority(&self) -> Option<i32> {
        self.priority
    }

    /// `_dd.origin`.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The propagated `_dd.p.*` tags.
    pub fn tags(&self) -> &TraceTags {
        &self.tags
    }

    /// `_dd.propagation_error`, when the headers were malformed.
    pub fn propagation_error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// A link to this context; `tracestate` is the request's, for a W3C context.
    pub(crate) fn link(&self, reason: &'static str, tracestate: Option<&str>) -> SpanLink {
        SpanLink {
            trace_id: self.trace_id,
            span_id: self.parent_id,
            flags: u8::from(self.priority.is_some_and(|p| p > 0)),
            tracestate: if self.style == Style::TraceContext {
                tracestate.map(|t| super::tracecontext::normalized(t).into())
            } else {
                None
            },
            reason,
            context_headers: self.style,
        }
    }
}

/// What a request's headers carry, after every configured style was read and the results
/// merged as Datadog's tracers merge them.
///
/// ```
/// use ddtrace_core::propagation::{Propagator, PropagationConfig};
///
/// let propagator = Propagator::new(PropagationConfig::default());
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-datadog-trace-id", "123".parse().unwrap());
/// headers.insert("x-datadog-parent-id", "456".parse().unwrap());
/// headers.insert("x-datadog-sampling-priority", "2".parse().unwrap());
/// let extracted = propagator.extract(&headers);
/// let remote = extracted.remote().unwrap();
/// assert_eq!((remote.trace_id(), remote.parent_id()), (123, 456));
/// assert_eq!(remote.sampling_priority(), Some(2));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    pub(crate) remote: Option<RemoteContext>,
    pub(crate) links: Vec<SpanLink>,
    pub(crate) baggage: Baggage,
}

impl Extracted {
    /// The trace context to continue; `None` starts a new trace.
    pub fn remote(&self) -> Option<&RemoteContext> {
        self.remote.as_ref()
    }

    /// Span links for the server span.
    pub fn links(&self) -> &[SpanLink] {
        &self.links
    }

    /// The incoming baggage.
    pub fn baggage(&self) -> &Baggage {
        &self.baggage
    }

    /// True when the request carried nothing to continue, link or keep.
    pub fn is_empty(&self) -> bool {
        self.remote.is_none() && self.links.is_empty() && self.baggage.is_empty()
    }
}
