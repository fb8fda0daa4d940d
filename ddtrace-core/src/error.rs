//! Errors on spans: from `std::error::Error` values, from displayable values, and from panics.
//!
//! A panic carries no type, message or stack to a `Drop` impl, so the first tracer installs a
//! panic hook (chained: the previous hook still runs) that records the panic's message, location
//! and backtrace for the panicking thread. A span finished while that thread unwinds is marked
//! with them: `error.type` = `panic`, `error.message` = the payload, `error.stack` = location and
//! backtrace. An application that replaces the panic hook afterwards still gets `error = 1` and a
//! generic message.

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
}

/// At most this many spans started during an unwind are remembered per thread (one that
/// is never finished stays listed; past the bound, such spans are marked like the others).
const MAX_STARTED_IN_UNWIND: usize = 1024;

thread_local! {
    static LAST_PANIC: RefCell<Option<PanicRecord>> = const { RefCell::new(None) };
    /// The spans this thread started while it was unwinding (code a `Drop` runs): a panic
    /// already under way when they started is not leaving their scope. Cleared when a new
    /// panic begins, which may leave it.
    static STARTED_IN_UNWIND: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Remembers that span `span_id` starts while this thread unwinds (see `STARTED_IN_UNWIND`).
#[cold]
pub(crate) fn started_in_unwind(span_id: u64) {
    let _ = STARTED_IN_UNWIND.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut()
            && s.len() < MAX_STARTED_IN_UNWIND
        {
            s.push(span_id);
        }
    });
}

/// Whether span `span_id` started during the unwind under way; with `finished`, forgets it.
fn was_started_in_unwind(span_id: u64, finished: bool) -> bool {
    STARTED_IN_UNWIND
        .try_with(|s| {
            let Ok(mut s) = s.try_borrow_mut() else {
                return false;
            };
            let Some(pos) = s.iter().position(|&id| id == span_id) else {
                return false;
            };
            if finished {
                s.swap_remove(pos);
            }
            true
        })
        .unwrap_or(false)
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
            let mut stack = String::new();
            if let Some(loc) = info.location() {
                let _ = writeln!(stack, "panicked at {loc}");
            }
            let _ = write!(stack, "{}", Backtrace::force_capture());
            let _ = LAST_PANIC.try_with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    *p = Some(PanicRecord { message, stack });
                }
            });
            // A new panic: it may leave the scope of any span open now.
            let _ = STARTED_IN_UNWIND.try_with(|s| {
                if let Ok(mut s) = s.try_borrow_mut() {
                    s.clear();
                }
            });
            previous(info);
        }));
    });
}

/// The error of the panic this thread is unwinding from, for span `span_id` leaving a scope
/// (`finished`: for good): `None` when the span was started by code the unwind runs (the
/// panic is not leaving its scope).
pub(crate) fn panic_through(span_id: u64, finished: bool) -> Option<ErrorInfo> {
    if was_started_in_unwind(span_id, finished) {
        return None;
    }
    let recorded = LAST_PANIC
        .try_with(|p| {
            p.try_borrow().ok().and_then(|p| {
                p.as_ref().map(|r| ErrorInfo {
                    kind: Str::Borrowed("panic"),
                    message: r.message.clone(),
                    stack: Some(r.stack.clone()),
                })
            })
        })
        .ok()
        .flatten();
    // Nothing recorded (the hook was replaced): the panic is taken to pass through.
    Some(recorded.unwrap_or(ErrorInfo {
        kind: Str::Borrowed("panic"),
        message: "the thread panicked while this span was open".to_owned(),
        stack: None,
    }))
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
        let r = std::panic::catch_unwind(|| {
            struct Probe;
            impl Drop for Probe {
                fn drop(&mut self) {
                    started_in_unwind(7);
                    assert!(panic_through(7, false).is_none(), "started by the unwind");
                    assert!(panic_through(7, true).is_none(), "until it finishes");
                    let info = panic_through(8, true).unwrap();
                    assert_eq!(info.message, "Oups !");
                    assert_eq!(&*info.kind, "panic");
                    assert!(info.stack.unwrap().contains("error.rs"));
                }
            }
            let _p = Probe;
            panic!("Oups !");
        });
        assert!(r.is_err());
    }
}
