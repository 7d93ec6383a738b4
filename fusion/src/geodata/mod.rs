//! Reference geography: land, ports and anchorages, MID allocations, zones, the area of
//! responsibility and departure coasts.
//!
//! The defaults ship inside the binary (Natural Earth, public domain; the ITU MID table;
//! notices in `fusion/data/README.md`) and each can be replaced by a file named in the
//! configuration (`[geodata] land = "…"`, `ports = "…"`, `mid = "…"`) or, for zones and
//! ports, on `tidewatch analyze`'s command line. GeoJSON is `[lon, lat]` in degrees.

mod land;
mod mid;
mod ports;
mod zones;

pub use land::LandMask;
pub(crate) use land::UniformCell;
pub(crate) use land::filing::floor_i32;
pub use mid::MidTable;
pub use ports::Ports;
pub use zones::{Area, Zone, Zones};

use crate::config::FusionConfig;
use serde_json::Value;
use serde_json::value::RawValue;
use std::path::Path;

/// The reference geography the engine uses.
#[derive(Debug, Clone)]
pub struct Geodata {
    /// Land, for positions on land (`None`: not checked).
    pub land: Option<LandMask>,
    /// Ports and anchorages.
    pub ports: Ports,
    /// MID allocations.
    pub mid: MidTable,
    /// Configured zones.
    pub zones: Zones,
    /// The centre's area of responsibility, if configured.
    pub area: Option<zones::Area>,
    /// The sea off departure coasts, each named.
    pub departure_coasts: Zones,
    /// What the files given had that Tidewatch does not use, one line per file, to say once
    /// (`tidewatch` prints them on stderr at start).
    pub notes: Vec<String>,
}

