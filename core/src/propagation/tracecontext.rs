//! W3C Trace Context (level 2): `traceparent` and `tracestate`, with Datadog's `dd=` member.
//!
//! The grammar and limits come from the specification (w3.org/TR/trace-context-2):
//! - `traceparent` is `version-trace_id-parent_id-flags` in lower-case hex; version `ff` is
//!   invalid; version `00` has exactly these four fields; a higher version is parsed for the
//!   same four fields and anything after a further `-` is ignored; all-zero ids are invalid.
//! - When `traceparent` is invalid, `tracestate` is not read.
//! - `tracestate` is at most 32 list-members; a key is `(lcalpha / DIGIT) 0*255(keychar)`
//!   (keychar: `a-z 0-9 _ - * / @`), a value at most 256 printable characters other than `,`
//!   and `=`, not ending in a space. Empty members and whitespace around members are allowed
//!   and dropped. A member that breaks the grammar is discarded, and so is a repeated key
//!   (the first one is kept), which the specification permits.
//! - When propagating, at least 512 characters are kept: members over 128 characters go first,
//!   then members from the end.

use std::borrow::Cow;

use super::carrier::{Carrier, Header};
use super::config::Style;
use super::context::{known, propagated_key, RemoteContext, TraceTags};
use super::datadog::parse_signed;

/// Members in a `tracestate`.
pub(crate) const MAX_MEMBERS: usize = 32;
/// Characters of a `tracestate` every vendor propagates.
const MAX_LENGTH: usize = 512;
/// Members longer than this are the first dropped when over the limits.
const LONG_MEMBER: usize = 128;
/// Datadog's own member is at most this long; tags that would not fit are left out.
const MAX_DD_MEMBER: usize = 256;

/// The parts of a valid `traceparent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceParent {
    pub trace_id: u128,
    pub parent_id: u64,
    pub sampled: bool,
    pub random: bool,
}

/// Parses a `traceparent` (surrounding spaces and tabs ignored).
pub(crate) fn parse_traceparent(value: &str) -> Option<TraceParent> {
    let v = value.trim_matches([' ', '\t']).as_bytes();
    if v.len() < 55 {
        return None;
    }
    let version = hex_field(&v[0..2])?;
    if version == 0xff || v[2] != b'-' || v[35] != b'-' || v[52] != b'-' {
        return None;
    }
    if v.len() > 55 && (version == 0 || v[55] != b'-') {
        return None;
    }
    let trace_id = hex_field(&v[3..35])?;
    let parent_id = hex_field(&v[36..52])? as u64;
    let flags = hex_field(&v[53..55])? as u8;
    if trace_id == 0 || parent_id == 0 {
        return None;
    }
    Some(TraceParent {
        trace_id,
        parent_id,
        sampled: flags & 0x01 != 0,
        random: flags & 0x02 != 0,
    })
}

/// Lower-case hex digits only (`HEXDIGLC`).
fn hex_field(digits: &[u8]) -> Option<u128> {
    let mut n: u128 = 0;
    for &b in digits {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        n = (n << 4) | u128::from(d);
    }
    Some(n)
}

/// `key` per the level-2 grammar.
pub(crate) fn is_valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// `value` per the grammar: 1 to 256 of 0x20-0x7E except `,` and `=`, not ending in a space.
pub(crate) fn is_valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b[b.len() - 1] != b' '
        && b.iter()
            .all(|&c| (0x20..0x7f).contains(&c) && c != b',' && c != b'=')
}

/// The list-members of a `tracestate`, trimmed, empty ones skipped.
fn members(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(|m| m.trim_matches([' ', '\t']))
        .filter(|m| !m.is_empty())
}

/// A `tracestate` without whitespace around its members and without empty members.
pub(crate) fn normalized(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for m in members(value) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(m);
    }
    out
}

/// What the `tracestate` contributes: the `dd=` member's value and the other vendors'
/// members, kept within the limits.
struct TraceState<'a> {
    dd: Option<&'a str>,
    others: Option<String>,
}

/// Candidate members read before the limits apply: enough to drop long members first from a
/// list of up to twice the member limit; a longer (hostile) list is not read further.
const CANDIDATES: usize = 2 * MAX_MEMBERS;

