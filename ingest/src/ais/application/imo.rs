//! International application messages (DAC 1, IMO SN.1/Circ.236 and 289).

use super::tables::{self, legend};
use super::{
    ADDRESSED_START, BROADCAST_START, FieldValue, Fields, Rec, stamp_plain, stamp_z, text_to_end,
};
use crate::ais::bits::Bits;

/// Type 6, DAC 1.
pub(super) fn addressed(fi: u8, bits: &Bits) -> Option<Fields> {
    match fi {
        12 => Some(dangerous_cargo_236(bits)),
        14 => Some(tidal_window(bits, &TIDAL_236)),
        15 => Some(air_draught(bits, ADDRESSED_START)),
        16 => Some(persons_addressed(bits)),
        18 => Some(clearance_time(bits)),
        20 => Some(berthing_data(bits)),
        25 => Some(dangerous_cargo_289(bits)),
        28 => Some(route_info(bits, ADDRESSED_START)),
        30 => Some(text_description(bits, ADDRESSED_START)),
        32 => Some(tidal_window(bits, &TIDAL_289)),
        _ => None,
    }
}

/// Type 8, DAC 1.
pub(super) fn broadcast(fi: u8, bits: &Bits) -> Option<Fields> {
    match fi {
        11 => Some(met_hydro_236(bits)),
        13 => Some(fairway_closed(bits)),
        15 => Some(air_draught(bits, BROADCAST_START)),
        16 => persons_broadcast(bits),
        17 => Some(vts_targets(bits)),
        19 => Some(traffic_signal(bits)),
        27 => Some(route_info(bits, BROADCAST_START)),
        29 => Some(text_description(bits, BROADCAST_START)),
        31 => Some(met_hydro_289(bits)),
        _ => None,
    }
}

/// IMO 236 dangerous cargo indication (type 6, FI 12).
fn dangerous_cargo_236(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.text("lastport", 88, 5);
    r.put(
        "departure",
        stamp_z(
            bits.u(118, 4),
            bits.u(122, 5),
            bits.u(127, 5),
            bits.u(132, 6),
        ),
    );
    r.text("nextport", 138, 5);
    r.put(
        "eta",
        stamp_z(
            bits.u(168, 4),
            bits.u(172, 5),
            bits.u(177, 5),
            bits.u(182, 6),
        ),
    );
    r.text("dangerous", 188, 20);
    r.text("imdcat", 308, 4);
    r.uint("unid", 332, 13);
    r.uint("amount", 345, 10);
    r.uint("unit", 355, 2);
    r.finish()
}

/// Bit layout of one tidal window record, relative to the record start.
struct TidalLayout {
    /// Record size in bits.
    size: usize,
    /// (offset, width) of the longitude.
    lon: (usize, usize),
    /// (offset, width) of the latitude.
    lat: (usize, usize),
    /// Offset of the from-hour; the four times and the current follow in order.
    times: usize,
    /// Width of the current speed (the last field).
    cspeed_width: usize,
}

/// IMO 236 (FI 14): latitude first, 27/28-bit positions, 7-bit current speed.
const TIDAL_236: TidalLayout = TidalLayout {
    size: 93,
    lon: (27, 28),
    lat: (0, 27),
    times: 55,
    cspeed_width: 7,
};

/// IMO 289 (FI 32): longitude first, 25/24-bit positions, 8-bit current speed.
const TIDAL_289: TidalLayout = TidalLayout {
    size: 88,
    lon: (0, 25),
    lat: (25, 24),
    times: 49,
    cspeed_width: 8,
};

/// Tidal window (type 6, FI 14 and FI 32; gpsd prints both the same way).
///
/// gpsd decodes a record wherever one *starts* at or before the end of the message, so
/// a message that ends exactly on a record boundary gets one more, all-zero record (and
/// a cut record is completed with zeros).
fn tidal_window(bits: &Bits, layout: &TidalLayout) -> Fields {
    const BASE: usize = 97;
    let mut r = Rec::new(bits);
    r.uint("month", 88, 4);
    r.uint("day", 92, 5);
    let mut tidals = Vec::new();
    let mut a = BASE;
    while a <= bits.len() {
        let mut t = Rec::new(bits);
        t.int("lon", a + layout.lon.0, layout.lon.1);
        t.int("lat", a + layout.lat.0, layout.lat.1);
        let m = a + layout.times;
        t.uint("from_hour", m, 5);
        t.uint("from_min", m + 5, 6);
        t.uint("to_hour", m + 11, 5);
        t.uint("to_min", m + 16, 6);
        t.uint("cdir", m + 22, 9);
        t.uint("cspeed", m + 31, layout.cspeed_width);
        tidals.push(t.finish());
        a += layout.size;
    }
    r.put("tidals", FieldValue::List(tidals));
    r.finish()
}

