//! A round-trip emulator: a TCP forwarder on 127.0.0.1 in front of a
//! stand-in, so loopback behaves like a host `rtt` away. The kernel's netem
//! is not available on the build machines, so this is done in user space.
//!
//! Each direction is delayed by `rtt / 2`, and the client's first bytes are
//! held until `1.5 * rtt` after the connection was accepted: on a real
//! network a client can only send once the SYN / SYN-ACK round trip is done,
//! and its bytes then take half a round trip to arrive. So a request on a new
//! connection costs 2 round trips, one on a kept-alive connection 1, and a TLS
//! handshake its real number of round trips (the forwarder is byte-level).
//!
//! Like a load balancer it can close connections idle for longer than a
//! limit (the client sees the FIN half a round trip later).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running forwarder; it lives until the process ends.
#[derive(Clone)]
pub struct Latency {
    pub addr: SocketAddr,
    pub rtt: Duration,
    accepted: Arc<AtomicUsize>,
    idle_closed: Arc<AtomicUsize>,
}

/// A chunk of bytes and when it may be delivered; empty means "close".
type Chunk = (Instant, Vec<u8>);

impl Latency {
    /// Forwards to `upstream` with this round-trip time; never closes idle
    /// connections itself.
    pub fn start(upstream: SocketAddr, rtt: Duration) -> Latency {
        Self::start_with(upstream, rtt, None)
    }

    /// As [`Latency::start`], closing connections idle for `idle_close`.
    pub fn start_with(
        upstream: SocketAddr,
        rtt: Duration,
        idle_close: Option<Duration>,
    ) -> Latency {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let idle_closed = Arc::new(AtomicUsize::new(0));
        let (count, closed) = (accepted.clone(), idle_closed.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let at = Instant::now();
                count.fetch_add(1, Ordering::SeqCst);
                let closed = closed.clone();
                std::thread::spawn(move || forward(client, upstream, at, rtt, idle_close, &closed));
            }
        });
        Latency {
            addr,
            rtt,
            accepted,
            idle_closed,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections closed so far for being idle.
    pub fn idle_closed(&self) -> usize {
        self.idle_closed.load(Ordering::SeqCst)
    }
}

fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    accepted_at: Instant,
    rtt: Duration,
    idle_close: Option<Duration>,
    idle_closed: &AtomicUsize,
) {
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let half = rtt / 2;
    let activity = Arc::new(Mutex::new(Instant::now()));
    let (to_server, from_client) = channel::<Chunk>();
    let (to_client, from_server) = channel::<Chunk>();
    let hold = accepted_at + rtt + half;
    pump_in(
        clone(&client),
        to_server,
        half,
        Some(hold),
        activity.clone(),
    );
    pump_in(
        clone(&server),
        to_client.clone(),
        half,
        None,
        activity.clone(),
    );
    pump_out(from_client, clone(&server), clone(&client));
    pump_out(from_server, clone(&client), clone(&server));
    let Some(limit) = idle_close else { return };
    // Both readers gone (they hold the other references): nothing to watch.
    while Arc::strong_count(&activity) > 1 {
        let last = *activity.lock().unwrap();
        let due = last + limit;
        let now = Instant::now();
        if now < due {
            std::thread::sleep((due - now).min(Duration::from_secs(1)));
            continue;
        }
        // Idle too long: the client gets a FIN half a round trip from now,
        // and the stand-in's side closes at once.
        idle_closed.fetch_add(1, Ordering::SeqCst);
        let _ = to_client.send((now + half, Vec::new()));
        let _ = server.shutdown(Shutdown::Both);
        return;
    }
}

fn clone(s: &TcpStream) -> TcpStream {
    s.try_clone().expect("clone a socket")
}

/// Reads `from` and queues each chunk for delivery `half` later (and not
/// before `hold`); queues a close on end of stream or error.
fn pump_in(
    mut from: TcpStream,
    to: Sender<Chunk>,
    half: Duration,
    hold: Option<Instant>,
    activity: Arc<Mutex<Instant>>,
) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = from.read(&mut buf).unwrap_or(0);
            let now = Instant::now();
            let release = hold.map_or(now + half, |h| h.max(now + half));
            *activity.lock().unwrap() = now;
            if to.send((release, buf[..n].to_vec())).is_err() || n == 0 {
                return;
            }
        }
    });
}

/// Delivers queued chunks to `to` when due; on a close, half-closes `to`;
/// on a write error, shuts both sockets.
fn pump_out(from: Receiver<Chunk>, mut to: TcpStream, source: TcpStream) {
    std::thread::spawn(move || {
        for (release, bytes) in from {
            let now = Instant::now();
            if release > now {
                std::thread::sleep(release - now);
            }
            if bytes.is_empty() {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            if to.write_all(&bytes).is_err() {
                let _ = to.shutdown(Shutdown::Both);
                let _ = source.shutdown(Shutdown::Both);
                return;
            }
        }
    });
}
