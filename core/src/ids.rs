//! Trace and span ids.

use std::time::{SystemTime, UNIX_EPOCH};

/// A new span id: 64 random bits, never 0.
pub(crate) fn new_span_id() -> u64 {
    loop {
        let id = fastrand::u64(..);
        if id != 0 {
            return id;
        }
    }
}

/// A new trace id: 64 random low bits (never 0), and, when `wide`, the current Unix second in
/// the top 32 bits of the high half, as Datadog's tracers generate 128-bit ids (the second
/// lets the backend find the trace; the low half is what 64-bit systems see).
pub(crate) fn new_trace_id(wide: bool) -> u128 {
    let low = u128::from(new_span_id());
    if !wide {
        return low;
    }
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    (u128::from(seconds) << 96) | low
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_ids_carry_the_second_and_random_low_bits() {
        let id = new_trace_id(true);
        let high = (id >> 64) as u64;
        assert_eq!(high & 0xffff_ffff, 0);
        assert!(high >> 32 > 0x640c_fd8c);
        assert_ne!(id as u64, 0);
        assert_eq!(new_trace_id(false) >> 64, 0);
        assert_ne!(new_trace_id(false), new_trace_id(false));
    }
}
