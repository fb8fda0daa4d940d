//! Distributed tracing through the tracer: extract → continue → inject, with the sampling
//! decision made once per trace and honoured when it came from upstream.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

mod common;

use std::collections::HashMap;

use common::{by_name, meta, tracer_with};
use ddtrace_core::Config;

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn continues_an_upstream_datadog_trace_and_honours_its_decision() {
    // A sampler that would drop everything: the upstream keep must win (not resampled).
    let (tracer, collector) = tracer_with(Config::builder().service("downstream").sample_rate(0.0));
    let incoming = headers(&[
        ("x-datadog-trace-id", "1234567890"),
        ("x-datadog-parent-id", "987654321"),
        ("x-datadog-sampling-priority", "2"),
        ("x-datadog-origin", "synthetics"),
        (
            "x-datadog-tags",
            "_dd.p.dm=-4,_dd.p.usr.id=baz64,_dd.p.tid=640cfd8d00000000",
        ),
    ]);
    let parent = tracer.extract(&incoming).expect("a context");
    assert_eq!(parent.trace_id().low(), 1234567890);
    assert_eq!(parent.trace_id().high(), 0x640cfd8d00000000);
    assert_eq!(parent.sampling_priority(), Some(2));
    {
        let _server = tracer.span("http.request").child_of(&parent).enter();
        let _db = tracer.trace("db.query");
    }
    let spans = collector.spans();
    let server = by_name(&spans, "http.request");
    let db = by_name(&spans, "db.query");
    assert_eq!(server.trace_id.low(), 1234567890);
    assert_eq!(server.trace_id.high(), 0x640cfd8d00000000);
    assert_eq!(server.parent_id, 987654321);
    assert_eq!(db.parent_id, server.span_id);
    assert_eq!(server.metrics.get("_sampling_priority_v1"), Some(&2.0));
    assert_eq!(
        meta(server, "_dd.p.dm"),
        Some("-4"),
        "upstream decision maker kept"
    );
    assert_eq!(meta(server, "_dd.p.usr.id"), Some("baz64"));
    assert_eq!(meta(server, "_dd.p.tid"), Some("640cfd8d00000000"));
    assert_eq!(server.metrics.get("_dd.rule_psr"), None, "not resampled");
    for s in [server, db] {
        assert_eq!(meta(s, "_dd.origin"), Some("synthetics"));
    }
}

#[test]
fn injects_the_active_span_in_every_default_style() {
    let (tracer, _collector) = tracer_with(Config::builder().service("upstream"));
    let root = tracer.trace("client.request");
    let mut out: HashMap<String, String> = HashMap::new();
    assert!(tracer.inject_current(&mut out));
    let trace_id = root.trace_id();
    assert_eq!(out["x-datadog-trace-id"], trace_id.low().to_string());
    assert_eq!(out["x-datadog-parent-id"], root.span_id().to_string());
    assert_eq!(out["x-datadog-sampling-priority"], "1");
    let tags = &out["x-datadog-tags"];
    assert!(tags.contains("_dd.p.dm=-0"), "{tags}");
    assert!(
        tags.contains(&format!("_dd.p.tid={:016x}", trace_id.high())),
        "{tags}"
    );
    assert_eq!(
        out["traceparent"],
        format!("00-{}-{:016x}-01", trace_id.to_hex(), root.span_id())
    );
    assert!(
        out["tracestate"].starts_with("dd="),
        "{}",
        out["tracestate"]
    );
    // Round trip: what we inject, we extract to the same trace and parent.
    let back = tracer.extract(&out).unwrap();
    assert_eq!(back.trace_id(), trace_id);
    assert_eq!(back.span_id(), root.span_id());
    assert_eq!(back.sampling_priority(), Some(1));
}

