//! Tracer configuration: a builder, the environment, and the defaults, in that order of precedence.
//!
//! This is the only module that reads the process environment. Every setting has a named
//! `DEFAULT_*` constant; the builder's setters win over `DD_*` variables, which win over the
//! defaults. An invalid value never fails: it is reported once (naming the variable and the value)
//! and the default is used. `docs/configuration.md` is the full reference.
//!
//! # Examples
//!
//! ```
//! use ddtrace_core::Config;
//!
//! let config = Config::builder()
//!     .service("sandwich-svc")
//!     .env("prod")
//!     .version("1.2.3")
//!     .global_tag("team", "kitchen")
//!     .build();
//! assert_eq!(config.service(), "sandwich-svc");
//! ```

use std::collections::HashMap;
use std::time::Duration;

use crate::encode::ApiVersion;
use crate::log;
use crate::propagation::{DEFAULT_PROPAGATION_STYLES, PropagationStyle, parse_style_list};
use crate::sampler::{SamplingRule, parse_sampling_rules};
use crate::span_data::{Str, TagMap};
use crate::tag::TagValue;

/// Service name when neither the code nor `DD_SERVICE` names one.
pub const DEFAULT_SERVICE: &str = "unnamed-rust-service";
/// Whether tracing is on (`DD_TRACE_ENABLED`).
pub const DEFAULT_ENABLED: bool = true;
/// Whether new trace ids are 128-bit (`DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED`).
pub const DEFAULT_TRACE_ID_128: bool = true;
/// Whether big open traces send their finished spans early (`DD_TRACE_PARTIAL_FLUSH_ENABLED`).
pub const DEFAULT_PARTIAL_FLUSH_ENABLED: bool = true;
/// Finished spans that trigger a partial flush (`DD_TRACE_PARTIAL_FLUSH_MIN_SPANS`).
pub const DEFAULT_PARTIAL_FLUSH_MIN_SPANS: usize = 300;
/// Finished spans one open trace may hold when partial flush is off; past it they are sent early
/// anyway, so a span that never finishes cannot hold memory forever.
pub const MAX_BUFFERED_SPANS_PER_TRACE: usize = 10_000;
/// Agent host (`DD_AGENT_HOST`).
pub const DEFAULT_AGENT_HOST: &str = "localhost";
/// Agent trace port (`DD_TRACE_AGENT_PORT`).
pub const DEFAULT_AGENT_PORT: u16 = 8126;
/// The agent's Unix socket, used when nothing else is configured and it exists.
pub const DEFAULT_AGENT_SOCKET: &str = "/var/run/datadog/apm.socket";
/// Request timeout towards the agent (`DD_TRACE_AGENT_TIMEOUT_SECONDS`).
pub const DEFAULT_AGENT_TIMEOUT: Duration = Duration::from_secs(2);
/// Trace intake version asked for (`DD_TRACE_API_VERSION`); v0.5 is used only if the agent's
/// `/info` lists it.
pub const DEFAULT_API_VERSION: ApiVersion = ApiVersion::V04;
/// How often the writer sends what it has buffered (`DD_TRACE_WRITER_INTERVAL_SECONDS`, the
/// name dd-trace-py uses).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Finished spans the writer buffers towards its background thread before it drops new traces
/// (`DD_TRACE_WRITER_MAX_BUFFERED_SPANS`). Spans are what cost memory (a few hundred bytes
/// each); the background thread encodes them at once, so the buffer only fills when the
/// application outruns the encoder or the agent is slow or down.
pub const DEFAULT_MAX_BUFFERED_SPANS: usize = 200_000;
/// Largest request body sent to the agent (`DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES`); the agent
/// accepts 25 MiB, Go caps at 9.5 MiB. A smaller `max_request_bytes` from `/info` wins.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;
/// How long dropping the tracer's writer waits to deliver what it buffered
/// (`DD_TRACE_SHUTDOWN_TIMEOUT_SECONDS`).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Traces per second that sampling rules may keep (`DD_TRACE_RATE_LIMIT`).
pub const DEFAULT_RATE_LIMIT: f64 = 100.0;
/// Longest `x-datadog-tags` header injected or extracted (`DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`;
/// 0 turns the header off).
pub const DEFAULT_X_DATADOG_TAGS_MAX_LENGTH: usize = 512;
/// Propagation styles, both ways, when `DD_TRACE_PROPAGATION_STYLE[_INJECT|_EXTRACT]` are unset.
pub const DEFAULT_PROPAGATION_STYLE: &str = "datadog,tracecontext,baggage";
/// Smallest request body limit accepted from configuration.
const MIN_MAX_PAYLOAD_BYTES: usize = 1024;

/// Where configuration variables come from: the process environment, or a map in tests.
pub trait EnvSource {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    #[allow(clippy::disallowed_methods)] // the one place the environment is read
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvSource for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl EnvSource for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|v| (*v).to_owned())
    }
}

impl<const N: usize> EnvSource for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// One rejected configuration value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The variable (or builder setting) that was rejected.
    pub variable: String,
    /// The rejected value.
    pub value: String,
    /// Why, and what is used instead.
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid {}={:?}: {}",
            self.variable, self.value, self.message
        )
    }
}

/// Where traces go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentEndpoint {
    /// HTTP(S) to `url` (`http://host:port` or `https://host:port`).
    Http {
        /// Base URL, without a trailing slash.
        url: String,
    },
    /// HTTP over a Unix domain socket.
    Unix {
        /// The socket path.
        path: String,
    },
}

/// Where finished traces are written (`DD_TRACE_OUTPUT`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TraceOutput {
    /// To the Datadog Agent ([`Config::agent`]), the default (`agent`).
    #[default]
    Agent,
    /// One JSON line per trace chunk on standard output (`stdout`).
    Stdout,
    /// One JSON line per trace chunk appended to a file (`file:/path`).
    File(std::path::PathBuf),
}

impl TraceOutput {
    /// Parses `agent`, `stdout` or `file:/path`.
    pub fn parse(raw: &str) -> Option<TraceOutput> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("agent") {
            Some(TraceOutput::Agent)
        } else if raw.eq_ignore_ascii_case("stdout") {
            Some(TraceOutput::Stdout)
        } else {
            let path = raw.strip_prefix("file:")?.trim();
            (!path.is_empty()).then(|| TraceOutput::File(path.into()))
        }
    }
}

impl std::fmt::Display for TraceOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceOutput::Agent => f.write_str("agent"),
            TraceOutput::Stdout => f.write_str("stdout"),
            TraceOutput::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// The effective tracer configuration. Build it with [`Config::builder`].
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) service: String,
    pub(crate) env: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) global_tags: TagMap<TagValue>,
    pub(crate) enabled: bool,
    pub(crate) trace_id_128: bool,
    pub(crate) partial_flush_enabled: bool,
    pub(crate) partial_flush_min_spans: usize,
    pub(crate) debug: bool,
    pub(crate) startup_logs: bool,
    pub(crate) agent: AgentEndpoint,
    pub(crate) agent_timeout: Duration,
    pub(crate) output: TraceOutput,
    pub(crate) api_version: ApiVersion,
    pub(crate) flush_interval: Duration,
    pub(crate) max_buffered_spans: usize,
    pub(crate) max_payload_bytes: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) test_session_token: Option<String>,
    pub(crate) sampling_rules: Vec<SamplingRule>,
    pub(crate) sample_rate: Option<f64>,
    pub(crate) rate_limit: f64,
    pub(crate) propagation_style_inject: Vec<PropagationStyle>,
    pub(crate) propagation_style_extract: Vec<PropagationStyle>,
    pub(crate) x_datadog_tags_max_length: usize,
    pub(crate) warnings: Vec<ConfigWarning>,
}

