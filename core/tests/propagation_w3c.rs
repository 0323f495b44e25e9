//! W3C Trace Context level 2 (w3.org/TR/trace-context-2), checked requirement by requirement
//! for a tracer that continues and forwards a trace. Each test names the section it checks.

use ddtrace_core::propagation::{PropagationConfig, Propagator, Style, TraceContext};
use http::HeaderMap;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn propagator() -> Propagator {
    Propagator::new(PropagationConfig::default().with_styles(&[Style::TraceContext]))
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    ddtrace_conformance::inproc::header_map(pairs)
}

/// Continues `pairs` and forwards from span 1: the outgoing headers.
fn forward(pairs: &[(&str, &str)]) -> (TraceContext, HeaderMap) {
    let p = propagator();
    let mut trace = TraceContext::start(p.extract(&headers(pairs)), p.config());
    if trace.sampling_priority().is_none() {
        trace.set_sampling_decision(1, 0);
    }
    let mut out = HeaderMap::new();
    trace.inject(1, p.config(), &mut out);
    (trace, out)
}

fn continued(traceparent: &str) -> bool {
    let p = propagator();
    p.extract(&headers(&[("traceparent", traceparent)]))
        .remote()
        .is_some()
}

fn tracestate_out(tracestate: &str) -> String {
    let (_, out) = forward(&[
        ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        ("tracestate", tracestate),
    ]);
    out["tracestate"].to_str().unwrap().to_string()
}

/// The members after Datadog's own `dd=` member.
fn others(tracestate: &str) -> Vec<String> {
    let out = tracestate_out(tracestate);
    out.split(',').skip(1).map(str::to_string).collect()
}

// 3.2.2.2 version: 2 lower-case hex digits; `ff` is invalid.
#[test]
fn version_is_two_lowercase_hex_digits_and_ff_is_invalid() {
    assert!(continued(&format!("00-{TRACE}-{PARENT}-01")));
    assert!(!continued(&format!("ff-{TRACE}-{PARENT}-01")));
    assert!(!continued(&format!("0g-{TRACE}-{PARENT}-01")));
    assert!(!continued(&format!("0A-{TRACE}-{PARENT}-01")));
    assert!(!continued(&format!("0-{TRACE}-{PARENT}-01")));
}

// 3.2.2.3 trace-id: 32 HEXDIGLC, not all zero; 3.2.2.4 parent-id: 16 HEXDIGLC, not all zero.
#[test]
fn ids_are_lowercase_hex_of_exact_length_and_not_zero() {
    assert!(!continued(&format!(
        "00-{}-{PARENT}-01",
        TRACE.to_uppercase()
    )));
    assert!(!continued(&format!("00-{}-{PARENT}-01", "0".repeat(32))));
    assert!(!continued(&format!("00-{}-{PARENT}-01", &TRACE[1..])));
    assert!(!continued(&format!("00-{TRACE}0-{PARENT}-01")));
    assert!(!continued(&format!(
        "00-{TRACE}-{}-01",
        PARENT.to_uppercase()
    )));
    assert!(!continued(&format!("00-{TRACE}-{}-01", "0".repeat(16))));
    assert!(!continued(&format!("00-{TRACE}-{}-01", &PARENT[1..])));
    assert!(!continued(&format!("00-{TRACE}-{PARENT}-1")));
    assert!(!continued(&format!("00-{TRACE}-{PARENT}-0x")));
    assert!(!continued(&format!("00_{TRACE}_{PARENT}_01")));
}

// 3.2.2.5 trace-flags: a bit field; only `sampled` (bit 0) decides sampling.
#[test]
fn sampled_is_bit_zero_of_the_flags() {
    let priority = |flags: &str| {
        let (trace, _) = forward(&[("traceparent", &format!("00-{TRACE}-{PARENT}-{flags}"))]);
        trace.sampling_priority()
    };
    assert_eq!(priority("01"), Some(1));
    assert_eq!(priority("00"), Some(0));
    assert_eq!(priority("09"), Some(1));
    assert_eq!(priority("02"), Some(0));
    assert_eq!(priority("ff"), Some(1));
}

