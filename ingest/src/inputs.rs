//! Network inputs besides MQTT: NMEA over TCP (as a server that receivers connect to,
//! or as a client of a receiver or feed such as AISHub or AIS-catcher) and UDP, in plain
//! NMEA or AIS-catcher's JSON. Lines go to the ingest worker ([`crate::service`]), so they
//! take the same path as MQTT: raw archive, deduplication, observations.
//!
//! Memory is bounded: a line longer than [`MAX_LINE_BYTES`] is cut there (the decoder
//! rejects it as too long, and the archive keeps what was kept, marked), and the channel
//! to the worker is bounded (a slow worker slows the readers: TCP pushes back on the
//! sender, UDP drops, counted).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// Longest line kept; the rest of a longer line is discarded (and counted).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How a feed frames its sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// NMEA lines (with or without tag blocks).
    Nmea,
    /// AIS-catcher's JSON, one object per line, sentences in its `nmea` array.
    AisCatcherJson,
}

/// One line from a network input, for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalLine {
    /// The feed's name (a receiver), used as the AIS source.
    pub source: String,
    /// The line as received (without its line ending).
    pub line: Vec<u8>,
    /// When it arrived.
    pub received_at: Timestamp,
    /// Which of the feed's streams it came on (a connection to a `--tcp-listen` feed, a
    /// sender to a `--udp` one; 0 for a feed of one stream): a multi-sentence message is
    /// assembled from one stream's sentences only, so two receivers on one feed never
    /// complete each other's.
    pub stream: u32,
}

/// Counters shared by all inputs.
#[derive(Debug, Default)]
pub struct InputStats {
    /// Lines handed to the worker.
    pub lines: AtomicU64,
    /// Lines cut at [`MAX_LINE_BYTES`].
    pub truncated: AtomicU64,
    /// Lines of UDP datagrams dropped because the worker was behind (each line counted:
    /// what was lost is sentences).
    pub udp_dropped: AtomicU64,
    /// TCP connections accepted or made.
    pub connections: AtomicU64,
    /// TCP connections refused because [`MAX_TCP_FEED_CONNECTIONS`] were open.
    pub refused_connections: AtomicU64,
    /// TCP connections closed after [`TCP_FEED_IDLE`] without a byte.
    pub idle_closed: AtomicU64,
}

/// Receivers connected at once to a `--tcp-listen` feed; more are closed at once (and
/// counted). A centre's stations are a few dozen; without a bound, anyone reaching the port
/// could open connections until ingest ran out of file descriptors.
pub const MAX_TCP_FEED_CONNECTIONS: usize = 256;

/// A TCP feed silent this long is closed (and counted): a receiver's stream never pauses
/// that long, so it is gone (a half-open connection whose end rebooted, which a client
/// would otherwise wait on for ever before connecting again), or it is holding a slot.
pub const TCP_FEED_IDLE: Duration = Duration::from_secs(600);

/// Lines of AIS-catcher JSON: each sentence of its `nmea` array; anything else is passed
/// on as it came (and rejected downstream with a reason).
fn expand(format: FeedFormat, line: Vec<u8>) -> Vec<Vec<u8>> {
    if format == FeedFormat::Nmea {
        return vec![line];
    }
    #[derive(serde::Deserialize)]
    struct Msg {
        nmea: Vec<String>,
    }
    match serde_json::from_slice::<Msg>(&line) {
        Ok(m) if !m.nmea.is_empty() => m.nmea.into_iter().map(String::into_bytes).collect(),
        _ => vec![line],
    }
}

/// Split a stream into lines, bounded.
struct LineSplitter {
    buf: Vec<u8>,
    /// Discarding the rest of an over-long line.
    skipping: bool,
}

impl LineSplitter {
    fn new() -> Self {
        LineSplitter {
            buf: Vec::with_capacity(4096),
            skipping: false,
        }
    }

