//! `cargo xtask soak --seconds N`: mixed traffic against a real `wasmctl up` for a bounded
//! time (hellos, 1 MiB echoes, memory-hungry requests, key-value increments, writes and
//! listings on the embedded SQLite store, and hostile routes that loop, blow their memory,
//! recurse or panic), with stalled readers added (a new one every 500 ms asks
//! for 16 MiB and never reads it, on a server of 16 connection slots), then a report:
//! requests served, errors by kind, latency percentiles, the stalled connections the
//! server held, and the server's RSS and open files sampled every second, whose trend
//! shows whether stores, instances or descriptors leak.
//!
//! It fails (exit 1) on any unexpected answer or connection error, on open files that do
//! not come back to where they started, on RSS that is not given back once the load ends,
//! or on a stored counter that differs from the increments answered (one lost or doubled
//! under concurrency).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmctl_test_support::{Server, http};

use crate::{cargo, root};

/// Client threads; the mix below is what each of them cycles through.
const CLIENTS: usize = 8;

/// Connection slots of the server: the clients' plus room for a few stalled readers. If
/// the server kept stalled readers, they would take every slot within seconds and the
/// clients' requests would fail.
const MAX_CONNECTIONS: &str = "16";

/// How long the server lets a write to a client that does not read stall.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a new stalled reader connects.
const STALL_EVERY: Duration = Duration::from_millis(500);

/// One kind of request and what a correct answer looks like.
#[derive(Clone, Copy)]
struct Kind {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    /// Request body size in bytes (0: none).
    body: usize,
    status: u16,
    /// Expected response body: `Some` when it must match exactly.
    answer: Option<&'static str>,
}

/// The kind whose answers the stored counter must equal at the end.
const KV_INCREMENT: &str = "kv: increment";