/// IMO 236 extended ship static data (type 6 and type 8, FI 15): air draught, 11 bits
/// in 0.1 m at the start of the payload.
///
/// gpsd 3.22 reads bit 56 for both types, which for type 6 is inside the destination
/// MMSI; we read the payload (CONFORMANCE.md, D12).
fn air_draught(bits: &Bits, payload_start: usize) -> Fields {
    let mut r = Rec::new(bits);
    r.uint("airdraught", payload_start, 11);
    r.finish()
}

/// Number of persons on board (type 6, FI 16): 13 bits at the start of the payload.
///
/// gpsd 3.22 reads bit 55 unless the payload is 136 bits; we always read the payload
/// (CONFORMANCE.md, D12). Persons on board is what a rescue is planned on.
fn persons_addressed(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.uint("persons", ADDRESSED_START, 13);
    r.finish()
}

/// Number of persons on board (type 8, FI 16): 13 bits at the start of the payload,
/// decoded (as in gpsd) for payloads of 72 or 136 bits.
///
/// gpsd 3.22 prints a count from the wrong union member, always 0; we print the
/// transmitted count (CONFORMANCE.md, D12).
fn persons_broadcast(bits: &Bits) -> Option<Fields> {
    match bits.len().checked_sub(BROADCAST_START) {
        Some(72 | 136) => {
            let mut r = Rec::new(bits);
            r.uint("persons", BROADCAST_START, 13);
            Some(r.finish())
        }
        _ => None,
    }
}

/// IMO 289 clearance time to enter port (type 6, FI 18).
fn clearance_time(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.uint("linkage", 88, 10);
    r.put(
        "arrival",
        stamp_z(
            bits.u(98, 4),
            bits.u(102, 5),
            bits.u(107, 5),
            bits.u(112, 6),
        ),
    );
    r.text("portname", 118, 20);
    r.text("destination", 238, 5);
    r.int("lon", 268, 25);
    r.int("lat", 293, 24);
    r.finish()
}

/// IMO 289 berthing data (type 6, FI 20). The arrival time is not zero-padded, and
/// gpsd prints the berth depth last.
fn berthing_data(bits: &Bits) -> Fields {
    /// The 2-bit service fields from `agent` to `future2`, in order from bit 139.
    const SERVICES: [&str; 26] = [
        "agent",
        "fuel",
        "chandler",
        "stevedore",
        "electrical",
        "water",
        "customs",
        "cartage",
        "crane",
        "lift",
        "medical",
        "navrepair",
        "provisions",
        "shiprepair",
        "surveyor",
        "steam",
        "tugs",
        "solidwaste",
        "liquidwaste",
        "hazardouswaste",
        "ballast",
        "additional",
        "regional1",
        "regional2",
        "future1",
        "future2",
    ];
    let mut r = Rec::new(bits);
    r.uint("linkage", 88, 10);
    r.uint("berth_length", 98, 9);
    let position = bits.u(115, 3);
    r.coded(
        "position",
        "position_text",
        position,
        legend(&tables::MOORING_POSITION, position, ""),
    );
    r.put(
        "arrival",
        super::stamp_loose(
            bits.u(118, 4),
            bits.u(122, 5),
            bits.u(127, 5),
            bits.u(132, 6),
        ),
    );
    r.uint("availability", 138, 1);
    for (k, name) in SERVICES.iter().enumerate() {
        r.uint(name, 139 + 2 * k, 2);
    }
    r.text("berth_name", 191, 20);
    r.int("berth_lon", 311, 25);
    r.int("berth_lat", 336, 24);
    r.uint("berth_depth", 107, 8);
    r.finish()
}

/// IMO 289 dangerous cargo indication (type 6, FI 25): a 17-bit cargo record wherever
/// one starts before the end of the message (a cut record is completed with zeros).
fn dangerous_cargo_289(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.uint("unit", 88, 2);
    r.uint("amount", 90, 10);
    let mut cargos = Vec::new();
    let mut a = 100;
    while a < bits.len() {
        let mut c = Rec::new(bits);
        c.uint("code", a, 4);
        c.uint("subtype", a + 4, 13);
        cargos.push(c.finish());
        a += 17;
    }
    r.put("cargos", FieldValue::List(cargos));
    r.finish()
}

