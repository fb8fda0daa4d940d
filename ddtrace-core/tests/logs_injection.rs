//! `LogInjector`: records of the `log` crate reach the wrapped logger with the active span's
//! correlation attributes (`DD_LOGS_INJECTION`). (Sets the process-wide tracer and logger, so it
//! lives in its own test binary.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ddtrace_core::{Collector, Config, LogInjector, Tracer};
use log::kv::{Key, Value, VisitSource};
use log::{Log, Record};

/// A record as the wrapped logger received it: its message and key-values.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    message: String,
    kvs: Vec<(String, String)>,
}

/// Keeps every record it is given; says it wants Info and above (but keeps what it is given).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

impl Capture {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &Record<'_>) {
        struct Collect(Vec<(String, String)>);
        impl<'kvs> VisitSource<'kvs> for Collect {
            fn visit_pair(&mut self, k: Key<'kvs>, v: Value<'kvs>) -> Result<(), log::kv::Error> {
                self.0.push((k.to_string(), v.to_string()));
                Ok(())
            }
        }
        let mut kvs = Collect(Vec::new());
        record.key_values().visit(&mut kvs).unwrap();
        self.0.lock().unwrap().push(Seen {
            message: record.args().to_string(),
            kvs: kvs.0,
        });
    }

    fn flush(&self) {}
}

fn kvs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn set_tracer(builder: ddtrace_core::ConfigBuilder) -> Collector {
    let collector = Collector::new();
    let config = builder
        .service("kitchen")
        .env("prod")
        .version("1.2.0")
        .build_from(&HashMap::<&str, &str>::new());
    ddtrace_core::set_global_tracer(Tracer::with_exporter(config, collector.clone()));
    collector
}

#[test]
fn records_carry_the_ids_of_the_active_span() {
    let capture = Capture::default();
    log::set_logger(Box::leak(Box::new(LogInjector::new(capture.clone())))).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    // Before the process-wide tracer exists, records pass through (the logger does not build
    // it).
    log::info!("early");
    assert_eq!(
        capture.take(),
        [Seen {
            message: "early".to_owned(),
            kvs: Vec::new(),
        }]
    );
    let collector = set_tracer(Config::builder().trace_id_128(false));

    // Through the `log` macros, inside a span and outside.
    {
        let _span = ddtrace_core::trace("sandwich.make");
        log::info!(step = "bread"; "two slices");
        // Below what the wrapped logger wants: passed on untouched, no ids looked up.
        log::debug!("filtered");
    }
    log::info!("done");
    let span = collector.span("sandwich.make").unwrap();
    let (trace_id, span_id) = (span.trace_id.low().to_string(), span.span_id.to_string());
    let seen = capture.take();
    assert_eq!(
        seen,
        [
            Seen {
                message: "two slices".to_owned(),
                kvs: kvs(&[
                    ("step", "bread"),
                    ("dd.service", "kitchen"),
                    ("dd.env", "prod"),
                    ("dd.version", "1.2.0"),
                    ("dd.trace_id", &trace_id),
                    ("dd.span_id", &span_id),
                ]),
            },
            Seen {
                message: "filtered".to_owned(),
                kvs: Vec::new(),
            },
            Seen {
                message: "done".to_owned(),
                kvs: kvs(&[
                    ("dd.service", "kitchen"),
                    ("dd.env", "prod"),
                    ("dd.version", "1.2.0"),
                    ("dd.trace_id", "0"),
                    ("dd.span_id", "0"),
                ]),
            },
        ]
    );

    // In the message too, for a logger that writes no key-values; a key the record has itself
    // keeps its value.
    let in_message = LogInjector::new(capture.clone()).in_message();
    let own = [("dd.env", "staging")];
    let (trace_id, span_id) = {
        let span = ddtrace_core::trace("sandwich.make");
        in_message.log(
            &Record::builder()
                .args(format_args!("cheese"))
                .key_values(&own)
                .build(),
        );
        let context = span.context().unwrap();
        (context.trace_id().low(), context.span_id())
    };
    let seen = capture.take();
    assert_eq!(
        seen[0].message,
        format!(
            "[dd.service=kitchen dd.env=staging dd.version=1.2.0 dd.trace_id={trace_id} \
             dd.span_id={span_id}] cheese"
        )
    );
    assert_eq!(seen[0].kvs[0], ("dd.env".to_owned(), "staging".to_owned()));
    assert_eq!(
        seen[0].kvs.iter().filter(|(k, _)| k == "dd.env").count(),
        1,
        "{:?}",
        seen[0].kvs
    );

    // DD_LOGS_INJECTION off: records pass through unchanged.
    set_tracer(Config::builder().logs_injection(false));
    {
        let _span = ddtrace_core::trace("sandwich.make");
        in_message.log(&Record::builder().args(format_args!("plain")).build());
    }
    assert_eq!(
        capture.take(),
        [Seen {
            message: "plain".to_owned(),
            kvs: Vec::new(),
        }]
    );
}
