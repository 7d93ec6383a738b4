//! NMEA 4.0 / IEC 61162-1 tag blocks: `\s:station,c:1334337317,g:1-2-3985*2D\`.
//!
//! The tag block says who heard a sentence (`s:`) and when (`c:`, Unix time in
//! seconds, or in milliseconds as some feeds send it), and groups multi-sentence
//! messages (`g:`). Its own checksum covers the characters before `*`.

use super::{DecodeError, nmea_checksum, parse_hex2};
use jiff::Timestamp;

/// A sentence group from `g:num-total-id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagGroup {
    /// This sentence's number in the group, from 1.
    pub num: u32,
    /// Sentences in the group.
    pub total: u32,
    /// Group id.
    pub id: u32,
}

/// The parsed fields of a tag block. Fields we do not know are kept in `other`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagBlock {
    /// `s:` source (the receiving station).
    pub source: Option<String>,
    /// `c:` time of reception, UTC.
    pub time: Option<Timestamp>,
    /// `g:` sentence grouping.
    pub group: Option<TagGroup>,
    /// `d:` destination.
    pub destination: Option<String>,
    /// `n:` line count.
    pub line_count: Option<u32>,
    /// `r:` relative time.
    pub relative_time: Option<i64>,
    /// `t:` free text.
    pub text: Option<String>,
    /// Any other `key:value` pairs, as sent.
    pub other: Vec<(String, String)>,
}

/// Unix times above this are taken as milliseconds (10¹¹ s is past the year 5000).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

impl TagBlock {
    /// Parse the inside of a tag block (between the backslashes). A checksum, when
    /// present, must match; feeds that send none are accepted.
    pub fn parse(inner: &[u8]) -> Result<TagBlock, DecodeError> {
        let body = match inner.iter().position(|&c| c == b'*') {
            Some(star) => {
                let body = &inner[..star];
                let stated = parse_hex2(&inner[star + 1..])
                    .ok_or(DecodeError::TagBlock("bad checksum digits"))?;
                if inner.len() != star + 3 {
                    return Err(DecodeError::TagBlock("text after checksum"));
                }
                let computed = nmea_checksum(body);
                if computed != stated {
                    return Err(DecodeError::TagBlockChecksum { computed, stated });
                }
                body
            }
            None => inner,
        };
        let body = std::str::from_utf8(body).map_err(|_| DecodeError::TagBlock("not UTF-8"))?;
        let mut tag = TagBlock::default();
        if body.is_empty() {
            return Ok(tag);
        }
        for field in body.split(',') {
            let (key, value) = field
                .split_once(':')
                .ok_or(DecodeError::TagBlock("field without ':'"))?;
            match key {
                "s" => tag.source = Some(value.to_owned()),
                "c" => {
                    let n: i64 = value
                        .parse()
                        .map_err(|_| DecodeError::TagBlock("c: is not a number"))?;
                    let ts = if n > MILLIS_THRESHOLD {
                        Timestamp::from_millisecond(n)
                    } else {
                        Timestamp::from_second(n)
                    };
                    tag.time = Some(ts.map_err(|_| DecodeError::TagBlock("c: out of range"))?);
                }
                "g" => {
                    let mut it = value.splitn(3, '-').map(str::parse::<u32>);
                    match (it.next(), it.next(), it.next()) {
                        (Some(Ok(num)), Some(Ok(total)), Some(Ok(id))) => {
                            tag.group = Some(TagGroup { num, total, id });
                        }
                        _ => return Err(DecodeError::TagBlock("g: is not num-total-id")),
                    }
                }
                "d" => tag.destination = Some(value.to_owned()),
                "n" => {
                    tag.line_count = Some(
                        value
                            .parse()
                            .map_err(|_| DecodeError::TagBlock("n: is not a number"))?,
                    );
                }
                "r" => {
                    tag.relative_time = Some(
                        value
                            .parse()
                            .map_err(|_| DecodeError::TagBlock("r: is not a number"))?,
                    );
                }
                "t" => tag.text = Some(value.to_owned()),
                _ => tag.other.push((key.to_owned(), value.to_owned())),
            }
        }
        Ok(tag)
    }
}

/// The `n:` line count of a line's tag block, if it has a valid one.
pub fn line_count(line: &[u8]) -> Option<u32> {
    let (tag, _) = super::split_tag_block(line).ok()?;
    TagBlock::parse(tag?).ok()?.line_count
}

