//! The `tls` feature end to end: traces sent to `https://localhost:PORT` reach the real Datadog
//! test agent through an in-process TLS-terminating proxy.
//!
//! The test agent speaks plain HTTP, so each test puts a proxy on a free loopback port in front
//! of it: a tokio-rustls acceptor with a certificate for `localhost` / `127.0.0.1`, signed by a
//! CA generated at test time (rcgen). The tracer trusts that CA through
//! `DD_TRACE_AGENT_CA_CERT` (or `.agent_ca_cert`). The proxy counts completed and failed
//! handshakes, so a test knows the bytes really went over TLS.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ddtrace_core::{Config, ConfigBuilder, DropCounts, Tracer};
use ddtrace_test_agent::{Session, TestAgent};
use integration_tests::agent_spans::root_and_child;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::Value;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

const WAIT: Duration = Duration::from_secs(20);

/// A test CA (PEM, written to a file for the tracer) and the server chain it signed.
struct Certificates {
    ca_file: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Certificates {
    /// A fresh CA and a `localhost` / `127.0.0.1` server certificate; the CA's PEM goes to a
    /// file named after `test` in the temp dir.
    fn generate(test: &str) -> Certificates {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ddtrace-rs test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let server = params.signed_by(&key, &ca).unwrap();

        let ca_file = std::env::temp_dir().join(format!(
            "ddtrace-agent-tls-{}-{test}-ca.pem",
            std::process::id()
        ));
        std::fs::write(&ca_file, ca.pem()).unwrap();
        Certificates {
            ca_file,
            chain: vec![server.der().clone(), ca.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }
}

impl Drop for Certificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// Handshakes seen by a [`TlsProxy`].
#[derive(Debug, Default)]
struct Handshakes {
    completed: AtomicU64,
    failed: AtomicU64,
}

/// Terminates TLS on a free loopback port and forwards the plaintext to `upstream`.
struct TlsProxy {
    port: u16,
    handshakes: Arc<Handshakes>,
}

impl TlsProxy {
    /// Serves on its own thread (a current-thread tokio runtime) until the process ends.
    fn start(certificates: &Certificates, upstream: SocketAddr) -> TlsProxy {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certificates.chain.clone(), certificates.key.clone_key())
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let handshakes = Arc::new(Handshakes::default());
        let counts = Arc::clone(&handshakes);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while let Ok((tcp, _)) = listener.accept().await {
                    let (acceptor, counts) = (acceptor.clone(), Arc::clone(&counts));
                    tokio::spawn(async move {
                        let Ok(mut tls) = acceptor.accept(tcp).await else {
                            counts.failed.fetch_add(1, Ordering::Relaxed);
                            return;
                        };
                        counts.completed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut agent) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut agent).await;
                        }
                    });
                }
            });
        });
        TlsProxy { port, handshakes }
    }

    fn completed(&self) -> u64 {
        self.handshakes.completed.load(Ordering::Relaxed)
    }

    fn failed(&self) -> u64 {
        self.handshakes.failed.load(Ordering::Relaxed)
    }
}

/// The test agent, a session on it, fresh certificates and a TLS proxy in front of the agent.
fn agent_behind_tls(test: &str) -> (TestAgent, Session, Certificates, TlsProxy) {
    let agent =
        TestAgent::start().unwrap_or_else(|e| panic!("the test agent must install and start: {e}"));
    let session = agent.session().unwrap();
    let certificates = Certificates::generate(test);
    let upstream = SocketAddr::from(([127, 0, 0, 1], agent.port()));
    let proxy = TlsProxy::start(&certificates, upstream);
    (agent, session, certificates, proxy)
}

fn config(url: &str, session: &Session) -> ConfigBuilder {
    Config::builder()
        .service("tls-svc")
        .env("tls-test")
        .agent_url(url)
        .test_session_token(session.token())
}

/// One trace: a root with a string and a numeric tag, and a child with its own resource.
fn send_checkout(tracer: &Tracer) -> (u64, u64) {
    let root = tracer.trace("checkout.request");
    root.set_tag("payment.tier", "gold");
    root.set_tag("items", 3);
    let child_id = {
        let child = tracer.span("checkout.charge").resource("card").enter();
        child.set_tag("card.network", "visa");
        child.span_id()
    };
    (root.span_id(), child_id)
}

/// The agent received exactly the two spans of [`send_checkout`].
fn assert_checkout(traces: &Value, root_id: u64, child_id: u64) {
    let (root, child) = root_and_child(
        traces,
        ("checkout.request", root_id),
        ("checkout.charge", child_id),
    );
    assert_eq!(root["service"], "tls-svc");
    assert_eq!(root["resource"], "checkout.request");
    assert_eq!(root["meta"]["payment.tier"], "gold");
    assert_eq!(root["meta"]["env"], "tls-test");
    assert_eq!(root["meta"]["language"], "rust");
    assert_eq!(root["metrics"]["items"], 3.0);
    assert_eq!(root["metrics"]["_sampling_priority_v1"], 1.0);
    assert_eq!(child["service"], "tls-svc");
    assert_eq!(child["resource"], "card");
    assert_eq!(child["meta"]["card.network"], "visa");
    assert_eq!(child["meta"]["env"], "tls-test");
}

