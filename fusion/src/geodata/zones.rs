//! Configured areas (territorial sea, contiguous zone, a closed area) and their rules.

use super::{Feature, GeodataError, Geometry, features};
use crate::Position;
use crate::alert::Severity;
use geo::{BoundingRect, Contains, Coord, LineString, MultiPolygon, Point, Polygon, Rect};

/// One zone and the rule it carries (GeoJSON `properties`).
#[derive(Debug, Clone)]
pub struct Zone {
    /// `properties.name`.
    pub name: String,
    /// `properties.severity` (`info`, `low`, `medium`, `high`, `critical`); default medium.
    pub severity: Severity,
    /// `properties.ship_types`: AIS ship type codes (e.g. `[30, 37]`) the rule applies
    /// to; absent means every vessel.
    pub ship_types: Option<Vec<u8>>,
    /// `properties.exempt_mmsi`: vessels never alerted for this zone (own patrol units).
    pub exempt_mmsi: Vec<u32>,
    /// The properties Tidewatch does not use (a GIS tool's `kind`, `source`…), kept as
    /// they came: shown with the zone and carried in its alerts' params.
    pub other: serde_json::Map<String, serde_json::Value>,
    area: MultiPolygon<f64>,
    bbox: Rect<f64>,
}

impl Zone {
    /// True when `p` is inside the zone.
    pub fn contains(&self, p: Position) -> bool {
        let pt = Point::new(p.lon, p.lat);
        self.bbox.contains(&pt) && self.area.contains(&pt)
    }
}

/// The configured zones, in file order (a vessel's zone membership is a bit per zone).
#[derive(Debug, Default, Clone)]
pub struct Zones {
    /// The zones.
    pub zones: Vec<Zone>,
    /// Names of the properties the file has and Tidewatch does not use (kept with each
    /// zone), for saying so once.
    pub unused: std::collections::BTreeSet<String>,
}

/// The zone properties Tidewatch reads.
const KNOWN: [&str; 5] = [
    "name",
    "severity",
    "ship_types",
    "exempt_mmsi",
    "description",
];

impl Zones {
    /// Most zones one configuration may hold.
    pub const MAX: usize = 64;

    /// Zones from a GeoJSON FeatureCollection of Polygon/MultiPolygon features with
    /// `properties.name` and optional `severity`, `ship_types`, `exempt_mmsi`,
    /// `description`. Other properties (files from GIS tools carry their own) are kept and
    /// listed in [`Zones::unused`]; what is wrong in a known one, a missing name or a
    /// geometry that is not a polygon is refused with the feature's index.
    pub fn from_geojson(what: &str, bytes: &[u8]) -> Result<Zones, GeodataError> {
        let mut zones = Vec::new();
        let mut unused = std::collections::BTreeSet::new();
        for (
            i,
            Feature {
                properties,
                geometry,
            },
        ) in features(what, bytes)?.into_iter().enumerate()
        {
            let bad = |p: String| GeodataError::invalid(what, format!("feature {i}: {p}"));
            let name = match properties.get("name") {
                Some(serde_json::Value::String(n)) if !n.trim().is_empty() => n.clone(),
                Some(v) => return Err(bad(format!("properties.name {v} is not a name"))),
                None => return Err(bad("no properties.name".into())),
            };
            let other: serde_json::Map<String, serde_json::Value> = properties
                .iter()
                .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            unused.extend(other.keys().cloned());
            let severity = match properties.get("severity") {
                None => Severity::Medium,
                Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
                    bad(format!(
                        "properties.severity {v} is not info, low, medium, high or critical"
                    ))
                })?,
            };
            let ship_types = match properties.get("ship_types") {
                None => None,
                Some(v) => Some(serde_json::from_value(v.clone()).map_err(|_| {
                    bad("properties.ship_types must be a list of numbers 0–255".into())
                })?),
            };
            let exempt_mmsi = match properties.get("exempt_mmsi") {
                None => Vec::new(),
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|_| bad("properties.exempt_mmsi must be a list of MMSIs".into()))?,
            };
            let Geometry::Polygons(polys) = geometry else {
                return Err(bad("a zone must be a Polygon or MultiPolygon".into()));
            };
            let area = MultiPolygon::new(polygons(&polys));
            let bbox = area
                .bounding_rect()
                .ok_or_else(|| bad("empty geometry".into()))?;
            zones.push(Zone {
                name,
                severity,
                ship_types,
                exempt_mmsi,
                other,
                area,
                bbox,
            });
        }
        if zones.len() > Self::MAX {
            return Err(GeodataError::invalid(
                what,
                format!("{} zones; at most {} are supported", zones.len(), Self::MAX),
            ));
        }
        Ok(Zones { zones, unused })
    }

    /// A bit per zone containing `p`.
    pub fn membership(&self, p: Position) -> u64 {
        self.zones
            .iter()
            .enumerate()
            .filter(|(_, z)| z.contains(p))
            .fold(0, |m, (i, _)| m | 1 << i)
    }
}

/// A centre's area of responsibility: every polygon of a GeoJSON file, whatever its
/// properties.
#[derive(Debug, Clone)]
pub struct Area {
    area: MultiPolygon<f64>,
    bbox: Rect<f64>,
}

impl Area {
    /// The area of a GeoJSON file's Polygon/MultiPolygon features (anything else is refused
    /// with the feature's index).
    pub fn from_geojson(what: &str, bytes: &[u8]) -> Result<Area, GeodataError> {
        let mut all = Vec::new();
        for (i, Feature { geometry, .. }) in features(what, bytes)?.into_iter().enumerate() {
            let Geometry::Polygons(polys) = geometry else {
                return Err(GeodataError::invalid(
                    what,
                    format!("feature {i}: an area is made of Polygons or MultiPolygons"),
                ));
            };
            all.extend(polygons(&polys));
        }
        let area = MultiPolygon::new(all);
        let bbox = area
            .bounding_rect()
            .ok_or_else(|| GeodataError::invalid(what, "no polygon"))?;
        Ok(Area { area, bbox })
    }

    /// True when `p` is inside.
    pub fn contains(&self, p: Position) -> bool {
        let pt = Point::new(p.lon, p.lat);
        self.bbox.contains(&pt) && self.area.contains(&pt)
    }
}

/// `geo` polygons of GeoJSON rings (`[lon, lat]`; the first ring outer, the rest holes).
fn polygons(polys: &[Vec<Vec<[f64; 2]>>]) -> Vec<Polygon<f64>> {
    let ring = |r: &Vec<[f64; 2]>| {
        LineString::from(r.iter().map(|&[x, y]| Coord { x, y }).collect::<Vec<_>>())
    };
    polys
        .iter()
        .map(|rings| Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect()))
        .collect()
}