/// Stamp a line with a tag block carrying its time (`c:`, milliseconds) and a line count
/// (`n:`), as a patrol unit does before store-and-forward: the time says when it was read
/// on board (not when it reached shore), and the count lets the receiver see gaps and drop
/// retransmissions. A tag block the line already has keeps its fields (and its `c:`);
/// only its `n:` is replaced. The sentence itself is not touched.
pub fn stamp(line: &[u8], time: Timestamp, n: u32) -> Vec<u8> {
    let existing = line
        .strip_prefix(b"\\")
        .and_then(|rest| {
            let end = rest.iter().position(|&c| c == b'\\')?;
            Some((&rest[..end], &rest[end + 1..]))
        })
        .filter(|(inner, _)| inner.is_ascii());
    let (mut fields, sentence): (Vec<Vec<u8>>, &[u8]) = match existing {
        Some((inner, sentence)) => {
            let body = inner.split(|&c| c == b'*').next().unwrap_or_default();
            let fields = body
                .split(|&c| c == b',')
                .filter(|f| !f.is_empty() && !f.starts_with(b"n:"))
                .map(<[u8]>::to_vec)
                .collect();
            (fields, sentence)
        }
        None => (Vec::new(), line),
    };
    if !fields.iter().any(|f| f.starts_with(b"c:")) {
        fields.insert(0, format!("c:{}", time.as_millisecond()).into_bytes());
    }
    fields.push(format!("n:{n}").into_bytes());
    let body = fields.join(&b',');
    let mut out = Vec::with_capacity(body.len() + sentence.len() + 6);
    out.push(b'\\');
    out.extend_from_slice(&body);
    out.extend_from_slice(format!("*{:02X}\\", nmea_checksum(&body)).as_bytes());
    out.extend_from_slice(sentence);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_adds_time_and_count_and_keeps_an_existing_tag_block() {
        let t = Timestamp::from_millisecond(1_795_000_000_123).unwrap();
        let out = stamp(b"$HEHDT,274.1,T*2B", t, 7);
        assert_eq!(out, b"\\c:1795000000123,n:7*2C\\$HEHDT,274.1,T*2B".to_vec());
        let (tag, sentence) = crate::ais::split_tag_block(&out).unwrap();
        let tag = TagBlock::parse(tag.unwrap()).unwrap();
        assert_eq!((tag.time, tag.line_count), (Some(t), Some(7)));
        assert_eq!(sentence, b"$HEHDT,274.1,T*2B");
        // The receiver's own s: and c: stay; an old n: is replaced.
        let out = stamp(b"\\s:rx1,c:1334337317,n:99*00\\!AIVDM,1,1,,A,x,0*00", t, 8);
        let (tag, sentence) = crate::ais::split_tag_block(&out).unwrap();
        let tag = TagBlock::parse(tag.unwrap()).unwrap();
        assert_eq!(tag.source.as_deref(), Some("rx1"));
        assert_eq!(tag.time.unwrap().as_second(), 1_334_337_317);
        assert_eq!(tag.line_count, Some(8));
        assert_eq!(sentence, b"!AIVDM,1,1,,A,x,0*00");
    }

    #[test]
    fn parses_source_time_and_group_with_checksum() {
        let t = TagBlock::parse(b"g:1-2-3985,s:rEV02,c:1334337317*2D").unwrap();
        assert_eq!(t.source.as_deref(), Some("rEV02"));
        assert_eq!(t.time.unwrap().as_second(), 1_334_337_317);
        assert_eq!(
            t.group,
            Some(TagGroup {
                num: 1,
                total: 2,
                id: 3985
            })
        );
    }

    #[test]
    fn milliseconds_are_recognised() {
        let body = b"c:1733782034123";
        let t = TagBlock::parse(body).unwrap();
        assert_eq!(t.time.unwrap().as_millisecond(), 1_733_782_034_123);
    }

    #[test]
    fn a_wrong_checksum_is_rejected() {
        let e = TagBlock::parse(b"s:rEV02,c:1334337317*00").unwrap_err();
        assert_eq!(e.reason(), "tag_block_checksum");
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        assert_eq!(
            TagBlock::parse(b"c:soon").unwrap_err().reason(),
            "tag_block"
        );
        assert_eq!(
            TagBlock::parse(b"nonsense").unwrap_err().reason(),
            "tag_block"
        );
    }
}
