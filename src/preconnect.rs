//! Parallel connection set-up. A cold invocation needs up to three new
//! connections (Secrets Manager, the token host, the API host) and would
//! open them one after the other, each costing its DNS, TCP and TLS round
//! trips in turn. [`Preconnector::open`] starts them all at once on helper
//! threads with the agent's own connector chain; the [`Preconnect`] layer,
//! first in that chain, hands a pre-opened connection to the request that
//! asks for its host instead of opening another one (waiting for one still
//! being opened, within the request's timeout).
//!
//! Nothing here can fail a request: a connection that could not be opened is
//! forgotten and the request connects as usual (its failure, if any, is the
//! normal one); one that finishes after nobody wanted it waits in a small
//! stash until it is used or too old. No thread is ever waited for without a
//! bound.
//!
//! It works over ureq's semver-exempt `unversioned::transport` API:
//! Cargo.lock pins ureq, and an upgrade must re-check it.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::Resolver;
use ureq::unversioned::transport::time::{Duration as UDuration, Instant as UInstant};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// At most this many pre-opened connections exist at once (pending or ready).
const MAX_SLOTS: usize = 8;
/// The longest a request waits for a pending connection when it has no
/// timeout of its own (ours always have one).
const MAX_WAIT: Duration = Duration::from_secs(30);
/// A TLS connection opened this recently is handed over without the probe
/// for a closed connection: the server has had no time to close it.
const FRESH: Duration = Duration::from_secs(1);
/// How long an older pre-opened TLS connection is read to absorb what the
/// server sent after the handshake (see [`still_open`]). The kernel rounds
/// a socket read timeout up to its scheduler tick, so this costs 4 to 7 ms
/// in practice (measured on the build machine), once, for a connection
/// older than [`FRESH`] only.
const TLS_PEEK: Duration = Duration::from_millis(1);

type Inner = dyn Connector<(), Out = Box<dyn Transport>>;

/// Which requests a connection can serve: scheme and authority of the
/// target, and the proxy in use (ureq's own pool key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Key {
    origin: String,
    proxy: Option<ureq::Proxy>,
}

impl Key {
    fn new(uri: &Uri, config: &Config) -> Option<Key> {
        let scheme = uri.scheme_str()?;
        let authority = uri.authority()?;
        Some(Key {
            origin: format!("{scheme}://{authority}"),
            proxy: config.proxy().cloned(),
        })
    }
}

#[derive(Debug)]
enum Conn {
    Pending,
    Ready(Box<dyn Transport>, Opened),
    /// The opening failed: the next request for the host gets this error,
    /// as it would have got it connecting by itself (a certificate failure
    /// is then met once, not twice), until the deadline it was opened for.
    Failed(ureq::Error, Instant),
}

/// When a stashed connection was ready, how long opening it took, and
/// whether what the server sent after a TLS handshake has been read.
#[derive(Debug, Clone, Copy)]
struct Opened {
    at: Instant,
    took: Duration,
    settled: bool,
}

#[derive(Debug)]
struct Slot {
    key: Key,
    conn: Conn,
}

/// A connection the agent made, alive while the transport is (in use or
/// idle in ureq's pool), with the time it last sent something.
#[derive(Debug)]
struct Mark {
    last_use: Mutex<Instant>,
}

#[derive(Debug, Default)]
struct State {
    slots: Vec<Slot>,
    live: Vec<(Key, Weak<Mark>)>,
}

#[derive(Debug)]
struct Shared {
    inner: Arc<Inner>,
    /// The agent's own resolver: a proxied target is left for the proxy.
    resolver: Box<dyn Resolver>,
    /// Connections idle longer than this are not reused (the pool's limit).
    idle_limit: Duration,
    state: Mutex<State>,
    changed: Condvar,
}

/// The connector layer; put it first, over the whole inner chain.
#[derive(Debug)]
pub struct Preconnect {
    shared: Arc<Shared>,
}

/// The handle that starts connections; cheap to clone.
#[derive(Debug, Clone)]
pub struct Preconnector {
    shared: Arc<Shared>,
}

/// Wraps `inner` (the agent's whole connector chain: proxy, TCP, TLS) in
/// the layer, and returns it with the handle that feeds it. `idle_limit` is
/// the agent's `max_idle_age`: a connection unused for longer is not reused.
pub fn layer<C, R>(inner: C, resolver: R, idle_limit: Duration) -> (Preconnect, Preconnector)
where
    C: Connector<()>,
    R: Resolver,
{
    let shared = Arc::new(Shared {
        inner: Arc::new(Boxing(inner)),
        resolver: Box::new(resolver),
        idle_limit,
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
    });
    (
        Preconnect {
            shared: shared.clone(),
        },
        Preconnector { shared },
    )
}

