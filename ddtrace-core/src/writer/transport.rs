//! HTTP to the agent: the reqwest client (TCP or Unix socket), the request headers, status
//! classification and retries, `rate_by_service` and `Datadog-Agent-State` from responses, and
//! `GET /info`.
//!
//! With the `tls` feature, `https://` agents are verified against the platform's root
//! certificates plus the extra root CA of `DD_TRACE_AGENT_CA_CERT`, if any.
//!
//! Every request carries these headers (protocol §1):
//!
//! | header | value |
//! |---|---|
//! | `Content-Type` | `application/msgpack` |
//! | `Content-Length` | the buffered body's length (never chunked) |
//! | `X-Datadog-Trace-Count` | chunks in the payload |
//! | `Datadog-Meta-Lang` | `rust` |
//! | `Datadog-Meta-Lang-Version` | the rustc version that built the tracer |
//! | `Datadog-Meta-Tracer-Version` | this crate's version |
//! | `Datadog-Client-Computed-Top-Level` | `yes` (the tracer sets `_dd.top_level`) |
//! | `Datadog-Send-Real-Http-Status` | `true`: an overloaded agent answers 429 (retried, then counted), not a 200 that drops the traces |
//! | `Datadog-Container-ID` | when found in `/proc/self/cgroup` |
//! | `Datadog-Entity-ID` | in a container: `ci-<container id>`, else `in-<inode of the cgroup directory>` (see `container.rs`) |
//! | `X-Datadog-Test-Session-Token` | when configured (`DD_TEST_SESSION_TOKEN`) |

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::info::AgentInfo;
use super::retry::{Backoff, Jitter};
use super::stats::Counters;
use crate::config::{AgentEndpoint, Config};
use crate::encode::ApiVersion;

/// The rustc version the tracer was built with (from `build.rs`).
pub(crate) const RUSTC_VERSION: &str = env!("DDTRACE_RUSTC_VERSION");
/// This crate's version.
pub(crate) const TRACER_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Header naming the test agent session.
pub(crate) const TEST_SESSION_TOKEN_HEADER: &str = "X-Datadog-Test-Session-Token";
/// Response header whose change means the agent's `/info` changed.
pub(crate) const AGENT_STATE_HEADER: &str = "Datadog-Agent-State";
/// At most this much of a refusal's body is logged.
const MAX_REASON_CHARS: usize = 1000;

/// What to do with a response status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// 2xx: delivered.
    Delivered,
    /// 408, 429, 5xx: try again later.
    Retry,
    /// 404/415 to a v0.5 request: the agent has no v0.5 endpoint; re-send in v0.4.
    Fallback,
    /// Anything else (400 decode error or failed check, 413 too large, ...): retrying would not
    /// help.
    Reject,
}

/// Classifies a response status for a request sent in `version`.
pub(crate) fn classify(status: u16, version: ApiVersion) -> Class {
    match status {
        200..=299 => Class::Delivered,
        408 | 429 | 500..=599 => Class::Retry,
        404 | 415 if version == ApiVersion::V05 => Class::Fallback,
        _ => Class::Reject,
    }
}

/// The result of sending one payload, retries included.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Accepted.
    Delivered {
        /// `rate_by_service` from the body, if any.
        rates: Option<HashMap<String, f64>>,
        /// The `Datadog-Agent-State` header, if any.
        agent_state: Option<String>,
    },
    /// Refused for good (the reason is the response body).
    Rejected { status: u16, reason: String },
    /// The v0.5 endpoint is missing.
    Fallback { status: u16 },
    /// Every attempt failed (connection errors, timeouts, 408/429/5xx).
    Failed { reason: String },
}

