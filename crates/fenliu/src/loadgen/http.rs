//! The load generator's HTTP/1.1 client: the target's address, and one
//! keep-alive connection per task that writes each request from a reused
//! buffer and parses the answer in place (`httparse`), in the task that sent
//! it: no channel to a connection task, no header maps. On loopback most of
//! a client's CPU is the kernel's TCP path, which no client avoids; this
//! keeps the rest small (against the baseline endpoint it sustained about a
//! fifth more than the same loop on hyper's connection API, on a busy
//! machine, so the figure is rough).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A request method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
}

impl Method {
    /// As written in a request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where requests go: a plain-HTTP node or load balancer.
#[derive(Debug)]
pub struct Target {
    /// The resolved address.
    pub addr: SocketAddr,
    /// The `Host` header.
    host: String,
    /// The URL's path without its trailing `/`, put before every request path.
    base_path: String,
    /// The URL as given, for the report.
    pub url: String,
}

impl Target {
    /// Parses `http://host[:port][/base]` and resolves the host.
    pub async fn resolve(url: &str) -> anyhow::Result<Target> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("target {url} is not a plain http:// URL"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        anyhow::ensure!(!authority.is_empty(), "target {url} has no host");
        let bad_port = |p: &str| format!("target {url}: bad port {p}");
        let (host, port) = match authority.strip_prefix('[') {
            // An IPv6 literal: [::1]:8080.
            Some(v6) => {
                let (h, after) = v6
                    .split_once(']')
                    .with_context(|| format!("target {url}: unclosed ["))?;
                match after.strip_prefix(':') {
                    Some(p) => (h, p.parse().with_context(|| bad_port(p))?),
                    None if after.is_empty() => (h, 80),
                    None => anyhow::bail!(bad_port(after)),
                }
            }
            None => match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().with_context(|| bad_port(p))?),
                None => (authority, 80),
            },
        };
        let addr = tokio::net::lookup_host((host, port))
            .await
            .with_context(|| format!("cannot resolve {host}"))?
            .next()
            .with_context(|| format!("{host} resolves to no address"))?;
        Ok(Target {
            addr,
            host: authority.to_owned(),
            base_path: path.trim_end_matches('/').to_owned(),
            url: url.to_owned(),
        })
    }

    /// A target at this loopback address (the baseline server).
    pub fn local(addr: SocketAddr) -> Target {
        Target {
            addr,
            host: addr.to_string(),
            base_path: String::new(),
            url: format!("http://{addr}"),
        }
    }
}

/// One answer: its status and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
}

/// Why a request got no answer.
#[derive(Debug)]
pub struct TransportError(pub String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

fn io(what: &str) -> impl Fn(std::io::Error) -> TransportError + '_ {
    move |e| TransportError(format!("{what}: {e}"))
}

/// Headers of an answer the client reads at most.
const MAX_HEADERS: usize = 64;
/// Largest answer head (status line and headers) read.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest answer body read.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// A connection idle this long is checked for a close by the peer before
/// it is used again (actix closes idle keep-alive connections after 5 s).
const IDLE_CHECK: Duration = Duration::from_millis(500);

/// How an answer's body is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// One keep-alive connection, opened on first use and again after an error
/// or a `Connection: close`.
pub struct Conn {
    target: Arc<Target>,
    timeout: Duration,
    stream: Option<TcpStream>,
    last_used: Instant,
    out: Vec<u8>,
    buf: BytesMut,
}

impl Conn {
    /// A connection to `target` (not opened yet); a request that takes longer
    /// than `timeout` fails.
    pub fn new(target: Arc<Target>, timeout: Duration) -> Conn {
        Conn {
            target,
            timeout,
            stream: None,
            last_used: Instant::now(),
            out: Vec::with_capacity(1024),
            buf: BytesMut::with_capacity(8 * 1024),
        }
    }

