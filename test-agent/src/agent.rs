//! Starting, stopping and restarting the pinned `ddapm-test-agent` process.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::http::{self, HttpResponse};
use crate::install::{PinnedVenv, workspace_target_dir};
use crate::session::Session;

/// The checks every agent started by this crate runs unless overridden with
/// `TestAgentBuilder::env("ENABLED_CHECKS", ...)`: a wrong `X-Datadog-Trace-Count`, a missing
/// `Datadog-Meta-Tracer-Version` or a `Content-Length` that does not match the body turns the
/// trace request into a `400` with a text explanation.
pub const DEFAULT_ENABLED_CHECKS: &str =
    "trace_count_header,meta_tracer_version_header,trace_content_length";

/// How long [`TestAgentBuilder::start`] waits for the agent to answer `GET /info` by default.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a start is retried when a picked port was taken by someone else meanwhile.
const START_ATTEMPTS: u32 = 8;

/// Polling interval while waiting for the agent.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Environment variables the test agent reads as configuration; they are removed from the
/// agent's environment so that the test process's environment cannot change its behaviour (e.g.
/// `DD_TRACE_AGENT_URL` would make it forward everything it receives).
const AGENT_CONFIG_VARIABLES: &[&str] = &[
    "PORT",
    "HOST",
    "OTLP_HTTP_PORT",
    "OTLP_GRPC_PORT",
    "SNAPSHOT_DIR",
    "SNAPSHOT_CI",
    "SNAPSHOT_IGNORED_ATTRS",
    "SNAPSHOT_REMOVED_ATTRS",
    "SNAPSHOT_REGEX_PLACEHOLDERS",
    "ENABLED_CHECKS",
    "LOG_LEVEL",
    "LOG_SPAN_FMT",
    "DD_TRACE_AGENT_URL",
    "DD_AGENT_URL",
    "DD_APM_RECEIVER_SOCKET",
    "DD_APM_RECEIVER_NAMED_PIPE",
    "DD_TEST_STALL_REQUEST_SECONDS",
    "DD_SUPPRESS_TRACE_PARSE_ERRORS",
    "DD_POOL_TRACE_CHECK_FAILURES",
    "DD_DISABLE_ERROR_RESPONSES",
    "VCR_CASSETTES_DIRECTORY",
    "VCR_CI_MODE",
    "VCR_PROVIDER_MAP",
    "VCR_IGNORE_HEADERS",
    "VCR_JSON_BODY_NORMALIZERS",
    "VCR_BODY_REGEX_NORMALIZERS",
    "WEB_UI_PORT",
    "MAX_REQUESTS",
    "DD_SITE",
    "DD_API_KEY",
    "ORG_PROP_MARKER",
    "DISABLE_LLMOBS_DATA_FORWARDING",
    "TEST_AGENT_VERSION",
    "DD_AGENT_EXTRA_INFO",
    "TEST_SESSION_TOKEN",
];