#[test]
fn a_new_trace_carries_nothing_of_the_remote_trace_before_it_on_its_thread() {
    // A thread reuses the state of its last finished trace for the next one: nothing of the
    // upstream context (origin, propagated tags, tracestate, baggage, decision) may remain.
    let (tracer, collector) = tracer_with(Config::builder().service("svc"));
    let incoming = headers(&[
        ("x-datadog-trace-id", "1234567890"),
        ("x-datadog-parent-id", "987654321"),
        ("x-datadog-sampling-priority", "-1"),
        ("x-datadog-origin", "synthetics"),
        ("x-datadog-tags", "_dd.p.dm=-4,_dd.p.usr.id=baz64"),
        (
            "traceparent",
            "00-000000000000000000000000499602d2-000000003ade68b1-00",
        ),
        ("tracestate", "dd=s:-1;o:synthetics,other=vendor"),
        ("baggage", "tenant=acme"),
    ]);
    let parent = tracer.extract(&incoming).expect("a context");
    drop(tracer.span("continued").child_of(&parent).enter());
    let fresh = tracer.trace("fresh");
    let mut out: HashMap<String, String> = HashMap::new();
    assert!(tracer.inject_current(&mut out));
    drop(fresh);
    let spans = collector.spans();
    let (continued, fresh) = (by_name(&spans, "continued"), by_name(&spans, "fresh"));
    assert_eq!(
        meta(continued, "_dd.origin"),
        Some("synthetics"),
        "the test's premise"
    );
    assert_ne!(fresh.trace_id, continued.trace_id);
    assert_eq!(fresh.parent_id, 0);
    for key in ["_dd.origin", "_dd.p.usr.id", "baggage.tenant"] {
        assert_eq!(meta(fresh, key), None, "{key}");
    }
    assert_eq!(meta(fresh, "_dd.p.dm"), Some("-0"));
    assert_eq!(fresh.metrics.get("_sampling_priority_v1"), Some(&1.0));
    assert!(!out.contains_key("x-datadog-origin"), "{out:?}");
    assert!(!out.contains_key("baggage"), "{out:?}");
    assert!(!out["tracestate"].contains("other=vendor"), "{out:?}");
    assert!(!out["x-datadog-tags"].contains("usr.id"), "{out:?}");
    assert_eq!(out["x-datadog-sampling-priority"], "1");
}

/// The usual propagated tags, a decision maker alone (shared between traces with the same
/// value), reach the local root and the next service like any others.
#[test]
fn an_upstream_decision_maker_alone_reaches_the_root_and_the_next_service() {
    let (tracer, collector) = tracer_with(Config::builder().service("downstream"));
    for (trace, dm) in [("11", "-3"), ("12", "-5"), ("13", "-3")] {
        let tags = format!("_dd.p.dm={dm},_dd.p.tid=640cfd8d00000000");
        let parent = tracer
            .extract(&headers(&[
                ("x-datadog-trace-id", trace),
                ("x-datadog-parent-id", "2"),
                ("x-datadog-sampling-priority", "1"),
                ("x-datadog-tags", &tags),
            ]))
            .unwrap();
        let _server = tracer
            .span(format!("server.{trace}"))
            .child_of(&parent)
            .enter();
        let mut out = HashMap::new();
        tracer.inject_current(&mut out);
        assert_eq!(
            out["x-datadog-tags"],
            format!("_dd.p.dm={dm},_dd.p.tid=640cfd8d00000000"),
            "trace {trace}"
        );
    }
    for (trace, dm) in [("11", "-3"), ("12", "-5"), ("13", "-3")] {
        let server = collector.span(&format!("server.{trace}")).unwrap();
        assert_eq!(meta(&server, "_dd.p.dm"), Some(dm), "trace {trace}");
        assert_eq!(meta(&server, "_dd.p.tid"), Some("640cfd8d00000000"));
    }
}

