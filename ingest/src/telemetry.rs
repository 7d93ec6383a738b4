//! Patrol telemetry: the NMEA a patrol vessel's GNSS, compass and radar send.
//!
//! RMC, GGA, VTG, HDT and ZDA go through the `nmea` crate. TTM (radar tracked target,
//! range and bearing) and TLL (radar target latitude/longitude) are parsed here: the
//! crate does not support TLL, and its TTM type (0.8) keeps bearing and course in
//! private fields with no accessor. Tag blocks are stripped first (the crate rejects
//! them) and kept with the sentence, so their time and source are not lost.

use jiff::civil::{Date, Time};
use serde::Serialize;

use crate::ais::{DecodeError, TagBlock, nmea_checksum, parse_hex2, split_tag_block};

/// Why a telemetry sentence was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// Framing or tag block problem (shared with AIS).
    #[error(transparent)]
    Framing(#[from] DecodeError),
    /// A sentence this module does not handle.
    #[error("unsupported sentence {0}")]
    Unsupported(String),
    /// The sentence is malformed.
    #[error("malformed {sentence}: {detail}")]
    Malformed {
        /// Sentence type.
        sentence: String,
        /// What is wrong.
        detail: String,
    },
}

impl TelemetryError {
    /// A stable code for counting rejects by reason.
    pub fn reason(&self) -> &'static str {
        match self {
            TelemetryError::Framing(e) => e.reason(),
            TelemetryError::Unsupported(_) => "unsupported_sentence",
            TelemetryError::Malformed { .. } => "malformed",
        }
    }
}

/// A TTM/TLL target status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// `L`: the target was lost.
    Lost,
    /// `Q`: being acquired.
    Query,
    /// `T`: tracked.
    Tracking,
}

/// One parsed telemetry sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "sentence", rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum Telemetry {
    /// Recommended minimum GNSS data.
    Rmc {
        /// UTC time of the fix.
        fix_time: Option<Time>,
        /// UTC date of the fix.
        fix_date: Option<Date>,
        /// True when the receiver flags the fix valid (`A` or `D`).
        valid: bool,
        /// Latitude, degrees (north positive).
        lat: Option<f64>,
        /// Longitude, degrees (east positive).
        lon: Option<f64>,
        /// Speed over ground, knots.
        sog_kn: Option<f64>,
        /// Course over ground, degrees true.
        cog_deg: Option<f64>,
    },
    /// GNSS fix data.
    Gga {
        /// UTC time of the fix.
        fix_time: Option<Time>,
        /// Latitude, degrees.
        lat: Option<f64>,
        /// Longitude, degrees.
        lon: Option<f64>,
        /// Fix quality as the receiver names it (`Gps`, `DGps`, `Invalid`, ...).
        fix_type: Option<String>,
        /// Satellites used.
        satellites: Option<u32>,
        /// Horizontal dilution of precision.
        hdop: Option<f64>,
        /// Antenna altitude above mean sea level, m.
        altitude_m: Option<f64>,
    },
    /// Course and speed over ground.
    Vtg {
        /// Course over ground, degrees true.
        cog_deg: Option<f64>,
        /// Speed over ground, knots.
        sog_kn: Option<f64>,
    },
    /// Heading, true.
    Hdt {
        /// Heading, degrees true.
        heading_deg: Option<f64>,
    },
    /// UTC date and time.
    Zda {
        /// The instant, when date and time are both given.
        utc: Option<jiff::Timestamp>,
    },
    /// A radar tracked target, relative to own ship.
    Ttm {
        /// Target number, 0–99.
        target: u8,
        /// Distance from own ship, in `distance_unit`.
        distance: Option<f64>,
        /// Bearing from own ship, degrees.
        bearing_deg: Option<f64>,
        /// True when the bearing is true, false when relative.
        bearing_true: bool,
        /// Target speed, in `speed_unit`.
        speed: Option<f64>,
        /// Target course, degrees.
        course_deg: Option<f64>,
        /// True when the course is true, false when relative.
        course_true: bool,
        /// Distance of closest point of approach, in `distance_unit`.
        cpa_distance: Option<f64>,
        /// Time to CPA, minutes (negative when moving away).
        tcpa_min: Option<f64>,
        /// `N` nautical miles/knots, `K` km and km/h, `S` statute miles and mph.
        distance_unit: Option<char>,
        /// Target name.
        name: Option<String>,
        /// Target status.
        status: Option<TargetStatus>,
        /// True when this is the reference target.
        reference: bool,
        /// UTC time of the data.
        time: Option<Time>,
    },
    /// A radar target's position.
    Tll {
        /// Target number, 0–99.
        target: u8,
        /// Latitude, degrees.
        lat: f64,
        /// Longitude, degrees.
        lon: f64,
        /// Target name.
        name: Option<String>,
        /// UTC time of the data.
        time: Option<Time>,
        /// Target status.
        status: Option<TargetStatus>,
        /// True when this is the reference target.
        reference: bool,
    },
}

