//! The `b3multi` (`x-b3-*`) and `b3` (single header) styles.
//!
//! Ids are 16 or 32 hex digits (trace) and 16 hex digits (span); zero ids reject the context.
//! Priorities: sampled `0` → 0, `1` → 1, debug (`x-b3-flags: 1`, single-header `d`) → 2; on
//! injection ≤ 0 → `0`, 1 → `1`, > 1 → debug. A 128-bit trace id is written as 32 digits.

use crate::span_data::{Str, TraceId};

use super::stats::{MalformedReason, record, shown};
use super::{
    Extractor, HeaderKey, InjectContext, Injector, PropagationStyle, StyleContext, exact, hex16,
    push_hex,
};

static TRACE_ID: HeaderKey = HeaderKey::new("x-b3-traceid");
static SPAN_ID: HeaderKey = HeaderKey::new("x-b3-spanid");
static SAMPLED: HeaderKey = HeaderKey::new("x-b3-sampled");
static FLAGS: HeaderKey = HeaderKey::new("x-b3-flags");
static SINGLE: HeaderKey = HeaderKey::new("b3");

/// A B3 trace id: 16 or 32 hex digits whose low 64 bits are not all zero (Datadog sends them
/// as the trace id, and 0 is no trace).
fn parse_trace_id(raw: &str) -> Option<TraceId> {
    if (raw.len() != 16 && raw.len() != 32) || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(raw, 16)
        .ok()
        .filter(|v| *v as u64 != 0)
        .map(TraceId)
}

/// A B3 span id: 16 hex digits, non-zero.
fn parse_span_id(raw: &str) -> Option<u64> {
    if raw.len() != 16 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(raw, 16).ok().filter(|v| *v != 0)
}

/// How many hex digits B3 writes for the trace id: 16 for a 64-bit id, else 32.
fn trace_id_digits(id: TraceId) -> usize {
    if id.high() == 0 { 16 } else { 32 }
}

/// Appends the trace id as B3 writes it.
fn push_b3_trace_id(out: &mut String, id: TraceId) {
    push_hex(out, id.0, trace_id_digits(id));
}

#[cfg(test)]
fn b3_trace_id(id: TraceId) -> String {
    let mut out = String::new();
    push_b3_trace_id(&mut out, id);
    out
}

/// Extracts a context from `x-b3-*` headers.
pub(crate) fn extract_multi(carrier: &dyn Extractor) -> Option<StyleContext> {
    const STYLE: PropagationStyle = PropagationStyle::B3Multi;
    let raw_trace = carrier.get_key(&TRACE_ID)?.trim();
    let Some(trace_id) = parse_trace_id(raw_trace) else {
        record(
            STYLE,
            MalformedReason::InvalidTraceId,
            format_args!(
                "{TRACE_ID} {} must be 16 or 32 hex digits, non-zero",
                shown(raw_trace)
            ),
        );
        return None;
    };
    let span_id = match carrier.get_key(&SPAN_ID).map(str::trim) {
        None => 0,
        Some(raw) => match parse_span_id(raw) {
            Some(id) => id,
            None => {
                record(
                    STYLE,
                    MalformedReason::InvalidParentId,
                    format_args!("{SPAN_ID} {} must be 16 hex digits, non-zero", shown(raw)),
                );
                return None;
            }
        },
    };
    let mut sampling_priority = match carrier.get_key(&SAMPLED).map(str::trim) {
        None => None,
        Some("0") => Some(0),
        Some("1") => Some(1),
        Some(other) => {
            record(
                STYLE,
                MalformedReason::InvalidSamplingPriority,
                format_args!("{SAMPLED} {} is not 0 or 1; no priority", shown(other)),
            );
            None
        }
    };
    if carrier.get_key(&FLAGS).map(str::trim) == Some("1") {
        sampling_priority = Some(2);
    }
    Some(StyleContext {
        trace_id,
        span_id,
        sampling_priority,
        ..StyleContext::default()
    })
}

