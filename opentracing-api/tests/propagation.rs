//! Inject / extract on every carrier and format, and the propagation errors.
#![cfg(feature = "mock")]

use std::collections::{BTreeMap, HashMap};

use opentracing_api::http::{HeaderMap, HeaderValue};
use opentracing_api::{
    Binary, ExtractError, Format, HttpHeaders, InjectError, MockSpanContext, MockTracer, Span,
    TextMap, Tracer,
};

/// A context with trace 1, span 1 and two baggage items.
fn sent(tracer: &MockTracer) -> MockSpanContext {
    let mut span = tracer.start_span("client");
    span.set_baggage_item("user", "ada lovelace");
    span.set_baggage_item("tenant", "acme/eu");
    span.context().clone()
}

fn expected() -> MockSpanContext {
    MockSpanContext {
        trace_id: 1,
        span_id: 1,
        baggage: BTreeMap::from([
            ("tenant".to_string(), "acme/eu".to_string()),
            ("user".to_string(), "ada lovelace".to_string()),
        ]),
    }
}

#[test]
fn text_map_round_trips_through_a_hash_map() {
    let tracer = MockTracer::new();
    let mut carrier: HashMap<String, String> = HashMap::new();
    tracer
        .inject(&sent(&tracer), TextMap, &mut carrier)
        .unwrap();
    assert_eq!(
        carrier,
        HashMap::from([
            ("ot-mock-trace-id".to_string(), "1".to_string()),
            ("ot-mock-span-id".to_string(), "1".to_string()),
            (
                "ot-mock-baggage-user".to_string(),
                "ada lovelace".to_string()
            ),
            ("ot-mock-baggage-tenant".to_string(), "acme/eu".to_string()),
        ])
    );
    assert_eq!(tracer.extract(TextMap, &carrier), Ok(expected()));
}

#[test]
fn text_map_round_trips_through_a_btree_map() {
    let tracer = MockTracer::new();
    let mut carrier: BTreeMap<String, String> = BTreeMap::new();
    tracer
        .inject(&sent(&tracer), TextMap, &mut carrier)
        .unwrap();
    assert_eq!(carrier.len(), 4);
    assert_eq!(tracer.extract(TextMap, &carrier), Ok(expected()));
}

#[test]
fn text_map_keys_are_case_sensitive() {
    let tracer = MockTracer::new();
    let mut carrier: HashMap<String, String> = HashMap::new();
    tracer
        .inject(&sent(&tracer), TextMap, &mut carrier)
        .unwrap();
    let upper: HashMap<String, String> = carrier
        .into_iter()
        .map(|(k, v)| (k.to_uppercase(), v))
        .collect();
    assert_eq!(
        tracer.extract(TextMap, &upper),
        Err(ExtractError::SpanContextNotFound)
    );
}

#[test]
fn http_headers_round_trip_through_a_header_map() {
    let tracer = MockTracer::new();
    let mut headers = HeaderMap::new();
    tracer
        .inject(&sent(&tracer), HttpHeaders, &mut headers)
        .unwrap();
    assert_eq!(headers.len(), 4);
    assert_eq!(headers["ot-mock-trace-id"], "1");
    assert_eq!(headers["ot-mock-span-id"], "1");
    // Baggage values are percent-encoded to be valid header values.
    assert_eq!(headers["ot-mock-baggage-user"], "ada%20lovelace");
    assert_eq!(headers["ot-mock-baggage-tenant"], "acme%2Feu");
    assert_eq!(tracer.extract(HttpHeaders, &headers), Ok(expected()));
}

#[test]
fn http_header_names_are_case_insensitive_in_maps() {
    for uppercase in [true, false] {
        let tracer = MockTracer::new();
        let mut carrier: BTreeMap<String, String> = BTreeMap::new();
        tracer
            .inject(&sent(&tracer), HttpHeaders, &mut carrier)
            .unwrap();
        let renamed: HashMap<String, String> = carrier
            .into_iter()
            .map(|(k, v)| {
                let k = if uppercase {
                    k.to_uppercase()
                } else {
                    // Title-Case, as some proxies rewrite headers.
                    k.split('-')
                        .map(|w| w[..1].to_uppercase() + &w[1..])
                        .collect::<Vec<_>>()
                        .join("-")
                };
                (k, v)
            })
            .collect();
        assert!(renamed.contains_key(if uppercase {
            "OT-MOCK-TRACE-ID"
        } else {
            "Ot-Mock-Trace-Id"
        }));
        assert_eq!(tracer.extract(HttpHeaders, &renamed), Ok(expected()));
    }
}

#[test]
fn http_header_names_are_case_insensitive_in_header_maps() {
    let tracer = MockTracer::new();
    let mut carrier: HashMap<String, String> = HashMap::new();
    tracer
        .inject(&sent(&tracer), HttpHeaders, &mut carrier)
        .unwrap();
    let mut headers = HeaderMap::new();
    for (k, v) in &carrier {
        let name =
            opentracing_api::http::HeaderName::from_bytes(k.to_uppercase().as_bytes()).unwrap();
        headers.insert(name, HeaderValue::from_str(v).unwrap());
    }
    assert_eq!(tracer.extract(HttpHeaders, &headers), Ok(expected()));
}

#[test]
fn http_baggage_keys_come_back_lowercase() {
    let tracer = MockTracer::new();
    let mut span = tracer.start_span("s");
    span.set_baggage_item("UserId", "7");
    let mut headers = HeaderMap::new();
    tracer
        .inject(span.context(), HttpHeaders, &mut headers)
        .unwrap();
    let extracted = tracer.extract(HttpHeaders, &headers).unwrap();
    assert_eq!(
        extracted.baggage,
        BTreeMap::from([("userid".to_string(), "7".to_string())])
    );
}

