//! The interception log (RULES.md): one append-only, time-ordered, hash-chained
//! record per incident of who did what, when (occurred and recorded), where and why.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
//! JSON (its fields in declaration order, without the hash itself), so changing, removing
//! or reordering any stored entry breaks the chain at that entry; [`verify`] names the
//! first break. There is no update or delete: a correction is a new entry naming the one
//! it corrects (R55). An entry recorded more than [`LATE_AFTER`] after it happened says
//! why (R57).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// How late an entry may be recorded without a reason.
pub const LATE_AFTER: SignedDuration = SignedDuration::from_mins(30);
/// How far ahead of the recording clock an occurrence time may be (clock skew of a unit).
pub const FUTURE_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// Where a time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// A GNSS receiver.
    Gnss,
    /// A network-synchronised clock.
    Ntp,
    /// Typed in by a person.
    Manual,
}

/// What happened (RULES.md `event_type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A detection (alert escalated, sighting).
    Detection,
    /// A hail of the vessel.
    Hail,
    /// A flag claimed or seen.
    FlagClaim,
    /// A message sent.
    MessageOut,
    /// A message received.
    MessageIn,
    /// A SAR phase change.
    PhaseChange,
    /// A tasking.
    Tasking,
    /// An authorization recorded.
    AuthorizationRecorded,
    /// A condition acknowledged.
    ConditionAcknowledged,
    /// Boarding started.
    BoardingStart,
    /// Boarding ended.
    BoardingEnd,
    /// A search.
    Search,
    /// A measure.
    Measure,
    /// A life-saving action beyond any authorization.
    ImminentDangerAction,
    /// Evidence seized.
    EvidenceSeized,
    /// A custody event.
    CustodyEvent,
    /// A headcount.
    Headcount,
    /// Persons transferred.
    Transfer,
    /// A medical evacuation.
    Medevac,
    /// A death.
    Death,
    /// Disembarkation.
    Disembarkation,
    /// The place-of-safety decision.
    PlaceOfSafetyDecision,
    /// Any other decision.
    Decision,
    /// A note.
    Note,
    /// A correction of an earlier entry.
    Correction,
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogActor {
    /// User name.
    pub user: String,
    /// Role at that time.
    pub role: String,
    /// Unit, if acting from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Logged on behalf of (e.g. an order from the commander).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
}

/// Where.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogPosition {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Accuracy, NM.
    pub accuracy_nm: f64,
}

/// What an entry says, before it is chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEntry {
    /// When it happened.
    pub occurred_at: Timestamp,
    /// Where that time came from.
    pub time_source: TimeSource,
    /// Who.
    pub actor: LogActor,
    /// What.
    pub event: EventType,
    /// Where the actor's unit was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<LogPosition>,
    /// Maritime zone and its State (`high_seas`, `territorial_sea:MT`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Why, in words.
    pub why: String,
    /// The structured record (a message, an authorization, a headcount…).
    pub details: serde_json::Value,
    /// The entry this one corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrects: Option<u64>,
    /// Why it was recorded late, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_reason: Option<String>,
    /// The occurrence time as the user gave it, with its UTC offset (R62: converted to UTC
    /// in `occurred_at`, the original kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at_given: Option<String>,
}

/// A chained entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the incident's log, from 1.
    pub seq: u64,
    /// The incident.
    pub incident: String,
    /// When the system recorded it.
    pub recorded_at: Timestamp,
    /// What it says.
    #[serde(flatten)]
    pub entry: NewEntry,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// SHA-256 of `prev_hash` and this entry's canonical JSON without `hash`, hex.
    pub hash: String,
    /// Only in a rendering for a reader who may not see this entry's content (an export, a
    /// report): the rule that withholds it. Its `why` and `details` are then replaced, so its
    /// hash can no longer be recomputed; the chain still links through it. Never stored: a
    /// stored entry that says it is withheld breaks the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
}

/// The fields an entry's hash covers, in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    incident: &'a str,
    recorded_at: Timestamp,
    entry: &'a NewEntry,
    prev_hash: &'a str,
}

