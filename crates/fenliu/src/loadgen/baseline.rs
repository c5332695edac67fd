//! The baseline (`--baseline`): the cheapest actix-web endpoint that parses a
//! small JSON body and answers a small JSON, on one worker on a free loopback
//! port inside the loadgen process, so that the target's throughput can be
//! given as a ratio of what actix-web itself does on the same machine at the
//! same moment.

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;

use actix_web::{dev::ServerHandle, web, App, HttpResponse, HttpServer};
use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The request body: the fields of an inquiry the workloads send.
#[derive(Deserialize)]
struct Inquiry {
    buyer_id: String,
    entry: String,
}

/// The answer: the shape and size of fenliu's answer to an inquiry.
#[derive(Serialize)]
struct Assigned {
    conversation_id: &'static str,
    status: &'static str,
    agent_id: &'static str,
    reason: &'static str,
    offline_delivery: bool,
}

async fn inquiry(body: web::Json<Inquiry>) -> HttpResponse {
    // Read the fields, as a handler would, so parsing is not optimised away.
    let busy = body.buyer_id.is_empty() || body.entry.is_empty();
    HttpResponse::Created().json(Assigned {
        conversation_id: "c-1",
        status: "active",
        agent_id: "a1",
        reason: if busy { "queued" } else { "default" },
        offline_delivery: false,
    })
}

/// The running baseline server.
pub struct Baseline {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Baseline {
    /// Starts it on its own actix system in its own thread, one worker,
    /// `POST /v1/shops/{shop}/inquiries` as its only route.
    pub fn start() -> anyhow::Result<Baseline> {
        let listener = TcpListener::bind("127.0.0.1:0").context("baseline: cannot bind")?;
        let addr = listener.local_addr()?;
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(|| {
                    App::new().route("/v1/shops/{shop}/inquiries", web::post().to(inquiry))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)?
                .run();
                let _ = tx.send(server.handle());
                server.await
            })
        });
        let handle = rx.recv().context("the baseline server did not start")?;
        Ok(Baseline {
            addr,
            handle,
            thread,
        })
    }

    /// Stops it and waits for its thread.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.handle.stop(false).await;
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the baseline server panicked"))?
            .context("baseline server")?;
        Ok(())
    }
}
