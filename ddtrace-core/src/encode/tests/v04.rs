//! v0.4: golden bytes, round trips and field rules.

use serde_json::{Value, json};

use super::{cat, full_span, minimal_span, scan, typed_event};
use crate::encode::EncodeOptions;
use crate::encode::v04::V04Encoder;
use crate::{SpanData, SpanEvent, SpanLink, TraceId};

fn encode(span: &SpanData, options: EncodeOptions) -> Vec<u8> {
    let mut out = Vec::new();
    V04Encoder::new(options).encode_span(&mut out, span);
    out
}

fn decode(bytes: &[u8]) -> Value {
    rmp_serde::from_slice(bytes).expect("valid msgpack with str keys")
}

const NATIVE: EncodeOptions = EncodeOptions::new().with_native_span_events(true);

#[test]
fn golden_minimal_span() {
    #[rustfmt::skip]
    let expected = cat(&[
        b"\x87",                                   // fixmap, 7 entries: the always-written fields
        b"\xa7service",  b"\xa1s",                 // "service": fixstr "s"
        b"\xa4name",     b"\xa1n",                 // "name": "n"
        b"\xa8resource", b"\xa1r",                 // "resource": "r"
        b"\xa8trace_id", b"\x01",                  // "trace_id": positive fixint 1
        b"\xa7span_id",  b"\x02",                  // "span_id": 2
        b"\xa5start",    b"\x03",                  // "start": 3
        b"\xa8duration", b"\x04",                  // "duration": 4
    ]);
    assert_eq!(encode(&minimal_span(), EncodeOptions::new()), expected);
}

#[test]
fn golden_full_span_events_as_meta_json() {
    let events_json = br#"[{"name":"e","time_unix_nano":7,"attributes":{"a":1}}]"#;
    assert_eq!(events_json.len(), 0x36);
    #[rustfmt::skip]
    let expected = cat(&[
        b"\x8d",              // fixmap, 13 entries: 7 + parent_id, error, type, meta, metrics, span_links
        b"\xa7service",       b"\xa3svc",
        b"\xa4name",          b"\xa2op",
        b"\xa8resource",      b"\xa5GET /",
        b"\xa8trace_id",      b"\xcf\xff\xff\xff\xff\xff\xff\xff\xf0", // low 64 bits only, > i64::MAX: uint64
        b"\xa7span_id",       b"\xcf\x80\x00\x00\x00\x00\x00\x00\x01", // 0x8000_0000_0000_0001: uint64
        b"\xa9parent_id",     b"\x05",
        b"\xa5start",         b"\xcf\x17\x97\x9c\xfe\x36\x2a\x00\x00", // 1.7e18 = 0x17979cfe362a0000
        b"\xa8duration",      b"\xcd\x03\xe8",                         // 1000: uint16
        b"\xa5error",         b"\x01",
        b"\xa4type",          b"\xa3web",
        b"\xa4meta",          b"\x83",          // the two tags plus the generated "events"
            b"\xa9_dd.p.tid", b"\xb00000000000000abc",
            b"\xa1k",         b"\xa1v",
            b"\xa6events",    b"\xd9\x36", events_json, // str8, 54 bytes
        b"\xa7metrics",       b"\x81",
            b"\xa1m",         b"\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", // float64 1.5
        b"\xaaspan_links",    b"\x91",          // one link
            b"\x86",          // trace_id, trace_id_high, span_id, attributes, tracestate, flags
            b"\xa8trace_id",      b"\x02",
            b"\xadtrace_id_high", b"\x01",
            b"\xa7span_id",       b"\x03",
            b"\xaaattributes",    b"\x81", b"\xa6reason", b"\xa1x",
            b"\xaatracestate",    b"\xa6dd=s:1",
            b"\xa5flags",         b"\xce\x80\x00\x00\x01", // uint32: flags 1 | bit 31
    ]);
    assert_eq!(encode(&full_span(), EncodeOptions::new()), expected);
}

#[test]
fn golden_native_span_events() {
    let mut span = minimal_span();
    span.events = full_span().events;
    #[rustfmt::skip]
    let expected = cat(&[
        b"\x88",                    // fixmap, 8 entries: the 7 always-written ones + span_events
        b"\xa7service",  b"\xa1s",
        b"\xa4name",     b"\xa1n",
        b"\xa8resource", b"\xa1r",
        b"\xa8trace_id", b"\x01",
        b"\xa7span_id",  b"\x02",
        b"\xa5start",    b"\x03",
        b"\xa8duration", b"\x04",
        b"\xabspan_events", b"\x91", // one event
            b"\x83",                 // time_unix_nano, name, attributes
            b"\xaetime_unix_nano", b"\x07",
            b"\xa4name",           b"\xa1e",
            b"\xaaattributes",     b"\x81",
                b"\xa1a", b"\x82",   // "a": {type: 2, int_value: 1}
                    b"\xa4type",      b"\x02",
                    b"\xa9int_value", b"\x01",
    ]);
    assert_eq!(encode(&span, NATIVE), expected);
}

