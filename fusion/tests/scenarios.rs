//! Every detector, both ways: it fires where it should and not where it should not.

use crate::sim::{OPEN_SEA, Sim};
use fusion::{AlertKind, AlertState, FusionConfig, Severity};
use ingest::wire::PatrolReport;
use ingest::wire::patrol::{Condition, Craft, Position};

const A: u32 = 247_123_456; // Italy
const B: u32 = 636_012_345; // Liberia
const C: u32 = 215_000_111; // Malta

/// Background traffic around `(lat, lon)`: three vessels drifting slowly, reporting
/// every 3 minutes for `minutes`, so the area is known to be covered.
fn traffic(sim: &mut Sim, (lat, lon): (f64, f64), minutes: f64) {
    for (i, (dlat, dlon)) in [(0.05, 0.05), (-0.06, 0.02), (0.02, -0.07)]
        .iter()
        .enumerate()
    {
        sim.sail(
            256_000_100 + i as u32,
            0.0,
            minutes,
            3.0,
            (lat + dlat, lon + dlon),
            8.0,
            90.0 * i as f64,
            0,
        );
    }
}

#[test]
fn rendezvous_fires_for_two_vessels_stopped_together_at_sea_and_closes_when_they_part() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    // Both arrive, stop 200 m apart for 45 minutes, then leave.
    sim.sail(A, 0.0, 45.0, 3.0, (lat, lon), 0.5, 0.0, 0);
    sim.sail(B, 1.0, 46.0, 3.0, (lat + 0.0018, lon), 0.4, 0.0, 0);
    sim.sail(A, 48.0, 80.0, 3.0, (lat + 0.01, lon), 12.0, 180.0, 0);
    sim.sail(B, 48.0, 80.0, 3.0, (lat + 0.01, lon + 0.01), 14.0, 0.0, 0);
    sim.run(100.0);
    let r = sim.alerts(AlertKind::Rendezvous);
    assert_eq!(r.len(), 1, "{}", sim.dump());
    let a = &r[0];
    assert_eq!(a.mmsi, vec![A, B]);
    assert_eq!(a.state, AlertState::Closed);
    assert_eq!(a.rule, "rendezvous@1");
    assert_eq!(a.params["max_distance_m"], 500.0);
    assert_eq!(a.severity, Severity::High);
    let minutes = (a.end.unwrap() - a.start).get_seconds() / 60;
    assert!((44..=46).contains(&minutes), "{minutes} min");
    assert!(
        a.reasons[0].contains("within 500 m of each other for"),
        "{:?}",
        a.reasons
    );
    assert!(a.reasons[0].contains("km from"), "{:?}", a.reasons);
}

#[test]
fn rendezvous_does_not_fire_in_port_for_short_stops_or_for_vessels_passing() {
    let mut sim = Sim::new();
    // Off Lampedusa harbour (within 10 km): a port, not the open sea.
    sim.sail(A, 0.0, 60.0, 3.0, (35.49, 12.62), 0.2, 0.0, 0);
    sim.sail(B, 0.0, 60.0, 3.0, (35.4915, 12.62), 0.3, 0.0, 0);
    // At sea, together for only 20 minutes.
    let (lat, lon) = OPEN_SEA;
    sim.sail(C, 0.0, 20.0, 3.0, (lat, lon), 0.5, 0.0, 0);
    sim.sail(256_000_001, 0.0, 20.0, 3.0, (lat + 0.001, lon), 0.5, 0.0, 0);
    // Two vessels passing close at speed.
    sim.sail(256_000_002, 0.0, 60.0, 1.0, (34.5, 13.0), 14.0, 90.0, 0);
    sim.sail(256_000_003, 0.0, 60.0, 1.0, (34.501, 13.0), 14.0, 90.0, 0);
    sim.run(90.0);
    assert!(
        sim.alerts(AlertKind::Rendezvous).is_empty(),
        "{}",
        sim.dump()
    );
}

#[test]
fn loitering_fires_after_two_hours_slow_at_sea() {
    let mut sim = Sim::new();
    sim.sail(A, 0.0, 150.0, 3.0, OPEN_SEA, 0.8, 45.0, 0);
    sim.sail(A, 153.0, 170.0, 3.0, (35.03, 13.53), 10.0, 45.0, 0);
    sim.run(180.0);
    let l = sim.alerts(AlertKind::Loitering);
    assert_eq!(l.len(), 1, "{}", sim.dump());
    assert_eq!(l[0].state, AlertState::Closed);
    assert!(
        l[0].reasons[0].contains("under 2 kn for 2 h"),
        "{:?}",
        l[0].reasons
    );
    assert!(
        l[0].reasons.last().unwrap().contains("moved on at 10.0 kn"),
        "{:?}",
        l[0].reasons
    );
}

/// A centre's area of responsibility: what happens outside it is kept, marked, never
/// lost; what happens inside is not marked.
#[test]
fn alerts_outside_the_area_of_responsibility_are_kept_and_marked() {
    let area = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        area.path(),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"our SRR","kind":"srr"},
            "geometry":{"type":"Polygon","coordinates":[[[12.5,34.5],[14.5,34.5],[14.5,35.5],[12.5,35.5],[12.5,34.5]]]}}]}"#,
    )
    .unwrap();
    let mut cfg = FusionConfig::default();
    cfg.position_jump.land = false;
    cfg.geodata.area = Some(area.path().to_owned());
    let mut sim = Sim::with(cfg, None);
    // A loiters inside the area, B far outside it.
    sim.sail(A, 0.0, 150.0, 3.0, OPEN_SEA, 0.8, 45.0, 0);
    sim.sail(B, 0.0, 150.0, 3.0, (33.0, 16.0), 0.8, 45.0, 0);
    sim.run(160.0);
    let l = sim.alerts(AlertKind::Loitering);
    assert_eq!(l.len(), 2, "{}", sim.dump());
    let by = |m: u32| l.iter().find(|a| a.mmsi == vec![m]).unwrap();
    assert!(!by(A).outside_area);
    assert!(by(B).outside_area);
    // Said in the JSON only when it is so: outputs without an area are unchanged.
    let json = serde_json::to_value(by(A)).unwrap();
    assert!(json.get("outside_area").is_none(), "{json}");
    assert_eq!(serde_json::to_value(by(B)).unwrap()["outside_area"], true);
}

