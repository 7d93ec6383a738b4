//! The console's store: one SQLite file (WAL) under the data directory with the users,
//! their sessions, every alert revision received, the triage of each alert, incidents,
//! and the audit log (append-only, hash-chained: each entry holds the previous entry's
//! hash, so an edit or a deletion breaks the chain and `verify_audit` names it).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use super::db::{Conn, Optional, Sql, params};
use jiff::Timestamp;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tidewatch_cases::log::{AppendError, InterceptionLog, LogEntry, NewEntry, next_entry};

use super::auth::Role;
use super::model::TrackKind;
use super::picture::StoredPoint;

/// A store error: the database could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("console database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL said no.
    #[error("console database (PostgreSQL): {}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// A query that must find a row found none.
    #[error("console database: no such row")]
    NoRows,
    /// A stored value does not parse (the file was edited by hand, or is newer).
    #[error("console database: bad stored value: {0}")]
    Corrupt(String),
    /// A file beside the database (parts of evidence files arriving from sea) could not be
    /// read or written.
    #[error("console data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// What PostgreSQL said, with the server's own message when it gave one.
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} ({}: {})", e, d.code().code(), d.message()),
        None => e.to_string(),
    }
}

const MIGRATIONS: &[&str] = &[
    // 1: users, sessions, alerts, triage, incidents, audit log.
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password TEXT NOT NULL,
        must_change INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
    );
    CREATE TABLE alerts (
        id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (id, revision)
    );
    CREATE TABLE triage (
        alert TEXT PRIMARY KEY,
        json TEXT NOT NULL
    );
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        user TEXT,
        role TEXT,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );",
    // 2: SAR cases (the case as JSON; every change is also in the audit log).
    "CREATE TABLE sar_cases (
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL
    );",
    // 3: the picture's history points (at most one per track per 30 s), for replay after
    // a restart; pruned past the history window.
    "CREATE TABLE positions (
        t INTEGER NOT NULL,
        track TEXT NOT NULL,
        kind TEXT NOT NULL,
        mmsi INTEGER,
        unit TEXT,
        label TEXT NOT NULL,
        category TEXT NOT NULL,
        lat REAL NOT NULL,
        lon REAL NOT NULL
    );
    CREATE INDEX positions_t ON positions (t);",
    // 4: the interception log of each incident (RULES.md), hash-chained and
    // append-only: the database itself refuses to change or remove an entry (R55).
    "CREATE TABLE interception_log (
        incident TEXT NOT NULL,
        seq INTEGER NOT NULL,
        json TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (incident, seq)
    );
    CREATE TRIGGER interception_log_no_update BEFORE UPDATE ON interception_log
    BEGIN SELECT RAISE(ABORT, 'the interception log is append-only: add a correction entry'); END;
    CREATE TRIGGER interception_log_no_delete BEFORE DELETE ON interception_log
    BEGIN SELECT RAISE(ABORT, 'the interception log is append-only: add a correction entry'); END;",
    // 5: evidence files (content-addressed, never changed) and users' signing keys for
    // evidence manifests.
    "CREATE TABLE evidence_files (
        sha256 TEXT PRIMARY KEY,
        bytes BLOB NOT NULL
    );
    CREATE TRIGGER evidence_files_no_update BEFORE UPDATE ON evidence_files
    BEGIN SELECT RAISE(ABORT, 'evidence files are kept as captured'); END;
    CREATE TRIGGER evidence_files_no_delete BEFORE DELETE ON evidence_files
    BEGIN SELECT RAISE(ABORT, 'evidence files are kept as captured'); END;
    CREATE TABLE signing_keys (
        user TEXT PRIMARY KEY,
        secret BLOB NOT NULL
    );",
    // 6: the State a user acts for (a partner's liaison officer sees what is released to it).
    "CREATE TABLE user_states (
        user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
        state TEXT NOT NULL
    );",
    // 7: restricted records (what a person said asking for protection, R40), out of the
    // log, which holds their hashes; content-addressed, never changed.
    "CREATE TABLE restricted_records (
        sha256 TEXT PRIMARY KEY,
        json TEXT NOT NULL
    );
    CREATE TRIGGER restricted_records_no_update BEFORE UPDATE ON restricted_records
    BEGIN SELECT RAISE(ABORT, 'restricted records are kept as recorded'); END;
    CREATE TRIGGER restricted_records_no_delete BEFORE DELETE ON restricted_records
    BEGIN SELECT RAISE(ABORT, 'restricted records are kept as recorded'); END;",
    // 8: a restricted record belongs to one kind and one incident, and only its own kind's
    // action in its own incident may load it. Records kept before are bound to the first
    // entry that named them in the log's own form (an asylum action first, then an item).
    "ALTER TABLE restricted_records ADD COLUMN kind TEXT;
    ALTER TABLE restricted_records ADD COLUMN incident TEXT;
    DROP TRIGGER restricted_records_no_update;
    UPDATE restricted_records SET kind = 'asylum', incident = (
        SELECT l.incident FROM interception_log l
        WHERE json_extract(l.json, '$.details.case_action.type') = 'asylum_restricted'
          AND json_extract(l.json, '$.details.case_action.record_sha256') = restricted_records.sha256
        ORDER BY l.rowid LIMIT 1)
    WHERE kind IS NULL;
    UPDATE restricted_records SET kind = NULL WHERE incident IS NULL;
    UPDATE restricted_records SET kind = 'info_item', incident = (
        SELECT l.incident FROM interception_log l
        WHERE json_extract(l.json, '$.details.case_action.type') = 'info_item'
          AND json_extract(l.json, '$.details.case_action.content_sha256') = restricted_records.sha256
        ORDER BY l.rowid LIMIT 1)
    WHERE kind IS NULL;
    CREATE TRIGGER restricted_records_no_update BEFORE UPDATE ON restricted_records
    BEGIN SELECT RAISE(ABORT, 'restricted records are kept as recorded'); END;",
    // 9: accounts the administrator asked for with a role that sees operational data,
    // inactive until a second person approves them (separation of duties).
    "CREATE TABLE account_requests (
        user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL
    );",
    // 10: officers' keys for case actions signed at sea (registered by the administrator,
    // for one unit), and the records taken from units: each once, with the answer given.
    "CREATE TABLE sea_keys (
        key TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        unit TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE TABLE sea_records (
        id TEXT PRIMARY KEY,
        unit TEXT NOT NULL,
        incident TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        answer TEXT NOT NULL
    );",
    // 11: an officer's key revoked (a lost phone): nothing it signs is taken from then on.
    "ALTER TABLE sea_keys ADD COLUMN revoked_at TEXT;",
    // 12: the record as the officer signed it, its key and signature: a court checks the
    // signature against the log entry offline (the export carries them).
    "ALTER TABLE sea_records ADD COLUMN record TEXT;
    ALTER TABLE sea_records ADD COLUMN key TEXT;
    ALTER TABLE sea_records ADD COLUMN signature TEXT;",
    // 13: a record is a unit's: (unit, id) is its identity.
    "CREATE UNIQUE INDEX sea_records_unit_id ON sea_records (unit, id);",
    // 14: the units' taskings and their answers, so a restart shows who is tasked.
    "CREATE TABLE taskings (
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT
    );",
];

