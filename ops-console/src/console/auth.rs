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
//! - Login is rate-limited per name and per client address ([`LoginLimiter`]).
//! - Authorisation: every endpoint names the [`Permission`] it needs; [`Role::can`] is the
//!   one table of who may do what (DOMAIN.md §5).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};

/// A session ends after this long unused (a quiet night watch keeps its session).
pub const IDLE_LIMIT_S: i64 = 8 * 3600;
/// A session ends this long after login, used or not (longer than a 12-hour shift).
pub const ABSOLUTE_LIMIT_S: i64 = 16 * 3600;
/// The session cookie's name.
pub const COOKIE: &str = "tw_session";
/// The anti-CSRF header.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The roles of DOMAIN.md §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operations-centre watch officer: the picture, first intake of alerts.
    WatchOfficer,
    /// SAR mission coordinator: owns search and rescue cases.
    SarCoordinator,
    /// Patrol commander / boarding officer.
    BoardingOfficer,
    /// Investigator: builds the case against smugglers.
    Investigator,
    /// Liaison officer of a partner State: only what is released to their State.
    PartnerLiaison,
    /// Auditor / oversight: read-only, the complete audit log.
    Auditor,
    /// System administrator: accounts, no operational data.
    Admin,
    /// Officer of the authority designated under art. 8(6): sends and receives flag-State
    /// requests and replies.
    DutyOfficer,
    /// Legal adviser: art. 8(7) determinations, legal reviews.
    LegalAdviser,
    /// Protection officer / medical lead: vulnerability and asylum records, the only role
    /// that sees what a person said when asking for protection (R40).
    ProtectionOfficer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 10] = [
        Role::WatchOfficer,
        Role::SarCoordinator,
        Role::BoardingOfficer,
        Role::Investigator,
        Role::PartnerLiaison,
        Role::Auditor,
        Role::Admin,
        Role::DutyOfficer,
        Role::LegalAdviser,
        Role::ProtectionOfficer,
    ];

    /// The stable name (`watch_officer`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::WatchOfficer => "watch_officer",
            Role::SarCoordinator => "sar_coordinator",
            Role::BoardingOfficer => "boarding_officer",
            Role::Investigator => "investigator",
            Role::PartnerLiaison => "partner_liaison",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::DutyOfficer => "duty_officer",
            Role::LegalAdviser => "legal_adviser",
            Role::ProtectionOfficer => "protection_officer",
        }
    }

    /// May this role do `p`? The one table of who may do what.
    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            // The operational picture (tracks, units, alerts). A partner State's liaison
            // sees only what is released to it (cases, issue 7); the administrator has no
            // data access (DOMAIN.md §5).
            ViewPicture => matches!(
                self,
                WatchOfficer
                    | SarCoordinator
                    | BoardingOfficer
                    | Investigator
                    | Auditor
                    | DutyOfficer
                    | LegalAdviser
                    | ProtectionOfficer
            ),
            // First intake of alerts: the watch officer; the SMC for rescue alerts and
            // any other it picks up. The auditor is read-only.
            TriageAlerts => matches!(self, WatchOfficer | SarCoordinator),
            // Service health: the watch, the SMC, the administrator, oversight.
            ViewStatus => matches!(self, WatchOfficer | SarCoordinator | Admin | Auditor),
            ManageUsers => matches!(self, Admin),
            // Phases, suspension, termination of a SAR case: its coordinator only (R19, R22).
            CoordinateSar => matches!(self, SarCoordinator),
            // The complete audit log: oversight.
            ViewAudit => matches!(self, Auditor),
            // What happened in an incident, as it happens: the operational roles; the
            // auditor reads it, never writes (R59).
            RecordInterception => matches!(
                self,
                WatchOfficer
                    | SarCoordinator
                    | BoardingOfficer
                    | Investigator
                    | DutyOfficer
                    | LegalAdviser
                    | ProtectionOfficer
            ),
            // An incident's case file (article-8 cases, persons, evidence), each part as the
            // role may see it (R40, R60); its actions are checked per role by the case
            // file itself. A partner's liaison sees only items released to its State (R52).
            ViewCase => matches!(
                self,
                WatchOfficer
                    | SarCoordinator
                    | BoardingOfficer
                    | Investigator
                    | Auditor
                    | DutyOfficer
                    | LegalAdviser
                    | ProtectionOfficer
            ),
            // The investigator's export for a court (R49: intelligence-only items stay out).
            ExportCase => matches!(self, Investigator),
            // A partner State's liaison officer: only items released to their State (R52).
            ViewReleased => matches!(self, PartnerLiaison),
        }
    }

    /// The role a SAR case knows this one as, if it acts on SAR cases at all.
    pub fn sar_role(self) -> Option<fusion::sar::case::Role> {
        use fusion::sar::case::Role as R;
        match self {
            Role::WatchOfficer => Some(R::WatchOfficer),
            Role::SarCoordinator => Some(R::SarMissionCoordinator),
            Role::BoardingOfficer => Some(R::BoardingOfficer),
            Role::Investigator => Some(R::Investigator),
            Role::ProtectionOfficer => Some(R::ProtectionOfficer),
            Role::PartnerLiaison
            | Role::Auditor
            | Role::Admin
            | Role::DutyOfficer
            | Role::LegalAdviser => None,
        }
    }

    /// The permissions this role has.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.can(*p))
            .collect()
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "no role {s:?}; roles: {}",
                    Role::ALL.map(Role::as_str).join(", ")
                )
            })
    }
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Tracks, units, alerts, vessel cards, replay.
    ViewPicture,
    /// Acknowledge, assign, dismiss, escalate alerts.
    TriageAlerts,
    /// The status page (ingest, fusion, broker health).
    ViewStatus,
    /// Create accounts, reset passwords, list users.
    ManageUsers,
    /// Read the audit log.
    ViewAudit,
    /// Declare SAR phases, suspend, resume, terminate a SAR case.
    CoordinateSar,
    /// Record entries in an incident's interception log.
    RecordInterception,
    /// Read an incident's case file.
    ViewCase,
    /// Export an incident for a court.
    ExportCase,
    /// Read what was released to the user's State.
    ViewReleased,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 10] = [
        Permission::ViewPicture,
        Permission::TriageAlerts,
        Permission::ViewStatus,
        Permission::ManageUsers,
        Permission::ViewAudit,
        Permission::CoordinateSar,
        Permission::RecordInterception,
        Permission::ViewCase,
        Permission::ExportCase,
        Permission::ViewReleased,
    ];
}

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

