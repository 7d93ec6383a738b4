//! Positions, distances and speeds, with the unit in every name: the one position type and the
//! one geodesy of Tidewatch (on `geo`), for the wire, fusion, the console and the simulators.
//!
//! Gating and detection use great-circle (Haversine) figures, error ≤ 0.5 %, fast enough
//! for every report; figures shown to operators in alert reasons use the same, rounded
//! far coarser than that error.

use geo::{Bearing, Destination, Distance, Haversine, Point};
use serde::{Deserialize, Serialize};

/// Meters in one international nautical mile.
pub const METERS_PER_NM: f64 = 1852.0;

/// Meters in one degree of latitude (a great circle's) on the mean Earth radius.
const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// A position in degrees, WGS 84: `{"lat": …, "lon": …}` (a `[lat, lon]` pair is read too).
/// [`Position::new`] checks the ranges; what comes from outside is checked where it enters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Latitude, degrees north, −90..=90.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Longitude, degrees east, −180..=180.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
}

impl Position {
    /// A position, or `None` when a coordinate is out of range or not a number.
    ///
    /// ```
    /// use ingest::geodesy::Position;
    /// assert!(Position::new(35.5, 12.6).is_some());
    /// assert!(Position::new(91.0, 0.0).is_none());
    /// ```
    pub fn new(lat: f64, lon: f64) -> Option<Position> {
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
            .then_some(Position { lat, lon })
    }

    fn point(self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }

    /// Great-circle distance to `other`, **meters** (Haversine, R = 6 371 008.8 m).
    ///
    /// ```
    /// use ingest::geodesy::Position;
    /// // One minute of latitude is one nautical mile, within the sphere's error.
    /// let d = Position::new(35.0, 12.0).unwrap().distance_m(Position::new(35.0 + 1.0 / 60.0, 12.0).unwrap());
    /// assert!((d - 1852.0).abs() < 10.0);
    /// ```
    pub fn distance_m(self, other: Position) -> f64 {
        Haversine.distance(self.point(), other.point())
    }

    /// Great-circle distance to `other`, **nautical miles**.
    pub fn distance_nm(self, other: Position) -> f64 {
        self.distance_m(other) / METERS_PER_NM
    }

    /// Distance to `other`, **meters**, on a local flat projection (one cosine): within
    /// 0.1 % of [`Position::distance_m`] up to 100 km away, for the hot paths (caches,
    /// track continuity) where that is ample.
    ///
    /// ```
    /// use ingest::geodesy::Position;
    /// let (a, b) = (Position::new(35.0, 12.0).unwrap(), Position::new(35.3, 12.4).unwrap());
    /// assert!((a.fast_distance_m(b) / a.distance_m(b) - 1.0).abs() < 1e-3);
    /// ```
    pub fn fast_distance_m(self, other: Position) -> f64 {
        let (dlat, dlon) = self.deltas_deg(other);
        let k = ((self.lat + other.lat) / 2.0).to_radians().cos();
        let d = M_PER_DEG * (dlat * dlat + (dlon * k) * (dlon * k)).sqrt();
        // Far apart, the flat projection is off: take the great circle.
        if d > 100_000.0 {
            self.distance_m(other)
        } else {
            d
        }
    }

    /// Whether `other` is less than `radius_m` away as [`Position::fast_distance_m`]
    /// measures: the same answer, without its cosine when the bound settles it.
    pub fn fast_within_m(self, other: Position, radius_m: f64) -> bool {
        if self
            .fast_distance_bound_m(other)
            .is_some_and(|bound| bound < radius_m)
        {
            return true;
        }
        self.fast_distance_m(other) < radius_m
    }

    /// A bound on [`Position::fast_distance_m`] without its cosine: never less than it,
    /// when at most 100 km (beyond, `None`). The projection scales longitude by a cosine,
    /// at most 1: the distance with the scale left at 1 is never less, rounding included
    /// (each step rounds a larger operand to a result no smaller), and within 100 km the
    /// projection's own is taken, not the great circle.
    pub fn fast_distance_bound_m(self, other: Position) -> Option<f64> {
        let (dlat, dlon) = self.deltas_deg(other);
        let bound = M_PER_DEG * (dlat * dlat + dlon * dlon).sqrt();
        (bound <= 100_000.0).then_some(bound)
    }

