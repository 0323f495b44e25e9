//! One local trace's propagation state, from the request that started it to every outgoing
//! request it makes.

use super::baggage::{self, Baggage};
use super::config::{PropagationConfig, Style};
use super::context::{Extracted, RemoteContext, SpanLink, TraceTags};
use super::{b3, datadog, tracecontext, Injector};
use std::borrow::Cow;

/// The propagation state of one local trace: what the local root continues, what its spans
/// pass on, and what the local root span is tagged with.
///
/// ```
/// use ddtrace_core::propagation::{PropagationConfig, TraceContext};
///
/// let config = PropagationConfig::default();
/// let mut trace = TraceContext::new_root(&config);
/// assert_eq!(trace.sampling_priority(), None);
/// trace.set_sampling_decision(1, 0); // the sampler's: keep, by default
/// let mut headers = http::HeaderMap::new();
/// trace.inject(7, &config, &mut headers);
/// assert_eq!(headers["x-datadog-parent-id"], "7");
/// assert!(headers["x-datadog-tags"].to_str().unwrap().starts_with("_dd.p.dm=-0,_dd.p.tid="));
/// ```
#[derive(Clone, Debug)]
pub struct TraceContext {
    /// What is propagated: the context continued, or the one this trace started with.
    cx: RemoteContext,
    baggage: Baggage,
    /// `baggage.<key>` tags for the local root, from the incoming baggage.
    baggage_tags: Vec<(String, String)>,
    links: Vec<SpanLink>,
}

impl TraceContext {
    /// A new trace with a new id (128-bit unless `DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED`
    /// is false) and no sampling decision yet.
    pub fn new_root(config: &PropagationConfig) -> Self {
        Self::new_root_at(config, &crate::clock::now())
    }

