//! The agent writer against the real Datadog test agent (ddapm-test-agent 1.69.1): the exact
//! spans and headers it receives over v0.4, v0.5 and a Unix socket; shutdown delivering
//! everything; an absent, restarted and stalled agent.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::time::Duration;

use ddtrace_core::encode::ApiVersion;
use ddtrace_core::{Config, ConfigBuilder, DropCounts, Tracer};
use ddtrace_test_agent::{RecordedRequest, Session, TestAgent};
use integration_tests::agent_spans::root_and_child;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn start_agent(builder: ddtrace_test_agent::TestAgentBuilder) -> TestAgent {
    builder
        .start()
        .unwrap_or_else(|e| panic!("the test agent must install and start: {e}"))
}

fn config(url: &str, session: &Session) -> ConfigBuilder {
    Config::builder()
        .service("writer-svc")
        .env("writer-test")
        .agent_url(url)
        .test_session_token(session.token())
}

fn build(builder: ConfigBuilder) -> Tracer {
    Tracer::new(builder.build_from(&HashMap::<&str, &str>::new()))
}

/// A root with a numeric and a string tag, and one child with its own resource.
fn sandwich(tracer: &Tracer) -> (u64, u64) {
    let root = tracer.trace("sandwich.make");
    root.set_tag("num_ingredients", 2);
    root.set_tag("bread", "rye");
    let child_id = {
        let child = tracer.span("get_ingredients").resource("fridge").enter();
        child.span_id()
    };
    (root.span_id(), child_id)
}

/// The two sandwich spans exactly as the tracer should send them.
fn assert_sandwich(traces: &Value, root_id: u64, child_id: u64) {
    let (root, child) = root_and_child(
        traces,
        ("sandwich.make", root_id),
        ("get_ingredients", child_id),
    );
    assert_eq!(root["service"], "writer-svc");
    assert_eq!(root["resource"], "sandwich.make");
    assert_eq!(root.get("error").and_then(Value::as_i64).unwrap_or(0), 0);
    assert_eq!(child["service"], "writer-svc");
    assert_eq!(child["resource"], "fridge");
    let meta = &root["meta"];
    assert_eq!(meta["language"], "rust");
    assert_eq!(meta["env"], "writer-test");
    assert_eq!(meta["bread"], "rye");
    assert_eq!(meta["_dd.p.dm"], "-0");
    let tid = meta["_dd.p.tid"].as_str().unwrap();
    assert!(
        tid.len() == 16
            && tid
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{tid}"
    );
    // The high 64 bits of a new trace id: unix seconds << 32 (checked to within a day).
    let high = u64::from_str_radix(tid, 16).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(high & 0xffff_ffff, 0, "{tid}");
    assert!((high >> 32).abs_diff(now) < 86_400, "{tid} at {now}");
    assert!(meta["runtime-id"].is_string());
    let metrics = &root["metrics"];
    assert_eq!(metrics["_sampling_priority_v1"], 1.0);
    assert_eq!(metrics["_dd.top_level"], 1.0);
    assert_eq!(metrics["num_ingredients"], 2.0);
    assert_eq!(metrics["process_id"], f64::from(std::process::id()));
    assert_eq!(child["meta"]["env"], "writer-test");
    assert!(child["meta"].get("_dd.p.tid").is_none());
    assert!(child["metrics"].get("_sampling_priority_v1").is_none());
}

