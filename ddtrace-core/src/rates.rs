//! The agent's sampling rates (`rate_by_service`), fed by every agent response and read by the
//! sampler when a trace starts.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::versioned::{Cache, Versioned};

/// Key of the agent's default rate.
pub const DEFAULT_RATE_KEY: &str = "service:,env:";

/// The latest `rate_by_service` table the agent sent. Each response replaces the whole table;
/// an empty or missing table means "no change".
///
/// Keys are parsed once when a response arrives, and each thread keeps the current table, so a
/// lookup (once per new trace, on the application thread) takes no lock: one atomic load tells
/// whether the table changed since the thread last looked. Each thread also keeps its last
/// answer, which serves the next lookup of the same names in the same table without hashing
/// them; it allocates only to hold a name longer than any the thread looked up before.
#[derive(Debug)]
pub struct AgentRates {
    table: Versioned<Table>,
}

impl Default for AgentRates {
    fn default() -> Self {
        AgentRates {
            table: Versioned::new(Table::default()),
        }
    }
}

thread_local! {
    /// This thread's copy of the last table it read.
    static CACHED: Cache<Table> = const { RefCell::new(None) };
    /// This thread's last lookup.
    static LAST: RefCell<LastLookup> = const { RefCell::new(LastLookup::new()) };
}

/// A thread's last rate lookup: the table it was made in (instance and generation), the names
/// looked up (their buffers reused by the next miss) and the answer.
struct LastLookup {
    stamp: Option<(u64, u64)>,
    service: String,
    env: String,
    rate: Option<f64>,
}

/// Whether `a` and `b` are equal. Empty strings are told apart by length alone: an empty
/// `String` points nowhere, and comparing bytes there (none) costs the C library's vector
/// `memcmp` a masked load from an unmapped page, which the CPU completes slowly, through a
/// microcode assist: 80-120 ns on the development machine (a profile, and a loop of compares).
#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

impl LastLookup {
    const fn new() -> Self {
        LastLookup {
            stamp: None,
            service: String::new(),
            env: String::new(),
            rate: None,
        }
    }

    /// The answer for `service` in `env`, if this was the last lookup and the table is the one
    /// it was made in.
    #[inline]
    fn answer(&self, stamp: (u64, u64), service: &str, env: &str) -> Option<Option<f64>> {
        (self.stamp == Some(stamp) && same(&self.service, service) && same(&self.env, env))
            .then_some(self.rate)
    }

    /// Keeps `rate` as the answer for `service` in `env` in the table `stamp` names (read
    /// before the lookup: if the table changed meanwhile, the next stamp differs).
    fn remember(&mut self, stamp: (u64, u64), service: &str, env: &str, rate: Option<f64>) {
        self.stamp = Some(stamp);
        self.service.clear();
        self.service.push_str(service);
        self.env.clear();
        self.env.push_str(env);
        self.rate = rate;
    }
}

#[derive(Debug, Default)]
struct Table {
    /// As received (valid rates only).
    raw: HashMap<String, f64>,
    /// service → (env, rate), the few envs of a service compared rather than hashed (see
    /// [`same`] for the empty one).
    by_service: HashMap<String, Vec<(String, f64)>>,
    /// The `service:,env:` rate.
    default: Option<f64>,
}

impl Table {
    /// The rate for `service` in `env`, else the default rate.
    fn get(&self, service: &str, env: &str) -> Option<f64> {
        self.by_service
            .get(service)
            .and_then(|envs| envs.iter().find(|(e, _)| same(e, env)))
            .map(|&(_, rate)| rate)
            .or(self.default)
    }
}

impl AgentRates {
    /// An empty table (no agent answer yet).
    pub fn new() -> Self {
        AgentRates::default()
    }

    /// Replaces the table with one from an agent response. Rates outside `[0, 1]` or not finite
    /// are dropped from it.
    pub fn update(&self, rates: HashMap<String, f64>) {
        let raw: HashMap<String, f64> = rates
            .into_iter()
            .filter(|(_, r)| r.is_finite() && (0.0..=1.0).contains(r))
            .collect();
        if raw.is_empty() {
            return;
        }
        let mut table = Table::default();
        for (key, &rate) in &raw {
            if key == DEFAULT_RATE_KEY {
                table.default = Some(rate);
            } else if let Some((service, env)) = key
                .strip_prefix("service:")
                .and_then(|rest| rest.split_once(",env:"))
            {
                table
                    .by_service
                    .entry(service.to_owned())
                    .or_default()
                    .push((env.to_owned(), rate));
            }
        }
        table.raw = raw;
        self.table.update(|_| (table, ()));
    }