/// Reads a `tracestate`: the last `dd=` member wins; other members that break the grammar or
/// repeat an earlier key are dropped; then the limits, counting the `dd=` member (which is
/// never dropped). The members are collected on the stack: only what is kept is allocated.
fn read_tracestate(value: &str) -> TraceState<'_> {
    let mut dd = None;
    let mut kept = [""; CANDIDATES];
    let mut n = 0;
    for member in members(value) {
        let Some((key, val)) = member.split_once('=') else {
            continue;
        };
        if !is_valid_key(key) || !is_valid_value(val) {
            continue;
        }
        if key == "dd" {
            dd = Some(val);
            continue;
        }
        if n == CANDIDATES {
            continue;
        }
        let repeated = kept[..n]
            .iter()
            .any(|m| m.len() > key.len() && m.starts_with(key) && m.as_bytes()[key.len()] == b'=');
        if !repeated {
            kept[n] = member;
            n += 1;
        }
    }
    let reserved = dd.map_or(0, |d| d.len() + 4);
    let slots = MAX_MEMBERS - usize::from(dd.is_some());
    let kept = limit(&mut kept[..n], slots, MAX_LENGTH.saturating_sub(reserved));
    TraceState {
        dd,
        others: (!kept.is_empty()).then(|| kept.join(",")),
    }
}

/// Keeps at most `slots` members within `budget` characters (commas included): members over
/// 128 characters are dropped first, then members from the end. Returns the members kept, in
/// order.
pub(crate) fn limit<'m, 'a>(kept: &'m mut [&'a str], slots: usize, budget: usize) -> &'m [&'a str] {
    let mut n = kept.len();
    let mut length = kept
        .iter()
        .map(|m| m.len() + 1)
        .sum::<usize>()
        .saturating_sub(1);
    while n > slots || length > budget {
        let drop = kept[..n]
            .iter()
            .rposition(|m| m.len() > LONG_MEMBER)
            .unwrap_or(n - 1);
        length = length.saturating_sub(kept[drop].len() + 1);
        kept[drop..n].rotate_left(1);
        n -= 1;
    }
    &kept[..n]
}

pub(crate) fn extract(carrier: &Carrier<'_>) -> Option<RemoteContext> {
    let tp = parse_traceparent(carrier.get(Header::TraceParent)?)?;
    let mut cx = RemoteContext::new(Style::TraceContext, tp.trace_id, tp.parent_id);
    cx.random = tp.random;
    cx.priority = Some(i32::from(tp.sampled));
    let Some(raw) = carrier.get(Header::TraceState) else {
        return Some(cx);
    };
    let state = read_tracestate(raw);
    cx.tracestate = state.others.map(Box::from);
    if let Some(dd) = state.dd {
        apply_dd_member(&mut cx, dd, tp.sampled);
    }
    Some(cx)
}

/// Reads `s`, `o`, `p` and `t.*` from the `dd=` member. An item without `:` makes the member
/// unusable (the traceparent still counts), as in dd-trace-py.
fn apply_dd_member(cx: &mut RemoteContext, dd: &str, sampled: bool) {
    let mut s = None;
    let mut origin = None;
    let mut p = None;
    let mut tags = TraceTags::default();
    for item in dd.split(';') {
        let Some((key, value)) = item.split_once(':') else {
            return;
        };
        match key {
            "s" => s = Some(parse_signed(value)),
            "o" => origin = Some(value),
            "p" => p = Some(value),
            // The trace id's high half comes from the traceparent, never from `t.tid`.
            "t.tid" => {}
            _ => {
                if let Some(tag) = key.strip_prefix("t.") {
                    // `~` stands for `=`, which tracestate cannot carry; the common keys and
                    // values stay static text, so a usual `t.dm:-4` copies nothing.
                    let value = if value.contains('~') {
                        Cow::Owned(value.replace('~', "="))
                    } else {
                        known(value)
                    };
                    tags.set_text(propagated_key(tag), value);
                }
            }
        }
    }
    let s = match s {
        Some(None) => return, // `s` that is not an integer: the member is unusable
        Some(Some(s)) => Some(s),
        None => None,
    };
    cx.origin = origin.map(|o| o.replace('~', "=").into());
    cx.dd_parent_id = p.map(Box::from);
    cx.tags = tags;
    // The W3C flag is the decision; `s` refines it when they agree. When they disagree the
    // upstream decision maker no longer describes the decision: a keep gets `-0`, a drop none.
    cx.priority = Some(match (sampled, s) {
        (true, Some(s)) if s > 0 => s,
        (false, Some(s)) if s <= 0 => s,
        (true, Some(_)) => {
            cx.tags.set("_dd.p.dm", "-0");
            1
        }
        (false, Some(_)) => {
            cx.tags.remove("_dd.p.dm");
            0
        }
        (true, None) => 1,
        (false, None) => 0,
    });
    if s.is_none() && cx.origin.as_deref() == Some("rum") {
        // A RUM session that did not decide lets the backend decide.
        cx.priority = None;
    }
}