/// Twenty-eight slots: 12 hellos, 2 echoes, 2 allocations, 4 key-value requests, 4 hostile
/// requests, and a WASI 0.3 component's share: 2 hellos, a panic and a memory bomb (each
/// hostile one in a component of its own: a 0.3 instance is shared, and a trap fails every
/// request it is running).
const MIX: [Kind; 28] = {
    const HELLO: Kind = Kind {
        name: "hello",
        method: "GET",
        path: "/ok",
        body: 0,
        status: 200,
        answer: Some("ok\n"),
    };
    const ECHO: Kind = Kind {
        name: "echo 1 MiB",
        method: "POST",
        path: "/probe/echo",
        body: 1 << 20,
        status: 200,
        answer: None,
    };
    const ALLOC: Kind = Kind {
        name: "alloc 8 MiB",
        method: "GET",
        path: "/probe/alloc?mb=8",
        body: 0,
        status: 200,
        answer: Some("allocated 8 MiB\n"),
    };
    const LOOP: Kind = Kind {
        name: "hostile: loop",
        method: "GET",
        path: "/loop",
        body: 0,
        status: 504,
        answer: None,
    };
    const BOMB: Kind = Kind {
        name: "hostile: memory bomb",
        method: "GET",
        path: "/bomb",
        body: 0,
        status: 500,
        answer: None,
    };
    const RECURSE: Kind = Kind {
        name: "hostile: recursion",
        method: "GET",
        path: "/recurse",
        body: 0,
        status: 500,
        answer: None,
    };
    const PANIC: Kind = Kind {
        name: "hostile: panic",
        method: "GET",
        path: "/panic",
        body: 0,
        status: 500,
        answer: None,
    };
    const KV_INC: Kind = Kind {
        name: KV_INCREMENT,
        method: "GET",
        path: "/kv/inc",
        body: 0,
        status: 200,
        answer: None,
    };
    const KV_SET: Kind = Kind {
        name: "kv: set",
        method: "POST",
        path: "/kv/set?key=soak",
        body: 0,
        status: 200,
        answer: Some("set\n"),
    };
    const KV_LIST: Kind = Kind {
        name: "kv: list",
        method: "GET",
        path: "/kv/list",
        body: 0,
        status: 200,
        answer: None,
    };
    const P3_HELLO: Kind = Kind {
        name: "0.3 hello",
        method: "GET",
        path: "/p3/ok",
        body: 0,
        status: 200,
        answer: Some("hello from a wasi:http@0.3.0 service\n"),
    };
    const P3_BOMB: Kind = Kind {
        name: "0.3 hostile: memory bomb",
        method: "GET",
        path: "/p3-bomb/bomb",
        body: 0,
        status: 500,
        answer: None,
    };
    const P3_PANIC: Kind = Kind {
        name: "0.3 hostile: panic",
        method: "GET",
        path: "/p3-panic/panic",
        body: 0,
        status: 500,
        answer: None,
    };
    [
        HELLO, HELLO, ECHO, KV_INC, HELLO, LOOP, P3_HELLO, HELLO, ALLOC, KV_SET, HELLO, BOMB,
        HELLO, KV_INC, P3_BOMB, HELLO, ECHO, HELLO, RECURSE, P3_HELLO, KV_LIST, HELLO, ALLOC,
        HELLO, PANIC, HELLO, P3_PANIC, HELLO,
    ]
};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut seconds = 60;
    let mut release = false;
    let mut prebuilt = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().context("--seconds needs a value")?;
                seconds = value
                    .parse()
                    .with_context(|| format!("--seconds takes a whole number, not `{value}`"))?;
            }
            "--release" => release = true,
            "--wasmctl" => {
                let path = args
                    .next()
                    .context("--wasmctl needs the path of a wasmctl binary")?;
                // Absolute: the binary runs from other directories.
                prebuilt = Some(std::path::absolute(path)?);
            }
            other => bail!(
                "unknown argument `{other}`; usage: cargo xtask soak [--seconds N] [--release | --wasmctl PATH]"
            ),
        }
    }
    let duration = Duration::from_secs(seconds);

    let wasmctl = if let Some(prebuilt) = prebuilt {
        prebuilt
    } else if release {
        cargo(&["build", "--locked", "--release", "--package", "wasmctl-cli"])?;
        root().join("target/release/wasmctl")
    } else {
        cargo(&["build", "--locked", "--package", "wasmctl-cli"])?;
        root().join("target/debug/wasmctl")
    };
    let app = prepare_app(&wasmctl)?;
    let mut up = Command::new(&wasmctl);
    up.args(["up", "-q", "--max-connections", MAX_CONNECTIONS])
        .arg("--write-timeout")
        .arg(format!("{}s", WRITE_TIMEOUT.as_secs()))
        .current_dir(&app)
        .env("WASMCTL_CACHE_DIR", app.join("cache"));
    let mut server = Server::start(up)?;
    let (base, address) = (server.url(""), server.address());
    // One answer first: the routes are printed when the sockets are bound, before the
    // workers' runtimes (each with its descriptors) exist.
    http::wait_for_200(&address, "/ok", Duration::from_secs(120))?;
    // Before any load: what the server holds idle, the count it must come back to.
    let before = Sample::of(&server)?;

    eprintln!("xtask: soaking {base} with {CLIENTS} clients for {seconds} s");
    let stop = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new(Results::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (stop, results, base) = (stop.clone(), results.clone(), base.clone());
            std::thread::spawn(move || drive(client, &base, &stop, &results))
        })
        .collect();
    let stalling = {
        let stop = stop.clone();
        std::thread::spawn(move || stall_readers(&address, &stop))
    };
    // Sample the server once a second while the load runs.
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < duration {
        std::thread::sleep(Duration::from_secs(1));
        samples.push(Sample::of(&server)?);
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client
            .join()
            .map_err(|_| anyhow::anyhow!("a client panicked"))?;
    }
    let stalled = stalling
        .join()
        .map_err(|_| anyhow::anyhow!("the stalled readers panicked"))?;
    // Idle again: every connection closed (the stalled readers' once the write timeout
    // ran out), every instance gone. On a slow machine the last of them can take longer
    // than that: what is left is looked at again for a few seconds (a leak stays).
    std::thread::sleep(WRITE_TIMEOUT + Duration::from_secs(1));
    let settle = Instant::now() + Duration::from_secs(10);
    let mut idle = Sample::of(&server)?;
    while idle.open_files > before.open_files + LAZY_FILES && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(250));
        idle = Sample::of(&server)?;
    }
    let alive = server.is_running();
    server.stop();

    let results = results.lock().expect("results lock");
    let after = AfterLoad {
        idle,
        alive,
        stalled,
        counted: stored_count(&wasmctl, &app)?,
    };
    report(&results, &before, &samples, &after, started.elapsed())
}

