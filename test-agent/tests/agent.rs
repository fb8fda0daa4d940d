//! Integration tests against the real, pinned `ddapm-test-agent` (installed on first use).

use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use ddtrace_test_agent::{
    Error, InstallOutcome, PinnedVenv, SESSION_TOKEN_HEADER, TestAgent, http_get, http_request,
    render_trace_tree,
};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// `[[{one span}]]` in msgpack, written byte by byte: a fixarray of one fixarray of one fixmap
/// with str keys.
fn one_span_payload() -> Vec<u8> {
    let parts: &[&[u8]] = &[
        &[0x91],                                                 // fixarray(1): the traces
        &[0x91],                                                 // fixarray(1): one trace chunk
        &[0x8b],                                                 // fixmap(11): one span
        b"\xa8trace_id",                                         // fixstr(8)
        &[0xcf, 0xab, 0x54, 0xa9, 0x8c, 0xeb, 0x1f, 0x0a, 0xd2], // uint64 12345678901234567890
        b"\xa7span_id",
        &[0xcd, 0x30, 0x39], // uint16 12345
        b"\xa9parent_id",
        &[0x00], // positive fixint 0
        b"\xa4name",
        b"\xachttp.request",
        b"\xa7service",
        b"\xa8test-svc",
        b"\xa8resource",
        b"\xa6GET /x",
        b"\xa5start",
        &[0xd3, 0x17, 0x97, 0x9c, 0xfe, 0x36, 0x2a, 0x00, 0x00], // int64 1.7e18 ns
        b"\xa8duration",
        &[0xce, 0x00, 0x16, 0xe3, 0x60], // uint32 1_500_000 ns
        b"\xa5error",
        &[0x00],
        b"\xa4meta",
        &[0x81], // fixmap(1)
        b"\xa9component",
        b"\xa4test",
        b"\xa7metrics",
        &[0x81],
        b"\xb5_sampling_priority_v1",
        &[0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0], // float64 1.0
    ];
    parts.concat()
}

/// Starts an agent, failing the test with the readable error (install or start problem).
#[allow(clippy::panic)]
fn start_agent() -> TestAgent {
    TestAgent::start().unwrap_or_else(|e| panic!("the test agent must install and start: {e}"))
}

#[test]
fn installs_starts_and_answers_info() {
    let agent = start_agent();
    assert!(agent.url().starts_with("http://127.0.0.1:"));
    assert_eq!(agent.url(), format!("http://127.0.0.1:{}", agent.port()));
    let info = agent.info().unwrap();
    let endpoints = info["endpoints"].as_array().unwrap();
    assert!(endpoints.contains(&json!("/v0.4/traces")), "{info}");
    assert!(endpoints.contains(&json!("/v0.5/traces")), "{info}");
    assert_eq!(info["span_events"], json!(true), "{info}");
    assert!(agent.log_path().exists());
    assert!(
        agent
            .log()
            .contains(&format!("Running APM server on port {}", agent.port()))
    );
    // Installed by now: a second call is warm.
    assert_eq!(
        PinnedVenv::test_agent().ensure_installed().unwrap(),
        InstallOutcome::AlreadyInstalled
    );
}

#[test]
fn concurrent_installs_agree() {
    let handles: Vec<_> = (0..4)
        .map(|_| thread::spawn(|| PinnedVenv::test_agent().ensure_installed()))
        .collect();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    assert!(PinnedVenv::test_agent().bin("ddapm-test-agent").exists());
}

#[test]
fn two_agents_in_parallel_get_different_ports() {
    let a = thread::spawn(start_agent);
    let b = thread::spawn(start_agent);
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let ports_a = [a.port(), a.otlp_http_port(), a.otlp_grpc_port()];
    let ports_b = [b.port(), b.otlp_http_port(), b.otlp_grpc_port()];
    for port in ports_a {
        assert!(!ports_b.contains(&port), "{ports_a:?} vs {ports_b:?}");
    }
    assert!(a.info().is_ok() && b.info().is_ok());
}

