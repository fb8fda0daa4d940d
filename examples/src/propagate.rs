//! The `propagate` example's logic: continue a trace from incoming headers and produce the
//! outgoing ones, in the propagation styles the configuration names.

use std::collections::HashMap;

use ddtrace_core::Tracer;

/// What went wrong with the input.
#[derive(Debug)]
pub enum PropagateError {
    /// The input is not a JSON object of string values.
    BadInput(String),
}

impl std::fmt::Display for PropagateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PropagateError::BadInput(why) => write!(
                f,
                "expected a JSON object of header names to string values: {why}"
            ),
        }
    }
}

impl std::error::Error for PropagateError {}

/// Reads incoming headers (a JSON object), continues their trace with one child span
/// `propagate.child` (a new trace when they carry none), and returns the outgoing headers.
///
/// # Errors
///
/// [`PropagateError::BadInput`] when `input` is not a JSON object of strings. Malformed trace
/// headers are not an error: they start a new trace (and are explained in debug logs).
pub fn propagate(tracer: &Tracer, input: &str) -> Result<HashMap<String, String>, PropagateError> {
    let value: serde_json::Value =
        serde_json::from_str(input).map_err(|e| PropagateError::BadInput(e.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| PropagateError::BadInput(format!("got {value}")))?;
    let mut incoming = HashMap::with_capacity(object.len());
    for (k, v) in object {
        let v = v
            .as_str()
            .ok_or_else(|| PropagateError::BadInput(format!("the value of {k:?} is {v}")))?;
        incoming.insert(k.to_ascii_lowercase(), v.to_owned());
    }
    let builder = tracer.span("propagate.child");
    let builder = match tracer.extract(&incoming) {
        Some(parent) => builder.child_of(&parent),
        None => builder,
    };
    let span = builder.enter();
    let mut outgoing = HashMap::new();
    if let Some(ctx) = span.context() {
        tracer.inject(&ctx, &mut outgoing);
    }
    Ok(outgoing)
}
