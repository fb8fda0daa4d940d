//! Interned configuration strings: leaked once, then borrowed (`Cow::Borrowed`) by every span
//! and every finalized chunk at no cost.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Interns a configuration string so spans can borrow it (`Cow::Borrowed`) at no cost.
/// Called only when a tracer (or its finalizer) is built, or a global tag is set, so the set
/// stays as small as the set of configurations.
pub(crate) fn intern(s: &str) -> &'static str {
    static SET: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let set = SET.get_or_init(|| Mutex::new(HashSet::new()));
    let mut set = set.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = set.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::intern;

    #[test]
    fn the_same_string_is_interned_once() {
        let a = intern(&String::from("intern-test-value"));
        let b = intern("intern-test-value");
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "intern-test-value");
    }
}
