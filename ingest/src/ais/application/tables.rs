//! Legend tables gpsd 3.22 prints next to some coded values (`*_text` fields).
//!
//! The wording, spelling and punctuation are gpsd's own, byte for byte, because the
//! legends are part of its JSON output.

/// Look a legend up, with gpsd's fallback text for codes past the end of the table.
pub(super) fn legend(table: &[&'static str], code: u32, fallback: &'static str) -> &'static str {
    usize::try_from(code)
        .ok()
        .and_then(|i| table.get(i).copied())
        .unwrap_or(fallback)
}

/// Route types of IMO 289 route information (DAC 1, FI 27 and 28), 5-bit code.
pub(super) fn route_type(code: u32) -> &'static str {
    match code {
        0 => "Undefined (default)",
        1 => "Mandatory",
        2 => "Recommended",
        3 => "Alternative",
        4 => "Recommended route through ice",
        5 => "Ship route plan",
        31 => "Cancel route identified by message linkage",
        _ => "Reserved for future use.",
    }
}

/// Target identifier kinds of IMO 289 VTS targets (DAC 1, FI 17); also the JSON key
/// under which the identifier is printed.
pub(super) const ID_TYPES: [&str; 4] = ["mmsi", "imo", "callsign", "other"];

/// RACON status of GLA AtoN monitoring (DAC 235/250, FI 10).
pub(super) const RACON_STATUS: [&str; 4] = [
    "No RACON installed",
    "RACON not monitored",
    "RACON operational",
    "RACON ERROR",
];

/// Light status of GLA AtoN monitoring (DAC 235/250, FI 10).
pub(super) const LIGHT_STATUS: [&str; 4] = [
    "No light or no monitoring",
    "Light ON",
    "Light OFF",
    "Light ERROR",
];

/// Status of an inland RTA at lock/bridge/terminal (DAC 200, FI 22).
pub(super) const RTA_STATUS: [&str; 4] =
    ["Operational", "Limited operation", "Out of order", "N/A"];

/// Mooring positions of IMO 289 berthing data (DAC 1, FI 20), 3-bit code.
pub(super) const MOORING_POSITION: [&str; 8] = [
    "Not available",
    "Port-side to",
    "Starboard-side to",
    "Mediterranean (end-on) mooring",
    "Mooring buoy",
    "Anchorage",
    "Reserved for future use",
    "Reserved for future use",
];

/// Precipitation types (WMO 306 code table 4.201) of IMO 236 met/hydro (DAC 1, FI 11).
pub(super) const PRECIP_TYPES: [&str; 8] = [
    "reserved",
    "rain",
    "thunderstorm",
    "freezing rain",
    "mixed/ice",
    "snow",
    "reserved",
    "N/A",
];

/// Sea-ice codes of IMO 236 met/hydro (DAC 1, FI 11).
pub(super) const ICE: [&str; 4] = ["no", "yes", "reserved", "N/A"];

/// Signals of IMO 289 marine traffic signals (DAC 1, FI 19).
pub(super) const SIGNALS: [&str; 15] = [
    "N/A",
    "Serious emergency \u{2013} stop or divert according to instructions.",
    "Vessels shall not proceed.",
    "Vessels may proceed. One way traffic.",
    "Vessels may proceed. Two way traffic.",
    "Vessels shall proceed on specific orders only.",
    "Vessels in main channel shall not proceed.",
    "Vessels in main channel shall proceed on specific orders only.",
    "Vessels in main channel shall proceed on specific orders only.",
    "I = \"in-bound\" only acceptable.",
    "O = \"out-bound\" only acceptable.",
    "F = both \"in- and out-bound\" acceptable.",
    "XI = Code will shift to \"I\" in due time.",
    "XO = Code will shift to \"O\" in due time.",
    "X = Vessels shall proceed only on direction.",
];

/// Fallback for [`SIGNALS`].
pub(super) const SIGNAL_INVALID: &str = "INVALID SIGNAL TYPE";

