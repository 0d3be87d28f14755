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

/// Warm starts measured per server, alternating, for a median.
const STARTS: usize = 10;

/// The peer's requests per instance in its reuse mode (`--max-instance-reuse-count`), and
/// ours in the reuse opt-in row: the same count on both sides.
const REUSE: &str = "128";

pub(super) fn run(wasmctl: &Path, app: &Path) -> Result<()> {
    let component = app.join("target/wasm32-wasip2/release/svc.wasm");
    let wasmtime = which("wasmtime");
    if which("wrk").is_none() {
        bail!("wrk is not installed; `apt-get install wrk` (Debian) and run again");
    }
    let cache = tempfile_dir("wasmctl-bench-cache")?;

    let ours_with = |extra: &'static [&'static str]| {
        let cache = cache.clone();
        move |port: u16| wasmctl_up(wasmctl, app, &cache, extra, port)
    };
    let ours = ours_with(&[]);
    let ours_reusing = ours_with(&["--instance-reuse", REUSE]);
    // The peer with its own compilation cache on (its default) or off (a cold start).
    let peer_with = |cache: bool, extra: &'static [&'static str]| {
        let (wasmtime, component) = (wasmtime.clone(), component.clone());
        move |port: u16| {
            let mut command = Command::new(wasmtime.as_ref().expect("checked before use"));
            command.args(["serve", "-Scli", "--addr", &format!("127.0.0.1:{port}")]);
            command.args(extra);
            if !cache {
                command.args(["-C", "cache=n"]);
            }
            command.arg(&component);
            command
        }
    };
    let peer = peer_with(true, &[]);
    let peer_reusing = peer_with(true, &["--max-instance-reuse-count", REUSE]);

    println!("\n## `wasmctl up` vs `wasmtime serve` (http-rust template, GET /)\n");
    println!(
        "wrk -t1 -c16 -d{LOAD_SECONDS}s, {ROUNDS} alternating rounds, best round each; warm starts: median of {STARTS}, alternating; same machine, same run.\n"
    );

    // Cold start: empty compile cache; warm: the cache the cold start filled.
    let _ = std::fs::remove_dir_all(&cache);
    let ours_cold = start_to_first_200(&ours)?;
    let mut ours_warm = Vec::new();
    let mut peer_warm = Vec::new();
    let peer_cold = match &wasmtime {
        Some(_) => {
            let cold = start_to_first_200(peer_with(false, &[]))?;
            start_to_first_200(&peer)?; // fills its cache
            Some(cold)
        }
        None => None,
    };
    for _ in 0..STARTS {
        ours_warm.push(start_to_first_200(&ours)?);
        if wasmtime.is_some() {
            peer_warm.push(start_to_first_200(&peer)?);
        }
    }

    // (ours, peer) per row, all rounds.
    let mut fresh = (Vec::new(), Vec::new());
    let mut reusing = (Vec::new(), Vec::new());
    let mut defaults_peer = Vec::new();
    let (mut ours_rss, mut peer_rss) = (0, 0);
    for _ in 0..ROUNDS {
        let run = load(&ours, "/")?;
        fresh.0.push(run.requests_per_second);
        ours_rss = run.rss_kib;
        reusing
            .0
            .push(load(&ours_reusing, "/")?.requests_per_second);
        if wasmtime.is_some() {
            let run = load(&peer_reusing, "/")?;
            fresh.1.push(run.requests_per_second);
            reusing.1.push(run.requests_per_second);
            let run = load(&peer, "/")?;
            defaults_peer.push(run.requests_per_second);
            peer_rss = run.rss_kib;
        }
    }
    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    // The ceiling: the same hello from native code, shaped like our server.
    let native = load(native_hello, "/")?.requests_per_second;

    println!("| measure | wasmctl up | wasmtime serve | ratio (wasmctl / wasmtime) | target |");
    println!("|---|---|---|---|---|");
    let Some(peer_cold) = peer_cold else {
        println!(
            "| requests/s, fresh instance / reuse {REUSE} | {:.0} / {:.0} | (wasmtime not on PATH) | | |",
            best(&fresh.0),
            best(&reusing.0)
        );
        println!(
            "| start → first 200, cold / warm cache | {} / {} | | | |",
            super::ms(ours_cold),
            super::ms(super::median(ours_warm))
        );
        println!("| idle RSS after load | {} MiB | | | |", ours_rss / 1024);
        println!("\nCeiling: a native hyper hello answers {native:.0} req/s.");
        return wasi03(wasmctl, None, &cache);
    };
    let row = |measure: &str, ours: f64, peer: f64, unit: &str, target: &str| {
        println!(
            "| {measure} | {ours:.0}{unit} | {peer:.0}{unit} | **{:.2}** | {target} |",
            ours / peer
        )
    };
    row(
        &format!("req/s: fresh instance per request (default) vs peer reusing {REUSE}"),
        best(&fresh.0),
        best(&fresh.1),
        "",
        "≥ 1.2",
    );
    row(
        &format!("req/s: `--instance-reuse {REUSE}` vs peer reusing {REUSE}"),
        best(&reusing.0),
        best(&reusing.1),
        "",
        "≥ 1.5",
    );
    row(
        "req/s: fresh instance per request (default) vs peer defaults",
        best(&fresh.0),
        best(&defaults_peer),
        "",
        "",
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (ours_start, peer_start) = (
        ms(super::median(ours_warm.clone())),
        ms(super::median(peer_warm.clone())),
    );
    println!(
        "| start → first 200, warm cache (median of {STARTS}) | {ours_start:.1} ms | {peer_start:.1} ms | **{:.2}** | ≤ 0.8 |",
        ours_start / peer_start
    );
    row(
        "start → first 200, cold cache",
        ms(ours_cold),
        ms(peer_cold),
        " ms",
        "",
    );
    row(
        "idle RSS after load (defaults)",
        (ours_rss / 1024) as f64,
        (peer_rss / 1024) as f64,
        " MiB",
        "≤ 1.0",
    );
    println!(
        "\nCeiling: a native hyper hello (`xtask native-hello`, 2 workers) answers {native:.0} req/s; wasmctl's fresh instances reach {:.2} of it, its reuse {:.2}, wasmtime's reuse {:.2}.",
        best(&fresh.0) / native,
        best(&reusing.0) / native,
        best(&fresh.1) / native
    );
    println!(
        "\nAll rounds (req/s): wasmctl fresh {:.0?}, wasmctl reuse {:.0?}, wasmtime reuse {:.0?}, wasmtime defaults {defaults_peer:.0?}",
        fresh.0, reusing.0, fresh.1
    );
    println!(
        "Warm starts (ms): wasmctl {:.1?}, wasmtime {:.1?}",
        ours_warm.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        peer_warm.iter().map(|d| ms(*d)).collect::<Vec<_>>()
    );
    wasi03(wasmctl, wasmtime.as_deref(), &cache)
}