/// The headers of protocol §1, on every trace request.
fn assert_headers(requests: &[RecordedRequest], path: &str, session: &Session) {
    let traces: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.path().ends_with("/traces"))
        .collect();
    assert!(!traces.is_empty());
    for r in traces {
        assert_eq!(r.path(), path);
        assert_eq!(r.method, "PUT");
        assert_eq!(r.header("Content-Type"), Some("application/msgpack"));
        assert_eq!(
            r.header("Content-Length"),
            Some(r.body.len().to_string().as_str())
        );
        assert_eq!(r.header("Transfer-Encoding"), None);
        assert_eq!(r.header("X-Datadog-Trace-Count"), Some("1"));
        assert_eq!(r.header("Datadog-Meta-Lang"), Some("rust"));
        assert!(
            r.header("Datadog-Meta-Lang-Version")
                .unwrap()
                .starts_with("1.")
        );
        assert_eq!(
            r.header("Datadog-Meta-Tracer-Version"),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(r.header("Datadog-Client-Computed-Top-Level"), Some("yes"));
        assert_eq!(r.header("Datadog-Send-Real-Http-Status"), Some("true"));
        // Where the tests run decides whether these are sent; when they are, they agree.
        match (
            r.header("Datadog-Container-ID"),
            r.header("Datadog-Entity-ID"),
        ) {
            (Some(container), entity) => {
                assert_eq!(entity, Some(format!("ci-{container}").as_str()))
            }
            (None, Some(entity)) => assert!(
                entity
                    .strip_prefix("in-")
                    .is_some_and(|ino| !ino.is_empty() && ino.bytes().all(|b| b.is_ascii_digit())),
                "{entity}"
            ),
            (None, None) => {}
        }
        assert_eq!(
            r.header("X-Datadog-Test-Session-Token"),
            Some(session.token())
        );
    }
}

fn assert_all_sent(tracer: &Tracer, traces: u64, spans: u64) {
    let s = tracer.stats();
    assert_eq!(
        (s.traces_received, s.spans_received),
        (traces, spans),
        "{s:?}"
    );
    assert_eq!((s.traces_sent, s.spans_sent), (traces, spans), "{s:?}");
    assert_eq!(s.traces_dropped, DropCounts::default(), "{s:?}");
}

/// Sends the sandwich to an agent started from `builder`, at the address `url` gives, with
/// `configure` applied to the tracer's configuration; checks the exact spans, the headers of
/// every trace request (all to `path`) and the writer's books.
fn exact_sandwich(
    builder: ddtrace_test_agent::TestAgentBuilder,
    url: impl Fn(&TestAgent) -> String,
    configure: impl Fn(ConfigBuilder) -> ConfigBuilder,
    path: &str,
) {
    let agent = start_agent(builder);
    let session = agent.session().unwrap();
    let tracer = build(configure(config(&url(&agent), &session)));
    let (root, child) = sandwich(&tracer);
    assert!(tracer.flush(WAIT));
    assert_sandwich(&session.wait_for_traces(1, WAIT).unwrap(), root, child);
    assert_headers(&session.recorded_requests().unwrap(), path, &session);
    assert_all_sent(&tracer, 1, 2);
}

#[test]
fn exact_spans_and_headers_over_v04() {
    exact_sandwich(TestAgent::builder(), TestAgent::url, |c| c, "/v0.4/traces");
}

/// v0.5 is used only once /info listed it; the first flush waits for nothing else.
#[test]
fn exact_spans_over_v05() {
    exact_sandwich(
        TestAgent::builder(),
        TestAgent::url,
        |c| c.api_version(ApiVersion::V05),
        "/v0.5/traces",
    );
}

/// Overload mode: with a 4-span buffer (overload mark 1), every chunk of two or more spans is
/// finalized and encoded by the thread that finishes it, once `/info` has answered. The agent
/// must receive exactly what the writer itself would have sent.
#[test]
fn chunks_encoded_on_the_application_thread_arrive_exactly() {
    overload(ApiVersion::V04, "/v0.4/traces");
}

/// The same over v0.5: the chunk the application thread encoded (always in v0.4) goes in a
/// v0.4 payload of its own, beside the v0.5 ones.
#[test]
fn chunks_encoded_on_the_application_thread_arrive_exactly_beside_v05() {
    overload(ApiVersion::V05, "/v0.5/traces");
}