fn entry_hash(e: &LogEntry) -> String {
    let body = serde_json::to_vec(&Hashed {
        seq: e.seq,
        incident: &e.incident,
        recorded_at: e.recorded_at,
        entry: &e.entry,
        prev_hash: &e.prev_hash,
    })
    .expect("entries serialize");
    let mut h = Sha256::new();
    h.update(e.prev_hash.as_bytes());
    h.update(&body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The entry that follows `last` (none: the first) in `incident`'s log, checked (R55,
/// R57) and chained: what [`InterceptionLog::append`] and a store appending row by row
/// both use.
pub fn next_entry(
    incident: &str,
    last: Option<&LogEntry>,
    e: NewEntry,
    recorded_at: Timestamp,
) -> Result<LogEntry, AppendError> {
    check(&e, recorded_at)?;
    let seq = last.map_or(1, |l| l.seq + 1);
    if let Some(c) = e.corrects
        && !(1..seq).contains(&c)
    {
        return Err(AppendError::CorrectsNothing(c));
    }
    let mut entry = LogEntry {
        seq,
        incident: incident.to_owned(),
        recorded_at,
        entry: e,
        prev_hash: last.map_or_else(|| GENESIS.to_owned(), |l| l.hash.clone()),
        hash: String::new(),
        withheld: None,
    };
    entry.hash = entry_hash(&entry);
    Ok(entry)
}

/// The longest free text an entry holds in one field (`why`, `late_reason`, any text of
/// its `details`), in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The longest name an entry holds (user, role, unit, on whose behalf, zone, the time as
/// given), in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The largest entry, in bytes of JSON: a log is read, replayed and exported whole.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// What the log requires of every entry, whatever it records (R55, R57, sizes): checked
/// before any rule is applied to what it records, and again when it is chained.
pub fn check(e: &NewEntry, recorded_at: Timestamp) -> Result<(), AppendError> {
    if e.why.trim().is_empty() {
        return Err(AppendError::NoReason);
    }
    let too_long = |field: &str, text: &str, max: usize| {
        (text.chars().count() > max).then(|| AppendError::TooLarge {
            what: format!("{field}: at most {max} characters"),
        })
    };
    for (field, text) in [
        ("actor.user", Some(e.actor.user.as_str())),
        ("actor.role", Some(e.actor.role.as_str())),
        ("actor.unit", e.actor.unit.as_deref()),
        ("actor.on_behalf_of", e.actor.on_behalf_of.as_deref()),
        ("zone", e.zone.as_deref()),
        ("occurred_at_given", e.occurred_at_given.as_deref()),
    ] {
        if let Some(err) = text.and_then(|t| too_long(field, t, MAX_NAME_CHARS)) {
            return Err(err);
        }
    }
    for (field, text) in [
        ("why", Some(e.why.as_str())),
        ("late_reason", e.late_reason.as_deref()),
    ] {
        if let Some(err) = text.and_then(|t| too_long(field, t, MAX_TEXT_CHARS)) {
            return Err(err);
        }
    }
    if let Some(err) =
        longest_text(&e.details, "details").and_then(|(path, t)| too_long(&path, t, MAX_TEXT_CHARS))
    {
        return Err(err);
    }
    let bytes = serde_json::to_vec(e).map_or(usize::MAX, |v| v.len());
    if bytes > MAX_ENTRY_BYTES {
        return Err(AppendError::TooLarge {
            what: format!("the entry: at most {MAX_ENTRY_BYTES} bytes, not {bytes}"),
        });
    }
    let late = recorded_at.duration_since(e.occurred_at);
    if late > LATE_AFTER && e.late_reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(AppendError::LateWithoutReason {
            late: format!("{late:#}"),
        });
    }
    if recorded_at
        .checked_add(FUTURE_SKEW)
        .is_ok_and(|limit| e.occurred_at > limit)
    {
        return Err(AppendError::Future);
    }
    Ok(())
}

/// The longest text (by characters) anywhere in `v`, with where it is (keys too).
fn longest_text<'a>(v: &'a serde_json::Value, at: &str) -> Option<(String, &'a str)> {
    use serde_json::Value;
    let longer = |a: Option<(String, &'a str)>, b: Option<(String, &'a str)>| match (a, b) {
        (Some(a), Some(b)) => Some(if b.1.chars().count() > a.1.chars().count() {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    };
    match v {
        Value::String(s) => Some((at.to_owned(), s.as_str())),
        Value::Array(a) => a.iter().enumerate().fold(None, |best, (i, x)| {
            longer(best, longest_text(x, &format!("{at}[{i}]")))
        }),
        Value::Object(o) => o.iter().fold(None, |best, (k, x)| {
            let path = format!("{at}.{k}");
            let best = longer(best, Some((format!("{path} (a key)"), k.as_str())));
            longer(best, longest_text(x, &path))
        }),
        _ => None,
    }
}

/// Why an entry was not appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// R57: recorded late without a reason.
    #[error("R57: recorded {late} after it happened: a reason is required")]
    LateWithoutReason {
        /// How late.
        late: String,
    },
    /// A correction names an entry that does not exist.
    #[error("a correction must name an earlier entry of this log (got {0})")]
    CorrectsNothing(u64),
    /// No reason given.
    #[error("every entry says why")]
    NoReason,
    /// It happened in the future.
    #[error("an entry cannot have happened after it was recorded")]
    Future,
    /// A field, or the whole entry, is larger than the log keeps.
    #[error("too large: {what}")]
    TooLarge {
        /// Which field, and its limit.
        what: String,
    },
}

/// One incident's log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InterceptionLog {
    /// The incident.
    pub incident: String,
    /// Its entries, in order.
    pub entries: Vec<LogEntry>,
}

