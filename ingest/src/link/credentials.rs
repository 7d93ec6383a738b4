//! What a remote patrol unit or AIS receiver carries to reach the centre: its kind, its
//! name, and the credentials file the centre issues (`tidewatch unit add`), plus the private
//! file writes both sides use (0600 files, 0700 directories, atomic replacement).

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a remote identity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A patrol unit: publishes its own `patrol/{id}/nmea` and `…/report`, reads its own
    /// `…/tasking` and `…/rejects`.
    Unit,
    /// An AIS receiver: publishes its own `raw/ais/{id}`, reads nothing.
    Receiver,
}

impl Kind {
    /// `unit` or `receiver`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Unit => "unit",
            Kind::Receiver => "receiver",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Is `name` a valid identity name: 1–32 characters of `a-z`, `0-9`, `-` and `_` (a unit id,
/// a topic level, a broker username, never a service's: those have a `.`)?
pub fn check_name(name: &str) -> Result<()> {
    crate::wire::UnitId::new(name).map(|_| ()).map_err(|_| {
        anyhow::anyhow!("{name:?}: a name is 1–32 characters of a-z, 0-9, '-' and '_'")
    })
}

/// Creates `dir` (and its parents) and restricts it to its owner.
pub fn make_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", dir.display()))
}

/// Replaces `path` atomically with `bytes`, readable by its owner only: a temporary file in the
/// same directory, synced, renamed over it, and the directory synced.
pub fn replace_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().context("no directory")?;
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

/// What is carried to a vessel or receiver: who it is, its password, where the centre's broker
/// is and the fingerprint of the certificate it serves. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsFile {
    /// Unit or receiver.
    pub kind: Kind,
    /// The unit id or receiver name.
    pub id: String,
    /// The broker username (the id).
    pub username: String,
    /// The password.
    pub password: String,
    /// The centre's broker addresses (`HOST:PORT`, MQTT over TLS), tried in turn.
    pub brokers: Vec<String>,
    /// SHA-256 of the centre's certificate (`AB:CD:…`): the client trusts that certificate
    /// and no other.
    pub fingerprint: String,
    /// When the credentials were issued.
    pub issued: Timestamp,
    /// The certificate itself (PEM), for clients that take a CA file rather than a pin
    /// (`mosquitto_pub --cafile`, AIS-catcher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

impl fmt::Debug for CredentialsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsFile")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("brokers", &self.brokers)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl CredentialsFile {
    /// Reads and checks a credentials file (its name, broker addresses and fingerprint).
    pub fn read(path: &Path) -> Result<CredentialsFile> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read the credentials file {}", path.display()))?;
        let mut c: CredentialsFile = toml::from_str(&text)
            .with_context(|| format!("{}: not a Tidewatch credentials file", path.display()))?;
        check_name(&c.id).with_context(|| format!("{}", path.display()))?;
        if c.brokers.is_empty() {
            bail!("{}: no broker address in it", path.display());
        }
        for b in &c.brokers {
            super::parse_broker(b).with_context(|| format!("{}", path.display()))?;
        }
        c.fingerprint = super::tls::parse_fingerprint(&c.fingerprint)
            .with_context(|| format!("{}", path.display()))?;
        Ok(c)
    }

    /// Writes it to `path`, readable by its owner only (replacing an older file there); a
    /// directory made for it is its owner's only too (an existing one is left as it is).
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            make_private_dir(dir)?;
        }
        let text = toml::to_string(self).context("cannot write the credentials")?;
        let header = format!(
            "# Tidewatch credentials of {} {:?}, issued {}.\n\
             # Secret: carry this file to the {} by hand (not by e-mail), keep it readable by its\n\
             # owner only, and revoke it at the centre if it is lost: tidewatch {} revoke {}\n{}\n",
            self.kind,
            self.id,
            self.issued,
            match self.kind {
                Kind::Unit => "vessel",
                Kind::Receiver => "receiver",
            },
            self.kind,
            self.id,
            match self.kind {
                Kind::Unit =>
                    "# On board: tidewatch patrol --credentials THIS_FILE --nmea SOURCE\n",
                Kind::Receiver => {
                    "# At the receiver: MQTT over TLS to a broker below as username/password,\n\
                     # publishing to tidewatch/v1/raw/ais/{id}, trusting the certificate below.\n"
                }
            }
        );
        replace_private(path, format!("{header}{text}").as_bytes())
    }
}
