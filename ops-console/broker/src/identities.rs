//! The credential store of the identities that reach the centre's broker from outside: patrol
//! units and AIS receivers. Identity store → grants → listener:
//!
//! ```text
//!  tidewatch unit add cp-301 ──▶ DATA/broker/identities.toml ──(re-read every 250 ms by up)──▶ broker accounts
//!        │                        name, kind, $7$ hash,                                         (role unit/receiver:
//!        ▼                        created, revoked                                              acl.rs grants)
//!  DATA/credentials/cp-301.toml ──carried to the vessel──▶ tidewatch patrol --credentials ──TLS, pinned──▶ --mqtt-remote
//! ```
//!
//! **Why a file and not the console's database.** The identities belong to the broker, not to
//! the console: the same store feeds the embedded broker of `tidewatch up` and a Mosquitto
//! deployment (`tidewatch broker mosquitto-config`), and `tidewatch console` may run on another
//! machine against an external broker. The hashes are Mosquitto's own `$7$` format
//! ([`PasswordHash`]), so the file maps line for line onto a Mosquitto password file. It is
//! small, read whole, replaced atomically (written to a temporary file, synced, renamed),
//! readable by its owner only (0600 in a 0700 directory), and every change is made under an
//! exclusive lock (`identities.lock`), so two `tidewatch unit add` never lose one another's
//! identity. A running `up` re-reads it every 250 ms ([`Follower`]) and hands the broker the
//! whole set: additions take effect within that, and a revocation closes the identity's live
//! connections at once.
//!
//! **Secrets.** A password is 256 random bits made by the operating system, never chosen by a
//! person; the store keeps only its salted PBKDF2-SHA512 hash, the only copy of the password
//! goes into the credentials file (`DATA/credentials/{name}.toml`, 0600) that is carried to
//! the vessel or receiver with the centre's certificate fingerprint. Revoked identities stay
//! in the store (with the time of revocation), so `list` shows them and the broker counts a
//! revoked unit that tries again (`tidewatch_broker_refusals_total{reason="revoked"}`);
//! `add` of a revoked name issues new credentials.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use ingest::link::credentials::{make_private_dir, replace_private};
pub use ingest::link::{CredentialsFile, Kind, check_name};

use crate::{BrokerUser, PasswordHash, Role};

/// PBKDF2 iterations of a stored identity's hash: Mosquitto 2's default (`mosquitto_passwd`
/// writes 101). A work factor slows down the guessing of a password a person chose; these are
/// 256 random bits, which no number of guesses finds (NIST SP 800-63B §5.1.2.2, OWASP ASVS
/// 2.6.2: secrets of 112 bits or more need a salted approved hash, not a slow one), and every
/// CONNECT of a unit on a flaky link pays for them.
pub const STORED_ITERATIONS: u32 = 101;

/// How often a running broker re-reads the store.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// The store's file under a data directory.
pub fn store_path(data: &Path) -> PathBuf {
    data.join("broker").join("identities.toml")
}

/// Where `add` writes credentials files under a data directory.
pub fn credentials_dir(data: &Path) -> PathBuf {
    data.join("credentials")
}

/// The broker role of an identity of `kind` (its grants are in `acl.rs`).
pub fn role_of(kind: Kind) -> Role {
    match kind {
        Kind::Unit => Role::Unit,
        Kind::Receiver => Role::Receiver,
    }
}

/// One identity in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The unit id or receiver (source) name, which is also its broker username.
    pub name: String,
    /// Unit or receiver.
    pub kind: Kind,
    /// The password's hash (Mosquitto `$7$`).
    pub password: PasswordHash,
    /// When its credentials were issued.
    pub created: Timestamp,
    /// When it was revoked; `None` while active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Timestamp>,
}

impl Identity {
    /// As a broker account.
    pub fn broker_user(&self) -> BrokerUser {
        BrokerUser {
            name: self.name.clone(),
            role: role_of(self.kind),
            password: self.password.clone(),
        }
    }
}

/// The file's layout.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    #[serde(default, rename = "identity")]
    identities: Vec<Identity>,
}

/// Parses the store's text; checks every name and that none is listed twice.
pub fn parse(text: &str) -> Result<Vec<Identity>> {
    let f: StoreFile = toml::from_str(text).context("not a Tidewatch identity store")?;
    let mut seen = std::collections::HashSet::new();
    for i in &f.identities {
        check_name(&i.name)?;
        if !seen.insert(i.name.as_str()) {
            bail!("identity {:?} is listed twice", i.name);
        }
    }
    Ok(f.identities)
}

/// The broker accounts of `identities`: the active ones, and the revoked ones.
pub fn broker_users(identities: &[Identity]) -> (Vec<BrokerUser>, Vec<BrokerUser>) {
    let (revoked, active): (Vec<&Identity>, Vec<&Identity>) =
        identities.iter().partition(|i| i.revoked.is_some());
    (
        active.into_iter().map(Identity::broker_user).collect(),
        revoked.into_iter().map(Identity::broker_user).collect(),
    )
}