    /// Feed bytes; returns complete lines (and cut over-long ones). A line ends at a line
    /// feed or a carriage return (NMEA's CR LF is a line and an empty one, dropped): a
    /// device ending its lines with a carriage return alone would otherwise send one
    /// endless line.
    fn push(&mut self, data: &[u8], stats: &InputStats) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for &b in data {
            if b == b'\n' || b == b'\r' {
                if !self.skipping {
                    let line = std::mem::take(&mut self.buf);
                    if !line.is_empty() {
                        out.push(line);
                    }
                }
                self.buf.clear();
                self.skipping = false;
            } else if !self.skipping {
                self.buf.push(b);
                if self.buf.len() == MAX_LINE_BYTES {
                    stats.truncated.fetch_add(1, Ordering::Relaxed);
                    out.push(std::mem::take(&mut self.buf));
                    self.skipping = true;
                }
            }
        }
        out
    }
}

/// The lines for the worker from raw lines of one read or datagram (AIS-catcher JSON
/// expanded into its sentences), counted.
fn local_lines<'a>(
    source: &'a str,
    stream: u32,
    format: FeedFormat,
    lines: Vec<Vec<u8>>,
    stats: &'a InputStats,
) -> impl Iterator<Item = LocalLine> + 'a {
    let received_at = Timestamp::now();
    lines
        .into_iter()
        .flat_map(move |l| expand(format, l))
        .map(move |line| {
            stats.lines.fetch_add(1, Ordering::Relaxed);
            LocalLine {
                source: source.to_owned(),
                line,
                received_at,
                stream,
            }
        })
}

async fn forward(
    tx: &mpsc::Sender<LocalLine>,
    source: &str,
    stream: u32,
    format: FeedFormat,
    lines: Vec<Vec<u8>>,
    stats: &InputStats,
) -> bool {
    for line in local_lines(source, stream, format, lines, stats) {
        if tx.send(line).await.is_err() {
            return false;
        }
    }
    true
}

/// Read lines from any byte stream (a TCP connection, a serial device, a file) until it
/// ends or the worker is gone.
pub async fn read_stream(
    stream: impl tokio::io::AsyncRead + Unpin,
    source: &str,
    format: FeedFormat,
    tx: &mpsc::Sender<LocalLine>,
    stats: &InputStats,
) {
    read_stream_within(stream, source, 0, format, tx, stats, None).await;
}

/// [`read_stream`], ending the stream once `idle` passes without a byte (counted in
/// [`InputStats::idle_closed`]).
async fn read_stream_within(
    mut stream: impl tokio::io::AsyncRead + Unpin,
    source: &str,
    stream_id: u32,
    format: FeedFormat,
    tx: &mpsc::Sender<LocalLine>,
    stats: &InputStats,
    idle: Option<Duration>,
) {
    let mut split = LineSplitter::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let read = match idle {
            None => stream.read(&mut buf).await,
            Some(idle) => match tokio::time::timeout(idle, stream.read(&mut buf)).await {
                Ok(r) => r,
                Err(_) => {
                    stats.idle_closed.fetch_add(1, Ordering::Relaxed);
                    Ok(0)
                }
            },
        };
        match read {
            // A last line without its line ending is still a line.
            Ok(0) | Err(_) => {
                if !split.buf.is_empty() {
                    let last = vec![std::mem::take(&mut split.buf)];
                    forward(tx, source, stream_id, format, last, stats).await;
                }
                return;
            }
            Ok(n) => {
                let lines = split.push(&buf[..n], stats);
                if !forward(tx, source, stream_id, format, lines, stats).await {
                    return;
                }
            }
        }
    }
}

/// Accept receivers on `listener`; each connection's lines come from source
/// `{name}` (one feed name for all its connections: the listener is the receiver).
pub async fn tcp_server(
    listener: TcpListener,
    name: String,
    format: FeedFormat,
    tx: mpsc::Sender<LocalLine>,
    stats: Arc<InputStats>,
) {
    tcp_server_with(
        listener,
        name,
        format,
        tx,
        stats,
        MAX_TCP_FEED_CONNECTIONS,
        TCP_FEED_IDLE,
    )
    .await;
}

