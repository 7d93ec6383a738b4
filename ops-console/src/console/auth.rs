//! Accounts, roles and sessions.
//!
//! - Passwords: argon2id (OWASP parameters: 19 MiB, 2 passes), PHC strings, hashed and
//!   checked off the async threads.
//! - Sessions: a random 256-bit token in an `HttpOnly; SameSite=Strict` cookie; only its
//!   SHA-256 is stored (SQLite, so sessions survive a restart). A session ends after
//!   [`IDLE_LIMIT_S`] without use or [`ABSOLUTE_LIMIT_S`] after login, at logout, or when
//!   the password changes.
//! - CSRF: every request that changes something must carry the session's own anti-CSRF
//!   token in `X-CSRF-Token` (given at login and by `/api/me`); the cookie alone is not
//!   enough, whatever the browser sends along.
//! - Login: each attempt is counted before its password is checked, limited per (name,
//!   client address) and per address, and slowed down (never locked) per name
//!   ([`LoginLimiter`]); at most a few password checks run at once ([`PasswordGate`]).
//! - Authorisation: every endpoint names the [`Permission`] it needs; [`Role::can`]
//!   (`tidewatch_cases::role`) is the one table of who may do what.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// A session ends after this long unused (a quiet night watch keeps its session).
pub const IDLE_LIMIT_S: i64 = 8 * 3600;
/// A session ends this long after login, used or not (longer than a 12-hour shift).
pub const ABSOLUTE_LIMIT_S: i64 = 16 * 3600;
/// The session cookie's name.
pub const COOKIE: &str = "tw_session";
/// The anti-CSRF header.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub use tidewatch_cases::{Permission, Role};

/// Hash a password (argon2id, random salt) into a PHC string. Slow by design: call it
/// from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Check a password against a PHC string. Slow by design: call it from a blocking thread.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A PHC string for a password nobody has: checked against when the name is unknown, so a
/// failed login takes as long whether or not the name exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token(16)).unwrap_or_default())
}

/// A rule a new password must meet; the reason it does not.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < 12 {
        return Err("a password needs at least 12 characters".into());
    }
    if password.chars().count() > 1024 {
        return Err("a password may have at most 1024 characters".into());
    }
    Ok(())
}

/// A random token, URL-safe base64 of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the operating system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A one-time password someone can type: 4 groups of 4 from an alphabet without 0/O, 1/l.
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the operating system's random source");
    let chars: Vec<char> = b
        .iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Compare two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// How much each failure for a name (from anywhere) slows its next attempts: the first
/// failure adds this, each further one doubles it, up to [`NAME_DELAY_CAP_MS`].
pub const NAME_DELAY_STEP_MS: u64 = 250;
/// The most a name's attempts are slowed down: a named officer under attack is slowed, not
/// locked out.
pub const NAME_DELAY_CAP_MS: u64 = 4_000;

/// Login attempts, counted *before* their password is checked, so concurrent attempts
/// cannot slip past the limits. Within the window:
///
/// - per (name, address) pair: past `per_pair` attempts that address may not try that name
///   (HTTP 429) until the oldest leaves the window;
/// - per address: past `per_addr` attempts, whatever the names;
/// - per name, from anywhere: never a lock (five wrong passwords from some address must not
///   lock the SAR coordinator out), only a delay that grows with the name's attempts
///   ([`NAME_DELAY_STEP_MS`], doubling, at most [`NAME_DELAY_CAP_MS`]).
///
/// A successful login refunds its own attempt and clears its pair's.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_pair: usize,
    per_addr: usize,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        // 5 tries per name and address and 20 per address in 15 minutes.
        LoginLimiter::new(Duration::from_secs(15 * 60), 5, 20)
    }
}

/// An attempt counted by [`LoginLimiter::begin`]: check its password after
/// [`Attempt::delay`], then report a success with [`LoginLimiter::succeeded`] (a failure
/// needs nothing: it is already counted).
#[derive(Debug)]
#[must_use = "an attempt is counted as a failure unless it is reported a success or refunded"]
pub struct Attempt {
    keys: [String; 3],
    at: Instant,
    delay: Duration,
}

