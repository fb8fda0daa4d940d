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

use std::time::Duration;

use crate::encode::ApiVersion;
use crate::propagation::PropagationStyle;
use crate::sampler::{SamplingRule, SpanSamplingRule};
use crate::span_data::TagMap;
use crate::tag::TagValue;

mod agent;
mod builder;
mod env;
#[cfg(test)]
mod tests;

pub use agent::{AgentEndpoint, TraceOutput};
pub use builder::ConfigBuilder;
pub use env::{ConfigWarning, EnvSource, ProcessEnv};

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
    pub(crate) logs_injection: bool,
    pub(crate) agent: AgentEndpoint,
    pub(crate) agent_timeout: Duration,
    pub(crate) agent_ca_cert: Option<agent::AgentCaCert>,
    pub(crate) output: TraceOutput,
    pub(crate) api_version: ApiVersion,
    pub(crate) flush_interval: Duration,
    pub(crate) max_buffered_spans: usize,
    pub(crate) max_payload_bytes: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) test_session_token: Option<String>,
    pub(crate) sampling_rules: Vec<SamplingRule>,
    pub(crate) span_sampling_rules: Vec<SpanSamplingRule>,
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

    /// Whether an installed [`LogInjector`](crate::LogInjector) adds the correlation ids to
    /// log records (`DD_LOGS_INJECTION`, default on).
    pub fn logs_injection(&self) -> bool {
        self.logs_injection
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

    /// Single-span sampling rules (`DD_SPAN_SAMPLING_RULES`, or the file
    /// `DD_SPAN_SAMPLING_RULES_FILE` names), tried in order on the spans of dropped traces.
    pub fn span_sampling_rules(&self) -> &[SpanSamplingRule] {
        &self.span_sampling_rules
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
            "logs_injection": self.logs_injection,
            "output": self.output.to_string(),
            "api_version": self.api_version.as_str(),
            "flush_interval_ms": self.flush_interval.as_millis() as u64,
            "max_buffered_spans": self.max_buffered_spans,
            "max_payload_bytes": self.max_payload_bytes,
            "tags": tags,
            "sample_rate": self.sample_rate,
            "rate_limit": self.rate_limit,
            "sampling_rules": self.sampling_rules.iter().map(SamplingRule::describe).collect::<Vec<_>>(),
            "span_sampling_rules": self.span_sampling_rules.iter().map(SpanSamplingRule::describe).collect::<Vec<_>>(),
            "propagation_style_inject": self.propagation_style_inject.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "propagation_style_extract": self.propagation_style_extract.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "x_datadog_tags_max_length": self.x_datadog_tags_max_length,
        })
    }
}
