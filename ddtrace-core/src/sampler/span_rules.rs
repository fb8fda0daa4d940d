//! Single span sampling (`DD_SPAN_SAMPLING_RULES`): spans of a trace the trace sampler dropped
//! that are kept anyway, each on its own.
//!
//! Every trace is sent to the agent, dropped ones included (priority ≤ 0); the agent keeps
//! a dropped trace's spans that carry `_dd.span_sampling.mechanism = 8`. A rule is a JSON
//! object with `service` and `name` patterns (at least one of them, as in the reference), and
//! optionally `resource` and `tags` patterns (as in trace sampling rules), `sample_rate`
//! (default 1) and `max_per_second` (default: no limit). For each
//! span of a dropped trace the first matching rule decides: the Knuth test on the span id at
//! the rule's rate, then the rule's own limiter. A kept span gets
//! `_dd.span_sampling.mechanism` (8), `_dd.span_sampling.rule_rate` and, when the rule has a
//! limit, `_dd.span_sampling.max_per_second`.

use serde_json::Value;

use super::rule::{SamplingRule, parse_rule, parse_rule_array};
use std::sync::Mutex;

use super::{Clock, SamplingInput, knuth_keep_span};
use crate::span_data::{SpanData, TraceId};

/// Metric key of the single-span mechanism.
pub const SPAN_SAMPLING_MECHANISM_KEY: &str = "_dd.span_sampling.mechanism";
/// Metric key of the rate of the rule that kept a span.
pub const SPAN_SAMPLING_RULE_RATE_KEY: &str = "_dd.span_sampling.rule_rate";
/// Metric key of the limit of the rule that kept a span.
pub const SPAN_SAMPLING_MAX_PER_SECOND_KEY: &str = "_dd.span_sampling.max_per_second";
/// The single-span sampling mechanism.
pub const MECHANISM_SPAN_SAMPLING_RULE: u8 = 8;

/// One single-span sampling rule.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanSamplingRule {
    matcher: SamplingRule,
    max_per_second: Option<f64>,
}

impl SpanSamplingRule {
    /// A rule keeping every span it matches (rate 1, no limit) until patterns and a rate are
    /// given; `rule` supplies the patterns and the rate.
    pub fn new(rule: SamplingRule) -> Self {
        SpanSamplingRule {
            matcher: rule,
            max_per_second: None,
        }
    }

    /// At most `limit` spans a second kept by this rule (a negative or NaN limit means none).
    pub fn max_per_second(mut self, limit: f64) -> Self {
        self.max_per_second = (limit >= 0.0).then_some(limit);
        self
    }

    /// The rule's rate.
    pub fn sample_rate(&self) -> f64 {
        self.matcher.sample_rate()
    }

    /// The rule's limit, if any.
    pub fn limit(&self) -> Option<f64> {
        self.max_per_second
    }

    /// A short description, for the startup line.
    pub fn describe(&self) -> String {
        match self.max_per_second {
            Some(limit) => format!("span {}, max_per_second={limit}", self.matcher.describe()),
            None => format!("span {}", self.matcher.describe()),
        }
    }
}

/// Parses the `DD_SPAN_SAMPLING_RULES` JSON. Returns the valid rules (in order) and a
/// description of each problem: invalid JSON (no rules), or a rule that is not an object, has a
/// `sample_rate` that is not a number in `[0, 1]`, a `max_per_second` that is not a number,
/// or a pattern that is not a string (that rule skipped).
pub fn parse_span_sampling_rules(json: &str) -> (Vec<SpanSamplingRule>, Vec<String>) {
    parse_rule_array(json, parse_span_rule)
}

fn parse_span_rule(mut item: Value) -> Result<SpanSamplingRule, String> {
    let Value::Object(obj) = &mut item else {
        return Err("not a JSON object".into());
    };
    let limit = match obj.remove("max_per_second") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_f64().ok_or("max_per_second is not a number")?),
        Some(other) => return Err(format!("max_per_second {other} is not a number")),
    };
    // As the reference: a rule names the spans it keeps (a catch-all would keep every span of
    // every dropped trace).
    if !["service", "name"]
        .iter()
        .any(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
    {
        return Err("a span sampling rule needs a service or a name pattern".into());
    }
    // The rate is optional here: every matching span by default.
    obj.entry("sample_rate").or_insert(Value::from(1.0));
    let rule = SpanSamplingRule::new(parse_rule(&item)?);
    Ok(match limit {
        Some(limit) => rule.max_per_second(limit),
        None => rule,
    })
}

