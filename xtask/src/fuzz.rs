//! `cargo xtask fuzz [--seconds N] [--sanitizer none|address] [TARGET...]`: builds the
//! cargo-fuzz targets in `fuzz/` once, runs each for N seconds on a scratch copy of its
//! seed corpus, and prints runs, executions per second and crashes per target.
//!
//! Without a sanitizer (the default) it builds with the toolchain `cargo xtask` runs on:
//! libFuzzer's coverage flags are stable, and the build and the runs are faster (about
//! 3 instead of 4 minutes cold on 2 cores; 4 to 5 times the executions per second).
//! `--sanitizer address` needs nightly; it adds little to safe Rust.
//!
//! The seeds in `testdata/fuzz/<target>/` never change: libFuzzer grows the copy under
//! `target/fuzz-corpus/<target>/` (kept between runs, so local runs build on each other);
//! `testdata/fuzz/<target>.dict`, if there is one, is libFuzzer's dictionary.
//! Crashes land in `fuzz/artifacts/<target>/`. See docs/fuzzing.md.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::root;

/// Every target in `fuzz/fuzz_targets/`.
const TARGETS: [&str; 6] = [
    "manifest",
    "template",
    "wasm",
    "router",
    "artifact",
    "spin-lock",
];

/// The cargo-fuzz version this was written and measured with.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Longest time one input may take before libFuzzer calls it a hang (a crash).
const INPUT_TIMEOUT_SECONDS: u64 = 10;

const USAGE: &str = "cargo xtask fuzz [--seconds N] [--sanitizer none|address] [TARGET...]";

struct Options {
    seconds: u64,
    sanitizer: String,
    targets: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            seconds: 60,
            sanitizer: "none".to_string(),
            targets: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    let value = args.next().context("--seconds needs a value")?;
                    options.seconds = value
                        .parse()
                        .ok()
                        .filter(|seconds| *seconds > 0)
                        .with_context(|| {
                            format!("--seconds `{value}` is not a whole number above 0")
                        })?;
                }
                "--sanitizer" => {
                    let value = args.next().context("--sanitizer needs a value")?;
                    if !["address", "none"].contains(&value.as_str()) {
                        bail!("--sanitizer `{value}`: use `address` or `none`");
                    }
                    options.sanitizer = value.clone();
                }
                target if TARGETS.contains(&target) => {
                    if !options.targets.iter().any(|t| t == target) {
                        options.targets.push(target.to_string());
                    }
                }
                other => bail!(
                    "unknown fuzz target or option `{other}`\nusage: {USAGE}\ntargets: {}",
                    TARGETS.join(", ")
                ),
            }
        }
        if options.targets.is_empty() {
            options.targets = TARGETS.map(String::from).to_vec();
        }
        Ok(options)
    }

    /// `+nightly` for AddressSanitizer, whose flags are unstable; otherwise the toolchain
    /// `cargo xtask` runs on.
    fn toolchain(&self) -> Option<&'static str> {
        (self.sanitizer != "none").then_some("+nightly")
    }

    /// The command line, as a user would type it.
    fn cargo_fuzz(&self) -> String {
        match self.toolchain() {
            Some(toolchain) => format!("cargo {toolchain} fuzz"),
            None => "cargo fuzz".to_string(),
        }
    }
}

