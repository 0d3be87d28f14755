//! The harness for a real server on 127.0.0.1, shared by the end-to-end tests
//! (`cli/tests/e2e`, `cli/tests/errors`) and `cargo xtask` (`soak`, `bench`), so both start,
//! wait for, measure and stop a server the same way (as cargo's `cargo-test-support` serves
//! cargo's tests).
//!
//! - [`Server`]: a server process with its output captured, killed when dropped; started
//!   as `wasmctl up` (ready once it prints its routes) or as any server on a chosen port
//!   (ready once it answers 200), with its resident memory and open files read from `/proc`.
//! - [`http`]: what talks to it: a port that is free, a raw exchange on one connection,
//!   polling until an answer satisfies, an HTTP client that returns every status.
//! - [`RedisServer`]: a real `redis-server` on a free port, for the key-value tests.
//!
//! Errors are returned, not panicked: xtask reports them; the tests unwrap them.

// Each public item is API for the next crate: say what it is for.
#![warn(missing_docs)]

pub mod http;
mod redis;
mod server;

pub use redis::RedisServer;
pub use server::Server;
