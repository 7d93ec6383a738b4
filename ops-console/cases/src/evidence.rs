//! The evidence register (RULES.md): exhibits with numbers that never change or go
//! away, their legal basis, seals, files hashed (SHA-256) the moment they are captured,
//! and two-party custody transfers; each capture and transfer is a manifest signed
//! (Ed25519) by the officer who made it and chained to the one before, re-verified on every
//! transfer and export.
//!
//! Rules: R43 (exhibit numbers unique and immutable; no deletion, only disposal or return
//! through custody), R44 (every exhibit has a legal basis; on an article-8 case, the
//! authorization or determination in force when it was seized), R45 (a transfer is complete
//! when handed over and received, by two different people), R46 (seals match from one
//! custody event to the next unless opened and resealed with a reason; a mismatch is an
//! integrity incident), R47 (files re-verified on every transfer and export; a mismatch
//! blocks export), R48 (a file's hash is taken at capture and never changes).

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest hash before the first one.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why an exhibit may be held (R44).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// The flag State's authorization in force at seizure (its reference).
    Art8Authorization(String),
    /// The art. 8(7) determination (legal adviser, time).
    Art8_7Determination(String),
    /// Coastal-State jurisdiction, a warrant… (its reference).
    Other(String),
}

/// A file captured with an exhibit (photo, video, device image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Its name.
    pub name: String,
    /// SHA-256 at capture (R48).
    pub sha256: String,
    /// Size, bytes.
    pub size: u64,
}

impl FileRecord {
    /// The record of `bytes` captured as `name`: hashed now.
    pub fn of(name: &str, bytes: &[u8]) -> FileRecord {
        FileRecord {
            name: name.to_owned(),
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
        }
    }
}

/// What happened to an exhibit in custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustodyKind {
    /// Seized.
    Seized,
    /// Handed over (awaiting receipt).
    Transferred,
    /// Received.
    Received,
    /// Seal opened and resealed (for examination), with a reason.
    Resealed,
    /// Disposed of.
    Disposed,
    /// Returned to its owner.
    Returned,
}

/// One custody event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyEvent {
    /// What.
    pub kind: CustodyKind,
    /// Who held it before (or seized it).
    pub from: String,
    /// Who holds it after.
    pub to: String,
    /// When.
    pub at: Timestamp,
    /// Where.
    pub place: String,
    /// The seal number after the event.
    pub seal: String,
    /// Why (resealing, disposal, return).
    pub reason: Option<String>,
}

/// Where an exhibit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExhibitStatus {
    /// Held.
    Held,
    /// Handed over, not yet received.
    InTransfer,
    /// Disposed of.
    Disposed,
    /// Returned.
    Returned,
}

/// An exhibit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exhibit {
    /// Its number (R43).
    pub number: String,
    /// What it is.
    pub description: String,
    /// Where it was found.
    pub found: String,
    /// Legal basis (R44).
    pub basis: LegalBasis,
    /// Files.
    pub files: Vec<FileRecord>,
    /// Custody, in order.
    pub custody: Vec<CustodyEvent>,
    /// Where it stands.
    pub status: ExhibitStatus,
}

impl Exhibit {
    /// The current holder and seal.
    pub fn holder(&self) -> (&str, &str) {
        let last = self.custody.last().expect("an exhibit has its seizure");
        (&last.to, &last.seal)
    }
}

/// A signed, chained record of a capture or custody event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The incident.
    pub incident: String,
    /// The exhibit.
    pub exhibit: String,
    /// The event recorded.
    pub event: CustodyEvent,
    /// Every file's SHA-256, as verified at this event.
    pub files_sha256: Vec<String>,
    /// The signer (user) and their public key, hex.
    pub signer: String,
    /// The signer's Ed25519 public key, hex.
    pub public_key: String,
    /// The previous manifest's hash.
    pub prev_hash: String,
    /// SHA-256 of the canonical body (all fields above), hex.
    pub hash: String,
    /// Ed25519 signature over `hash`, hex.
    pub signature: String,
}

#[derive(Serialize)]
struct ManifestBody<'a> {
    incident: &'a str,
    exhibit: &'a str,
    event: &'a CustodyEvent,
    files_sha256: &'a [String],
    signer: &'a str,
    public_key: &'a str,
    prev_hash: &'a str,
}

