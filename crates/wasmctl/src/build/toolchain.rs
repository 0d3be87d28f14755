//! What the Rust toolchain on this machine can do: used by `doctor` to explain problems
//! before a build runs into them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `cargo --version`, or why it could not be run.
pub fn cargo_version() -> Result<String, String> {
    version_of(&std::env::var(crate::environment::CARGO).unwrap_or_else(|_| "cargo".to_string()))
}

/// `rustup --version` (rustup prints its own version on the first line).
pub fn rustup_version() -> Result<String, String> {
    version_of("rustup")
}

fn version_of(program: &str) -> Result<String, String> {
    let output = Command::new(program)
        .arg("--version")
        .output()
        .map_err(|e| format!("`{program}` could not be run: {e}"))?;
    if !output.status.success() {
        return Err(format!("`{program} --version` failed ({})", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// Whether the sysroot of the rustc that runs in `dir` has the standard library for
/// `target` (rustup picks the toolchain by `dir`'s `rust-toolchain.toml`).
///
/// Looking at the sysroot works with or without rustup, and costs one `rustc` call.
pub fn target_installed(target: &str, dir: &Path) -> Result<bool, String> {
    let rustc = std::env::var(crate::environment::RUSTC).unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("`{rustc}` could not be run: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{rustc} --print sysroot` failed ({})",
            output.status
        ));
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    Ok(sysroot
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir())
}