    /// Sends one request (`path` below the target's base path) with this
    /// `Authorization` header value and JSON body, and reads the whole
    /// answer. A transport error drops the connection; the next request
    /// opens a new one.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&[u8]>,
        body: Option<&[u8]>,
    ) -> Result<Answer, TransportError> {
        self.write_request(method, path, auth, body);
        let result = match tokio::time::timeout(self.timeout, self.exchange()).await {
            Ok(r) => r,
            Err(_) => Err(TransportError(format!(
                "no answer within {} s",
                self.timeout.as_secs()
            ))),
        };
        match &result {
            Ok((_, keep)) if *keep => self.last_used = Instant::now(),
            _ => self.stream = None,
        }
        result.map(|(answer, _)| answer)
    }

    fn write_request(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&[u8]>,
        body: Option<&[u8]>,
    ) {
        use std::io::Write as _;
        let out = &mut self.out;
        out.clear();
        let _ = write!(
            out,
            "{} {}{path} HTTP/1.1\r\nHost: {}\r\n",
            method.as_str(),
            self.target.base_path,
            self.target.host
        );
        if let Some(auth) = auth {
            out.extend_from_slice(b"Authorization: ");
            out.extend_from_slice(auth);
            out.extend_from_slice(b"\r\n");
        }
        match body {
            Some(body) => {
                let _ = write!(
                    out,
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                out.extend_from_slice(body);
            }
            None if method == Method::Get => out.extend_from_slice(b"\r\n"),
            None => out.extend_from_slice(b"Content-Length: 0\r\n\r\n"),
        }
    }

    /// Whether the idle connection was closed by the peer meanwhile (an
    /// answer is always read whole, so anything readable now is the close).
    fn closed_while_idle(&self) -> bool {
        let Some(stream) = &self.stream else {
            return true;
        };
        if self.last_used.elapsed() < IDLE_CHECK {
            return false;
        }
        let mut probe = [0u8; 1];
        !matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    /// Writes the request and reads its answer; whether the connection may
    /// be kept.
    async fn exchange(&mut self) -> Result<(Answer, bool), TransportError> {
        if self.closed_while_idle() {
            let stream = TcpStream::connect(self.target.addr)
                .await
                .map_err(io("connect"))?;
            // Requests are small and answered one at a time: Nagle would only delay them.
            let _ = stream.set_nodelay(true);
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().expect("connected above");
        stream.write_all(&self.out).await.map_err(io("write"))?;
        self.buf.clear();
        // The head.
        let (status, framing, mut keep, head_len) = loop {
            if stream.read_buf(&mut self.buf).await.map_err(io("read"))? == 0 {
                return Err(TransportError("connection closed before an answer".into()));
            }
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let status = resp.code.unwrap_or(0);
                    let mut framing = Framing::UntilClose;
                    let mut keep = resp.version == Some(1);
                    for h in resp.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let len = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .ok_or_else(|| TransportError("bad content-length".into()))?;
                            framing = Framing::Length(len);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && h.value.eq_ignore_ascii_case(b"chunked")
                        {
                            framing = Framing::Chunked;
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            keep = !h.value.eq_ignore_ascii_case(b"close");
                        }
                    }
                    // 1xx, 204 and 304 answers have no body.
                    if status < 200 || status == 204 || status == 304 {
                        framing = Framing::Length(0);
                    }
                    break (status, framing, keep, n);
                }
                Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD_BYTES => {}
                Ok(httparse::Status::Partial) => {
                    return Err(TransportError("answer head too large".into()))
                }
                Err(e) => return Err(TransportError(format!("bad answer: {e}"))),
            }
        };
        self.buf.advance(head_len);
        // The body.
        let body = match framing {
            Framing::Length(len) => {
                if len > MAX_BODY_BYTES {
                    return Err(TransportError(format!("answer body of {len} bytes")));
                }
                while self.buf.len() < len {
                    if stream.read_buf(&mut self.buf).await.map_err(io("read"))? == 0 {
                        return Err(TransportError("connection closed in an answer body".into()));
                    }
                }
                self.buf.split_to(len).freeze()
            }
            Framing::UntilClose => {
                while stream.read_buf(&mut self.buf).await.map_err(io("read"))? > 0 {
                    if self.buf.len() > MAX_BODY_BYTES {
                        return Err(TransportError("answer body too large".into()));
                    }
                }
                keep = false;
                self.buf.split().freeze()
            }
            Framing::Chunked => {
                let mut body = BytesMut::new();
                loop {
                    match httparse::parse_chunk_size(&self.buf) {
                        Ok(httparse::Status::Complete((n, size))) => {
                            let size = size as usize;
                            if body.len() + size > MAX_BODY_BYTES {
                                return Err(TransportError("answer body too large".into()));
                            }
                            // The chunk and its CRLF (the last chunk's is the end).
                            while self.buf.len() < n + size + 2 {
                                if stream.read_buf(&mut self.buf).await.map_err(io("read"))? == 0 {
                                    return Err(TransportError(
                                        "connection closed in a chunk".into(),
                                    ));
                                }
                            }
                            self.buf.advance(n);
                            body.extend_from_slice(&self.buf[..size]);
                            self.buf.advance(size + 2);
                            if size == 0 {
                                break;
                            }
                        }
                        Ok(httparse::Status::Partial) => {
                            if stream.read_buf(&mut self.buf).await.map_err(io("read"))? == 0 {
                                return Err(TransportError("connection closed in a chunk".into()));
                            }
                        }
                        Err(_) => return Err(TransportError("bad chunk".into())),
                    }
                }
                body.freeze()
            }
        };
        Ok((Answer { status, body }, keep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_target_url_gives_its_address_host_and_base_path() {
        let t = Target::resolve("http://127.0.0.1:8080/lb/").await.unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            (t.host.as_str(), t.base_path.as_str()),
            ("127.0.0.1:8080", "/lb")
        );
        let t = Target::resolve("http://127.0.0.1").await.unwrap();
        assert_eq!((t.addr.port(), t.base_path.as_str()), (80, ""));
    }

    #[tokio::test]
    async fn only_plain_http_targets_are_accepted() {
        assert!(Target::resolve("https://127.0.0.1:8080").await.is_err());
        assert!(Target::resolve("127.0.0.1:8080").await.is_err());
        assert!(Target::resolve("http://127.0.0.1:http").await.is_err());
    }

    /// A server that answers each of `answers` (raw bytes) to one request of
    /// one connection, then closes it.
    async fn serve(answers: Vec<&'static [u8]>) -> Arc<Target> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            for a in answers {
                let _ = s.read(&mut buf).await.unwrap();
                s.write_all(a).await.unwrap();
            }
        });
        Arc::new(Target::local(addr))
    }

    #[tokio::test]
    async fn answers_by_length_and_by_chunks_are_read_whole_on_one_connection() {
        let target = serve(vec![
            b"HTTP/1.1 201 Created\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{\"b\r\n3\r\n\":2\r\n1\r\n}\r\n0\r\n\r\n",
        ])
        .await;
        let mut conn = Conn::new(target, Duration::from_secs(5));

        let first = conn
            .send(Method::Post, "/x", Some(b"Bearer t"), Some(b"{}"))
            .await
            .unwrap();
        let second = conn.send(Method::Get, "/y", None, None).await.unwrap();

        assert_eq!((first.status, &first.body[..]), (201, &b"{\"a\":1}"[..]));
        assert_eq!((second.status, &second.body[..]), (200, &b"{\"b\":2}"[..]));
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_answer_is_a_transport_error() {
        let target = serve(vec![]).await;
        let mut conn = Conn::new(target, Duration::from_secs(5));

        let err = conn.send(Method::Get, "/", None, None).await.unwrap_err();

        assert!(err.0.contains("closed") || err.0.contains("reset"), "{err}");
    }
}