#[test]
fn session_sees_a_hand_written_trace() {
    let agent = start_agent();
    let session = agent.session().unwrap();
    assert!(
        session
            .token()
            .contains("session_sees_a_hand_written_trace")
    );

    let response = session
        .put_traces("/v0.4/traces", 1, &one_span_payload())
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json().unwrap(), json!({"rate_by_service": {}}));

    let traces = session.wait_for_traces(1, WAIT).unwrap();
    assert_eq!(
        traces,
        json!([[{
            "trace_id": 12345678901234567890u64, "span_id": 12345, "parent_id": 0,
            "name": "http.request", "service": "test-svc", "resource": "GET /x",
            "start": 1_700_000_000_000_000_000i64, "duration": 1_500_000, "error": 0,
            "meta": {"component": "test"}, "metrics": {"_sampling_priority_v1": 1.0}
        }]])
    );
    assert_eq!(session.wait_for_spans(1, WAIT).unwrap(), traces);
    assert_eq!(
        render_trace_tree(&traces),
        "trace 12345678901234567890 (1 span)\n\
         └── http.request  service=test-svc  resource=\"GET /x\"  span_id=12345\n\
         \x20       meta.component = test\n\
         \x20       metrics._sampling_priority_v1 = 1.0\n"
    );

    // The raw request, headers included.
    let raw = session.requests().unwrap();
    assert_eq!(raw.as_array().unwrap().len(), 1, "{raw}");
    assert_eq!(raw[0]["method"], json!("PUT"));
    assert_eq!(raw[0]["headers"]["X-Datadog-Trace-Count"], json!("1"));
    let requests = session.recorded_requests().unwrap();
    assert_eq!(requests[0].path(), "/v0.4/traces");
    assert_eq!(requests[0].body, one_span_payload());
    assert_eq!(requests[0].header("datadog-meta-lang"), Some("rust"));
    assert_eq!(
        requests[0].header(SESSION_TOKEN_HEADER),
        Some(session.token())
    );
    assert_eq!(session.trace_check_failures().unwrap(), None);

    // Another session on the same agent sees nothing of it.
    let other = agent.session().unwrap();
    assert_ne!(other.token(), session.token());
    assert_eq!(other.traces().unwrap(), json!([]));

    session.clear().unwrap();
    assert_eq!(session.traces().unwrap(), json!([]));
}

#[test]
fn a_span_with_only_the_required_fields_is_accepted() {
    // [[{"trace_id": 1, "span_id": 1, "name": "op"}]], as in the crate example.
    let mut body = vec![0x91, 0x91, 0x83];
    for (key, value) in [("trace_id", 1u8), ("span_id", 1)] {
        body.push(0xa0 | key.len() as u8);
        body.extend_from_slice(key.as_bytes());
        body.push(value);
    }
    body.extend_from_slice(&[0xa4, b'n', b'a', b'm', b'e', 0xa2, b'o', b'p']);
    let agent = start_agent();
    let session = agent.session().unwrap();
    let response = session.put_traces("/v0.4/traces", 1, &body).unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let traces = session.wait_for_traces(1, WAIT).unwrap();
    assert_eq!(traces[0][0]["name"], json!("op"), "{traces}");
    println!("{}", render_trace_tree(&traces));
}

#[test]
fn log_is_removed_on_drop_unless_kept() {
    let agent = start_agent();
    let log = agent.log_path().to_path_buf();
    assert!(log.exists());
    drop(agent);
    assert!(!log.exists());

    let agent = TestAgent::builder().keep_log(true).start().unwrap();
    let log = agent.log_path().to_path_buf();
    drop(agent);
    assert!(log.exists());
    std::fs::remove_file(log).unwrap();
}