/// The `count` the key-value increments left in the app's default store, read with
/// `wasmctl kv` once the server has stopped.
fn stored_count(wasmctl: &Path, app: &Path) -> Result<u64> {
    let output = Command::new(wasmctl)
        .args(["kv", "get", "count"])
        .current_dir(app)
        .output()
        .context("running wasmctl kv get")?;
    if !output.status.success() {
        bail!(
            "wasmctl kv get count failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("wasmctl kv get count printed `{text}`"))
}

/// Connects a stalled reader every [`STALL_EVERY`] until stopped: each asks for 16 MiB and
/// never reads a byte, and its socket stays open on this side; the server must close
/// them. How many connected.
fn stall_readers(address: &str, stop: &AtomicBool) -> usize {
    use std::io::Write;
    let mut stalled = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(mut stream) = std::net::TcpStream::connect(address)
            && stream
                .write_all(b"GET /probe/read?path=/assets/big HTTP/1.1\r\nhost: x\r\n\r\n")
                .is_ok()
        {
            stalled.push(stream);
        }
        std::thread::sleep(STALL_EVERY);
    }
    stalled.len()
}

/// The hostile, probe, counter and (WASI 0.3) service guests, built by wasmctl, in an app
/// under target/soak/.
fn prepare_app(wasmctl: &Path) -> Result<PathBuf> {
    let guests = root().join("testdata/guests");
    let status = Command::new(wasmctl)
        .args([
            "build", "-q", "-c", "hostile", "-c", "probe", "-c", "counter", "-c", "service",
        ])
        .current_dir(&guests)
        .status()?;
    if !status.success() {
        bail!("building the test guests failed ({status})");
    }
    let app = root().join("target/soak");
    // The counter starts from nothing on every run.
    match std::fs::remove_dir_all(app.join(".wasmctl/state")) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error.into()),
        _ => {}
    }
    // What the stalled readers ask for and never read.
    std::fs::create_dir_all(app.join("assets"))?;
    std::fs::write(app.join("assets/big"), vec![b'x'; 16 << 20])?;
    for guest in ["hostile", "probe", "counter", "service"] {
        std::fs::copy(
            guests.join(format!("target/wasm32-wasip2/release/{guest}.wasm")),
            app.join(format!("{guest}.wasm")),
        )?;
    }
    // Only the loop meets a deadline (the `spinner`'s 1 s). The memory bomb, recursion and
    // panic must fail by their own fault with a 500, so their deadline is far off: on 2
    // busy cores a 64 MiB bomb has taken over 1 s to reach its cap.
    std::fs::write(
        app.join("wasmctl.toml"),
        "manifest_version = 1\n[application]\nname = \"soak\"\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"hostile\"\n\
         [[trigger.http]]\nroute = \"/probe/...\"\ncomponent = \"probe\"\n\
         [component.hostile]\nsource = \"hostile.wasm\"\nlimits = { memory = \"64MiB\", timeout = \"10s\" }\n\
         [[trigger.http]]\nroute = \"/loop\"\ncomponent = \"spinner\"\n\
         [component.spinner]\nsource = \"hostile.wasm\"\nlimits = { timeout = \"1s\" }\n\
         [[trigger.http]]\nroute = \"/kv/...\"\ncomponent = \"counter\"\n\
         [component.probe]\nsource = \"probe.wasm\"\n\
         files = [{ source = \"assets\", destination = \"/assets\" }]\n\
         [component.counter]\nsource = \"counter.wasm\"\nkey_value_stores = [\"default\"]\n\
         [[trigger.http]]\nroute = \"/p3/...\"\ncomponent = \"service\"\n\
         [component.service]\nsource = \"service.wasm\"\n\
         [[trigger.http]]\nroute = \"/p3-bomb/...\"\ncomponent = \"p3-bomb\"\n\
         [component.p3-bomb]\nsource = \"service.wasm\"\nlimits = { memory = \"64MiB\", timeout = \"10s\" }\n\
         [[trigger.http]]\nroute = \"/p3-panic/...\"\ncomponent = \"p3-panic\"\n\
         [component.p3-panic]\nsource = \"service.wasm\"\nlimits = { timeout = \"10s\" }\n",
    )?;
    Ok(app)
}

