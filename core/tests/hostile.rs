//! Hostile input: property tests for every parser that sees request or configuration data.
//! Fixed case counts and a fixed seed keep CI deterministic. Each property says: never a
//! panic, and output bounded by the limits documented in `docs/reliability.md`.

use ddtrace_core::client_ip::resolve_client_ip;
use ddtrace_core::propagation::HeaderExtractor;
use ddtrace_core::tags::{parse_asgi_tags, parse_dd_tags};
use ddtrace_core::{Config, HeaderTags, QueryObfuscation, StatusRanges};
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::Extractor;
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, RngSeed};

fn config(cases: u32) -> PropConfig {
    PropConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x00dd_7ace),
        failure_persistence: None,
        ..PropConfig::default()
    }
}

/// Any bytes a header value may legally carry (visible ASCII, space, tab, obs-text).
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff],
        0..300,
    )
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("traceparent".to_string()),
        Just("tracestate".to_string()),
        Just("x-datadog-trace-id".to_string()),
        Just("x-datadog-parent-id".to_string()),
        Just("x-datadog-tags".to_string()),
        Just("baggage".to_string()),
        Just("x-forwarded-for".to_string()),
        Just("forwarded".to_string()),
        "[a-z][a-z0-9-]{0,20}",
    ]
}

fn header_map(entries: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in entries {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_bytes(v),
        ) {
            map.append(k, v);
        }
    }
    map
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn header_extraction_never_panics(entries in prop::collection::vec((header_name(), header_value()), 0..24)) {
        let map = header_map(&entries);
        let extractor = HeaderExtractor::new(&map);
        for key in ["traceparent", "tracestate", "x-datadog-tags", "baggage", "TraceParent"] {
            if let Some(v) = extractor.get(key) {
                // Folding repeated fields never makes more than the fields themselves.
                let total: usize = map.get_all(key.to_ascii_lowercase()).iter().map(|v| v.len() + 1).sum();
                prop_assert!(v.len() <= total);
            }
        }
        let _ = ddtrace_core::propagation::extract(&map);
    }

    #[test]
    fn tag_grammars_never_panic(input in "\\PC{0,400}") {
        let tags = parse_dd_tags(&input);
        prop_assert!(tags.len() <= input.len());
        for (k, v) in &tags {
            prop_assert!(!k.is_empty() && k.len() + v.len() <= input.len());
        }
        let _ = parse_asgi_tags(&input);
        let (header_tags, _) = HeaderTags::parse_lenient(&input);
        prop_assert!(header_tags.len() <= 64);
    }

    #[test]
    fn status_ranges_never_panic(input in "[0-9 ,\\-a-z]{0,200}", status in any::<u16>()) {
        let (ranges, rejected) = StatusRanges::parse_lenient(&input);
        let _ = ranges.contains(status);
        prop_assert!(rejected.len() <= input.len());
        let from_env = Config::from_lookup(|n| (n == "DD_TRACE_HTTP_SERVER_ERROR_STATUSES").then(|| input.clone()));
        let _ = from_env.server_error_statuses().contains(status);
    }

    #[test]
    fn query_obfuscation_never_panics(query in "[ -~]{0,2000}") {
        let out = QueryObfuscation::default().apply(&query).map(|q| q.into_owned());
        let out = out.expect("the default regex always tags the query");
        // Each match becomes `<redacted>` (10 bytes) plus, at most, the character kept
        // before a JWT: never more than 11 bytes per input byte.
        prop_assert!(out.len() <= query.len() * 11 + 11);
    }

    #[test]
    fn client_ip_resolution_never_panics(
        entries in prop::collection::vec((header_name(), header_value()), 0..12),
        peer in prop::option::of(any::<[u8; 4]>()),
        custom in prop::option::of(header_name()),
    ) {
        let map = header_map(&entries);
        let peer = peer.map(std::net::IpAddr::from);
        let _ = resolve_client_ip(&map, peer, custom.as_deref());
    }
}

#[test]
fn oversized_input_is_bounded() {
    // 100 KiB query: linear-time regex, and the tagged URL part is capped.
    let query = "a=b&".repeat(25_600);
    let obfuscated = QueryObfuscation::default().apply(&query).expect("tagged");
    assert_eq!(obfuscated.len(), query.len());

    // 1 MiB header values and 10,000 headers: extraction and header tags stay bounded.
    let mut map = HeaderMap::new();
    let huge = HeaderValue::from_bytes(&vec![b'x'; 1 << 20]).expect("valid");
    map.insert("x-datadog-tags", huge.clone());
    map.insert("x-big", huge);
    for i in 0..10_000 {
        map.append(
            HeaderName::from_bytes(format!("x-h-{}", i % 997).as_bytes()).expect("valid"),
            HeaderValue::from_static("v"),
        );
    }
    let _ = ddtrace_core::propagation::extract(&map);
    let (tags, _) = HeaderTags::parse_lenient("x-big,x-h-1");
    let tagged: Vec<(&str, String)> = tags.request_tags(&map).collect();
    assert!(
        tagged.iter().all(|(_, v)| v.len() <= 4096),
        "tag values are cut at 4 KiB"
    );
    let forwarded = "10.0.0.1,".repeat(100_000);
    let mut map = HeaderMap::new();
    map.insert(
        "x-forwarded-for",
        HeaderValue::from_str(&forwarded).expect("valid"),
    );
    assert!(resolve_client_ip(&map, None, None).is_some());
}
