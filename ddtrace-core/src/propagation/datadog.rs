//! The `datadog` style: `x-datadog-*` headers.
//!
//! - `x-datadog-trace-id`: the low 64 bits of the trace id, decimal. Missing, non-numeric, zero
//!   or ≥ 2^64 means no context.
//! - `x-datadog-parent-id`: decimal span id; missing is 0, non-numeric rejects the context.
//! - `x-datadog-sampling-priority`: an integer; non-numeric rejects the context (as the
//!   reference tracer does).
//! - `x-datadog-origin`.
//! - `x-datadog-tags`: `k=v,k=v`, only `_dd.p.*` keys kept (`_dd.p.upstream_services` dropped);
//!   over the length limit it is ignored (`extract_max_size`), undecodable it is ignored
//!   (`decoding_error`); `_dd.p.tid` (16 lowercase hex, non-zero) supplies the high 64 bits of
//!   the trace id, else `malformed_tid <value>`; an invalid `_dd.p.dm` is dropped
//!   (`decoding_error`).

use smallvec::SmallVec;

use crate::span_data::{Str, TraceId};

use super::stats::{MalformedReason, record, shown};
use super::{
    DECISION_MAKER_KEY, InjectContext, PropagationStyle, StyleContext, TID_KEY, built, decimal,
    decimal_u64, hex16, lower_hex, priority_value, propagated_tag, split_once_byte,
};
use super::{Extractor, HeaderKey, Injector};

static TRACE_ID: HeaderKey = HeaderKey::new("x-datadog-trace-id");
static PARENT_ID: HeaderKey = HeaderKey::new("x-datadog-parent-id");
static PRIORITY: HeaderKey = HeaderKey::new("x-datadog-sampling-priority");
static ORIGIN: HeaderKey = HeaderKey::new("x-datadog-origin");
static TAGS: HeaderKey = HeaderKey::new("x-datadog-tags");
const STYLE: PropagationStyle = PropagationStyle::Datadog;

/// Propagated tags the reference refuses on extraction.
const EXTRACT_REJECT: &[&str] = &["_dd.p.upstream_services"];

/// Parses an unsigned decimal (ASCII digits only, surrounding whitespace allowed).
fn parse_decimal(raw: &str) -> Option<u64> {
    decimal_u64(raw.trim())
}

/// Extracts a context from `x-datadog-*` headers.
pub(crate) fn extract(carrier: &dyn Extractor, tags_max_length: usize) -> Option<StyleContext> {
    let raw_trace = carrier.get_key(&TRACE_ID)?;
    let low = match parse_decimal(raw_trace) {
        Some(id) if id != 0 => id,
        _ => {
            record(
                STYLE,
                MalformedReason::InvalidTraceId,
                format_args!(
                    "{TRACE_ID} {} must be a decimal number in [1, 2^64)",
                    shown(raw_trace)
                ),
            );
            return None;
        }
    };
    let span_id = match carrier.get_key(&PARENT_ID) {
        None => 0,
        Some(raw) => match parse_decimal(raw) {
            Some(id) => id,
            None => {
                record(
                    STYLE,
                    MalformedReason::InvalidParentId,
                    format_args!("{PARENT_ID} {} is not a decimal u64", shown(raw)),
                );
                return None;
            }
        },
    };
    let sampling_priority = match carrier.get_key(&PRIORITY) {
        None => None,
        Some(raw) => match raw.trim().parse::<i32>() {
            Ok(p) => Some(p),
            Err(_) => {
                record(
                    STYLE,
                    MalformedReason::InvalidSamplingPriority,
                    format_args!("{PRIORITY} {} is not an integer", shown(raw)),
                );
                return None;
            }
        },
    };
    let origin = carrier
        .get_key(&ORIGIN)
        .filter(|o| !o.is_empty())
        .map(str::to_owned);

    let mut ctx = StyleContext {
        trace_id: TraceId::from_parts(0, low),
        span_id,
        sampling_priority,
        origin,
        ..StyleContext::default()
    };
    let raw_tags = carrier.get_key(&TAGS).unwrap_or("");
    if raw_tags.is_empty() || tags_max_length == 0 {
        return Some(ctx);
    }
    if raw_tags.len() > tags_max_length {
        record(
            STYLE,
            MalformedReason::TagsMaxSize,
            format_args!(
                "{TAGS} is {} bytes, over the {tags_max_length}-byte limit; tags ignored",
                raw_tags.len()
            ),
        );
        ctx.propagation_error = Some("extract_max_size".into());
        return Some(ctx);
    }
    let decoded = match decode_tagset(raw_tags) {
        Ok(d) => d,
        Err(why) => {
            record(
                STYLE,
                MalformedReason::TagsDecodingError,
                format_args!("{TAGS} {}: {why}; tags ignored", shown(raw_tags)),
            );
            ctx.propagation_error = Some("decoding_error".into());
            return Some(ctx);
        }
    };
    // `_dd.p.tid` is not kept as a tag: the trace id carries it.
    let mut tid = None;
    for (k, v) in decoded {
        if k == TID_KEY {
            tid = Some(v);
        } else if k.starts_with("_dd.p.") && !EXTRACT_REJECT.contains(&k) {
            let (k, v) = propagated_tag(k, v);
            ctx.tags.insert(k, v);
        }
    }
    if let Some(tid) = tid {
        match parse_tid(tid) {
            Some(high) => ctx.trace_id = TraceId::from_parts(high, low),
            None => {
                record(
                    STYLE,
                    MalformedReason::MalformedTid,
                    format_args!(
                        "{TID_KEY} {} must be 16 lowercase hex digits, non-zero",
                        shown(tid)
                    ),
                );
                ctx.propagation_error = Some(format!("malformed_tid {tid}"));
            }
        }
    }
    if let Some(dm) = ctx.tags.get(DECISION_MAKER_KEY)
        && !is_valid_decision_maker(dm)
    {
        record(
            STYLE,
            MalformedReason::InvalidDecisionMaker,
            format_args!("{DECISION_MAKER_KEY} {} must be -<0..255>", shown(dm)),
        );
        ctx.tags.remove(DECISION_MAKER_KEY);
        ctx.propagation_error = Some("decoding_error".into());
    }
    Some(ctx)
}