fn body_hash(m: &Manifest) -> String {
    let body = serde_json::to_vec(&ManifestBody {
        incident: &m.incident,
        exhibit: &m.exhibit,
        event: &m.event,
        files_sha256: &m.files_sha256,
        signer: &m.signer,
        public_key: &m.public_key,
        prev_hash: &m.prev_hash,
    })
    .expect("manifests serialize");
    sha256_hex(&body)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub use super::Refused;
use super::refuse;

/// An officer who signs: a name and a key.
pub struct Officer<'a> {
    /// The user.
    pub name: &'a str,
    /// Their signing key.
    pub key: &'a SigningKey,
}

/// The evidence register of one incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    /// The incident.
    pub incident: String,
    /// Exhibits by number.
    pub exhibits: BTreeMap<String, Exhibit>,
    /// Every manifest, in order (one chain per incident).
    pub manifests: Vec<Manifest>,
    /// Integrity incidents found (seal or hash mismatches).
    pub incidents: Vec<String>,
}

impl Register {
    /// An empty register for `incident`.
    pub fn new(incident: &str) -> Register {
        Register {
            incident: incident.to_owned(),
            ..Register::default()
        }
    }

    fn sign(&mut self, exhibit: &str, event: CustodyEvent, files: Vec<String>, by: &Officer<'_>) {
        let prev_hash = self
            .manifests
            .last()
            .map_or_else(|| GENESIS.to_owned(), |m| m.hash.clone());
        let mut m = Manifest {
            incident: self.incident.clone(),
            exhibit: exhibit.to_owned(),
            event,
            files_sha256: files,
            signer: by.name.to_owned(),
            public_key: hex(by.key.verifying_key().as_bytes()),
            prev_hash,
            hash: String::new(),
            signature: String::new(),
        };
        m.hash = body_hash(&m);
        m.signature = hex(&by.key.sign(m.hash.as_bytes()).to_bytes());
        self.manifests.push(m);
    }

    /// Seize an exhibit: its number is assigned here (R43), with its files as hashed when
    /// they were captured (R48; the store keeps them by that hash).
    #[allow(clippy::too_many_arguments)]
    pub fn seize(
        &mut self,
        description: &str,
        found: &str,
        basis: LegalBasis,
        files: Vec<FileRecord>,
        seal: &str,
        place: &str,
        by: &Officer<'_>,
        at: Timestamp,
    ) -> Result<String, Refused> {
        let empty = match &basis {
            LegalBasis::Art8Authorization(r)
            | LegalBasis::Art8_7Determination(r)
            | LegalBasis::Other(r) => r.trim().is_empty(),
        };
        if empty {
            return Err(refuse("R44", "an exhibit is held on a stated legal basis"));
        }
        if seal.trim().is_empty() {
            return Err(refuse(
                "R46",
                "a seized exhibit is sealed: give the seal number",
            ));
        }
        let number = format!("{}/EX-{:04}", self.incident, self.exhibits.len() + 1);
        let event = CustodyEvent {
            kind: CustodyKind::Seized,
            from: by.name.to_owned(),
            to: by.name.to_owned(),
            at,
            place: place.to_owned(),
            seal: seal.to_owned(),
            reason: None,
        };
        let hashes = files.iter().map(|f| f.sha256.clone()).collect();
        self.exhibits.insert(
            number.clone(),
            Exhibit {
                number: number.clone(),
                description: description.to_owned(),
                found: found.to_owned(),
                basis,
                files,
                custody: vec![event.clone()],
                status: ExhibitStatus::Held,
            },
        );
        self.sign(&number, event, hashes, by);
        Ok(number)
    }

    /// Check `files` (name → bytes as held now) against the hashes taken at capture (R47):
    /// a mismatch is an integrity incident. `None`: the files are not presented (a replay of
    /// the log, which re-applies a check already made and never re-reads evidence bytes).
    fn check_files(
        &mut self,
        number: &str,
        files: Option<&BTreeMap<String, Vec<u8>>>,
    ) -> Result<Vec<String>, Refused> {
        let ex = &self.exhibits[number];
        let Some(files) = files else {
            return Ok(ex.files.iter().map(|f| f.sha256.clone()).collect());
        };
        let mut hashes = Vec::new();
        for f in &ex.files {
            let Some(bytes) = files.get(&f.name) else {
                let p = format!("{number}: file {} not presented for verification", f.name);
                self.incidents.push(p.clone());
                return Err(refuse("R47", p));
            };
            let h = sha256_hex(bytes);
            if h != f.sha256 {
                let p = format!(
                    "{number}: file {} hashes to {h}, not the {} taken at capture",
                    f.name, f.sha256
                );
                self.incidents.push(p.clone());
                return Err(refuse("R47", p));
            }
            hashes.push(h);
        }
        Ok(hashes)
    }

