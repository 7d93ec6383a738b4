//! The two directions of one admitted connection, between its client and the engine.
//!
//! - **client → engine**: every packet is judged (ACL and shape, [`police`]); the good ones go
//!   on, the first bad one ends the connection. A publish waits for the services that read it
//!   to subscribe (`tidewatch up`); a QoS 1 publish that consumers must have is registered with the [`Ledger`]; a
//!   consumer's subscriptions and acknowledgements are reported to it.
//! - **engine → client**: relayed as they come, except the PUBACKs of held publishes, which
//!   wait, in order, until the ledger says every consumer has the message ([`super::hold`]).
//!   A PUBACK whose message a keeper never got is not sent: the connection is closed, and the
//!   client sends the message again.
//!
//! QoS 2 is bridged at the front, because the engine delivers a QoS 2 message only after the
//! client's PUBREL, which comes only after the PUBREC that hands the message over, and so
//! could not hold the PUBREC until ingest had it: a client's QoS 2 PUBLISH goes to the engine
//! as QoS 1, the engine's (held) PUBACK goes back to the client as its PUBREC, and the front
//! answers the client's PUBREL with PUBCOMP itself. The promise is the same as QoS 1's; a
//! PUBLISH re-sent before its PUBREC is delivered twice (at least once, not exactly once).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use super::acl::Grants;
use super::front::{End, fill, refused};
use super::hold::{Consumer, Key, Ledger, MAX_HELD_PER_CONNECTION, Ticket};
use super::packet::{
    ClientPacket, EnginePacket, FrameError, MAX_NAME_BYTES, frame, parse_client_packet,
    parse_engine_packet,
};
use super::stats::Refusal;

