//! `cargo xtask bench`: whole-program benchmarks, each reported as a ratio against a peer
//! measured in the same run (these machines are too noisy for absolute targets).
//!
//! Benchmarks use a release build of wasmctl and an http-rust app under `target/bench/`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cargo, root};

mod deploy;
mod kv;
mod languages;
mod native;
mod up;
mod watch;

const BENCHES: [&str; 8] = [
    "build",
    "validate",
    "instantiate",
    "up",
    "watch",
    "deploy",
    "kv",
    "languages",
];

pub(crate) use native::serve as native_hello;

pub(crate) fn run(args: &[String]) -> Result<()> {
    let selected: Vec<&str> = match args.first().map(String::as_str) {
        None | Some("all") => BENCHES.to_vec(),
        Some(name) if BENCHES.contains(&name) => vec![name],
        Some(other) => bail!(
            "unknown benchmark `{other}`; choose from: all, {}",
            BENCHES.join(", ")
        ),
    };
    let bench = Bench::prepare()?;
    for name in selected {
        match name {
            "build" => bench.noop_build()?,
            "validate" => bench.validate()?,
            "instantiate" => bench.instantiate()?,
            "up" => up::run(&bench.wasmctl, &bench.app)?,
            "watch" => watch::run(&bench.wasmctl, &bench.app)?,
            "deploy" => deploy::run(&bench.wasmctl, &bench.app)?,
            "kv" => kv::run(&bench.wasmctl)?,
            "languages" => languages::run(&bench.wasmctl)?,
            _ => unreachable!("checked above"),
        }
    }
    Ok(())
}

/// A release wasmctl and a built http-rust app.
struct Bench {
    wasmctl: PathBuf,
    app: PathBuf,
}

impl Bench {
    fn prepare() -> Result<Bench> {
        cargo(&["build", "--release", "--locked", "--package", "wasmctl-cli"])?;
        let wasmctl = root().join("target/release/wasmctl");
        let app = root().join("target/bench/svc");
        if !app.join("wasmctl.toml").exists() {
            std::fs::create_dir_all(app.parent().expect("has a parent"))?;
            run_ok(
                Command::new(&wasmctl)
                    .args(["new", "http-rust", "svc", "-y", "-q", "-o"])
                    .arg(&app),
            )?;
        }
        run_ok(
            Command::new(&wasmctl)
                .args(["build", "-q"])
                .current_dir(&app),
        )?;
        Ok(Bench { wasmctl, app })
    }

    /// A no-op `wasmctl build` against the cargo no-op it wraps.
    fn noop_build(&self) -> Result<()> {
        const RUNS: usize = 21;
        let mut ours = Command::new(&self.wasmctl);
        ours.args(["build", "-q"]).current_dir(&self.app);
        let mut peer = Command::new("cargo");
        peer.args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
            "--release",
            "--package",
            "svc",
        ])
        .current_dir(&self.app);
        let (ours, peer) = alternate(&mut ours, &mut peer, RUNS)?;
        println!("\n## No-op build ({RUNS} runs each, medians)\n");
        println!("| command | median | ratio |");
        println!("|---|---|---|");
        println!(
            "| `cargo build --release --target wasm32-wasip2` (no-op) | {} | 1.00 |",
            ms(peer)
        );
        println!(
            "| `wasmctl build` (no-op: cargo + validate) | {} | {:.2} |",
            ms(ours),
            ours.as_secs_f64() / peer.as_secs_f64()
        );
        Ok(())
    }

    /// Criterion benchmark of validation: the release component, and a debug build of the
    /// app (a large component).
    fn validate(&self) -> Result<()> {
        run_ok(
            Command::new("cargo")
                .args(["build", "--target", "wasm32-wasip2", "--quiet"])
                .current_dir(&self.app),
        )?;
        let components = ["release", "debug"].map(|profile| {
            self.app
                .join(format!("target/wasm32-wasip2/{profile}/svc.wasm"))
        });
        println!("\n## Validation (criterion)\n");
        let status = Command::new("cargo")
            .args([
                "bench",
                "--locked",
                "--package",
                "wasmctl",
                "--bench",
                "validate",
            ])
            .env(
                "WASMCTL_BENCH_COMPONENTS",
                std::env::join_paths(&components)?,
            )
            .current_dir(root())
            .status()?;
        if !status.success() {
            bail!("cargo bench failed ({status})");
        }
        Ok(())
    }
}

impl Bench {
    /// Criterion benchmark of one instantiation from the `ProxyPre`.
    fn instantiate(&self) -> Result<()> {
        println!("\n## Per-request instantiation (criterion)\n");
        let status = Command::new("cargo")
            .args([
                "bench",
                "--locked",
                "--package",
                "wasmctl-host",
                "--bench",
                "instantiate",
            ])
            .env(
                "WASMCTL_BENCH_COMPONENT",
                self.app.join("target/wasm32-wasip2/release/svc.wasm"),
            )
            .current_dir(root())
            .status()?;
        if !status.success() {
            bail!("cargo bench failed ({status})");
        }
        Ok(())
    }
}

/// Runs two commands `runs` times each, interleaved so drift hits both; returns medians.
fn alternate(a: &mut Command, b: &mut Command, runs: usize) -> Result<(Duration, Duration)> {
    let mut a_times = Vec::with_capacity(runs);
    let mut b_times = Vec::with_capacity(runs);
    for _ in 0..runs {
        a_times.push(time(a)?);
        b_times.push(time(b)?);
    }
    Ok((median(a_times), median(b_times)))
}

fn time(command: &mut Command) -> Result<Duration> {
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(elapsed)
}

pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub(crate) fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

pub(crate) fn run_ok(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
