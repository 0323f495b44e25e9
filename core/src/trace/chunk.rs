//! One local trace: its propagation state, its open spans, and the chunks it sends.

use super::span::ActiveSpan;
use crate::propagation::{Injector, PropagationConfig, Text, TraceContext};
use crate::sampling::Sampler;
use libdd_tinybytes::BytesString;
use libdd_trace_utils::span::v04::{SpanBytes, SpanLink};
use libdd_trace_utils::span::vec_map::VecMap;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};

/// Tags a local root usually carries: the request's (method, URL, route, status, user agent,
/// component, kind, header tags…) and the trace's (`_dd.p.*`, language, runtime id, env…).
const ROOT_META: usize = 16;
/// Metrics of a local root: priority, `_dd.measured`, `_dd.top_level`, process id, rates.
const ROOT_METRICS: usize = 6;

/// Where finished chunks go: the exporter, or a test's collector.
pub(crate) trait ChunkSink: Send + Sync {
    fn send(&self, chunk: Vec<SpanBytes>);
}

/// What every trace of the process shares.
#[derive(Clone)]
pub(crate) struct TraceSettings {
    pub service: BytesString,
    pub env: Option<BytesString>,
    pub version: Option<BytesString>,
    /// `DD_TAGS`, on every local root.
    pub tags: Vec<(BytesString, BytesString)>,
    pub runtime_id: BytesString,
    pub propagation: PropagationConfig,
    pub sampler: Arc<Sampler>,
    pub sink: Arc<dyn ChunkSink>,
}

impl std::fmt::Debug for TraceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceSettings")
            .field("service", &self.service.as_str())
            .finish_non_exhaustive()
    }
}