/// The schema on PostgreSQL: SQLite's as of its last migration, in PostgreSQL's types, with
/// an identity `rowid` where the store reads arrival order, and the append-only tables
/// refusing changes in PL/pgSQL (TRUNCATE too).
const PG_MIGRATIONS: &[&str] = &[
    // 1: everything of SQLite's migrations 1 to 13.
    r#"CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password TEXT NOT NULL,
        must_change BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY,
        "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen BIGINT NOT NULL
    );
    CREATE TABLE alerts (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY,
        id TEXT NOT NULL,
        revision BIGINT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (id, revision)
    );
    CREATE TABLE triage (
        alert TEXT PRIMARY KEY,
        json TEXT NOT NULL
    );
    CREATE TABLE incidents (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY,
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL
    );
    CREATE TABLE audit (
        seq BIGINT PRIMARY KEY,
        time TEXT NOT NULL,
        "user" TEXT,
        role TEXT,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TABLE sar_cases (
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL
    );
    CREATE TABLE positions (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY,
        t BIGINT NOT NULL,
        track TEXT NOT NULL,
        kind TEXT NOT NULL,
        mmsi BIGINT,
        unit TEXT,
        label TEXT NOT NULL,
        category TEXT NOT NULL,
        lat DOUBLE PRECISION NOT NULL,
        lon DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX positions_t ON positions (t);
    CREATE FUNCTION tidewatch_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
    CREATE TABLE interception_log (
        incident TEXT NOT NULL,
        seq BIGINT NOT NULL CHECK (seq >= 1),
        json TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (incident, seq)
    );
    CREATE TRIGGER interception_log_append_only BEFORE UPDATE OR DELETE ON interception_log
    FOR EACH ROW EXECUTE FUNCTION tidewatch_refuse('the interception log is append-only: add a correction entry');
    CREATE TRIGGER interception_log_no_truncate BEFORE TRUNCATE ON interception_log
    FOR EACH STATEMENT EXECUTE FUNCTION tidewatch_refuse('the interception log is append-only: add a correction entry');
    CREATE TABLE evidence_files (
        sha256 TEXT PRIMARY KEY,
        bytes BYTEA NOT NULL
    );
    CREATE TRIGGER evidence_files_kept BEFORE UPDATE OR DELETE ON evidence_files
    FOR EACH ROW EXECUTE FUNCTION tidewatch_refuse('evidence files are kept as captured');
    CREATE TRIGGER evidence_files_no_truncate BEFORE TRUNCATE ON evidence_files
    FOR EACH STATEMENT EXECUTE FUNCTION tidewatch_refuse('evidence files are kept as captured');
    CREATE TABLE signing_keys (
        "user" TEXT PRIMARY KEY,
        secret BYTEA NOT NULL
    );
    CREATE TABLE user_states (
        "user" TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
        state TEXT NOT NULL
    );
    CREATE TABLE restricted_records (
        sha256 TEXT PRIMARY KEY,
        json TEXT NOT NULL,
        kind TEXT,
        incident TEXT
    );
    CREATE TRIGGER restricted_records_kept BEFORE UPDATE OR DELETE ON restricted_records
    FOR EACH ROW EXECUTE FUNCTION tidewatch_refuse('restricted records are kept as recorded');
    CREATE TRIGGER restricted_records_no_truncate BEFORE TRUNCATE ON restricted_records
    FOR EACH STATEMENT EXECUTE FUNCTION tidewatch_refuse('restricted records are kept as recorded');
    CREATE TABLE account_requests (
        "user" TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL
    );
    CREATE TABLE sea_keys (
        key TEXT PRIMARY KEY,
        "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        unit TEXT NOT NULL,
        added_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE sea_records (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY,
        id TEXT PRIMARY KEY,
        unit TEXT NOT NULL,
        incident TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        answer TEXT NOT NULL,
        record TEXT,
        key TEXT,
        signature TEXT
    );
    CREATE UNIQUE INDEX sea_records_unit_id ON sea_records (unit, id);"#,
    // 2: the units' taskings and their answers.
    r#"CREATE TABLE taskings (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY,
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT
    );"#,
];

/// The store as a case file sees it: evidence files, restricted records and signing keys,
/// inside the current transaction. Keys are made only for a live action (`.1`), never
/// while replaying or reading.
struct TxKeys<'a, S>(&'a S, bool);

impl<S: Sql> tidewatch_cases::casefile::Keys for TxKeys<'_, S> {
    fn signing_key(&self, user: &str) -> Option<ed25519_dalek::SigningKey> {
        let found: Option<Vec<u8>> = self
            .0
            .query_row(
                "SELECT secret FROM signing_keys WHERE \"user\" = ?1",
                params![user],
                |r| r.get(0),
            )
            .optional()
            .ok()?;
        if let Some(b) = found {
            // A stored key that is not 32 bytes was tampered with: no key, not a new one.
            return <[u8; 32]>::try_from(b)
                .ok()
                .map(|b| ed25519_dalek::SigningKey::from_bytes(&b));
        }
        if !self.1 {
            return None;
        }
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("the operating system's random source");
        // Inside the caller's transaction: kept only if the signed action is.
        self.0
            .execute(
                "INSERT INTO signing_keys (\"user\", secret) VALUES (?1, ?2)",
                params![user, b.to_vec()],
            )
            .ok()?;
        Some(ed25519_dalek::SigningKey::from_bytes(&b))
    }

    fn live(&self) -> bool {
        self.1
    }

    fn file_size(&self, sha256: &str) -> Option<u64> {
        // octet_length() of a blob reads its record header, not its bytes.
        self.0
            .query_row(
                "SELECT octet_length(bytes) FROM evidence_files WHERE sha256 = ?1",
                params![sha256],
                |r| r.get::<i64>(0),
            )
            .optional()
            .ok()
            .flatten()
            .map(|n| n as u64)
    }

    fn restricted(
        &self,
        sha256: &str,
        kind: tidewatch_cases::casefile::RestrictedKind,
        incident: &str,
    ) -> Option<String> {
        self.0
            .query_row(
                "SELECT json FROM restricted_records WHERE sha256 = ?1 AND kind = ?2 AND incident = ?3",
                params![sha256, kind.as_str(), incident],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
    }

    fn file(&self, sha256: &str) -> Option<Vec<u8>> {
        self.0
            .query_row(
                "SELECT bytes FROM evidence_files WHERE sha256 = ?1",
                params![sha256],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
    }
}

pub use tidewatch_cases::casefile::CaseRefusal;

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password: String,
    /// The password was set by someone else (one-time): it must be changed before anything
    /// else is allowed.
    pub must_change: bool,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// An account asked for by the administrator, inactive until approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRequest {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The administrator who asked for it.
    pub requested_by: String,
    /// When (UTC).
    pub requested_at: Timestamp,
}

/// A session as stored (the token itself is never stored, only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the cookie token, hex.
    pub token_sha256: String,
    /// Whose.
    pub user: String,
    /// The anti-CSRF token the browser must echo in `X-CSRF-Token`.
    pub csrf: String,
    /// Created, unix seconds.
    pub created_at: i64,
    /// Last used, unix seconds.
    pub last_seen: i64,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: i64,
    /// When (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// Who (absent for the system itself, or a failed login's unknown name).
    pub user: Option<String>,
    /// Their role at that time.
    pub role: Option<String>,
    /// What: `login`, `login_failed`, `logout`, `alert_ack`, `alert_assign`, ...
    pub action: String,
    /// On what (an alert id, a user name).
    pub target: Option<String>,
    /// Details (reason, assignee, incident).
    pub detail: serde_json::Value,
    /// SHA-256 of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of this entry's fields and `prev_hash`.
    pub hash: String,
}

/// A record signed at sea, as [`Store::sea_case_action`] takes it.
pub struct SeaMark<'a> {
    /// The record's id (unique for its unit).
    pub id: &'a str,
    /// The unit.
    pub unit: &'a str,
    /// SHA-256 of the record as received.
    pub sha256: &'a str,
    /// What the log entry keeps of the signature (`details.at_sea`: `officer_key`,
    /// `signature`…).
    pub signed: &'a serde_json::Value,
    /// The record's text, as signed.
    pub record: &'a str,
    /// The answer to keep for the outcome (JSON text).
    pub answer: &'a dyn Fn(Result<&LogEntry, &CaseRefusal>) -> String,
}

/// What [`Store::sea_case_action`] did.
#[derive(Debug)]
pub enum SeaTaken {
    /// Taken now: applied, or refused.
    Now(Box<Result<(LogEntry, tidewatch_cases::casefile::CaseFile), CaseRefusal>>),
    /// Taken before: the answer given then.
    Before(String),
}

impl SeaTaken {
    /// Taken now (applied or refused), or the answer given before.
    #[allow(clippy::type_complexity)]
    pub fn into_outcome(
        self,
    ) -> Result<Result<(LogEntry, tidewatch_cases::casefile::CaseFile), CaseRefusal>, String> {
        match self {
            SeaTaken::Now(r) => Ok(*r),
            SeaTaken::Before(a) => Err(a),
        }
    }
}

