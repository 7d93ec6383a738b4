//! The ingest core: payloads in, observations, archive records and rejects out.
//!
//! Pure and synchronous (no clock, no I/O: the caller passes `received_at` and does
//! the publishing and archiving), so the MQTT, TCP and UDP inputs and the tests all
//! drive the same code.
//!
//! ```text
//!  raw/ais/{source} ──▶ lines ──▶ Decoder ──▶ dedup by payload ──▶ Publish obs/ais/{mmsi} (new, or update: more receivers)
//!  patrol/{unit}/nmea ─▶ lines ──▶ telemetry ──────────────────▶ Publish obs/patrol|radar/{unit}
//!  patrol/{unit}/report ─▶ JSON ──▶ PatrolReport ───────────────▶ Publish obs/patrol/{unit}
//!  every line ──▶ Archive(verdict)      every refusal ──▶ Reject(reason) (+ patrol/{unit}/rejects for units)
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::ais::Decoder;
use crate::model::{AisObservation, Observation, ObservationData, TimeSource, from_telemetry};
use crate::telemetry;
use crate::wire::{PatrolReport, Topic, UnitId};

/// What arrived, and from whom.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// NMEA lines from an AIS receiver or feed.
    Ais {
        /// The receiver or feed.
        source: &'a str,
        /// One or more lines.
        payload: &'a [u8],
    },
    /// NMEA lines from one stream of a local feed ([`crate::inputs::LocalLine::stream`]):
    /// its multi-sentence messages are assembled within the stream.
    AisStream {
        /// The feed.
        source: &'a str,
        /// The stream (0: the feed's only one, as [`Input::Ais`]).
        stream: u32,
        /// One or more lines.
        payload: &'a [u8],
    },
    /// NMEA lines from a patrol unit (GNSS, compass, radar; its AIS receiver too).
    PatrolNmea {
        /// The unit.
        unit: &'a UnitId,
        /// One or more lines.
        payload: &'a [u8],
    },
    /// A JSON report from a patrol unit.
    PatrolReport {
        /// The unit.
        unit: &'a UnitId,
        /// The JSON.
        payload: &'a [u8],
    },
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Publish an observation (new, or an update of one published before: same id).
    Publish {
        /// Where.
        topic: Topic,
        /// What (shared with the pipeline's table of recent transmissions, not copied: an
        /// observation is large next to the other events).
        observation: Arc<Observation>,
        /// True for an update (more receivers heard it).
        update: bool,
    },
    /// Append a line to the raw archive.
    Archive {
        /// The source name for the archive (`ais:<source>` or `patrol:<unit>`).
        source: String,
        /// The line as received.
        line: Vec<u8>,
        /// `None` when accepted, else the reason it was rejected.
        rejected: Option<&'static str>,
    },
    /// Tell a patrol unit its line or report was refused, and why.
    NotifyUnit {
        /// The unit.
        unit: UnitId,
        /// What was refused and why, for the crew.
        message: String,
    },
}

/// How long after a first hearing the same transmission counts as heard again.
pub const DEFAULT_DEDUP_WINDOW: SignedDuration = SignedDuration::from_secs(2);
/// Most transmissions remembered for deduplication (bounds memory at full rate).
pub const MAX_DEDUP_ENTRIES: usize = 200_000;
/// Receivers listed on one observation at most (more hearing it are counted as duplicates).
const MAX_RECEIVERS_PER_OBSERVATION: usize = 8;

struct Heard {
    /// Behind a pointer: the table holds up to [`MAX_DEDUP_ENTRIES`] and grows by doubling;
    /// with the observations inline each growth moved tens of megabytes at once, a pause of
    /// tens of milliseconds in every observation's latency at 100 000 a second. Shared with
    /// the event that publishes it (an update copies it only if that event is still held).
    observation: Arc<Observation>,
}

/// Most lines and reports remembered per unit to recognise retransmissions.
pub const MAX_UNIT_MEMORY: usize = 16_384;

/// What a unit has sent lately: its store-and-forward retransmits lines it is not sure
/// arrived, each stamped with its time and line count (`\c:...,n:...\`), so identical
/// bytes are the same line again.
#[derive(Default)]
struct UnitStream {
    /// The second of the latest refusal notice, and how many went out in it.
    notices: (i64, u32),
    last_n: Option<u32>,
    seen: std::collections::HashSet<u64>,
    order: VecDeque<u64>,
}

