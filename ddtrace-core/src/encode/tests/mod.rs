//! Tests of the encoders: golden bytes, decode round trips and payload accounting.

mod json;
mod payload;
mod v04;
mod v05;

use crate::{AttributeValue, SpanData, SpanEvent, SpanLink, TagMap, TraceId};

/// Concatenates byte fragments (to write golden vectors piece by piece).
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// trace 1, span 2, name "n", service "s", resource "r", start 3, duration 4; nothing else.
fn minimal_span() -> SpanData {
    SpanData {
        trace_id: TraceId(1),
        span_id: 2,
        name: "n".into(),
        service: "s".into(),
        resource: "r".into(),
        start: 3,
        duration: 4,
        ..SpanData::default()
    }
}

/// A span with every field set: 128-bit trace id, ids above `i64::MAX`, parent, error, type,
/// meta, metrics, one link and one event.
fn full_span() -> SpanData {
    SpanData {
        trace_id: TraceId::from_parts(0xabc, 0xffff_ffff_ffff_fff0),
        span_id: 0x8000_0000_0000_0001,
        parent_id: 5,
        name: "op".into(),
        service: "svc".into(),
        resource: "GET /".into(),
        span_type: "web".into(),
        start: 1_700_000_000_000_000_000,
        duration: 1000,
        error: true,
        meta: [("_dd.p.tid", "0000000000000abc"), ("k", "v")]
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect(),
        metrics: [("m", 1.5)].into_iter().collect(),
        links: vec![SpanLink {
            trace_id: TraceId::from_parts(1, 2),
            span_id: 3,
            attributes: [("reason", "x".into())].into_iter().collect(),
            tracestate: "dd=s:1".into(),
            flags: Some(1),
        }],
        events: vec![SpanEvent {
            name: "e".into(),
            time_unix_nano: 7,
            attributes: [("a", AttributeValue::Int(1))].into_iter().collect(),
        }],
    }
}

/// An event carrying one attribute of each kind, an array and a nested array.
fn typed_event() -> SpanEvent {
    let attributes: TagMap<AttributeValue> = [
        ("s", AttributeValue::String("x".into())),
        ("b", AttributeValue::Bool(true)),
        ("i", AttributeValue::Int(-2)),
        ("d", AttributeValue::Double(0.5)),
        (
            "ints",
            AttributeValue::Array(vec![AttributeValue::Int(1), AttributeValue::Int(2)]),
        ),
        (
            "arr",
            AttributeValue::Array(vec![
                AttributeValue::Int(1),
                AttributeValue::String("y".into()),
                AttributeValue::Array(vec![AttributeValue::Bool(false)]),
            ]),
        ),
    ]
    .into_iter()
    .collect();
    SpanEvent {
        name: "exception".into(),
        time_unix_nano: 1_700_000_000_000_000_001,
        attributes,
    }
}

/// What a structural walk of a msgpack value found.
#[derive(Debug, Default, PartialEq, Eq)]
struct Scan {
    /// Values of the bin family (0xc4-0xc6): must stay 0.
    bins: usize,
    /// Values of the str family.
    strs: usize,
    /// `uint64` (0xcf) values.
    u64s: usize,
    /// `nil` values.
    nils: usize,
}

/// Walks one complete msgpack value covering all of `bytes`, counting value kinds.
fn scan(bytes: &[u8]) -> Scan {
    let mut rd = bytes;
    let mut found = Scan::default();
    walk(&mut rd, &mut found);
    assert!(rd.is_empty(), "{} trailing bytes after the value", rd.len());
    found
}

fn skip<'a>(rd: &mut &'a [u8], n: usize) -> &'a [u8] {
    assert!(rd.len() >= n, "truncated msgpack");
    let (head, tail) = rd.split_at(n);
    *rd = tail;
    head
}

fn read_len(rd: &mut &[u8], width: usize) -> usize {
    skip(rd, width)
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
}

fn walk(rd: &mut &[u8], found: &mut Scan) {
    use rmp::Marker as M;
    let marker = rmp::decode::read_marker(rd)
        .map_err(|e| e.0)
        .expect("a marker");
    match marker {
        M::FixPos(_) | M::FixNeg(_) | M::True | M::False => {}
        M::Null => found.nils += 1,
        M::U8 | M::I8 => drop(skip(rd, 1)),
        M::U16 | M::I16 => drop(skip(rd, 2)),
        M::U32 | M::I32 | M::F32 => drop(skip(rd, 4)),
        M::U64 => {
            found.u64s += 1;
            skip(rd, 8);
        }
        M::I64 | M::F64 => drop(skip(rd, 8)),
        M::FixStr(n) => {
            found.strs += 1;
            skip(rd, usize::from(n));
        }
        M::Str8 | M::Str16 | M::Str32 => {
            found.strs += 1;
            let width = match marker {
                M::Str8 => 1,
                M::Str16 => 2,
                _ => 4,
            };
            let n = read_len(rd, width);
            skip(rd, n);
        }
        M::Bin8 | M::Bin16 | M::Bin32 => {
            found.bins += 1;
            let width = match marker {
                M::Bin8 => 1,
                M::Bin16 => 2,
                _ => 4,
            };
            let n = read_len(rd, width);
            skip(rd, n);
        }
        M::FixArray(n) => (0..n).for_each(|_| walk(rd, found)),
        M::Array16 | M::Array32 => {
            let n = read_len(rd, if marker == M::Array16 { 2 } else { 4 });
            (0..n).for_each(|_| walk(rd, found));
        }
        M::FixMap(n) => (0..2 * usize::from(n)).for_each(|_| walk(rd, found)),
        M::Map16 | M::Map32 => {
            let n = read_len(rd, if marker == M::Map16 { 2 } else { 4 });
            (0..2 * n).for_each(|_| walk(rd, found));
        }
        other => panic!("unexpected msgpack marker {other:?}"),
    }
}

#[test]
fn scan_detects_bin_and_u64() {
    // The walker itself must be able to fail: a bin value and a uint64 are counted.
    let mut w = rmp::encode::ByteBuf::new();
    rmp::encode::write_array_len(&mut w, 3).unwrap();
    rmp::encode::write_bin(&mut w, b"ab").unwrap();
    rmp::encode::write_u64(&mut w, 1).unwrap();
    rmp::encode::write_str(&mut w, "c").unwrap();
    let found = scan(w.as_slice());
    assert_eq!(
        found,
        Scan {
            bins: 1,
            strs: 1,
            u64s: 1,
            nils: 0
        }
    );
}

#[test]
fn api_version_paths() {
    use super::ApiVersion;
    assert_eq!(ApiVersion::V04.path(), "/v0.4/traces");
    assert_eq!(ApiVersion::V05.path(), "/v0.5/traces");
    assert_eq!(ApiVersion::default(), ApiVersion::V04);
    assert_eq!(ApiVersion::V05.to_string(), "v0.5");
}

#[test]
fn const_keys_are_fixstr() {
    const KEY: [u8; 8] = super::fixstr::<8>("service");
    assert_eq!(KEY, *b"\xa7service");
}