#[test]
fn sampling_rules_decide_once_at_the_root_with_their_rates() {
    let (tracer, collector) = tracer_with(Config::builder().service("svc").sampling_rules_json(
        r#"[{"service":"svc","name":"drop.*","sample_rate":0.0},{"sample_rate":1.0}]"#,
    ));
    {
        let _kept = tracer.trace("keep.me");
        let mut out = HashMap::new();
        tracer.inject_current(&mut out);
        assert_eq!(
            out["x-datadog-sampling-priority"], "2",
            "decided before injection"
        );
    }
    drop(tracer.trace("drop.me"));
    let kept = collector.span("keep.me").unwrap();
    assert_eq!(kept.metrics.get("_sampling_priority_v1"), Some(&2.0));
    assert_eq!(meta(&kept, "_dd.p.dm"), Some("-3"));
    assert_eq!(kept.metrics.get("_dd.rule_psr"), Some(&1.0));
    assert_eq!(kept.metrics.get("_dd.limit_psr"), Some(&1.0));
    let dropped = collector.span("drop.me").unwrap();
    assert_eq!(dropped.metrics.get("_sampling_priority_v1"), Some(&-1.0));
    assert_eq!(dropped.metrics.get("_dd.rule_psr"), Some(&0.0));
    assert_eq!(meta(&dropped, "_dd.p.dm"), Some("-3"));
}

/// Rules see the resource, the tags and the name given at start, and those a remote parent
/// puts on the local root; the limiter stands behind every rule that keeps.
#[test]
fn sampling_rules_see_start_options_remote_parents_and_the_limiter() {
    let (tracer, collector) = tracer_with(
        Config::builder()
            .service("svc")
            .rate_limit(1.0)
            .sampling_rules_json(
                r#"[{"resource": "GET /x", "sample_rate": 0.0},
                    {"tags": {"team": "a"}, "sample_rate": 0.0},
                    {"name": "from.*", "sample_rate": 0.0},
                    {"sample_rate": 1.0}]"#,
            ),
    );
    drop(tracer.span("by.resource").resource("GET /x").enter());
    drop(tracer.span("by.tag").tag("team", "a").enter());
    let parent = tracer
        .extract(&headers(&[
            ("x-datadog-trace-id", "7"),
            ("x-datadog-parent-id", "8"),
        ]))
        .unwrap();
    drop(tracer.span("from.upstream").child_of(&parent).enter());
    drop(tracer.trace("from.here"));
    // The limiter holds one trace a second: of traces made back to back, the first kept
    // takes it and the next ones are dropped (one more per second the loop took, on a slow
    // machine).
    let started = std::time::Instant::now();
    for i in 0..20 {
        drop(tracer.trace(format!("limited{i}")));
    }
    let seconds = started.elapsed().as_secs();
    let decision = |name: &str| {
        let s = collector.span(name).unwrap();
        (
            s.metrics.get("_sampling_priority_v1").copied(),
            meta(&s, "_dd.p.dm").map(str::to_owned),
            s.metrics.get("_dd.rule_psr").copied(),
            s.metrics.contains_key("_dd.limit_psr"),
        )
    };
    let dropped_by_rate = (Some(-1.0), Some("-3".to_owned()), Some(0.0), false);
    assert_eq!(decision("by.resource"), dropped_by_rate);
    assert_eq!(decision("by.tag"), dropped_by_rate);
    assert_eq!(decision("from.upstream"), dropped_by_rate);
    assert_eq!(decision("from.here"), dropped_by_rate);
    let kept_by_rule = (Some(2.0), Some("-3".to_owned()), Some(1.0), true);
    let dropped_by_limit = (Some(-1.0), Some("-3".to_owned()), Some(1.0), true);
    assert_eq!(decision("limited0"), kept_by_rule);
    let mut kept = 0;
    for i in 1..20 {
        let d = decision(&format!("limited{i}"));
        if d == kept_by_rule {
            kept += 1;
        } else {
            assert_eq!(d, dropped_by_limit, "limited{i}");
        }
    }
    assert!(kept <= seconds + 1, "{kept} more kept in {seconds} s");
}

/// Rules that drop health checks (by resource) and one team's traces (by tag), keeping the rest.
fn deferred_rules() -> ddtrace_core::ConfigBuilder {
    Config::builder().service("svc").sampling_rules_json(
        r#"[{"resource": "GET /health", "sample_rate": 0.0},
            {"tags": {"team": "a"}, "sample_rate": 0.0},
            {"sample_rate": 1.0}]"#,
    )
}