impl Geodata {
    /// The geography the configuration names, built-in data where it names none, and the
    /// zones file if any. Land is loaded only when `position_jump.land` is on.
    pub fn load(cfg: &FusionConfig, zones: Option<&Path>) -> Result<Geodata, GeodataError> {
        let g = &cfg.geodata;
        let land = match (&g.land, cfg.position_jump.land) {
            (_, false) => None,
            (Some(p), true) => Some(LandMask::from_geojson(
                &p.display().to_string(),
                &read_file(p)?,
            )?),
            (None, true) => Some(LandMask::natural_earth()),
        };
        let mut notes = Vec::new();
        let unused = |file: &Path, what: &str, names: &std::collections::BTreeSet<String>| {
            (!names.is_empty()).then(|| {
                format!(
                    "{}: properties Tidewatch does not use, {what}: {}",
                    file.display(),
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
        };
        let ports = match &g.ports {
            Some(p) => {
                let mut ports = Ports::default();
                ports.add_geojson(&p.display().to_string(), &read_file(p)?)?;
                notes.extend(unused(
                    p,
                    "ignored (a port is its name and place)",
                    &ports.unused,
                ));
                ports
            }
            None => Ports::built_in(),
        };
        let mid = match &g.mid {
            Some(p) => {
                let text = read_file(p)?;
                MidTable::from_csv(&p.display().to_string(), &String::from_utf8_lossy(&text))?
            }
            None => MidTable::built_in(),
        };
        let zones = match zones.or(cfg.zone_entry.zones.as_deref()) {
            Some(p) => {
                let z = Zones::from_geojson(&p.display().to_string(), &read_file(p)?)?;
                notes.extend(unused(
                    p,
                    "kept with each zone and in its alerts' params (zone_properties)",
                    &z.unused,
                ));
                z
            }
            None => Zones::default(),
        };
        let area = match &g.area {
            Some(p) => Some(zones::Area::from_geojson(
                &p.display().to_string(),
                &read_file(p)?,
            )?),
            None => None,
        };
        let departure_coasts = match &g.departure_coasts {
            Some(p) => {
                let z = Zones::from_geojson(&p.display().to_string(), &read_file(p)?)?;
                notes.extend(unused(p, "kept with each coast", &z.unused));
                z
            }
            None => Zones::from_geojson(
                "built-in departure coasts",
                include_bytes!("../../data/departure-coasts.geojson"),
            )?,
        };
        Ok(Geodata {
            land,
            ports,
            mid,
            zones,
            area,
            departure_coasts,
            notes,
        })
    }
}

/// A reference file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GeodataError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read but its content is not what it should be.
    #[error("{what}: {problem}")]
    Invalid {
        /// Which file or built-in table.
        what: String,
        /// What is wrong, and where.
        problem: String,
    },
}

impl GeodataError {
    fn invalid(what: &str, problem: impl Into<String>) -> GeodataError {
        GeodataError::Invalid {
            what: what.to_string(),
            problem: problem.into(),
        }
    }
}

/// Read a whole file, gunzipping it when its name ends in `.gz`.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, GeodataError> {
    let err = |source| GeodataError::Read {
        path: path.display().to_string(),
        source,
    };
    let bytes = std::fs::read(path).map_err(err)?;
    if path.extension().is_some_and(|e| e == "gz") {
        gunzip(&bytes).map_err(err)
    } else {
        Ok(bytes)
    }
}

pub(crate) fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// One GeoJSON feature reduced to what Tidewatch uses.
pub(crate) struct Feature {
    /// `properties`, or an empty object.
    pub(crate) properties: serde_json::Map<String, Value>,
    pub(crate) geometry: Geometry,
}

/// The geometries Tidewatch reads, `[lon, lat]` pairs.
pub(crate) enum Geometry {
    Point([f64; 2]),
    /// Polygons, each a list of rings (the first is the outer ring).
    Polygons(Vec<Vec<Vec<[f64; 2]>>>),
}

/// The features of a GeoJSON FeatureCollection, a single Feature or a bare geometry.
/// Coordinates are read straight into typed vectors (16 bytes a vertex), so the 8 MB
/// land file never becomes a tree of JSON values.
pub(crate) fn features(what: &str, bytes: &[u8]) -> Result<Vec<Feature>, GeodataError> {
    let doc: RawDoc<'_> = serde_json::from_slice(bytes)
        .map_err(|e| GeodataError::invalid(what, format!("not GeoJSON: {e}")))?;
    let mut out = Vec::new();
    match doc.kind.as_deref() {
        Some("FeatureCollection") => {
            let list = doc
                .features
                .ok_or_else(|| GeodataError::invalid(what, "FeatureCollection without features"))?;
            for (i, f) in list.into_iter().enumerate() {
                out.push(
                    feature(f.properties, f.geometry)
                        .map_err(|p| GeodataError::invalid(what, format!("feature {i}: {p}")))?,
                );
            }
        }
        Some("Feature") => out.push(
            feature(doc.properties, doc.geometry).map_err(|p| GeodataError::invalid(what, p))?,
        ),
        Some(kind) => {
            let coords = doc
                .coordinates
                .ok_or_else(|| GeodataError::invalid(what, "geometry without coordinates"))?;
            out.push(Feature {
                properties: Default::default(),
                geometry: geometry_of(kind, coords).map_err(|p| GeodataError::invalid(what, p))?,
            });
        }
        None => return Err(GeodataError::invalid(what, "not GeoJSON (no \"type\")")),
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct RawDoc<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow, default)]
    features: Option<Vec<RawFeature<'a>>>,
    #[serde(default)]
    properties: Option<Value>,
    #[serde(borrow, default)]
    geometry: Option<&'a RawValue>,
    #[serde(borrow, default)]
    coordinates: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
struct RawFeature<'a> {
    #[serde(default)]
    properties: Option<Value>,
    #[serde(borrow, default)]
    geometry: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
struct RawGeometry<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    coordinates: Option<&'a RawValue>,
}

/// A GeoJSON position: longitude, latitude, and any further numbers ignored.
struct Pos([f64; 2]);

impl<'de> serde::Deserialize<'de> for Pos {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Pos, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Pos;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a position [lon, lat]")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Pos, A::Error> {
                use serde::de::Error;
                let lon: f64 = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("position without longitude"))?;
                let lat: f64 = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("position without latitude"))?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Pos([lon, lat]))
            }
        }
        d.deserialize_seq(V)
    }
}

fn feature(properties: Option<Value>, geometry: Option<&RawValue>) -> Result<Feature, String> {
    let properties = match properties {
        Some(Value::Object(m)) => m,
        Some(Value::Null) | None => Default::default(),
        Some(_) => return Err("properties is not an object".into()),
    };
    let g: RawGeometry<'_> = serde_json::from_str(geometry.ok_or("no geometry")?.get())
        .map_err(|e| format!("geometry: {e}"))?;
    let coords = g.coordinates.ok_or("geometry without coordinates")?;
    Ok(Feature {
        properties,
        geometry: geometry_of(&g.kind, coords)?,
    })
}