/// Sends one trace through `tracer`, which cannot reach the agent through `proxy`: nothing is
/// delivered, the trace is counted as dropped (a failed send) and the proxy completed no
/// handshake.
fn assert_refused(tracer: &Tracer, session: &Session, proxy: &TlsProxy) {
    send_checkout(tracer);
    let _ = tracer.shutdown(WAIT);
    let s = tracer.stats();
    assert_eq!((s.traces_received, s.spans_received), (1, 2), "{s:?}");
    assert_eq!(
        (s.traces_sent, s.spans_sent, s.payloads_sent),
        (0, 0, 0),
        "{s:?}"
    );
    let expected = DropCounts {
        send_failed: 1,
        ..DropCounts::default()
    };
    assert_eq!(s.traces_dropped, expected, "{s:?}");
    let traces = session.traces().unwrap();
    assert_eq!(traces.as_array().map_or(0, Vec::len), 0, "{traces}");
    assert!(proxy.failed() >= 1, "the proxy saw no failed handshake");
    assert_eq!(proxy.completed(), 0);
}

/// An environment naming `path` in `DD_TRACE_AGENT_CA_CERT`.
fn env_with_ca(path: &Path) -> HashMap<String, String> {
    [(
        "DD_TRACE_AGENT_CA_CERT".to_owned(),
        path.to_str().unwrap().to_owned(),
    )]
    .into()
}

/// The CA from `DD_TRACE_AGENT_CA_CERT` is trusted: the exact spans arrive over TLS, and the
/// shutdown delivered them.
#[test]
fn spans_reach_the_agent_over_https() {
    let (_agent, session, certificates, proxy) = agent_behind_tls("env");
    let url = format!("https://localhost:{}", proxy.port);
    let config = config(&url, &session).build_from(&env_with_ca(&certificates.ca_file));
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    assert_eq!(config.agent_ca_cert(), Some(certificates.ca_file.as_path()));
    let tracer = Tracer::new(config);

    let (root, child) = send_checkout(&tracer);
    assert!(tracer.shutdown(WAIT), "{:?}", tracer.stats());

    assert_checkout(&session.wait_for_traces(1, WAIT).unwrap(), root, child);
    let s = tracer.stats();
    assert_eq!((s.traces_sent, s.spans_sent), (1, 2), "{s:?}");
    assert_eq!(s.traces_dropped.total(), 0, "{s:?}");
    let requests = session.recorded_requests().unwrap();
    assert!(
        requests.iter().any(|r| r.path() == "/v0.4/traces"
            && r.header("X-Datadog-Test-Session-Token") == Some(session.token())),
        "{requests:?}"
    );
    assert!(proxy.completed() >= 1, "no TLS handshake completed");
    assert_eq!(proxy.failed(), 0);
}

/// The same through the builder (`.agent_ca_cert`), to the IP address in the certificate.
#[test]
fn the_builder_setting_trusts_the_ca_too() {
    let (_agent, session, certificates, proxy) = agent_behind_tls("builder");
    let url = format!("https://127.0.0.1:{}", proxy.port);
    let config = config(&url, &session)
        .agent_ca_cert(&certificates.ca_file)
        .build_from(&HashMap::<&str, &str>::new());
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    let tracer = Tracer::new(config);

    let (root, child) = send_checkout(&tracer);
    assert!(tracer.shutdown(WAIT), "{:?}", tracer.stats());

    assert_checkout(&session.wait_for_traces(1, WAIT).unwrap(), root, child);
    assert_eq!(tracer.stats().traces_sent, 1);
    assert!(proxy.completed() >= 1, "no TLS handshake completed");
}

/// `http://` to the TLS port: every attempt fails the handshake, nothing is delivered and the
/// trace is counted as dropped.
#[test]
fn plain_http_to_the_tls_port_is_dropped_and_counted() {
    let (_agent, session, certificates, proxy) = agent_behind_tls("plain");
    let url = format!("http://localhost:{}", proxy.port);
    let env = env_with_ca(&certificates.ca_file);
    let tracer = Tracer::new(config(&url, &session).build_from(&env));
    assert_refused(&tracer, &session, &proxy);
}

/// An unreadable CA file is reported (variable and value) and only the platform's roots are
/// trusted, so the test CA's certificate is refused: the trace is dropped and counted, never
/// sent without verification.
#[test]
fn a_missing_ca_file_warns_and_the_untrusted_agent_is_refused() {
    let (_agent, session, _certificates, proxy) = agent_behind_tls("missing");
    let url = format!("https://localhost:{}", proxy.port);
    let missing = std::env::temp_dir().join("ddtrace-agent-tls-no-such-ca.pem");
    let config = config(&url, &session).build_from(&env_with_ca(&missing));
    assert_eq!(config.agent_ca_cert(), None);
    assert_eq!(config.warnings().len(), 1, "{:?}", config.warnings());
    let warning = &config.warnings()[0];
    assert_eq!(warning.variable, "DD_TRACE_AGENT_CA_CERT");
    assert_eq!(warning.value, missing.to_str().unwrap());
    assert_refused(&Tracer::new(config), &session, &proxy);
}
