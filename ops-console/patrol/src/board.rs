//! What the vessel's interface shows, kept on board and on disk, so the crew sees it with the
//! link down and after a restart:
//!
//! ```text
//!  DIR/taskings.jsonl        taskings received
//!  DIR/tasking-answers.jsonl the crew's answers to them
//!  DIR/case-journal.jsonl    every case action recorded on board (what the crew sees of it)
//!  DIR/case-answers.jsonl    the centre's answers (applied, refused with the rule, files kept)
//!  DIR/cases.json            each incident's case view as last synced, with when
//!  DIR/evidence-files.jsonl  evidence files captured (their bytes in DIR/evidence/SHA256)
//! ```
//!
//! Nothing restricted is shown back: a statement of a person asking for protection is sent
//! to the centre (R40) and the journal keeps only that it was recorded.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};
use ingest::model::{Observation, ObservationData};
use ingest::wire::Tasking;
use ingest::wire::sea::{IncidentBrief, SeaDown};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A case action as the crew sees it in the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// The record's id.
    pub id: String,
    /// The incident.
    pub incident: String,
    /// The officer who signed it.
    pub officer: String,
    /// The action (a protection statement's words left out).
    pub action: serde_json::Value,
    /// Why.
    pub why: String,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When it was signed on board.
    pub captured_at: Timestamp,
    /// SHA-256 of the record as signed (the hash at capture).
    pub sha256: String,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<ingest::wire::sea::Position>,
}

impl Recorded {
    /// What the crew sees of a record signed on board with hash `sha256`: what a person said
    /// asking for protection is not shown back (R40).
    pub fn of(r: &ingest::wire::sea::SeaRecord, sha256: &str) -> Recorded {
        let mut action = r.action.clone();
        if action["type"] == "asylum" {
            action["summary"] = "(restricted: sent to the protection officer)".into();
            action["blocked_states"] = serde_json::json!([]);
        }
        Recorded {
            id: r.id.clone(),
            incident: r.incident.clone(),
            officer: r.officer.clone(),
            action,
            why: r.why.clone(),
            occurred_at: r.occurred_at,
            captured_at: r.captured_at,
            sha256: sha256.to_owned(),
            position: r.position,
        }
    }
}

/// An evidence file captured on board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileState {
    /// Its name.
    pub name: String,
    /// Size, bytes.
    pub size: u64,
    /// Kept at the centre (true), refused (false), or not yet said.
    pub stored: Option<bool>,
    /// The centre's words.
    pub message: Option<String>,
}

/// The unit's own fix.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OwnFix {
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Speed over ground, knots.
    pub sog_kn: Option<f64>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f64>,
    /// Heading, degrees.
    pub heading_deg: Option<f64>,
    /// When.
    pub time: Option<Timestamp>,
}

/// A contact the unit's radar or AIS sees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    /// `radar 7` or `AIS 247123456`.
    pub id: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Speed, knots.
    pub speed_kn: Option<f64>,
    /// Course, degrees.
    pub course_deg: Option<f64>,
    /// When last seen.
    pub time: Timestamp,
}

/// Everything the interface shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BoardState {
    /// The unit.
    pub unit: String,
    /// The link to the centre is up.
    pub link_up: bool,
    /// Why it is down, in words.
    pub link_error: Option<String>,
    /// When the centre last acknowledged or sent anything.
    pub last_contact: Option<Timestamp>,
    /// Reports and instrument lines waiting to be sent.
    pub waiting_lines: u64,
    /// Case actions and evidence file parts waiting to be sent.
    pub waiting_case: u64,
    /// The unit's own fix.
    pub own: OwnFix,
    /// Contacts, by id.
    pub contacts: BTreeMap<String, Contact>,
    /// Taskings received, oldest first, with the crew's answer once given.
    pub taskings: Vec<(Tasking, Option<bool>)>,
    /// Case views, by incident.
    pub cases: BTreeMap<String, IncidentBrief>,
    /// Case actions recorded on board, in order.
    pub records: Vec<Recorded>,
    /// The centre's answers, by record id.
    pub answers: BTreeMap<String, SeaDown>,
    /// Evidence files, by SHA-256.
    pub files: BTreeMap<String, FileState>,
    /// Reports and lines the centre refused, newest last (at most 50).
    pub refused: Vec<String>,
}