    /// Hand an exhibit over (R45, R46, R47): the seal must be the one it was last sealed with.
    #[allow(clippy::too_many_arguments)]
    pub fn transfer(
        &mut self,
        number: &str,
        to: &str,
        seal_seen: &str,
        place: &str,
        files: Option<&BTreeMap<String, Vec<u8>>>,
        by: &Officer<'_>,
        at: Timestamp,
    ) -> Result<(), Refused> {
        let ex = self
            .exhibits
            .get(number)
            .ok_or_else(|| refuse("R43", format!("no exhibit {number}")))?;
        if ex.status != ExhibitStatus::Held {
            return Err(refuse("R45", format!("{number} is {:?}", ex.status)));
        }
        let (holder, seal) = ex.holder();
        if holder != by.name {
            return Err(refuse(
                "R45",
                format!("{number} is held by {holder}, not {}", by.name),
            ));
        }
        if to == by.name {
            return Err(refuse("R45", "the receiver cannot be the one handing over"));
        }
        if seal != seal_seen {
            let p = format!("{number}: seal {seal_seen} seen, {seal} expected");
            self.incidents.push(p.clone());
            return Err(refuse("R46", p));
        }
        let hashes = self.check_files(number, files)?;
        let event = CustodyEvent {
            kind: CustodyKind::Transferred,
            from: by.name.to_owned(),
            to: to.to_owned(),
            at,
            place: place.to_owned(),
            seal: seal_seen.to_owned(),
            reason: None,
        };
        let ex = self.exhibits.get_mut(number).expect("checked");
        ex.custody.push(event.clone());
        ex.status = ExhibitStatus::InTransfer;
        self.sign(number, event, hashes, by);
        Ok(())
    }

    /// The receiver takes it (R45, R46, R47); the transfer is complete only now.
    pub fn receive(
        &mut self,
        number: &str,
        seal_seen: &str,
        files: Option<&BTreeMap<String, Vec<u8>>>,
        by: &Officer<'_>,
        at: Timestamp,
    ) -> Result<(), Refused> {
        let ex = self
            .exhibits
            .get(number)
            .ok_or_else(|| refuse("R43", format!("no exhibit {number}")))?;
        let last = ex.custody.last().expect("seized").clone();
        if ex.status != ExhibitStatus::InTransfer || last.to != by.name {
            return Err(refuse(
                "R45",
                format!("{number} was not handed over to {}", by.name),
            ));
        }
        if last.from == by.name {
            return Err(refuse(
                "R45",
                "the receiver cannot be the one who handed over",
            ));
        }
        if last.seal != seal_seen {
            let p = format!(
                "{number}: seal {seal_seen} seen on receipt, {} handed over",
                last.seal
            );
            self.incidents.push(p.clone());
            return Err(refuse("R46", p));
        }
        let hashes = self.check_files(number, files)?;
        let event = CustodyEvent {
            kind: CustodyKind::Received,
            from: last.from,
            to: by.name.to_owned(),
            at,
            place: last.place,
            seal: seal_seen.to_owned(),
            reason: None,
        };
        let ex = self.exhibits.get_mut(number).expect("checked");
        ex.custody.push(event.clone());
        ex.status = ExhibitStatus::Held;
        self.sign(number, event, hashes, by);
        Ok(())
    }