/// A per-process counter that makes log files, socket paths and session tokens unique.
static COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn next_id() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A label for the current test: the name of the current thread (the test harness names each
/// test's thread after the test), reduced to `[A-Za-z0-9_.-]`.
pub(crate) fn current_test_label() -> String {
    let name = thread::current()
        .name()
        .unwrap_or("test")
        .replace("::", ".");
    let mut label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if label.is_empty() || label == "main" {
        label = "test".to_owned();
    }
    // Keep file names and tokens reasonable; the end of a test path is the informative part.
    if label.len() > 80 {
        label = label[label.len() - 80..].to_owned();
    }
    label
}

/// Options for starting a [`TestAgent`]; see [`TestAgent::builder`].
#[derive(Debug, Clone)]
pub struct TestAgentBuilder {
    port: Option<u16>,
    trace_request_delay: Option<Duration>,
    web_ui: Option<Option<u16>>,
    unix_socket: Option<Option<PathBuf>>,
    env: Vec<(String, String)>,
    args: Vec<String>,
    startup_timeout: Duration,
    pool_trace_check_failures: bool,
    label: Option<String>,
    keep_log: bool,
}

impl Default for TestAgentBuilder {
    fn default() -> Self {
        TestAgentBuilder {
            port: None,
            trace_request_delay: None,
            web_ui: None,
            unix_socket: None,
            env: Vec::new(),
            args: Vec::new(),
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            pool_trace_check_failures: true,
            label: None,
            keep_log: false,
        }
    }
}

impl TestAgentBuilder {
    /// Listen for traces on this loopback port instead of a free one picked at start.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Stall every trace (and telemetry) request for `delay` before answering
    /// (`--trace-request-delay`): an overwhelmed agent. The delay is implemented by the agent's
    /// `trace_stall` check, which is added to `ENABLED_CHECKS` for this. (A single request can
    /// also ask for a stall with the header `X-Datadog-Test-Stall-Seconds: S` when `trace_stall`
    /// is enabled.)
    pub fn trace_request_delay(mut self, delay: Duration) -> Self {
        self.trace_request_delay = Some(delay);
        self
    }

    /// Serve the web UI (a page listing the received requests and traces) on a free port; see
    /// [`TestAgent::web_ui_url`].
    pub fn web_ui(mut self) -> Self {
        self.web_ui = Some(None);
        self
    }

    /// Serve the web UI on this port (`--web-ui-port`).
    pub fn web_ui_port(mut self, port: u16) -> Self {
        self.web_ui = Some(Some(port));
        self
    }

    /// Also accept traces on a Unix domain socket (`--trace-uds-socket`), at a fresh path in the
    /// system temporary directory (short, to stay within the 108-byte socket path limit); see
    /// [`TestAgent::uds_path`]. The TCP port keeps working too.
    pub fn unix_socket(mut self) -> Self {
        self.unix_socket = Some(None);
        self
    }

    /// Accept traces on the Unix domain socket at `path` (it is replaced if it exists).
    pub fn unix_socket_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.unix_socket = Some(Some(path.into()));
        self
    }

    /// Set an environment variable of the agent process (applied last, so
    /// `env("ENABLED_CHECKS", "")` turns the default checks off).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Pass an extra command-line argument to `ddapm-test-agent`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// How long to wait for the agent to become ready (default 30 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Whether the agent keeps failed trace checks for [`Session::trace_check_failures`]
    /// (`--pool-trace-check-failures`; default `true`). Failed checks answer 400 either way.
    pub fn pool_trace_check_failures(mut self, pool: bool) -> Self {
        self.pool_trace_check_failures = pool;
        self
    }

    /// Keep the log file when the agent is dropped. By default it is deleted, unless the drop
    /// happens while the thread panics (a failing test), in which case its path is printed.
    pub fn keep_log(mut self, keep: bool) -> Self {
        self.keep_log = keep;
        self
    }

    /// Name used for the log file and session tokens (default: the current test's name).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Installs the pinned test agent if needed, starts it and waits until it answers
    /// `GET /info`.
    pub fn start(self) -> Result<TestAgent> {
        let venv = PinnedVenv::test_agent();
        venv.ensure_installed()?;
        let executable = venv.bin("python");

        let id = next_id();
        let pid = std::process::id();
        let label = self.label.clone().unwrap_or_else(current_test_label);
        let log_dir = workspace_target_dir().join("ddapm-test-agent-logs");
        fs::create_dir_all(&log_dir)
            .map_err(|e| Error::io(format!("creating {}", log_dir.display()), e))?;
        let log_path = log_dir.join(format!("{label}-{pid}-{id}.log"));
        let uds_path = match &self.unix_socket {
            None => None,
            Some(Some(path)) => Some(path.clone()),
            Some(None) => Some(std::env::temp_dir().join(format!("ddta-{pid}-{id}.sock"))),
        };
        let mut agent = TestAgent {
            options: self,
            executable,
            label,
            log_path,
            log_dir,
            uds_path,
            port: 0,
            otlp_http_port: 0,
            otlp_grpc_port: 0,
            web_ui_port: None,
            child: None,
        };
        if let Err(error) = agent.launch(false) {
            // The error names the log file: keep it.
            agent.options.keep_log = true;
            return Err(error);
        }
        Ok(agent)
    }
}

/// A running `ddapm-test-agent` (the pinned version), listening on free loopback ports.
///
/// Dropping it kills and reaps the process. See the [crate documentation](crate) for an example.
#[derive(Debug)]
pub struct TestAgent {
    options: TestAgentBuilder,
    executable: PathBuf,
    label: String,
    log_path: PathBuf,
    log_dir: PathBuf,
    uds_path: Option<PathBuf>,
    port: u16,
    otlp_http_port: u16,
    otlp_grpc_port: u16,
    web_ui_port: Option<u16>,
    child: Option<Child>,
}

