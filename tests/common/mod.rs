//! Integration-test harness shared by every test in `tests/`: real Envoy
//! processes on loopback, an echo upstream and a raw HTTP/1.1 client.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod app;
pub mod bench;
pub mod certs;
pub mod collector;
pub mod echo;
pub mod envoy;
pub mod grpc;
pub mod http;
pub mod load;
pub mod mesh;
pub mod support;

pub use echo::Echo;
pub use envoy::{Envoy, Plugin, Started};
pub use http::Request;
