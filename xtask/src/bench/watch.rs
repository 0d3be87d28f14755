//! The dev loop: time from saving a source file under `wasmctl up --watch` to the new
//! version answering, against the peer that dominates it, cargo's incremental build of
//! the same edit, measured in the same run. Also: the swap itself (compile + check +
//! atomic switch, from the server's own report) and whether wrk saw any failed request
//! while a swap happened under load.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmctl_test_support::Server;
use wasmctl_test_support::http::wait_for;

use super::{median, ms, run_ok};

const SAVES: usize = 5;

pub(super) fn run(wasmctl: &Path, app: &Path) -> Result<()> {
    // Copies of the bench app (their target/ too): one watched, one for the peer.
    let work = app.with_file_name("watch");
    let watched = work.join("watched");
    let peer = work.join("peer");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    for copy in [&watched, &peer] {
        run_ok(Command::new("cp").arg("-a").arg(app).arg(copy))?;
    }
    // The peer's copy is built once so each measured build is incremental.
    let cargo_build = || {
        let mut command = Command::new("cargo");
        command
            .args(["build", "--release", "--target", "wasm32-wasip2", "--quiet"])
            .current_dir(&peer);
        command
    };
    run_ok(&mut cargo_build())?;

    let mut up = Command::new(wasmctl);
    up.args(["up", "--watch"])
        .current_dir(&watched)
        // A cache of its own: every saved version is compiled, as in real editing.
        .env("WASMCTL_CACHE_DIR", work.join("cache"))
        .env("NO_COLOR", "1");
    let result =
        Server::start(up).and_then(|server| measure(&server, &watched, &peer, cargo_build));
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn measure(
    server: &Server,
    watched: &Path,
    peer: &Path,
    cargo_build: impl Fn() -> Command,
) -> Result<()> {
    wait_for_body(server, "from svc!", Duration::from_secs(300))?;
    let mut served = Vec::new();
    let mut builds = Vec::new();
    let mut compiles = Vec::new();
    let mut swaps = Vec::new();
    let mut peer_builds = Vec::new();
    // Greetings no earlier run produced, so no compiled code can be reused.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    for save in 0..SAVES {
        let marker = format!("Hello #{save} of run {run} from svc!");
        let reloads_before = reload_lines(server).len();
        let started = Instant::now();
        edit_greeting(watched, &marker)?;
        wait_for_body(server, &marker, Duration::from_secs(300))?;
        served.push(started.elapsed());
        // The server's own account of this reload.
        let line = wait_for_reload(server, reloads_before)?;
        builds.push(duration_after(&line, "(build ")?);
        compiles.push(duration_after(&line, ", compile ")?);
        swaps.push(duration_after(&line, ", swap ")?);

        edit_greeting(peer, &marker)?;
        let started = Instant::now();
        run_ok(&mut cargo_build())?;
        peer_builds.push(started.elapsed());
    }
    let (served, builds, compiles, swaps, peer_builds) = (
        median(served),
        median(builds),
        median(compiles),
        median(swaps),
        median(peer_builds),
    );
    println!("\n## Dev loop: save → new version served ({SAVES} saves, medians)\n");
    println!("| measure | time | ratio to cargo's incremental build |");
    println!("|---|---|---|");
    println!(
        "| `cargo build --release` after the same edit (peer) | {} | 1.00 |",
        ms(peer_builds)
    );
    println!(
        "| save → new body served by `up --watch` | {} | {:.2} |",
        ms(served),
        served.as_secs_f64() / peer_builds.as_secs_f64()
    );
    println!(
        "| of which: build + validate (server's report) | {} | {:.2} |",
        ms(builds),
        builds.as_secs_f64() / peer_builds.as_secs_f64()
    );
    println!(
        "| of which: compile the new component | {} | {:.3} |",
        ms(compiles),
        compiles.as_secs_f64() / peer_builds.as_secs_f64()
    );
    println!(
        "| of which: swap (instantiation check, route table, atomic switch) | {} | {:.4} |",
        ms(swaps),
        swaps.as_secs_f64() / peer_builds.as_secs_f64()
    );

    swap_under_load(server, watched)
}