impl TestAgent {
    /// Starts an agent with the default options (free ports, [`DEFAULT_ENABLED_CHECKS`]).
    pub fn start() -> Result<TestAgent> {
        TestAgent::builder().start()
    }

    /// Options for starting an agent.
    pub fn builder() -> TestAgentBuilder {
        TestAgentBuilder::default()
    }

    /// The base URL of the trace intake and test API, `http://127.0.0.1:PORT` (no trailing `/`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The trace intake and test API port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The OTLP/HTTP port (`--otlp-http-port`).
    pub fn otlp_http_port(&self) -> u16 {
        self.otlp_http_port
    }

    /// The OTLP/gRPC port (`--otlp-grpc-port`).
    pub fn otlp_grpc_port(&self) -> u16 {
        self.otlp_grpc_port
    }

    /// The Unix domain socket accepting traces, if enabled with
    /// [`TestAgentBuilder::unix_socket`]; a tracer reaches it with
    /// `DD_TRACE_AGENT_URL=unix://<path>`.
    pub fn uds_path(&self) -> Option<&Path> {
        self.uds_path.as_deref()
    }

    /// `unix://<path>` for [`TestAgent::uds_path`], if enabled.
    pub fn uds_url(&self) -> Option<String> {
        self.uds_path
            .as_ref()
            .map(|p| format!("unix://{}", p.display()))
    }

    /// The web UI's URL, `http://127.0.0.1:PORT/`, if enabled with [`TestAgentBuilder::web_ui`].
    pub fn web_ui_url(&self) -> Option<String> {
        self.web_ui_port
            .map(|port| format!("http://127.0.0.1:{port}/"))
    }

