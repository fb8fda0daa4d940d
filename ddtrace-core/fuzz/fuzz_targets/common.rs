//! Shared by the fuzz targets: turns fuzz input into headers, extracts with one style, and
//! re-injects what was extracted (which must not panic either).

use std::collections::HashMap;

use ddtrace_core::propagation::{InjectContext, PropagationStyle, Propagator};

/// Splits `data` into header values on `\n` and assigns them, in order, to `names`; the
/// values are lossily decoded UTF-8, so any byte sequence is a valid input.
pub fn run(style: PropagationStyle, names: &[&str], data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in names.iter().zip(text.split('\n')) {
        headers.insert((*name).to_owned(), value.to_owned());
    }
    // A small tag limit too, so the over-the-limit paths are reached.
    for max in [512, 24] {
        let propagator =
            Propagator::with_styles(vec![style], vec![style]).x_datadog_tags_max_length(max);
        let Some(extracted) = propagator.extract(&headers) else {
            continue;
        };
        let mut out: HashMap<String, String> = HashMap::new();
        if let Some(ctx) = &extracted.context {
            assert_ne!(ctx.trace_id.0, 0, "a context never has a zero trace id");
            let inject = InjectContext::new(ctx.trace_id, ctx.span_id.max(1))
                .priority(ctx.sampling_priority)
                .origin(ctx.origin.as_deref())
                .tags(&ctx.propagation_tags)
                .tracestate(ctx.tracestate.as_deref())
                .baggage(&ctx.baggage);
            propagator.inject(&inject, &mut out);
            // What we inject, we extract again, to the same trace.
            let again = propagator.extract(&out).and_then(|e| e.context);
            if style != PropagationStyle::Baggage {
                let again = again.expect("re-extracting an injected context");
                assert_eq!(again.trace_id, ctx.trace_id);
            }
        } else {
            let inject =
                InjectContext::new(ddtrace_core::TraceId(1), 1).baggage(&extracted.baggage);
            propagator.inject(&inject, &mut out);
            let again = propagator
                .extract(&out)
                .map(|e| e.baggage.len())
                .unwrap_or(0);
            // Re-encoding may grow items past the byte limit; never more items, never malformed.
            assert!(again <= extracted.baggage.len(), "baggage round trip");
            // Items blank once trimmed (e.g. `%09=0`) are skipped on injection; any other keeps
            // the header valid.
            let injectable = extracted
                .baggage
                .iter()
                .any(|(k, v)| !k.trim().is_empty() && !v.trim().is_empty());
            assert!(!injectable || again > 0, "re-injected baggage is valid");
        }
    }
}
