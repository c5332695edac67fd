//! fenliu-api: the HTTP API v1 of fenliu on actix-web.
//!
//! # Layout
//!
//! - [`startup`]: [`Application`] builds the server on its own listener
//!   (port 0 in tests) and runs it until a shutdown future resolves.
//! - [`routes`]: one module per resource; each handler declares its path,
//!   who may call it, what it reads and what it answers, once, in its
//!   `#[utoipa::path]`.
//! - [`openapi`]: the document derived from the routes, served at
//!   `/v1/openapi.json`, and what the server reads from it (grants, `Allow`).
//! - [`auth`]: HS256 JWTs, roles, and the caller, verified once per request.
//! - [`access`]: the [`access::Access`] extractor: the typed path and input of
//!   a caller the route's grant lets in.
//! - [`paths`], [`input`]: typed path parameters; optional fields that refuse
//!   `null`, bounded numbers.
//! - [`views`], [`settings`]: the JSON shapes answered (and the routing
//!   settings, read and answered).
//! - [`schema`]: how the core's ids and enums look in the document.
//! - [`error`]: the [`error::Code`] table and the one place errors become
//!   answers.
//! - [`forward`]: passing requests for a shop to the node that owns it.
//! - [`observe`]: request spans and ids, request logs and metrics.

pub mod access;
pub mod auth;
pub mod error;
pub mod forward;
pub mod input;
pub mod observe;
pub mod openapi;
pub mod paths;
pub mod presence;
pub mod routes;
pub mod schema;
pub mod settings;
pub mod startup;
pub mod views;

pub use startup::{AppConfig, Application};
