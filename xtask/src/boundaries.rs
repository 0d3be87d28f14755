//! `cargo xtask boundaries`: the library crates stay free of the terminal. The binary
//! (`wasmctl-cli`) may use clap, dialoguer, console and indicatif; `wasmctl`,
//! `wasmctl-manifest` and `wasmctl-host` may not, not even through a dependency, and
//! the manifest crate (what the fuzz targets build on) has no Wasmtime, hyper or tokio.
//!
//! `wasmctl-test-support` is not one of those libraries: it is test tooling (a
//! dev-dependency of the binary's tests and a dependency of xtask) and may use whatever a
//! test needs. What it must never be is linked into the binary.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::root;

/// Crates that belong to the command line and the terminal.
const TERMINAL: [&str; 6] = [
    "clap",
    "clap_complete",
    "dialoguer",
    "console",
    "indicatif",
    "tracing-subscriber",
];

/// Test tooling: the harness the end-to-end tests and xtask share.
const TEST_SUPPORT: &str = "wasmctl-test-support";

/// Crates the manifest crate must not pull in: the server's.
const SERVER: [&str; 5] = [
    "wasmtime",
    "cranelift-codegen",
    "hyper",
    "tokio",
    "wasmctl-host",
];

pub fn run() -> Result<()> {
    let mut problems = Vec::new();
    for library in ["wasmctl", "wasmctl-manifest", "wasmctl-host"] {
        for found in dependencies(library)?
            .iter()
            .filter(|name| TERMINAL.contains(&name.as_str()))
        {
            problems.push(format!("{library} depends on {found}, a terminal crate"));
        }
    }
    for found in dependencies("wasmctl-manifest")?
        .iter()
        .filter(|name| SERVER.contains(&name.as_str()))
    {
        problems.push(format!(
            "wasmctl-manifest depends on {found}, a server crate"
        ));
    }
    // The binary's normal dependencies are everything linked into it, libraries included.
    if dependencies("wasmctl-cli")?
        .iter()
        .any(|name| name == TEST_SUPPORT)
    {
        problems.push(format!(
            "wasmctl-cli depends on {TEST_SUPPORT}, which is for tests and xtask only (a dev-dependency)"
        ));
    }
    if !problems.is_empty() {
        bail!(
            "the crates crossed their boundaries:\n  {}\n(ARCHITECTURE.md says which crate owns what)",
            problems.join("\n  ")
        );
    }
    eprintln!(
        "xtask: boundaries hold (no terminal crate in the libraries, no server in the manifest, no test support in the binary)"
    );
    Ok(())
}

/// The names of every normal (not dev, not build) dependency of `package`, transitively.
fn dependencies(package: &str) -> Result<Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(&cargo)
        .args([
            "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .args(["-p", package])
        .current_dir(root())
        .output()
        .with_context(|| format!("running `{cargo} tree`"))?;
    if !output.status.success() {
        bail!(
            "`cargo tree -p {package}` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}
