//! gpsd conformance: every log of gpsd's AIS regression corpus, decoded by us in gpsd
//! format, compared with gpsd's expected output field by field as JSON values.
//! Deviations and the evidence that gpsd, not we, is wrong: `ingest/CONFORMANCE.md`.

use tidewatch_tests::ais_testdata;
use tidewatch_tests::conformance::{compare, expected_records, our_records};

fn check(log: &str, chk: &str) -> tidewatch_tests::conformance::Report {
    let input = ais_testdata(log);
    let expected = expected_records(&String::from_utf8(ais_testdata(chk)).unwrap());
    assert!(!expected.is_empty(), "{chk} has no AIS records");
    let ours = our_records(&input);
    let r = compare(&expected, &ours);
    eprintln!("{log}: {}", r.describe());
    r
}

#[test]
fn sample_aivdm_matches_gpsdecode_u_j() {
    let r = check("gpsd/release-3.22/sample.aivdm", "gpsd/release-3.22/sample.aivdm.ju.chk");
    assert!(r.different.is_empty() && r.missing.is_empty(), "{}", r.describe());
}

#[test]
fn daemon_ais_nmea_log_matches() {
    let r = check("gpsd/release-3.22/daemon/ais-nmea.log", "gpsd/release-3.22/daemon/ais-nmea.log.chk");
    assert!(r.different.is_empty() && r.missing.is_empty(), "{}", r.describe());
}

#[test]
fn daemon_type6_fid55_log_matches() {
    let r = check(
        "gpsd/release-3.22/daemon/ais-nmea-type6-fid55.log",
        "gpsd/release-3.22/daemon/ais-nmea-type6-fid55.log.chk",
    );
    assert!(r.different.is_empty() && r.missing.is_empty(), "{}", r.describe());
}

#[test]
fn daemon_unpack_sixbit_log_matches() {
    let r = check(
        "gpsd/release-3.22/daemon/ais_unpack_sixbit.log",
        "gpsd/release-3.22/daemon/ais_unpack_sixbit.log.chk",
    );
    assert!(r.different.is_empty() && r.missing.is_empty(), "{}", r.describe());
}

#[test]
fn master_type18_27_log_matches() {
    let r = check("gpsd/master/daemon/ais-18-27.log", "gpsd/master/daemon/ais-18-27.log.chk");
    assert!(r.different.is_empty() && r.missing.is_empty(), "{}", r.describe());
}

#[test]
fn master_raw_messages_log_matches() {
    let r = check(
        "gpsd/master/daemon/ais-raw-messages.log",
        "gpsd/master/daemon/ais-raw-messages.log.chk",
    );
    assert!(r.different.is_empty() && r.missing.is_empty(), "{}", r.describe());
}
