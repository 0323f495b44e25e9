//! No header can panic the propagation engine or make what it keeps and sends grow without
//! bound: property tests over arbitrary propagation headers, values near every format, and
//! arbitrary bytes.

use ddtrace_core::propagation::{PropagationConfig, Propagator, Style, TraceContext};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

const NAMES: [&str; 15] = [
    "traceparent",
    "tracestate",
    "x-datadog-trace-id",
    "x-datadog-parent-id",
    "x-datadog-sampling-priority",
    "x-datadog-origin",
    "x-datadog-tags",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-sampled",
    "x-b3-flags",
    "x-b3-parentspanid",
    "b3",
    "baggage",
    "x-other",
];

/// Values close to each format, so the parsers' inner branches are reached, and anything.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9a-f-]{0,70}".prop_map(String::into_bytes),
        "(0[0-9a-f]|ff|cc)-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[ -~]{0,8})?"
            .prop_map(String::into_bytes),
        "([a-z0-9@*/_-]{0,6}=[ -~]{0,12}[,; \t]{0,2}){0,40}".prop_map(String::into_bytes),
        "dd=([sopt.a-z]{1,5}:[ -~]{0,10};?){0,12}(,[a-z]{1,3}=[a-z0-9]{1,3}){0,40}"
            .prop_map(String::into_bytes),
        "(_dd\\.p\\.[a-z]{1,4}=[ -~]{0,12},?){0,60}".prop_map(String::into_bytes),
        "[+-]?[0-9]{0,25}(\\.[0-9])?".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..300),
        (1usize..6).prop_map(|n| "k=v,".repeat(n * 1000).into_bytes()),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    proptest::collection::vec((0..NAMES.len(), value()), 0..10)
}

fn styles() -> impl Strategy<Value = Vec<Style>> {
    proptest::sample::subsequence(
        vec![
            Style::Datadog,
            Style::TraceContext,
            Style::B3Multi,
            Style::B3,
            Style::Baggage,
        ],
        0..=5,
    )
    .prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn extraction_and_injection_never_panic_and_stay_bounded(
        pairs in headers(),
        styles in styles(),
        first in any::<bool>(),
        behavior in 0u8..3,
    ) {
        let mut map = HeaderMap::new();
        for (i, v) in &pairs {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                map.append(HeaderName::from_static(NAMES[*i]), v);
            }
        }
        let env = |name: &str| match name {
            "DD_TRACE_PROPAGATION_EXTRACT_FIRST" => Some(first.to_string()),
            "DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT" => Some(["continue", "restart", "ignore"][behavior as usize].to_string()),
            _ => None,
        };
        let config = PropagationConfig::from_lookup(env).with_styles(&styles);
        let p = Propagator::new(config);
        let extracted = p.extract(&map);
        prop_assert!(extracted.links().len() <= 4);
        prop_assert!(extracted.baggage().len() <= 64);
        let mut trace = TraceContext::start(extracted, p.config());
        if trace.sampling_priority().is_none() {
            trace.set_sampling_decision(1, 0);
        }
        let mut out = HeaderMap::new();
        trace.inject(1, p.config(), &mut out);
        trace.root_tags(|_, _| {});
        if let Some(ts) = out.get("tracestate") {
            let ts = ts.to_str().unwrap_or("");
            let others = ts.split_once(',').map_or("", |(_, rest)| rest);
            prop_assert!(others.len() <= 512, "tracestate others {}", others.len());
            prop_assert!(ts.split(',').count() <= 32);
        }
        if let Some(tags) = out.get("x-datadog-tags") {
            prop_assert!(tags.len() <= 512);
        }
        if let Some(b) = out.get("baggage") {
            prop_assert!(b.len() <= 8192);
            prop_assert!(b.to_str().unwrap_or("").split(',').count() <= 64);
        }
        if let Some(tp) = out.get("traceparent") {
            prop_assert_eq!(tp.len(), 55);
        }
    }
}