/// The headers every trace request carries, besides `Content-Length` and
/// `X-Datadog-Trace-Count`.
pub(crate) fn static_headers(
    token: Option<&str>,
    identity: &super::container::Identity,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("Content-Type", "application/msgpack".to_owned()),
        ("Datadog-Meta-Lang", "rust".to_owned()),
        ("Datadog-Meta-Lang-Version", RUSTC_VERSION.to_owned()),
        ("Datadog-Meta-Tracer-Version", TRACER_VERSION.to_owned()),
        ("Datadog-Client-Computed-Top-Level", "yes".to_owned()),
        ("Datadog-Send-Real-Http-Status", "true".to_owned()),
    ];
    if let Some(id) = &identity.container_id {
        headers.push(("Datadog-Container-ID", id.clone()));
    }
    if let Some(id) = &identity.entity_id {
        headers.push(("Datadog-Entity-ID", id.clone()));
    }
    if let Some(token) = token {
        headers.push((TEST_SESSION_TOKEN_HEADER, token.to_owned()));
    }
    headers
}

/// Parses `rate_by_service` from a 200 response body; `None` when absent or empty.
pub(crate) fn parse_rates(body: &[u8]) -> Option<HashMap<String, f64>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let table = value.get("rate_by_service")?.as_object()?;
    let rates: HashMap<String, f64> = table
        .iter()
        .filter_map(|(k, v)| v.as_f64().map(|r| (k.clone(), r)))
        .collect();
    (!rates.is_empty()).then_some(rates)
}

/// The HTTP client towards the agent.
#[derive(Debug)]
pub(crate) struct Transport {
    client: reqwest::Client,
    base: String,
    headers: HeaderMap,
    timeout: Duration,
    backoff: Backoff,
    counters: Arc<Counters>,
}

impl Transport {
    /// A client for `config.agent()`. Fails only if the HTTP client cannot be built.
    pub(crate) fn new(
        config: &Config,
        counters: Arc<Counters>,
        backoff: Backoff,
    ) -> Result<Transport, String> {
        let timeout = config.agent_timeout();
        let (client, base) = build_client(config)?;
        let identity = super::container::identity();
        let mut headers = HeaderMap::new();
        for (name, value) in static_headers(config.test_session_token(), &identity) {
            let name = HeaderName::from_static_lowercase(name);
            match HeaderValue::from_str(&value) {
                Ok(value) => {
                    headers.insert(name, value);
                }
                Err(_) => {
                    crate::log::warn_once(
                        "writer:header",
                        format_args!("the value of {name} is not a valid header value: {value:?}"),
                    );
                }
            }
        }
        Ok(Transport {
            client,
            base,
            headers,
            timeout,
            backoff,
            counters,
        })
    }

    /// `GET /info`, once (no retry).
    pub(crate) async fn info(&self) -> Result<AgentInfo, String> {
        let response = self
            .client
            .get(format!("{}/info", self.base))
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| describe(&e))?;
        if status != 200 {
            return Err(format!("GET /info answered {status}"));
        }
        AgentInfo::parse(&body).ok_or_else(|| "GET /info answered something else than JSON".into())
    }

    /// Sends one payload of `traces` chunks, retrying as [`Backoff`] says.
    pub(crate) async fn send(
        &self,
        body: bytes::Bytes,
        version: ApiVersion,
        traces: usize,
    ) -> Outcome {
        let request = self
            .client
            .put(format!("{}{}", self.base, version.path()))
            .headers(self.headers.clone())
            .header("X-Datadog-Trace-Count", traces.to_string())
            .body(body);
        let mut jitter = Jitter::new();
        let mut attempt = 1;
        loop {
            let Some(this_try) = request.try_clone() else {
                return Outcome::Failed {
                    reason: "the request could not be built".into(),
                };
            };
            let failure = match this_try.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let agent_state = response
                        .headers()
                        .get(AGENT_STATE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    match classify(status, version) {
                        Class::Delivered => {
                            let body = response.bytes().await.unwrap_or_default();
                            return Outcome::Delivered {
                                rates: parse_rates(&body),
                                agent_state,
                            };
                        }
                        Class::Fallback => return Outcome::Fallback { status },
                        Class::Reject => {
                            let body = response.text().await.unwrap_or_default();
                            let reason: String = body.chars().take(MAX_REASON_CHARS).collect();
                            return Outcome::Rejected { status, reason };
                        }
                        Class::Retry => format!("the agent answered {status}"),
                    }
                }
                Err(e) => describe(&e),
            };
            match self.backoff.delay(attempt, jitter.next()) {
                Some(delay) => {
                    crate::log::debug!(
                        "sending traces failed ({failure}); retry {attempt} in {delay:?}"
                    );
                    self.counters.retried();
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => {
                    return Outcome::Failed {
                        reason: format!("{failure} (after {attempt} attempts)"),
                    };
                }
            }
        }
    }
}

