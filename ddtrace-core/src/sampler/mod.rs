//! Trace sampling: the keep/drop decision made once per trace, on the local root, before any
//! injection.
//!
//! [`Sampler::decide`] applies, in order:
//!
//! 1. the first matching rule of `DD_TRACE_SAMPLING_RULES`, then the catch-all rule of
//!    `DD_TRACE_SAMPLE_RATE`: the [Knuth test](knuth_keep) at the rule's rate, then (if kept)
//!    the token-bucket [limiter](RateLimiter) (`DD_TRACE_RATE_LIMIT`, default 100/s). Priority 2
//!    (user keep) or -1 (user reject), mechanism 3; `_dd.rule_psr` and, when the limiter was
//!    consulted, `_dd.limit_psr`;
//! 2. else the agent's rate for `service:<svc>,env:<env>` (falling back to `service:,env:`):
//!    priority 1 or 0, mechanism 1, `_dd.agent_psr`;
//! 3. else keep: priority 1, mechanism 0.
//!
//! A trace whose context came from upstream with a priority keeps that priority and is not
//! sampled again (the tracer does not call the sampler for it); manual decisions
//! ([`SamplingDecision::manual`]) override everything with mechanism 4.
//!
//! ```
//! use std::sync::Arc;
//! use ddtrace_core::sampler::{Sampler, SamplingInput};
//! use ddtrace_core::{AgentRates, Config, TraceId};
//!
//! let config = Config::builder()
//!     .sampling_rules_json(r#"[{"service":"web*","sample_rate":0}]"#)
//!     .build();
//! let sampler = Sampler::new(&config, Arc::new(AgentRates::new()));
//! let decision = sampler.decide(&SamplingInput::new(TraceId(42), "web-api", "http.request", "GET /"));
//! assert_eq!(decision.priority, -1);
//! assert_eq!(decision.mechanism, 3);
//! assert_eq!(decision.rule_psr, Some(0.0));
//! ```

mod glob;
mod knuth;
mod limiter;
mod rule;
mod span_rules;

use std::sync::Arc;

use crate::config::Config;
use crate::exporter::SamplingRates;
use crate::rates::AgentRates;
use crate::span_data::{Str, TagMap, TraceId};
use crate::trace::{AUTO_KEEP, AUTO_REJECT, USER_KEEP, USER_REJECT};

pub use glob::Glob;
pub use knuth::{KNUTH_FACTOR, knuth_keep, knuth_keep_span};
pub use limiter::{Clock, RateLimiter, monotonic_clock};
pub use rule::{SamplingRule, parse_sampling_rules};
pub use span_rules::{
    MECHANISM_SPAN_SAMPLING_RULE, SPAN_SAMPLING_MAX_PER_SECOND_KEY, SPAN_SAMPLING_MECHANISM_KEY,
    SPAN_SAMPLING_RULE_RATE_KEY, SpanSamplingRule, parse_span_sampling_rules,
};
pub(crate) use span_rules::{SpanSampler, wall_clock as span_rules_clock};

/// Mechanism `-0`: the default (no rule, no agent rate).
pub const MECHANISM_DEFAULT: u8 = crate::trace::MECHANISM_DEFAULT;
/// Mechanism `-1`: the agent's rate for the service.
pub const MECHANISM_AGENT_RATE: u8 = 1;
/// Mechanism `-3`: a local rule (including `DD_TRACE_SAMPLE_RATE`).
pub const MECHANISM_LOCAL_RULE: u8 = 3;
/// Mechanism `-4`: a manual decision (`manual.keep`, `manual.drop`, `sampling.priority`).
pub const MECHANISM_MANUAL: u8 = crate::trace::MECHANISM_MANUAL;

pub use crate::config::DEFAULT_RATE_LIMIT;

/// Metric key of the agent rate used.
pub const AGENT_PSR_KEY: &str = "_dd.agent_psr";
/// Metric key of the rule rate used.
pub const RULE_PSR_KEY: &str = "_dd.rule_psr";
/// Metric key of the limiter's effective rate.
pub const LIMIT_PSR_KEY: &str = "_dd.limit_psr";

static NO_META: TagMap<Str> = TagMap::new();
static NO_METRICS: TagMap<f64> = TagMap::new();

