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
use tokio::net::TcpListener;

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

/// The far end is the wire itself: a listener that answers CONNECT and acknowledges every
/// publish as it reads it, until `n` publishes came; their topics, in the order they came,
/// how many connections it answered, and the connection (open: closed with anything unread,
/// it would be reset, and the last acknowledgements lost with it).
async fn the_wire(
    listener: tokio::net::TcpListener,
    n: usize,
) -> (Vec<String>, usize, tokio::net::TcpStream) {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 256 * 1024];
    let mut topics = Vec::new();
    let mut connects = 0;
    while topics.len() < n {
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("the client stopped sending after {}", topics.len()))
            .unwrap();
        assert!(
            read > 0,
            "the client closed after {} publishes",
            topics.len()
        );
        buf.extend_from_slice(&chunk[..read]);
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
    }
    (topics, connects, socket)
}

/// An outbox with room for `cap` requests in its client, publishing to a wire of its own.
async fn outbox_on_a_wire(cap: usize) -> (Outbox, tokio::task::JoinHandle<()>, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let nodes = Failover::new(vec![options(
        "batch-pub",
        "127.0.0.1",
        port,
        None,
        false,
        1 << 20,
    )]);
    let (out, task) = Outbox::start(nodes, cap, |_| {});
    (out, task, listener)
}

fn topic(i: usize) -> String {
    format!("tidewatch/v1/obs/ais/{}", 200_000_000 + i)
}

/// The wire had one connection and every publish of `topic(0..)` once, in order, and the
/// outbox counts them all confirmed.
async fn every_publish_once_in_order_and_confirmed(
    out: &Outbox,
    topics: &[String],
    connects: usize,
) {
    assert_eq!(connects, 1);
    assert_eq!(
        topics,
        (0..topics.len()).map(topic).collect::<Vec<_>>(),
        "every publish once, in order"
    );
    assert!(out.settled(Duration::from_secs(10)).await, "all confirmed");
}

/// The tests of this binary one at a time: the segments counted are the whole namespace's.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn outbox_publishes_waiting_together_go_out_in_few_segments() {
    const N: usize = 2000;
    let _one = ONE_AT_A_TIME.lock().await;
    let (out, task, listener) = outbox_on_a_wire(1024).await;
    for i in 0..N {
        let payload = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(200));
        out.publish(topic(i), payload.into_bytes()).unwrap();
    }
    let before = segments_in();
    let (topics, connects, _wire) = the_wire(listener, N).await;
    let segments = segments_in() - before;
    every_publish_once_in_order_and_confirmed(&out, &topics, connects).await;
    // Before the patch, a segment per publish (and more: the acknowledgements' own);
    // with it, a few per window of 100 unacknowledged publishes, both ways.
    assert!(
        segments < (N / 4) as u64,
        "{N} publishes and their acknowledgements took {segments} segments"
    );
    task.abort();
}

/// A burst of publishes many times what the client's queue holds (fusion's alerts after a
/// storm, or replayed on a restart) all goes out, in order, with nothing published after it
/// and no caller draining: what waits is handed as the client makes room. (It waited for
/// the next publish: the tail of a burst could sit unsent for as long as nothing else was
/// alerted.)
#[tokio::test]
async fn a_burst_beyond_the_clients_queue_goes_out_without_another_publish() {
    const N: usize = 300;
    let _one = ONE_AT_A_TIME.lock().await;
    let (out, task, listener) = outbox_on_a_wire(8).await;
    for i in 0..N {
        out.publish(topic(i), format!("{{\"n\":{i}}}").into_bytes())
            .unwrap();
    }
    assert!(out.backlog_len() > N - 16, "the client's queue is small");
    let (topics, connects, _wire) = the_wire(listener, N).await;
    every_publish_once_in_order_and_confirmed(&out, &topics, connects).await;
    assert_eq!(out.backlog_len(), 0);
    task.abort();
}
