//! The `Binary` format: a compact, versioned encoding of a span context.
//!
//! All integers are big-endian; every string is a `u16` byte length followed by that many
//! bytes of UTF-8.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version, `0x01` |
//! | 1 | 16 | trace id, 128 bits (high 64 bits first); non-zero |
//! | 17 | 8 | span id |
//! | 25 | 1 | flags: bit 0 = a sampling priority follows; other bits 0 |
//! | 26 | 4 | sampling priority, `i32` (0 when bit 0 is clear) |
//! | 30 | 2 + n | origin (empty: none) |
//! | … | 2 | propagated `_dd.p.*` tag count, then each tag: key string, value string |
//! | … | 2 | baggage item count, then each item: key string, value string |
//!
//! Nothing may follow the last item. An empty carrier holds no context
//! (`SpanContextNotFound`); anything else that does not decode exactly (unknown version or
//! flags, a zero trace id, a length past the end, invalid UTF-8, trailing bytes) is
//! `SpanContextCorrupted`. Decoding checks every length before reading and never panics.
//!
//! Injecting a context whose origin, a tag or a baggage item is longer than 65535 bytes,
//! or with more than 65535 tags or items, fails with `InvalidCarrier`.

use std::sync::Arc;

use ddtrace_core::{RemoteContext, Str, TagMap, TraceId};
use opentracing_api::{CarrierError, ExtractError, InjectError};

use crate::context::{Baggage, SpanContext};

/// The format version this module writes and reads.
pub const BINARY_VERSION: u8 = 1;

/// Flag bit: a sampling priority is present.
const HAS_PRIORITY: u8 = 0b0000_0001;

/// Encodes `context` into `out`, replacing its contents. A context without a Datadog part
/// (tracing disabled) leaves `out` empty.
pub(crate) fn inject(context: &SpanContext, out: &mut Vec<u8>) -> Result<(), InjectError> {
    out.clear();
    let Some(core) = context.core() else {
        return Ok(());
    };
    let mut buf = Vec::with_capacity(64);
    buf.push(BINARY_VERSION);
    buf.extend_from_slice(&core.trace_id().0.to_be_bytes());
    buf.extend_from_slice(&core.span_id().to_be_bytes());
    // Sent to another process: fixed from now on, as the other formats do.
    let priority = core.fix_sampling_decision();
    buf.push(if priority.is_some() { HAS_PRIORITY } else { 0 });
    buf.extend_from_slice(&priority.unwrap_or(0).to_be_bytes());
    put_str(&mut buf, "origin", core.origin().unwrap_or(""))?;
    let tags = core.propagation_tags();
    let tags: Vec<(&str, &str)> = tags
        .iter()
        .filter(|(k, _)| k.starts_with("_dd.p.") && *k != "_dd.p.tid")
        .map(|(k, v)| (k, v.as_ref()))
        .collect();
    put_pairs(&mut buf, "propagation tags", tags)?;
    put_pairs(
        &mut buf,
        "baggage",
        context
            .baggage()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    )?;
    *out = buf;
    Ok(())
}

fn too_long(what: &str) -> InjectError {
    InjectError::InvalidCarrier(CarrierError::new(
        what,
        "longer than the binary format's 65535-byte (or 65535-item) limit",
    ))
}