/// What one run reported.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    runs: Option<u64>,
    execs_per_second: Option<u64>,
    /// Where libFuzzer wrote the input that crashed (or hung), if one did.
    crash: Option<String>,
    /// Where libFuzzer wrote an input that took longer than `-report_slow_units` (10 s)
    /// and yet less than `-timeout` (also 10 s: a unit that runs that long is a
    /// `timeout-` crash first). Only a process stopped mid-unit (a paused or starved
    /// machine) gets there, so it is reported, not failed.
    slow: Option<String>,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("usage: {USAGE}\ntargets: {}", TARGETS.join(", "));
        return Ok(());
    }
    let options = Options::parse(args)?;
    check_tools(&options)?;
    let root = root();

    let mut build = fuzz_command(&options);
    build.arg("build");
    add_build_flags(&mut build, &options);
    let line = format!("{} build -s {}", options.cargo_fuzz(), options.sanitizer);
    eprintln!("xtask: {line}");
    let status = build
        .status()
        .with_context(|| format!("running `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }

    let mut results = Vec::new();
    for target in &options.targets {
        let corpus = scratch_corpus(&root, target)?;
        eprintln!(
            "xtask: fuzzing `{target}` for {}s (corpus {})",
            options.seconds,
            corpus.display()
        );
        let outcome = fuzz_one(&options, target, &corpus)?;
        results.push((target.clone(), outcome));
    }

    println!(
        "\n{:<10} {:>12} {:>10} {:>8}",
        "target", "runs", "exec/s", "crashes"
    );
    for (target, outcome) in &results {
        let number = |n: Option<u64>| n.map_or("?".to_string(), |n| n.to_string());
        println!(
            "{:<10} {:>12} {:>10} {:>8}",
            target,
            number(outcome.runs),
            number(outcome.execs_per_second),
            usize::from(outcome.crash.is_some())
        );
    }
    for (target, outcome) in &results {
        if let Some(file) = &outcome.slow {
            eprintln!(
                "xtask: `{target}` was stopped for over {INPUT_TIMEOUT_SECONDS}s in one input ({file}) without timing out: the machine stalled; not a failure"
            );
        }
    }
    let crashed: Vec<_> = results
        .iter()
        .filter_map(|(target, outcome)| Some((target, outcome.crash.as_ref()?)))
        .collect();
    if crashed.is_empty() {
        eprintln!("xtask: fuzz passed, no crashes");
        return Ok(());
    }
    for (target, file) in &crashed {
        eprintln!(
            "\ncrash in `{target}`: {file}\n  reproduce: {} run -s {} {target} {file}\n  \
             then fix it, add a regression test next to the code, and keep the input in testdata/fuzz/{target}/",
            options.cargo_fuzz(),
            options.sanitizer
        );
    }
    bail!("{} fuzz target(s) crashed", crashed.len())
}

/// Nightly (for a sanitizer) and cargo-fuzz, or exactly how to get them.
fn check_tools(options: &Options) -> Result<()> {
    if options.toolchain().is_some() {
        let toolchains = Command::new("rustup")
            .args(["toolchain", "list"])
            .output()
            .context("running `rustup toolchain list` (is rustup installed? https://rustup.rs)")?;
        let listed = String::from_utf8_lossy(&toolchains.stdout);
        if !listed.lines().any(|line| line.starts_with("nightly")) {
            bail!(
                "--sanitizer {} needs a nightly toolchain (the sanitizer flags are unstable)\n\
                 help: rustup toolchain install nightly --profile minimal, or fuzz with --sanitizer none",
                options.sanitizer
            );
        }
    }
    let version = fuzz_command(options).arg("--version").output();
    match version {
        Ok(output) if output.status.success() => Ok(()),
        _ => bail!(
            "cargo-fuzz is not installed\n\
             help: cargo install cargo-fuzz --version {CARGO_FUZZ_VERSION} --locked"
        ),
    }
}

/// `cargo [+nightly] fuzz` in the repository root. cargo-fuzz runs `cargo` from PATH
/// (rustup's proxy); the paths `cargo xtask` was given must not pin another toolchain.
fn fuzz_command(options: &Options) -> Command {
    let mut command = Command::new("cargo");
    if let Some(toolchain) = options.toolchain() {
        command.arg(toolchain).env_remove("RUSTUP_TOOLCHAIN");
    }
    command
        .arg("fuzz")
        .current_dir(root())
        .env_remove("CARGO")
        .env_remove("RUSTC");
    command
}

fn add_build_flags(command: &mut Command, options: &Options) {
    command
        .args(["--fuzz-dir", "fuzz", "--sanitizer"])
        .arg(&options.sanitizer);
}

/// A fresh copy of the committed seeds, plus whatever earlier runs found.
fn scratch_corpus(root: &Path, target: &str) -> Result<PathBuf> {
    let seeds = root.join("testdata/fuzz").join(target);
    let corpus = root.join("target/fuzz-corpus").join(target);
    std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    for entry in
        std::fs::read_dir(&seeds).with_context(|| format!("reading {}", seeds.display()))?
    {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), corpus.join(entry.file_name()))
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(corpus)
}

/// Runs one target for the allotted time, echoing libFuzzer's log minus its
/// new-coverage chatter, and reads its final statistics.
fn fuzz_one(options: &Options, target: &str, corpus: &Path) -> Result<Outcome> {
    let mut command = fuzz_command(options);
    command.arg("run");
    add_build_flags(&mut command, options);
    command
        .arg(target)
        .arg(corpus)
        .arg("--")
        .arg(format!("-max_total_time={}", options.seconds))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        // Slow units are reported at the timeout: one only a stalled process reaches.
        .arg(format!("-report_slow_units={INPUT_TIMEOUT_SECONDS}"))
        .arg("-print_final_stats=1");
    // Tokens libFuzzer splices in: keywords it would take long to guess byte by byte.
    let dictionary = root().join(format!("testdata/fuzz/{target}.dict"));
    if dictionary.is_file() {
        command.arg(format!("-dict={}", dictionary.display()));
    }
    command.stdout(Stdio::inherit()).stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .with_context(|| format!("running `{} run {target}`", options.cargo_fuzz()))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut log = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.context("reading libFuzzer's output")?;
        if !is_chatter(&line) {
            eprintln!("{line}");
        }
        log.push_str(&line);
        log.push('\n');
    }
    let status = child.wait()?;
    let mut outcome = parse_log(&log);
    if !status.success() && outcome.crash.is_none() {
        outcome.crash = Some(format!(
            "(none written; `cargo fuzz run` exited with {status})"
        ));
    }
    Ok(outcome)
}

/// libFuzzer's progress lines (`#123\tNEW ...`, `REDUCE`, `pulse`): thousands in a run.
fn is_chatter(line: &str) -> bool {
    progress(line).is_some_and(|(_, event)| event != "DONE")
}

