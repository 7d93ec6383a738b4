//! Just enough MQTT 3.1.1 to police a client: framing, CONNECT, PUBLISH's topic and SUBSCRIBE's
//! filters, and the shape of every other client packet. Pure functions over byte slices; they never
//! panic and never allocate more than the packet they are given (hostile input is the norm here).

use super::acl::{is_topic_filter, is_topic_name};

/// MQTT control packet types (MQTT 3.1.1 §2.2.1).
pub(crate) mod kind {
    pub(crate) const CONNECT: u8 = 1;
    pub(crate) const CONNACK: u8 = 2;
    pub(crate) const PUBLISH: u8 = 3;
    pub(crate) const PUBACK: u8 = 4;
    pub(crate) const PUBREC: u8 = 5;
    pub(crate) const PUBREL: u8 = 6;
    pub(crate) const PUBCOMP: u8 = 7;
    pub(crate) const SUBSCRIBE: u8 = 8;
    pub(crate) const SUBACK: u8 = 9;
    pub(crate) const UNSUBSCRIBE: u8 = 10;
    pub(crate) const PINGREQ: u8 = 12;
    pub(crate) const DISCONNECT: u8 = 14;
}

/// CONNACK return codes (MQTT 3.1.1 §3.2.2.3).
pub(crate) mod connack {
    pub(crate) const UNACCEPTABLE_PROTOCOL_VERSION: u8 = 1;
    pub(crate) const IDENTIFIER_REJECTED: u8 = 2;
    pub(crate) const NOT_AUTHORIZED: u8 = 5;
}

/// Longest client id, topic name or topic filter a client may send, in bytes. Every name the
/// system uses is far shorter; the engine keeps each topic it sees and each client id's
/// session for good, so without a bound any anonymous client on loopback could make them
/// take gigabytes (names of 64 KiB, by the thousand).
pub(crate) const MAX_NAME_BYTES: usize = 256;

/// A CONNACK refusing the connection with `code` (session present = 0).
pub(crate) fn connack_refusal(code: u8) -> [u8; 4] {
    [kind::CONNACK << 4, 2, 0, code]
}

/// The fixed header of one packet at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    /// First byte: type in the high nibble, flags in the low one.
    pub(crate) first: u8,
    /// Bytes of the fixed header (2 to 5).
    pub(crate) header_len: usize,
    /// Remaining length: bytes after the fixed header.
    pub(crate) body_len: usize,
}

impl Frame {
    /// The flags nibble.
    pub(crate) fn flags(&self) -> u8 {
        self.first & 0x0f
    }

    /// Bytes of the whole packet.
    pub(crate) fn len(&self) -> usize {
        self.header_len + self.body_len
    }
}

/// Why a byte stream is not acceptable MQTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// Not MQTT 3.1.1, or a violation of it; the text says what.
    Malformed(&'static str),
    /// A packet whose remaining length is over the limit (the declared length).
    Oversized(usize),
}

/// Reads the fixed header at the start of `buf`. `Ok(None)`: not enough bytes yet, read more.
/// A remaining length over `max_body` is refused as soon as its header is complete, before any of
/// the body is read.
pub(crate) fn frame(buf: &[u8], max_body: usize) -> Result<Option<Frame>, FrameError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut len: usize = 0;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Ok(None);
        };
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if len > max_body {
                return Err(FrameError::Oversized(len));
            }
            return Ok(Some(Frame {
                first,
                header_len: 2 + i,
                body_len: len,
            }));
        }
    }
    Err(FrameError::Malformed(
        "remaining length longer than 4 bytes",
    ))
}

