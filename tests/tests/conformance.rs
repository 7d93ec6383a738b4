//! gpsd conformance: gpsd's AIS regression corpus and real-world logs, decoded by us in
//! gpsd format and compared with gpsd's output field by field as JSON values. Every
//! record gpsd emits must be equal, except for the deviations `ingest/CONFORMANCE.md`
//! documents (with the evidence that gpsd, not we, is wrong), which are counted by id; and
//! we emit no record gpsd does not.

use tidewatch_tests::ais_testdata;
use tidewatch_tests::conformance::{
    DEVIATIONS_3_22, DEVIATIONS_MASTER, KnownDeviation, Report, compare, expected_records,
    gpsdecode_records, our_records,
};

fn against_chk(log: &str, chk: &str, known: &[&[KnownDeviation]]) -> Report {
    let input = ais_testdata(log);
    let expected = expected_records(&String::from_utf8(ais_testdata(chk)).unwrap());
    assert!(!expected.is_empty(), "{chk} has no AIS records");
    let r = compare(&expected, &our_records(&input), known);
    eprintln!("{log}: {}", r.describe());
    r
}

/// Every record gpsd emits, equal (or a documented deviation), and exactly the records gpsd
/// does not emit that `ingest/CONFORMANCE.md` explains for this log (`extra`): a decoder that
/// began to accept lines gpsd rejects fails here.
fn assert_conforms(r: &Report, extra: usize) {
    assert!(
        r.different.is_empty() && r.missing.is_empty() && r.extra.len() == extra,
        "{extra} extra records expected (ingest/CONFORMANCE.md): {}",
        r.describe()
    );
}

/// D3: the extra records are type 24 names merged across channels.
fn extras_are_type_24(r: &Report) {
    for x in &r.extra {
        assert_eq!(x["type"], 24, "an extra record that is not D3: {x}");
    }
}

#[test]
fn sample_aivdm_matches_gpsd_3_22_expected_output() {
    let r = against_chk(
        "gpsd/release-3.22/sample.aivdm",
        "gpsd/release-3.22/sample.aivdm.ju.chk",
        &[DEVIATIONS_3_22],
    );
    assert_conforms(&r, 0);
    assert_eq!(r.equal + r.known.values().sum::<usize>(), 97);
}

#[test]
fn gpsd_daemon_logs_match() {
    for (log, n, extra) in [
        ("ais-nmea.log", 166, 0),
        ("ais-nmea-type6-fid55.log", 1265, 1),
        ("ais_unpack_sixbit.log", 12, 0),
    ] {
        let log = format!("gpsd/release-3.22/daemon/{log}");
        let r = against_chk(&log, &format!("{log}.chk"), &[DEVIATIONS_3_22]);
        assert_conforms(&r, extra);
        extras_are_type_24(&r);
        assert_eq!(r.equal + r.known.values().sum::<usize>(), n, "{log}");
    }
}

#[test]
fn gpsd_master_logs_match_apart_from_texts_master_changed() {
    for log in ["ais-18-27.log", "ais-raw-messages.log"] {
        let log = format!("gpsd/master/daemon/{log}");
        let r = against_chk(
            &log,
            &format!("{log}.chk"),
            &[DEVIATIONS_3_22, DEVIATIONS_MASTER],
        );
        assert_conforms(&r, 0);
    }
}

/// Real logs against the installed gpsdecode 3.22, run now.
fn against_gpsdecode(log: &str) -> Report {
    let input = ais_testdata(log);
    let expected = gpsdecode_records(&input);
    assert!(!expected.is_empty(), "gpsdecode decoded nothing from {log}");
    let r = compare(&expected, &our_records(&input), &[DEVIATIONS_3_22]);
    eprintln!("{log}: {}", r.describe_short());
    r
}

#[test]
fn aishub_log_matches_gpsdecode() {
    let r = against_gpsdecode("real/aishub-3min-sample.nmea.gz");
    assert_conforms(&r, 22);
    extras_are_type_24(&r);
    assert_eq!(r.equal + r.known.values().sum::<usize>(), 82_532);
}

#[test]
fn tag_block_logs_match_gpsdecode() {
    // D4: `!B1VDM`/`!B2VDM` talkers; D9: interleaved groups on one channel.
    for (log, extra) in [
        ("real/kystverket-tagblock.nmea", 6),
        ("real/exactearth-tagblock-groups.nmea", 1),
    ] {
        let r = against_gpsdecode(log);
        assert_conforms(&r, extra);
    }
}

#[test]
fn messy_amsa_log_matches_gpsdecode() {
    // D4: 1 503 `!=IVDM` lines; D3: type 24 names merged across channels.
    let r = against_gpsdecode("real/amsa-ais.txt.gz");
    assert_conforms(&r, 1524);
}