/// [`tcp_server`] with its limits given (tests use small ones).
pub async fn tcp_server_with(
    listener: TcpListener,
    name: String,
    format: FeedFormat,
    tx: mpsc::Sender<LocalLine>,
    stats: Arc<InputStats>,
    max_connections: usize,
    idle: Duration,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    // Connections per peer address: once the listener is more than half full, one address
    // may hold no more than a quarter of it (one host trickling a byte a minute on many
    // connections cannot take every slot).
    let per_peer: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> =
        Arc::default();
    let mut streams = Streams::default();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            stats.refused_connections.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(feed = %name, %peer, max_connections, "TCP feed full: connection refused");
            continue;
        };
        let pressed = slots.available_permits() < max_connections / 2;
        {
            let mut counts = per_peer.lock().unwrap_or_else(|p| p.into_inner());
            let n = counts.entry(peer.ip()).or_default();
            if pressed && *n >= (max_connections / 4).max(1) {
                stats.refused_connections.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(feed = %name, %peer, "TCP feed more than half full: too many connections from this address, refused");
                continue;
            }
            *n += 1;
        }
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let counted = PeerCount(per_peer.clone(), peer.ip());
        let (name, tx, stats) = (name.clone(), tx.clone(), stats.clone());
        let id = streams.next();
        tokio::spawn(async move {
            let _slot = slot;
            let _counted = counted;
            read_stream_within(stream, &name, id, format, &tx, &stats, Some(idle)).await;
        });
    }
}

/// A feed's stream numbers, one per connection, from 1 (0 is a feed of one stream),
/// wrapping long after any of its messages in progress expired.
#[derive(Default)]
struct Streams(u32);

impl Streams {
    fn next(&mut self) -> u32 {
        self.0 = self.0.checked_add(1).unwrap_or(1);
        self.0
    }
}

/// A UDP sender's stream: a number of its address (not 0), so that two receivers sending
/// to one port keep their multi-sentence messages apart.
fn udp_stream(from: SocketAddr) -> u32 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    let h =
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(from);
    (h as u32) | 1
}

/// One connection counted against its peer's address until dropped (however its task ends).
struct PeerCount(
    Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    std::net::IpAddr,
);

impl Drop for PeerCount {
    fn drop(&mut self) {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.1);
            }
        }
    }
}