/// `#65536\tpulse  cov: ...` → (65536, "pulse").
fn progress(line: &str) -> Option<(u64, &str)> {
    let mut words = line.strip_prefix('#')?.split_whitespace();
    let runs = words.next()?.parse().ok()?;
    Some((runs, words.next().unwrap_or_default()))
}

/// Reads runs and speed from the `stat::` lines (`-print_final_stats=1`), else from the
/// last `#N DONE ... exec/s: M` (or `#N ...`) line, and the crash file from "Test unit
/// written to".
fn parse_log(log: &str) -> Outcome {
    let mut outcome = Outcome::default();
    let (mut stat_runs, mut stat_speed) = (None, None);
    for line in log.lines() {
        if let Some(value) = line.strip_prefix("stat::number_of_executed_units:") {
            stat_runs = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("stat::average_exec_per_sec:") {
            stat_speed = value.trim().parse().ok();
        } else if let Some((runs, event)) = progress(line) {
            outcome.runs = Some(runs);
            if event == "DONE" {
                outcome.execs_per_second = line
                    .split("exec/s:")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|n| n.parse().ok());
            }
        } else if let Some((_, file)) = line.split_once("Test unit written to ") {
            let file = file.trim().to_string();
            let name = Path::new(&file).file_name().and_then(|name| name.to_str());
            if name.is_some_and(|name| name.starts_with("slow-unit-")) {
                outcome.slow = Some(file);
            } else {
                outcome.crash = Some(file);
            }
        }
    }
    outcome.runs = stat_runs.or(outcome.runs);
    outcome.execs_per_second = stat_speed.or(outcome.execs_per_second);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_final_stats_of_a_clean_run() {
        let log = "INFO: Seed: 1\n\
                   #2\tINITED cov: 10 ft: 10 corp: 1/1b exec/s: 0 rss: 30Mb\n\
                   #65536\tpulse  cov: 90 ft: 200 corp: 40/900b lim: 100 exec/s: 21845 rss: 60Mb\n\
                   #98304\tDONE   cov: 95 ft: 210 corp: 44/990b lim: 100 exec/s: 32768 rss: 61Mb\n\
                   Done 98304 runs in 3 second(s)\n";
        assert_eq!(
            parse_log(log),
            Outcome {
                runs: Some(98304),
                execs_per_second: Some(32768),
                crash: None,
                slow: None,
            }
        );
        // `stat::` lines, when present, are the final word.
        let log = format!(
            "{log}stat::number_of_executed_units: 98310\nstat::average_exec_per_sec:     32770\n"
        );
        assert_eq!(parse_log(&log).runs, Some(98310));
        assert_eq!(parse_log(&log).execs_per_second, Some(32770));
    }

    #[test]
    fn finds_the_crash_file() {
        let log = "#4096\tpulse  cov: 90 ft: 200 corp: 40/900b exec/s: 2048 rss: 60Mb\n\
                   thread '<unnamed>' panicked at fuzz_targets/router.rs:50:9\n\
                   ==12== ERROR: libFuzzer: deadly signal\n\
                   artifact_prefix='/r/fuzz/artifacts/router/'; Test unit written to /r/fuzz/artifacts/router/crash-da39a3ee\n\
                   stat::number_of_executed_units: 4100\n";
        let outcome = parse_log(log);
        assert_eq!(
            outcome.crash.as_deref(),
            Some("/r/fuzz/artifacts/router/crash-da39a3ee")
        );
        assert_eq!(outcome.runs, Some(4100));
        // What a stall of the whole machine leaves (CI, 2026-12-03: 53 s in an input
        // that runs in 1 ms): a slow unit, without a timeout.
        let stalled = parse_log(
            "artifact_prefix='fuzz/artifacts/artifact/'; Test unit written to fuzz/artifacts/artifact/slow-unit-75ad945b\n\
             stat::slowest_unit_time_sec:    53\n",
        );
        assert_eq!(stalled.crash, None);
        assert_eq!(
            stalled.slow.as_deref(),
            Some("fuzz/artifacts/artifact/slow-unit-75ad945b")
        );
        assert!(!is_chatter("==12== ERROR: libFuzzer: deadly signal"));
        assert!(!is_chatter("#98304\tDONE   cov: 95 exec/s: 32768"));
        assert!(is_chatter("#4096\tNEW    cov: 90 ft: 200 corp: 40/900b"));
    }

    #[test]
    fn options_default_to_every_target_for_a_minute_without_sanitizer() {
        let options = Options::parse(&[]).unwrap();
        assert_eq!(options.targets, TARGETS);
        assert_eq!(options.seconds, 60);
        assert_eq!(options.cargo_fuzz(), "cargo fuzz");
        let args = ["--seconds", "5", "--sanitizer", "address", "router"].map(String::from);
        let options = Options::parse(&args).unwrap();
        assert_eq!(options.cargo_fuzz(), "cargo +nightly fuzz");
        assert_eq!(
            (options.seconds, options.targets),
            (5, vec!["router".to_string()])
        );
        assert!(Options::parse(&["--seconds".into(), "0".into()]).is_err());
        assert!(Options::parse(&["nope".into()]).is_err());
    }
}