/// `(priority, dm, rule_psr)` of span `name`.
fn decision_of(collector: &ddtrace_core::Collector, name: &str) -> (f64, String, f64) {
    let s = collector.span(name).unwrap();
    (
        s.metrics.get("_sampling_priority_v1").copied().unwrap(),
        meta(&s, "_dd.p.dm").unwrap().to_owned(),
        s.metrics.get("_dd.rule_psr").copied().unwrap(),
    )
}

/// As in the reference tracer, rules decide when the decision is needed, here when the trace
/// ends: they see a resource or tag set on the root after it started (a web request is
/// routed after its span starts). Until then the context has no priority.
#[test]
fn sampling_rules_see_the_root_as_it_finishes() {
    let (tracer, collector) = tracer_with(deferred_rules());
    let dropped = (-1.0, "-3".to_owned(), 0.0);
    {
        let root = tracer.trace("by.resource");
        assert_eq!(tracer.current_context().unwrap().sampling_priority(), None);
        drop(tracer.trace("child"));
        root.set_resource("GET /health");
    }
    assert_eq!(decision_of(&collector, "by.resource"), dropped);
    {
        let _root = tracer.trace("by.tag");
        let _child = tracer.trace("child.of.tag");
        // Through the root handle, from nested code.
        tracer.current_root_span().unwrap().set_tag("team", "a");
    }
    assert_eq!(decision_of(&collector, "by.tag"), dropped);
    // An owned span, finished by hand.
    let mut span = tracer.span("owned").start();
    span.set_resource("GET /health");
    span.finish();
    assert_eq!(decision_of(&collector, "owned"), dropped);
    drop(tracer.trace("kept"));
    assert_eq!(decision_of(&collector, "kept"), (2.0, "-3".to_owned(), 1.0));
    let kept = collector.span("kept").unwrap();
    assert_eq!(kept.metrics.get("_dd.limit_psr"), Some(&1.0));
    // Only the chunk's first span carries the decision; the child belongs to it.
    let child = collector.span("child").unwrap();
    assert_eq!(child.metrics.get("_dd.rule_psr"), None);
}

/// An injection needs the decision: it is made then, from the root as it is at that moment,
/// and holds for the rest of the trace.
#[test]
fn an_injection_decides_from_the_root_as_it_is_then() {
    let (tracer, collector) = tracer_with(deferred_rules());
    let inject = || {
        let mut out = HashMap::new();
        tracer.inject_current(&mut out);
        let dm = out.get("x-datadog-tags").and_then(|tags| {
            tags.split(',')
                .find_map(|t| t.strip_prefix("_dd.p.dm="))
                .map(str::to_owned)
        });
        (out["x-datadog-sampling-priority"].clone(), dm)
    };
    {
        let root = tracer.trace("routed.first");
        root.set_resource("GET /health");
        let _client = tracer.trace("http.client");
        assert_eq!(inject(), ("-1".to_owned(), Some("-3".to_owned())));
        assert_eq!(root.context().unwrap().sampling_priority(), Some(-1));
        // Too late to change the decision the downstream service got.
        root.set_resource("GET /users");
    }
    assert_eq!(
        decision_of(&collector, "routed.first"),
        (-1.0, "-3".to_owned(), 0.0)
    );
    {
        let root = tracer.trace("called.first");
        assert_eq!(inject(), ("2".to_owned(), Some("-3".to_owned())));
        root.set_resource("GET /health");
    }
    let s = collector.span("called.first").unwrap();
    assert_eq!(s.resource, "GET /health");
    assert_eq!(
        s.metrics.get("_sampling_priority_v1").copied().unwrap(),
        2.0
    );
    // An owned root, entered: found where it is active.
    let mut owned = tracer.span("owned.entered").start();
    owned.set_resource("GET /health");
    let sent = owned.in_scope(inject);
    assert_eq!(sent.0, "-1");
    owned.finish();
    assert_eq!(decision_of(&collector, "owned.entered").0, -1.0);
    // A shared root (an OpenTracing span), activated.
    let shared = tracer.span("shared").start().into_shared();
    shared.set_resource("GET /health");
    let scope = shared.activate();
    assert_eq!(inject().0, "-1");
    drop(scope);
    drop(shared);
    assert_eq!(decision_of(&collector, "shared").0, -1.0);
}

