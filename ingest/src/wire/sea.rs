//! Case actions taken at sea: what a patrol unit's crew records on board, signed by the
//! officer, queued with the unit's NMEA and sent in order when the link allows; and what the
//! console answers.
//!
//! ```text
//!  on board: record (JSON text) ──sha256──▶ hash at capture ──ed25519 (officer's key)──▶ signature
//!  patrol/{unit}/case         ▲ SeaUp::Action {record, key, signature} | SeaUp::FileChunk {sha256, offset, data}
//!  patrol/{unit}/case-update  ▼ SeaDown::Result {id, outcome, rule} | SeaDown::File {sha256, outcome} | SeaDown::Case {brief}
//! ```
//!
//! The record is carried as the very text that was signed, so nothing is re-serialised
//! between the officer's key and the console's check. The console applies a record once (by
//! its unit and `id`), under the same rules as an action taken on shore, and answers every
//! record, so a refusal reaches the crew with the rule that refused it. The unit keeps a
//! record (and a file's parts) in its queue until that answer has come, not merely until the
//! broker acknowledged it: what a broker or a console lost on the way is sent again. An evidence file travels before
//! the action that names it, in chunks, each acknowledged on its own (a link that drops
//! mid-file resumes at the next chunk), and is kept only when its bytes hash to what was taken
//! on board.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::geodesy::Position;

/// Most bytes of a file in one chunk (before base64): an MQTT message stays well below the
/// brokers' limits and a lost link costs at most this much to resend.
pub const CHUNK_BYTES: usize = 48 * 1024;
/// Largest evidence file a unit may send, bytes (as the console's API takes).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// A case action as recorded on board: the text of its JSON is what the officer signs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeaRecord {
    /// Unique for the unit (`{unit}-{n}`): the console takes each record once.
    pub id: String,
    /// The unit the officer acts from.
    pub unit: String,
    /// The incident whose case file it goes into.
    pub incident: String,
    /// The officer's user name (the console's account their key is registered to).
    pub officer: String,
    /// The case action, as the console's API takes it (`{"type": "board", ...}`).
    pub action: serde_json::Value,
    /// Why, in words.
    pub why: String,
    /// When it happened, UTC.
    pub occurred_at: Timestamp,
    /// When it was recorded on board, UTC (the signature's time).
    pub captured_at: Timestamp,
    /// Where the unit was (the ship's GNSS, or a position taken from the map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// Why it is recorded on board only now, when it happened more than 30 minutes before
    /// it was recorded (R57).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_reason: Option<String>,
}

/// What a unit sends on `patrol/{unit}/case`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SeaUp {
    /// A signed case action.
    Action {
        /// The [`SeaRecord`]'s JSON, exactly as signed.
        record: String,
        /// The officer's Ed25519 public key, hex.
        key: String,
        /// The signature of `record`'s bytes, hex.
        signature: String,
    },
    /// A part of an evidence file.
    FileChunk {
        /// SHA-256 of the whole file, hex, taken on board.
        sha256: String,
        /// The file's name on board.
        name: String,
        /// The whole file's size, bytes.
        size: u64,
        /// Where this part starts, bytes.
        offset: u64,
        /// The part's bytes, base64 (standard alphabet, padded).
        data: String,
    },
}

/// What the console answered about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied: in the case file and the interception log.
    Applied,
    /// Refused by a rule (named in `rule`), or by the log (a late entry without a reason…).
    Refused,
    /// Not taken at all: the signature, the key or the record itself is not valid.
    Invalid,
    /// Not taken yet: it names an evidence file still arriving (sent again after a part was
    /// lost). The unit keeps it and sends it again once the centre has kept the file.
    Deferred,
}

/// An article-8 case as the crew sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseBrief {
    /// Case number in the incident (1…).
    pub case: usize,
    /// The suspect vessel.
    pub target: String,
    /// Where the case stands, in words.
    pub state: String,
    /// The authorization in force, if any: its reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// The measures authorized.
    #[serde(default)]
    pub measures: Vec<String>,
    /// The conditions imposed, in order (condition `n` is `conditions[n-1]`), and whether
    /// each is acknowledged.
    #[serde(default)]
    pub conditions: Vec<(String, bool)>,
    /// Until when the authorization is valid, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

/// What the crew sees of an incident's case file, cached on board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentBrief {
    /// The incident.
    pub incident: String,
    /// When the console made this view.
    pub synced_at: Timestamp,
    /// Its article-8 cases.
    pub cases: Vec<CaseBrief>,
    /// The place of safety, once decided (name and State).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_of_safety: Option<String>,
    /// How many tags each unit has given in this incident (the next is `{unit}-{n+1:04}`).
    pub tags_issued: std::collections::BTreeMap<String, u32>,
    /// Persons on board each unit now.
    pub on_board: std::collections::BTreeMap<String, u32>,
    /// Exhibits seized: id, description, seal.
    #[serde(default)]
    pub exhibits: Vec<(String, String, String)>,
}

