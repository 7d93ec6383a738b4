//! Robustness: hostile input never panics, and every line of the messy AMSA feed is
//! accounted for (decoded, kept as a fragment, or rejected with a reason).

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes through every decoder and writer (the fuzz target's entry point).
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        ingest::ais::fuzz::decode_everything(&data);
    }

    /// Almost-valid sentences: real framing with random payloads, fragment numbers and
    /// fill bits, valid checksums, so the bytes reach assembly and message decoding.
    #[test]
    fn random_payloads_with_valid_checksums_never_panic(
        sentences in proptest::collection::vec(
            (1u8..=4, 1u8..=4, proptest::option::of(0u8..=9), prop::sample::select(vec!["A", "B", "", "1"]),
             "[0-9:;<=>?@A-W`a-w]{0,90}", 0u8..=6),
            1..40,
        )
    ) {
        let mut text = String::new();
        for (total, num, seq, chan, payload, fill) in sentences {
            let seq = seq.map(|s| s.to_string()).unwrap_or_default();
            let body = format!("AIVDM,{total},{num},{seq},{chan},{payload},{fill}");
            let sum = ingest::ais::nmea_checksum(body.as_bytes());
            text.push_str(&format!("!{body}*{sum:02X}\n"));
        }
        ingest::ais::fuzz::decode_everything(text.as_bytes());
    }
}

#[test]
fn messy_amsa_log_accounts_for_every_line() {
    use ingest::ais::Decoder;
    use std::collections::BTreeMap;
    let input = tidewatch_tests::ais_testdata("real/amsa-ais.txt.gz");
    let mut d = Decoder::new();
    let (mut lines, mut decoded, mut fragments, mut telemetry) = (0u64, 0u64, 0u64, 0u64);
    let mut rejected: BTreeMap<&'static str, u64> = BTreeMap::new();
    for line in input.split(|&c| c == b'\n') {
        if line.trim_ascii().is_empty() {
            continue;
        }
        lines += 1;
        let is_dollar =
            matches!(ingest::ais::split_tag_block(line), Ok((_, s)) if s.first() == Some(&b'$'));
        if is_dollar {
            match ingest::telemetry::parse_line(line) {
                Ok(_) => telemetry += 1,
                Err(e) => *rejected.entry(e.reason()).or_default() += 1,
            }
            continue;
        }
        match d.decode_line(line, 0) {
            Ok(Some(_)) => decoded += 1,
            Ok(None) => fragments += 1,
            Err(e) => *rejected.entry(e.reason()).or_default() += 1,
        }
    }
    let rejected_total: u64 = rejected.values().sum();
    eprintln!(
        "AMSA: {lines} lines, {decoded} messages, {fragments} fragments, {telemetry} telemetry, rejected {rejected:?}"
    );
    assert_eq!(lines, 44_687);
    assert_eq!(decoded + fragments + telemetry + rejected_total, lines);
    // gpsd decodes 32 217 messages from this file; we decode all of those and the
    // valid-checksum lines gpsd's talker list drops (CONFORMANCE.md D4).
    assert!(decoded >= 32_217 + 1_500, "{decoded}");
    // The base station's own sentences ($AIVSI, $BSALR, ...) are not patrol telemetry.
    assert!(rejected["unsupported_sentence"] > 8_000);
    for reason in rejected.keys() {
        assert!(
            [
                "checksum",
                "no_checksum",
                "length",
                "not_ais",
                "unknown_type",
                "unsupported_sentence",
                "orphan_fragment",
                "malformed",
                "field",
                "fill_bits",
                "payload_char",
                "not_nmea",
            ]
            .contains(reason),
            "unexpected reject reason {reason}"
        );
    }
}