fn put_str(buf: &mut Vec<u8>, what: &str, s: &str) -> Result<(), InjectError> {
    let len = u16::try_from(s.len()).map_err(|_| too_long(what))?;
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_pairs(buf: &mut Vec<u8>, what: &str, pairs: Vec<(&str, &str)>) -> Result<(), InjectError> {
    let count = u16::try_from(pairs.len()).map_err(|_| too_long(what))?;
    buf.extend_from_slice(&count.to_be_bytes());
    for (k, v) in pairs {
        put_str(buf, k, k)?;
        put_str(buf, k, v)?;
    }
    Ok(())
}

/// Decodes a context (see the module docs for the errors).
pub(crate) fn extract(bytes: &[u8]) -> Result<SpanContext, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::SpanContextNotFound);
    }
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8("version")?;
    if version != BINARY_VERSION {
        return Err(corrupted(format!("unknown binary version {version}")));
    }
    let trace_id = TraceId(u128::from_be_bytes(r.array("trace id")?));
    if trace_id.0 == 0 {
        return Err(corrupted("zero trace id".into()));
    }
    let span_id = u64::from_be_bytes(r.array("span id")?);
    let flags = r.u8("flags")?;
    if flags & !HAS_PRIORITY != 0 {
        return Err(corrupted(format!("unknown flags {flags:#04x}")));
    }
    let priority = i32::from_be_bytes(r.array("sampling priority")?);
    let origin = r.string("origin")?;
    let mut propagation_tags = TagMap::new();
    for (k, v) in r.pairs("propagation tag")? {
        propagation_tags.insert(k, Str::Owned(v));
    }
    let baggage: Baggage = r.pairs("baggage item")?.into_iter().collect();
    if r.pos != bytes.len() {
        return Err(corrupted(format!(
            "{} trailing bytes",
            bytes.len().saturating_sub(r.pos)
        )));
    }
    let remote = RemoteContext {
        trace_id,
        span_id,
        sampling_priority: (flags & HAS_PRIORITY != 0).then_some(priority),
        origin: (!origin.is_empty()).then_some(origin),
        propagation_tags,
        baggage: baggage
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..Default::default()
    };
    Ok(SpanContext::new(
        Some(ddtrace_core::SpanContext::remote(remote)),
        Arc::new(baggage),
    ))
}

fn corrupted(why: String) -> ExtractError {
    ExtractError::SpanContextCorrupted(format!("binary: {why}"))
}

/// A bounds-checked cursor.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], ExtractError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| corrupted(format!("truncated {what}")))?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| corrupted(format!("truncated {what}")))?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ExtractError> {
        let slice = self.take(N, what)?;
        <[u8; N]>::try_from(slice).map_err(|_| corrupted(format!("truncated {what}")))
    }

    fn u8(&mut self, what: &str) -> Result<u8, ExtractError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<usize, ExtractError> {
        Ok(usize::from(u16::from_be_bytes(self.array(what)?)))
    }

    fn string(&mut self, what: &str) -> Result<String, ExtractError> {
        let len = self.u16(what)?;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| corrupted(format!("{what} is not UTF-8")))
    }

    fn pairs(&mut self, what: &str) -> Result<Vec<(String, String)>, ExtractError> {
        let count = self.u16(what)?;
        // Each pair takes at least 4 bytes: do not trust the count for the allocation.
        let mut pairs =
            Vec::with_capacity(count.min(self.bytes.len().saturating_sub(self.pos) / 4));
        for _ in 0..count {
            let k = self.string(what)?;
            let v = self.string(what)?;
            pairs.push((k, v));
        }
        Ok(pairs)
    }
}

#[cfg(test)]
mod tests {
    use opentracing_api::SpanContext as _;

    use super::*;

    fn sample() -> SpanContext {
        let mut tags = TagMap::new();
        tags.insert("_dd.p.dm", Str::Borrowed("-4"));
        let remote = RemoteContext {
            trace_id: TraceId::from_parts(0x0102_0304_0506_0708, 0x090a_0b0c_0d0e_0f10),
            span_id: 0x1112_1314_1516_1718,
            sampling_priority: Some(2),
            origin: Some("rum".into()),
            propagation_tags: tags,
            ..Default::default()
        };
        SpanContext::new(
            Some(ddtrace_core::SpanContext::remote(remote)),
            Arc::default(),
        )
        .with_baggage_item("k", "v")
    }

    #[test]
    fn golden_bytes() {
        let mut out = Vec::new();
        inject(&sample(), &mut out).unwrap();
        let mut expected = vec![1_u8];
        expected.extend(1..=0x18_u8); // trace id then span id
        expected.extend([1, 0, 0, 0, 2]); // flags, priority
        expected.extend([0, 3, b'r', b'u', b'm']);
        expected.extend([0, 1, 0, 8]);
        expected.extend(b"_dd.p.dm");
        expected.extend([0, 2, b'-', b'4']);
        expected.extend([0, 1, 0, 1, b'k', 0, 1, b'v']);
        assert_eq!(out, expected);
    }