impl Preconnector {
    /// Starts opening a connection to each URL's host that has neither a
    /// recently used connection nor one being opened, giving up at
    /// `deadline`. Returns how many were started. Never blocks on the network.
    pub fn open(&self, urls: &[&str], config: &Config, deadline: Instant) -> usize {
        let mut started = 0;
        if deadline <= Instant::now() {
            return 0;
        }
        for url in urls {
            let Ok(uri) = url.parse::<Uri>() else {
                continue;
            };
            let Some(key) = Key::new(&uri, config) else {
                continue;
            };
            if !self.claim(&key) {
                continue;
            }
            let (shared, config, claimed) = (self.shared.clone(), config.clone(), key.clone());
            let spawned = std::thread::Builder::new()
                .name("preconnect".into())
                .spawn(move || {
                    let began = Instant::now();
                    let result = connect(&shared, &uri, &config, deadline);
                    shared.finish(&claimed, result, deadline, began);
                });
            match spawned {
                Ok(_) => started += 1,
                Err(_) => self.shared.finish(&key, Ok(None), deadline, Instant::now()),
            }
        }
        started
    }

    /// Waits until no connection is being opened any more, or until `until`.
    /// Init calls it: Lambda may freeze the process once it asks for an
    /// event, and a half-open connection would then wait for the first call.
    ///
    /// Then it reads, on each TLS connection opened ahead, what a TLS 1.3
    /// server sends after the handshake (its session tickets, about one round
    /// trip after the handshake ends, i.e. half the time opening took), so
    /// that a request seconds later can take the connection after the cheap
    /// probe for a closed connection instead of reading for a moment itself
    /// (see [`still_open`]): init pays this, not the first event.
    pub fn settle(&self, until: Instant) {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.slots.iter().any(|s| matches!(s.conn, Conn::Pending)) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let mut unsettled = Vec::new();
        let mut i = 0;
        while i < state.slots.len() {
            if matches!(state.slots[i].conn, Conn::Ready(_, o) if !o.settled) {
                unsettled.push(state.slots.remove(i));
            } else {
                i += 1;
            }
        }
        // Reading may wait a little: not under the lock.
        drop(state);
        for slot in unsettled {
            let Conn::Ready(mut t, mut o) = slot.conn else {
                continue;
            };
            let tickets_by = o.at + o.took / 2;
            let wait = tickets_by
                .min(until)
                .saturating_duration_since(Instant::now());
            if still_open(&mut t, wait) {
                o.settled = true;
                let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
                state.slots.push(Slot {
                    key: slot.key,
                    conn: Conn::Ready(t, o),
                });
            }
        }
    }

    /// Reserves a slot for `key` unless a fresh connection exists or one is
    /// already being opened, or the slots are full.
    fn claim(&self, key: &Key) -> bool {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.purge(&mut state);
        let now = Instant::now();
        let live = state.live.iter().any(|(k, mark)| {
            k == key
                && mark.upgrade().is_some_and(|m| {
                    now.duration_since(*m.last_use.lock().unwrap_or_else(|e| e.into_inner()))
                        < self.shared.idle_limit
                })
        });
        // A failure recorded earlier is replaced by this new attempt.
        state
            .slots
            .retain(|s| !(&s.key == key && matches!(s.conn, Conn::Failed(..))));
        let slotted = state.slots.iter().any(|s| &s.key == key);
        if live || slotted || state.slots.len() >= MAX_SLOTS {
            return false;
        }
        state.slots.push(Slot {
            key: key.clone(),
            conn: Conn::Pending,
        });
        true
    }
}

