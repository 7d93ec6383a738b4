//! Sea areas: the shore receivers, shipping lanes, fishing grounds and leisure waters of
//! a region, and the background traffic they make.
//!
//! Every lane, ground and box is drawn at sea, at least a few kilometres off the coast
//! (a test checks every background position against the land mask fusion uses).

use crate::geodesy::{METERS_PER_NM, Position};
use crate::rng::Rng;
use crate::spec::{AisClass, ReceiverSpec, VesselSpec};

/// A region the simulator knows.
#[derive(Debug, Clone)]
pub struct Area {
    /// Its name (`central-med`).
    pub name: &'static str,
    /// Shore AIS receivers.
    pub receivers: Vec<ReceiverSpec>,
    /// Shipping lanes: waypoints, sailed both ways.
    pub lanes: Vec<Vec<Position>>,
    /// Fishing grounds: centre and radius, NM.
    pub fishing: Vec<(Position, f64)>,
    /// Leisure waters (class B yachts): centre and radius, NM.
    pub leisure: Vec<(Position, f64)>,
}

/// The names of the areas [`area`] knows.
pub const AREAS: [&str; 1] = ["central-med"];

fn p(lat: f64, lon: f64) -> Position {
    Position { lat, lon }
}

fn receiver(name: &str, lat: f64, lon: f64) -> ReceiverSpec {
    ReceiverSpec {
        name: name.to_owned(),
        at: p(lat, lon),
        range_nm: 40.0,
    }
}

/// An area by name.
pub fn area(name: &str) -> Option<Area> {
    match name {
        "central-med" => Some(Area {
            name: "central-med",
            // Coastal stations of the Strait of Sicily: 40 NM for a class A transponder
            // from a mast on the coast.
            receivers: vec![
                receiver("lampedusa", 35.515, 12.605),
                receiver("linosa", 35.862, 12.868),
                receiver("pantelleria", 36.830, 11.940),
                receiver("porto-empedocle", 37.285, 13.525),
                receiver("malta", 35.900, 14.450),
                receiver("pozzallo", 36.720, 14.845),
            ],
            lanes: vec![
                // Gibraltar–Suez transit through the Strait of Sicily, north of
                // Pantelleria, south of Malta.
                vec![
                    p(37.40, 10.90),
                    p(37.20, 11.60),
                    p(36.75, 12.60),
                    p(36.30, 13.70),
                    p(35.70, 14.10),
                    p(35.65, 14.60),
                    p(35.40, 15.60),
                ],
                // Tripoli – Malta.
                vec![p(33.05, 13.20), p(34.50, 13.80), p(35.86, 14.66)],
                // Sfax – Malta, south of Lampedusa.
                vec![p(34.45, 11.55), p(35.30, 12.70), p(35.70, 14.10)],
                // Pozzallo – Valletta.
                vec![p(36.68, 14.85), p(35.95, 14.55)],
            ],
            fishing: vec![
                (p(35.95, 12.30), 6.0),
                (p(36.45, 12.80), 6.0),
                (p(34.90, 12.20), 6.0),
                (p(35.20, 13.50), 5.0),
            ],
            leisure: vec![(p(36.35, 14.30), 6.0), (p(35.45, 12.95), 5.0)],
        }),
        _ => None,
    }
}

/// Maritime identification digits of the flags seen in the area (Italy, Malta, Liberia,
/// Marshall Islands, Panama, Tunisia, Greece, Hong Kong).
const MIDS: [u32; 8] = [247, 248, 636, 538, 351, 672, 240, 477];

const NAME_A: [&str; 12] = [
    "MARE", "AURORA", "STELLA", "NORDIC", "BLUE", "GOLDEN", "SEA", "OCEAN", "CAPO", "SANTA",
    "AEGEAN", "SILVER",
];
const NAME_B: [&str; 12] = [
    "SPIRIT", "PEARL", "TRADER", "EXPRESS", "STAR", "WIND", "MARIA", "GRACE", "HORIZON", "VOYAGER",
    "PRIDE", "DAWN",
];