/// Connect to a receiver or feed at `addr` and read its lines, reconnecting (with
/// backoff up to 30 s) whenever the connection ends.
pub async fn tcp_client(
    addr: SocketAddr,
    name: String,
    format: FeedFormat,
    tx: mpsc::Sender<LocalLine>,
    stats: Arc<InputStats>,
) {
    let mut backoff = Duration::from_millis(250);
    let mut streams = Streams::default();
    loop {
        if let Ok(stream) = TcpStream::connect(addr).await {
            stats.connections.fetch_add(1, Ordering::Relaxed);
            backoff = Duration::from_millis(250);
            let id = streams.next();
            read_stream_within(stream, &name, id, format, &tx, &stats, Some(TCP_FEED_IDLE)).await;
            if tx.is_closed() {
                return;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Read datagrams (one or more lines each) on `socket`. A line that cannot be queued at
/// once (the worker is behind) is dropped and counted: UDP senders do not wait.
pub async fn udp(
    socket: UdpSocket,
    name: String,
    format: FeedFormat,
    tx: mpsc::Sender<LocalLine>,
    stats: Arc<InputStats>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let mut split = LineSplitter::new();
        let mut lines = split.push(&buf[..n], &stats);
        if !split.buf.is_empty() {
            lines.push(std::mem::take(&mut split.buf));
        }
        for line in local_lines(&name, udp_stream(from), format, lines, &stats) {
            match tx.try_send(line) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    stats.udp_dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }
}

/// The metrics of `/metrics`.
impl crate::stats::Report for InputStats {
    fn describe() {
        use metrics::{Unit, describe_counter};
        describe_counter!(
            "tidewatch_feed_lines_total",
            Unit::Count,
            "Lines read from TCP and UDP feeds"
        );
        describe_counter!(
            "tidewatch_feed_truncated_total",
            Unit::Count,
            "Feed lines cut at the line limit"
        );
        describe_counter!(
            "tidewatch_feed_udp_dropped_total",
            Unit::Count,
            "Lines of UDP datagrams dropped because ingest was behind"
        );
        describe_counter!(
            "tidewatch_feed_connections_total",
            Unit::Count,
            "TCP feed connections accepted or made"
        );
        describe_counter!(
            "tidewatch_feed_connections_refused_total",
            Unit::Count,
            "TCP feed connections refused: the listener had its most"
        );
        describe_counter!(
            "tidewatch_feed_idle_closed_total",
            Unit::Count,
            "TCP feed connections closed after ten minutes without a byte"
        );
    }

    fn record(&self) {
        use metrics::counter;
        let stats = self;
        counter!("tidewatch_feed_lines_total")
            .absolute(stats.lines.load(std::sync::atomic::Ordering::Relaxed));
        counter!("tidewatch_feed_truncated_total")
            .absolute(stats.truncated.load(std::sync::atomic::Ordering::Relaxed));
        counter!("tidewatch_feed_udp_dropped_total")
            .absolute(stats.udp_dropped.load(std::sync::atomic::Ordering::Relaxed));
        counter!("tidewatch_feed_connections_total")
            .absolute(stats.connections.load(std::sync::atomic::Ordering::Relaxed));
        counter!("tidewatch_feed_connections_refused_total").absolute(
            stats
                .refused_connections
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        counter!("tidewatch_feed_idle_closed_total")
            .absolute(stats.idle_closed.load(std::sync::atomic::Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_newlines_and_over_long_ones_are_cut_once() {
        let stats = InputStats::default();
        let mut s = LineSplitter::new();
        assert_eq!(s.push(b"!A,1*00\r\n!B", &stats), vec![b"!A,1*00".to_vec()]);
        assert_eq!(s.push(b",2*00\n\n", &stats), vec![b"!B,2*00".to_vec()]);
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let out = s.push(&long, &stats);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), MAX_LINE_BYTES);
        assert_eq!(s.push(b"tail\n!C*00\n", &stats), vec![b"!C*00".to_vec()]);
        assert_eq!(stats.truncated.load(Ordering::Relaxed), 1);
    }

    /// Review (issue 24 session): a feed ending its lines with a carriage return alone (as
    /// some receivers and serial bridges do) was one endless line: its first 64 KiB were
    /// cut and rejected, and every byte after them was dropped while waiting for a line
    /// feed that never came, counted once. A carriage return now ends a line as a line
    /// feed does; CR LF is still one line ending. Through a `--tcp-listen` feed.
    #[tokio::test]
    async fn review_a_feed_ending_lines_with_carriage_returns_alone_loses_none() {
        use tokio::io::AsyncWriteExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let stats = Arc::new(InputStats::default());
        tokio::spawn(tcp_server(
            listener,
            "feed".into(),
            FeedFormat::Nmea,
            tx,
            stats.clone(),
        ));
        let sentence = |i: usize| format!("!AIVDM,1,1,,A,{i:028},0*00");
        let mut stream: Vec<u8> = (0..10_000)
            .flat_map(|i| format!("{}\r", sentence(i)).into_bytes())
            .collect();
        assert!(stream.len() > 4 * MAX_LINE_BYTES);
        // Then every other ending, the last CR LF split across two writes.
        stream.extend_from_slice(b"!A*00\r\n!B*00\n!C*00\r");
        let mut c = TcpStream::connect(addr).await.unwrap();
        let writer = tokio::spawn(async move {
            // In writes of a prime size, so that line endings fall everywhere in a read.
            for chunk in stream.chunks(4093) {
                c.write_all(chunk).await.unwrap();
            }
            c.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            c.write_all(b"\n!D*00\r\n").await.unwrap();
            c
        });
        let mut lines = Vec::new();
        while lines.len() < 10_004 {
            let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("every line arrives")
                .unwrap();
            lines.push(got.line);
        }
        let _c = writer.await.unwrap();
        assert!(
            lines[..10_000]
                .iter()
                .enumerate()
                .all(|(i, l)| *l == sentence(i).into_bytes())
        );
        assert_eq!(
            lines[10_000..],
            [
                b"!A*00".to_vec(),
                b"!B*00".to_vec(),
                b"!C*00".to_vec(),
                b"!D*00".to_vec()
            ]
        );
        assert_eq!(stats.truncated.load(Ordering::Relaxed), 0);
        assert_eq!(stats.lines.load(Ordering::Relaxed), 10_004);
    }

    #[test]
    fn ais_catcher_json_gives_its_sentences() {
        let line = br#"{"class":"AIS","device":"AIS-catcher","channel":"A","nmea":["!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"],"signalpower":-40.1}"#.to_vec();
        assert_eq!(
            expand(FeedFormat::AisCatcherJson, line),
            vec![b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A".to_vec()]
        );
        assert_eq!(
            expand(FeedFormat::AisCatcherJson, b"not json".to_vec()),
            vec![b"not json".to_vec()]
        );
    }

    /// Review (issue 24 session): a `--tcp-listen` feed took every connection anyone opened
    /// and kept it for ever, silent or not, until ingest ran out of file descriptors. It now
    /// holds a bounded number, and once more than half full a quarter of them per address
    /// (more are closed at once, counted); it closes one silent past its limit (counted); and
    /// a receiver connecting after still feeds.
    #[tokio::test]
    async fn review_a_tcp_feed_bounds_its_connections_and_closes_silent_ones() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let stats = Arc::new(InputStats::default());
        let idle = Duration::from_millis(500);
        tokio::spawn(tcp_server_with(
            listener,
            "feed".into(),
            FeedFormat::Nmea,
            tx,
            stats.clone(),
            8,
            idle,
        ));
        let wait = |what: &'static str, cond: Box<dyn Fn() -> bool>| async move {
            let start = tokio::time::Instant::now();
            while !cond() {
                assert!(start.elapsed() < Duration::from_secs(10), "{what}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let from = |last: u8| async move {
            let s = tokio::net::TcpSocket::new_v4().unwrap();
            s.bind(([127, 0, 0, last], 0).into()).unwrap();
            s.connect(addr).await.unwrap()
        };
        // Half the feed from one address: taken.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(from(1).await);
        }
        let s = stats.clone();
        wait(
            "four taken",
            Box::new(move || s.connections.load(Ordering::Relaxed) == 4),
        )
        .await;
        // More than half full: a fifth from that address is closed at once.
        let mut c = from(1).await;
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(2), c.read(&mut byte))
            .await
            .expect("the fifth connection closed at once");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
        assert_eq!(stats.refused_connections.load(Ordering::Relaxed), 1);
        // Another address feeds.
        let mut other = from(2).await;
        other.write_all(b"line one\n").await.unwrap();
        let got = rx.recv().await.unwrap();
        assert_eq!(got.line, b"line one");
        // All five closed once silent past the limit.
        let s = stats.clone();
        wait(
            "all closed when silent",
            Box::new(move || s.idle_closed.load(Ordering::Relaxed) == 5),
        )
        .await;
        assert!(matches!(other.read(&mut byte).await, Ok(0) | Err(_)));
        // Room again: the first address feeds.
        let mut d = from(1).await;
        d.write_all(b"line two\n").await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.line, b"line two");
    }
}
