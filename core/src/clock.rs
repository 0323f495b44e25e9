//! Span timestamps from one clock read.
//!
//! A span needs its start as wall-clock time (nanoseconds since the Unix epoch) and its
//! duration from the monotonic clock, which never steps. Reading both clocks at every start, and
//! the wall clock again for a new trace id's second, made three or four clock reads per request,
//! each a `clock_gettime` of 20 to 40 ns on a virtual machine. Here a span's start reads the
//! monotonic clock once and derives its wall-clock time from a per-thread anchor (a pair of
//! readings of both clocks) renewed every second, as dd-trace-java derives a span's start from
//! its trace's anchor: a step of the wall clock is followed within a second, and between anchors
//! the two clocks differ by at most the clock's slew (parts per million).

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long an anchor serves before both clocks are read again.
const ANCHOR_LIFETIME: Duration = Duration::from_secs(1);

thread_local! {
    static ANCHOR: Cell<Option<(Instant, i64)>> = const { Cell::new(None) };
}

/// A moment, read once: monotonic for durations, with its wall-clock time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Now {
    pub(crate) instant: Instant,
    /// Nanoseconds since the Unix epoch (0 before it, which a sane clock never is).
    pub(crate) unix_ns: i64,
}

impl Now {
    /// Whole seconds since the Unix epoch, as a 128-bit trace id carries them.
    pub(crate) fn unix_secs(&self) -> u32 {
        u32::try_from(self.unix_ns / 1_000_000_000).unwrap_or(0)
    }
}

fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Now.
pub(crate) fn now() -> Now {
    let instant = Instant::now();
    let anchored = ANCHOR
        .try_with(|anchor| match anchor.get() {
            Some((at, wall)) => match instant.saturating_duration_since(at) {
                since if since < ANCHOR_LIFETIME => Some(wall.saturating_add(nanos(since))),
                _ => {
                    let wall = wall_ns();
                    anchor.set(Some((instant, wall)));
                    Some(wall)
                }
            },
            None => {
                let wall = wall_ns();
                anchor.set(Some((instant, wall)));
                Some(wall)
            }
        })
        .ok()
        .flatten();
    Now {
        instant,
        // A thread being torn down has no anchor: read the wall clock.
        unix_ns: anchored.unwrap_or_else(wall_ns),
    }
}

/// Nanoseconds from `since` to now, for a span's duration.
pub(crate) fn elapsed_ns(since: Instant) -> i64 {
    nanos(since.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_time_follows_the_wall_clock() {
        for _ in 0..3 {
            let before = wall_ns();
            let now = now();
            let after = wall_ns();
            // Derived from an anchor up to a second old, it stays within the slew of the two
            // clocks: far under a millisecond.
            assert!(
                now.unix_ns >= before - 1_000_000,
                "{} < {before}",
                now.unix_ns
            );
            assert!(
                now.unix_ns <= after + 1_000_000,
                "{} > {after}",
                now.unix_ns
            );
            assert_eq!(
                u64::from(now.unix_secs()),
                (now.unix_ns / 1_000_000_000) as u64
            );
            std::thread::sleep(Duration::from_millis(600));
        }
    }

    #[test]
    fn moments_of_one_thread_are_ordered_and_durations_are_monotonic() {
        let a = now();
        let b = now();
        assert!(b.instant >= a.instant);
        assert!(b.unix_ns >= a.unix_ns);
        // A sleep lasts at least what it asks for.
        std::thread::sleep(Duration::from_millis(2));
        assert!(elapsed_ns(a.instant) >= 2_000_000);
    }
}