/// What the console sends on `patrol/{unit}/case-update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SeaDown {
    /// The answer to a record.
    Result {
        /// The record's id.
        id: String,
        /// Its incident.
        incident: String,
        /// SHA-256 of the record as received (the hash at capture, when untouched).
        record_sha256: String,
        /// Applied, refused or invalid.
        outcome: Outcome,
        /// The rule that refused it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// In words.
        message: String,
        /// The interception log's entry, when applied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_seq: Option<u64>,
        /// What the action produced (the tags given to persons rescued…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        produced: Option<serde_json::Value>,
        /// When the console decided.
        at: Timestamp,
    },
    /// An evidence file complete on shore, or refused.
    File {
        /// Its SHA-256 as taken on board.
        sha256: String,
        /// True when kept (its bytes hash to `sha256`).
        stored: bool,
        /// In words.
        message: String,
        /// When.
        at: Timestamp,
    },
    /// An incident's case file as it stands.
    Case(IncidentBrief),
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// An officer's public key as hex (what the console registers).
pub fn public_key_hex(key: &SigningKey) -> String {
    hex(key.verifying_key().as_bytes())
}

/// Sign a record's text: the [`SeaUp::Action`] to send.
pub fn sign(record: &SeaRecord, key: &SigningKey) -> SeaUp {
    let text = serde_json::to_string(record).expect("a record serializes");
    let signature = key.sign(text.as_bytes());
    SeaUp::Action {
        key: public_key_hex(key),
        signature: hex(&signature.to_bytes()),
        record: text,
    }
}

/// Why a signed record is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The key is not 32 bytes of hex, or not a valid Ed25519 key.
    #[error("the key is not an Ed25519 public key in hex")]
    Key,
    /// The signature is not 64 bytes of hex.
    #[error("the signature is not 64 bytes of hex")]
    Malformed,
    /// The signature does not match the record and key.
    #[error(
        "the signature does not match the record: it was changed after it was signed, or signed by another key"
    )]
    Mismatch,
}

/// Check `signature` over `record`'s bytes with `key` (both hex).
pub fn verify(record: &str, key: &str, signature: &str) -> Result<(), SignatureError> {
    let key = unhex::<32>(key)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or(SignatureError::Key)?;
    let sig = unhex::<64>(signature).ok_or(SignatureError::Malformed)?;
    key.verify_strict(record.as_bytes(), &Signature::from_bytes(&sig))
        .map_err(|_| SignatureError::Mismatch)
}

/// A public key in hex, checked (lower-cased).
pub fn parse_public_key(s: &str) -> Result<String, SignatureError> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_prefix("ed25519:").unwrap_or(&s);
    unhex::<32>(s)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or(SignatureError::Key)?;
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SeaRecord {
        SeaRecord {
            id: "cp-301-1".into(),
            unit: "cp-301".into(),
            incident: "INC-1".into(),
            officer: "bo".into(),
            action: serde_json::json!({"type": "board", "case": 1, "unit": "cp-301"}),
            why: "authorized".into(),
            occurred_at: "2026-12-05T02:10:00Z".parse().unwrap(),
            captured_at: "2026-12-05T02:10:05Z".parse().unwrap(),
            position: None,
            late_reason: None,
        }
    }

    /// A record signed on board verifies; one changed after signing, or checked with another
    /// officer's key, does not.
    #[test]
    fn a_record_changed_after_signing_or_signed_by_another_key_is_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[9u8; 32]);
        let SeaUp::Action {
            record,
            key: k,
            signature,
        } = sign(&record(), &key)
        else {
            unreachable!()
        };
        assert_eq!(verify(&record, &k, &signature), Ok(()));
        let changed = record.replace("\"case\":1", "\"case\":2");
        assert_ne!(changed, record);
        assert_eq!(
            verify(&changed, &k, &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&record, &public_key_hex(&other), &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(&record, "zz", &signature), Err(SignatureError::Key));
        assert_eq!(verify(&record, &k, "00"), Err(SignatureError::Malformed));
        // Hex only: `from_str_radix` alone would take a sign.
        let plus = format!("+{}", &signature[1..]);
        assert_eq!(verify(&record, &k, &plus), Err(SignatureError::Malformed));
        assert_eq!(
            parse_public_key(&format!("ed25519:{}", k.to_uppercase())),
            Ok(k)
        );
    }
}
