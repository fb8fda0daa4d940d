//! Where settings come from: [`EnvSource`] (the process environment or a map), and the
//! `Reader` that parses values, rejecting invalid ones as [`ConfigWarning`]s.

use std::collections::HashMap;

use super::DEFAULT_PROPAGATION_STYLE;
use crate::propagation::{PropagationStyle, parse_style_list};
use crate::sampler::{
    SamplingRule, SpanSamplingRule, parse_sampling_rules, parse_span_sampling_rules,
};

/// Where configuration variables come from: the process environment, or a map in tests.
pub trait EnvSource {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    #[allow(clippy::disallowed_methods)] // the one place the environment is read
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvSource for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl EnvSource for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|v| (*v).to_owned())
    }
}

impl<const N: usize> EnvSource for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// One rejected configuration value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The variable (or builder setting) that was rejected.
    pub variable: String,
    /// The rejected value.
    pub value: String,
    /// Why, and what is used instead.
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid {}={:?}: {}",
            self.variable, self.value, self.message
        )
    }
}

/// Parses `DD_TAGS`: `k:v` pairs separated by commas or spaces, split on the first `:`.
/// A pair without a key is rejected (warned); a pair without `:` becomes a tag with an empty value.
pub(super) fn parse_dd_tags(raw: &str, warnings: &mut Vec<ConfigWarning>) -> Vec<(String, String)> {
    let separator: &[char] = if raw.contains(',') { &[','] } else { &[' '] };
    let mut out = Vec::new();
    for item in raw
        .split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (k, v) = item.split_once(':').unwrap_or((item, ""));
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            warnings.push(ConfigWarning {
                variable: "DD_TAGS".into(),
                value: raw.into(),
                message: format!("the entry {item:?} has no key; it is ignored"),
            });
            continue;
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    out
}

/// Reads and parses settings from an [`EnvSource`], collecting the rejected values.
pub(super) struct Reader<'a> {
    pub(super) env: &'a dyn EnvSource,
    pub(super) warnings: Vec<ConfigWarning>,
}

impl Reader<'_> {
    pub(super) fn reject(&mut self, variable: &str, value: &str, message: String) {
        self.warnings.push(ConfigWarning {
            variable: variable.to_owned(),
            value: value.to_owned(),
            message,
        });
    }

    /// A non-empty trimmed string.
    pub(super) fn string(&mut self, name: &str) -> Option<String> {
        let v = self.env.get(name)?;
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// Sampling rules from JSON; problems are reported under `variable`, naming the value.
    pub(super) fn sampling_rules(&mut self, variable: &str, json: &str) -> Vec<SamplingRule> {
        let (rules, problems) = parse_sampling_rules(json);
        if !problems.is_empty() {
            self.reject(variable, json, problems.join("; "));
        }
        rules
    }

    /// Single-span sampling rules from JSON; problems are reported under `variable`.
    pub(super) fn span_sampling_rules(
        &mut self,
        variable: &str,
        json: &str,
    ) -> Vec<SpanSamplingRule> {
        let (rules, problems) = parse_span_sampling_rules(json);
        if !problems.is_empty() {
            self.reject(variable, json, problems.join("; "));
        }
        rules
    }

    /// A propagation style list: `None` when unset or when no entry is a style (warned, the
    /// default applies); `none` alone gives an empty list.
    pub(super) fn styles(&mut self, name: &str) -> Option<Vec<PropagationStyle>> {
        let raw = self.string(name)?;
        let (styles, unknown) = parse_style_list(&raw);
        if !unknown.is_empty() {
            let fallback = if styles.is_empty() && !raw.to_ascii_lowercase().contains("none") {
                format!("using the default ({DEFAULT_PROPAGATION_STYLE})")
            } else {
                "they are ignored".to_owned()
            };
            self.reject(
                name,
                &raw,
                format!(
                    "unknown style(s) {unknown:?} (expected datadog, tracecontext, b3multi, b3, baggage or none); {fallback}"
                ),
            );
            if styles.is_empty() && !raw.to_ascii_lowercase().contains("none") {
                return None;
            }
        }
        Some(styles)
    }

    pub(super) fn bool(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.string(name) else {
            return default;
        };
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => {
                self.reject(
                    name,
                    &raw,
                    format!("expected true or false; using the default ({default})"),
                );
                default
            }
        }
    }

    pub(super) fn parse<T: std::str::FromStr>(
        &mut self,
        name: &str,
        valid: impl Fn(&T) -> bool,
        expected: &str,
    ) -> Option<T> {
        let raw = self.string(name)?;
        match raw.parse::<T>() {
            Ok(v) if valid(&v) => Some(v),
            _ => {
                self.reject(
                    name,
                    &raw,
                    format!("expected {expected}; using the default"),
                );
                None
            }
        }
    }
}
