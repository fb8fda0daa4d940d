//! Every example of the seed document (custom instrumentation with ddtrace), in Rust, with the
//! exact spans it must produce. (The decorator examples are `tests/ui/pass_*.rs`, run by
//! `macro_ui.rs`.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

mod common;

use std::collections::HashMap;

use common::{by_name, meta, tracer_for as tracer_with};
use ddtrace_core::{Collector, Config, Tracer};

/// `with tracer.trace("sandwich.make"): get_ingredients(); assemble_sandwich(...)`
#[test]
fn context_manager_nesting_builds_one_trace() {
    let (tracer, collector) = tracer_with("sandwich-svc");
    {
        let _outer = tracer.trace("sandwich.create");
        {
            let _s = tracer.trace("get_ingredients");
        }
        {
            let _s = tracer.trace("assemble_sandwich");
        }
    }
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 1, "one trace, sent once when complete");
    let spans = &chunks[0];
    assert_eq!(spans.len(), 3);
    let root = by_name(spans, "sandwich.create");
    let get = by_name(spans, "get_ingredients");
    let assemble = by_name(spans, "assemble_sandwich");
    assert_eq!(spans[0].span_id, root.span_id, "chunk root first");
    assert_eq!(root.parent_id, 0);
    assert_eq!(get.parent_id, root.span_id);
    assert_eq!(assemble.parent_id, root.span_id);
    for s in spans {
        assert_eq!(s.trace_id, root.trace_id);
        assert_eq!(s.service, "sandwich-svc");
        assert_eq!(s.resource, s.name, "resource defaults to the name");
        assert!(!s.error);
        assert!(s.duration >= 0);
        assert_eq!(meta(s, "env"), Some("test"));
    }
    assert!(get.start >= root.start && get.start + get.duration <= root.start + root.duration);
    assert!(assemble.start >= get.start + get.duration);
    // Standard fields as the reference sets them.
    assert_eq!(meta(root, "language"), Some("rust"));
    assert_eq!(meta(root, "runtime-id").map(str::len), Some(36));
    assert_eq!(
        root.metrics.get("process_id"),
        Some(&f64::from(std::process::id()))
    );
    assert_eq!(root.metrics.get("_dd.top_level"), Some(&1.0));
    assert_eq!(root.metrics.get("_sampling_priority_v1"), Some(&1.0));
    assert_eq!(meta(root, "_dd.p.dm"), Some("-0"));
    assert_eq!(
        meta(root, "_dd.p.tid"),
        Some(format!("{:016x}", root.trace_id.high()).as_str())
    );
    assert_ne!(root.trace_id.high(), 0, "128-bit trace ids by default");
    for child in [get, assemble] {
        assert_eq!(child.metrics.get("_dd.top_level"), None);
        assert_eq!(meta(child, "language"), None);
    }
}

/// `span = tracer.trace("sandwich.create"); ...; span.finish()`
#[test]
fn manual_finish() {
    let (tracer, collector) = tracer_with("svc");
    let span = tracer.trace("sandwich.create");
    {
        let _child = tracer.trace("get_ingredients");
    }
    assert!(
        collector.spans().is_empty(),
        "nothing sent while the root is open"
    );
    span.finish();
    let spans = collector.spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(
        by_name(&spans, "get_ingredients").parent_id,
        by_name(&spans, "sandwich.create").span_id
    );
}

/// An owned span finished twice, and on another thread.
#[test]
fn owned_span_finishes_once_on_any_thread() {
    let (tracer, collector) = tracer_with("svc");
    let mut span = tracer.span("background.job").start();
    span.set_tag("job", "resize");
    let handle = std::thread::spawn(move || {
        span.finish();
        span.finish(); // harmless
        span
    });
    let span = handle.join().unwrap();
    drop(span); // and dropping a finished span does nothing more
    let spans = collector.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(meta(&spans[0], "job"), Some("resize"));
}

