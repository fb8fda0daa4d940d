//! Tests of the sampler: rule order, globs, rates 0 and 1, the limiter, agent rates, default.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::limiter::tests::manual_clock;
use super::*;

fn sampler(
    rules: Vec<SamplingRule>,
    sample_rate: Option<f64>,
    limit: f64,
) -> (Sampler, Arc<AgentRates>, Arc<AtomicU64>) {
    let rates = Arc::new(AgentRates::new());
    let (now, clock) = manual_clock();
    (
        Sampler::with_rules(rules, sample_rate, limit, Arc::clone(&rates), clock),
        rates,
        now,
    )
}

fn input(trace: u64, service: &'static str) -> SamplingInput<'static> {
    SamplingInput::new(
        TraceId::from_parts(0xdead, trace),
        service,
        "http.request",
        "GET /x",
    )
}

/// A trace id kept at 0.5 and one dropped at 0.5.
fn kept_and_dropped_at_half() -> (u64, u64) {
    let kept = (1..)
        .find(|i| knuth_keep(TraceId(u128::from(*i)), 0.5))
        .unwrap_or(0);
    let dropped = (1..)
        .find(|i| !knuth_keep(TraceId(u128::from(*i)), 0.5))
        .unwrap_or(0);
    (kept, dropped)
}

#[test]
fn default_keep_without_rules_or_agent_rates() {
    let (s, _, _) = sampler(vec![], None, 100.0);
    let d = s.decide(&input(1, "svc"));
    assert_eq!((d.priority, d.mechanism), (1, MECHANISM_DEFAULT));
    assert_eq!(d.metrics(), []);
    assert_eq!(d.decision_maker(), "-0");
    assert!(d.keep());
}

#[test]
fn agent_rates_with_fallback_key() {
    let (s, rates, _) = sampler(vec![], None, 100.0);
    rates.update(HashMap::from([
        ("service:svc,env:prod".to_owned(), 0.0),
        ("service:,env:".to_owned(), 1.0),
    ]));
    let mut i = input(1, "svc");
    i.env = "prod";
    let d = s.decide(&i);
    assert_eq!(
        (d.priority, d.mechanism, d.agent_psr),
        (0, MECHANISM_AGENT_RATE, Some(0.0))
    );
    let d = s.decide(&input(1, "other"));
    assert_eq!(
        (d.priority, d.mechanism, d.agent_psr),
        (1, MECHANISM_AGENT_RATE, Some(1.0))
    );
    assert_eq!(d.metrics(), [(AGENT_PSR_KEY, 1.0)]);
    // Knuth at the agent's rate.
    rates.update(HashMap::from([("service:,env:".to_owned(), 0.5)]));
    let (kept, dropped) = kept_and_dropped_at_half();
    assert_eq!(s.decide(&input(kept, "x")).priority, 1);
    assert_eq!(s.decide(&input(dropped, "x")).priority, 0);
}

#[test]
fn first_matching_rule_wins_then_sample_rate() {
    let rules = vec![
        SamplingRule::new(0.0).service("web-*"),
        SamplingRule::new(1.0).service("WEB-API"),
        SamplingRule::new(1.0).name("db.*"),
    ];
    let (s, rates, _) = sampler(rules, Some(0.0), 100.0);
    rates.update(HashMap::from([("service:,env:".to_owned(), 1.0)]));
    let d = s.decide(&input(1, "web-api"));
    assert_eq!(
        (d.priority, d.mechanism, d.rule_psr, d.limit_psr),
        (-1, MECHANISM_LOCAL_RULE, Some(0.0), None)
    );
    assert!(
        d.explanation.to_string().contains("rule #0"),
        "{}",
        d.explanation
    );
    assert!(
        d.explanation.to_string().contains("web-*"),
        "{}",
        d.explanation
    );
    // No rule matches: the DD_TRACE_SAMPLE_RATE catch-all, before the agent's rate.
    let d = s.decide(&input(1, "batch"));
    assert_eq!(
        (d.priority, d.mechanism, d.rule_psr),
        (-1, MECHANISM_LOCAL_RULE, Some(0.0))
    );
    assert!(
        d.explanation.to_string().contains("DD_TRACE_SAMPLE_RATE"),
        "{}",
        d.explanation
    );
    assert_eq!(s.rules().len(), 4);
}

#[test]
fn rule_rates_use_knuth() {
    let (kept, dropped) = kept_and_dropped_at_half();
    let (s, _, _) = sampler(vec![SamplingRule::new(0.5)], None, 100.0);
    let d = s.decide(&input(kept, "s"));
    assert_eq!(
        (d.priority, d.rule_psr, d.limit_psr),
        (2, Some(0.5), Some(1.0))
    );
    assert_eq!(d.metrics(), [(RULE_PSR_KEY, 0.5), (LIMIT_PSR_KEY, 1.0)]);
    let d = s.decide(&input(dropped, "s"));
    assert_eq!(
        (d.priority, d.limit_psr),
        (-1, None),
        "a dropped trace does not consult the limiter"
    );
    let (s, _, _) = sampler(vec![SamplingRule::new(1.0)], None, 100.0);
    assert!((1..200).all(|i| s.decide(&input(i, "s")).priority == 2 || i > 100));
}

#[test]
fn limiter_caps_kept_traces() {
    let (s, _, now) = sampler(vec![SamplingRule::new(1.0)], None, 2.0);
    assert_eq!(s.decide(&input(1, "s")).priority, 2);
    assert_eq!(s.decide(&input(2, "s")).priority, 2);
    let d = s.decide(&input(3, "s"));
    assert_eq!((d.priority, d.mechanism), (-1, MECHANISM_LOCAL_RULE));
    assert!((d.limit_psr.unwrap_or(0.0) - 2.0 / 3.0).abs() < 1e-9);
    assert!(
        d.explanation.to_string().contains("rate limiter"),
        "{}",
        d.explanation
    );
    now.store(1_000_000_000, Ordering::SeqCst);
    assert_eq!(s.decide(&input(4, "s")).priority, 2);
    // Rate 0 keeps nothing.
    let (s, _, _) = sampler(vec![SamplingRule::new(1.0)], None, 0.0);
    assert_eq!(s.decide(&input(1, "s")).priority, -1);
}

#[test]
fn tags_in_rules() {
    let mut meta: TagMap<Str> = TagMap::new();
    meta.insert("http.method", Str::Borrowed("GET"));
    let rules = vec![SamplingRule::new(0.0).tag("http.method", "g?t")];
    let (s, _, _) = sampler(rules, None, 100.0);
    let i = SamplingInput {
        meta: &meta,
        ..input(1, "s")
    };
    assert_eq!(s.decide(&i).priority, -1);
    assert_eq!(s.decide(&input(1, "s")).mechanism, MECHANISM_DEFAULT);
}

#[test]
fn manual_decisions() {
    let keep = SamplingDecision::manual(true);
    assert_eq!((keep.priority, keep.mechanism), (2, MECHANISM_MANUAL));
    assert_eq!(keep.decision_maker(), "-4");
    let drop = SamplingDecision::manual(false);
    assert_eq!((drop.priority, drop.mechanism), (-1, MECHANISM_MANUAL));
    assert!(!drop.keep());
}

#[test]
fn sampler_from_config() {
    let env: HashMap<&str, &str> = [
        (
            "DD_TRACE_SAMPLING_RULES",
            r#"[{"service":"a","sample_rate":0}]"#,
        ),
        ("DD_TRACE_SAMPLE_RATE", "1"),
        ("DD_TRACE_RATE_LIMIT", "5"),
    ]
    .into();
    let config = Config::builder().build_from(&env);
    let s = Sampler::new(&config, Arc::new(AgentRates::new()));
    assert_eq!(s.rules().len(), 2);
    assert_eq!(s.decide(&input(1, "a")).priority, -1);
    assert_eq!(s.decide(&input(1, "b")).priority, 2);
}

/// The hot path's shortcut decides exactly as `decide` does when there is no rule: the default
/// keep without agent rates, then the agent's rate for the service (kept and dropped ids), and
/// it stands aside when there are rules (including the `DD_TRACE_SAMPLE_RATE` catch-all).
#[test]
fn the_shortcut_without_rules_agrees_with_decide() {
    let (s, rates, _) = sampler(vec![], None, 100.0);
    let (kept, dropped) = kept_and_dropped_at_half();
    let quick = |trace: u64| s.decide_without_rules(TraceId::from_parts(0xdead, trace), "svc", "");
    let full = |trace: u64| {
        let d = s.decide(&input(trace, "svc"));
        (d.priority, d.mechanism, d.agent_psr)
    };
    assert_eq!(quick(kept), Some(QuickDecision::Default));
    assert_eq!(full(kept), (AUTO_KEEP, MECHANISM_DEFAULT, None));
    rates.update(HashMap::from([("service:svc,env:".to_owned(), 0.5)]));
    for (trace, keep) in [(kept, true), (dropped, false)] {
        assert_eq!(
            quick(trace),
            Some(QuickDecision::AgentRate { keep, rate: 0.5 })
        );
        let priority = if keep { AUTO_KEEP } else { AUTO_REJECT };
        assert_eq!(full(trace), (priority, MECHANISM_AGENT_RATE, Some(0.5)));
    }
    let (with_rate, _, _) = sampler(vec![], Some(1.0), 100.0);
    assert_eq!(
        with_rate.decide_without_rules(TraceId(1), "svc", ""),
        None,
        "the catch-all rule of DD_TRACE_SAMPLE_RATE is a rule"
    );
}