/// A telemetry sentence with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelemetryLine {
    /// Talker id (`GP`, `GN`, `HE`, `RA`, ...).
    pub talker: String,
    /// Tag block source (`s:`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Tag block time (`c:`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<jiff::Timestamp>,
    /// The data.
    #[serde(flatten)]
    pub data: Telemetry,
}

/// The sentence types [`parse_line`] accepts.
pub const SUPPORTED: [&str; 7] = ["RMC", "GGA", "VTG", "HDT", "ZDA", "TTM", "TLL"];

/// Parse one line of patrol telemetry (`$xxRMC...`, with or without a tag block).
pub fn parse_line(line: &[u8]) -> Result<TelemetryLine, TelemetryError> {
    let (tag, sentence) = split_tag_block(line)?;
    let tag = tag.map(TagBlock::parse).transpose()?;
    if sentence.first() != Some(&b'$') || sentence.len() < 6 {
        return Err(DecodeError::NotNmea.into());
    }
    // NMEA 0183 is printable ASCII; anything else is corruption (and slicing below
    // relies on one byte per character).
    let Some(text) = sentence
        .is_ascii()
        .then(|| std::str::from_utf8(sentence).ok())
        .flatten()
    else {
        return Err(malformed("?", "bytes outside ASCII"));
    };
    let talker = text[1..3].to_owned();
    let kind = &text[3..6];
    let data = match kind {
        "TTM" | "TLL" => parse_by_hand(text, kind)?,
        "RMC" | "GGA" | "VTG" | "HDT" | "ZDA" => parse_with_crate(text, kind)?,
        _ => return Err(TelemetryError::Unsupported(text[..6].to_owned())),
    };
    Ok(TelemetryLine {
        talker,
        source: tag.as_ref().and_then(|t| t.source.clone()),
        time: tag.and_then(|t| t.time),
        data,
    })
}

fn malformed(kind: &str, detail: impl ToString) -> TelemetryError {
    TelemetryError::Malformed {
        sentence: kind.to_owned(),
        detail: detail.to_string(),
    }
}

/// The `nmea` crate parses into `f32`; carry its shortest decimal form over to `f64`, so
/// a heading sent as `274.07` is 274.07, not 274.07000732421875.
fn decimal(v: Option<f32>) -> Option<f64> {
    v.map(|v| v.to_string().parse().unwrap_or(f64::from(v)))
}

/// chrono's time as jiff's (through its text form, to avoid a chrono dependency).
fn time_of(t: impl ToString) -> Option<Time> {
    t.to_string().parse().ok()
}

fn parse_with_crate(text: &str, kind: &str) -> Result<Telemetry, TelemetryError> {
    use nmea::ParseResult as P;
    // Our own check first, so a bad checksum is counted as one, like AIS.
    checked_body(text)?;
    let parsed = nmea::parse_str(text).map_err(|e| malformed(kind, e))?;
    Ok(match parsed {
        P::RMC(r) => Telemetry::Rmc {
            fix_time: r.fix_time.and_then(time_of),
            fix_date: r.fix_date.and_then(|d| d.to_string().parse().ok()),
            valid: !matches!(
                r.status_of_fix,
                nmea::sentences::rmc::RmcStatusOfFix::Invalid
            ),
            lat: r.lat,
            lon: r.lon,
            sog_kn: decimal(r.speed_over_ground),
            cog_deg: decimal(r.true_course),
        },
        P::GGA(g) => Telemetry::Gga {
            fix_time: g.fix_time.and_then(time_of),
            lat: g.latitude,
            lon: g.longitude,
            fix_type: g.fix_type.map(|f| format!("{f:?}")),
            satellites: g.fix_satellites,
            hdop: decimal(g.hdop),
            altitude_m: decimal(g.altitude),
        },
        P::VTG(v) => Telemetry::Vtg {
            cog_deg: decimal(v.true_course),
            sog_kn: decimal(v.speed_over_ground),
        },
        P::HDT(h) => Telemetry::Hdt {
            heading_deg: decimal(h.heading),
        },
        P::ZDA(z) => {
            let utc = match (z.utc_time.and_then(time_of), z.year, z.month, z.day) {
                (Some(t), Some(y), Some(m), Some(d)) => Date::new(y as i16, m as i8, d as i8)
                    .ok()
                    .and_then(|date| date.to_datetime(t).to_zoned(jiff::tz::TimeZone::UTC).ok())
                    .map(|z| z.timestamp()),
                _ => None,
            };
            Telemetry::Zda { utc }
        }
        other => return Err(malformed(kind, format!("parsed as {other:?}"))),
    })
}

