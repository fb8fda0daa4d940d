//! Interned configuration strings: leaked once, then borrowed (`Cow::Borrowed`) by every span
//! and every finalized chunk at no cost.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use crate::span_data::Str;

/// What interning may leak in all: past it, strings are no longer interned (see
/// [`intern_or_own`]), so a program that sets ever new global tags cannot grow memory forever.
const MAX_INTERNED_BYTES: usize = 1 << 20;

/// The interned strings and their total length.
struct Interned {
    set: HashSet<&'static str>,
    bytes: usize,
}

impl Interned {
    /// Leaks `s` (not interned yet) and adds it.
    fn add(&mut self, s: &str) -> &'static str {
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        self.bytes += leaked.len();
        self.set.insert(leaked);
        leaked
    }
}

fn interned() -> std::sync::MutexGuard<'static, Interned> {
    static SET: OnceLock<Mutex<Interned>> = OnceLock::new();
    SET.get_or_init(|| {
        Mutex::new(Interned {
            set: HashSet::new(),
            bytes: 0,
        })
    })
    .lock()
    .unwrap_or_else(|p| p.into_inner())
}

/// Interns a configuration string so spans can borrow it (`Cow::Borrowed`) at no cost.
/// Called only when a tracer (or its finalizer) is built, so the set stays as small as the set
/// of configurations.
pub(crate) fn intern(s: &str) -> &'static str {
    let mut interned = interned();
    match interned.set.get(s) {
        Some(found) => found,
        None => interned.add(s),
    }
}

/// [`intern`] while the interned strings stay under [`MAX_INTERNED_BYTES`], else an owned
/// copy (each span then gets its own copy, a cost only a program that keeps setting new
/// values pays). For values set at run time: global tags.
pub(crate) fn intern_or_own(s: &str) -> Str {
    let mut interned = interned();
    if let Some(found) = interned.set.get(s) {
        return Str::Borrowed(found);
    }
    if interned.bytes + s.len() > MAX_INTERNED_BYTES {
        return Str::Owned(s.to_owned());
    }
    Str::Borrowed(interned.add(s))
}

#[cfg(test)]
mod tests {
    use super::intern;

    #[test]
    fn run_time_strings_stop_being_interned_past_the_budget() {
        // Enough distinct strings to pass the budget whatever other tests interned.
        let chunk = "x".repeat(64 * 1024);
        let results: Vec<_> = (0..40)
            .map(|i| super::intern_or_own(&format!("{i}-{chunk}")))
            .collect();
        assert!(matches!(results.last(), Some(super::Str::Owned(_))));
        // Already interned stays borrowed, past the budget too.
        assert!(matches!(
            super::intern_or_own(&format!("0-{chunk}")),
            super::Str::Borrowed(_)
        ));
    }

    #[test]
    fn the_same_string_is_interned_once() {
        let a = intern(&String::from("intern-test-value"));
        let b = intern("intern-test-value");
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "intern-test-value");
    }
}