impl Default for Config {
    /// The configuration from the process environment alone.
    fn default() -> Self {
        Config::builder().build()
    }
}

impl Config {
    /// A builder; unset settings come from the environment, then the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The service of spans that name none (`DD_SERVICE`).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The environment (`DD_ENV`), tagged `env` on every span.
    pub fn env(&self) -> Option<&str> {
        self.env.as_deref()
    }

    /// The application version (`DD_VERSION`), tagged `version` on spans of the global service.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Tags added to every span (`DD_TAGS` plus the builder's).
    pub fn global_tags(&self) -> &TagMap<TagValue> {
        &self.global_tags
    }

    /// Whether tracing is on (`DD_TRACE_ENABLED`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether new trace ids are 128-bit.
    pub fn trace_id_128(&self) -> bool {
        self.trace_id_128
    }

    /// Whether partial flush is on.
    pub fn partial_flush_enabled(&self) -> bool {
        self.partial_flush_enabled
    }

    /// Finished spans that trigger a partial flush.
    pub fn partial_flush_min_spans(&self) -> usize {
        self.partial_flush_min_spans
    }

    /// Whether debug logging is on (`DD_TRACE_DEBUG`).
    pub fn debug(&self) -> bool {
        self.debug
    }

    /// Whether a startup line with the effective configuration is logged.
    pub fn startup_logs(&self) -> bool {
        self.startup_logs
    }

    /// Where traces are sent.
    pub fn agent(&self) -> &AgentEndpoint {
        &self.agent
    }

    /// The request timeout towards the agent.
    pub fn agent_timeout(&self) -> Duration {
        self.agent_timeout
    }

    /// Where finished traces are written (`DD_TRACE_OUTPUT`).
    pub fn output(&self) -> &TraceOutput {
        &self.output
    }

    /// The trace intake version asked for (`DD_TRACE_API_VERSION`); v0.5 is used only when the
    /// agent's `/info` lists `/v0.5/traces`.
    pub fn api_version(&self) -> ApiVersion {
        self.api_version
    }

    /// How often the writer sends what it buffered (`DD_TRACE_WRITER_INTERVAL_SECONDS`).
    pub fn flush_interval(&self) -> Duration {
        self.flush_interval
    }

    /// Finished spans buffered towards the writer thread before new traces are dropped
    /// (`DD_TRACE_WRITER_MAX_BUFFERED_SPANS`).
    pub fn max_buffered_spans(&self) -> usize {
        self.max_buffered_spans
    }

    /// Largest request body sent to the agent (`DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES`).
    pub fn max_payload_bytes(&self) -> usize {
        self.max_payload_bytes
    }

    /// How long dropping the writer waits to deliver what it buffered
    /// (`DD_TRACE_SHUTDOWN_TIMEOUT_SECONDS`).
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// The test agent session token sent as `X-Datadog-Test-Session-Token`
    /// (`DD_TEST_SESSION_TOKEN`).
    pub fn test_session_token(&self) -> Option<&str> {
        self.test_session_token.as_deref()
    }

    /// Trace sampling rules (`DD_TRACE_SAMPLING_RULES`), tried in order.
    pub fn sampling_rules(&self) -> &[SamplingRule] {
        &self.sampling_rules
    }

    /// The catch-all sampling rate (`DD_TRACE_SAMPLE_RATE`), tried after the rules.
    pub fn sample_rate(&self) -> Option<f64> {
        self.sample_rate
    }

    /// Traces per second the sampling rules may keep (`DD_TRACE_RATE_LIMIT`).
    pub fn rate_limit(&self) -> f64 {
        self.rate_limit
    }

    /// Styles injected, in order (`DD_TRACE_PROPAGATION_STYLE_INJECT`, else
    /// `DD_TRACE_PROPAGATION_STYLE`); empty for `none`.
    pub fn propagation_style_inject(&self) -> &[PropagationStyle] {
        &self.propagation_style_inject
    }

    /// Styles extracted, in order (`DD_TRACE_PROPAGATION_STYLE_EXTRACT`, else
    /// `DD_TRACE_PROPAGATION_STYLE`); empty for `none`.
    pub fn propagation_style_extract(&self) -> &[PropagationStyle] {
        &self.propagation_style_extract
    }

    /// Longest `x-datadog-tags` header (`DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`; 0: off).
    pub fn x_datadog_tags_max_length(&self) -> usize {
        self.x_datadog_tags_max_length
    }

    /// The values that were rejected while building this configuration (each was also logged once).
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The effective configuration as one JSON object (the startup log line).
    pub fn to_json(&self) -> serde_json::Value {
        let tags: serde_json::Map<String, serde_json::Value> = self
            .global_tags
            .iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_string())))
            .collect();
        let agent_url = match &self.agent {
            AgentEndpoint::Http { url } => url.clone(),
            AgentEndpoint::Unix { path } => format!("unix://{path}"),
        };
        serde_json::json!({
            "lang": "rust",
            "tracer_version": env!("CARGO_PKG_VERSION"),
            "service": self.service,
            "env": self.env,
            "version": self.version,
            "enabled": self.enabled,
            "agent_url": agent_url,
            "agent_timeout_ms": self.agent_timeout.as_millis() as u64,
            "trace_id_128": self.trace_id_128,
            "partial_flush_enabled": self.partial_flush_enabled,
            "partial_flush_min_spans": self.partial_flush_min_spans,
            "debug": self.debug,
            "output": self.output.to_string(),
            "api_version": self.api_version.as_str(),
            "flush_interval_ms": self.flush_interval.as_millis() as u64,
            "max_buffered_spans": self.max_buffered_spans,
            "max_payload_bytes": self.max_payload_bytes,
            "tags": tags,
            "sample_rate": self.sample_rate,
            "rate_limit": self.rate_limit,
            "sampling_rules": self.sampling_rules.iter().map(SamplingRule::describe).collect::<Vec<_>>(),
            "propagation_style_inject": self.propagation_style_inject.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "propagation_style_extract": self.propagation_style_extract.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "x_datadog_tags_max_length": self.x_datadog_tags_max_length,
        })
    }
}

