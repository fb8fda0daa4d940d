//! The agent writer against an in-process fake agent that injects the faults the real test
//! agent cannot: connection resets, 5xx, 413 with a reason, 404 on `/v0.5/traces`, answers
//! slower than the request timeout, a server that stalls, an agent that appears late.
//! Everything that a real agent can do is tested against ddapm-test-agent in `tests/tests/`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ddtrace_core::encode::ApiVersion;
use ddtrace_core::{AgentRates, AgentWriter, Config, ConfigBuilder, DropCounts, Tracer};

// ---------------------------------------------------------------- the fake agent

/// What the fake agent does with one trace request.
#[derive(Clone, Debug)]
enum Reply {
    /// Close the connection without answering.
    Reset,
    /// Answer with this status and body (text/plain), and optional `Datadog-Agent-State`.
    Status(u16, &'static str),
    /// 200 with this JSON body.
    Json(String),
    /// 200 with this body and `Datadog-Agent-State: state`.
    State(&'static str),
    /// Answer 200 after this long.
    Slow(Duration),
    /// Hold the request until the test releases the server.
    Hold,
}

#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    requests: Vec<Request>,
    released: bool,
    info: String,
}

struct FakeAgent {
    addr: SocketAddr,
    state: Arc<(Mutex<State>, std::sync::Condvar)>,
}

const INFO_V04: &str = r#"{"endpoints":["/v0.4/traces"],"span_events":false,"config":{}}"#;
const INFO_V05: &str = r#"{"endpoints":["/v0.4/traces","/v0.5/traces"],"config":{}}"#;

impl FakeAgent {
    fn start(info: &str, script: Vec<Reply>) -> FakeAgent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        FakeAgent::serve(listener, info, script)
    }

    fn serve(listener: TcpListener, info: &str, script: Vec<Reply>) -> FakeAgent {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new((
            Mutex::new(State {
                script: script.into(),
                info: info.to_owned(),
                ..State::default()
            }),
            std::sync::Condvar::new(),
        ));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || handle(stream, &shared));
            }
        });
        FakeAgent { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.state.0.lock().unwrap().requests.clone()
    }

    fn trace_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/traces"))
            .collect()
    }

    /// The paths of the trace requests, in order.
    fn trace_paths(&self) -> Vec<String> {
        self.trace_requests().into_iter().map(|r| r.path).collect()
    }

    fn release(&self) {
        self.state.0.lock().unwrap().released = true;
        self.state.1.notify_all();
    }

    /// Waits until `n` requests matching `path` arrived (panics after 10 s).
    fn wait_for(&self, path: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let (lock, cv) = &*self.state;
        let mut st = lock.lock().unwrap();
        loop {
            if st.requests.iter().filter(|r| r.path == path).count() >= n {
                return;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "no {n} requests to {path}: {:?}",
                st.requests
            );
            st = cv.wait_timeout(st, deadline - now).unwrap().0;
        }
    }
}

