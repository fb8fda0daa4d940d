//! Trace sampling rules (`DD_TRACE_SAMPLING_RULES`).
//!
//! A JSON array of objects: `service`, `name`, `resource` (glob patterns), `tags` (an object of
//! tag name → glob pattern) and `sample_rate` (required, a number in `[0, 1]`). A rule matches a
//! local root when every pattern it has matches; the first matching rule wins. Tag patterns are
//! matched against the string tag (meta), else against the numeric tag (metrics): an integral
//! number as an integer (`200`), any other number only by a pattern of wildcards alone (as the
//! reference does). A JSON number or boolean as a tag pattern is the text such a tag is matched
//! as: `200` and `200.0` are `"200"`; `true` and `false` are `"1"` and `"0"`, the metrics a
//! bool tag becomes.

use serde_json::Value;

use super::SamplingInput;
use super::glob::Glob;

/// One sampling rule.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingRule {
    sample_rate: f64,
    service: Option<Glob>,
    name: Option<Glob>,
    resource: Option<Glob>,
    tags: Vec<(String, Glob)>,
    catch_all_from_sample_rate: bool,
}

impl SamplingRule {
    /// A rule matching everything at `sample_rate` (clamped to `[0, 1]`; NaN is 0).
    pub fn new(sample_rate: f64) -> Self {
        let sample_rate = if sample_rate.is_nan() {
            0.0
        } else {
            sample_rate.clamp(0.0, 1.0)
        };
        SamplingRule {
            sample_rate,
            service: None,
            name: None,
            resource: None,
            tags: Vec::new(),
            catch_all_from_sample_rate: false,
        }
    }

    /// The catch-all rule `DD_TRACE_SAMPLE_RATE` stands for.
    pub(crate) fn catch_all(sample_rate: f64) -> Self {
        SamplingRule {
            catch_all_from_sample_rate: true,
            ..SamplingRule::new(sample_rate)
        }
    }

    /// Matches the service against a glob.
    pub fn service(mut self, pattern: &str) -> Self {
        self.service = Some(Glob::new(pattern));
        self
    }

    /// Matches the span name against a glob.
    pub fn name(mut self, pattern: &str) -> Self {
        self.name = Some(Glob::new(pattern));
        self
    }

    /// Matches the resource against a glob (an empty pattern means no constraint, as in the
    /// reference).
    pub fn resource(mut self, pattern: &str) -> Self {
        self.resource = (!pattern.is_empty()).then(|| Glob::new(pattern));
        self
    }

    /// Matches tag `key` against a glob.
    pub fn tag(mut self, key: &str, pattern: &str) -> Self {
        self.tags.push((key.to_owned(), Glob::new(pattern)));
        self
    }

    /// The rule's rate.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Whether `input` matches every pattern of the rule.
    pub fn matches(&self, input: &SamplingInput<'_>) -> bool {
        let field = |g: &Option<Glob>, v: &str| g.as_ref().is_none_or(|g| g.matches(v));
        field(&self.service, input.service)
            && field(&self.name, input.name)
            && field(&self.resource, input.resource)
            && self.tags.iter().all(|(k, g)| tag_matches(input, k, g))
    }

    /// A short description for debug lines.
    pub fn describe(&self) -> String {
        if self.catch_all_from_sample_rate {
            return format!("DD_TRACE_SAMPLE_RATE={}", self.sample_rate);
        }
        let mut parts = Vec::new();
        if let Some(g) = &self.service {
            parts.push(format!("service={:?}", g.as_str()));
        }
        if let Some(g) = &self.name {
            parts.push(format!("name={:?}", g.as_str()));
        }
        if let Some(g) = &self.resource {
            parts.push(format!("resource={:?}", g.as_str()));
        }
        for (k, g) in &self.tags {
            parts.push(format!("tags.{k}={:?}", g.as_str()));
        }
        parts.push(format!("sample_rate={}", self.sample_rate));
        format!("rule {{{}}}", parts.join(", "))
    }
}

fn tag_matches(input: &SamplingInput<'_>, key: &str, glob: &Glob) -> bool {
    if let Some(v) = input.meta.get(key) {
        return glob.matches(v);
    }
    let Some(&n) = input.metrics.get(key) else {
        return false;
    };
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e18 {
        glob.matches(&format!("{}", n as i64))
    } else if glob.wildcards_only() {
        glob.matches(&format!("{n}"))
    } else {
        false
    }
}

/// Parses the `DD_TRACE_SAMPLING_RULES` JSON. Returns the valid rules (in order) and a
/// description of each problem: invalid JSON (no rules), or a rule that is not an object, lacks a
/// numeric `sample_rate` in `[0, 1]`, or has a pattern that is not a string (that rule skipped).
pub fn parse_sampling_rules(json: &str) -> (Vec<SamplingRule>, Vec<String>) {
    parse_rule_array(json, |item| parse_rule(&item))
}

/// A JSON array of rules, each parsed by `parse`: the valid ones in order, and a description
/// of each problem (invalid JSON or not an array: no rules; a rule `parse` refuses: skipped).
pub(super) fn parse_rule_array<T>(
    json: &str,
    mut parse: impl FnMut(Value) -> Result<T, String>,
) -> (Vec<T>, Vec<String>) {
    let items = match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) => items,
        Ok(_) => {
            return (
                Vec::new(),
                vec!["expected a JSON array of rules; no rules applied".into()],
            );
        }
        Err(e) => {
            return (
                Vec::new(),
                vec![format!("invalid JSON ({e}); no rules applied")],
            );
        }
    };
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match parse(item) {
            Ok(rule) => rules.push(rule),
            Err(why) => problems.push(format!("rule {i} skipped: {why}")),
        }
    }
    (rules, problems)
}

