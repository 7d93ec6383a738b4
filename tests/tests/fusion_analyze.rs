//! `tidewatch analyze` on the real logs: deterministic output, bounded state, clear errors.

use fusion::{FusionConfig, FusionEngine, Geodata};
use ops_console::cmd::analyze::{Analysis, Summary};
use tidewatch_tests::ais_testdata;

fn analyze(
    log: &[u8],
    start: Option<&str>,
    rate: f64,
) -> anyhow_free::Result<(Vec<u8>, Summary, f64)> {
    let cfg = FusionConfig::default();
    let geo = Geodata::load(&cfg, None).expect("geodata");
    let mut out = Vec::new();
    let mut a = Analysis::new(
        FusionEngine::new(cfg, geo),
        start.map(|s| s.parse().expect("time")),
        rate,
        &mut out,
        None,
    );
    a.input(&mut &log[..], 0, "log", &mut |_, _| {})
        .map_err(|e| format!("{e:#}"))?;
    let per_vessel = a.engine().live_bytes_per_vessel();
    let summary = a.finish(true).map_err(|e| format!("{e:#}"))?;
    Ok((out, summary, per_vessel))
}

/// The test's own tiny result type (no anyhow in tests' public helpers).
mod anyhow_free {
    pub(super) type Result<T> = std::result::Result<T, String>;
}

#[test]
fn the_same_log_gives_byte_identical_alerts_and_state_stays_under_1_kib_per_vessel() {
    let log = ais_testdata("real/aishub-3min-sample.nmea.gz");
    let (first, summary, per_vessel) = analyze(&log, Some("2015-10-06T12:00:00Z"), 473.0).unwrap();
    let (second, _, _) = analyze(&log, Some("2015-10-06T12:00:00Z"), 473.0).unwrap();
    assert!(!first.is_empty());
    assert!(first == second, "two replays of the same log differ");
    assert_eq!(
        summary.rejected.values().sum::<u64>(),
        0,
        "{:?}",
        summary.rejected
    );
    assert!(summary.messages > 82_000, "{summary:?}");
    assert!(
        per_vessel <= 1024.0,
        "{per_vessel:.0} bytes of live state per vessel"
    );
    // Every line is an alert or a risk score, as JSON.
    for line in first.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert!(v.get("kind").is_some() || v.get("risk").is_some(), "{v}");
    }
}

#[test]
fn a_log_without_times_needs_a_start_and_says_so() {
    let log = ais_testdata("real/aishub-3min-sample.nmea.gz");
    let err = analyze(&log, None, 1000.0).unwrap_err();
    assert!(err.contains("log line 6: no time"), "{err}");
    assert!(err.contains("give --start TIME"), "{err}");
}

#[test]
fn tag_block_and_trailing_times_are_the_logs_own_clock() {
    let (_, s, _) = analyze(&ais_testdata("real/kystverket-tagblock.nmea"), None, 1000.0).unwrap();
    let (a, b) = s.span.unwrap();
    assert_eq!(a.to_string(), "2024-12-09T22:07:14Z");
    assert_eq!(b.to_string(), "2024-12-09T22:07:19Z");
    // The AMSA feed: $GPZDA and trailing unix times set the clock after its first lines.
    let (_, s, _) = analyze(
        &ais_testdata("real/amsa-ais.txt.gz"),
        Some("2012-01-27T11:47:00Z"),
        100.0,
    )
    .unwrap();
    let (a, b) = s.span.unwrap();
    assert!(a.to_string().starts_with("2012-01-27T11:47"), "{a}");
    assert!(b.to_string().starts_with("2012-01-27T11:53"), "{b}");
    assert!(s.clock_lines > 300, "{s:?}");
    assert!(
        s.rejected.values().sum::<u64>() > 0,
        "the AMSA feed has bad lines, counted: {s:?}"
    );
}

#[test]
fn the_shipped_land_is_natural_earth_10m_vertex_for_vertex() {
    let geojson =
        std::fs::read(tidewatch_tests::shared_dir().join("geodata/land-10m-r5.geojson")).unwrap();
    let rings = fusion::geodata::LandMask::geojson_rings("land-10m-r5", &geojson).unwrap();
    let shipped = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fusion/data/land-10m.rings.gz"
    ))
    .unwrap();
    let mut packed = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&shipped[..]), &mut packed)
        .unwrap();
    assert_eq!(
        fusion::geodata::LandMask::unpack_rings(&packed).unwrap(),
        rings
    );
}
