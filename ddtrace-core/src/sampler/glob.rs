//! Glob patterns of sampling rules: `*` (any run, possibly empty) and `?` (one character),
//! no escapes, case-insensitive; the whole subject must match.

/// A compiled glob pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    source: String,
    pattern: Vec<char>,
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
        let subject: Vec<char> = subject.to_lowercase().chars().collect();
        let p = &self.pattern;
        let (mut px, mut sx) = (0usize, 0usize);
        // Where to resume after the last `*`: pattern index after it, subject index to retry.
        let mut star: Option<(usize, usize)> = None;
        while sx < subject.len() || px < p.len() {
            if let Some(&c) = p.get(px) {
                match c {
                    '*' => {
                        star = Some((px + 1, sx + 1));
                        px += 1;
                        continue;
                    }
                    '?' if sx < subject.len() => {
                        px += 1;
                        sx += 1;
                        continue;
                    }
                    c if subject.get(sx) == Some(&c) => {
                        px += 1;
                        sx += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            match star {
                Some((next_px, next_sx)) if next_sx <= subject.len() => {
                    px = next_px;
                    sx = next_sx;
                    star = Some((next_px, next_sx + 1));
                }
                _ => return false,
            }
        }
        true
    }
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
        assert!(Glob::new("*?").wildcards_only());
        assert!(!Glob::new("2*").wildcards_only());
    }
}