    #[test]
    fn round_trips() {
        let mut out = vec![9, 9, 9];
        inject(&sample(), &mut out).unwrap();
        let ctx = extract(&out).unwrap();
        assert_eq!(ctx.dd_trace_id(), sample().dd_trace_id());
        assert_eq!(ctx.dd_span_id(), Some(0x1112_1314_1516_1718));
        assert_eq!(ctx.sampling_priority(), Some(2));
        assert_eq!(ctx.origin(), Some("rum"));
        assert_eq!(ctx.baggage_items().collect::<Vec<_>>(), [("k", "v")]);
        let tags = ctx.core().unwrap().propagation_tags();
        assert_eq!(tags.get("_dd.p.dm").map(|v| v.as_ref()), Some("-4"));
    }

    #[test]
    fn no_priority_no_origin() {
        let remote = RemoteContext {
            trace_id: TraceId::from_parts(0, 1),
            span_id: 2,
            ..Default::default()
        };
        let ctx = SpanContext::new(
            Some(ddtrace_core::SpanContext::remote(remote)),
            Arc::default(),
        );
        let mut out = Vec::new();
        inject(&ctx, &mut out).unwrap();
        assert_eq!(out.len(), 1 + 16 + 8 + 1 + 4 + 2 + 2 + 2);
        let back = extract(&out).unwrap();
        assert_eq!(back.sampling_priority(), None);
        assert_eq!(back.origin(), None);
    }

    #[test]
    fn a_context_without_datadog_part_writes_nothing() {
        let mut out = vec![1, 2];
        inject(&SpanContext::default(), &mut out).unwrap();
        assert!(out.is_empty());
        assert_eq!(
            extract(&out).unwrap_err(),
            ExtractError::SpanContextNotFound
        );
    }

    #[test]
    fn every_truncation_and_every_corruption_is_an_error() {
        let mut good = Vec::new();
        inject(&sample(), &mut good).unwrap();
        for len in 1..good.len() {
            assert!(
                matches!(
                    extract(&good[..len]),
                    Err(ExtractError::SpanContextCorrupted(_))
                ),
                "truncated to {len}"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            extract(&trailing),
            Err(ExtractError::SpanContextCorrupted(_))
        ));
        let mut version = good.clone();
        version[0] = 2;
        assert!(matches!(
            extract(&version),
            Err(ExtractError::SpanContextCorrupted(_))
        ));
        let mut flags = good.clone();
        flags[25] = 0x80;
        assert!(matches!(
            extract(&flags),
            Err(ExtractError::SpanContextCorrupted(_))
        ));
        let mut zero = good.clone();
        zero[1..17].fill(0);
        assert!(matches!(
            extract(&zero),
            Err(ExtractError::SpanContextCorrupted(_))
        ));
        let mut utf8 = good.clone();
        utf8[32] = 0xff; // first origin byte
        assert!(matches!(
            extract(&utf8),
            Err(ExtractError::SpanContextCorrupted(_))
        ));
        let mut count = good.clone();
        count[35] = 0xff; // tag count high byte
        assert!(matches!(
            extract(&count),
            Err(ExtractError::SpanContextCorrupted(_))
        ));
        // Every single-byte change decodes or errors, never panics.
        for i in 0..good.len() {
            for b in [0x00, 0x7f, 0xff] {
                let mut bytes = good.clone();
                bytes[i] = b;
                let _ = extract(&bytes);
            }
        }
        // Pseudo-random garbage.
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let len = (x % 80) as usize;
            let garbage: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = extract(&garbage);
        }
    }

    #[test]
    fn oversized_items_are_refused_on_inject() {
        let ctx = sample().with_baggage_item("big", "x".repeat(70_000));
        let mut out = vec![7];
        assert!(matches!(
            inject(&ctx, &mut out),
            Err(InjectError::InvalidCarrier(_))
        ));
        assert!(out.is_empty());
    }
}
