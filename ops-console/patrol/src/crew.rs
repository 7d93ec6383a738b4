//! The unit's crew accounts, kept on board: who may use the vessel's web interface, in what
//! role, and each officer's own signing key.
//!
//! ```text
//!  DIR/crew/NAME.json   {"name", "role", "password": Argon2id PHC, "public_key": hex}
//!  DIR/crew/NAME.key    the officer's Ed25519 secret key (32 bytes, readable by its owner only)
//! ```
//!
//! An account is made on board (`tidewatch patrol --add-crew NAME --crew-role ROLE`), which
//! prints the public key for the centre to register against the officer's console account
//! (`tidewatch user sea-key NAME KEY --unit UNIT`): case actions the officer signs at sea
//! are then taken in that account's name and role, and nobody else's key can sign for them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

/// What a crew member does with the vessel's interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum CrewRole {
    /// The commanding officer: case actions and reports.
    Commander,
    /// The boarding officer: case actions (boarding, rescue, evidence) and reports.
    BoardingOfficer,
    /// A protection officer embarked: persons' vulnerabilities, referrals and what a person
    /// asking for protection says (kept restricted, R40).
    ProtectionOfficer,
    /// The bridge watch: sightings, status, persons on board, taskings; no case actions.
    Bridge,
}

impl CrewRole {
    /// True when the role signs case actions.
    pub fn signs_case_actions(self) -> bool {
        !matches!(self, CrewRole::Bridge)
    }
}

/// A crew account as kept on board.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrewAccount {
    /// Login name (the officer's console account name).
    pub name: String,
    /// Role on board.
    pub role: CrewRole,
    /// Argon2id PHC string.
    pub password: String,
    /// The officer's public key, hex.
    pub public_key: String,
}

fn crew_dir(data: &Path) -> PathBuf {
    data.join("crew")
}

/// A login name: 1–64 of letters, digits, `.`, `_`, `-` (as the console's).
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        bail!("{name:?}: a crew name is 1 to 64 letters, digits, '.', '_' or '-'");
    }
    Ok(())
}

/// Make an account and its key; refused when it exists. Returns the public key (hex).
pub fn add(data: &Path, name: &str, role: CrewRole, password: &str) -> Result<String> {
    check_name(name)?;
    if password.chars().count() < 12 {
        bail!("a password of at least 12 characters");
    }
    let dir = crew_dir(data);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let account = dir.join(format!("{name}.json"));
    if account.exists() {
        bail!("crew member {name:?} exists ({})", account.display());
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).context("the operating system's random source")?;
    let key = SigningKey::from_bytes(&secret);
    let key_path = dir.join(format!("{name}.key"));
    if key_path.exists() {
        std::fs::remove_file(&key_path)?;
    }
    ingest::link::tls::write_private(&key_path, &secret)?;
    let public_key = ingest::wire::sea::public_key_hex(&key);
    let a = CrewAccount {
        name: name.to_owned(),
        role,
        password: hash_password(password)?,
        public_key: public_key.clone(),
    };
    ingest::link::tls::write_private(
        &account,
        serde_json::to_string_pretty(&a)
            .expect("an account serializes")
            .as_bytes(),
    )?;
    Ok(public_key)
}

fn hash_password(pw: &str) -> Result<String> {
    Ok(Argon2::default()
        .hash_password(pw.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?
        .to_string())
}

/// The crew of a unit, read from `DIR/crew/`.
#[derive(Debug, Clone, Default)]
pub struct Crew {
    accounts: Vec<CrewAccount>,
    dir: PathBuf,
    /// A hash of nothing anyone knows: an unknown name is checked against it.
    dummy: String,
}

impl Crew {
    /// Read every account (an unreadable one stops the start, naming the file).
    pub fn load(data: &Path) -> Result<Crew> {
        let dir = crew_dir(data);
        let mut accounts = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries {
                let path = e?.path();
                if path.extension().is_some_and(|x| x == "json") {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let a: CrewAccount = serde_json::from_str(&text)
                        .with_context(|| format!("{}: not a crew account", path.display()))?;
                    accounts.push(a);
                }
            }
        }
        accounts.sort_by(|a, b| a.name.cmp(&b.name));
        let mut nothing = [0u8; 32];
        getrandom::fill(&mut nothing).context("the operating system's random source")?;
        let dummy = hash_password(&ingest::wire::sea::sha256_hex(&nothing))?;
        Ok(Crew {
            accounts,
            dir,
            dummy,
        })
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when nobody can log in.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The account if the password is right (the check takes as long for an unknown name).
    pub fn login(&self, name: &str, password: &str) -> Option<CrewAccount> {
        let a = self.accounts.iter().find(|a| a.name == name);
        // An unknown name is checked against a hash too, so its answer takes as long.
        let phc = a.map_or(self.dummy.as_str(), |a| a.password.as_str());
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), phc)
            .is_ok();
        a.filter(|_| ok).cloned()
    }

    /// The officer's signing key, read when they sign (never kept in memory between).
    pub fn signing_key(&self, name: &str) -> Result<SigningKey> {
        let path = self.dir.join(format!("{name}.key"));
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let secret: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{}: not a 32-byte key", path.display()))?;
        let key = SigningKey::from_bytes(&secret);
        let account = self.accounts.iter().find(|a| a.name == name);
        if account.is_none_or(|a| a.public_key != ingest::wire::sea::public_key_hex(&key)) {
            bail!("{}: not the key of {name}'s account", path.display());
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_logs_in_with_its_password_only_and_signs_with_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let pk = add(
            dir.path(),
            "bo",
            CrewRole::BoardingOfficer,
            "a long password 1",
        )
        .unwrap();
        assert!(add(dir.path(), "bo", CrewRole::Bridge, "a long password 2").is_err());
        assert!(add(dir.path(), "x", CrewRole::Bridge, "short").is_err());
        assert!(add(dir.path(), "../x", CrewRole::Bridge, "a long password 1").is_err());
        let crew = Crew::load(dir.path()).unwrap();
        assert!(crew.login("bo", "a long password 1").is_some());
        assert!(crew.login("bo", "a long password 2").is_none());
        assert!(crew.login("nobody", "a long password 1").is_none());
        let key = crew.signing_key("bo").unwrap();
        assert_eq!(ingest::wire::sea::public_key_hex(&key), pk);
        // Another key swapped into the file is not the account's.
        std::fs::write(dir.path().join("crew/bo.key"), [5u8; 32]).unwrap();
        assert!(crew.signing_key("bo").is_err());
    }
}
