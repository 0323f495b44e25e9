use super::*;
use crate::propagation::{PropagationConfig, Propagator, TraceContext};
use crate::sampling::Sampler;
use libdd_tinybytes::BytesString;
use libdd_trace_utils::span::v04::SpanBytes;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Collect(Mutex<Vec<Vec<SpanBytes>>>);

impl ChunkSink for Collect {
    fn send(&self, chunk: Vec<SpanBytes>) {
        self.0.lock().unwrap().push(chunk);
    }
}

fn settings(
    sampling: &'static [(&'static str, &'static str)],
) -> (Arc<TraceSettings>, Arc<Collect>) {
    let sink = Arc::new(Collect::default());
    let settings = Arc::new(TraceSettings {
        service: BytesString::from_static("shop"),
        env: Some(BytesString::from_static("staging")),
        version: Some(BytesString::from_static("1.2")),
        tags: vec![(
            BytesString::from_static("team"),
            BytesString::from_static("core"),
        )],
        runtime_id: BytesString::from_static("6a2c0e3e-0000-4000-8000-000000000001"),
        propagation: PropagationConfig::default(),
        sampler: Arc::new(Sampler::from_lookup(|n| {
            sampling
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })),
        sink: sink.clone(),
    });
    (settings, sink)
}

fn root(settings: &Arc<TraceSettings>, headers: &[(&str, &str)]) -> ActiveSpan {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let extracted = Propagator::new(settings.propagation.clone()).extract(&map);
    let propagation = TraceContext::start(extracted, &settings.propagation);
    Trace::start_root(
        settings,
        propagation,
        BytesString::from_static("axum.request"),
        BytesString::from_static("GET /users/{id}"),
        BytesString::from_static("web"),
    )
}

fn meta<'a>(span: &'a SpanBytes, key: &str) -> Option<&'a str> {
    span.meta.get(key).map(|v| v.as_str())
}

fn metric(span: &SpanBytes, key: &str) -> Option<f64> {
    span.metrics.get(key).copied()
}

#[test]
fn the_root_and_its_children_go_out_as_one_chunk_when_the_root_ends() {
    let (settings, sink) = settings(&[]);
    let root = root(&settings, &[]);
    let root_id = root.span_id();
    let child = root.child(BytesString::from_static("child.work"));
    let grandchild = child.child(BytesString::from_static("db.query"));
    grandchild.finish();
    child.finish();
    assert!(
        sink.0.lock().unwrap().is_empty(),
        "nothing before the root ends"
    );
    root.finish();
    let chunks = sink.0.lock().unwrap();
    assert_eq!(chunks.len(), 1);
    let chunk = &chunks[0];
    assert_eq!(chunk.len(), 3);
    let (db, child, root) = (&chunk[0], &chunk[1], &chunk[2]);
    assert_eq!(root.span_id, root_id);
    assert_eq!((child.parent_id, db.parent_id), (root_id, child.span_id));
    assert!(chunk
        .iter()
        .all(|s| s.trace_id == root.trace_id && s.service.as_str() == "shop"));
    assert_eq!(
        (child.name.as_str(), child.resource.as_str()),
        ("child.work", "child.work")
    );
    assert_eq!(root.parent_id, 0);
    assert_eq!(metric(root, "_sampling_priority_v1"), Some(1.0));
    assert_eq!(meta(root, "_dd.p.dm"), Some("-0"));
    assert_eq!(meta(root, "language"), Some("rust"));
    assert_eq!(
        meta(root, "runtime-id"),
        Some("6a2c0e3e-0000-4000-8000-000000000001")
    );
    assert_eq!(
        metric(root, "process_id"),
        Some(f64::from(std::process::id()))
    );
    assert_eq!(
        (meta(root, "env"), meta(root, "version"), meta(root, "team")),
        (Some("staging"), Some("1.2"), Some("core"))
    );
    let tid = meta(root, "_dd.p.tid").expect("128-bit ids carry their high half");
    assert_eq!(
        u64::from_str_radix(tid, 16).ok(),
        Some((root.trace_id >> 64) as u64)
    );
    assert!(root.duration >= 0 && root.start > 0);
    // Only the root carries the trace's tags.
    assert_eq!(metric(child, "_sampling_priority_v1"), None);
    assert_eq!(meta(child, "language"), None);
}

#[test]
fn a_span_that_outlives_the_root_goes_out_in_a_later_chunk() {
    let (settings, sink) = settings(&[]);
    let root = root(&settings, &[]);
    let spawned = root.child(BytesString::from_static("background.job"));
    root.finish();
    spawned.finish();
    let chunks = sink.0.lock().unwrap();
    assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
    let late = &chunks[1][0];
    assert_eq!(late.parent_id, chunks[0][0].span_id);
    assert_eq!(metric(late, "_sampling_priority_v1"), Some(1.0));
    assert_eq!(meta(late, "_dd.p.dm"), Some("-0"));
}

