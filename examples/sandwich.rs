//! `cargo run --example sandwich`: the seed's examples, sent to the Datadog Agent at
//! `DD_TRACE_AGENT_URL` (or `DD_AGENT_HOST` / `DD_TRACE_AGENT_PORT`, default localhost:8126).

use std::time::Duration;

use ddtrace_core::{Config, Tracer};

fn main() {
    // Everything else (agent URL, env, version, tags) comes from the DD_* environment.
    let config = Config::builder().service("sandwich-svc").build();
    ddtrace_core::set_global_tracer(Tracer::new(config));

    examples::sandwich::run();

    let tracer = ddtrace_core::tracer();
    let delivered = tracer.shutdown(Duration::from_secs(10));
    let stats = tracer.stats();
    println!(
        "sandwich: {} traces ({} spans) sent, {} dropped{}",
        stats.traces_sent,
        stats.spans_sent,
        stats.traces_dropped.total(),
        if delivered {
            ""
        } else {
            " (shutdown timed out)"
        }
    );
    if !delivered {
        std::process::exit(1);
    }
}