#[test]
fn moored_vessels_and_vessels_in_port_do_not_loiter() {
    let mut sim = Sim::new();
    // Moored (nav status 5) at sea for 3 h: a buoy mooring, not loitering.
    sim.sail(A, 0.0, 180.0, 3.0, OPEN_SEA, 0.0, 0.0, 5);
    // Slow for 3 h off Lampedusa harbour.
    sim.sail(B, 0.0, 180.0, 3.0, (35.49, 12.62), 0.5, 0.0, 0);
    // Slow at sea, but only 90 minutes.
    sim.sail(C, 0.0, 90.0, 3.0, (34.0, 14.0), 1.0, 0.0, 0);
    sim.run(200.0);
    assert!(
        sim.alerts(AlertKind::Loitering).is_empty(),
        "{}",
        sim.dump()
    );
}

#[test]
fn ais_gap_fires_where_others_are_still_heard_and_closes_on_return() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    traffic(&mut sim, (lat, lon), 300.0);
    // A sails slowly for 30 min, goes silent for 3 h, reappears nearby.
    let end = sim.sail(A, 0.0, 30.0, 3.0, (lat, lon), 2.0, 0.0, 0);
    sim.sail(A, 210.0, 240.0, 3.0, (end.0 + 0.05, end.1), 2.0, 0.0, 0);
    sim.run(250.0);
    let g = sim.alerts(AlertKind::AisGap);
    assert_eq!(g.len(), 1, "{}", sim.dump());
    assert_eq!(g[0].mmsi, vec![A]);
    assert_eq!(g[0].state, AlertState::Closed);
    assert_eq!(g[0].start, sim.at(30.0));
    assert_eq!(g[0].end, Some(sim.at(210.0)));
    assert!(
        g[0].reasons[0].contains("other vessels heard within 30 km"),
        "{:?}",
        g[0].reasons
    );
    assert!(
        g[0].reasons
            .last()
            .unwrap()
            .contains("reported again after 3 h"),
        "{:?}",
        g[0].reasons
    );
}

/// Two trawlers working slowly around `(lat, lon)` for `minutes`, heard every 3 minutes:
/// a patch of sea known to be covered, and nothing else.
fn trawlers(sim: &mut Sim, first_mmsi: u32, (lat, lon): (f64, f64), minutes: f64) {
    for (i, (dlat, dlon, course)) in [(0.03, 0.0, 90.0), (-0.03, 0.02, 270.0)].iter().enumerate() {
        sim.sail(
            first_mmsi + i as u32,
            0.0,
            minutes,
            3.0,
            (lat + dlat, lon + dlon),
            1.0,
            *course,
            0,
        );
    }
}

/// The false alerts of real feeds (a cargo ship at 15 kn sails out of the receivers' reach
/// on its way to Gibraltar): other vessels are heard near where it was last heard, and
/// near where its course would have taken it, but not along the way between. It left
/// coverage; it did not go dark.
#[test]
fn ais_gap_is_not_raised_for_a_transit_whose_way_leaves_coverage() {
    let mut sim = Sim::new();
    // Heard at the western edge of one receiver's reach, and near another 60 NM west.
    trawlers(&mut sim, 256_000_200, (35.47, 12.1), 400.0);
    trawlers(&mut sim, 256_000_210, (35.62, 10.9), 400.0);
    // Westbound at 15 kn, last heard at the edge after 100 minutes.
    sim.sail(A, 0.0, 100.0, 1.0, (35.5, 12.6), 15.0, 270.0, 0);
    sim.run(380.0);
    assert!(sim.alerts(AlertKind::AisGap).is_empty(), "{}", sim.dump());
}

/// The same transit with the water between covered (a third pair of trawlers heard there):
/// silent where it would have been heard all along, it went dark.
#[test]
fn ais_gap_is_raised_when_the_whole_way_is_covered_and_says_so() {
    let mut sim = Sim::new();
    trawlers(&mut sim, 256_000_200, (35.47, 12.1), 400.0);
    trawlers(&mut sim, 256_000_220, (35.5, 11.75), 400.0);
    trawlers(&mut sim, 256_000_230, (35.5, 11.4), 400.0);
    trawlers(&mut sim, 256_000_240, (35.5, 11.05), 400.0);
    trawlers(&mut sim, 256_000_210, (35.62, 10.9), 400.0);
    sim.sail(A, 0.0, 100.0, 1.0, (35.5, 12.6), 15.0, 270.0, 0);
    sim.run(380.0);
    let g = sim.alerts(AlertKind::AisGap);
    assert_eq!(g.len(), 1, "{}", sim.dump());
    assert!(
        g[0].reasons
            .iter()
            .any(|r| r.starts_with("in coverage all the way") && r.contains(" of ")),
        "{:?}",
        g[0].reasons
    );
}

/// Class B reports (type 18) every 3 minutes from `from` to `to` minutes, drifting at 1 kn.
fn class_b_reports(sim: &mut Sim, mmsi: u32, (lat, lon): (f64, f64), (from, to): (f64, f64)) {
    let mut t = from;
    while t <= to {
        sim.ais(
            t,
            ingest::model::AisObservation {
                mmsi,
                msg_type: 18,
                lat: Some(lat + 0.0003 * t),
                lon: Some(lon),
                sog_kn: Some(1.0),
                cog_deg: Some(0.0),
                ..Default::default()
            },
        );
        t += 3.0;
    }
}

/// A Class B transmitter is heard over a shorter range than a Class A one: where only
/// Class A vessels are heard, a Class B boat's silence may be its weaker set; where other
/// Class B boats are heard, it is a gap.
#[test]
fn a_class_b_silence_is_judged_on_where_class_b_is_heard() {
    let mut sim = Sim::new();
    trawlers(&mut sim, 256_000_300, OPEN_SEA, 300.0);
    class_b_reports(&mut sim, B, OPEN_SEA, (0.0, 30.0));
    sim.run(250.0);
    assert!(sim.alerts(AlertKind::AisGap).is_empty(), "{}", sim.dump());

    let mut sim = Sim::new();
    trawlers(&mut sim, 256_000_300, OPEN_SEA, 300.0);
    class_b_reports(
        &mut sim,
        256_000_310,
        (OPEN_SEA.0 + 0.02, OPEN_SEA.1),
        (0.0, 300.0),
    );
    class_b_reports(
        &mut sim,
        256_000_311,
        (OPEN_SEA.0 - 0.02, OPEN_SEA.1),
        (0.0, 300.0),
    );
    class_b_reports(&mut sim, B, OPEN_SEA, (0.0, 30.0));
    sim.run(250.0);
    let g = sim.alerts(AlertKind::AisGap);
    assert_eq!(g.len(), 1, "{}", sim.dump());
    assert_eq!(g[0].mmsi, vec![B]);
}

