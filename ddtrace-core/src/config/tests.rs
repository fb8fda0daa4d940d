use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::propagation::{DEFAULT_PROPAGATION_STYLES, parse_style_list};

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
        // (DD_TRACE_DEBUG turns on process-wide debug logging: it is read in diagnostics.rs,
        // a test binary of its own.)
        ("DD_TRACE_STARTUP_LOGS", "1"),
        ("DD_LOGS_INJECTION", "false"),
    ]);
    assert!(c.startup_logs());
    assert!(!build(&[]).startup_logs());
    assert!(!c.logs_injection());
    assert!(build(&[]).logs_injection());
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
fn a_bad_agent_host_or_port_warns_and_the_next_source_is_used() {
    let http = |url: &str| AgentEndpoint::Http { url: url.into() };
    let env: HashMap<&str, &str> =
        [("DD_AGENT_HOST", "env-host"), ("DD_TRACE_AGENT_PORT", "9")].into();
    for bad in [
        " ",
        "code-host:7777",
        "http://code-host:7777",
        "[::1",
        "[not-ip]",
        "a b",
        "h/path",
    ] {
        let c = Config::builder().agent_host(bad).build_from(&env);
        assert_eq!(c.agent(), &http("http://env-host:9"), "{bad:?}");
        assert_eq!(c.warnings().len(), 1, "{bad:?}: {:?}", c.warnings());
        assert_eq!(c.warnings()[0].variable, "agent_host");
        assert_eq!(c.warnings()[0].value, bad);
    }
    let c = Config::builder().agent_port(0).build_from(&env);
    assert_eq!(c.agent(), &http("http://env-host:9"));
    assert_eq!(c.warnings()[0].variable, "agent_port");
    // A bad DD_AGENT_HOST falls back to the default host, keeping the port.
    let c = build(&[("DD_AGENT_HOST", "dd:8126"), ("DD_TRACE_AGENT_PORT", "9")]);
    assert_eq!(c.agent(), &http("http://localhost:9"));
    assert!(
        c.warnings()[0].message.contains("DD_TRACE_AGENT_PORT"),
        "{:?}",
        c.warnings()
    );
    // Good hosts pass as they are.
    for (host, url) in [
        ("[::1]", "http://[::1]:8126"),
        ("fe80::1", "http://[fe80::1]:8126"),
        ("10.0.0.1", "http://10.0.0.1:8126"),
        (
            "datadog-agent.monitoring.svc",
            "http://datadog-agent.monitoring.svc:8126",
        ),
    ] {
        let c = Config::builder()
            .agent_host(host)
            .build_from(&HashMap::<&str, &str>::new());
        assert_eq!(c.agent(), &http(url));
        assert!(c.warnings().is_empty(), "{host}");
    }
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

/// A file under the temp dir holding `contents`, unique to this process and `name`.
#[cfg(feature = "tls")]
fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("ddtrace-config-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn agent_ca_cert_unset_by_default() {
    assert_eq!(build(&[]).agent_ca_cert(), None);
}

#[cfg(not(feature = "tls"))]
#[test]
fn an_https_agent_without_tls_warns_and_the_next_source_is_used() {
    let c = build(&[
        ("DD_TRACE_AGENT_URL", "https://agent.example:8126"),
        ("DD_AGENT_HOST", "fallback"),
    ]);
    assert_eq!(
        c.agent(),
        &AgentEndpoint::Http {
            url: "http://fallback:8126".into()
        }
    );
    assert_eq!(c.warnings()[0].variable, "DD_TRACE_AGENT_URL");
    assert!(
        c.warnings()[0].message.contains("`tls` feature"),
        "{:?}",
        c.warnings()
    );
}

#[cfg(not(feature = "tls"))]
#[test]
fn agent_ca_cert_without_tls_warns_and_is_ignored() {
    let c = build(&[("DD_TRACE_AGENT_CA_CERT", "/etc/ca.pem")]);
    assert_eq!(c.agent_ca_cert(), None);
    assert_eq!(c.warnings().len(), 1, "{:?}", c.warnings());
    assert_eq!(c.warnings()[0].variable, "DD_TRACE_AGENT_CA_CERT");
    assert_eq!(c.warnings()[0].value, "/etc/ca.pem");
    assert!(c.warnings()[0].message.contains("`tls` feature"));
    let c = Config::builder()
        .agent_ca_cert("/etc/ca.pem")
        .build_from(&HashMap::<&str, &str>::new());
    assert_eq!(c.agent_ca_cert(), None);
    assert_eq!(c.warnings()[0].variable, "agent_ca_cert");
}

#[cfg(feature = "tls")]
#[test]
fn agent_ca_cert_is_read_and_checked() {
    // The PEM framing is checked here; whether the DER is a usable certificate is rustls's
    // business when the client is built (see the transport's tests).
    let pem = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
    let good = temp_file("good.pem", pem);
    let good_str = good.to_str().unwrap();
    let c = build(&[("DD_TRACE_AGENT_CA_CERT", good_str)]);
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    assert_eq!(c.agent_ca_cert(), Some(good.as_path()));
    assert_eq!(c.agent_ca_cert.as_ref().unwrap().pem, pem.as_bytes());
    // Code beats the environment.
    let map: HashMap<&str, &str> = [("DD_TRACE_AGENT_CA_CERT", "/nowhere.pem")].into();
    let c = Config::builder().agent_ca_cert(&good).build_from(&map);
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    assert_eq!(c.agent_ca_cert.as_ref().unwrap().variable, "agent_ca_cert");

    // A missing file, a file without a certificate: warned (variable and value), not used.
    let missing = std::env::temp_dir().join("ddtrace-config-no-such-file.pem");
    let no_cert = temp_file(
        "no-cert.pem",
        "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n",
    );
    for path in [missing, no_cert.clone()] {
        let shown = path.to_str().unwrap();
        let c = build(&[("DD_TRACE_AGENT_CA_CERT", shown)]);
        assert_eq!(c.agent_ca_cert(), None);
        assert_eq!(c.warnings().len(), 1, "{:?}", c.warnings());
        let w = &c.warnings()[0];
        assert_eq!(
            (w.variable.as_str(), w.value.as_str()),
            ("DD_TRACE_AGENT_CA_CERT", shown)
        );
        assert!(w.message.contains("platform's root certificates"), "{w}");
    }
    std::fs::remove_file(good).unwrap();
    std::fs::remove_file(no_cert).unwrap();
}

#[test]
fn service_env_and_version_tags_are_the_settings_when_nothing_else_sets_them() {
    let c = build(&[(
        "DD_TAGS",
        "service:tag-svc,env:tag-env,version:tag-v,team:k",
    )]);
    assert_eq!(c.service(), "tag-svc");
    assert_eq!(c.env(), Some("tag-env"));
    assert_eq!(c.version(), Some("tag-v"));
    let keys: Vec<&str> = c.global_tags().iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["team"], "not kept as conflicting global tags");

    let c = build(&[
        ("DD_TAGS", "service:tag-svc,env:tag-env,version:tag-v"),
        ("DD_SERVICE", "env-svc"),
        ("DD_ENV", "env-env"),
        ("DD_VERSION", "env-v"),
    ]);
    assert_eq!(c.service(), "env-svc");
    assert_eq!(c.env(), Some("env-env"));
    assert_eq!(c.version(), Some("env-v"));
    assert!(c.global_tags().is_empty());

    let c = Config::builder()
        .env("code-env")
        .global_tag("version", 3)
        .build_from(&HashMap::from([("DD_TAGS", "env:tag-env,version:tag-v")]));
    assert_eq!(c.env(), Some("code-env"));
    assert_eq!(
        c.version(),
        Some("3"),
        "the builder's tag wins over DD_TAGS"
    );
}

