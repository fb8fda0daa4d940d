//! Every OpenTracing → Datadog mapping, checked on the finished spans a `Collector` receives.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use ddtrace_core::finalize::SAMPLING_PRIORITY_KEY;
use ddtrace_core::{AttributeValue, Collector, SpanData, TraceId};
use ddtrace_opentracer::{REF_TYPE_ATTRIBUTE, SpanContext, Tracer};
use opentracing_api::http::HeaderMap;
use opentracing_api::{
    Binary, ExtractError, HttpHeaders, LogField, Span as _, SpanContext as _, TextMap, Tracer as _,
    log_fields, tags,
};

fn tracer() -> (Tracer, Collector) {
    let collector = Collector::new();
    let config = ddtrace_core::Config::builder()
        .service("ot-svc")
        .build_from(&HashMap::<&str, &str>::new());
    let core = ddtrace_core::Tracer::with_exporter(config, collector.clone());
    (Tracer::from_core(core), collector)
}

fn span(collector: &Collector, name: &str) -> SpanData {
    collector
        .span(name)
        .unwrap_or_else(|| panic!("no span {name} in {:#?}", collector.spans()))
}

#[test]
fn service_resource_and_type_tags_set_datadog_fields() {
    let (tracer, collector) = tracer();
    let parent = tracer.start_span("parent");
    let mut child = tracer
        .span_builder("child")
        .child_of(parent.context())
        .with_tag("service.name", "other-svc")
        .with_tag("span.type", "web")
        .start();
    child.set_tag("resource.name", "GET /users");
    child.finish();
    drop(parent);
    let child = span(&collector, "child");
    assert_eq!(child.service, "other-svc");
    assert_eq!(child.resource, "GET /users");
    assert_eq!(child.span_type, "web");
    // A service given at start makes the child a service entry span.
    assert_eq!(child.metrics.get("_dd.top_level"), Some(&1.0));
    for key in ["service.name", "resource.name", "span.type"] {
        assert!(!child.meta.contains_key(key), "{key} leaked into meta");
    }
    assert_eq!(span(&collector, "parent").service, "ot-svc");
}

#[test]
fn service_set_later_reaches_children_started_from_the_context() {
    let (tracer, collector) = tracer();
    let mut parent = tracer.start_span("parent");
    parent.set_tag("service.name", "late-svc");
    tracer
        .span_builder("child")
        .child_of(parent.context())
        .start()
        .finish();
    drop(parent);
    assert_eq!(span(&collector, "parent").service, "late-svc");
    assert_eq!(span(&collector, "child").service, "late-svc");
}

#[test]
fn sampling_priority_is_a_manual_decision() {
    let (tracer, collector) = tracer();
    for (name, value, expected) in [
        ("keep", opentracing_api::TagValue::from(1_u8), 2.0),
        ("keep-str", "5".into(), 2.0),
        ("reject", 0_u8.into(), -1.0),
        ("reject-neg", (-3_i32).into(), -1.0),
    ] {
        let mut s = tracer.start_span(name);
        s.set_tag(tags::SAMPLING_PRIORITY, value);
        assert_eq!(s.context().sampling_priority(), Some(expected as i32));
        s.finish();
        let data = span(&collector, name);
        assert_eq!(
            data.metrics.get(SAMPLING_PRIORITY_KEY),
            Some(&expected),
            "{name}"
        );
        assert_eq!(data.meta.get("_dd.p.dm").map(|v| v.as_ref()), Some("-4"));
        assert!(!data.meta.contains_key("sampling.priority"));
        assert!(!data.metrics.contains_key("sampling.priority"));
    }
}

#[test]
fn error_tag_sets_the_error_flag() {
    let (tracer, collector) = tracer();
    let mut on = tracer.start_span("on");
    on.set_tag(tags::ERROR, true);
    on.finish();
    let mut off = tracer.start_span("off");
    off.set_tag(tags::ERROR, true);
    off.set_tag(tags::ERROR, "false");
    off.finish();
    let on = span(&collector, "on");
    assert!(on.error);
    assert!(!on.metrics.contains_key("error") && !on.meta.contains_key("error"));
    assert!(!span(&collector, "off").error);
}