/// What a crew member's role may see of a record's action on board, as the console decides
/// for its own roles (`ops-console/src/console/disclosure.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Rescue and the boarding itself: everyone on board.
    Open,
    /// What a person said asking for protection, referrals, overrides: the protection officer.
    Protection,
    /// Vulnerability flags: the protection officer all, the boarding team those rescue and
    /// landing act on, the bridge none.
    Health,
    /// Exhibits, seals, custody; suspects and detention: the commander and boarding officer.
    Evidence,
}

fn class_of(action_type: &str) -> Class {
    match action_type {
        "asylum" | "asylum_restricted" | "protection_override" | "referral" => Class::Protection,
        "vulnerability" => Class::Health,
        "seize" | "custody_transfer" | "custody_receive" | "reseal" | "integrity_incident"
        | "suspect" | "detain" | "interview" | "mla_request" | "info_item" => Class::Evidence,
        // What is plainly rescue or the boarding itself is everyone's; a type this board does
        // not know is the boarding team's, as the console withholds what it cannot class.
        "rescue"
        | "headcount"
        | "transfer_out"
        | "transfer_received"
        | "medevac"
        | "person_missing"
        | "person_found"
        | "person_died"
        | "imminent_danger"
        | "board"
        | "search"
        | "search_outcome"
        | "finalise_boarding"
        | "measure"
        | "acknowledge_condition"
        | "condition_compliance"
        | "disembark"
        | "family"
        | "age"
        | "nationality"
        | "open_art8" => Class::Open,
        _ => Class::Evidence,
    }
}

/// The flags rescue and landing act on (the console's `disclosure::logistics_flag`).
fn logistics_flag(flag: &str) -> bool {
    [
        "UASC",
        "MED_EMERG",
        "PREGNANT",
        "CHILD_ACC",
        "DISAB_ELD",
        "SINGLE_PARENT",
        "DECEASED",
    ]
    .iter()
    .any(|c| c.eq_ignore_ascii_case(flag.trim()))
}

impl BoardState {
    /// The board as `role` may see it: the one filter every rendering of the board goes
    /// through. A record the role may not see keeps its type, who, when and the centre's
    /// outcome; its content, its reason and the centre's words are withheld. Exhibits and
    /// evidence files are the commander's and the boarding officer's.
    pub fn seen_by(mut self, role: crate::crew::CrewRole, me: &str) -> BoardState {
        use crate::crew::CrewRole::*;
        let boarding_team = matches!(role, Commander | BoardingOfficer);
        // Whoever signed a record sees it, and the centre's answer to it.
        let may_see = |r: &Recorded| {
            r.officer == me
                || match class_of(r.action["type"].as_str().unwrap_or("")) {
                    Class::Open => true,
                    Class::Protection => role == ProtectionOfficer,
                    Class::Health => {
                        role == ProtectionOfficer
                            || (boarding_team
                                && r.action["flag"].as_str().is_some_and(logistics_flag))
                    }
                    Class::Evidence => boarding_team,
                }
        };
        for r in &mut self.records {
            if may_see(r) {
                continue;
            }
            let kind = r.action["type"].clone();
            r.action = serde_json::json!({"type": kind, "withheld": true});
            r.why = "(withheld from this role)".into();
            if let Some(SeaDown::Result {
                message, produced, ..
            }) = self.answers.get_mut(&r.id)
            {
                *message = "(withheld from this role)".into();
                *produced = None;
            }
        }
        if !boarding_team {
            for brief in self.cases.values_mut() {
                brief.exhibits.clear();
            }
            self.files.clear();
        }
        self
    }
}

/// The board, shared by the link and the web interface.
#[derive(Debug)]
pub struct Board {
    state: Mutex<BoardState>,
    dir: PathBuf,
}

/// How long a contact stays on the board unseen.
const CONTACT_KEPT_S: i64 = 15 * 60;

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut out = Vec::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        // A torn last line (the program died mid-write) is skipped, and said.
        match serde_json::from_str(&line) {
            Ok(v) => out.push(v),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "a line that does not parse, skipped")
            }
        }
    }
    Ok(out)
}

