//! The `TextMap` / `HttpHeaders` formats: ddtrace-core's [`Propagator`] (Datadog, W3C
//! trace context, B3 and W3C baggage headers, in the styles `DD_TRACE_PROPAGATION_STYLE*`
//! configure; default `datadog,tracecontext,baggage`) plus OpenTracing's `ot-baggage-<key>`
//! headers.
//!
//! | key | inject | extract |
//! |---|---|---|
//! | `x-datadog-trace-id`, `x-datadog-parent-id`, `x-datadog-sampling-priority`, `x-datadog-origin`, `x-datadog-tags` (with `_dd.p.tid`) | style `datadog` | style `datadog` |
//! | `traceparent`, `tracestate` | style `tracecontext` | style `tracecontext` |
//! | `x-b3-*`, `b3` | styles `b3multi`, `b3` | styles `b3multi`, `b3` |
//! | `baggage` | style `baggage`: W3C, percent-encoded, at most 64 items and 8192 bytes | style `baggage`; its items win over `ot-baggage-*` of the same key (ignoring ASCII case) |
//! | `ot-baggage-<key>` | always, one per item, key and value percent-encoded | always, every key with the prefix |
//!
//! Errors: a carrier with no trace context gives `SpanContextNotFound` (even with baggage);
//! one whose trace header of an extracted style (`x-datadog-trace-id`, `traceparent`,
//! `x-b3-traceid` or `b3`) is present but yields no context gives `SpanContextCorrupted`. The
//! header of a style not extracted is ignored (`SpanContextNotFound`).
//!
//! `TextMap` compares keys exactly; `HttpHeaders` ignores ASCII case.

use std::sync::Arc;

use ddtrace_core::TagMap;
use ddtrace_core::propagation::{PropagationStyle, Propagator};
use opentracing_api::{CarrierError, ExtractError, Extractor, InjectError, Injector};

use crate::context::{Baggage, SpanContext};

/// The prefix of OpenTracing baggage keys.
pub(crate) const OT_BAGGAGE_PREFIX: &str = "ot-baggage-";

/// The trace header of a style whose presence, without a decoded context, means a corrupted
/// carrier (when that style is extracted: another style's header is just not ours to read).
fn trace_header(style: PropagationStyle) -> Option<&'static str> {
    match style {
        PropagationStyle::Datadog => Some("x-datadog-trace-id"),
        PropagationStyle::TraceContext => Some("traceparent"),
        PropagationStyle::B3Multi => Some("x-b3-traceid"),
        PropagationStyle::B3 => Some("b3"),
        PropagationStyle::Baggage => None,
    }
}

/// An OpenTracing injector as a ddtrace-core one; remembers the first refusal.
struct InjectAdapter<'a> {
    carrier: &'a mut dyn Injector,
    error: Option<CarrierError>,
}

impl ddtrace_core::propagation::Injector for InjectAdapter<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let Err(e) = self.carrier.set(key, &value)
            && self.error.is_none()
        {
            self.error = Some(e);
        }
    }
}

/// An OpenTracing extractor as a ddtrace-core one, exact or ignoring ASCII case.
struct ExtractAdapter<'a> {
    carrier: &'a dyn Extractor,
    ignore_case: bool,
}

impl ExtractAdapter<'_> {
    fn lookup(&self, key: &str) -> Option<&str> {
        if self.ignore_case {
            self.carrier.get_ignore_ascii_case(key)
        } else {
            self.carrier.get(key)
        }
    }
}

impl ddtrace_core::propagation::Extractor for ExtractAdapter<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.lookup(key)
    }

    fn keys(&self) -> Vec<&str> {
        self.carrier.keys()
    }
}

/// Writes `context` into `carrier` through `tracer` (the same path as
/// [`ddtrace_core::Tracer::inject`], so upstream `tracestate` travels and `_dd.propagation_error`
/// is recorded), then the `ot-baggage-*` headers. A context without a Datadog part (tracing
/// disabled) writes nothing.
pub(crate) fn inject(
    tracer: &ddtrace_core::Tracer,
    context: &SpanContext,
    carrier: &mut dyn Injector,
) -> Result<(), InjectError> {
    let Some(core) = context.core() else {
        return Ok(());
    };
    let baggage: TagMap<String> = context
        .baggage()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut adapter = InjectAdapter {
        carrier,
        error: None,
    };
    tracer.inject_with_baggage(core, &baggage, &mut adapter);
    if let Some(e) = adapter.error {
        return Err(InjectError::InvalidCarrier(e));
    }
    for (k, v) in context.baggage().iter() {
        carrier.set(
            &format!("{OT_BAGGAGE_PREFIX}{}", percent_encode(k)),
            &percent_encode(v),
        )?;
    }
    Ok(())
}