impl Attempt {
    /// How long to wait before checking the password (the name's slow-down).
    pub fn delay(&self) -> Duration {
        self.delay
    }
}

/// The slow-down of a name with `earlier` attempts in the window.
fn name_delay(earlier: usize) -> Duration {
    if earlier == 0 {
        return Duration::ZERO;
    }
    let doublings = (earlier - 1).min(16) as u32;
    Duration::from_millis(
        NAME_DELAY_STEP_MS
            .saturating_mul(1 << doublings)
            .min(NAME_DELAY_CAP_MS),
    )
}

impl LoginLimiter {
    /// A limiter allowing `per_pair` attempts per (name, address) and `per_addr` per
    /// address within `window`.
    pub fn new(window: Duration, per_pair: usize, per_addr: usize) -> Self {
        LoginLimiter {
            window,
            per_pair,
            per_addr,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Keys: the pair, the address, the name. An IPv6 address counts as its /64 (one
    /// host's usual share, which it can rotate through at will); a name as its first 256
    /// characters (longer ones are never accounts, and must not grow the table).
    fn keys(name: &str, addr: IpAddr) -> [String; 3] {
        let name: String = name.chars().take(256).collect::<String>().to_lowercase();
        let addr = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(std::net::Ipv6Addr::from_bits(
                    v6.to_bits() & !((1u128 << 64) - 1),
                )),
            },
            v4 => v4,
        };
        [
            format!("p:{addr} {name}"),
            format!("a:{addr}"),
            format!("n:{name}"),
        ]
    }

    /// Count an attempt for `name` from `addr` before its password is checked, or
    /// `Err(seconds to wait)` when the pair or the address is over its limit (not counted:
    /// nothing is checked).
    pub fn begin(&self, name: &str, addr: IpAddr) -> Result<Attempt, u64> {
        let now = Instant::now();
        let keys = Self::keys(name, addr);
        let mut f = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: an address spraying names cannot grow the table without end.
        if f.len() > 100_000 {
            f.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let mut wait = 0u64;
        let mut counts = [0usize; 3];
        for (i, key) in keys.iter().enumerate() {
            let Some(q) = f.get_mut(key) else { continue };
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                q.pop_front();
            }
            counts[i] = q.len();
            let limit = [self.per_pair, self.per_addr, usize::MAX][i];
            if q.len() >= limit
                && let Some(first) = q.front()
            {
                let left = self.window.saturating_sub(now.duration_since(*first));
                wait = wait.max(left.as_secs().max(1));
            }
        }
        if wait > 0 {
            return Err(wait);
        }
        for key in &keys {
            f.entry(key.clone()).or_default().push_back(now);
        }
        Ok(Attempt {
            keys,
            at: now,
            delay: name_delay(counts[2]),
        })
    }

    /// Forget an attempt whose password was never checked (the server was too busy).
    pub fn refund(&self, a: Attempt) {
        let mut f = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        for key in &a.keys {
            Self::remove_one(&mut f, key, a.at);
        }
    }

    /// The password was right: the attempt is refunded and the pair's earlier failures are
    /// forgotten (the name's slow-down from elsewhere stays while it lasts).
    pub fn succeeded(&self, a: Attempt) {
        let mut f = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        f.remove(&a.keys[0]);
        for key in &a.keys[1..] {
            Self::remove_one(&mut f, key, a.at);
        }
    }

    fn remove_one(f: &mut HashMap<String, VecDeque<Instant>>, key: &str, at: Instant) {
        if let Some(q) = f.get_mut(key) {
            if let Some(i) = q.iter().rposition(|t| *t == at) {
                q.remove(i);
            }
            if q.is_empty() {
                f.remove(key);
            }
        }
    }

    /// Attempts counted for `name` from `addr` within the window (gauges and tests).
    pub fn attempts(&self, name: &str, addr: IpAddr) -> usize {
        let now = Instant::now();
        let f = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        f.get(&Self::keys(name, addr)[0]).map_or(0, |q| {
            q.iter()
                .filter(|t| now.duration_since(**t) < self.window)
                .count()
        })
    }
}

/// Bounds the password work (argon2id: ~19 MiB and tens of milliseconds of a core each)
/// running at once, so a burst of logins cannot take the server's memory or cores: a
/// caller past the bound waits its turn, at most `max_wait`; past that, or when
/// `max_waiting` already wait, it is turned away ([`GateError::Busy`]: HTTP 503 with
/// `Retry-After`).
#[derive(Debug)]
pub struct PasswordGate {
    permits: Arc<tokio::sync::Semaphore>,
    bound: usize,
    max_waiting: usize,
    max_wait: Duration,
    waiting: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    checks: Arc<AtomicU64>,
    turned_away: AtomicU64,
}

/// Why [`PasswordGate::run`] did not give a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateError {
    /// Too many password checks running and waiting: try again in `retry_after_s`.
    Busy {
        /// Seconds to wait before trying again.
        retry_after_s: u64,
    },
    /// The work panicked.
    Panicked,
}