/// `tracer.current_span()` and `tracer.current_root_span()` from nested code.
#[test]
fn current_span_and_root_span() {
    let (tracer, collector) = tracer_with("svc");

    fn get_ingredients() {
        // "This span corresponds to my_span."
        let span = ddtrace_core::current_span().expect("an active span");
        span.set_tag("ingredients.source", "fridge");
    }

    fn assemble_sandwich(tracer: &Tracer) {
        let another = tracer.trace("another.operation");
        another.set_tag("step", "assemble");
        let root = ddtrace_core::current_root_span().expect("a root span");
        root.set_tag("sandwich.assembled", true);
        root.set_resource("make_sandwich_request");
    }

    {
        let my_span = tracer.trace("sandwich.make");
        get_ingredients();
        assemble_sandwich(&tracer);
        assert_eq!(
            ddtrace_core::current_span().unwrap().span_id(),
            my_span.span_id()
        );
    }
    assert!(ddtrace_core::current_span().is_none());
    assert!(ddtrace_core::current_root_span().is_none());

    let spans = collector.spans();
    let make = by_name(&spans, "sandwich.make");
    let another = by_name(&spans, "another.operation");
    assert_eq!(meta(make, "ingredients.source"), Some("fridge"));
    assert_eq!(make.metrics.get("sandwich.assembled"), Some(&1.0));
    assert_eq!(make.resource, "make_sandwich_request");
    assert_eq!(meta(another, "step"), Some("assemble"));
    assert_eq!(another.parent_id, make.span_id);
    assert_eq!(another.metrics.get("sandwich.assembled"), None);
}

/// The root span reached from another thread: applied when the root finishes.
#[test]
fn root_span_tags_from_another_thread() {
    let (tracer, collector) = tracer_with("svc");
    {
        let _root = tracer.trace("request");
        let _child = tracer.trace("child");
        let root = ddtrace_core::current_root_span().unwrap();
        std::thread::spawn(move || root.set_tag("from.worker", "yes"))
            .join()
            .unwrap();
    }
    let spans = collector.spans();
    assert_eq!(meta(by_name(&spans, "request"), "from.worker"), Some("yes"));
    assert_eq!(meta(by_name(&spans, "child"), "from.worker"), None);
}

/// `span.set_tag("num_ingredients", len(ingredients))` is a metric; strings go to meta. The
/// same through every kind of handle: the guard, an owned span, a shared span, the current
/// span, an entered owned span reached as the current span.
#[test]
fn local_tags_numbers_to_metrics_strings_to_meta() {
    macro_rules! tag_all {
        ($span:expr) => {{
            let span = $span;
            let ingredients = ["bread", "cheese"];
            span.set_tag("num_ingredients", ingredients.len());
            span.set_tag("bread", "sourdough");
            span.set_tag("price", 4.5);
            span.set_tag("toasted", true);
            span.set_tag("order.id", u64::MAX); // too big for a float: kept exactly, as a string
            span.set_tag("changed", "first");
            span.set_tag("changed", 2); // moves from meta to metrics
            span.set_tag("moved", 1);
            span.set_tag("moved", "back"); // and from metrics to meta
            span.set_tag("bread", "rye"); // replaces
            span.set_tag("owned", String::from("value"));
            span.set_tag(String::from("owned.key"), 3);
            span.set_tag("nan", f64::NAN); // not a metric: ignored
        }};
    }
    let (tracer, collector) = tracer_with("svc");
    {
        let guard = tracer.trace("guard");
        tag_all!(&guard);
    }
    {
        let mut owned = tracer.span("owned").start();
        tag_all!(&mut owned);
    }
    {
        let shared = tracer.span("shared").start().into_shared();
        tag_all!(&shared);
        shared.finish();
    }
    {
        let _guard = tracer.trace("current");
        tag_all!(&ddtrace_core::current_span().unwrap());
    }
    {
        let mut entered = tracer.span("entered").start();
        let _in = entered.enter();
        tag_all!(&ddtrace_core::current_span().unwrap());
    }
    let spans = collector.spans();
    assert_eq!(spans.len(), 5);
    for s in &spans {
        let name = &s.name;
        assert_eq!(s.metrics.get("num_ingredients"), Some(&2.0), "{name}");
        assert_eq!(meta(s, "num_ingredients"), None, "{name}");
        assert_eq!(meta(s, "bread"), Some("rye"), "{name}");
        assert_eq!(
            s.meta.iter().filter(|(k, _)| *k == "bread").count(),
            1,
            "{name}: {:?}",
            s.meta
        );
        assert_eq!(s.metrics.get("price"), Some(&4.5), "{name}");
        assert_eq!(s.metrics.get("toasted"), Some(&1.0), "{name}");
        assert_eq!(meta(s, "order.id"), Some("18446744073709551615"), "{name}");
        assert_eq!(s.metrics.get("changed"), Some(&2.0), "{name}");
        assert_eq!(meta(s, "changed"), None, "{name}");
        assert_eq!(meta(s, "moved"), Some("back"), "{name}");
        assert_eq!(s.metrics.get("moved"), None, "{name}");
        assert_eq!(meta(s, "owned"), Some("value"), "{name}");
        assert_eq!(s.metrics.get("owned.key"), Some(&3.0), "{name}");
        assert_eq!(s.metrics.get("nan"), None, "{name}");
        assert_eq!(meta(s, "nan"), None, "{name}");
    }
}

