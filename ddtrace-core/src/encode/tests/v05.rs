//! v0.5: golden bytes, the string table and the JSON meta tags.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{cat, full_span, minimal_span, scan};
use crate::encode::v05::{StringTable, V05Payload};
use crate::{SpanData, SpanLink, TraceId};

type Span05 = (
    u32,
    u32,
    u32,
    u64,
    u64,
    u64,
    i64,
    i64,
    i32,
    BTreeMap<u32, u32>,
    BTreeMap<u32, f64>,
    u32,
);
type Payload05 = (Vec<String>, Vec<Vec<Span05>>);

fn encode(chunks: &[&[SpanData]]) -> Vec<u8> {
    let mut payload = V05Payload::new();
    for chunk in chunks {
        payload.push_chunk(chunk);
    }
    let expected_len = payload.size_estimate();
    let bytes = payload.take();
    assert_eq!(bytes.len(), expected_len);
    bytes
}

fn decode(bytes: &[u8]) -> Payload05 {
    rmp_serde::from_slice(bytes).expect("a v0.5 payload")
}

/// The span's meta with the indexes resolved.
fn meta_of(strings: &[String], span: &Span05) -> BTreeMap<String, String> {
    span.9
        .iter()
        .map(|(k, v)| (strings[*k as usize].clone(), strings[*v as usize].clone()))
        .collect()
}

#[test]
fn golden_minimal_payload() {
    #[rustfmt::skip]
    let expected = cat(&[
        b"\x92",                 // [strings, chunks]
        b"\x94",                 // 4 strings:
            b"\xa0",             //   0: ""
            b"\xa1s",            //   1: "s" (service)
            b"\xa1n",            //   2: "n" (name)
            b"\xa1r",            //   3: "r" (resource)
        b"\x91",                 // 1 chunk
            b"\x91",             //   of 1 span
                b"\x9c",         //     fixarray of 12:
                b"\x01",         //     service -> 1
                b"\x02",         //     name -> 2
                b"\x03",         //     resource -> 3
                b"\x01",         //     trace_id 1
                b"\x02",         //     span_id 2
                b"\x00",         //     parent_id 0
                b"\x03",         //     start 3
                b"\x04",         //     duration 4
                b"\x00",         //     error 0
                b"\x80",         //     meta {}
                b"\x80",         //     metrics {}
                b"\x00",         //     type "" -> 0
    ]);
    assert_eq!(encode(&[&[minimal_span()]]), expected);
}

#[test]
fn golden_full_payload() {
    let links_json = br#"[{"trace_id":"00000000000000010000000000000002","span_id":"0000000000000003","attributes":{"reason":"x"},"tracestate":"dd=s:1","flags":1}]"#;
    let events_json = br#"[{"name":"e","time_unix_nano":7,"attributes":{"a":1}}]"#;
    assert_eq!(links_json.len(), 0x8a);
    assert_eq!(events_json.len(), 0x36);
    #[rustfmt::skip]
    let expected = cat(&[
        b"\x92",
        b"\x9e",                              // 14 strings, in first-use order:
            b"\xa0",                          //  0 ""
            b"\xa3svc",                       //  1 service
            b"\xa2op",                        //  2 name
            b"\xa5GET /",                     //  3 resource
            b"\xa9_dd.p.tid",                 //  4 meta key
            b"\xb00000000000000abc",          //  5 meta value
            b"\xa1k",                         //  6
            b"\xa1v",                         //  7
            b"\xae_dd.span_links",            //  8
            b"\xd9\x8a", links_json,          //  9 the links JSON (str8, 138 bytes)
            b"\xa6events",                    // 10
            b"\xd9\x36", events_json,         // 11 the events JSON (str8, 54 bytes)
            b"\xa1m",                         // 12 metric key
            b"\xa3web",                       // 13 type
        b"\x91",                              // 1 chunk
            b"\x91",                          //   of 1 span
                b"\x9c",                      //     fixarray of 12:
                b"\x01", b"\x02", b"\x03",    //     service, name, resource
                b"\xcf\xff\xff\xff\xff\xff\xff\xff\xf0", // trace_id: low 64 bits, uint64
                b"\xcf\x80\x00\x00\x00\x00\x00\x00\x01", // span_id
                b"\x05",                      //     parent_id
                b"\xcf\x17\x97\x9c\xfe\x36\x2a\x00\x00", // start
                b"\xcd\x03\xe8",              //     duration 1000
                b"\x01",                      //     error
                b"\x84",                      //     meta: 2 tags + _dd.span_links + events
                    b"\x04", b"\x05",
                    b"\x06", b"\x07",
                    b"\x08", b"\x09",
                    b"\x0a", b"\x0b",
                b"\x81",                      //     metrics
                    b"\x0c", b"\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", // "m": 1.5
                b"\x0d",                      //     type "web"
    ]);
    assert_eq!(encode(&[&[full_span()]]), expected);
}

