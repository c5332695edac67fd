//! Black-box tests of the HTTP API v1: each starts a real server on a free
//! port and talks to it over HTTP.

mod smoke;