    /// The same, for a root span starting at `now`.
    pub(crate) fn new_root_at(config: &PropagationConfig, now: &crate::clock::Now) -> Self {
        // The style names where a context came from; a trace started here is never linked.
        let mut cx = RemoteContext::new(
            Style::Datadog,
            crate::ids::new_trace_id_at(config.generate_128_bit, now),
            0,
        );
        // The low 64 bits are random: the W3C level-2 random flag says so downstream.
        cx.random = true;
        TraceContext {
            cx,
            baggage: Baggage::default(),
            baggage_tags: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Continues the extracted context, or starts a new trace (keeping the extracted span
    /// links and baggage) when there is none.
    pub fn start(extracted: Extracted, config: &PropagationConfig) -> Self {
        Self::start_at(extracted, config, &crate::clock::now())
    }

    /// The same, for a root span starting at `now`.
    pub(crate) fn start_at(
        extracted: Extracted,
        config: &PropagationConfig,
        now: &crate::clock::Now,
    ) -> Self {
        let Extracted {
            remote,
            links,
            baggage,
        } = extracted;
        let mut trace = match remote {
            Some(cx) => TraceContext {
                cx,
                baggage: Baggage::default(),
                baggage_tags: Vec::new(),
                links,
            },
            None => {
                let mut trace = TraceContext::new_root_at(config, now);
                trace.links = links;
                trace
            }
        };
        trace.baggage_tags = baggage
            .iter()
            .filter(|(k, _)| config.baggage_tag_keys.contains(k))
            .map(|(k, v)| (format!("baggage.{k}"), v.to_string()))
            .collect();
        trace.baggage = baggage;
        trace
    }

    /// The trace id (128 bits; the high half is 0 for a 64-bit id).
    pub fn trace_id(&self) -> u128 {
        self.cx.trace_id
    }

    /// The remote parent of the local root; 0 when the trace started here.
    pub fn parent_id(&self) -> u64 {
        self.cx.parent_id
    }

    /// The sampling decision: from upstream, or set by [`TraceContext::set_sampling_decision`].
    pub fn sampling_priority(&self) -> Option<i32> {
        self.cx.priority
    }

    /// `_dd.origin`.
    pub fn origin(&self) -> Option<&str> {
        self.cx.origin.as_deref()
    }

    /// The `_dd.p.*` tags the trace propagates.
    pub fn tags(&self) -> &TraceTags {
        &self.cx.tags
    }

    /// Sets a propagated tag (`_dd.p.` prefix included), as the sampler or the application may.
    pub fn tags_mut(&mut self) -> &mut TraceTags {
        &mut self.cx.tags
    }

    /// The local sampler's decision, for a trace that has none: `priority` and the decision
    /// maker `mechanism` (`_dd.p.dm=-<mechanism>`, set once per trace and never overwritten).
    pub fn set_sampling_decision(&mut self, priority: i32, mechanism: u8) {
        self.cx.priority = Some(priority);
        if self.cx.tags.get("_dd.p.dm").is_none() {
            self.cx
                .tags
                .set_text(Cow::Borrowed("_dd.p.dm"), decision_maker(mechanism));
        }
    }

    /// The trace's baggage: incoming, plus what the application set.
    pub fn baggage(&self) -> &Baggage {
        &self.baggage
    }

    /// The trace's baggage, to add or change items that outgoing requests carry.
    pub fn baggage_mut(&mut self) -> &mut Baggage {
        &mut self.baggage
    }

    /// Span links for the local root span.
    pub fn links(&self) -> &[SpanLink] {
        &self.links
    }

    /// `_dd.propagation_error`, from extraction or from the last injection.
    pub fn propagation_error(&self) -> Option<&str> {
        self.cx.error.as_deref()
    }

    /// The tags of the local root span (chunk root), in order: the `_dd.p.*` tags, `_dd.p.tid`
    /// for a 128-bit id, `_dd.origin`, `_dd.parent_id`, `_dd.propagation_error` and the
    /// `baggage.<key>` tags of `DD_TRACE_BAGGAGE_TAG_KEYS`.
    ///
    /// ```
    /// use ddtrace_core::propagation::{PropagationConfig, Propagator, TraceContext};
    ///
    /// let propagator = Propagator::new(PropagationConfig::default());
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-datadog-trace-id", "1".parse().unwrap());
    /// headers.insert("x-datadog-origin", "synthetics".parse().unwrap());
    /// headers.insert("baggage", "user.id=42,color=red".parse().unwrap());
    /// let trace = TraceContext::start(propagator.extract(&headers), propagator.config());
    /// let mut tags = Vec::new();
    /// trace.root_tags(|k, v| tags.push(format!("{k}={v}")));
    /// assert_eq!(tags, ["_dd.origin=synthetics", "baggage.user.id=42"]);
    /// ```
    pub fn root_tags(&self, mut tag: impl FnMut(&str, &str)) {
        self.each_root_tag(|k, v| tag(k.as_str(), v.as_str()));
    }

    /// [`TraceContext::root_tags`], telling static text apart so the span can keep it
    /// without a copy.
    pub(crate) fn each_root_tag(&self, mut tag: impl FnMut(Text<'_>, Text<'_>)) {
        for (k, v) in self.cx.tags.entries() {
            tag(Text::from_cow(k), Text::from_cow(v));
        }
        let high = (self.cx.trace_id >> 64) as u64;
        if high != 0 {
            let mut hex = [0u8; 16];
            tag(
                Text::Static("_dd.p.tid"),
                Text::Borrowed(super::hex16(&mut hex, high)),
            );
        }
        if let Some(origin) = &self.cx.origin {
            tag(Text::Static("_dd.origin"), Text::Borrowed(origin));
        }
        if let Some(p) = &self.cx.dd_parent_id {
            tag(Text::Static("_dd.parent_id"), Text::Borrowed(p));
        }
        if let Some(e) = &self.cx.error {
            tag(Text::Static("_dd.propagation_error"), Text::Borrowed(e));
        }
        for (k, v) in &self.baggage_tags {
            tag(Text::Borrowed(k), Text::Borrowed(v));
        }
    }

    /// Writes the configured inject styles for a span `span_id` of this trace: baggage first
    /// (with or without a trace), then Datadog, B3 multi, B3 single and W3C Trace Context,
    /// in that fixed order as Datadog's tracers do. An `x-datadog-tags` over
    /// `DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH` is left out and recorded as
    /// `_dd.propagation_error`.
    pub fn inject(
        &mut self,
        span_id: u64,
        config: &PropagationConfig,
        injector: &mut impl Injector,
    ) {
        self.inject_dyn(span_id, config, injector)
    }

    fn inject_dyn(
        &mut self,
        span_id: u64,
        config: &PropagationConfig,
        injector: &mut dyn Injector,
    ) {
        if config.injects(Style::Baggage) {
            if let Some(v) = baggage::encode(
                &self.baggage,
                config.baggage_max_items,
                config.baggage_max_bytes,
            ) {
                injector.set("baggage", &v);
            }
        }
        if config.injects(Style::Datadog) {
            let out = datadog::Outgoing {
                trace_id: self.cx.trace_id,
                span_id,
                priority: self.cx.priority,
                origin: self.cx.origin.as_deref(),
                tags: &self.cx.tags,
                max_tags_length: config.x_datadog_tags_max_length,
                error: self.cx.error.as_deref(),
            };
            if let Some(error) = datadog::inject(&out, injector) {
                self.cx.error = Some(error.into());
            }
        }
        if config.injects(Style::B3Multi) {
            b3::inject_multi(self.cx.trace_id, span_id, self.cx.priority, injector);
        }
        if config.injects(Style::B3) {
            b3::inject_single(self.cx.trace_id, span_id, self.cx.priority, injector);
        }
        if config.injects(Style::TraceContext) {
            let out = tracecontext::Outgoing {
                trace_id: self.cx.trace_id,
                span_id,
                priority: self.cx.priority,
                random: self.cx.random,
                origin: self.cx.origin.as_deref(),
                tags: &self.cx.tags,
                others: self.cx.tracestate.as_deref(),
            };
            tracecontext::inject(&out, injector);
        }
    }
}

/// `_dd.p.dm` for a sampling mechanism: static text for every mechanism Datadog defines.
fn decision_maker(mechanism: u8) -> Cow<'static, str> {
    const KNOWN: [&str; 14] = [
        "-0", "-1", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9", "-10", "-11", "-12", "-13",
    ];
    match KNOWN.get(usize::from(mechanism)) {
        Some(dm) => Cow::Borrowed(dm),
        None => Cow::Owned(format!("-{mechanism}")),
    }
}

/// A tag's text: static, or borrowed for the call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Text<'a> {
    Static(&'static str),
    Borrowed(&'a str),
}

impl<'a> Text<'a> {
    // The variant matters (static text is kept without a copy), so a `&str` would not do.
    #[allow(clippy::ptr_arg)]
    fn from_cow(cow: &'a Cow<'static, str>) -> Text<'a> {
        match cow {
            Cow::Borrowed(s) => Text::Static(s),
            Cow::Owned(s) => Text::Borrowed(s),
        }
    }

    pub(crate) fn as_str(&self) -> &'a str {
        match *self {
            Text::Static(s) => s,
            Text::Borrowed(s) => s,
        }
    }
}
