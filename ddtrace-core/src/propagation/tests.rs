//! Tests of the propagators: every style both ways, and every malformed case of the protocol.

use std::collections::HashMap;

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn only(style: PropagationStyle) -> Propagator {
    Propagator::with_styles(vec![style], vec![style])
}

fn only_styles(styles: &[PropagationStyle]) -> Propagator {
    Propagator::with_styles(styles.to_vec(), styles.to_vec())
}

fn extract_ctx(style: PropagationStyle, pairs: &[(&str, &str)]) -> Option<RemoteContext> {
    only(style).extract(&headers(pairs)).and_then(|e| e.context)
}

fn tags(pairs: &[(&'static str, &'static str)]) -> TagMap<Str> {
    pairs.iter().map(|(k, v)| (*k, Str::Borrowed(*v))).collect()
}

const HIGH: u64 = 0x6656_8d8f_0000_0000;

/// Asserts that `f` rejects and bumps the counter of (`style`, `reason`).
fn assert_counted(style: PropagationStyle, reason: MalformedReason, f: impl FnOnce()) {
    let before = malformed_header_count(style, reason);
    f();
    assert!(
        malformed_header_count(style, reason) > before,
        "{style}/{reason} not counted"
    );
}

#[test]
fn datadog_round_trip_128_bit() {
    let p = only(PropagationStyle::Datadog);
    let t = tags(&[
        ("_dd.p.dm", "-4"),
        ("_dd.p.usr.id", "baz64"),
        ("other", "x"),
    ]);
    let ctx = InjectContext::new(TraceId::from_parts(HIGH, 1234), 5678)
        .priority(Some(2))
        .origin(Some("synthetics"))
        .tags(&t);
    let mut h: HashMap<String, String> = HashMap::new();
    assert_eq!(p.inject(&ctx, &mut h), InjectOutcome::default());
    assert_eq!(h["x-datadog-trace-id"], "1234");
    assert_eq!(h["x-datadog-parent-id"], "5678");
    assert_eq!(h["x-datadog-sampling-priority"], "2");
    assert_eq!(h["x-datadog-origin"], "synthetics");
    assert_eq!(
        h["x-datadog-tags"],
        "_dd.p.dm=-4,_dd.p.usr.id=baz64,_dd.p.tid=66568d8f00000000"
    );
    let e = p.extract(&h).unwrap();
    assert_eq!(e.style, Some(PropagationStyle::Datadog));
    assert_eq!(e.propagation_error, None);
    let r = e.context.unwrap();
    assert_eq!(r.trace_id, TraceId::from_parts(HIGH, 1234));
    assert_eq!(r.span_id, 5678);
    assert_eq!(r.sampling_priority, Some(2));
    assert_eq!(r.origin.as_deref(), Some("synthetics"));
    assert_eq!(
        r.propagation_tags,
        tags(&[("_dd.p.dm", "-4"), ("_dd.p.usr.id", "baz64")])
    );
}

#[test]
fn datadog_malformed_ids_mean_no_context() {
    use MalformedReason::*;
    let dd = PropagationStyle::Datadog;
    for bad in [
        "",
        "abc",
        "0",
        "-1",
        "18446744073709551616",
        "1.5",
        "0x10",
        "99999999999999999999999",
    ] {
        assert_counted(dd, InvalidTraceId, || {
            assert_eq!(
                extract_ctx(dd, &[("x-datadog-trace-id", bad)]),
                None,
                "{bad:?}"
            );
        });
    }
    // The largest 64-bit id is fine.
    assert!(extract_ctx(dd, &[("x-datadog-trace-id", "18446744073709551615")]).is_some());
    assert_eq!(
        extract_ctx(dd, &[("x-datadog-parent-id", "5")]),
        None,
        "no trace id"
    );
    assert_counted(dd, InvalidParentId, || {
        assert_eq!(
            extract_ctx(
                dd,
                &[("x-datadog-trace-id", "1"), ("x-datadog-parent-id", "x")]
            ),
            None
        );
    });
    assert_counted(dd, InvalidSamplingPriority, || {
        assert_eq!(
            extract_ctx(
                dd,
                &[
                    ("x-datadog-trace-id", "1"),
                    ("x-datadog-sampling-priority", "yes")
                ]
            ),
            None
        );
    });
    // A missing parent id is 0; a missing priority is none.
    let r = extract_ctx(dd, &[("X-Datadog-Trace-Id", " 7 ")]).unwrap();
    assert_eq!(
        (r.trace_id, r.span_id, r.sampling_priority),
        (TraceId(7), 0, None)
    );
}

