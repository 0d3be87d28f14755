//! wasmctl's operations: building, componentizing and validating, templates, registries,
//! Kubernetes, the settings of deploying (flag, then manifest, then default), watching; free
//! of clap and the terminal.
//!
//! The `wasmctl` binary (package `wasmctl-cli`: `main.rs`, `commands/`, `ui.rs`) parses
//! arguments, calls into these modules, and owns all presentation. The manifest and its
//! rules live in `wasmctl-manifest`, re-exported here under the same paths.

// Each public item is API for the next crate: say what it is for.
#![warn(missing_docs)]

pub mod build;
pub mod component;
pub mod deploy;
pub mod dirs;
pub mod environment;
pub mod files;
pub mod fs_tree;
pub mod hint;
pub mod interrupt;
pub mod kube;
pub mod process;
pub mod registry;
pub mod templates;
pub mod validated;
pub mod variables;
pub mod watch;

pub use wasmctl_manifest::{diagnostic, limits, manifest, names, runtime_config};