/// Files the server opens during the run and rightly keeps: the log of each component
/// that printed, at most one for each of the app's seven. Which print depends on timing:
/// the hostile guest's panics always, and any guest whose client hung up mid-request
/// (wstd panics on the reset connection) — the stalled readers', or a client cut off
/// when the run stops. A leak per request or connection is far more than this.
const LAZY_FILES: usize = 7;

#[derive(Default)]
struct Results {
    /// Per kind: latencies of correct answers.
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    /// "kind: what went wrong" → count.
    errors: BTreeMap<String, usize>,
}

/// One client: cycles through the mix (from its own offset) until stopped.
fn drive(client: usize, base: &str, stop: &AtomicBool, results: &Mutex<Results>) {
    let agent = http::client(Duration::from_secs(30));
    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut slot = client * 7;
    while !stop.load(Ordering::Relaxed) {
        let kind = MIX[slot % MIX.len()];
        slot += 1;
        let url = format!("{base}{}", kind.path);
        let started = Instant::now();
        let outcome = match kind.method {
            "POST" => agent.post(&url).send(&payload[..kind.body]),
            _ => agent.get(&url).call(),
        };
        let problem = match outcome {
            Err(error) => Some(format!("connection: {error}")),
            Ok(mut response) => {
                let status = response.status().as_u16();
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(4 << 20)
                    .read_to_vec();
                match body {
                    _ if status != kind.status => {
                        Some(format!("status {status}, expected {}", kind.status))
                    }
                    Err(error) => Some(format!("reading the body: {error}")),
                    Ok(body)
                        if kind.answer.is_some_and(|answer| body != answer.as_bytes())
                            || (kind.body > 0 && body != payload[..kind.body]) =>
                    {
                        Some(format!("wrong body ({} bytes)", body.len()))
                    }
                    Ok(_) => None,
                }
            }
        };
        // The whole exchange, body included.
        let elapsed = started.elapsed();
        let mut results = results.lock().expect("results lock");
        match problem {
            None => results
                .latencies
                .entry(kind.name)
                .or_default()
                .push(elapsed),
            Some(problem) => {
                *results
                    .errors
                    .entry(format!("{}: {problem}", kind.name))
                    .or_default() += 1
            }
        }
    }
}

/// What is known once the load has stopped.
struct AfterLoad {
    /// The server idle again, every connection closed.
    idle: Sample,
    /// Whether the server was still running.
    alive: bool,
    /// How many stalled readers connected.
    stalled: usize,
    /// The counter the key-value increments left in the store.
    counted: u64,
}

/// The server's resident memory, open files and sockets at one moment.
#[derive(Clone, Copy)]
struct Sample {
    rss_kib: u64,
    open_files: usize,
    /// Listeners and one per connection.
    sockets: usize,
}

impl Sample {
    fn of(server: &Server) -> Result<Sample> {
        let open_files = server.open_files()?;
        let sockets = open_files
            .iter()
            .filter(|name| name.starts_with("socket:"))
            .count();
        Ok(Sample {
            rss_kib: server.rss_kib()?,
            open_files: open_files.len(),
            sockets,
        })
    }
}

