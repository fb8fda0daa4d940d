//! [`ConfigBuilder`]: setters that win over the environment, and `build`.

use std::path::PathBuf;
use std::time::Duration;

use super::env::{ProcessEnv, Reader, parse_dd_tags};
use super::*;
use crate::encode::ApiVersion;
use crate::log;
use crate::propagation::{DEFAULT_PROPAGATION_STYLES, PropagationStyle};
use crate::sampler::SamplingRule;
use crate::span_data::{Str, TagMap};
use crate::tag::TagValue;

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
    logs_injection: Option<bool>,
    agent_url: Option<String>,
    agent_host: Option<String>,
    agent_port: Option<u16>,
    agent_timeout: Option<Duration>,
    agent_ca_cert: Option<PathBuf>,
    output: Option<TraceOutput>,
    api_version: Option<ApiVersion>,
    flush_interval: Option<Duration>,
    max_buffered_spans: Option<usize>,
    max_payload_bytes: Option<usize>,
    shutdown_timeout: Option<Duration>,
    test_session_token: Option<String>,
    sampling_rules: Option<Vec<SamplingRule>>,
    sampling_rules_json: Option<String>,
    span_sampling_rules_json: Option<String>,
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

    /// A tag added to every span (added to `DD_TAGS`, winning on the same key). A `service`,
    /// `env` or `version` tag sets that setting instead, when nothing more specific does.
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

    /// Whether an installed [`LogInjector`](crate::LogInjector) adds the correlation ids to
    /// log records (overrides `DD_LOGS_INJECTION`; default on).
    pub fn logs_injection(mut self, enabled: bool) -> Self {
        self.logs_injection = Some(enabled);
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

    /// A root CA certificate, a PEM file, trusted for `https://` agents besides the platform's
    /// roots (overrides `DD_TRACE_AGENT_CA_CERT`; needs the `tls` feature). The file is read when
    /// the configuration is built; an unreadable file or one without a PEM certificate is
    /// reported once and only the platform's roots are trusted.
    pub fn agent_ca_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.agent_ca_cert = Some(path.into());
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

    /// Single-span sampling rules as the JSON of `DD_SPAN_SAMPLING_RULES` (overrides it and
    /// `DD_SPAN_SAMPLING_RULES_FILE`; invalid rules are reported and skipped): spans kept from
    /// traces the trace sampler drops (see [`SpanSamplingRule`](crate::sampler::SpanSamplingRule)).
    pub fn span_sampling_rules_json(mut self, json: impl Into<String>) -> Self {
        self.span_sampling_rules_json = Some(json.into());
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
        let mut global_tags = TagMap::new();
        if let Some(raw) = r.string("DD_TAGS") {
            for (k, v) in parse_dd_tags(&raw, &mut r.warnings) {
                global_tags.insert(k, TagValue::from(v));
            }
        }
        for (k, v) in self.global_tags {
            global_tags.insert(k, v);
        }
        // A `service`, `env` or `version` tag is that setting when nothing more specific sets
        // it (the reference reads them from `DD_TAGS` the same way), and never a second,
        // conflicting tag: the dedicated setting wins.
        let mut from_tags = |key: &str| {
            global_tags
                .remove(key)
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty())
        };
        let (tag_service, tag_env, tag_version) =
            (from_tags("service"), from_tags("env"), from_tags("version"));
        let service = self
            .service
            .or_else(|| r.string("DD_SERVICE"))
            .or(tag_service)
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        let dd_env = self.env.or_else(|| r.string("DD_ENV")).or(tag_env);
        let version = self
            .version
            .or_else(|| r.string("DD_VERSION"))
            .or(tag_version);

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
        // An open trace holds at most this many finished spans, partial flush or not: a span
        // that never finishes must not hold memory without bound.
        let partial_flush_min_spans = if partial_flush_min_spans > MAX_BUFFERED_SPANS_PER_TRACE {
            let (variable, shown) = match self.partial_flush_min_spans {
                Some(n) => ("partial_flush_min_spans", n.to_string()),
                None => (
                    "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS",
                    partial_flush_min_spans.to_string(),
                ),
            };
            r.reject(
                variable,
                &shown,
                format!(
                    "at most {MAX_BUFFERED_SPANS_PER_TRACE} (an open trace's limit); using \
                     {MAX_BUFFERED_SPANS_PER_TRACE}"
                ),
            );
            MAX_BUFFERED_SPANS_PER_TRACE
        } else {
            partial_flush_min_spans
        };
        let startup_logs = self
            .startup_logs
            .unwrap_or_else(|| r.bool("DD_TRACE_STARTUP_LOGS", false));
        // On by default: nothing is injected unless the application installs a `LogInjector`,
        // so the variable serves to turn an installed one off.
        let logs_injection = self
            .logs_injection
            .unwrap_or_else(|| r.bool("DD_LOGS_INJECTION", true));
        let agent = r.agent(self.agent_url, self.agent_host, self.agent_port);
        let code_timeout = self.agent_timeout.filter(|t| {
            let too_short = *t < Duration::from_millis(1);
            if too_short {
                r.reject(
                    "agent_timeout",
                    &format!("{t:?}"),
                    "under 1 ms every request would time out; ignored (the environment's \
                     value or the default applies)"
                        .into(),
                );
            }
            !too_short
        });
        let agent_timeout = code_timeout.unwrap_or_else(|| {
            // At least a millisecond: a smaller value rounds to no time at all.
            r.parse::<f64>(
                "DD_TRACE_AGENT_TIMEOUT_SECONDS",
                |s| s.is_finite() && *s >= 0.001 && *s < 3600.0,
                "a number of seconds, at least 0.001 and less than 3600",
            )
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_AGENT_TIMEOUT)
        });
        let agent_ca_cert = r.agent_ca_cert(self.agent_ca_cert);

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
                    // `try_from_secs_f64`: a huge, negative or NaN value is out of range,
                    // where `from_secs_f64` would panic.
                    |s| Duration::try_from_secs_f64(*s).is_ok_and(|d| interval_ok(&d)),
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
        let span_sampling_rules = match self.span_sampling_rules_json {
            Some(json) => r.span_sampling_rules("span_sampling_rules", &json),
            None => match r.string("DD_SPAN_SAMPLING_RULES") {
                Some(json) => {
                    if let Some(path) = r.string("DD_SPAN_SAMPLING_RULES_FILE") {
                        r.reject(
                            "DD_SPAN_SAMPLING_RULES_FILE",
                            &path,
                            "ignored: DD_SPAN_SAMPLING_RULES is set too, and wins".to_owned(),
                        );
                    }
                    r.span_sampling_rules("DD_SPAN_SAMPLING_RULES", &json)
                }
                None => match r.string("DD_SPAN_SAMPLING_RULES_FILE") {
                    Some(path) => match std::fs::read_to_string(&path) {
                        Ok(json) => r.span_sampling_rules("DD_SPAN_SAMPLING_RULES_FILE", &json),
                        Err(e) => {
                            r.reject(
                                "DD_SPAN_SAMPLING_RULES_FILE",
                                &path,
                                format!("cannot read the file ({e}); no span sampling rules"),
                            );
                            Vec::new()
                        }
                    },
                    None => Vec::new(),
                },
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
            // Once per distinct problem: two bad entries of one variable are two warnings.
            log::warn_once(
                &format!("config:{}={}:{}", w.variable, w.value, w.message),
                format_args!("{w}"),
            );
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
            logs_injection,
            agent,
            agent_timeout,
            agent_ca_cert,
            output,
            api_version,
            flush_interval,
            max_buffered_spans,
            max_payload_bytes,
            shutdown_timeout,
            test_session_token,
            sampling_rules,
            span_sampling_rules,
            sample_rate,
            rate_limit,
            propagation_style_inject,
            propagation_style_extract,
            x_datadog_tags_max_length,
            warnings: r.warnings,
        }
    }
}