/// IMO 289 route information (type 6 FI 28, type 8 FI 27); `base` is where the
/// payload starts. gpsd prints as many waypoints as the 5-bit count says (up to 31),
/// whatever the message length; missing bits read as zeros.
fn route_info(bits: &Bits, base: usize) -> Fields {
    let mut r = Rec::new(bits);
    r.uint("linkage", base, 10);
    r.uint("sender", base + 10, 3);
    let rtype = bits.u(base + 13, 5);
    r.coded("rtype", "rtype_text", rtype, tables::route_type(rtype));
    r.put(
        "start",
        stamp_z(
            bits.u(base + 18, 4),
            bits.u(base + 22, 5),
            bits.u(base + 27, 5),
            bits.u(base + 32, 6),
        ),
    );
    r.uint("duration", base + 38, 18);
    let waycount = bits.u(base + 56, 5) as usize;
    let first = base + 61;
    let waypoints = (0..waycount)
        .map(|k| {
            let a = first + 55 * k;
            let mut w = Rec::new(bits);
            w.int("lon", a, 28);
            w.int("lat", a + 28, 27);
            w.finish()
        })
        .collect();
    r.put("waypoints", FieldValue::List(waypoints));
    r.finish()
}

/// IMO 289 text description (type 6 FI 30, type 8 FI 29): whole six-bit characters
/// from after the linkage id to the end of the message.
fn text_description(bits: &Bits, base: usize) -> Fields {
    let mut r = Rec::new(bits);
    r.uint("linkage", base, 10);
    r.put("text", FieldValue::Text(text_to_end(bits, base + 10)));
    r.finish()
}

/// IMO 236 meteorological and hydrological data (type 8, FI 11). Unscaled, gpsd
/// still adds `preciptype_text` and `ice_text`.
fn met_hydro_236(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.int("lat", 56, 24);
    r.int("lon", 80, 25);
    r.put(
        "timestamp",
        FieldValue::Text(format!(
            "{:02}T{:02}:{:02}Z",
            bits.u(105, 5),
            bits.u(110, 5),
            bits.u(115, 6)
        )),
    );
    r.uint("wspeed", 121, 7);
    r.uint("wgust", 128, 7);
    r.uint("wdir", 135, 9);
    r.uint("wgustdir", 144, 9);
    r.uint("humidity", 164, 7);
    r.uint("airtemp", 153, 11);
    r.uint("dewpoint", 171, 10);
    r.uint("pressure", 181, 9);
    r.uint("pressuretend", 190, 2);
    r.uint("visibility", 192, 8);
    r.uint("waterlevel", 200, 9);
    r.uint("leveltrend", 209, 2);
    r.uint("cspeed", 211, 8);
    r.uint("cdir", 219, 9);
    r.uint("cspeed2", 228, 8);
    r.uint("cdir2", 236, 9);
    r.uint("cdepth2", 245, 5);
    r.uint("cspeed3", 250, 8);
    r.uint("cdir3", 258, 9);
    r.uint("cdepth3", 267, 5);
    r.uint("waveheight", 272, 8);
    r.uint("waveperiod", 280, 6);
    r.uint("wavedir", 286, 9);
    r.uint("swellheight", 295, 8);
    r.uint("swellperiod", 303, 6);
    r.uint("swelldir", 309, 9);
    r.uint("seastate", 318, 4);
    r.uint("watertemp", 322, 10);
    let precip = bits.u(332, 3);
    r.coded(
        "preciptype",
        "preciptype_text",
        precip,
        legend(&tables::PRECIP_TYPES, precip, ""),
    );
    r.uint("salinity", 335, 9);
    let ice = bits.u(344, 2);
    r.coded("ice", "ice_text", ice, legend(&tables::ICE, ice, ""));
    r.finish()
}

/// IMO 236 fairway closed (type 8, FI 13). The from/to times are month-day-hour-minute
/// without a trailing `Z`.
fn fairway_closed(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.text("reason", 56, 20);
    r.text("closefrom", 176, 20);
    r.text("closeto", 296, 20);
    r.uint("radius", 416, 10);
    r.uint("extunit", 426, 2);
    r.put(
        "from",
        stamp_plain(
            bits.u(433, 4),
            bits.u(428, 5),
            bits.u(437, 5),
            bits.u(442, 6),
        ),
    );
    r.put(
        "to",
        stamp_plain(
            bits.u(453, 4),
            bits.u(448, 5),
            bits.u(457, 5),
            bits.u(462, 6),
        ),
    );
    r.finish()
}