#[test]
fn datadog_tags_errors() {
    use MalformedReason::*;
    let dd = PropagationStyle::Datadog;
    let p = only(dd);
    let base = [("x-datadog-trace-id", "1"), ("x-datadog-parent-id", "2")];
    let with = |t: &str| {
        let mut h = headers(&base);
        h.insert("x-datadog-tags".into(), t.into());
        p.extract(&h).unwrap()
    };
    // Only _dd.p.* keys, and never upstream_services.
    let e = with("_dd.p.a=1,b=2,_dd.p.upstream_services=x");
    assert_eq!(
        e.context.unwrap().propagation_tags,
        tags(&[("_dd.p.a", "1")])
    );
    // Undecodable: ignored, decoding_error.
    assert_counted(dd, TagsDecodingError, || {
        let e = with("_dd.p.a=1,,");
        assert_eq!(e.propagation_error.as_deref(), Some("decoding_error"));
        assert!(e.context.unwrap().propagation_tags.is_empty());
    });
    // Over 512 bytes: ignored, extract_max_size.
    assert_counted(dd, TagsMaxSize, || {
        let e = with(&format!("_dd.p.a={}", "x".repeat(600)));
        assert_eq!(e.propagation_error.as_deref(), Some("extract_max_size"));
        assert!(e.context.unwrap().propagation_tags.is_empty());
    });
    // Malformed tid: kept as the error, the trace id stays 64-bit.
    for bad in ["XYZ", "0000000000000000", "66568D8F00000000", "66568d8f"] {
        assert_counted(dd, MalformedTid, || {
            let e = with(&format!("_dd.p.tid={bad},_dd.p.a=1"));
            assert_eq!(e.propagation_error, Some(format!("malformed_tid {bad}")));
            assert_eq!(
                e.root_tags(),
                [(PROPAGATION_ERROR_KEY, format!("malformed_tid {bad}"))]
            );
            let r = e.context.unwrap();
            assert_eq!(r.trace_id, TraceId(1));
            assert_eq!(r.propagation_tags, tags(&[("_dd.p.a", "1")]));
        });
    }
    // Invalid decision maker: dropped, decoding_error.
    assert_counted(dd, InvalidDecisionMaker, || {
        let e = with("_dd.p.dm=4,_dd.p.a=1");
        assert_eq!(e.propagation_error.as_deref(), Some("decoding_error"));
        assert_eq!(
            e.context.unwrap().propagation_tags,
            tags(&[("_dd.p.a", "1")])
        );
    });
    // A configured limit of 0 ignores the header.
    let mut h = headers(&base);
    h.insert("x-datadog-tags".into(), "_dd.p.a=1".into());
    let e = only(dd).x_datadog_tags_max_length(0).extract(&h).unwrap();
    assert!(e.context.unwrap().propagation_tags.is_empty());
}

#[test]
fn datadog_inject_limits() {
    let p = only(PropagationStyle::Datadog);
    let long = format!("_dd.p.big={}", "x".repeat(600));
    let big: TagMap<Str> = [("_dd.p.big", Str::Owned("x".repeat(600)))]
        .into_iter()
        .collect();
    let mut h: HashMap<String, String> = HashMap::new();
    let out = p.inject(&InjectContext::new(TraceId(1), 2).tags(&big), &mut h);
    assert_eq!(out.propagation_error, Some("inject_max_size"));
    assert!(!h.contains_key("x-datadog-tags"), "{long}");
    assert_eq!(h["x-datadog-trace-id"], "1");
    let bad = tags(&[("_dd.p.x", "a,b")]);
    let mut h: HashMap<String, String> = HashMap::new();
    let out = p.inject(&InjectContext::new(TraceId(1), 2).tags(&bad), &mut h);
    assert_eq!(out.propagation_error, Some("encoding_error"));
    assert!(!h.contains_key("x-datadog-tags"));
    // Zero ids are never injected.
    let mut h: HashMap<String, String> = HashMap::new();
    p.inject(&InjectContext::new(TraceId(0), 2), &mut h);
    assert!(h.is_empty());
}

