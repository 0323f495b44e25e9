//! Zipkin B3, as multiple headers (`b3multi`) and as the single `b3` header.
//!
//! Ids are hex of up to 32 digits (16 or 32 in practice); an id of 0 is invalid. Sampling:
//! `x-b3-sampled` `0`/`1` (or `b3`'s `0`/`1`/`d`) give priority 0/1/2, `x-b3-flags: 1` gives 2.

use super::carrier::{Carrier, Header};
use super::config::Style;
use super::context::RemoteContext;
use super::Injector;

/// A B3 id: 1 to 32 hex digits, either case, not zero.
fn parse_id(v: &str) -> Option<u128> {
    let v = v.trim_matches([' ', '\t']);
    if v.is_empty() || v.len() > 32 {
        return None;
    }
    u128::from_str_radix(v, 16).ok().filter(|&id| id != 0)
}

fn parse_span_id(v: &str) -> Option<u64> {
    parse_id(v).and_then(|id| u64::try_from(id).ok())
}

pub(crate) fn extract_multi(carrier: &Carrier<'_>) -> Option<RemoteContext> {
    let trace_id = parse_id(carrier.get(Header::B3TraceId)?)?;
    let span_id = match carrier.get(Header::B3SpanId) {
        Some(v) => parse_span_id(v)?,
        None => 0,
    };
    let mut cx = RemoteContext::new(Style::B3Multi, trace_id, span_id);
    if carrier.get(Header::B3Flags).map(str::trim) == Some("1") {
        cx.priority = Some(2);
    } else {
        cx.priority = match carrier.get(Header::B3Sampled).map(str::trim) {
            Some("1") => Some(1),
            Some("0") => Some(0),
            _ => None,
        };
    }
    Some(cx)
}

pub(crate) fn extract_single(carrier: &Carrier<'_>) -> Option<RemoteContext> {
    let value = carrier.get(Header::B3Single)?.trim_matches([' ', '\t']);
    let mut fields = value.split('-');
    let first = fields.next()?;
    let second = fields.next()?; // one field is a sampling decision alone: nothing to continue
    let trace_id = parse_id(first)?;
    let span_id = parse_span_id(second)?;
    let mut cx = RemoteContext::new(Style::B3, trace_id, span_id);
    cx.priority = match fields.next() {
        Some("0") => Some(0),
        Some("1") => Some(1),
        Some("d") => Some(2),
        _ => None,
    };
    Some(cx)
}

/// A B3 trace id: 16 hex digits, or 32 when the id is over 64 bits.
fn push_trace_id(out: &mut String, trace_id: u128) {
    let high = (trace_id >> 64) as u64;
    if high != 0 {
        super::push_hex16(out, high);
    }
    super::push_hex16(out, trace_id as u64);
}

pub(crate) fn inject_multi(
    trace_id: u128,
    span_id: u64,
    priority: Option<i32>,
    injector: &mut dyn Injector,
) {
    let mut id = String::with_capacity(32);
    push_trace_id(&mut id, trace_id);
    injector.set("x-b3-traceid", &id);
    id.clear();
    super::push_hex16(&mut id, span_id);
    injector.set("x-b3-spanid", &id);
    match priority {
        Some(p) if p > 1 => injector.set("x-b3-flags", "1"),
        Some(1) => injector.set("x-b3-sampled", "1"),
        Some(_) => injector.set("x-b3-sampled", "0"),
        None => {}
    }
}

pub(crate) fn inject_single(
    trace_id: u128,
    span_id: u64,
    priority: Option<i32>,
    injector: &mut dyn Injector,
) {
    let mut v = String::with_capacity(52);
    push_trace_id(&mut v, trace_id);
    v.push('-');
    super::push_hex16(&mut v, span_id);
    match priority {
        Some(p) if p > 1 => v.push_str("-d"),
        Some(1) => v.push_str("-1"),
        Some(_) => v.push_str("-0"),
        None => {}
    }
    injector.set("b3", &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(parse_id("0000000000000001"), Some(1));
        assert_eq!(parse_id("ABCDEF"), Some(0xabcdef));
        for bad in ["", "0", "00000000000000000", "xyz", &"1".repeat(33)] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
        assert_eq!(parse_span_id("10000000000000000"), None);
    }
}