/// Applies single-span rules to the spans of dropped traces (see the module doc).
///
/// As in the reference, which applies the rules when a chunk is done, the limits count the
/// spans of a chunk at the time the chunk was done: its last span's end. Chunks are finalized
/// later, and out of that order: the writer a flush interval's worth at once, application
/// threads under overload theirs at once. So each limit counts spans in fixed windows of the
/// time they were done ([`WindowLimit`]): a late chunk is counted in its own second, and a limit
/// of `n` a second keeps `n` of each second's spans, not `n` a batch. That time is taken no
/// later than now (a span given an end in the future cannot use up a window ahead) and no
/// earlier than [`MAX_LAG`] ago.
pub(crate) struct SpanSampler {
    rules: Vec<(SpanSamplingRule, Option<WindowLimit>)>,
    clock: Clock,
}

/// How many windows a [`WindowLimit`] remembers: more than [`MAX_LAG`] holds.
const WINDOWS: usize = 64;

/// At most `limit` events a second, counted in fixed windows of the events' own times: one
/// second (or `1/limit` seconds for a limit under one a second, one event each), the last
/// [`WINDOWS`] of them remembered. Events may come late and out of order.
struct WindowLimit {
    window_ns: u64,
    per_window: u32,
    /// For each slot: the window it counts (its number plus one; 0: none yet) and its count.
    windows: Mutex<[(u64, u32); WINDOWS]>,
}

impl WindowLimit {
    fn new(limit: f64) -> Self {
        let limit = if limit.is_nan() { 0.0 } else { limit.max(0.0) };
        let seconds = if limit > 0.0 && limit < 1.0 {
            (1.0 / limit).ceil()
        } else {
            1.0
        };
        WindowLimit {
            window_ns: (seconds * 1e9) as u64,
            per_window: (limit * seconds).floor().min(f64::from(u32::MAX)) as u32,
            windows: Mutex::new([(0, 0); WINDOWS]),
        }
    }

    /// Counts an event at `at_ns`; whether its window had room for it.
    fn allow(&self, at_ns: u64) -> bool {
        if self.per_window == 0 {
            return false;
        }
        let window = at_ns / self.window_ns.max(1);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut windows[(window % WINDOWS as u64) as usize];
        if slot.0 != window + 1 {
            *slot = (window + 1, 0);
        }
        if slot.1 < self.per_window {
            slot.1 += 1;
            true
        } else {
            false
        }
    }
}

/// The oldest a chunk's time may be for the limiters: chunks held back longer (an agent that
/// has not answered yet) count as this old.
const MAX_LAG: u64 = 60_000_000_000;

impl SpanSampler {
    /// A sampler of `rules`, their limiters on `clock`, which gives the time in the unit and
    /// origin of span end times (unix nanoseconds; see [`wall_clock`]).
    pub(crate) fn new(rules: &[SpanSamplingRule], clock: Clock) -> Self {
        SpanSampler {
            rules: rules
                .iter()
                .map(|r| {
                    let limiter = r.max_per_second.map(WindowLimit::new);
                    (r.clone(), limiter)
                })
                .collect(),
            clock,
        }
    }

    /// Whether there is any rule.
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Marks the spans of a chunk of a dropped trace that the rules keep.
    pub(crate) fn sample(&self, trace_id: TraceId, spans: &mut [SpanData]) {
        let now = (self.clock)();
        let done = spans
            .iter()
            .map(|s| s.start.saturating_add(s.duration).max(0) as u64)
            .max()
            .unwrap_or(now)
            .clamp(now.saturating_sub(MAX_LAG), now);
        for span in spans {
            let input = SamplingInput {
                trace_id,
                service: &span.service,
                name: &span.name,
                resource: &span.resource,
                meta: &span.meta,
                metrics: &span.metrics,
                env: "",
            };
            let Some((rule, limiter)) = self.rules.iter().find(|(r, _)| r.matcher.matches(&input))
            else {
                continue;
            };
            let rate = rule.sample_rate();
            if !knuth_keep_span(span.span_id, rate)
                || limiter.as_ref().is_some_and(|l| !l.allow(done))
            {
                continue;
            }
            let metrics = &mut span.metrics;
            metrics.insert(
                SPAN_SAMPLING_MECHANISM_KEY,
                f64::from(MECHANISM_SPAN_SAMPLING_RULE),
            );
            metrics.insert(SPAN_SAMPLING_RULE_RATE_KEY, rate);
            if let Some(limit) = rule.max_per_second {
                metrics.insert(SPAN_SAMPLING_MAX_PER_SECOND_KEY, limit);
            }
        }
    }
}