/// IMO 289 VTS-generated/synthetic targets (type 8, FI 17).
///
/// Like the tidal windows, a 122-bit target is decoded wherever one starts at or before
/// the end of the message. The identifier is printed under the key named by its type:
/// an MMSI or IMO number as a *string* of the low 32 bits of the 42-bit field, a
/// callsign or other id as 7 characters of six-bit text.
fn vts_targets(bits: &Bits) -> Fields {
    const SIZE: usize = 122;
    let mut targets = Vec::new();
    let mut a = BROADCAST_START;
    while a <= bits.len() {
        let mut t = Rec::new(bits);
        let idtype = bits.u(a, 2);
        let key = legend(&tables::ID_TYPES, idtype, "other");
        t.coded("idtype", "idtype_text", idtype, key);
        let id = match idtype {
            0 | 1 => bits.u(a + 12, 32).to_string(),
            _ => bits.text(a + 2, 7),
        };
        t.put(key, FieldValue::Text(id));
        t.int("lat", a + 48, 24);
        t.int("lon", a + 72, 25);
        t.uint("course", a + 97, 9);
        t.uint("second", a + 106, 6);
        t.uint("speed", a + 112, 10);
        targets.push(t.finish());
        a += SIZE;
    }
    vec![("targets", FieldValue::List(targets))]
}

/// IMO 289 marine traffic signal (type 8, FI 19).
///
/// Caution: gpsd 3.22 prints this one oddly. It always prints `lon` and `lat` scaled,
/// with or without `-u`, as `%.4f` of value / 60000 (degrees); here they are the raw
/// integers. It also leaves out the comma between `nextsignal` and `nextsignal_text`
/// and prints the legends unescaped (some contain `"`), so its line is not valid JSON.
fn traffic_signal(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.uint("linkage", 56, 10);
    r.text("station", 66, 20);
    r.int("lon", 186, 25);
    r.int("lat", 211, 24);
    r.uint("status", 235, 2);
    let signal = bits.u(237, 5);
    r.coded(
        "signal",
        "signal_text",
        signal,
        legend(&tables::SIGNALS, signal, tables::SIGNAL_INVALID),
    );
    r.uint("hour", 242, 5);
    r.uint("minute", 247, 6);
    let next = bits.u(253, 5);
    r.coded(
        "nextsignal",
        "nextsignal_text",
        next,
        legend(&tables::SIGNALS, next, tables::SIGNAL_INVALID),
    );
    r.finish()
}

/// IMO 289 meteorological and hydrological data (type 8, FI 31). Unscaled, gpsd adds
/// no legend texts here (unlike FI 11).
fn met_hydro_289(bits: &Bits) -> Fields {
    let mut r = Rec::new(bits);
    r.int("lat", 81, 24);
    r.int("lon", 56, 25);
    r.flag("accuracy", 105);
    r.put(
        "timestamp",
        FieldValue::Text(format!(
            "{:02}T{:02}:{:02}Z",
            bits.u(106, 5),
            bits.u(111, 5),
            bits.u(116, 6)
        )),
    );
    r.uint("wspeed", 122, 7);
    r.uint("wgust", 129, 7);
    r.uint("wdir", 136, 9);
    r.uint("wgustdir", 145, 9);
    r.uint("humidity", 165, 7);
    r.int("airtemp", 154, 11);
    r.int("dewpoint", 172, 10);
    r.uint("pressure", 182, 9);
    r.uint("pressuretend", 191, 2);
    r.flag("visgreater", 193);
    r.uint("visibility", 194, 7);
    r.uint("waterlevel", 201, 12);
    r.uint("leveltrend", 213, 2);
    r.uint("cspeed", 215, 8);
    r.uint("cdir", 223, 9);
    r.uint("cspeed2", 232, 8);
    r.uint("cdir2", 240, 9);
    r.uint("cdepth2", 249, 5);
    r.uint("cspeed3", 254, 8);
    r.uint("cdir3", 262, 9);
    r.uint("cdepth3", 271, 5);
    r.uint("waveheight", 276, 8);
    r.uint("waveperiod", 284, 6);
    r.uint("wavedir", 290, 9);
    r.uint("swellheight", 299, 8);
    r.uint("swellperiod", 307, 6);
    r.uint("swelldir", 313, 9);
    r.uint("seastate", 322, 4);
    r.int("watertemp", 326, 10);
    r.uint("preciptype", 336, 3);
    r.uint("salinity", 339, 9);
    r.uint("ice", 348, 2);
    r.finish()
}