/// A decision needed where the root cannot be seen (an owned root not active on the injecting
/// thread) is made from the root as it started.
#[test]
fn a_root_out_of_reach_is_decided_as_it_started() {
    let (tracer, collector) = tracer_with(deferred_rules());
    let mut root = tracer.span("job").resource("GET /health").start();
    root.set_resource("GET /jobs");
    let context = root.context().unwrap();
    let sent = std::thread::scope(|s| {
        s.spawn(|| {
            let mut out = HashMap::new();
            tracer.inject(&context, &mut out);
            out["x-datadog-sampling-priority"].clone()
        })
        .join()
        .unwrap()
    });
    assert_eq!(sent, "-1", "the resource it started with matched");
    root.finish();
    let s = collector.span("job").unwrap();
    assert_eq!(s.resource, "GET /jobs");
    assert_eq!(
        s.metrics.get("_sampling_priority_v1").copied().unwrap(),
        -1.0
    );
}

/// A root that finished while its trace goes on is seen as it finished, by an injection from
/// any thread.
#[test]
fn an_injection_after_the_root_finished_sees_it_as_it_finished() {
    let (tracer, collector) = tracer_with(deferred_rules());
    let mut root = tracer.span("request").start();
    let mut background = tracer
        .span("background")
        .child_of(&root.context().unwrap())
        .start();
    root.set_resource("GET /health");
    root.finish();
    let mut out = HashMap::new();
    tracer.inject(&background.context().unwrap(), &mut out);
    assert_eq!(out["x-datadog-sampling-priority"], "-1");
    background.finish();
    assert_eq!(
        decision_of(&collector, "request"),
        (-1.0, "-3".to_owned(), 0.0)
    );
}

/// A partial chunk sends the decision: it is made with the first one, from the open root on
/// this thread, and every later chunk agrees.
#[test]
fn a_partial_flush_decides_and_every_chunk_agrees() {
    let (tracer, collector) = tracer_with(deferred_rules().partial_flush_min_spans(2));
    {
        let root = tracer.trace("big");
        root.set_resource("GET /health");
        drop(tracer.trace("a"));
        drop(tracer.trace("b"));
        assert_eq!(collector.chunks().len(), 1, "sent early");
        root.set_resource("GET /users");
    }
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 2);
    for chunk in &chunks {
        assert_eq!(
            chunk[0]
                .metrics
                .get("_sampling_priority_v1")
                .copied()
                .unwrap(),
            -1.0,
            "{chunk:?}"
        );
        assert_eq!(meta(&chunk[0], "_dd.p.dm"), Some("-3"));
    }
    let root = collector.span("big").unwrap();
    assert_eq!(root.resource, "GET /users");
    assert_eq!(root.metrics.get("_dd.rule_psr").copied().unwrap(), 0.0);
}

/// A manual keep or drop before the rules decide stands; the rules do not decide after it.
#[test]
fn a_manual_keep_before_the_rules_decide_stands() {
    let (tracer, collector) = tracer_with(deferred_rules());
    {
        let root = tracer.trace("important");
        root.set_resource("GET /health");
        root.keep_trace();
    }
    let s = collector.span("important").unwrap();
    assert_eq!(
        s.metrics.get("_sampling_priority_v1").copied().unwrap(),
        2.0
    );
    assert_eq!(meta(&s, "_dd.p.dm"), Some("-4"));
    assert_eq!(s.metrics.get("_dd.rule_psr"), None, "no rule decided");
}

#[test]
fn a_manual_keep_at_start_is_not_overridden_by_the_sampler() {
    let (tracer, collector) = tracer_with(Config::builder().sample_rate(0.0));
    drop(tracer.span("important").tag("manual.keep", true).enter());
    let s = collector.span("important").unwrap();
    assert_eq!(s.metrics.get("_sampling_priority_v1"), Some(&2.0));
    assert_eq!(meta(&s, "_dd.p.dm"), Some("-4"));
}

