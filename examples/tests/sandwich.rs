//! The seed document's examples (examples::sandwich) produce exactly the spans the reference
//! tracer would: names, services, resources, parents, tags and errors. The global tracer is set
//! here, so this file runs in its own process.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;

use ddtrace_core::{Collector, Config, SpanData, Tracer};

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn meta<'a>(s: &'a SpanData, key: &str) -> Option<&'a str> {
    s.meta.get(key).map(|v| &**v)
}

#[test]
fn the_seed_examples_produce_the_reference_spans() {
    let collector = Collector::new();
    let config = Config::builder()
        .service("sandwich-svc")
        .env("test")
        .build_from(&HashMap::<&str, &str>::new());
    ddtrace_core::set_global_tracer(Tracer::with_exporter(config, collector.clone()));

    examples::sandwich::run();

    let traces = collector.chunks();
    let roots: Vec<&str> = traces.iter().map(|t| &*t[0].name).collect();
    assert_eq!(
        roots,
        [
            "sandwich.make",
            "sandwich.create",
            "sandwich.create",
            "throws.an.error",
            "operation"
        ]
    );
    let version = env!("CARGO_PKG_VERSION");

    // 1. Decorators inside a context manager, current_span() and current_root_span().
    let make = &traces[0];
    assert_eq!(make.len(), 4);
    let root = find(make, "sandwich.make");
    let get = find(make, "examples::sandwich::get_ingredients");
    let assemble = find(make, "assemble_sandwich");
    let another = find(make, "another.operation");
    assert_eq!(root.parent_id, 0);
    assert_eq!(get.parent_id, root.span_id);
    assert_eq!(assemble.parent_id, root.span_id);
    assert_eq!(another.parent_id, assemble.span_id);
    assert_eq!(root.service, "sandwich-svc");
    assert_eq!(get.service, "sandwich-svc");
    assert_eq!(get.resource, "examples::sandwich::get_ingredients");
    assert_eq!(assemble.service, "my-sandwich-making-svc");
    assert_eq!(another.service, "my-sandwich-making-svc", "inherited");
    assert_eq!(root.metrics.get("num_ingredients"), Some(&3.0));
    assert_eq!(meta(get, "ingredients.source"), Some("fridge"));
    assert_eq!(root.metrics.get("sandwich.assembled"), Some(&1.0));
    assert_eq!(meta(another, "step"), Some("assemble"));
    // `tracer.set_tag("version", ...)` is a global tag: on every span, whatever its service
    // (unlike DD_VERSION, which only goes on spans of the tracer's service).
    for s in make {
        assert_eq!(meta(s, "version"), Some(version), "{}", s.name);
    }
    assert_eq!(meta(assemble, "_dd.base_service"), Some("sandwich-svc"));
    assert_eq!(meta(root, "_dd.base_service"), None);
    assert_eq!(assemble.metrics.get("_dd.top_level"), Some(&1.0));
    assert_eq!(another.metrics.get("_dd.top_level"), None);
    for s in make {
        assert_eq!(meta(s, "env"), Some("test"));
        assert!(!s.error);
    }

    // 2. Nested context managers.
    let nested = &traces[1];
    let create = find(nested, "sandwich.create");
    assert_eq!(nested.len(), 3);
    for name in ["get_ingredients", "assemble_sandwich"] {
        let s = find(nested, name);
        assert_eq!(s.parent_id, create.span_id);
        assert_eq!(s.service, "sandwich-svc");
        assert_eq!(meta(s, "style"), Some("context-manager"));
    }

    // 3. Manual start / finish around decorated functions.
    let manual = &traces[2];
    let create = find(manual, "sandwich.create");
    assert_eq!(meta(create, "style"), Some("manual"));
    assert_eq!(manual.len(), 4);
    assert_eq!(
        find(manual, "examples::sandwich::get_ingredients").parent_id,
        create.span_id
    );
    assert_eq!(find(manual, "assemble_sandwich").parent_id, create.span_id);

    // 4. An error leaving a traced function.
    let error = &traces[3][0];
    assert!(error.error);
    assert_eq!(
        meta(error, "error.type"),
        Some("examples::sandwich::KitchenError")
    );
    assert_eq!(meta(error, "error.message"), Some("Oups ! No bread left"));

    // 5. The manual error flag.
    let op = &traces[4][0];
    assert!(op.error);
    assert_eq!(meta(op, "error.message"), None);

    // Every trace is complete and kept.
    for t in &traces {
        assert_eq!(t[0].metrics.get("_sampling_priority_v1"), Some(&1.0));
        assert_eq!(meta(&t[0], "language"), Some("rust"));
        assert!(t.iter().all(|s| s.trace_id == t[0].trace_id));
    }
}