fn handle(stream: TcpStream, shared: &(Mutex<State>, std::sync::Condvar)) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (lock, cv) = shared;
        let reply = {
            let mut st = lock.lock().unwrap();
            st.requests.push(Request {
                method: method.clone(),
                path: path.clone(),
                headers,
                body,
            });
            cv.notify_all();
            if path == "/info" {
                Reply::Json(st.info.clone())
            } else {
                st.script
                    .pop_front()
                    .unwrap_or(Reply::Json(r#"{"rate_by_service":{}}"#.to_owned()))
            }
        };
        let (status, body, state) = match reply {
            Reply::Reset => return, // drop the connection mid-request
            Reply::Status(status, body) => (status, body.to_owned(), None),
            Reply::Json(body) => (200, body, None),
            Reply::State(state) => (200, "{}".to_owned(), Some(state)),
            Reply::Slow(delay) => {
                std::thread::sleep(delay); // the fault itself: an agent slower than the timeout
                (200, "{}".to_owned(), None)
            }
            Reply::Hold => {
                let mut st = lock.lock().unwrap();
                while !st.released {
                    st = cv.wait(st).unwrap();
                }
                (200, "{}".to_owned(), None)
            }
        };
        let mut response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(state) = state {
            response.push_str(&format!("Datadog-Agent-State: {state}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&body);
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------- helpers

fn config(url: &str) -> ConfigBuilder {
    Config::builder()
        .service("fault-svc")
        .agent_url(url)
        // Long enough that a busy machine never turns a prompt answer into a retry (the tests
        // count retries exactly); the slow-agent test sets a short one.
        .agent_timeout(Duration::from_secs(5))
}

fn build(builder: ConfigBuilder) -> Config {
    builder.build_from(&HashMap::<&str, &str>::new())
}

fn new_tracer(builder: ConfigBuilder) -> (Tracer, Arc<AgentRates>) {
    let config = build(builder);
    let rates = Arc::new(AgentRates::new());
    let writer = AgentWriter::new(&config, Arc::clone(&rates)).unwrap();
    (Tracer::with_exporter(config, writer), rates)
}

/// A fake agent listing v0.5 that answers trace requests by `script`, and a tracer asking it
/// for v0.5 (`tune` adjusts its configuration), once the tracer has read `/info`.
fn v05_agent(
    script: Vec<Reply>,
    tune: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> (FakeAgent, Tracer) {
    let agent = FakeAgent::start(INFO_V05, script);
    let (tracer, _) = new_tracer(tune(config(&agent.url()).api_version(ApiVersion::V05)));
    agent.wait_for("/info", 1);
    (agent, tracer)
}

/// `traces` traces of `spans` spans in all were sent, and nothing was dropped.
fn assert_all_sent(tracer: &Tracer, traces: u64, spans: u64) {
    let s = tracer.stats();
    assert_eq!((s.traces_sent, s.spans_sent), (traces, spans), "{s:?}");
    assert_eq!(s.traces_dropped, DropCounts::default(), "{s:?}");
}

/// One trace of `spans` spans (a root and its children).
fn trace(tracer: &Tracer, name: &str, spans: usize) {
    let _root = tracer.trace(name.to_owned());
    for i in 1..spans {
        let _child = tracer.trace(format!("{name}.child{i}"));
    }
}

/// One trace of `spans` spans, then a flush that must succeed.
fn trace_flushed(tracer: &Tracer, name: &str, spans: usize) {
    trace(tracer, name, spans);
    assert!(tracer.flush(Duration::from_secs(10)));
}

/// (chunks, spans) in a v0.4 or v0.5 body, read with a msgpack skipper (v0.5 maps have integer
/// keys, which serde_json values cannot hold).
fn decode(path: &str, body: &[u8]) -> (usize, usize) {
    let mut r = body;
    if path == "/v0.5/traces" {
        assert_eq!(rmp::decode::read_array_len(&mut r).unwrap(), 2);
        skip(&mut r); // the string table
    }
    let chunks = rmp::decode::read_array_len(&mut r).unwrap() as usize;
    let mut spans = 0;
    for _ in 0..chunks {
        let n = rmp::decode::read_array_len(&mut r).unwrap() as usize;
        spans += n;
        for _ in 0..n {
            skip(&mut r);
        }
    }
    assert!(r.is_empty(), "trailing bytes");
    (chunks, spans)
}

/// Skips one msgpack value.
fn skip(r: &mut &[u8]) {
    use rmp::Marker as M;
    let marker = rmp::decode::read_marker(r).map_err(|_| "marker").unwrap();
    fn take(r: &mut &[u8], n: usize) {
        *r = &r[n..];
    }
    let be = |r: &[u8], n: usize| r[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
    match marker {
        M::FixPos(_) | M::FixNeg(_) | M::Null | M::True | M::False => {}
        M::U8 | M::I8 => take(r, 1),
        M::U16 | M::I16 => take(r, 2),
        M::U32 | M::I32 | M::F32 => take(r, 4),
        M::U64 | M::I64 | M::F64 => take(r, 8),
        M::FixStr(n) => take(r, n as usize),
        M::Str8 | M::Bin8 => {
            let n = be(r, 1);
            take(r, 1 + n)
        }
        M::Str16 | M::Bin16 => {
            let n = be(r, 2);
            take(r, 2 + n)
        }
        M::Str32 | M::Bin32 => {
            let n = be(r, 4);
            take(r, 4 + n)
        }
        M::FixArray(n) => (0..n).for_each(|_| skip(r)),
        M::Array16 | M::Array32 => {
            let w = if marker == M::Array16 { 2 } else { 4 };
            let n = be(r, w);
            *r = &r[w..];
            (0..n).for_each(|_| skip(r));
        }
        M::FixMap(n) => (0..2 * n).for_each(|_| skip(r)),
        M::Map16 | M::Map32 => {
            let w = if marker == M::Map16 { 2 } else { 4 };
            let n = be(r, w);
            *r = &r[w..];
            (0..2 * n).for_each(|_| skip(r));
        }
        other => panic!("unexpected msgpack marker {other:?}"),
    }
}

fn drops(f: impl FnOnce(&mut DropCounts)) -> DropCounts {
    let mut d = DropCounts::default();
    f(&mut d);
    d
}

fn assert_settled(tracer: &Tracer) {
    let s = tracer.stats();
    assert_eq!(
        s.traces_received,
        s.traces_sent + s.traces_dropped.total(),
        "{s:?}"
    );
    assert_eq!(
        s.spans_received,
        s.spans_sent + s.spans_dropped.total(),
        "{s:?}"
    );
}

fn log_lines() -> &'static Mutex<Vec<String>> {
    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LINES.get_or_init(|| {
        ddtrace_core::set_log_sink(|_, line| {
            log_lines().lock().unwrap().push(line.to_owned());
        });
        Mutex::new(Vec::new())
    })
}

// ---------------------------------------------------------------- tests

/// Resets and 5xx are retried (counted), and the payload is then delivered once.
#[test]
fn transient_failures_are_retried_then_delivered() {
    let agent = FakeAgent::start(
        INFO_V04,
        vec![
            Reply::Reset,
            Reply::Status(500, "oops"),
            Reply::Status(503, "busy"),
        ],
    );
    let (tracer, _) = new_tracer(config(&agent.url()));
    trace(&tracer, "retried", 3);
    assert!(tracer.flush(Duration::from_secs(10)));
    let s = tracer.stats();
    assert_eq!(s.retries, 3);
    assert_eq!((s.traces_sent, s.spans_sent, s.payloads_sent), (1, 3, 1));
    assert_eq!(s.traces_dropped, DropCounts::default());
    let requests = agent.trace_requests();
    assert_eq!(requests.len(), 4);
    // The same body every time.
    assert!(requests.iter().all(|r| r.body == requests[0].body));
    assert_eq!(decode("/v0.4/traces", &requests[3].body), (1, 3));
    assert_eq!(s.bytes_sent, requests[3].body.len() as u64);
}

/// An answer slower than the request timeout is a failure that is retried.
#[test]
fn a_slow_agent_times_out_and_is_retried() {
    let agent = FakeAgent::start(INFO_V04, vec![Reply::Slow(Duration::from_secs(2))]);
    let (tracer, _) = new_tracer(config(&agent.url()).agent_timeout(Duration::from_millis(300)));
    trace(&tracer, "slow", 1);
    assert!(tracer.flush(Duration::from_secs(10)));
    let s = tracer.stats();
    assert_eq!(s.retries, 1);
    assert_eq!(s.traces_sent, 1);
    assert_eq!(agent.trace_requests().len(), 2);
}

/// Drops are counted by reason, exactly: 413 (rejected, not retried, reason logged),
/// five 5xx (send_failed after 4 retries), a chunk over the payload limit (too_large), and an
/// export after shutdown.
#[test]
fn drops_are_counted_by_reason() {
    log_lines();
    let agent = FakeAgent::start(
        INFO_V04,
        vec![
            Reply::Status(413, "payload of 9 bytes is too big (writer_faults)"),
            Reply::Status(500, "e1"),
            Reply::Status(502, "e2"),
            Reply::Status(503, "e3"),
            Reply::Status(504, "e4"),
            Reply::Status(500, "e5"),
        ],
    );
    let (tracer, _) = new_tracer(config(&agent.url()).max_payload_bytes(2048));
    // Every flush and the shutdown answer false: each had a trace of its own dropped.
    trace(&tracer, "rejected", 2);
    assert!(!tracer.flush(Duration::from_secs(10)));
    assert_eq!(agent.trace_requests().len(), 1, "413 is not retried");
    assert_eq!(tracer.stats().retries, 0);
    trace(&tracer, "failed", 3);
    assert!(!tracer.flush(Duration::from_secs(10)));
    assert_eq!(agent.trace_requests().len(), 6);
    assert_eq!(tracer.stats().retries, 4);
    trace(&tracer, "huge", 40); // 40 spans do not fit in 2 KiB
    trace(&tracer, "fine", 1);
    assert!(!tracer.shutdown(Duration::from_secs(10)));
    trace(&tracer, "late", 4);

    let s = tracer.stats();
    assert_eq!((s.traces_received, s.spans_received), (5, 50));
    assert_eq!((s.traces_sent, s.spans_sent, s.payloads_sent), (1, 1, 1));
    assert_eq!(
        s.traces_dropped,
        drops(|d| {
            d.rejected = 1;
            d.send_failed = 1;
            d.too_large = 1;
            d.shutdown = 1;
        })
    );
    assert_eq!(
        s.spans_dropped,
        drops(|d| {
            d.rejected = 2;
            d.send_failed = 3;
            d.too_large = 40;
            d.shutdown = 4;
        })
    );
    assert_eq!(s.retries, 4);
    assert_settled(&tracer);
    let lines = log_lines().lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("413")
                && l.contains("payload of 9 bytes is too big (writer_faults)")),
        "{lines:?}"
    );
}

/// v0.5 is used when asked for and listed; a 404 switches to v0.4 for good and the refused
/// batch is re-sent in v0.4, nothing lost.
#[test]
fn v05_falls_back_to_v04_and_resends() {
    let (agent, tracer) = v05_agent(vec![Reply::Status(404, "not found")], |c| c);
    trace(&tracer, "first", 2);
    trace_flushed(&tracer, "second", 1);
    trace_flushed(&tracer, "third", 1);
    let paths = agent.trace_paths();
    assert_eq!(paths, ["/v0.5/traces", "/v0.4/traces", "/v0.4/traces"]);
    let requests = agent.trace_requests();
    assert_eq!(decode("/v0.5/traces", &requests[0].body), (2, 3));
    assert_eq!(decode("/v0.4/traces", &requests[1].body), (2, 3));
    assert_eq!(requests[1].headers["x-datadog-trace-count"], "2");
    assert_eq!(decode("/v0.4/traces", &requests[2].body), (1, 1));
    assert_all_sent(&tracer, 3, 4);
}

/// v0.5 accepted: it stays v0.5.
#[test]
fn v05_is_used_when_the_agent_lists_it() {
    let (agent, tracer) = v05_agent(vec![], |c| c);
    trace_flushed(&tracer, "a", 2);
    trace_flushed(&tracer, "b", 1);
    let requests = agent.trace_requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|r| r.path == "/v0.5/traces" && r.method == "PUT")
    );
    assert_eq!(decode("/v0.5/traces", &requests[0].body), (1, 2));
    // Without /v0.5/traces in /info, v0.5 is never tried.
    let agent = FakeAgent::start(INFO_V04, vec![]);
    let (tracer, _) = new_tracer(config(&agent.url()).api_version(ApiVersion::V05));
    agent.wait_for("/info", 1);
    trace(&tracer, "c", 1);
    assert!(tracer.flush(Duration::from_secs(10)));
    assert_eq!(agent.trace_requests()[0].path, "/v0.4/traces");
}

/// Until the agent has accepted a v0.5 payload, only that first payload (the probe) keeps its
/// spans for a v0.4 resend; what comes while it is out is encoded in v0.4, and v0.5 is used
/// once the probe is accepted.
#[test]
fn while_the_first_v05_payload_is_out_the_others_go_in_v04() {
    let (agent, tracer) = v05_agent(vec![Reply::Hold], |c| {
        c.agent_timeout(Duration::from_secs(30))
    });
    trace(&tracer, "probe", 2);
    // The probe is sealed and held by the agent: the flush cannot complete.
    assert!(!tracer.flush(Duration::from_millis(200)));
    agent.wait_for("/v0.5/traces", 1);
    trace(&tracer, "meanwhile", 3);
    assert!(!tracer.flush(Duration::from_millis(200)));
    agent.release();
    assert!(tracer.flush(Duration::from_secs(10)));
    trace_flushed(&tracer, "after", 1);
    let requests = agent.trace_requests();
    let seen: Vec<(&str, (usize, usize))> = requests
        .iter()
        .map(|r| (r.path.as_str(), decode(&r.path, &r.body)))
        .collect();
    assert_eq!(
        seen,
        [
            ("/v0.5/traces", (1, 2)),
            ("/v0.4/traces", (1, 3)),
            ("/v0.5/traces", (1, 1))
        ]
    );
    assert_all_sent(&tracer, 3, 6);
}

/// A probe is sealed once it holds 256 KB, so a burst before the agent's first answer keeps
/// few spans; everything is still delivered, the rest in v0.4 until the probe is accepted.
#[test]
fn a_v05_probe_is_sealed_by_size_and_the_rest_follows() {
    let (agent, tracer) = v05_agent(vec![], |c| c.flush_interval(Duration::from_secs(60)));
    // About 6.7 KB encoded a trace: past 256 KB after some 40 of them.
    for i in 0..80 {
        trace(&tracer, &format!("burst{i}"), 100);
    }
    assert!(tracer.flush(Duration::from_secs(10)));
    let requests = agent.trace_requests();
    assert_eq!(requests[0].path, "/v0.5/traces", "the probe");
    let (probe_traces, _) = decode(&requests[0].path, &requests[0].body);
    assert!(
        (10..70).contains(&probe_traces),
        "{probe_traces} traces in the probe"
    );
    assert!(
        requests.iter().any(|r| r.path == "/v0.4/traces"),
        "what came while the probe was out went in v0.4"
    );
    let traces: usize = requests.iter().map(|r| decode(&r.path, &r.body).0).sum();
    assert_eq!(traces, 80);
    assert_all_sent(&tracer, 80, 8000);
}

/// A probe that is not answered (dropped after its retries) does not leave the writer on v0.4:
/// the next payload probes again.
#[test]
fn a_v05_probe_that_fails_is_followed_by_another() {
    let (agent, tracer) = v05_agent(
        vec![Reply::Status(400, "bad"), Reply::Status(400, "bad")],
        |c| c,
    );
    // A flush answers whether its traces were delivered: the refused ones were not.
    trace(&tracer, "refused", 1);
    assert!(!tracer.flush(Duration::from_secs(10)));
    trace(&tracer, "again", 2);
    assert!(!tracer.flush(Duration::from_secs(10)));
    trace_flushed(&tracer, "kept", 1);
    let paths = agent.trace_paths();
    assert_eq!(paths, ["/v0.5/traces", "/v0.5/traces", "/v0.5/traces"]);
    let s = tracer.stats();
    assert_eq!((s.traces_sent, s.spans_sent), (1, 1));
    assert_eq!(s.traces_dropped.rejected, 2);
}

/// `rate_by_service` from responses feeds the agent rates.
#[test]
fn response_rates_are_fed_to_the_sampler() {
    let agent = FakeAgent::start(
        INFO_V04,
        vec![Reply::Json(
            r#"{"rate_by_service":{"service:fault-svc,env:":0.25,"service:,env:":0.75}}"#
                .to_owned(),
        )],
    );
    let (tracer, rates) = new_tracer(config(&agent.url()));
    assert_eq!(rates.rate_for("fault-svc", ""), None);
    trace(&tracer, "x", 1);
    assert!(tracer.flush(Duration::from_secs(10)));
    assert_eq!(rates.rate_for("fault-svc", ""), Some(0.25));
    assert_eq!(rates.rate_for("other", ""), Some(0.75));
    // `{}` means no change.
    trace(&tracer, "y", 1);
    assert!(tracer.flush(Duration::from_secs(10)));
    assert_eq!(rates.rate_for("fault-svc", ""), Some(0.25));
}

/// A changed `Datadog-Agent-State` makes the writer read `/info` again.
#[test]
fn agent_state_change_rereads_info() {
    let agent = FakeAgent::start(
        INFO_V04,
        vec![Reply::State("s1"), Reply::State("s1"), Reply::State("s2")],
    );
    let (tracer, _) = new_tracer(config(&agent.url()));
    agent.wait_for("/info", 1);
    for name in ["a", "b"] {
        trace(&tracer, name, 1);
        assert!(tracer.flush(Duration::from_secs(10)));
    }
    assert_eq!(
        agent
            .requests()
            .iter()
            .filter(|r| r.path == "/info")
            .count(),
        1
    );
    trace(&tracer, "c", 1);
    assert!(tracer.flush(Duration::from_secs(10)));
    agent.wait_for("/info", 2);
}

/// A stalled agent never blocks the application: exports return while the server holds the
/// request; what does not fit is dropped and counted; once released, everything buffered is
/// delivered (in exactly as many traces as were not dropped) and the books balance exactly.
#[test]
fn a_stalled_agent_never_blocks_export() {
    let agent = FakeAgent::start(INFO_V04, vec![Reply::Hold]);
    let (tracer, _) = new_tracer(
        config(&agent.url())
            .agent_timeout(Duration::from_secs(30))
            .max_buffered_spans(100),
    );
    trace(&tracer, "held", 1);
    // The agent holds the request: the flush cannot have been answered yet.
    assert!(!tracer.flush(Duration::from_millis(1)));
    agent.wait_for("/v0.4/traces", 1); // the first payload is now stuck in the server
    // About 22 MB of traces: more than the writer's own queue of encoded payloads (16 MB) and
    // the 100-span cap together, so some must be dropped.
    let blob = "x".repeat(1_000);
    for i in 0..20_000 {
        let root = tracer.trace(if i % 2 == 0 { "even" } else { "odd" });
        root.set_tag("blob", blob.clone());
    }
    // Still stalled: we got here, so no export waited for the server.
    assert_eq!(agent.trace_requests().len(), 1);
    let s = tracer.stats();
    assert_eq!(s.traces_received, 20_001);
    // How many were dropped depends on how fast the writer moved them into its queue
    // meanwhile; some were, and none was lost unaccounted.
    assert!(s.traces_dropped.queue_full > 0, "{s:?}");
    assert_eq!(
        s.traces_dropped.total(),
        s.traces_dropped.queue_full,
        "{s:?}"
    );
    agent.release();
    assert!(tracer.shutdown(Duration::from_secs(20)));
    let s = tracer.stats();
    assert_eq!(s.traces_sent + s.traces_dropped.queue_full, 20_001, "{s:?}");
    assert_eq!(s.traces_dropped.total(), s.traces_dropped.queue_full);
    assert_settled(&tracer);
}

/// The agent down at start and up later: /info is read once it answers, delivery resumes.
#[test]
fn delivery_resumes_when_the_agent_comes_up() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener); // nothing listens here now
    let (tracer, _) = new_tracer(config(&format!("http://{addr}")));
    trace(&tracer, "lost", 2);
    assert!(
        !tracer.flush(Duration::from_secs(10)),
        "the trace was dropped"
    );
    let s = tracer.stats();
    assert_eq!(s.traces_dropped.send_failed, 1);
    assert_eq!(s.retries, 4);
    let Ok(listener) = TcpListener::bind(addr) else {
        panic!("port {addr} was taken meanwhile");
    };
    let agent = FakeAgent::serve(listener, INFO_V04, vec![]);
    trace(&tracer, "delivered", 1);
    assert!(tracer.flush(Duration::from_secs(10)));
    assert_eq!(tracer.stats().traces_sent, 1);
    agent.wait_for("/info", 1); // read again once the agent answered
    assert_settled(&tracer);
}

