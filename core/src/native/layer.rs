//! `tracing` spans as Datadog spans on the native pipeline.
//!
//! A `tracing` span opened inside a traced request (under the request span, or under another
//! `tracing` span that is in a trace) becomes a child Datadog span:
//! - its operation name is the `tracing` span's name, and its resource the same unless a
//!   `resource` (or `resource.name`) field sets it; `service` and `span.type` fields set those;
//! - other fields become tags: numbers as metrics, the rest as strings;
//! - an error event inside it (`#[instrument(err)]` emits one with an `error` field) sets
//!   `error` and `error.message`.
//!
//! Outside a trace, a `tracing` span costs one look at the current context and creates
//! nothing. While a Datadog-backed `tracing` span is entered, it is the current span for
//! outgoing requests ([`crate::ClientSpan`]) and for [`crate::record_error`].

use super::{Current, Entered};
use crate::trace::ActiveSpan;
use libdd_tinybytes::BytesString;
use std::cell::RefCell;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The layer [`crate::init`] installs on the native pipeline.
#[derive(Debug, Default)]
pub(crate) struct NativeLayer;

/// The Datadog span behind a `tracing` span, in the span's extensions.
struct Backing {
    span: ActiveSpan,
    current: Current,
}

thread_local! {
    /// The Datadog-backed `tracing` spans entered on this thread, with what leaves them.
    static ENTERED: RefCell<Vec<(Id, Entered)>> = const { RefCell::new(Vec::new()) };
}

/// Writes a `tracing` span's fields into its Datadog span.
struct Fields<'a>(&'a mut ActiveSpan);