/// What the sampler looks at: the local root of a new trace.
#[derive(Clone, Copy, Debug)]
pub struct SamplingInput<'a> {
    /// The trace id (the Knuth test uses its low 64 bits).
    pub trace_id: TraceId,
    /// The local root's service.
    pub service: &'a str,
    /// The local root's name.
    pub name: &'a str,
    /// The local root's resource.
    pub resource: &'a str,
    /// The local root's string tags.
    pub meta: &'a TagMap<Str>,
    /// The local root's numeric tags.
    pub metrics: &'a TagMap<f64>,
    /// `DD_ENV` (empty when unset), for the agent's rate table.
    pub env: &'a str,
}

impl<'a> SamplingInput<'a> {
    /// An input without tags and with no env.
    pub fn new(trace_id: TraceId, service: &'a str, name: &'a str, resource: &'a str) -> Self {
        SamplingInput {
            trace_id,
            service,
            name,
            resource,
            meta: &NO_META,
            metrics: &NO_METRICS,
            env: "",
        }
    }
}

/// A sampling decision and why it was made.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingDecision {
    /// The priority: -1 user reject, 0 auto reject, 1 auto keep, 2 user keep.
    pub priority: i32,
    /// The mechanism (`_dd.p.dm` is `-<mechanism>`).
    pub mechanism: u8,
    /// `_dd.agent_psr`, when the agent's rate decided.
    pub agent_psr: Option<f64>,
    /// `_dd.rule_psr`, when a rule decided.
    pub rule_psr: Option<f64>,
    /// `_dd.limit_psr`, when the rate limiter was consulted.
    pub limit_psr: Option<f64>,
    /// What decided, for debug lines (which rule, which rate); formatted only when displayed.
    pub explanation: Explanation,
}

/// Why a trace was kept or dropped. Cheap to build: nothing is formatted until it is displayed
/// (the debug line), so deciding costs no allocation.
#[derive(Clone, Debug, PartialEq)]
pub enum Explanation {
    /// A rule (or the `DD_TRACE_SAMPLE_RATE` catch-all) matched.
    Rule {
        /// Its position among the rules.
        index: usize,
        /// Its description (what it matches).
        rule: Arc<str>,
        /// Its rate.
        rate: f64,
        /// What happened.
        outcome: RuleOutcome,
    },
    /// The agent's rate for the service and env (or the agent's default rate).
    AgentRate {
        /// The rate.
        rate: f64,
    },
    /// No rule matched and the agent has sent no rate yet.
    Default,
    /// A manual decision.
    Manual {
        /// Keep (true) or drop.
        keep: bool,
    },
}

/// What a matching rule led to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RuleOutcome {
    /// Dropped by the rule's rate.
    DroppedByRate,
    /// Kept by the rate and allowed by the limiter.
    Kept,
    /// Kept by the rate, then dropped by the rate limiter (its limit per second).
    DroppedByLimiter(f64),
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Explanation::Rule {
                index,
                rule,
                rate,
                outcome,
            } => {
                write!(f, "{rule} (rule #{index}): ")?;
                match outcome {
                    RuleOutcome::DroppedByRate => write!(f, "dropped by the rate {rate}"),
                    RuleOutcome::Kept => write!(f, "kept at the rate {rate}"),
                    RuleOutcome::DroppedByLimiter(limit) => write!(
                        f,
                        "kept at the rate {rate}, then dropped by the rate limiter ({limit}/s)"
                    ),
                }
            }
            Explanation::AgentRate { rate } => write!(
                f,
                "the agent's rate {rate} for the service and env (or the agent's default)"
            ),
            Explanation::Default => {
                f.write_str("no rule matched and no agent rate yet: default keep")
            }
            Explanation::Manual { keep } => {
                write!(f, "manual {}", if *keep { "keep" } else { "drop" })
            }
        }
    }
}

impl SamplingDecision {
    /// Whether the trace is kept.
    pub fn keep(&self) -> bool {
        self.priority > 0
    }

    /// The `_dd.p.dm` value (`-<mechanism>`).
    pub fn decision_maker(&self) -> String {
        format!("-{}", self.mechanism)
    }