fn append_line(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut line = serde_json::to_vec(value).expect("a board line serializes");
    line.push(b'\n');
    f.write_all(&line)
        .and_then(|()| f.sync_data())
        .with_context(|| format!("cannot write {}", path.display()))
}

impl Board {
    /// The board of the unit whose data directory is `dir`, as left on disk.
    pub fn load(dir: &Path, unit: &str) -> Result<Board> {
        let mut s = BoardState {
            unit: unit.to_owned(),
            ..BoardState::default()
        };
        let taskings = dir.join("taskings.jsonl");
        match std::fs::read_to_string(&taskings) {
            Ok(text) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    Self::take_tasking(&mut s, line);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", taskings.display())),
        }
        for (id, accepted) in read_lines::<(String, bool)>(&dir.join("tasking-answers.jsonl"))? {
            if let Some(t) = s.taskings.iter_mut().find(|(t, _)| t.id == id) {
                t.1 = Some(accepted);
            }
        }
        s.records = read_lines(&dir.join("case-journal.jsonl"))?;
        for (sha, f) in read_lines::<(String, FileState)>(&dir.join("evidence-files.jsonl"))? {
            s.files.insert(sha, f);
        }
        for d in read_lines::<SeaDown>(&dir.join("case-answers.jsonl"))? {
            Self::take_answer(&mut s, d);
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("cases.json")) {
            s.cases = serde_json::from_str(&text).unwrap_or_default();
        }
        Ok(Board {
            state: Mutex::new(s),
            dir: dir.to_owned(),
        })
    }

    /// The state, to read or change.
    pub fn lock(&self) -> MutexGuard<'_, BoardState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What to show: contacts not seen for a while are left out.
    pub fn snapshot(&self) -> BoardState {
        let mut s = self.lock().clone();
        let now = Timestamp::now();
        s.contacts
            .retain(|_, c| now.as_second() - c.time.as_second() < CONTACT_KEPT_S);
        s
    }

    fn take_answer(s: &mut BoardState, d: SeaDown) {
        match &d {
            SeaDown::Result { id, .. } => {
                s.answers.insert(id.clone(), d);
            }
            SeaDown::File {
                sha256,
                stored,
                message,
                ..
            } => {
                let f = s.files.entry(sha256.clone()).or_insert(FileState {
                    name: String::new(),
                    size: 0,
                    stored: None,
                    message: None,
                });
                f.stored = Some(*stored);
                f.message = Some(message.clone());
            }
            SeaDown::Case(b) => {
                s.cases.insert(b.incident.clone(), b.clone());
            }
        }
    }

    /// A message from the centre on the unit's `case-update` topic: kept on disk, then shown.
    pub fn centre_said(&self, d: SeaDown) -> Result<()> {
        let mut s = self.lock();
        s.last_contact = Some(Timestamp::now());
        match &d {
            SeaDown::Case(_) => {
                Self::take_answer(&mut s, d);
                let tmp = self.dir.join("cases.json.tmp");
                std::fs::write(&tmp, serde_json::to_vec(&s.cases).expect("cases serialize"))
                    .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
                    .and_then(|()| std::fs::rename(&tmp, self.dir.join("cases.json")))
                    .context("cannot keep the case view")?;
            }
            _ => {
                append_line(&self.dir.join("case-answers.jsonl"), &d)?;
                Self::take_answer(&mut s, d);
            }
        }
        Ok(())
    }

    /// A case action recorded on board (journal on disk first).
    pub fn recorded(&self, r: Recorded) -> Result<()> {
        append_line(&self.dir.join("case-journal.jsonl"), &r)?;
        self.lock().records.push(r);
        Ok(())
    }