#[test]
fn empty_payload_with_the_right_headers_is_accepted_and_failed_checks_answer_400() {
    let agent = start_agent();
    let session = agent.session().unwrap();
    let url = format!("{}/v0.4/traces", agent.url());
    let response = http_request(
        "PUT",
        &url,
        &[
            ("Content-Type", "application/msgpack"),
            ("X-Datadog-Trace-Count", "0"),
            ("Datadog-Meta-Tracer-Version", "0.1.0"),
            ("Datadog-Meta-Lang", "rust"),
            (SESSION_TOKEN_HEADER, session.token()),
        ],
        &[0x90],
    )
    .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), r#"{"rate_by_service": {}}"#);

    // Wrong trace count, no tracer version: the enabled checks fail.
    let response = http_request(
        "PUT",
        &url,
        &[
            ("Content-Type", "application/msgpack"),
            ("X-Datadog-Trace-Count", "1"),
            (SESSION_TOKEN_HEADER, session.token()),
        ],
        &[0x90],
    )
    .unwrap();
    assert_eq!(response.status, 400);
    let text = response.text();
    assert!(text.contains("Check 'trace_count_header' failed"), "{text}");
    assert!(
        text.contains("Check 'meta_tracer_version_header' failed"),
        "{text}"
    );

    let failures = session
        .trace_check_failures()
        .unwrap()
        .expect("pooled failures");
    assert!(failures.contains("Trace Check failures"), "{failures}");
    let requests = session.wait_for_requests(2, WAIT).unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, vec![0x90]);
}

#[test]
fn extra_env_overrides_the_enabled_checks() {
    let agent = TestAgent::builder()
        .env("ENABLED_CHECKS", "")
        .start()
        .unwrap();
    let session = agent.session().unwrap();
    let response = http_request(
        "PUT",
        &format!("{}/v0.4/traces", agent.url()),
        &[("Content-Type", "application/msgpack"), session.header()],
        &one_span_payload(),
    )
    .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    session.wait_for_traces(1, WAIT).unwrap();
}

#[test]
fn sample_rates_come_back_in_trace_responses() {
    let agent = start_agent();
    let session = agent
        .session_with_sample_rates(&json!({"service:test-svc,env:prod": 0.5}))
        .unwrap();
    let response = session
        .put_traces("/v0.4/traces", 1, &one_span_payload())
        .unwrap();
    assert_eq!(
        response.json().unwrap(),
        json!({"rate_by_service": {"service:test-svc,env:prod": 0.5}})
    );
}

#[test]
fn restart_keeps_the_port_and_delivery_resumes() {
    let mut agent = start_agent();
    let port = agent.port();
    let session = agent.session().unwrap();
    assert_eq!(
        session
            .put_traces("/v0.4/traces", 1, &one_span_payload())
            .unwrap()
            .status,
        200
    );
    session.wait_for_traces(1, WAIT).unwrap();

    agent.restart().unwrap();
    assert_eq!(agent.port(), port);
    // The new process remembers nothing; requests with the token are found without a start.
    assert!(matches!(
        session.traces(),
        Err(Error::Status { status: 404, .. })
    ));
    assert_eq!(
        session
            .put_traces("/v0.4/traces", 1, &one_span_payload())
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        session
            .wait_for_traces(1, WAIT)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    session.start().unwrap();
    assert_eq!(session.traces().unwrap(), json!([]));
}

#[test]
fn stop_then_restart_and_fixed_port() {
    let mut first = start_agent();
    let port = first.port();
    let pid = first.pid().unwrap();
    first.stop().unwrap();
    first.stop().unwrap(); // idempotent
    if cfg!(target_os = "linux") {
        // Stopped and reaped (checked on the process: a parallel test may take the port).
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    } else {
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }
    drop(first);
    let agent = TestAgent::builder().port(port).start().unwrap();
    assert_eq!(agent.port(), port);
    agent.info().unwrap();
}

#[test]
fn drop_kills_the_process_and_closes_the_port() {
    let mut agent = start_agent();
    let port = agent.port();
    let pid = agent.pid().unwrap();
    assert!(agent.is_running());
    drop(agent);
    if cfg!(target_os = "linux") {
        // Killed and reaped: no process (not even a zombie) is left, so nothing listens on
        // its port (checked on the process: a parallel test may take the port).
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    } else {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still accepts connections"
        );
    }
}

#[cfg(unix)]
#[test]
fn traces_over_a_unix_socket() {
    use ddtrace_test_agent::http::http_request_unix;

    let agent = TestAgent::builder().unix_socket().start().unwrap();
    let path = agent.uds_path().unwrap().to_path_buf();
    assert!(path.exists());
    assert_eq!(
        agent.uds_url().unwrap(),
        format!("unix://{}", path.display())
    );
    let session = agent.session().unwrap();
    let info = http_request_unix(&path, "GET", "/info", &[], &[]).unwrap();
    assert_eq!(info.status, 200);
    let response = http_request_unix(
        &path,
        "PUT",
        "/v0.4/traces",
        &[
            ("Content-Type", "application/msgpack"),
            ("X-Datadog-Trace-Count", "1"),
            ("Datadog-Meta-Tracer-Version", "0.1.0"),
            session.header(),
        ],
        &one_span_payload(),
    )
    .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    session.wait_for_traces(1, WAIT).unwrap();
    drop(agent);
    assert!(!path.exists(), "the socket file is removed");
}