/// The store of one data directory.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The store of data directory `data` (`DATA/broker/identities.toml`; made at the first
    /// change).
    pub fn new(data: &Path) -> Store {
        Store {
            path: store_path(data),
        }
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes (empty when there is none yet).
    fn read_bytes(&self) -> Result<Vec<u8>> {
        match fs::read(&self.path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        }
    }

    /// Every identity, active and revoked, in the file's order.
    pub fn load(&self) -> Result<Vec<Identity>> {
        let bytes = self.read_bytes()?;
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("{}: not UTF-8", self.path.display()))?;
        parse(text).with_context(|| format!("{}", self.path.display()))
    }

    /// Runs `change` on the identities under the store's exclusive lock and writes the result
    /// atomically.
    fn change<T>(&self, change: impl FnOnce(&mut Vec<Identity>) -> Result<T>) -> Result<T> {
        let dir = self.path.parent().context("the store has no directory")?;
        make_private_dir(dir)?;
        let lock_path = dir.join("identities.lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        let mut ids = self.load()?;
        let out = change(&mut ids)?;
        let text = toml::to_string(&StoreFile { identities: ids })
            .context("cannot write the identity store")?;
        let header = "# Tidewatch's broker identities (patrol units, AIS receivers): managed by\n\
                      # `tidewatch unit|receiver add|revoke`; a running `tidewatch up` follows it.\n\n";
        replace_private(&self.path, format!("{header}{text}").as_bytes())?;
        drop(lock);
        Ok(out)
    }

    /// Issues credentials for a new identity `name` of `kind` (or new ones for a revoked
    /// identity of that name): its entry as stored, and the only copy of its password. Refused
    /// when an active identity has the name.
    pub fn add(&self, kind: Kind, name: &str) -> Result<(Identity, crate::Credentials)> {
        check_name(name)?;
        self.change(|ids| {
            if let Some(i) = ids.iter().find(|i| i.name == name && i.revoked.is_none()) {
                bail!(
                    "{} {name:?} exists already (revoke it first to issue new credentials: tidewatch {} revoke {name})",
                    i.kind,
                    i.kind
                );
            }
            ids.retain(|i| i.name != name);
            let (user, login) = BrokerUser::generated(name, role_of(kind), STORED_ITERATIONS)
                .map_err(|e| anyhow::anyhow!("no randomness for the password: {e}"))?;
            let id = Identity {
                name: name.to_owned(),
                kind,
                password: user.password,
                created: Timestamp::now(),
                revoked: None,
            };
            ids.push(id.clone());
            Ok((id, login))
        })
    }

    /// Revokes the active identity `name` of `kind`; the time of revocation.
    pub fn revoke(&self, kind: Kind, name: &str) -> Result<Timestamp> {
        self.change(|ids| {
            let Some(i) = ids.iter_mut().find(|i| i.name == name && i.kind == kind) else {
                bail!("no {kind} {name:?} (tidewatch {kind} list)");
            };
            if let Some(t) = i.revoked {
                bail!("{kind} {name:?} was revoked already, at {t}");
            }
            let now = Timestamp::now();
            i.revoked = Some(now);
            Ok(now)
        })
    }
}

/// What `tidewatch up --mqtt-remote` last served, kept in `DATA/broker/remote.toml` so that
/// `unit add` writes the address's port and refuses a fingerprint the broker does not serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteListener {
    /// The address the remote listener was bound to.
    pub address: std::net::SocketAddr,
    /// The fingerprint of the certificate it served.
    pub fingerprint: String,
}

impl RemoteListener {
    /// Its file under a data directory.
    pub fn path(data: &Path) -> PathBuf {
        data.join("broker").join("remote.toml")
    }