/// `xtask native-hello` on `port`, with as many workers as `wasmctl up` on CI's machine.
fn native_hello(port: u16) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("xtask knows its path"));
    command.args(["native-hello", &port.to_string(), "2"]);
    command
}

/// The WASI 0.3 template's component, each server at its defaults: `wasmctl up` (shared
/// instances, 16 requests at once, 128 each) against `wasmtime serve -Scli`.
fn wasi03(wasmctl: &Path, wasmtime: Option<&Path>, cache: &Path) -> Result<()> {
    let app = crate::root().join("target/bench/svc3");
    if !app.join("wasmctl.toml").exists() {
        std::fs::create_dir_all(app.parent().expect("has a parent"))?;
        super::run_ok(
            Command::new(wasmctl)
                .args(["new", "http-rust-wasip3", "svc", "-y", "-q", "-o"])
                .arg(&app),
        )?;
    }
    super::run_ok(
        Command::new(wasmctl)
            .args(["build", "-q"])
            .current_dir(&app),
    )?;
    let component = app.join("target/wasm32-wasip2/release/svc.wasm");
    let ours = |port: u16| wasmctl_up(wasmctl, &app, cache, &[], port);
    let ours_fresh = |port: u16| wasmctl_up(wasmctl, &app, cache, &["--instance-reuse", "1"], port);
    let peer = |port: u16| {
        let mut command = Command::new(wasmtime.expect("checked before use"));
        command
            .args(["serve", "-Scli", "--addr", &format!("127.0.0.1:{port}")])
            .arg(&component);
        command
    };
    let (mut ours_runs, mut fresh_runs, mut peer_runs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours_runs.push(load(ours, "/")?.requests_per_second);
        fresh_runs.push(load(ours_fresh, "/")?.requests_per_second);
        if wasmtime.is_some() {
            peer_runs.push(load(peer, "/")?.requests_per_second);
        }
    }
    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    println!("\n## WASI 0.3 (http-rust-wasip3 template, GET /), each at its defaults\n");
    println!("| measure | wasmctl up | wasmtime serve | ratio | target |");
    println!("|---|---|---|---|---|");
    if wasmtime.is_none() {
        println!(
            "| req/s, defaults / fresh instance per request | {:.0} / {:.0} | (wasmtime not on PATH) | | |",
            best(&ours_runs),
            best(&fresh_runs)
        );
        return Ok(());
    }
    println!(
        "| req/s, defaults (shared instances) | {:.0} | {:.0} | **{:.2}** | ≥ 1.3 |",
        best(&ours_runs),
        best(&peer_runs),
        best(&ours_runs) / best(&peer_runs)
    );
    println!(
        "| req/s, `--instance-reuse 1` (a fresh instance each) vs peer defaults | {:.0} | {:.0} | {:.2} | |",
        best(&fresh_runs),
        best(&peer_runs),
        best(&fresh_runs) / best(&peer_runs)
    );
    println!(
        "\nAll rounds (req/s): wasmctl {ours_runs:.0?}, wasmctl fresh {fresh_runs:.0?}, wasmtime {peer_runs:.0?}"
    );
    Ok(())
}

