//! Black-box tests of the HTTP API v1: each starts a real server on a free
//! port and talks to it over HTTP.

mod helpers;

mod agents;
mod availability;
mod bad_inputs;
mod concurrency;
mod contract;
mod events;
mod explain;
mod export;
mod hours;
mod lifecycle;
mod ops;
mod permissions;
mod presence;
mod queue;
mod ranking;
mod routing;
mod routing_v2;
mod smoke;
