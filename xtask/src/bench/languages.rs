//! The JavaScript, TypeScript and Python templates: component size, first compile, warm
//! start → first 200, and requests/second against `wasmtime serve -Scli` (its defaults)
//! on the same component in the same run.
//!
//! The templates import the wasi:config and wasi:keyvalue versions Spin links, which
//! `wasmtime serve` does not, so the side-by-side load runs on a stateless "hello" variant
//! of each template: the same package.json or requirements.txt, toolchain and engine
//! (StarlingMonkey, CPython), with a handler that only answers `GET /` and a world of
//! wasi:http alone. The template's own component is measured too, on wasmctl alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::up::{
    LOAD_SECONDS, ROUNDS, load, load_counting_errors, start_to_first_200, tempfile_dir, wasmctl_up,
    which,
};
use super::{median, ms, run_ok};
use crate::root;

/// Warm starts measured per server; the median is reported.
const WARM_STARTS: usize = 5;

/// A template, and how to make its stateless variant.
struct Language {
    template: &'static str,
    /// The handler file, relative to the app, and a stateless handler to put there.
    handler: (&'static str, &'static str),
}

const LANGUAGES: [Language; 3] = [
    Language {
        template: "http-js",
        handler: ("src/app.js", JS_HELLO),
    },
    Language {
        template: "http-ts",
        handler: ("src/app.ts", JS_HELLO),
    },
    Language {
        template: "http-python",
        handler: ("app.py", PYTHON_HELLO),
    },
];

const JS_HELLO: &str = "addEventListener('fetch', (event) =>\n  event.respondWith(new Response('Hello from app!\\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } })),\n);\n";

const PYTHON_HELLO: &str = r#"from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.types import Fields, OutgoingBody, OutgoingResponse, ResponseOutparam


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request, response_out) -> None:
        response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain; charset=utf-8")]))
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        with body.write() as stream:
            stream.blocking_write_and_flush(b"Hello from app!\n")
        OutgoingBody.finish(body, None)
"#;

const HELLO_WORLD: &str =
    "package local:app;\n\nworld app {\n    include wasi:http/proxy@0.2.10;\n}\n";

pub(super) fn run(wasmctl: &Path) -> Result<()> {
    let wasmtime = which("wasmtime");
    if which("wrk").is_none() {
        anyhow::bail!("wrk is not installed; `apt-get install wrk` (Debian) and run again");
    }
    println!("\n## The language templates: `wasmctl up` vs `wasmtime serve -Scli`\n");
    println!(
        "wrk -t1 -c16 -d{LOAD_SECONDS}s on `GET /`, {ROUNDS} alternating rounds, best round each; \
         starts: median of {WARM_STARTS}; same machine, same run.\n"
    );
    println!(
        "| template | component | first compile (wasmctl) | warm start → 200: wasmctl / wasmtime | ratio | req/s, hello, fresh instances: wasmctl / wasmtime | ratio | req/s, hello, reuse 128: wasmctl / wasmtime | ratio | req/s, template's `/count` (wasmctl) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for language in &LANGUAGES {
        measure(wasmctl, wasmtime.as_deref(), language)?;
    }
    if wasmtime.is_none() {
        println!(
            "\nwasmtime is not on PATH: no peer columns (`cargo install wasmtime-cli@48.0.8 --locked`, once, by hand)."
        );
    }
    Ok(())
}