/// The console's SQLite store.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Conn>,
    /// The case files of the incidents acted on lately, replayed up to an entry of their
    /// logs: an action reads and applies only the entries after it (written by this
    /// console or another), not the whole log again. A full read of a case file
    /// ([`Store::case_file`]) replays from the first entry, re-reading every record it
    /// names, and replaces it. Locked after `conn`, never before.
    replayed: Mutex<HashMap<String, tidewatch_cases::casefile::Replayed>>,
}

/// How many incidents' replayed case files a store keeps.
const REPLAYED_KEPT: usize = 64;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `data`, hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// The hash of an audit entry: its fields (seq, time, user, role, action, target,
/// detail, previous hash; absent ones as NUL), each length-prefixed so no two different
/// entries hash the same bytes.
fn audit_hash(fields: [Option<&str>; 8]) -> String {
    let mut h = Sha256::new();
    for f in fields {
        let f = f.unwrap_or("\u{0}");
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex(&h.finalize())
}

impl Store {
    /// Open (or create) `DIR/console.db` and bring its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", dir.display())))?;
        let conn = rusqlite::Connection::open(dir.join("console.db"))?;
        Self::init(conn)
    }

    /// A store in memory (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::init(rusqlite::Connection::open_in_memory()?)
    }

    fn init(mut conn: rusqlite::Connection) -> Result<Store, StoreError> {
        // Another process (`tidewatch up` and `tidewatch user add`, say) may hold the write
        // lock: wait for it, from the very first statement.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every transaction here writes, and most read first (the audit chain's last hash):
        // a deferred one that must upgrade while another process writes fails at once with
        // "database is locked" (SQLite cannot wait without risking a deadlock). Taking the
        // write lock at BEGIN makes it wait its turn instead.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Every committed change is on disk before the call returns.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "schema version {version} is newer than this program knows ({})",
                MIGRATIONS.len()
            )));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(m)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(Store {
            conn: Mutex::new(Conn::Sqlite(conn)),
            replayed: Mutex::default(),
        })
    }

    /// Connect to PostgreSQL at `url` (`postgres://user:password@host/database`) and bring
    /// its schema up to date: the store several consoles share. Consoles starting together
    /// migrate one at a time.
    pub fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        Self::connect_postgres_with(url, None)
    }

    /// [`Store::connect_postgres`] with the password apart from the URL.
    pub fn connect_postgres_with(url: &str, password: Option<&str>) -> Result<Store, StoreError> {
        let pg = super::db::Pg::connect(url, password)?;
        let mut conn = Conn::Pg(Box::new(pg));
        {
            let tx = conn.transaction()?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS tidewatch_schema (version BIGINT NOT NULL);",
            )?;
            let version: Option<i64> = tx
                .query_row("SELECT version FROM tidewatch_schema", params![], |r| {
                    r.get(0)
                })
                .optional()?;
            let version = match version {
                Some(v) => v,
                None => {
                    tx.execute(
                        "INSERT INTO tidewatch_schema (version) VALUES (0)",
                        params![],
                    )?;
                    0
                }
            };
            if version as usize > PG_MIGRATIONS.len() {
                return Err(StoreError::Corrupt(format!(
                    "schema version {version} is newer than this program knows ({})",
                    PG_MIGRATIONS.len()
                )));
            }
            for (i, m) in PG_MIGRATIONS.iter().enumerate().skip(version as usize) {
                tx.execute_batch(m)?;
                tx.execute(
                    "UPDATE tidewatch_schema SET version = ?1",
                    params![(i + 1) as i64],
                )?;
            }
            tx.commit()?;
        }
        Ok(Store {
            conn: Mutex::new(conn),
            replayed: Mutex::default(),
        })
    }

    /// Which engine holds the store: `SQLite` or `PostgreSQL`.
    pub fn engine(&self) -> &'static str {
        self.conn().engine()
    }

    fn replayed(&self) -> MutexGuard<'_, HashMap<String, tidewatch_cases::casefile::Replayed>> {
        self.replayed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep `r`, the replay of `incident`'s case file (the oldest kept go when there are
    /// too many: they are replayed from the first entry when next acted on).
    fn keep_replayed(&self, incident: &str, r: tidewatch_cases::casefile::Replayed) {
        let mut kept = self.replayed();
        if kept.len() >= REPLAYED_KEPT && !kept.contains_key(incident) {
            kept.clear();
        }
        kept.insert(incident.to_owned(), r);
    }

    fn conn(&self) -> MutexGuard<'_, Conn> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        c.reconnect_if_lost();
        c
    }

    // ---- users

    /// Create a user; false if the name is taken.
    pub fn add_user(&self, u: &UserRecord) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "INSERT INTO users (name, role, password, must_change, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![u.name, u.role.as_str(), u.password, u.must_change, u.created_at.to_string()],
        )?;
        Ok(n == 1)
    }

    /// Replace a user's password; false if there is no such user. Their sessions end.
    pub fn set_password(
        &self,
        name: &str,
        phc: &str,
        must_change: bool,
    ) -> Result<bool, StoreError> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE users SET password = ?2, must_change = ?3 WHERE name = ?1",
            params![name, phc, must_change],
        )?;
        Ok(n == 1)
    }

    /// One user.
    pub fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        self.conn()
            .query_row(
                "SELECT name, role, password, must_change, created_at FROM users WHERE name = ?1",
                params![name],
                row_user,
            )
            .optional()?
            .transpose()
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT name, role, password, must_change, created_at FROM users ORDER BY name",
        )?;
        let rows = st.query_map(params![], row_user)?;
        rows.map(|r| r?).collect()
    }

    /// Ask for an account that stays inactive until approved: the user (with a password
    /// nobody knows), the request and its audit entry, in one transaction. False if the
    /// name is taken.
    pub fn request_user(&self, u: &UserRecord, audit: NewAudit<'_>) -> Result<bool, StoreError> {
        let by = audit
            .user
            .ok_or_else(|| StoreError::Corrupt("an account request names who asks".into()))?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO users (name, role, password, must_change, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![u.name, u.role.as_str(), u.password, u.must_change, u.created_at.to_string()],
        )?;
        if n != 1 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO account_requests (\"user\", requested_by, requested_at) VALUES (?1, ?2, ?3)",
            params![u.name, by, u.created_at.to_string()],
        )?;
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(true)
    }

    /// Accounts awaiting approval, oldest first.
    pub fn account_requests(&self) -> Result<Vec<AccountRequest>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT r.\"user\", u.role, r.requested_by, r.requested_at FROM account_requests r
             JOIN users u ON u.name = r.\"user\" ORDER BY r.requested_at, r.\"user\"",
        )?;
        let rows = st.query_map(params![], row_request)?;
        rows.map(|r| r?).collect()
    }

    /// The request for `name`, if it awaits approval.
    pub fn account_request(&self, name: &str) -> Result<Option<AccountRequest>, StoreError> {
        self.conn()
            .query_row(
                "SELECT r.\"user\", u.role, r.requested_by, r.requested_at FROM account_requests r
                 JOIN users u ON u.name = r.\"user\" WHERE r.\"user\" = ?1",
                params![name],
                row_request,
            )
            .optional()?
            .transpose()
    }

    /// Does `name` await approval (and so may not log in)?
    pub fn account_pending(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.account_request(name)?.is_some())
    }

    /// Approve an account: its password becomes `phc` (a one-time password), the request
    /// goes, and the audit entry is written, in one transaction. None if `name` awaits no
    /// approval (approved already, or never asked for).
    pub fn approve_user(
        &self,
        name: &str,
        phc: &str,
        audit: NewAudit<'_>,
    ) -> Result<Option<AccountRequest>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let Some(req) = tx
            .query_row(
                "SELECT r.\"user\", u.role, r.requested_by, r.requested_at FROM account_requests r
                 JOIN users u ON u.name = r.\"user\" WHERE r.\"user\" = ?1",
                params![name],
                row_request,
            )
            .optional()?
            .transpose()?
        else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE users SET password = ?2, must_change = 1 WHERE name = ?1",
            params![name, phc],
        )?;
        tx.execute(
            "DELETE FROM account_requests WHERE \"user\" = ?1",
            params![name],
        )?;
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(Some(req))
    }

    // ---- sessions

    /// Store a new session.
    pub fn add_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO sessions (token_sha256, \"user\", csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![s.token_sha256, s.user, s.csrf, s.created_at, s.last_seen],
        )?;
        Ok(())
    }

    /// A session by token hash.
    pub fn session(&self, token_sha256: &str) -> Result<Option<SessionRecord>, StoreError> {
        self
            .conn()
            .query_row(
                "SELECT token_sha256, \"user\", csrf, created_at, last_seen FROM sessions WHERE token_sha256 = ?1",
                params![token_sha256],
                |r| {
                    Ok(SessionRecord {
                        token_sha256: r.get(0)?,
                        user: r.get(1)?,
                        csrf: r.get(2)?,
                        created_at: r.get(3)?,
                        last_seen: r.get(4)?,
                    })
                },
            )
            .optional()
    }

    /// Record that a session was used; false if it no longer exists (ended elsewhere,
    /// e.g. by `tidewatch user passwd`).
    pub fn touch_session(&self, token_sha256: &str, at: i64) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "UPDATE sessions SET last_seen = ?2 WHERE token_sha256 = ?1",
            params![token_sha256, at],
        )? == 1)
    }

    /// End a session.
    pub fn delete_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            params![token_sha256],
        )?;
        Ok(())
    }

    /// End every session of a user (password changed); returns the hashes ended.
    pub fn delete_sessions_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT token_sha256 FROM sessions WHERE \"user\" = ?1")?;
        let ended = st
            .query_map(params![user], |r| r.get::<String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        conn.execute("DELETE FROM sessions WHERE \"user\" = ?1", params![user])?;
        Ok(ended)
    }

    /// End every session of a user but `keep` (their password changed in session `keep`);
    /// returns the hashes ended.
    pub fn delete_other_sessions(&self, user: &str, keep: &str) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let ended = {
            let mut st = tx.prepare(
                "SELECT token_sha256 FROM sessions WHERE \"user\" = ?1 AND token_sha256 <> ?2",
            )?;
            st.query_map(params![user, keep], |r| r.get::<String>(0))?
                .collect::<Result<Vec<_>, _>>()?
        };
        tx.execute(
            "DELETE FROM sessions WHERE \"user\" = ?1 AND token_sha256 <> ?2",
            params![user, keep],
        )?;
        tx.commit()?;
        Ok(ended)
    }

    /// Forget sessions idle since before `idle_before` or created before `created_before`.
    pub fn expire_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<usize, StoreError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
            params![idle_before, created_before],
        )
    }

    // ---- alerts

    /// Keep an alert revision (a repeat of one already kept is ignored); true if new.
    pub fn add_alert(&self, id: &str, revision: u32, json: &str) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "INSERT INTO alerts (id, revision, json) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![id, revision, json],
        )? == 1)
    }

    /// Keep a unit's tasking as received (`sent`, until the unit answers); a tasking held
    /// already is left as it is.
    pub fn add_tasking(&self, id: &str, json: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO taskings (id, json, status) VALUES (?1, ?2, 'sent') ON CONFLICT DO NOTHING",
            params![id, json],
        )?;
        Ok(())
    }

    /// A unit's answer to a tasking: `accepted` or `declined`, with its reason.
    pub fn set_tasking_status(
        &self,
        id: &str,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE taskings SET status = ?2, reason = ?3 WHERE id = ?1",
            params![id, status, reason],
        )?;
        Ok(())
    }

    /// Every tasking kept, oldest first: its JSON, status and the unit's reason.
    pub fn taskings(&self) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT json, status, reason FROM taskings ORDER BY rowid")?;
        let rows = st.query_map(params![], |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<Option<String>>(2)?,
            ))
        })?;
        rows.collect::<Result<Vec<_>, _>>()
    }

    /// Every alert revision kept, oldest first.
    pub fn alerts(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT json FROM alerts ORDER BY rowid")?;
        let rows = st.query_map(params![], |r| r.get::<String>(0))?;
        rows.collect::<Result<Vec<_>, _>>()
    }

    /// Set an alert's triage (JSON) and log the action, in one transaction.
    pub fn set_triage(
        &self,
        alert: &str,
        json: &str,
        audit: NewAudit<'_>,
    ) -> Result<AuditEntry, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO triage (alert, json) VALUES (?1, ?2) ON CONFLICT(alert) DO UPDATE SET json = ?2",
            params![alert, json],
        )?;
        let e = append_audit(&tx, audit)?;
        tx.notify(&format!("triage:{alert}"))?;
        tx.commit()?;
        Ok(e)
    }

    /// Every alert's triage: (alert id, JSON).
    pub fn triages(&self) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT alert, json FROM triage")?;
        let rows = st.query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<Vec<_>, _>>()
    }

    /// Create an incident (JSON), with its SAR case (JSON) for a rescue, and log it, in one
    /// transaction.
    pub fn add_incident(
        &self,
        id: &str,
        json: &str,
        sar_case: Option<&str>,
        first_entry: NewEntry,
        audit: NewAudit<'_>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO incidents (id, json) VALUES (?1, ?2)",
            params![id, json],
        )?;
        // The incident's interception log opens with what opened it, in the same
        // transaction.
        let recorded_at = first_entry.occurred_at;
        append_interception_tx(&tx, id, first_entry, recorded_at)?
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if let Some(case) = sar_case {
            tx.execute(
                "INSERT INTO sar_cases (id, json) VALUES (?1, ?2)",
                params![id, case],
            )?;
        }
        append_audit(&tx, audit)?;
        tx.notify(&format!("incident:{id}"))?;
        tx.commit()?;
        Ok(())
    }

    /// An alert's triage (JSON), if set.
    pub fn triage(&self, alert: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT json FROM triage WHERE alert = ?1",
                params![alert],
                |r| r.get(0),
            )
            .optional()
    }

    /// On PostgreSQL, hand what other consoles sharing the store (and this one) change to
    /// `on_change` (`incident:ID`, `triage:ALERT`; `""` after a lost connection: anything
    /// may have changed), on a thread of its own, until it returns false. Nothing on
    /// SQLite, where one console has the store. Whether it listens.
    pub fn listen(
        &self,
        on_change: impl FnMut(&str) -> bool + Send + 'static,
    ) -> Result<bool, StoreError> {
        match &*self.conn() {
            Conn::Pg(p) => p.listen(on_change).map(|()| true),
            Conn::Sqlite(_) => Ok(false),
        }
    }

    /// A SAR case (JSON).
    pub fn sar_case(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT json FROM sar_cases WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
    }

    /// Replace a SAR case (JSON) after a change, and log the change, in one transaction.
    pub fn update_sar_case(
        &self,
        id: &str,
        expected: &str,
        json: &str,
        audit: NewAudit<'_>,
        log: Option<(&str, NewEntry, Timestamp)>,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // Only over the version the change was made to: two coordinators changing it at
        // once cannot overwrite each other (the second is told to reload). `expected` empty:
        // the incident has no SAR case yet, and this opens it (unless one was meanwhile).
        let n = if expected.is_empty() {
            tx.execute(
                "INSERT INTO sar_cases (id, json) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![id, json],
            )?
        } else {
            tx.execute(
                "UPDATE sar_cases SET json = ?3 WHERE id = ?1 AND json = ?2",
                params![id, expected, json],
            )?
        };
        if n != 1 {
            return Ok(None);
        }
        // The change is also an entry of the incident's interception log, in the same
        // transaction: the log holds every change.
        if let Some((incident, entry, at)) = log
            && let Err(e) = append_interception_tx(&tx, incident, entry, at)?
        {
            return Err(StoreError::Corrupt(format!(
                "the interception log refused the SAR change: {e}"
            )));
        }
        let e = append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(Some(e))
    }

    /// Every incident (JSON), oldest first.
    pub fn incidents(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT json FROM incidents ORDER BY rowid")?;
        let rows = st.query_map(params![], |r| r.get::<String>(0))?;
        rows.collect::<Result<Vec<_>, _>>()
    }

    // ---- the picture's history

    /// Keep history points (one transaction).
    pub fn add_positions(&self, points: &[StoredPoint]) -> Result<(), StoreError> {
        if points.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare(
                "INSERT INTO positions (t, track, kind, mmsi, unit, label, category, lat, lon) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for p in points {
                st.execute(params![
                    p.time_s,
                    p.track,
                    kind_name(p.kind),
                    p.mmsi,
                    p.unit,
                    p.label,
                    p.category,
                    p.lat,
                    p.lon
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// History points from the newest stored back `span_s` seconds, oldest first.
    pub fn recent_positions(&self, span_s: i64) -> Result<Vec<StoredPoint>, StoreError> {
        let conn = self.conn();
        let newest: Option<i64> =
            conn.query_row("SELECT MAX(t) FROM positions", params![], |r| r.get(0))?;
        let Some(newest) = newest else {
            return Ok(Vec::new());
        };
        let mut st = conn.prepare(
            "SELECT t, track, kind, mmsi, unit, label, category, lat, lon FROM positions WHERE t >= ?1 ORDER BY t, rowid",
        )?;
        let rows = st.query_map(params![newest - span_s], |r| {
            let kind: String = r.get(2)?;
            Ok(StoredPoint {
                time_s: r.get(0)?,
                track: r.get(1)?,
                kind: parse_kind(&kind).unwrap_or(TrackKind::Ais),
                mmsi: r.get(3)?,
                unit: r.get(4)?,
                label: r.get(5)?,
                category: r.get(6)?,
                lat: r.get(7)?,
                lon: r.get(8)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()
    }

    /// Forget history points older than `before_s`; how many.
    pub fn prune_positions(&self, before_s: i64) -> Result<usize, StoreError> {
        self.conn()
            .execute("DELETE FROM positions WHERE t < ?1", params![before_s])
    }

    // ---- interception log

    /// Append to an incident's interception log, durably (synchronous=FULL), in one
    /// transaction with reading the entry it chains to. The inner result is the entry as
    /// stored, or why the log refused it (R55, R57).
    pub fn append_interception(
        &self,
        incident: &str,
        e: NewEntry,
        recorded_at: Timestamp,
    ) -> Result<Result<LogEntry, AppendError>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let r = append_interception_tx(&tx, incident, e, recorded_at)?;
        if r.is_ok() {
            tx.commit()?;
        }
        Ok(r)
    }

    /// An incident's interception log, as stored (check it with
    /// [`tidewatch_cases::log::verify`]).
    pub fn interception_log(&self, incident: &str) -> Result<InterceptionLog, StoreError> {
        let conn = self.conn();
        let mut st =
            conn.prepare("SELECT json FROM interception_log WHERE incident = ?1 ORDER BY seq")?;
        let rows = st.query_map(params![incident], |r| r.get::<String>(0))?;
        let mut log = InterceptionLog::new(incident);
        for r in rows {
            log.entries
                .push(serde_json::from_str(&r?).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        Ok(log)
    }

    // ---- case files (event-sourced from the interception log)

    /// Record the State a user acts for (ISO 3166 alpha-2).
    pub fn set_user_state(&self, user: &str, state: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO user_states (\"user\", state) VALUES (?1, ?2)
             ON CONFLICT(\"user\") DO UPDATE SET state = excluded.state",
            params![user, state.to_ascii_uppercase()],
        )?;
        Ok(())
    }

    /// The State a user acts for, if recorded.
    pub fn user_state(&self, user: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT state FROM user_states WHERE \"user\" = ?1",
                params![user],
                |r| r.get(0),
            )
            .optional()
    }

    /// Every incident with an interception log.
    pub fn logged_incidents(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st =
            conn.prepare("SELECT DISTINCT incident FROM interception_log ORDER BY incident")?;
        let rows = st.query_map(params![], |r| r.get::<String>(0))?;
        rows.collect::<Result<_, _>>()
    }

    /// Keep an evidence file's bytes (content-addressed); its SHA-256.
    pub fn put_evidence_file(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha = sha256_hex(bytes);
        self.conn().execute(
            "INSERT INTO evidence_files (sha256, bytes) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![sha, bytes],
        )?;
        Ok(sha)
    }

    /// An evidence file's bytes as stored.
    pub fn evidence_file(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        use tidewatch_cases::casefile::Keys;
        Ok(TxKeys(&*self.conn(), false).file(sha256))
    }

    /// Every evidence file of a case file's exhibits read back and hashed again (R47, R48):
    /// what does not match the hash taken at capture, or is missing. For `tidewatch verify`
    /// and the like; reading a case file never re-reads evidence bytes.
    pub fn evidence_problems(
        &self,
        f: &tidewatch_cases::casefile::CaseFile,
    ) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        for ex in f.register.exhibits.values() {
            for file in &ex.files {
                match self.evidence_file(&file.sha256)? {
                    None => problems.push(format!(
                        "R48: {} file {} ({}) is not in the store",
                        ex.number, file.name, file.sha256
                    )),
                    Some(b) => {
                        let h = sha256_hex(&b);
                        if h != file.sha256 {
                            problems.push(format!(
                                "R48: {} file {}: stored bytes hash to {h}, not the {} taken at capture",
                                ex.number, file.name, file.sha256
                            ));
                        }
                    }
                }
            }
        }
        Ok(problems)
    }

    /// An incident's case file, replayed from its log.
    pub fn case_file(
        &self,
        incident: &str,
        reference: &tidewatch_cases::casefile::Reference,
    ) -> Result<tidewatch_cases::casefile::CaseFile, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let entries = log_entries_after(&tx, incident, 0)?;
        let r = tidewatch_cases::casefile::Replayed::from_log(
            incident,
            &entries,
            reference,
            &TxKeys(&tx, false),
        );
        // Read only: nothing to keep in the database; the replay is kept for the next
        // action, with whatever problem it found.
        drop(tx);
        self.keep_replayed(incident, r.clone());
        Ok(r.file)
    }

    /// Register an officer's public key (hex) for actions signed at sea on `unit`; false
    /// when the key is registered already.
    pub fn add_sea_key(&self, key: &str, user: &str, unit: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "INSERT INTO sea_keys (key, \"user\", unit, added_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![key, user, unit, Timestamp::now().to_string()],
        )?;
        Ok(n == 1)
    }

    /// Whose key this is, and for which unit (revoked or not: see [`Store::sea_key_revoked`]).
    pub fn sea_key(&self, key: &str) -> Result<Option<(String, String)>, StoreError> {
        self.conn()
            .query_row(
                "SELECT \"user\", unit FROM sea_keys WHERE key = ?1",
                params![key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
    }

    /// When a key was revoked, if it was.
    pub fn sea_key_revoked(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT revoked_at FROM sea_keys WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Revoke a key: false when no such key, or revoked already.
    pub fn revoke_sea_key(&self, key: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE sea_keys SET revoked_at = ?2 WHERE key = ?1 AND revoked_at IS NULL",
            params![key, Timestamp::now().to_string()],
        )?;
        Ok(n == 1)
    }

    /// The records signed at sea that an incident took: (id, record text, key, signature).
    pub fn sea_records(
        &self,
        incident: &str,
    ) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, record, key, signature FROM sea_records WHERE incident = ?1 AND record IS NOT NULL ORDER BY rowid",
        )?;
        let rows = st.query_map(params![incident], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// The units whose records an incident took.
    pub fn sea_units(&self, incident: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st =
            conn.prepare("SELECT unit, answer FROM sea_records WHERE incident = ?1 ORDER BY unit")?;
        let rows = st.query_map(params![incident], |r| {
            Ok((r.get::<String>(0)?, r.get::<String>(1)?))
        })?;
        let mut units: Vec<String> = Vec::new();
        for row in rows {
            let (unit, answer) = row?;
            let answer: serde_json::Value =
                serde_json::from_str(&answer).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if answer["outcome"] == "applied" && units.last() != Some(&unit) {
                units.push(unit);
            }
        }
        Ok(units)
    }

    /// An evidence file's size, if it is kept (without reading it).
    pub fn evidence_file_size(&self, sha256: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT octet_length(bytes) FROM evidence_files WHERE sha256 = ?1",
                params![sha256],
                |r| r.get::<i64>(0),
            )
            .optional()?
            .map(|n| n as u64))
    }

    /// The answer given to `unit`'s record `id`, if it was taken.
    pub fn sea_answer(&self, unit: &str, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.sea_taken(unit, id)?.map(|(_, a)| a))
    }

    /// `unit`'s record `id` as taken: its SHA-256 and the answer given.
    pub fn sea_taken(&self, unit: &str, id: &str) -> Result<Option<(String, String)>, StoreError> {
        self.conn()
            .query_row(
                "SELECT sha256, answer FROM sea_records WHERE id = ?1 AND unit = ?2",
                params![id, unit],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
    }

    /// Apply a case action and record it in the incident's interception log, in one
    /// transaction: the action is checked against the case file replayed inside it, so two
    /// users acting at once cannot both act on the same state. `entry` says when, where and
    /// why; its `event` and `details` are set from the action. The rules around it are the
    /// domain's ([`CaseFile::take`](tidewatch_cases::casefile::CaseFile::take)); the store
    /// reads, keeps restricted records and appends.
    pub fn case_action(
        &self,
        incident: &str,
        who: &tidewatch_cases::casefile::Who,
        action: &tidewatch_cases::casefile::Action,
        entry: NewEntry,
        recorded_at: Timestamp,
        reference: &tidewatch_cases::casefile::Reference,
    ) -> Result<Result<(LogEntry, tidewatch_cases::casefile::CaseFile), CaseRefusal>, StoreError>
    {
        self.take_case_action(
            incident,
            who,
            action,
            entry,
            recorded_at,
            reference,
            None,
            false,
        )
    }

    /// An integrity incident the console found outside any action (an export's check of
    /// the evidence, R47), recorded in the log as `who` found it, like a refused action's.
    pub fn found_integrity_incident(
        &self,
        incident: &str,
        who: &tidewatch_cases::casefile::Who,
        found: &tidewatch_cases::casefile::Action,
        entry: NewEntry,
        recorded_at: Timestamp,
        reference: &tidewatch_cases::casefile::Reference,
    ) -> Result<Result<(LogEntry, tidewatch_cases::casefile::CaseFile), CaseRefusal>, StoreError>
    {
        assert!(
            matches!(
                found,
                tidewatch_cases::casefile::Action::IntegrityIncident { .. }
            ),
            "only an integrity incident is recorded by the store itself"
        );
        self.take_case_action(
            incident,
            who,
            found,
            entry,
            recorded_at,
            reference,
            None,
            true,
        )
    }

    /// [`Store::case_action`] for an action signed at sea: the record is taken once. Its
    /// answer (`answer(&outcome)`) is kept in the same transaction as the action's entry (or
    /// its refusal), so a record delivered again after a crash is answered, never applied
    /// twice. `Ok(Err(answer))`: taken before, with this answer.
    #[allow(clippy::too_many_arguments)]
    pub fn sea_case_action(
        &self,
        incident: &str,
        who: &tidewatch_cases::casefile::Who,
        action: &tidewatch_cases::casefile::Action,
        entry: NewEntry,
        recorded_at: Timestamp,
        reference: &tidewatch_cases::casefile::Reference,
        record: SeaMark<'_>,
    ) -> Result<SeaTaken, StoreError> {
        if let Some(a) = self.sea_answer(record.unit, record.id)? {
            return Ok(SeaTaken::Before(a));
        }
        self.take_case_action(
            incident,
            who,
            action,
            entry,
            recorded_at,
            reference,
            Some(record),
            false,
        )
        .map(|r| SeaTaken::Now(Box::new(r)))
    }

    #[allow(clippy::too_many_arguments)]
    fn take_case_action(
        &self,
        incident: &str,
        who: &tidewatch_cases::casefile::Who,
        action: &tidewatch_cases::casefile::Action,
        entry: NewEntry,
        recorded_at: Timestamp,
        reference: &tidewatch_cases::casefile::Reference,
        sea: Option<SeaMark<'_>>,
        by_store: bool,
    ) -> Result<Result<(LogEntry, tidewatch_cases::casefile::CaseFile), CaseRefusal>, StoreError>
    {
        let live = tidewatch_cases::casefile::LiveAction {
            who,
            action,
            recorded_at,
            at_sea: sea.as_ref().map(|s| s.signed),
            by_store,
        };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // The case file as of the log's last entry: the kept replay carried on with the
        // entries after it (under the write lock, so nothing is appended meanwhile), or a
        // replay from the first.
        let kept = self.replayed().remove(incident);
        let replayed = match kept {
            Some(mut r) => {
                let newer = log_entries_after(&tx, incident, r.seq())?;
                r.more(&newer, reference, &TxKeys(&tx, false));
                r
            }
            None => tidewatch_cases::casefile::Replayed::from_log(
                incident,
                &log_entries_after(&tx, incident, 0)?,
                reference,
                &TxKeys(&tx, false),
            ),
        };
        // Refused, the file is as it was: this copy is kept.
        let before = replayed.clone();
        let taken = tidewatch_cases::casefile::CaseFile::take_after(
            incident,
            replayed,
            live,
            entry,
            reference,
            (&TxKeys(&tx, false), &TxKeys(&tx, true)),
            &mut |kind, body| keep_restricted(&tx, kind, incident, body),
        )?;
        use tidewatch_cases::casefile::Taken;
        let keep_answer = |tx: &super::db::Tx<'_>, outcome: Result<&LogEntry, &CaseRefusal>| {
            if let Some(s) = &sea {
                tx.execute(
                    "INSERT INTO sea_records (id, unit, incident, sha256, answer, record, key, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![s.id, s.unit, incident, s.sha256, (s.answer)(outcome),
                        // R40, R50: what a person said asking for protection, or exchanged
                        // information, is kept in the restricted records, not here again.
                        (!action.names_restricted_record() && !matches!(action, tidewatch_cases::casefile::Action::Asylum { .. } | tidewatch_cases::casefile::Action::InfoItem { .. })).then_some(s.record),
                        s.signed["officer_key"].as_str(), s.signed["signature"].as_str()],
                )?;
            }
            Ok::<_, StoreError>(())
        };
        match taken {
            Taken::Applied { entry, file } => {
                insert_entry(&tx, &entry)?;
                keep_answer(&tx, Ok(&entry))?;
                tx.commit()?;
                self.keep_replayed(
                    incident,
                    tidewatch_cases::casefile::Replayed {
                        file: (*file).clone(),
                        last: Some(entry.clone()),
                        chain_broken: before.chain_broken,
                    },
                );
                Ok(Ok((entry, *file)))
            }
            Taken::Refused {
                refusal,
                incident: found,
            } => {
                // The refusal stands; the integrity incident its check found is kept.
                let commit = found.is_some() || sea.is_some();
                if let Some(entry) = found {
                    insert_entry(&tx, &entry)?;
                }
                keep_answer(&tx, Err(&refusal))?;
                if commit {
                    tx.commit()?;
                }
                // An integrity incident appended is read as a newer entry next time.
                self.keep_replayed(incident, before);
                Ok(Err(refusal))
            }
        }
    }

    /// Run raw SQL on the database, as someone with the file (or the database's owner)
    /// could (tamper tests).
    #[cfg(test)]
    pub(crate) fn tamper_for_tests(&self, sql: &str, params: &[super::db::Value]) {
        self.conn()
            .execute(sql, params)
            .expect("tampering SQL runs");
    }

    /// Make inserts into `table` fail as a full disk would (`refuse`), or no longer.
    #[cfg(test)]
    pub(crate) fn refuse_inserts_for_tests(&self, table: &str, refuse: bool) {
        let conn = self.conn();
        let sql = match (&*conn, refuse) {
            (Conn::Sqlite(_), true) => format!(
                "CREATE TRIGGER {table}_full BEFORE INSERT ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            ),
            (Conn::Sqlite(_), false) => format!("DROP TRIGGER {table}_full"),
            (Conn::Pg(_), true) => format!(
                "CREATE FUNCTION {table}_full() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'database or disk is full'; END $$; \
                 CREATE TRIGGER {table}_full BEFORE INSERT ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_full();"
            ),
            (Conn::Pg(_), false) => {
                format!("DROP TRIGGER {table}_full ON {table}; DROP FUNCTION {table}_full();")
            }
        };
        conn.execute_batch(&sql).expect("the trigger changes");
    }

    /// Take away what makes `table` refuse changes, as its owner could (tamper tests).
    #[cfg(test)]
    pub(crate) fn unguard_for_tests(&self, table: &str) {
        let conn = self.conn();
        let sql = match &*conn {
            Conn::Sqlite(_) => format!("DROP TRIGGER {table}_no_update"),
            Conn::Pg(_) => format!("ALTER TABLE {table} DISABLE TRIGGER USER"),
        };
        conn.execute_batch(&sql).expect("the guard goes");
    }

    // ---- audit log

    /// Append an entry to the audit log.
    pub fn audit(&self, a: NewAudit<'_>) -> Result<AuditEntry, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let e = append_audit(&tx, a)?;
        tx.commit()?;
        Ok(e)
    }

    /// Audit entries after `after_seq`, at most `limit`, oldest first.
    pub fn audit_log(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT seq, time, \"user\", role, action, target, detail, prev_hash, hash FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = st.query_map(params![after_seq, limit as i64], row_audit)?;
        rows.map(|r| r?).collect()
    }

    /// Audit entries about `target`, oldest first.
    pub fn audit_for(&self, target: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT seq, time, \"user\", role, action, target, detail, prev_hash, hash FROM audit WHERE target = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map(params![target], row_audit)?;
        rows.map(|r| r?).collect()
    }

    /// The audit log's head: its newest entry's hash (zeros when it is empty).
    pub fn audit_head(&self) -> Result<String, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")?;
        let mut rows = st.query(params![])?;
        Ok(match rows.next()? {
            Some(r) => r.get(0)?,
            None => "0".repeat(64),
        })
    }

    /// Check the audit chain; the first broken entry's `seq`, if any.
    pub fn verify_audit(&self) -> Result<Option<i64>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT seq, time, \"user\", role, action, target, detail, prev_hash, hash FROM audit ORDER BY seq",
        )?;
        let mut prev = "0".repeat(64);
        let mut expect_seq = 1;
        let mut rows = st.query(params![])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let time: String = r.get(1)?;
            let user: Option<String> = r.get(2)?;
            let role: Option<String> = r.get(3)?;
            let action: String = r.get(4)?;
            let target: Option<String> = r.get(5)?;
            let detail: String = r.get(6)?;
            let prev_hash: String = r.get(7)?;
            let hash: String = r.get(8)?;
            let computed = audit_hash([
                Some(&seq.to_string()),
                Some(&time),
                user.as_deref(),
                role.as_deref(),
                Some(&action),
                target.as_deref(),
                Some(&detail),
                Some(&prev_hash),
            ]);
            if seq != expect_seq || prev_hash != prev || hash != computed {
                return Ok(Some(seq));
            }
            prev = hash;
            expect_seq += 1;
        }
        Ok(None)
    }
}

