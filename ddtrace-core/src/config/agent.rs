//! Where traces go: the agent endpoint (and its URL parsing), the extra root CA certificate
//! trusted for `https://` agents, and the trace output.

use std::path::{Path, PathBuf};

use super::env::Reader;
use super::{Config, DEFAULT_AGENT_HOST, DEFAULT_AGENT_PORT, DEFAULT_AGENT_SOCKET};

/// The environment variable naming the extra root CA certificate file.
pub(crate) const AGENT_CA_CERT_VAR: &str = "DD_TRACE_AGENT_CA_CERT";

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

/// A root CA certificate trusted for `https://` agents besides the platform's roots, read and
/// checked when the configuration is built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))] // only the tls transport reads it
pub(crate) struct AgentCaCert {
    /// The setting it came from (`DD_TRACE_AGENT_CA_CERT` or `agent_ca_cert`), for warnings.
    pub(crate) variable: &'static str,
    /// The file.
    pub(crate) path: PathBuf,
    /// The file's contents: PEM with at least one `CERTIFICATE` block.
    pub(crate) pem: Vec<u8>,
}

impl Config {
    /// The root CA certificate file trusted for `https://` agents besides the platform's roots
    /// (`DD_TRACE_AGENT_CA_CERT`); `None` when unset, unusable (reported in
    /// [`Config::warnings`]) or when ddtrace-core is built without its `tls` feature.
    pub fn agent_ca_cert(&self) -> Option<&Path> {
        self.agent_ca_cert.as_ref().map(|cert| cert.path.as_path())
    }
}

impl Reader<'_> {
    /// The extra root CA certificate: the code's path, else `DD_TRACE_AGENT_CA_CERT`. The file
    /// must be readable and hold a PEM certificate; otherwise it is rejected (warned) and only
    /// the platform's roots are trusted.
    pub(super) fn agent_ca_cert(&mut self, code_path: Option<PathBuf>) -> Option<AgentCaCert> {
        let (variable, path) = match code_path {
            Some(path) => ("agent_ca_cert", path),
            None => (
                AGENT_CA_CERT_VAR,
                PathBuf::from(self.string(AGENT_CA_CERT_VAR)?),
            ),
        };
        let shown = path.display().to_string();
        #[cfg(not(feature = "tls"))]
        {
            self.reject(
                variable,
                &shown,
                "https:// agents need ddtrace-core's `tls` feature; the certificate is ignored"
                    .into(),
            );
            None
        }
        #[cfg(feature = "tls")]
        match read_pem_certificate(&path) {
            Ok(pem) => Some(AgentCaCert {
                variable,
                path,
                pem,
            }),
            Err(why) => {
                self.reject(
                    variable,
                    &shown,
                    format!("{why}; only the platform's root certificates are trusted"),
                );
                None
            }
        }
    }

    /// The agent endpoint: the code's settings, then the environment, then the defaults.
    pub(super) fn agent(
        &mut self,
        code_url: Option<String>,
        code_host: Option<String>,
        code_port: Option<u16>,
    ) -> AgentEndpoint {
        let code_host = code_host.and_then(|h| self.checked_host("agent_host", h));
        let code_port = code_port.filter(|&p| {
            if p == 0 {
                self.reject(
                    "agent_port",
                    "0",
                    "must be a TCP port between 1 and 65535; ignored".into(),
                );
            }
            p != 0
        });
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
        let env_host = self
            .string("DD_AGENT_HOST")
            .and_then(|h| self.checked_host("DD_AGENT_HOST", h));
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

impl Reader<'_> {
    /// `host` if it is a host name or an IP address (IPv6 bare or in brackets); otherwise
    /// warned under `setting` and `None`, so the next source (or the default) is used.
    fn checked_host(&mut self, setting: &str, host: String) -> Option<String> {
        match check_host(&host) {
            Ok(()) => Some(host.trim().to_owned()),
            Err(why) => {
                self.reject(setting, &host, format!("{why}; ignored"));
                None
            }
        }
    }
}

/// Why `host` is not a host name or IP address, if it is not.
fn check_host(host: &str) -> Result<(), &'static str> {
    let host = host.trim();
    if host.is_empty() {
        return Err("empty");
    }
    if host.contains("://") {
        return Err(
            "a host, not a URL, is expected (a URL goes in agent_url or DD_TRACE_AGENT_URL)",
        );
    }
    let ipv6 = |s: &str| s.parse::<std::net::Ipv6Addr>().is_ok();
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.strip_suffix(']') {
            Some(addr) if ipv6(addr) => Ok(()),
            _ => Err(
                "not an IPv6 address in brackets (the port goes in agent_port or DD_TRACE_AGENT_PORT)",
            ),
        };
    }
    if host.contains(':') && !ipv6(host) {
        return Err(
            "a host without a port is expected (the port goes in agent_port or DD_TRACE_AGENT_PORT)",
        );
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '?' | '#'))
    {
        return Err("not a host name or IP address");
    }
    Ok(())
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

/// The contents of `path` if it holds at least one PEM certificate.
#[cfg(feature = "tls")]
fn read_pem_certificate(path: &Path) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("the file cannot be read ({e})"))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        Ok(_) => Err("the file holds no PEM certificate (BEGIN CERTIFICATE)".into()),
        Err(e) => Err(format!("the file is not a valid PEM certificate ({e})")),
    }
}