#[test]
fn a_gap_in_a_coverage_hole_is_not_suspicious() {
    let mut sim = Sim::new();
    // Traffic is heard only 150 km away: nothing near A's last position.
    traffic(&mut sim, (36.3, 13.5), 300.0);
    sim.sail(A, 0.0, 30.0, 3.0, OPEN_SEA, 2.0, 0.0, 0);
    sim.run(300.0);
    assert!(sim.alerts(AlertKind::AisGap).is_empty(), "{}", sim.dump());
}

#[test]
fn a_late_report_inside_the_gap_retracts_it() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    traffic(&mut sim, (lat, lon), 300.0);
    sim.sail(A, 0.0, 30.0, 3.0, (lat, lon), 1.0, 0.0, 0);
    sim.run(160.0);
    assert_eq!(sim.alerts(AlertKind::AisGap).len(), 1, "{}", sim.dump());
    assert_eq!(sim.alerts(AlertKind::AisGap)[0].state, AlertState::Open);
    // A report made at minute 90 arrives at 161 (a satellite pass delivered late): the
    // silence was one hour, not two.
    sim.late_report(A, 90.0, 161.0, lat + 0.01, lon, 1.0);
    sim.run(161.0);
    let g = sim.alerts(AlertKind::AisGap);
    assert_eq!(g.len(), 1, "{}", sim.dump());
    assert_eq!(g[0].state, AlertState::Retracted, "{:?}", g[0].reasons);
    assert!(
        g[0].reasons.last().unwrap().contains("arrived late"),
        "{:?}",
        g[0].reasons
    );
    // The history shows both: issued, then retracted.
    let revisions: Vec<_> = sim
        .revisions
        .iter()
        .filter(|a| a.id == g[0].id)
        .map(|a| a.state)
        .collect();
    assert_eq!(revisions, vec![AlertState::Open, AlertState::Retracted]);
}

#[test]
fn position_jump_fires_for_an_impossible_move_and_not_for_a_fast_boat() {
    let mut sim = Sim::new();
    // A jumps 40 NM in two minutes, then carries on from there.
    let end = sim.sail(A, 0.0, 20.0, 2.0, OPEN_SEA, 12.0, 90.0, 0);
    sim.sail(A, 22.0, 40.0, 2.0, (end.0 + 0.66, end.1), 12.0, 90.0, 0);
    // B is a go-fast at 45 kn, reporting its speed.
    sim.sail(B, 0.0, 40.0, 1.0, (34.0, 12.0), 45.0, 90.0, 0);
    sim.run(45.0);
    let j = sim.alerts(AlertKind::PositionJump);
    assert_eq!(j.len(), 1, "{}", sim.dump());
    assert_eq!(j[0].mmsi, vec![A]);
    assert!(j[0].reasons[0].contains("NM away"), "{:?}", j[0].reasons);
    assert!(
        j[0].reasons[0].contains("more than the 60 kn"),
        "{:?}",
        j[0].reasons
    );
}

#[test]
fn two_vessels_sharing_an_mmsi_are_an_identity_conflict_and_the_jump_is_retracted() {
    let mut sim = Sim::new();
    // Two ships 100 NM apart both transmit MMSI A.
    sim.sail(A, 0.0, 30.0, 2.0, OPEN_SEA, 10.0, 0.0, 0);
    sim.sail(A, 1.0, 31.0, 2.0, (36.6, 13.5), 10.0, 180.0, 0);
    sim.run(40.0);
    let c = sim.alerts(AlertKind::IdentityConflict);
    assert_eq!(c.len(), 1, "{}", sim.dump());
    assert!(
        c[0].reasons[0].contains("two places at once"),
        "{:?}",
        c[0].reasons
    );
    let j = sim.alerts(AlertKind::PositionJump);
    assert_eq!(j.len(), 1, "{}", sim.dump());
    assert_eq!(j[0].state, AlertState::Retracted);
    assert!(
        j[0].reasons
            .last()
            .unwrap()
            .contains("two vessels transmit MMSI"),
        "{:?}",
        j[0].reasons
    );
    assert_eq!(sim.engine().vessel(A).unwrap().segments.len(), 2);
}

#[test]
fn a_single_bad_position_is_a_jump_but_not_two_vessels() {
    let mut sim = Sim::new();
    sim.sail(A, 0.0, 10.0, 1.0, OPEN_SEA, 10.0, 0.0, 0);
    sim.report(A, 10.5, 36.5, 15.0, 10.0, 0.0, 0);
    sim.sail(
        A,
        11.0,
        40.0,
        1.0,
        (35.0 + 11.0 * 10.0 / 60.0 / 60.0, 13.5),
        10.0,
        0.0,
        0,
    );
    sim.run(45.0);
    assert_eq!(
        sim.alerts(AlertKind::PositionJump).len(),
        1,
        "{}",
        sim.dump()
    );
    assert!(
        sim.alerts(AlertKind::IdentityConflict).is_empty(),
        "{}",
        sim.dump()
    );
}

#[test]
fn a_name_changed_at_sea_is_flagged_and_in_port_is_not() {
    let mut sim = Sim::new();
    sim.sail(A, 0.0, 60.0, 3.0, OPEN_SEA, 10.0, 0.0, 0);
    sim.static_data(A, 5.0, "SEA STAR", "IBCD", 9_074_729, 70);
    sim.static_data(A, 40.0, "NORTH WIND", "IBCD", 9_074_729, 70);
    sim.sail(B, 0.0, 60.0, 3.0, (35.49, 12.62), 0.0, 0.0, 5);
    sim.static_data(B, 5.0, "OLD NAME", "ABCD", 0, 70);
    sim.static_data(B, 40.0, "NEW NAME", "ABCD", 0, 70);
    sim.run(60.0);
    let c = sim.alerts(AlertKind::IdentityConflict);
    assert_eq!(c.len(), 1, "{}", sim.dump());
    assert_eq!(c[0].mmsi, vec![A]);
    assert!(
        c[0].reasons[0].contains("name changed from SEA STAR to NORTH WIND at sea"),
        "{:?}",
        c[0].reasons
    );
    let history = &sim.engine().vessel(B).unwrap().static_history;
    assert!(
        history
            .iter()
            .any(|h| h.field == "name" && h.to == "NEW NAME"),
        "the change in port is still recorded"
    );
}

