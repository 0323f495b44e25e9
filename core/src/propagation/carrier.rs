//! The propagation headers of a request, read in one pass over its header list.

use crate::HeaderSource;

/// The headers any style reads, indexed by [`Header`].
const NAMES: [&str; 14] = [
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
];

/// A propagation header, as an index into the carrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    TraceParent = 0,
    TraceState = 1,
    DatadogTraceId = 2,
    DatadogParentId = 3,
    DatadogSamplingPriority = 4,
    DatadogOrigin = 5,
    DatadogTags = 6,
    B3TraceId = 7,
    B3SpanId = 8,
    B3Sampled = 9,
    B3Flags = 10,
    B3Single = 12,
    Baggage = 13,
}

/// The index of `name` (any case) among the propagation headers.
pub(crate) fn header_index(name: &str) -> Option<usize> {
    // Called for every request header: the length and the first byte select the one
    // candidate, so most names are rejected without reading them and a match costs one
    // memcmp.
    let bytes = name.as_bytes();
    let i = match (bytes.len(), bytes.first()?.to_ascii_lowercase()) {
        (2, b'b') => 12,
        (7, b'b') => 13,
        (10, b't') => 1,
        (10, b'x') => 10,
        (11, b't') => 0,
        (11, b'x') => 8,
        // x-b3-traceid, x-b3-sampled
        (12, b'x') => match bytes[5].to_ascii_lowercase() {
            b't' => 7,
            b's' => 9,
            _ => return None,
        },
        (14, b'x') => 6,
        (16, b'x') => 5,
        (17, b'x') => 11,
        (18, b'x') => 2,
        (19, b'x') => 3,
        (27, b'x') => 4,
        _ => return None,
    };
    let candidate = NAMES[i];
    // Names usually arrive lower-case (http's `HeaderMap`).
    (candidate.as_bytes() == bytes || candidate.eq_ignore_ascii_case(name)).then_some(i)
}

/// One propagation header as the request carries it.
#[derive(Default)]
enum Slot<'a> {
    #[default]
    Absent,
    /// One field, visible ASCII.
    One(&'a str),
    /// Repeated fields combined in order with `,` (RFC 9110 section 5.3): this is what makes
    /// a duplicated `traceparent` invalid and concatenates several `tracestate` fields, as
    /// W3C Trace Context requires.
    Joined(String),
    /// Not visible ASCII in one of its fields: unusable, as if absent.
    Unusable,
}

/// The propagation headers of one request. Reading them allocates only for a repeated
/// header.
pub(crate) struct Carrier<'a> {
    slots: [Slot<'a>; NAMES.len()],
    any: bool,
}

impl<'a> Carrier<'a> {
    pub(crate) fn read<H: HeaderSource + ?Sized>(headers: &'a H) -> Self {
        let mut slots: [Slot<'a>; NAMES.len()] = Default::default();
        let mut any = false;
        for (name, value) in headers.entries() {
            let Some(i) = header_index(name) else {
                continue;
            };
            any = true;
            let text = std::str::from_utf8(value)
                .ok()
                .filter(|t| is_visible_ascii(t));
            slots[i] = match (std::mem::take(&mut slots[i]), text) {
                (Slot::Absent, Some(text)) => Slot::One(text),
                (Slot::One(first), Some(text)) => Slot::Joined(format!("{first},{text}")),
                (Slot::Joined(mut joined), Some(text)) => {
                    joined.push(',');
                    joined.push_str(text);
                    Slot::Joined(joined)
                }
                _ => Slot::Unusable,
            };
        }
        Carrier { slots, any }
    }

    /// True when the request carries any propagation header, usable or not.
    pub(crate) fn any(&self) -> bool {
        self.any
    }

    pub(crate) fn get(&self, header: Header) -> Option<&str> {
        self.get_index(header as usize)
    }

    /// The header at index `i` of the propagation headers (see [`header_index`]).
    pub(crate) fn get_index(&self, i: usize) -> Option<&str> {
        match self.slots.get(i)? {
            Slot::One(v) => Some(v),
            Slot::Joined(v) => Some(v),
            Slot::Absent | Slot::Unusable => None,
        }
    }
}

/// What `http::HeaderValue::to_str` accepts: visible ASCII, space and tab.
pub(crate) fn is_visible_ascii(text: &str) -> bool {
    // Without early exit, so the loop vectorises: the values checked are short and valid.
    text.bytes()
        .fold(true, |ok, b| ok & (b == b'\t' || (0x20..0x7f).contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_propagation_header_is_found_in_any_case_and_nothing_else_is() {
        for (i, name) in NAMES.iter().enumerate() {
            assert_eq!(header_index(name), Some(i), "{name}");
            assert_eq!(header_index(&name.to_ascii_uppercase()), Some(i), "{name}");
        }
        for other in [
            "",
            "host",
            "x-datadog-trace-ie",
            "traceparenT2",
            "b4",
            "user-agent",
        ] {
            assert_eq!(header_index(other), None, "{other}");
        }
    }

    #[test]
    fn repeated_fields_fold_in_order_unless_one_is_not_ascii() {
        let mut headers = http::HeaderMap::new();
        headers.append("tracestate", "a=1".parse().unwrap());
        headers.append("TraceState", "b=2".parse().unwrap());
        headers.append("traceparent", "00-x".parse().unwrap());
        headers.append(
            "traceparent",
            http::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        let carrier = Carrier::read(&headers);
        assert_eq!(carrier.get(Header::TraceState), Some("a=1,b=2"));
        assert_eq!(carrier.get(Header::TraceParent), None);
        assert!(carrier.any());
        assert!(!Carrier::read(&http::HeaderMap::new()).any());
    }
}