    /// Latitude and longitude differences to `other`, degrees; longitude's the shorter way
    /// round, not negative.
    fn deltas_deg(self, other: Position) -> (f64, f64) {
        let dlat = other.lat - self.lat;
        let mut dlon = (other.lon - self.lon).abs();
        if dlon > 180.0 {
            dlon = 360.0 - dlon;
        }
        (dlat, dlon)
    }

    /// Initial bearing to `other`, degrees true, 0..360.
    pub fn bearing_deg(self, other: Position) -> f64 {
        Haversine
            .bearing(self.point(), other.point())
            .rem_euclid(360.0)
    }

    /// The position reached after `distance_m` meters on `bearing_deg` (degrees true).
    pub fn destination(self, bearing_deg: f64, distance_m: f64) -> Position {
        let p = Haversine.destination(self.point(), bearing_deg, distance_m);
        let lon = (p.x() + 540.0).rem_euclid(360.0) - 180.0;
        Position {
            lat: p.y().clamp(-90.0, 90.0),
            lon,
        }
    }
}

impl std::fmt::Display for Position {
    /// `35.7100 N 12.9400 E`: four decimals (≈ 11 m), hemisphere letters.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = if self.lat < 0.0 { 'S' } else { 'N' };
        let ew = if self.lon < 0.0 { 'W' } else { 'E' };
        write!(f, "{:.4} {ns} {:.4} {ew}", self.lat.abs(), self.lon.abs())
    }
}

/// Speed in **knots** of `distance_m` meters covered in `seconds` seconds
/// (infinite when no time passed and the distance is not zero).
pub fn speed_kn(distance_m: f64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return if distance_m > 0.0 { f64::INFINITY } else { 0.0 };
    }
    distance_m / METERS_PER_NM / (seconds / 3600.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Going `d` on a bearing and measuring back gives `d` again.
        #[test]
        fn destination_then_distance_gives_back_the_leg(
            lat in -70.0f64..70.0, lon in -179.0f64..179.0,
            brg in 0.0f64..360.0, d in 1.0f64..200_000.0,
        ) {
            let p = Position::new(lat, lon).unwrap();
            let q = p.destination(brg, d);
            prop_assert!((p.distance_m(q) - d).abs() < 1e-6 * d + 1e-3);
        }

        /// `fast_within_m` answers as comparing `fast_distance_m` does and the bound is
        /// never below the distance, wherever the
        /// points (near the poles, across the antimeridian) and whatever the radius,
        /// the radius drawn near the distance itself too (where a bound could be wrong).
        #[test]
        fn fast_within_is_the_fast_distance_compared(
            lat in -90.0f64..=90.0, lon in -180.0f64..=180.0,
            dlat in -0.01f64..0.01, dlon in -0.05f64..0.05,
            scale in prop_oneof![Just(1.0f64), 0.5f64..2.0, 0.999_999_9f64..1.000_000_1],
            far in prop_oneof![Just(1.0f64), Just(1000.0f64)],
        ) {
            let p = Position::new(lat, lon).unwrap();
            let q = Position::new((lat + dlat * far).clamp(-90.0, 90.0), (lon + dlon * far + 540.0).rem_euclid(360.0) - 180.0).unwrap();
            let d = p.fast_distance_m(q);
            for radius in [d * scale, d, 200.0, 100_000.0, 150_000.0, f64::from_bits(d.to_bits() + 1)] {
                prop_assert_eq!(p.fast_within_m(q, radius), d < radius, "{:?} {:?} {}", p, q, radius);
            }
            if let Some(bound) = p.fast_distance_bound_m(q) {
                prop_assert!(d <= bound, "{:?} {:?}: {} > {}", p, q, d, bound);
            }
        }
    }

    #[test]
    fn speed_of_one_nm_in_six_minutes_is_ten_knots() {
        assert!((speed_kn(1852.0, 360.0) - 10.0).abs() < 1e-9);
        assert_eq!(speed_kn(0.0, 0.0), 0.0);
        assert!(speed_kn(1.0, 0.0).is_infinite());
    }
}
