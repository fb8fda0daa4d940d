//! The active span: [`Scope`] guards and the ready-made [`ThreadLocalScopeManager`].
//!
//! OpenTracing's active span is the implicit parent of new spans. Each tracer decides how
//! it is tracked, through [`Tracer::activate`](crate::Tracer::activate) and
//! [`Tracer::active_span_context`](crate::Tracer::active_span_context):
//!
//! * the [`NoopTracer`](crate::NoopTracer) and the `MockTracer` delegate to a
//!   [`ThreadLocalScopeManager`], a per-thread stack of activated contexts;
//! * a vendor tracer can instead use its own active-span machinery (so that OpenTracing's
//!   active span and its native one are the same thing), wrapping its own guard in a scope
//!   with [`Scope::from_guard`].
//!
//! # Scopes
//!
//! Activating returns a [`Scope`]: the span is active until the scope is dropped, and the
//! previously active span becomes active again. Scopes are `!Send` (a span is active on one
//! thread). Dropping scopes out of order is handled: dropping a scope removes only its own
//! activation, so the active span is always the most recently activated one still in scope.
//!
//! Activating a span does not finish it, and dropping a scope does not finish the span: the
//! span is finished by [`Span::finish`](crate::Span::finish) or by dropping it, as usual.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// A span's activation: the span is active until this is dropped.
///
/// Returned by [`Tracer::activate`](crate::Tracer::activate). Dropping it makes the
/// previously active span active again (see the [module docs](self) for out-of-order
/// drops).
///
/// A scope is `!Send` and `!Sync`: it belongs to the thread that activated the span.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<opentracing_api::Scope>();
/// ```
///
/// # Examples
///
/// ```
/// use opentracing_api::{NoopTracer, Span, Tracer};
///
/// let tracer = NoopTracer::new();
/// let parent = tracer.start_span("parent");
/// {
///     let _scope = tracer.activate(&parent);
///     assert!(tracer.active_span_context().is_some());
///     // Spans started here are children of `parent`.
///     tracer.start_span("child").finish();
/// }
/// assert!(tracer.active_span_context().is_none());
/// parent.finish();
/// ```
#[must_use = "the span is active only while the scope lives; dropping it deactivates the span"]
pub struct Scope {
    inner: Inner,
    _not_send: PhantomData<*const ()>,
}

enum Inner {
    Empty,
    ThreadLocal { key: u64 },
    Guard(#[allow(dead_code)] Box<dyn Any>),
}

impl Scope {
    /// A scope that activated nothing (for a tracer with nothing to activate).
    pub fn empty() -> Self {
        Scope::new(Inner::Empty)
    }

    /// A scope that owns a tracer's own guard and drops it when the scope is dropped: how a
    /// tracer with its own active-span machinery returns a `Scope` from
    /// [`Tracer::activate`](crate::Tracer::activate).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use opentracing_api::Scope;
    ///
    /// /// A vendor's native guard.
    /// struct NativeGuard(Rc<Cell<bool>>);
    /// impl Drop for NativeGuard {
    ///     fn drop(&mut self) {
    ///         self.0.set(false);
    ///     }
    /// }
    ///
    /// let active = Rc::new(Cell::new(true));
    /// let scope = Scope::from_guard(NativeGuard(Rc::clone(&active)));
    /// assert!(active.get());
    /// drop(scope);
    /// assert!(!active.get());
    /// ```
    pub fn from_guard<G: 'static>(guard: G) -> Self {
        Scope::new(Inner::Guard(Box::new(guard)))
    }

    /// Deactivates the span now (the same as dropping the scope).
    pub fn close(self) {}

    fn new(inner: Inner) -> Self {
        Scope {
            inner,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if let Inner::ThreadLocal { key } = self.inner {
            remove(key);
        }
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Empty => "empty",
            Inner::ThreadLocal { .. } => "thread-local",
            Inner::Guard(_) => "guard",
        };
        f.debug_tuple("Scope").field(&kind).finish()
    }
}

/// One activation on this thread's stack.
struct Entry {
    manager: u64,
    key: u64,
    context: Box<dyn Any>,
}

