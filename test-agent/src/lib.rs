//! Test support: installs, starts and queries the **real** Datadog test agent
//! ([`ddapm-test-agent`](https://github.com/DataDog/dd-apm-test-agent) from PyPI, pinned
//! 1.69.1) for integration tests of the tracer.
//!
//! # What it does
//!
//! - **Installs** the agent on first use into `<workspace>/target/ddapm-test-agent-venv/`
//!   (a Python venv; every package pinned in this crate's `requirements.txt`, written by
//!   `pip freeze`), once, race-free across test threads and test binaries (a lock file and a
//!   completion marker holding the requirements' hash): see [`PinnedVenv`]. A plain
//!   `cargo test` on a fresh machine (Python 3 with `venv` and `pip`, PyPI reachable) runs the
//!   agent tests; if installation fails, [`TestAgent::start`] returns an [`Error::Install`] that
//!   says why, and the test fails. Nothing is ever skipped.
//! - **Starts** the agent ([`TestAgent::start`], [`TestAgent::builder`]) on free loopback ports
//!   (trace/test API port, OTLP HTTP and gRPC ports, optional web UI), with
//!   `ENABLED_CHECKS=trace_count_header,meta_tracer_version_header,trace_content_length`
//!   ([`DEFAULT_ENABLED_CHECKS`]), retrying if another process grabs a picked port, and waits
//!   until it answers `GET /info` (30 s by default; if it exits, the error carries its output).
//!   Its stdout and stderr go to `<workspace>/target/ddapm-test-agent-logs/<test>-<pid>-<n>.log`
//!   (kept, and its path printed, when the test fails). Dropping the [`TestAgent`] kills and
//!   reaps the process.
//! - **Sessions** ([`TestAgent::session`]): one unique token per test. The tracer under test
//!   must send the header **`X-Datadog-Test-Session-Token: <token>`** ([`SESSION_TOKEN_HEADER`])
//!   with its trace requests; [`Session::wait_for_traces`] / [`Session::wait_for_spans`] poll the
//!   session's traces with a deadline, [`Session::requests`] returns the raw requests (headers
//!   included) to assert exactly what the tracer sent.
//! - A minimal blocking HTTP/1.1 client ([`http_get`], [`http_request`],
//!   [`http::http_request_unix`]) for sending hand-made payloads, and [`render_trace_tree`] to
//!   print what the agent accepted.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use ddtrace_test_agent::{TestAgent, render_trace_tree};
//!
//! # fn main() -> Result<(), ddtrace_test_agent::Error> {
//! let agent = TestAgent::builder().unix_socket().start()?;
//! let session = agent.session()?;
//!
//! // Point the tracer under test at `agent.url()` (or `agent.uds_url()`) and make it send
//! // `X-Datadog-Test-Session-Token: session.token()`. Here, a hand-made v0.4 payload instead:
//! // [[{"trace_id": 1, "span_id": 1, "name": "op"}]] as msgpack.
//! let mut body = vec![0x91, 0x91, 0x83];
//! for (key, value) in [("trace_id", 1u8), ("span_id", 1)] {
//!     body.push(0xa0 | key.len() as u8);
//!     body.extend_from_slice(key.as_bytes());
//!     body.push(value); // positive fixint
//! }
//! body.extend_from_slice(&[0xa4, b'n', b'a', b'm', b'e', 0xa2, b'o', b'p']);
//! let response = session.put_traces("/v0.4/traces", 1, &body)?;
//! assert_eq!(response.status, 200, "{}", response.text());
//!
//! let traces = session.wait_for_traces(1, Duration::from_secs(10))?;
//! println!("{}", render_trace_tree(&traces));
//! assert_eq!(session.trace_check_failures()?, None);
//! # Ok(())
//! # }
//! ```
//!
//! # The test agent 1.69.1, as observed live
//!
//! **Command line.** `ddapm-test-agent --port P --otlp-http-port P2 --otlp-grpc-port P3`
//! (OTLP defaults 4318/4317 would clash between parallel agents); it binds 127.0.0.1 and prints
//! `======== Running APM server on port P ========` once every listener is bound (this crate
//! waits for that line *and* a `200` from `/info`, so an agent that lost a port race is never
//! mistaken for ready). Options used here: `--trace-uds-socket PATH` (traces over a **Unix
//! domain socket**, in addition to TCP; the socket file is replaced if present),
//! `--trace-request-delay SECONDS` (float; stalls trace requests, but only if the `trace_stall`
//! check is in `ENABLED_CHECKS`, which [`TestAgentBuilder::trace_request_delay`] adds),
//! `--web-ui-port P` (0 = off), `--pool-trace-check-failures 1` (argparse `type=bool`: any
//! non-empty value is true). `--enabled-checks` does not work on the command line; the
//! `ENABLED_CHECKS` environment variable does. The agent reads many environment variables as
//! configuration (`PORT`, `HOST`, `DD_TRACE_AGENT_URL`, ...); they are removed from its
//! environment.
//!
//! **`GET /info`** answers (note `/v0.5/traces` and `span_events: true`):
//!
//! ```json
//! {"version": "test",
//!  "endpoints": ["/v0.4/traces", "/v0.5/traces", "/v0.7/traces", "/v1.0/traces", "/v0.6/stats",
//!                "/telemetry/proxy/", "/v0.7/config", "/tracer_flare/v1", "/evp_proxy/v2/",
//!                "/evp_proxy/v4/"],
//!  "feature_flags": [], "config": {}, "client_drop_p0s": true,
//!  "peer_tags": ["db.name", "mongodb.db", "messaging.system"], "span_events": true,
//!  "llmobs_data_forwarding": false, "authenticated": false}
//! ```
//!
//! **Trace intake.** `PUT /v0.4/traces` with the body `0x90` (an empty msgpack array) and the
//! headers `Content-Type: application/msgpack`, `X-Datadog-Trace-Count: 0`,
//! `Datadog-Meta-Tracer-Version: 0.1.0`, `Datadog-Meta-Lang: rust`,
//! `X-Datadog-Test-Session-Token: T` answers `200`, `Content-Type: application/json`, body
//! `{"rate_by_service": {}}` (with `agent_sample_rate_by_service` given at session start, e.g.
//! `{"rate_by_service": {"service:svc,env:prod": 0.5}}`).
//!
//! **Failed checks** answer `400 Bad Request`, `Content-Type: text/plain`, with a text body
//! naming the request, its headers and each failed check, e.g. (trace count 1 for 0 traces and
//! no tracer version header):
//!
//! ```text
//! At request <Request PUT /v0.4/traces >:
//!    At headers:
//!     - {'Content-Length': '1', 'Content-Type': 'application/msgpack', ...}
//!    ❌ Check 'meta_tracer_version_header' failed: Datadog-Meta-Tracer-Version not found in headers
//!     At payload (0 traces):
//!     ❌ Check 'trace_count_header' failed: X-Datadog-Trace-Count value (1) does not match actual number of traces (0)
//! ```
//!
//! A payload that cannot be decoded answers `400` with an empty reason phrase and the body
//! `400: `; it is still stored, and from then on the session's `/test/session/traces` answers
//! `400` too, until the session is cleared. With pooling on, `/test/trace_check/failures` for the
//! session answers `200` `200: OK` when nothing failed, else `400` with
//! `APM Test Agent Validation failed with N Trace Check failures.\n` followed by the messages
//! above ([`Session::trace_check_failures`]).
//!
//! **`GET /test/session/traces?test_session_token=T`** answers a JSON array of traces, each an
//! array of spans as decoded from the payload, e.g.
//! `[[{"trace_id": 1, "span_id": 2, "parent_id": 0, "name": "op", "service": "svc",
//! "resource": "res", "start": 1000, "duration": 5, "error": 0, "meta": {"k": "v"},
//! "metrics": {"m": 1.5}}]]`; for a token it never saw: `404` (reason
//! `No session found for token 'T'`).
//!
//! **`GET /test/session/requests?test_session_token=T`** answers the session's intake requests
//! (traces, stats, telemetry, ...; not the test API calls), oldest first, **headers included**,
//! **body base64**:
//!
//! ```json
//! [{"headers": {"Host": "127.0.0.1:P", "Content-Type": "application/msgpack",
//!               "X-Datadog-Trace-Count": "0", "Datadog-Meta-Tracer-Version": "0.1.0",
//!               "Datadog-Meta-Lang": "rust", "X-Datadog-Test-Session-Token": "T",
//!               "Content-Length": "1"},
//!   "body": "kA==", "url": "http://127.0.0.1:P/v0.4/traces", "method": "PUT"}]
//! ```
//!
//! Requests that fail a check are listed too. A session also claims requests that carry **no**
//! token and arrived after its start (see [`Session`]).

mod agent;
mod error;
pub mod http;
mod install;
mod session;
mod tree;

pub use agent::{DEFAULT_ENABLED_CHECKS, DEFAULT_STARTUP_TIMEOUT, TestAgent, TestAgentBuilder};
pub use error::{Error, Result};
pub use http::{HttpResponse, http_get, http_request};
pub use install::{
    InstallOutcome, PYTHON, PinnedVenv, TEST_AGENT_VERSION, python_venv_bin, workspace_root,
    workspace_target_dir,
};
pub use session::{RecordedRequest, SESSION_TOKEN_HEADER, Session, span_count};
pub use tree::render_trace_tree;