    /// The record in `data`, if `up --mqtt-remote` ever ran there.
    pub fn read(data: &Path) -> Result<Option<RemoteListener>> {
        let path = Self::path(data);
        match fs::read_to_string(&path) {
            Ok(t) => toml::from_str(&t)
                .map(Some)
                .with_context(|| format!("{}: not a remote listener record", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Keeps the record in `data`.
    pub fn write(&self, data: &Path) -> Result<()> {
        let path = Self::path(data);
        make_private_dir(path.parent().context("no directory")?)?;
        let text = toml::to_string(self).context("cannot write the remote listener record")?;
        replace_private(
            &path,
            format!("# Written by tidewatch up --mqtt-remote at each start.\n{text}").as_bytes(),
        )
    }
}

/// What a [`Follower`] applied at one change of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowEvent {
    /// Active identities now.
    pub active: usize,
    /// Revoked identities now.
    pub revoked: usize,
    /// Live connections closed (revoked, or given new credentials).
    pub closed: usize,
    /// Identities named like an account the broker was started with (`up --unit`, the demo's
    /// units): that account stays, the store's is not used.
    pub shadowed: Vec<String>,
}

/// Keeps a running broker's added accounts equal to the store's identities.
#[derive(Debug)]
pub struct Follower {
    store: Store,
    accounts: crate::Accounts,
    /// The bytes last applied (or last refused, so a bad file is reported once).
    last: Option<Vec<u8>>,
}

impl Follower {
    /// Follows `store` for the broker whose `accounts` these are.
    pub fn new(store: Store, accounts: crate::Accounts) -> Follower {
        Follower {
            store,
            accounts,
            last: None,
        }
    }

    /// Re-reads the store and, when it changed, makes its identities the broker's added
    /// accounts (closing the connections of those revoked or changed): what was applied, or
    /// `None` when nothing changed. A file that does not parse (edited by hand) is an error and
    /// the accounts stay as they were; a file that is gone means no identities.
    pub fn poll(&mut self) -> Result<Option<FollowEvent>> {
        let bytes = self.store.read_bytes()?;
        if self.last.as_ref() == Some(&bytes) {
            return Ok(None);
        }
        let parsed = std::str::from_utf8(&bytes)
            .map_err(anyhow::Error::from)
            .and_then(parse)
            .with_context(|| format!("{}", self.store.path().display()));
        self.last = Some(bytes);
        let (active, revoked) = broker_users(&parsed?);
        let update = self.accounts.replace(&active, &revoked);
        Ok(Some(FollowEvent {
            active: active.len(),
            revoked: revoked.len(),
            closed: update.closed,
            shadowed: update.shadowed,
        }))
    }

    /// [`poll`](Self::poll)s every `every` until the task is dropped; `on_change` hears of
    /// every change applied, problems are logged.
    pub async fn run(mut self, every: Duration, mut on_change: impl FnMut(&FollowEvent) + Send) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.poll() {
                Ok(None) => {}
                Ok(Some(ev)) => on_change(&ev),
                Err(e) => tracing::warn!(
                    error = %format!("{e:#}"),
                    "The identity store cannot be read; the broker's accounts stay as they were."
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_revoke_and_readd_keep_one_hashed_entry_per_name_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.load().unwrap().is_empty(), "no file: no identities");
        let (unit, login) = store.add(Kind::Unit, "cp-301").unwrap();
        assert_eq!(unit.password.iterations(), STORED_ITERATIONS);
        assert!(unit.password.verify(login.password.as_bytes()));
        assert!(login.password.len() >= 43, "256 bits: {}", login.password);
        store.add(Kind::Receiver, "lampedusa").unwrap();
        // One name, one identity, whatever its kind.
        let e = store.add(Kind::Receiver, "cp-301").unwrap_err();
        assert!(format!("{e:#}").contains("exists already"), "{e:#}");
        assert!(store.add(Kind::Unit, "CP 301").is_err());
        assert!(store.add(Kind::Unit, "tidewatch.ingest").is_err());
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(
            !text.contains(&login.password),
            "the password is not stored"
        );
        assert!(text.contains("$7$101$"), "{text}");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");

        assert!(
            store.revoke(Kind::Receiver, "cp-301").is_err(),
            "kind must match"
        );
        store.revoke(Kind::Unit, "cp-301").unwrap();
        assert!(store.revoke(Kind::Unit, "cp-301").is_err(), "once");
        let (active, revoked) = broker_users(&store.load().unwrap());
        assert_eq!(
            active
                .iter()
                .map(|u| (&*u.name, u.role))
                .collect::<Vec<_>>(),
            [("lampedusa", Role::Receiver)]
        );
        assert_eq!(revoked[0].name, "cp-301");
        // Re-issued: new password, active again, the old one no longer verifies.
        let (again, login2) = store.add(Kind::Unit, "cp-301").unwrap();
        assert!(again.revoked.is_none());
        assert!(!again.password.verify(login.password.as_bytes()));
        assert!(again.password.verify(login2.password.as_bytes()));
        assert_eq!(store.load().unwrap().len(), 2);
    }

    #[test]
    fn a_store_that_lists_a_name_twice_or_a_bad_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.add(Kind::Unit, "cp-301").unwrap();
        let text = fs::read_to_string(store.path()).unwrap();
        let entry = text.split("[[identity]]").nth(1).unwrap();
        assert!(parse(&format!("{text}\n[[identity]]{entry}")).is_err());
        assert!(parse(&text.replace("cp-301", "a/b")).is_err());
        assert!(parse("[[identity]]\nname = \"x\"\n").is_err());
    }

    #[test]
    fn a_credentials_file_round_trips_privately_and_hides_its_password_from_debug() {
        let dir = tempfile::tempdir().unwrap();
        let c = CredentialsFile {
            kind: Kind::Unit,
            id: "cp-301".into(),
            username: "cp-301".into(),
            password: "s3cret-s3cret".into(),
            brokers: vec!["centre.example:8883".into()],
            fingerprint: "ab".repeat(32),
            issued: Timestamp::now(),
            certificate: None,
        };
        let path = dir.path().join("creds/cp-301.toml");
        c.write(&path).unwrap();
        let back = CredentialsFile::read(&path).unwrap();
        assert_eq!(back.password, c.password);
        assert_eq!(
            back.fingerprint,
            ingest::link::tls::parse_fingerprint(&c.fingerprint).unwrap()
        );
        assert!(!format!("{back:?}").contains("s3cret"));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        fs::write(&path, "kind = \"unit\"\n").unwrap();
        assert!(CredentialsFile::read(&path).is_err());
    }
}