/// What one connection keeps about held publishes and deliveries, shared by both directions.
pub(crate) struct Relay {
    ledger: Arc<Ledger>,
    /// The client's session id (the publisher, for the ledger).
    session: String,
    /// What it is as a consumer, if anything.
    consumer: Option<Consumer>,
    /// Rung when one of this connection's held publishes is settled.
    bell: Arc<Notify>,
    /// Held publishes by packet id, until the engine's PUBACK (a re-sent PUBLISH, same id,
    /// holds a second).
    tickets: Mutex<HashMap<u16, VecDeque<Arc<Ticket>>>>,
    /// The acknowledgements waiting to go out, in order.
    queue: Mutex<VecDeque<Outgoing>>,
    /// Held publishes now (in `tickets` or `queue`).
    held: AtomicUsize,
    /// Rung when `held` goes down.
    room: Notify,
    /// Rung when answers in `queue` went out.
    drained: Notify,
    /// A consumer's deliveries not yet acknowledged: packet id → message.
    deliveries: Mutex<HashMap<u16, Key>>,
    /// A consumer's SUBSCRIBEs until their SUBACK: packet id → filters.
    subscribes: Mutex<HashMap<u16, Vec<String>>>,
    /// The client's QoS 2 publishes sent on as QoS 1, by packet id, until their PUBREC.
    bridged: Mutex<std::collections::HashSet<u16>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Relay {
    pub(crate) fn new(ledger: Arc<Ledger>, session: String, consumer: Option<Consumer>) -> Self {
        if let Some(c) = &consumer {
            ledger.connected(c);
        }
        Relay {
            ledger,
            session,
            consumer,
            bell: Arc::new(Notify::new()),
            tickets: Mutex::new(HashMap::new()),
            queue: Mutex::new(VecDeque::new()),
            held: AtomicUsize::new(0),
            room: Notify::new(),
            drained: Notify::new(),
            deliveries: Mutex::new(HashMap::new()),
            subscribes: Mutex::new(HashMap::new()),
            bridged: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Must the packet wait before it goes to the engine? Then this is what it waits for.
    fn gate(&self, p: &ClientPacket<'_>) -> Option<Wait> {
        if let ClientPacket::PubRel(_) = p {
            return (lock(&self.queue).len() >= MAX_QUEUED_ANSWERS).then_some(Wait::Drained);
        }
        let ClientPacket::Publish(p) = p else {
            return None;
        };
        if p.qos > 0 && self.held.load(Relaxed) >= MAX_HELD_PER_CONNECTION {
            return Some(Wait::Room);
        }
        (!self.ledger.services_ready(p.topic)).then(|| Wait::Services(p.topic.to_owned()))
    }

    async fn wait(&self, w: Wait) {
        match w {
            Wait::Services(topic) => self.ledger.wait_for_services(&topic).await,
            Wait::Room => {
                let room = self.room.notified();
                tokio::pin!(room);
                room.as_mut().enable();
                if self.held.load(Relaxed) >= MAX_HELD_PER_CONNECTION {
                    room.await;
                }
            }
            Wait::Drained => {
                let drained = self.drained.notified();
                tokio::pin!(drained);
                drained.as_mut().enable();
                if lock(&self.queue).len() >= MAX_QUEUED_ANSWERS {
                    drained.await;
                }
            }
        }
    }

    /// The packet is on its way to the engine (`Forward`), or answered here (`Answered`).
    fn forwarded(&self, p: &ClientPacket<'_>) -> Verdict {
        match p {
            ClientPacket::PubRel(pkid) => {
                // The second step of a bridged QoS 2 publish: the engine never saw it as QoS 2.
                lock(&self.queue).push_back((0x70, *pkid, None));
                self.bell.notify_one();
                return Verdict::Answered;
            }
            ClientPacket::Publish(p) if p.qos >= 1 => {
                let Some(pkid) = p.pkid else {
                    return Verdict::Forward;
                };
                if p.qos == 2 {
                    lock(&self.bridged).insert(pkid);
                }
                let key = self.ledger.key(p.topic, p.payload);
                if let Some(t) = self.ledger.hold(&self.session, p.topic, key, &self.bell) {
                    lock(&self.tickets).entry(pkid).or_default().push_back(t);
                    self.held.fetch_add(1, Relaxed);
                }
            }
            ClientPacket::Subscribe(pkid, filters) if self.consumer.is_some() => {
                let filters = filters.iter().map(|(f, _)| (*f).to_owned()).collect();
                lock(&self.subscribes).insert(*pkid, filters);
            }
            ClientPacket::Unsubscribe(filters) => {
                if let Some(c) = &self.consumer {
                    let filters: Vec<String> = filters.iter().map(|f| (*f).to_owned()).collect();
                    self.ledger.unsubscribed(c, &filters);
                }
            }
            ClientPacket::PubAck(pkid) | ClientPacket::PubRec(pkid) => {
                if let Some(c) = &self.consumer
                    && let Some(key) = lock(&self.deliveries).remove(pkid)
                {
                    self.ledger.acked(c, key);
                }
            }
            _ => {}
        }
        Verdict::Forward
    }

    /// What the engine sent: the bytes for the client now go to `out`; a PUBACK of a held
    /// publish, or one behind it, waits in the queue.
    fn engine_sent(&self, first: u8, packet: &[u8], body: &[u8], out: &mut Vec<u8>) {
        match parse_engine_packet(first, body) {
            EnginePacket::PubAck(pkid) | EnginePacket::PubRec(pkid) => {
                // A bridged QoS 2 publish: the engine's PUBACK is the client's PUBREC.
                let first = if lock(&self.bridged).remove(&pkid) {
                    0x50
                } else {
                    first
                };
                let mut packet = packet;
                let rewritten = [first, 2, (pkid >> 8) as u8, pkid as u8];
                if first == 0x50 {
                    packet = &rewritten;
                }
                let ticket = {
                    let mut tickets = lock(&self.tickets);
                    let ticket = tickets.get_mut(&pkid).and_then(VecDeque::pop_front);
                    if tickets.get(&pkid).is_some_and(VecDeque::is_empty) {
                        tickets.remove(&pkid);
                    }
                    ticket
                };
                let mut queue = lock(&self.queue);
                if ticket.is_none() && queue.is_empty() {
                    out.extend_from_slice(packet);
                } else {
                    queue.push_back((first, pkid, ticket));
                }
            }
            EnginePacket::Publish(p) => {
                if self.consumer.is_some()
                    && p.qos >= 1
                    && let Some(pkid) = p.pkid
                {
                    let key = self.ledger.key(p.topic, p.payload);
                    lock(&self.deliveries).insert(pkid, key);
                }
                out.extend_from_slice(packet);
            }
            EnginePacket::SubAck(pkid, codes) => {
                if let Some(c) = &self.consumer
                    && let Some(filters) = lock(&self.subscribes).remove(&pkid)
                {
                    let granted: Vec<(String, u8)> = filters
                        .into_iter()
                        .zip(codes.iter().map(|&c| if c == 0x80 { 0 } else { c }))
                        .collect();
                    self.ledger.subscribed(c, &granted);
                }
                out.extend_from_slice(packet);
            }
            EnginePacket::Other => out.extend_from_slice(packet),
        }
    }

    /// Moves the PUBACKs at the head of the queue whose publishes are settled to `out`. `Err`
    /// when the head's message was lost by a keeper.
    fn release(&self, out: &mut Vec<u8>) -> Result<(), Lost> {
        let mut queue = lock(&self.queue);
        let mut released = 0;
        let before = queue.len();
        let result = loop {
            let Some((first, pkid, ticket)) = queue.front() else {
                break Ok(());
            };
            match ticket {
                Some(t) if t.lost() => break Err(Lost),
                Some(t) if !t.done() => break Ok(()),
                Some(_) => released += 1,
                None => {}
            }
            let [hi, lo] = pkid.to_be_bytes();
            out.extend_from_slice(&[*first, 2, hi, lo]);
            queue.pop_front();
        };
        if released > 0 {
            self.held.fetch_sub(released, Relaxed);
            self.room.notify_waiters();
        }
        if queue.len() < before {
            self.drained.notify_waiters();
        }
        result
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let mut tickets: Vec<Arc<Ticket>> =
            lock(&self.tickets).drain().flat_map(|(_, q)| q).collect();
        tickets.extend(lock(&self.queue).drain(..).filter_map(|(_, _, t)| t));
        self.ledger.cancel(tickets);
        if let Some(c) = &self.consumer {
            self.ledger.disconnected(c);
        }
    }
}

/// An acknowledgement for the client (PUBACK, or for a bridged QoS 2 publish PUBREC, or the
/// front's own PUBCOMP): its first byte, packet id, and the ticket it waits for (if any).
type Outgoing = (u8, u16, Option<Arc<Ticket>>);

/// What becomes of a client packet that passed.
#[derive(PartialEq, Eq)]
enum Verdict {
    /// On to the engine.
    Forward,
    /// Answered by the front; not for the engine.
    Answered,
}

/// What a packet waits for before it is forwarded.
enum Wait {
    /// The services that read this topic to subscribe.
    Services(String),
    /// Fewer held publishes on this connection.
    Room,
    /// Fewer answers waiting to go out to the client.
    Drained,
}

/// The answers the front makes itself (PUBCOMPs) that may wait for a client to read them:
/// past this, the front reads nothing more from the client until it reads some, so a client
/// sending PUBRELs and never reading holds this much, not all it sends.
const MAX_QUEUED_ANSWERS: usize = 4096;

/// A keeper never got a held message: the connection closes without its PUBACK.
pub(crate) struct Lost;

/// Client-to-engine direction: forwards every packet that passes, stops at the first that does
/// not. `Ok` when the client closed its side cleanly.
pub(crate) async fn client_to_engine(
    mut client: impl AsyncRead + Unpin,
    mut engine: impl AsyncWrite + Unpin,
    mut buf: BytesMut,
    grants: &Grants,
    max_body: usize,
    relay: &Relay,
) -> Result<(), End> {
    loop {
        // Judge every complete packet in the buffer; forward the good prefix.
        let mut good = 0;
        let verdict = loop {
            match frame(&buf[good..], max_body) {
                Ok(Some(f)) if buf.len() - good >= f.len() => {
                    let body = &buf[good + f.header_len..good + f.len()];
                    let packet = match police(f.first, body, grants) {
                        Ok(p) => p,
                        Err(e) => break Err(e),
                    };
                    if let Some(w) = relay.gate(&packet) {
                        // What came before goes now; this one waits.
                        engine.write_all(&buf[..good]).await?;
                        buf.advance(good);
                        good = 0;
                        relay.wait(w).await;
                        continue;
                    }
                    let qos2 = matches!(&packet, ClientPacket::Publish(p) if p.qos == 2);
                    if relay.forwarded(&packet) == Verdict::Answered {
                        // Not for the engine: what came before goes, this one is dropped.
                        engine.write_all(&buf[..good]).await?;
                        buf.advance(good + f.len());
                        good = 0;
                        continue;
                    }
                    if qos2 {
                        // Sent on as QoS 1 (same body): flags bits 1-2 = 01.
                        buf[good] = (buf[good] & !0x06) | 0x02;
                    }
                    good += f.len();
                }
                Ok(Some(f)) => break Ok(f.len() - (buf.len() - good)),
                Ok(None) => break Ok(5),
                Err(FrameError::Oversized(n)) => {
                    break Err(refused(Refusal::Oversized, format!("packet of {n} bytes")));
                }
                Err(FrameError::Malformed(m)) => break Err(refused(Refusal::Malformed, m)),
            }
        };
        if good > 0 {
            engine.write_all(&buf[..good]).await?;
            buf.advance(good);
        }
        let want = verdict?;
        if let Err(End::Gone) = fill(&mut client, &mut buf, want).await {
            // EOF (mid-packet or not): pass the close on.
            let _ = engine.shutdown().await;
            return Ok(());
        }
    }
}

/// The ACL and shape checks of one client packet.
fn police<'a>(first: u8, body: &'a [u8], grants: &Grants) -> Result<ClientPacket<'a>, End> {
    let p = parse_client_packet(first, body).map_err(|m| refused(Refusal::Malformed, m))?;
    match &p {
        ClientPacket::Publish(publish) => {
            let topic = publish.topic;
            if topic.len() > MAX_NAME_BYTES {
                return Err(refused(
                    Refusal::PublishDenied,
                    format!("topic of {} bytes: at most {MAX_NAME_BYTES}", topic.len()),
                ));
            } else if !grants.may_publish(topic) {
                return Err(refused(
                    Refusal::PublishDenied,
                    format!("publish to {topic:?}"),
                ));
            } else if publish.retain && !grants.may_retain() {
                return Err(refused(
                    Refusal::RetainDenied,
                    format!("retained publish to {topic:?}"),
                ));
            }
        }
        ClientPacket::Subscribe(_, filters) => {
            if let Some((f, _)) = filters
                .iter()
                .find(|(f, _)| f.len() > MAX_NAME_BYTES || !grants.may_subscribe(f))
            {
                return Err(refused(
                    Refusal::SubscribeDenied,
                    format!("subscribe to {f:?}"),
                ));
            }
        }
        _ => {}
    }
    Ok(p)
}

/// Relay what the engine sends to the client, holding the PUBACKs of held publishes until
/// they are settled.
pub(crate) async fn engine_to_client(
    engine: &mut (impl AsyncRead + Unpin),
    client: &mut (impl AsyncWrite + Unpin),
    relay: &Relay,
) -> io::Result<Result<(), Lost>> {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        let settled = relay.bell.notified();
        tokio::pin!(settled);
        settled.as_mut().enable();
        tokio::select! {
            n = engine.read_buf(&mut buf) => {
                if n? == 0 {
                    return Ok(Ok(()));
                }
                while let Ok(Some(f)) = frame(&buf, usize::MAX)
                    && buf.len() >= f.len()
                {
                    relay.engine_sent(f.first, &buf[..f.len()], &buf[f.header_len..f.len()], &mut out);
                    buf.advance(f.len());
                }
                if buf.capacity() - buf.len() < 4096 {
                    buf.reserve(16 * 1024);
                }
            }
            () = &mut settled => {}
        }
        let released = relay.release(&mut out);
        if !out.is_empty() {
            client.write_all(&out).await?;
            // TLS records go out now, not when the next bytes come (a no-op on plain TCP).
            client.flush().await?;
            out.clear();
        }
        if let Err(lost) = released {
            return Ok(Err(lost));
        }
    }
}