impl UnitStream {
    /// Remember `bytes`; false when they were seen already.
    fn first_time(&mut self, bytes: &[u8]) -> bool {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        bytes.hash(&mut h);
        let h = h.finish();
        if !self.seen.insert(h) {
            return false;
        }
        self.order.push_back(h);
        if self.order.len() > MAX_UNIT_MEMORY
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

/// The ingest core; see the module docs.
pub struct Pipeline {
    decoder: Decoder,
    /// AIS sources by name: their number for the decoder and their archive name.
    sources: HashMap<String, (u32, String)>,
    recent: HashMap<u64, Heard>,
    order: VecDeque<(Timestamp, u64)>,
    /// Transmissions heard again within this window become one observation.
    pub dedup_window: SignedDuration,
    /// Lines and reports rejected, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Lines and reports accepted, by source.
    pub accepted: BTreeMap<String, u64>,
    /// Observations published (new ones, not updates).
    pub observations: u64,
    /// Duplicate hearings merged into an earlier observation.
    pub duplicates: u64,
    /// Transmissions whose payload hashed as another's within the window, with other
    /// content (by chance, rarely; or made so by a hostile transmitter).
    pub hash_collisions: u64,
    units: HashMap<UnitId, UnitStream>,
    /// Lines a unit numbered (`n:`) that never arrived: the count jumped ahead.
    pub sequence_gaps: u64,
    /// Lines a unit numbered that arrived after a later one (or a unit that restarted
    /// its count).
    pub out_of_order: u64,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

/// The decoder's source for stream `stream` of source number `n`: `n` itself for a source
/// of one stream, else a number of both with the high bit set (sources are numbered below
/// 2^31), so that a stream's fragments never meet another's.
fn assembly_key(n: u32, stream: u32) -> u32 {
    if stream == 0 {
        return n;
    }
    let mixed = ((u64::from(n) << 32) | u64::from(stream)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    0x8000_0000 | (mixed >> 33) as u32
}

impl Pipeline {
    /// AIS lines decoded so far (for [`Pipeline::fragments_waiting_since`]).
    pub fn ais_lines(&self) -> u64 {
        self.decoder.lines()
    }

    /// Does a multi-sentence message begun after AIS line `line` wait for its next
    /// sentences? (Ingest holds back the acknowledgement of the MQTT messages that brought
    /// its first ones: a successor would otherwise get the rest alone.)
    pub fn fragments_waiting_since(&self, line: u64) -> bool {
        self.decoder.waiting_since(line)
    }

    /// A pipeline with the default dedup window.
    pub fn new() -> Self {
        Pipeline {
            decoder: Decoder::new(),
            sources: HashMap::new(),
            recent: HashMap::new(),
            order: VecDeque::new(),
            dedup_window: DEFAULT_DEDUP_WINDOW,
            rejected: BTreeMap::new(),
            accepted: BTreeMap::new(),
            observations: 0,
            duplicates: 0,
            hash_collisions: 0,
            units: HashMap::new(),
            sequence_gaps: 0,
            out_of_order: 0,
        }
    }

    /// Process one input received at `received_at`.
    pub fn on_input(&mut self, input: Input<'_>, received_at: Timestamp) -> Vec<Event> {
        let mut out = Vec::new();
        self.expire(received_at);
        match input {
            Input::Ais { source, payload } => {
                for line in lines(payload) {
                    self.ais_line(source, 0, line, received_at, &mut out);
                }
            }
            Input::AisStream {
                source,
                stream,
                payload,
            } => {
                for line in lines(payload) {
                    self.ais_line(source, stream, line, received_at, &mut out);
                }
            }
            Input::PatrolNmea { unit, payload } => {
                for line in lines(payload) {
                    self.patrol_line(unit, line, received_at, &mut out);
                }
            }
            Input::PatrolReport { unit, payload } => {
                self.report(unit, payload, received_at, &mut out)
            }
        }
        out
    }

    /// The AIS source `name`'s number (below 2^31) and archive name (`ais:{name}`), made
    /// once.
    fn source_id(&mut self, name: &str) -> (u32, String) {
        if let Some((id, archived)) = self.sources.get(name) {
            return (*id, archived.clone());
        }
        let n = self.sources.len() as u32;
        let archived = format!("ais:{name}");
        self.sources.insert(name.to_owned(), (n, archived.clone()));
        (n, archived)
    }

    /// Count a line (accepted by source, rejected by reason) and archive it with its
    /// verdict: every line any input brings goes through here.
    fn archive(
        &mut self,
        out: &mut Vec<Event>,
        source: String,
        line: &[u8],
        rejected: Option<&'static str>,
    ) {
        let source = crate::archive::Archive::source_name(source);
        match rejected {
            None => match self.accepted.get_mut(&source) {
                Some(n) => *n += 1,
                None => {
                    self.accepted.insert(source.clone(), 1);
                }
            },
            Some(reason) => *self.rejected.entry(reason).or_default() += 1,
        }
        out.push(Event::Archive {
            source,
            line: line.to_vec(),
            rejected,
        });
    }

    fn ais_line(
        &mut self,
        source: &str,
        stream: u32,
        line: &[u8],
        received_at: Timestamp,
        out: &mut Vec<Event>,
    ) {
        let (n, archive_source) = self.source_id(source);
        match self.decoder.decode_line(line, assembly_key(n, stream)) {
            Ok(decoded) => {
                self.archive(out, archive_source, line, None);
                if let Some(d) = decoded {
                    let (time, time_source) = match d.heard.time() {
                        Some(t) => (t, TimeSource::TagBlock),
                        None => (received_at, TimeSource::Received),
                    };
                    let data = ObservationData::Ais(AisObservation::from_message(
                        &d.message,
                        d.heard.own_ship,
                    ));
                    self.publish_ais(
                        d.heard.payload_hash,
                        &d.heard.receiver(source),
                        d.message.mmsi,
                        time,
                        time_source,
                        received_at,
                        data,
                        out,
                    );
                }
            }
            Err(e) => {
                self.archive(out, archive_source, line, Some(e.reason()));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn publish_ais(
        &mut self,
        hash: u64,
        receiver: &str,
        mmsi: u32,
        time: Timestamp,
        time_source: TimeSource,
        received_at: Timestamp,
        data: ObservationData,
        out: &mut Vec<Event>,
    ) {
        // The same transmission heard by several receivers: same payload, and times (the
        // receivers' tag blocks, or reception) within the window. Identical content sent
        // again later (static data every 6 minutes), even if it arrives in the same burst
        // (a feed's backlog), is a new observation.
        //
        // The payload hash is fast, not collision-resistant: anyone transmitting AIS can
        // make a payload hash as a vessel's predictable one (its static data). Content that
        // differs from the entry found is another transmission, looked for again under a
        // key mixed with its content, a few times; past them it is published unremembered
        // (its other hearings then each published, recognised downstream by their id when
        // their times agree). Nothing heard is taken for something else.
        let window = self.dedup_window;
        let mut key = hash;
        let mut probes = 0;
        // Whether to remember it under `key`; and whether it was heard there already.
        let (remember, heard) = loop {
            match self
                .recent
                .get(&key)
                .filter(|h| h.observation.time.duration_since(time).abs() <= window)
            {
                None => break (true, false),
                Some(h) if same_transmission(&h.observation.data, &data) => break (true, true),
                Some(_) if probes == MAX_DEDUP_PROBES => break (false, false),
                Some(_) => {
                    self.hash_collisions += 1;
                    probes += 1;
                    key = rekey(key, &data);
                }
            }
        };
        if heard && let Some(h) = self.recent.get_mut(&key) {
            self.duplicates += 1;
            // Named receivers come from the input (a tag block's `s:`): at most
            // MAX_RECEIVERS_PER_OBSERVATION are listed, so a feed naming a new station on
            // every line cannot grow one observation, nor its updates, without bound.
            if h.observation.receivers.len() < MAX_RECEIVERS_PER_OBSERVATION
                && !h.observation.receivers.iter().any(|r| r == receiver)
            {
                Arc::make_mut(&mut h.observation)
                    .receivers
                    .push(receiver.to_owned());
                out.push(Event::Publish {
                    topic: Topic::ObsAis(mmsi),
                    observation: h.observation.clone(),
                    update: true,
                });
            }
            return;
        }
        let observation = Observation {
            // Deterministic: the same transmission (payload and time) always gets the same
            // id, so a message the broker delivers again after a reconnect is recognised
            // downstream however long after.
            id: ais_id(key, time),
            time,
            time_source,
            received_at,
            receivers: vec![receiver.to_owned()],
            data,
        };
        self.observations += 1;
        let observation = Arc::new(observation);
        if remember {
            if self.recent.len() >= MAX_DEDUP_ENTRIES
                && let Some((at, old)) = self.order.pop_front()
            {
                self.forget(at, old);
            }
            self.order.push_back((received_at, key));
            self.recent.insert(
                key,
                Heard {
                    observation: Arc::clone(&observation),
                },
            );
        }
        out.push(Event::Publish {
            topic: Topic::ObsAis(mmsi),
            observation,
            update: false,
        });
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(&(t, h)) = self.order.front() {
            if now.duration_since(t) <= self.dedup_window {
                break;
            }
            self.order.pop_front();
            self.forget(t, h);
        }
    }

    /// Forget the entry `key` remembered at `at`, unless a later one (the same content
    /// heard again past the window) took its place.
    fn forget(&mut self, at: Timestamp, key: u64) {
        if self
            .recent
            .get(&key)
            .is_some_and(|h| h.observation.received_at == at)
        {
            self.recent.remove(&key);
        }
    }

    /// A unit's retransmission (same bytes again) is archived as a `duplicate` and goes
    /// no further; numbered lines also have their count checked for gaps.
    fn unit_duplicate(
        &mut self,
        unit: &UnitId,
        bytes: &[u8],
        n: Option<u32>,
        out: &mut Vec<Event>,
    ) -> bool {
        let stream = self.units.entry(unit.clone()).or_default();
        if !stream.first_time(bytes) {
            self.archive(out, format!("patrol:{unit}"), bytes, Some("duplicate"));
            return true;
        }
        if let Some(n) = n {
            match stream.last_n {
                Some(last) if u64::from(n) > u64::from(last) + 1 => {
                    self.sequence_gaps += u64::from(n) - u64::from(last) - 1;
                }
                Some(last) if n <= last => self.out_of_order += 1,
                _ => {}
            }
            stream.last_n = Some(n);
        }
        false
    }

    fn patrol_line(
        &mut self,
        unit: &UnitId,
        line: &[u8],
        received_at: Timestamp,
        out: &mut Vec<Event>,
    ) {
        let n = crate::ais::tagblock::line_count(line);
        if n.is_some() && self.unit_duplicate(unit, line, n, out) {
            return;
        }
        let source = format!("patrol:{unit}");
        let first = line.trim_ascii_start();
        // A unit's own AIS receiver: its lines are AIS like any other receiver's.
        let after_tag = crate::ais::split_tag_block(first).map(|(_, s)| s.first().copied());
        if matches!(after_tag, Ok(Some(b'!'))) {
            return self.ais_line(&source, 0, line, received_at, out);
        }
        let verdict = match telemetry::parse_line(line) {
            Ok(t) => match from_telemetry(unit, &t.data) {
                Some(data) => {
                    let (time, time_source) = match t.time {
                        Some(c) => (c, TimeSource::TagBlock),
                        None => (received_at, TimeSource::Received),
                    };
                    let topic = match data {
                        ObservationData::RadarTarget { .. } => Topic::ObsRadar(unit.clone()),
                        _ => Topic::ObsPatrol(unit.clone()),
                    };
                    self.observations += 1;
                    out.push(Event::Publish {
                        topic,
                        observation: Arc::new(Observation {
                            // Numbered lines get a stable id: a redelivery is recognised.
                            id: match n {
                                Some(n) => format!("{unit}-{}-n{n}", time.as_millisecond()),
                                None => format!(
                                    "{unit}-{}-{}",
                                    received_at.as_millisecond(),
                                    self.observations
                                ),
                            },
                            time,
                            time_source,
                            received_at,
                            receivers: vec![unit.to_string()],
                            data,
                        }),
                        update: false,
                    });
                    None
                }
                // Valid but with nothing to observe (an invalid fix, ZDA): kept, not published.
                None => None,
            },
            Err(e) => Some((e.reason(), e.to_string())),
        };
        match verdict {
            None => {
                self.archive(out, source, line, None);
            }
            Some((reason, message)) => {
                self.archive(out, source, line, Some(reason));
                self.notify(unit, received_at, out, || {
                    format!(
                        "line refused ({reason}): {message}: {}",
                        String::from_utf8_lossy(&line[..line.len().min(120)])
                    )
                });
            }
        }
    }

    fn report(
        &mut self,
        unit: &UnitId,
        payload: &[u8],
        received_at: Timestamp,
        out: &mut Vec<Event>,
    ) {
        // A report carries its own time: the same bytes again are the same report.
        if self.unit_duplicate(unit, payload, None, out) {
            return;
        }
        let source = format!("patrol:{unit}");
        match PatrolReport::parse(payload, received_at) {
            Ok(report) => {
                self.archive(out, source, payload, None);
                self.observations += 1;
                let id = {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::hash::DefaultHasher::new();
                    payload.hash(&mut h);
                    format!("{unit}-report-{:016x}", h.finish())
                };
                out.push(Event::Publish {
                    topic: Topic::ObsPatrol(unit.clone()),
                    observation: Arc::new(Observation {
                        id,
                        time: report.time(),
                        time_source: TimeSource::Sender,
                        received_at,
                        receivers: vec![unit.to_string()],
                        data: ObservationData::Report {
                            unit: unit.clone(),
                            report,
                        },
                    }),
                    update: false,
                });
            }
            Err(e) => {
                self.archive(out, source, payload, Some(e.reason()));
                self.notify(unit, received_at, out, || e.to_string());
            }
        }
    }

    /// Tell `unit` one of its lines or reports was refused: at most
    /// [`MAX_NOTICES_PER_SECOND`] a second, the last saying that more are only counted.
    /// Every refused line is archived with its reason and counted all the same; a unit (or a
    /// stolen account) sending megabytes of refused lines no longer has a notice published,
    /// and held for its session, for each.
    fn notify(
        &mut self,
        unit: &UnitId,
        received_at: Timestamp,
        out: &mut Vec<Event>,
        message: impl FnOnce() -> String,
    ) {
        let stream = self.units.entry(unit.clone()).or_default();
        let second = received_at.as_second();
        if stream.notices.0 != second {
            stream.notices = (second, 0);
        }
        stream.notices.1 += 1;
        let n = stream.notices.1;
        if n > MAX_NOTICES_PER_SECOND {
            return;
        }
        let mut message = message();
        if n == MAX_NOTICES_PER_SECOND {
            message.push_str(&format!(
                " (more than {MAX_NOTICES_PER_SECOND} refusals this second: further ones are archived and counted, not notified)"
            ));
        }
        out.push(Event::NotifyUnit {
            unit: unit.clone(),
            message,
        });
    }
}

/// Refusal notices a unit gets in one second ([`Pipeline`] counts and archives the rest).
pub const MAX_NOTICES_PER_SECOND: u32 = 20;

/// The non-empty lines of a payload (`\n` or `\r\n` separated).
fn lines(payload: &[u8]) -> impl Iterator<Item = &[u8]> {
    payload
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
}

/// The id of the AIS transmission of payload hash `hash` at `time`:
/// `ais-{hash:016x}-{milliseconds}`, written without `format!` (one for every message).
/// Keys tried for one transmission in the dedup table: its payload hash, then rekeyed
/// ([`rekey`]) after each entry found holding other content.
const MAX_DEDUP_PROBES: u32 = 4;

/// Are `a` and `b`, whose payloads hash alike, one transmission? The same content, whether
/// or not a receiver reported it as its own ship's (VDO; heard by others as VDM).
fn same_transmission(a: &ObservationData, b: &ObservationData) -> bool {
    match (a, b) {
        (ObservationData::Ais(x), ObservationData::Ais(y)) if x.own_ship != y.own_ship => {
            x == &AisObservation {
                own_ship: x.own_ship,
                ..y.clone()
            }
        }
        _ => a == b,
    }
}

/// The next key for `data` after `key` held other content: the key and the content (as
/// JSON, VDO or not) through SipHash, the same in every run of the same build, so the id
/// it makes ([`ais_id`]) is too.
fn rekey(key: u64, data: &ObservationData) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut data = data.clone();
    if let ObservationData::Ais(a) = &mut data {
        a.own_ship = false;
    }
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    serde_json::to_vec(&data)
        .expect("an observation serialises")
        .hash(&mut h);
    h.finish()
}

fn ais_id(hash: u64, time: Timestamp) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = Vec::with_capacity(44);
    id.extend_from_slice(b"ais-");
    id.extend((0..16).rev().map(|i| HEX[(hash >> (4 * i)) as usize & 15]));
    id.push(b'-');
    id.extend_from_slice(itoa::Buffer::new().format(time.as_millisecond()).as_bytes());
    String::from_utf8(id).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dedup table holds up to MAX_DEDUP_ENTRIES and grows by doubling: its entries must
    /// stay a key and a pointer, or each doubling moves every remembered observation at once
    /// (with them inline: tens of megabytes, a stall of 50-80 ms in every observation's
    /// latency at 100 000 lines a second).
    #[test]
    fn the_dedup_table_moves_pointers_when_it_grows_not_observations() {
        assert!(
            std::mem::size_of::<(u64, Heard)>() <= 16,
            "{} bytes an entry",
            std::mem::size_of::<(u64, Heard)>()
        );
        assert!(
            std::mem::size_of::<Observation>() > 64,
            "the check above means something"
        );
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const TAGGED: &[u8] =
        b"\\s:rEV02,c:1334337317*58\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F";

    fn published(events: &[Event]) -> Vec<(&Topic, &Observation, bool)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Publish {
                    topic,
                    observation,
                    update,
                } => Some((topic, &**observation, *update)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_stations_of_an_aggregated_feed_are_told_apart_by_their_tag_block() {
        let mut p = Pipeline::new();
        let now = t("2026-11-22T02:00:00Z");
        let line = |s: &str| {
            let tag = format!("s:{s},c:1334337317");
            let sum = crate::ais::nmea_checksum(tag.as_bytes());
            format!("\\{tag}*{sum:02X}\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F")
        };
        let mut receivers = Vec::new();
        for (i, station) in ["2573238", "2573210", "feed"].into_iter().enumerate() {
            let l = line(station);
            let ev = p.on_input(
                Input::Ais {
                    source: "feed",
                    payload: l.as_bytes(),
                },
                now + SignedDuration::from_millis(100 * i as i64),
            );
            receivers = published(&ev)[0].1.receivers.clone();
        }
        // One observation, heard by two stations of the feed and by the feed itself (a
        // station named as the feed is the feed).
        assert_eq!(receivers, ["feed/2573238", "feed/2573210", "feed"]);
        assert_eq!((p.observations, p.duplicates), (1, 2));
        // A feed naming a new station on every line: the list stops at eight, no update
        // is published past it.
        let mut updates = 0;
        for i in 0..100 {
            let l = line(&format!("x{i}"));
            let ev = p.on_input(
                Input::Ais {
                    source: "feed",
                    payload: l.as_bytes(),
                },
                now + SignedDuration::from_millis(400 + i),
            );
            if let Some((_, o, _)) = published(&ev).first() {
                updates += 1;
                assert!(o.receivers.len() <= 8, "{:?}", o.receivers);
            }
        }
        assert_eq!(updates, 5);
    }

    #[test]
    fn a_transmission_heard_by_two_receivers_is_one_observation_listing_both() {
        let mut p = Pipeline::new();
        let now = t("2026-11-22T02:00:00Z");
        let a = p.on_input(
            Input::Ais {
                source: "lampedusa",
                payload: TAGGED,
            },
            now,
        );
        let b = p.on_input(
            Input::Ais {
                source: "linosa",
                payload: TAGGED,
            },
            now + SignedDuration::from_millis(300),
        );
        let (topic, first, update) = published(&a)[0];
        assert_eq!(*topic, Topic::ObsAis(636_091_763));
        assert!(!update);
        assert_eq!(first.time, t("2012-04-13T17:15:17Z"));
        assert_eq!(first.time_source, TimeSource::TagBlock);
        let (_, again, update) = published(&b)[0];
        assert!(update);
        assert_eq!(again.id, first.id);
        // The tag block names the station within each feed.
        assert_eq!(again.receivers, ["lampedusa/rEV02", "linosa/rEV02"]);
        // Both lines are archived, each with its source.
        let archived = b.iter().filter(|e| matches!(e, Event::Archive { source, rejected: None, .. } if source == "ais:linosa")).count();
        assert_eq!(archived, 1);
        // Past the window, the same payload is a new observation.
        let c = p.on_input(
            Input::Ais {
                source: "lampedusa",
                payload: TAGGED,
            },
            now + SignedDuration::from_secs(10),
        );
        assert!(!published(&c)[0].2);
        assert_eq!((p.observations, p.duplicates), (2, 1));
    }

    /// A payload other than `victim`'s with the same [`crate::ais::payload_hash`], its first
    /// character (the message type) kept: the hash is fast, not collision-resistant, and
    /// each of its steps can be undone, so whoever can transmit AIS can make one.
    fn colliding_payload(victim: &[u8]) -> Vec<u8> {
        use crate::ais::{HASH_SEED, payload_hash};
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        // K's inverse modulo 2^64 (Newton's iteration doubles the bits right each step).
        let mut k_inv = K;
        for _ in 0..6 {
            k_inv = k_inv.wrapping_mul(2u64.wrapping_sub(K.wrapping_mul(k_inv)));
        }
        assert_eq!(K.wrapping_mul(k_inv), 1);
        let state = |words: &[u8]| {
            // The state after whole words: the hash without its last word's step undone.
            let mut h = HASH_SEED;
            for w in words.chunks_exact(8) {
                h = (h ^ u64::from_le_bytes(w.try_into().unwrap())).wrapping_mul(K);
                h ^= h >> 32;
            }
            h
        };
        let target = state(&victim[..24]);
        let armor = |b: u8| (b'0'..=b'W').contains(&b) || (b'`'..=b'w').contains(&b);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        loop {
            let mut fake = victim.to_vec();
            for b in &mut fake[1..16] {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"
                    [(seed % 64) as usize];
            }
            // The third word that leads from the fake's second state to the victim's third.
            let mut v = target ^ (target >> 32);
            v = v.wrapping_mul(k_inv);
            let w = (v ^ state(&fake[..16])).to_le_bytes();
            if w.iter().all(|&b| armor(b)) {
                fake[16..24].copy_from_slice(&w);
                assert_ne!(fake, victim);
                assert_eq!(
                    payload_hash(HASH_SEED, &fake, 0),
                    payload_hash(HASH_SEED, victim, 0)
                );
                return fake;
            }
        }
    }

    /// review_24_1: a transmission whose payload hashes as another's, heard within the
    /// window, is not that one heard again: a hostile transmitter repeating such a payload
    /// made a vessel's real reports vanish as duplicates (and its own observation took
    /// their id). Each is published with its own id, and each one's other hearings still
    /// merge into it.
    #[test]
    fn review_24_1_a_payload_hashing_as_another_is_not_its_duplicate() {
        let victim: &[u8] = b"19NWuLhuRb5QHfCpPcwj`26B0<02";
        let fake = colliding_payload(victim);
        let line = |payload: &[u8], station: &str| {
            let tag = format!("s:{station},c:1334337317");
            let sentence = format!("AIVDM,1,1,,B,{},0", String::from_utf8_lossy(payload));
            format!(
                "\\{tag}*{:02X}\\!{sentence}*{:02X}",
                crate::ais::nmea_checksum(tag.as_bytes()),
                crate::ais::nmea_checksum(sentence.as_bytes())
            )
        };
        let mut p = Pipeline::new();
        let now = t("2026-11-22T02:00:00Z");
        let mut heard = |payload: &[u8], station: &str, ms: i64| {
            let l = line(payload, station);
            let ev = p.on_input(
                Input::Ais {
                    source: "feed",
                    payload: l.as_bytes(),
                },
                now + SignedDuration::from_millis(ms),
            );
            let (_, o, update) = published(&ev)[0];
            (o.clone(), update)
        };
        // The fake first, then the vessel's own report, heard by two stations.
        let (forged, _) = heard(&fake, "s1", 0);
        let (real, update) = heard(victim, "s2", 100);
        assert!(!update, "the real report is an observation of its own");
        assert_ne!(real.id, forged.id);
        assert_ne!(real.data, forged.data);
        assert!(matches!(&real.data, ObservationData::Ais(a) if a.mmsi == 636_091_763));
        let (again, update) = heard(victim, "s3", 200);
        assert!(update);
        assert_eq!(again.id, real.id);
        assert_eq!(again.receivers, ["feed/s2", "feed/s3"]);
        // And the fake's own hearings merge into the fake's.
        let (fake_again, update) = heard(&fake, "s4", 300);
        assert!(update);
        assert_eq!(fake_again.id, forged.id);
        assert_eq!(fake_again.receivers, ["feed/s1", "feed/s4"]);
    }

    /// A ship's transponder reporting its own transmission (VDO) and a station hearing it
    /// (VDM) heard one transmission: one observation, whichever came first.
    #[test]
    fn a_ships_own_report_and_a_station_hearing_it_are_one_observation() {
        let line = |talker: &str| {
            let sentence = format!("AI{talker},1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0");
            format!(
                "!{sentence}*{:02X}",
                crate::ais::nmea_checksum(sentence.as_bytes())
            )
        };
        for order in [["VDO", "VDM"], ["VDM", "VDO"]] {
            let mut p = Pipeline::new();
            let now = t("2026-11-22T02:00:00Z");
            let mut ids = Vec::new();
            for (i, talker) in order.into_iter().enumerate() {
                let l = line(talker);
                let ev = p.on_input(
                    Input::Ais {
                        source: if i == 0 { "own" } else { "station" },
                        payload: l.as_bytes(),
                    },
                    now + SignedDuration::from_millis(100 * i as i64),
                );
                ids.push(published(&ev)[0].1.id.clone());
            }
            assert_eq!(ids[0], ids[1], "{order:?}");
            assert_eq!((p.observations, p.duplicates, p.hash_collisions), (1, 1, 0));
        }
    }

    #[test]
    fn identical_content_sent_again_later_is_not_a_duplicate_even_in_one_burst() {
        let mut p = Pipeline::new();
        let now = t("2026-11-22T02:00:00Z");
        let later = b"\\s:rEV02,c:1334337677*5B\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F";
        p.on_input(
            Input::Ais {
                source: "sat",
                payload: TAGGED,
            },
            now,
        );
        let e = p.on_input(
            Input::Ais {
                source: "sat",
                payload: later,
            },
            now,
        );
        assert!(!published(&e)[0].2, "a new observation, six minutes later");
        assert_eq!((p.observations, p.duplicates), (2, 0));
    }

    /// The same content again past the window takes the earlier entry's place: the earlier
    /// one expiring does not take the later one with it, whose hearings still merge.
    #[test]
    fn an_entry_taken_over_by_the_same_content_later_outlives_the_first() {
        let mut p = Pipeline::new();
        let now = t("2026-11-22T02:00:00Z");
        let later = b"\\s:rEV02,c:1334337677*5B\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F";
        let mut hear = |source: &str, payload: &[u8], after_ms: i64| {
            let ev = p.on_input(
                Input::Ais { source, payload },
                now + SignedDuration::from_millis(after_ms),
            );
            published(&ev)[0].2
        };
        assert!(!hear("sat", TAGGED, 0));
        // Six minutes later by its tag block, received a second and a half later.
        assert!(!hear("sat", later, 1_500));
        // Past the first's window by reception, within the second's: a second hearing.
        assert!(
            hear("shore", later, 3_000),
            "merged into the later observation"
        );
        assert_eq!((p.observations, p.duplicates), (2, 1));
    }

    #[test]
    fn without_a_tag_block_the_time_is_the_receive_time() {
        let mut p = Pipeline::new();
        let now = t("2026-11-22T02:00:00Z");
        let e = p.on_input(
            Input::Ais {
                source: "rx",
                payload: b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\r\n\r\n",
            },
            now,
        );
        let (_, o, _) = published(&e)[0];
        assert_eq!((o.time, o.time_source), (now, TimeSource::Received));
    }

    #[test]
    fn bad_lines_are_archived_and_counted_and_units_are_told() {
        let mut p = Pipeline::new();
        let unit = UnitId::new("patrol-7").unwrap();
        let now = t("2026-11-22T02:00:00Z");
        let e = p.on_input(
            Input::PatrolNmea {
                unit: &unit,
                payload: b"$GPHDT,274.07,T*00\n\xff\xfe garbage\n$RATLL,07,3542.600,N,01256.400,E,SKIFF,104512.00,T,*7D",
            },
            now,
        );
        let rejected: Vec<_> = e
            .iter()
            .filter_map(|e| match e {
                Event::Archive {
                    rejected: Some(r), ..
                } => Some(*r),
                _ => None,
            })
            .collect();
        assert_eq!(rejected.len(), 2, "{e:?}");
        assert_eq!(p.rejected["checksum"], 1);
        let notes = e
            .iter()
            .filter(|e| matches!(e, Event::NotifyUnit { .. }))
            .count();
        assert_eq!(notes, 2);
        let radar: Vec<_> = published(&e)
            .into_iter()
            .filter(|(t, _, _)| matches!(t, Topic::ObsRadar(_)))
            .collect();
        assert_eq!(radar.len(), 1, "{e:?}");
    }

    #[test]
    fn a_units_retransmissions_are_archived_as_duplicates_and_gaps_are_counted() {
        let mut p = Pipeline::new();
        let unit = UnitId::new("patrol-7").unwrap();
        let now = t("2026-11-22T02:15:00Z");
        let hdt = b"$HEHDT,274.1,T*2F";
        let line = |n| crate::ais::tagblock::stamp(hdt, now, n);
        let run = |p: &mut Pipeline, n| {
            p.on_input(
                Input::PatrolNmea {
                    unit: &unit,
                    payload: &line(n),
                },
                now,
            )
        };
        let first = run(&mut p, 1);
        let Event::Publish { observation, .. } = &first[0] else {
            panic!("{first:?}")
        };
        assert_eq!(
            observation.id,
            format!("patrol-7-{}-n1", now.as_millisecond())
        );
        assert_eq!(observation.time_source, TimeSource::TagBlock);
        // Sent again after a reconnect: archived as a duplicate, not observed twice.
        let again = run(&mut p, 1);
        assert!(
            matches!(
                &again[..],
                [Event::Archive {
                    rejected: Some("duplicate"),
                    ..
                }]
            ),
            "{again:?}"
        );
        run(&mut p, 2);
        run(&mut p, 5);
        assert_eq!((p.sequence_gaps, p.out_of_order), (2, 0));
        run(&mut p, 3);
        assert_eq!((p.sequence_gaps, p.out_of_order), (2, 1));
        // The same plain line (no count) twice is two headings, both kept.
        for _ in 0..2 {
            let e = p.on_input(
                Input::PatrolNmea {
                    unit: &unit,
                    payload: hdt,
                },
                now,
            );
            assert!(matches!(&e[0], Event::Publish { .. }), "{e:?}");
        }
    }

    #[test]
    fn reports_are_published_or_refused_with_a_reason_for_the_unit() {
        let mut p = Pipeline::new();
        let unit = UnitId::new("patrol-7").unwrap();
        let now = t("2026-11-22T02:15:00Z");
        let good = br#"{"type":"sighting","time":"2026-11-22T02:10:00Z","position":{"lat":35.1,"lon":12.5},"craft":"rubber_boat","persons_estimate":45,"condition":"overcrowded"}"#;
        let e = p.on_input(
            Input::PatrolReport {
                unit: &unit,
                payload: good,
            },
            now,
        );
        let (topic, o, _) = published(&e)[0];
        assert_eq!(*topic, Topic::ObsPatrol(unit.clone()));
        assert_eq!(o.time_source, TimeSource::Sender);
        let e = p.on_input(
            Input::PatrolReport {
                unit: &unit,
                payload: b"{\"type\":\"sighting\"}",
            },
            now,
        );
        let note = e.iter().find_map(|e| match e {
            Event::NotifyUnit { message, .. } => Some(message.clone()),
            _ => None,
        });
        assert!(note.unwrap().contains("missing field"));
        assert_eq!(p.rejected["report_json"], 1);
    }

    #[test]
    fn an_ais_id_is_the_hash_in_hex_and_the_milliseconds() {
        for (hash, ms) in [
            (0, 0),
            (u64::MAX, -1),
            (0x0123_4567_89ab_cdef, 1_795_305_600_123),
        ] {
            let time = Timestamp::from_millisecond(ms).unwrap();
            assert_eq!(ais_id(hash, time), format!("ais-{hash:016x}-{ms}"));
        }
    }

    #[test]
    fn observations_round_trip_through_json_and_refuse_unknown_fields() {
        let mut p = Pipeline::new();
        let e = p.on_input(
            Input::Ais {
                source: "rx",
                payload: TAGGED,
            },
            t("2026-11-22T02:00:00Z"),
        );
        let (_, o, _) = published(&e)[0];
        let json = serde_json::to_string(o).unwrap();
        let back: Observation = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, o);
        let tampered = json.replacen("\"receivers\"", "\"extra\":1,\"receivers\"", 1);
        assert!(serde_json::from_str::<Observation>(&tampered).is_err());
    }

    /// Review (issue 24 session): a unit was published a refusal notice for each refused
    /// line, and the broker held each for its session (up to an hour when not acknowledged):
    /// a megabyte of refused lines from one unit was half a million notices. At most
    /// [`MAX_NOTICES_PER_SECOND`] go out a second now, the last saying so, while every line is
    /// still archived with its reason and counted.
    #[test]
    fn review_a_unit_gets_a_bounded_number_of_refusal_notices_a_second() {
        let mut p = Pipeline::new();
        let unit = UnitId::new("cp-301").unwrap();
        let now = t("2026-11-22T02:00:00Z");
        let flood = "x\n".repeat(5_000);
        let e = p.on_input(
            Input::PatrolNmea {
                unit: &unit,
                payload: flood.as_bytes(),
            },
            now,
        );
        let notes: Vec<&str> = e
            .iter()
            .filter_map(|e| match e {
                Event::NotifyUnit { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(notes.len(), MAX_NOTICES_PER_SECOND as usize);
        assert!(notes.last().unwrap().contains("not notified"), "{notes:?}");
        let archived = e
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Archive {
                        rejected: Some(_),
                        ..
                    }
                )
            })
            .count();
        assert_eq!(archived, 5_000);
        assert_eq!(p.rejected.values().sum::<u64>(), 5_000);
        // The next second, the unit hears of its next refusal.
        let e = p.on_input(
            Input::PatrolNmea {
                unit: &unit,
                payload: b"y",
            },
            now + SignedDuration::from_secs(1),
        );
        assert_eq!(
            e.iter()
                .filter(|e| matches!(e, Event::NotifyUnit { .. }))
                .count(),
            1
        );
    }
}