#[test]
fn invalid_identity_flags_unallocated_mids_and_bad_imo_check_digits_only() {
    let mut sim = Sim::new();
    sim.sail(646_123_456, 0.0, 6.0, 3.0, OPEN_SEA, 10.0, 0.0, 0);
    sim.sail(A, 0.0, 6.0, 3.0, (34.5, 13.0), 10.0, 0.0, 0);
    sim.static_data(A, 1.0, "GOOD IMO", "IAAA", 9_074_729, 70);
    sim.sail(B, 0.0, 6.0, 3.0, (34.0, 13.0), 10.0, 0.0, 0);
    sim.static_data(B, 1.0, "BAD IMO", "IBBB", 9_074_728, 70);
    sim.run(10.0);
    let i = sim.alerts(AlertKind::InvalidIdentity);
    assert_eq!(i.len(), 2, "{}", sim.dump());
    assert!(
        i.iter()
            .any(|a| a.mmsi == vec![646_123_456] && a.reasons[0].contains("MID 646"))
    );
    assert!(
        i.iter()
            .any(|a| a.mmsi == vec![B] && a.reasons[0].contains("check digit"))
    );
}

const ZONE: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"name":"Closed area","severity":"high","exempt_mmsi":[215000111]},
  "geometry":{"type":"Polygon","coordinates":[[[13.6,34.9],[13.8,34.9],[13.8,35.1],[13.6,35.1],[13.6,34.9]]]}},
 {"type":"Feature","properties":{"name":"Fishing ban","ship_types":[30]},
  "geometry":{"type":"Polygon","coordinates":[[[12.0,34.0],[12.5,34.0],[12.5,34.5],[12.0,34.5],[12.0,34.0]]]}}]}"#;

#[test]
fn zone_entry_fires_on_entering_and_closes_on_leaving_with_per_zone_rules() {
    let mut cfg = FusionConfig::default();
    cfg.position_jump.land = false;
    let mut sim = Sim::with(cfg, Some(ZONE));
    // A sails east through the closed area (13.6–13.8 E) at 12 kn.
    sim.sail(A, 0.0, 120.0, 2.0, OPEN_SEA, 12.0, 90.0, 0);
    // C (exempt: our own patrol) does the same.
    sim.sail(C, 0.0, 120.0, 2.0, OPEN_SEA, 12.0, 90.0, 0);
    // B, a cargo ship, crosses the fishing ban: the rule is for fishing vessels only.
    sim.static_data(B, 0.0, "CARGO", "ICCC", 9_074_729, 70);
    sim.sail(B, 1.0, 120.0, 2.0, (34.25, 11.9), 12.0, 90.0, 0);
    sim.run(130.0);
    let z = sim.alerts(AlertKind::ZoneEntry);
    assert_eq!(z.len(), 1, "{}", sim.dump());
    assert_eq!(z[0].mmsi, vec![A]);
    assert_eq!(z[0].severity, Severity::High);
    assert_eq!(z[0].state, AlertState::Closed);
    assert!(
        z[0].reasons[0].contains("entered Closed area"),
        "{:?}",
        z[0].reasons
    );
    assert_eq!(z[0].params["zone"], "Closed area");
}

#[test]
fn a_radar_contact_without_ais_is_dark_and_one_on_an_ais_vessel_is_not() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    // Contact 1: nothing on AIS there, tracked for 15 minutes.
    for m in 0..=15 {
        sim.radar("cp-301", 1, m as f64, lat + 0.001 * m as f64, lon);
    }
    // Contact 2: on top of AIS vessel B.
    let b = (34.6, 13.2);
    sim.sail(B, 0.0, 20.0, 1.0, b, 6.0, 0.0, 0);
    for m in 0..=15 {
        let p = fusion::Position::new(b.0, b.1)
            .unwrap()
            .destination(0.0, 6.0 * 1852.0 * m as f64 / 60.0 + 150.0);
        sim.radar("cp-301", 2, m as f64, p.lat, p.lon);
    }
    sim.run(16.0);
    let d = sim.alerts(AlertKind::DarkTarget);
    assert_eq!(d.len(), 1, "{}", sim.dump());
    assert_eq!(d[0].contacts, vec!["cp-301/radar/1".to_string()]);
    assert!(d[0].mmsi.is_empty());
    assert!(
        d[0].reasons[0].contains("tracked for 10 min"),
        "{:?}",
        d[0].reasons
    );
    // Contact 1 fades: the alert closes after the contact timeout.
    sim.run(30.0);
    assert_eq!(
        sim.alerts(AlertKind::DarkTarget)[0].state,
        AlertState::Closed
    );
}

#[test]
fn a_sighting_of_an_overcrowded_boat_without_ais_is_a_critical_dark_target_at_once() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    let t = sim.at(5.0);
    sim.report_from(
        "cp-301",
        5.0,
        PatrolReport::Sighting {
            time: t,
            position: Position { lat, lon },
            craft: Craft::RubberBoat,
            persons_estimate: 47,
            condition: Condition::Overcrowded,
            notes: None,
        },
    );
    // A sighting of a merchant ship that is on AIS.
    sim.sail(B, 0.0, 10.0, 1.0, (34.5, 13.0), 10.0, 0.0, 0);
    let t = sim.at(6.0);
    sim.report_from(
        "cp-301",
        6.0,
        PatrolReport::Sighting {
            time: t,
            position: Position {
                lat: 34.5 + 0.017,
                lon: 13.0,
            },
            craft: Craft::MerchantVessel,
            persons_estimate: 20,
            condition: Condition::UnderWay,
            notes: None,
        },
    );
    sim.run(10.0);
    let d = sim.alerts(AlertKind::DarkTarget);
    assert_eq!(d.len(), 1, "{}", sim.dump());
    assert_eq!(d[0].severity, Severity::Critical);
    assert_eq!(d[0].start, sim.at(5.0));
    assert!(
        d[0].reasons[0].contains("rubber boat with about 47 persons, overcrowded"),
        "{:?}",
        d[0].reasons
    );
}