    /// The metrics to set on the local root (`_dd.agent_psr`, `_dd.rule_psr`, `_dd.limit_psr`).
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        [
            (AGENT_PSR_KEY, self.agent_psr),
            (RULE_PSR_KEY, self.rule_psr),
            (LIMIT_PSR_KEY, self.limit_psr),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// A manual decision (`manual.keep` → 2, `manual.drop` → -1), mechanism 4.
    pub fn manual(keep: bool) -> Self {
        SamplingDecision {
            priority: if keep { USER_KEEP } else { USER_REJECT },
            mechanism: MECHANISM_MANUAL,
            agent_psr: None,
            rule_psr: None,
            limit_psr: None,
            explanation: Explanation::Manual { keep },
        }
    }
}

/// What decided a trace, before any explanation is built (the hot path's decision:
/// [`Sampler::decide_without_rules`], [`Sampler::decide_quietly`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum QuickDecision {
    /// No agent rate yet: keep (priority 1, mechanism 0).
    Default,
    /// The agent's rate decided (priority 1 or 0, mechanism 1, `_dd.agent_psr`).
    AgentRate { keep: bool, rate: f64 },
    /// Rule `index` matched (priority 2 or -1, mechanism 3, `_dd.rule_psr`, and
    /// `_dd.limit_psr` when the limiter was consulted).
    Rule {
        index: usize,
        rate: f64,
        outcome: RuleOutcome,
        limit_psr: Option<f64>,
    },
}

impl QuickDecision {
    /// The priority, the decision maker, and the rates to record on the local root.
    pub(crate) fn parts(self) -> (i32, u8, SamplingRates) {
        let none = SamplingRates::default();
        match self {
            QuickDecision::Default => (AUTO_KEEP, MECHANISM_DEFAULT, none),
            QuickDecision::AgentRate { keep, rate } => (
                if keep { AUTO_KEEP } else { AUTO_REJECT },
                MECHANISM_AGENT_RATE,
                SamplingRates {
                    agent: Some(rate),
                    ..none
                },
            ),
            QuickDecision::Rule {
                rate,
                outcome,
                limit_psr,
                ..
            } => (
                if outcome == RuleOutcome::Kept {
                    USER_KEEP
                } else {
                    USER_REJECT
                },
                MECHANISM_LOCAL_RULE,
                SamplingRates {
                    rule: Some(rate),
                    limit: limit_psr,
                    ..none
                },
            ),
        }
    }
}

/// Decides whether new traces are kept. Cheap to share (`Arc`); `decide` takes `&self`.
#[derive(Debug)]
pub struct Sampler {
    rules: Vec<SamplingRule>,
    /// Each rule's description, built once for the debug explanations.
    descriptions: Vec<Arc<str>>,
    limiter: RateLimiter,
    agent_rates: Arc<AgentRates>,
}

impl Sampler {
    /// The sampler a configuration asks for (`DD_TRACE_SAMPLING_RULES`, `DD_TRACE_SAMPLE_RATE`,
    /// `DD_TRACE_RATE_LIMIT`), reading the agent's rates from `agent_rates`.
    pub fn new(config: &Config, agent_rates: Arc<AgentRates>) -> Self {
        Sampler::with_rules(
            config.sampling_rules().to_vec(),
            config.sample_rate(),
            config.rate_limit(),
            agent_rates,
            monotonic_clock(),
        )
    }

    /// A sampler from explicit parts: `rules` in order, then the catch-all `sample_rate`, with
    /// a limiter of `rate_limit` per second on `clock`.
    pub fn with_rules(
        mut rules: Vec<SamplingRule>,
        sample_rate: Option<f64>,
        rate_limit: f64,
        agent_rates: Arc<AgentRates>,
        clock: Clock,
    ) -> Self {
        if let Some(rate) = sample_rate {
            rules.push(SamplingRule::catch_all(rate));
        }
        let descriptions = rules.iter().map(|r| Arc::from(r.describe())).collect();
        Sampler {
            rules,
            descriptions,
            limiter: RateLimiter::new(rate_limit, clock),
            agent_rates,
        }
    }

    /// The rules, in the order they are tried (the `DD_TRACE_SAMPLE_RATE` catch-all last).
    pub fn rules(&self) -> &[SamplingRule] {
        &self.rules
    }

    /// Decides for the local root described by `input`.
    pub fn decide(&self, input: &SamplingInput<'_>) -> SamplingDecision {
        let decision = self.decide_inner(input);
        crate::log::debug!("{}", explain(input, &decision));
        decision
    }