pub(super) fn parse_rule(item: &Value) -> Result<SamplingRule, String> {
    let Value::Object(obj) = item else {
        return Err("not a JSON object".into());
    };
    let rate = match obj.get("sample_rate") {
        None => return Err("no sample_rate".into()),
        Some(Value::Number(n)) => n.as_f64().ok_or("sample_rate is not a number")?,
        Some(other) => return Err(format!("sample_rate {other} is not a number")),
    };
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("sample_rate {rate} is not between 0 and 1"));
    }
    let mut rule = SamplingRule::new(rate);
    let pattern = |key: &str| -> Result<Option<String>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{key} {other} is not a string")),
        }
    };
    if let Some(p) = pattern("service")? {
        rule = rule.service(&p);
    }
    if let Some(p) = pattern("name")? {
        rule = rule.name(&p);
    }
    if let Some(p) = pattern("resource")? {
        rule = rule.resource(&p);
    }
    match obj.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Object(tags)) => {
            for (k, v) in tags {
                let p = match v {
                    Value::String(s) => s.clone(),
                    // As a span's tag of that value is matched: an integral number as an
                    // integer (`200.0` is `200`), a bool as the metric it becomes.
                    Value::Number(n) => match n.as_f64() {
                        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e18 => {
                            format!("{}", f as i64)
                        }
                        _ => n.to_string(),
                    },
                    Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
                    other => return Err(format!("tags.{k} {other} is not a string")),
                };
                rule = rule.tag(k, &p);
            }
        }
        Some(other) => return Err(format!("tags {other} is not an object")),
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span_data::{Str, TagMap, TraceId};

    #[test]
    fn parses_rules_and_reports_problems() {
        let (rules, problems) = parse_sampling_rules(
            r#"[{"service":"a*","name":"http.request","resource":"GET /x","tags":{"k":"v?","n":200},"sample_rate":0.5},
                {"sample_rate":1},
                {"service":"x"},
                {"sample_rate":"0.5"},
                {"sample_rate":2},
                {"service":3,"sample_rate":0.1},
                7]"#,
        );
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].sample_rate(), 0.5);
        assert_eq!(
            rules[0].describe(),
            r#"rule {service="a*", name="http.request", resource="GET /x", tags.k="v?", tags.n="200", sample_rate=0.5}"#
        );
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("rule 2") && problems[0].contains("no sample_rate"));
        let (rules, problems) = parse_sampling_rules("[{");
        assert!(rules.is_empty());
        assert!(problems[0].contains("invalid JSON"));
        assert_eq!(parse_sampling_rules("{}").1.len(), 1);
    }

    #[test]
    fn json_numbers_and_bools_match_the_tags_of_that_value() {
        let (rules, problems) = parse_sampling_rules(
            r#"[{"tags":{"status":200.0,"flag":true,"off":false},"sample_rate":0}]"#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let rule = &rules[0];
        let meta: TagMap<Str> = TagMap::new();
        let mut metrics: TagMap<f64> = TagMap::new();
        // What `set_tag("status", 200)`, `set_tag("flag", true)`, `set_tag("off", false)` store.
        metrics.insert("status", 200.0);
        metrics.insert("flag", 1.0);
        metrics.insert("off", 0.0);
        let matches = |metrics: &TagMap<f64>| {
            rule.matches(&SamplingInput {
                meta: &meta,
                metrics,
                ..SamplingInput::new(TraceId(1), "svc", "op", "r")
            })
        };
        assert!(matches(&metrics));
        metrics.insert("flag", 0.0);
        assert!(!matches(&metrics));
    }

    #[test]
    fn matching() {
        let mut meta: TagMap<Str> = TagMap::new();
        meta.insert("k", Str::Borrowed("vX"));
        let mut metrics: TagMap<f64> = TagMap::new();
        metrics.insert("status", 200.0);
        metrics.insert("ratio", 0.25);
        let input = SamplingInput {
            meta: &meta,
            metrics: &metrics,
            ..SamplingInput::new(TraceId(1), "Api-Svc", "http.request", "GET /x")
        };
        assert!(SamplingRule::new(1.0).matches(&input));
        assert!(SamplingRule::new(1.0).service("api-*").matches(&input));
        assert!(!SamplingRule::new(1.0).service("web-*").matches(&input));
        assert!(
            SamplingRule::new(1.0)
                .name("HTTP.*")
                .resource("GET ?x")
                .matches(&input)
        );
        assert!(SamplingRule::new(1.0).resource("").matches(&input));
        assert!(SamplingRule::new(1.0).tag("k", "v?").matches(&input));
        assert!(!SamplingRule::new(1.0).tag("k", "w*").matches(&input));
        assert!(!SamplingRule::new(1.0).tag("missing", "*").matches(&input));
        assert!(SamplingRule::new(1.0).tag("status", "2*").matches(&input));
        assert!(SamplingRule::new(1.0).tag("status", "200").matches(&input));
        assert!(!SamplingRule::new(1.0).tag("ratio", "0.*").matches(&input));
        assert!(SamplingRule::new(1.0).tag("ratio", "*").matches(&input));
        assert_eq!(SamplingRule::new(3.0).sample_rate(), 1.0);
    }
}
