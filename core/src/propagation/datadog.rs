//! The Datadog headers: `x-datadog-trace-id`, `-parent-id`, `-sampling-priority`, `-origin`
//! and `-tags`.
//!
//! Extraction follows dd-trace-py's `_DatadogMultiHeader`: a trace id that is not an integer
//! in 1..2^64 means no context; a parent id or sampling priority that is not an integer drops
//! the whole context; an origin with a character outside 0x20-0x7E is ignored.

use super::carrier::{Carrier, Header};
use super::config::Style;
use super::context::{RemoteContext, TraceTags};
use super::Injector;
use crate::decimal::write_u64;

/// The longest `x-datadog-tags` Datadog's tracers decode, whatever the injection limit.
const MAX_DECODE_LENGTH: usize = 512;

pub(crate) fn extract(carrier: &Carrier<'_>) -> Option<RemoteContext> {
    let trace_id = carrier.get(Header::DatadogTraceId)?;
    let low = u128::from(parse_integer(trace_id).filter(|&id| id > 0)?);
    let parent_id = match carrier.get(Header::DatadogParentId) {
        None => 0,
        Some(v) => parse_integer(v)?,
    };
    let priority = match carrier.get(Header::DatadogSamplingPriority) {
        None => None,
        Some(v) => Some(parse_signed(v)?),
    };
    let mut cx = RemoteContext::new(Style::Datadog, low, parent_id);
    cx.priority = priority;
    cx.origin = carrier
        .get(Header::DatadogOrigin)
        .filter(|o| o.bytes().all(|b| (0x20..0x7f).contains(&b)))
        .map(Box::from);
    if let Some(tags) = carrier.get(Header::DatadogTags).filter(|t| !t.is_empty()) {
        match decode_tags(tags) {
            Ok((decoded, tid, error)) => {
                cx.tags = decoded;
                cx.error = error.map(Box::from);
                match tid {
                    Some(Ok(high)) => cx.trace_id |= u128::from(high) << 64,
                    Some(Err(bad)) => cx.error = Some(format!("malformed_tid {bad}").into()),
                    None => {}
                }
            }
            Err(reason) => cx.error = Some(reason.into()),
        }
    }
    Some(cx)
}

/// An unsigned decimal integer as Python's `int()` reads it (optional surrounding whitespace
/// and an optional `+`); `None` when it is not one or does not fit in 64 bits.
fn parse_integer(v: &str) -> Option<u64> {
    let v = v.trim_matches([' ', '\t']);
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() {
        return None;
    }
    // A loop over the bytes: `str::parse` for wide integers costs about ten times as much.
    let mut n: u64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// A signed decimal integer (a sampling priority), as Python's `int()` reads it.
pub(crate) fn parse_signed(v: &str) -> Option<i32> {
    let v = v.trim_matches([' ', '\t']);
    let (negative, digits) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let n = i64::try_from(
        parse_integer(digits).filter(|_| !digits.starts_with(['+', '-', ' ', '\t']))?,
    )
    .ok()?;
    i32::try_from(if negative { -n } else { n }).ok()
}

/// The high half of the trace id from `_dd.p.tid`: `Err` holds a malformed value.
type Tid<'a> = Option<Result<u64, &'a str>>;

/// Decoded tags, `_dd.p.tid`, and an error that did not reject the whole header.
type Decoded<'a> = (TraceTags, Tid<'a>, Option<&'static str>);

/// Decodes `x-datadog-tags` (`key=value,...`): only `_dd.p.*` keys are kept,
/// `_dd.p.upstream_services` is dropped, `_dd.p.dm` and `_dd.p.tid` are validated. The error
/// is `_dd.propagation_error`'s value.
pub(crate) fn decode_tags(value: &str) -> Result<Decoded<'_>, &'static str> {
    if value.len() > MAX_DECODE_LENGTH {
        return Err("extract_max_size");
    }
    let mut tags = TraceTags::default();
    let mut tid = None;
    let mut dm_invalid = false;
    for item in value.split(',') {
        let (key, val) = item.split_once('=').ok_or("decoding_error")?;
        let (key, val) = (key.trim_matches(' '), val.trim_matches(' '));
        let key_ok = !key.is_empty() && key.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b'=');
        let val_ok = !val.is_empty() && val.bytes().all(|b| (0x20..0x7f).contains(&b));
        if !key_ok || !val_ok {
            return Err("decoding_error");
        }
        if !key.starts_with("_dd.p.") || key == "_dd.p.upstream_services" {
            continue;
        }
        match key {
            "_dd.p.tid" => tid = Some(parse_tid(val).ok_or(val)),
            "_dd.p.dm" if !is_valid_decision_maker(val) => dm_invalid = true,
            _ => tags.set(key, val),
        }
    }
    // dd-trace-py's `validate_sampling_decision`: an invalid `_dd.p.dm` goes, the others stay,
    // and the error is reported.
    Ok((tags, tid, dm_invalid.then_some("decoding_error")))
}

/// `-N` with N in 0..=255.
pub(crate) fn is_valid_decision_maker(v: &str) -> bool {
    v.strip_prefix('-')
        .filter(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u16>().ok())
        .is_some_and(|n| n <= 255)
}