#[test]
fn risk_score_lists_its_reasons() {
    let mut cfg = FusionConfig::default();
    cfg.position_jump.land = false;
    cfg.risk.watchlist = vec![B];
    let mut sim = Sim::with(cfg, None);
    let (lat, lon) = OPEN_SEA;
    sim.sail(A, 0.0, 45.0, 3.0, (lat, lon), 0.5, 0.0, 0);
    sim.sail(B, 1.0, 46.0, 3.0, (lat + 0.0018, lon), 0.4, 0.0, 0);
    sim.run(50.0);
    let ra = sim.engine().risk(A).unwrap();
    let rb = sim.engine().risk(B).unwrap();
    assert!(ra.score > 0.3 && rb.score > ra.score, "{ra:?} {rb:?}");
    assert!(ra.reasons[0].starts_with("rendezvous ×1"), "{ra:?}");
    assert!(rb.reasons.iter().any(|r| r.contains("watchlist")), "{rb:?}");
    assert_eq!(sim.engine().risk(C), None);
}

#[test]
fn a_step_from_open_sea_onto_land_is_a_position_jump_and_a_vessel_always_inland_is_not() {
    // Find, on the meridian 14.0° E, the last point in open sea south of Sicily and the
    // first point more than 1 km inland north of it.
    let land = fusion::geodata::LandMask::natural_earth();
    let at = |lat: f64| fusion::Position::new(lat, 14.0).unwrap();
    let mut sea = None;
    let mut inland = None;
    for i in 0..600 {
        let p = at(36.8 + i as f64 * 0.001);
        let coastal = land.coast_distance_m(p, 1000.0).is_some();
        if !coastal && !land.contains(p) && inland.is_none() {
            sea = Some(p);
        }
        if land.inland(p, 1000.0) {
            inland = Some(p);
            break;
        }
    }
    let (sea, inland) = (sea.expect("open sea"), inland.expect("inland"));
    let step_km = sea.distance_m(inland) / 1000.0;
    assert!(step_km < 6.0, "{step_km} km");
    let mut cfg = FusionConfig::default();
    cfg.position_jump.land = true;
    let mut sim = Sim::with(cfg, None);
    sim.sail(A, 0.0, 10.0, 2.0, (sea.lat - 0.05, sea.lon), 15.0, 0.0, 0);
    sim.report(A, 11.0, sea.lat, sea.lon, 15.0, 0.0, 0);
    sim.report(A, 20.0, inland.lat, inland.lon, 15.0, 0.0, 0);
    // B is first seen inland and stays there (a river the land data does not know).
    sim.sail(B, 0.0, 30.0, 2.0, (37.5, 14.2), 5.0, 90.0, 0);
    sim.run(30.0);
    let j = sim.alerts(AlertKind::PositionJump);
    assert_eq!(j.len(), 1, "{}", sim.dump());
    assert_eq!(j[0].mmsi, vec![A]);
    assert!(
        j[0].reasons[0].contains("on land more than 1000 m from the coastline"),
        "{:?}",
        j[0].reasons
    );
}

#[test]
fn a_ttm_contact_is_placed_from_the_units_position_and_heading() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    // The patrol heads 045°; its radar reports target 7 at 2 NM, 045° relative: due east.
    sim.unit_fix("cp-301", 0.0, lat, lon, Some(45.0));
    for m in 0..=12 {
        sim.radar_ttm("cp-301", 7, m as f64, 2.0, 45.0, false);
    }
    // Another unit reports a relative bearing but has sent no heading: not placed, counted.
    sim.unit_fix("cp-302", 0.0, 34.0, 13.0, None);
    sim.radar_ttm("cp-302", 1, 1.0, 1.0, 10.0, false);
    sim.run(13.0);
    let d = sim.alerts(AlertKind::DarkTarget);
    assert_eq!(d.len(), 1, "{}", sim.dump());
    let expected = fusion::Position::new(lat, lon)
        .unwrap()
        .destination(90.0, 2.0 * 1852.0);
    assert!(
        d[0].position.distance_m(expected) < 1.0,
        "{:?} vs {expected:?}",
        d[0].position
    );
    assert_eq!(sim.engine().stats().radar_unplaced, 1);
}

#[test]
fn state_is_bounded_vessels_silent_for_two_days_are_forgotten_with_their_alerts() {
    let mut sim = Sim::new();
    sim.sail(646_123_456, 0.0, 10.0, 2.0, OPEN_SEA, 10.0, 0.0, 0);
    let p = sim.sail(A, 0.0, 20.0, 10.0, (34.0, 12.0), 10.0, 90.0, 0);
    sim.run(20.0);
    assert_eq!(sim.engine().alerts_held(), 1);
    assert!(sim.engine().vessel(646_123_456).is_some());
    sim.sail(A, 30.0, 3000.0, 10.0, p, 10.0, 90.0, 0);
    sim.run(49.0 * 60.0);
    assert!(
        sim.engine().vessel(646_123_456).is_none(),
        "forgotten after 48 h of silence"
    );
    assert!(sim.engine().vessel(A).is_some(), "still reporting");
    assert_eq!(sim.engine().alerts_held(), 0);
    assert_eq!(sim.engine().stats().vessels_forgotten, 1);
}

fn beacon(
    mmsi: u32,
    msg_type: u8,
    status: Option<u8>,
    lat: f64,
    lon: f64,
    sog_kn: f64,
    text: Option<&str>,
) -> ingest::model::AisObservation {
    ingest::model::AisObservation {
        mmsi,
        msg_type,
        lat: (msg_type != 14).then_some(lat),
        lon: (msg_type != 14).then_some(lon),
        sog_kn: (msg_type != 14).then_some(sog_kn),
        cog_deg: (msg_type != 14).then_some(200.0),
        nav_status: status,
        text: text.map(str::to_string),
        ..Default::default()
    }
}

#[test]
fn an_active_sart_is_a_critical_alert_at_once_and_follows_the_drift() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    // Drifting at 0.8 kn to the south: one report a minute for an hour.
    for m in 0..60 {
        let p = fusion::Position::new(lat, lon)
            .unwrap()
            .destination(180.0, 0.8 * 1852.0 * m as f64 / 60.0);
        sim.ais(
            m as f64,
            beacon(970_123_456, 1, Some(14), p.lat, p.lon, 0.8, None),
        );
    }
    sim.run(0.0);
    let first = sim.revisions.first().expect("an alert").clone();
    assert_eq!(first.kind, AlertKind::SarBeacon);
    assert_eq!(first.severity, Severity::Critical);
    assert_eq!(first.start, sim.at(0.0), "at the first report");
    assert!(
        first.reasons[0].contains("AIS-SART 970123456 ACTIVE"),
        "{:?}",
        first.reasons
    );
    assert!(
        first.reasons[0].contains("rescue first"),
        "{:?}",
        first.reasons
    );
    sim.run(60.0);
    let a = &sim.alerts(AlertKind::SarBeacon)[0];
    assert_eq!(a.state, AlertState::Open);
    assert!(a.revision > 1, "the alert follows the beacon");
    let last = fusion::Position::new(lat, lon)
        .unwrap()
        .destination(180.0, 0.8 * 1852.0 * 59.0 / 60.0);
    assert!(
        a.position.distance_m(last) < fusion_sim_move_m(),
        "{:?}",
        a.position
    );
    // A SART is not a vessel: no loitering, no track.
    assert!(sim.engine().vessel(970_123_456).is_none());
}