/// `tracer.set_tag("version", __version__)`: applied to every span.
#[test]
fn global_tags_apply_to_every_span() {
    let (tracer, collector) = tracer_with("svc");
    tracer.set_tag("version", "1.0.0");
    tracer.set_tag("shard", 7);
    {
        let _a = tracer.trace("a");
        let b = tracer.trace("b");
        b.set_tag("version", "local"); // a span's own tag wins
    }
    let spans = collector.spans();
    assert_eq!(meta(by_name(&spans, "a"), "version"), Some("1.0.0"));
    assert_eq!(meta(by_name(&spans, "b"), "version"), Some("local"));
    for s in &spans {
        assert_eq!(s.metrics.get("shard"), Some(&7.0));
    }
}

/// `DD_TAGS`, `DD_ENV`, `DD_VERSION` and `DD_SERVICE` from the environment.
#[test]
fn configuration_tags_from_environment() {
    let env: HashMap<&str, &str> = [
        ("DD_SERVICE", "env-svc"),
        ("DD_ENV", "staging"),
        ("DD_VERSION", "2.0"),
        ("DD_TAGS", "team:kitchen,dc:paris,env:dev,version:0.1"),
    ]
    .into();
    let collector = Collector::new();
    let tracer = Tracer::with_exporter(Config::builder().build_from(&env), collector.clone());
    {
        let _root = tracer.trace("root");
        let _other = tracer.span("db.query").service("postgres").enter();
    }
    let spans = collector.spans();
    let root = by_name(&spans, "root");
    let db = by_name(&spans, "db.query");
    assert_eq!(root.service, "env-svc");
    assert_eq!(meta(root, "env"), Some("staging"));
    assert_eq!(meta(root, "version"), Some("2.0"));
    assert_eq!(meta(root, "team"), Some("kitchen"));
    assert_eq!(meta(root, "dc"), Some("paris"));
    assert_eq!(meta(root, "_dd.base_service"), None);
    // A span of another service: env yes, version no, base service named, top-level.
    assert_eq!(db.service, "postgres");
    assert_eq!(meta(db, "env"), Some("staging"));
    assert_eq!(meta(db, "version"), None);
    assert_eq!(meta(db, "_dd.base_service"), Some("env-svc"));
    assert_eq!(db.metrics.get("_dd.top_level"), Some(&1.0));
    // DD_ENV and DD_VERSION win over the `env:` and `version:` of DD_TAGS.
    assert_eq!(meta(db, "env"), Some("staging"));
}

