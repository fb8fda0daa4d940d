//! The tracer configuration: the reference's `config={...}` dictionary as a plain struct.

use std::collections::BTreeMap;

use ddtrace_core::{AgentEndpoint, ConfigBuilder};

/// The configuration of a [`Tracer`](crate::Tracer), like the reference's
/// `Tracer(service_name, config={"agent_hostname": ..., "agent_port": ...})`.
///
/// Every field is optional: a field left `None` falls back to ddtrace-core's environment
/// variables (`DD_AGENT_HOST`, `DD_TRACE_AGENT_PORT`, `DD_TRACE_AGENT_URL`, `DD_TAGS`,
/// `DD_TRACE_ENABLED`, `DD_TRACE_DEBUG`, ...), then to its defaults. A field given here wins
/// over the environment. Everything else ddtrace-core reads from the environment (`DD_ENV`,
/// `DD_VERSION`, partial flush, writer settings, ...) still applies.
///
/// | field | reference key | ddtrace-core |
/// |---|---|---|
/// | `agent_hostname` | `agent_hostname` | [`ConfigBuilder::agent_host`] |
/// | `agent_port` | `agent_port` | [`ConfigBuilder::agent_port`] |
/// | `agent_https` | `agent_https` | an `https://host:port` [`ConfigBuilder::agent_url`] (needs the `tls` feature) |
/// | `uds_path` | `uds_path` | a `unix://` [`ConfigBuilder::agent_url`] |
/// | `agent_url` | (`DD_TRACE_AGENT_URL`) | [`ConfigBuilder::agent_url`], wins over the four above |
/// | `global_tags` | `global_tags` | [`ConfigBuilder::global_tag`] for each |
/// | `sample_rate` | `sampler` (`DD_TRACE_SAMPLE_RATE`) | [`ConfigBuilder::sample_rate`] |
/// | `sampling_rules` | `sampler` (`DD_TRACE_SAMPLING_RULES`) | [`ConfigBuilder::sampling_rules_json`] |
/// | `rate_limit` | `sampler` (`DD_TRACE_RATE_LIMIT`) | [`ConfigBuilder::rate_limit`] |
/// | `enabled` | `enabled` | [`ConfigBuilder::enabled`] |
/// | `debug` | `debug` | [`ConfigBuilder::debug`] |
/// | `test_session_token` | | [`ConfigBuilder::test_session_token`] (ddapm-test-agent sessions) |
///
/// For any other ddtrace-core setting, build the core configuration yourself from
/// [`Config::to_core_builder`] and use [`Tracer::from_core`](crate::Tracer::from_core).
///
/// # Examples
///
/// ```
/// use ddtrace_opentracer::{Config, Tracer};
///
/// let config = Config {
///     agent_hostname: Some("localhost".into()),
///     agent_port: Some(8126),
///     ..Default::default()
/// };
/// let tracer = Tracer::new("my-service", config);
/// assert_eq!(tracer.core().config().service(), "my-service");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// The agent host (`agent_hostname`; default `DD_AGENT_HOST`, then `localhost`).
    pub agent_hostname: Option<String>,
    /// The agent trace port (`agent_port`; default `DD_TRACE_AGENT_PORT`, then 8126).
    pub agent_port: Option<u16>,
    /// Talk to the agent over HTTPS (`agent_https`). Needs this crate's `tls` feature.
    pub agent_https: Option<bool>,
    /// The agent's Unix domain socket (`uds_path`); wins over host, port and HTTPS.
    pub uds_path: Option<String>,
    /// A full agent URL (`http://`, `https://` or `unix://`); wins over every field above.
    pub agent_url: Option<String>,
    /// Tags added to every span (`global_tags`), added to `DD_TAGS`.
    pub global_tags: Option<BTreeMap<String, String>>,
    /// The catch-all trace sample rate, between 0 and 1 (default `DD_TRACE_SAMPLE_RATE`).
    pub sample_rate: Option<f64>,
    /// Sampling rules, as the JSON array of `DD_TRACE_SAMPLING_RULES`, e.g.
    /// `[{"service":"web","sample_rate":0.5}]` (invalid rules are reported and skipped).
    pub sampling_rules: Option<String>,
    /// Traces per second the sampling rules may keep (default `DD_TRACE_RATE_LIMIT`).
    pub rate_limit: Option<f64>,
    /// Tracing on or off (`enabled`; default `DD_TRACE_ENABLED`, then on).
    pub enabled: Option<bool>,
    /// Debug logging (`debug`; default `DD_TRACE_DEBUG`, then off).
    pub debug: Option<bool>,
    /// The ddapm-test-agent session token sent with every payload (tests).
    pub test_session_token: Option<String>,
}

