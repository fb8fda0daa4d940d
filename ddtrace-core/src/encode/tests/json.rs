//! The JSON-lines rendering and the JSON string escaping.

use serde_json::{Value, json};

use super::{full_span, minimal_span, typed_event};
use crate::TraceId;
use crate::encode::json::{chunk_to_json_line, push_json_str, write_chunk_json};

#[test]
fn minimal_chunk_exact_line() {
    assert_eq!(
        chunk_to_json_line(&[minimal_span()]),
        concat!(
            r#"[{"trace_id":1,"span_id":2,"parent_id":0,"name":"n","service":"s","resource":"r","#,
            r#""type":"","start":3,"duration":4,"error":0,"meta":{},"metrics":{}}]"#
        )
    );
    assert_eq!(chunk_to_json_line(&[]), "[]");
}

#[test]
fn full_chunk_parses_back() {
    let mut span = full_span();
    span.events.push(typed_event());
    let line = chunk_to_json_line(&[span, minimal_span()]);
    assert!(!line.contains('\n'));
    let parsed: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        parsed[0],
        json!({
            "trace_id": 0xffff_ffff_ffff_fff0_u64,
            "trace_id_128": "0000000000000abcfffffffffffffff0",
            "span_id": 0x8000_0000_0000_0001_u64,
            "parent_id": 5,
            "name": "op",
            "service": "svc",
            "resource": "GET /",
            "type": "web",
            "start": 1_700_000_000_000_000_000_u64,
            "duration": 1000,
            "error": 1,
            "meta": {"_dd.p.tid": "0000000000000abc", "k": "v"},
            "metrics": {"m": 1.5},
            "span_links": [{
                "trace_id": 2,
                "trace_id_high": 1,
                "span_id": 3,
                "attributes": {"reason": "x"},
                "tracestate": "dd=s:1",
                "flags": 0x8000_0001_u32,
            }],
            "span_events": [
                {"name": "e", "time_unix_nano": 7, "attributes": {"a": 1}},
                {
                    "name": "exception",
                    "time_unix_nano": 1_700_000_000_000_000_001_u64,
                    "attributes": {"s": "x", "b": true, "i": -2, "d": 0.5, "ints": [1, 2], "arr": [1, "y", [false]]},
                },
            ],
        })
    );
    assert!(parsed[1].get("trace_id_128").is_none());
    assert!(parsed[1].get("span_links").is_none());
}

#[test]
fn trace_id_128_only_with_high_bits() {
    let mut span = minimal_span();
    span.trace_id = TraceId::from_parts(1, 2);
    let parsed: Value = serde_json::from_str(&chunk_to_json_line(&[span])).unwrap();
    assert_eq!(parsed[0]["trace_id"], json!(2));
    assert_eq!(
        parsed[0]["trace_id_128"],
        json!("00000000000000010000000000000002")
    );
}

#[test]
fn floats_and_non_finite_metrics() {
    let mut span = minimal_span();
    span.metrics.insert("two", 2.0);
    span.metrics.insert("big", 1e300);
    span.metrics.insert("nan", f64::NAN);
    span.metrics.insert("inf", f64::INFINITY);
    let mut line = String::from("prefix:");
    write_chunk_json(&mut line, &[span]);
    assert!(
        line.contains(r#""metrics":{"two":2.0,"big":1e+300,"nan":null,"inf":null}"#),
        "{line}"
    );
    let parsed: Value = serde_json::from_str(&line["prefix:".len()..]).unwrap();
    assert_eq!(parsed[0]["metrics"]["big"], json!(1e300));
}

#[test]
fn string_escaping() {
    let mut out = String::new();
    push_json_str(&mut out, "a\"b\\c\nd\re\tf\u{8}\u{c}\u{1}\u{1f}é😀/");
    assert_eq!(out, r#""a\"b\\c\nd\re\tf\b\f\u0001\u001fé😀/""#);
    let back: String = serde_json::from_str(&out).unwrap();
    assert_eq!(back, "a\"b\\c\nd\re\tf\u{8}\u{c}\u{1}\u{1f}é😀/");
}
