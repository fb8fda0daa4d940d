//! The tracer's own diagnostics: warnings always, debug lines when `DD_TRACE_DEBUG` is on.
//!
//! Lines go to standard error prefixed with `ddtrace`, so a service's own logs stay untouched.
//! A warning about the same subject (a configuration value, a refused payload, ...) is printed
//! once per process, however often it recurs: [`warn_once`]. The dropped-traces summary is the
//! writer's own, at most once a minute and at shutdown.
//!
//! Tests and applications that want the lines elsewhere install a sink with [`set_log_sink`].

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Severity of a diagnostic line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Detailed tracing of the tracer itself (only with `DD_TRACE_DEBUG`).
    Debug,
    /// Informational (startup configuration line).
    Info,
    /// Something is wrong but the tracer carries on (bad configuration, dropped data).
    Warn,
    /// The tracer could not do something it was asked to.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        })
    }
}

/// Where diagnostic lines go. Installed with [`set_log_sink`].
pub type LogSink = Box<dyn Fn(Level, &str) + Send + Sync>;

static DEBUG: AtomicBool = AtomicBool::new(false);
/// The sink, shared: a line takes a handle and calls the sink holding no lock, so a sink may
/// log, or replace itself, without waiting on this lock.
static SINK: RwLock<Option<Arc<LogSink>>> = RwLock::new(None);
static ONCE_KEYS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// Turns debug lines on or off (the tracer does this from `DD_TRACE_DEBUG`).
pub fn set_debug(enabled: bool) {
    DEBUG.store(enabled, Ordering::Relaxed);
}

/// Whether debug lines are printed.
pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// Sends the tracer's diagnostic lines to `sink` instead of standard error.
pub fn set_log_sink(sink: impl Fn(Level, &str) + Send + Sync + 'static) {
    if let Ok(mut guard) = SINK.write() {
        *guard = Some(Arc::new(Box::new(sink)));
    }
}

thread_local! {
    /// This thread's lines held back (see [`held_back`]); `None` while lines are written.
    static HELD: RefCell<Option<Vec<(Level, String)>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's diagnostic lines held back rather than written; returns them
/// with its result, for [`write_lines`] once the caller holds nothing that a log sink (user
/// code, which may call back into the tracer) could wait on.
pub(crate) fn held_back<T>(f: impl FnOnce() -> T) -> (T, Vec<(Level, String)>) {
    /// Puts back what was held before, even if `f` unwinds. Its lines are then written to
    /// standard error: the caller may hold what a sink would wait on.
    struct Restore(Option<Option<Vec<(Level, String)>>>);
    impl Restore {
        fn lines(&mut self) -> Vec<(Level, String)> {
            let previous = self.0.take().flatten();
            HELD.try_with(|h| h.replace(previous))
                .ok()
                .flatten()
                .unwrap_or_default()
        }
    }
    impl Drop for Restore {
        fn drop(&mut self) {
            if self.0.is_some() {
                for (level, text) in self.lines() {
                    eprintln!("ddtrace {level}: {text}");
                }
            }
        }
    }
    let previous = HELD
        .try_with(|h| h.replace(Some(Vec::new())))
        .ok()
        .flatten();
    let mut restore = Restore(Some(previous));
    let result = f();
    let lines = restore.lines();
    (result, lines)
}

/// Writes lines [`held_back`] returned.
pub(crate) fn write_lines(lines: Vec<(Level, String)>) {
    for (level, text) in lines {
        write_line(level, text);
    }
}

/// Writes one diagnostic line. Out of line, as the rare path it is: the hot paths that may
/// log carry only the call.
#[cold]
#[inline(never)]
pub fn log(level: Level, message: fmt::Arguments<'_>) {
    if level == Level::Debug && !debug_enabled() {
        return;
    }
    write_line(level, message.to_string());
}

/// Hands `text` to the sink (or standard error), unless this thread holds its lines back.
fn write_line(level: Level, text: String) {
    let holding = HELD
        .try_with(|h| matches!(h.try_borrow().as_deref(), Ok(Some(_))))
        .unwrap_or(false);
    if holding {
        let _ = HELD.try_with(|h| {
            if let Ok(mut h) = h.try_borrow_mut()
                && let Some(held) = h.as_mut()
            {
                held.push((level, text));
            }
        });
        return;
    }
    let sink = SINK
        .read()
        .map(|guard| guard.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    match sink {
        Some(sink) => sink(level, &text),
        None => eprintln!("ddtrace {level}: {text}"),
    }
}

/// Writes a warning the first time `key` is seen in this process; later calls are silent.
/// Returns whether the line was written.
pub fn warn_once(key: &str, message: fmt::Arguments<'_>) -> bool {
    let set = ONCE_KEYS.get_or_init(|| Mutex::new(HashSet::new()));
    let first = match set.lock() {
        Ok(mut seen) => seen.insert(key.to_owned()),
        Err(_) => true,
    };
    if first {
        log(Level::Warn, message);
    }
    first
}

/// `debug!(...)`: a debug line, formatted only when debug logging is on.
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::debug_enabled() {
            $crate::log::log($crate::log::Level::Debug, format_args!($($arg)*));
        }
    };
}

pub(crate) use debug;

#[cfg(test)]
mod tests {
    use super::*;

    fn holding() -> bool {
        HELD.with(|h| h.borrow().is_some())
    }

    #[test]
    fn held_lines_come_back_in_order_nested_ones_with_them() {
        let ((), lines) = held_back(|| {
            log(Level::Warn, format_args!("first"));
            let ((), inner) = held_back(|| log(Level::Info, format_args!("inner")));
            assert_eq!(inner, [(Level::Info, "inner".to_owned())]);
            // Written while the outer call holds lines back: held with them.
            write_lines(inner);
            log(Level::Warn, format_args!("last"));
        });
        assert_eq!(
            lines,
            [
                (Level::Warn, "first".to_owned()),
                (Level::Info, "inner".to_owned()),
                (Level::Warn, "last".to_owned()),
            ]
        );
        assert!(!holding());
    }

    #[test]
    fn a_panic_while_holding_lines_back_stops_holding() {
        let unwound = std::panic::catch_unwind(|| {
            held_back(|| {
                log(Level::Warn, format_args!("before the panic"));
                panic!("in the held code");
            })
        });
        assert!(unwound.is_err());
        assert!(!holding(), "later lines are written, not held forever");
    }
}