/// The clock span end times are on: unix nanoseconds, as spans' start times are read.
pub(crate) fn wall_clock() -> Clock {
    std::sync::Arc::new(|| crate::clock::wall_ns(crate::clock::Instant::now()).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::sampler::limiter::tests::manual_clock;

    fn span(id: u64, service: &'static str, name: &'static str) -> SpanData {
        SpanData {
            span_id: id,
            start: 1_000,
            name: name.into(),
            service: service.into(),
            resource: name.into(),
            ..SpanData::default()
        }
    }

    fn marks(s: &SpanData) -> (Option<f64>, Option<f64>, Option<f64>) {
        (
            s.metrics.get(SPAN_SAMPLING_MECHANISM_KEY).copied(),
            s.metrics.get(SPAN_SAMPLING_RULE_RATE_KEY).copied(),
            s.metrics.get(SPAN_SAMPLING_MAX_PER_SECOND_KEY).copied(),
        )
    }

    #[test]
    fn parses_rules_with_defaults_and_reports_problems() {
        let (rules, problems) = parse_span_sampling_rules(
            r#"[{"service":"db*","name":"query"},
                {"name":"cache.*","sample_rate":0.5,"max_per_second":10},
                {"name":"a","sample_rate":2},
                {"name":"a","max_per_second":"lots"},
                {"name":7},
                {"resource":"GET /x","sample_rate":1},
                "x"]"#,
        );
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].sample_rate(), rules[0].limit()), (1.0, None));
        assert_eq!(
            (rules[1].sample_rate(), rules[1].limit()),
            (0.5, Some(10.0))
        );
        assert_eq!(
            rules[1].describe(),
            r#"span rule {name="cache.*", sample_rate=0.5}, max_per_second=10"#
        );
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].starts_with("rule 2 skipped"), "{}", problems[0]);
        assert!(problems[1].contains("max_per_second"), "{}", problems[1]);
        assert!(
            problems[3].contains("a service or a name"),
            "{}",
            problems[3]
        );
        let (rules, problems) = parse_span_sampling_rules("{");
        assert!(rules.is_empty());
        assert!(problems[0].contains("invalid JSON"));
    }

    #[test]
    fn the_first_matching_rule_keeps_spans_within_its_rate_and_limit() {
        let (rules, _) = parse_span_sampling_rules(
            r#"[{"service":"db","name":"query","max_per_second":2},
                {"service":"db","sample_rate":0},
                {"name":"cache.get"}]"#,
        );
        let (now, clock) = manual_clock();
        now.store(1_000, Ordering::SeqCst);
        let sampler = SpanSampler::new(&rules, clock);
        let mut spans = vec![
            span(1, "db", "query"),
            span(2, "db", "query"),
            span(3, "db", "query"),
            span(4, "db", "connect"),
            span(5, "web", "cache.get"),
            span(6, "web", "http.request"),
        ];
        sampler.sample(TraceId(9), &mut spans);
        let limited = (Some(8.0), Some(1.0), Some(2.0));
        let none = (None, None, None);
        // The window holds two: the third query is over the limit.
        assert_eq!(marks(&spans[0]), limited);
        assert_eq!(marks(&spans[1]), limited);
        assert_eq!(marks(&spans[2]), none);
        // The second rule matched first, at rate 0; the third keeps without a limit.
        assert_eq!(marks(&spans[3]), none);
        assert_eq!(marks(&spans[4]), (Some(8.0), Some(1.0), None));
        assert_eq!(marks(&spans[5]), none);
        // A chunk done in a later second has room.
        now.store(2_000_000_000, Ordering::SeqCst);
        let mut later = vec![span(7, "db", "query")];
        later[0].duration = 1_000_000_000;
        sampler.sample(TraceId(9), &mut later);
        assert_eq!(marks(&later[0]), limited);
    }

    /// The chunk of span `id`, done `done_ns` after the epoch of the clock.
    fn chunk(id: u64, done_ns: i64) -> Vec<SpanData> {
        let mut s = span(id, "db", "query");
        s.start = 0;
        s.duration = done_ns;
        vec![s]
    }

    /// Chunks done over two seconds at 4 a second, finalized together later (as the writer
    /// does, once a flush interval): a limit of 2 a second keeps 2 of each second's, not 2 for
    /// the whole batch; a chunk finalized late and out of order counts in its own second.
    #[test]
    fn the_limit_counts_chunks_in_the_second_they_were_done() {
        let (rules, _) = parse_span_sampling_rules(r#"[{"name":"query","max_per_second":2}]"#);
        let (now, clock) = manual_clock();
        let sampler = SpanSampler::new(&rules, clock);
        now.store(3_000_000_000, Ordering::SeqCst);
        let kept: Vec<bool> = (0..8)
            .map(|i| {
                let mut c = chunk(i + 1, i as i64 * 250_000_000);
                sampler.sample(TraceId(9), &mut c);
                marks(&c[0]).0.is_some()
            })
            .collect();
        assert_eq!(
            kept,
            [true, true, false, false, true, true, false, false],
            "done at 0, 0.25, ... 1.75 s"
        );
        // Done at 2.1 s, then finalized: a chunk done at 2.9 s, then one done at 2.5 s.
        let kept: Vec<bool> = [(20, 2_100), (21, 2_900), (22, 2_500), (23, 2_600)]
            .iter()
            .map(|&(id, ms)| {
                let mut c = chunk(id, ms * 1_000_000);
                sampler.sample(TraceId(9), &mut c);
                marks(&c[0]).0.is_some()
            })
            .collect();
        assert_eq!(kept, [true, true, false, false]);
    }

    /// A limit under one a second keeps one span per `1/limit` seconds.
    #[test]
    fn a_limit_under_one_a_second_keeps_one_per_longer_window() {
        let limit = WindowLimit::new(0.5);
        let second = 1_000_000_000;
        assert!(limit.allow(0));
        assert!(!limit.allow(second), "the same two-second window");
        assert!(limit.allow(2 * second));
        assert!(!WindowLimit::new(0.0).allow(0));
        assert!(!WindowLimit::new(f64::NAN).allow(0));
        let unlimited = WindowLimit::new(f64::INFINITY);
        assert!((0..1_000).all(|_| unlimited.allow(0)));
    }

    /// A chunk whose end is in the future counts as done now, one that ended long ago as done
    /// [`MAX_LAG`] ago, and the clock may step back: none of it holds the limit shut for the
    /// chunks after it.
    #[test]
    fn bogus_times_and_clock_steps_do_not_hold_the_limit_shut() {
        let (rules, _) = parse_span_sampling_rules(r#"[{"name":"query","max_per_second":1}]"#);
        let (now, clock) = manual_clock();
        let sampler = SpanSampler::new(&rules, clock);
        let second: i64 = 1_000_000_000;
        let at = |seconds: i64| now.store((seconds * second) as u64, Ordering::SeqCst);
        let kept = |id: u64, done: i64| {
            let mut c = chunk(id, done);
            sampler.sample(TraceId(9), &mut c);
            marks(&c[0]).0.is_some()
        };
        at(10_000);
        // Year 2100: counted now.
        assert!(kept(1, 4_102_444_800 * second));
        at(10_001);
        assert!(
            kept(2, 10_001 * second),
            "a second later, the next one is kept"
        );
        // The epoch: counted 60 s ago, in a window of its own.
        assert!(kept(3, 0));
        assert!(!kept(4, 0), "that window is full");
        // The clock steps back an hour: the chunks done since are kept.
        at(6_401);
        assert!(kept(5, 6_401 * second));
        assert!(!kept(6, 6_401 * second));
        at(6_402);
        assert!(kept(7, 6_402 * second));
    }

    #[test]
    fn the_rate_is_the_knuth_test_on_the_span_id() {
        // 1 * factor is about 0.0602 of u64::MAX.
        assert!(knuth_keep_span(1, 0.07));
        assert!(!knuth_keep_span(1, 0.05));
        assert!(knuth_keep_span(u64::MAX, 1.0));
        assert!(!knuth_keep_span(1, 0.0));
        assert!(!knuth_keep_span(1, f64::NAN));
        let (rules, _) = parse_span_sampling_rules(r#"[{"name":"n","sample_rate":0.05}]"#);
        let sampler = SpanSampler::new(&rules, manual_clock().1);
        let mut spans = vec![span(1, "s", "n")];
        sampler.sample(TraceId(0), &mut spans);
        assert_eq!(marks(&spans[0]).0, None, "dropped by the rate");
    }
}
