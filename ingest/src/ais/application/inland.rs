//! Regional application messages: Inland AIS (DAC 200) and the GLA AtoN monitoring
//! message of the UK and Ireland (DAC 235 and 250).
//!
//! gpsd decodes each of these only when the whole message has exactly the standard
//! length; any other length keeps the raw `data`.

use super::tables::{self, legend};
use super::{FieldValue, Fields, Rec, stamp_loose};
use crate::ais::bits::Bits;

/// Type 6, DAC 200.
pub(super) fn addressed(fi: u8, bits: &Bits) -> Option<Fields> {
    match (fi, bits.len()) {
        (21, 248) => Some(lock_times(bits, LockTime::Eta)),
        (22, 232) => Some(lock_times(bits, LockTime::Rta)),
        (55, 168) => Some(persons_on_board(bits)),
        _ => None,
    }
}

/// Type 8, DAC 200.
pub(super) fn broadcast(fi: u8, bits: &Bits) -> Option<Fields> {
    match (fi, bits.len()) {
        (10, 168) => static_voyage(bits),
        (23, 256) => Some(emma_warning(bits)),
        (24, 168) => Some(water_levels(bits)),
        (40, 168) => Some(signal_status(bits)),
        _ => None,
    }
}

/// Which of the two lock/bridge/terminal messages.
#[derive(Clone, Copy)]
enum LockTime {
    /// FI 21: ETA, with tugs and air draught.
    Eta,
    /// FI 22: RTA, with a status.
    Rta,
}

/// ETA or RTA at lock/bridge/terminal (type 6, FI 21 / FI 22). The time is printed
/// without zero padding and without `Z` (`"3-28T14:9"`). gpsd prints the five texts
/// without JSON escaping, so a `"` or `\` in them makes its line invalid JSON.
fn lock_times(bits: &Bits, kind: LockTime) -> Fields {
    let mut r = Rec::new(bits);
    r.text("country", 88, 2);
    r.text("locode", 100, 3);
    r.text("section", 118, 5);
    r.text("terminal", 148, 5);
    r.text("hectometre", 178, 5);
    r.put(
        "eta",
        stamp_loose(
            bits.u(208, 4),
            bits.u(212, 5),
            bits.u(217, 5),
            bits.u(222, 6),
        ),
    );
    match kind {
        LockTime::Eta => {
            r.uint("tugs", 228, 3);
            r.uint("airdraught", 231, 12);
        }
        LockTime::Rta => {
            let status = bits.u(228, 2);
            r.coded(
                "status",
                "status_text",
                status,
                legend(&tables::RTA_STATUS, status, ""),
            );
        }
    }
    r.finish()
}

/// Number of persons on board (type 6, FI 55).
fn persons_on_board(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.uint("crew", 88, 8);
    r.uint("passengers", 96, 13);
    r.uint("personnel", 109, 8);
    r.finish()
}

/// GLA AtoN monitoring data (type 6, DAC 235 or 250, FI 10), 136-bit messages only.
pub(super) fn gla_aton_monitoring(bits: &Bits) -> Option<Fields> {
    if bits.len() != 136 {
        return None;
    }
    let mut r = Rec::new(bits);
    r.flag("off_pos", 131);
    r.flag("alarm", 122);
    r.uint("stat_ext", 123, 8);
    r.uint("ana_int", 88, 10);
    r.uint("ana_ext1", 98, 10);
    r.uint("ana_ext2", 108, 10);
    let racon = bits.u(118, 2);
    r.coded(
        "racon",
        "racon_text",
        racon,
        legend(&tables::RACON_STATUS, racon, ""),
    );
    let light = bits.u(120, 2);
    r.coded(
        "light",
        "light_text",
        light,
        legend(&tables::LIGHT_STATUS, light, ""),
    );
    Some(r.finish())
}

