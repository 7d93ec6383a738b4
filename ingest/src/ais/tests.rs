//! Framing, assembly and decoding tests on hand-picked sentences.

use super::*;

#[test]
fn checksum_mismatch_is_rejected_with_both_values() {
    let mut d = Decoder::new();
    let e = d
        .decode_line(b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B", 0)
        .unwrap_err();
    assert_eq!(
        e,
        DecodeError::Checksum {
            computed: 0x4A,
            stated: 0x4B
        }
    );
}

#[test]
fn interleaved_groups_on_two_channels_both_complete() {
    let mut d = Decoder::new();
    let lines: [&[u8]; 4] = [
        b"\\g:1-2-3985,s:rEV02,c:1334337317*2D\\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0*70",
        b"\\g:1-2-3987,c:1333239510*20\\!BSVDM,2,1,0,A,54`98002>?A1`<AGD00lEBr0PD5@PE:1<4hiT01CKh`IC4w8NKjCPj1Ck`2k,0*7C",
        b"\\g:2-2-3985*5A\\!AIVDM,2,2,9,B,PFRC88888888880,2*29",
        b"\\g:2-2-3987*58\\!BSVDM,2,2,0,A,lQ@@0000002,0*00",
    ];
    let out: Vec<_> = lines
        .iter()
        .filter_map(|l| d.decode_line(l, 0).unwrap())
        .collect();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|o| o.message.msg_type == 5));
    assert_eq!(
        out[0].heard.tag.as_ref().unwrap().source.as_deref(),
        Some("rEV02")
    );
    assert_eq!(d.in_flight(), 0);
}

#[test]
fn orphan_second_fragment_is_rejected_and_a_restarted_group_is_counted() {
    let mut d = Decoder::new();
    let e = d
        .decode_line(b"!AIVDM,2,2,9,B,PFRC88888888880,2*29", 0)
        .unwrap_err();
    assert_eq!(e.reason(), "orphan_fragment");
    let first = b"!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0*70";
    assert!(d.decode_line(first, 0).unwrap().is_none());
    assert!(d.decode_line(first, 0).unwrap().is_none());
    assert_eq!(d.stats().incomplete_groups, 1);
    d.finish();
    assert_eq!(d.stats().incomplete_groups, 2);
}

#[test]
fn trailing_fields_after_the_checksum_are_ignored() {
    let mut d = Decoder::new();
    let m = d
        .decode_line(
            b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A,s28089,d-103,T46.36710581,x22,r003669945,1242958962\r\n",
            0,
        )
        .unwrap()
        .unwrap();
    assert_eq!(m.message.mmsi, 371_798_000);
}

#[test]
fn fill_bits_out_of_range_are_rejected() {
    let body = "AIVDM,1,1,,B,15RTgt0PAso;90TKcjM8h6g208CQ,7";
    let line = format!("!{body}*{:02X}", nmea_checksum(body.as_bytes()));
    let e = Decoder::new().decode_line(line.as_bytes(), 0).unwrap_err();
    assert_eq!(e.reason(), "fill_bits");
}

#[test]
fn short_position_report_is_rejected_by_length() {
    let body = "AIVDM,1,1,,B,15RTgt0PAso;90TKcjM8h6g,0";
    let line = format!("!{body}*{:02X}", nmea_checksum(body.as_bytes()));
    let e = Decoder::new().decode_line(line.as_bytes(), 0).unwrap_err();
    assert_eq!(e.reason(), "length");
}

proptest::proptest! {
    /// The word-at-a-time scan finds the first `*`, XORs what is before it and splits it at
    /// commas as the byte-by-byte definitions do, wherever stars and commas fall.
    #[test]
    fn one_pass_scan_is_the_bytewise_checksum_and_split(
        s in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::num::u8::ANY,
                proptest::strategy::Just(b'*'),
                proptest::strategy::Just(b','),
            ],
            0..100,
        )
    ) {
        let star = s.iter().position(|&c| c == b'*');
        let scan = Scan::new(&s);
        proptest::prop_assert_eq!(scan.as_ref().map(|x| x.star), star);
        if let (Some(scan), Some(star)) = (scan, star) {
            proptest::prop_assert_eq!(scan.checksum, nmea_checksum(&s[..star]));
            let body = &s[..star];
            let ours: Vec<&[u8]> = scan.fields(body).collect();
            let split: Vec<&[u8]> = body.split(|&c| c == b',').collect();
            let n = Scan::MAX_COMMAS;
            if split.len() <= n + 1 {
                proptest::prop_assert_eq!(ours, split);
            } else {
                // Past the last comma kept, the rest is one field.
                proptest::prop_assert_eq!(&ours[..n], &split[..n]);
                proptest::prop_assert_eq!(ours.len(), n + 1);
            }
        }
    }
}

proptest::proptest! {
    /// The payload hash tells payloads apart (length, bytes, fill bits: the dedup must not
    /// merge two transmissions) and gives one payload the same hash every time.
    #[test]
    fn payload_hash_separates_payloads(
        a in proptest::collection::vec(b'0'..=b'w', 0..60),
        b in proptest::collection::vec(b'0'..=b'w', 0..60),
        fa in 0u8..6,
        fb in 0u8..6,
    ) {
        let (ha, hb) = (payload_hash(HASH_SEED, &a, fa), payload_hash(HASH_SEED, &b, fb));
        proptest::prop_assert_eq!(ha == hb, (&a, fa) == (&b, fb));
        proptest::prop_assert_eq!(ha, payload_hash(HASH_SEED, &a, fa));
    }
}

/// Review (issue 24 session): one decoder assembles every source's multi-part messages, with
/// room for 64 in flight; when full it dropped the oldest, whoever's. A receiver sending first
/// fragments by the hundred (anonymous clients may publish AIS) thus dropped every other
/// receiver's message half-way through. The source holding the most groups now gives up its
/// own.
#[test]
fn review_a_source_flooding_first_fragments_does_not_drop_another_source_s_message() {
    let mut d = Decoder::new();
    let first = b"!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0*70";
    assert!(d.decode_line(first, 1).unwrap().is_none());
    for total in 2..=9u8 {
        for seq in 0..=9u8 {
            for channel in ['A', 'B'] {
                let body = format!(
                    "AIVDM,{total},1,{seq},{channel},58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0"
                );
                let line = format!("!{body}*{:02X}", nmea_checksum(body.as_bytes()));
                assert!(d.decode_line(line.as_bytes(), 2).unwrap().is_none());
            }
        }
    }
    let m = d
        .decode_line(b"!AIVDM,2,2,9,B,PFRC88888888880,2*29", 1)
        .expect("source 1's message still assembles")
        .expect("complete");
    assert_eq!(m.heard.fragments, 2);
    assert!(d.stats().incomplete_groups >= 160 - 64);
}