/// A vessel heard by "north" sails east at 20 kn and falls silent after an hour; "north"
/// hears trawlers around where it went silent and 40 NM on, for three hours; `south` adds,
/// heard by "south", what is heard of the two trawlers halfway (their ids and places
/// given). Returns the vessel's gap alerts after 200 min.
fn gaps_on_a_way_covered_halfway_by_south(
    south: impl FnOnce(&mut Sim, [(u32, fusion::Position); 2]),
) -> Vec<fusion::Alert> {
    let mut sim = Sim::new();
    let p = fusion::Position::new(OPEN_SEA.0, OPEN_SEA.1).unwrap();
    let east = |nm: f64| p.destination(90.0, nm * 1852.0);
    let side = |q: fusion::Position, bearing: f64| q.destination(bearing, 8_000.0);
    sim.heard_by("north");
    let from = p.destination(270.0, 20.0 * 1852.0);
    sim.sail(
        247_000_001,
        0.0,
        60.0,
        0.5,
        (from.lat, from.lon),
        20.0,
        90.0,
        0,
    );
    let mut mmsi = 247_000_100;
    for at in [p, east(40.0)] {
        for bearing in [0.0, 180.0] {
            let q = side(at, bearing);
            mmsi += 1;
            sim.sail(mmsi, 0.0, 180.0, 1.0, (q.lat, q.lon), 0.0, 0.0, 0);
        }
    }
    sim.heard_by("south");
    let halfway = east(20.0);
    south(
        &mut sim,
        [
            (mmsi + 1, side(halfway, 0.0)),
            (mmsi + 2, side(halfway, 180.0)),
        ],
    );
    sim.run(200.0);
    (sim.alerts(AlertKind::AisGap).into_iter())
        .filter(|a| a.mmsi == [247_000_001])
        .collect()
}

/// A vessel silent on a way whose middle only a receiver that has since gone quiet covered:
/// that receiver says nothing of the silence, so no gap; the same way with the receiver
/// still hearing is a gap.
#[test]
fn a_receiver_gone_quiet_says_nothing_of_a_silence() {
    let run = |outage: bool| {
        gaps_on_a_way_covered_halfway_by_south(|sim, trawlers| {
            let until = if outage { 59.0 } else { 180.0 };
            for (mmsi, q) in trawlers {
                sim.sail(mmsi, 0.0, until, 1.0, (q.lat, q.lon), 0.0, 0.0, 0);
            }
        })
    };
    let up = run(false);
    assert_eq!(up.len(), 1, "{up:#?}");
    assert!(
        up[0].reasons[0].contains("(it was last heard by north)"),
        "{:?}",
        up[0].reasons
    );
    assert!(
        up[0].reasons.iter().any(|r| r.contains("by north, south")),
        "{:?}",
        up[0].reasons
    );
    let quiet = run(true);
    assert!(quiet.is_empty(), "{quiet:#?}");
}

/// Regression: a report stamped days ahead (a receiver's clock gone wrong, or a hostile
/// feed) kept its receiver "alive" and its cells heard until that time, so a silence on a
/// way only it had covered was called dark. Coverage takes no time past the engine's clock.
#[test]
fn a_future_stamped_report_does_not_keep_a_receiver_alive() {
    // "south" hears the trawlers halfway for ten minutes, its clock two days ahead, then
    // nothing more.
    let gaps = gaps_on_a_way_covered_halfway_by_south(|sim, trawlers| {
        for (mmsi, q) in trawlers {
            for m in 0..10 {
                let o = ingest::model::AisObservation {
                    mmsi,
                    msg_type: 1,
                    lat: Some(q.lat),
                    lon: Some(q.lon),
                    sog_kn: Some(0.0),
                    cog_deg: Some(0.0),
                    nav_status: Some(0),
                    ..Default::default()
                };
                sim.late_ais(m as f64, m as f64 + 2.0 * 24.0 * 60.0, o);
            }
        }
    });
    assert!(gaps.is_empty(), "{gaps:#?}");
}

/// A SART that falls silent: its alert stays open and critical, and says whether beacons
/// and Class B sets are still heard around it (so it was in reach and may have stopped) or
/// not (the reach may be why); heard again, the alert says so.
#[test]
fn a_silent_sart_is_noted_with_what_is_still_heard_around_it() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    let far = fusion::Position::new(lat, lon)
        .unwrap()
        .destination(90.0, 150_000.0);
    for m in 0..20 {
        sim.ais(
            m as f64,
            beacon(970_123_456, 1, Some(14), lat, lon, 0.2, None),
        );
        sim.ais(
            m as f64,
            beacon(970_654_321, 1, Some(14), far.lat, far.lon, 0.2, None),
        );
    }
    // Two Class B sets heard 5 km away the whole time.
    for (mmsi, bearing) in [(247_000_801, 0.0), (247_000_802, 120.0)] {
        let p = fusion::Position::new(lat, lon)
            .unwrap()
            .destination(bearing, 5_000.0);
        for m in 0..60 {
            let mut b = beacon(mmsi, 18, None, p.lat, p.lon, 2.5, None);
            b.cog_deg = Some(90.0);
            sim.ais(m as f64, b);
        }
    }
    sim.ais(45.0, beacon(970_123_456, 1, Some(14), lat, lon, 0.2, None));
    sim.run(60.0);
    let alerts = sim.alerts(AlertKind::SarBeacon);
    let of = |mmsi: u32| {
        let a = alerts.iter().find(|a| a.mmsi == [mmsi]).expect("its alert");
        assert_eq!(
            (a.state, a.severity),
            (AlertState::Open, Severity::Critical)
        );
        a.reasons.join("\n")
    };
    let near = of(970_123_456);
    assert!(
        near.contains(
            "silent for 10 min while 2 SART or Class B transmitters are heard within 30 km:"
        ) && near.contains("may have stopped")
            && near.contains("heard again at"),
        "{near}"
    );
    let alone = of(970_654_321);
    assert!(
        alone.contains("no SART or Class B transmitters heard within 30 km")
            && alone.contains("the receivers' reach may be why"),
        "{alone}"
    );
}