fn measure(wasmctl: &Path, wasmtime: Option<&Path>, language: &Language) -> Result<()> {
    let app = root().join("target/bench").join(language.template);
    if !app.join("wasmctl.toml").exists() {
        std::fs::create_dir_all(app.parent().expect("has a parent"))?;
        run_ok(
            Command::new(wasmctl)
                .args(["new", language.template, "app", "-y", "-q", "-o"])
                .arg(&app),
        )?;
    }
    run_ok(
        Command::new(wasmctl)
            .args(["build", "-q"])
            .current_dir(&app),
    )?;
    let component = app.join("dist/app.wasm");
    let size = std::fs::metadata(&component)
        .with_context(|| format!("reading {}", component.display()))?
        .len();

    let hello = hello_variant(wasmctl, &app, language)?;
    let hello_component = hello.join("dist/app.wasm");
    let cache = tempfile_dir(&format!("wasmctl-bench-{}-cache", language.template))?;
    let ours_with = |dir: PathBuf, extra: &'static [&'static str]| {
        let cache = cache.clone();
        move |port: u16| wasmctl_up(wasmctl, &dir, &cache, extra, port)
    };
    let ours = |dir: PathBuf| ours_with(dir, &[]);
    let peer_with = |extra: &'static [&'static str]| {
        let hello_component = hello_component.clone();
        move |port: u16| {
            let mut command = Command::new(wasmtime.expect("checked before use"));
            command
                .args(["serve", "-Scli", "--addr", &format!("127.0.0.1:{port}")])
                .args(extra)
                .arg(&hello_component);
            command
        }
    };
    let peer = peer_with(&[]);

    let _ = std::fs::remove_dir_all(&cache);
    let first_compile = start_to_first_200(ours(app.clone()))?;
    let ours_warm = median(
        (0..WARM_STARTS)
            .map(|_| start_to_first_200(ours(app.clone())))
            .collect::<Result<_>>()?,
    );
    let peer_warm = match wasmtime {
        Some(_) => {
            start_to_first_200(&peer)?; // fills its cache
            Some(median(
                (0..WARM_STARTS)
                    .map(|_| start_to_first_200(&peer))
                    .collect::<Result<_>>()?,
            ))
        }
        None => None,
    };

    let (mut ours_rps, mut peer_rps, mut count_rps) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ours_reusing, mut peer_reusing) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours_rps.push(load(ours(hello.clone()), "/")?.requests_per_second);
        ours_reusing.push(
            load(ours_with(hello.clone(), &["--instance-reuse", "128"]), "/")?.requests_per_second,
        );
        if wasmtime.is_some() {
            peer_rps.push(load(&peer, "/")?.requests_per_second);
            // The peer's reuse mode may not serve a component at all (it answers 500 to
            // every request after the first of componentize-js's): said, not averaged.
            let run = load_counting_errors(peer_with(&["--max-instance-reuse-count", "128"]), "/")?;
            peer_reusing.push(run.errors.is_none().then_some(run.requests_per_second));
        }
        count_rps.push(load(ours(app.clone()), "/count")?.requests_per_second);
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let (ours_best, peer_best) = (best(&ours_rps), best(&peer_rps));
    let ours_reusing = best(&ours_reusing);
    // `None` when the peer answered errors in any round.
    let peer_reusing: Option<Vec<f64>> = peer_reusing.into_iter().collect();
    let peer_reusing = peer_reusing.map(|rounds| best(&rounds));
    let ratio = |ours: f64, peer: f64| {
        if wasmtime.is_some() {
            format!("**{:.2}**", ours / peer)
        } else {
            String::new()
        }
    };
    let start_ratio = peer_warm.map_or_else(String::new, |peer_warm| {
        ratio(ours_warm.as_secs_f64(), peer_warm.as_secs_f64())
    });
    println!(
        "| {} | {:.1} MiB | {} | {} / {} | {start_ratio} | {ours_best:.0} / {peer_best:.0} | {} | {ours_reusing:.0} / {} | {} | {:.0} |",
        language.template,
        size as f64 / (1024.0 * 1024.0),
        seconds(first_compile),
        ms(ours_warm),
        peer_warm.map_or_else(|| "-".to_string(), ms),
        ratio(ours_best, peer_best),
        peer_reusing.map_or_else(|| "errors (500)".to_string(), |peer| format!("{peer:.0}")),
        peer_reusing.map_or_else(String::new, |peer| ratio(ours_reusing, peer)),
        best(&count_rps),
    );
    Ok(())
}

/// A copy of the app with a stateless handler and a world of wasi:http alone, built with
/// the app's own packages (linked, not installed again).
fn hello_variant(wasmctl: &Path, app: &Path, language: &Language) -> Result<PathBuf> {
    let hello = app.with_file_name(format!("{}-hello", language.template));
    let _ = std::fs::remove_dir_all(&hello);
    copy_tree(app, &hello)?;
    let (handler, text) = language.handler;
    std::fs::write(hello.join(handler), text)?;
    std::fs::write(hello.join("wit/world.wit"), HELLO_WORLD)?;
    run_ok(
        Command::new(wasmctl)
            .args(["build", "-q"])
            .current_dir(&hello),
    )?;
    Ok(hello)
}

/// Copies the app's sources; its installed packages are linked, so nothing is installed.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let (source, target) = (entry.path(), to.join(&name));
        if name == "node_modules" || name == ".venv" {
            std::os::unix::fs::symlink(&source, &target)?;
        } else if name == "dist" || name == ".wasmctl" {
            continue;
        } else if entry.file_type()?.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target)?;
            // The copy keeps its source's age, so the build sees no package list newer
            // than the packages it links to and installs nothing.
            let modified = entry.metadata()?.modified()?;
            std::fs::File::options()
                .write(true)
                .open(&target)?
                .set_modified(modified)?;
        }
    }
    Ok(())
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