#[test]
fn binary_round_trips() {
    let tracer = MockTracer::new();
    let mut bytes = Vec::new();
    tracer.inject(&sent(&tracer), Binary, &mut bytes).unwrap();
    assert_eq!(bytes.len(), 21 + (4 + 6 + 4 + 7) + (4 + 4 + 4 + 12));
    assert_eq!(tracer.extract(Binary, &bytes), Ok(expected()));
    assert_eq!(tracer.extract(Binary, &bytes[..]), Ok(expected()));
}

#[test]
fn empty_carriers_hold_no_context() {
    let tracer = MockTracer::new();
    let map: HashMap<String, String> = HashMap::new();
    let tree: BTreeMap<String, String> = BTreeMap::new();
    let headers = HeaderMap::new();
    let bytes: Vec<u8> = Vec::new();
    assert_eq!(
        tracer.extract(TextMap, &map),
        Err(ExtractError::SpanContextNotFound)
    );
    assert_eq!(
        tracer.extract(TextMap, &tree),
        Err(ExtractError::SpanContextNotFound)
    );
    assert_eq!(
        tracer.extract(HttpHeaders, &headers),
        Err(ExtractError::SpanContextNotFound)
    );
    assert_eq!(
        tracer.extract(Binary, &bytes),
        Err(ExtractError::SpanContextNotFound)
    );
}

#[test]
fn unrelated_keys_are_not_a_context() {
    let tracer = MockTracer::new();
    let carrier = HashMap::from([
        ("content-type".to_string(), "text/plain".to_string()),
        ("ot-mock-baggage-orphan".to_string(), "x".to_string()),
    ]);
    assert_eq!(
        tracer.extract(TextMap, &carrier),
        Err(ExtractError::SpanContextNotFound)
    );
}

#[test]
fn malformed_ids_are_corrupted() {
    let tracer = MockTracer::new();
    let mut carrier: HashMap<String, String> = HashMap::new();
    tracer
        .inject(&sent(&tracer), TextMap, &mut carrier)
        .unwrap();

    let mut bad_span = carrier.clone();
    bad_span.insert(MockTracer::SPAN_ID_KEY.to_string(), "12ab".to_string());
    assert_eq!(
        tracer.extract(TextMap, &bad_span),
        Err(ExtractError::SpanContextCorrupted(
            r#"invalid span id "12ab""#.to_string()
        ))
    );

    let mut bad_trace = carrier.clone();
    bad_trace.insert(MockTracer::TRACE_ID_KEY.to_string(), "-1".to_string());
    assert_eq!(
        tracer.extract(TextMap, &bad_trace),
        Err(ExtractError::SpanContextCorrupted(
            r#"invalid trace id "-1""#.to_string()
        ))
    );

    let mut missing_span = carrier;
    missing_span.remove(MockTracer::SPAN_ID_KEY);
    assert_eq!(
        tracer.extract(TextMap, &missing_span),
        Err(ExtractError::SpanContextCorrupted(
            "span id missing".to_string()
        ))
    );
}

#[test]
fn malformed_header_baggage_is_corrupted() {
    let tracer = MockTracer::new();
    let mut headers = HeaderMap::new();
    tracer
        .inject(&sent(&tracer), HttpHeaders, &mut headers)
        .unwrap();
    headers.insert("ot-mock-baggage-user", HeaderValue::from_static("%G1"));
    assert_eq!(
        tracer.extract(HttpHeaders, &headers),
        Err(ExtractError::SpanContextCorrupted(
            r#"invalid percent-encoding "%G1""#.to_string()
        ))
    );
}

#[test]
fn truncated_binary_is_corrupted() {
    let tracer = MockTracer::new();
    let mut bytes = Vec::new();
    tracer.inject(&sent(&tracer), Binary, &mut bytes).unwrap();
    assert_eq!(
        tracer.extract(Binary, &bytes[..10]),
        Err(ExtractError::SpanContextCorrupted(
            "binary context truncated".to_string()
        ))
    );
}

#[test]
fn a_carrier_refusing_a_key_is_an_invalid_carrier() {
    let tracer = MockTracer::new();
    let mut span = tracer.start_span("s");
    span.set_baggage_item("not a header", "v");
    let mut headers = HeaderMap::new();
    let err = tracer
        .inject(span.context(), HttpHeaders, &mut headers)
        .unwrap_err();
    let InjectError::InvalidCarrier(carrier) = &err else {
        panic!("expected InvalidCarrier, got {err:?}");
    };
    assert_eq!(carrier.key, "ot-mock-baggage-not a header");
    assert!(
        err.to_string()
            .starts_with("invalid carrier: the carrier refused `ot-mock-baggage-not a header`"),
        "{err}"
    );
}

#[test]
fn extracted_contexts_parent_new_spans() {
    let tracer = MockTracer::new();
    let mut headers = HeaderMap::new();
    tracer
        .inject(&sent(&tracer), HttpHeaders, &mut headers)
        .unwrap();
    let parent = tracer.extract(HttpHeaders, &headers).unwrap();
    let server = tracer.span_builder("server").child_of(&parent).start();
    assert_eq!(server.context().trace_id, 1);
    assert_eq!(server.context().span_id, 2);
    assert_eq!(server.baggage_item("user"), Some("ada lovelace"));
    server.finish();
    let spans = tracer.finished_spans();
    // `sent` dropped the client span, so it finished first.
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[1].operation_name, "server");
    assert_eq!(spans[1].parent_id, Some(1));
    assert_eq!(Format::HttpHeaders.to_string(), "http_headers");
}