/// Dropping a writer inside a tokio runtime (current-thread or multi-thread) does not panic and
/// delivers what it buffered.
#[test]
fn dropping_inside_a_runtime_is_fine() {
    let agent = FakeAgent::start(INFO_V04, vec![]);
    let url = agent.url();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let (tracer, _) = new_tracer(config(&url));
            trace(&tracer, "in-current-thread-runtime", 1);
        });
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let (tracer, _) = new_tracer(config(&url));
            trace(&tracer, "in-multi-thread-runtime", 1);
            tokio::task::yield_now().await;
        });
    let names: Vec<usize> = agent
        .trace_requests()
        .iter()
        .map(|r| decode(&r.path, &r.body).1)
        .collect();
    assert_eq!(names, [1, 1]);
}

/// `Duration::MAX` as a timeout means "as long as it takes": in `shutdown`, in the
/// configured shutdown timeout a dropped tracer waits for, and in `flush`.
#[test]
fn a_timeout_without_limit_waits_and_never_panics() {
    let agent = FakeAgent::start(INFO_V04, vec![Reply::Status(503, "busy")]);
    let (tracer, _) = new_tracer(config(&agent.url()).shutdown_timeout(Duration::MAX));
    trace(&tracer, "unbounded.flush", 1);
    assert!(tracer.flush(Duration::MAX));
    trace(&tracer, "unbounded.shutdown", 2);
    assert!(tracer.shutdown(Duration::MAX));
    assert_all_sent(&tracer, 2, 3);
    // Dropped with the configured unlimited timeout: delivered as well.
    let (dropped, _) = new_tracer(config(&agent.url()).shutdown_timeout(Duration::MAX));
    trace(&dropped, "unbounded.drop", 1);
    drop(dropped);
    let spans: Vec<usize> = agent
        .trace_requests()
        .iter()
        .map(|r| decode(&r.path, &r.body).1)
        .collect();
    assert_eq!(spans, [1, 1, 2, 1], "the 503 retried, then each payload");
}