#[test]
fn an_agent_timeout_too_small_to_wait_warns_and_falls_back() {
    for tiny in ["1e-12", "0.0009", "0"] {
        let c = build(&[("DD_TRACE_AGENT_TIMEOUT_SECONDS", tiny)]);
        assert_eq!(c.agent_timeout(), DEFAULT_AGENT_TIMEOUT, "{tiny}");
        assert_eq!(c.warnings()[0].value, tiny);
    }
    let c = build(&[("DD_TRACE_AGENT_TIMEOUT_SECONDS", "0.001")]);
    assert_eq!(c.agent_timeout(), Duration::from_millis(1));
    let map: HashMap<&str, &str> = [("DD_TRACE_AGENT_TIMEOUT_SECONDS", "7")].into();
    for tiny in [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_micros(999),
    ] {
        let c = Config::builder().agent_timeout(tiny).build_from(&map);
        assert_eq!(
            c.agent_timeout(),
            Duration::from_secs(7),
            "{tiny:?}: the next source applies"
        );
    }
    let c = Config::builder()
        .agent_timeout(Duration::from_millis(1))
        .build_from(&map);
    assert_eq!(c.agent_timeout(), Duration::from_millis(1));
    let c = Config::builder()
        .agent_timeout(Duration::ZERO)
        .build_from(&map);
    assert_eq!(c.warnings()[0].variable, "agent_timeout");
}