    /// The rate for `service` in `env` (`env` empty when unset), else the agent's default rate.
    pub fn rate_for(&self, service: &str, env: &str) -> Option<f64> {
        // A service mostly starts its traces under one name: the thread's last answer, while
        // the table has not changed, spares hashing the two names again. The stamp is read
        // before the table: if the table changes meanwhile, the next stamp differs.
        let stamp = self.table.stamp();
        let last = LAST.try_with(|last| last.try_borrow().ok()?.answer(stamp, service, env));
        if let Ok(Some(rate)) = last {
            return rate;
        }
        let rate = self.table.with(&CACHED, |table| table.get(service, env));
        let _ = LAST.try_with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                last.remember(stamp, service, env, rate);
            }
        });
        rate
    }

    /// A copy of the whole table.
    pub fn snapshot(&self) -> HashMap<String, f64> {
        self.table.locked().raw.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn per_thread_copies_see_every_update_and_never_mix_instances() {
        let a = Arc::new(AgentRates::new());
        let b = AgentRates::new();
        a.update(HashMap::from([(DEFAULT_RATE_KEY.to_owned(), 0.5)]));
        b.update(HashMap::from([(DEFAULT_RATE_KEY.to_owned(), 0.1)]));
        // Alternating instances on one thread: each reads its own table.
        assert_eq!(a.rate_for("s", ""), Some(0.5));
        assert_eq!(b.rate_for("s", ""), Some(0.1));
        assert_eq!(a.rate_for("s", ""), Some(0.5));
        // This thread cached `a`; an update from another thread is seen at the next lookup.
        let a2 = Arc::clone(&a);
        std::thread::spawn(move || a2.update(HashMap::from([(DEFAULT_RATE_KEY.to_owned(), 0.75)])))
            .join()
            .unwrap();
        assert_eq!(a.rate_for("s", ""), Some(0.75));
    }

    #[test]
    fn a_threads_last_answer_serves_only_the_same_names_in_the_same_table() {
        let rates = AgentRates::new();
        rates.update(HashMap::from([
            ("service:svc,env:prod".to_owned(), 0.5),
            ("service:svc,env:".to_owned(), 0.75),
            ("service:sv,env:prod".to_owned(), 0.125),
            (DEFAULT_RATE_KEY.to_owned(), 0.25),
        ]));
        // Each lookup repeated (the second from the thread's last answer), and each differing
        // from the one before in one name only: longer, shorter, as long but not the same, or
        // empty.
        let expected = [
            ("svc", "prod", Some(0.5)),
            ("svc", "", Some(0.75)),
            ("svc", "prod", Some(0.5)),
            ("sv", "prod", Some(0.125)),
            ("svcx", "prod", Some(0.25)),
            ("svc", "prod", Some(0.5)),
            ("svd", "prod", Some(0.25)),
            ("svc", "prox", Some(0.25)),
            ("svc", "pro", Some(0.25)),
            ("", "prod", Some(0.25)),
            ("svc", "prod", Some(0.5)),
        ];
        for (service, env, rate) in expected {
            for _ in 0..2 {
                assert_eq!(rates.rate_for(service, env), rate, "{service:?} in {env:?}");
            }
        }
        // A new table is looked up again, for the same names.
        rates.update(HashMap::from([("service:svc,env:prod".to_owned(), 1.0)]));
        assert_eq!(rates.rate_for("svc", "prod"), Some(1.0));
        assert_eq!(rates.rate_for("svc", ""), None);
        assert_eq!(rates.rate_for("svc", ""), None);
    }

    #[test]
    fn lookup_falls_back_to_the_default_rate() {
        let rates = AgentRates::new();
        assert_eq!(rates.rate_for("svc", "prod"), None);
        rates.update(HashMap::from([
            ("service:svc,env:prod".to_owned(), 0.5),
            (DEFAULT_RATE_KEY.to_owned(), 0.25),
            ("service:bad,env:".to_owned(), 7.0),
        ]));
        assert_eq!(rates.rate_for("svc", "prod"), Some(0.5));
        assert_eq!(rates.rate_for("other", "prod"), Some(0.25));
        assert_eq!(
            rates.rate_for("bad", ""),
            Some(0.25),
            "out-of-range rate dropped"
        );
        // An empty table is "no change".
        rates.update(HashMap::new());
        assert_eq!(rates.rate_for("svc", "prod"), Some(0.5));
        // A new table replaces the old one whole.
        rates.update(HashMap::from([("service:x,env:".to_owned(), 1.0)]));
        assert_eq!(rates.rate_for("svc", "prod"), None);
    }
}
