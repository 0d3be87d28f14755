//! `wasmctl up` against `wasmtime serve` on the same component, in the same run.
//!
//! Figures: requests/second under wrk (bounded duration), process start to first 200
//! (cold and warm compile cache), and idle RSS. `wasmtime` must be on PATH for the peer
//! columns (`cargo install wasmtime-cli@48.0.8 --locked`, once, by hand).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmctl_test_support::Server;
use wasmctl_test_support::http::free_port;

/// How long each load run lasts, and how many alternating rounds each server gets.
pub(super) const LOAD_SECONDS: u32 = 10;
pub(super) const ROUNDS: usize = 3;

pub(super) fn run(wasmctl: &Path, app: &Path) -> Result<()> {
    let component = app.join("target/wasm32-wasip2/release/svc.wasm");
    let wasmtime = which("wasmtime");
    if which("wrk").is_none() {
        bail!("wrk is not installed; `apt-get install wrk` (Debian) and run again");
    }
    let cache = tempfile_dir("wasmctl-bench-cache")?;

    let ours = |port: u16| {
        let mut command = Command::new(wasmctl);
        command
            .args(["up", "-q", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(app)
            .env("WASMCTL_CACHE_DIR", &cache);
        command
    };
    // The peer with its own compilation cache on (its default) or off (a cold start).
    let peer_with_cache = |cache: bool| {
        let (wasmtime, component) = (wasmtime.clone(), component.clone());
        move |port: u16| {
            let mut command = Command::new(wasmtime.as_ref().expect("checked before use"));
            command.args(["serve", "-Scli", "--addr", &format!("127.0.0.1:{port}")]);
            if !cache {
                command.args(["-C", "cache=n"]);
            }
            command.arg(&component);
            command
        }
    };
    let peer = peer_with_cache(true);

    println!("\n## `wasmctl up` vs `wasmtime serve` (http-rust template, GET /)\n");
    println!(
        "wrk -t1 -c16 -d{LOAD_SECONDS}s, {ROUNDS} alternating rounds, best round each; same machine, same run.\n"
    );

    // Cold start: empty compile cache; warm: the cache the cold start filled.
    let _ = std::fs::remove_dir_all(&cache);
    let ours_cold = start_to_first_200(ours)?;
    let ours_warm = start_to_first_200(ours)?;
    let peer_start = match &wasmtime {
        Some(_) => {
            let cold = start_to_first_200(peer_with_cache(false))?;
            start_to_first_200(&peer)?; // fills its cache
            Some((cold, start_to_first_200(&peer)?))
        }
        None => None,
    };

    let mut ours_rps = Vec::new();
    let mut peer_rps = Vec::new();
    let mut ours_rss = 0;
    let mut peer_rss = 0;
    for _ in 0..ROUNDS {
        let run = load(ours, "/")?;
        ours_rps.push(run.requests_per_second);
        ours_rss = run.rss_kib;
        if wasmtime.is_some() {
            let run = load(&peer, "/")?;
            peer_rps.push(run.requests_per_second);
            peer_rss = run.rss_kib;
        }
    }
    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    let (ours_best, peer_best) = (best(&ours_rps), best(&peer_rps));

    println!("| measure | wasmctl up | wasmtime serve | ratio (wasmctl / wasmtime) |");
    println!("|---|---|---|---|");
    if wasmtime.is_some() {
        println!(
            "| requests/s | {ours_best:.0} | {peer_best:.0} | **{:.2}** |",
            ours_best / peer_best
        );
        let (peer_cold, peer_warm) = peer_start.expect("measured when wasmtime exists");
        println!(
            "| start → first 200, cold cache | {} | {} | {:.2} |",
            super::ms(ours_cold),
            super::ms(peer_cold),
            ours_cold.as_secs_f64() / peer_cold.as_secs_f64()
        );
        println!(
            "| start → first 200, warm cache | {} | {} | {:.2} |",
            super::ms(ours_warm),
            super::ms(peer_warm),
            ours_warm.as_secs_f64() / peer_warm.as_secs_f64()
        );
        println!(
            "| idle RSS after load | {} MiB | {} MiB | {:.2} |",
            ours_rss / 1024,
            peer_rss / 1024,
            ours_rss as f64 / peer_rss as f64
        );
    } else {
        println!("| requests/s | {ours_best:.0} | (wasmtime not on PATH) | |");
        println!(
            "| start → first 200, cold / warm cache | {} / {} | | |",
            super::ms(ours_cold),
            super::ms(ours_warm)
        );
        println!("| idle RSS after load | {} MiB | | |", ours_rss / 1024);
    }
    println!("\nAll rounds (req/s): wasmctl {ours_rps:.0?}, wasmtime {peer_rps:.0?}");
    Ok(())
}

/// What one load run measured.
pub(super) struct Load {
    pub(super) requests_per_second: f64,
    /// The 99th percentile latency, as wrk reports it (`12.34ms`).
    pub(super) p99: String,
    pub(super) rss_kib: u64,
}

/// Starts a server, waits until `GET path` answers 200, runs wrk on `path`, reads the
/// RSS, stops it.
pub(super) fn load(start: impl Fn(u16) -> Command, path: &str) -> Result<Load> {
    let port = free_port()?;
    let mut server = Server::start_on_port(start(port), port, path)?;
    let output = Command::new("wrk")
        .args(["-t1", "-c16", &format!("-d{LOAD_SECONDS}s"), "--latency"])
        .arg(server.url(path))
        .output()
        .context("running wrk")?;
    let report = String::from_utf8_lossy(&output.stdout);
    let requests_per_second = report
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("wrk printed no Requests/sec:\n{report}"))?;
    let p99 = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("99%"))
        .map(|v| v.trim().to_string())
        .with_context(|| format!("wrk printed no 99% latency:\n{report}"))?;
    if report.contains("Non-2xx") {
        bail!("the server answered errors under load:\n{report}");
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_kib = server.rss_kib()?;
    server.stop();
    Ok(Load {
        requests_per_second,
        p99,
        rss_kib,
    })
}

/// Time from spawning the server to its first 200.
pub(super) fn start_to_first_200(start: impl Fn(u16) -> Command) -> Result<Duration> {
    let port = free_port()?;
    let started = Instant::now();
    let mut server = Server::start_on_port(start(port), port, "/")?;
    let elapsed = started.elapsed();
    server.stop();
    Ok(elapsed)
}

pub(super) fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

pub(super) fn tempfile_dir(name: &str) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
