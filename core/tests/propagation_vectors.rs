//! Every vector of `tests/vectors/propagation.json`, run through the core's propagation engine
//! directly: extract the request headers, start the local root as the pipeline does (with the
//! default sampler's decision when upstream made none: keep, decision maker `-0`), set the
//! vector's baggage, inject from a child span, and check the vector's assertions on the root
//! span's tags and the outgoing headers, with the suite's own assertion language.

use ddtrace_conformance::assertions;
use ddtrace_core::propagation::{PropagationConfig, Propagator, TraceContext};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Map, Value};

fn load() -> Value {
    let path = format!(
        "{}/../tests/vectors/propagation.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the agent would receive for the local root span, in its JSON shape.
fn root_span(trace: &TraceContext, span_id: u64) -> Value {
    let mut meta = Map::new();
    trace.root_tags(|k, v| {
        meta.insert(k.to_string(), Value::from(v));
    });
    let mut metrics = Map::new();
    if let Some(p) = trace.sampling_priority() {
        metrics.insert("_sampling_priority_v1".into(), json!(p));
    }
    let links: Vec<Value> = trace
        .links()
        .iter()
        .map(|l| {
            json!({
                "trace_id": l.trace_id as u64,
                "trace_id_high": (l.trace_id >> 64) as u64,
                "span_id": l.span_id,
                "flags": u64::from(l.flags) | 1 << 31,
                "tracestate": l.tracestate.as_deref(),
                "attributes": {"reason": l.reason, "context_headers": l.context_headers.name()},
            })
        })
        .collect();
    json!({
        "trace_id": trace.trace_id() as u64,
        "span_id": span_id,
        "parent_id": trace.parent_id(),
        "meta": meta,
        "metrics": metrics,
        "span_links": links,
    })
}

fn run(v: &Value) -> Result<(), String> {
    let env = v["style_config"].clone();
    let config = PropagationConfig::from_lookup(|name| {
        env.get(name).and_then(Value::as_str).map(str::to_string)
    });
    let propagator = Propagator::new(config);
    let mut headers = HeaderMap::new();
    for h in v["request_headers"].as_array().into_iter().flatten() {
        let (name, value) = (h[0].as_str().unwrap_or(""), h[1].as_str().unwrap_or(""));
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?,
            HeaderValue::from_bytes(value.as_bytes()).map_err(|e| e.to_string())?,
        );
    }
    let mut trace = TraceContext::start(propagator.extract(&headers), propagator.config());
    if trace.sampling_priority().is_none() {
        trace.set_sampling_decision(1, 0);
    }
    for item in v["set_baggage"].as_array().into_iter().flatten() {
        trace.baggage_mut().set(
            item[0].as_str().unwrap_or(""),
            item[1].as_str().unwrap_or(""),
        );
    }
    let (server_id, client_id) = (0x1111_2222_3333_4444, 0x5555_6666_7777_8888);
    let mut out = HeaderMap::new();
    trace.inject(client_id, propagator.config(), &mut out);
    let captured: Vec<(String, String)> = out
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let model = json!({
        "span": assertions::span_model(&root_span(&trace, server_id)),
        "out": assertions::outbound_model(&captured),
    });
    let mut refs = model.clone();
    refs["span"]["span_id"] = Value::from(client_id);
    assertions::check_all(&model, &refs, v)
}

#[test]
fn every_propagation_vector_passes_through_the_engine() {
    let file = load();
    let vectors = file["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 209);
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| {
            run(v)
                .err()
                .map(|e| format!("{}: {e}", v["name"].as_str().unwrap_or("?")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}