#[test]
fn web_ui_is_served() {
    let agent = TestAgent::builder().web_ui().start().unwrap();
    let url = agent.web_ui_url().unwrap();
    assert_ne!(url, format!("{}/", agent.url()));
    let page = http_get(&url).unwrap();
    assert_eq!(page.status, 200);
    assert!(
        page.text().to_lowercase().contains("<html"),
        "{}",
        page.text()
    );
}

#[test]
fn trace_request_delay_stalls_trace_requests() {
    let agent = TestAgent::builder()
        .trace_request_delay(Duration::from_millis(700))
        .start()
        .unwrap();
    let session = agent.session().unwrap();
    let started = Instant::now();
    let response = session
        .put_traces("/v0.4/traces", 1, &one_span_payload())
        .unwrap();
    assert_eq!(response.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn wait_for_traces_times_out_with_a_clear_error() {
    let agent = start_agent();
    let session = agent.session().unwrap();
    let error = session
        .wait_for_traces(1, Duration::from_millis(200))
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    assert!(error.to_string().contains("1 trace(s)"), "{error}");
}

#[test]
fn an_occupied_fixed_port_fails_with_the_agent_output() {
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let error = TestAgent::builder()
        .port(port)
        // Long: the agent exits as soon as it finds the port taken, however slow the machine
        // is to get there (a short timeout would make this a start timeout instead).
        .startup_timeout(Duration::from_secs(60))
        .start()
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::AgentExited { .. }), "{text}");
    assert!(
        text.to_lowercase().contains("address already in use"),
        "{text}"
    );
    if let Error::AgentExited { log_path, .. } = error {
        assert!(log_path.exists(), "the log of a failed start is kept");
        std::fs::remove_file(log_path).unwrap();
    }
}

/// An agent never outlives the process that started it, even one killed with SIGKILL, which
/// cannot stop it (a test binary killed by a CI timeout): it exits when its standard input,
/// held by that process, closes. The test runs itself again as the process to kill.
#[cfg(target_os = "linux")]
#[test]
fn an_agent_does_not_outlive_a_killed_test_process() {
    use std::process::{Command, Stdio};

    const HELPER: &str = "DDTA_TEST_HELPER_PID_FILE";
    #[allow(clippy::disallowed_methods)] // this test's own variable, not tracer configuration
    let helper_pid_file = std::env::var_os(HELPER);
    if let Some(path) = helper_pid_file {
        // The process to kill: start an agent, say its pid, wait.
        let agent = start_agent();
        let path = std::path::PathBuf::from(path);
        let partial = path.with_extension("partial");
        std::fs::write(&partial, agent.pid().unwrap().to_string()).unwrap();
        std::fs::rename(&partial, &path).unwrap();
        loop {
            thread::sleep(Duration::from_secs(1));
        }
    }
    let file = std::env::temp_dir().join(format!("ddta-helper-{}.pid", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_agent_does_not_outlive_a_killed_test_process",
            "--nocapture",
        ])
        .env(HELPER, &file)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let pid: u32 = loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            break text.trim().parse().unwrap();
        }
        if let Ok(Some(status)) = helper.try_wait() {
            panic!("the helper exited before starting its agent: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the helper's agent did not start"
        );
        thread::sleep(Duration::from_millis(50));
    };
    let _ = std::fs::remove_file(&file);
    helper.kill().unwrap(); // SIGKILL: no destructor runs
    helper.wait().unwrap();
    // Exited (gone, or a zombie its new parent has yet to reap).
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            state != Some("Z")
        })
    };
    let deadline = Instant::now() + WAIT;
    while running() {
        assert!(
            Instant::now() < deadline,
            "the agent (pid {pid}) outlived the killed process"
        );
        thread::sleep(Duration::from_millis(50));
    }
}