#[test]
fn db_statement_becomes_the_resource_unless_one_is_given() {
    let (tracer, collector) = tracer();
    let mut q = tracer.start_span("postgres.query");
    q.set_tag(tags::DB_STATEMENT, "SELECT 1");
    q.set_operation_name("pg.query"); // does not override the statement
    q.finish();
    let mut named = tracer
        .span_builder("named")
        .with_tag("resource.name", "explicit")
        .start();
    named.set_tag(tags::DB_STATEMENT, "SELECT 2");
    named.finish();
    let q = span(&collector, "pg.query");
    assert_eq!(q.resource, "SELECT 1");
    assert_eq!(
        q.meta.get("db.statement").map(|v| v.as_ref()),
        Some("SELECT 1")
    );
    let named = span(&collector, "named");
    assert_eq!(named.resource, "explicit");
    assert_eq!(
        named.meta.get("db.statement").map(|v| v.as_ref()),
        Some("SELECT 2")
    );
}

#[test]
fn operation_name_renames_span_and_default_resource() {
    let (tracer, collector) = tracer();
    let mut s = tracer.start_span("before");
    s.set_operation_name("after");
    s.finish();
    let s = span(&collector, "after");
    assert_eq!(s.resource, "after");
}

#[test]
fn kind_peer_service_and_plain_tags() {
    let (tracer, collector) = tracer();
    let mut s = tracer.start_span("call");
    s.set_tag(tags::SPAN_KIND, tags::SPAN_KIND_CLIENT);
    s.set_tag(tags::PEER_SERVICE, "billing");
    s.set_tag(tags::HTTP_STATUS_CODE, 200_u16);
    s.set_tag("ratio", 0.5);
    s.set_tag("flag", true);
    s.set_tag("who", "ada");
    s.set_tag("big", u64::MAX);
    s.finish();
    let s = span(&collector, "call");
    let meta = |k: &str| s.meta.get(k).map(|v| v.to_string());
    assert_eq!(meta("span.kind").as_deref(), Some("client"));
    assert_eq!(meta("peer.service").as_deref(), Some("billing"));
    assert_eq!(meta("who").as_deref(), Some("ada"));
    assert_eq!(meta("big"), Some(u64::MAX.to_string()));
    assert_eq!(s.metrics.get("http.status_code"), Some(&200.0));
    assert_eq!(s.metrics.get("ratio"), Some(&0.5));
    assert_eq!(s.metrics.get("flag"), Some(&1.0));
}

#[test]
fn child_of_is_the_parent() {
    let (tracer, collector) = tracer();
    let parent = tracer.start_span("parent");
    let child = tracer
        .span_builder("child")
        .child_of(parent.context())
        .start();
    assert_eq!(
        child.context().dd_trace_id(),
        parent.context().dd_trace_id()
    );
    drop(child);
    drop(parent);
    let (p, c) = (span(&collector, "parent"), span(&collector, "child"));
    assert_eq!(p.parent_id, 0);
    assert_eq!(c.parent_id, p.span_id);
    assert_eq!(c.trace_id, p.trace_id);
    assert!(c.links.is_empty());
}

#[test]
fn follows_from_is_a_link_and_the_parent_without_child_of() {
    let (tracer, collector) = tracer();
    let request = tracer.start_span("request");
    let request_ctx = request.context().clone();
    request.finish();
    tracer
        .span_builder("notify")
        .follows_from(&request_ctx)
        .start()
        .finish();
    let r = span(&collector, "request");
    let n = span(&collector, "notify");
    assert_eq!(n.parent_id, r.span_id);
    assert_eq!(n.trace_id, r.trace_id);
    assert_eq!(n.links.len(), 1);
    assert_eq!(n.links[0].span_id, r.span_id);
    assert_eq!(n.links[0].trace_id, r.trace_id);
    assert_eq!(
        n.links[0]
            .attributes
            .get(REF_TYPE_ATTRIBUTE)
            .map(|v| v.as_ref()),
        Some("follows_from")
    );
}

#[test]
fn child_of_wins_the_parent_and_other_references_become_links() {
    let (tracer, collector) = tracer();
    let a = tracer.start_span("a");
    let b = tracer.span_builder("b").ignore_active_span().start();
    let c = tracer.span_builder("c").ignore_active_span().start();
    tracer
        .span_builder("joined")
        .follows_from(a.context())
        .child_of(b.context())
        .child_of(c.context())
        .start()
        .finish();
    let (a_id, b_id, c_id) = (
        a.context().dd_span_id().unwrap(),
        b.context().dd_span_id().unwrap(),
        c.context().dd_span_id().unwrap(),
    );
    drop((a, b, c));
    let j = span(&collector, "joined");
    assert_eq!(j.parent_id, b_id);
    let links: Vec<(u64, String)> = j
        .links
        .iter()
        .map(|l| {
            let t = l.attributes.get(REF_TYPE_ATTRIBUTE).unwrap().to_string();
            (l.span_id, t)
        })
        .collect();
    assert_eq!(
        links,
        [
            (a_id, "follows_from".to_string()),
            (c_id, "child_of".to_string())
        ]
    );
}