/// Overload mode with payloads in `version`: the warm-up span, encoded by the writer, goes to
/// `warm_up_path`; the two-span chunk the application encoded goes to `/v0.4/traces`.
fn overload(version: ApiVersion, warm_up_path: &str) {
    let agent = start_agent(TestAgent::builder());
    let session = agent.session().unwrap();
    let tracer = build(
        config(&agent.url(), &session)
            .api_version(version)
            .max_buffered_spans(4),
    );
    // One span stays under the mark: the writer encodes it (and /info has answered after it).
    drop(tracer.trace("warm.up"));
    assert!(tracer.flush(WAIT));
    assert_eq!(tracer.stats().spans_encoded_on_app_threads, 0);
    let (root, child) = sandwich(&tracer);
    assert_eq!(tracer.stats().spans_encoded_on_app_threads, 2);
    assert!(tracer.flush(WAIT));
    let traces = session.wait_for_traces(2, WAIT).unwrap();
    assert_eq!(traces.as_array().unwrap().len(), 2);
    let sandwich_only: Vec<Value> = traces
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t[0]["name"] == "sandwich.make" || t[1]["name"] == "sandwich.make")
        .cloned()
        .collect();
    assert_sandwich(&Value::Array(sandwich_only), root, child);
    let requests = session.recorded_requests().unwrap();
    let to = |path: &str| -> Vec<RecordedRequest> {
        requests
            .iter()
            .filter(|r| r.path() == path)
            .cloned()
            .collect()
    };
    if warm_up_path == "/v0.4/traces" {
        assert_eq!(to("/v0.4/traces").len(), 2);
    } else {
        assert_eq!(to(warm_up_path).len(), 1, "the warm-up");
        assert_headers(&to(warm_up_path), warm_up_path, &session);
        assert_eq!(to("/v0.4/traces").len(), 1, "the application-encoded chunk");
    }
    assert_headers(&to("/v0.4/traces"), "/v0.4/traces", &session);
    assert_all_sent(&tracer, 2, 3);
    assert_eq!(session.trace_check_failures().unwrap(), None);
}

#[cfg(unix)]
#[test]
fn exact_spans_over_a_unix_socket() {
    exact_sandwich(
        TestAgent::builder().unix_socket(),
        |agent| agent.uds_url().unwrap(),
        |c| c,
        "/v0.4/traces",
    );
}

/// Nothing is sent on the timer (1 min interval): shutdown alone delivers all 1000 traces.
#[test]
fn shutdown_delivers_everything() {
    let agent = start_agent(TestAgent::builder());
    let session = agent.session().unwrap();
    let tracer = build(config(&agent.url(), &session).flush_interval(Duration::from_secs(60)));
    for i in 0..1000 {
        let _root = tracer.trace(format!("op{i}"));
        let _a = tracer.trace("a");
        let _b = tracer.trace("b");
    }
    assert!(tracer.shutdown(WAIT));
    let traces = session.wait_for_traces(1000, WAIT).unwrap();
    assert_eq!(traces.as_array().unwrap().len(), 1000);
    assert_eq!(ddtrace_test_agent::span_count(&traces), 3000);
    assert_all_sent(&tracer, 1000, 3000);
    assert_eq!(session.trace_check_failures().unwrap(), None);
    // Afterwards a flush or another shutdown answers what the shutdown did while nothing
    // comes; a trace exported after the shutdown is dropped, and then they answer false.
    assert!(tracer.flush(WAIT));
    assert!(tracer.shutdown(WAIT));
    drop(tracer.trace("late"));
    assert!(!tracer.flush(WAIT));
    assert!(!tracer.shutdown(WAIT));
    let s = tracer.stats();
    assert_eq!((s.traces_received, s.traces_sent), (1001, 1000));
    assert_eq!(s.traces_dropped.shutdown, 1);
}