impl Fields<'_> {
    fn text(&mut self, field: &Field, value: String) {
        let Some(data) = self.0.data() else { return };
        match field.name() {
            "resource" | "resource.name" => data.resource = BytesString::from_string(value),
            "service" | "service.name" => data.service = BytesString::from_string(value),
            "span.type" => data.r#type = BytesString::from_string(value),
            name => {
                data.meta.insert(
                    BytesString::from_static(name),
                    BytesString::from_string(value),
                );
            }
        }
    }

    fn number(&mut self, field: &Field, value: f64) {
        if let Some(data) = self.0.data() {
            data.metrics
                .insert(BytesString::from_static(field.name()), value);
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.text(field, format!("{value:?}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value as f64);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, value as f64);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.number(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.text(field, value.to_string());
    }
}

/// The `error` field of an event, if it has one.
#[derive(Default)]
struct ErrorField(Option<String>);

impl Visit for ErrorField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "error" {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "error" {
            self.0 = Some(format!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if field.name() == "error" {
            self.0 = Some(value.to_string());
        }
    }
}

impl<S> Layer<S> for NativeLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span_ref) = ctx.span(id) else { return };
        // The parent: the `tracing` parent's Datadog span, else the span current in the
        // context (the request span while its handler runs).
        let parent = span_ref
            .parent()
            .and_then(|p| p.extensions().get::<Backing>().map(|b| b.current.clone()))
            .or_else(|| {
                if attrs.is_root() {
                    None
                } else {
                    Current::get()
                }
            });
        let Some(parent) = parent else { return };
        let name = BytesString::from_static(attrs.metadata().name());
        let mut span = ActiveSpan::child_of(parent.trace.clone(), parent.span_id, name);
        attrs.record(&mut Fields(&mut span));
        let current = Current {
            trace: parent.trace,
            span_id: span.span_id(),
        };
        span_ref.extensions_mut().insert(Backing { span, current });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span_ref) = ctx.span(id) else { return };
        let mut extensions = span_ref.extensions_mut();
        if let Some(backing) = extensions.get_mut::<Backing>() {
            values.record(&mut Fields(&mut backing.span));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if *event.metadata().level() != tracing::Level::ERROR {
            return;
        }
        let Some(span_ref) = ctx.event_span(event) else {
            return;
        };
        let mut extensions = span_ref.extensions_mut();
        let Some(backing) = extensions.get_mut::<Backing>() else {
            return;
        };
        let mut error = ErrorField::default();
        event.record(&mut error);
        let Some(message) = error.0 else { return };
        if let Some(data) = backing.span.data() {
            data.error = 1;
            data.meta.insert(
                BytesString::from_static("error.message"),
                BytesString::from_string(message),
            );
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span_ref) = ctx.span(id) else { return };
        let extensions = span_ref.extensions();
        let Some(backing) = extensions.get::<Backing>() else {
            return;
        };
        let guard = backing.current.clone().enter();
        drop(extensions);
        let _ = ENTERED.try_with(|entered| {
            if let Ok(mut entered) = entered.try_borrow_mut() {
                entered.push((id.clone(), guard));
            }
        });
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        let left = ENTERED
            .try_with(|entered| {
                let mut entered = entered.try_borrow_mut().ok()?;
                let i = entered
                    .iter()
                    .rposition(|(entered_id, _)| entered_id == id)?;
                Some(entered.remove(i))
            })
            .ok()
            .flatten();
        // Left after the list is released.
        drop(left);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span_ref) = ctx.span(&id) else {
            return;
        };
        let backing = span_ref.extensions_mut().remove::<Backing>();
        if let Some(backing) = backing {
            backing.span.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::propagation::TraceContext;
    use crate::trace::{ChunkSink, Trace};
    use libdd_trace_utils::span::v04::SpanBytes;
    use proptest::prelude::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Default)]
    struct Collect(Mutex<Vec<SpanBytes>>);

    impl ChunkSink for Collect {
        fn send(&self, chunk: Vec<SpanBytes>) {
            self.0.lock().unwrap().extend(chunk);
        }
    }

    /// Runs `f` inside a request span (its context attached, the native layer installed) and
    /// returns every span the trace sent.
    fn in_request(f: impl FnOnce()) -> Vec<SpanBytes> {
        let sink = Arc::new(Collect::default());
        let settings = crate::trace::tests_support::settings(sink.clone());
        let root = Trace::start_root(
            &settings,
            TraceContext::new_root(&settings.propagation),
            BytesString::from_static("axum.request"),
            BytesString::from_static("GET /"),
            BytesString::from_static("web"),
        );
        let current = Current {
            trace: root.trace().clone(),
            span_id: root.span_id(),
        };
        let subscriber = tracing_subscriber::registry().with(NativeLayer);
        tracing::subscriber::with_default(subscriber, || {
            let _entered = current.enter();
            f();
        });
        root.finish();
        let spans = sink.0.lock().unwrap().clone();
        spans
    }

    fn named<'a>(spans: &'a [SpanBytes], name: &str) -> &'a SpanBytes {
        spans
            .iter()
            .find(|s| s.name.as_str() == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    }

    #[test]
    fn tracing_spans_in_a_request_become_its_children() {
        let spans = in_request(|| {
            let outer = tracing::info_span!(
                "child.work",
                user = 42,
                region = "eu",
                resource = "load user"
            );
            let _outer = outer.enter();
            let inner = tracing::info_span!("db.query", span.type = "sql", service = "shop-db");
            let _inner = inner.enter();
            tracing::error!(error = "connection reset", "query failed");
        });
        let root = named(&spans, "axum.request");
        let outer = named(&spans, "child.work");
        let inner = named(&spans, "db.query");
        assert_eq!(outer.parent_id, root.span_id);
        assert_eq!(inner.parent_id, outer.span_id);
        assert_eq!(outer.resource.as_str(), "load user");
        assert_eq!(outer.meta.get("region").map(|v| v.as_str()), Some("eu"));
        assert_eq!(outer.metrics.get("user").copied(), Some(42.0));
        assert_eq!(
            (inner.r#type.as_str(), inner.service.as_str()),
            ("sql", "shop-db")
        );
        assert_eq!(inner.error, 1);
        assert_eq!(
            inner.meta.get("error.message").map(|v| v.as_str()),
            Some("connection reset")
        );
        assert_eq!(outer.error, 0);
    }

    #[test]
    fn record_error_inside_a_tracing_span_marks_that_span() {
        let spans = in_request(|| {
            let span = tracing::info_span!("payment.charge");
            let _e = span.enter();
            assert!(crate::record_error(&std::fmt::Error));
        });
        let charge = named(&spans, "payment.charge");
        assert_eq!(charge.error, 1);
        assert_eq!(
            charge.meta.get("error.type").map(|v| v.as_str()),
            Some("core::fmt::Error")
        );
        assert_eq!(named(&spans, "axum.request").error, 0);
    }

    #[test]
    fn outside_a_request_nothing_is_recorded() {
        let sink_spans = {
            let subscriber = tracing_subscriber::registry().with(NativeLayer);
            tracing::subscriber::with_default(subscriber, || {
                let span = tracing::info_span!("background");
                let _e = span.enter();
                Current::get().is_none()
            })
        };
        assert!(sink_spans);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn no_field_value_panics_the_layer(text in ".{0,300}", number in any::<i64>(), float in any::<f64>(), flag in any::<bool>()) {
            let spans = in_request(|| {
                let span = tracing::info_span!(
                    "work",
                    resource = %text,
                    service = %text,
                    span.type = %text,
                    other = %text,
                    number,
                    float,
                    flag,
                    later = tracing::field::Empty,
                );
                span.record("later", text.as_str());
                let _e = span.enter();
                tracing::error!(error = %text, "failed");
                tracing::error!(error = ?text);
            });
            prop_assert_eq!(spans.len(), 2);
            let work = spans.iter().find(|s| s.name.as_str() == "work");
            prop_assert!(work.is_some());
        }
    }
}