#[test]
fn no_reference_and_ignore_active_span_start_a_new_trace() {
    let (tracer, collector) = tracer();
    let outer = tracer.start_span("outer");
    let _scope = tracer.activate(&outer);
    tracer
        .span_builder("detached")
        .ignore_active_span()
        .start()
        .finish();
    let d = span(&collector, "detached");
    assert_eq!(d.parent_id, 0);
    assert_ne!(Some(d.trace_id), outer.context().dd_trace_id());
}

#[test]
fn logs_become_span_events() {
    let (tracer, collector) = tracer();
    let mut s = tracer.start_span("logged");
    s.log([
        LogField::new(log_fields::EVENT, "cache miss"),
        LogField::new("key", "user:1"),
        LogField::new("attempt", 2_u8),
        LogField::new("ratio", 0.25),
        LogField::new("hit", false),
    ]);
    s.log([LogField::new(log_fields::MESSAGE, "no event field")]);
    s.log_event("done");
    s.finish();
    let s = span(&collector, "logged");
    assert!(!s.error, "plain logs are not errors");
    let names: Vec<&str> = s.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["cache miss", "log", "done"]);
    let first = &s.events[0];
    assert_eq!(
        first.attributes.get("key"),
        Some(&AttributeValue::String("user:1".into()))
    );
    assert_eq!(
        first.attributes.get("attempt"),
        Some(&AttributeValue::Int(2))
    );
    assert_eq!(
        first.attributes.get("ratio"),
        Some(&AttributeValue::Double(0.25))
    );
    assert_eq!(
        first.attributes.get("hit"),
        Some(&AttributeValue::Bool(false))
    );
    assert!(first.attributes.get("event").is_none());
    assert_eq!(
        s.events[1].attributes.get("message"),
        Some(&AttributeValue::String("no event field".into()))
    );
    assert!(s.events[2].attributes.is_empty());
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(first.time_unix_nano > 0 && first.time_unix_nano <= now);
}

#[test]
fn logs_keep_their_explicit_timestamp() {
    let (tracer, collector) = tracer();
    let mut span = tracer.start_span("timed");
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    span.log_at(at, [LogField::new(log_fields::EVENT, "checkpoint")]);
    span.finish();
    let s = collector.span("timed").unwrap();
    assert_eq!(s.events.len(), 1);
    assert_eq!(s.events[0].name, "checkpoint");
    assert_eq!(s.events[0].time_unix_nano, 1_700_000_000_000_000_000);
}

#[test]
fn error_logs_set_the_error_details() {
    let (tracer, collector) = tracer();
    let mut full = tracer.start_span("full");
    full.log([
        LogField::new(log_fields::EVENT, "error"),
        LogField::new(log_fields::ERROR_KIND, "OutOfStock"),
        LogField::new(log_fields::MESSAGE, "no truffle today"),
        LogField::new(log_fields::STACK, "at kitchen.rs:1"),
    ]);
    full.finish();
    let mut object = tracer.start_span("object");
    object.log([LogField::new(
        log_fields::ERROR_OBJECT,
        "io error: broken pipe",
    )]);
    object.finish();

    let full = span(&collector, "full");
    assert!(full.error);
    let meta = |s: &SpanData, k: &str| s.meta.get(k).map(|v| v.to_string());
    assert_eq!(meta(&full, "error.type").as_deref(), Some("OutOfStock"));
    assert_eq!(
        meta(&full, "error.message").as_deref(),
        Some("no truffle today")
    );
    assert_eq!(
        meta(&full, "error.stack").as_deref(),
        Some("at kitchen.rs:1")
    );
    assert_eq!(full.events[0].name, "error");
    assert_eq!(
        full.events[0].attributes.get("error.kind"),
        Some(&AttributeValue::String("OutOfStock".into()))
    );

    let object = span(&collector, "object");
    assert!(object.error);
    assert_eq!(meta(&object, "error.type").as_deref(), Some("error"));
    assert_eq!(
        meta(&object, "error.message").as_deref(),
        Some("io error: broken pipe")
    );
    assert_eq!(meta(&object, "error.stack"), None);
}