/// `span.service = "..."` after start: `_dd.top_level` follows the services the spans end with
/// (the reference decides it at the end of the trace), for the span and for its children.
#[test]
fn a_service_changed_after_start_decides_top_level() {
    let (tracer, collector) = tracer_with("svc");
    {
        let _root = tracer.trace("root");
        {
            let moved = tracer.trace("moved");
            let _inherited = tracer.trace("inherited.before.the.change");
            moved.set_service("cache");
        }
        let back = tracer.span("back").service("postgres").enter();
        back.set_service("svc");
        drop(back);
        let _plain = tracer.trace("plain");
    }
    let spans = collector.spans();
    let top = |name: &str| by_name(&spans, name).metrics.get("_dd.top_level").copied();
    assert_eq!(top("root"), Some(1.0));
    assert_eq!(
        top("moved"),
        Some(1.0),
        "now of another service than its parent"
    );
    assert_eq!(
        by_name(&spans, "inherited.before.the.change").service,
        "svc",
        "a child keeps the service it started with"
    );
    assert_eq!(
        top("inherited.before.the.change"),
        Some(1.0),
        "its parent moved"
    );
    assert_eq!(top("back"), None, "back to its parent's service");
    assert_eq!(top("plain"), None);
}

/// `with tracer.trace("throws.an.error"): raise Exception("Oups !")`: the panic marks the span
/// and goes on.
#[test]
fn panic_marks_the_span_and_continues() {
    let (tracer, collector) = tracer_with("svc");
    let result = std::panic::catch_unwind(|| {
        let _outer = tracer.trace("request");
        let _span = tracer.trace("throws.an.error");
        panic!("Oups !");
    });
    assert!(result.is_err(), "the panic continues");
    let spans = collector.spans();
    let failing = by_name(&spans, "throws.an.error");
    assert!(failing.error);
    assert_eq!(meta(failing, "error.message"), Some("Oups !"));
    assert_eq!(meta(failing, "error.type"), Some("panic"));
    let stack = meta(failing, "error.stack").unwrap();
    assert!(stack.contains("seed_examples.rs"), "{stack}");
    // Every span the panic unwound through is marked (the reference marks each active span the
    // exception leaves).
    assert!(by_name(&spans, "request").error);
}

/// Code that the unwind runs (a `Drop`) may trace its own work: the panic did not leave those
/// spans' scopes, so they are not errors; the spans it did leave are.
#[test]
fn spans_started_by_the_unwind_itself_are_not_marked() {
    let (tracer, collector) = tracer_with("svc");
    struct Cleanup<'a>(&'a Tracer);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let _guard = self.0.trace("cleanup.scoped");
            self.0.span("cleanup.manual").start().finish();
        }
    }
    let result = std::panic::catch_unwind(|| {
        let _outer = tracer.trace("request");
        let _cleanup = Cleanup(&tracer);
        panic!("Oups !");
    });
    assert!(result.is_err());
    let spans = collector.spans();
    assert!(by_name(&spans, "request").error);
    for (name, parent) in [
        ("cleanup.scoped", "request"),
        ("cleanup.manual", "cleanup.scoped"),
    ] {
        let s = by_name(&spans, name);
        assert!(!s.error, "{name}");
        assert_eq!(meta(s, "error.message"), None, "{name}");
        assert_eq!(s.parent_id, by_name(&spans, parent).span_id, "{name}");
    }
}

/// A panic re-raised with `resume_unwind` (as `JoinError::into_panic` users do) runs no panic
/// hook; it still marks the spans it leaves.
#[test]
fn a_resumed_panic_marks_the_spans_it_leaves() {
    let (tracer, collector) = tracer_with("svc");
    let caught = std::panic::catch_unwind(|| panic!("in a task"));
    let payload = caught.unwrap_err();
    let resumed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _span = tracer.trace("awaits.the.task");
        std::panic::resume_unwind(payload);
    }));
    assert!(resumed.is_err());
    let spans = collector.spans();
    let span = by_name(&spans, "awaits.the.task");
    assert!(span.error);
    assert_eq!(meta(span, "error.type"), Some("panic"));
}