/// `wasmctl up -q` on 127.0.0.1:`port` in `dir`, with `extra` arguments and its own
/// cache directory.
pub(super) fn wasmctl_up(
    wasmctl: &Path,
    dir: &Path,
    cache: &Path,
    extra: &[&str],
    port: u16,
) -> Command {
    let mut command = Command::new(wasmctl);
    command
        .args(["up", "-q", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .current_dir(dir)
        .env("WASMCTL_CACHE_DIR", cache);
    command
}

/// What one load run measured.
pub(super) struct Load {
    pub(super) requests_per_second: f64,
    /// The 99th percentile latency, as wrk reports it (`12.34ms`).
    pub(super) p99: String,
    pub(super) rss_kib: u64,
    /// wrk's report, when some answers were not 2xx.
    pub(super) errors: Option<String>,
}

/// Starts a server, waits until `GET path` answers 200, runs wrk on `path`, reads the
/// RSS, stops it; fails if any answer under load was not a 2xx.
pub(super) fn load(start: impl Fn(u16) -> Command, path: &str) -> Result<Load> {
    let run = load_counting_errors(start, path)?;
    if let Some(report) = run.errors {
        bail!("the server answered errors under load:\n{report}");
    }
    Ok(run)
}

/// [`load`], with answers other than 2xx in [`Load::errors`] instead of failing: for a
/// peer that cannot serve a mode at all.
pub(super) fn load_counting_errors(start: impl Fn(u16) -> Command, path: &str) -> Result<Load> {
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
    let errors = report.contains("Non-2xx").then(|| report.to_string());
    std::thread::sleep(Duration::from_millis(500));
    let rss_kib = server.rss_kib()?;
    server.stop();
    Ok(Load {
        requests_per_second,
        p99,
        rss_kib,
        errors,
    })
}

/// Time from spawning the server to its first 200, polled every millisecond (the test
/// servers' 20 ms poll would blur a 20 ms start).
pub(super) fn start_to_first_200(start: impl Fn(u16) -> Command) -> Result<Duration> {
    use std::io::{Read, Write};

    let port = free_port()?;
    let mut command = start(port);
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let started = Instant::now();
    let mut child = command.spawn().context("starting the server")?;
    let answered = loop {
        if started.elapsed() > Duration::from_secs(120) {
            break None;
        }
        let mut response = [0u8; 12];
        let ok = std::net::TcpStream::connect(("127.0.0.1", port))
            .and_then(|mut stream| {
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
                stream.read_exact(&mut response)
            })
            .is_ok();
        if ok && response.starts_with(b"HTTP/1.1 200") {
            break Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let _ = child.kill();
    let _ = child.wait();
    answered.context("the server did not answer 200 within 120 s")
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