fn fusion_sim_move_m() -> f64 {
    250.0
}

#[test]
fn a_sart_test_is_shown_but_never_alarms() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    for m in 0..10 {
        sim.ais(
            m as f64,
            beacon(970_111_222, 1, Some(15), lat, lon, 0.0, None),
        );
    }
    sim.ais(
        3.0,
        beacon(970_111_222, 14, None, 0.0, 0.0, 0.0, Some("SART TEST")),
    );
    sim.run(10.0);
    let a = sim.alerts(AlertKind::SarBeacon);
    assert_eq!(a.len(), 1, "{}", sim.dump());
    assert_eq!(a[0].severity, Severity::Info);
    assert!(a[0].reasons[0].contains("TEST mode"), "{:?}", a[0].reasons);
    assert!(
        sim.revisions
            .iter()
            .all(|r| r.severity != Severity::Critical)
    );
}

#[test]
fn implausible_beacons_are_alerted_with_the_doubt() {
    let mut sim = Sim::new();
    // An "ACTIVE" text arrives before any position: the alert comes with the first one.
    sim.ais(
        0.0,
        beacon(972_000_001, 14, None, 0.0, 0.0, 0.0, Some("MOB ACTIVE")),
    );
    // The MOB moves at 12 kn: still aboard a ship, or spoofed.
    sim.sail(972_000_001, 1.0, 6.0, 1.0, (34.5, 13.0), 12.0, 90.0, 15);
    // A ship's MMSI reporting status 14.
    sim.report(A, 2.0, 34.0, 14.0, 10.0, 0.0, 14);
    sim.run(10.0);
    let a = sim.alerts(AlertKind::SarBeacon);
    assert_eq!(a.len(), 2, "{}", sim.dump());
    let mob = a.iter().find(|x| x.mmsi == vec![972_000_001]).unwrap();
    assert_eq!(mob.severity, Severity::Critical);
    assert_eq!(mob.start, sim.at(1.0));
    assert!(
        mob.reasons
            .iter()
            .any(|r| r.contains("doubt: moving faster than 6 kn")),
        "{:?}",
        mob.reasons
    );
    let ship = a.iter().find(|x| x.mmsi == vec![A]).unwrap();
    assert_eq!(ship.severity, Severity::Critical);
    assert!(
        ship.reasons[0].contains("not a beacon's MMSI"),
        "{:?}",
        ship.reasons
    );
}

fn status(sim: &Sim, min: f64, state: &str, lat: f64, lon: f64) -> PatrolReport {
    serde_json::from_value(serde_json::json!({
        "type": "status", "time": sim.at(min), "state": state, "position": {"lat": lat, "lon": lon}
    }))
    .unwrap()
}

#[test]
fn r20_r21_an_active_sart_gets_a_search_plan_and_the_nearest_available_unit_is_tasked() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    let sart = fusion::Position::new(lat, lon).unwrap();
    let at = |nm: f64| sart.destination(0.0, nm * 1852.0);
    let (p1, p2, p3) = (at(20.0), at(10.0), at(2.0));
    let s1 = status(&sim, 0.0, "on_patrol", p1.lat, p1.lon);
    let s2 = status(&sim, 0.0, "on_patrol", p2.lat, p2.lon);
    let s3 = status(&sim, 0.0, "unavailable", p3.lat, p3.lon);
    sim.report_from("cp-301", 0.0, s1);
    sim.report_from("cp-302", 0.0, s2);
    sim.report_from("cp-303", 0.0, s3);
    sim.ais(1.0, beacon(970_123_456, 1, Some(14), lat, lon, 0.5, None));
    sim.run(1.0);
    let a = &sim.alerts(AlertKind::SarBeacon)[0];
    assert_eq!(a.severity, Severity::Critical);
    let plan = a.search_plan.as_ref().expect("a search plan on the alert");
    assert!(plan["datum"]["radius_nm"].as_f64().unwrap() > 0.0);
    assert_eq!(plan["expanding_square"]["code"], "SS");
    // The nearest available unit (cp-303 is nearer but unavailable) is tasked.
    assert_eq!(sim.taskings.len(), 1);
    let t = &sim.taskings[0];
    assert_eq!(t.unit, "cp-302");
    assert_eq!(t.kind, "sar");
    assert_eq!(t.alert, a.id);
    assert!((t.distance_nm - 10.0).abs() < 0.05, "{}", t.distance_nm);
    assert!((t.eta_min - 30.0).abs() < 0.5, "{} min at 20 kn", t.eta_min);
    assert_eq!(t.pattern.as_deref(), Some("SS"));
    assert!(!t.waypoints.is_empty());
    assert!(
        a.reasons
            .iter()
            .any(|r| r.starts_with("tasked cp-302: 10.0 NM")),
        "{:?}",
        a.reasons
    );
    // R20: declining needs a reason; the next nearest unit is then tasked.
    let no_reason = format!(
        r#"{{"type":"tasking_ack","time":"{}","tasking":"{}","accepted":false}}"#,
        sim.at(2.0),
        t.id
    );
    let err = PatrolReport::parse(no_reason.as_bytes(), sim.at(3.0)).unwrap_err();
    assert_eq!(err.field, "reason");
    let decline: PatrolReport = serde_json::from_value(serde_json::json!({
        "type": "tasking_ack", "time": sim.at(2.0), "tasking": t.id, "accepted": false,
        "reason": "engine failure, returning to port"
    }))
    .unwrap();
    sim.report_from("cp-302", 2.0, decline);
    sim.run(2.0);
    assert_eq!(sim.taskings.len(), 2);
    let t2 = sim.taskings[1].clone();
    assert_eq!(t2.unit, "cp-301");
    let accept: PatrolReport = serde_json::from_value(serde_json::json!({
        "type": "tasking_ack", "time": sim.at(3.0), "tasking": t2.id, "accepted": true
    }))
    .unwrap();
    sim.report_from("cp-301", 3.0, accept);
    sim.run(3.0);
    let a = &sim.alerts(AlertKind::SarBeacon)[0];
    assert!(
        a.reasons
            .iter()
            .any(|r| r.contains("cp-302 declined") && r.contains("engine failure")),
        "{:?}",
        a.reasons
    );
    assert!(
        a.reasons.iter().any(|r| r.contains("cp-301 accepted")),
        "{:?}",
        a.reasons
    );
}