/// Once the writer has encoded a trace, it hands the trace's span buffer back for the next
/// one: emptied when the spans owned no heap memory (the writer dropped them, and with them
/// what finalizing allocated), with the old spans still in it when they held memory the
/// application allocated (the application thread drops them).
#[test]
fn buffers_come_back_emptied_unless_their_spans_owned_application_memory() {
    use std::sync::{Arc, Mutex};

    use ddtrace_core::{AgentRates, AgentWriter, Exporter, ExporterStats, SpanData, TraceChunk};

    /// The agent writer, noting the names of the spans in each buffer it hands back.
    struct Watched {
        writer: AgentWriter,
        handed_back: Arc<Mutex<Vec<Vec<String>>>>,
    }
    impl Exporter for Watched {
        fn export(&self, chunk: TraceChunk) {
            self.writer.export(chunk);
        }
        fn reuse_buffer(&self) -> Option<Vec<SpanData>> {
            let buffer = self.writer.reuse_buffer()?;
            let names = buffer.iter().map(|s| s.name.to_string()).collect();
            self.handed_back.lock().unwrap().push(names);
            Some(buffer)
        }
        fn flush(&self, timeout: Duration) -> bool {
            self.writer.flush(timeout)
        }
        fn shutdown(&self, timeout: Duration) -> bool {
            self.writer.shutdown(timeout)
        }
        fn stats(&self) -> ExporterStats {
            self.writer.stats()
        }
    }

    let agent = start_agent(TestAgent::builder());
    let session = agent.session().unwrap();
    let config = config(&agent.url(), &session).build_from(&HashMap::<&str, &str>::new());
    let handed_back = Arc::new(Mutex::new(Vec::new()));
    let writer = AgentWriter::new(&config, Arc::new(AgentRates::new())).unwrap();
    let tracer = Tracer::with_exporter(
        config,
        Watched {
            writer,
            handed_back: Arc::clone(&handed_back),
        },
    );
    // Borrowed strings only (the root still gets the writer's standard tags).
    drop(tracer.trace("borrowed.op"));
    assert!(tracer.flush(WAIT));
    drop(tracer.trace(String::from("owned.op")));
    assert!(tracer.flush(WAIT));
    drop(tracer.trace("last.op"));
    assert!(tracer.flush(WAIT));
    assert_eq!(
        *handed_back.lock().unwrap(),
        vec![vec![], vec!["owned.op".to_owned()]]
    );
    let traces = session.wait_for_traces(3, WAIT).unwrap();
    let mut names: Vec<&str> = traces
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["borrowed.op", "last.op", "owned.op"]);
    assert_eq!(traces[0][0]["meta"]["language"], "rust");
    assert_all_sent(&tracer, 3, 3);
}

