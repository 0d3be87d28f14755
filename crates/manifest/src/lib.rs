//! What a wasmctl app says about itself, and the rules for what users and outsiders may
//! write: the manifest (`wasmctl.toml`) parsed with spans and validated into an `App`,
//! located diagnostics and hints, the one naming rule, and the limits on untrusted input.
//!
//! Free of Wasmtime, the network and the terminal: the fuzz targets build on it, and so
//! does every other crate.

// Each public item is API for the next crate: say what it is for.
#![warn(missing_docs)]

pub mod diagnostic;
pub mod hint;
pub mod limits;
pub mod manifest;
pub mod names;
pub mod runtime_config;
