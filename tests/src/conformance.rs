//! Field-by-field comparison of our gpsd-format output with gpsd's expected output.

use ingest::ais::Decoder;
use ingest::ais::json::GpsdWriter;
use serde_json::{Map, Value};

/// A difference from gpsd that is gpsd's error, not ours: the rule that recognises it
/// and the section of `ingest/CONFORMANCE.md` that gives the evidence.
pub struct KnownDeviation {
    /// Section of CONFORMANCE.md.
    pub id: &'static str,
    /// True when this (gpsd record, our record, differing key) is the deviation.
    pub applies: fn(&Value, &Value, &str) -> bool,
}

/// Deviations from gpsd 3.22 that every comparison accepts.
pub const DEVIATIONS_3_22: &[KnownDeviation] = &[
    KnownDeviation {
        id: "D1 type 26 radio status",
        applies: |e, _, key| e["type"] == 26 && key == "radio" && e["radio"] == 0,
    },
    KnownDeviation {
        id: "D12 IMO FI 15/16 air draught and persons on board",
        applies: |e, _, key| {
            e["dac"] == 1
                && ((e["type"] == 6 && e["fid"] == 15 && key == "airdraught")
                    || (e["fid"] == 16 && key == "persons"))
        },
    },
];

/// Extra deviations for the expected files made by gpsd master (newer than 3.22), which
/// changed texts since: our target is 3.22.
pub const DEVIATIONS_MASTER: &[KnownDeviation] = &[KnownDeviation {
    id: "M1 gpsd master epfd texts",
    applies: |e, o, key| {
        key == "epfd_text"
            && e["epfd"].as_u64().is_some_and(|v| v >= 9)
            && o["epfd_text"] == "INVALID EPFD"
    },
}];

/// What a comparison found.
#[derive(Debug, Default)]
pub struct Report {
    /// Records gpsd emits that we emit identically.
    pub equal: usize,
    /// Records that differ only by known deviations, by deviation id.
    pub known: std::collections::BTreeMap<&'static str, usize>,
    /// Records matched by type and MMSI whose fields differ: (expected, ours, differing keys).
    pub different: Vec<(Value, Value, Vec<String>)>,
    /// Records gpsd emits that we do not.
    pub missing: Vec<Value>,
    /// Records we emit that gpsd does not.
    pub extra: Vec<Value>,
}

impl Report {
    /// Counts, and the first few problems of each kind (for big logs).
    pub fn describe_short(&self) -> String {
        self.describe_up_to(5)
    }

    /// Counts, and every problem, for test failure messages.
    pub fn describe(&self) -> String {
        self.describe_up_to(usize::MAX)
    }

    fn describe_up_to(&self, most: usize) -> String {
        let mut s = format!(
            "equal {}, known deviations {:?}, different {}, missing {}, extra {}\n",
            self.equal,
            self.known,
            self.different.len(),
            self.missing.len(),
            self.extra.len()
        );
        for (e, o, keys) in self.different.iter().take(most) {
            s.push_str(&format!("DIFF {keys:?}\n  gpsd: {e}\n  ours: {o}\n"));
        }
        for m in self.missing.iter().take(most) {
            s.push_str(&format!("MISSING {m}\n"));
        }
        for x in self.extra.iter().take(most) {
            s.push_str(&format!("EXTRA {x}\n"));
        }
        s
    }
}

/// gpsd's AIS records in a `.chk` file: either one JSON object per line (gpsdecode),
/// or gpsd daemon output with AIS objects among echoed NMEA and TPV/SKY reports.
/// `"device"` is dropped, since it names the input, not the message.
pub fn expected_records(chk: &str) -> Vec<Value> {
    chk.lines()
        .filter_map(|l| l.find("{\"class\":\"AIS\"").map(|i| &l[i..]))
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("gpsd record is JSON");
            if let Some(o) = v.as_object_mut() {
                o.remove("device");
            }
            v
        })
        .collect()
}

/// Our gpsd-format records for an input log (device dropped, as above).
pub fn our_records(input: &[u8]) -> Vec<Value> {
    let mut d = Decoder::new();
    let mut w = GpsdWriter::new().with_device(None);
    let mut out = String::new();
    for line in input.split(|&c| c == b'\n') {
        if let Ok(Some(m)) = d.decode_line(line, 0) {
            out.extend(w.record(&m.message));
        }
    }
    out.lines()
        .map(|l| serde_json::from_str(l).expect("our record is JSON"))
        .collect()
}

fn key(v: &Value) -> (Value, Value) {
    (v["type"].clone(), v["mmsi"].clone())
}

/// Keys whose values differ between two records (present in one only, or unequal).
pub fn differing_keys(a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(*k)).cloned());
    keys
}

/// Compare in order: each expected record is matched with the next record of ours of
/// the same type and MMSI (looking a few records ahead, so one extra or missing record
/// does not shift everything after it). Differences that are all `known` deviations
/// are counted under their ids, not as differences.
pub fn compare(expected: &[Value], ours: &[Value], known: &[&[KnownDeviation]]) -> Report {
    const LOOKAHEAD: usize = 8;
    let mut r = Report::default();
    let mut j = 0;
    for e in expected {
        let found = (j..ours.len().min(j + LOOKAHEAD)).find(|&k| key(&ours[k]) == key(e));
        match found {
            Some(k) => {
                r.extra.extend(ours[j..k].iter().cloned());
                let o = &ours[k];
                if o == e {
                    r.equal += 1;
                } else {
                    let keys = differing_keys(
                        e.as_object().expect("object"),
                        o.as_object().expect("object"),
                    );
                    let ids: Option<Vec<&'static str>> = keys
                        .iter()
                        .map(|k| {
                            known
                                .iter()
                                .flat_map(|set| set.iter())
                                .find(|d| (d.applies)(e, o, k))
                                .map(|d| d.id)
                        })
                        .collect();
                    match ids {
                        Some(ids) => {
                            for id in ids {
                                *r.known.entry(id).or_default() += 1;
                            }
                        }
                        None => r.different.push((e.clone(), o.clone(), keys)),
                    }
                }
                j = k + 1;
            }
            None => r.missing.push(e.clone()),
        }
    }
    r.extra.extend(ours[j..].iter().cloned());
    r
}

/// gpsd's records for an input, from the installed `gpsdecode -u -j` (the oracle).
pub fn gpsdecode_records(input: &[u8]) -> Vec<Value> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let exe = crate::require_program("gpsdecode", "gpsd-clients");
    let mut child = Command::new(exe)
        .args(["-u", "-j"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gpsdecode starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("gpsdecode runs");
    writer.join().expect("writer thread");
    expected_records(&String::from_utf8_lossy(&out.stdout))
}