/// An audit entry to append.
#[derive(Debug, Clone, Copy)]
pub struct NewAudit<'a> {
    /// Who.
    pub user: Option<&'a str>,
    /// Their role.
    pub role: Option<Role>,
    /// What.
    pub action: &'a str,
    /// On what.
    pub target: Option<&'a str>,
    /// Details.
    pub detail: &'a serde_json::Value,
}

/// Keep a restricted record of `kind` for `incident`, sealed (kind, incident, salt) so that
/// only its own kind's action in its own incident loads it; its SHA-256, for the log.
fn keep_restricted(
    tx: &impl Sql,
    kind: tidewatch_cases::casefile::RestrictedKind,
    incident: &str,
    body: serde_json::Value,
) -> Result<String, StoreError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random source");
    let json = tidewatch_cases::casefile::RestrictedRecord::seal(kind, incident, body, salt);
    let sha = sha256_hex(json.as_bytes());
    tx.execute(
        "INSERT INTO restricted_records (sha256, json, kind, incident) VALUES (?1, ?2, ?3, ?4)",
        params![sha, json, kind.as_str(), incident],
    )?;
    Ok(sha)
}

fn append_audit(conn: &impl Sql, a: NewAudit<'_>) -> Result<AuditEntry, StoreError> {
    let (seq, prev): (i64, String) = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, "0".repeat(64)));
    let seq = seq + 1;
    let time = Timestamp::now();
    let time_s = time.to_string();
    let detail = a.detail.to_string();
    let role = a.role.map(|r| r.as_str());
    let hash = audit_hash([
        Some(&seq.to_string()),
        Some(&time_s),
        a.user,
        role,
        Some(a.action),
        a.target,
        Some(&detail),
        Some(&prev),
    ]);
    conn.execute(
        "INSERT INTO audit (seq, time, \"user\", role, action, target, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![seq, time_s, a.user, role, a.action, a.target, detail, prev, hash],
    )?;
    Ok(AuditEntry {
        seq,
        time,
        user: a.user.map(str::to_owned),
        role: role.map(str::to_owned),
        action: a.action.to_owned(),
        target: a.target.map(str::to_owned),
        detail: a.detail.clone(),
        prev_hash: prev,
        hash,
    })
}