#[test]
fn start_and_finish_times_are_honoured() {
    let (tracer, collector) = tracer();
    let start = SystemTime::now() - Duration::from_secs(10);
    let s = tracer.span_builder("timed").with_start_time(start).start();
    s.finish_at(start + Duration::from_millis(1500));
    let s = span(&collector, "timed");
    let start_ns = start
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    assert_eq!(s.start, start_ns);
    assert_eq!(s.duration, 1_500_000_000);
}

#[test]
fn dropping_a_span_finishes_it() {
    let (tracer, collector) = tracer();
    {
        let mut s = tracer.start_span("dropped");
        s.set_tag("k", "v");
    }
    assert_eq!(collector.spans().len(), 1);
    let parent = tracer.start_span("parent");
    let scope = tracer.activate(&parent);
    drop(parent); // finished now, even though still active
    assert!(collector.span("parent").is_some());
    drop(scope);
}

#[test]
fn baggage_is_inherited_in_process() {
    let (tracer, _collector) = tracer();
    let mut parent = tracer.start_span("parent");
    parent.set_baggage_item("tenant", "acme");
    // Explicit reference.
    let explicit = tracer.span_builder("c1").child_of(parent.context()).start();
    assert_eq!(explicit.baggage_item("tenant"), Some("acme"));
    // Implicit parent through the active span; baggage set while active reaches it too.
    let scope = tracer.activate(&parent);
    parent.set_baggage_item("late", "yes");
    let implicit = tracer.start_span("c2");
    assert_eq!(implicit.baggage_item("tenant"), Some("acme"));
    assert_eq!(implicit.baggage_item("late"), Some("yes"));
    // Through a span ddtrace-core started under the OpenTracing span.
    {
        let _guard = tracer.core().trace("core.step");
        let grandchild = tracer.start_span("c3");
        assert_eq!(grandchild.baggage_item("tenant"), Some("acme"));
        assert_eq!(
            grandchild.context().dd_trace_id(),
            parent.context().dd_trace_id()
        );
    }
    drop(scope);
    // A child's own baggage does not flow back to the parent.
    let mut child = tracer.span_builder("c4").child_of(parent.context()).start();
    child.set_baggage_item("child-only", "1");
    assert_eq!(parent.baggage_item("child-only"), None);
    // Several references: the parent's value wins, the others add their keys.
    let other = tracer.span_builder("other").ignore_active_span().start();
    let other_ctx = other
        .context()
        .clone()
        .with_baggage_item("tenant", "ignored")
        .with_baggage_item("extra", "x");
    let merged = tracer
        .span_builder("merged")
        .follows_from(&other_ctx)
        .child_of(parent.context())
        .start();
    let items: BTreeMap<&str, &str> = merged.context().baggage_items().collect();
    assert_eq!(
        items,
        BTreeMap::from([("extra", "x"), ("late", "yes"), ("tenant", "acme")])
    );
}

#[test]
fn activation_is_ddtrace_cores_active_span() {
    let (tracer, collector) = tracer();
    let ot = tracer.start_span("ot.parent");
    {
        let _scope = tracer.activate(&ot);
        // ddtrace-core code sees the OpenTracing span as current.
        let current = ddtrace_core::current_span().expect("an active span");
        assert_eq!(Some(current.span_id()), ot.context().dd_span_id());
        current.set_tag("set.through.core", "yes");
        // A log line names it too.
        let ids = tracer.core().log_correlation();
        assert_eq!(ids.span_id(), ot.context().span_id());
        assert_eq!(ids.trace_id(), ot.context().trace_id());
        // A ddtrace-core guard is its child, and an OpenTracing span under the guard is the
        // guard's child.
        let guard = tracer.core().trace("core.child");
        let ctx = tracer.active_span_context().expect("active context");
        assert_eq!(ctx.dd_span_id(), Some(guard.span_id()));
        tracer.start_span("ot.grandchild").finish();
    }
    assert!(ddtrace_core::current_span().is_none());
    assert!(tracer.active_span_context().is_none());
    drop(ot);
    let parent = span(&collector, "ot.parent");
    let core_child = span(&collector, "core.child");
    let grandchild = span(&collector, "ot.grandchild");
    assert_eq!(
        parent.meta.get("set.through.core").map(|v| v.as_ref()),
        Some("yes")
    );
    assert_eq!(core_child.parent_id, parent.span_id);
    assert_eq!(grandchild.parent_id, core_child.span_id);
    assert_eq!(grandchild.trace_id, parent.trace_id);
}

