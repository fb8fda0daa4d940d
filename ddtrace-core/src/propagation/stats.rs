//! Counters of rejected (malformed) headers, per style and reason.
//!
//! Every header a propagator rejects or truncates bumps one process-wide atomic counter;
//! [`malformed_header_counts`] reads them all (for health metrics or tests).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::style::PropagationStyle;

/// Why a header was rejected or truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MalformedReason {
    /// The trace id is missing, not a number / not hex, zero or out of range.
    InvalidTraceId,
    /// The parent (span) id is not a number / not hex, or out of range.
    InvalidParentId,
    /// The sampling priority / sampled flag is not one of the accepted values.
    InvalidSamplingPriority,
    /// `x-datadog-tags` could not be decoded (`_dd.propagation_error=decoding_error`).
    TagsDecodingError,
    /// `x-datadog-tags` is over the length limit (`extract_max_size`).
    TagsMaxSize,
    /// `_dd.p.tid` is not 16 lowercase hex digits or is zero (`malformed_tid <hex>`).
    MalformedTid,
    /// `_dd.p.dm` is not `-<mechanism>` (`decoding_error`).
    InvalidDecisionMaker,
    /// `traceparent` is malformed (format, version `ff`, zero ids, extra fields on version 00).
    InvalidTraceparent,
    /// `tracestate` is malformed (non-printable characters, bad `dd=` member); ignored.
    InvalidTracestate,
    /// A B3 single header has the wrong number or shape of fields.
    InvalidB3Header,
    /// A baggage item is malformed (no `=`, empty key or value); all baggage is dropped.
    BaggageMalformed,
    /// Baggage over 64 items or 8192 bytes; the excess is dropped.
    BaggageTruncated,
}

impl MalformedReason {
    /// Every reason, in declaration order.
    pub const ALL: [MalformedReason; 12] = [
        MalformedReason::InvalidTraceId,
        MalformedReason::InvalidParentId,
        MalformedReason::InvalidSamplingPriority,
        MalformedReason::TagsDecodingError,
        MalformedReason::TagsMaxSize,
        MalformedReason::MalformedTid,
        MalformedReason::InvalidDecisionMaker,
        MalformedReason::InvalidTraceparent,
        MalformedReason::InvalidTracestate,
        MalformedReason::InvalidB3Header,
        MalformedReason::BaggageMalformed,
        MalformedReason::BaggageTruncated,
    ];

    /// A short snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MalformedReason::InvalidTraceId => "invalid_trace_id",
            MalformedReason::InvalidParentId => "invalid_parent_id",
            MalformedReason::InvalidSamplingPriority => "invalid_sampling_priority",
            MalformedReason::TagsDecodingError => "tags_decoding_error",
            MalformedReason::TagsMaxSize => "tags_max_size",
            MalformedReason::MalformedTid => "malformed_tid",
            MalformedReason::InvalidDecisionMaker => "invalid_decision_maker",
            MalformedReason::InvalidTraceparent => "invalid_traceparent",
            MalformedReason::InvalidTracestate => "invalid_tracestate",
            MalformedReason::InvalidB3Header => "invalid_b3_header",
            MalformedReason::BaggageMalformed => "baggage_malformed",
            MalformedReason::BaggageTruncated => "baggage_truncated",
        }
    }
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const STYLES: usize = PropagationStyle::ALL.len();
const REASONS: usize = MalformedReason::ALL.len();

#[allow(clippy::declare_interior_mutable_const)] // the array initializer below, each copy is distinct
const ZERO: AtomicU64 = AtomicU64::new(0);
static COUNTS: [AtomicU64; STYLES * REASONS] = [ZERO; STYLES * REASONS];

/// Counts one rejected header and writes a debug line explaining it.
pub(crate) fn record(style: PropagationStyle, reason: MalformedReason, detail: fmt::Arguments<'_>) {
    if let Some(c) = COUNTS.get(style.index() * REASONS + reason as usize) {
        c.fetch_add(1, Ordering::Relaxed);
    }
    crate::log::debug!("propagation: {style}: rejected ({reason}): {detail}");
}

/// How many headers of `style` were rejected for `reason` since the process started.
pub fn malformed_header_count(style: PropagationStyle, reason: MalformedReason) -> u64 {
    COUNTS
        .get(style.index() * REASONS + reason as usize)
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Every non-zero counter: `(style, reason, count)`.
pub fn malformed_header_counts() -> Vec<(PropagationStyle, MalformedReason, u64)> {
    let mut out = Vec::new();
    for style in PropagationStyle::ALL {
        for reason in MalformedReason::ALL {
            let n = malformed_header_count(style, reason);
            if n > 0 {
                out.push((style, reason, n));
            }
        }
    }
    out
}

/// A header value shortened for a log line.
pub(crate) fn shown(value: &str) -> String {
    const MAX: usize = 96;
    if value.len() <= MAX {
        format!("{value:?}")
    } else {
        let mut end = MAX;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        format!("{:?}... ({} bytes)", &value[..end], value.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count() {
        let before =
            malformed_header_count(PropagationStyle::B3, MalformedReason::BaggageTruncated);
        record(
            PropagationStyle::B3,
            MalformedReason::BaggageTruncated,
            format_args!("test"),
        );
        assert_eq!(
            malformed_header_count(PropagationStyle::B3, MalformedReason::BaggageTruncated),
            before + 1
        );
        assert!(malformed_header_counts().iter().any(|(s, r, n)| {
            *s == PropagationStyle::B3 && *r == MalformedReason::BaggageTruncated && *n > before
        }));
        assert!(shown(&"é".repeat(100)).contains("200 bytes"));
    }
}
