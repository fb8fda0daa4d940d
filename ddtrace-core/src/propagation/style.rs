//! Propagation styles and the `DD_TRACE_PROPAGATION_STYLE[_INJECT|_EXTRACT]` list syntax.

use std::fmt;

/// A header format trace context travels in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PropagationStyle {
    /// `x-datadog-*` headers.
    Datadog,
    /// W3C `traceparent` and `tracestate`.
    TraceContext,
    /// B3 multiple headers (`x-b3-*`).
    B3Multi,
    /// B3 single header (`b3`).
    B3,
    /// W3C `baggage`.
    Baggage,
}

/// The styles used when none are configured: `datadog,tracecontext,baggage`.
pub const DEFAULT_PROPAGATION_STYLES: [PropagationStyle; 3] = [
    PropagationStyle::Datadog,
    PropagationStyle::TraceContext,
    PropagationStyle::Baggage,
];

impl PropagationStyle {
    /// Every style, in declaration order.
    pub const ALL: [PropagationStyle; 5] = [
        PropagationStyle::Datadog,
        PropagationStyle::TraceContext,
        PropagationStyle::B3Multi,
        PropagationStyle::B3,
        PropagationStyle::Baggage,
    ];

    /// The configuration name (`datadog`, `tracecontext`, `b3multi`, `b3`, `baggage`), also the
    /// `context_headers` attribute of span links.
    pub const fn as_str(self) -> &'static str {
        match self {
            PropagationStyle::Datadog => "datadog",
            PropagationStyle::TraceContext => "tracecontext",
            PropagationStyle::B3Multi => "b3multi",
            PropagationStyle::B3 => "b3",
            PropagationStyle::Baggage => "baggage",
        }
    }

    /// Parses one configuration name, case-insensitively. `b3 single header` is accepted as `b3`
    /// (its former name).
    pub fn parse(name: &str) -> Option<PropagationStyle> {
        let name = name.trim().to_ascii_lowercase();
        Some(match name.as_str() {
            "datadog" => PropagationStyle::Datadog,
            "tracecontext" => PropagationStyle::TraceContext,
            "b3multi" => PropagationStyle::B3Multi,
            "b3" | "b3 single header" => PropagationStyle::B3,
            "baggage" => PropagationStyle::Baggage,
            _ => return None,
        })
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for PropagationStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a comma-separated style list (`DD_TRACE_PROPAGATION_STYLE` syntax). `none` and empty
/// entries contribute nothing; duplicates are dropped. Returns the styles and the entries that
/// are not style names.
pub fn parse_style_list(raw: &str) -> (Vec<PropagationStyle>, Vec<String>) {
    let mut styles = Vec::new();
    let mut unknown = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if entry.eq_ignore_ascii_case("none") {
            continue;
        }
        match PropagationStyle::parse(entry) {
            Some(s) if !styles.contains(&s) => styles.push(s),
            Some(_) => {}
            None => unknown.push(entry.to_owned()),
        }
    }
    (styles, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        use PropagationStyle::*;
        assert_eq!(
            parse_style_list("Datadog, tracecontext,b3 ,datadog"),
            (vec![Datadog, TraceContext, B3], vec![])
        );
        assert_eq!(parse_style_list("none"), (vec![], vec![]));
        assert_eq!(
            parse_style_list("b3multi,jaeger"),
            (vec![B3Multi], vec!["jaeger".to_owned()])
        );
        for s in PropagationStyle::ALL {
            assert_eq!(PropagationStyle::parse(s.as_str()), Some(s));
        }
    }
}