/// `set_error(&e)` for any `std::error::Error`.
#[test]
fn set_error_from_std_error() {
    let (tracer, collector) = tracer_with("svc");
    {
        let span = tracer.trace("read.config");
        let err = std::fs::read("/nonexistent/ddtrace/config").unwrap_err();
        span.set_error(&err);
    }
    let s = &collector.spans()[0];
    assert!(s.error);
    assert_eq!(meta(s, "error.type"), Some("std::io::error::Error"));
    assert_eq!(
        meta(s, "error.message"),
        Some("No such file or directory (os error 2)")
    );
}

/// `span = tracer.trace("operation"); span.error = 1; span.finish()`
#[test]
fn manual_error_flag() {
    let (tracer, collector) = tracer_with("svc");
    let span = tracer.trace("operation");
    span.set_error_flag(true);
    span.finish();
    let s = &collector.spans()[0];
    assert_eq!(s.name, "operation");
    assert!(s.error);
    assert_eq!(meta(s, "error.message"), None);
}

/// Closure style, resource/service/type options, and an explicit root.
#[test]
fn closure_and_builder_options() {
    let (tracer, collector) = tracer_with("svc");
    let n = tracer.in_span("compute", |span| {
        span.set_tag("input", 20);
        let _http = tracer
            .span("http.request")
            .service("payments")
            .resource("GET /charge")
            .span_type("http")
            .tag("http.method", "GET")
            .enter();
        let _independent = tracer.span("independent").root().enter();
        42
    });
    assert_eq!(n, 42);
    let chunks = collector.chunks();
    assert_eq!(chunks.len(), 2, "the explicit root is its own trace");
    let spans = collector.spans();
    let compute = by_name(&spans, "compute");
    let http = by_name(&spans, "http.request");
    let independent = by_name(&spans, "independent");
    assert_eq!(http.parent_id, compute.span_id);
    assert_eq!(http.service, "payments");
    assert_eq!(http.resource, "GET /charge");
    assert_eq!(http.span_type, "http");
    assert_eq!(meta(http, "http.method"), Some("GET"));
    assert_eq!(independent.parent_id, 0);
    assert_ne!(independent.trace_id, compute.trace_id);
}

/// Manual keep / drop through tags, as the reference's `manual.keep` / `manual.drop`.
#[test]
fn manual_keep_and_drop() {
    let (tracer, collector) = tracer_with("svc");
    {
        let s = tracer.trace("kept");
        s.set_tag(ddtrace_core::MANUAL_KEEP, true);
    }
    {
        let _root = tracer.trace("dropped");
        let child = tracer.trace("child");
        child.set_tag(ddtrace_core::MANUAL_DROP, true);
    }
    // Whatever the value (here a string), and with an owned key.
    tracer
        .trace("kept.by.string")
        .set_tag(ddtrace_core::MANUAL_KEEP, "yes");
    tracer
        .trace("dropped.by.owned.key")
        .set_tag(String::from(ddtrace_core::MANUAL_DROP), 1);
    let by_string = collector.span("kept.by.string").unwrap();
    assert_eq!(by_string.metrics.get("_sampling_priority_v1"), Some(&2.0));
    assert_eq!(meta(&by_string, "manual.keep"), None);
    let by_owned = collector.span("dropped.by.owned.key").unwrap();
    assert_eq!(by_owned.metrics.get("_sampling_priority_v1"), Some(&-1.0));
    assert_eq!(by_owned.metrics.get("manual.drop"), None);
    let kept = collector.span("kept").unwrap();
    assert_eq!(kept.metrics.get("_sampling_priority_v1"), Some(&2.0));
    assert_eq!(meta(&kept, "_dd.p.dm"), Some("-4"));
    assert_eq!(meta(&kept, "manual.keep"), None);
    let dropped = collector.span("dropped").unwrap();
    assert_eq!(dropped.metrics.get("_sampling_priority_v1"), Some(&-1.0));
    assert_eq!(meta(&dropped, "_dd.p.dm"), Some("-4"));
}

