//! Which response statuses mark the request span as an error.

use std::fmt;

/// A set of HTTP status codes, parsed from the `DD_TRACE_HTTP_SERVER_ERROR_STATUSES` grammar.
///
/// The default is `500-599`. Items are separated by commas; each is a code or an inclusive
/// `from-to` range (reversed bounds are accepted, `404-400` is `400..=404`).
///
/// ```
/// use ddtrace_core::StatusRanges;
///
/// let ranges: StatusRanges = "500-599,429".parse().unwrap();
/// assert!(ranges.contains(429));
/// assert!(!ranges.contains(404));
/// assert!(StatusRanges::default().contains(503));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct StatusRanges {
    // A bitmap over 0..1024 makes the per-request check one shift and one mask.
    bits: [u64; 16],
    text: String,
}

impl StatusRanges {
    /// Returns true when `status` is in the set.
    #[inline]
    pub fn contains(&self, status: u16) -> bool {
        let s = status as usize;
        s < 1024 && self.bits[s / 64] & (1 << (s % 64)) != 0
    }

    fn empty() -> Self {
        StatusRanges {
            bits: [0; 16],
            text: String::new(),
        }
    }

    fn insert_range(&mut self, from: u16, to: u16) {
        for s in from.min(to)..=from.max(to).min(1023) {
            self.bits[s as usize / 64] |= 1 << (s % 64);
        }
    }

    /// Parses leniently, as dd-trace-py does: items that are not codes or ranges are skipped
    /// and returned so the caller can log them; the others still apply.
    pub fn parse_lenient(input: &str) -> (Self, Vec<String>) {
        let mut ranges = Self::empty();
        ranges.text = input.trim().to_string();
        let mut rejected = Vec::new();
        for item in input.trim().split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let parsed = match item.split_once('-') {
                Some((a, b)) => a
                    .trim()
                    .parse::<u16>()
                    .ok()
                    .zip(b.trim().parse::<u16>().ok()),
                None => item.parse::<u16>().ok().map(|c| (c, c)),
            };
            match parsed {
                Some((a, b)) => ranges.insert_range(a, b),
                None => rejected.push(item.to_string()),
            }
        }
        (ranges, rejected)
    }
}

impl Default for StatusRanges {
    fn default() -> Self {
        let mut r = Self::empty();
        r.insert_range(500, 599);
        r.text = "500-599".to_string();
        r
    }
}

impl fmt::Debug for StatusRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusRanges({:?})", self.text)
    }
}

/// The error returned when a status-range string given in code has an invalid item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRangesError {
    item: String,
}

impl fmt::Display for StatusRangesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid HTTP status item {:?}: expected a code (`500`) or an inclusive range (`500-599`), separated by commas",
            self.item
        )
    }
}

impl std::error::Error for StatusRangesError {}

impl std::str::FromStr for StatusRanges {
    type Err = StatusRangesError;

    /// Strict parsing for values given in code: any invalid item is an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ranges, rejected) = Self::parse_lenient(s);
        match rejected.into_iter().next() {
            Some(item) => Err(StatusRangesError { item }),
            None => Ok(ranges),
        }
    }
}
