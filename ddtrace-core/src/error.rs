//! Errors on spans: from `std::error::Error` values, from displayable values, and from panics.
//!
//! A panic carries no type, message or stack to a `Drop` impl, so the first tracer installs a
//! panic hook (chained: the previous hook still runs) that records the panic's message, location
//! and backtrace for the panicking thread. A span finished while that thread unwinds is marked
//! with them: `error.type` = `panic`, `error.message` = the payload, `error.stack` = location and
//! backtrace. An application that replaces the panic hook afterwards still gets `error = 1` and a
//! generic message.

use crate::clock::Instant;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::Once;

use crate::span_data::Str;

/// What an error contributes to a span.
pub(crate) struct ErrorInfo {
    pub(crate) kind: Str,
    pub(crate) message: String,
    pub(crate) stack: Option<String>,
}

impl ErrorInfo {
    pub(crate) fn from_error<E: std::error::Error + ?Sized>(err: &E) -> Self {
        let mut stack = String::new();
        let mut source = err.source();
        if source.is_some() {
            stack.push_str("Caused by:");
        }
        let mut i = 0;
        while let Some(cause) = source {
            let _ = write!(stack, "\n    {i}: {cause}");
            i += 1;
            source = cause.source();
        }
        let bt = Backtrace::capture();
        if bt.status() == BacktraceStatus::Captured {
            if !stack.is_empty() {
                stack.push_str("\n\n");
            }
            let _ = write!(stack, "Stack backtrace:\n{bt}");
        }
        ErrorInfo {
            kind: Str::Borrowed(std::any::type_name::<E>()),
            message: err.to_string(),
            stack: (!stack.is_empty()).then_some(stack),
        }
    }

    pub(crate) fn from_display<E: std::fmt::Display + ?Sized>(err: &E) -> Self {
        ErrorInfo {
            kind: Str::Borrowed(std::any::type_name::<E>()),
            message: err.to_string(),
            stack: None,
        }
    }
}

struct PanicRecord {
    message: String,
    stack: String,
    /// When the panic began: a span started after it (in a `Drop` run by the unwind) did not
    /// see it leave its scope.
    at: Instant,
}

thread_local! {
    static LAST_PANIC: RefCell<Option<PanicRecord>> = const { RefCell::new(None) };
}

/// Installs the recording panic hook once per process, chained before the previous hook.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "Box<dyn Any>".to_owned()
            };
            let at = Instant::now();
            let mut stack = String::new();
            if let Some(loc) = info.location() {
                let _ = writeln!(stack, "panicked at {loc}");
            }
            let _ = write!(stack, "{}", Backtrace::force_capture());
            let _ = LAST_PANIC.try_with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    *p = Some(PanicRecord { message, stack, at });
                }
            });
            previous(info);
        }));
    });
}

/// The error of the panic this thread is unwinding from, for a span that started at
/// `started`: `None` when the panic began after the span started (the span was started by
/// code the unwind runs, and the panic is not leaving its scope).
pub(crate) fn panic_through(started: Instant) -> Option<ErrorInfo> {
    let recorded = LAST_PANIC
        .try_with(|p| {
            p.try_borrow().ok().and_then(|p| {
                p.as_ref().map(|r| {
                    (r.at >= started).then(|| ErrorInfo {
                        kind: Str::Borrowed("panic"),
                        message: r.message.clone(),
                        stack: Some(r.stack.clone()),
                    })
                })
            })
        })
        .ok()
        .flatten();
    // Nothing recorded (the hook was replaced): the panic is taken to pass through.
    recorded.unwrap_or_else(|| {
        Some(ErrorInfo {
            kind: Str::Borrowed("panic"),
            message: "the thread panicked while this span was open".to_owned(),
            stack: None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("disk full")
        }
    }
    impl std::error::Error for Inner {}

    #[derive(Debug)]
    struct Outer(Inner);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("could not save")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_info_has_type_message_and_chain() {
        let info = ErrorInfo::from_error(&Outer(Inner));
        assert!(info.kind.ends_with("::Outer"), "{}", info.kind);
        assert_eq!(info.message, "could not save");
        let stack = info.stack.unwrap();
        assert!(stack.starts_with("Caused by:\n    0: disk full"), "{stack}");
    }

    #[test]
    fn panic_record_is_read_back_on_the_panicking_thread() {
        install_panic_hook();
        let before = Instant::now();
        let r = std::panic::catch_unwind(|| {
            struct Probe(Instant);
            impl Drop for Probe {
                fn drop(&mut self) {
                    assert!(panic_through(Instant::now()).is_none(), "began before");
                    let info = panic_through(self.0).unwrap();
                    assert_eq!(info.message, "Oups !");
                    assert_eq!(&*info.kind, "panic");
                    assert!(info.stack.unwrap().contains("error.rs"));
                }
            }
            let _p = Probe(before);
            panic!("Oups !");
        });
        assert!(r.is_err());
    }
}
