//! A small scripted HTTP/1.1 server on 127.0.0.1 for tests, the demo and the
//! benchmark: one thread per connection, keep-alive, every request recorded,
//! and replies that can misbehave on purpose (resets, stalls, drips). It
//! serves plain HTTP, or HTTPS with a certificate from `super::tls`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A connection as the server sees it: TCP, or TLS over TCP.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the request had been read completely.
    pub at: Instant,
    /// Which connection it came on (counts from 1), to observe keep-alive.
    pub connection: usize,
}

impl Recorded {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (panics in the test if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A normal answer.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without answering.
    Reset,
    /// Announce a body, send part of it, close.
    ResetMidBody,
    /// A chunked body cut off before its last chunk.
    TruncatedChunked,
    /// Send the status line and headers, then nothing for this long.
    StallAfterHeaders(Duration),
    /// Send the body one byte every `interval`.
    Drip { interval: Duration, body: Vec<u8> },
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
    /// The same header twice with different values.
    DuplicateHeaders {
        name: String,
        values: Vec<String>,
        body: Vec<u8>,
    },
}

impl Reply {
    /// A JSON answer with a status.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Status {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Any answer with a content type.
    pub fn raw(status: u16, content_type: &str, body: &[u8]) -> Reply {
        Reply::Status {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.to_vec(),
        }
    }

    /// Adds a header to a `Status` reply.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Status { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A running server; it lives until the process ends.
#[derive(Clone)]
pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    tls: bool,
    connections: Arc<AtomicUsize>,
    handshake_errors: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts serving plain HTTP on an ephemeral loopback port.
    pub fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Server {
        Self::start_with(None, handler)
    }

    /// Starts serving HTTPS with `tls` (see `super::tls::TestPki::server_config`).
    pub fn start_tls(
        tls: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Self::start_with(Some(tls), handler)
    }

    fn start_with(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let server = Server {
            addr,
            requests: Arc::new(Mutex::new(Vec::new())),
            tls: tls.is_some(),
            connections: Arc::new(AtomicUsize::new(0)),
            handshake_errors: Arc::new(Mutex::new(Vec::new())),
        };
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = server.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                let shared = shared.clone();
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    match tls {
                        None => serve(stream, n + 1, &*handler, &shared.requests),
                        Some(config) => match accept_tls(stream, config) {
                            Ok(tls_stream) => serve(tls_stream, n + 1, &*handler, &shared.requests),
                            Err(e) => shared.handshake_errors.lock().unwrap().push(e),
                        },
                    }
                });
            }
        });
        server
    }

    /// `http://127.0.0.1:PORT`, or `https://` when serving TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// TCP connections accepted so far; for a TLS server, each is one
    /// handshake (a client that never retries shows exactly one).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Why handshakes failed, as the server saw it (e.g. the client's alert).
    pub fn handshake_errors(&self) -> Vec<String> {
        self.handshake_errors.lock().unwrap().clone()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests whose path ends with `suffix`.
    pub fn requests_to(&self, suffix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(suffix))
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }
}

/// Completes the server side of a TLS handshake, bounded in time.
fn accept_tls(
    mut tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
) -> Result<rustls::StreamOwned<rustls::ServerConnection, TcpStream>, String> {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let mut conn = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
    }
    let _ = tcp.set_read_timeout(None);
    Ok(rustls::StreamOwned::new(conn, tcp))
}

fn serve(
    stream: impl Stream,
    connection: usize,
    handler: &Handler,
    recorded: &Mutex<Vec<Recorded>>,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(req) = read_request(&mut reader, connection) else {
            return;
        };
        recorded.lock().unwrap().push(req.clone());
        let reply = handler(&req);
        let keep = send(reader.get_mut(), reply);
        if reader.get_mut().flush().is_err() || !keep {
            // Dropping the stream closes the connection.
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<impl Read>, connection: usize) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    let mut header_bytes = 0;
    loop {
        let mut h = String::new();
        let n = reader.read_line(&mut h).ok()?;
        header_bytes += n;
        if n == 0 || header_bytes > 64 * 1024 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body,
        at: Instant::now(),
        connection,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Writes a reply; false when the connection must close afterwards.
fn send(w: &mut dyn Write, reply: Reply) -> bool {
    match reply {
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            w.write_all(head.as_bytes()).is_ok() && w.write_all(&body).is_ok()
        }
        Reply::Reset => false,
        Reply::ResetMidBody => {
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"phone");
            false
        }
        Reply::TruncatedChunked => {
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{\"phone\"\r\n");
            false
        }
        Reply::StallAfterHeaders(d) => {
            let _ = w.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n",
            );
            std::thread::sleep(d);
            false
        }
        Reply::Drip { interval, body } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if w.write_all(head.as_bytes()).is_err() {
                return false;
            }
            for b in body {
                std::thread::sleep(interval);
                if w.write_all(&[b]).is_err() {
                    return false;
                }
            }
            true
        }
        Reply::Delay(d, inner) => {
            std::thread::sleep(d);
            send(w, *inner)
        }
        Reply::DuplicateHeaders { name, values, body } => {
            let mut head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_string();
            for v in values {
                head.push_str(&format!("{name}: {v}\r\n"));
            }
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            w.write_all(head.as_bytes()).is_ok() && w.write_all(&body).is_ok()
        }
    }
}