/// wrk runs while a save is rebuilt and swapped in; any error or non-2xx is a failure.
fn swap_under_load(server: &Server, watched: &Path) -> Result<()> {
    let mut wrk = Command::new("wrk")
        .args(["-t1", "-c16", "-d8s"])
        .arg(server.url("/"))
        .stdout(Stdio::piped())
        .spawn()
        .context("running wrk (apt-get install wrk)")?;
    let swapped = (|| {
        std::thread::sleep(Duration::from_secs(1));
        let reloads_before = reload_lines(server).len();
        edit_greeting(watched, "Hello under load from svc!")?;
        wait_for_body(server, "under load", Duration::from_secs(300))?;
        wait_for_reload(server, reloads_before)
    })();
    if let Err(error) = swapped {
        let _ = wrk.kill();
        let _ = wrk.wait();
        return Err(error);
    }
    let output = wrk.wait_with_output()?;
    let report = String::from_utf8_lossy(&output.stdout);
    let requests = report
        .lines()
        .find(|line| line.contains("requests in"))
        .unwrap_or("(no request count)")
        .trim();
    let errors: Vec<&str> = report
        .lines()
        .filter(|line| line.contains("Socket errors") || line.contains("Non-2xx"))
        .map(str::trim)
        .collect();
    println!("\nSwap under load (wrk -t1 -c16 -d8s, one save mid-run): {requests}");
    if !errors.is_empty() {
        bail!("requests failed during the swap: {}", errors.join("; "));
    }
    println!("no socket errors, no non-2xx responses");
    Ok(())
}

fn edit_greeting(app: &Path, greeting: &str) -> Result<()> {
    let main_rs = app.join("src/main.rs");
    let text = std::fs::read_to_string(&main_rs)?;
    let start = text.find("\"Hello").context("no greeting in src/main.rs")?;
    let end = start + text[start..].find("!\\n\"").context("no greeting end")?;
    let edited = format!("{}\"{greeting}{}", &text[..start], &text[end..]);
    std::fs::write(&main_rs, edited)?;
    Ok(())
}

/// The lines of the server's stderr that report a reload, or a failed one.
fn reload_lines(server: &Server) -> Vec<String> {
    server
        .stderr()
        .lines()
        .filter(|line| line.contains("Reloaded") || line.contains("keeps serving"))
        .map(str::to_string)
        .collect()
}

fn wait_for_reload(server: &Server, before: usize) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(line) = reload_lines(server).get(before) {
            if !line.contains("Reloaded") {
                bail!("the rebuild failed: {line}");
            }
            return Ok(line.clone());
        }
        if Instant::now() > deadline {
            bail!("no reload reported");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Parses `1.23s` or `45ms` after `label` in a reload line.
fn duration_after(line: &str, label: &str) -> Result<Duration> {
    let text = line
        .split(label)
        .nth(1)
        .and_then(|rest| rest.split([',', ' ', ')']).next())
        .with_context(|| format!("no `{label}` in {line:?}"))?;
    if let Some(millis) = text.strip_suffix("ms") {
        return Ok(Duration::from_secs_f64(millis.parse::<f64>()? / 1000.0));
    }
    let seconds: f64 = text
        .strip_suffix('s')
        .with_context(|| format!("`{text}` is not a duration"))?
        .parse()?;
    Ok(Duration::from_secs_f64(seconds))
}

/// Polls `GET /` until its body contains `text` (bounded).
fn wait_for_body(server: &Server, text: &str, limit: Duration) -> Result<()> {
    if !wait_for(&server.address(), "/", limit, |response| {
        response.contains(text)
    }) {
        bail!(
            "`{text}` was not served on {} within {limit:?}",
            server.address()
        );
    }
    Ok(())
}
