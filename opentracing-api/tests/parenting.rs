//! Parenting: by explicit reference (`ChildOf`, `FollowsFrom`) and by the active span, with
//! `ignore_active_span`, nested scopes and out-of-order scope drops.
#![cfg(feature = "mock")]

use opentracing_api::{MockSpanContext, MockTracer, Reference, Span, Tracer};

fn ctx(trace_id: u64, span_id: u64) -> MockSpanContext {
    MockSpanContext {
        trace_id,
        span_id,
        baggage: Default::default(),
    }
}

#[test]
fn child_of_and_follows_from_are_recorded() {
    let tracer = MockTracer::new();
    let root = tracer.start_span("root");
    let child = tracer
        .span_builder("child")
        .child_of(root.context())
        .start();
    let follower = tracer
        .span_builder("follower")
        .follows_from(root.context())
        .start();
    let both = tracer
        .span_builder("both")
        .child_of(child.context())
        .follows_from(follower.context())
        .start();
    both.finish();
    follower.finish();
    child.finish();
    root.finish();

    let spans = tracer.finished_spans();
    let names: Vec<_> = spans.iter().map(|s| s.operation_name.as_ref()).collect();
    assert_eq!(names, ["both", "follower", "child", "root"]);
    let [both, follower, child, root] = &spans[..] else {
        panic!("expected 4 spans, got {spans:?}");
    };
    assert_eq!(root.references, []);
    assert_eq!(root.parent_id, None);
    assert_eq!(child.references, [Reference::ChildOf(ctx(1, 1))]);
    assert_eq!(child.parent_id, Some(1));
    assert_eq!(follower.references, [Reference::FollowsFrom(ctx(1, 1))]);
    assert_eq!(follower.parent_id, Some(1));
    assert_eq!(
        both.references,
        [
            Reference::ChildOf(ctx(1, 2)),
            Reference::FollowsFrom(ctx(1, 3))
        ]
    );
    assert_eq!(both.parent_id, Some(2));
    for span in &spans {
        assert_eq!(span.trace_id(), 1, "{}", span.operation_name);
    }
}

#[test]
fn children_inherit_the_trace_and_baggage_of_their_references() {
    let tracer = MockTracer::new();
    let _other_trace = tracer.start_span("unrelated");
    let mut a = tracer.start_span("a");
    a.set_baggage_item("from-a", "1");
    a.set_baggage_item("shared", "a");
    let mut b = tracer.start_span("b");
    b.set_baggage_item("shared", "b");
    let child = tracer
        .span_builder("child")
        .child_of(a.context())
        .follows_from(b.context())
        .start();
    assert_eq!(child.context().trace_id, 2);
    assert_eq!(child.context().span_id, 4);
    assert_eq!(child.baggage_item("from-a"), Some("1"));
    // The later reference wins.
    assert_eq!(child.baggage_item("shared"), Some("b"));
}

#[test]
fn the_active_span_is_the_implicit_parent() {
    let tracer = MockTracer::new();
    let parent = tracer.start_span("parent");
    {
        let _scope = tracer.activate(&parent);
        assert_eq!(tracer.active_span_context(), Some(ctx(1, 1)));
        tracer.start_span("implicit child").finish();
    }
    assert_eq!(tracer.active_span_context(), None);
    tracer.start_span("after scope").finish();
    parent.finish();

    let spans = tracer.finished_spans();
    assert_eq!(spans[0].operation_name, "implicit child");
    assert_eq!(spans[0].references, [Reference::ChildOf(ctx(1, 1))]);
    assert_eq!(spans[0].trace_id(), 1);
    assert_eq!(spans[1].operation_name, "after scope");
    assert_eq!(spans[1].references, []);
    assert_eq!(spans[1].trace_id(), 2);
}

#[test]
fn ignore_active_span_starts_a_new_trace() {
    let tracer = MockTracer::new();
    let parent = tracer.start_span("parent");
    let _scope = tracer.activate(&parent);
    let orphan = tracer.span_builder("orphan").ignore_active_span().start();
    assert_eq!(orphan.context().trace_id, 2);
    orphan.finish();
    assert_eq!(tracer.finished_spans()[0].references, []);
    assert_eq!(tracer.finished_spans()[0].parent_id, None);
}

#[test]
fn an_explicit_reference_replaces_the_active_parent() {
    let tracer = MockTracer::new();
    let active = tracer.start_span("active");
    let other = tracer.start_span("other");
    let _scope = tracer.activate(&active);
    tracer
        .span_builder("explicit")
        .follows_from(other.context())
        .start()
        .finish();
    assert_eq!(
        tracer.finished_spans()[0].references,
        [Reference::FollowsFrom(ctx(2, 2))]
    );
}

#[test]
fn nested_scopes_restore_the_previous_active_span() {
    let tracer = MockTracer::new();
    let outer = tracer.start_span("outer");
    let outer_scope = tracer.activate(&outer);
    let inner = tracer.start_span("inner");
    assert_eq!(inner.context().span_id, 2);
    {
        let _inner_scope = tracer.activate(&inner);
        assert_eq!(tracer.active_span_context().map(|c| c.span_id), Some(2));
        tracer.start_span("leaf").finish();
    }
    assert_eq!(tracer.active_span_context().map(|c| c.span_id), Some(1));
    tracer.start_span("sibling").finish();
    drop(outer_scope);
    assert_eq!(tracer.active_span_context(), None);
    inner.finish();
    outer.finish();

    let parents: Vec<_> = tracer
        .finished_spans()
        .iter()
        .map(|s| (s.operation_name.to_string(), s.parent_id))
        .collect();
    assert_eq!(
        parents,
        [
            ("leaf".to_string(), Some(2)),
            ("sibling".to_string(), Some(1)),
            ("inner".to_string(), Some(1)),
            ("outer".to_string(), None),
        ]
    );
}

#[test]
fn out_of_order_scope_drops_keep_the_latest_activation() {
    let tracer = MockTracer::new();
    let a = tracer.start_span("a");
    let b = tracer.start_span("b");
    let c = tracer.start_span("c");
    let scope_a = tracer.activate(&a);
    let scope_b = tracer.activate(&b);
    let scope_c = tracer.activate(&c);
    assert_eq!(tracer.active_span_context().map(|c| c.span_id), Some(3));
    // Dropping a scope that is not the innermost only removes that activation.
    drop(scope_b);
    assert_eq!(tracer.active_span_context().map(|c| c.span_id), Some(3));
    drop(scope_c);
    assert_eq!(tracer.active_span_context().map(|c| c.span_id), Some(1));
    drop(scope_a);
    assert_eq!(tracer.active_span_context(), None);
}

#[test]
fn the_active_span_is_per_thread_and_per_tracer() {
    let tracer = MockTracer::new();
    let other_tracer = MockTracer::new();
    let parent = tracer.start_span("parent");
    let _scope = tracer.activate(&parent);
    assert_eq!(other_tracer.active_span_context(), None);
    let in_thread = tracer.clone();
    let seen = std::thread::spawn(move || in_thread.active_span_context())
        .join()
        .unwrap();
    assert_eq!(seen, None);
}

#[test]
fn scope_does_not_finish_the_span() {
    let tracer = MockTracer::new();
    let span = tracer.start_span("s");
    drop(tracer.activate(&span));
    assert!(tracer.finished_spans().is_empty());
    span.finish();
    assert_eq!(tracer.finished_spans().len(), 1);
}