/// `_dd.p.tid`: exactly 16 lower-case hex digits, not all zero.
pub(crate) fn parse_tid(v: &str) -> Option<u64> {
    if v.len() != 16 || !v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(v, 16).ok().filter(|&h| h != 0)
}

/// The Datadog headers for a span of a trace.
pub(crate) struct Outgoing<'a> {
    pub trace_id: u128,
    pub span_id: u64,
    pub priority: Option<i32>,
    pub origin: Option<&'a str>,
    pub tags: &'a TraceTags,
    pub max_tags_length: usize,
    /// `_dd.propagation_error` already on the trace: tags are then not encoded again.
    pub error: Option<&'a str>,
}

/// Injects the Datadog headers; returns the `_dd.propagation_error` the trace gets when the
/// tags could not be sent.
pub(crate) fn inject(out: &Outgoing<'_>, injector: &mut dyn Injector) -> Option<&'static str> {
    let mut buf = [0u8; 20];
    injector.set(
        "x-datadog-trace-id",
        write_u64(out.trace_id as u64, &mut buf),
    );
    injector.set("x-datadog-parent-id", write_u64(out.span_id, &mut buf));
    if let Some(p) = out.priority {
        injector.set("x-datadog-sampling-priority", &p.to_string());
    }
    if let Some(origin) = out.origin {
        injector.set("x-datadog-origin", origin);
    }
    if out.max_tags_length == 0 {
        return Some("disabled");
    }
    if out.error.is_some() {
        return None;
    }
    let high = (out.trace_id >> 64) as u64;
    if out.tags.is_empty() && high == 0 {
        return None;
    }
    let mut encoded = String::with_capacity(64);
    for (k, v) in out.tags.iter() {
        let key_ok = k
            .bytes()
            .all(|b| (0x21..0x7f).contains(&b) && b != b',' && b != b'=');
        let val_ok = v.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b',');
        if !key_ok || !val_ok {
            return Some("encoding_error");
        }
        if !encoded.is_empty() {
            encoded.push(',');
        }
        encoded.push_str(k);
        encoded.push('=');
        encoded.push_str(v.trim_matches(' '));
    }
    if high != 0 {
        if !encoded.is_empty() {
            encoded.push(',');
        }
        encoded.push_str("_dd.p.tid=");
        super::push_hex16(&mut encoded, high);
    }
    if encoded.len() > out.max_tags_length {
        return Some("inject_max_size");
    }
    injector.set("x-datadog-tags", &encoded);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_as_python_reads_them() {
        assert_eq!(parse_integer(" +12 "), Some(12));
        assert_eq!(parse_integer("007"), Some(7));
        assert_eq!(parse_integer("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_integer("000018446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_integer("18446744073709551616"), None);
        for bad in ["", "+", "1.5", "abc", "-1", "0x10", "1 2", "++1"] {
            assert_eq!(parse_integer(bad), None, "{bad:?}");
        }
        assert_eq!(parse_signed("-3"), Some(-3));
        assert_eq!(parse_signed("+2"), Some(2));
        for bad in ["1.5", "abc", "2.0", "--1", "-+1", "- 1", "99999999999"] {
            assert_eq!(parse_signed(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn decision_makers() {
        for ok in ["-0", "-4", "-15", "-255"] {
            assert!(is_valid_decision_maker(ok), "{ok}");
        }
        for bad in ["-1a", "-256", "934086a6-4", "4", "-", "", "-0255"] {
            assert!(!is_valid_decision_maker(bad), "{bad}");
        }
    }

    #[test]
    fn tags_decode_as_datadog_tracers_decode_them() {
        let (tags, tid, error) =
            decode_tags("_dd.p.dm=-4, _dd.p.usr.id = a=b ,other=x,_dd.p.upstream_services=y")
                .unwrap();
        assert_eq!(
            tags.iter().collect::<Vec<_>>(),
            [("_dd.p.dm", "-4"), ("_dd.p.usr.id", "a=b")]
        );
        assert_eq!((tid, error), (None, None));
        let (tags, _, error) = decode_tags("_dd.p.dm=-256,_dd.p.a=1").unwrap();
        assert_eq!(
            (tags.iter().collect::<Vec<_>>(), error),
            (vec![("_dd.p.a", "1")], Some("decoding_error"))
        );
        assert_eq!(
            decode_tags("_dd.p.tid=640cfd8d00000000").unwrap().1,
            Some(Ok(0x640cfd8d00000000))
        );
        assert_eq!(
            decode_tags("_dd.p.tid=640CFD8D00000000").unwrap().1,
            Some(Err("640CFD8D00000000"))
        );
        for bad in [
            "_dd.p.a",
            "=x",
            "_dd.p.a=",
            "_dd.p.a=1,",
            "_dd.p.a=\u{e9}",
            "_dd.p.a b=1",
        ] {
            assert_eq!(
                decode_tags(bad).map(|_| ()),
                Err("decoding_error"),
                "{bad:?}"
            );
        }
        assert_eq!(
            decode_tags(&"_dd.p.a=1,".repeat(52)).map(|_| ()),
            Err("extract_max_size")
        );
    }
}