fn kind_name(k: TrackKind) -> &'static str {
    match k {
        TrackKind::Ais => "ais",
        TrackKind::Radar => "radar",
        TrackKind::Sighting => "sighting",
        TrackKind::Unit => "unit",
    }
}

fn parse_kind(s: &str) -> Option<TrackKind> {
    [
        TrackKind::Ais,
        TrackKind::Radar,
        TrackKind::Sighting,
        TrackKind::Unit,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == s)
}

fn row_user(r: &super::db::Row) -> Result<Result<UserRecord, StoreError>, StoreError> {
    let name: String = r.get(0)?;
    let role: String = r.get(1)?;
    let created: String = r.get(4)?;
    Ok((|| {
        Ok(UserRecord {
            role: role
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("user {name}: role {role:?}")))?,
            created_at: created
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("user {name}: time {created:?}")))?,
            password: r.get(2)?,
            must_change: r.get(3)?,
            name,
        })
    })())
}

fn row_request(r: &super::db::Row) -> Result<Result<AccountRequest, StoreError>, StoreError> {
    let name: String = r.get(0)?;
    let role: String = r.get(1)?;
    let at: String = r.get(3)?;
    let requested_by: String = r.get(2)?;
    Ok((|| {
        Ok(AccountRequest {
            role: role
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("user {name}: role {role:?}")))?,
            requested_at: at
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("request for {name}: time {at:?}")))?,
            requested_by,
            name,
        })
    })())
}