    /// A tasking received, as sent (kept on disk first, whatever it says: one this program
    /// cannot read is shown to the crew as text, never dropped).
    pub fn tasking(&self, text: &str) -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("taskings.jsonl"))
            .context("cannot open taskings.jsonl")?;
        f.write_all(format!("{}\n", text.replace(['\r', '\n'], " ")).as_bytes())
            .and_then(|()| f.sync_data())
            .context("cannot keep the tasking")?;
        let mut s = self.lock();
        s.last_contact = Some(Timestamp::now());
        Self::take_tasking(&mut s, text);
        Ok(())
    }

    fn take_tasking(s: &mut BoardState, text: &str) {
        match serde_json::from_str::<Tasking>(text) {
            Ok(t) => {
                // Delivered again (the centre restarted): the crew's answer stands.
                let answer = s
                    .taskings
                    .iter()
                    .find(|(o, _)| o.id == t.id)
                    .and_then(|(_, a)| *a);
                s.taskings.retain(|(o, _)| o.id != t.id);
                s.taskings.push((t, answer));
            }
            Err(e) => {
                s.refused.push(format!(
                    "a tasking this interface cannot read ({e}): {text}"
                ));
                let n = s.refused.len();
                s.refused.drain(..n.saturating_sub(50));
            }
        }
    }

    /// The crew answered a tasking (its answer is queued): kept on disk, then shown.
    pub fn answered(&self, tasking: &str, accepted: bool) -> Result<()> {
        append_line(
            &self.dir.join("tasking-answers.jsonl"),
            &(tasking, accepted),
        )?;
        let mut s = self.lock();
        if let Some(t) = s.taskings.iter_mut().find(|(t, _)| t.id == tasking) {
            t.1 = Some(accepted);
        }
        Ok(())
    }

    /// An observation of the unit's own instruments (decoded on board as ingest decodes it).
    pub fn observed(&self, o: &Observation) {
        let mut s = self.lock();
        match &o.data {
            ObservationData::PatrolFix {
                lat,
                lon,
                sog_kn,
                cog_deg,
                heading_deg,
                ..
            } => {
                let f = &mut s.own;
                if lat.is_some() && lon.is_some() {
                    (f.lat, f.lon) = (*lat, *lon);
                    f.time = Some(o.time);
                }
                f.sog_kn = sog_kn.or(f.sog_kn);
                f.cog_deg = cog_deg.or(f.cog_deg);
                f.heading_deg = heading_deg.or(f.heading_deg);
            }
            ObservationData::RadarTarget {
                target,
                lat: Some(lat),
                lon: Some(lon),
                speed_kn,
                course_deg,
                ..
            } => {
                let id = format!("radar {target}");
                s.contacts.insert(
                    id.clone(),
                    Contact {
                        id,
                        lat: *lat,
                        lon: *lon,
                        speed_kn: *speed_kn,
                        course_deg: *course_deg,
                        time: o.time,
                    },
                );
            }
            ObservationData::Ais(a) => {
                if let (Some(lat), Some(lon)) = (a.lat, a.lon) {
                    let id = format!("AIS {}", a.mmsi);
                    s.contacts.insert(
                        id.clone(),
                        Contact {
                            id,
                            lat,
                            lon,
                            speed_kn: a.sog_kn,
                            course_deg: a.cog_deg,
                            time: o.time,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// An evidence file captured on board, queued for the centre (listed on disk first).
    pub fn file(&self, sha256: &str, name: &str, size: u64) -> Result<()> {
        let f = FileState {
            name: name.to_owned(),
            size,
            stored: None,
            message: None,
        };
        append_line(&self.dir.join("evidence-files.jsonl"), &(sha256, &f))?;
        self.lock().files.insert(sha256.to_owned(), f);
        Ok(())
    }

    /// Where evidence files are kept on board.
    pub fn evidence_dir(&self) -> PathBuf {
        self.dir.join("evidence")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review 23: a tasking delivered again (the centre restarted and republished it) keeps
    /// the crew's answer, on screen and after the interface restarts.
    #[test]
    fn a_tasking_delivered_again_keeps_the_crews_answer() {
        let dir = tempfile::tempdir().unwrap();
        let board = Board::load(dir.path(), "cp-301").unwrap();
        let t = serde_json::json!({"id": "t-7", "time": Timestamp::now(), "unit": "cp-301",
            "kind": "sar", "alert": "sart-1", "instructions": "search the datum",
            "datum": {"lat": 35.0, "lon": 13.0}, "distance_nm": 12.0, "eta_min": 40.0})
        .to_string();
        board.tasking(&t).unwrap();
        board.answered("t-7", true).unwrap();
        board.tasking(&t).unwrap();
        let answer = |b: &Board| {
            let s = b.snapshot();
            assert_eq!(s.taskings.len(), 1);
            s.taskings[0].1
        };
        assert_eq!(answer(&board), Some(true));
        let again = Board::load(dir.path(), "cp-301").unwrap();
        assert_eq!(answer(&again), Some(true));
    }

    /// Review 23: the board `/api/state` shows (`BoardState::seen_by`, the one filter) gives
    /// each crew role what the console would: the bridge sees no flag, referral or exhibit;
    /// the boarding team the flags rescue acts on and the evidence; the protection officer
    /// every flag and referral, no evidence.
    #[test]
    fn each_crew_role_sees_what_the_console_would_show_its_role() {
        use crate::crew::CrewRole::*;
        let now = Timestamp::now();
        let rec = |id: &str, action: serde_json::Value| Recorded {
            id: id.into(),
            incident: "INC-1".into(),
            officer: "po".into(),
            action,
            why: format!("why {id}"),
            occurred_at: now,
            captured_at: now,
            sha256: "00".repeat(32),
            position: None,
        };
        let mut s = BoardState {
            records: vec![
                rec(
                    "r1",
                    serde_json::json!({"type": "rescue", "unit": "cp-301", "count": 3}),
                ),
                rec(
                    "r2",
                    serde_json::json!({"type": "vulnerability", "tag": "cp-301-0001", "flag": "VOT"}),
                ),
                rec(
                    "r3",
                    serde_json::json!({"type": "vulnerability", "tag": "cp-301-0002", "flag": "MED_EMERG"}),
                ),
                rec(
                    "r4",
                    serde_json::json!({"type": "referral", "tag": "cp-301-0001", "to": "UNHCR", "reasons": ["ASYLUM"]}),
                ),
                rec(
                    "r5",
                    serde_json::json!({"type": "seize", "description": "engine plate", "seal": "S-1"}),
                ),
            ],
            ..BoardState::default()
        };
        s.answers.insert(
            "r4".into(),
            SeaDown::Result {
                id: "r4".into(),
                incident: "INC-1".into(),
                record_sha256: "00".repeat(32),
                outcome: ingest::wire::sea::Outcome::Applied,
                rule: None,
                message: "referred to UNHCR for ASYLUM".into(),
                log_seq: Some(4),
                produced: None,
                at: now,
            },
        );
        s.cases.insert(
            "INC-1".into(),
            IncidentBrief {
                incident: "INC-1".into(),
                synced_at: now,
                cases: Vec::new(),
                place_of_safety: None,
                tags_issued: BTreeMap::new(),
                on_board: BTreeMap::new(),
                exhibits: vec![("EX-1".into(), "engine plate".into(), "S-1".into())],
            },
        );
        s.files.insert(
            "ab".repeat(32),
            FileState {
                name: "seal.jpg".into(),
                size: 3,
                stored: None,
                message: None,
            },
        );
        let seen = |role| serde_json::to_string(&s.clone().seen_by(role, "bridge-1")).unwrap();
        let bridge = seen(Bridge);
        for secret in [
            "VOT",
            "MED_EMERG",
            "UNHCR",
            "ASYLUM",
            "engine plate",
            "S-1",
            "seal.jpg",
            "why r2",
        ] {
            assert!(
                !bridge.contains(secret),
                "the bridge sees {secret}: {bridge}"
            );
        }
        assert!(bridge.contains("\"count\":3"), "rescue is everyone's");
        let bo = seen(BoardingOfficer);
        assert!(bo.contains("MED_EMERG") && bo.contains("engine plate") && bo.contains("seal.jpg"));
        for secret in ["VOT", "UNHCR", "ASYLUM"] {
            assert!(!bo.contains(secret), "the boarding officer sees {secret}");
        }
        let po = seen(ProtectionOfficer);
        assert!(po.contains("VOT") && po.contains("UNHCR") && po.contains("for ASYLUM"));
        for secret in ["engine plate", "S-1", "seal.jpg"] {
            assert!(!po.contains(secret), "the protection officer sees {secret}");
        }
    }
}