#[test]
fn full_span_round_trip() {
    let bytes = encode(&full_span(), EncodeOptions::new());
    let decoded = decode(&bytes);
    assert_eq!(
        decoded,
        json!({
            "service": "svc",
            "name": "op",
            "resource": "GET /",
            "trace_id": 0xffff_ffff_ffff_fff0_u64,
            "span_id": 0x8000_0000_0000_0001_u64,
            "parent_id": 5,
            "start": 1_700_000_000_000_000_000_u64,
            "duration": 1000,
            "error": 1,
            "type": "web",
            "meta": {
                "_dd.p.tid": "0000000000000abc",
                "k": "v",
                "events": r#"[{"name":"e","time_unix_nano":7,"attributes":{"a":1}}]"#,
            },
            "metrics": {"m": 1.5},
            "span_links": [{
                "trace_id": 2,
                "trace_id_high": 1,
                "span_id": 3,
                "attributes": {"reason": "x"},
                "tracestate": "dd=s:1",
                "flags": 0x8000_0001_u32,
            }],
        })
    );
    // The meta JSON itself parses back to the event.
    let events: Value = serde_json::from_str(decoded["meta"]["events"].as_str().unwrap()).unwrap();
    assert_eq!(
        events,
        json!([{"name": "e", "time_unix_nano": 7, "attributes": {"a": 1}}])
    );
}

#[test]
fn every_string_is_str_never_bin() {
    for options in [EncodeOptions::new(), NATIVE] {
        let mut span = full_span();
        span.events.push(typed_event());
        let found = scan(&encode(&span, options));
        assert_eq!(found.bins, 0);
        assert_eq!(found.nils, 0);
        assert!(found.strs > 30, "{found:?}");
    }
}

#[test]
fn ids_above_i64_max_are_uint64() {
    let mut span = minimal_span();
    span.trace_id = TraceId(u64::MAX as u128);
    span.span_id = u64::MAX;
    span.parent_id = (i64::MAX as u64) + 1;
    let bytes = encode(&span, EncodeOptions::new());
    assert_eq!(scan(&bytes).u64s, 3);
    let decoded = decode(&bytes);
    assert_eq!(decoded["trace_id"], json!(u64::MAX));
    assert_eq!(decoded["span_id"], json!(u64::MAX));
    assert_eq!(decoded["parent_id"], json!(1u64 << 63));
    let needle = b"\xa7span_id\xcf\xff\xff\xff\xff\xff\xff\xff\xff";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
}

#[test]
fn trace_id_is_low_64_bits_and_no_tid_is_added() {
    let mut span = minimal_span();
    span.trace_id = TraceId::from_parts(0x6543_2100_0000_0000, 42);
    let decoded = decode(&encode(&span, EncodeOptions::new()));
    assert_eq!(decoded["trace_id"], json!(42));
    assert!(
        decoded.get("meta").is_none(),
        "the encoder adds no _dd.p.tid"
    );
}

#[test]
fn empty_optional_fields_are_omitted() {
    let decoded = decode(&encode(&minimal_span(), NATIVE));
    let keys: Vec<&str> = decoded
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "duration", "name", "resource", "service", "span_id", "start", "trace_id"
        ]
    );
    // Negative start/duration stay signed.
    let mut span = minimal_span();
    span.start = -1;
    span.duration = -200;
    let decoded = decode(&encode(&span, EncodeOptions::new()));
    assert_eq!(decoded["start"], json!(-1));
    assert_eq!(decoded["duration"], json!(-200));
}

#[test]
fn link_optional_fields_are_omitted() {
    let mut span = minimal_span();
    span.links.push(SpanLink {
        trace_id: TraceId(9),
        span_id: 8,
        ..SpanLink::default()
    });
    span.links.push(SpanLink {
        trace_id: TraceId(9),
        span_id: 8,
        flags: Some(0),
        ..SpanLink::default()
    });
    let decoded = decode(&encode(&span, EncodeOptions::new()));
    assert_eq!(
        decoded["span_links"],
        json!([
            {"trace_id": 9, "span_id": 8},
            {"trace_id": 9, "span_id": 8, "flags": 0x8000_0000_u32},
        ])
    );
}

#[test]
fn events_json_replaces_existing_tag_without_mutating_span() {
    let mut span = minimal_span();
    span.meta.insert("events", "stale".into());
    span.meta.insert("z", "last".into());
    span.events.push(SpanEvent {
        name: "boom \"quoted\"".into(),
        time_unix_nano: 1,
        attributes: crate::TagMap::new(),
    });
    let before = span.clone();
    let bytes = encode(&span, EncodeOptions::new());
    assert_eq!(span, before);
    let decoded = decode(&bytes);
    assert_eq!(
        decoded["meta"],
        json!({
            "z": "last",
            "events": r#"[{"name":"boom \"quoted\"","time_unix_nano":1}]"#,
        })
    );
    assert!(decoded.get("span_events").is_none());
    // Exactly two meta entries on the wire (the map header counts them).
    let needle = b"\xa4meta\x82";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
}