/// Failed logins remembered per name and per address: past the limit within the window,
/// login is refused (HTTP 429) until the oldest failure leaves the window.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_name: usize,
    per_addr: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        // 5 tries per account and 20 per address in 15 minutes.
        LoginLimiter::new(Duration::from_secs(15 * 60), 5, 20)
    }
}

impl LoginLimiter {
    /// A limiter allowing `per_name` failures per account and `per_addr` per address
    /// within `window`.
    pub fn new(window: Duration, per_name: usize, per_addr: usize) -> Self {
        LoginLimiter {
            window,
            per_name,
            per_addr,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(name: &str, addr: IpAddr) -> [String; 2] {
        [format!("n:{}", name.to_lowercase()), format!("a:{addr}")]
    }

    /// `Err(seconds to wait)` if a login for `name` from `addr` must be refused now.
    pub fn check(&self, name: &str, addr: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = 0u64;
        for (key, limit) in Self::keys(name, addr)
            .iter()
            .zip([self.per_name, self.per_addr])
        {
            if let Some(q) = f.get_mut(key) {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    q.pop_front();
                }
                if q.len() >= limit
                    && let Some(first) = q.front()
                {
                    let left = self.window.saturating_sub(now.duration_since(*first));
                    wait = wait.max(left.as_secs().max(1));
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    /// Count a failed login.
    pub fn failed(&self, name: &str, addr: IpAddr) {
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: an address spraying names cannot grow the table without end.
        if f.len() > 100_000 {
            f.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for key in Self::keys(name, addr) {
            f.entry(key).or_default().push_back(now);
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn succeeded(&self, name: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.remove(&format!("n:{}", name.to_lowercase()));
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
    fn the_limiter_refuses_after_five_failures_per_name_and_twenty_per_address() {
        let l = LoginLimiter::default();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert!(l.check("olga", a).is_ok());
            l.failed("olga", a);
        }
        let wait = l.check("OLGA", a).unwrap_err();
        assert!(wait > 800 && wait <= 900, "{wait}");
        // Another name from the same address is still allowed, up to the address limit.
        for i in 0..15 {
            assert!(l.check(&format!("u{i}"), a).is_ok());
            l.failed(&format!("u{i}"), a);
        }
        assert!(l.check("someone", a).is_err());
        assert!(l.check("someone", "127.0.0.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn roles_parse_and_only_the_admin_manages_users() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(r.can(Permission::ManageUsers), r == Role::Admin);
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
