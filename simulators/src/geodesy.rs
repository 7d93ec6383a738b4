//! Spherical navigation for moving simulated vessels: distances, bearings and dead
//! reckoning on a sphere of the mean Earth radius (good to 0.5 %, far below what any
//! detector's thresholds can tell).

/// Mean Earth radius, m.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Meters in a nautical mile.
pub const M_PER_NM: f64 = 1852.0;

/// A position in degrees (WGS 84): latitude north, longitude east.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(from = "[f64; 2]", into = "[f64; 2]")]
pub struct LatLon {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

impl From<[f64; 2]> for LatLon {
    fn from([lat, lon]: [f64; 2]) -> Self {
        LatLon { lat, lon }
    }
}

impl From<LatLon> for [f64; 2] {
    fn from(p: LatLon) -> Self {
        [p.lat, p.lon]
    }
}

impl LatLon {
    /// Great-circle distance to `other`, m.
    pub fn distance_m(self, other: LatLon) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// Great-circle distance to `other`, NM.
    pub fn distance_nm(self, other: LatLon) -> f64 {
        self.distance_m(other) / M_PER_NM
    }

    /// Initial bearing to `other`, degrees true in [0, 360).
    pub fn bearing_deg(self, other: LatLon) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dl = (other.lon - self.lon).to_radians();
        let y = dl.sin() * p2.cos();
        let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
        y.atan2(x).to_degrees().rem_euclid(360.0)
    }

    /// The point `distance_m` away on `bearing_deg`.
    pub fn destination(self, bearing_deg: f64, distance_m: f64) -> LatLon {
        let d = distance_m / EARTH_RADIUS_M;
        let b = bearing_deg.to_radians();
        let p1 = self.lat.to_radians();
        let l1 = self.lon.to_radians();
        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos()).asin();
        let l2 = l1 + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
        LatLon {
            lat: p2.to_degrees(),
            lon: (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0,
        }
    }
}

/// The smallest signed difference `to - from` between two angles, degrees in (-180, 180].
pub fn angle_diff_deg(from: f64, to: f64) -> f64 {
    let d = (to - from).rem_euclid(360.0);
    if d > 180.0 { d - 360.0 } else { d }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_and_back() {
        let a = LatLon {
            lat: 35.5,
            lon: 12.6,
        };
        let b = a.destination(123.0, 25_000.0);
        assert!((a.distance_m(b) - 25_000.0).abs() < 0.01);
        assert!((a.bearing_deg(b) - 123.0).abs() < 1e-6);
        // One minute of latitude is about a nautical mile.
        let n = a.destination(0.0, M_PER_NM);
        assert!(((n.lat - a.lat) * 60.0 - 1.0).abs() < 0.01);
    }

    #[test]
    fn angles_wrap() {
        assert_eq!(angle_diff_deg(350.0, 10.0), 20.0);
        assert_eq!(angle_diff_deg(10.0, 350.0), -20.0);
        assert_eq!(angle_diff_deg(0.0, 180.0), 180.0);
    }
}