/// Builds a [`Config`]. Setters win over the environment.
#[derive(Clone, Debug, Default)]
#[must_use = "call .build() to get a Config"]
pub struct ConfigBuilder {
    service: Option<String>,
    env: Option<String>,
    version: Option<String>,
    global_tags: Vec<(Str, TagValue)>,
    enabled: Option<bool>,
    trace_id_128: Option<bool>,
    partial_flush_enabled: Option<bool>,
    partial_flush_min_spans: Option<usize>,
    debug: Option<bool>,
    startup_logs: Option<bool>,
    agent_url: Option<String>,
    agent_host: Option<String>,
    agent_port: Option<u16>,
    agent_timeout: Option<Duration>,
    output: Option<TraceOutput>,
    api_version: Option<ApiVersion>,
    flush_interval: Option<Duration>,
    max_buffered_spans: Option<usize>,
    max_payload_bytes: Option<usize>,
    shutdown_timeout: Option<Duration>,
    test_session_token: Option<String>,
    sampling_rules: Option<Vec<SamplingRule>>,
    sampling_rules_json: Option<String>,
    sample_rate: Option<f64>,
    rate_limit: Option<f64>,
    propagation_style: Option<Vec<PropagationStyle>>,
    propagation_style_inject: Option<Vec<PropagationStyle>>,
    propagation_style_extract: Option<Vec<PropagationStyle>>,
    x_datadog_tags_max_length: Option<usize>,
}