/// A cursor over a packet body.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, &'static str> {
        let (&b, rest) = self.buf.split_first().ok_or("packet too short")?;
        self.buf = rest;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.buf.len() < n {
            return Err("field runs past the end of the packet");
        }
        let (b, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(b)
    }

    /// Two-byte length + bytes.
    fn binary(&mut self) -> Result<&'a [u8], &'static str> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }

    /// Two-byte length + UTF-8 without NUL (MQTT 3.1.1 §1.5.3).
    fn string(&mut self) -> Result<&'a str, &'static str> {
        let s = std::str::from_utf8(self.binary()?).map_err(|_| "string is not UTF-8")?;
        if s.contains('\0') {
            return Err("string contains NUL");
        }
        Ok(s)
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// A parsed CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connect<'a> {
    /// Clean session flag.
    pub(crate) clean_session: bool,
    /// Keep alive, seconds.
    pub(crate) keep_alive: u16,
    /// Client identifier as sent.
    pub(crate) client_id: &'a str,
    /// Last will, if any.
    pub(crate) will: Option<Will<'a>>,
    /// Username, if any.
    pub(crate) username: Option<&'a str>,
    /// Password, if any.
    pub(crate) password: Option<&'a [u8]>,
}

/// The last will of a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Will<'a> {
    /// Will topic.
    pub(crate) topic: &'a str,
    /// Will payload.
    pub(crate) message: &'a [u8],
    /// Will QoS (0 to 2).
    pub(crate) qos: u8,
    /// Will retain flag.
    pub(crate) retain: bool,
}

/// Why a CONNECT is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectError {
    /// A known MQTT protocol of another version (3.1 or 5): answer CONNACK 1.
    UnsupportedVersion(u8),
    /// Anything else: close without an answer.
    Malformed(&'static str),
}

/// Parses a CONNECT (MQTT 3.1.1 §3.1) from its flags nibble and body.
pub(crate) fn parse_connect(flags: u8, body: &[u8]) -> Result<Connect<'_>, ConnectError> {
    use ConnectError::{Malformed, UnsupportedVersion};
    if flags != 0 {
        return Err(Malformed("CONNECT flags nibble is not 0"));
    }
    let mut r = Reader { buf: body };
    let name = r.binary().map_err(Malformed)?;
    let level = r.u8().map_err(Malformed)?;
    match (name, level) {
        (b"MQTT", 4) => {}
        (b"MQTT", v) | (b"MQIsdp", v) => return Err(UnsupportedVersion(v)),
        _ => return Err(Malformed("not an MQTT CONNECT")),
    }
    let cf = r.u8().map_err(Malformed)?;
    let keep_alive = r.u16().map_err(Malformed)?;
    if cf & 0x01 != 0 {
        return Err(Malformed("CONNECT reserved flag set"));
    }
    let will_flag = cf & 0x04 != 0;
    let will_qos = (cf >> 3) & 0x03;
    let will_retain = cf & 0x20 != 0;
    let has_password = cf & 0x40 != 0;
    let has_username = cf & 0x80 != 0;
    if will_qos == 3 {
        return Err(Malformed("will QoS 3"));
    }
    if !will_flag && (will_qos != 0 || will_retain) {
        return Err(Malformed("will QoS or retain without a will"));
    }
    if has_password && !has_username {
        return Err(Malformed("password without username"));
    }
    let client_id = r.string().map_err(Malformed)?;
    let will = if will_flag {
        let topic = r.string().map_err(Malformed)?;
        if !is_topic_name(topic) {
            return Err(Malformed("will topic is not a valid topic name"));
        }
        let message = r.binary().map_err(Malformed)?;
        Some(Will {
            topic,
            message,
            qos: will_qos,
            retain: will_retain,
        })
    } else {
        None
    };
    let username = has_username
        .then(|| r.string())
        .transpose()
        .map_err(Malformed)?;
    let password = has_password
        .then(|| r.binary())
        .transpose()
        .map_err(Malformed)?;
    if !r.is_empty() {
        return Err(Malformed("bytes after the CONNECT payload"));
    }
    Ok(Connect {
        clean_session: cf & 0x02 != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
    })
}