/// One local trace, shared by its spans.
#[derive(Debug)]
pub(crate) struct Trace {
    settings: Arc<TraceSettings>,
    /// Fixed when the trace starts; read without the lock (every log line of the trace).
    trace_id: u128,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    propagation: TraceContext,
    root_span_id: u64,
    /// Service, name and resource of the local root as it started, for a sampling decision
    /// needed before it ends (an outgoing request). Three texts, not a whole span: the state
    /// is built and moved into the trace's allocation on every request.
    root_skeleton: [BytesString; 3],
    open: usize,
    finished: Vec<SpanBytes>,
    root_done: bool,
    /// The local sampler's rate tags (`_dd.agent_psr`, `_dd.rule_psr`, `_dd.limit_psr`).
    decision_metrics: SmallVec<[(&'static str, f64); 2]>,
    /// Errors recorded from inside a span's handler, by span id, until the span ends.
    errors: Vec<(u64, crate::ErrorInfo)>,
}

impl Trace {
    /// Starts a local trace whose root is a span named `name`, continuing `propagation`.
    #[cfg(test)]
    pub(crate) fn start_root(
        settings: &Arc<TraceSettings>,
        propagation: TraceContext,
        name: BytesString,
        resource: BytesString,
        r#type: BytesString,
    ) -> ActiveSpan {
        Self::start_root_at(
            settings,
            propagation,
            name,
            resource,
            r#type,
            crate::clock::now(),
        )
    }

    /// Starts a local trace whose root is a span named `name`, continuing `propagation`,
    /// at `now` (read once for the trace id and the span).
    pub(crate) fn start_root_at(
        settings: &Arc<TraceSettings>,
        propagation: TraceContext,
        name: BytesString,
        resource: BytesString,
        r#type: BytesString,
        now: crate::clock::Now,
    ) -> ActiveSpan {
        let span_id = crate::ids::new_span_id();
        let mut span = SpanBytes {
            service: settings.service.clone(),
            name,
            resource,
            r#type,
            trace_id: propagation.trace_id(),
            span_id,
            parent_id: propagation.parent_id(),
            // Room for a request span's tags and the local root's, so the lists never grow.
            meta: VecMap::with_capacity(ROOT_META),
            metrics: VecMap::with_capacity(ROOT_METRICS),
            ..Default::default()
        };
        span.span_links = propagation.links().iter().map(link).collect();
        let root_skeleton = [
            span.service.clone(),
            span.name.clone(),
            span.resource.clone(),
        ];
        let trace = Arc::new(Trace {
            settings: settings.clone(),
            trace_id: span.trace_id,
            state: Mutex::new(State {
                propagation,
                root_span_id: span_id,
                root_skeleton,
                open: 1,
                finished: Vec::new(),
                root_done: false,
                decision_metrics: SmallVec::new(),
                errors: Vec::new(),
            }),
        });
        ActiveSpan::new(trace, span, now)
    }

    pub(crate) fn settings(&self) -> &TraceSettings {
        &self.settings
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held left consistent data (every update is one push or
        // one assignment): keep going rather than lose the trace.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn trace_id(&self) -> u128 {
        self.trace_id
    }

    /// Records an error for span `span_id`; the first one is kept.
    pub(crate) fn record_error(&self, span_id: u64, error: crate::ErrorInfo) {
        let mut state = self.state();
        if !state.errors.iter().any(|(id, _)| *id == span_id) {
            state.errors.push((span_id, error));
        }
    }

    /// The error recorded for span `span_id`.
    pub(crate) fn take_error(&self, span_id: u64) -> Option<crate::ErrorInfo> {
        let mut state = self.state();
        let i = state.errors.iter().position(|(id, _)| *id == span_id)?;
        Some(state.errors.swap_remove(i).1)
    }

    /// Sets a baggage item for the trace's outgoing requests.
    pub(crate) fn set_baggage(&self, key: &str, value: &str) {
        self.state().propagation.baggage_mut().set(key, value);
    }

    /// A child span of the trace opens.
    pub(crate) fn span_opened(&self) {
        self.state().open += 1;
    }

    /// Writes the propagation headers for an outgoing request made from span `span_id`,
    /// sampling the trace first if it has no decision yet.
    pub(crate) fn inject(&self, span_id: u64, injector: &mut impl Injector) {
        let mut state = self.state();
        if state.propagation.sampling_priority().is_none() {
            let [service, name, resource] = state.root_skeleton.clone();
            let skeleton = SpanBytes {
                service,
                name,
                resource,
                trace_id: self.trace_id,
                ..Default::default()
            };
            decide(&self.settings, &mut state, &skeleton);
        }
        state
            .propagation
            .inject(span_id, &self.settings.propagation, injector);
    }

    /// A span of the trace ended (`one` holds it): the local root sends the chunk; a span
    /// ending after it goes out alone.
    pub(crate) fn span_finished(&self, mut one: Vec<SpanBytes>) {
        let Some(span) = one.first_mut() else {
            return;
        };
        let mut state = self.state();
        state.open = state.open.saturating_sub(1);
        // An error recorded while this span was current (`record_error` inside an
        // `#[instrument]` span); a request span took its own before ending.
        if let Some(i) = state.errors.iter().position(|(id, _)| *id == span.span_id) {
            let (_, error) = state.errors.swap_remove(i);
            span.error = 1;
            span.meta.insert(
                BytesString::from_static("error.type"),
                BytesString::from_cow(error.error_type),
            );
            span.meta.insert(
                BytesString::from_static("error.message"),
                BytesString::from_string(error.message),
            );
        }
        let is_root = span.span_id == state.root_span_id;
        if state.finished.is_empty() {
            // The first span to end (for a trace of one span, most requests, the only one):
            // its own vector is the chunk, with no allocation or copy.
            let reused = std::mem::take(&mut state.finished);
            state.finished = one;
            one = reused;
        } else {
            state.finished.append(&mut one);
        }
        drop(one);
        if !is_root && !state.root_done {
            return;
        }
        let mut chunk = std::mem::take(&mut state.finished);
        if is_root {
            state.root_done = true;
            // The root is the last span pushed.
            let root_index = chunk.len() - 1;
            if state.propagation.sampling_priority().is_none() {
                decide(&self.settings, &mut state, &chunk[root_index]);
            }
            tag_root(&self.settings, &state, &mut chunk[root_index]);
        } else {
            // A later chunk: its first span carries the trace's decision and tags.
            tag_chunk_root(&state.propagation, &mut chunk[0]);
        }
        if let Some(origin) = state.propagation.origin() {
            let origin = crate::native::short_text(origin);
            for span in &mut chunk {
                span.meta
                    .insert(BytesString::from_static("_dd.origin"), origin.clone());
            }
        }
        drop(state);
        for span in &mut chunk {
            dedup(&mut span.meta);
            dedup(&mut span.metrics);
        }
        self.settings.sink.send(chunk);
    }
}

/// Keeps the last value of each key, and marks the map as checked: libdatadog sizes and encodes
/// a map that is not marked by hashing every key into a set, once in the buffer and once in the
/// encoder. A span's few tags are compared pairwise instead, with no allocation.
fn dedup<V>(map: &mut VecMap<BytesString, V>) {
    const PAIRWISE: usize = 32;
    if map.is_deduped() {
        return;
    }
    let entries = map.iter().as_slice();
    if entries.len() > PAIRWISE {
        map.dedup();
        return;
    }
    let repeated = entries
        .iter()
        .enumerate()
        .any(|(i, (key, _))| entries[..i].iter().any(|(k, _)| k == key));
    if repeated {
        map.dedup();
    } else {
        map.mark_deduped();
    }
}

/// Samples a trace that has no decision, from its local root as it is now.
fn decide(settings: &TraceSettings, state: &mut State, root: &SpanBytes) {
    let decision = settings.sampler.sample(root);
    state
        .propagation
        .set_sampling_decision(decision.priority, decision.mechanism);
    if let Some(ksr) = decision.ksr {
        state
            .propagation
            .tags_mut()
            .set_text(Cow::Borrowed("_dd.p.ksr"), ksr);
    }
    state.decision_metrics = decision.metrics;
}

/// The local root's tags: the trace's (`_dd.p.*`, `_dd.p.tid`, `_dd.origin`, …), the
/// decision's rates, the process's, and `env`, `version` and `DD_TAGS`.
fn tag_root(settings: &TraceSettings, state: &State, root: &mut SpanBytes) {
    let propagation = &state.propagation;
    for (k, v) in &state.decision_metrics {
        root.metrics.insert(BytesString::from_static(k), *v);
    }
    propagation.each_root_tag(|k, v| {
        let value = match (k.as_str(), v) {
            (_, Text::Static(v)) => BytesString::from_static(v),
            ("_dd.p.tid", Text::Borrowed(v)) => tid_text(v),
            (_, Text::Borrowed(v)) => crate::native::value_text(v),
        };
        let key = match k {
            Text::Static(k) => BytesString::from_static(k),
            Text::Borrowed(k) => crate::native::key_text(k),
        };
        root.meta.insert(key, value);
    });
    if let Some(p) = propagation.sampling_priority() {
        root.metrics.insert(
            BytesString::from_static("_sampling_priority_v1"),
            f64::from(p),
        );
    }
    root.meta.insert(
        BytesString::from_static("language"),
        BytesString::from_static("rust"),
    );
    root.meta.insert(
        BytesString::from_static("runtime-id"),
        settings.runtime_id.clone(),
    );
    root.metrics.insert(
        BytesString::from_static("process_id"),
        f64::from(process_id()),
    );
    root.metrics
        .insert(BytesString::from_static("_dd.top_level"), 1.0);
    if let Some(env) = &settings.env {
        root.meta
            .insert(BytesString::from_static("env"), env.clone());
    }
    if let Some(version) = &settings.version {
        root.meta
            .insert(BytesString::from_static("version"), version.clone());
    }
    for (k, v) in &settings.tags {
        root.meta.insert(k.clone(), v.clone());
    }
}

/// This process's id, read once: `getpid` is a system call on every read.
fn process_id() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// `_dd.p.tid` as span text. Generated trace ids carry the second they were made in their
/// high half, so the traces of one second share one text, kept per thread.
fn tid_text(hex: &str) -> BytesString {
    thread_local! {
        static LAST: RefCell<Option<BytesString>> = const { RefCell::new(None) };
    }
    let make = || crate::native::short_text(hex);
    LAST.try_with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return make();
        };
        match last.as_ref() {
            Some(text) if text.as_str() == hex => text.clone(),
            _ => {
                let text = make();
                *last = Some(text.clone());
                text
            }
        }
    })
    .unwrap_or_else(|_| make())
}