fn row_audit(r: &super::db::Row) -> Result<Result<AuditEntry, StoreError>, StoreError> {
    let time: String = r.get(1)?;
    let detail: String = r.get(6)?;
    let seq: i64 = r.get(0)?;
    let entry = (|| -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            seq,
            time: time
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("audit {seq}: time {time:?}")))?,
            user: r.get(2)?,
            role: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            detail: serde_json::from_str(&detail)
                .map_err(|e| StoreError::Corrupt(format!("audit {seq}: detail: {e}")))?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        })
    })();
    Ok(entry)
}

/// Append to an incident's interception log within `tx` (not committed here).
fn append_interception_tx(
    tx: &impl Sql,
    incident: &str,
    e: NewEntry,
    recorded_at: Timestamp,
) -> Result<Result<LogEntry, AppendError>, StoreError> {
    let last: Option<String> = tx
        .query_row(
            "SELECT json FROM interception_log WHERE incident = ?1 ORDER BY seq DESC LIMIT 1",
            params![incident],
            |r| r.get(0),
        )
        .optional()?;
    let last: Option<LogEntry> = last
        .map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?;
    let entry = match next_entry(incident, last.as_ref(), e, recorded_at) {
        Ok(entry) => entry,
        Err(refused) => return Ok(Err(refused)),
    };
    insert_entry(tx, &entry)?;
    Ok(Ok(entry))
}