/// `n` background vessels for `area`, the same for the same seed: about 55 % on the
/// lanes (class A cargo and tankers, 10–17 kn), 30 % fishing (3–4.5 kn over a ground,
/// class A or B), 15 % yachts (class B, 5–7 kn). Their ids are `bg-1`, `bg-2`, …
pub fn background(area: &Area, n: u32, seed: u64, taken: &[u32]) -> Vec<VesselSpec> {
    let mut rng = Rng::derive(seed, "background");
    let mut used: Vec<u32> = taken.to_vec();
    (1..=n)
        .map(|k| {
            let mmsi = loop {
                let mid = MIDS[rng.below(MIDS.len() as u64) as usize];
                let m = mid * 1_000_000 + 100_000 + rng.below(900_000) as u32;
                if !used.contains(&m) {
                    used.push(m);
                    break m;
                }
            };
            let name = format!(
                "{} {}",
                NAME_A[rng.below(12) as usize],
                NAME_B[rng.below(12) as usize]
            );
            let callsign = format!(
                "{}{}",
                ["IB", "9H", "D5", "V7", "3E"][rng.below(5) as usize],
                1000 + rng.below(9000)
            );
            let roll = rng.unit();
            let (route, speed_kn, class, shiptype, length_m) =
                if roll < 0.55 && !area.lanes.is_empty() {
                    let lane = &area.lanes[rng.below(area.lanes.len() as u64) as usize];
                    (
                        lane_route(lane, &mut rng),
                        rng.range(10.0, 17.0),
                        AisClass::A,
                        [70, 71, 79, 80, 89][rng.below(5) as usize],
                        rng.range(90.0, 300.0),
                    )
                } else if roll < 0.85 && !area.fishing.is_empty() {
                    let (c, r) = area.fishing[rng.below(area.fishing.len() as u64) as usize];
                    let class = if rng.chance(0.5) {
                        AisClass::A
                    } else {
                        AisClass::B
                    };
                    (
                        box_route(c, r, 6, &mut rng),
                        rng.range(3.0, 4.5),
                        class,
                        30,
                        rng.range(14.0, 35.0),
                    )
                } else if let Some(&(c, r)) = area
                    .leisure
                    .get(rng.below(area.leisure.len().max(1) as u64) as usize)
                {
                    (
                        box_route(c, r, 4, &mut rng),
                        rng.range(5.0, 7.0),
                        AisClass::B,
                        37,
                        rng.range(10.0, 20.0),
                    )
                } else {
                    let (c, r) = area.fishing[0];
                    (box_route(c, r, 6, &mut rng), 3.5, AisClass::A, 30, 20.0)
                };
            VesselSpec {
                id: format!("bg-{k}"),
                mmsi: Some(mmsi),
                class,
                name,
                callsign,
                imo: 0,
                shiptype,
                length_m,
                persons: 0,
                craft: None,
                route,
                speed_kn,
                looping: true,
                appear: None,
                appear_at: None,
                status: if shiptype == 30 { 7 } else { 0 },
            }
        })
        .collect()
}

/// A lane sailed from a random point on it to one end, back to the other end, and on
/// round: the whole lane both ways, starting anywhere.
fn lane_route(lane: &[Position], rng: &mut Rng) -> Vec<Position> {
    let seg = rng.below(lane.len() as u64 - 1) as usize;
    let f = rng.unit();
    let a = lane[seg];
    let b = lane[seg + 1];
    let start = a.destination(a.bearing_deg(b), a.distance_m(b) * f);
    let mut route = vec![start];
    if rng.chance(0.5) {
        // Forward to the end, back to the start, forward to here.
        route.extend(&lane[seg + 1..]);
        route.extend(lane.iter().rev().skip(1));
        route.extend(&lane[1..=seg]);
    } else {
        route.extend(lane[..=seg].iter().rev());
        route.extend(&lane[1..]);
        route.extend(lane[seg + 1..lane.len() - 1].iter().rev());
    }
    route
}

/// `n` random points within `radius_nm` of `centre`, sailed round.
fn box_route(centre: Position, radius_nm: f64, n: usize, rng: &mut Rng) -> Vec<Position> {
    (0..n)
        .map(|_| {
            centre.destination(
                rng.range(0.0, 360.0),
                radius_nm * METERS_PER_NM * rng.unit().sqrt(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_is_deterministic_and_unique() {
        let a = area("central-med").unwrap();
        let x = background(&a, 40, 3, &[]);
        let y = background(&a, 40, 3, &[]);
        assert_eq!(x.len(), 40);
        let mut mmsis: Vec<_> = x.iter().map(|v| v.mmsi.unwrap()).collect();
        assert_eq!(mmsis, y.iter().map(|v| v.mmsi.unwrap()).collect::<Vec<_>>());
        mmsis.sort_unstable();
        mmsis.dedup();
        assert_eq!(mmsis.len(), 40);
        assert!(x.iter().any(|v| v.shiptype == 30) && x.iter().any(|v| v.shiptype >= 70));
    }
}
