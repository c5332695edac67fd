//! fenliu-api: the HTTP API v1 of fenliu on actix-web.
//!
//! # Layout
//!
//! - [`startup`]: [`Application`] builds the server on its own listener
//!   (port 0 in tests) and runs it until a shutdown future resolves.
//! - [`auth`]: HS256 JWTs, roles and the [`auth::Caller`] extractor.
//! - [`forward`]: passing requests for a shop to the node that owns it.
//! - [`error`]: the one place that maps every error to a status and body.
//! - [`views`]: the JSON shapes of agents, conversations and the rest.
//! - [`routes`]: one module per resource of the API table.
//! - [`openapi`]: the OpenAPI document served at `/v1/openapi.json`.

pub mod auth;
pub mod error;
pub mod forward;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod views;

pub use startup::{AppConfig, Application};
