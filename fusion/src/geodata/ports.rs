//! Ports and anchorages: "is this position within R of one, and which?"

use super::{Feature, GeodataError, Geometry, features, floor_i32};
use crate::Position;
use std::collections::HashMap;

/// Natural Earth 1:10m ports, gzipped.
const NATURAL_EARTH: &[u8] = include_bytes!("../../data/ne_10m_ports.geojson.gz");
/// Harbours of the central Mediterranean that Natural Earth lacks (hand-curated, ±1 km).
const CENTRAL_MED: &[u8] = include_bytes!("../../data/ports-central-med.geojson");

/// Ports and anchorages, indexed on a 1° grid.
#[derive(Debug, Default, Clone)]
pub struct Ports {
    /// Names of the properties the files added have and Tidewatch does not use (it reads
    /// `name`), for saying so once.
    pub unused: std::collections::BTreeSet<String>,
    names: Vec<String>,
    points: Vec<Position>,
    grid: HashMap<(i32, i32), Vec<u32>>,
}

impl Ports {
    /// The ports shipped with Tidewatch: Natural Earth's, and the harbours of the central
    /// Mediterranean it lacks (Zuwara, Sabratha, Sfax, Valletta, Augusta, …).
    pub fn built_in() -> Ports {
        let ne = super::gunzip(NATURAL_EARTH).expect("the shipped ports file is valid gzip");
        let mut p = Ports::default();
        p.add_geojson("built-in ports", &ne)
            .expect("the shipped ports are valid");
        p.add_geojson("built-in central Mediterranean ports", CENTRAL_MED)
            .expect("the shipped ports are valid");
        p
    }

    /// Add the features of a GeoJSON file: a Point is a port, a Polygon an anchorage or
    /// port area (taken as the centre of its outer ring's vertices), each named by
    /// `properties.name`.
    pub fn add_geojson(&mut self, what: &str, bytes: &[u8]) -> Result<(), GeodataError> {
        for (
            i,
            Feature {
                properties,
                geometry,
            },
        ) in features(what, bytes)?.into_iter().enumerate()
        {
            let name = properties
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("port #{i}"));
            self.unused
                .extend(properties.keys().filter(|k| *k != "name").cloned());
            let points: Vec<[f64; 2]> = match geometry {
                Geometry::Point(p) => vec![p],
                Geometry::Polygons(polys) => polys
                    .iter()
                    .map(|rings| {
                        let outer = &rings[0];
                        let n = outer.len() as f64;
                        let (x, y) = outer
                            .iter()
                            .fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
                        [x / n, y / n]
                    })
                    .collect(),
            };
            for [lon, lat] in points {
                let pos = Position::new(lat, lon).ok_or_else(|| {
                    GeodataError::invalid(what, format!("feature {i}: bad position"))
                })?;
                let idx = self.points.len() as u32;
                self.points.push(pos);
                self.names.push(name.clone());
                self.grid.entry(Self::key(pos)).or_default().push(idx);
            }
        }
        Ok(())
    }

    fn key(p: Position) -> (i32, i32) {
        (floor_i32(p.lon), floor_i32(p.lat))
    }

    /// How many ports and anchorages are known.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when none are known.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The nearest port within `radius_m` meters (at most 100 km) of `p`, and its
    /// distance in meters.
    pub fn nearest_within(&self, p: Position, radius_m: f64) -> Option<(&str, f64)> {
        let dlat = (radius_m / 111_195.0).ceil() as i32;
        let dlon = (radius_m / (111_195.0 * p.lat.to_radians().cos().max(0.01)))
            .ceil()
            .min(180.0) as i32;
        let (x, y) = Self::key(p);
        let mut best: Option<(u32, f64)> = None;
        for gx in x - dlon..=x + dlon {
            let gx = (gx + 180).rem_euclid(360) - 180;
            for gy in y - dlat..=y + dlat {
                for &i in self.grid.get(&(gx, gy)).into_iter().flatten() {
                    let d = p.distance_m(self.points[i as usize]);
                    if d <= radius_m && best.is_none_or(|(_, b)| d < b) {
                        best = Some((i, d));
                    }
                }
            }
        }
        best.map(|(i, d)| (self.names[i as usize].as_str(), d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_ports_cover_the_libyan_and_tunisian_coast() {
        let p = Ports::built_in();
        assert!(p.len() > 1100, "{}", p.len());
        let near = |lat, lon, r| {
            p.nearest_within(Position::new(lat, lon).unwrap(), r)
                .map(|(n, _)| n.to_string())
        };
        assert_eq!(near(32.95, 12.10, 10_000.0).as_deref(), Some("Zuwara (LY)"));
        assert_eq!(near(35.50, 12.60, 10_000.0).as_deref(), Some("Lampedusa"));
        assert_eq!(near(35.0, 13.5, 10_000.0), None, "open sea south of Sicily");
        // Across the antimeridian.
        let mut q = Ports::default();
        q.add_geojson("t", br#"{"type":"Point","coordinates":[179.99,0.0]}"#)
            .unwrap();
        assert!(
            q.nearest_within(Position::new(0.0, -179.99).unwrap(), 5000.0)
                .is_some()
        );
    }
}