#[test]
fn conflicting_contexts_become_span_links() {
    let (tracer, collector) = tracer_with(Config::builder());
    let incoming = headers(&[
        ("x-datadog-trace-id", "1"),
        ("x-datadog-parent-id", "2"),
        ("x-datadog-sampling-priority", "1"),
        (
            "traceparent",
            "00-000000000000000000000000000000aa-00000000000000bb-01",
        ),
    ]);
    let parent = tracer.extract(&incoming).unwrap();
    drop(tracer.span("server").child_of(&parent).enter());
    let s = collector.span("server").unwrap();
    assert_eq!(s.trace_id.low(), 1);
    assert_eq!(s.links.len(), 1, "{:?}", s.links);
    assert_eq!(s.links[0].trace_id.low(), 0xaa);
    assert_eq!(s.links[0].span_id, 0xbb);
    assert_eq!(
        s.links[0].attributes.get("reason").map(|v| &**v),
        Some("terminated_context")
    );
}

#[test]
fn extraction_errors_are_recorded_on_the_local_root() {
    let (tracer, collector) = tracer_with(Config::builder());
    let big = format!("_dd.p.big={}", "x".repeat(600));
    let incoming = headers(&[
        ("x-datadog-trace-id", "10"),
        ("x-datadog-parent-id", "20"),
        ("x-datadog-tags", &big),
    ]);
    let parent = tracer.extract(&incoming).unwrap();
    drop(tracer.span("server").child_of(&parent).enter());
    let s = collector.span("server").unwrap();
    assert_eq!(s.parent_id, 20);
    assert_eq!(meta(&s, "_dd.propagation_error"), Some("extract_max_size"));
    assert_eq!(meta(&s, "_dd.p.big"), None, "oversized tags are ignored");
}

#[test]
fn malformed_headers_give_no_context_and_never_panic() {
    let (tracer, _collector) = tracer_with(Config::builder());
    for bad in [
        headers(&[
            ("x-datadog-trace-id", "not-a-number"),
            ("x-datadog-parent-id", "1"),
        ]),
        headers(&[("x-datadog-trace-id", "0"), ("x-datadog-parent-id", "1")]),
        headers(&[("x-datadog-trace-id", "18446744073709551616")]),
        headers(&[(
            "traceparent",
            "ff-000000000000000000000000000000aa-00000000000000bb-01",
        )]),
        headers(&[(
            "traceparent",
            "00-00000000000000000000000000000000-00000000000000bb-01",
        )]),
        headers(&[]),
    ] {
        assert!(tracer.extract(&bad).is_none(), "{bad:?}");
    }
}

/// A tracer given an agent-rate table samples by it: what the agent answered (here set by
/// hand, as the agent writer does from each response) decides traces started after, per
/// service, with `_dd.agent_psr` and decision maker `-1`.
#[test]
fn a_tracer_given_agent_rates_samples_by_them() {
    use std::sync::Arc;
    let rates = Arc::new(ddtrace_core::AgentRates::new());
    let collector = ddtrace_core::Collector::new();
    let tracer = ddtrace_core::Tracer::with_exporter_and_rates(
        Config::builder()
            .service("svc")
            .build_from(&HashMap::<&str, &str>::new()),
        collector.clone(),
        Arc::clone(&rates),
    );
    drop(tracer.trace("before"));
    rates.update(HashMap::from([
        ("service:svc,env:".to_owned(), 0.0),
        ("service:,env:".to_owned(), 1.0),
    ]));
    drop(tracer.trace("dropped"));
    drop(tracer.span("kept").service("other").enter());
    let decision = |name: &str| {
        let s = collector.span(name).unwrap();
        (
            s.metrics.get("_sampling_priority_v1").copied(),
            meta(&s, "_dd.p.dm").map(str::to_owned),
            s.metrics.get("_dd.agent_psr").copied(),
        )
    };
    assert_eq!(decision("before"), (Some(1.0), Some("-0".into()), None));
    assert_eq!(
        decision("dropped"),
        (Some(0.0), Some("-1".into()), Some(0.0))
    );
    assert_eq!(decision("kept"), (Some(1.0), Some("-1".into()), Some(1.0)));
}

