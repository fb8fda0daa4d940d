//! `cargo run -p examples --example logs`: log lines that Datadog links to the spans they were
//! written in. The `log` crate's records go through `LogInjector`, which adds `dd.trace_id`,
//! `dd.span_id`, `dd.service`, `dd.env` and `dd.version` (as key-values, and here before each
//! message too, for this logger that writes messages only); `DD_LOGS_INJECTION=false` turns
//! it off. The spans go to `DD_TRACE_AGENT_URL` (default `localhost:8126`).

use ddtrace_core::{Config, LogInjector};

/// Writes each record's level and message to standard output.
struct Stdout;

impl log::Log for Stdout {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            println!("{:5} {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

fn main() {
    let _tracing = ddtrace_core::init(Config::builder().service("kitchen").build());
    if log::set_logger(Box::leak(Box::new(LogInjector::new(Stdout).in_message()))).is_err() {
        eprintln!("logs: a logger was already installed");
    }
    log::set_max_level(log::LevelFilter::Info);

    log::info!("opening the kitchen"); // outside a trace: ids of 0
    {
        let _request = ddtrace_core::trace("sandwich.make");
        log::info!("two slices of bread");
        let ingredients = examples::sandwich::get_ingredients();
        log::info!("{} ingredients", ingredients.len());
        log::debug!("not written: below the logger's level");
    }
    log::info!("closing the kitchen");
}
