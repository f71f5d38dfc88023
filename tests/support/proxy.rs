//! A real CONNECT proxy on 127.0.0.1 for tests: records each request head it
//! receives, can require credentials (407 otherwise), and tunnels bytes both
//! ways. Every target host name is taken to mean 127.0.0.1 (a stand-in DNS
//! that only knows loopback), so a test can use names such as
//! `api.cresta.test` that no resolver outside the proxy knows.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request head as the proxy saw it.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    pub method: String,
    /// `host:port` for CONNECT.
    pub target: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    /// The status the proxy answered.
    pub status: u16,
}

impl ProxyRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    requests: Vec<ProxyRequest>,
    /// `Proxy-Authorization` value required, if any.
    required: Option<String>,
    /// Answer every CONNECT with this status instead of tunnelling.
    refuse_with: Option<u16>,
}

/// A running proxy; it lives until the process ends.
#[derive(Clone)]
pub struct ConnectProxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl ConnectProxy {
    /// A proxy that lets anyone through.
    pub fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || handle(stream, &shared));
            }
        });
        ConnectProxy { addr, state }
    }

    /// A proxy that answers 407 unless `Proxy-Authorization: Basic
    /// base64(user:password)` comes with the CONNECT.
    pub fn with_credentials(user: &str, password: &str) -> ConnectProxy {
        let p = Self::start();
        p.state.lock().unwrap().required = Some(format!(
            "Basic {}",
            super::cresta::base64(&format!("{user}:{password}"))
        ));
        p
    }

    /// From now on, answer every CONNECT with `status`.
    pub fn refuse_with(&self, status: u16) {
        self.state.lock().unwrap().refuse_with = Some(status);
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://user:password@127.0.0.1:PORT`, password %-encoded as given.
    pub fn url_with(&self, userinfo: &str) -> String {
        format!("http://{userinfo}@{}", self.addr)
    }

    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn handle(client: TcpStream, state: &Mutex<State>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut request = ProxyRequest {
        method,
        target,
        headers,
        status: 0,
    };
    let (required, refuse_with) = {
        let s = state.lock().unwrap();
        (s.required.clone(), s.refuse_with)
    };
    let status = if request.method != "CONNECT" {
        405
    } else if required.is_some() && request.header("proxy-authorization") != required.as_deref() {
        407
    } else {
        refuse_with.unwrap_or(200)
    };
    let upstream = if status == 200 {
        // Any host name means loopback here; the port is the target's.
        let port = request
            .target
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok());
        port.and_then(|p| TcpStream::connect(("127.0.0.1", p)).ok())
    } else {
        None
    };
    request.status = if status == 200 && upstream.is_none() {
        502
    } else {
        status
    };
    let answer = match request.status {
        200 => "HTTP/1.1 200 Connection established\r\n\r\n".to_string(),
        407 => "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n".to_string(),
        s => format!("HTTP/1.1 {s} Refused\r\nContent-Length: 0\r\n\r\n"),
    };
    state.lock().unwrap().requests.push(request);
    let mut client_w = client;
    if client_w.write_all(answer.as_bytes()).is_err() {
        return;
    }
    let Some(upstream) = upstream else {
        let _ = client_w.shutdown(Shutdown::Both);
        return;
    };
    // Bytes the client sent after the head are still in `reader`.
    let buffered = reader.buffer().to_vec();
    let mut up_w = upstream.try_clone().unwrap();
    if up_w.write_all(&buffered).is_err() {
        return;
    }
    let mut up_r = upstream;
    let mut client_r = reader.into_inner();
    let _ = client_r.set_read_timeout(None);
    let down = std::thread::spawn(move || {
        pump(&mut up_r, &mut client_w);
    });
    pump(&mut client_r, &mut up_w);
    let _ = down.join();
}

fn pump(from: &mut TcpStream, to: &mut TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