impl InterceptionLog {
    /// An empty log for `incident`.
    pub fn new(incident: &str) -> InterceptionLog {
        InterceptionLog {
            incident: incident.to_owned(),
            entries: Vec::new(),
        }
    }

    /// Append an entry recorded at `recorded_at`; the chained entry.
    pub fn append(
        &mut self,
        e: NewEntry,
        recorded_at: Timestamp,
    ) -> Result<&LogEntry, AppendError> {
        let entry = next_entry(&self.incident, self.entries.last(), e, recorded_at)?;
        self.entries.push(entry);
        Ok(self.entries.last().expect("just pushed"))
    }

    /// The hash of the newest entry: note it elsewhere (a report, a partner) to detect a
    /// rewritten tail.
    pub fn head(&self) -> &str {
        self.entries.last().map_or(GENESIS, |e| e.hash.as_str())
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries checked.
    pub entries: usize,
    /// The first broken entry (its position from 1) and why, if any.
    pub first_break: Option<(u64, String)>,
    /// The head hash.
    pub head: String,
    /// Entries withheld from this rendering (linked, their content not checked here).
    pub withheld: usize,
}

/// Check a log end to end (R56): numbering, links and hashes; `expect_head`, noted
/// earlier, catches a tail rewritten consistently. Every entry must be whole.
pub fn verify(log: &InterceptionLog, expect_head: Option<&str>) -> Verified {
    check_chain(log, expect_head, false)
}

/// [`verify`] for a log as rendered for one reader (an export): entries withheld from it
/// are checked for their place in the chain (numbering and links: the entry after each
/// names its hash), not for their content, and counted.
pub fn verify_redacted(log: &InterceptionLog, expect_head: Option<&str>) -> Verified {
    check_chain(log, expect_head, true)
}

/// What is wrong with `e` as the entry of `incident`'s log after `prev` (`None`: the
/// first), if anything: its number, its incident, its link to `prev`, its own hash (not
/// checked for an entry withheld from a `redacted` rendering).
pub fn link_problem(
    incident: &str,
    prev: Option<&LogEntry>,
    e: &LogEntry,
    redacted: bool,
) -> Option<String> {
    let n = prev.map_or(1, |p| p.seq + 1);
    let prev_hash = prev.map_or(GENESIS, |p| p.hash.as_str());
    if e.seq != n {
        Some(format!("numbered {} where {n} was expected", e.seq))
    } else if e.incident != incident {
        Some(format!("belongs to incident {}", e.incident))
    } else if e.prev_hash != prev_hash {
        Some("does not link to the entry before it".to_owned())
    } else if e.withheld.is_some() && !redacted {
        Some("it says it is withheld: only a rendering withholds an entry".to_owned())
    } else if e.withheld.is_some() {
        None
    } else if entry_hash(e) != e.hash {
        Some("its content does not match its hash".to_owned())
    } else {
        None
    }
}

fn check_chain(log: &InterceptionLog, expect_head: Option<&str>, redacted: bool) -> Verified {
    let mut withheld = 0;
    let mut prev = GENESIS.to_owned();
    for (i, e) in log.entries.iter().enumerate() {
        let n = i as u64 + 1;
        let before = i.checked_sub(1).map(|j| &log.entries[j]);
        let problem = link_problem(&log.incident, before, e, redacted);
        if problem.is_none() && e.withheld.is_some() {
            withheld += 1;
        }
        if let Some(p) = problem {
            return Verified {
                entries: i,
                first_break: Some((n, p)),
                head: prev,
                withheld,
            };
        }
        prev = e.hash.clone();
    }
    if let Some(h) = expect_head
        && h != prev
    {
        return Verified {
            entries: log.entries.len(),
            first_break: Some((
                log.entries.len() as u64,
                format!("the head is {prev}, not the {h} noted earlier"),
            )),
            head: prev,
            withheld,
        };
    }
    Verified {
        entries: log.entries.len(),
        first_break: None,
        head: prev,
        withheld,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        "2026-11-22T02:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(min)
    }

    fn entry(min: i64, event: EventType, why: &str) -> NewEntry {
        NewEntry {
            occurred_at: t(min),
            time_source: TimeSource::Ntp,
            actor: LogActor {
                user: "olga".into(),
                role: "watch_officer".into(),
                unit: None,
                on_behalf_of: None,
            },
            event,
            position: Some(LogPosition {
                lat: 35.2,
                lon: 12.75,
                accuracy_nm: 0.01,
            }),
            zone: Some("high_seas".into()),
            why: why.into(),
            details: serde_json::json!({"mmsi": 636019876}),
            corrects: None,
            late_reason: None,
            occurred_at_given: None,
        }
    }

    fn sample() -> InterceptionLog {
        let mut log = InterceptionLog::new("INC-20261122-001");
        log.append(
            entry(0, EventType::Detection, "rendezvous alert escalated"),
            t(1),
        )
        .unwrap();
        log.append(entry(5, EventType::MessageOut, "flag State notified"), t(5))
            .unwrap();
        log.append(
            entry(
                40,
                EventType::AuthorizationRecorded,
                "flag State authorized boarding",
            ),
            t(41),
        )
        .unwrap();
        log
    }

    #[test]
    fn r55_corrections_are_new_entries_naming_the_corrected_one() {
        let mut log = sample();
        let before = log.entries[1].clone();
        let mut c = entry(
            5,
            EventType::Correction,
            "the message went by e-mail, not phone",
        );
        c.corrects = Some(2);
        c.late_reason = Some("noticed at the shift handover".into());
        log.append(c, t(90)).unwrap();
        assert_eq!(log.entries[1], before, "the corrected entry is untouched");
        assert_eq!(log.entries[3].entry.corrects, Some(2));
        let mut bad = entry(95, EventType::Correction, "x");
        bad.corrects = Some(9);
        assert_eq!(
            log.append(bad, t(95)).unwrap_err(),
            AppendError::CorrectsNothing(9)
        );
        assert!(verify(&log, None).first_break.is_none());
    }

    #[test]
    fn r56_the_chain_verifies_and_any_change_is_found() {
        let log = sample();
        let ok = verify(&log, None);
        assert_eq!((ok.entries, ok.first_break.clone()), (3, None));
        assert_eq!(ok.head, log.head());
        // Any field of any stored entry.
        let mut changed = log.clone();
        changed.entries[1].entry.why = "flag State not notified".into();
        assert_eq!(verify(&changed, None).first_break.unwrap().0, 2);
        let mut moved = log.clone();
        moved.entries[0].entry.position.as_mut().unwrap().lat += 0.001;
        assert_eq!(verify(&moved, None).first_break.unwrap().0, 1);
        let mut retimed = log.clone();
        retimed.entries[2].recorded_at = t(50);
        assert_eq!(verify(&retimed, None).first_break.unwrap().0, 3);
        // Removing an entry.
        let mut removed = log.clone();
        removed.entries.remove(1);
        assert_eq!(verify(&removed, None).first_break.unwrap().0, 2);
        // Rewriting the tail consistently is caught against the head noted earlier.
        let mut rewritten = log.clone();
        rewritten.entries.pop();
        rewritten
            .append(
                entry(
                    40,
                    EventType::AuthorizationRecorded,
                    "flag State authorized search too",
                ),
                t(41),
            )
            .unwrap();
        assert!(verify(&rewritten, None).first_break.is_none());
        assert!(verify(&rewritten, Some(log.head())).first_break.is_some());
        // Stored and read back as JSON, it still verifies.
        let text = serde_json::to_string(&log).unwrap();
        let back: InterceptionLog = serde_json::from_str(&text).unwrap();
        assert!(verify(&back, Some(log.head())).first_break.is_none());
    }

    #[test]
    fn r57_occurred_and_recorded_kept_and_late_entries_say_why() {
        let mut log = sample();
        let e = log
            .append(
                entry(10, EventType::Hail, "hailed on VHF 16, no answer"),
                t(100),
            )
            .unwrap_err();
        assert!(matches!(e, AppendError::LateWithoutReason { .. }));
        let mut late = entry(10, EventType::Hail, "hailed on VHF 16, no answer");
        late.late_reason = Some("written up after the boarding".into());
        let e = log.append(late, t(100)).unwrap();
        assert_eq!((e.entry.occurred_at, e.recorded_at), (t(10), t(100)));
    }

    #[test]
    fn every_entry_says_why() {
        let mut log = sample();
        assert_eq!(
            log.append(entry(60, EventType::Note, " "), t(60))
                .unwrap_err(),
            AppendError::NoReason
        );
    }
}