#[test]
fn tracecontext_round_trip() {
    let p = only(PropagationStyle::TraceContext);
    let t = tags(&[("_dd.p.dm", "-4"), ("_dd.p.usr.id", "a=b;c")]);
    let ctx = InjectContext::new(TraceId::from_parts(HIGH, 0xabc), 0x1234)
        .priority(Some(2))
        .origin(Some("rum,x"))
        .tags(&t)
        .tracestate(Some(
            "dd=s:1;p:0000000000000001,congo=t61rcWkgMzE, rojo=00f067aa0ba902b7",
        ));
    let mut h: HashMap<String, String> = HashMap::new();
    p.inject(&ctx, &mut h);
    assert_eq!(
        h["traceparent"],
        "00-66568d8f000000000000000000000abc-0000000000001234-01"
    );
    assert_eq!(
        h["tracestate"],
        "dd=s:2;o:rum_x;p:0000000000001234;t.dm:-4;t.usr.id:a~b_c,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    );
    let e = p.extract(&h).unwrap();
    assert_eq!(e.last_parent_id.as_deref(), Some("0000000000001234"));
    let r = e.context.unwrap();
    assert_eq!(r.trace_id, TraceId::from_parts(HIGH, 0xabc));
    assert_eq!(r.span_id, 0x1234);
    assert_eq!(r.sampling_priority, Some(2));
    assert_eq!(r.origin.as_deref(), Some("rum_x"));
    assert_eq!(
        r.propagation_tags,
        tags(&[("_dd.p.dm", "-4"), ("_dd.p.usr.id", "a=b_c")])
    );
    assert_eq!(r.tracestate.as_deref(), Some(h["tracestate"].as_str()));
    // Unsampled, no priority.
    let mut h: HashMap<String, String> = HashMap::new();
    p.inject(&InjectContext::new(TraceId(1), 1), &mut h);
    assert!(h["traceparent"].ends_with("-00"));
    assert_eq!(h["tracestate"], "dd=p:0000000000000001");
}

#[test]
fn tracecontext_dd_member_stays_within_256_chars() {
    let long: TagMap<Str> = (0..20)
        .map(|i| (format!("_dd.p.k{i}"), Str::Owned("v".repeat(20))))
        .collect();
    let ctx = InjectContext::new(TraceId(1), 1)
        .priority(Some(1))
        .tags(&long);
    let member = tracecontext::dd_member(&ctx);
    assert!(member.len() <= TRACESTATE_DD_MAX_CHARS, "{}", member.len());
    assert!(member.starts_with("s:1;p:0000000000000001;t.k0:"));
}

#[test]
fn tracecontext_malformed() {
    use MalformedReason::*;
    let tc = PropagationStyle::TraceContext;
    let good_tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for bad in [
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        // Low 64 bits zero: Datadog's trace id would be 0.
        "00-00000000000000010000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "garbage",
        "",
    ] {
        assert_counted(tc, InvalidTraceparent, || {
            assert_eq!(extract_ctx(tc, &[("traceparent", bad)]), None, "{bad:?}");
        });
    }
    // Whitespace around is tolerated.
    assert!(extract_ctx(tc, &[("traceparent", &format!(" {good_tp} "))]).is_some());
    // A non-printable tracestate is ignored, the context kept.
    assert_counted(tc, InvalidTracestate, || {
        let r = extract_ctx(
            tc,
            &[("traceparent", good_tp), ("tracestate", "dd=s:2,x=é")],
        )
        .unwrap();
        assert_eq!(r.tracestate, None);
        assert_eq!(r.sampling_priority, Some(1));
    });
    // A bad dd= member is ignored, the tracestate kept for the other vendors.
    for bad_dd in ["dd=s:x", "dd=nocolon", "dd="] {
        assert_counted(tc, InvalidTracestate, || {
            let r = extract_ctx(
                tc,
                &[
                    ("traceparent", good_tp),
                    ("tracestate", &format!("{bad_dd},a=b")),
                ],
            )
            .unwrap();
            assert_eq!(r.sampling_priority, Some(1));
            assert_eq!(
                r.tracestate.as_deref(),
                Some(format!("{bad_dd},a=b").as_str())
            );
        });
    }
}

#[test]
fn tracecontext_priority_reconciliation() {
    let tc = PropagationStyle::TraceContext;
    let case = |flags: &str, dd: &str| {
        let tp = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
        extract_ctx(tc, &[("traceparent", &tp), ("tracestate", dd)])
            .unwrap()
            .sampling_priority
    };
    assert_eq!(case("01", "dd=s:-1"), Some(1));
    assert_eq!(case("01", "dd=s:0"), Some(1));
    assert_eq!(case("01", "dd=s:2"), Some(2));
    assert_eq!(case("00", "dd=s:2"), Some(0));
    assert_eq!(case("00", "dd=s:1"), Some(0));
    assert_eq!(case("00", "dd=s:-1"), Some(-1));
    assert_eq!(case("01", "dd=o:x"), Some(1));
    assert_eq!(case("03", "other=1"), Some(1), "only bit 0 is sampled");
}

#[test]
fn tracestate_limits_on_extract() {
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let others: Vec<String> = (0..40).map(|i| format!("v{i}=x")).collect();
    let ts = format!("{},dd=s:2", others.join(","));
    let r = extract_ctx(
        PropagationStyle::TraceContext,
        &[("traceparent", tp), ("tracestate", &ts)],
    )
    .unwrap();
    let kept = r.tracestate.unwrap();
    assert!(kept.starts_with("dd=s:2,v0=x,"));
    assert_eq!(kept.split(',').count(), 32);
    assert_eq!(r.sampling_priority, Some(2));
}

#[test]
fn tracestate_is_kept_as_it_came_or_rebuilt_to_the_limits() {
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for (given, kept) in [
        (
            "dd=s:2;p:00f067aa0ba902b7,a=1",
            "dd=s:2;p:00f067aa0ba902b7,a=1",
        ),
        ("a=1,b=2", "a=1,b=2"),
        ("a=1,dd=s:2", "dd=s:2,a=1"),
        (" dd=s:2 , a=1 ", "dd=s:2,a=1"),
        ("dd=s:2,,a=1,", "dd=s:2,a=1"),
        ("dd=s:1,a=1,dd=s:2", "dd=s:2,a=1"),
        ("dd=s:2,a=1,", "dd=s:2,a=1"),
    ] {
        let r = extract_ctx(
            PropagationStyle::TraceContext,
            &[("traceparent", tp), ("tracestate", given)],
        )
        .unwrap();
        assert_eq!(r.tracestate.as_deref(), Some(kept), "{given:?}");
        let priority = if kept.starts_with("dd=s:2") { 2 } else { 1 };
        assert_eq!(r.sampling_priority, Some(priority), "{given:?}");
    }
}

#[test]
fn traceparent_of_a_later_version_or_with_fields_out_of_place() {
    let tc = PropagationStyle::TraceContext;
    let ctx = |tp: &str| extract_ctx(tc, &[("traceparent", tp)]);
    // A later version may carry more fields; its usual length reads the same.
    for tp in [
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later",
    ] {
        let r = ctx(tp).unwrap();
        assert_eq!(
            r.trace_id,
            TraceId(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736)
        );
        assert_eq!(r.span_id, 0x00f0_67aa_0ba9_02b7);
    }
    // 55 characters, but the dashes elsewhere.
    for bad in [
        "00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7001",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
    ] {
        assert_eq!(bad.len(), 55);
        assert_counted(tc, MalformedReason::InvalidTraceparent, || {
            assert_eq!(ctx(bad), None, "{bad:?}");
        });
    }
    let r = ctx("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
    assert_eq!(r.sampling_priority, Some(0));
}

#[test]
fn propagated_tags_keep_their_values_whichever_style_brings_them() {
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let tc = |ts: &str| {
        extract_ctx(
            PropagationStyle::TraceContext,
            &[("traceparent", tp), ("tracestate", ts)],
        )
        .unwrap()
    };
    let dd = |t: &str| {
        extract_ctx(
            PropagationStyle::Datadog,
            &[("x-datadog-trace-id", "1"), ("x-datadog-tags", t)],
        )
        .unwrap()
    };
    for dm in ["-0", "-4", "-15", "-16", "-255"] {
        let r = tc(&format!("dd=t.dm:{dm};t.tid:66568d8f00000000"));
        assert_eq!(r.propagation_tags, tags(&[("_dd.p.dm", dm)]), "{dm}");
        let r = dd(&format!("_dd.p.dm={dm},_dd.p.tid=66568d8f00000000"));
        assert_eq!(r.propagation_tags, tags(&[("_dd.p.dm", dm)]), "{dm}");
        assert_eq!(r.trace_id, TraceId::from_parts(HIGH, 1));
    }
    // `~` stands for `=` in tracestate values.
    let r = tc("dd=t.dm:-4;t.usr:a~b;t.x:c");
    assert_eq!(
        r.propagation_tags,
        tags(&[("_dd.p.dm", "-4"), ("_dd.p.usr", "a=b"), ("_dd.p.x", "c")])
    );
    // A later duplicate wins, in its place; the last `_dd.p.tid` is the one read.
    let r =
        dd("_dd.p.a=1,_dd.p.tid=0000000000000001,_dd.p.b=2,_dd.p.a=3,_dd.p.tid=66568d8f00000000");
    assert_eq!(
        r.propagation_tags,
        tags(&[("_dd.p.b", "2"), ("_dd.p.a", "3")])
    );
    assert_eq!(r.trace_id, TraceId::from_parts(HIGH, 1));
    // A `p:` that is not 16 lowercase hex digits is ignored; a good one is the last parent.
    let both = |p: &str| {
        only_styles(&[PropagationStyle::Datadog, PropagationStyle::TraceContext])
            .extract(&headers(&[
                ("x-datadog-trace-id", "11803532876627986230"),
                ("x-datadog-parent-id", "5"),
                ("x-datadog-tags", "_dd.p.tid=4bf92f3577b34da6"),
                ("traceparent", tp),
                ("tracestate", &format!("dd=p:{p}")),
            ]))
            .unwrap()
    };
    assert_eq!(
        both("00000000000000AB").last_parent_id.as_deref(),
        Some("0000000000000005")
    );
    assert_eq!(
        both("00000000000000ab").last_parent_id.as_deref(),
        Some("00000000000000ab")
    );
}

#[test]
fn the_tracers_extraction_keeps_the_context_with_its_baggage_and_counts_bad_baggage_without_one() {
    let p = Propagator::default();
    let h = headers(&[
        ("x-datadog-trace-id", "7"),
        ("x-datadog-parent-id", "8"),
        ("baggage", "user=ana"),
    ]);
    let whole = p.extract(&h).unwrap();
    let context = p.extract_context(&h).unwrap();
    assert_eq!(whole.context.as_ref(), Some(&context));
    assert_eq!(context.baggage.get("user").map(String::as_str), Some("ana"));
    assert_eq!((context.trace_id, context.span_id), (TraceId(7), 8));
    // No trace context: nothing to continue, but malformed baggage is still counted.
    assert_counted(
        PropagationStyle::Baggage,
        MalformedReason::BaggageMalformed,
        || {
            assert_eq!(
                p.extract_context(&headers(&[("baggage", "noequals")])),
                None
            );
        },
    );
}

#[test]
fn b3_round_trips() {
    for style in [PropagationStyle::B3Multi, PropagationStyle::B3] {
        let p = only(style);
        for (priority, back) in [
            (Some(-1), Some(0)),
            (Some(0), Some(0)),
            (Some(1), Some(1)),
            (Some(2), Some(2)),
            (None, None),
        ] {
            for trace in [TraceId(0xabc), TraceId::from_parts(HIGH, 0xabc)] {
                let mut h: HashMap<String, String> = HashMap::new();
                p.inject(&InjectContext::new(trace, 0x55).priority(priority), &mut h);
                let r = p.extract(&h).unwrap().context.unwrap();
                assert_eq!(
                    (r.trace_id, r.span_id, r.sampling_priority),
                    (trace, 0x55, back),
                    "{style} {h:?}"
                );
            }
        }
    }
    let mut h: HashMap<String, String> = HashMap::new();
    only(PropagationStyle::B3).inject(&InjectContext::new(TraceId(1), 2).priority(Some(2)), &mut h);
    assert_eq!(h["b3"], "0000000000000001-0000000000000002-d");
}

#[test]
fn b3_malformed() {
    use MalformedReason::*;
    let multi = PropagationStyle::B3Multi;
    for bad in [
        "",
        "xyz",
        "0000000000000000",
        "00000000000000010000000000000000",
        "123",
        "0000000000000000000000000000000g",
    ] {
        assert_counted(multi, InvalidTraceId, || {
            assert_eq!(
                extract_ctx(
                    multi,
                    &[("x-b3-traceid", bad), ("x-b3-spanid", "0000000000000001")]
                ),
                None
            );
        });
    }
    assert_counted(multi, InvalidParentId, || {
        assert_eq!(
            extract_ctx(
                multi,
                &[("x-b3-traceid", "0000000000000001"), ("x-b3-spanid", "12")]
            ),
            None
        );
    });
    // A bad sampled value drops the priority only.
    assert_counted(multi, InvalidSamplingPriority, || {
        let r = extract_ctx(
            multi,
            &[
                ("x-b3-traceid", "0000000000000001"),
                ("x-b3-spanid", "0000000000000002"),
                ("x-b3-sampled", "maybe"),
            ],
        )
        .unwrap();
        assert_eq!(r.sampling_priority, None);
    });
    let r = extract_ctx(
        multi,
        &[
            ("X-B3-TraceId", "0000000000000001"),
            ("X-B3-SpanId", "0000000000000002"),
            ("x-b3-flags", "1"),
        ],
    )
    .unwrap();
    assert_eq!(r.sampling_priority, Some(2));

    let single = PropagationStyle::B3;
    assert_eq!(
        extract_ctx(single, &[("b3", "1")]),
        None,
        "sampling state only"
    );
    assert_counted(single, InvalidB3Header, || {
        assert_eq!(extract_ctx(single, &[("b3", "a-b-c-d-e")]), None);
    });
    assert_counted(single, InvalidTraceId, || {
        assert_eq!(
            extract_ctx(single, &[("b3", "zz-0000000000000002-1")]),
            None
        );
    });
    assert_counted(single, InvalidParentId, || {
        assert_eq!(extract_ctx(single, &[("b3", "0000000000000001-2-1")]), None);
    });
    assert_counted(single, InvalidSamplingPriority, || {
        assert_eq!(
            extract_ctx(single, &[("b3", "0000000000000001-0000000000000002-x")]),
            None
        );
    });
    assert_counted(single, InvalidB3Header, || {
        assert_eq!(
            extract_ctx(single, &[("b3", "0000000000000001-0000000000000002-1-zz")]),
            None
        );
    });
    let r = extract_ctx(
        single,
        &[("b3", "0000000000000001-0000000000000002-d-0000000000000003")],
    )
    .unwrap();
    assert_eq!((r.span_id, r.sampling_priority), (2, Some(2)));
}

#[test]
fn baggage_both_ways() {
    let p = only(PropagationStyle::Baggage);
    let mut b: TagMap<String> = TagMap::new();
    b.insert("user.id", "doggo".to_owned());
    b.insert("serverNode", "DF 28".to_owned());
    b.insert("k,=", "v=é".to_owned());
    // A literal `%` is escaped, so a value that looks encoded comes back as it was.
    b.insert("100%", "a%41 100%".to_owned());
    let mut h: HashMap<String, String> = HashMap::new();
    p.inject(&InjectContext::new(TraceId(1), 1).baggage(&b), &mut h);
    assert_eq!(
        h["baggage"],
        "user.id=doggo,serverNode=DF%2028,k%2C%3D=v%3D%C3%A9,100%25=a%2541%20100%25"
    );
    let e = p.extract(&h).unwrap();
    assert_eq!(e.context, None, "baggage alone is no trace context");
    assert_eq!(e.baggage, b);
    // Injected even without a trace.
    let mut h: HashMap<String, String> = HashMap::new();
    p.inject(&InjectContext::new(TraceId(0), 0).baggage(&b), &mut h);
    assert!(h.contains_key("baggage"));
}

#[test]
fn baggage_malformed_and_limits() {
    use MalformedReason::*;
    let bg = PropagationStyle::Baggage;
    let p = only(bg);
    let get = |v: &str| {
        p.extract(&headers(&[("baggage", v)]))
            .map(|e| e.baggage)
            .unwrap_or_default()
    };
    for bad in ["novalue", "a=1,broken", "=v", "k=", "k= ", " =v"] {
        assert_counted(bg, BaggageMalformed, || {
            assert!(get(bad).is_empty(), "{bad:?}")
        });
    }
    assert_eq!(
        get("a = 1 , b=%20x%20").get("b").map(String::as_str),
        Some(" x ")
    );
    // 64 items at most.
    let many: Vec<String> = (0..70).map(|i| format!("k{i}=v")).collect();
    assert_counted(bg, BaggageTruncated, || {
        assert_eq!(get(&many.join(",")).len(), 64)
    });
    // 8192 bytes at most.
    let big: Vec<String> = (0..3)
        .map(|i| format!("k{i}={}", "v".repeat(3000)))
        .collect();
    assert_counted(bg, BaggageTruncated, || {
        assert_eq!(get(&big.join(",")).len(), 2)
    });
    // Injection drops what is over the limits.
    let mut b: TagMap<String> = TagMap::new();
    for i in 0..70 {
        b.insert(format!("k{i}"), "v".to_owned());
    }
    b.insert("blank", "  ".to_owned());
    let mut h: HashMap<String, String> = HashMap::new();
    p.inject(&InjectContext::new(TraceId(1), 1).baggage(&b), &mut h);
    assert_eq!(h["baggage"].split(',').count(), 64);
    let mut b: TagMap<String> = TagMap::new();
    for i in 0..3 {
        b.insert(format!("k{i}"), "v".repeat(3000));
    }
    let mut h: HashMap<String, String> = HashMap::new();
    p.inject(&InjectContext::new(TraceId(1), 1).baggage(&b), &mut h);
    assert!(h["baggage"].len() <= BAGGAGE_MAX_BYTES);
    assert_eq!(h["baggage"].split(',').count(), 2);
}

#[test]
fn baggage_blank_after_trim_is_not_reinjected() {
    // Found by the fuzzer: a key that is a tab once decoded.
    let p = only(PropagationStyle::Baggage);
    let e = p.extract(&headers(&[("baggage", "%09=0,k=v")])).unwrap();
    assert_eq!(e.baggage.len(), 2);
    let mut h: HashMap<String, String> = HashMap::new();
    p.inject(
        &InjectContext::new(TraceId(1), 1).baggage(&e.baggage),
        &mut h,
    );
    assert_eq!(h["baggage"], "k=v");
}

#[test]
fn first_valid_style_wins_and_w3c_same_trace_contributes() {
    let p = Propagator::default();
    // Datadog and W3C agree on the trace; W3C has another parent and a p: value.
    let h = headers(&[
        ("x-datadog-trace-id", "7277407061855694839"),
        ("x-datadog-parent-id", "5"),
        ("x-datadog-sampling-priority", "1"),
        ("x-datadog-tags", "_dd.p.tid=0000000000000001,_dd.p.dm=-1"),
        (
            "traceparent",
            "00-000000000000000164fe8b2a57d3eff7-00f067aa0ba902b7-01",
        ),
        ("tracestate", "dd=s:2;p:000000000000000a,foo=1"),
        ("baggage", "k=v"),
    ]);
    let e = p.extract(&h).unwrap();
    assert_eq!(e.style, Some(PropagationStyle::Datadog));
    assert_eq!(e.last_parent_id.as_deref(), Some("000000000000000a"));
    let r = e.context.unwrap();
    assert_eq!(r.trace_id, TraceId::from_parts(1, 7277407061855694839));
    assert_eq!(r.span_id, 0x00f067aa0ba902b7, "the W3C parent wins");
    assert_eq!(r.sampling_priority, Some(1), "the Datadog priority stays");
    assert_eq!(
        r.tracestate.as_deref(),
        Some("dd=s:2;p:000000000000000a,foo=1")
    );
    assert!(r.links.is_empty());
    assert_eq!(r.baggage.get("k").map(String::as_str), Some("v"));
    // Without p:, the Datadog parent becomes _dd.parent_id.
    let mut h2 = h.clone();
    h2.insert("tracestate".into(), "dd=s:2,foo=1".into());
    let e = p.extract(&h2).unwrap();
    assert_eq!(e.last_parent_id.as_deref(), Some("0000000000000005"));
    assert_eq!(
        e.root_tags(),
        [(LAST_PARENT_ID_KEY, "0000000000000005".to_owned())]
    );
    assert_eq!(
        e.context
            .unwrap()
            .local_root_tags
            .get(LAST_PARENT_ID_KEY)
            .map(String::as_str),
        Some("0000000000000005")
    );

    // Another trace in W3C becomes a span link.
    let mut h3 = h.clone();
    h3.insert(
        "traceparent".into(),
        "00-0000000000000002000000000000000a-00000000000000bb-01".into(),
    );
    let r = p.extract(&h3).unwrap().context.unwrap();
    assert_eq!(r.span_id, 5);
    assert_eq!(r.tracestate, None);
    assert_eq!(r.links.len(), 1);
    let link = &r.links[0];
    assert_eq!(link.trace_id, TraceId::from_parts(2, 10));
    assert_eq!(link.span_id, 0xbb);
    assert_eq!(link.flags, Some(1));
    assert_eq!(link.tracestate, "dd=s:2;p:000000000000000a,foo=1");
    assert_eq!(
        link.attributes.get("reason").map(|s| s.as_ref()),
        Some("terminated_context")
    );
    assert_eq!(
        link.attributes.get("context_headers").map(|s| s.as_ref()),
        Some("tracecontext")
    );

    // A malformed first style lets the next one win.
    let mut h4 = h.clone();
    h4.insert("x-datadog-trace-id".into(), "nope".into());
    let e = p.extract(&h4).unwrap();
    assert_eq!(e.style, Some(PropagationStyle::TraceContext));
    assert_eq!(e.context.unwrap().sampling_priority, Some(2));

    // Styles not configured are not read; `none` extracts nothing.
    let none = Propagator::with_styles(vec![], vec![]);
    assert_eq!(none.extract(&h), None);
    let mut out: HashMap<String, String> = HashMap::new();
    none.inject(&InjectContext::new(TraceId(1), 1), &mut out);
    assert!(out.is_empty());
}

#[test]
fn propagator_from_config_and_http_header_map() {
    let env: HashMap<&str, &str> = [
        ("DD_TRACE_PROPAGATION_STYLE_INJECT", "b3"),
        ("DD_TRACE_PROPAGATION_STYLE_EXTRACT", "b3multi,datadog"),
        ("DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH", "10"),
    ]
    .into();
    let config = Config::builder().build_from(&env);
    let p = Propagator::new(&config);
    assert_eq!(p.inject_styles(), [PropagationStyle::B3]);
    assert_eq!(
        p.extract_styles(),
        [PropagationStyle::B3Multi, PropagationStyle::Datadog]
    );
    let mut h = http::HeaderMap::new();
    p.inject(&InjectContext::new(TraceId(3), 4).priority(Some(1)), &mut h);
    assert_eq!(h.get("b3").unwrap(), "0000000000000003-0000000000000004-1");
    h.insert("x-datadog-trace-id", http::HeaderValue::from_static("9"));
    h.insert(
        "x-datadog-tags",
        http::HeaderValue::from_static("_dd.p.dm=-1,_dd.p.x=y"),
    );
    let e = p.extract(&h).unwrap();
    assert_eq!(e.propagation_error.as_deref(), Some("extract_max_size"));
    assert_eq!(e.context.unwrap().trace_id, TraceId(9));
}

#[test]
fn list_headers_over_several_lines_are_one_list() {
    let p = only_styles(&[PropagationStyle::TraceContext, PropagationStyle::Baggage]);
    let mut h = http::HeaderMap::new();
    h.insert(
        "traceparent",
        http::HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    );
    h.append(
        "tracestate",
        http::HeaderValue::from_static("rojo=00f067aa0ba902b7"),
    );
    h.append("tracestate", http::HeaderValue::from_static("dd=s:2;o:rum"));
    h.append("baggage", http::HeaderValue::from_static("a=1"));
    h.append("baggage", http::HeaderValue::from_static(""));
    h.append("baggage", http::HeaderValue::from_static("b=2,c=3"));
    let e = p.extract(&h).unwrap();
    let ctx = e.context.unwrap();
    assert_eq!(
        ctx.tracestate.as_deref(),
        Some("dd=s:2;o:rum,rojo=00f067aa0ba902b7"),
        "both lines' members, ours first"
    );
    assert_eq!(
        ctx.sampling_priority,
        Some(2),
        "the dd member of the second line"
    );
    assert_eq!(ctx.origin.as_deref(), Some("rum"));
    let items: Vec<(&str, &str)> = e.baggage.iter().map(|(k, v)| (k, v.as_str())).collect();
    assert_eq!(items, [("a", "1"), ("b", "2"), ("c", "3")]);
}