impl Shared {
    /// Records the outcome of an opening: a connection is stashed for the
    /// next request to its host, and so is a failure (until `deadline`);
    /// nothing to record (no URL to connect to) frees the slot.
    fn finish(
        &self,
        key: &Key,
        result: Result<Option<Box<dyn Transport>>, ureq::Error>,
        deadline: Instant,
        began: Instant,
    ) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let i = state
            .slots
            .iter()
            .position(|s| &s.key == key && matches!(s.conn, Conn::Pending));
        if let Some(i) = i {
            match result {
                Ok(Some(t)) => {
                    let opened = Opened {
                        at: Instant::now(),
                        took: began.elapsed(),
                        settled: !t.is_tls(),
                    };
                    state.slots[i].conn = Conn::Ready(t, opened);
                }
                Err(e) => state.slots[i].conn = Conn::Failed(e, deadline),
                Ok(None) => {
                    state.slots.remove(i);
                }
            }
        }
        self.changed.notify_all();
    }

    /// Takes the pre-opened connection for `key` (or the error opening it
    /// met), waiting for a pending one until `until`. `None`: the caller
    /// connects by itself.
    fn take(&self, key: &Key, until: Instant) -> Option<Result<Box<dyn Transport>, ureq::Error>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            self.purge(&mut state);
            let i = state.slots.iter().position(|s| &s.key == key)?;
            if !matches!(state.slots[i].conn, Conn::Pending) {
                let conn = state.slots.remove(i).conn;
                // The check below may read for a moment: not under the lock.
                drop(state);
                return match conn {
                    Conn::Failed(e, _) => Some(Err(e)),
                    // A TLS connection just opened: the server has had no
                    // time to close it, use it as it is.
                    Conn::Ready(t, o) if !o.settled && o.at.elapsed() < FRESH => Some(Ok(t)),
                    // The server may have closed it meanwhile: then connect anew.
                    Conn::Ready(mut t, o) if o.settled => t.is_open().then_some(Ok(t)),
                    Conn::Ready(mut t, _) => still_open(&mut t, TLS_PEEK).then_some(Ok(t)),
                    Conn::Pending => unreachable!("checked just above"),
                };
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Drops stashed connections older than the idle limit and dead marks.
    fn purge(&self, state: &mut State) {
        let limit = self.idle_limit;
        state.slots.retain(|s| match &s.conn {
            Conn::Ready(_, o) => o.at.elapsed() < limit,
            Conn::Failed(_, until) => Instant::now() < *until,
            Conn::Pending => true,
        });
        state.live.retain(|(_, m)| m.strong_count() > 0);
    }

    /// Wraps a transport the agent will use so its host counts as connected.
    fn track(&self, key: Key, transport: Box<dyn Transport>) -> Tracked {
        let mark = Arc::new(Mark {
            last_use: Mutex::new(Instant::now()),
        });
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.purge(&mut state);
        state.live.push((key, Arc::downgrade(&mark)));
        Tracked { transport, mark }
    }
}

impl Connector<()> for Preconnect {
    type Out = Tracked;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Tracked>, ureq::Error> {
        let Some(key) = Key::new(details.uri, details.config) else {
            // Not a URL ureq would connect to: let the chain say so.
            let t = self.shared.inner.connect(details, None)?;
            return Ok(t.map(|t| self.shared.track(Key::default(), t)));
        };
        let wait = (*details.timeout.after).min(MAX_WAIT);
        match self.shared.take(&key, Instant::now() + wait) {
            Some(Ok(t)) => {
                crate::debug!("using the pre-opened connection to {}", key.origin);
                return Ok(Some(self.shared.track(key, t)));
            }
            Some(Err(e)) => {
                crate::debug!("opening ahead to {} had failed: {e}", key.origin);
                return Err(e);
            }
            None => {}
        }
        let transport = self.shared.inner.connect(details, None)?;
        Ok(transport.map(|t| self.shared.track(key, t)))
    }
}

/// Whether a stashed connection, never used, can still carry a request.
/// A TLS one is read through TLS for [`TLS_PEEK`] rather than probed: a
/// TLS 1.3 server sends its session tickets right after the handshake and
/// nobody has read them yet, so the TCP probe (`is_open`, which reads one
/// raw byte) would take them for stray bytes and drop a good connection;
/// rustls absorbs them instead. Only a close, an error or data nobody asked
/// for means the connection is gone; waiting in vain is the healthy case.
fn still_open(t: &mut Box<dyn Transport>, wait: Duration) -> bool {
    if !t.is_tls() {
        return t.is_open();
    }
    let peek = NextTimeout {
        after: UDuration::Exact(wait.max(TLS_PEEK)),
        reason: ureq::Timeout::RecvResponse,
        per_read: None,
        per_write: None,
    };
    matches!(t.await_input(peek), Err(ureq::Error::Timeout(_)))
}