#[test]
fn native_events_keep_existing_events_tag_and_type_every_value() {
    let mut span = minimal_span();
    span.meta.insert("events", "user tag".into());
    span.events.push(typed_event());
    let decoded = decode(&encode(&span, NATIVE));
    assert_eq!(decoded["meta"], json!({"events": "user tag"}));
    assert_eq!(
        decoded["span_events"],
        json!([{
            "time_unix_nano": 1_700_000_000_000_000_001_u64,
            "name": "exception",
            "attributes": {
                "s": {"type": 0, "string_value": "x"},
                "b": {"type": 1, "bool_value": true},
                "i": {"type": 2, "int_value": -2},
                "d": {"type": 3, "double_value": 0.5},
                "ints": {"type": 4, "array_value": {"values": [
                    {"type": 2, "int_value": 1},
                    {"type": 2, "int_value": 2},
                ]}},
                // The agent takes arrays of one type only: a mixed one is its JSON text.
                "arr": {"type": 0, "string_value": "[1,\"y\",[false]]"},
            },
        }])
    );
}

#[test]
fn json_events_use_plain_values() {
    let mut span = minimal_span();
    span.events.push(typed_event());
    let decoded = decode(&encode(&span, EncodeOptions::new()));
    let events: Value = serde_json::from_str(decoded["meta"]["events"].as_str().unwrap()).unwrap();
    assert_eq!(
        events,
        json!([{
            "name": "exception",
            "time_unix_nano": 1_700_000_000_000_000_001_u64,
            "attributes": {"s": "x", "b": true, "i": -2, "d": 0.5, "ints": [1, 2], "arr": [1, "y", [false]]},
        }])
    );
}

#[test]
fn encode_chunk_is_an_array_of_spans() {
    let chunk = [minimal_span(), full_span()];
    let mut out = vec![0xaa]; // appends after existing bytes
    V04Encoder::new(EncodeOptions::new()).encode_chunk(&mut out, &chunk);
    assert_eq!(out[0], 0xaa);
    assert_eq!(out[1], 0x92);
    let decoded = decode(&out[1..]);
    assert_eq!(decoded[0]["service"], json!("s"));
    assert_eq!(decoded[1]["service"], json!("svc"));
    let mut one = Vec::new();
    V04Encoder::new(EncodeOptions::new()).encode_span(&mut one, &minimal_span());
    assert_eq!(&out[2..2 + one.len()], one.as_slice());
}

#[test]
fn long_strings_use_str8_and_str16() {
    let mut span = minimal_span();
    span.resource = "r".repeat(40).into();
    span.meta.insert("big", "x".repeat(300).into());
    let bytes = encode(&span, EncodeOptions::new());
    let needle: &[u8] = b"\xa8resource\xd9\x28rrrr";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
    let needle: &[u8] = b"\xa3big\xda\x01\x2cxxxx";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
    assert_eq!(scan(&bytes).bins, 0);
    let decoded = decode(&bytes);
    assert_eq!(decoded["meta"]["big"].as_str().unwrap().len(), 300);
}

#[test]
fn a_chunk_encoded_into_a_used_buffer_is_the_same_bytes() {
    let chunk = [full_span(), minimal_span()];
    for root in [0, 1] {
        let fresh = crate::encode::encode_v04_chunk(EncodeOptions::new(), &chunk, root);
        let mut used = vec![0xc1; 3 * fresh.len()];
        crate::encode::encode_v04_chunk_into(&mut used, EncodeOptions::new(), &chunk, root);
        assert_eq!(used, fresh);
    }
}

/// The agent cuts meta values past 25,000 bytes, which would leave the JSON unparsable: the
/// events that do not fit are left out, the rest stays valid JSON.
#[test]
fn meta_events_stay_within_the_agents_meta_value_limit() {
    let mut span = minimal_span();
    for i in 0..3 {
        span.events.push(SpanEvent {
            name: format!("e{i}").into(),
            time_unix_nano: 1,
            attributes: [(
                "blob",
                crate::AttributeValue::String("x".repeat(10_000).into()),
            )]
            .into_iter()
            .collect(),
        });
    }
    let decoded = decode(&encode(&span, EncodeOptions::new()));
    let raw = decoded["meta"]["events"].as_str().unwrap();
    assert!(raw.len() <= 25_000, "{}", raw.len());
    let events: Value = serde_json::from_str(raw).unwrap();
    let names: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["e0", "e1"]);
    // Natively (no meta limit) all three go.
    let decoded = decode(&encode(&span, NATIVE));
    assert_eq!(decoded["span_events"].as_array().unwrap().len(), 3);
}
