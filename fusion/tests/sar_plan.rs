//! Search planning: RULES.md R26–R30 as named tests, a worked example of drift and datum, and
//! property tests of the patterns' geometry.

use fusion::Position;
use fusion::sar::{OBJECTS, SearchInputs, object, plan};
use proptest::prelude::*;

const NM: f64 = 1852.0;

/// RULES.md's worked example: GPS LKP and SRU, 4 h, current 1 kn setting 090°,
/// wind 15 kn from 270°, flat-bottom dinghy.
fn worked_example() -> SearchInputs {
    SearchInputs {
        lkp: Position::new(35.0, 13.0).unwrap(),
        lkp_time: "2026-11-22T02:00:00Z".parse().unwrap(),
        at: "2026-11-22T06:00:00Z".parse().unwrap(),
        object: "flat_bottom_dinghy".into(),
        wind_from_deg: 270.0,
        wind_kn: 15.0,
        current_to_deg: 90.0,
        current_kn: 1.0,
        x_nm: 0.1,
        y_nm: 0.1,
        de_nm: None,
        fs: 1.1,
        spacing_nm: 1.0,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Smallest angle between two bearings, degrees.
fn angle(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

#[test]
fn r27_leeway_runs_downwind_currents_set_toward_and_the_worked_example_holds() {
    let i = worked_example();
    let p = plan(&i, object(&i.object).unwrap()).unwrap();
    assert!(close(p.hours, 4.0, 1e-12));
    assert!(
        close(p.downwind_deg, 90.0, 1e-12),
        "wind from 270° drives toward 090°"
    );
    assert!(close(p.leeway_kn, 0.55, 1e-9), "0.034·15 + 0.040");
    assert!(close(p.datum.drift_nm, 6.2, 1e-9), "{}", p.datum.drift_nm);
    assert!(close(p.datum.drift_bearing_deg, 90.0, 1e-9));
    assert!(close(p.datum.de_nm, 1.86, 1e-9));
    assert!(close(p.datum.e_nm, 1.87, 0.005), "{}", p.datum.e_nm);
    assert!(
        close(p.datum.radius_nm, 2.05, 0.01),
        "{}",
        p.datum.radius_nm
    );
    assert!(close(p.point_area_nm2, 16.8, 0.1), "{}", p.point_area_nm2);
    // The datum is 6.2 NM east of the LKP.
    assert!(close(i.lkp.distance_m(p.datum.position) / NM, 6.2, 1e-6));
    assert!(close(i.lkp.bearing_deg(p.datum.position), 90.0, 0.05));
    // Divergence ±22°: 6.1 NM on 082° and 098°, 1.65 NM apart, a ≈ 5.7 × 4.0 NM rectangle.
    assert!(
        close(p.datum_left.drift_nm, 6.1, 0.05),
        "{}",
        p.datum_left.drift_nm
    );
    assert!(
        close(p.datum_left.drift_bearing_deg, 82.0, 0.5),
        "{}",
        p.datum_left.drift_bearing_deg
    );
    assert!(
        close(p.datum_right.drift_bearing_deg, 98.0, 0.5),
        "{}",
        p.datum_right.drift_bearing_deg
    );
    assert!(
        close(p.divergence_distance_nm, 1.65, 0.02),
        "{}",
        p.divergence_distance_nm
    );
    assert!(close(p.area.length_nm, 5.7, 0.05), "{}", p.area.length_nm);
    assert!(close(p.area.width_nm, 4.0, 0.05), "{}", p.area.width_nm);
    // A current to the north and no wind: the datum is north; a wind from the north and no
    // current: the datum is south.
    let mut j = worked_example();
    (j.current_to_deg, j.wind_kn, j.object) = (0.0, 0.0, "wreckage".into());
    let q = plan(&j, object(&j.object).unwrap()).unwrap();
    assert!(q.datum.position.lat > j.lkp.lat && close(q.datum.drift_bearing_deg, 0.0, 1e-9));
    let mut k = worked_example();
    (k.current_kn, k.wind_from_deg, k.object) = (0.0, 0.0, "wreckage".into());
    let r = plan(&k, object(&k.object).unwrap()).unwrap();
    assert!(r.datum.position.lat < k.lkp.lat && close(r.datum.drift_bearing_deg, 180.0, 1e-9));
}

#[test]
fn r28_total_probable_error_is_the_root_sum_of_squares_and_de_defaults_to_0_3_of_the_drift() {
    let mut i = worked_example();
    let p = plan(&i, object(&i.object).unwrap()).unwrap();
    assert_eq!(p.method, "manual_iamsar_rss");
    let de = 0.3 * p.datum.drift_nm;
    assert!(close(p.datum.de_nm, de, 1e-12));
    assert!(close(
        p.datum.e_nm,
        (0.01f64 + 0.01 + de * de).sqrt(),
        1e-12
    ));
    (i.x_nm, i.y_nm, i.de_nm) = (1.0, 0.1, Some(0.5));
    let q = plan(&i, object(&i.object).unwrap()).unwrap();
    assert!(
        close(q.datum.e_nm, (1.0f64 + 0.01 + 0.25).sqrt(), 1e-12),
        "a radar fix X = 1 NM, De given"
    );
    assert!(close(q.datum.radius_nm, 1.1 * q.datum.e_nm, 1e-12));
}

#[test]
fn r26_stored_inputs_re_run_to_identical_plans() {
    let i = worked_example();
    let a = plan(&i, object(&i.object).unwrap()).unwrap();
    // Stored as JSON, read back, re-run.
    let stored = serde_json::to_string(&a.inputs).unwrap();
    let back: SearchInputs = serde_json::from_str(&stored).unwrap();
    let b = plan(&back, object(&back.object).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert!((a.datum.radius_nm - b.datum.radius_nm).abs() < 1e-6);
}

#[test]
fn r29_expanding_square_sector_and_parallel_sweep_geometry() {
    let i = worked_example();
    let p = plan(&i, object(&i.object).unwrap()).unwrap();
    // Expanding square: CSP = datum, leg k = ⌈k/2⌉·S, 90° turns to starboard, first leg into the wind.
    let ss = &p.expanding_square;
    assert_eq!(ss.csp, p.datum.position);
    assert!(close(ss.first_leg_deg, 270.0, 1e-9));
    for (k, w) in ss.waypoints.windows(2).enumerate() {
        let want = (k + 1).div_ceil(2) as f64 * i.spacing_nm;
        assert!(
            close(w[0].distance_m(w[1]) / NM, want, 1e-6),
            "leg {}",
            k + 1
        );
        assert!(close(ss.legs_nm[k], want, 1e-12));
    }
    let brg: Vec<f64> = ss
        .waypoints
        .windows(2)
        .map(|w| w[0].bearing_deg(w[1]))
        .collect();
    for b in brg.windows(2) {
        assert!(close((b[1] - b[0]).rem_euclid(360.0), 90.0, 0.2), "{b:?}");
    }
    // Sector: nine legs of r, total 9r, three passes through the datum, 120° turns to starboard.
    let vs = &p.sector;
    let r = vs.spacing_nm;
    assert_eq!(vs.legs_nm.len(), 9);
    assert!(
        close(vs.track_nm, 9.0 * r, 1e-4 * r),
        "{} vs 9r = {}",
        vs.track_nm,
        9.0 * r
    );
    for k in [3, 6, 9] {
        assert!(
            vs.waypoints[k].distance_m(p.datum.position) < 1.0,
            "pass {k} through the datum"
        );
    }
    let headings: Vec<f64> = vs
        .waypoints
        .windows(2)
        .map(|w| w[0].bearing_deg(w[1]))
        .collect();
    for (k, h) in headings.windows(2).enumerate() {
        let turn = (h[1] - h[0]).rem_euclid(360.0);
        let expected = if (k + 1) % 3 == 0 { 0.0 } else { 120.0 };
        assert!(
            angle(turn, expected) < 0.5,
            "turn after leg {}: {turn}",
            k + 1
        );
    }
    assert!(
        close(vs.first_leg_deg, p.datum.drift_bearing_deg, 1e-9),
        "first leg down-drift"
    );
    // Parallel sweep: CSP ½S inside a corner, legs parallel to the long side, S apart.
    let ps = &p.parallel_sweep;
    let s = i.spacing_nm;
    let corner = p.area.corners[0];
    let d = corner.distance_m(ps.csp) / NM;
    assert!(close(d, (s / 2.0) * 2f64.sqrt(), 1e-3), "{d}");
    assert!(close(
        ps.legs_nm[0],
        p.area.length_nm.max(p.area.width_nm) - s,
        1e-9
    ));
    assert!(close(ps.legs_nm[1], s, 1e-12));
}

#[test]
fn r30_leeway_is_never_negative() {
    for o in OBJECTS {
        for u in [0.0, 0.5, 1.0, 2.0, 5.0, 40.0] {
            assert!(o.leeway_kn(u) >= 0.0, "{} at {u} kn", o.id);
        }
    }
    // Life raft without drogue: 0.038·U − 0.041 would be negative in a calm.
    assert_eq!(
        object("life_raft_4_6_no_drogue").unwrap().leeway_kn(0.0),
        0.0
    );
}

#[test]
fn the_overcrowded_inflatable_substitute_is_documented() {
    let o = object("overcrowded_inflatable").unwrap();
    assert!(o.note.contains("flat-bottom dinghy"));
    assert_eq!(
        o.leeway_kn(15.0),
        object("flat_bottom_dinghy").unwrap().leeway_kn(15.0)
    );
}

proptest! {
    /// Every pattern's waypoints are its legs: measured distances equal the stated ones.
    #[test]
    fn pattern_waypoints_measure_their_legs(
        lat in -60.0f64..60.0, lon in -179.0f64..179.0,
        wind_from in 0.0f64..360.0, wind in 0.0f64..40.0,
        cur_to in 0.0f64..360.0, cur in 0.0f64..3.0,
        hours in 0.0f64..24.0, s in 0.2f64..3.0,
    ) {
        let lkp_time: jiff::Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
        let i = SearchInputs {
            lkp: Position::new(lat, lon).unwrap(),
            lkp_time,
            at: lkp_time + jiff::SignedDuration::from_secs_f64(hours * 3600.0),
            object: "person_in_water".into(),
            wind_from_deg: wind_from, wind_kn: wind, current_to_deg: cur_to, current_kn: cur,
            x_nm: 0.1, y_nm: 0.1, de_nm: None, fs: 1.1, spacing_nm: s,
        };
        let p = plan(&i, object(&i.object).unwrap()).unwrap();
        for pat in [&p.expanding_square, &p.sector, &p.parallel_sweep] {
            prop_assert_eq!(pat.waypoints.len(), pat.legs_nm.len() + 1);
            for (k, w) in pat.waypoints.windows(2).enumerate() {
                let d = w[0].distance_m(w[1]) / NM;
                prop_assert!((d - pat.legs_nm[k]).abs() < 1e-6 * (1.0 + d), "{} leg {}: {} vs {}", pat.code, k, d, pat.legs_nm[k]);
            }
        }
        // The datum is where the drift says.
        let d = i.lkp.distance_m(p.datum.position) / NM;
        prop_assert!((d - p.datum.drift_nm).abs() < 1e-6 * (1.0 + d));
    }
}