thread_local! {
    static STACK: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// Managers' identities, unique in the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

thread_local! {
    /// Activation keys, unique on their thread's stack (the only place they are looked up):
    /// a process-wide counter would be a cache line every thread's every activation writes.
    static NEXT_KEY: Cell<u64> = const { Cell::new(1) };
}

fn next_key() -> u64 {
    NEXT_KEY.try_with(|k| k.replace(k.get() + 1)).unwrap_or(0)
}

/// Removes the activation `key`, wherever it is on the stack.
fn remove(key: u64) {
    let removed = STACK
        .try_with(|stack| {
            let mut stack = stack.try_borrow_mut().ok()?;
            let pos = stack.iter().rposition(|e| e.key == key)?;
            Some(stack.remove(pos))
        })
        .ok()
        .flatten();
    // The context is dropped here, outside the borrow.
    drop(removed);
}

/// A scope manager that keeps each thread's active contexts on a thread-local stack.
///
/// Contexts of type `C` are activated with [`activate`](ThreadLocalScopeManager::activate)
/// and read back with [`active`](ThreadLocalScopeManager::active). Each manager (and its
/// clones) has its own identity, so two tracers on the same thread do not see each other's
/// active spans. Used by the [`NoopTracer`](crate::NoopTracer) and the `MockTracer`; a
/// tracer of your own can use it the same way.
///
/// # Examples
///
/// ```
/// use opentracing_api::ThreadLocalScopeManager;
///
/// let manager = ThreadLocalScopeManager::<u32>::new();
/// let outer = manager.activate(1);
/// {
///     let _inner = manager.activate(2);
///     assert_eq!(manager.active(), Some(2));
/// }
/// assert_eq!(manager.active(), Some(1));
/// drop(outer);
/// assert_eq!(manager.active(), None);
/// ```
pub struct ThreadLocalScopeManager<C> {
    id: u64,
    _context: PhantomData<fn() -> C>,
}

impl<C: Clone + 'static> ThreadLocalScopeManager<C> {
    /// A manager with a fresh identity and nothing active.
    pub fn new() -> Self {
        ThreadLocalScopeManager {
            id: next_id(),
            _context: PhantomData,
        }
    }

    /// Makes `context` this thread's active context until the returned scope is dropped.
    ///
    /// If the thread is being torn down (its thread-locals are gone), nothing is activated
    /// and an empty scope is returned.
    pub fn activate(&self, context: C) -> Scope {
        let key = next_key();
        let entry = Entry {
            manager: self.id,
            key,
            context: Box::new(context),
        };
        let pushed = STACK
            .try_with(|stack| match stack.try_borrow_mut() {
                Ok(mut stack) => {
                    stack.push(entry);
                    true
                }
                Err(_) => false,
            })
            .unwrap_or(false);
        if pushed {
            Scope::new(Inner::ThreadLocal { key })
        } else {
            Scope::empty()
        }
    }

    /// This thread's active context: the most recently activated one whose scope is still
    /// alive.
    pub fn active(&self) -> Option<C> {
        STACK
            .try_with(|stack| {
                let stack = stack.try_borrow().ok()?;
                stack
                    .iter()
                    .rev()
                    .find(|e| e.manager == self.id)?
                    .context
                    .downcast_ref::<C>()
                    .cloned()
            })
            .ok()
            .flatten()
    }
}

impl<C: Clone + 'static> Default for ThreadLocalScopeManager<C> {
    fn default() -> Self {
        ThreadLocalScopeManager::new()
    }
}

impl<C> Clone for ThreadLocalScopeManager<C> {
    /// A clone shares the original's identity, so it sees the same active contexts.
    fn clone(&self) -> Self {
        ThreadLocalScopeManager {
            id: self.id,
            _context: PhantomData,
        }
    }
}

impl<C> fmt::Debug for ThreadLocalScopeManager<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadLocalScopeManager")
            .field("id", &self.id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;

    #[test]
    fn nothing_is_active_at_first() {
        assert_eq!(ThreadLocalScopeManager::<u8>::new().active(), None);
    }

    #[test]
    fn nested_scopes_restore_the_previous_context() {
        let m = ThreadLocalScopeManager::new();
        let a = m.activate("a");
        assert_eq!(m.active(), Some("a"));
        let b = m.activate("b");
        assert_eq!(m.active(), Some("b"));
        let c = m.activate("c");
        assert_eq!(m.active(), Some("c"));
        drop(c);
        assert_eq!(m.active(), Some("b"));
        drop(b);
        assert_eq!(m.active(), Some("a"));
        drop(a);
        assert_eq!(m.active(), None);
    }

    #[test]
    fn out_of_order_drops_remove_only_their_own_activation() {
        let m = ThreadLocalScopeManager::new();
        let a = m.activate(1);
        let b = m.activate(2);
        let c = m.activate(3);
        drop(b);
        assert_eq!(m.active(), Some(3));
        drop(c);
        assert_eq!(m.active(), Some(1));
        let d = m.activate(4);
        drop(a);
        assert_eq!(m.active(), Some(4));
        drop(d);
        assert_eq!(m.active(), None);
    }

    #[test]
    fn managers_do_not_see_each_other() {
        let first = ThreadLocalScopeManager::new();
        let second = ThreadLocalScopeManager::new();
        let _a = first.activate(1);
        assert_eq!(second.active(), None);
        let _b = second.activate(2);
        assert_eq!(first.active(), Some(1));
        assert_eq!(second.active(), Some(2));
    }

    #[test]
    fn clones_share_their_identity() {
        let m = ThreadLocalScopeManager::new();
        let clone = m.clone();
        let _s = m.activate(7);
        assert_eq!(clone.active(), Some(7));
    }

    #[test]
    fn threads_do_not_see_each_other() {
        let m = ThreadLocalScopeManager::new();
        let _s = m.activate(5);
        let other = m.clone();
        let seen = std::thread::spawn(move || other.active()).join().unwrap();
        assert_eq!(seen, None);
        assert_eq!(m.active(), Some(5));
    }

    #[test]
    fn close_deactivates() {
        let m = ThreadLocalScopeManager::new();
        let s = m.activate(1);
        s.close();
        assert_eq!(m.active(), None);
    }

    #[test]
    fn guard_scopes_drop_their_guard() {
        struct Guard(Rc<Cell<u8>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let drops = Rc::new(Cell::new(0));
        let scope = Scope::from_guard(Guard(Rc::clone(&drops)));
        assert_eq!(drops.get(), 0);
        assert_eq!(format!("{scope:?}"), r#"Scope("guard")"#);
        drop(scope);
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn debug_names_the_kind() {
        assert_eq!(format!("{:?}", Scope::empty()), r#"Scope("empty")"#);
        let m = ThreadLocalScopeManager::new();
        assert_eq!(format!("{:?}", m.activate(1)), r#"Scope("thread-local")"#);
    }
}
