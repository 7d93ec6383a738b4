//! Code tables shown beside their codes (gpsd's `*_text` fields), worded as gpsd 3.22
//! words them so the gpsd format matches `gpsdecode` byte for byte.

use super::walk::Table;

/// Navigational status (types 1–3).
pub const NAV_STATUS: Table = Table {
    texts: &[
        "Under way using engine",
        "At anchor",
        "Not under command",
        "Restricted manoeuverability",
        "Constrained by her draught",
        "Moored",
        "Aground",
        "Engaged in fishing",
        "Under way sailing",
        "Reserved for HSC",
        "Reserved for WIG",
        "Reserved",
        "Reserved",
        "Reserved",
        "Reserved",
        "Not defined",
    ],
    otherwise: "Not defined",
};

/// Type of electronic position fixing device.
pub const EPFD: Table = Table {
    texts: &[
        "Undefined",
        "GPS",
        "GLONASS",
        "Combined GPS/GLONASS",
        "Loran-C",
        "Chayka",
        "Integrated navigation system",
        "Surveyed",
        "Galileo",
    ],
    otherwise: "INVALID EPFD",
};

/// Type of ship and cargo (0–99; 100–199 reserved for regional use).
pub const SHIP_TYPE: Table = Table {
    texts: &[],
    otherwise: "Not available",
};

/// Type of aid to navigation (type 21).
pub const AID_TYPE: Table = Table {
    texts: &[],
    otherwise: "INVALID NAVAID TYPE",
};

/// Station type (type 23).
pub const STATION_TYPE: Table = Table {
    texts: &[],
    otherwise: "Reserved",
};