#[test]
fn a_partial_flush_threshold_above_what_a_trace_may_hold_warns_and_is_capped() {
    let c = build(&[("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "100000000")]);
    assert_eq!(c.partial_flush_min_spans(), MAX_BUFFERED_SPANS_PER_TRACE);
    assert_eq!(c.warnings()[0].variable, "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS");
    assert_eq!(c.warnings()[0].value, "100000000");
    let c = Config::builder()
        .partial_flush_min_spans(MAX_BUFFERED_SPANS_PER_TRACE + 1)
        .build_from(&HashMap::<&str, &str>::new());
    assert_eq!(c.partial_flush_min_spans(), MAX_BUFFERED_SPANS_PER_TRACE);
    assert_eq!(c.warnings()[0].variable, "partial_flush_min_spans");
    let c = build(&[("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "10000")]);
    assert_eq!(c.partial_flush_min_spans(), 10_000);
    assert!(c.warnings().is_empty());
}

#[test]
fn span_sampling_rules_from_code_the_variable_or_its_file() {
    let rules = r#"[{"name":"db.*","max_per_second":5}]"#;
    let c = build(&[("DD_SPAN_SAMPLING_RULES", rules)]);
    assert_eq!(c.span_sampling_rules().len(), 1);
    assert_eq!(c.span_sampling_rules()[0].limit(), Some(5.0));
    assert!(build(&[]).span_sampling_rules().is_empty());
    // The file, when the variable is unset; the variable wins over it.
    let path = std::env::temp_dir().join(format!("ddtrace-span-rules-{}", std::process::id()));
    std::fs::write(
        &path,
        r#"[{"service":"a"},{"service":"b","sample_rate":0.5}]"#,
    )
    .unwrap();
    let file = path.to_str().unwrap();
    let c = build(&[("DD_SPAN_SAMPLING_RULES_FILE", file)]);
    assert_eq!(c.span_sampling_rules().len(), 2);
    assert_eq!(c.span_sampling_rules()[1].sample_rate(), 0.5);
    let c = build(&[
        ("DD_SPAN_SAMPLING_RULES", rules),
        ("DD_SPAN_SAMPLING_RULES_FILE", file),
    ]);
    assert_eq!(c.span_sampling_rules().len(), 1);
    assert_eq!(c.warnings().len(), 1, "the ignored file is said");
    assert_eq!(c.warnings()[0].variable, "DD_SPAN_SAMPLING_RULES_FILE");
    std::fs::remove_file(&path).unwrap();
    // Code beats both.
    let map: HashMap<&str, &str> = [("DD_SPAN_SAMPLING_RULES", rules)].into();
    let c = Config::builder()
        .span_sampling_rules_json("[]")
        .build_from(&map);
    assert!(c.span_sampling_rules().is_empty());
    // A file that cannot be read, or a bad rule, is reported and nothing else lost.
    let c = build(&[("DD_SPAN_SAMPLING_RULES_FILE", "/nonexistent/rules.json")]);
    assert!(c.span_sampling_rules().is_empty());
    assert_eq!(c.warnings()[0].variable, "DD_SPAN_SAMPLING_RULES_FILE");
    let c = build(&[(
        "DD_SPAN_SAMPLING_RULES",
        r#"[{"name":"ok"},{"max_per_second":"x"}]"#,
    )]);
    assert_eq!(c.span_sampling_rules().len(), 1);
    assert_eq!(c.warnings()[0].variable, "DD_SPAN_SAMPLING_RULES");
    assert!(c.warnings()[0].message.contains("rule 1 skipped"));
}