/// Inland ship static and voyage related data (type 8, FI 10). gpsd keeps the raw data
/// when the hazard code is above 5.
fn static_voyage(bits: &Bits) -> Option<Fields> {
    const HAZARD_MAX: u32 = 5;
    let hazard = bits.u(141, 3);
    if hazard > HAZARD_MAX {
        return None;
    }
    let mut r = Rec::new(bits);
    r.text("vin", 56, 8);
    r.uint("length", 104, 13);
    r.uint("beam", 117, 10);
    let shiptype = bits.u(127, 14);
    r.coded(
        "shiptype",
        "shiptype_text",
        shiptype,
        tables::inland_shiptype(shiptype),
    );
    r.coded(
        "hazard",
        "hazard_text",
        hazard,
        legend(&tables::HAZARD_TYPES, hazard, "INVALID HAZARD TYPE"),
    );
    r.uint("draught", 144, 11);
    let loaded = bits.u(155, 2);
    r.coded(
        "loaded",
        "loaded_text",
        loaded,
        legend(&tables::LOAD_STATUS, loaded, "INVALID LOAD STATUS"),
    );
    r.flag("speed_q", 157);
    r.flag("course_q", 158);
    r.flag("heading_q", 159);
    Some(r.finish())
}

/// EMMA weather warning (type 8, FI 23).
///
/// gpsd's `start` puts the start *hour* where the day belongs and the day at the end:
/// `"YYYY-MM-HHTmm:DD"` (year + 2000, month, hour, minute, day). `end` is in the right
/// order, `"YYYY-MM-DDTHH:MM"`.
fn emma_warning(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    let year = |start| bits.u(start, 8) + 2000;
    r.put(
        "start",
        FieldValue::Text(format!(
            "{:4}-{:02}-{:02}T{:02}:{:02}",
            year(56),
            bits.u(64, 4),
            bits.u(90, 5),
            bits.u(95, 6),
            bits.u(68, 5)
        )),
    );
    r.put(
        "end",
        FieldValue::Text(format!(
            "{:4}-{:02}-{:02}T{:02}:{:02}",
            year(73),
            bits.u(81, 4),
            bits.u(85, 5),
            bits.u(101, 5),
            bits.u(106, 6)
        )),
    );
    r.int("start_lon", 112, 28);
    r.int("start_lat", 140, 27);
    r.int("end_lon", 167, 28);
    r.int("end_lat", 195, 27);
    let kind = bits.u(222, 4);
    r.coded(
        "type",
        "type_text",
        kind,
        legend(&tables::EMMA_TYPES, kind, "INVALID EMMA TYPE"),
    );
    r.int("min", 226, 9);
    r.int("max", 235, 9);
    let class = bits.u(244, 2);
    r.coded(
        "class",
        "class_text",
        class,
        legend(&tables::EMMA_CLASSES, class, "INVALID EMMA TYPE"),
    );
    let wind = bits.u(246, 4);
    r.coded(
        "wind",
        "wind_text",
        wind,
        legend(&tables::EMMA_WINDS, wind, "INVALID EMMA WIND DIRECTION"),
    );
    r.finish()
}

/// Water levels (type 8, FI 24): a country code and always four gauges. gpsd prints
/// the country without JSON escaping.
fn water_levels(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.text("country", 56, 2);
    let gauges = (0..4)
        .map(|k| {
            let a = 68 + 25 * k;
            let mut g = Rec::new(bits);
            g.uint("id", a, 11);
            g.int("level", a + 11, 14);
            g.finish()
        })
        .collect();
    r.put("gauges", FieldValue::List(gauges));
    r.finish()
}

/// Signal status (type 8, FI 40).
fn signal_status(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.int("lon", 56, 28);
    r.int("lat", 84, 27);
    r.uint("form", 111, 4);
    r.uint("facing", 115, 9);
    let direction = bits.u(124, 3);
    r.coded(
        "direction",
        "direction_text",
        direction,
        legend(&tables::SIGNAL_DIRECTIONS, direction, "INVALID DIRECTION"),
    );
    let status = bits.u(127, 30);
    r.coded(
        "status",
        "status_text",
        status,
        legend(&tables::SIGNAL_LIGHTS, status, "INVALID STATUS"),
    );
    r.finish()
}