impl ConfigBuilder {
    /// The default service (overrides `DD_SERVICE`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The environment (overrides `DD_ENV`).
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.env = Some(env.into());
        self
    }

    /// The application version (overrides `DD_VERSION`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// A tag added to every span (added to `DD_TAGS`, winning on the same key).
    pub fn global_tag(mut self, key: impl Into<Str>, value: impl Into<TagValue>) -> Self {
        self.global_tags.push((key.into(), value.into()));
        self
    }

    /// Turns tracing on or off (overrides `DD_TRACE_ENABLED`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// 128-bit trace ids on or off.
    pub fn trace_id_128(mut self, enabled: bool) -> Self {
        self.trace_id_128 = Some(enabled);
        self
    }

    /// Partial flush on or off.
    pub fn partial_flush(mut self, enabled: bool) -> Self {
        self.partial_flush_enabled = Some(enabled);
        self
    }

    /// Finished spans of an open trace that trigger a partial flush (at least 1).
    pub fn partial_flush_min_spans(mut self, spans: usize) -> Self {
        self.partial_flush_min_spans = Some(spans);
        self
    }

    /// Debug logging on or off (overrides `DD_TRACE_DEBUG`).
    pub fn debug(mut self, enabled: bool) -> Self {
        self.debug = Some(enabled);
        self
    }

    /// The startup configuration line on or off (overrides `DD_TRACE_STARTUP_LOGS`).
    pub fn startup_logs(mut self, enabled: bool) -> Self {
        self.startup_logs = Some(enabled);
        self
    }

    /// The agent URL: `http://host:port`, `https://host:port` or `unix:///path` (overrides
    /// `DD_TRACE_AGENT_URL`, and wins over host and port).
    pub fn agent_url(mut self, url: impl Into<String>) -> Self {
        self.agent_url = Some(url.into());
        self
    }

    /// The agent host (OpenTracing `agent_hostname`; overrides `DD_AGENT_HOST`).
    pub fn agent_host(mut self, host: impl Into<String>) -> Self {
        self.agent_host = Some(host.into());
        self
    }

    /// The agent port (OpenTracing `agent_port`; overrides `DD_TRACE_AGENT_PORT`).
    pub fn agent_port(mut self, port: u16) -> Self {
        self.agent_port = Some(port);
        self
    }

    /// The request timeout towards the agent.
    pub fn agent_timeout(mut self, timeout: Duration) -> Self {
        self.agent_timeout = Some(timeout);
        self
    }

    /// Where finished traces go: the agent (default), or JSON lines on stdout or in a file
    /// (overrides `DD_TRACE_OUTPUT`).
    pub fn output(mut self, output: TraceOutput) -> Self {
        self.output = Some(output);
        self
    }

    /// The trace intake version to use when the agent supports it (overrides
    /// `DD_TRACE_API_VERSION`).
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.api_version = Some(version);
        self
    }

    /// How often the writer sends what it buffered (overrides `DD_TRACE_WRITER_INTERVAL_SECONDS`;
    /// between 1 ms and 1 hour).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = Some(interval);
        self
    }

    /// Finished spans buffered towards the writer thread before new traces are dropped (overrides
    /// `DD_TRACE_WRITER_MAX_BUFFERED_SPANS`; at least 1).
    pub fn max_buffered_spans(mut self, spans: usize) -> Self {
        self.max_buffered_spans = Some(spans);
        self
    }

    /// Largest request body sent to the agent (overrides
    /// `DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES`; at least 1 KiB).
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = Some(bytes);
        self
    }

    /// How long dropping the writer waits to deliver what it buffered (overrides
    /// `DD_TRACE_SHUTDOWN_TIMEOUT_SECONDS`).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// The test agent session token sent as `X-Datadog-Test-Session-Token` (overrides
    /// `DD_TEST_SESSION_TOKEN`).
    pub fn test_session_token(mut self, token: impl Into<String>) -> Self {
        self.test_session_token = Some(token.into());
        self
    }

    /// Trace sampling rules, tried in order (overrides `DD_TRACE_SAMPLING_RULES`).
    pub fn sampling_rules(mut self, rules: Vec<SamplingRule>) -> Self {
        self.sampling_rules = Some(rules);
        self
    }

    /// Trace sampling rules as the JSON of `DD_TRACE_SAMPLING_RULES` (overrides it; invalid
    /// rules are reported and skipped).
    pub fn sampling_rules_json(mut self, json: impl Into<String>) -> Self {
        self.sampling_rules_json = Some(json.into());
        self
    }

    /// The catch-all sampling rate, between 0 and 1 (overrides `DD_TRACE_SAMPLE_RATE`).
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = Some(rate);
        self
    }

    /// Traces per second the sampling rules may keep, 0 or more (overrides
    /// `DD_TRACE_RATE_LIMIT`).
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.rate_limit = Some(per_second);
        self
    }

    /// Propagation styles for both directions (overrides `DD_TRACE_PROPAGATION_STYLE`); empty
    /// for none.
    pub fn propagation_style(mut self, styles: Vec<PropagationStyle>) -> Self {
        self.propagation_style = Some(styles);
        self
    }

    /// Propagation styles injected (overrides `DD_TRACE_PROPAGATION_STYLE_INJECT`).
    pub fn propagation_style_inject(mut self, styles: Vec<PropagationStyle>) -> Self {
        self.propagation_style_inject = Some(styles);
        self
    }

    /// Propagation styles extracted (overrides `DD_TRACE_PROPAGATION_STYLE_EXTRACT`).
    pub fn propagation_style_extract(mut self, styles: Vec<PropagationStyle>) -> Self {
        self.propagation_style_extract = Some(styles);
        self
    }

    /// Longest `x-datadog-tags` header, 0 to turn it off (overrides
    /// `DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`).
    pub fn x_datadog_tags_max_length(mut self, bytes: usize) -> Self {
        self.x_datadog_tags_max_length = Some(bytes);
        self
    }

    /// Builds the configuration, reading unset values from the process environment.
    pub fn build(self) -> Config {
        self.build_from(&ProcessEnv)
    }

    /// Builds the configuration, reading unset values from `env` (tests use a map).
    pub fn build_from(self, env: &dyn EnvSource) -> Config {
        let mut r = Reader {
            env,
            warnings: Vec::new(),
        };
        let debug = self
            .debug
            .unwrap_or_else(|| r.bool("DD_TRACE_DEBUG", false));
        let env_service = r.string("DD_SERVICE");
        let service = self
            .service
            .or(env_service)
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        let dd_env = self.env.or_else(|| r.string("DD_ENV"));
        let version = self.version.or_else(|| r.string("DD_VERSION"));

        let mut global_tags = TagMap::new();
        if let Some(raw) = r.string("DD_TAGS") {
            for (k, v) in parse_dd_tags(&raw, &mut r.warnings) {
                global_tags.insert(k, TagValue::from(v));
            }
        }
        for (k, v) in self.global_tags {
            global_tags.insert(k, v);
        }

        let enabled = self
            .enabled
            .unwrap_or_else(|| r.bool("DD_TRACE_ENABLED", DEFAULT_ENABLED));
        let trace_id_128 = self.trace_id_128.unwrap_or_else(|| {
            r.bool(
                "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED",
                DEFAULT_TRACE_ID_128,
            )
        });
        let partial_flush_enabled = self.partial_flush_enabled.unwrap_or_else(|| {
            r.bool(
                "DD_TRACE_PARTIAL_FLUSH_ENABLED",
                DEFAULT_PARTIAL_FLUSH_ENABLED,
            )
        });
        let partial_flush_min_spans = match self.partial_flush_min_spans {
            Some(0) => {
                r.reject(
                    "partial_flush_min_spans",
                    "0",
                    format!("must be at least 1; using {DEFAULT_PARTIAL_FLUSH_MIN_SPANS}"),
                );
                DEFAULT_PARTIAL_FLUSH_MIN_SPANS
            }
            Some(n) => n,
            None => r
                .parse::<usize>(
                    "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS",
                    |n| *n >= 1,
                    "a whole number of spans, at least 1",
                )
                .unwrap_or(DEFAULT_PARTIAL_FLUSH_MIN_SPANS),
        };
        let startup_logs = self
            .startup_logs
            .unwrap_or_else(|| r.bool("DD_TRACE_STARTUP_LOGS", false));
        let agent = r.agent(self.agent_url, self.agent_host, self.agent_port);
        let agent_timeout = self.agent_timeout.unwrap_or_else(|| {
            r.parse::<f64>(
                "DD_TRACE_AGENT_TIMEOUT_SECONDS",
                |s| s.is_finite() && *s > 0.0 && *s < 3600.0,
                "a positive number of seconds",
            )
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_AGENT_TIMEOUT)
        });

        let output = self.output.unwrap_or_else(|| {
            let Some(raw) = r.string("DD_TRACE_OUTPUT") else {
                return TraceOutput::Agent;
            };
            TraceOutput::parse(&raw).unwrap_or_else(|| {
                r.reject(
                    "DD_TRACE_OUTPUT",
                    &raw,
                    "expected agent, stdout or file:/path; using agent".into(),
                );
                TraceOutput::Agent
            })
        });
        let api_version = self.api_version.unwrap_or_else(|| {
            let Some(raw) = r.string("DD_TRACE_API_VERSION") else {
                return DEFAULT_API_VERSION;
            };
            match raw.to_ascii_lowercase().as_str() {
                "v0.4" | "0.4" => ApiVersion::V04,
                "v0.5" | "0.5" => ApiVersion::V05,
                _ => {
                    r.reject(
                        "DD_TRACE_API_VERSION",
                        &raw,
                        format!("expected v0.4 or v0.5; using {DEFAULT_API_VERSION}"),
                    );
                    DEFAULT_API_VERSION
                }
            }
        });
        let interval_ok =
            |d: &Duration| *d >= Duration::from_millis(1) && *d <= Duration::from_secs(3600);
        let flush_interval = match self.flush_interval {
            Some(d) if interval_ok(&d) => d,
            Some(d) => {
                r.reject(
                    "flush_interval",
                    &format!("{d:?}"),
                    "must be between 1 ms and 1 hour; using 1 s".into(),
                );
                DEFAULT_FLUSH_INTERVAL
            }
            None => r
                .parse::<f64>(
                    "DD_TRACE_WRITER_INTERVAL_SECONDS",
                    |s| s.is_finite() && interval_ok(&Duration::from_secs_f64(s.max(0.0))),
                    "a number of seconds between 0.001 and 3600",
                )
                .map(Duration::from_secs_f64)
                .unwrap_or(DEFAULT_FLUSH_INTERVAL),
        };
        let max_buffered_spans = match self.max_buffered_spans {
            Some(0) => {
                r.reject(
                    "max_buffered_spans",
                    "0",
                    format!("must be at least 1; using {DEFAULT_MAX_BUFFERED_SPANS}"),
                );
                DEFAULT_MAX_BUFFERED_SPANS
            }
            Some(n) => n,
            None => r
                .parse::<usize>(
                    "DD_TRACE_WRITER_MAX_BUFFERED_SPANS",
                    |n| *n >= 1,
                    "a whole number of spans, at least 1",
                )
                .unwrap_or(DEFAULT_MAX_BUFFERED_SPANS),
        };
        let max_payload_bytes = match self.max_payload_bytes {
            Some(n) if n >= MIN_MAX_PAYLOAD_BYTES => n,
            Some(n) => {
                r.reject(
                    "max_payload_bytes",
                    &n.to_string(),
                    format!("must be at least {MIN_MAX_PAYLOAD_BYTES}; using {DEFAULT_MAX_PAYLOAD_BYTES}"),
                );
                DEFAULT_MAX_PAYLOAD_BYTES
            }
            None => r
                .parse::<usize>(
                    "DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES",
                    |n| *n >= MIN_MAX_PAYLOAD_BYTES,
                    "a number of bytes, at least 1024",
                )
                .unwrap_or(DEFAULT_MAX_PAYLOAD_BYTES),
        };
        let shutdown_timeout = self.shutdown_timeout.unwrap_or_else(|| {
            r.parse::<f64>(
                "DD_TRACE_SHUTDOWN_TIMEOUT_SECONDS",
                |s| s.is_finite() && *s >= 0.0 && *s < 3600.0,
                "a number of seconds, 0 or more",
            )
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT)
        });
        let test_session_token = self
            .test_session_token
            .or_else(|| r.string("DD_TEST_SESSION_TOKEN"));

        let sampling_rules = match (self.sampling_rules, self.sampling_rules_json) {
            (Some(rules), _) => rules,
            (None, Some(json)) => r.sampling_rules("sampling_rules", &json),
            (None, None) => match r.string("DD_TRACE_SAMPLING_RULES") {
                Some(json) => r.sampling_rules("DD_TRACE_SAMPLING_RULES", &json),
                None => Vec::new(),
            },
        };
        let rate_ok = |v: &f64| v.is_finite() && (0.0..=1.0).contains(v);
        let sample_rate = match self.sample_rate {
            Some(v) if rate_ok(&v) => Some(v),
            Some(v) => {
                r.reject(
                    "sample_rate",
                    &v.to_string(),
                    "must be between 0 and 1; not used".into(),
                );
                None
            }
            None => r.parse::<f64>("DD_TRACE_SAMPLE_RATE", rate_ok, "a rate between 0 and 1"),
        };
        let limit_ok = |v: &f64| v.is_finite() && *v >= 0.0;
        let rate_limit = match self.rate_limit {
            Some(v) if limit_ok(&v) => v,
            Some(v) => {
                r.reject(
                    "rate_limit",
                    &v.to_string(),
                    format!("must be 0 or more; using {DEFAULT_RATE_LIMIT}"),
                );
                DEFAULT_RATE_LIMIT
            }
            None => r
                .parse::<f64>(
                    "DD_TRACE_RATE_LIMIT",
                    limit_ok,
                    "a number of traces per second, 0 or more",
                )
                .unwrap_or(DEFAULT_RATE_LIMIT),
        };
        // Code (specific, then both ways) beats the environment (specific, then general).
        let code_both = self.propagation_style;
        let env_both = r.styles("DD_TRACE_PROPAGATION_STYLE");
        let env_inject = r.styles("DD_TRACE_PROPAGATION_STYLE_INJECT");
        let env_extract = r.styles("DD_TRACE_PROPAGATION_STYLE_EXTRACT");
        let propagation_style_inject = self
            .propagation_style_inject
            .or_else(|| code_both.clone())
            .or(env_inject)
            .or_else(|| env_both.clone())
            .unwrap_or_else(|| DEFAULT_PROPAGATION_STYLES.to_vec());
        let propagation_style_extract = self
            .propagation_style_extract
            .or(code_both)
            .or(env_extract)
            .or(env_both)
            .unwrap_or_else(|| DEFAULT_PROPAGATION_STYLES.to_vec());
        let x_datadog_tags_max_length = self.x_datadog_tags_max_length.unwrap_or_else(|| {
            r.parse::<usize>(
                "DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH",
                |_| true,
                "a number of bytes, 0 or more",
            )
            .unwrap_or(DEFAULT_X_DATADOG_TAGS_MAX_LENGTH)
        });

        if debug {
            log::set_debug(true);
        }
        for w in &r.warnings {
            log::warn_once(&format!("config:{}", w.variable), format_args!("{w}"));
        }
        Config {
            service,
            env: dd_env,
            version,
            global_tags,
            enabled,
            trace_id_128,
            partial_flush_enabled,
            partial_flush_min_spans,
            debug,
            startup_logs,
            agent,
            agent_timeout,
            output,
            api_version,
            flush_interval,
            max_buffered_spans,
            max_payload_bytes,
            shutdown_timeout,
            test_session_token,
            sampling_rules,
            sample_rate,
            rate_limit,
            propagation_style_inject,
            propagation_style_extract,
            x_datadog_tags_max_length,
            warnings: r.warnings,
        }
    }
}