/// Opens one connection through the inner chain, as ureq's own connect
/// would (the agent's resolver, the same configuration).
fn connect(
    shared: &Shared,
    uri: &Uri,
    config: &Config,
    deadline: Instant,
) -> Result<Option<Box<dyn Transport>>, ureq::Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Ok(None);
    }
    let (inner, resolver) = (&shared.inner, &*shared.resolver);
    // On this helper thread a lookup may block: it holds up nobody.
    let addrs = resolver.resolve(uri, config, NextTimeout::default())?;
    let chain = inner.clone();
    let details = ConnectionDetails {
        uri,
        addrs,
        resolver,
        config,
        request_level: false,
        now: UInstant::now(),
        timeout: NextTimeout {
            after: UDuration::Exact(deadline.saturating_duration_since(Instant::now())),
            reason: ureq::Timeout::Connect,
            per_read: None,
            per_write: None,
        },
        current_time: Arc::new(UInstant::now),
        run_connector: Arc::new(move |d: &ConnectionDetails| {
            chain.connect(d, None)?.ok_or(ureq::Error::ConnectionFailed)
        }),
        register_shutdown: Arc::new(|_| Ok(())),
    };
    inner.connect(&details, None)
}

/// The inner chain with its transport boxed, whatever its type.
#[derive(Debug)]
struct Boxing<C>(C);

impl<C: Connector<()>> Connector<()> for Boxing<C> {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Box<dyn Transport>>, ureq::Error> {
        Ok(self
            .0
            .connect(details, chained)?
            .map(|t| Box::new(t) as Box<dyn Transport>))
    }
}

/// A transport of the agent's, marking its host as connected while it lives.
#[derive(Debug)]
pub struct Tracked {
    transport: Box<dyn Transport>,
    mark: Arc<Mark>,
}