/// A disabled tracer records nothing and hands out no-op spans.
#[test]
fn disabled_tracer_records_nothing() {
    let collector = Collector::new();
    let config = Config::builder()
        .enabled(false)
        .build_from(&HashMap::<&str, &str>::new());
    let tracer = Tracer::with_exporter(config, collector.clone());
    {
        let span = tracer.trace("nothing");
        span.set_tag("k", "v");
        assert!(ddtrace_core::current_span().is_none());
        let mut owned = tracer.span("owned").start();
        assert!(!owned.is_recording());
        owned.finish();
    }
    assert!(collector.spans().is_empty());
}

/// 64-bit trace ids when 128-bit generation is off.
#[test]
fn trace_id_64_bit_mode() {
    let collector = Collector::new();
    let config = Config::builder()
        .trace_id_128(false)
        .build_from(&HashMap::<&str, &str>::new());
    let tracer = Tracer::with_exporter(config, collector.clone());
    drop(tracer.trace("x"));
    let s = &collector.spans()[0];
    assert_eq!(s.trace_id.high(), 0);
    assert_eq!(meta(s, "_dd.p.tid"), None);
}

/// The seed's further reading, "connect logs and traces": a log line written in a span carries
/// the ids of that span and its trace, and the service, env and version; outside a trace, ids
/// of 0.
#[test]
fn log_lines_carry_the_ids_of_the_active_span() {
    let config = Config::builder()
        .service("kitchen")
        .env("prod")
        .version("1.2.0")
        .build_from(&HashMap::<&str, &str>::new());
    let collector = Collector::new();
    let tracer = Tracer::with_exporter(config, collector.clone());
    let outside = tracer.log_correlation();
    assert!(!outside.in_trace());
    assert_eq!(
        outside.to_string(),
        "dd.service=kitchen dd.env=prod dd.version=1.2.0 dd.trace_id=0 dd.span_id=0"
    );
    let (in_root, in_child) = {
        let _root = tracer.trace("sandwich.make");
        let in_root = tracer.log_correlation();
        let _child = tracer.trace("get_ingredients");
        (in_root, tracer.log_correlation())
    };
    let spans = collector.spans();
    let (root, child) = (
        by_name(&spans, "sandwich.make"),
        by_name(&spans, "get_ingredients"),
    );
    // 128-bit ids (the default): all 32 hex digits, the low half being the span's trace_id.
    assert_eq!(in_root.trace_id(), format!("{:032x}", root.trace_id.0));
    assert_eq!(in_root.span_id(), root.span_id.to_string());
    assert_eq!(in_child.trace_id(), in_root.trace_id());
    assert_eq!(in_child.span_id(), child.span_id.to_string());
    let fields = in_child.fields().map(|(k, v)| (k, v.into_owned()));
    assert_eq!(
        fields,
        [
            ("dd.service", "kitchen".to_owned()),
            ("dd.env", "prod".to_owned()),
            ("dd.version", "1.2.0".to_owned()),
            ("dd.trace_id", in_root.trace_id()),
            ("dd.span_id", child.span_id.to_string()),
        ]
    );
    // 64-bit ids are decimal; a disabled tracer logs no ids.
    let (tracer64, collector64) =
        common::tracer_with(Config::builder().service("kitchen").trace_id_128(false));
    let ids = {
        let _span = tracer64.trace("sandwich.make");
        tracer64.log_correlation()
    };
    let span = collector64.span("sandwich.make").unwrap();
    assert_eq!(ids.trace_id(), span.trace_id.low().to_string());
    assert_eq!((ids.env(), ids.version()), ("", ""));
    let (disabled, _) = common::tracer_with(Config::builder().enabled(false));
    let _span = disabled.trace("sandwich.make");
    assert!(!disabled.log_correlation().in_trace());
}