#[test]
fn a_span_keeps_everything_across_its_first_activation() {
    // Until first activated, the span is an owned Datadog span; then a shared one. What was
    // set before, through either, and on another thread activating it, all lands on it.
    fn sync<T: Sync>(_: &T) {}
    let (tracer, collector) = tracer();
    let mut ot = tracer.start_span("switch");
    sync(&ot);
    ot.set_tag("before", "1");
    ot.set_tag("service.name", "renamed-svc");
    ot.log_event("early");
    std::thread::scope(|s| {
        s.spawn(|| {
            let _scope = tracer.activate(&ot);
            tracer.start_span("on.other.thread").finish();
        });
    });
    ot.set_tag("after", 2);
    ot.dd_span().set_tag("through.dd", "3");
    {
        let _scope = tracer.activate(&ot);
        tracer.start_span("child").finish();
    }
    ot.set_operation_name("switched");
    ot.finish();
    let done = span(&collector, "switched");
    assert_eq!(done.service, "renamed-svc");
    assert_eq!(done.resource, "switched");
    assert_eq!(done.meta.get("before").map(|v| v.as_ref()), Some("1"));
    assert_eq!(done.metrics.get("after"), Some(&2.0));
    assert_eq!(done.meta.get("through.dd").map(|v| v.as_ref()), Some("3"));
    assert_eq!(done.events.len(), 1);
    for child in ["on.other.thread", "child"] {
        let c = span(&collector, child);
        assert_eq!(
            (c.parent_id, c.trace_id),
            (done.span_id, done.trace_id),
            "{child}"
        );
        assert_eq!(c.service, "renamed-svc", "{child}");
    }
    assert_eq!(collector.spans().len(), 3);
}

#[test]
fn scopes_nest_and_restore() {
    let (tracer, _collector) = tracer();
    let a = tracer.start_span("a");
    let b = tracer.start_span("b");
    let sa = tracer.activate(&a);
    let sb = tracer.activate(&b);
    assert_eq!(
        tracer.active_span_context().and_then(|c| c.dd_span_id()),
        b.context().dd_span_id()
    );
    drop(sb);
    assert_eq!(
        tracer.active_span_context().and_then(|c| c.dd_span_id()),
        a.context().dd_span_id()
    );
    drop(sa);
    assert!(tracer.active_span_context().is_none());
}

fn round_trip(
    tracer: &Tracer,
    parent: &SpanContext,
    inject_extract: impl Fn(&SpanContext) -> SpanContext,
) -> SpanContext {
    let extracted = inject_extract(parent);
    assert_eq!(extracted.dd_trace_id(), parent.dd_trace_id());
    assert_eq!(extracted.dd_span_id(), parent.dd_span_id());
    assert_eq!(extracted.sampling_priority(), parent.sampling_priority());
    assert_eq!(extracted.baggage_item("tenant"), Some("acme corp, ltd"));
    assert_eq!(extracted.baggage_item("user"), Some("ada"));
    let _ = tracer;
    extracted
}

#[test]
fn inject_extract_round_trips_in_every_format() {
    let (tracer, collector) = tracer();
    let mut parent = tracer.start_span("client");
    parent.set_baggage_item("tenant", "acme corp, ltd");
    parent.set_baggage_item("user", "ada");
    let ctx = parent.context().clone();

    let text = round_trip(&tracer, &ctx, |c| {
        let mut map: HashMap<String, String> = HashMap::new();
        tracer.inject(c, TextMap, &mut map).unwrap();
        assert_eq!(
            map["x-datadog-trace-id"],
            c.dd_trace_id().unwrap().low().to_string()
        );
        assert_eq!(
            map["x-datadog-parent-id"],
            c.dd_span_id().unwrap().to_string()
        );
        assert!(map.contains_key("ot-baggage-tenant"));
        assert!(map.contains_key("baggage"));
        tracer.extract(TextMap, &map).unwrap()
    });
    let http = round_trip(&tracer, &ctx, |c| {
        let mut headers = HeaderMap::new();
        tracer.inject(c, HttpHeaders, &mut headers).unwrap();
        tracer.extract(HttpHeaders, &headers).unwrap()
    });
    let binary = round_trip(&tracer, &ctx, |c| {
        let mut bytes = Vec::new();
        tracer.inject(c, Binary, &mut bytes).unwrap();
        assert_eq!(bytes[0], ddtrace_opentracer::binary::BINARY_VERSION);
        tracer.extract(Binary, &bytes[..]).unwrap()
    });

    for (name, remote) in [
        ("server.text", text),
        ("server.http", http),
        ("server.binary", binary),
    ] {
        let server = tracer.span_builder(name).child_of(&remote).start();
        assert_eq!(server.baggage_item("user"), Some("ada"));
        server.finish();
    }
    drop(parent);
    let client = span(&collector, "client");
    for name in ["server.text", "server.http", "server.binary"] {
        let s = span(&collector, name);
        assert_eq!(s.trace_id, client.trace_id, "{name}");
        assert_eq!(s.parent_id, client.span_id, "{name}");
    }
}