#[test]
fn a_continued_trace_keeps_its_upstream_decision_and_origin() {
    let (settings, sink) = settings(&[("DD_TRACE_SAMPLING_RULES", r#"[{"sample_rate":0}]"#)]);
    let root = root(
        &settings,
        &[
            ("x-datadog-trace-id", "1234"),
            ("x-datadog-parent-id", "5678"),
            ("x-datadog-sampling-priority", "2"),
            ("x-datadog-origin", "synthetics"),
            ("x-datadog-tags", "_dd.p.dm=-4,_dd.p.usr.id=baz"),
        ],
    );
    let child = root.child(BytesString::from_static("child.work"));
    child.finish();
    root.finish();
    let chunks = sink.0.lock().unwrap();
    let (child, root) = (&chunks[0][0], &chunks[0][1]);
    assert_eq!((root.trace_id, root.parent_id), (1234, 5678));
    assert_eq!(metric(root, "_sampling_priority_v1"), Some(2.0));
    assert_eq!(meta(root, "_dd.p.dm"), Some("-4"));
    assert_eq!(meta(root, "_dd.p.usr.id"), Some("baz"));
    assert_eq!(meta(root, "_dd.p.tid"), None);
    assert_eq!(
        (meta(root, "_dd.origin"), meta(child, "_dd.origin")),
        (Some("synthetics"), Some("synthetics"))
    );
    assert_eq!(
        metric(root, "_dd.rule_psr"),
        None,
        "no local sampling for a continued trace"
    );
}

#[test]
fn rules_sample_the_local_root() {
    let (settings, sink) = settings(&[(
        "DD_TRACE_SAMPLING_RULES",
        r#"[{"sample_rate":0,"service":"shop"}]"#,
    )]);
    root(&settings, &[]).finish();
    let chunks = sink.0.lock().unwrap();
    let root = &chunks[0][0];
    assert_eq!(metric(root, "_sampling_priority_v1"), Some(-1.0));
    assert_eq!(meta(root, "_dd.p.dm"), Some("-3"));
    assert_eq!(metric(root, "_dd.rule_psr"), Some(0.0));
}

#[test]
fn an_outgoing_request_samples_first_and_carries_the_injecting_span() {
    let (settings, sink) = settings(&[]);
    let root = root(&settings, &[]);
    let client = root.child(BytesString::from_static("reqwest.request"));
    let mut headers = http::HeaderMap::new();
    client.inject(&mut headers);
    assert_eq!(
        headers["x-datadog-parent-id"],
        client.span_id().to_string().as_str()
    );
    assert_eq!(headers["x-datadog-sampling-priority"], "1");
    assert_eq!(
        headers["x-datadog-trace-id"],
        (root.trace().trace_id() as u64).to_string().as_str()
    );
    client.finish();
    root.finish();
    let chunks = sink.0.lock().unwrap();
    assert_eq!(meta(&chunks[0][1], "_dd.p.dm"), Some("-0"));
}

#[test]
fn span_links_of_the_extraction_are_on_the_root() {
    let (settings, sink) = settings(&[]);
    root(
        &settings,
        &[
            ("x-datadog-trace-id", "2"),
            ("x-datadog-parent-id", "2"),
            (
                "traceparent",
                "00-12345678901234567890123456789012-1234567890123456-01",
            ),
        ],
    )
    .finish();
    let chunks = sink.0.lock().unwrap();
    let link = &chunks[0][0].span_links[0];
    assert_eq!(
        (link.trace_id, link.span_id),
        (0x7890123456789012, 0x1234567890123456)
    );
    assert_eq!(
        link.attributes
            .get(&BytesString::from_static("reason"))
            .map(|v| v.as_str()),
        Some("terminated_context")
    );
}

#[test]
fn a_tag_set_twice_goes_out_once_with_its_last_value_and_the_maps_marked_checked() {
    let (settings, sink) = settings(&[]);
    let mut root = root(&settings, &[]);
    root.set_meta(
        BytesString::from_static("http.route"),
        BytesString::from_static("/a"),
    );
    root.set_meta(
        BytesString::from_static("http.route"),
        BytesString::from_static("/b"),
    );
    let child = root.child(BytesString::from_static("child.work"));
    child.finish();
    root.finish();
    let chunks = sink.0.lock().unwrap();
    for span in &chunks[0] {
        assert!(span.meta.is_deduped() && span.metrics.is_deduped());
        let keys: Vec<&str> = span.meta.iter().map(|(k, _)| k.as_str()).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(keys.len(), unique.len(), "{keys:?}");
    }
    let root_span = chunks[0].iter().find(|s| s.parent_id == 0).unwrap();
    assert_eq!(meta(root_span, "http.route"), Some("/b"));
}