/// Reads a context from `carrier`; `ignore_case` for `HttpHeaders`.
pub(crate) fn extract(
    propagator: &Propagator,
    carrier: &dyn Extractor,
    ignore_case: bool,
) -> Result<SpanContext, ExtractError> {
    let adapter = ExtractAdapter {
        carrier,
        ignore_case,
    };
    let extracted = propagator.extract(&adapter);
    let Some(mut remote) = extracted.and_then(|e| e.context) else {
        return Err(
            match propagator
                .extract_styles()
                .iter()
                .filter_map(|&style| trace_header(style))
                .find_map(|h| Some((h, adapter.lookup(h)?)))
            {
                Some((header, value)) => ExtractError::SpanContextCorrupted(format!(
                    "no valid trace context in {header}: {value:?}"
                )),
                None => ExtractError::SpanContextNotFound,
            },
        );
    };

    let mut baggage: Baggage = remote
        .baggage
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for key in carrier.keys() {
        let Some(encoded) = strip_prefix(key, OT_BAGGAGE_PREFIX, ignore_case) else {
            continue;
        };
        let (Some(k), Some(v)) = (
            percent_decode(encoded),
            carrier.get(key).and_then(percent_decode),
        ) else {
            continue;
        };
        if !baggage.keys().any(|b| b.eq_ignore_ascii_case(&k)) {
            baggage.insert(k, v);
        }
    }
    remote.baggage = baggage
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(SpanContext::new(
        Some(ddtrace_core::SpanContext::remote(remote)),
        Arc::new(baggage),
    ))
}

fn strip_prefix<'a>(key: &'a str, prefix: &str, ignore_case: bool) -> Option<&'a str> {
    if ignore_case {
        let head = key.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix)
            .then(|| key.get(prefix.len()..))
            .flatten()
    } else {
        key.strip_prefix(prefix)
    }
}

