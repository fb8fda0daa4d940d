//! `cargo run --example propagate`: reads incoming headers as a JSON object on stdin, continues
//! the trace with one child span `propagate.child` (sent to `DD_TRACE_AGENT_URL`), and writes
//! the outgoing headers as a JSON object on stdout, in the styles configured by the environment
//! (`DD_TRACE_PROPAGATION_STYLE`, `_INJECT`, `_EXTRACT`).
//!
//! ```sh
//! echo '{"x-datadog-trace-id":"1234","x-datadog-parent-id":"5678","x-datadog-sampling-priority":"1"}' \
//!   | DD_TRACE_PROPAGATION_STYLE=datadog,tracecontext cargo run -q --example propagate
//! ```

use std::io::Read;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let config = ddtrace_core::Config::builder().service("propagate").build();
    let tracer = ddtrace_core::Tracer::new(config);
    let outgoing = examples::propagate::propagate(&tracer, &input)?;
    let sorted: std::collections::BTreeMap<_, _> = outgoing.into_iter().collect();
    println!("{}", serde_json::to_string_pretty(&sorted)?);
    if !tracer.shutdown(Duration::from_secs(5)) {
        eprintln!("propagate: the span could not be delivered to the agent");
    }
    Ok(())
}
