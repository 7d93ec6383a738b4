//! Navigation for moving simulated vessels, on Tidewatch's one geodesy
//! ([`ingest::geodesy`]): the position type, distances, bearings and dead reckoning.

pub use ingest::geodesy::{METERS_PER_NM, Position};

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
        let a = Position {
            lat: 35.5,
            lon: 12.6,
        };
        let b = a.destination(123.0, 25_000.0);
        assert!((a.distance_m(b) - 25_000.0).abs() < 0.01);
        assert!((a.bearing_deg(b) - 123.0).abs() < 1e-6);
        // One minute of latitude is about a nautical mile.
        let n = a.destination(0.0, METERS_PER_NM);
        assert!(((n.lat - a.lat) * 60.0 - 1.0).abs() < 0.01);
    }

    #[test]
    fn angles_wrap() {
        assert_eq!(angle_diff_deg(350.0, 10.0), 20.0);
        assert_eq!(angle_diff_deg(10.0, 350.0), -20.0);
        assert_eq!(angle_diff_deg(0.0, 180.0), 180.0);
    }
}