/// The agent restarted between two traces: the second one is delivered (a stale keep-alive
/// connection is retried).
#[test]
fn delivery_resumes_after_an_agent_restart() {
    let mut agent = start_agent(TestAgent::builder());
    let session = agent.session().unwrap();
    let tracer = build(config(&agent.url(), &session));
    {
        let _s = tracer.trace("before.restart");
    }
    assert!(tracer.flush(WAIT));
    assert_eq!(
        session
            .wait_for_traces(1, WAIT)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    agent.restart().unwrap();
    session.start().unwrap();
    {
        let _s = tracer.trace("after.restart");
    }
    assert!(tracer.flush(WAIT));
    let traces = session.wait_for_traces(1, WAIT).unwrap();
    assert_eq!(traces[0][0]["name"], "after.restart");
    assert_all_sent(&tracer, 2, 2);
}

/// An agent that stalls every request: the application's exports all return at once (the loop
/// below finishes while the first request is still held); what does not fit the writer's memory
/// (the 500-span buffer, the bytes encoded under overload, the payloads waiting) is dropped and
/// counted; the agent receives exactly what the stats say was sent. How much fits depends on how
/// fast the writer drains meanwhile, so the test does not insist on drops: it checks that
/// every trace is accounted for, sent or dropped, and only as `queue_full`.
#[test]
fn a_stalled_agent_does_not_block_the_application() {
    let agent = start_agent(TestAgent::builder().trace_request_delay(Duration::from_secs(1)));
    let session = agent.session().unwrap();
    let tracer = build(
        config(&agent.url(), &session)
            .agent_timeout(Duration::from_secs(10))
            .max_buffered_spans(500),
    );
    for i in 0..20_000 {
        let _s = tracer.trace(if i % 2 == 0 { "even" } else { "odd" });
    }
    let during = tracer.stats();
    assert_eq!(during.traces_received, 20_000);
    assert_eq!(
        during.traces_dropped.total(),
        during.traces_dropped.queue_full,
        "{during:?}"
    );
    assert!(tracer.shutdown(Duration::from_secs(60)));
    let s = tracer.stats();
    assert_eq!(s.traces_sent + s.traces_dropped.queue_full, 20_000, "{s:?}");
    assert_eq!(
        s.traces_dropped.total(),
        s.traces_dropped.queue_full,
        "{s:?}"
    );
    let traces = session
        .wait_for_traces(s.traces_sent as usize, WAIT)
        .unwrap();
    assert_eq!(traces.as_array().unwrap().len() as u64, s.traces_sent);
}

/// No agent at all: the application is unaffected, memory stays bounded (the 1000-span buffer
/// overflows into counted drops), and every trace is accounted for exactly.
#[test]
fn an_absent_agent_costs_nothing_but_counted_drops() {
    // A socket path nothing listens on: unlike a closed TCP port, no test running meanwhile
    // can start an agent there.
    let tracer = build(
        Config::builder()
            .agent_url("unix:///nonexistent/ddtrace-absent-agent.sock")
            .max_buffered_spans(1000)
            .shutdown_timeout(Duration::from_millis(200)),
    );
    for _ in 0..10_000 {
        let _root = tracer.trace("root");
        for _ in 0..4 {
            let _c = tracer.trace("child");
        }
    }
    assert!(
        !tracer.shutdown(Duration::from_secs(5)),
        "nothing was delivered"
    );
    let s = tracer.stats();
    assert_eq!((s.traces_received, s.spans_received), (10_000, 50_000));
    assert_eq!((s.traces_sent, s.spans_sent, s.payloads_sent), (0, 0, 0));
    assert_eq!(s.traces_dropped.total(), 10_000, "{s:?}");
    assert_eq!(s.spans_dropped.total(), 50_000, "{s:?}");
    assert!(s.traces_dropped.queue_full > 0, "{s:?}");
    assert_eq!(
        s.traces_dropped.rejected + s.traces_dropped.too_large,
        0,
        "{s:?}"
    );
}

/// The rates the agent answers with (`rate_by_service`) decide the traces started after them:
/// the rate for the root's service and env, recorded as `_dd.agent_psr` with decision maker
/// `-1`; a service the agent gave no rate for keeps the default decision.
#[test]
fn the_agents_rates_decide_later_traces() {
    let agent = start_agent(TestAgent::builder());
    let session = agent
        .session_with_sample_rates(&serde_json::json!({
            "service:keep-svc,env:writer-test": 1.0,
            "service:drop-svc,env:writer-test": 0.0,
        }))
        .unwrap();
    let tracer = build(config(&agent.url(), &session));
    // Decided before the agent has answered: the default keep.
    drop(tracer.span("before").service("drop-svc").enter());
    assert!(tracer.flush(WAIT));
    drop(tracer.span("kept").service("keep-svc").enter());
    drop(tracer.span("dropped").service("drop-svc").enter());
    drop(tracer.trace("unrated"));
    // With start options the decision is made once the root has them (the same decision),
    // and a manual keep among them is not overridden.
    drop(
        tracer
            .span("dropped.with.options")
            .service("drop-svc")
            .resource("GET /x")
            .enter(),
    );
    drop(
        tracer
            .span("kept.by.hand")
            .service("drop-svc")
            .tag("manual.keep", true)
            .enter(),
    );
    assert!(tracer.flush(WAIT));
    let traces = session.wait_for_traces(6, WAIT).unwrap();
    let root = |name: &str| {
        traces
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t.as_array().unwrap())
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no span {name} in {traces}"))
            .clone()
    };
    let decision = |name: &str| {
        let s = root(name);
        (
            s["metrics"]["_sampling_priority_v1"].as_f64(),
            s["meta"]["_dd.p.dm"].as_str().map(str::to_owned),
            s["metrics"].get("_dd.agent_psr").and_then(Value::as_f64),
        )
    };
    assert_eq!(decision("before"), (Some(1.0), Some("-0".into()), None));
    assert_eq!(decision("kept"), (Some(1.0), Some("-1".into()), Some(1.0)));
    assert_eq!(
        decision("dropped"),
        (Some(0.0), Some("-1".into()), Some(0.0))
    );
    assert_eq!(decision("unrated"), (Some(1.0), Some("-0".into()), None));
    assert_eq!(
        decision("dropped.with.options"),
        (Some(0.0), Some("-1".into()), Some(0.0))
    );
    assert_eq!(
        decision("kept.by.hand"),
        (Some(2.0), Some("-4".into()), None)
    );
    assert_all_sent(&tracer, 6, 6);
}

