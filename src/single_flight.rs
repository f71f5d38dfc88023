//! Single flight: concurrent callers that need the same thing (a token, a
//! secret) wait for one fetch instead of each making their own. The first
//! caller for a key runs the fetch; the others wait for its result, each
//! bounded by its own deadline. A failure goes to the callers that waited
//! for that fetch only: the next caller starts a new one.

use crate::deadline::Deadline;
use crate::error::{Category, Error};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Fetches in progress, by key.
pub struct Flights<K, V> {
    running: Mutex<HashMap<K, Arc<Flight<V>>>>,
}

/// One fetch in progress: its result once known, and how many wait for it.
struct Flight<V> {
    state: Mutex<(Option<Result<V, Error>>, usize)>,
    done: Condvar,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Flights {
            running: Mutex::new(HashMap::new()),
        }
    }
}

/// A poisoned lock only means another thread panicked while holding it; the
/// data (a map of flights, a result slot) is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<K: Eq + Hash + Clone, V: Clone> Flights<K, V> {
    /// Runs `fetch` for `key`, or, when another caller is already running it,
    /// waits (at most until `deadline`) for that caller's result.
    pub fn run(
        &self,
        key: &K,
        deadline: Deadline,
        what: &str,
        fetch: impl FnOnce() -> Result<V, Error>,
    ) -> Result<V, Error> {
        let (flight, leader) = {
            let mut running = lock(&self.running);
            match running.get(key) {
                Some(f) => (f.clone(), false),
                None => {
                    let f = Arc::new(Flight {
                        state: Mutex::new((None, 0)),
                        done: Condvar::new(),
                    });
                    running.insert(key.clone(), f.clone());
                    (f, true)
                }
            }
        };
        if leader {
            let landing = Landing {
                flights: self,
                key,
                flight: &flight,
                result: None,
            };
            landing.finish(fetch())
        } else {
            crate::debug!("waiting for the {what} another invocation is making");
            flight.wait(deadline, what)
        }
    }

    /// How many fetches are in progress (for tests).
    pub fn in_progress(&self) -> usize {
        lock(&self.running).len()
    }

    /// How many callers wait for the fetch of `key` (for tests).
    pub fn waiting(&self, key: &K) -> usize {
        let flight = lock(&self.running).get(key).cloned();
        flight.map_or(0, |f| lock(&f.state).1)
    }
}

impl<V: Clone> Flight<V> {
    fn wait(&self, deadline: Deadline, what: &str) -> Result<V, Error> {
        let mut state = lock(&self.state);
        state.1 += 1;
        loop {
            if let Some(r) = state.0.as_ref() {
                return r.clone();
            }
            let left = deadline.remaining();
            if left.is_zero() {
                state.1 -= 1;
                return Err(Error::new(
                    Category::Deadline,
                    "Exceeded",
                    format!("no time left waiting for the {what} another invocation is making"),
                ));
            }
            state = self
                .done
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Publishes the leader's result and retires the flight, also when the
/// fetch panics (then the waiters get an error instead of waiting on).
struct Landing<'a, K: Eq + Hash, V> {
    flights: &'a Flights<K, V>,
    key: &'a K,
    flight: &'a Arc<Flight<V>>,
    result: Option<Result<V, Error>>,
}

impl<K: Eq + Hash, V: Clone> Landing<'_, K, V> {
    fn finish(mut self, result: Result<V, Error>) -> Result<V, Error> {
        self.result = Some(result.clone());
        result
    }
}

impl<K: Eq + Hash, V> Drop for Landing<'_, K, V> {
    fn drop(&mut self) {
        let result = self.result.take().unwrap_or_else(|| {
            Err(Error::new(
                Category::Runtime,
                "Panic",
                "the invocation making this fetch panicked",
            ))
        });
        // Retire first, so a caller arriving now starts a new fetch rather
        // than joining one that is over.
        lock(&self.flights.running).remove(self.key);
        lock(&self.flight.state).0 = Some(result);
        self.flight.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    const KEY: &str = "key";

    fn long() -> Deadline {
        Deadline::after(Duration::from_secs(10))
    }

    /// Starts `n` callers; whichever leads holds its fetch open until the
    /// other `n - 1` wait for it, then returns `result`.
    fn together(
        flights: &Flights<&'static str, u32>,
        n: usize,
        result: Result<u32, Error>,
    ) -> (Vec<Result<u32, Error>>, usize) {
        let calls = AtomicUsize::new(0);
        let results = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let (calls, result) = (&calls, &result);
                    s.spawn(move || {
                        flights.run(&KEY, long(), "test fetch", || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            let end = long();
                            while flights.waiting(&KEY) < n - 1 && !end.remaining().is_zero() {
                                std::thread::sleep(Duration::from_millis(1));
                            }
                            result.clone()
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(flights.in_progress(), 0, "every flight retired");
        (results, calls.load(Ordering::SeqCst))
    }

    #[test]
    fn concurrent_callers_share_one_fetch() {
        let flights = Flights::default();
        let (results, calls) = together(&flights, 6, Ok(7));
        assert_eq!(calls, 1);
        assert!(results.iter().all(|r| *r == Ok(7)), "{results:?}");
    }

    #[test]
    fn a_failed_fetch_fails_its_waiters_and_the_next_caller_fetches_again() {
        let failure = Error::new(Category::Auth, "TokenStatus500", "down");
        let flights = Flights::default();
        let (results, calls) = together(&flights, 4, Err(failure.clone()));
        assert_eq!(calls, 1);
        assert!(results.iter().all(|r| *r == Err(failure.clone())));
        let again = flights.run(&KEY, long(), "test fetch", || Ok(8));
        assert_eq!(again, Ok(8), "a new caller makes a new fetch");
    }

    #[test]
    fn a_waiter_gives_up_at_its_own_deadline() {
        let flights = Flights::default();
        let started = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let leader = s.spawn(|| {
                flights.run(&KEY, long(), "test fetch", || {
                    started.wait();
                    let guard = long();
                    while flights.waiting(&KEY) == 0 && !guard.remaining().is_zero() {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    // The fetch goes on until the waiter has given up.
                    while flights.waiting(&KEY) > 0 && !guard.remaining().is_zero() {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Ok(1)
                })
            });
            started.wait();
            let short = Deadline::after(Duration::from_millis(50));
            let waited = flights.run(&KEY, short, "test fetch", || Ok(2));
            assert_eq!(waited.unwrap_err().error_type(), "Deadline.Exceeded");
            assert_eq!(leader.join().unwrap(), Ok(1));
        });
        assert_eq!(flights.in_progress(), 0);
    }

    #[test]
    fn a_panicking_fetch_releases_its_waiters() {
        let flights: Flights<&str, u32> = Flights::default();
        let started = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let leader = s.spawn(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    flights.run(&KEY, long(), "test fetch", || {
                        started.wait();
                        let guard = long();
                        while flights.waiting(&KEY) == 0 && !guard.remaining().is_zero() {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        panic!("fetch failed hard")
                    })
                }))
                .is_err()
            });
            started.wait();
            let waited = flights.run(&KEY, long(), "test fetch", || Ok(2));
            assert!(leader.join().unwrap(), "the leader panicked");
            assert_eq!(waited.unwrap_err().error_type(), "Runtime.Panic");
        });
        assert_eq!(flights.in_progress(), 0);
    }
}