#[test]
fn a_128_bit_trace_id_survives_every_format() {
    let (tracer, _collector) = tracer();
    let remote = ddtrace_core::SpanContext::remote(ddtrace_core::RemoteContext {
        trace_id: TraceId::from_parts(0x6656_8d8f_0000_0000, 99),
        span_id: 7,
        sampling_priority: Some(2),
        origin: Some("synthetics".into()),
        ..Default::default()
    });
    let child = tracer
        .span_builder("child")
        .child_of(&SpanContext::from_core(remote))
        .start();
    let ctx = child.context();
    assert_eq!(ctx.dd_trace_id().unwrap().high(), 0x6656_8d8f_0000_0000);
    let mut map: HashMap<String, String> = HashMap::new();
    tracer.inject(ctx, TextMap, &mut map).unwrap();
    assert!(
        map["x-datadog-tags"].contains("_dd.p.tid=66568d8f00000000"),
        "{map:?}"
    );
    assert_eq!(map["x-datadog-origin"], "synthetics");
    let mut bytes = Vec::new();
    tracer.inject(ctx, Binary, &mut bytes).unwrap();
    for back in [
        tracer.extract(TextMap, &map).unwrap(),
        tracer.extract(Binary, &bytes).unwrap(),
    ] {
        assert_eq!(back.dd_trace_id(), ctx.dd_trace_id());
        assert_eq!(back.sampling_priority(), Some(2));
        assert_eq!(back.origin(), Some("synthetics"));
    }
}

#[test]
fn corrupt_and_empty_carriers_give_the_right_errors() {
    let (tracer, _collector) = tracer();
    let empty: HashMap<String, String> = HashMap::new();
    assert_eq!(
        tracer.extract(TextMap, &empty).unwrap_err(),
        ExtractError::SpanContextNotFound
    );
    assert_eq!(
        tracer.extract(HttpHeaders, &HeaderMap::new()).unwrap_err(),
        ExtractError::SpanContextNotFound
    );
    assert_eq!(
        tracer.extract(Binary, &[][..]).unwrap_err(),
        ExtractError::SpanContextNotFound
    );
    let bad: HashMap<String, String> =
        HashMap::from([("x-datadog-trace-id".to_string(), "not-a-number".to_string())]);
    assert!(matches!(
        tracer.extract(TextMap, &bad),
        Err(ExtractError::SpanContextCorrupted(_))
    ));
    let mut headers = HeaderMap::new();
    headers.insert("X-Datadog-Trace-Id", "1".parse().unwrap());
    headers.insert("X-Datadog-Parent-Id", "-2".parse().unwrap());
    assert!(matches!(
        tracer.extract(HttpHeaders, &headers),
        Err(ExtractError::SpanContextCorrupted(_))
    ));
    for bytes in [&[1_u8][..], &[2; 40], &[1, 0, 0]] {
        assert!(matches!(
            tracer.extract(Binary, bytes),
            Err(ExtractError::SpanContextCorrupted(_))
        ));
    }
}

