//! Maritime Identification Digits: which administration a MID belongs to, if any.

use super::GeodataError;
use std::collections::HashMap;

/// The ITU MID table shipped with Tidewatch (`mid,country,iso2,iso3,iso3166_2`).
const BUILT_IN: &str = include_str!("../../data/mid.csv");

/// MID → administration.
#[derive(Debug, Default, Clone)]
pub struct MidTable {
    countries: HashMap<u16, (String, String)>,
}

impl MidTable {
    /// The table shipped with Tidewatch.
    pub fn built_in() -> MidTable {
        MidTable::from_csv("built-in MID table", BUILT_IN).expect("the shipped MID table is valid")
    }

    /// A table from CSV with a header and the columns `mid,country,iso2,…`
    /// (RFC 4180 quoting).
    pub fn from_csv(what: &str, text: &str) -> Result<MidTable, GeodataError> {
        let mut t = MidTable::default();
        for (n, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let fields = csv_fields(line);
            let bad = || GeodataError::invalid(what, format!("line {}: {line:?}", n + 1));
            let mid: u16 = fields
                .first()
                .and_then(|f| f.parse().ok())
                .ok_or_else(bad)?;
            if !(200..800).contains(&mid) {
                return Err(bad());
            }
            let country = fields.get(1).cloned().ok_or_else(bad)?;
            let iso2 = fields.get(2).cloned().unwrap_or_default();
            t.countries.insert(mid, (country, iso2));
        }
        Ok(t)
    }

    /// The administration a MID is allocated to, or `None`.
    pub fn country(&self, mid: u16) -> Option<&str> {
        self.countries.get(&mid).map(|(c, _)| c.as_str())
    }

    /// The ISO 3166 alpha-2 code of a MID's administration, or `None`.
    pub fn iso2(&self, mid: u16) -> Option<&str> {
        self.countries.get(&mid).map(|(_, c)| c.as_str())
    }
}

fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unallocated_mids() {
        let t = MidTable::built_in();
        assert_eq!(t.iso2(247), Some("IT"));
        assert_eq!(t.iso2(642), Some("LY"));
        assert_eq!(t.country(215), Some("Malta"));
        assert_eq!(t.country(646), None, "646 is allocated to no one");
        assert!(
            t.country(443).unwrap().contains("Dubai, 2018"),
            "quoted comma"
        );
    }
}
