//! wasmctl's domain logic: everything the CLI does, free of clap and the terminal.
//!
//! The `wasmctl` binary (`main.rs` and `commands/`) parses arguments, calls into these
//! modules, and owns all presentation.

pub mod build;
pub mod component;
pub mod diagnostic;
pub mod dirs;
pub mod environment;
pub mod fs_tree;
pub mod interrupt;
pub mod kube;
pub mod limits;
pub mod manifest;
pub mod names;
pub mod process;
pub mod registry;
pub mod templates;
pub mod watch;