/// The body of a `$` sentence (between `$` and `*`) once its checksum is verified.
fn checked_body(text: &str) -> Result<&str, TelemetryError> {
    let star = text.find('*').ok_or(DecodeError::NoChecksum)?;
    let body = &text[1..star];
    let stated = parse_hex2(&text.as_bytes()[star + 1..]).ok_or(DecodeError::NoChecksum)?;
    let computed = nmea_checksum(body.as_bytes());
    if computed != stated {
        return Err(DecodeError::Checksum { computed, stated }.into());
    }
    Ok(body)
}

/// Fields of a `$` sentence after its checksum is verified.
fn fields<'a>(text: &'a str, kind: &str) -> Result<Vec<&'a str>, TelemetryError> {
    let body = checked_body(text)?;
    let f: Vec<&str> = body.split(',').collect();
    if f.len() < 2 {
        return Err(malformed(kind, "no fields"));
    }
    Ok(f)
}

fn num(kind: &str, s: &str, what: &str) -> Result<Option<f64>, TelemetryError> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<f64>()
        .map(Some)
        .map_err(|_| malformed(kind, format!("{what} {s:?} is not a number")))
}

fn status(s: &str) -> Option<TargetStatus> {
    match s {
        "L" => Some(TargetStatus::Lost),
        "Q" => Some(TargetStatus::Query),
        "T" => Some(TargetStatus::Tracking),
        _ => None,
    }
}

fn hhmmss(s: &str) -> Option<Time> {
    if s.len() < 6 || !s.is_char_boundary(6) {
        return None;
    }
    let h = s[0..2].parse().ok()?;
    let m = s[2..4].parse().ok()?;
    let sec: f64 = s[4..].parse().ok()?;
    let whole = sec.trunc();
    let nanos = ((sec - whole) * 1e9).round() as i32;
    Time::new(h, m, whole as i8, nanos.min(999_999_999)).ok()
}

/// `ddmm.mmmm,N` or `dddmm.mmmm,E` to signed degrees.
fn coordinate(
    kind: &str,
    value: &str,
    hemi: &str,
    deg_digits: usize,
) -> Result<f64, TelemetryError> {
    let bad = || malformed(kind, format!("bad coordinate {value:?},{hemi:?}"));
    if value.len() < deg_digits + 2 || !value.is_char_boundary(deg_digits) {
        return Err(bad());
    }
    let deg: f64 = value[..deg_digits].parse().map_err(|_| bad())?;
    let min: f64 = value[deg_digits..].parse().map_err(|_| bad())?;
    if min >= 60.0 {
        return Err(bad());
    }
    let v = deg + min / 60.0;
    let v = match hemi {
        "N" | "E" => v,
        "S" | "W" => -v,
        _ => return Err(bad()),
    };
    let limit = if deg_digits == 2 { 90.0 } else { 180.0 };
    if v.abs() > limit {
        return Err(bad());
    }
    Ok(v)
}

fn target_number(kind: &str, s: &str) -> Result<u8, TelemetryError> {
    s.parse::<u8>()
        .ok()
        .filter(|n| *n <= 99)
        .ok_or_else(|| malformed(kind, format!("target number {s:?}")))
}