/// The client builder for `config.agent()` and the base URL of its requests. With the `tls`
/// feature, an agent reached without TLS (`http://`, a Unix socket) gets no root certificates
/// at all, so the platform's are not read and parsed for nothing.
fn client_builder(config: &Config) -> Result<(reqwest::ClientBuilder, String), String> {
    let timeout = config.agent_timeout();
    let builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("ddtrace-rust/", env!("CARGO_PKG_VERSION")));
    #[cfg(feature = "tls")]
    let builder = if uses_tls(config.agent()) {
        builder
    } else {
        builder.tls_certs_only(std::iter::empty::<reqwest::Certificate>())
    };
    match config.agent() {
        AgentEndpoint::Http { url } => Ok((builder, url.trim_end_matches('/').to_owned())),
        #[cfg(unix)]
        AgentEndpoint::Unix { path } => Ok((
            builder.unix_socket(path.as_str()),
            "http://localhost".to_owned(),
        )),
        #[cfg(not(unix))]
        AgentEndpoint::Unix { path } => {
            Err(format!("Unix sockets are not supported here ({path})"))
        }
    }
}

/// The client and its base URL. With the `tls` feature and an `https://` agent, the configured
/// extra root CA certificate is trusted besides the platform's roots; if rustls refuses it (the
/// PEM parsed, but is no usable certificate), that is reported once and the client trusts the
/// platform's roots only.
fn build_client(config: &Config) -> Result<(reqwest::Client, String), String> {
    #[cfg(feature = "tls")]
    if let Some(ca) = config
        .agent_ca_cert
        .as_ref()
        .filter(|_| uses_tls(config.agent()))
    {
        let (builder, base) = client_builder(config)?;
        let built = reqwest::Certificate::from_pem_bundle(&ca.pem)
            .and_then(|certs| builder.tls_certs_merge(certs).build());
        match built {
            Ok(client) => return Ok((client, base)),
            Err(e) => {
                let warning = crate::config::ConfigWarning {
                    variable: ca.variable.to_owned(),
                    value: ca.path.display().to_string(),
                    message: format!(
                        "the certificate is not usable ({}); only the platform's root \
                         certificates are trusted",
                        describe(&e)
                    ),
                };
                crate::log::warn_once(
                    &format!("config:{}", ca.variable),
                    format_args!("{warning}"),
                );
            }
        }
    }
    let (builder, base) = client_builder(config)?;
    let client = builder.build().map_err(|e| describe(&e))?;
    Ok((client, base))
}

/// Whether requests to `agent` use TLS (an `https://` URL).
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
fn uses_tls(agent: &AgentEndpoint) -> bool {
    match agent {
        AgentEndpoint::Http { url } => url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://")),
        AgentEndpoint::Unix { .. } => false,
    }
}

/// A reqwest error with its causes (the top-level message alone is often just "error sending
/// request").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

