//! The Knuth multiplicative-hash sampling test, the same in every Datadog tracer.

use crate::span_data::TraceId;

/// The multiplier of the Knuth test.
pub const KNUTH_FACTOR: u64 = 1_111_111_111_111_111_111;

/// Whether a trace is kept at `rate`: keep iff
/// `low64(trace_id).wrapping_mul(1111111111111111111) <= (rate * u64::MAX as f64) as u64`;
/// a rate ≥ 1 always keeps, ≤ 0 (or NaN) always drops.
pub fn knuth_keep(trace_id: TraceId, rate: f64) -> bool {
    keep_id(trace_id.low(), rate)
}

/// The same test on a span id, as the reference samples single spans
/// (`DD_SPAN_SAMPLING_RULES`).
pub fn knuth_keep_span(span_id: u64, rate: f64) -> bool {
    keep_id(span_id, rate)
}

/// The Knuth test on a 64-bit id.
fn keep_id(id: u64, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    let threshold = (rate * u64::MAX as f64) as u64;
    id.wrapping_mul(KNUTH_FACTOR) <= threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_known_values() {
        let id = TraceId::from_parts(0xffff, 12_345_678_901_234_567_890);
        assert!(knuth_keep(id, 1.0));
        assert!(knuth_keep(id, 7.0));
        assert!(!knuth_keep(id, 0.0));
        assert!(!knuth_keep(id, -1.0));
        assert!(!knuth_keep(id, f64::NAN));
        // Only the low 64 bits count.
        assert_eq!(
            knuth_keep(TraceId(5), 0.5),
            knuth_keep(TraceId::from_parts(9, 5), 0.5)
        );
        // 1 * factor = 1111111111111111111 ≈ 0.0602 of u64::MAX.
        assert!(knuth_keep(TraceId(1), 0.07));
        assert!(!knuth_keep(TraceId(1), 0.06));
        // About half of consecutive ids are kept at 0.5.
        let kept = (1..=10_000u64)
            .filter(|i| knuth_keep(TraceId(u128::from(*i)), 0.5))
            .count();
        assert!((4_500..=5_500).contains(&kept), "{kept}");
    }
}