impl Transport for Tracked {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.transport.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        *self.mark.last_use.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.transport.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.transport.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.transport.is_open()
    }

    fn is_tls(&self) -> bool {
        self.transport.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use ureq::unversioned::resolver::DefaultResolver;

    /// A keep-alive server on 127.0.0.1 answering `ok` to every request;
    /// counts the connections it accepted. With `close_first`, it closes
    /// the first connection at once, unanswered.
    fn server(close_first: bool) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let Ok(stream) = stream else { continue };
                if close_first && n == 0 {
                    drop(stream);
                    continue;
                }
                std::thread::spawn(move || answer_all(stream));
            }
        });
        (url, accepted)
    }

    /// As [`server`], over TLS 1.3 with a leaf for 127.0.0.1 signed by a CA
    /// made here; returns the CA certificate (DER) too. rustls sends session
    /// tickets right after the handshake, as TLS 1.3 servers commonly do.
    fn tls_server() -> (String, Arc<AtomicUsize>, Vec<u8>) {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
            )
            .unwrap();
        assert!(config.send_tls13_tickets > 0);
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(stream) = stream else { continue };
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                std::thread::spawn(move || answer_all(rustls::StreamOwned::new(conn, stream)));
            }
        });
        (url, accepted, ca.der().to_vec())
    }

    fn answer_all(mut stream: impl Read + Write) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let Ok(n) = stream.read(&mut buf) else { return };
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                seen.drain(..end + 4);
                let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                if stream.write_all(reply).is_err() {
                    return;
                }
            }
        }
    }

    fn agent() -> (ureq::Agent, Preconnector) {
        agent_over(ureq::unversioned::transport::DefaultConnector::new())
    }

    /// An agent whose chain is `inner` behind the layer.
    fn agent_over(inner: impl Connector<()>) -> (ureq::Agent, Preconnector) {
        let (connector, pre) = layer(inner, DefaultResolver::default(), Duration::from_secs(60));
        let config = ureq::Agent::config_builder()
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(5)))
            .build();
        let agent = ureq::Agent::with_parts(config, connector, DefaultResolver::default());
        (agent, pre)
    }

    fn get(agent: &ureq::Agent, url: &str) -> String {
        agent
            .get(url)
            .call()
            .expect("request")
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn a_request_takes_the_pre_opened_connection_one_per_host() {
        let (a, accepted_a) = server(false);
        let (b, accepted_b) = server(false);
        let (agent, pre) = agent();
        let urls = [format!("{a}/x"), format!("{b}/y")];
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        assert_eq!(pre.open(&urls, agent.config(), soon()), 2);
        // Asking again while they are pending or ready starts nothing.
        assert_eq!(pre.open(&urls, agent.config(), soon()), 0);
        assert_eq!(get(&agent, &format!("{a}/x")), "ok");
        assert_eq!(get(&agent, &format!("{b}/y")), "ok");
        assert_eq!(get(&agent, &format!("{a}/x")), "ok");
        assert_eq!(accepted_a.load(Ordering::SeqCst), 1);
        assert_eq!(accepted_b.load(Ordering::SeqCst), 1);
    }

    /// The default chain, slowed down: each connection takes 200 ms to open.
    #[derive(Debug)]
    struct Slow(ureq::unversioned::transport::DefaultConnector);

    impl Connector<()> for Slow {
        type Out = Box<dyn Transport>;

        fn connect(
            &self,
            details: &ConnectionDetails,
            chained: Option<()>,
        ) -> Result<Option<Box<dyn Transport>>, ureq::Error> {
            std::thread::sleep(Duration::from_millis(200));
            self.0.connect(details, chained)
        }
    }

    #[test]
    fn a_request_waits_for_the_connection_being_opened_for_its_host() {
        let (a, accepted) = server(false);
        let (agent, pre) = agent_over(Slow(ureq::unversioned::transport::DefaultConnector::new()));
        assert_eq!(pre.open(&[&a], agent.config(), soon()), 1);
        // Still pending: the request takes it when ready instead of opening its own.
        assert_eq!(get(&agent, &a), "ok");
        // Had it opened its own, the server would see a second one by now.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_host_with_a_live_connection_is_not_opened_again() {
        let (a, accepted) = server(false);
        let (agent, pre) = agent();
        assert_eq!(get(&agent, &a), "ok");
        assert_eq!(pre.open(&[&a], agent.config(), soon()), 0);
        assert_eq!(get(&agent, &a), "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn settle_waits_for_the_openings_and_they_are_then_ready() {
        let (a, _) = server(false);
        let (agent, pre) = agent();
        pre.open(&[&a], agent.config(), soon());
        pre.settle(soon());
        let state = pre.shared.state.lock().unwrap();
        assert!(matches!(state.slots[0].conn, Conn::Ready(..)));
    }

    #[test]
    fn a_pre_opened_connection_the_server_closed_is_replaced() {
        let (a, accepted) = server(true);
        let (agent, pre) = agent();
        pre.open(&[&a], agent.config(), soon());
        pre.settle(soon());
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(get(&agent, &a), "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn an_older_pre_opened_tls_connection_is_used_despite_its_session_tickets() {
        // Settled at init: the tickets were read then, the request only probes.
        older_tls_connection_is_used(true);
        // Not settled (opened during an invocation, used late): the request
        // reads through TLS for a moment itself.
        older_tls_connection_is_used(false);
    }

    fn older_tls_connection_is_used(settle: bool) {
        let (url, accepted, ca) = tls_server();
        let (connector, pre) = layer(
            ureq::unversioned::transport::DefaultConnector::new(),
            DefaultResolver::default(),
            Duration::from_secs(60),
        );
        let roots = vec![ureq::tls::Certificate::from_der(&ca).to_owned()];
        let config = ureq::Agent::config_builder()
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(5)))
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
                    .build(),
            )
            .build();
        let agent = ureq::Agent::with_parts(config, connector, DefaultResolver::default());
        pre.open(&[&url], agent.config(), soon());
        let ready = |settled: bool| {
            pre.shared
                .state
                .lock()
                .unwrap()
                .slots
                .iter()
                .any(|s| matches!(s.conn, Conn::Ready(_, o) if o.settled == settled))
        };
        if settle {
            pre.settle(soon());
            assert!(ready(true), "settle read what the server sent");
        } else {
            let until = soon();
            while !ready(false) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(ready(false), "opened, not settled");
        }
        // Past FRESH: the connection is checked, its unread tickets with it.
        std::thread::sleep(FRESH + Duration::from_millis(200));
        assert_eq!(get(&agent, &url), "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "no second connection");
    }

    #[test]
    fn a_failed_opening_is_the_failure_of_the_request_that_needed_it() {
        // A port nothing listens on: the opening fails once, the request
        // that wanted the host gets that failure instead of a second try,
        // and the next request connects by itself.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let (agent, pre) = agent();
        assert_eq!(pre.open(&[&url], agent.config(), soon()), 1);
        pre.settle(soon());
        assert!(matches!(
            pre.shared.state.lock().unwrap().slots[0].conn,
            Conn::Failed(..)
        ));
        assert!(agent.get(&url).call().is_err());
        assert!(pre.shared.state.lock().unwrap().slots.is_empty());
        assert!(agent.get(&url).call().is_err());
    }

    #[test]
    fn nothing_is_opened_past_the_deadline_or_for_a_bad_url() {
        let (a, accepted) = server(false);
        let (agent, pre) = agent();
        assert_eq!(pre.open(&[&a], agent.config(), Instant::now()), 0);
        assert_eq!(
            pre.open(&["not a url", "/relative"], agent.config(), soon()),
            0
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
    }
}