/// Encodes `c` as a CONNECT with `client_id` instead of its own, and with `login` (the fronts'
/// own username and password at the engine) instead of the client's: the client's password goes
/// no further than the front.
pub(crate) fn encode_connect(c: &Connect<'_>, client_id: &str, login: (&str, &str)) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, b: &[u8]) {
        // Both come from a parsed packet or a validated username: at most 65535 bytes.
        let n = u16::try_from(b.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&b[..usize::from(n)]);
    }
    let mut body = Vec::with_capacity(64 + client_id.len());
    string(&mut body, b"MQTT");
    body.push(4);
    // Username and password.
    let mut cf = 0xc0u8;
    if c.clean_session {
        cf |= 0x02;
    }
    if let Some(w) = &c.will {
        cf |= 0x04 | (w.qos << 3) | (if w.retain { 0x20 } else { 0 });
    }
    body.push(cf);
    body.extend_from_slice(&c.keep_alive.to_be_bytes());
    string(&mut body, client_id.as_bytes());
    if let Some(w) = &c.will {
        string(&mut body, w.topic.as_bytes());
        string(&mut body, w.message);
    }
    string(&mut body, login.0.as_bytes());
    string(&mut body, login.1.as_bytes());
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(kind::CONNECT << 4);
    encode_remaining_length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn encode_remaining_length(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
}

