//! End-to-end tests: the real `wasmctl` binary, real cargo builds, real servers.
//!
//! One test binary (rather than one per file) so expensive fixtures such as a
//! wasm32-wasip2 build are made once per run and shared (see `support`).

mod add;
mod build;
mod cli;
mod deploy;
mod faults;
mod hostile;
mod install;
mod keyvalue;
mod languages;
mod limits;
mod new;
mod readme;
mod reuse;
mod spin;
mod support;
mod templates;
mod up;
mod variables;
mod wasi03;
mod watch;