fn opt_text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn parse_by_hand(text: &str, kind: &str) -> Result<Telemetry, TelemetryError> {
    let f = fields(text, kind)?;
    let get = |i: usize| f.get(i).copied().unwrap_or("");
    match kind {
        // $--TTM,xx,x.x,x.x,a,x.x,x.x,a,x.x,x.x,a,c--c,a,a,hhmmss.ss,a
        "TTM" => {
            if f.len() < 14 {
                return Err(malformed(kind, format!("{} fields, need 14", f.len() - 1)));
            }
            let unit = get(10).chars().next();
            Ok(Telemetry::Ttm {
                target: target_number(kind, get(1))?,
                distance: num(kind, get(2), "distance")?,
                bearing_deg: num(kind, get(3), "bearing")?,
                bearing_true: get(4) == "T",
                speed: num(kind, get(5), "speed")?,
                course_deg: num(kind, get(6), "course")?,
                course_true: get(7) == "T",
                cpa_distance: num(kind, get(8), "CPA distance")?,
                tcpa_min: num(kind, get(9), "time to CPA")?,
                distance_unit: unit,
                name: opt_text(get(11)),
                status: status(get(12)),
                reference: get(13) == "R",
                time: hhmmss(get(14)),
            })
        }
        // $--TLL,xx,llll.ll,a,yyyyy.yy,a,c--c,hhmmss.ss,a,a
        _ => {
            if f.len() < 7 {
                return Err(malformed(kind, format!("{} fields, need 6", f.len() - 1)));
            }
            Ok(Telemetry::Tll {
                target: target_number(kind, get(1))?,
                lat: coordinate(kind, get(2), get(3), 2)?,
                lon: coordinate(kind, get(4), get(5), 3)?,
                name: opt_text(get(6)),
                time: hhmmss(get(7)),
                status: status(get(8)),
                reference: get(9) == "R",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_checksum(body: &str) -> String {
        format!("${body}*{:02X}", nmea_checksum(body.as_bytes()))
    }

    #[test]
    fn rmc_through_the_crate_keeps_position_speed_and_tag_block_time() {
        let line = format!(
            "\\s:patrol-7,c:1795357520*{:02X}\\{}",
            nmea_checksum(b"s:patrol-7,c:1795357520"),
            with_checksum("GPRMC,225446,A,4916.45,N,12311.12,W,000.5,054.7,191194,020.3,E")
        );
        let t = parse_line(line.as_bytes()).unwrap();
        assert_eq!(t.source.as_deref(), Some("patrol-7"));
        assert_eq!(t.time.unwrap().as_second(), 1_795_357_520);
        let Telemetry::Rmc {
            lat,
            lon,
            sog_kn,
            valid,
            fix_time,
            ..
        } = t.data
        else {
            panic!("{t:?}")
        };
        assert!(valid);
        assert!((lat.unwrap() - 49.274_166).abs() < 1e-5);
        assert!((lon.unwrap() + 123.185_333).abs() < 1e-5);
        assert_eq!(sog_kn, Some(0.5));
        assert_eq!(fix_time, Some(Time::new(22, 54, 46, 0).unwrap()));
    }

    #[test]
    fn ttm_reads_range_bearing_speed_and_course() {
        let line =
            with_checksum("RATTM,11,3.25,47.5,T,14.2,216.0,T,0.5,12.3,N,BOAT,T,,123456.00,A");
        let t = parse_line(line.as_bytes()).unwrap();
        assert_eq!(t.talker, "RA");
        let Telemetry::Ttm {
            target,
            distance,
            bearing_deg,
            speed,
            course_deg,
            status,
            distance_unit,
            ..
        } = t.data
        else {
            panic!()
        };
        assert_eq!(target, 11);
        assert_eq!(distance, Some(3.25));
        assert_eq!(bearing_deg, Some(47.5));
        assert_eq!(speed, Some(14.2));
        assert_eq!(course_deg, Some(216.0));
        assert_eq!(status, Some(TargetStatus::Tracking));
        assert_eq!(distance_unit, Some('N'));
    }

    #[test]
    fn tll_gives_signed_degrees() {
        let line = with_checksum("RATLL,07,3542.600,N,01256.400,E,SKIFF,104512.00,T,");
        let t = parse_line(line.as_bytes()).unwrap();
        let Telemetry::Tll {
            lat,
            lon,
            target,
            name,
            ..
        } = t.data
        else {
            panic!()
        };
        assert_eq!(target, 7);
        assert!((lat - 35.71).abs() < 1e-9);
        assert!((lon - 12.94).abs() < 1e-9);
        assert_eq!(name.as_deref(), Some("SKIFF"));
    }

    #[test]
    fn bad_input_gets_a_reason() {
        let bad_sum = "$RATLL,07,3542.600,N,01256.400,E,SKIFF,104512.00,T,*00";
        assert_eq!(
            parse_line(bad_sum.as_bytes()).unwrap_err().reason(),
            "checksum"
        );
        let bad_lat = with_checksum("RATLL,07,3562.600,N,01256.400,E,,,T,");
        assert_eq!(
            parse_line(bad_lat.as_bytes()).unwrap_err().reason(),
            "malformed"
        );
        let gsv = with_checksum("GPGSV,1,1,00");
        assert_eq!(
            parse_line(gsv.as_bytes()).unwrap_err().reason(),
            "unsupported_sentence"
        );
        let vdm = "!AIVDM,1,1,,B,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A";
        assert_eq!(parse_line(vdm.as_bytes()).unwrap_err().reason(), "not_nmea");
    }

    /// Found by `cargo fuzz`: a `$` sentence with a multi-byte character in its address.
    #[test]
    fn non_ascii_sentences_are_rejected_not_sliced() {
        let e = parse_line("$G\u{613}RMC,1*00".as_bytes()).unwrap_err();
        assert_eq!(e.reason(), "malformed");
        let e = parse_line(b"$GP\xd8\x93MC,1*00").unwrap_err();
        assert_eq!(e.reason(), "malformed");
    }

    #[test]
    fn crate_sentences_get_the_same_checksum_reason() {
        let line = "$GPHDT,274.07,T*00";
        assert_eq!(
            parse_line(line.as_bytes()).unwrap_err().reason(),
            "checksum"
        );
        let ok = with_checksum("GPHDT,274.07,T");
        assert_eq!(
            parse_line(ok.as_bytes()).unwrap().data,
            Telemetry::Hdt {
                heading_deg: Some(274.07)
            }
        );
    }
}