impl Config {
    /// The ddtrace-core builder this configuration maps onto, for the service `service`.
    ///
    /// Use it to set what this struct does not have, then build a tracer with
    /// [`Tracer::from_core`](crate::Tracer::from_core):
    ///
    /// ```
    /// use ddtrace_opentracer::{Config, Tracer};
    ///
    /// let core = Config::default().to_core_builder("svc").env("staging").build();
    /// let tracer = Tracer::from_core(ddtrace_core::Tracer::new(core));
    /// assert_eq!(tracer.core().config().env(), Some("staging"));
    /// ```
    pub fn to_core_builder(&self, service: impl Into<String>) -> ConfigBuilder {
        let mut b = ddtrace_core::Config::builder().service(service);
        if let Some(host) = &self.agent_hostname {
            b = b.agent_host(host.clone());
        }
        if let Some(port) = self.agent_port {
            b = b.agent_port(port);
        }
        if let Some(url) = self.endpoint_url(&b) {
            b = b.agent_url(url);
        }
        for (k, v) in self.global_tags.iter().flatten() {
            b = b.global_tag(k.clone(), v.clone());
        }
        if let Some(rate) = self.sample_rate {
            b = b.sample_rate(rate);
        }
        if let Some(rules) = &self.sampling_rules {
            b = b.sampling_rules_json(rules.clone());
        }
        if let Some(limit) = self.rate_limit {
            b = b.rate_limit(limit);
        }
        if let Some(enabled) = self.enabled {
            b = b.enabled(enabled);
        }
        if let Some(debug) = self.debug {
            b = b.debug(debug);
        }
        if let Some(token) = &self.test_session_token {
            b = b.test_session_token(token.clone());
        }
        b
    }

    /// The agent URL to set explicitly, if the fields call for one.
    fn endpoint_url(&self, host_and_port: &ConfigBuilder) -> Option<String> {
        if let Some(url) = &self.agent_url {
            return Some(url.clone());
        }
        if let Some(path) = &self.uds_path {
            return Some(format!("unix://{path}"));
        }
        if self.agent_https != Some(true) {
            return None;
        }
        // Resolve host and port as ddtrace-core would (code, then environment, then
        // defaults), and switch the scheme.
        match host_and_port.clone().build().agent() {
            AgentEndpoint::Http { url } => Some(match url.strip_prefix("http://") {
                Some(rest) => format!("https://{rest}"),
                None => url.clone(),
            }),
            AgentEndpoint::Unix { .. } => {
                let host = self.agent_hostname.as_deref().unwrap_or("localhost");
                let port = self.agent_port.unwrap_or(ddtrace_core::DEFAULT_AGENT_PORT);
                Some(format!("https://{host}:{port}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn build(config: &Config) -> ddtrace_core::Config {
        config
            .to_core_builder("svc")
            .build_from(&HashMap::<&str, &str>::new())
    }

    fn url(config: &ddtrace_core::Config) -> String {
        match config.agent() {
            AgentEndpoint::Http { url } => url.clone(),
            AgentEndpoint::Unix { path } => format!("unix:{path}"),
        }
    }

    #[test]
    fn host_and_port_map_onto_the_agent_url() {
        let core = build(&Config {
            agent_hostname: Some("agent.local".into()),
            agent_port: Some(9999),
            ..Default::default()
        });
        assert_eq!(core.service(), "svc");
        assert_eq!(url(&core), "http://agent.local:9999");
    }

    #[test]
    fn https_switches_the_scheme() {
        let config = Config {
            agent_hostname: Some("agent.local".into()),
            agent_port: Some(443),
            agent_https: Some(true),
            ..Default::default()
        };
        let builder = ddtrace_core::Config::builder()
            .agent_host("agent.local")
            .agent_port(443);
        // (Building it needs the `tls` feature; the URL is what matters here.)
        assert_eq!(
            config.endpoint_url(&builder).as_deref(),
            Some("https://agent.local:443")
        );
        assert_eq!(Config::default().endpoint_url(&builder), None);
    }

    #[test]
    fn uds_path_and_agent_url_win() {
        let core = build(&Config {
            agent_hostname: Some("ignored".into()),
            uds_path: Some("/tmp/apm.sock".into()),
            ..Default::default()
        });
        assert_eq!(url(&core), "unix:/tmp/apm.sock");
        let core = build(&Config {
            uds_path: Some("/tmp/apm.sock".into()),
            agent_url: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        });
        assert_eq!(url(&core), "http://127.0.0.1:1");
    }

    #[test]
    fn tags_switches_and_token_are_applied() {
        let core = build(&Config {
            global_tags: Some(BTreeMap::from([("team".into(), "kitchen".into())])),
            enabled: Some(false),
            debug: Some(false),
            test_session_token: Some("tok".into()),
            sample_rate: Some(0.25),
            sampling_rules: Some(r#"[{"service":"svc","sample_rate":0.5}]"#.into()),
            rate_limit: Some(7.0),
            ..Default::default()
        });
        assert_eq!(core.sample_rate(), Some(0.25));
        assert_eq!(core.sampling_rules().len(), 1);
        assert_eq!(core.rate_limit(), 7.0);
        assert_eq!(
            core.global_tags().get("team"),
            Some(&ddtrace_core::TagValue::from("kitchen"))
        );
        assert!(!core.enabled());
        assert!(!core.debug());
        assert_eq!(core.test_session_token(), Some("tok"));
    }
}