/// Parses `DD_TAGS`: `k:v` pairs separated by commas or spaces, split on the first `:`.
/// A pair without a key is rejected (warned); a pair without `:` becomes a tag with an empty value.
fn parse_dd_tags(raw: &str, warnings: &mut Vec<ConfigWarning>) -> Vec<(String, String)> {
    let separator: &[char] = if raw.contains(',') { &[','] } else { &[' '] };
    let mut out = Vec::new();
    for item in raw
        .split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (k, v) = item.split_once(':').unwrap_or((item, ""));
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            warnings.push(ConfigWarning {
                variable: "DD_TAGS".into(),
                value: raw.into(),
                message: format!("the entry {item:?} has no key; it is ignored"),
            });
            continue;
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    out
}

struct Reader<'a> {
    env: &'a dyn EnvSource,
    warnings: Vec<ConfigWarning>,
}

impl Reader<'_> {
    fn reject(&mut self, variable: &str, value: &str, message: String) {
        self.warnings.push(ConfigWarning {
            variable: variable.to_owned(),
            value: value.to_owned(),
            message,
        });
    }

    /// A non-empty trimmed string.
    fn string(&mut self, name: &str) -> Option<String> {
        let v = self.env.get(name)?;
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// Sampling rules from JSON; problems are reported under `variable`, naming the value.
    fn sampling_rules(&mut self, variable: &str, json: &str) -> Vec<SamplingRule> {
        let (rules, problems) = parse_sampling_rules(json);
        if !problems.is_empty() {
            self.reject(variable, json, problems.join("; "));
        }
        rules
    }

    /// A propagation style list: `None` when unset or when no entry is a style (warned, the
    /// default applies); `none` alone gives an empty list.
    fn styles(&mut self, name: &str) -> Option<Vec<PropagationStyle>> {
        let raw = self.string(name)?;
        let (styles, unknown) = parse_style_list(&raw);
        if !unknown.is_empty() {
            let fallback = if styles.is_empty() && !raw.to_ascii_lowercase().contains("none") {
                format!("using the default ({DEFAULT_PROPAGATION_STYLE})")
            } else {
                "they are ignored".to_owned()
            };
            self.reject(
                name,
                &raw,
                format!(
                    "unknown style(s) {unknown:?} (expected datadog, tracecontext, b3multi, b3, baggage or none); {fallback}"
                ),
            );
            if styles.is_empty() && !raw.to_ascii_lowercase().contains("none") {
                return None;
            }
        }
        Some(styles)
    }

    fn bool(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.string(name) else {
            return default;
        };
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => {
                self.reject(
                    name,
                    &raw,
                    format!("expected true or false; using the default ({default})"),
                );
                default
            }
        }
    }

    fn parse<T: std::str::FromStr>(
        &mut self,
        name: &str,
        valid: impl Fn(&T) -> bool,
        expected: &str,
    ) -> Option<T> {
        let raw = self.string(name)?;
        match raw.parse::<T>() {
            Ok(v) if valid(&v) => Some(v),
            _ => {
                self.reject(
                    name,
                    &raw,
                    format!("expected {expected}; using the default"),
                );
                None
            }
        }
    }

    fn agent(
        &mut self,
        code_url: Option<String>,
        code_host: Option<String>,
        code_port: Option<u16>,
    ) -> AgentEndpoint {
        if let Some(url) = code_url {
            match parse_agent_url(&url) {
                Ok(endpoint) => return endpoint,
                Err(why) => self.reject("agent_url", &url, why),
            }
        }
        // Host and port set in code win over the environment's URL: the code asked for them.
        if code_host.is_none()
            && code_port.is_none()
            && let Some(url) = self.string("DD_TRACE_AGENT_URL")
        {
            match parse_agent_url(&url) {
                Ok(endpoint) => return endpoint,
                Err(why) => self.reject("DD_TRACE_AGENT_URL", &url, why),
            }
        }
        let env_host = self.string("DD_AGENT_HOST");
        let env_port = self.parse::<u16>(
            "DD_TRACE_AGENT_PORT",
            |p| *p > 0,
            "a TCP port between 1 and 65535",
        );
        let host = code_host.clone().or(env_host.clone());
        let port = code_port.or(env_port);
        if host.is_none() && port.is_none() && std::path::Path::new(DEFAULT_AGENT_SOCKET).exists() {
            return AgentEndpoint::Unix {
                path: DEFAULT_AGENT_SOCKET.to_owned(),
            };
        }
        let host = host.unwrap_or_else(|| DEFAULT_AGENT_HOST.to_owned());
        let port = port.unwrap_or(DEFAULT_AGENT_PORT);
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]") // a bare IPv6 address
        } else {
            host
        };
        AgentEndpoint::Http {
            url: format!("http://{host}:{port}"),
        }
    }
}