/// What the front needs to know about a packet a connected client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientPacket<'a> {
    /// A PUBLISH.
    Publish(Publish<'a>),
    /// A SUBSCRIBE: its packet identifier, and its topic filters (valid, at least one) with
    /// their requested QoS.
    Subscribe(u16, Vec<(&'a str, u8)>),
    /// An UNSUBSCRIBE with its topic filters (valid, at least one).
    Unsubscribe(Vec<&'a str>),
    /// A PUBACK, with the packet identifier it acknowledges.
    PubAck(u16),
    /// A PUBREC (the receipt of a QoS 2 delivery), with its packet identifier.
    PubRec(u16),
    /// A PUBREL (the second step of a client's QoS 2 publish), with its packet identifier.
    PubRel(u16),
    /// Any other well-formed client packet (other acks, PINGREQ, DISCONNECT).
    Other,
}

/// A PUBLISH, from a client or from the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Publish<'a> {
    /// Its topic name (valid).
    pub(crate) topic: &'a str,
    /// Its QoS (0, 1 or 2).
    pub(crate) qos: u8,
    /// Its retain flag.
    pub(crate) retain: bool,
    /// Its packet identifier (QoS 1 and 2; never 0).
    pub(crate) pkid: Option<u16>,
    /// Its payload.
    pub(crate) payload: &'a [u8],
}

/// Reads a PUBLISH body with the fixed header's `flags`.
fn parse_publish(flags: u8, body: &[u8]) -> Result<Publish<'_>, &'static str> {
    let mut r = Reader { buf: body };
    let qos = (flags >> 1) & 0x03;
    if qos == 3 {
        return Err("PUBLISH with QoS 3");
    }
    let topic = r.string()?;
    if !is_topic_name(topic) {
        return Err("PUBLISH topic is not a valid topic name");
    }
    let pkid = if qos > 0 {
        match r.u16()? {
            0 => return Err("PUBLISH packet identifier 0"),
            id => Some(id),
        }
    } else {
        None
    };
    Ok(Publish {
        topic,
        qos,
        retain: flags & 0x01 != 0,
        pkid,
        payload: r.buf,
    })
}

/// What the front needs to know about a packet the engine sends a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnginePacket<'a> {
    /// A delivery.
    Publish(Publish<'a>),
    /// The acknowledgement of a client's QoS 1 PUBLISH.
    PubAck(u16),
    /// The receipt of a client's QoS 2 PUBLISH.
    PubRec(u16),
    /// The answer to a client's SUBSCRIBE: its packet identifier and a return code per filter
    /// (the granted QoS, or 0x80 for a failure).
    SubAck(u16, &'a [u8]),
    /// Anything else (relayed as it is).
    Other,
}

/// Reads what the engine sent (trusted to be well formed; anything unexpected is `Other`).
pub(crate) fn parse_engine_packet(first: u8, body: &[u8]) -> EnginePacket<'_> {
    match first >> 4 {
        kind::PUBLISH => match parse_publish(first & 0x0f, body) {
            Ok(p) => EnginePacket::Publish(p),
            Err(_) => EnginePacket::Other,
        },
        kind::PUBACK if body.len() == 2 => {
            EnginePacket::PubAck(u16::from_be_bytes([body[0], body[1]]))
        }
        kind::PUBREC if body.len() == 2 => {
            EnginePacket::PubRec(u16::from_be_bytes([body[0], body[1]]))
        }
        kind::SUBACK if body.len() > 2 => {
            EnginePacket::SubAck(u16::from_be_bytes([body[0], body[1]]), &body[2..])
        }
        _ => EnginePacket::Other,
    }
}

/// Checks the packet a connected client sent (everything but CONNECT, which comes once, first)
/// and extracts what the ACL needs.
pub(crate) fn parse_client_packet(
    first: u8,
    body: &[u8],
) -> Result<ClientPacket<'_>, &'static str> {
    let (ty, flags) = (first >> 4, first & 0x0f);
    let mut r = Reader { buf: body };
    match ty {
        kind::PUBLISH => parse_publish(flags, body).map(ClientPacket::Publish),
        kind::SUBSCRIBE => {
            if flags != 0b0010 {
                return Err("SUBSCRIBE flags are not 0010");
            }
            let pkid = r.u16()?;
            if pkid == 0 {
                return Err("SUBSCRIBE packet identifier 0");
            }
            let mut filters = Vec::new();
            while !r.is_empty() {
                let f = r.string()?;
                if !is_topic_filter(f) {
                    return Err("SUBSCRIBE filter is not a valid topic filter");
                }
                let qos = r.u8()?;
                if qos > 2 {
                    return Err("SUBSCRIBE requested QoS is not 0, 1 or 2");
                }
                filters.push((f, qos));
            }
            if filters.is_empty() {
                return Err("SUBSCRIBE without a filter");
            }
            Ok(ClientPacket::Subscribe(pkid, filters))
        }
        kind::UNSUBSCRIBE => {
            if flags != 0b0010 {
                return Err("UNSUBSCRIBE flags are not 0010");
            }
            if r.u16()? == 0 {
                return Err("UNSUBSCRIBE packet identifier 0");
            }
            let mut filters = Vec::new();
            while !r.is_empty() {
                let f = r.string()?;
                if !is_topic_filter(f) {
                    return Err("UNSUBSCRIBE filter is not a valid topic filter");
                }
                filters.push(f);
            }
            if filters.is_empty() {
                return Err("UNSUBSCRIBE without a filter");
            }
            Ok(ClientPacket::Unsubscribe(filters))
        }
        kind::PUBACK | kind::PUBREC | kind::PUBCOMP | kind::PUBREL => {
            let want = if ty == kind::PUBREL { 0b0010 } else { 0 };
            if flags != want || body.len() != 2 {
                return Err("acknowledgement with wrong flags or length");
            }
            let pkid = u16::from_be_bytes([body[0], body[1]]);
            if ty == kind::PUBACK {
                return Ok(ClientPacket::PubAck(pkid));
            }
            if ty == kind::PUBREC {
                return Ok(ClientPacket::PubRec(pkid));
            }
            if ty == kind::PUBREL {
                return Ok(ClientPacket::PubRel(pkid));
            }
            Ok(ClientPacket::Other)
        }
        kind::PINGREQ | kind::DISCONNECT => {
            if flags != 0 || !body.is_empty() {
                return Err("PINGREQ or DISCONNECT with flags or a body");
            }
            Ok(ClientPacket::Other)
        }
        kind::CONNECT => Err("a second CONNECT"),
        _ => Err("a packet type a client may not send"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packet(first: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        encode_remaining_length(&mut out, body.len());
        out.extend_from_slice(body);
        out
    }

    fn string(s: &[u8]) -> Vec<u8> {
        let mut v = (s.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(s);
        v
    }

    fn connect_body(flags: u8, fields: &[&[u8]]) -> Vec<u8> {
        let mut b = string(b"MQTT");
        b.extend([4, flags, 0, 30]);
        for f in fields {
            b.extend(string(f));
        }
        b
    }

    #[test]
    fn frames() {
        assert_eq!(frame(&[], 10), Ok(None));
        assert_eq!(frame(&[0x30], 10), Ok(None));
        assert_eq!(
            frame(&[0x30, 3, 0], 10),
            Ok(Some(Frame {
                first: 0x30,
                header_len: 2,
                body_len: 3
            }))
        );
        assert_eq!(frame(&[0x30, 0x80], 1000), Ok(None));
        assert_eq!(
            frame(&[0x30, 0xc1, 0x02], 1000).unwrap().unwrap().body_len,
            321
        );
        assert_eq!(
            frame(&[0x30, 0xc1, 0x02], 300),
            Err(FrameError::Oversized(321))
        );
        assert_eq!(
            frame(&[0x30, 0xff, 0xff, 0xff, 0x7f], usize::MAX)
                .unwrap()
                .unwrap()
                .body_len,
            268_435_455
        );
        assert!(matches!(
            frame(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], usize::MAX),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn connect_with_credentials_and_will() {
        let body = connect_body(
            0x80 | 0x40 | 0x04 | 0x08 | 0x02,
            &[
                b"cid",
                b"tidewatch/v1/patrol/p/status",
                b"gone",
                b"p",
                b"pw",
            ],
        );
        let c = parse_connect(0, &body).unwrap();
        assert_eq!(c.client_id, "cid");
        assert_eq!(c.username, Some("p"));
        assert_eq!(c.password, Some(&b"pw"[..]));
        assert!(c.clean_session);
        assert_eq!(c.keep_alive, 30);
        let w = c.will.clone().unwrap();
        assert_eq!(
            (w.topic, w.message, w.qos, w.retain),
            ("tidewatch/v1/patrol/p/status", &b"gone"[..], 1, false)
        );

        // Re-encoded: new client id, the front's login instead of the client's, same will.
        let re = encode_connect(&c, "p", ("front", "front-secret"));
        let f = frame(&re, usize::MAX).unwrap().unwrap();
        assert_eq!(f.len(), re.len());
        let c2 = parse_connect(f.flags(), &re[f.header_len..]).unwrap();
        assert_eq!(c2.client_id, "p");
        assert_eq!(
            (c2.username, c2.password),
            (Some("front"), Some(&b"front-secret"[..]))
        );
        assert_eq!(c2.will, c.will);
        assert_eq!((c2.clean_session, c2.keep_alive), (true, 30));
    }

    #[test]
    fn connect_refusals() {
        let mut v5 = string(b"MQTT");
        v5.extend([5, 2, 0, 30]);
        assert_eq!(
            parse_connect(0, &v5),
            Err(ConnectError::UnsupportedVersion(5))
        );
        let mut v3 = string(b"MQIsdp");
        v3.extend([3, 2, 0, 30]);
        assert_eq!(
            parse_connect(0, &v3),
            Err(ConnectError::UnsupportedVersion(3))
        );
        let bad = [
            connect_body(0x01, &[b"c"]),               // reserved flag
            connect_body(0x40, &[b"c", b"pw"]),        // password without username
            connect_body(0x18, &[b"c", b"t", b"m"]),   // will QoS 3
            connect_body(0x20, &[b"c"]),               // will retain without will
            connect_body(0x04, &[b"c", b"a/+", b"m"]), // wildcard will topic
            connect_body(0x80, &[b"c"]),               // username missing
            connect_body(0x00, &[b"c", b"extra"]),     // trailing bytes
            connect_body(0x80, &[b"c", b"\xff\xfe"]),  // username not UTF-8
            connect_body(0x80, &[b"c", b"a\0b"]),      // username with NUL
        ];
        for b in bad {
            assert!(
                matches!(parse_connect(0, &b), Err(ConnectError::Malformed(_))),
                "{b:?}"
            );
        }
        assert!(parse_connect(1, &connect_body(0, &[b"c"])).is_err());
        assert!(matches!(
            parse_connect(0, b"GET / HTTP/1.1"),
            Err(ConnectError::Malformed(_))
        ));
    }

    #[test]
    fn client_packets() {
        let mut p = string(b"a/b");
        p.extend([0, 7]);
        p.extend(b"payload");
        assert_eq!(
            parse_client_packet(0x33, &p),
            Ok(ClientPacket::Publish(Publish {
                topic: "a/b",
                qos: 1,
                retain: true,
                pkid: Some(7),
                payload: b"payload",
            }))
        );
        assert_eq!(
            parse_engine_packet(0x33, &p),
            EnginePacket::Publish(Publish {
                topic: "a/b",
                qos: 1,
                retain: true,
                pkid: Some(7),
                payload: b"payload",
            })
        );
        assert_eq!(
            parse_engine_packet(0x40, &[1, 2]),
            EnginePacket::PubAck(258)
        );
        assert_eq!(parse_engine_packet(0xd0, &[]), EnginePacket::Other);
        assert_eq!(
            parse_engine_packet(0x90, &[0, 3, 1, 0x80]),
            EnginePacket::SubAck(3, &[1, 0x80])
        );
        // QoS 0: no packet id, the rest is payload.
        assert!(parse_client_packet(0x30, &string(b"a/b")).is_ok());
        assert!(parse_client_packet(0x36, &p).is_err()); // QoS 3
        assert!(parse_client_packet(0x32, &string(b"a/b")).is_err()); // no packet id
        assert!(parse_client_packet(0x30, &string(b"a/#")).is_err());
        assert!(parse_client_packet(0x30, &string(b"")).is_err());

        let mut s = vec![0, 1];
        s.extend(string(b"a/+"));
        s.push(1);
        s.extend(string(b"b/#"));
        s.push(0);
        assert_eq!(
            parse_client_packet(0x82, &s),
            Ok(ClientPacket::Subscribe(1, vec![("a/+", 1), ("b/#", 0)]))
        );
        assert!(parse_client_packet(0x80, &s).is_err()); // flags
        assert!(parse_client_packet(0x82, &[0, 1]).is_err()); // no filter
        let mut s3 = vec![0, 1];
        s3.extend(string(b"a"));
        s3.push(3);
        assert!(parse_client_packet(0x82, &s3).is_err()); // QoS 3

        let mut u = vec![0, 2];
        u.extend(string(b"a/+"));
        assert_eq!(
            parse_client_packet(0xa2, &u),
            Ok(ClientPacket::Unsubscribe(vec!["a/+"]))
        );
        assert_eq!(
            parse_client_packet(0x40, &[0, 1]),
            Ok(ClientPacket::PubAck(1))
        );
        assert_eq!(
            parse_client_packet(0x62, &[0, 1]),
            Ok(ClientPacket::PubRel(1))
        );
        assert_eq!(
            parse_client_packet(0x50, &[0, 9]),
            Ok(ClientPacket::PubRec(9))
        );
        assert_eq!(parse_engine_packet(0x50, &[0, 9]), EnginePacket::PubRec(9));
        assert!(parse_client_packet(0x60, &[0, 1]).is_err());
        assert!(parse_client_packet(0x40, &[0, 1, 2]).is_err());
        assert_eq!(parse_client_packet(0xc0, &[]), Ok(ClientPacket::Other));
        assert_eq!(parse_client_packet(0xe0, &[]), Ok(ClientPacket::Other));
        for first in [0x00, 0x10, 0x20, 0x90, 0xb0, 0xd0, 0xf0] {
            assert!(parse_client_packet(first, &[]).is_err(), "{first:#x}");
        }
    }

    #[test]
    fn connack_bytes() {
        assert_eq!(connack_refusal(connack::NOT_AUTHORIZED), [0x20, 2, 0, 5]);
        assert_eq!(packet(0xc0, &[]), [0xc0, 0]);
    }

    proptest! {
        #[test]
        fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = frame(&bytes, 256);
            if let Some((&first, body)) = bytes.split_first() {
                let _ = parse_connect(first & 0x0f, body);
                let _ = parse_client_packet(first, body);
            }
        }

        #[test]
        fn connect_mutations_never_panic(
            flags in any::<u8>(),
            fields in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..6),
            cut in 0usize..200,
        ) {
            let refs: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
            let body = connect_body(flags, &refs);
            let body = &body[..cut.min(body.len())];
            if let Ok(c) = parse_connect(0, body) {
                let re = encode_connect(&c, "x", ("front", "secret"));
                let f = frame(&re, usize::MAX).unwrap().unwrap();
                prop_assert!(parse_connect(f.flags(), &re[f.header_len..]).is_ok());
            }
        }
    }
}