/// Single-span sampling: in a trace the rules drop, the spans a span rule matches are marked
/// for the agent to keep; a kept trace's spans are not marked.
#[test]
fn spans_of_dropped_traces_kept_by_span_rules_arrive_marked() {
    let agent = start_agent(TestAgent::builder());
    let session = agent.session().unwrap();
    let tracer = build(
        config(&agent.url(), &session)
            .sampling_rules_json(r#"[{"name":"dropped.*","sample_rate":0}]"#)
            .span_sampling_rules_json(r#"[{"name":"db.*","max_per_second":50}]"#),
    );
    let dropped = {
        let _root = tracer.trace("dropped.request");
        let db = tracer.trace("db.query");
        drop(tracer.trace("cache.get"));
        db.span_id()
    };
    {
        let _root = tracer.trace("kept.request");
        drop(tracer.trace("db.query"));
    }
    assert!(tracer.flush(WAIT));
    let traces = session.wait_for_traces(2, WAIT).unwrap();
    let marks = |s: &Value| {
        [
            "_dd.span_sampling.mechanism",
            "_dd.span_sampling.rule_rate",
            "_dd.span_sampling.max_per_second",
        ]
        .map(|k| s["metrics"].get(k).and_then(Value::as_f64))
    };
    let mut seen = 0;
    for trace in traces.as_array().unwrap() {
        let trace = trace.as_array().unwrap();
        let root = trace
            .iter()
            .find(|s| s["parent_id"].as_u64().unwrap_or(0) == 0)
            .unwrap();
        let dropped_trace = root["name"] == "dropped.request";
        assert_eq!(
            root["metrics"]["_sampling_priority_v1"].as_f64(),
            Some(if dropped_trace { -1.0 } else { 1.0 }),
            "{root}"
        );
        for span in trace {
            seen += 1;
            let expected = if dropped_trace && span["name"] == "db.query" {
                assert_eq!(span["span_id"], dropped);
                [Some(8.0), Some(1.0), Some(50.0)]
            } else {
                [None, None, None]
            };
            assert_eq!(marks(span), expected, "{span}");
        }
    }
    assert_eq!(seen, 5);
}

/// The agent's /info says it takes span events: they go in the native `span_events` field
/// (not meta `events`), typed; an array whose values differ in type, which the agent refuses,
/// goes as its JSON text.
#[test]
fn span_events_are_native_and_typed() {
    use ddtrace_core::AttributeValue as A;
    let agent = start_agent(TestAgent::builder());
    let session = agent.session().unwrap();
    let tracer = build(config(&agent.url(), &session));
    let span_id = {
        let root = tracer.trace("with.events");
        root.add_event(
            "exception",
            [
                ("message", A::String("boom".into())),
                ("count", A::Int(3)),
                ("codes", A::Array(vec![A::Int(4), A::Int(5)])),
                ("mixed", A::Array(vec![A::Int(1), A::String("y".into())])),
            ],
        );
        root.span_id()
    };
    assert!(tracer.flush(WAIT));
    let traces = session.wait_for_traces(1, WAIT).unwrap();
    assert_eq!(session.trace_check_failures().unwrap(), None);
    let span = &traces[0][0];
    assert_eq!(span["span_id"], span_id);
    assert!(span["meta"].get("events").is_none(), "{span}");
    let events = span["span_events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{span}");
    assert_eq!(events[0]["name"], "exception");
    let attributes = &events[0]["attributes"];
    assert_eq!(
        attributes["message"],
        serde_json::json!({"type": 0, "string_value": "boom"})
    );
    assert_eq!(
        attributes["count"],
        serde_json::json!({"type": 2, "int_value": 3})
    );
    assert_eq!(
        attributes["codes"],
        serde_json::json!({"type": 4, "array_value": {"values": [
            {"type": 2, "int_value": 4},
            {"type": 2, "int_value": 5},
        ]}})
    );
    assert_eq!(
        attributes["mixed"],
        serde_json::json!({"type": 0, "string_value": "[1,\"y\"]"})
    );
    assert_all_sent(&tracer, 1, 1);
}
