//! Span and trace id generation: a per-thread generator, no lock and no system call per id.

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::span_data::TraceId;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

/// A per-thread seed from the standard library's randomly keyed hasher.
fn seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

/// The next random u64 (SplitMix64 over a per-thread state).
fn next_u64() -> u64 {
    STATE.with(|s| {
        let x = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(x);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A random non-zero span id.
pub(crate) fn span_id() -> u64 {
    loop {
        let id = next_u64();
        if id != 0 {
            return id;
        }
    }
}

/// A new trace id: with `use_128`, the high 64 bits are `(unix seconds as u32) << 32` and the low
/// 64 bits random (Datadog's 128-bit format); otherwise the high half is zero.
pub(crate) fn trace_id(use_128: bool, unix_seconds: u64) -> TraceId {
    let high = if use_128 {
        (unix_seconds as u32 as u64) << 32
    } else {
        0
    };
    TraceId::from_parts(high, span_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_carry_the_timestamp_in_the_high_bits() {
        let t = trace_id(true, 1_700_000_000);
        assert_eq!(t.high(), 1_700_000_000u64 << 32);
        assert_ne!(t.low(), 0);
        let t = trace_id(false, 1_700_000_000);
        assert_eq!(t.high(), 0);
    }

    #[test]
    fn ids_differ_and_threads_differ() {
        let a: Vec<u64> = (0..1000).map(|_| span_id()).collect();
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
        let other = std::thread::spawn(span_id).join().unwrap();
        assert!(!a.contains(&other));
    }
}
