//! The NMEA 0183 sentences a patrol unit's instruments send: GNSS (RMC), gyro compass
//! (HDT) and ARPA radar (TTM, TLL), each behind a tag block with the unit and the time,
//! as the unit's forwarder sends them.

use std::fmt::Write;

use ingest::ais::nmea_checksum;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::geodesy::Position;

/// `\s:{source},c:{unix seconds}*hh\` then `${body}*hh`.
pub(crate) fn sentence(source: &str, at: Timestamp, body: &str) -> String {
    let tag = format!("s:{source},c:{}", at.as_second());
    format!(
        "\\{tag}*{:02X}\\${body}*{:02X}",
        nmea_checksum(tag.as_bytes()),
        nmea_checksum(body.as_bytes())
    )
}

fn hhmmss(at: Timestamp) -> String {
    let t = at.to_zoned(TimeZone::UTC);
    format!("{:02}{:02}{:02}.00", t.hour(), t.minute(), t.second())
}

fn ddmmyy(at: Timestamp) -> String {
    let t = at.to_zoned(TimeZone::UTC);
    format!("{:02}{:02}{:02}", t.day(), t.month(), t.year() % 100)
}

/// `ddmm.mmmm,N` / `dddmm.mmmm,E`.
fn lat_lon(p: Position) -> String {
    let mut s = String::with_capacity(32);
    let lat = p.lat.abs();
    let lon = p.lon.abs();
    let _ = write!(
        s,
        "{:02}{:07.4},{},{:03}{:07.4},{}",
        lat.trunc() as u32,
        lat.fract() * 60.0,
        if p.lat >= 0.0 { 'N' } else { 'S' },
        lon.trunc() as u32,
        lon.fract() * 60.0,
        if p.lon >= 0.0 { 'E' } else { 'W' }
    );
    s
}

/// An angle rounded to the tenth written, in [0, 360): 359.96 is 0.0, never 360.0.
fn angle(deg: f64) -> f64 {
    ((deg * 10.0).round() / 10.0).rem_euclid(360.0)
}

/// A GNSS fix: `GPRMC`.
pub(crate) fn rmc(at: Timestamp, p: Position, sog_kn: f64, cog_deg: f64) -> String {
    format!(
        "GPRMC,{},A,{},{:.1},{:.1},{},,,A",
        hhmmss(at),
        lat_lon(p),
        sog_kn.max(0.0),
        angle(cog_deg),
        ddmmyy(at)
    )
}

/// A true heading: `HEHDT`.
pub(crate) fn hdt(heading_deg: f64) -> String {
    format!("HEHDT,{:.1},T", angle(heading_deg))
}

/// A tracked target's status letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetState {
    /// `Q`: being acquired.
    Acquiring,
    /// `T`: tracked.
    Tracking,
    /// `L`: lost.
    Lost,
}

impl TargetState {
    fn letter(self) -> char {
        match self {
            TargetState::Acquiring => 'Q',
            TargetState::Tracking => 'T',
            TargetState::Lost => 'L',
        }
    }
}

/// What the radar measured of one target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) number: u8,
    pub(crate) range_nm: f64,
    pub(crate) bearing_deg: f64,
    pub(crate) speed_kn: f64,
    pub(crate) course_deg: f64,
    pub(crate) cpa_nm: f64,
    pub(crate) tcpa_min: f64,
    pub(crate) state: TargetState,
}

/// A tracked target relative to own ship, true bearing and course: `RATTM`.
pub(crate) fn ttm(at: Timestamp, t: &Target) -> String {
    format!(
        "RATTM,{:02},{:.2},{:.1},T,{:.1},{:.1},T,{:.2},{:.1},N,,{},,{},A",
        t.number,
        t.range_nm,
        angle(t.bearing_deg),
        t.speed_kn.max(0.0),
        angle(t.course_deg),
        t.cpa_nm,
        t.tcpa_min,
        t.state.letter(),
        hhmmss(at)
    )
}

/// A tracked target's position: `RATLL`.
pub(crate) fn tll(at: Timestamp, number: u8, p: Position, state: TargetState) -> String {
    format!(
        "RATLL,{number:02},{},,{},{},",
        lat_lon(p),
        hhmmss(at),
        state.letter()
    )
}

/// Closest point of approach of a target at `rel` (east, north NM from own ship) moving
/// at `vel` relative to own ship (east, north kn): (CPA NM, TCPA minutes).
pub(crate) fn cpa(rel: (f64, f64), vel: (f64, f64)) -> (f64, f64) {
    let v2 = vel.0 * vel.0 + vel.1 * vel.1;
    if v2 < 1e-9 {
        return ((rel.0 * rel.0 + rel.1 * rel.1).sqrt(), 0.0);
    }
    let t_h = -(rel.0 * vel.0 + rel.1 * vel.1) / v2;
    let (x, y) = (rel.0 + vel.0 * t_h.max(0.0), rel.1 + vel.1 * t_h.max(0.0));
    ((x * x + y * y).sqrt(), t_h * 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest::telemetry::{Telemetry, parse_line};

    #[test]
    fn ingest_reads_what_the_unit_sends() {
        let at: Timestamp = "2026-11-22T02:15:07Z".parse().unwrap();
        let p = Position {
            lat: 35.2058,
            lon: 12.4130,
        };
        let l = sentence("cp-301", at, &rmc(at, p, 11.96, 271.4));
        let r = parse_line(l.as_bytes()).unwrap();
        assert_eq!(r.source.as_deref(), Some("cp-301"));
        assert_eq!(r.time, Some(at));
        let Telemetry::Rmc {
            lat,
            lon,
            sog_kn,
            valid,
            ..
        } = r.data
        else {
            panic!("{l}")
        };
        assert!(valid);
        assert!((lat.unwrap() - p.lat).abs() < 1e-5 && (lon.unwrap() - p.lon).abs() < 1e-5);
        assert_eq!(sog_kn, Some(12.0));
        let t = Target {
            number: 7,
            range_nm: 3.456,
            bearing_deg: 359.96,
            speed_kn: 2.1,
            course_deg: 15.0,
            cpa_nm: 0.4,
            tcpa_min: -3.2,
            state: TargetState::Tracking,
        };
        let l = sentence("cp-301", at, &ttm(at, &t));
        let Telemetry::Ttm {
            target,
            distance,
            bearing_deg,
            bearing_true,
            ..
        } = parse_line(l.as_bytes()).unwrap().data
        else {
            panic!("{l}")
        };
        assert_eq!((target, distance, bearing_true), (7, Some(3.46), true));
        assert_eq!(bearing_deg, Some(0.0));
        let l = sentence("cp-301", at, &tll(at, 7, p, TargetState::Acquiring));
        let Telemetry::Tll { target, lat, .. } = parse_line(l.as_bytes()).unwrap().data else {
            panic!("{l}")
        };
        assert_eq!(target, 7);
        assert!((lat - p.lat).abs() < 1e-5);
        let l = sentence("cp-301", at, &hdt(-1.0));
        assert!(
            matches!(parse_line(l.as_bytes()).unwrap().data, Telemetry::Hdt { heading_deg: Some(h) } if h == 359.0)
        );
    }

    #[test]
    fn cpa_of_a_crossing_target() {
        // 2 NM east, moving west at 10 kn relative, 1 NM north of our line: CPA 1 NM in 12 min.
        let (d, t) = cpa((2.0, 1.0), (-10.0, 0.0));
        assert!((d - 1.0).abs() < 1e-9 && (t - 12.0).abs() < 1e-9);
    }
}