/// Inland (ERI) ship types of DAC 200 FI 10, as (ERI code, IMO/ITU code, legend).
/// gpsd matches a transmitted type against either code, first match wins, and falls
/// back to [`INLAND_SHIPTYPE_ILLEGAL`] (gpsd's table terminator).
const INLAND_SHIPTYPES: &[(u32, u32, &str)] = &[
    (8000, 99, "Vessel, type unknown"),
    (8010, 79, "Motor freighter"),
    (8020, 89, "Motor tanker"),
    (8021, 80, "Motor tanker, liquid cargo, type N"),
    (8022, 80, "Motor tanker, liquid cargo, type C"),
    (
        8023,
        89,
        "Motor tanker, dry cargo as if liquid (e.g. cement)",
    ),
    (8030, 79, "Container vessel"),
    (8040, 80, "Gas tanker"),
    (8050, 79, "Motor freighter, tug"),
    (8060, 89, "Motor tanker, tug"),
    (8070, 79, "Motor freighter with one or more ships alongside"),
    (8080, 89, "Motor freighter with tanker"),
    (8090, 79, "Motor freighter pushing one or more freighters"),
    (8100, 89, "Motor freighter pushing at least one tank-ship"),
    (8110, 79, "Tug, freighter"),
    (8120, 89, "Tug, tanker"),
    (8130, 31, "Tug freighter, coupled"),
    (8140, 31, "Tug, freighter/tanker, coupled"),
    (8150, 99, "Freightbarge"),
    (8160, 99, "Tankbarge"),
    (8161, 90, "Tankbarge, liquid cargo, type N"),
    (8162, 90, "Tankbarge, liquid cargo, type C"),
    (8163, 99, "Tankbarge, dry cargo as if liquid (e.g. cement)"),
    (8170, 99, "Freightbarge with containers"),
    (8180, 90, "Tankbarge, gas"),
    (8210, 79, "Pushtow, one cargo barge"),
    (8220, 79, "Pushtow, two cargo barges"),
    (8230, 79, "Pushtow, three cargo barges"),
    (8240, 79, "Pushtow, four cargo barges"),
    (8250, 79, "Pushtow, five cargo barges"),
    (8260, 79, "Pushtow, six cargo barges"),
    (8270, 79, "Pushtow, seven cargo barges"),
    (8280, 79, "Pushtow, eigth cargo barges"),
    (8290, 79, "Pushtow, nine or more barges"),
    (8310, 80, "Pushtow, one tank/gas barge"),
    (
        8320,
        80,
        "Pushtow, two barges at least one tanker or gas barge",
    ),
    (
        8330,
        80,
        "Pushtow, three barges at least one tanker or gas barge",
    ),
    (
        8340,
        80,
        "Pushtow, four barges at least one tanker or gas barge",
    ),
    (
        8350,
        80,
        "Pushtow, five barges at least one tanker or gas barge",
    ),
    (
        8360,
        80,
        "Pushtow, six barges at least one tanker or gas barge",
    ),
    (
        8370,
        80,
        "Pushtow, seven barges at least one tanker or gas barg",
    ),
];

/// gpsd's legend for an inland ship type that matches no table row.
const INLAND_SHIPTYPE_ILLEGAL: &str = "Illegal ship type value.";

/// The legend gpsd prints for an inland (DAC 200 FI 10) ship type.
pub(super) fn inland_shiptype(code: u32) -> &'static str {
    INLAND_SHIPTYPES
        .iter()
        .find(|(eri, ais, _)| *eri == code || *ais == code)
        .map_or(INLAND_SHIPTYPE_ILLEGAL, |(_, _, text)| text)
}

/// Hazard levels of inland static data (DAC 200, FI 10).
pub(super) const HAZARD_TYPES: [&str; 6] = [
    "0 blue cones/lights",
    "1 blue cone/light",
    "2 blue cones/lights",
    "3 blue cones/lights",
    "4 B-Flag",
    "Unknown",
];

/// Loaded status of inland static data (DAC 200, FI 10).
pub(super) const LOAD_STATUS: [&str; 3] = ["N/A (default)", "Unloaded", "Loaded"];

/// EMMA warning types (DAC 200, FI 23).
pub(super) const EMMA_TYPES: [&str; 10] = [
    "Not Available",
    "Wind",
    "Rain",
    "Snow and ice",
    "Thunderstorm",
    "Fog",
    "Low temperature",
    "High temperature",
    "Flood",
    "Forest Fire",
];

/// EMMA intensity classes (DAC 200, FI 23).
pub(super) const EMMA_CLASSES: [&str; 3] = ["Slight", "Medium", "Strong"];

/// EMMA wind directions (DAC 200, FI 23).
pub(super) const EMMA_WINDS: [&str; 9] = [
    "N/A",
    "North",
    "North East",
    "East",
    "South East",
    "South",
    "South West",
    "West",
    "North West",
];

/// Directions of impact of inland signals (DAC 200, FI 40).
pub(super) const SIGNAL_DIRECTIONS: [&str; 5] = [
    "Unknown",
    "Upstream",
    "Downstream",
    "To left bank",
    "To right bank",
];

/// Light status of inland signals (DAC 200, FI 40).
pub(super) const SIGNAL_LIGHTS: [&str; 8] = [
    "Unknown",
    "No light",
    "White",
    "Yellow",
    "Green",
    "Red",
    "White flashing",
    "Yellow flashing.",
];
