//! Tests of the scenario engine: built-in scenarios, reporting intervals, reception and
//! validation.

use super::vessels::report_interval_s;
use super::*;
use ingest::ais::Decoder;

fn t0() -> Timestamp {
    "2026-11-22T02:00:00Z".parse().unwrap()
}

#[test]
fn every_built_in_scenario_loads_and_runs_deterministically() {
    for name in NAMES {
        let mut a = by_name(name, t0()).unwrap_or_else(|e| panic!("{e}"));
        let mut b = by_name(name, t0()).unwrap();
        let end = t0() + SignedDuration::from_mins(10);
        let x = a.advance(end);
        assert_eq!(x, b.advance(end), "{name}");
        assert!(!x.is_empty(), "{name} says nothing in 10 minutes");
        assert!(
            x.windows(2).all(|w| w[0].at <= w[1].at),
            "{name}: out of order"
        );
    }
}

#[test]
fn a_seed_changes_the_noise_not_the_story() {
    let text = built_in("background").unwrap();
    let end = t0() + SignedDuration::from_mins(5);
    let a = Scenario::from_toml(text, t0(), Some(1))
        .unwrap()
        .advance(end);
    let b = Scenario::from_toml(text, t0(), Some(2))
        .unwrap()
        .advance(end);
    assert_ne!(a, b);
}

#[test]
fn class_a_reports_by_speed_and_class_b_every_30_s() {
    assert_eq!(report_interval_s(AisClass::A, 12.0, 0, false), 10);
    assert_eq!(report_interval_s(AisClass::A, 12.0, 0, true), 3);
    assert_eq!(report_interval_s(AisClass::A, 18.0, 0, false), 6);
    assert_eq!(report_interval_s(AisClass::A, 25.0, 0, false), 2);
    assert_eq!(report_interval_s(AisClass::A, 0.1, 1, false), 180);
    assert_eq!(report_interval_s(AisClass::B, 6.0, 0, false), 30);
    assert_eq!(report_interval_s(AisClass::B, 1.0, 0, false), 180);
}

#[test]
fn receivers_hear_only_within_range_and_lines_decode() {
    let toml = r#"
        name = "t"
        description = "t"
        [[receiver]]
        name = "near"
        at = [35.0, 12.0]
        range_nm = 20.0
        [[receiver]]
        name = "far"
        at = [36.0, 12.0]
        range_nm = 20.0
        [[vessel]]
        id = "v"
        mmsi = 247000001
        name = "TEST"
        route = [[35.05, 12.0], [35.05, 12.5]]
        speed_kn = 12.0
    "#;
    let mut s = Scenario::from_toml(toml, t0(), None).unwrap();
    let out = s.advance(t0() + SignedDuration::from_mins(10));
    let mut d = Decoder::new();
    let mut positions = 0;
    for e in &out {
        assert_eq!(
            e.channel,
            Channel::Ais {
                receiver: "near".into()
            },
            "{}",
            e.payload
        );
        if let Some(m) = d.decode_line(e.payload.as_bytes(), 0).unwrap() {
            assert_eq!(m.message.mmsi, 247_000_001);
            assert_eq!(m.heard.time(), Some(e.at));
            positions += usize::from(m.message.msg_type == 1);
        }
    }
    // 60 reports in 10 minutes at 12 kn, less the few lost.
    assert!((50..=61).contains(&positions), "{positions}");
}

#[test]
fn a_bad_scenario_says_what_is_wrong() {
    let bad = [
        (
            "name = \"x\"\ndescription = \"d\"\n[[vessel]]\nid = \"a\"\nroute = []\nspeed_kn = 1.0\n",
            "empty route",
        ),
        (
            "name = \"x\"\ndescription = \"d\"\narea = \"atlantis\"\n",
            "no area",
        ),
        (
            "name = \"x\"\ndescription = \"d\"\narea = \"central-med\"\n[[event]]\nat = \"1m\"\nvessel = \"ghost\"\naction = \"ais_off\"\n",
            "no vessel",
        ),
        (
            "name = \"x\"\ndescription = \"d\"\nspeed = 3\n",
            "unknown field",
        ),
        (
            "name = \"x\"\ndescription = \"d\"\narea = \"central-med\"\n[[vessel]]\nid = \"a\"\nroute = [[35.0, 12.0]]\nspeed_kn = 1.0\n[[event]]\nat = \"1m\"\nvessel = \"a\"\naction = \"condition\"\ncondition = \"sad\"\n",
            "condition",
        ),
    ];
    for (text, what) in bad {
        let e = Scenario::from_toml(text, t0(), None)
            .err()
            .unwrap_or_else(|| panic!("{what} accepted"));
        assert!(e.to_string().contains(what), "{what}: {e}");
    }
}