#[test]
fn a_disabled_tracer_records_and_injects_nothing() {
    let collector = Collector::new();
    let config = ddtrace_core::Config::builder()
        .enabled(false)
        .build_from(&HashMap::<&str, &str>::new());
    let tracer = Tracer::from_core(ddtrace_core::Tracer::with_exporter(
        config,
        collector.clone(),
    ));
    let mut s = tracer.start_span("off");
    s.set_tag("k", "v");
    s.set_baggage_item("b", "v");
    s.log_event("e");
    assert_eq!(s.context().trace_id(), "");
    assert_eq!(s.baggage_item("b"), Some("v"));
    let mut map: HashMap<String, String> = HashMap::new();
    tracer.inject(s.context(), TextMap, &mut map).unwrap();
    assert!(map.is_empty());
    let mut bytes = vec![1];
    tracer.inject(s.context(), Binary, &mut bytes).unwrap();
    assert!(bytes.is_empty());
    let _scope = tracer.activate(&s);
    s.finish();
    assert!(collector.spans().is_empty());
}

#[test]
fn injecting_a_continued_trace_keeps_the_upstream_tracestate() {
    let (tracer, collector) = tracer();
    let mut incoming = HeaderMap::new();
    incoming.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap(),
    );
    incoming.insert(
        "tracestate",
        "dd=s:1;t.dm:-0,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
            .parse()
            .unwrap(),
    );
    let remote = tracer.extract(HttpHeaders, &incoming).unwrap();
    let server = tracer.span_builder("server").child_of(&remote).start();
    let mut out: HashMap<String, String> = HashMap::new();
    tracer.inject(server.context(), TextMap, &mut out).unwrap();
    let span_id = server.context().dd_span_id().unwrap();
    assert_eq!(
        out["traceparent"],
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{span_id:016x}-01")
    );
    let state = &out["tracestate"];
    assert!(state.starts_with("dd="), "{state}");
    assert!(
        state.ends_with(",rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        "other vendors' entries are kept, in order: {state}"
    );
    server.finish();
    assert_eq!(span(&collector, "server").parent_id, 0x00f0_67aa_0ba9_02b7);
}

#[test]
fn an_x_datadog_tags_too_long_to_inject_marks_the_local_root() {
    let collector = Collector::new();
    let config = ddtrace_core::Config::builder()
        .service("ot-svc")
        .build_from(&HashMap::from([(
            "DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH",
            "10",
        )]));
    let tracer = Tracer::from_core(ddtrace_core::Tracer::with_exporter(
        config,
        collector.clone(),
    ));
    let root = tracer.start_span("root");
    let child = tracer
        .span_builder("child")
        .child_of(root.context())
        .start();
    let mut out: HashMap<String, String> = HashMap::new();
    tracer.inject(child.context(), TextMap, &mut out).unwrap();
    assert!(!out.contains_key("x-datadog-tags"), "{out:?}");
    assert!(out.contains_key("x-datadog-trace-id"), "{out:?}");
    child.finish();
    root.finish();
    let root = span(&collector, "root");
    assert_eq!(
        root.meta.get("_dd.propagation_error").map(|v| v.as_ref()),
        Some("inject_max_size")
    );
    assert_eq!(
        span(&collector, "child").meta.get("_dd.propagation_error"),
        None
    );
}

#[test]
fn through_the_type_erased_tracer_a_service_set_later_reaches_children() {
    let (tracer, collector) = tracer();
    let tracer = opentracing_api::BoxedTracer::new(tracer);
    let mut parent = tracer.start_span("parent");
    let before = parent.context().clone();
    parent.set_tag("service.name", "late-svc");
    tracer
        .span_builder("child")
        .child_of(parent.context())
        .start()
        .finish();
    tracer
        .span_builder("early")
        .child_of(&before)
        .start()
        .finish();
    parent.set_baggage_item("k", "v");
    assert_eq!(parent.baggage_item("k"), Some("v"));
    drop(parent);
    assert_eq!(span(&collector, "parent").service, "late-svc");
    assert_eq!(span(&collector, "child").service, "late-svc");
    assert_eq!(
        span(&collector, "early").service,
        "ot-svc",
        "a context taken before the change keeps the service it had"
    );
}

#[test]
fn a_header_of_a_style_not_extracted_is_not_a_corrupted_carrier() {
    // Default styles: datadog, tracecontext, baggage; B3 is not read.
    let (tracer, _collector) = tracer();
    let b3: HashMap<String, String> = HashMap::from([
        (
            "x-b3-traceid".to_string(),
            "80f198ee56343ba864fe8b2a57d3eff7".to_string(),
        ),
        (
            "b3".to_string(),
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1".to_string(),
        ),
    ]);
    assert_eq!(
        tracer.extract(TextMap, &b3).unwrap_err(),
        ExtractError::SpanContextNotFound
    );
    // A malformed header of an extracted style still is.
    let bad: HashMap<String, String> =
        HashMap::from([("traceparent".to_string(), "00-zz".to_string())]);
    assert!(matches!(
        tracer.extract(TextMap, &bad),
        Err(ExtractError::SpanContextCorrupted(_))
    ));
}