/// Once the decision has left the process (injected downstream, or sent with a partial
/// chunk), a manual keep or drop no longer changes it: downstream services and every chunk of
/// the trace agree.
#[test]
fn the_decision_is_fixed_once_it_left_the_process() {
    // Injected, then a manual keep: the trace stays at the priority sent downstream.
    let (tracer, collector) = tracer_with(Config::builder().service("svc"));
    {
        let root = tracer.trace("client.request");
        let mut out: HashMap<String, String> = HashMap::new();
        assert!(tracer.inject_current(&mut out));
        assert_eq!(out["x-datadog-sampling-priority"], "1");
        root.keep_trace();
        root.set_tag("manual.drop", true);
    }
    let spans = collector.spans();
    let root = by_name(&spans, "client.request");
    assert_eq!(root.metrics.get("_sampling_priority_v1"), Some(&1.0));
    assert_eq!(meta(root, "_dd.p.dm"), Some("-0"));

    // A partial chunk sent, then a manual drop: the last chunk keeps the first one's priority.
    let (tracer, collector) =
        tracer_with(Config::builder().service("svc").partial_flush_min_spans(2));
    {
        let mut root = tracer.span("long.job").start();
        let parent = root.context().unwrap();
        for _ in 0..2 {
            tracer.span("step").child_of(&parent).start().finish();
        }
        assert_eq!(collector.chunks().len(), 1, "the partial chunk");
        root.drop_trace();
        root.finish();
    }
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 2);
    for chunk in &chunks {
        let priorities: Vec<f64> = chunk
            .iter()
            .filter_map(|s| s.metrics.get("_sampling_priority_v1").copied())
            .collect();
        assert_eq!(priorities, [1.0], "{chunk:#?}");
    }

    // Nothing left the process: a manual keep applies.
    let (tracer, collector) = tracer_with(Config::builder().service("svc"));
    tracer.trace("local.only").keep_trace();
    let spans = collector.spans();
    let root = by_name(&spans, "local.only");
    assert_eq!(root.metrics.get("_sampling_priority_v1"), Some(&2.0));
    assert_eq!(meta(root, "_dd.p.dm"), Some("-4"));
}

/// A change another thread made to the open root (through `current_root_span()`, which
/// reaches the root from wherever its trace is active) counts for a decision made before the
/// root finishes, there or on the root's own thread, as it does once the root finishes.
#[test]
fn a_root_change_from_another_thread_counts_for_an_earlier_decision() {
    let (tracer, collector) = tracer_with(deferred_rules());
    let inject = || {
        let mut out = HashMap::new();
        tracer.inject_current(&mut out);
        out["x-datadog-sampling-priority"].clone()
    };
    // Decided on the other thread, where the root is out of reach.
    {
        let _root = tracer.trace("worker.decides");
        let context = tracer.current_context().unwrap();
        let sent = std::thread::scope(|s| {
            s.spawn(|| {
                let _attached = context.attach();
                tracer.current_root_span().unwrap().set_tag("team", "a");
                inject()
            })
            .join()
            .unwrap()
        });
        assert_eq!(sent, "-1", "the tag the other thread set matched");
    }
    assert_eq!(decision_of(&collector, "worker.decides").0, -1.0);
    // Decided on the root's own thread, after the other thread changed the resource.
    {
        let _root = tracer.trace("owner.decides");
        let context = tracer.current_context().unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                let _attached = context.attach();
                tracer
                    .current_root_span()
                    .unwrap()
                    .set_resource("GET /health");
            });
        });
        assert_eq!(inject(), "-1", "the resource the other thread set matched");
    }
    let s = collector.span("owner.decides").unwrap();
    assert_eq!(s.resource, "GET /health");
    assert_eq!(decision_of(&collector, "owner.decides").0, -1.0);
    // Without such a change, the catch-all keeps.
    drop(tracer.trace("untouched"));
    assert_eq!(decision_of(&collector, "untouched").0, 2.0);
}