fn geometry_of(kind: &str, coords: &RawValue) -> Result<Geometry, String> {
    let parse_err = |e: serde_json::Error| format!("{kind} coordinates: {e}");
    let g = match kind {
        "Point" => {
            let p: Pos = serde_json::from_str(coords.get()).map_err(parse_err)?;
            Geometry::Point(checked(p.0)?)
        }
        "Polygon" => {
            let rings: Vec<Vec<Pos>> = serde_json::from_str(coords.get()).map_err(parse_err)?;
            Geometry::Polygons(vec![polygon(rings)?])
        }
        "MultiPolygon" => {
            let polys: Vec<Vec<Vec<Pos>>> =
                serde_json::from_str(coords.get()).map_err(parse_err)?;
            Geometry::Polygons(polys.into_iter().map(polygon).collect::<Result<_, _>>()?)
        }
        t => {
            return Err(format!(
                "geometry type {t} is not Point, Polygon or MultiPolygon"
            ));
        }
    };
    Ok(g)
}

fn polygon(rings: Vec<Vec<Pos>>) -> Result<Vec<Vec<[f64; 2]>>, String> {
    if rings.is_empty() {
        return Err("polygon without rings".into());
    }
    rings
        .into_iter()
        .map(|ring| {
            if ring.len() < 3 {
                return Err(format!("ring of {} points", ring.len()));
            }
            ring.into_iter().map(|p| checked(p.0)).collect()
        })
        .collect()
}

fn checked([lon, lat]: [f64; 2]) -> Result<[f64; 2], String> {
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(format!("position [{lon}, {lat}] out of range"));
    }
    Ok([lon, lat])
}

#[cfg(test)]
mod tests {

    /// The grid's floor is `f64::floor` cast, on every kind of value: whole and not, both
    /// signs, both zeros, near the ends of `i32`, beyond them, infinities and NaN.
    #[test]
    fn floor_i32_is_floor_cast() {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            1e300,
            -1e300,
        ];
        for edge in [i32::MAX, i32::MIN, 0, 1, -1, 180, -180, 90, -90] {
            let e = f64::from(edge);
            xs.extend([
                e,
                e + 0.5,
                e - 0.5,
                e + 1e-9,
                e - 1e-9,
                e + 1.0,
                e - 1.0,
                e - 1.5,
            ]);
            xs.extend([e.next_up(), e.next_down()]);
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Degrees divided into cells, and any bit pattern.
            xs.push((state >> 11) as f64 / (1u64 << 53) as f64 * 720.0 - 360.0);
            xs.push(f64::from_bits(state));
        }
        for x in xs {
            assert_eq!(floor_i32(x), x.floor() as i32, "{x:e}");
        }
    }
    use super::*;

    fn at(lat: f64, lon: f64) -> crate::Position {
        crate::Position::new(lat, lon).unwrap()
    }

    #[test]
    fn departure_coasts_are_built_in_and_replaced_by_a_centres_own() {
        let g = Geodata::load(&FusionConfig::default(), None).unwrap();
        let named = |g: &Geodata, p| {
            (g.departure_coasts.zones.iter())
                .find(|z| z.contains(p))
                .map(|z| z.name.clone())
        };
        assert_eq!(
            named(&g, at(33.15, 12.2)).as_deref(),
            Some("western Libya (Zuwara to Khoms)")
        );
        assert_eq!(
            named(&g, at(35.3, 12.6)),
            None,
            "south of Lampedusa: open sea"
        );
        // A GIS tool's file: its unknown properties kept and said once.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("coasts.geojson");
        std::fs::write(
            &file,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature",
                "properties":{"name":"Lampedusa test box","kind":"departure","fid":7},
                "geometry":{"type":"Polygon","coordinates":[[[12.5,35.2],[12.7,35.2],[12.7,35.4],[12.5,35.4],[12.5,35.2]]]}}]}"#,
        )
        .unwrap();
        let mut cfg = FusionConfig::default();
        cfg.geodata.departure_coasts = Some(file.clone());
        let g = Geodata::load(&cfg, None).unwrap();
        assert_eq!(
            named(&g, at(35.3, 12.6)).as_deref(),
            Some("Lampedusa test box")
        );
        assert_eq!(
            named(&g, at(33.15, 12.2)),
            None,
            "the built-in ones replaced"
        );
        assert!(
            g.notes.iter().any(|n| n.contains("fid, kind")),
            "{:?}",
            g.notes
        );
        // What is wrong is refused with the feature's index.
        std::fs::write(
            &file,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},
                "geometry":{"type":"Polygon","coordinates":[[[12.5,35.2],[12.7,35.2],[12.7,35.4],[12.5,35.2]]]}}]}"#,
        )
        .unwrap();
        let e = Geodata::load(&cfg, None).unwrap_err().to_string();
        assert!(e.contains("feature 0") && e.contains("name"), "{e}");
    }
}
