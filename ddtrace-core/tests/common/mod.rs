//! Helpers shared by the integration tests: a tracer on a collector, span lookup.

#![allow(dead_code, clippy::panic)] // not every test file uses every helper

use std::collections::HashMap;

use ddtrace_core::{Collector, Config, ConfigBuilder, SpanData, Tracer};

/// A tracer configured by `builder` alone (the process environment is ignored), sending to a
/// collector.
pub fn tracer_with(builder: ConfigBuilder) -> (Tracer, Collector) {
    let collector = Collector::new();
    let config = builder.build_from(&HashMap::<&str, &str>::new());
    (Tracer::with_exporter(config, collector.clone()), collector)
}

/// A tracer with service `service` and env `test`.
pub fn tracer_for(service: &str) -> (Tracer, Collector) {
    tracer_with(Config::builder().service(service).env("test"))
}

/// The span named `name`; panics with the whole list if there is none.
pub fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span named {name} in {spans:#?}"))
}

/// A string tag of a span.
pub fn meta<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    span.meta.get(key).map(|v| &**v)
}