    /// Open and reseal (for examination), with the reason (R46); its files re-verified (R47:
    /// the new manifest attests hashes read now, not copied from the seizure).
    pub fn reseal(
        &mut self,
        number: &str,
        new_seal: &str,
        reason: &str,
        files: Option<&BTreeMap<String, Vec<u8>>>,
        by: &Officer<'_>,
        at: Timestamp,
    ) -> Result<(), Refused> {
        let ex = self
            .exhibits
            .get(number)
            .ok_or_else(|| refuse("R43", format!("no exhibit {number}")))?;
        if reason.trim().is_empty() || new_seal.trim().is_empty() {
            return Err(refuse("R46", "resealing gives the new seal and the reason"));
        }
        let (holder, _) = ex.holder();
        if holder != by.name || ex.status != ExhibitStatus::Held {
            return Err(refuse(
                "R45",
                format!("{number} is not held by {}", by.name),
            ));
        }
        let event = CustodyEvent {
            kind: CustodyKind::Resealed,
            from: by.name.to_owned(),
            to: by.name.to_owned(),
            at,
            place: ex.custody.last().expect("seized").place.clone(),
            seal: new_seal.to_owned(),
            reason: Some(reason.to_owned()),
        };
        let hashes = self.check_files(number, files)?;
        let ex = self.exhibits.get_mut(number).expect("checked");
        ex.custody.push(event.clone());
        self.sign(number, event, hashes, by);
        Ok(())
    }

    /// Verify every file of every exhibit before an export (R47): the export is refused on
    /// any mismatch (with the exhibit's number, for its integrity incident), and the
    /// mismatch recorded.
    pub fn verify_for_export(
        &mut self,
        files: &BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    ) -> Result<(), (String, Refused)> {
        let numbers: Vec<String> = self.exhibits.keys().cloned().collect();
        let none = BTreeMap::new();
        for n in numbers {
            if let Err(r) = self.check_files(&n, Some(files.get(&n).unwrap_or(&none))) {
                return Err((n, r));
            }
        }
        Ok(())
    }
}

/// Check a register's manifests offline: chain, hashes, signatures, and that each names a
/// known exhibit's files as captured (R43, R47, R48). The first problem, if any.
pub fn verify_manifests(r: &Register) -> Result<usize, String> {
    let mut prev = GENESIS.to_owned();
    for (i, m) in r.manifests.iter().enumerate() {
        let n = i + 1;
        if m.prev_hash != prev {
            return Err(format!("manifest {n} does not link to the one before"));
        }
        if body_hash(m) != m.hash {
            return Err(format!("manifest {n}: its content does not match its hash"));
        }
        let key = unhex(&m.public_key)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            .ok_or_else(|| format!("manifest {n}: bad public key"))?;
        let sig = unhex(&m.signature)
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(|b| Signature::from_bytes(&b))
            .ok_or_else(|| format!("manifest {n}: bad signature encoding"))?;
        key.verify(m.hash.as_bytes(), &sig).map_err(|_| {
            format!(
                "manifest {n}: the signature of {} does not verify",
                m.signer
            )
        })?;
        let ex = r.exhibits.get(&m.exhibit).ok_or_else(|| {
            format!(
                "manifest {n}: exhibit {} is missing from the register",
                m.exhibit
            )
        })?;
        let captured: Vec<&str> = ex.files.iter().map(|f| f.sha256.as_str()).collect();
        let named: Vec<&str> = m.files_sha256.iter().map(String::as_str).collect();
        if captured != named {
            return Err(format!(
                "manifest {n}: exhibit {}'s file hashes differ from those recorded",
                m.exhibit
            ));
        }
        prev = m.hash.clone();
    }
    // Every exhibit's custody is in the manifests (none removed or rewritten).
    for ex in r.exhibits.values() {
        let events: Vec<&CustodyEvent> = r
            .manifests
            .iter()
            .filter(|m| m.exhibit == ex.number)
            .map(|m| &m.event)
            .collect();
        if events != ex.custody.iter().collect::<Vec<_>>() {
            return Err(format!(
                "exhibit {}: its custody differs from the signed manifests",
                ex.number
            ));
        }
    }
    Ok(r.manifests.len())
}

/// The longest evidence file name accepted at seizure, in bytes of UTF-8: well inside every
/// file system's limit (255), with room for an exhibit's directory on a court's copy.
pub const MAX_FILE_NAME_BYTES: usize = 128;