#[test]
fn round_trip_and_table_dedup() {
    let mut second = full_span();
    second.span_id = 6;
    second.links.clear();
    second.events.clear();
    let bytes = encode(&[&[full_span(), second], &[minimal_span()]]);
    assert_eq!(scan(&bytes).bins, 0);
    let (strings, chunks) = decode(&bytes);
    assert_eq!(strings[0], "");
    let mut seen = std::collections::HashSet::new();
    for s in &strings {
        assert!(seen.insert(s), "{s:?} appears twice in the table");
    }
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].len(), 2);
    let (a, b) = (&chunks[0][0], &chunks[0][1]);
    // Same strings, same indexes.
    assert_eq!((a.0, a.1, a.2, a.11), (b.0, b.1, b.2, b.11));
    assert_eq!(strings[a.0 as usize], "svc");
    assert_eq!(strings[a.1 as usize], "op");
    assert_eq!(strings[a.2 as usize], "GET /");
    assert_eq!(strings[a.11 as usize], "web");
    assert_eq!(
        (a.3, a.4, a.5, a.6, a.7, a.8),
        (
            0xffff_ffff_ffff_fff0,
            0x8000_0000_0000_0001,
            5,
            1_700_000_000_000_000_000,
            1000,
            1
        )
    );
    assert_eq!(b.4, 6);
    let metrics: Vec<(&str, f64)> =
        a.10.iter()
            .map(|(k, v)| (strings[*k as usize].as_str(), *v))
            .collect();
    assert_eq!(metrics, [("m", 1.5)]);
    assert_eq!(
        meta_of(&strings, b),
        BTreeMap::from([
            ("_dd.p.tid".to_owned(), "0000000000000abc".to_owned()),
            ("k".to_owned(), "v".to_owned()),
        ])
    );
    let m = &chunks[1][0];
    assert_eq!((m.5, m.8, m.11), (0, 0, 0));
    assert!(m.9.is_empty() && m.10.is_empty());
}

#[test]
fn span_links_meta_json_matches_reference_layout() {
    let mut span = minimal_span();
    span.meta.insert("_dd.span_links", "stale".into());
    span.links = vec![
        SpanLink {
            trace_id: TraceId::from_parts(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
            span_id: 0xabcd_ef01_2345_6789,
            flags: Some(0),
            ..SpanLink::default()
        },
        SpanLink {
            trace_id: TraceId(5),
            span_id: 6,
            tracestate: "dd=s:2;o:rum".into(),
            ..SpanLink::default()
        },
    ];
    let (strings, chunks) = decode(&encode(&[&[span]]));
    let meta = meta_of(&strings, &chunks[0][0]);
    assert_eq!(meta.len(), 1, "the generated tag replaces the old one");
    let links: Value = serde_json::from_str(&meta["_dd.span_links"]).unwrap();
    assert_eq!(
        links,
        json!([
            {"trace_id": "0123456789abcdeffedcba9876543210", "span_id": "abcdef0123456789", "flags": 0},
            {"trace_id": "00000000000000000000000000000005", "span_id": "0000000000000006", "tracestate": "dd=s:2;o:rum"},
        ])
    );
}

#[test]
fn string_table_basics() {
    let mut table = StringTable::new();
    assert_eq!(table.len(), 1);
    assert!(!table.is_empty());
    assert_eq!(table.get(""), Some(0));
    assert_eq!(table.encoded_len(), 2); // 0x91 0xa0
    assert_eq!(table.intern("a"), 1);
    assert_eq!(table.intern("b"), 2);
    assert_eq!(table.intern("a"), 1);
    assert_eq!(table.intern(""), 0);
    assert_eq!(table.len(), 3);
    assert_eq!(table.encoded_len(), 1 + 1 + 2 + 2);
    for i in 0..20 {
        table.intern(&format!("s{i}"));
    }
    // 23 strings: array16 header (3 bytes).
    assert_eq!(table.len(), 23);
    assert_eq!(table.encoded_len(), 3 + 1 + 2 + 2 + 10 * 3 + 10 * 4);
    table.clear();
    assert_eq!(table.len(), 1);
    assert_eq!(table.get("a"), None);
    assert_eq!(table.intern("z"), 1);
}

#[test]
fn take_resets_the_table() {
    let mut payload = V05Payload::new();
    payload.push_chunk(&[full_span()]);
    assert!(payload.string_table().len() > 10);
    let _ = payload.take();
    assert_eq!(payload.chunk_count(), 0);
    assert_eq!(payload.string_table().len(), 1);
    payload.push_chunk(&[minimal_span()]);
    let expected = encode(&[&[minimal_span()]]);
    assert_eq!(payload.take(), expected);
}

#[test]
fn static_strings_take_the_cache_and_agree_with_owned_ones() {
    use crate::span_data::Str;
    // Many distinct 'static strings, more than the cache has slots, so some collide.
    let statics: Vec<&'static str> = (0..600)
        .map(|i| &*Box::leak(format!("static-{i}").into_boxed_str()))
        .collect();
    let mut table = StringTable::new();
    for round in 0..2 {
        for (i, s) in statics.iter().enumerate() {
            let index = table.intern_str(&Str::Borrowed(s));
            assert_eq!(index as usize, i + 1, "round {round}: {s}");
            // The same content, owned (another address).
            assert_eq!(table.intern_str(&Str::Owned((*s).to_owned())), index);
            assert_eq!(table.get(s), Some(index));
        }
    }
    assert_eq!(table.intern_str(&Str::Borrowed("")), 0);
    assert_eq!(table.len(), statics.len() + 1);
    // After clear, a cached string is added again rather than given its old index.
    table.clear();
    assert_eq!(table.intern_str(&Str::Borrowed(statics[5])), 1);
    assert_eq!(table.len(), 2);
}

/// Span links in meta `_dd.span_links` stay within the agent's 25,000-byte meta value limit.
#[test]
fn meta_links_stay_within_the_agents_meta_value_limit() {
    let mut span = minimal_span();
    for i in 0..5 {
        span.links.push(SpanLink {
            trace_id: TraceId::from(u128::from(i + 1)),
            span_id: i + 1,
            tracestate: "x".repeat(6_000).into(),
            ..SpanLink::default()
        });
    }
    let payload = decode(&encode(&[&[span]]));
    let meta = meta_of(&payload.0, &payload.1[0][0]);
    let raw = &meta["_dd.span_links"];
    assert!(raw.len() <= 25_000, "{}", raw.len());
    let links: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(links.as_array().unwrap().len(), 4);
}
