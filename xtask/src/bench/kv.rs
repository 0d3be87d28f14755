//! Key-value requests: one `get` and one `set` per request (`counter-draft`'s `getset`),
//! served by `wasmctl up` over its embedded SQLite store and side by side, in the same
//! run, by `wasmtime serve -Skeyvalue` over its in-memory store: the same component, since
//! it imports `wasi:keyvalue@0.2.0-draft`, the version wasmtime 48 links. A third row puts
//! wasmctl's store on a real `redis-server` (started here on 127.0.0.1, persisting
//! nothing) through a runtime config, when one is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use wasmctl_test_support::RedisServer;

use super::run_ok;
use super::up::{LOAD_SECONDS, Load, ROUNDS, load, tempfile_dir, which};
use crate::root;

/// The peer's row: the yardstick of the ratios.
const PEER: &str = "wasmtime serve -Skeyvalue, in memory";

/// One server under load: how to start it on a port and the path each request takes.
struct Contender {
    name: &'static str,
    start: Box<dyn Fn(u16) -> Command>,
    path: &'static str,
    best: Option<Load>,
    all: Vec<f64>,
}

pub(super) fn run(wasmctl: &Path) -> Result<()> {
    let component = build_component(wasmctl)?;
    let app = tempfile_dir("wasmctl-bench-kv")?;
    std::fs::copy(&component, app.join("kv.wasm")).context("copying the component")?;
    std::fs::write(
        app.join("wasmctl.toml"),
        "manifest_version = 1\n[application]\nname = \"kv-bench\"\n\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"kv\"\n\n\
         [component.kv]\nsource = \"kv.wasm\"\nkey_value_stores = [\"default\"]\n",
    )?;
    let cache = tempfile_dir("wasmctl-bench-kv-cache")?;

    // The same app with its default store on Redis, when redis-server is installed.
    let redis = match which("redis-server") {
        Some(_) => Some(RedisServer::start()?),
        None => {
            println!("redis-server is not on PATH: no Redis row (`apt-get install redis-server`)");
            None
        }
    };
    let runtime_config = app.join("runtime-config.toml");
    if let Some(redis) = &redis {
        std::fs::write(
            &runtime_config,
            format!(
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
                redis.url()
            ),
        )?;
    }
    let ours = |extra: Vec<String>| {
        let (wasmctl, app, cache) = (wasmctl.to_path_buf(), app.clone(), cache.clone());
        Box::new(move |port: u16| {
            let mut command = Command::new(&wasmctl);
            command
                .args(["up", "-q", "--listen", &format!("127.0.0.1:{port}")])
                .args(&extra)
                .current_dir(&app)
                .env("WASMCTL_CACHE_DIR", &cache);
            command
        }) as Box<dyn Fn(u16) -> Command>
    };
    let mut contenders = vec![Contender {
        name: "wasmctl up, SQLite store",
        start: ours(Vec::new()),
        path: "/getset",
        best: None,
        all: Vec::new(),
    }];
    if redis.is_some() {
        contenders.push(Contender {
            name: "wasmctl up, Redis store",
            start: ours(vec![
                "--runtime-config".to_string(),
                runtime_config.display().to_string(),
            ]),
            path: "/getset",
            best: None,
            all: Vec::new(),
        });
    }
    match which("wasmtime") {
        Some(wasmtime) => contenders.push(Contender {
            name: PEER,
            start: Box::new(move |port| {
                let mut command = Command::new(&wasmtime);
                command
                    .args(["serve", "-Scli", "-Skeyvalue", "--addr"])
                    .arg(format!("127.0.0.1:{port}"))
                    .arg(&component);
                command
            }),
            // wasmtime's in-memory store is the one labelled "".
            path: "/getset?store=",
            best: None,
            all: Vec::new(),
        }),
        None => println!(
            "wasmtime is not on PATH: no peer column (`cargo install wasmtime-cli@48.0.8 --locked`)"
        ),
    }

    for _ in 0..ROUNDS {
        for contender in &mut contenders {
            let run = load(&contender.start, contender.path)?;
            contender.all.push(run.requests_per_second);
            let better = contender
                .best
                .as_ref()
                .is_none_or(|best| run.requests_per_second > best.requests_per_second);
            if better {
                contender.best = Some(run);
            }
        }
    }

    println!("\n## Key-value: one `get` + one `set` per request (counter-draft guest)\n");
    println!(
        "wrk -t1 -c16 -d{LOAD_SECONDS}s, {ROUNDS} alternating rounds, best round each; same machine, same run.\n"
    );
    // The peer is the yardstick when it ran; else the first row.
    let reference = contenders
        .iter()
        .find(|contender| contender.name == PEER)
        .unwrap_or(&contenders[0]);
    let reference_rps = reference
        .best
        .as_ref()
        .map(|best| best.requests_per_second)
        .context("measured")?;
    println!(
        "| server and store | requests/s | p99 | ratio to {} |",
        reference.name
    );
    println!("|---|---|---|---|");
    for contender in &contenders {
        let best = contender.best.as_ref().context("measured")?;
        println!(
            "| {} | {:.0} | {} | **{:.2}** |",
            contender.name,
            best.requests_per_second,
            best.p99,
            best.requests_per_second / reference_rps
        );
    }
    for contender in &contenders {
        println!(
            "\nAll rounds (req/s), {}: {:.0?}",
            contender.name, contender.all
        );
    }
    Ok(())
}

/// `counter-draft` from `testdata/guests`, built by the release wasmctl.
fn build_component(wasmctl: &Path) -> Result<PathBuf> {
    let guests = root().join("testdata/guests");
    run_ok(
        Command::new(wasmctl)
            .args(["build", "-q", "-c", "counter-draft"])
            .current_dir(&guests),
    )?;
    Ok(guests.join("target/wasm32-wasip2/release/counter-draft.wasm"))
}