/// Parses an agent URL into an endpoint.
pub(crate) fn parse_agent_url(url: &str) -> Result<AgentEndpoint, String> {
    let url = url.trim();
    if let Some(path) = url.strip_prefix("unix://") {
        if path.is_empty() {
            return Err("a unix:// URL needs a socket path; using the default agent".into());
        }
        return Ok(AgentEndpoint::Unix {
            path: path.to_owned(),
        });
    }
    let rest = if let Some(rest) = url.strip_prefix("http://") {
        rest
    } else if let Some(rest) = url.strip_prefix("https://") {
        if !cfg!(feature = "tls") {
            return Err(
                "https:// needs ddtrace-core's `tls` feature; using the default agent".into(),
            );
        }
        rest
    } else {
        return Err(
            "expected http://host:port, https://host:port or unix:///path; using the default agent"
                .into(),
        );
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err("the URL has no host; using the default agent".into());
    }
    if let Some((_, port)) = authority
        .rsplit_once(':')
        .filter(|(h, _)| !h.ends_with(':'))
    {
        // `[::1]` has colons but no port after the bracket.
        if !authority.ends_with(']') && port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!(
                "the port {port:?} is not a valid TCP port; using the default agent"
            ));
        }
    }
    let scheme = if url.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && !p.contains(']'));
    let url = if has_port {
        format!("{scheme}://{authority}")
    } else {
        format!("{scheme}://{authority}:{DEFAULT_AGENT_PORT}")
    };
    Ok(AgentEndpoint::Http { url })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(env: &[(&str, &str)]) -> Config {
        let map: HashMap<&str, &str> = env.iter().copied().collect();
        Config::builder().build_from(&map)
    }

    #[test]
    fn defaults_without_environment() {
        let c = build(&[]);
        assert_eq!(c.service(), DEFAULT_SERVICE);
        assert_eq!(c.env(), None);
        assert_eq!(c.version(), None);
        assert!(c.enabled());
        assert!(c.trace_id_128());
        assert!(c.partial_flush_enabled());
        assert_eq!(c.partial_flush_min_spans(), 300);
        assert!(c.warnings().is_empty());
        assert_eq!(c.agent_timeout(), Duration::from_secs(2));
    }

    #[test]
    fn environment_is_read() {
        let c = build(&[
            ("DD_SERVICE", "svc"),
            ("DD_ENV", "prod"),
            ("DD_VERSION", "1.0"),
            ("DD_TAGS", "team:kitchen,region:eu:west,flag"),
            ("DD_TRACE_ENABLED", "false"),
            ("DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", "0"),
            ("DD_TRACE_PARTIAL_FLUSH_ENABLED", "no"),
            ("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "50"),
            ("DD_TRACE_AGENT_TIMEOUT_SECONDS", "0.5"),
        ]);
        assert_eq!(c.service(), "svc");
        assert_eq!(c.env(), Some("prod"));
        assert_eq!(c.version(), Some("1.0"));
        assert_eq!(
            c.global_tags().get("team"),
            Some(&TagValue::from("kitchen"))
        );
        // Split on the first colon only.
        assert_eq!(
            c.global_tags().get("region"),
            Some(&TagValue::from("eu:west"))
        );
        assert_eq!(c.global_tags().get("flag"), Some(&TagValue::from("")));
        assert!(!c.enabled());
        assert!(!c.trace_id_128());
        assert!(!c.partial_flush_enabled());
        assert_eq!(c.partial_flush_min_spans(), 50);
        assert_eq!(c.agent_timeout(), Duration::from_millis(500));
        assert!(c.warnings().is_empty());
    }

    #[test]
    fn dd_tags_space_separated() {
        let c = build(&[("DD_TAGS", "a:1 b:2  c:x")]);
        let keys: Vec<&str> = c.global_tags().iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(c.global_tags().get("b"), Some(&TagValue::from("2")));
    }

    #[test]
    fn code_beats_environment() {
        let map: HashMap<&str, &str> = [
            ("DD_SERVICE", "env-svc"),
            ("DD_ENV", "env-env"),
            ("DD_TAGS", "k:env"),
            ("DD_TRACE_ENABLED", "false"),
        ]
        .into_iter()
        .collect();
        let c = Config::builder()
            .service("code-svc")
            .env("code-env")
            .global_tag("k", "code")
            .enabled(true)
            .build_from(&map);
        assert_eq!(c.service(), "code-svc");
        assert_eq!(c.env(), Some("code-env"));
        assert_eq!(c.global_tags().get("k"), Some(&TagValue::from("code")));
        assert!(c.enabled());
    }

    #[test]
    fn invalid_values_warn_and_fall_back() {
        let c = build(&[
            ("DD_TRACE_ENABLED", "maybe"),
            ("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "-3"),
            ("DD_TRACE_AGENT_PORT", "99999"),
            ("DD_TRACE_AGENT_TIMEOUT_SECONDS", "NaN"),
            ("DD_TAGS", ":novalue,ok:1"),
        ]);
        assert!(c.enabled());
        assert_eq!(c.partial_flush_min_spans(), 300);
        assert_eq!(c.agent_timeout(), DEFAULT_AGENT_TIMEOUT);
        let vars: Vec<(&str, &str)> = c
            .warnings()
            .iter()
            .map(|w| (w.variable.as_str(), w.value.as_str()))
            .collect();
        assert_eq!(
            vars,
            [
                ("DD_TAGS", ":novalue,ok:1"),
                ("DD_TRACE_ENABLED", "maybe"),
                ("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "-3"),
                ("DD_TRACE_AGENT_PORT", "99999"),
                ("DD_TRACE_AGENT_TIMEOUT_SECONDS", "NaN"),
            ]
        );
        assert_eq!(c.global_tags().get("ok"), Some(&TagValue::from("1")));
        let shown = c.warnings()[1].to_string();
        assert!(
            shown.contains("DD_TRACE_ENABLED") && shown.contains("maybe"),
            "{shown}"
        );
    }

    #[test]
    fn agent_endpoint_resolution() {
        let http = |url: &str| AgentEndpoint::Http { url: url.into() };
        assert_eq!(
            build(&[("DD_TRACE_AGENT_URL", "http://agent:9000")]).agent(),
            &http("http://agent:9000")
        );
        assert_eq!(
            build(&[("DD_TRACE_AGENT_URL", "unix:///tmp/apm.sock")]).agent(),
            &AgentEndpoint::Unix {
                path: "/tmp/apm.sock".into()
            }
        );
        assert_eq!(
            build(&[("DD_AGENT_HOST", "dd"), ("DD_TRACE_AGENT_PORT", "1234")]).agent(),
            &http("http://dd:1234")
        );
        assert_eq!(
            build(&[("DD_AGENT_HOST", "::1")]).agent(),
            &http("http://[::1]:8126")
        );
        assert_eq!(
            build(&[("DD_TRACE_AGENT_URL", "http://agent")]).agent(),
            &http("http://agent:8126")
        );
        // The URL wins over host and port from the environment.
        assert_eq!(
            build(&[
                ("DD_TRACE_AGENT_URL", "http://u:1"),
                ("DD_AGENT_HOST", "h"),
                ("DD_TRACE_AGENT_PORT", "2")
            ])
            .agent(),
            &http("http://u:1")
        );
        // Host and port given in code (OpenTracing agent_hostname/agent_port) win over the env URL.
        let map: HashMap<&str, &str> = [("DD_TRACE_AGENT_URL", "http://u:1")].into();
        let c = Config::builder()
            .agent_host("code-host")
            .agent_port(7777)
            .build_from(&map);
        assert_eq!(c.agent(), &http("http://code-host:7777"));
        // A bad URL warns and falls back.
        let c = build(&[("DD_TRACE_AGENT_URL", "ftp://x")]);
        assert_eq!(c.warnings()[0].variable, "DD_TRACE_AGENT_URL");
        assert!(matches!(
            c.agent(),
            AgentEndpoint::Http { .. } | AgentEndpoint::Unix { .. }
        ));
        let c = build(&[("DD_TRACE_AGENT_URL", "http://x:0")]);
        assert_eq!(c.warnings().len(), 1);
    }

    #[test]
    fn writer_settings_default() {
        let c = build(&[]);
        assert_eq!(c.output(), &TraceOutput::Agent);
        assert_eq!(c.api_version(), ApiVersion::V04);
        assert_eq!(c.flush_interval(), Duration::from_secs(1));
        assert_eq!(c.max_buffered_spans(), DEFAULT_MAX_BUFFERED_SPANS);
        assert_eq!(c.max_payload_bytes(), 10 * 1024 * 1024);
        assert_eq!(c.shutdown_timeout(), DEFAULT_SHUTDOWN_TIMEOUT);
        assert_eq!(c.test_session_token(), None);
    }

    #[test]
    fn writer_settings_from_environment() {
        let c = build(&[
            ("DD_TRACE_OUTPUT", "file:/tmp/traces.jsonl"),
            ("DD_TRACE_API_VERSION", "v0.5"),
            ("DD_TRACE_WRITER_INTERVAL_SECONDS", "0.25"),
            ("DD_TRACE_WRITER_MAX_BUFFERED_SPANS", "5000"),
            ("DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES", "65536"),
            ("DD_TRACE_SHUTDOWN_TIMEOUT_SECONDS", "1.5"),
            ("DD_TEST_SESSION_TOKEN", "tok-1"),
        ]);
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        assert_eq!(c.output(), &TraceOutput::File("/tmp/traces.jsonl".into()));
        assert_eq!(c.api_version(), ApiVersion::V05);
        assert_eq!(c.flush_interval(), Duration::from_millis(250));
        assert_eq!(c.max_buffered_spans(), 5000);
        assert_eq!(c.max_payload_bytes(), 65536);
        assert_eq!(c.shutdown_timeout(), Duration::from_millis(1500));
        assert_eq!(c.test_session_token(), Some("tok-1"));
        assert_eq!(
            build(&[("DD_TRACE_OUTPUT", "STDOUT")]).output(),
            &TraceOutput::Stdout
        );
        assert_eq!(
            build(&[("DD_TRACE_API_VERSION", "0.4")]).api_version(),
            ApiVersion::V04
        );
    }

    #[test]
    fn writer_settings_code_beats_environment() {
        let map: HashMap<&str, &str> = [
            ("DD_TRACE_OUTPUT", "stdout"),
            ("DD_TRACE_API_VERSION", "v0.4"),
            ("DD_TEST_SESSION_TOKEN", "env-token"),
            ("DD_TRACE_WRITER_MAX_BUFFERED_SPANS", "7"),
        ]
        .into();
        let c = Config::builder()
            .output(TraceOutput::Agent)
            .api_version(ApiVersion::V05)
            .test_session_token("code-token")
            .max_buffered_spans(9)
            .flush_interval(Duration::from_millis(20))
            .max_payload_bytes(4096)
            .shutdown_timeout(Duration::ZERO)
            .build_from(&map);
        assert_eq!(c.output(), &TraceOutput::Agent);
        assert_eq!(c.api_version(), ApiVersion::V05);
        assert_eq!(c.test_session_token(), Some("code-token"));
        assert_eq!(c.max_buffered_spans(), 9);
        assert_eq!(c.flush_interval(), Duration::from_millis(20));
        assert_eq!(c.max_payload_bytes(), 4096);
        assert_eq!(c.shutdown_timeout(), Duration::ZERO);
    }

    #[test]
    fn invalid_writer_settings_warn_and_fall_back() {
        let c = build(&[
            ("DD_TRACE_OUTPUT", "kafka"),
            ("DD_TRACE_API_VERSION", "v0.7"),
            ("DD_TRACE_WRITER_INTERVAL_SECONDS", "0"),
            ("DD_TRACE_WRITER_MAX_BUFFERED_SPANS", "0"),
            ("DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES", "12"),
            ("DD_TRACE_SHUTDOWN_TIMEOUT_SECONDS", "-1"),
        ]);
        assert_eq!(c.output(), &TraceOutput::Agent);
        assert_eq!(c.api_version(), DEFAULT_API_VERSION);
        assert_eq!(c.flush_interval(), DEFAULT_FLUSH_INTERVAL);
        assert_eq!(c.max_buffered_spans(), DEFAULT_MAX_BUFFERED_SPANS);
        assert_eq!(c.max_payload_bytes(), DEFAULT_MAX_PAYLOAD_BYTES);
        assert_eq!(c.shutdown_timeout(), DEFAULT_SHUTDOWN_TIMEOUT);
        let vars: Vec<(&str, &str)> = c
            .warnings()
            .iter()
            .map(|w| (w.variable.as_str(), w.value.as_str()))
            .collect();
        assert_eq!(
            vars,
            [
                ("DD_TRACE_OUTPUT", "kafka"),
                ("DD_TRACE_API_VERSION", "v0.7"),
                ("DD_TRACE_WRITER_INTERVAL_SECONDS", "0"),
                ("DD_TRACE_WRITER_MAX_BUFFERED_SPANS", "0"),
                ("DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES", "12"),
                ("DD_TRACE_SHUTDOWN_TIMEOUT_SECONDS", "-1"),
            ]
        );
        assert_eq!(build(&[("DD_TRACE_OUTPUT", "file:")]).warnings().len(), 1);
        let c = Config::builder()
            .max_buffered_spans(0)
            .flush_interval(Duration::ZERO)
            .max_payload_bytes(10)
            .build_from(&HashMap::<&str, &str>::new());
        assert_eq!(c.max_buffered_spans(), DEFAULT_MAX_BUFFERED_SPANS);
        assert_eq!(c.flush_interval(), DEFAULT_FLUSH_INTERVAL);
        assert_eq!(c.max_payload_bytes(), DEFAULT_MAX_PAYLOAD_BYTES);
        assert_eq!(c.warnings().len(), 3);
    }

    #[test]
    fn sampling_and_propagation_defaults() {
        let c = build(&[]);
        assert!(c.sampling_rules().is_empty());
        assert_eq!(c.sample_rate(), None);
        assert_eq!(c.rate_limit(), DEFAULT_RATE_LIMIT);
        assert_eq!(c.propagation_style_inject(), DEFAULT_PROPAGATION_STYLES);
        assert_eq!(c.propagation_style_extract(), DEFAULT_PROPAGATION_STYLES);
        assert_eq!(
            c.x_datadog_tags_max_length(),
            DEFAULT_X_DATADOG_TAGS_MAX_LENGTH
        );
        assert_eq!(
            parse_style_list(DEFAULT_PROPAGATION_STYLE).0,
            DEFAULT_PROPAGATION_STYLES
        );
    }

    #[test]
    fn sampling_and_propagation_from_environment() {
        use PropagationStyle::*;
        let c = build(&[
            (
                "DD_TRACE_SAMPLING_RULES",
                r#"[{"service":"a*","sample_rate":0.5},{"name":"x","sample_rate":1}]"#,
            ),
            ("DD_TRACE_SAMPLE_RATE", "0.25"),
            ("DD_TRACE_RATE_LIMIT", "7"),
            ("DD_TRACE_PROPAGATION_STYLE", "b3multi,tracecontext"),
            ("DD_TRACE_PROPAGATION_STYLE_EXTRACT", "none"),
            ("DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH", "0"),
        ]);
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        assert_eq!(c.sampling_rules().len(), 2);
        assert_eq!(c.sampling_rules()[0].sample_rate(), 0.5);
        assert_eq!(c.sample_rate(), Some(0.25));
        assert_eq!(c.rate_limit(), 7.0);
        assert_eq!(c.propagation_style_inject(), [B3Multi, TraceContext]);
        assert!(c.propagation_style_extract().is_empty());
        assert_eq!(c.x_datadog_tags_max_length(), 0);
        let j = c.to_json();
        assert_eq!(j["propagation_style_inject"][0], "b3multi");
        assert_eq!(j["sample_rate"], 0.25);
    }

    #[test]
    fn sampling_and_propagation_code_beats_environment() {
        use PropagationStyle::*;
        let map: HashMap<&str, &str> = [
            ("DD_TRACE_SAMPLING_RULES", r#"[{"sample_rate":1}]"#),
            ("DD_TRACE_SAMPLE_RATE", "0.1"),
            ("DD_TRACE_RATE_LIMIT", "1"),
            ("DD_TRACE_PROPAGATION_STYLE_INJECT", "b3"),
        ]
        .into();
        let c = Config::builder()
            .sampling_rules_json(r#"[{"sample_rate":0},{"sample_rate":0.5}]"#)
            .sample_rate(0.9)
            .rate_limit(50.0)
            .propagation_style(vec![Datadog])
            .propagation_style_extract(vec![Baggage])
            .x_datadog_tags_max_length(100)
            .build_from(&map);
        assert_eq!(c.sampling_rules().len(), 2);
        assert_eq!(c.sample_rate(), Some(0.9));
        assert_eq!(c.rate_limit(), 50.0);
        // Code (specific, then both ways) beats the environment.
        assert_eq!(c.propagation_style_inject(), [Datadog]);
        assert_eq!(c.propagation_style_extract(), [Baggage]);
        assert_eq!(c.x_datadog_tags_max_length(), 100);
        let c = Config::builder()
            .sampling_rules(vec![SamplingRule::new(0.3)])
            .propagation_style_inject(vec![])
            .build_from(&map);
        assert_eq!(c.sampling_rules()[0].sample_rate(), 0.3);
        assert!(c.propagation_style_inject().is_empty());
    }

    #[test]
    fn invalid_sampling_and_propagation_warn() {
        let rules = r#"[{"service":"a"},{"sample_rate":0.5}]"#;
        let c = build(&[
            ("DD_TRACE_SAMPLING_RULES", rules),
            ("DD_TRACE_SAMPLE_RATE", "1.5"),
            ("DD_TRACE_RATE_LIMIT", "-1"),
            ("DD_TRACE_PROPAGATION_STYLE", "jaeger"),
            ("DD_TRACE_PROPAGATION_STYLE_EXTRACT", "datadog,xray"),
            ("DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH", "big"),
        ]);
        assert_eq!(c.sampling_rules().len(), 1, "the valid rule is kept");
        assert_eq!(c.sample_rate(), None);
        assert_eq!(c.rate_limit(), DEFAULT_RATE_LIMIT);
        assert_eq!(c.propagation_style_inject(), DEFAULT_PROPAGATION_STYLES);
        assert_eq!(c.propagation_style_extract(), [PropagationStyle::Datadog]);
        assert_eq!(
            c.x_datadog_tags_max_length(),
            DEFAULT_X_DATADOG_TAGS_MAX_LENGTH
        );
        let vars: Vec<(&str, &str)> = c
            .warnings()
            .iter()
            .map(|w| (w.variable.as_str(), w.value.as_str()))
            .collect();
        assert_eq!(
            vars,
            [
                ("DD_TRACE_SAMPLING_RULES", rules),
                ("DD_TRACE_SAMPLE_RATE", "1.5"),
                ("DD_TRACE_RATE_LIMIT", "-1"),
                ("DD_TRACE_PROPAGATION_STYLE", "jaeger"),
                ("DD_TRACE_PROPAGATION_STYLE_EXTRACT", "datadog,xray"),
                ("DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH", "big"),
            ]
        );
        assert!(c.warnings()[0].message.contains("no sample_rate"));
        let c = build(&[("DD_TRACE_SAMPLING_RULES", "not json")]);
        assert!(c.sampling_rules().is_empty());
        assert!(c.warnings()[0].message.contains("invalid JSON"));
    }

    #[test]
    fn startup_json_names_the_effective_values() {
        let c = Config::builder()
            .service("s")
            .env("e")
            .agent_url("http://127.0.0.1:1")
            .build_from(&HashMap::<&str, &str>::new());
        let j = c.to_json();
        assert_eq!(j["service"], "s");
        assert_eq!(j["env"], "e");
        assert_eq!(j["agent_url"], "http://127.0.0.1:1");
        assert_eq!(j["lang"], "rust");
    }
}
