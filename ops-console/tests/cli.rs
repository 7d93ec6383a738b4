//! The `tidewatch` command as a user runs it: arguments, output, summary, exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn tidewatch(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidewatch starts");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

const LINES: &str = "\
# a comment
!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A
!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B
\\s:rEV02,c:1334337317*58\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F
$GPHDT,274.07,T*03
garbage
";

#[test]
fn decode_writes_our_json_and_a_summary_with_rejects_by_reason() {
    let out = tidewatch(&["decode"], LINES.as_bytes());
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["mmsi"], 371_798_000);
    assert_eq!(records[0]["speed_kn"], 12.3);
    assert_eq!(records[1]["source"], "rEV02");
    assert_eq!(records[1]["time"], "2012-04-13T17:15:17Z");
    assert_eq!(records[2]["class"], "TELEMETRY");
    assert_eq!(records[2]["heading_deg"], 274.07);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("6 lines read: 2 AIS messages decoded, 1 telemetry sentences"),
        "{stderr}"
    );
    assert!(stderr.contains("2 rejected"), "{stderr}");
    assert!(
        stderr.contains("rejected by reason: checksum 1, not_nmea 1"),
        "{stderr}"
    );
}

#[test]
fn decode_gpsd_format_is_gpsdecodes() {
    let out = tidewatch(&["decode", "--format", "gpsd", "-"], LINES.as_bytes());
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().next().unwrap(),
        "{\"class\":\"AIS\",\"device\":\"stdin\",\"type\":1,\"repeat\":0,\"mmsi\":371798000,\"scaled\":false,\"status\":0,\"status_text\":\"Under way using engine\",\"turn\":-127,\"speed\":123,\"accuracy\":true,\"lon\":-74037230,\"lat\":29028980,\"course\":2240,\"heading\":215,\"second\":33,\"maneuver\":0,\"raim\":false,\"radio\":34017}"
    );
    assert_eq!(
        stdout.lines().count(),
        2,
        "telemetry has no gpsd AIS record"
    );
}

#[test]
fn decode_keeps_every_rejected_line_with_its_reason() {
    let dir = std::env::temp_dir().join(format!("tw-rejects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rejects = dir.join("rejects.jsonl");
    let out = tidewatch(
        &["decode", "--rejects", rejects.to_str().unwrap()],
        LINES.as_bytes(),
    );
    assert!(out.status.success());
    let kept: Vec<serde_json::Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0]["reason"], "checksum");
    assert_eq!(kept[0]["line_no"], 3);
    assert_eq!(kept[1]["line"], "garbage");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_arguments_and_files_get_one_clear_error_line() {
    let out = tidewatch(&["decode", "/nonexistent/file.nmea"], b"");
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("tidewatch: error: cannot open /nonexistent/file.nmea"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = tidewatch(&["decode", "--format", "xml"], b"");
    assert!(!out.status.success());
    let out = tidewatch(
        &[
            "up",
            "--demo",
            "atlantis",
            "--speed",
            "max",
            "--duration",
            "1m",
        ],
        b"",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("scenarios: central-med")
    );
}

#[test]
fn up_demo_shows_the_picture_and_keeps_what_it_received() {
    let dir = std::env::temp_dir().join(format!("tw-demo-{}", std::process::id()));
    let out = tidewatch(
        &[
            "up",
            "--demo",
            "--speed",
            "max",
            "--duration",
            "10m",
            "--data",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("6 vessels heard, 0 lines rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("AIS-SART ACTIVE"), "{stdout}");
    assert!(stdout.contains("MARE NOSTRUM STAR"), "{stdout}");
    let raw = std::fs::read_to_string(dir.join("raw.nmea")).unwrap();
    let decoded = std::fs::read_to_string(dir.join("decoded.jsonl")).unwrap();
    assert!(raw.lines().count() >= decoded.lines().count());
    assert!(decoded.lines().count() > 100);
    std::fs::remove_dir_all(&dir).unwrap();
}