trait FromStaticLowercase {
    fn from_static_lowercase(name: &'static str) -> HeaderName;
}

impl FromStaticLowercase for HeaderName {
    /// `HeaderName::from_static` needs lowercase; the table above uses the usual spelling.
    fn from_static_lowercase(name: &'static str) -> HeaderName {
        HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
            .unwrap_or(reqwest::header::CONTENT_TYPE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_agents_use_tls() {
        let http = |url: &str| AgentEndpoint::Http {
            url: url.to_owned(),
        };
        assert!(uses_tls(&http("https://agent:8126")));
        assert!(uses_tls(&http("HTTPS://agent:8126")));
        assert!(!uses_tls(&http("http://agent:8126")));
        assert!(!uses_tls(&http("http://https:8126")));
        assert!(!uses_tls(&http("http")));
        assert!(!uses_tls(&AgentEndpoint::Unix {
            path: "/var/run/datadog/apm.socket".to_owned(),
        }));
    }

    #[test]
    fn status_classification() {
        use ApiVersion::{V04, V05};
        assert_eq!(classify(200, V04), Class::Delivered);
        assert_eq!(classify(202, V05), Class::Delivered);
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(classify(s, V04), Class::Retry, "{s}");
        }
        for s in [400, 401, 403, 413, 404, 415] {
            assert_eq!(classify(s, V04), Class::Reject, "{s}");
        }
        assert_eq!(classify(404, V05), Class::Fallback);
        assert_eq!(classify(415, V05), Class::Fallback);
        assert_eq!(classify(413, V05), Class::Reject);
        assert_eq!(classify(400, V05), Class::Reject);
    }

    #[test]
    fn header_set() {
        let identity = super::super::container::Identity {
            container_id: Some("cid".to_owned()),
            entity_id: Some("ci-cid".to_owned()),
        };
        let headers = static_headers(Some("tok"), &identity);
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "Content-Type",
                "Datadog-Meta-Lang",
                "Datadog-Meta-Lang-Version",
                "Datadog-Meta-Tracer-Version",
                "Datadog-Client-Computed-Top-Level",
                "Datadog-Send-Real-Http-Status",
                "Datadog-Container-ID",
                "Datadog-Entity-ID",
                "X-Datadog-Test-Session-Token",
            ]
        );
        assert_eq!(headers[0].1, "application/msgpack");
        assert_eq!(headers[1].1, "rust");
        assert!(headers[2].1.starts_with("1."), "{}", headers[2].1);
        assert_eq!(headers[3].1, env!("CARGO_PKG_VERSION"));
        assert_eq!(headers[4].1, "yes");
        assert_eq!(headers[5].1, "true");
        assert_eq!(headers[6].1, "cid");
        assert_eq!(headers[7].1, "ci-cid");
        assert_eq!(headers[8].1, "tok");
        assert_eq!(static_headers(None, &Default::default()).len(), 6);
        for (name, _) in headers {
            assert_eq!(
                HeaderName::from_static_lowercase(name).as_str(),
                name.to_ascii_lowercase()
            );
        }
    }

    /// A PEM block that is no certificate passes the configuration's PEM check but not rustls:
    /// the client is still built, trusting the platform's roots only.
    #[cfg(feature = "tls")]
    #[test]
    fn an_unusable_ca_certificate_falls_back_to_the_platform_roots() {
        let path =
            std::env::temp_dir().join(format!("ddtrace-transport-{}.pem", std::process::id()));
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let config = Config::builder()
            .agent_url("https://localhost:8126")
            .agent_ca_cert(&path)
            .build_from(&HashMap::<&str, &str>::new());
        std::fs::remove_file(&path).unwrap();
        assert!(config.warnings().is_empty(), "{:?}", config.warnings());
        assert!(config.agent_ca_cert().is_some());
        let (_client, base) = build_client(&config).unwrap();
        assert_eq!(base, "https://localhost:8126");
    }

    #[test]
    fn rates_from_response_bodies() {
        let rates = parse_rates(br#"{"rate_by_service":{"service:a,env:":0.5,"service:,env:":1}}"#)
            .unwrap();
        assert_eq!(rates.len(), 2);
        assert_eq!(rates["service:a,env:"], 0.5);
        assert_eq!(rates["service:,env:"], 1.0);
        assert_eq!(parse_rates(br#"{"rate_by_service":{}}"#), None);
        assert_eq!(parse_rates(b"{}"), None);
        assert_eq!(parse_rates(b"OK"), None);
    }
}
