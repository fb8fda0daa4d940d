//! Log correlation: the identifiers a log line carries so that Datadog links it to the trace
//! and span it was written in, and to the service, env and version that wrote it.
//!
//! The attributes are those the Datadog log pipeline reads: `dd.trace_id`, `dd.span_id`,
//! `dd.service`, `dd.env` and `dd.version`. The trace id is the decimal 64-bit id, or the 32
//! lowercase hex digits of a 128-bit id (as the OpenTracing crate formats it); outside a trace
//! both ids are `0`, as the reference tracer logs them.

use std::fmt;

use crate::span_data::{Str, TraceId};

/// What a log line needs to be linked to its trace: see
/// [`Tracer::log_correlation`](crate::Tracer::log_correlation).
///
/// Its `Display` is the reference tracer's log format,
/// `dd.service=<service> dd.env=<env> dd.version=<version> dd.trace_id=<id> dd.span_id=<id>`,
/// for text logs; a structured logger takes [`fields`](Self::fields).
///
/// # Examples
///
/// ```
/// use ddtrace_core::{Collector, Config, Tracer};
///
/// let config = Config::builder()
///     .service("kitchen")
///     .env("prod")
///     .version("1.2.0")
///     .trace_id_128(false)
///     .build_from(&std::collections::HashMap::<&str, &str>::new());
/// let tracer = Tracer::with_exporter(config, Collector::new());
/// let span = tracer.trace("sandwich.make");
/// let ids = tracer.log_correlation();
/// let context = span.context().unwrap();
/// assert_eq!(ids.trace_id(), context.trace_id().low().to_string());
/// assert_eq!(
///     ids.to_string(),
///     format!(
///         "dd.service=kitchen dd.env=prod dd.version=1.2.0 dd.trace_id={} dd.span_id={}",
///         context.trace_id().low(),
///         context.span_id()
///     )
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogCorrelation {
    trace_id: TraceId,
    span_id: u64,
    service: Str,
    env: Str,
    version: Str,
}

impl LogCorrelation {
    /// The identifiers for a line written in the span `ids` names (trace id, span id; none:
    /// outside a trace) by a service configured with `service`, `env` and `version` (empty when
    /// unset; the tracer's interned strings, so nothing is copied).
    pub(crate) fn new(ids: Option<(TraceId, u64)>, service: Str, env: Str, version: Str) -> Self {
        let (trace_id, span_id) = ids.unwrap_or((TraceId(0), 0));
        LogCorrelation {
            trace_id,
            span_id,
            service,
            env,
            version,
        }
    }

    /// `dd.trace_id`: the decimal 64-bit trace id, or 32 lowercase hex digits when it has 128
    /// bits; `0` outside a trace.
    pub fn trace_id(&self) -> String {
        let mut id = String::with_capacity(32);
        let _ = self.write_trace_id(&mut id);
        id
    }

    /// Writes [`trace_id`](Self::trace_id), digits made by hand (`itoa`, a hex table): a log
    /// line pays for these on every write.
    fn write_trace_id(&self, out: &mut impl fmt::Write) -> fmt::Result {
        if self.trace_id.high() == 0 {
            return out.write_str(itoa::Buffer::new().format(self.trace_id.low()));
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; 32];
        for (i, d) in digits.iter_mut().enumerate() {
            *d = HEX[((self.trace_id.0 >> (124 - 4 * i)) & 0xf) as usize];
        }
        // Hex digits are ASCII.
        out.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
    }

    /// `dd.span_id`: the active span's id in decimal; `0` outside a trace.
    pub fn span_id(&self) -> String {
        itoa::Buffer::new().format(self.span_id).to_owned()
    }

    /// Whether the line is written inside a trace (else both ids are `0`).
    pub fn in_trace(&self) -> bool {
        self.span_id != 0
    }

    /// `dd.service`: the tracer's service.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// `dd.env`, empty when none is configured.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// `dd.version`, empty when none is configured.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The attributes by name, for a structured (JSON) logger, in the order of the text form.
    /// The service, env and version are borrowed from the tracer; the ids are formatted.
    pub fn fields(&self) -> [(&'static str, Str); 5] {
        [
            ("dd.service", self.service.clone()),
            ("dd.env", self.env.clone()),
            ("dd.version", self.version.clone()),
            ("dd.trace_id", Str::Owned(self.trace_id())),
            ("dd.span_id", Str::Owned(self.span_id())),
        ]
    }
}

impl fmt::Display for LogCorrelation {
    /// The text form, written straight out (no field is formatted into a string first).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in [
            ("dd.service=", &self.service),
            (" dd.env=", &self.env),
            (" dd.version=", &self.version),
        ] {
            f.write_str(name)?;
            f.write_str(value)?;
        }
        f.write_str(" dd.trace_id=")?;
        self.write_trace_id(f)?;
        f.write_str(" dd.span_id=")?;
        f.write_str(itoa::Buffer::new().format(self.span_id))
    }
}