/// Why `name` cannot name an evidence file, if it cannot: it must be written as is into an
/// export on any file system a court may copy it to (no path separators, control or
/// reserved characters, not `.` or `..`, no leading or trailing space or dot, at most
/// [`MAX_FILE_NAME_BYTES`]).
pub fn file_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_FILE_NAME_BYTES {
        return Some(format!(
            "1 to {MAX_FILE_NAME_BYTES} bytes, not {}",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
    }) {
        return Some(format!("{c:?} is not allowed in a file name"));
    }
    if name.starts_with([' ', '.']) || name.ends_with([' ', '.']) {
        return Some("no leading or trailing space or dot (and not . or ..)".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        "2026-11-22T05:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_mins(min)
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    const PHOTO: &[u8] = b"\xff\xd8 a photo of the satellite phone \xff\xd9";
    const IMAGE: &[u8] = b"device image of the satellite phone";

    fn files() -> BTreeMap<String, Vec<u8>> {
        [("photo.jpg", PHOTO), ("phone.img", IMAGE)]
            .into_iter()
            .map(|(n, b)| (n.to_owned(), b.to_vec()))
            .collect()
    }

    fn seized(r: &mut Register, bo: &SigningKey) -> String {
        r.seize(
            "satellite phone, Thuraya",
            "helm console of the rubber boat",
            LegalBasis::Art8Authorization("MT-AUTH-77".into()),
            vec![
                FileRecord::of("photo.jpg", PHOTO),
                FileRecord::of("phone.img", IMAGE),
            ],
            "S-1001",
            "CP 301",
            &Officer {
                name: "bo",
                key: bo,
            },
            t(0),
        )
        .unwrap()
    }

    #[test]
    fn r43_exhibit_numbers_are_unique_and_there_is_no_deletion() {
        let bo = key(1);
        let mut r = Register::new("INC-20261122-001");
        let a = seized(&mut r, &bo);
        let b = seized(&mut r, &bo);
        assert_eq!(a, "INC-20261122-001/EX-0001");
        assert_ne!(a, b);
        // Removing an exhibit from the stored register is caught by the manifests.
        let mut gone = r.clone();
        gone.exhibits.remove(&a);
        assert!(verify_manifests(&gone).unwrap_err().contains("missing"));
    }

    #[test]
    fn r44_every_exhibit_has_a_legal_basis() {
        let bo = key(1);
        let mut r = Register::new("INC-1");
        let e = r
            .seize(
                "x",
                "y",
                LegalBasis::Other(" ".into()),
                Vec::new(),
                "S-1",
                "CP 301",
                &Officer {
                    name: "bo",
                    key: &bo,
                },
                t(0),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R44");
    }

    #[test]
    fn r45_custody_transfer_needs_two_parties_and_completes_on_receipt() {
        let (bo, inv) = (key(1), key(2));
        let mut r = Register::new("INC-1");
        let n = seized(&mut r, &bo);
        let e = r
            .transfer(
                &n,
                "bo",
                "S-1001",
                "quay",
                Some(&files()),
                &Officer {
                    name: "bo",
                    key: &bo,
                },
                t(10),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R45");
        r.transfer(
            &n,
            "inv",
            "S-1001",
            "Lampedusa quay",
            Some(&files()),
            &Officer {
                name: "bo",
                key: &bo,
            },
            t(10),
        )
        .unwrap();
        assert_eq!(r.exhibits[&n].status, ExhibitStatus::InTransfer);
        // Only the named receiver completes it.
        assert_eq!(
            r.receive(
                &n,
                "S-1001",
                Some(&files()),
                &Officer {
                    name: "bo",
                    key: &bo
                },
                t(11)
            )
            .unwrap_err()
            .rule,
            "R45"
        );
        r.receive(
            &n,
            "S-1001",
            Some(&files()),
            &Officer {
                name: "inv",
                key: &inv,
            },
            t(12),
        )
        .unwrap();
        assert_eq!(r.exhibits[&n].holder().0, "inv");
        assert_eq!(verify_manifests(&r), Ok(3));
    }

    #[test]
    fn r46_seals_match_unless_resealed_with_a_reason() {
        let (bo, inv) = (key(1), key(2));
        let mut r = Register::new("INC-1");
        let n = seized(&mut r, &bo);
        let e = r
            .transfer(
                &n,
                "inv",
                "S-9999",
                "quay",
                Some(&files()),
                &Officer {
                    name: "bo",
                    key: &bo,
                },
                t(10),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R46");
        assert_eq!(r.incidents.len(), 1, "an integrity incident is recorded");
        assert_eq!(
            r.reseal(
                &n,
                "S-1002",
                "",
                Some(&files()),
                &Officer {
                    name: "bo",
                    key: &bo
                },
                t(11)
            )
            .unwrap_err()
            .rule,
            "R46"
        );
        r.reseal(
            &n,
            "S-1002",
            "opened to photograph the SIM card",
            Some(&files()),
            &Officer {
                name: "bo",
                key: &bo,
            },
            t(11),
        )
        .unwrap();
        r.transfer(
            &n,
            "inv",
            "S-1002",
            "quay",
            Some(&files()),
            &Officer {
                name: "bo",
                key: &bo,
            },
            t(12),
        )
        .unwrap();
        r.receive(
            &n,
            "S-1002",
            Some(&files()),
            &Officer {
                name: "inv",
                key: &inv,
            },
            t(13),
        )
        .unwrap();
    }

    #[test]
    fn r47_files_are_reverified_on_transfer_and_export() {
        let bo = key(1);
        let mut r = Register::new("INC-1");
        let n = seized(&mut r, &bo);
        let mut altered = files();
        altered.get_mut("phone.img").unwrap()[0] ^= 1;
        let e = r
            .transfer(
                &n,
                "inv",
                "S-1001",
                "quay",
                Some(&altered),
                &Officer {
                    name: "bo",
                    key: &bo,
                },
                t(10),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R47");
        assert!(e.problem.contains("phone.img"));
        let all: BTreeMap<String, BTreeMap<String, Vec<u8>>> =
            [(n.clone(), altered)].into_iter().collect();
        let (exhibit, refusal) = r.verify_for_export(&all).unwrap_err();
        assert_eq!((exhibit.as_str(), refusal.rule), (n.as_str(), "R47"));
        let all: BTreeMap<String, BTreeMap<String, Vec<u8>>> = [(n, files())].into_iter().collect();
        r.verify_for_export(&all).unwrap();
    }

    #[test]
    fn r48_hashes_taken_at_capture_and_manifests_catch_any_change() {
        let (bo, inv) = (key(1), key(2));
        let mut r = Register::new("INC-1");
        let n = seized(&mut r, &bo);
        assert_eq!(r.exhibits[&n].files[0].sha256, sha256_hex(PHOTO));
        r.transfer(
            &n,
            "inv",
            "S-1001",
            "quay",
            Some(&files()),
            &Officer {
                name: "bo",
                key: &bo,
            },
            t(10),
        )
        .unwrap();
        r.receive(
            &n,
            "S-1001",
            Some(&files()),
            &Officer {
                name: "inv",
                key: &inv,
            },
            t(12),
        )
        .unwrap();
        assert_eq!(verify_manifests(&r), Ok(3));
        // A file hash rewritten in the register.
        let mut x = r.clone();
        x.exhibits.get_mut(&n).unwrap().files[1].sha256 = sha256_hex(b"another image");
        assert!(verify_manifests(&x).is_err());
        // A custody event rewritten (who received it).
        let mut x = r.clone();
        x.exhibits.get_mut(&n).unwrap().custody[2].to = "someone".into();
        assert!(verify_manifests(&x).is_err());
        // A manifest rewritten and re-hashed but not re-signed by its officer.
        let mut x = r.clone();
        x.manifests[1].event.place = "elsewhere".into();
        x.manifests[1].hash = body_hash(&x.manifests[1]);
        assert!(verify_manifests(&x).unwrap_err().contains("signature"));
        // Re-signed with another key: the chain to the next manifest breaks.
        let mut x = r.clone();
        x.manifests[1].event.place = "elsewhere".into();
        x.exhibits.get_mut(&n).unwrap().custody[1].place = "elsewhere".into();
        let forger = key(9);
        x.manifests[1].public_key = hex(forger.verifying_key().as_bytes());
        x.manifests[1].hash = body_hash(&x.manifests[1]);
        x.manifests[1].signature = hex(&forger.sign(x.manifests[1].hash.as_bytes()).to_bytes());
        assert!(verify_manifests(&x).unwrap_err().contains("link"));
        // Stored as JSON and read back, it verifies.
        let back: Register = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(verify_manifests(&back), Ok(3));
    }
}
