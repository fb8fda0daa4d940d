//! Glob patterns of sampling rules: `*` (any run, possibly empty) and `?` (one character),
//! no escapes, case-insensitive; the whole subject must match.

/// A compiled glob pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    source: String,
    pattern: Vec<char>,
    /// The pattern's bytes, lowercased, when it is ASCII: matched against an ASCII subject
    /// byte by byte, lowercasing as it goes, with no allocation (rules run once per trace).
    ascii: Option<Vec<u8>>,
    wildcards_only: bool,
}

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Self {
        let lowered = pattern.to_lowercase();
        let chars: Vec<char> = lowered.chars().collect();
        Glob {
            source: pattern.to_owned(),
            wildcards_only: chars.iter().all(|c| matches!(c, '*' | '?')),
            ascii: lowered.is_ascii().then(|| lowered.into_bytes()),
            pattern: chars,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern has only `*` and `?` (matches any value of the right length).
    pub fn wildcards_only(&self) -> bool {
        self.wildcards_only
    }

    /// Whether `subject` matches, ignoring case.
    pub fn matches(&self, subject: &str) -> bool {
        if self.pattern.len() == 1 && self.pattern[0] == '*' {
            return true;
        }
        match &self.ascii {
            // An ASCII subject lowercases byte by byte; a non-ASCII one may lowercase to ASCII
            // (the Kelvin sign to `k`) or to several characters, so it takes the general path.
            Some(p) if subject.is_ascii() => {
                let s = subject.as_bytes();
                glob_match(p, s.len(), |i| s[i].to_ascii_lowercase(), b'*', b'?')
            }
            _ => {
                let s: Vec<char> = subject.to_lowercase().chars().collect();
                glob_match(&self.pattern, s.len(), |i| s[i], '*', '?')
            }
        }
    }
}

/// Whether the `len` items `at` gives match the pattern `p`, where `star` matches any run
/// (possibly empty) and `one` any single item. Backtracks to the last `star` only.
fn glob_match<T: Copy + PartialEq>(
    p: &[T],
    len: usize,
    at: impl Fn(usize) -> T,
    star: T,
    one: T,
) -> bool {
    let (mut px, mut sx) = (0usize, 0usize);
    // Where to resume after the last `star`: pattern index after it, subject index to retry.
    let mut resume: Option<(usize, usize)> = None;
    while sx < len || px < p.len() {
        if let Some(&c) = p.get(px) {
            if c == star {
                resume = Some((px + 1, sx + 1));
                px += 1;
                continue;
            }
            if sx < len && (c == one || c == at(sx)) {
                px += 1;
                sx += 1;
                continue;
            }
        }
        match resume {
            Some((next_px, next_sx)) if next_sx <= len => {
                px = next_px;
                sx = next_sx;
                resume = Some((next_px, next_sx + 1));
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let m = |p: &str, s: &str| Glob::new(p).matches(s);
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("a*", "abc"));
        assert!(m("A*", "abc"), "case-insensitive");
        assert!(m("a*", "ABC"), "case-insensitive");
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*b*", "abc"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abbbd"));
        assert!(m("*.request", "http.request"));
        assert!(!m("http", "http.request"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("a**b", "ab"));
        assert!(m("??", "ab"));
        assert!(!m("??", "abc"));
        assert!(m("*a*a*a", "aaaaaaaa"));
        assert!(!m("*a*a*b", "aaaaaaaa"));
        // Non-ASCII patterns and subjects take the general path, and agree with ASCII ones.
        assert!(m("caf?", "CAFÉ"));
        assert!(m("CAFÉ*", "café au lait"));
        assert!(m("*é", "é"));
        assert!(!m("caf?", "cafés"));
        assert!(m("k*", "\u{212A}elvin"), "the Kelvin sign lowercases to k");
        assert!(m("?", "é"), "one character, two bytes");
        assert!(!m("??", "é"));
        assert!(Glob::new("*?").wildcards_only());
        assert!(!Glob::new("2*").wildcards_only());
    }
}