#[test]
fn an_overcrowded_boat_sighted_is_a_distress_proposal_with_its_factors_and_a_tasking() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    let s = status(&sim, 0.0, "on_patrol", lat + 0.1, lon);
    sim.report_from("cp-301", 0.0, s);
    let t = sim.at(5.0);
    sim.report_from(
        "cp-301",
        5.0,
        PatrolReport::Sighting {
            time: t,
            position: Position { lat, lon },
            craft: Craft::RubberBoat,
            persons_estimate: 47,
            condition: Condition::Overcrowded,
            notes: Some("no life jackets seen".into()),
        },
    );
    // A fishing boat under way: not distress.
    sim.report_from(
        "cp-301",
        6.0,
        PatrolReport::Sighting {
            time: sim.at(6.0),
            position: Position {
                lat: lat - 0.2,
                lon,
            },
            craft: Craft::FishingVessel,
            persons_estimate: 6,
            condition: Condition::UnderWay,
            notes: None,
        },
    );
    sim.run(10.0);
    let d = sim.alerts(AlertKind::Distress);
    assert_eq!(d.len(), 1, "{}", sim.dump());
    assert_eq!(d[0].severity, Severity::Critical);
    assert!(
        d[0].reasons
            .iter()
            .any(|r| r.contains("about 47 on a rubber boat (safe for about 15)")),
        "{:?}",
        d[0].reasons
    );
    assert!(
        d[0].reasons
            .iter()
            .any(|r| r.starts_with("not known") && r.contains("fuel, water and food")),
        "{:?}",
        d[0].reasons
    );
    assert!(d[0].search_plan.is_some());
    assert_eq!(
        d[0].search_plan.as_ref().unwrap()["object"]["id"],
        "overcrowded_inflatable"
    );
    assert_eq!(
        sim.taskings.len(),
        1,
        "the unit on scene is tasked to rescue"
    );
    assert_eq!(sim.taskings[0].unit, "cp-301");
}

fn class_b(mmsi: u32, lat: f64, lon: f64, sog_kn: f64) -> ingest::model::AisObservation {
    ingest::model::AisObservation {
        mmsi,
        msg_type: 18,
        lat: Some(lat),
        lon: Some(lon),
        sog_kn: Some(sog_kn),
        cog_deg: Some(0.0),
        ..Default::default()
    }
}

#[test]
fn a_small_craft_drifting_far_from_shore_is_a_distress_proposal_and_a_ship_is_not() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    for m in 0..=80 {
        let m = m as f64;
        sim.ais(m, class_b(C, lat + 0.0002 * m, lon, 0.8));
        // Near Lampedusa harbour: drifting, but close to port.
        sim.ais(m, class_b(256_000_009, 35.49, 12.62, 0.8));
    }
    // A 200 m ship stopped at sea: loitering's business, not distress.
    sim.static_data(B, 0.0, "BIG SHIP", "IBIG", 9_074_729, 70);
    sim.ais(
        0.5,
        ingest::model::AisObservation {
            mmsi: B,
            msg_type: 5,
            length_m: Some(200),
            ..Default::default()
        },
    );
    sim.sail(B, 1.0, 80.0, 3.0, (34.5, 13.0), 0.5, 0.0, 0);
    sim.run(85.0);
    let d = sim.alerts(AlertKind::Distress);
    assert_eq!(d.len(), 1, "{}", sim.dump());
    assert_eq!(d[0].mmsi, vec![C]);
    assert!(
        d[0].reasons[0].contains("drifting under 1.5 kn for 1 h"),
        "{:?}",
        d[0].reasons
    );
    assert!(
        sim.taskings.is_empty(),
        "a proposal: the coordinator decides"
    );
}

#[test]
fn a_vessel_that_slowed_at_sea_and_went_silent_is_a_distress_proposal_with_a_plan() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    traffic(&mut sim, (lat, lon), 200.0);
    // A sails at 8 kn, slows to 0.5 kn, then is silent.
    let p = sim.sail(A, 0.0, 20.0, 2.0, (lat, lon), 8.0, 0.0, 0);
    sim.sail(A, 22.0, 30.0, 2.0, p, 0.5, 0.0, 0);
    // B sails, slows, and keeps reporting: nothing.
    let q = sim.sail(B, 0.0, 20.0, 2.0, (lat + 0.05, lon + 0.05), 8.0, 0.0, 0);
    sim.sail(B, 22.0, 150.0, 2.0, q, 0.5, 0.0, 0);
    // C sails and falls silent without slowing: an AIS gap's business, not distress.
    sim.sail(C, 0.0, 30.0, 2.0, (lat - 0.05, lon), 8.0, 90.0, 0);
    sim.run(150.0);
    let d = sim.alerts(AlertKind::Distress);
    assert_eq!(d.len(), 1, "{}", sim.dump());
    assert_eq!(d[0].mmsi, vec![A]);
    assert!(
        d[0].reasons[0].contains("slowed from under way to nearly stopped"),
        "{:?}",
        d[0].reasons
    );
    assert!(d[0].search_plan.is_some(), "a search plan is ready");
    assert!(sim.taskings.is_empty());
}

#[test]
fn two_ships_at_anchor_are_an_anchorage_but_a_boat_alongside_an_anchored_ship_is_a_rendezvous() {
    let mut sim = Sim::new();
    let (lat, lon) = OPEN_SEA;
    // Both report "at anchor" (status 1), 200 m apart, for an hour.
    sim.sail(A, 0.0, 60.0, 3.0, (lat, lon), 0.1, 0.0, 1);
    sim.sail(B, 0.0, 60.0, 3.0, (lat + 0.0018, lon), 0.1, 0.0, 1);
    // A small boat (under way, slow) alongside a third ship at anchor.
    sim.sail(C, 0.0, 60.0, 3.0, (34.0, 13.0), 0.1, 0.0, 1);
    sim.sail(256_000_004, 1.0, 60.0, 3.0, (34.0015, 13.0), 0.1, 0.0, 0);
    sim.run(70.0);
    let r = sim.alerts(AlertKind::Rendezvous);
    assert_eq!(r.len(), 1, "{}", sim.dump());
    assert_eq!(r[0].mmsi, vec![C, 256_000_004]);
}
