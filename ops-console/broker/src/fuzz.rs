//! The entry point of the `mqtt_front` fuzz target (`ops-console/fuzz`): what a hostile client
//! can send, driven through the code that reads it. Not for anything else.

use crate::packet;

/// The MQTT front's reading of a client's bytes, as the authenticated listener reads them:
/// packets framed one after another (at most 64 KiB each), the first as a CONNECT (which,
/// parsed, re-encodes to a CONNECT that parses again), the rest as client packets.
pub fn mqtt_front(data: &[u8]) {
    let mut buf = data;
    let mut first = true;
    while let Ok(Some(f)) = packet::frame(buf, 64 * 1024) {
        let end = f.len();
        let Some(body) = buf.get(f.header_len..end) else {
            break;
        };
        if first {
            if let Ok(c) = packet::parse_connect(f.flags(), body) {
                let again = packet::encode_connect(&c, "fuzz", ("front", "secret"));
                let g = packet::frame(&again, usize::MAX)
                    .expect("a re-encoded CONNECT frames")
                    .expect("whole");
                packet::parse_connect(g.flags(), &again[g.header_len..])
                    .expect("a re-encoded CONNECT parses");
            }
            first = false;
        } else {
            let _ = packet::parse_client_packet(buf[0], body);
        }
        buf = &buf[end..];
    }
}