    /// The file receiving the agent's stdout and stderr (kept across restarts; deleted on drop
    /// unless the test is failing or [`TestAgentBuilder::keep_log`] is set).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The agent's stdout and stderr so far.
    pub fn log(&self) -> String {
        read_log(&self.log_path, 0)
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is running (not stopped, not exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// `GET /info`, parsed: `endpoints` (a list including `/v0.4/traces` and `/v0.5/traces`),
    /// `span_events` (`true`), `client_drop_p0s`, `config`, `peer_tags`, ...
    pub fn info(&self) -> Result<serde_json::Value> {
        let url = format!("{}/info", self.url());
        let response = http::http_get(&url)?;
        expect_success("GET", &url, &response)?;
        parse_json(&url, &response)
    }

    /// A new test session with a unique token (see [`Session`]).
    pub fn session(&self) -> Result<Session> {
        Session::start_new(self.url(), &self.label, None)
    }

    /// A new test session whose trace responses carry these agent sampling rates, e.g.
    /// `{"service:my-svc,env:prod": 0.5}` (`agent_sample_rate_by_service`).
    pub fn session_with_sample_rates(&self, rates: &serde_json::Value) -> Result<Session> {
        Session::start_new(self.url(), &self.label, Some(rates.clone()))
    }

    /// Kills the agent and waits for it to exit. Idempotent. Everything it received is lost.
    pub fn stop(&mut self) -> Result<()> {
        let result = match self.child.take() {
            Some(mut child) => kill_and_reap(&mut child),
            None => Ok(()),
        };
        if let Some(path) = &self.uds_path {
            let _ = fs::remove_file(path);
        }
        result
    }

    /// Stops the agent and starts it again on the same port (and the same Unix socket, web UI
    /// and OTLP ports when still free), with empty memory: sessions must be started again
    /// ([`Session::start`]).
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        let result = self.launch(true);
        if result.is_err() {
            // The error names the log file: keep it.
            self.options.keep_log = true;
        }
        result
    }

    /// Spawns the process and waits for readiness, retrying when a picked port was taken.
    fn launch(&mut self, restart: bool) -> Result<()> {
        let deadline = Instant::now() + self.options.startup_timeout;
        let mut reuse_previous = restart;
        let mut attempt = 0;
        let mut last_clash: Option<Error> = None;
        loop {
            attempt += 1;
            self.choose_ports(restart, reuse_previous)?;
            let log_offset = fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0);
            let mut child = self.spawn()?;
            match self.wait_ready(&mut child, log_offset, deadline) {
                Ok(()) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(error) => {
                    let _ = kill_and_reap(&mut child);
                    let clash = match &error {
                        Error::AgentExited { log, .. } => is_port_clash(log),
                        _ => false,
                    };
                    if clash && attempt < START_ATTEMPTS && Instant::now() < deadline {
                        // Someone took a port between our check and the agent's bind: pick
                        // again (a fixed port is kept and simply retried a little later).
                        reuse_previous = false;
                        last_clash = Some(error);
                        thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                    // Running out of time while retrying a clash: the clash is the news.
                    return Err(match (error, last_clash) {
                        (Error::StartTimeout { .. }, Some(clash)) => clash,
                        (error, _) => error,
                    });
                }
            }
        }
    }

    /// Decides the ports of the next start attempt.
    fn choose_ports(&mut self, keep_trace_port: bool, reuse_previous: bool) -> Result<()> {
        let mut picker = PortPicker::default();
        self.port = match self.options.port {
            Some(port) => port,
            None if keep_trace_port => self.port,
            None => picker.pick()?,
        };
        if !reuse_previous {
            self.otlp_http_port = picker.pick_other_than(&[self.port])?;
            self.otlp_grpc_port = picker.pick_other_than(&[self.port])?;
        }
        self.web_ui_port = match self.options.web_ui {
            None => None,
            Some(Some(port)) => Some(port),
            Some(None) => match self.web_ui_port {
                Some(previous) if reuse_previous => Some(previous),
                _ => Some(picker.pick_other_than(&[self.port])?),
            },
        };
        Ok(())
    }

    /// Spawns `ddapm-test-agent` (through [`LAUNCHER`]) with its output appended to the log
    /// file.
    fn spawn(&self) -> Result<Child> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| Error::io(format!("opening {}", self.log_path.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io(format!("opening {}", self.log_path.display()), e))?;

        let mut command = Command::new(&self.executable);
        command
            .arg("-c")
            .arg(LAUNCHER)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--otlp-http-port")
            .arg(self.otlp_http_port.to_string())
            .arg("--otlp-grpc-port")
            .arg(self.otlp_grpc_port.to_string());
        if let Some(port) = self.web_ui_port {
            command.arg("--web-ui-port").arg(port.to_string());
        }
        if let Some(path) = &self.uds_path {
            command.arg("--trace-uds-socket").arg(path);
        }
        if let Some(delay) = self.options.trace_request_delay {
            command
                .arg("--trace-request-delay")
                .arg(delay.as_secs_f64().to_string());
        }
        if self.options.pool_trace_check_failures {
            // argparse `type=bool`: any non-empty string is true.
            command.arg("--pool-trace-check-failures").arg("1");
        }
        command.args(&self.options.args);
        for name in AGENT_CONFIG_VARIABLES {
            command.env_remove(name);
        }
        command
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        for (name, value) in &self.options.env {
            command.env(name, value);
        }
        command.env("ENABLED_CHECKS", self.enabled_checks());
        command
            .current_dir(&self.log_dir)
            // Held open by the `Child` (see `LAUNCHER`).
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        command.spawn().map_err(|e| {
            Error::io(
                format!(
                    "starting {} (delete {} to force a reinstall)",
                    self.executable.display(),
                    PinnedVenv::test_agent().dir().display()
                ),
                e,
            )
        })
    }

    /// `ENABLED_CHECKS` for the agent: [`DEFAULT_ENABLED_CHECKS`] or the value given with
    /// [`TestAgentBuilder::env`], plus `trace_stall` when a trace request delay is set (the
    /// delay is implemented by that check and does nothing unless it is enabled).
    fn enabled_checks(&self) -> String {
        let mut checks = self
            .options
            .env
            .iter()
            .rev()
            .find(|(name, _)| name == "ENABLED_CHECKS")
            .map_or(DEFAULT_ENABLED_CHECKS, |(_, value)| value.as_str())
            .to_owned();
        if self.options.trace_request_delay.is_some()
            && !checks.split(',').any(|c| c.trim() == "trace_stall")
        {
            if !checks.trim().is_empty() {
                checks.push(',');
            }
            checks.push_str("trace_stall");
        }
        checks
    }

    /// Waits until the agent printed that its servers run and answers `GET /info`.
    fn wait_ready(&self, child: &mut Child, log_offset: u64, deadline: Instant) -> Result<()> {
        // Printed only after every listener is bound, so a clash can't be mistaken for
        // readiness (another agent may answer /info on a port we failed to bind).
        let banner = format!("Running APM server on port {}", self.port);
        let info_url = format!("{}/info", self.url());
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(Error::AgentExited {
                    status: status.to_string(),
                    log_path: self.log_path.clone(),
                    log: read_log(&self.log_path, log_offset),
                });
            }
            if read_log(&self.log_path, log_offset).contains(&banner)
                && http::http_request_with_timeout(
                    "GET",
                    &info_url,
                    &[],
                    &[],
                    Duration::from_secs(2),
                )
                .is_ok_and(|r| r.status == 200)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::StartTimeout {
                    timeout: self.options.startup_timeout,
                    log_path: self.log_path.clone(),
                    log: read_log(&self.log_path, log_offset),
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        let _ = self.stop();
        if thread::panicking() {
            eprintln!(
                "ddapm-test-agent log (kept for diagnosis): {}",
                self.log_path.display()
            );
        } else if !self.options.keep_log {
            let _ = fs::remove_file(&self.log_path);
        }
    }
}

/// Picks distinct free loopback ports: bind `127.0.0.1:0`, read the port, and release all of them
/// together when dropped (holding them meanwhile keeps the picks distinct).
#[derive(Default)]
struct PortPicker {
    held: Vec<TcpListener>,
}

impl PortPicker {
    fn pick(&mut self) -> Result<u16> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| Error::io("binding 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("reading a bound port", e))?
            .port();
        self.held.push(listener);
        Ok(port)
    }

