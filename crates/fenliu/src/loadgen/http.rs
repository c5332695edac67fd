//! The load generator's HTTP/1.1 client: the target's address, and one
//! keep-alive connection per task on hyper's bare connection API (no pool, no
//! shared client state), so that the client costs as little per request as it
//! can and never becomes what is measured.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go: a plain-HTTP node or load balancer.
#[derive(Debug)]
pub struct Target {
    /// The resolved address.
    pub addr: SocketAddr,
    /// The `Host` header.
    host: HeaderValue,
    /// The URL's path without its trailing `/`, put before every request path.
    base_path: String,
    /// The URL as given, for the report.
    pub url: String,
}

impl Target {
    /// Parses `http://host[:port][/base]` and resolves the host.
    pub async fn resolve(url: &str) -> anyhow::Result<Target> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("target {url} is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => anyhow::bail!("target {url}: scheme {other} is not supported, use http"),
            None => anyhow::bail!("target {url} has no scheme: write http://host:port"),
        }
        let authority = uri
            .authority()
            .with_context(|| format!("target {url} has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((authority.host(), port))
            .await
            .with_context(|| format!("cannot resolve {}", authority.host()))?
            .next()
            .with_context(|| format!("{} resolves to no address", authority.host()))?;
        Ok(Target {
            addr,
            host: HeaderValue::from_str(authority.as_str()).context("bad host")?,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            url: url.to_owned(),
        })
    }

    /// A target at this loopback address (the baseline server).
    pub fn local(addr: SocketAddr) -> Target {
        Target {
            addr,
            host: HeaderValue::from_str(&addr.to_string()).expect("an address is a valid header"),
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

/// One keep-alive connection, opened on first use and again after an error.
pub struct Conn {
    target: Arc<Target>,
    timeout: Duration,
    sender: Option<SendRequest<Full<Bytes>>>,
}

static JSON: HeaderValue = HeaderValue::from_static("application/json");

impl Conn {
    /// A connection to `target` (not opened yet); a request that takes longer
    /// than `timeout` fails.
    pub fn new(target: Arc<Target>, timeout: Duration) -> Conn {
        Conn {
            target,
            timeout,
            sender: None,
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let stream = TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| TransportError(format!("connect: {e}")))?;
        // Requests are small and answered one at a time: Nagle would only delay them.
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| TransportError(format!("handshake: {e}")))?;
        // hyper's connection future does the reads and writes; it ends when
        // the sender is dropped or the peer closes.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends one request (`path` below the target's base path) and reads the
    /// whole answer. A transport error drops the connection; the next request
    /// opens a new one.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&HeaderValue>,
        body: Option<Bytes>,
    ) -> Result<Answer, TransportError> {
        // A connection the peer closed while idle (keep-alive timeout) is
        // replaced before the request, so it costs no failed request.
        let reusable = match self.sender.as_mut() {
            Some(s) => !s.is_closed() && s.ready().await.is_ok(),
            None => false,
        };
        if !reusable {
            self.sender = Some(self.connect().await?);
        }
        let sender = self.sender.as_mut().expect("connected above");
        let uri = if self.target.base_path.is_empty() {
            path.to_owned()
        } else {
            format!("{}{path}", self.target.base_path)
        };
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(HOST, self.target.host.clone());
        if let Some(auth) = auth {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        let has_body = body.is_some();
        if has_body {
            req = req.header(CONTENT_TYPE, JSON.clone());
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| TransportError(format!("request: {e}")))?;
        let exchange = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| TransportError(format!("send: {e}")))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| TransportError(format!("body: {e}")))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        let result = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(TransportError(format!(
                "no answer within {} s",
                self.timeout.as_secs()
            ))),
        };
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}