/// What a span writes into `traceparent` and `tracestate`.
pub(crate) struct Outgoing<'a> {
    pub trace_id: u128,
    pub span_id: u64,
    pub priority: Option<i32>,
    pub random: bool,
    pub origin: Option<&'a str>,
    pub tags: &'a TraceTags,
    /// Other vendors' members, already within the limits.
    pub others: Option<&'a str>,
}

pub(crate) fn inject(out: &Outgoing<'_>, injector: &mut dyn super::Injector) {
    let sampled = out.priority.is_some_and(|p| p > 0);
    let flags = u8::from(sampled) | (u8::from(out.random) << 1);
    let mut tp = String::with_capacity(55);
    tp.push_str("00-");
    super::push_hex16(&mut tp, (out.trace_id >> 64) as u64);
    super::push_hex16(&mut tp, out.trace_id as u64);
    tp.push('-');
    super::push_hex16(&mut tp, out.span_id);
    tp.push_str(if flags == 3 {
        "-03"
    } else if flags == 2 {
        "-02"
    } else if flags == 1 {
        "-01"
    } else {
        "-00"
    });
    injector.set("traceparent", &tp);

    let mut ts = String::with_capacity(128);
    ts.push_str("dd=p:");
    super::push_hex16(&mut ts, out.span_id);
    if let Some(p) = out.priority {
        ts.push_str(";s:");
        ts.push_str(&p.to_string());
    }
    if let Some(origin) = out.origin {
        ts.push_str(";o:");
        push_encoded_value(&mut ts, origin);
    }
    // `t.dm` and `t.usr.id` first, then the rest in order, each only if the member stays
    // within its limit.
    let first = ["_dd.p.dm", "_dd.p.usr.id"];
    let ordered = first
        .iter()
        .filter_map(|k| out.tags.get(k).map(|v| (*k, v)))
        .chain(out.tags.iter().filter(|(k, _)| !first.contains(k)));
    for (key, value) in ordered {
        let Some(tag) = key.strip_prefix("_dd.p.") else {
            continue;
        };
        let mark = ts.len();
        ts.push_str(";t.");
        push_encoded_key(&mut ts, tag);
        ts.push(':');
        push_encoded_value(&mut ts, value);
        if ts.len() > MAX_DD_MEMBER {
            ts.truncate(mark);
        }
    }
    if let Some(others) = out.others {
        let mut kept = [""; MAX_MEMBERS];
        let mut n = 0;
        for m in others.split(',').take(MAX_MEMBERS) {
            kept[n] = m;
            n += 1;
        }
        let budget = MAX_LENGTH.saturating_sub(ts.len() + 1);
        for m in limit(&mut kept[..n], MAX_MEMBERS - 1, budget) {
            ts.push(',');
            ts.push_str(m);
        }
    }
    injector.set("tracestate", &ts);
}

/// A `t.*` key in the `dd=` member: `,`, space, `=` and non-printable characters become `_`.
fn push_encoded_key(out: &mut String, key: &str) {
    out.extend(key.chars().map(|c| match c {
        ',' | ' ' | '=' => '_',
        c if (' '..='~').contains(&c) => c,
        _ => '_',
    }));
}

/// A value in the `dd=` member: `,`, `;`, `~` and non-printable characters become `_`, then
/// `=` becomes `~`.
fn push_encoded_value(out: &mut String, value: &str) {
    out.extend(value.chars().map(|c| match c {
        ',' | ';' | '~' => '_',
        '=' => '~',
        c if (' '..='~').contains(&c) => c,
        _ => '_',
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_members_go_first_then_from_the_end() {
        let long = format!("long={}", "x".repeat(130));
        let mut kept = ["a=1", long.as_str(), "b=2", "c=3"];
        assert_eq!(limit(&mut kept, 3, 512), ["a=1", "b=2", "c=3"]);
        let mut kept = ["a=1", "b=2", "c=3"];
        assert_eq!(limit(&mut kept, 2, 512), ["a=1", "b=2"]);
        let mut kept = ["a=1", "b=2", "c=3"];
        assert_eq!(limit(&mut kept, 32, 7), ["a=1", "b=2"]);
        let mut kept = ["a=1", long.as_str()];
        assert_eq!(limit(&mut kept, 32, 100), ["a=1"]);
    }

    #[test]
    fn dd_member_values_are_encoded() {
        let mut s = String::new();
        push_encoded_value(&mut s, "synthetics~;=web,z");
        assert_eq!(s, "synthetics__~web_z");
        let mut s = String::new();
        push_encoded_key(&mut s, "a b=c,d");
        assert_eq!(s, "a_b_c_d");
    }
}