    /// Whether any rule is configured (`DD_TRACE_SAMPLING_RULES`, or the
    /// `DD_TRACE_SAMPLE_RATE` catch-all): then a trace's decision waits until it is needed, so
    /// the rules see its local root as it is by then (see `TraceState::settle`).
    #[inline]
    pub(crate) fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    /// [`decide`](Self::decide)'s priority, decision maker and rates, with its debug line
    /// (when debug logging is on) returned rather than written: for a caller that holds what
    /// a log sink, which is user code, may reach.
    pub(crate) fn decide_unlogged(
        &self,
        input: &SamplingInput<'_>,
    ) -> (i32, u8, SamplingRates, Option<String>) {
        if !crate::log::debug_enabled() {
            let (priority, mechanism, rates) = self.outcome(input).parts();
            return (priority, mechanism, rates, None);
        }
        let d = self.decide_inner(input);
        let line = explain(input, &d);
        let rates = SamplingRates {
            agent: d.agent_psr,
            rule: d.rule_psr,
            limit: d.limit_psr,
        };
        (d.priority, d.mechanism, rates, Some(line))
    }

    /// The decision for a new trace's root when no rule is configured and no debug line is
    /// wanted (most services): the agent's rate, else keep. `None` when there are rules, or
    /// debug logging wants the explanation: then [`decide`](Sampler::decide). The hot path's
    /// shortcut: no rule loop, and no [`SamplingDecision`] (with its explanation) to build
    /// and drop.
    #[inline]
    pub(crate) fn decide_without_rules(
        &self,
        trace_id: TraceId,
        service: &str,
        env: &str,
    ) -> Option<QuickDecision> {
        if !self.rules.is_empty() || crate::log::debug_enabled() {
            return None;
        }
        Some(self.by_agent_rate(trace_id, service, env))
    }

    /// The decision for a new trace's root when no debug line is wanted: [`decide`]'s, without
    /// the explanation (whose rule description is a shared `Arc`, two atomic operations on a
    /// counter every thread's traces touch). `None` when debug logging wants the explanation.
    ///
    /// [`decide`]: Sampler::decide
    pub(crate) fn decide_quietly(&self, input: &SamplingInput<'_>) -> Option<QuickDecision> {
        (!crate::log::debug_enabled()).then(|| self.outcome(input))
    }

    /// What decides when no rule matched: the agent's rate for the service and env, else keep.
    #[inline]
    fn by_agent_rate(&self, trace_id: TraceId, service: &str, env: &str) -> QuickDecision {
        match self.agent_rates.rate_for(service, env) {
            Some(rate) => QuickDecision::AgentRate {
                keep: knuth_keep(trace_id, rate),
                rate,
            },
            None => QuickDecision::Default,
        }
    }

    fn decide_inner(&self, input: &SamplingInput<'_>) -> SamplingDecision {
        let quick = self.outcome(input);
        let (priority, mechanism, rates) = quick.parts();
        let explanation = match quick {
            QuickDecision::Default => Explanation::Default,
            QuickDecision::AgentRate { rate, .. } => Explanation::AgentRate { rate },
            QuickDecision::Rule {
                index,
                rate,
                outcome,
                ..
            } => Explanation::Rule {
                index,
                rule: Arc::clone(&self.descriptions[index]),
                rate,
                outcome,
            },
        };
        SamplingDecision {
            priority,
            mechanism,
            agent_psr: rates.agent,
            rule_psr: rates.rule,
            limit_psr: rates.limit,
            explanation,
        }
    }

    /// What decides for `input`: the first matching rule (its rate, then the limiter), else
    /// the agent's rate, else keep.
    fn outcome(&self, input: &SamplingInput<'_>) -> QuickDecision {
        let Some((index, rule)) = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(input))
        else {
            return self.by_agent_rate(input.trace_id, input.service, input.env);
        };
        let rate = rule.sample_rate();
        if !knuth_keep(input.trace_id, rate) {
            return QuickDecision::Rule {
                index,
                rate,
                outcome: RuleOutcome::DroppedByRate,
                limit_psr: None,
            };
        }
        let (allowed, effective) = self.limiter.allow();
        QuickDecision::Rule {
            index,
            rate,
            outcome: if allowed {
                RuleOutcome::Kept
            } else {
                RuleOutcome::DroppedByLimiter(self.limiter.rate())
            },
            limit_psr: Some(effective),
        }
    }
}

/// The debug line for `decision`, made for `input`.
fn explain(input: &SamplingInput<'_>, decision: &SamplingDecision) -> String {
    format!(
        "sampler: trace {} ({}/{}): priority {} dm {}: {}",
        input.trace_id,
        input.service,
        input.name,
        decision.priority,
        decision.decision_maker(),
        decision.explanation
    )
}

#[cfg(test)]
mod tests;
