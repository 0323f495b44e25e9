//! Trace and span ids.

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
/// `now` is the moment its root span starts, so that one clock read serves both.
pub(crate) fn new_trace_id_at(wide: bool, now: &crate::clock::Now) -> u128 {
    let low = u128::from(new_span_id());
    if !wide {
        return low;
    }
    (u128::from(now.unix_secs()) << 96) | low
}

/// A runtime id: a random UUID (version 4), one per process, as Datadog's tracers send it.
pub(crate) fn runtime_id() -> String {
    let (a, b) = (fastrand::u64(..), fastrand::u64(..));
    let hi = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_ids_carry_the_second_and_random_low_bits() {
        let new_trace_id = |wide| new_trace_id_at(wide, &crate::clock::now());
        let id = new_trace_id(true);
        let high = (id >> 64) as u64;
        assert_eq!(high & 0xffff_ffff, 0);
        assert!(high >> 32 > 0x640c_fd8c);
        assert_ne!(id as u64, 0);
        assert_eq!(new_trace_id(false) >> 64, 0);
        assert_ne!(new_trace_id(false), new_trace_id(false));
    }

    #[test]
    fn runtime_ids_are_version_4_uuids() {
        let id = runtime_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(runtime_id(), runtime_id());
    }
}
