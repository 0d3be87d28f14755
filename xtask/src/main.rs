//! Developer automation: `cargo xtask <task>`.
//!
//! - `ci`: what CI runs: format check, clippy with warnings denied, the crate boundaries,
//!   the whole test suite, a short soak and a short fuzz run.
//! - `boundaries`: the library crates depend on no terminal crate (`cargo tree`).
//! - `bench`: performance figures, as ratios against a peer measured in the same run.
//! - `soak`: mixed traffic against a real server for a bounded time; leaks fail it.
//! - `fuzz`: the libFuzzer targets in `fuzz/`, each for a bounded time; crashes fail it.

mod bench;
mod boundaries;
mod fuzz;
mod soak;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    match task.as_deref() {
        Some("ci") => ci(),
        Some("bench") => bench::run(&rest),
        Some("boundaries") => boundaries::run(),
        Some("fuzz") => fuzz::run(&rest),
        Some("soak") => soak::run(&rest),
        // Not for people: the server `bench up` measures as its ceiling.
        Some("native-hello") => {
            let number = |i: usize| -> Result<usize> {
                rest.get(i)
                    .context("usage: xtask native-hello PORT WORKERS")?
                    .parse()
                    .context("PORT and WORKERS are numbers")
            };
            bench::native_hello(u16::try_from(number(0)?)?, number(1)?)
        }
        Some("help") | Some("--help") | Some("-h") | None => {
            print_help();
            Ok(())
        }
        Some(other) => {
            print_help();
            bail!("unknown task `{other}` (arguments: {rest:?})")
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <task>\n\n\
         Tasks:\n  \
         ci      cargo fmt --check, clippy -D warnings, boundaries, the whole test suite, a 20 s soak,\n  \
                 10 s of fuzzing per target (needs cargo-fuzz)\n  \
         boundaries  the library crates use no terminal crate, the manifest crate no server\n  \
         soak    [--seconds N] [--release | --wasmctl PATH]  mixed traffic against wasmctl up; fails on errors, leaks\n  \
         bench   [build|validate|instantiate|up|watch|deploy|all]  performance figures\n  \
                 (never in CI; see docs/performance.md)\n  \
         fuzz    [--seconds N] [--sanitizer none|address] [TARGET...]  libFuzzer (docs/fuzzing.md)"
    );
}

/// The workspace root, whatever directory `cargo xtask` was started from.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Runs cargo with `args` in the workspace root, failing on a non-zero exit.
pub fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root())
        .status()
        .with_context(|| format!("running `{cargo}`"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    boundaries::run()?;
    cargo(&["test", "--workspace", "--locked"])?;
    // The binary the test run just built: `cargo build -p wasmctl-cli` resolves features without
    // the dev-dependencies (criterion turns on num-traits/std), so it would rebuild and link
    // wasmctl a second time, costing minutes and ~600 MB of disk.
    let tested = root().join("target/debug/wasmctl");
    soak::run(&[
        "--seconds".to_string(),
        "20".to_string(),
        "--wasmctl".to_string(),
        tested.display().to_string(),
    ])?;
    fuzz::run(&["--seconds".to_string(), "10".to_string()])?;
    eprintln!("xtask: ci passed");
    Ok(())
}
