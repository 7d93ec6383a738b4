//! A small HTTP/1.1 client for the console tests: one request per connection, cookies
//! kept by the caller. Enough to test what a browser does without a browser.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case (the last value of a repeated header).
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A client for one server, with a session cookie and anti-CSRF token once logged in.
#[derive(Debug, Clone)]
pub struct Client {
    /// The server.
    pub addr: SocketAddr,
    /// `tw_session=...` once logged in.
    pub cookie: Option<String>,
    /// The anti-CSRF token once logged in.
    pub csrf: Option<String>,
    /// The local address to connect from (`None`: the system's choice). Any address in
    /// 127.0.0.0/8 reaches a server on 127.0.0.1, so a test can be a second client host.
    pub source: Option<IpAddr>,
}

impl Client {
    /// A client without a session.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            cookie: None,
            csrf: None,
            source: None,
        }
    }

    /// The same client, connecting from `source` (e.g. `127.0.0.2`).
    pub fn from_source(mut self, source: IpAddr) -> Client {
        self.source = Some(source);
        self
    }

    async fn connect(&self) -> TcpStream {
        let Some(ip) = self.source else {
            return TcpStream::connect(self.addr).await.expect("connect");
        };
        let socket = match ip {
            IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .expect("a socket");
        socket
            .bind(SocketAddr::new(ip, 0))
            .unwrap_or_else(|e| panic!("bind to {ip}: {e}"));
        socket.connect(self.addr).await.expect("connect")
    }

    /// Send one request; `body` is JSON when given.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Response {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.send(method, path, body.into_bytes(), "application/json")
            .await
    }

    /// Send raw bytes (`application/octet-stream`).
    pub async fn request_bytes(&self, method: &str, path: &str, body: Vec<u8>) -> Response {
        self.send(method, path, body, "application/octet-stream")
            .await
    }

    async fn send(&self, method: &str, path: &str, body: Vec<u8>, content_type: &str) -> Response {
        let mut s = self.connect().await;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            req.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        if let Some(c) = &self.cookie {
            req.push_str(&format!("Cookie: {c}\r\n"));
        }
        if let Some(t) = &self.csrf {
            req.push_str(&format!("X-CSRF-Token: {t}\r\n"));
        }
        req.push_str("\r\n");
        let mut req = req.into_bytes();
        req.extend_from_slice(&body);
        s.write_all(&req).await.expect("send");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read");
        parse(&raw)
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Response {
        self.request("GET", path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> Response {
        self.request("POST", path, Some(&body)).await
    }

    /// Log in; panics unless it succeeds. Returns `/api/login`'s answer.
    pub async fn login(&mut self, user: &str, password: &str) -> serde_json::Value {
        let r = self
            .post(
                "/api/login",
                serde_json::json!({"username": user, "password": password}),
            )
            .await;
        assert_eq!(
            r.status,
            200,
            "login {user}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let cookie = r.headers.get("set-cookie").expect("a session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
        let me = r.json();
        self.csrf = Some(me["csrf"].as_str().unwrap().to_owned());
        me
    }

    /// Open the live stream (SSE); returns a reader of events.
    pub async fn live(&self) -> EventStream {
        let mut s = self.connect().await;
        let mut req = format!(
            "GET /api/live HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n",
            self.addr
        );
        if let Some(c) = &self.cookie {
            req.push_str(&format!("Cookie: {c}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.expect("send");
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status).await.expect("status line");
        assert!(status.contains(" 200 "), "live stream: {status}");
        loop {
            let mut h = String::new();
            r.read_line(&mut h).await.expect("headers");
            if h == "\r\n" {
                break;
            }
        }
        EventStream { r }
    }
}

/// Server-sent events, read from a chunked HTTP response.
#[derive(Debug)]
pub struct EventStream {
    r: BufReader<TcpStream>,
}

impl EventStream {
    /// The next event: (name, data). Chunk-size lines are skipped.
    pub async fn next(&mut self) -> (String, String) {
        let mut event = String::new();
        let mut data = String::new();
        loop {
            let mut line = String::new();
            let n = self.r.read_line(&mut line).await.expect("event stream");
            assert!(n > 0, "the event stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(v) = line.strip_prefix("event:") {
                event = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            } else if line.is_empty() && !event.is_empty() {
                return (event, data);
            }
        }
    }

    /// Read until the server ends the stream (the last chunk, or the connection closes);
    /// false if it is still open after `within`. The events read are dropped.
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let end = async {
            loop {
                let mut line = String::new();
                match self.r.read_line(&mut line).await {
                    // Closed, or the last chunk of a chunked body ("0", then an empty line).
                    Ok(0) | Err(_) => return,
                    Ok(_) if line.trim_end_matches(['\r', '\n']) == "0" => return,
                    Ok(_) => {}
                }
            }
        };
        tokio::time::timeout(within, end).await.is_ok()
    }
}

fn parse(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP response");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}

impl Client {
    /// Only the status of a response (for streams that do not end).
    pub async fn status_only(&self, method: &str, path: &str) -> u16 {
        let mut s = self.connect().await;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n",
            self.addr
        );
        if let Some(c) = &self.cookie {
            req.push_str(&format!("Cookie: {c}\r\n"));
        }
        if let Some(t) = &self.csrf {
            req.push_str(&format!("X-CSRF-Token: {t}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.expect("send");
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status).await.expect("status line");
        status
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line")
    }
}