/// Insert an entry made by [`next_entry`] (its incident, sequence and hash) within `tx`.
/// The entries of `incident`'s log after entry `after`, in order.
fn log_entries_after(
    tx: &impl Sql,
    incident: &str,
    after: u64,
) -> Result<Vec<LogEntry>, StoreError> {
    let mut st = tx.prepare(
        "SELECT json FROM interception_log WHERE incident = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let rows = st.query_map(params![incident, after as i64], |r| r.get::<String>(0))?;
    rows.map(|r| serde_json::from_str(&r?).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect()
}

fn insert_entry(tx: &impl Sql, entry: &LogEntry) -> Result<(), StoreError> {
    let json = serde_json::to_string(entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO interception_log (incident, seq, json, hash) VALUES (?1, ?2, ?3, ?4)",
        params![entry.incident, entry.seq as i64, json, entry.hash],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PostgreSQL SIGKILLed and started again under a console: the store's next call
    /// after it is back works (the connection is made again), and what was written before
    /// is there.
    #[test]
    fn the_store_carries_on_after_postgresql_restarts() {
        let dir = std::env::temp_dir().join(format!("tw-pg-restart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let port = tidewatch_broker::testkit::free_port();
        // Durable (fsync on): what committed must outlive the kill.
        let mut server = crate::testkit::PgServer::start(&dir, port, true).unwrap();
        let s = Store::connect_postgres(&server.create_database("restart").unwrap()).unwrap();
        let d = serde_json::json!({});
        let audit = |s: &Store| {
            s.audit(NewAudit {
                user: Some("admin"),
                role: Some(Role::Admin),
                action: "user_add",
                target: Some("olga"),
                detail: &d,
            })
        };
        audit(&s).unwrap();
        if let Err(e) = server.restart() {
            panic!(
                "{e:#}: {}",
                std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default()
            );
        }
        // The first call may find the connection lost and fail (it was in flight when the
        // server died); the store connects again and the next one works.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while let Err(e) = audit(&s) {
            assert!(
                std::time::Instant::now() < deadline,
                "the store never came back: {e}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(s.audit_log(0, 10).unwrap().len(), 2);
        assert_eq!(s.verify_audit().unwrap(), None);
    }

    #[test]
    fn the_audit_chain_names_an_edited_entry() {
        let s = crate::testkit::store();
        let d = serde_json::json!({"reason": "fishing vessel known to the centre"});
        for action in ["login", "alert_ack", "alert_dismiss"] {
            s.audit(NewAudit {
                user: Some("olga"),
                role: Some(Role::WatchOfficer),
                action,
                target: Some("a-1"),
                detail: &d,
            })
            .unwrap();
        }
        assert_eq!(s.verify_audit().unwrap(), None);
        let log = s.audit_log(0, 10).unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log[1].prev_hash, log[0].hash);
        s.conn()
            .execute("UPDATE audit SET target = 'a-2' WHERE seq = 2", params![])
            .unwrap();
        assert_eq!(s.verify_audit().unwrap(), Some(2));
    }

    #[test]
    fn a_sar_case_changes_only_over_the_version_it_was_read_at() {
        let s = crate::testkit::store();
        let audit = |action| NewAudit {
            user: Some("smc"),
            role: Some(Role::SarCoordinator),
            action,
            target: Some("INC-9"),
            detail: &serde_json::Value::Null,
        };
        s.add_incident(
            "INC-9",
            "{}",
            Some("v1"),
            log_entry(0, "opened"),
            audit("incident_open"),
        )
        .unwrap();
        let t: Timestamp = "2026-11-22T05:10:00Z".parse().unwrap();
        // Two coordinators read v1; the first change lands, the second is told to reload.
        let first = s
            .update_sar_case(
                "INC-9",
                "v1",
                "v2",
                audit("sar_phase"),
                Some(("INC-9", log_entry(10, "first"), t)),
            )
            .unwrap();
        assert!(first.is_some());
        let second = s
            .update_sar_case(
                "INC-9",
                "v1",
                "v3",
                audit("sar_phase"),
                Some(("INC-9", log_entry(10, "second"), t)),
            )
            .unwrap();
        assert!(second.is_none());
        assert_eq!(s.sar_case("INC-9").unwrap().as_deref(), Some("v2"));
        // The log has the change that landed, not the one refused.
        let log = s.interception_log("INC-9").unwrap();
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.entries[1].entry.why, "first");
    }

    fn log_entry(min: i64, why: &str) -> NewEntry {
        use tidewatch_cases::log::{EventType, LogActor, TimeSource};
        NewEntry {
            occurred_at: "2026-11-22T05:00:00Z".parse::<Timestamp>().unwrap()
                + jiff::SignedDuration::from_mins(min),
            time_source: TimeSource::Ntp,
            actor: LogActor {
                user: "olga".into(),
                role: "watch_officer".into(),
                unit: None,
                on_behalf_of: None,
            },
            event: EventType::Note,
            position: None,
            zone: None,
            why: why.into(),
            details: serde_json::json!({}),
            corrects: None,
            late_reason: None,
            occurred_at_given: None,
        }
    }

    #[test]
    fn the_interception_log_is_append_only_in_the_database_and_verifies_after_reopening() {
        use tidewatch_cases::log::verify;
        let db = crate::testkit::TestDb::new();
        let t = |m| {
            "2026-11-22T05:00:00Z".parse::<Timestamp>().unwrap()
                + jiff::SignedDuration::from_mins(m)
        };
        {
            let s = db.open();
            for (m, why) in [
                (0, "incident opened"),
                (5, "flag State notified"),
                (9, "authorization"),
            ] {
                s.append_interception("INC-1", log_entry(m, why), t(m))
                    .unwrap()
                    .unwrap();
            }
            s.append_interception("INC-2", log_entry(1, "other incident"), t(1))
                .unwrap()
                .unwrap();
            // R57 through the store: refused, nothing written.
            let late = s
                .append_interception("INC-1", log_entry(10, "late"), t(100))
                .unwrap();
            assert!(late.is_err());
            // R55: the database refuses changes and deletions.
            let c = s.conn();
            assert!(
                c.execute(
                    "UPDATE interception_log SET json = '{}' WHERE seq = 2",
                    params![]
                )
                .is_err()
            );
            assert!(
                c.execute("DELETE FROM interception_log WHERE seq = 3", params![])
                    .is_err()
            );
        }
        let s = db.open();
        let log = s.interception_log("INC-1").unwrap();
        assert_eq!(log.entries.len(), 3);
        assert_eq!(log.entries[2].seq, 3);
        assert!(verify(&log, None).first_break.is_none());
        assert_eq!(s.interception_log("INC-2").unwrap().entries.len(), 1);
        // Someone with the file (or the database's owner) drops the trigger and edits an
        // entry: the chain names it.
        let c = s.conn();
        c.execute_batch(if crate::testkit::on_postgres() {
            "DROP TRIGGER interception_log_append_only ON interception_log"
        } else {
            "DROP TRIGGER interception_log_no_update"
        })
        .unwrap();
        c.execute(
            "UPDATE interception_log SET json = replace(json, 'flag State notified', 'nothing') WHERE incident = 'INC-1' AND seq = 2",
            params![],
        )
        .unwrap();
        drop(c);
        let log = s.interception_log("INC-1").unwrap();
        assert_eq!(verify(&log, None).first_break.unwrap().0, 2);
    }

    #[test]
    fn users_survive_reopening_and_names_are_unique() {
        let db = crate::testkit::TestDb::new();
        let u = UserRecord {
            name: "olga".into(),
            role: Role::WatchOfficer,
            password: "$argon2id$x".into(),
            must_change: false,
            created_at: Timestamp::UNIX_EPOCH,
        };
        {
            let s = db.open();
            assert!(s.add_user(&u).unwrap());
            assert!(!s.add_user(&u).unwrap());
        }
        let s = db.open();
        assert_eq!(s.user("olga").unwrap(), Some(u));
        assert_eq!(s.users().unwrap().len(), 1);
    }

    /// `tidewatch user add` writes to the console's database while `tidewatch up` does (a
    /// demo's first start creates its cast), or two consoles share one PostgreSQL: both
    /// append to the one audit chain. Neither fails with "database is locked", and the
    /// chain stays whole.
    #[test]
    fn two_processes_append_to_the_audit_chain_at_once() {
        let db = crate::testkit::TestDb::new();
        let writer = db.open();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = serde_json::json!({});
        let busy = {
            let (stop, d) = (stop.clone(), d.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    writer
                        .audit(NewAudit {
                            user: Some("admin"),
                            role: Some(Role::Admin),
                            action: "user_add",
                            target: Some("cast"),
                            detail: &d,
                        })
                        .unwrap();
                    n += 1;
                    std::thread::sleep(std::time::Duration::from_micros(500));
                }
                n
            })
        };
        for i in 0..100 {
            let s = db.open();
            s.audit(NewAudit {
                user: Some("admin"),
                role: Some(Role::Admin),
                action: "user_add",
                target: Some("olga"),
                detail: &d,
            })
            .unwrap_or_else(|e| panic!("audit {i}: {e}"));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = busy.join().unwrap();
        assert!(written > 0);
        let s = db.open();
        assert_eq!(s.verify_audit().unwrap(), None);
        assert_eq!(s.audit_log(0, 100_000).unwrap().len(), 100 + written);
    }
}