fn report(
    results: &Results,
    before: &Sample,
    samples: &[Sample],
    after: &AfterLoad,
    elapsed: Duration,
) -> Result<()> {
    let AfterLoad {
        idle,
        alive,
        stalled,
        counted,
    } = after;
    let served: usize = results.latencies.values().map(Vec::len).sum();
    let failed: usize = results.errors.values().sum();
    println!(
        "\n## Soak: {CLIENTS} clients, {:.0} s, mixed traffic\n",
        elapsed.as_secs_f64()
    );
    println!(
        "{served} requests answered as expected ({:.0}/s), {failed} not\n",
        served as f64 / elapsed.as_secs_f64()
    );
    println!("| kind | answered | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (kind, latencies) in &results.latencies {
        let mut sorted = latencies.clone();
        sorted.sort();
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
        println!(
            "| {kind} | {} | {} | {} | {} |",
            sorted.len(),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0))
        );
    }
    for (error, count) in &results.errors {
        println!("error: {error} ({count}×)");
    }
    // Each socket beyond the idle count is a connection: the clients', and the stalled
    // readers' that the write timeout has not cut off yet.
    let most_connections = samples
        .iter()
        .map(|sample| sample.sockets.saturating_sub(before.sockets))
        .max()
        .unwrap_or(0);
    println!(
        "\n{stalled} stalled readers (one every {STALL_EVERY:?}, cut off after {WRITE_TIMEOUT:?}); \
         at most {most_connections} connections open at once ({MAX_CONNECTIONS} slots, plus \
         one accepted and waiting per worker)"
    );

    // Warm-up: the first samples fill pools and caches; the trend is what follows.
    let steady = &samples[samples.len().min(3)..];
    let (first, last) = match (steady.first(), steady.last()) {
        (Some(first), Some(last)) => (*first, *last),
        _ => bail!("run longer than 4 seconds to see a trend"),
    };
    let slope = rss_slope_kib_per_minute(steady);
    println!(
        "\nserver RSS: {} MiB after warm-up, {} MiB at the end, {} MiB idle after (trend {:+.1} MiB/min)",
        first.rss_kib / 1024,
        last.rss_kib / 1024,
        idle.rss_kib / 1024,
        slope / 1024.0,
    );
    println!(
        "server open files: {} idle before, {} after warm-up, {} at the end, {} idle after",
        before.open_files, first.open_files, last.open_files, idle.open_files
    );

    let increments = results.latencies.get(KV_INCREMENT).map_or(0, Vec::len) as u64;
    println!("key-value counter: {counted} stored, {increments} increments answered");

    let mut problems = Vec::new();
    if failed == 0 && *counted != increments {
        problems.push(format!(
            "the store counted {counted} but {increments} increments were answered"
        ));
    }
    if !*alive {
        problems.push("the server died".to_string());
    }
    if failed > 0 {
        problems.push(format!("{failed} requests were not answered as expected"));
    }
    // Idle before and idle after: every connection and instance of the run is gone.
    if idle.open_files > before.open_files + LAZY_FILES {
        problems.push(format!(
            "open files grew from {} to {} idle (a descriptor leak)",
            before.open_files, idle.open_files
        ));
    }
    // A leak keeps what it took: RSS idle after the load stays above where the load
    // started. Under load RSS follows concurrency (more pool slots and allocator arenas
    // in use, as a short CI run on a slow machine shows) and falls back when idle, so
    // the trend alone says nothing; with memory retained it is a leak growing.
    let retained = idle.rss_kib.saturating_sub(first.rss_kib);
    if retained > 32 * 1024 || (retained > 8 * 1024 && slope > 8.0 * 1024.0) {
        problems.push(format!(
            "RSS is not given back: {} MiB after warm-up, {} MiB at the end, {} MiB idle after ({slope:+.0} KiB/min)",
            first.rss_kib / 1024,
            last.rss_kib / 1024,
            idle.rss_kib / 1024
        ));
    }
    if problems.is_empty() {
        println!("\nxtask: soak passed");
        Ok(())
    } else {
        bail!("soak failed: {}", problems.join("; "))
    }
}

/// Least-squares slope of RSS over the samples (one a second), in KiB per minute.
fn rss_slope_kib_per_minute(samples: &[Sample]) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = samples.iter().map(|s| s.rss_kib as f64).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (x, sample) in samples.iter().enumerate() {
        let dx = x as f64 - mean_x;
        covariance += dx * (sample.rss_kib as f64 - mean_y);
        variance += dx * dx;
    }
    covariance / variance * 60.0
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
