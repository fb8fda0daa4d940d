//! Log injection for the [`log`] crate (the `log` feature, on by default): a logger wrapper that
//! adds the active span's correlation ids to every record, as the reference tracer does with
//! `DD_LOGS_INJECTION`.

use std::fmt;

use log::kv::{self, Key, Source, Value, VisitSource};
use log::{Log, Metadata, Record};

use crate::span_data::Str;

/// A [`log::Log`] that hands every record to the logger it wraps with the Datadog correlation
/// attributes added as key-values (`dd.trace_id`, `dd.span_id`, `dd.service`, `dd.env`,
/// `dd.version`; see [`LogCorrelation`](crate::LogCorrelation)), from the process-wide tracer
/// and the span active on the logging thread.
///
/// A structured logger writes key-values as attributes; for one that writes only the message,
/// [`in_message`](Self::in_message) also prefixes the message with their text form
/// (`[dd.service=... dd.span_id=...] message`). `DD_LOGS_INJECTION=false` (or
/// [`ConfigBuilder::logs_injection`](crate::ConfigBuilder::logs_injection)) turns the wrapper
/// off: records then pass through unchanged, as they do before the process-wide tracer is set
/// or first used (the wrapper never builds it). Tracing disabled, the ids are `0`.
///
/// # Examples
///
/// ```
/// struct Stdout;
/// impl log::Log for Stdout {
///     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
///     fn log(&self, record: &log::Record<'_>) { println!("{}", record.args()) }
///     fn flush(&self) {}
/// }
///
/// let logger = ddtrace_core::LogInjector::new(Stdout).in_message();
/// log::set_logger(Box::leak(Box::new(logger))).unwrap();
/// log::set_max_level(log::LevelFilter::Info);
///
/// let _span = ddtrace_core::trace("sandwich.make");
/// log::info!("two slices of bread"); // [dd.service=... dd.span_id=...] two slices of bread
/// ```
#[derive(Debug)]
pub struct LogInjector<L> {
    inner: L,
    in_message: bool,
}

impl<L: Log> LogInjector<L> {
    /// Wraps `inner`, adding the correlation attributes to each record's key-values.
    pub fn new(inner: L) -> Self {
        LogInjector {
            inner,
            in_message: false,
        }
    }

    /// Also prefixes each message with the attributes' text form, for a logger that writes no
    /// key-values.
    pub fn in_message(mut self) -> Self {
        self.in_message = true;
        self
    }

    /// The wrapped logger.
    pub fn inner(&self) -> &L {
        &self.inner
    }
}

impl<L: Log> Log for LogInjector<L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        // A record the wrapped logger filters out costs nothing more (the `log` crate does not
        // ask `enabled` before `log`).
        if !self.inner.enabled(record.metadata()) {
            return self.inner.log(record);
        }
        // Not built here: until the application sets or first uses the process-wide tracer
        // there is no trace to name (and building it may log, through this very logger).
        let Some(tracer) = crate::tracer::global_if_set() else {
            return self.inner.log(record);
        };
        if !tracer.config().logs_injection() {
            return self.inner.log(record);
        }
        let theirs = record.key_values();
        // A key the record has itself keeps its value, in the key-values and in the message.
        let fields = tracer.log_correlation().fields().map(|(name, ours)| {
            let value = match theirs.get(Key::from_str(name)) {
                Some(own) => Str::Owned(own.to_string()),
                None => ours,
            };
            (name, value)
        });
        let added = Added {
            theirs,
            ours: &fields,
        };
        let mut builder = record.to_builder();
        builder.key_values(&added);
        if self.in_message {
            let prefix = TextForm(&fields);
            self.inner.log(
                &builder
                    .args(format_args!("[{prefix}] {}", record.args()))
                    .build(),
            );
        } else {
            self.inner.log(&builder.build());
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// A record's own key-values, then the correlation attributes (unless the record has a key of
/// the same name: its own value stands).
struct Added<'a> {
    theirs: &'a dyn Source,
    ours: &'a [(&'static str, Str)],
}

impl Source for Added<'_> {
    fn visit<'kvs>(&'kvs self, visitor: &mut dyn VisitSource<'kvs>) -> Result<(), kv::Error> {
        self.theirs.visit(visitor)?;
        for (name, value) in self.ours {
            if self.theirs.get(Key::from_str(name)).is_none() {
                visitor.visit_pair(Key::from_str(name), Value::from(&**value))?;
            }
        }
        Ok(())
    }
}

/// Attributes in the text form, `name=value` separated by spaces, as `LogCorrelation` shows
/// them.
struct TextForm<'a>(&'a [(&'static str, Str)]);

impl fmt::Display for TextForm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}