/// `_dd.p.tid`: 16 lowercase hex digits, not all zero.
pub(crate) fn parse_tid(tid: &str) -> Option<u64> {
    lower_hex(tid, 16).map(|h| h as u64).filter(|h| *h != 0)
}

/// `_dd.p.dm`: `-<n>` with `n` a mechanism in 0..=255 written without leading zeros.
pub(crate) fn is_valid_decision_maker(dm: &str) -> bool {
    decision_maker(dm).is_some()
}

/// The mechanism `n` of a valid `_dd.p.dm` (see [`is_valid_decision_maker`]).
pub(crate) fn decision_maker(dm: &str) -> Option<u8> {
    let n = dm.strip_prefix('-')?;
    if n.len() > 1 && n.starts_with('0') {
        return None;
    }
    u8::try_from(decimal_u64(n)?).ok()
}

fn is_key_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && b != b',' && b != b'='
}

fn is_value_byte(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) && b != b','
}

/// A decoded tag set: a handful of pairs, kept on the stack.
pub(crate) type Tagset<'a> = SmallVec<[(&'a str, &'a str); 4]>;

/// Decodes `k=v,k=v` (a trailing comma is allowed). Keys are printable ASCII without space,
/// comma or `=`; values printable ASCII without comma, trimmed, non-empty; a later duplicate key
/// wins.
pub(crate) fn decode_tagset(raw: &str) -> Result<Tagset<'_>, String> {
    let mut out = Tagset::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (item, tail) = match split_once_byte(rest, b',') {
            Some((item, tail)) => (item, tail),
            None => (rest, ""),
        };
        let Some((key, value)) = split_once_byte(item, b'=') else {
            return Err(format!("the entry {item:?} has no '='"));
        };
        if key.is_empty() {
            return Err("empty key".into());
        }
        if let Some(b) = key.bytes().find(|b| !is_key_byte(*b)) {
            return Err(format!("invalid byte 0x{b:02x} in key {key:?}"));
        }
        if let Some(b) = value.bytes().find(|b| !is_value_byte(*b)) {
            return Err(format!("invalid byte 0x{b:02x} in the value of {key:?}"));
        }
        let value = value.trim_matches(' ');
        if value.is_empty() {
            return Err(format!("empty value for {key:?}"));
        }
        out.retain(|(k, _)| *k != key);
        out.push((key, value));
        rest = tail;
    }
    Ok(out)
}

/// Why a tag set was not encoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// Over the limit.
    MaxSize,
    /// A key or value cannot be encoded.
    Invalid(String),
}

