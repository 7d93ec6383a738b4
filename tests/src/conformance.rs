//! Field-by-field comparison of our gpsd-format output with gpsd's expected output.

use ingest::ais::Decoder;
use ingest::ais::json::GpsdWriter;
use serde_json::{Map, Value};

/// What a comparison found.
#[derive(Debug, Default)]
pub struct Report {
    /// Records gpsd emits that we emit identically.
    pub equal: usize,
    /// Records matched by type and MMSI whose fields differ: (expected, ours, differing keys).
    pub different: Vec<(Value, Value, Vec<String>)>,
    /// Records gpsd emits that we do not.
    pub missing: Vec<Value>,
    /// Records we emit that gpsd does not.
    pub extra: Vec<Value>,
}

impl Report {
    /// One line per problem, for test failure messages.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "equal {}, different {}, missing {}, extra {}\n",
            self.equal,
            self.different.len(),
            self.missing.len(),
            self.extra.len()
        );
        for (e, o, keys) in &self.different {
            s.push_str(&format!("DIFF {keys:?}\n  gpsd: {e}\n  ours: {o}\n"));
        }
        for m in &self.missing {
            s.push_str(&format!("MISSING {m}\n"));
        }
        for x in &self.extra {
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
    let mut w = GpsdWriter::new();
    w.device = None;
    let mut out = String::new();
    for line in input.split(|&c| c == b'\n') {
        if let Ok(Some(m)) = d.decode_line(line, 0) {
            w.write(&m.message, &mut out);
        }
    }
    out.lines()
        .map(|l| serde_json::from_str(l).expect("our record is JSON"))
        .collect()
}

fn key(v: &Value) -> (Value, Value) {
    (v["type"].clone(), v["mmsi"].clone())
}

fn differing_keys(a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<String> {
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
/// does not shift everything after it).
pub fn compare(expected: &[Value], ours: &[Value]) -> Report {
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
                    r.different.push((e.clone(), o.clone(), keys));
                }
                j = k + 1;
            }
            None => r.missing.push(e.clone()),
        }
    }
    r.extra.extend(ours[j..].iter().cloned());
    r
}