/// Polls `future` to completion on the calling thread (it must not wait on anything).
fn run_to_completion<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn baggage_crosses_threads_and_tasks_with_the_context() {
    let (tracer, collector) = tracer();
    let mut parent = tracer.start_span("parent");
    parent.set_baggage_item("tenant", "acme");
    let scope = tracer.activate(&parent);
    let on_thread = std::thread::spawn(ddtrace_opentracer::with_current_context({
        let tracer = tracer.clone();
        move || {
            let child = tracer.start_span("thread.child");
            let tenant = child.baggage_item("tenant").map(str::to_owned);
            child.finish();
            tenant
        }
    }));
    let task = ddtrace_opentracer::in_current_context({
        let tracer = tracer.clone();
        async move {
            let child = tracer.start_span("task.child");
            let tenant = child.baggage_item("tenant").map(str::to_owned);
            child.finish();
            tenant
        }
    });
    let in_task = std::thread::spawn(move || run_to_completion(task));
    assert_eq!(on_thread.join().unwrap().as_deref(), Some("acme"));
    assert_eq!(in_task.join().unwrap().as_deref(), Some("acme"));
    // Outside them, a thread starts with nothing active.
    let bare = std::thread::spawn({
        let tracer = tracer.clone();
        move || {
            tracer
                .start_span("bare")
                .baggage_item("tenant")
                .map(str::to_owned)
        }
    });
    assert_eq!(bare.join().unwrap(), None);
    drop(scope);
    let parent_id = parent.context().dd_span_id().unwrap();
    parent.finish();
    for name in ["thread.child", "task.child"] {
        assert_eq!(span(&collector, name).parent_id, parent_id, "{name}");
    }
}

#[test]
fn a_decision_injected_in_any_format_is_fixed() {
    for format in ["text", "binary"] {
        let (tracer, collector) = tracer();
        let mut root = tracer.start_span("root");
        match format {
            "text" => {
                let mut map: HashMap<String, String> = HashMap::new();
                tracer.inject(root.context(), TextMap, &mut map).unwrap();
            }
            _ => {
                let mut bytes = Vec::new();
                tracer.inject(root.context(), Binary, &mut bytes).unwrap();
            }
        }
        root.set_tag(tags::SAMPLING_PRIORITY, 0);
        root.finish();
        assert_eq!(
            span(&collector, "root").metrics.get(SAMPLING_PRIORITY_KEY),
            Some(&1.0),
            "{format}: the priority sent downstream stays"
        );
    }
}

#[test]
fn a_change_made_through_a_downcast_reaches_the_type_erased_context() {
    let (tracer, _collector) = tracer();
    let tracer = opentracing_api::BoxedTracer::new(tracer);
    let mut span = tracer.start_span("erased");
    assert_eq!(span.baggage_item("k"), None); // the erased context is made here
    span.downcast_mut::<ddtrace_opentracer::Span>()
        .unwrap()
        .set_baggage_item("k", "v");
    assert_eq!(span.baggage_item("k"), Some("v"));
}

/// A link's flags are the linked trace's sampled bit once that trace is decided; a local trace
/// that sampling rules have yet to decide is linked without flags (linking does not fix its
/// decision).
#[test]
fn link_flags_follow_the_linked_traces_decision() {
    let flags = |rules: Option<&str>| {
        let collector = Collector::new();
        let mut builder = ddtrace_core::Config::builder().service("ot-svc");
        if let Some(rules) = rules {
            builder = builder.sampling_rules_json(rules);
        }
        let config = builder.build_from(&HashMap::<&str, &str>::new());
        let tracer = Tracer::from_core(ddtrace_core::Tracer::with_exporter(
            config,
            collector.clone(),
        ));
        let earlier = tracer.start_span("earlier");
        tracer
            .span_builder("later")
            .ignore_active_span()
            .follows_from(earlier.context())
            .start()
            .finish();
        drop(earlier);
        collector.span("later").unwrap().links[0].flags
    };
    assert_eq!(flags(None), Some(1), "decided at start: kept");
    assert_eq!(
        flags(Some(r#"[{"sample_rate": 1.0}]"#)),
        None,
        "not decided yet"
    );
}