/// Percent-encodes every byte but ASCII letters, digits and `-._~` (valid in header names,
/// header values and W3C baggage).
pub(crate) fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// Decodes `%XX` escapes (either case); `None` for a bad escape or invalid UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use ddtrace_core::TraceId;
    use opentracing_api::SpanContext as _;

    use super::*;

    const TRACE_ID: &str = "x-datadog-trace-id";
    const PARENT_ID: &str = "x-datadog-parent-id";
    const SAMPLING_PRIORITY: &str = "x-datadog-sampling-priority";
    const ORIGIN: &str = "x-datadog-origin";
    const TAGS: &str = "x-datadog-tags";

    fn carrier(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn dd() -> Propagator {
        Propagator::default()
    }

    fn core() -> ddtrace_core::Tracer {
        let config = ddtrace_core::Config::builder().build_from(&HashMap::<&str, &str>::new());
        ddtrace_core::Tracer::with_exporter(config, ddtrace_core::Collector::new())
    }

    #[test]
    fn percent_encoding_round_trips() {
        for s in ["plain", "a b,c;d=e%f", "ünïcødé ✓", "", "~._-"] {
            assert_eq!(percent_decode(&percent_encode(s)).as_deref(), Some(s));
        }
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_decode("%e2%9c%93").as_deref(), Some("✓"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%+1"), None);
        assert_eq!(percent_decode("%ff"), None); // not UTF-8
    }

    #[test]
    fn extract_reads_datadog_headers() {
        let ctx = extract(
            &dd(),
            &carrier(&[
                (TRACE_ID, "123"),
                (PARENT_ID, "456"),
                (SAMPLING_PRIORITY, "2"),
                (ORIGIN, "synthetics"),
                (TAGS, "_dd.p.dm=-4,_dd.p.tid=0000000000000001"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(ctx.dd_trace_id(), Some(TraceId::from_parts(1, 123)));
        assert_eq!(ctx.dd_span_id(), Some(456));
        assert_eq!(ctx.sampling_priority(), Some(2));
        assert_eq!(ctx.origin(), Some("synthetics"));
        let tags = ctx.core().unwrap().propagation_tags();
        assert_eq!(tags.get("_dd.p.dm").map(|v| v.as_ref()), Some("-4"));
    }

    #[test]
    fn missing_and_corrupt_contexts() {
        assert_eq!(
            extract(&dd(), &carrier(&[]), false).unwrap_err(),
            ExtractError::SpanContextNotFound
        );
        // Only baggage: still no span context.
        assert_eq!(
            extract(
                &dd(),
                &carrier(&[("ot-baggage-k", "v"), ("baggage", "k=v")]),
                false
            )
            .unwrap_err(),
            ExtractError::SpanContextNotFound
        );
        for bad in [
            &[(TRACE_ID, "abc")][..],
            &[(TRACE_ID, "0")],
            &[(TRACE_ID, "18446744073709551616")],
            &[(TRACE_ID, "-1")],
            &[(TRACE_ID, "1"), (PARENT_ID, "x")],
            &[
                (TRACE_ID, "1"),
                (PARENT_ID, "2"),
                (SAMPLING_PRIORITY, "keep"),
            ],
            &[("traceparent", "00-zz-zz-01")],
        ] {
            assert!(
                matches!(
                    extract(&dd(), &carrier(bad), false),
                    Err(ExtractError::SpanContextCorrupted(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn text_map_keys_are_exact_and_headers_are_not() {
        let c = carrier(&[("X-Datadog-Trace-Id", "7"), ("OT-Baggage-K", "v")]);
        assert_eq!(
            extract(&dd(), &c, false).unwrap_err(),
            ExtractError::SpanContextNotFound
        );
        let ctx = extract(&dd(), &c, true).unwrap();
        assert_eq!(ctx.dd_trace_id(), Some(TraceId::from_parts(0, 7)));
        assert_eq!(ctx.baggage_item("K"), Some("v"));
    }

    #[test]
    fn w3c_baggage_wins_over_ot_baggage() {
        let ctx = extract(
            &dd(),
            &carrier(&[
                (TRACE_ID, "1"),
                ("baggage", "Tenant=acme%20corp"),
                ("ot-baggage-tenant", "other"),
                ("ot-baggage-only", "here%2C%20there"),
            ]),
            false,
        )
        .unwrap();
        let items: Vec<_> = ctx.baggage_items().collect();
        assert_eq!(items, [("Tenant", "acme corp"), ("only", "here, there")]);
    }

    #[test]
    fn inject_writes_every_configured_style_and_ot_baggage() {
        let remote = ddtrace_core::RemoteContext {
            trace_id: TraceId::from_parts(0xab, 5),
            span_id: 6,
            sampling_priority: Some(1),
            ..Default::default()
        };
        let ctx = SpanContext::new(
            Some(ddtrace_core::SpanContext::remote(remote)),
            Arc::default(),
        )
        .with_baggage_item("user id", "a,b");
        let mut out = HashMap::new();
        inject(&core(), &ctx, &mut out).unwrap();
        assert_eq!(out[TRACE_ID], "5");
        assert_eq!(out[PARENT_ID], "6");
        assert_eq!(out[SAMPLING_PRIORITY], "1");
        assert!(out[TAGS].contains("_dd.p.tid=00000000000000ab"), "{out:?}");
        assert!(out.contains_key("traceparent"));
        assert_eq!(out["ot-baggage-user%20id"], "a%2Cb");
        assert!(out.contains_key("baggage"));
        let back = extract(&dd(), &out, false).unwrap();
        assert_eq!(back.dd_trace_id(), ctx.dd_trace_id());
        assert_eq!(back.baggage_item("user id"), Some("a,b"));
    }

    #[test]
    fn a_refused_header_is_an_invalid_carrier() {
        let remote = ddtrace_core::RemoteContext {
            trace_id: TraceId::from_parts(0, 5),
            span_id: 6,
            ..Default::default()
        };
        let ctx = SpanContext::new(
            Some(ddtrace_core::SpanContext::remote(remote)),
            Arc::default(),
        );
        let mut headers = opentracing_api::http::HeaderMap::new();
        inject(&core(), &ctx, &mut headers).unwrap();
        assert!(headers.contains_key(TRACE_ID));

        struct Refuses;
        impl Injector for Refuses {
            fn set(&mut self, key: &str, _value: &str) -> Result<(), CarrierError> {
                Err(CarrierError::new(key, "no"))
            }
        }
        assert!(matches!(
            inject(&core(), &ctx, &mut Refuses),
            Err(InjectError::InvalidCarrier(_))
        ));
        // Nothing to write: nothing refused.
        assert_eq!(
            inject(&core(), &SpanContext::default(), &mut Refuses),
            Ok(())
        );
    }
}