/// Writes the `x-b3-*` headers.
pub(crate) fn inject_multi(ctx: &InjectContext<'_>, carrier: &mut dyn Injector) {
    let mut trace_id = String::with_capacity(trace_id_digits(ctx.trace_id));
    push_b3_trace_id(&mut trace_id, ctx.trace_id);
    carrier.set_key(&TRACE_ID, exact(trace_id));
    carrier.set_key(&SPAN_ID, Str::Owned(hex16(ctx.span_id)));
    match ctx.sampling_priority {
        Some(p) if p <= 0 => carrier.set_key(&SAMPLED, Str::Borrowed("0")),
        Some(1) => carrier.set_key(&SAMPLED, Str::Borrowed("1")),
        Some(_) => carrier.set_key(&FLAGS, Str::Borrowed("1")),
        None => {}
    }
}

/// Extracts a context from the `b3` header: `<trace>-<span>[-<0|1|d>[-<parent>]]`. A header
/// with the sampling state alone (`0`, `1`, `d`) carries no trace, so no context.
pub(crate) fn extract_single(carrier: &dyn Extractor) -> Option<StyleContext> {
    const STYLE: PropagationStyle = PropagationStyle::B3;
    let raw = carrier.get_key(&SINGLE)?.trim();
    if raw.is_empty() {
        return None;
    }
    let parts: Vec<&str> = raw.split('-').collect();
    let (trace, span, sampled, parent) = match parts.as_slice() {
        [state] => {
            crate::log::debug!(
                "propagation: b3: the header {} carries no trace id (sampling state only)",
                shown(state)
            );
            return None;
        }
        [t, s] => (*t, *s, None, None),
        [t, s, d] => (*t, *s, Some(*d), None),
        [t, s, d, p] => (*t, *s, Some(*d), Some(*p)),
        _ => {
            record(
                STYLE,
                MalformedReason::InvalidB3Header,
                format_args!("{} has more than 4 fields", shown(raw)),
            );
            return None;
        }
    };
    let Some(trace_id) = parse_trace_id(trace) else {
        record(
            STYLE,
            MalformedReason::InvalidTraceId,
            format_args!(
                "trace id {} must be 16 or 32 hex digits, non-zero",
                shown(trace)
            ),
        );
        return None;
    };
    let Some(span_id) = parse_span_id(span) else {
        record(
            STYLE,
            MalformedReason::InvalidParentId,
            format_args!("span id {} must be 16 hex digits, non-zero", shown(span)),
        );
        return None;
    };
    if let Some(p) = parent
        && parse_span_id(p).is_none()
    {
        record(
            STYLE,
            MalformedReason::InvalidB3Header,
            format_args!(
                "parent span id {} must be 16 hex digits, non-zero",
                shown(p)
            ),
        );
        return None;
    }
    let sampling_priority = match sampled {
        None => None,
        Some("0") => Some(0),
        Some("1") => Some(1),
        Some("d") => Some(2),
        Some(other) => {
            record(
                STYLE,
                MalformedReason::InvalidSamplingPriority,
                format_args!("sampling state {} is not 0, 1 or d", shown(other)),
            );
            return None;
        }
    };
    Some(StyleContext {
        trace_id,
        span_id,
        sampling_priority,
        ..StyleContext::default()
    })
}

/// Writes the `b3` header.
pub(crate) fn inject_single(ctx: &InjectContext<'_>, carrier: &mut dyn Injector) {
    let flag = match ctx.sampling_priority {
        Some(p) if p <= 0 => "-0",
        Some(1) => "-1",
        Some(_) => "-d",
        None => "",
    };
    // Exactly its length: `exact` then keeps it as it is.
    let mut value = String::with_capacity(trace_id_digits(ctx.trace_id) + 1 + 16 + flag.len());
    push_b3_trace_id(&mut value, ctx.trace_id);
    value.push('-');
    push_hex(&mut value, u128::from(ctx.span_id), 16);
    value.push_str(flag);
    carrier.set_key(&SINGLE, exact(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(parse_trace_id("000000000000000a"), Some(TraceId(10)));
        assert_eq!(
            parse_trace_id("0000000000000001000000000000000a"),
            Some(TraceId::from_parts(1, 10))
        );
        assert_eq!(parse_trace_id("a"), None);
        assert_eq!(parse_trace_id("0000000000000000"), None);
        assert_eq!(parse_trace_id("+00000000000000a"), None);
        assert_eq!(parse_span_id("00000000000000ff"), Some(255));
        assert_eq!(parse_span_id("ff"), None);
        assert_eq!(b3_trace_id(TraceId(1)), "0000000000000001");
        assert_eq!(b3_trace_id(TraceId::from_parts(1, 1)).len(), 32);
    }
}
