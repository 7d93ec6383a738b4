//! Reference geography: land, ports and anchorages, MID allocations, zones.
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
pub use mid::MidTable;
pub use ports::Ports;
pub use zones::{Zone, Zones};

use serde_json::Value;
use std::path::Path;

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
pub(crate) fn features(what: &str, bytes: &[u8]) -> Result<Vec<Feature>, GeodataError> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| GeodataError::invalid(what, format!("not JSON: {e}")))?;
    let mut out = Vec::new();
    match v.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            let list = v
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| GeodataError::invalid(what, "FeatureCollection without features"))?;
            for (i, f) in list.iter().enumerate() {
                out.push(
                    feature(f)
                        .map_err(|p| GeodataError::invalid(what, format!("feature {i}: {p}")))?,
                );
            }
        }
        Some("Feature") => out.push(feature(&v).map_err(|p| GeodataError::invalid(what, p))?),
        Some(_) => out.push(Feature {
            properties: Default::default(),
            geometry: geometry(&v).map_err(|p| GeodataError::invalid(what, p))?,
        }),
        None => return Err(GeodataError::invalid(what, "not GeoJSON (no \"type\")")),
    }
    Ok(out)
}

fn feature(f: &Value) -> Result<Feature, String> {
    let properties = match f.get("properties") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::Null) | None => Default::default(),
        Some(_) => return Err("properties is not an object".into()),
    };
    let g = f.get("geometry").ok_or("no geometry")?;
    Ok(Feature {
        properties,
        geometry: geometry(g)?,
    })
}

fn geometry(g: &Value) -> Result<Geometry, String> {
    let coords = g.get("coordinates").ok_or("geometry without coordinates")?;
    match g.get("type").and_then(Value::as_str) {
        Some("Point") => Ok(Geometry::Point(pair(coords)?)),
        Some("Polygon") => Ok(Geometry::Polygons(vec![rings(coords)?])),
        Some("MultiPolygon") => Ok(Geometry::Polygons(
            coords
                .as_array()
                .ok_or("MultiPolygon coordinates are not a list")?
                .iter()
                .map(rings)
                .collect::<Result<_, _>>()?,
        )),
        Some(t) => Err(format!(
            "geometry type {t} is not Point, Polygon or MultiPolygon"
        )),
        None => Err("geometry without type".into()),
    }
}

fn rings(v: &Value) -> Result<Vec<Vec<[f64; 2]>>, String> {
    v.as_array()
        .ok_or("polygon is not a list of rings")?
        .iter()
        .map(|ring| {
            let pts = ring
                .as_array()
                .ok_or("ring is not a list")?
                .iter()
                .map(pair)
                .collect::<Result<Vec<_>, _>>()?;
            if pts.len() < 3 {
                return Err(format!("ring of {} points", pts.len()));
            }
            Ok(pts)
        })
        .collect()
}

fn pair(v: &Value) -> Result<[f64; 2], String> {
    let a = v.as_array().ok_or("position is not a list")?;
    let (Some(lon), Some(lat)) = (
        a.first().and_then(Value::as_f64),
        a.get(1).and_then(Value::as_f64),
    ) else {
        return Err("position is not [lon, lat] numbers".into());
    };
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(format!("position [{lon}, {lat}] out of range"));
    }
    Ok([lon, lat])
}