// 3.2.2.5.2 random-trace-id flag: set in the incoming header, it is set in every outgoing one
// with the same trace-id; unset, it stays unset. Unknown flags are sent as 0.
#[test]
fn the_random_flag_is_propagated_unchanged_and_unknown_flags_are_zeroed() {
    let flags = |incoming: &str| {
        let (_, out) = forward(&[("traceparent", &format!("00-{TRACE}-{PARENT}-{incoming}"))]);
        out["traceparent"]
            .to_str()
            .unwrap()
            .rsplit('-')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(flags("03"), "03");
    assert_eq!(flags("02"), "02");
    assert_eq!(flags("01"), "01");
    assert_eq!(flags("00"), "00");
    assert_eq!(flags("fd"), "01");
    assert_eq!(flags("fe"), "02");
}

// 3.2.2.5.2: a trace-id whose right-most 7 bytes are random SHOULD carry the flag: this
// tracer's new ids have 64 random low bits.
#[test]
fn a_new_trace_sets_the_random_flag() {
    let (_, out) = forward(&[]);
    let tp = out["traceparent"].to_str().unwrap();
    assert!(tp.ends_with("-03"), "{tp}");
}

// 3.2.4 versioning: a higher version is parsed for the version-00 fields, which must each be
// followed by `-` or the end; a version-00 header has exactly four fields.
#[test]
fn higher_versions_parse_the_known_fields_and_version_00_allows_no_more() {
    assert!(continued(&format!(
        "cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
    )));
    assert!(continued(&format!("01-{TRACE}-{PARENT}-01")));
    assert!(!continued(&format!(
        "cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like"
    )));
    assert!(!continued(&format!("00-{TRACE}-{PARENT}-01-extra")));
    assert!(!continued(&format!("00-{TRACE}-{PARENT}-01-")));
    assert!(!continued(&format!("cc-{TRACE}-{PARENT}")));
}

// 3.4 mutations: a forwarded traceparent is version 00, keeps the trace-id, and carries the
// forwarding span as parent-id.
#[test]
fn forwarding_downgrades_the_version_and_updates_the_parent() {
    let (_, out) = forward(&[("traceparent", &format!("cc-{TRACE}-{PARENT}-01-future"))]);
    assert_eq!(
        out["traceparent"],
        format!("00-{TRACE}-0000000000000001-01").as_str()
    );
}

// 3.3 tracestate: if traceparent is invalid, tracestate is not parsed (processing model); a
// tracestate without a traceparent is discarded.
#[test]
fn tracestate_is_ignored_without_a_valid_traceparent() {
    let p = propagator();
    let extracted = p.extract(&headers(&[("tracestate", "rojo=1")]));
    assert!(extracted.remote().is_none());
    let (_, out) = forward(&[("traceparent", "00-zz-00-01"), ("tracestate", "rojo=1")]);
    assert!(!out["tracestate"].to_str().unwrap().contains("rojo"));
}

// 3.3.1.3.1 list: OWS around members and empty members are allowed; several fields combine in
// order (RFC 9110 5.3).
#[test]
fn whitespace_empty_members_and_repeated_fields() {
    assert_eq!(others(" a=1 \t,, \tb=2 ,"), ["a=1", "b=2"]);
    let (_, out) = forward(&[
        ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        ("tracestate", "a=1"),
        ("tracestate", ""),
        ("tracestate", "b=2,c=3"),
    ]);
    let ts = out["tracestate"].to_str().unwrap();
    assert!(ts.ends_with(",a=1,b=2,c=3"), "{ts}");
}

// 3.3.1.3.2 key: starts with a lower-case letter or digit; then up to 255 of a-z 0-9 _ - * / @.
#[test]
fn members_with_keys_outside_the_grammar_are_discarded() {
    let long_ok = format!("a{}", "b".repeat(255));
    let too_long = format!("a{}", "b".repeat(256));
    let list = format!("ok=1,Upper=2,_x=3,-x=4,k.y=5,0tenant@vendor=6,a/b*c_d-e=7,{long_ok}=8,{too_long}=9,=10,sp ace=11");
    let kept = others(&list);
    let long_member = format!("{long_ok}=8");
    // The 257-character member is kept by the grammar but is also over 128 characters, the
    // first kind dropped when over the 512-character budget.
    assert!(kept.contains(&"ok=1".to_string()));
    assert!(kept.contains(&"0tenant@vendor=6".to_string()));
    assert!(kept.contains(&"a/b*c_d-e=7".to_string()));
    for bad in ["Upper=2", "_x=3", "-x=4", "k.y=5", "=10", "sp ace=11"] {
        assert!(!kept.contains(&bad.to_string()), "{bad} kept: {kept:?}");
    }
    assert!(!kept.iter().any(|m| m.starts_with(&too_long)));
    // Alone (within the budget), a 256-character key is valid.
    assert_eq!(others(&format!("{long_ok}=8")), [long_member]);
}

// 3.3.1.3.3 value: up to 256 printable characters except `,` and `=`, not ending in a space;
// leading spaces are part of the value.
#[test]
fn members_with_values_outside_the_grammar_are_discarded() {
    let v256 = "v".repeat(256);
    let v257 = "v".repeat(257);
    let kept = others(&format!("a= lead,b=x=y,c=,d={v257},e=tab\there"));
    assert_eq!(kept, ["a= lead"]);
    assert_eq!(
        others("a=~!@#$%^&*()_+{}|:\"<>?[];'./"),
        ["a=~!@#$%^&*()_+{}|:\"<>?[];'./"]
    );
    // Alone (within the budget), a 256-character value is valid.
    assert_eq!(others(&format!("a={v256}")), [format!("a={v256}")]);
}

// 3.3.1.1 and 3.5: a key appears at most once; the specification lets a vendor discard
// duplicates it did not generate. The first is kept (dd-trace-py keeps both; the system-tests
// vectors accept either value).
#[test]
fn duplicate_keys_keep_the_first_member() {
    assert_eq!(others("a=1,b=2,a=3"), ["a=1", "b=2"]);
}

// 3.5 mutating: the vendor's own member goes first, the others keep their order, the old own
// member is removed.
#[test]
fn datadog_member_first_others_in_order_old_member_removed() {
    let out = tracestate_out("rojo=1,dd=s:1;o:x,congo=2");
    assert!(out.starts_with("dd=p:0000000000000001;s:1;o:x,"), "{out}");
    assert!(out.ends_with(",rojo=1,congo=2"), "{out}");
    assert_eq!(out.matches("dd=").count(), 1);
}

// 3.3.1.4 limits: at most 32 members; past that the right-most go.
#[test]
fn at_most_32_members_right_most_dropped() {
    let list: Vec<String> = (0..40).map(|i| format!("k{i}=v")).collect();
    let out = tracestate_out(&list.join(","));
    let members: Vec<&str> = out.split(',').collect();
    assert_eq!(members.len(), 32);
    assert!(members[0].starts_with("dd="));
    assert_eq!(
        members[1..],
        list[..31].iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
}

// 3.3.1.5 size: at least 512 characters propagated; when truncating, whole members, the ones
// over 128 characters first, then from the end.
#[test]
fn over_512_characters_long_members_go_first_then_from_the_end() {
    let long = format!("long={}", "x".repeat(200));
    let mut list = vec!["a=1".to_string(), long.clone()];
    list.extend((0..20).map(|i| format!("k{i:02}={}", "y".repeat(20))));
    let out = tracestate_out(&list.join(","));
    assert!(out.len() <= 512, "{} characters", out.len());
    assert!(!out.contains(&long));
    assert!(out.contains(",a=1,k00="));
    // Whole members only.
    for m in out.split(',').skip(1) {
        assert!(list.iter().any(|l| l == m), "{m}");
    }
    // Within 512 characters nothing is dropped.
    let short: Vec<String> = (0..10).map(|i| format!("k{i}=v")).collect();
    assert_eq!(others(&short.join(",")), short);
}