/// The first span of a chunk sent after the root's: the decision and the propagated tags.
fn tag_chunk_root(propagation: &TraceContext, span: &mut SpanBytes) {
    if let Some(p) = propagation.sampling_priority() {
        span.metrics.insert(
            BytesString::from_static("_sampling_priority_v1"),
            f64::from(p),
        );
    }
    for (k, v) in propagation.tags().iter() {
        span.meta.insert(
            BytesString::from_string(k.to_string()),
            BytesString::from_string(v.to_string()),
        );
    }
}

fn link(l: &crate::propagation::SpanLink) -> SpanLink<libdd_trace_utils::span::BytesData> {
    let mut attributes = std::collections::HashMap::with_capacity(2);
    attributes.insert(
        BytesString::from_static("reason"),
        BytesString::from_static(l.reason),
    );
    attributes.insert(
        BytesString::from_static("context_headers"),
        BytesString::from_static(l.context_headers.name()),
    );
    SpanLink {
        trace_id: l.trace_id as u64,
        trace_id_high: (l.trace_id >> 64) as u64,
        span_id: l.span_id,
        attributes,
        tracestate: l
            .tracestate
            .as_deref()
            .map(|t| BytesString::from_string(t.to_string()))
            .unwrap_or_default(),
        // v0.4 marks "flags were set" with the top bit.
        flags: u32::from(l.flags) | 1 << 31,
    }
}