impl Default for PasswordGate {
    fn default() -> Self {
        // One check per core, 2 to 4 (~40 to 80 MiB); a few dozen may queue for 5 s.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordGate::new(cores.clamp(2, 4), 32, Duration::from_secs(5))
    }
}

/// Decrements a counter when dropped (a waiter or a check that ends, however it ends).
struct CountGuard(Arc<AtomicUsize>);

impl Drop for CountGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordGate {
    /// At most `bound` checks at once; at most `max_waiting` callers wait, each at most
    /// `max_wait`.
    pub fn new(bound: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let bound = bound.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        PasswordGate {
            permits: Arc::new(tokio::sync::Semaphore::new(bound)),
            bound,
            max_waiting,
            max_wait,
            waiting: Arc::new(AtomicUsize::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
            checks: Arc::new(AtomicU64::new(0)),
            turned_away: AtomicU64::new(0),
        }
    }

    /// Run `work` (hashing or checking passwords) on a blocking thread once a place is
    /// free. The place is held until `work` returns, even if the caller goes away first.
    pub async fn run<T, F>(&self, work: F) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let busy = GateError::Busy {
            retry_after_s: self.max_wait.as_secs().max(1),
        };
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                // Counted while waiting, however the wait ends (the caller may go away).
                let waiters = self.waiting.fetch_add(1, Ordering::SeqCst) + 1;
                let _waiting = CountGuard(self.waiting.clone());
                if waiters > self.max_waiting {
                    None
                } else {
                    tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
                        .await
                        .ok()
                        .and_then(Result::ok)
                }
            }
        };
        let Some(permit) = permit else {
            self.turned_away.fetch_add(1, Ordering::Relaxed);
            return Err(busy);
        };
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.checks.fetch_add(1, Ordering::Relaxed);
        let running = CountGuard(self.in_flight.clone());
        tokio::task::spawn_blocking(move || {
            // Dropped in order: the check is no longer counted before its place is free.
            let _held = (running, permit);
            work()
        })
        .await
        .map_err(|_| GateError::Panicked)
    }

    /// The most checks allowed at once.
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// Checks running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most checks that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Checks run since the start.
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Callers turned away because the gate was full.
    pub fn turned_away(&self) -> u64 {
        self.turned_away.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_and_carry_their_parameters() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_limiter_refuses_after_five_attempts_per_name_and_address_and_twenty_per_address() {
        let l = LoginLimiter::default();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            let _failed = l.begin("olga", a).unwrap();
        }
        let wait = l.begin("OLGA", a).unwrap_err();
        assert!(wait > 800 && wait <= 900, "{wait}");
        // Another name from the same address is still allowed, up to the address limit.
        for i in 0..15 {
            let _failed = l.begin(&format!("u{i}"), a).unwrap();
        }
        assert!(l.begin("someone", a).is_err());
        assert!(l.begin("someone", "127.0.0.2".parse().unwrap()).is_ok());
        // An IPv6 host counts as its /64, however it rotates the rest.
        for i in 0..20u16 {
            let from = IpAddr::from([0x2001, 0xdb8, 0, 1, i, 0, 0, 1]);
            let _failed = l.begin(&format!("v{i}"), from).unwrap();
        }
        let same_64 = IpAddr::from([0x2001, 0xdb8, 0, 1, 0xffff, 1, 2, 3]);
        assert!(l.begin("someone", same_64).is_err());
    }

    #[test]
    fn review_17_4_the_limiter_counts_an_attempt_before_it_is_checked() {
        let l = LoginLimiter::default();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        // Ten attempts begun at once, none finished: only five may go on to the check.
        let begun: Vec<_> = (0..10).map(|_| l.begin("smc", a)).collect();
        assert_eq!(begun.iter().filter(|r| r.is_ok()).count(), 5);
        assert_eq!(l.attempts("smc", a), 5);
        // A refunded attempt (never checked) gives its place back; a success clears the pair.
        let mut ok: Vec<Attempt> = begun.into_iter().filter_map(Result::ok).collect();
        l.refund(ok.pop().unwrap());
        assert_eq!(l.attempts("smc", a), 4);
        l.succeeded(l.begin("smc", a).unwrap());
        assert_eq!(l.attempts("smc", a), 0);
    }

    #[test]
    fn review_17_4_a_name_is_slowed_down_from_anywhere_never_locked() {
        let l = LoginLimiter::default();
        let attacker: IpAddr = "192.0.2.7".parse().unwrap();
        let mut delays = Vec::new();
        for _ in 0..5 {
            delays.push(l.begin("smc", attacker).unwrap().delay().as_millis());
        }
        assert_eq!(delays, [0, 250, 500, 1000, 2000]);
        assert!(l.begin("smc", attacker).is_err(), "the pair is locked");
        // From every other address the name is only slowed down, at most the cap.
        for i in 0..50u8 {
            let from = IpAddr::from([198, 51, 100, i]);
            let d = l.begin("SMC", from).unwrap().delay();
            assert!(d <= Duration::from_millis(NAME_DELAY_CAP_MS), "{d:?}");
        }
        let smc = l.begin("smc", "10.0.0.5".parse().unwrap()).unwrap();
        assert_eq!(smc.delay(), Duration::from_millis(NAME_DELAY_CAP_MS));
        l.succeeded(smc);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn review_17_4_the_gate_bounds_checks_at_once_and_turns_away_past_the_queue() {
        let gate = Arc::new(PasswordGate::new(2, 100, Duration::from_secs(30)));
        let mut runs = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let g = gate.clone();
            runs.spawn(async move {
                g.run(|| std::thread::sleep(Duration::from_millis(20)))
                    .await
            });
        }
        let done = runs.join_all().await;
        assert!(done.iter().all(Result::is_ok));
        assert_eq!((gate.peak(), gate.checks(), gate.in_flight()), (2, 20, 0));
        // No queue, no wait: the one past the bound is turned away at once.
        let gate = Arc::new(PasswordGate::new(1, 0, Duration::from_secs(30)));
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let g = gate.clone();
        let first = tokio::spawn(async move {
            g.run(move || {
                started_tx.send(()).unwrap();
                released.recv().unwrap();
            })
            .await
        });
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        assert_eq!(
            gate.run(|| ()).await,
            Err(GateError::Busy { retry_after_s: 30 })
        );
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(gate.turned_away(), 1);
    }

    #[test]
    fn roles_parse_and_only_the_admin_manages_users() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(r.can(Permission::ManageUsers), r == Role::Admin);
            // Every role but the administrator's sees operational data.
            assert_eq!(r.needs_approval(), r != Role::Admin, "{r}");
        }
        assert!(!Role::Admin.can(Permission::ViewPicture));
        assert!(!Role::PartnerLiaison.can(Permission::ViewPicture));
        assert!(
            "captain"
                .parse::<Role>()
                .unwrap_err()
                .contains("watch_officer")
        );
        let otp = one_time_password();
        assert_eq!(otp.len(), 19, "{otp}");
    }
}
