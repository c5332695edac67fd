//! Building and running the HTTP server.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::error::{InternalError, PathError};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer, ResponseError};
use fenliu_node::clock::SystemClock;
use fenliu_node::{Node, NodeConfig};
use fenliu_store::ShopStore;
use tracing::info;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::JwtKeys;
use crate::error::ApiError;
use crate::observe::{observe, RootSpan};
use crate::openapi::{unrouted, Document};
use crate::routes;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How to run the HTTP side of a node.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// The HS256 secret tokens are signed with.
    pub jwt_secret: String,
    /// The node.
    pub node: NodeConfig,
    /// HTTP worker threads.
    pub workers: usize,
}

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    node: Node,
}

/// Refuses a request whose declared body is over [`BODY_LIMIT`] before it is
/// routed. The body extractor enforces the limit on the routes that read a
/// body; this also covers those that take none (`/end`, `/cancel`, …), which
/// would otherwise act and ignore the body.
async fn limit_body(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Ok(req.into_response(ApiError::too_large().error_response()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

impl Application {
    /// Binds the listener and starts the node; call inside an actix system.
    pub async fn build(config: AppConfig, store: Arc<dyn ShopStore>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.listen)?;
        let local = listener.local_addr()?;
        let port = local.port();
        let mut node_config = config.node.clone();
        if node_config.advertise_url.is_empty() {
            node_config.advertise_url = format!("http://{local}");
        }
        let node = Node::start(node_config, store, Arc::new(SystemClock));
        let keys = web::Data::new(JwtKeys::new(config.jwt_secret.as_bytes()));
        let data = web::Data::new(node.clone());
        let document = web::Data::new(Document::build());
        let server = HttpServer::new(move || {
            // Runs on each worker: a shop first asked for here runs here.
            fenliu_node::gateway::host_shops_here();
            App::new()
                .wrap(from_fn(crate::forward::forward))
                .wrap(from_fn(limit_body))
                .wrap(from_fn(observe))
                .wrap(TracingLogger::<RootSpan>::new())
                .app_data(keys.clone())
                .app_data(data.clone())
                .app_data(document.clone())
                .app_data(web::PayloadConfig::default().limit(BODY_LIMIT))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    let api = ApiError::invalid(format!("invalid query: {err}"));
                    InternalError::from_response(err, api.error_response()).into()
                }))
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    // The id's own message: "agent id may only contain …".
                    let api = match &err {
                        PathError::Deserialize(inner) => ApiError::invalid(inner.to_string()),
                        other => ApiError::invalid(format!("invalid path: {other}")),
                    };
                    InternalError::from_response(err, api.error_response()).into()
                }))
                .configure(|cfg| routes::configure(&mut ServiceConfig::new(cfg)))
                .default_service(web::to(unrouted))
        })
        .workers(config.workers.max(1))
        .disable_signals()
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        Ok(Self { port, server, node })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The node behind the server.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Serves until `shutdown` resolves, then drains and stops gracefully.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        let mut server = actix_web::rt::spawn(self.server);
        tokio::select! {
            result = &mut server => {
                self.node.shutdown();
                return result.unwrap_or(Ok(()));
            }
            () = shutdown => {}
        }
        info!("shutting down: draining");
        self.node.drain().await;
        handle.stop(true).await;
        let _ = server.await;
        self.node.shutdown();
        info!("stopped");
        Ok(())
    }
}