/// The request headers (protocol §1).
#[test]
fn requests_carry_the_protocol_headers() {
    let agent = FakeAgent::start(INFO_V04, vec![]);
    let (tracer, _) = new_tracer(config(&agent.url()).test_session_token("fault-token"));
    trace(&tracer, "h", 2);
    trace(&tracer, "i", 1);
    assert!(tracer.flush(Duration::from_secs(10)));
    let r = &agent.trace_requests()[0];
    assert_eq!(r.method, "PUT");
    let h = &r.headers;
    assert_eq!(h["content-type"], "application/msgpack");
    assert_eq!(h["content-length"], r.body.len().to_string());
    assert!(!h.contains_key("transfer-encoding"));
    assert_eq!(h["x-datadog-trace-count"], "2");
    assert_eq!(h["datadog-meta-lang"], "rust");
    assert!(h["datadog-meta-lang-version"].starts_with("1."), "{h:?}");
    assert_eq!(h["datadog-meta-tracer-version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(h["datadog-client-computed-top-level"], "yes");
    assert_eq!(h["datadog-send-real-http-status"], "true");
    assert_eq!(h["x-datadog-test-session-token"], "fault-token");
}

/// A flush waits for its own traces, not for a count: a later trace dropped at once (too
/// large) while the flush's trace is still in flight does not end the wait early.
#[test]
fn a_flush_is_not_ended_by_a_later_trace_dropped_first() {
    let agent = FakeAgent::start(INFO_V04, vec![Reply::Hold]);
    let (tracer, _) = new_tracer(
        config(&agent.url())
            .agent_timeout(Duration::from_secs(30))
            .max_payload_bytes(2048),
    );
    trace(&tracer, "held", 1);
    agent.wait_for("/v0.4/traces", 1); // in flight, held by the server
    let flushing = {
        let tracer = tracer.clone();
        std::thread::spawn(move || {
            let delivered = tracer.flush(Duration::from_secs(30));
            (delivered, tracer.stats().traces_sent)
        })
    };
    // Most likely after the flush request is taken in (then the huge trace is not the
    // flush's own); in either order, the flush must not answer before its trace is delivered.
    std::thread::sleep(Duration::from_millis(100));
    trace(&tracer, "huge", 40); // 40 spans do not fit in 2 KiB: dropped when taken
    let deadline = Instant::now() + Duration::from_secs(10);
    while tracer.stats().traces_dropped.too_large == 0 {
        assert!(Instant::now() < deadline, "{:?}", tracer.stats());
        std::thread::sleep(Duration::from_millis(5));
    }
    agent.release();
    // The huge trace may have been pending when the flush arrived (then it is the flush's own,
    // and dropped): either answer is right, but only once the held trace was delivered.
    let (_, sent_when_answered) = flushing.join().unwrap();
    assert_eq!(
        sent_when_answered, 1,
        "answered only once its trace was delivered"
    );
}

/// An agent that takes traces but cannot answer `/info` is asked again after a growing wait,
/// not after every payload.
#[test]
fn a_failing_info_is_not_asked_again_after_every_payload() {
    let started = Instant::now();
    let agent = FakeAgent::start("not json", vec![]);
    let (tracer, _) = new_tracer(config(&agent.url()));
    agent.wait_for("/info", 1);
    for i in 0..10 {
        trace_flushed(&tracer, &format!("t{i}"), 1);
    }
    assert_all_sent(&tracer, 10, 10);
    let info = agent
        .requests()
        .iter()
        .filter(|r| r.path == "/info")
        .count();
    // The first, then at most one per backoff step (after 1 s, 3 s, 7 s, ...) in the time the
    // test took, however slow the machine.
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = 2 + (elapsed + 1.0).log2().floor() as usize;
    assert!(
        info <= allowed,
        "{info} /info requests for 10 payloads in {elapsed:.1} s"
    );
}

/// The spans of a v0.5 body as the v0.4 maps the same spans are encoded as (fields that are
/// zero or empty left out, as the v0.4 encoder does), to compare a v0.4 resend with.
fn v05_as_v04(body: &[u8]) -> Vec<Vec<serde_json::Value>> {
    use rmp::decode::{read_array_len, read_f64, read_int, read_map_len, read_str_from_slice};
    use serde_json::{Map, Value, json};
    let mut r = body;
    assert_eq!(read_array_len(&mut r).unwrap(), 2);
    let mut strings = Vec::new();
    for _ in 0..read_array_len(&mut r).unwrap() {
        let (s, rest) = read_str_from_slice(r).unwrap();
        strings.push(s.to_owned());
        r = rest;
    }
    let string = |r: &mut &[u8]| strings[read_int::<usize, _>(r).unwrap()].clone();
    let mut chunks = Vec::new();
    for _ in 0..read_array_len(&mut r).unwrap() {
        let mut chunk = Vec::new();
        for _ in 0..read_array_len(&mut r).unwrap() {
            assert_eq!(read_array_len(&mut r).unwrap(), 12);
            let mut span = Map::new();
            span.insert("service".into(), json!(string(&mut r)));
            span.insert("name".into(), json!(string(&mut r)));
            span.insert("resource".into(), json!(string(&mut r)));
            span.insert(
                "trace_id".into(),
                json!(read_int::<u64, _>(&mut r).unwrap()),
            );
            span.insert("span_id".into(), json!(read_int::<u64, _>(&mut r).unwrap()));
            let parent = read_int::<u64, _>(&mut r).unwrap();
            if parent != 0 {
                span.insert("parent_id".into(), json!(parent));
            }
            span.insert("start".into(), json!(read_int::<i64, _>(&mut r).unwrap()));
            span.insert(
                "duration".into(),
                json!(read_int::<i64, _>(&mut r).unwrap()),
            );
            if read_int::<u8, _>(&mut r).unwrap() != 0 {
                span.insert("error".into(), json!(1));
            }
            let mut meta = Map::new();
            for _ in 0..read_map_len(&mut r).unwrap() {
                let (k, v) = (string(&mut r), string(&mut r));
                meta.insert(k, json!(v));
            }
            let mut metrics = Map::new();
            for _ in 0..read_map_len(&mut r).unwrap() {
                let k = string(&mut r);
                metrics.insert(k, json!(read_f64(&mut r).unwrap()));
            }
            let span_type = string(&mut r);
            if !span_type.is_empty() {
                span.insert("type".into(), json!(span_type));
            }
            if !meta.is_empty() {
                span.insert("meta".into(), Value::Object(meta));
            }
            if !metrics.is_empty() {
                span.insert("metrics".into(), Value::Object(metrics));
            }
            chunk.push(Value::Object(span));
        }
        chunks.push(chunk);
    }
    assert!(r.is_empty(), "trailing bytes");
    chunks
}

fn v04_chunks(body: &[u8]) -> Vec<Vec<serde_json::Value>> {
    rmp_serde::from_slice(body).unwrap()
}

/// An agent that took v0.5 and then loses its v0.5 endpoint (replaced by an older one): what
/// was already encoded in v0.5 (its spans no longer kept) is read back from its bytes and sent
/// in v0.4, exactly the same spans; v0.4 from then on.
#[test]
fn a_v05_endpoint_gone_after_use_gets_the_v05_payloads_again_in_v04() {
    let (agent, tracer) = v05_agent(
        vec![
            Reply::Json("{}".to_owned()),
            Reply::Status(404, "not found"),
        ],
        |c| {
            c.global_tag("team", "faults")
                .env("prod")
                .flush_interval(Duration::from_secs(60))
        },
    );
    trace_flushed(&tracer, "confirms", 1);
    {
        let root = tracer.trace("gone.root");
        root.set_tag("http.status_code", 503);
        root.set_error_flag(true);
        let _child = tracer.span("gone.child").resource("SELECT 1").enter();
    }
    trace(&tracer, "gone.other", 3);
    assert!(tracer.flush(Duration::from_secs(10)));
    trace_flushed(&tracer, "after", 1);
    let requests = agent.trace_requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v0.5/traces",
            "/v0.5/traces",
            "/v0.4/traces",
            "/v0.4/traces"
        ]
    );
    let refused = v05_as_v04(&requests[1].body);
    let resent = v04_chunks(&requests[2].body);
    assert_eq!(resent, refused);
    assert_eq!(resent.iter().map(Vec::len).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(resent[0][0]["meta"]["team"], "faults");
    assert_eq!(resent[0][0]["metrics"]["http.status_code"], 503.0);
    assert_eq!(resent[0][0]["error"], 1);
    assert_eq!(requests[2].headers["x-datadog-trace-count"], "2");
    assert_all_sent(&tracer, 4, 7);
}

/// A payload of several traces refused as too large (413) although under the limit: it is
/// split and sent again, halving until the agent takes the parts, and later payloads are
/// sealed at the smaller size; nothing is lost.
#[test]
fn a_payload_refused_as_too_large_is_split_and_sent_again() {
    let agent = FakeAgent::start(
        INFO_V04,
        vec![
            Reply::Status(413, "too large for the proxy"),
            Reply::Status(413, "too large for the proxy"),
        ],
    );
    let (tracer, _) = new_tracer(config(&agent.url()).flush_interval(Duration::from_secs(60)));
    agent.wait_for("/info", 1);
    for i in 0..8 {
        trace(&tracer, &format!("big{i}"), 4);
    }
    assert!(tracer.flush(Duration::from_secs(10)));
    let requests = agent.trace_requests();
    let chunks = |r: &Request| decode("/v0.4/traces", &r.body).0;
    // All 8 refused, then a part of them refused (about half), then the rest in parts no
    // larger than half of that part: the sizes of spans vary by a few bytes (their times), so
    // where a payload is cut does too.
    let (whole, part) = (requests[0].body.len(), requests[1].body.len());
    assert_eq!(chunks(&requests[0]), 8);
    assert!(
        (3..=5).contains(&chunks(&requests[1])),
        "{}",
        chunks(&requests[1])
    );
    assert!(part <= whole / 2 + 8, "{part} > {whole} / 2");
    let accepted = &requests[2..];
    assert!(accepted.len() >= 3, "{}", accepted.len());
    assert!(accepted.iter().all(|r| r.body.len() <= part / 2 + 8));
    // The same spans, once each, in order.
    let sent: Vec<serde_json::Value> = accepted
        .iter()
        .flat_map(|r| v04_chunks(&r.body))
        .flatten()
        .collect();
    let refused: Vec<serde_json::Value> = v04_chunks(&requests[0].body)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(sent, refused);
    assert_all_sent(&tracer, 8, 32);
    // Later payloads are sealed at that size: no more refusals.
    for i in 0..8 {
        trace(&tracer, &format!("bag{i}"), 4);
    }
    assert!(tracer.flush(Duration::from_secs(10)));
    let later = agent.trace_requests().split_off(requests.len());
    assert!(later.len() >= 3, "{}", later.len());
    assert!(later.iter().all(|r| r.body.len() <= part / 2 + 8));
    assert_eq!(later.iter().map(chunks).sum::<usize>(), 8);
    assert_all_sent(&tracer, 16, 64);
}