    fn pick_other_than(&mut self, avoid: &[u16]) -> Result<u16> {
        loop {
            let port = self.pick()?;
            if !avoid.contains(&port) {
                return Ok(port);
            }
        }
    }
}

/// Whether the agent's log says it could not bind a port.
fn is_port_clash(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("address already in use")
        || log.contains("errno 98")
        || log.contains("failed to bind")
        || log.contains("failed to add port")
}

/// How the agent is run: its console script's entry point, in the venv's Python, with a thread
/// that ends the process as soon as its standard input closes. The test process holds the
/// other end of that pipe (in the `Child`), so the agent never outlives it, even when the test
/// process is killed (SIGKILL, a CI timeout) and cannot stop the agent itself.
const LAUNCHER: &str = "\
import os, sys, threading
def _watch_parent():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)
threading.Thread(target=_watch_parent, daemon=True).start()
from ddapm_test_agent.agent import main
sys.argv[0] = 'ddapm-test-agent'
sys.exit(main())
";

/// Kills the child (if still running) and reaps it.
fn kill_and_reap(child: &mut Child) -> Result<()> {
    if let Ok(Some(_)) = child.try_wait() {
        return Ok(());
    }
    // Fails only if the process already exited, which `wait` then reports.
    let _ = child.kill();
    child
        .wait()
        .map(|_| ())
        .map_err(|e| Error::io("waiting for the test agent to exit", e))
}

/// The log file's contents from `offset` on (lossy; empty if unreadable).
fn read_log(path: &Path, offset: u64) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = File::open(path)
        && file.seek(SeekFrom::Start(offset)).is_ok()
    {
        let _ = file.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `Err(Status)` unless the response is 2xx.
pub(crate) fn expect_success(method: &str, url: &str, response: &HttpResponse) -> Result<()> {
    if response.is_success() {
        Ok(())
    } else {
        Err(Error::Status {
            method: method.to_owned(),
            target: url.to_owned(),
            status: response.status,
            reason: response.reason.clone(),
            body: response.text(),
        })
    }
}

/// Parses a response body as JSON, naming the URL on failure.
pub(crate) fn parse_json(url: &str, response: &HttpResponse) -> Result<serde_json::Value> {
    serde_json::from_slice(&response.body).map_err(|source| Error::Json {
        target: url.to_owned(),
        body: response.text(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_port_clashes() {
        assert!(is_port_clash(
            "OSError: [Errno 98] error while attempting to bind on address ('127.0.0.1', 1): address already in use"
        ));
        assert!(!is_port_clash(
            "ModuleNotFoundError: No module named 'aiohttp'"
        ));
    }

    #[test]
    fn labels_come_from_the_test_name() {
        let label = current_test_label();
        assert!(label.ends_with("labels_come_from_the_test_name"), "{label}");
        assert!(
            label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        );
    }

    #[test]
    fn picked_ports_are_distinct() {
        let mut picker = PortPicker::default();
        let a = picker.pick().unwrap();
        let b = picker.pick_other_than(&[a]).unwrap();
        assert_ne!(a, b);
    }
}
