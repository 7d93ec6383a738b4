//! The observations a service has ready go to the broker together, not one TCP segment each
//! (the patched rumqttc, `vendor/rumqttc/PATCH.md`): at tens of thousands of observations a
//! second, a write per publish was a fifth of the system's CPU.
//!
//! A test binary of its own: it counts the segments the kernel took in on every connection
//! (`/proc/net/snmp`, `Tcp: InSegs`), so nothing else of Tidewatch runs beside it.

use std::time::Duration;

use ingest::link::client::{Failover, options};
use ingest::link::outbox::Outbox;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// TCP segments received so far by this machine's network namespace.
fn segments_in() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").expect("/proc/net/snmp (Linux)");
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (names, values) = (tcp.next().unwrap(), tcp.next().unwrap());
    let at = names
        .split_whitespace()
        .position(|n| n == "InSegs")
        .expect("an InSegs column");
    values.split_whitespace().nth(at).unwrap().parse().unwrap()
}

/// One MQTT packet from the front of `buf` if it holds a whole one: (first byte, body).
fn take_packet(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    let (mut len, mut shift, mut at) = (0usize, 0, 1);
    loop {
        let b = *buf.get(at)?;
        len |= usize::from(b & 0x7f) << shift;
        at += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    if buf.len() < at + len {
        return None;
    }
    let first = buf[0];
    let body = buf[at..at + len].to_vec();
    buf.drain(..at + len);
    Some((first, body))
}

/// The far end is the wire itself: a listener that answers CONNECT, acknowledges every
/// publish as it reads it, and checks what came, in what order, in how many segments.
#[tokio::test]
async fn outbox_publishes_waiting_together_go_out_in_few_segments() {
    const N: usize = 2000;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let nodes = Failover::new(vec![options(
        "batch-pub",
        "127.0.0.1",
        port,
        None,
        false,
        1 << 20,
    )]);
    let (out, task) = Outbox::start(nodes, 1024, |_| {});
    let topic = |i: usize| format!("tidewatch/v1/obs/ais/{}", 200_000_000 + i);
    for i in 0..N {
        let payload = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(200));
        out.publish(topic(i), payload.into_bytes()).unwrap();
    }
    let before = segments_in();
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 256 * 1024];
    let mut topics = Vec::new();
    let mut connects = 0;
    while topics.len() < N {
        let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut chunk))
            .await
            .expect("the client keeps sending")
            .unwrap();
        assert!(n > 0, "the client closed after {} publishes", topics.len());
        buf.extend_from_slice(&chunk[..n]);
        let mut answer = Vec::new();
        while let Some((first, body)) = take_packet(&mut buf) {
            match first >> 4 {
                1 => {
                    connects += 1;
                    answer.extend_from_slice(&[0x20, 2, 0, 0]);
                }
                3 => {
                    assert_eq!(first & 0x06, 0x02, "QoS 1");
                    let len = usize::from(u16::from_be_bytes([body[0], body[1]]));
                    let id = &body[2 + len..4 + len];
                    answer.extend_from_slice(&[0x40, 2, id[0], id[1]]);
                    topics.push(String::from_utf8(body[2..2 + len].to_vec()).unwrap());
                }
                12 => answer.extend_from_slice(&[0xd0, 0]),
                other => panic!("unexpected packet type {other}"),
            }
        }
        socket.write_all(&answer).await.unwrap();
        // What the client's queue could not take yet (as the services do on a timer).
        out.drain().unwrap();
    }
    let segments = segments_in() - before;
    assert_eq!(connects, 1);
    assert_eq!(
        topics,
        (0..N).map(topic).collect::<Vec<_>>(),
        "every publish once, in order"
    );
    assert!(out.settled(Duration::from_secs(10)).await, "all confirmed");
    // Before the patch, a segment per publish (and more: the acknowledgements' own);
    // with it, a few per window of 100 unacknowledged publishes, both ways.
    assert!(
        segments < (N / 4) as u64,
        "{N} publishes and their acknowledgements took {segments} segments"
    );
    task.abort();
}