/// [`encode_tagset_into`] a new string.
#[cfg(test)]
pub(crate) fn encode_tagset<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    max: usize,
) -> Result<String, EncodeError> {
    let mut out = String::new();
    encode_tagset_into(&mut out, tags, max).map(|()| out)
}

/// Encodes `k=v,k=v` within `max` bytes into `out` (empty).
fn encode_tagset_into<'a>(
    out: &mut String,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    max: usize,
) -> Result<(), EncodeError> {
    for (k, v) in tags {
        let v = v.trim_matches(' ');
        if k.is_empty() || !k.bytes().all(is_key_byte) {
            return Err(EncodeError::Invalid(format!("key {k:?}")));
        }
        if v.is_empty() || !v.bytes().all(is_value_byte) {
            return Err(EncodeError::Invalid(format!("value {v:?} of {k:?}")));
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
        if out.len() > max {
            return Err(EncodeError::MaxSize);
        }
    }
    Ok(())
}

/// Writes the `x-datadog-*` headers; returns the propagation error to record, if any.
pub(crate) fn inject(
    ctx: &InjectContext<'_>,
    tags_max_length: usize,
    carrier: &mut dyn Injector,
) -> Option<&'static str> {
    carrier.set_key(&TRACE_ID, decimal(ctx.trace_id.low()));
    carrier.set_key(&PARENT_ID, decimal(ctx.span_id));
    if let Some(p) = ctx.sampling_priority {
        carrier.set_key(&PRIORITY, priority_value(p));
    }
    if let Some(o) = ctx.origin {
        carrier.set_key(&ORIGIN, Str::Owned(o.to_owned()));
    }
    if tags_max_length == 0 {
        return None;
    }
    let tid = (ctx.trace_id.high() != 0).then(|| hex16(ctx.trace_id.high()));
    let tags = ctx
        .propagation_tags
        .iter()
        .filter(|(k, _)| k.starts_with("_dd.p.") && *k != TID_KEY)
        .map(|(k, v)| (k, v.as_ref()))
        .chain(tid.as_deref().map(|t| (TID_KEY, t)));
    match built(|out| encode_tagset_into(out, tags, tags_max_length)) {
        (s, Ok(())) if s.is_empty() => None,
        (s, Ok(())) => {
            carrier.set_key(&TAGS, s);
            None
        }
        (_, Err(EncodeError::MaxSize)) => {
            crate::log::debug!(
                "propagation: datadog: {TAGS} over {tags_max_length} bytes, not injected"
            );
            Some("inject_max_size")
        }
        (_, Err(EncodeError::Invalid(what))) => {
            crate::log::debug!("propagation: datadog: {TAGS} not injected: cannot encode {what}");
            Some("encoding_error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagset_decoding_follows_the_reference() {
        assert_eq!(decode_tagset("a=b").unwrap()[..], [("a", "b")]);
        assert_eq!(decode_tagset("a=b,").unwrap()[..], [("a", "b")]);
        assert_eq!(decode_tagset("a=b=c").unwrap()[..], [("a", "b=c")]);
        assert_eq!(decode_tagset("a=b c").unwrap()[..], [("a", "b c")]);
        assert_eq!(decode_tagset("a=1,a=2").unwrap()[..], [("a", "2")]);
        for bad in [
            " a = b", "a", "=b", "a=", "a b=c", ",a=b", "a=b,,c=d", "a=é", "a=b\tc", "a\t=b",
        ] {
            assert!(decode_tagset(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tagset_encoding() {
        assert_eq!(
            encode_tagset([("a", "b "), ("c", "d")], 512).unwrap(),
            "a=b,c=d"
        );
        assert!(matches!(
            encode_tagset([("a b", "c")], 512),
            Err(EncodeError::Invalid(_))
        ));
        assert!(matches!(
            encode_tagset([("a", "b,c")], 512),
            Err(EncodeError::Invalid(_))
        ));
        assert!(matches!(
            encode_tagset([("a", "")], 512),
            Err(EncodeError::Invalid(_))
        ));
        assert_eq!(encode_tagset([("a", "bcd")], 4), Err(EncodeError::MaxSize));
        assert_eq!(encode_tagset([("a", "bc")], 4).unwrap(), "a=bc");
    }

    #[test]
    fn tid_and_decision_maker_validation() {
        assert_eq!(parse_tid("640cfd8d00000000"), Some(0x640c_fd8d_0000_0000));
        assert_eq!(parse_tid("0000000000000000"), None);
        assert_eq!(parse_tid("640CFD8D00000000"), None);
        assert_eq!(parse_tid("640cfd8d"), None);
        assert_eq!(parse_tid("640cfd8d0000000g"), None);
        assert!(is_valid_decision_maker("-4"));
        assert!(is_valid_decision_maker("-255"));
        assert!(!is_valid_decision_maker("-256"));
        assert!(!is_valid_decision_maker("4"));
        assert!(!is_valid_decision_maker("-04"));
        assert!(!is_valid_decision_maker("-"));
        assert!(is_valid_decision_maker("-0"));
        assert!(!is_valid_decision_maker("-00"));
        assert!(!is_valid_decision_maker("-+4"));
        assert!(!is_valid_decision_maker("- 4"));
        assert!(!is_valid_decision_maker("-99999999999999999999"));
    }

    #[test]
    fn header_values_are_written_as_std_formats_them_and_sized_exactly() {
        use super::super::{decimal, exact, priority_value, push_decimal, push_hex};
        for v in [
            0,
            1,
            9,
            10,
            42,
            999,
            1000,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = String::from("x");
            push_decimal(&mut out, v);
            assert_eq!(out, format!("x{v}"));
            let d = decimal(v);
            assert_eq!(d, v.to_string());
            assert!(
                matches!(&d, Str::Owned(s) if s.len() == s.capacity()),
                "{v}"
            );
        }
        for (v, len) in [
            (0u128, 16),
            (0xab, 2),
            (0x0123_4567_89ab_cdef, 16),
            (u128::from(u64::MAX), 16),
            (u128::MAX, 32),
            (0x66c0_ffee_0000_0000_4848_29ab_2dcb_a124, 32),
            // Only the low digits asked for.
            (0x1_0000_0000_0000_00ff, 16),
        ] {
            let mut out = String::new();
            push_hex(&mut out, v, len);
            let full = format!("{v:032x}");
            assert_eq!(out, full[32 - len..], "{v:x} as {len}");
        }
        for p in [-3, -1, 0, 1, 2, 7, i32::MIN, i32::MAX] {
            assert_eq!(priority_value(p), p.to_string());
        }
        assert!(matches!(priority_value(1), Str::Borrowed("1")));
        let mut roomy = String::with_capacity(100);
        roomy.push_str("abc");
        assert!(matches!(exact(roomy), Str::Owned(s) if s == "abc" && s.capacity() == 3));
    }

    #[test]
    fn byte_splits_split_as_str_does() {
        use super::super::{split_byte, split_once_byte};
        for s in [
            "",
            ",",
            "a",
            "a,",
            ",a",
            "a,b",
            "a,,b",
            "é,ü,",
            "dd=s:1,x=y z",
        ] {
            assert_eq!(
                split_byte(s, b',').collect::<Vec<_>>(),
                s.split(',').collect::<Vec<_>>(),
                "{s:?}"
            );
            assert_eq!(split_once_byte(s, b','), s.split_once(','), "{s:?}");
        }
    }

    #[test]
    fn decimal_and_hex_fields() {
        use super::super::{decimal_u64, lower_hex};
        assert_eq!(decimal_u64("0"), Some(0));
        assert_eq!(decimal_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(decimal_u64("18446744073709551616"), None, "overflow");
        assert_eq!(decimal_u64("99999999999999999999"), None, "overflow");
        for bad in ["", "+1", "-1", " 1", "1 ", "1a", "１"] {
            assert_eq!(decimal_u64(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_decimal(" 42 "),
            Some(42),
            "surrounding spaces allowed"
        );
        assert_eq!(lower_hex("00", 2), Some(0));
        assert_eq!(lower_hex("ff", 2), Some(255));
        assert_eq!(lower_hex(&"f".repeat(32), 32), Some(u128::MAX));
        assert_eq!(
            lower_hex("0123456789abcdef", 16),
            Some(0x0123_4567_89ab_cdef)
        );
        for (bad, len) in [
            ("FF", 2),
            ("f", 2),
            ("fff", 2),
            ("0g", 2),
            ("", 0),
            ("ab", 0),
        ] {
            assert_eq!(lower_hex(bad, len), None, "{bad:?} as {len}");
        }
        assert_eq!(lower_hex(&"0".repeat(33), 33), None, "over 32 digits");
    }
}
