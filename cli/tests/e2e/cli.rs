//! The command-line surface: help, global flags, exit codes.

use predicates::prelude::*;

use crate::support::{wasmctl, wasmctl_process};

#[test]
fn help_lists_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let output = wasmctl(dir.path())
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(output).unwrap();
    for command in [
        "new",
        "build",
        "up",
        "watch",
        "deploy",
        "templates",
        "doctor",
        "completions",
    ] {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "`{command}` missing from:\n{help}"
        );
    }
    for flag in ["--quiet", "--verbose", "--color"] {
        assert!(help.contains(flag), "`{flag}` missing from:\n{help}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path()).arg("frobnicate").assert().code(2);
    wasmctl(dir.path())
        .args(["new", "http-rust"])
        .assert()
        .code(2);
    wasmctl(dir.path())
        .args(["--color", "sometimes", "templates", "list"])
        .assert()
        .code(2);
}

#[test]
fn watch_refuses_what_it_cannot_watch() {
    let dir = tempfile::tempdir().unwrap();
    // A bare file or a pulled app has no sources to rebuild.
    wasmctl(dir.path())
        .args(["up", "--watch", "handler.wasm"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    wasmctl(dir.path())
        .args(["watch", "handler.wasm"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unexpected argument 'handler.wasm'",
        ));
    wasmctl(dir.path())
        .args(["watch", "--from", "127.0.0.1:5000/app:v1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unexpected argument '--from'"));
    // No manifest: the usual help on how to get one.
    wasmctl(dir.path())
        .arg("watch")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("could not find `wasmctl.toml`"));
}

#[test]
fn completions_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("wasmctl").and(predicate::str::contains("templates")));
}

/// Runs `wasmctl ARGS` with stdout a pipe whose reader is already gone (as after
/// `| head -1`) and returns (exit code, stderr).
fn with_stdout_closed(args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = wasmctl_process(dir.path())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    for args in [
        &["templates", "list", "--json"][..],
        &["templates", "list"],
        &["completions", "bash"],
        &["doctor", "--json"],
    ] {
        let (code, stderr) = with_stdout_closed(args);
        assert!(!stderr.contains("panicked"), "wasmctl {args:?}: {stderr}");
        assert!(!stderr.contains("error"), "wasmctl {args:?}: {stderr}");
        assert_eq!(code, Some(0), "wasmctl {args:?}: {stderr}");
    }
}

/// The JSON document a failed `--json` command prints on stdout (exit 1); its stderr
/// stays the text people read.
fn json_error(command: &mut assert_cmd::Command) -> serde_json::Value {
    let output = command.assert().code(1).get_output().clone();
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with("error: "),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn a_failed_json_command_prints_its_error_and_help_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let report = json_error(wasmctl(dir.path()).args(["build", "--json", "--manifest", "nosuch"]));
    let error = &report["error"];
    assert_eq!(
        error["message"], "`nosuch` (given with --manifest) does not exist",
        "{report}"
    );
    assert_eq!(error["causes"], serde_json::json!([]), "{report}");
    let help = error["help"][0].as_str().unwrap_or_default();
    assert!(
        help.starts_with("pass the path of an app's wasmctl.toml"),
        "{report}"
    );
}

#[test]
fn a_json_build_of_an_unknown_component_suggests_one() {
    let app = crate::support::testdata().join("errors/31-unknown-component-flag");
    let report = json_error(wasmctl(&app).args(["build", "--json", "--component", "apu"]));
    let error = &report["error"];
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("no component `apu` in `"), "{report}");
    assert!(!message.contains("help"), "{report}");
    let help = error["help"][0].as_str().unwrap_or_default();
    assert!(help.starts_with("did you mean `api`?"), "{report}");
}

#[test]
fn a_json_build_of_a_bad_manifest_reports_each_problem_with_its_help() {
    let app = crate::support::testdata().join("errors/01-unknown-key");
    let report = json_error(wasmctl(&app).args(["build", "--json"]));
    let error = &report["error"];
    assert_eq!(
        error["message"], "wasmctl.toml:11:1: unknown key `sorce`",
        "{report}"
    );
    let help = error["help"][0].as_str().unwrap_or_default();
    assert!(help.starts_with("did you mean `source`?"), "{report}");
}

#[test]
fn a_json_manifest_error_lists_every_problem_with_its_own_help() {
    let app = crate::support::testdata().join("errors/92-every-manifest-problem-at-once");
    let report = json_error(wasmctl(&app).args(["build", "--json"]));
    let error = &report["error"];
    // Problems 2 and 3 are no causes of problem 1.
    assert_eq!(error["causes"], serde_json::json!([]), "{report}");
    let problems = error["problems"].as_array().unwrap();
    let lines: Vec<_> = problems.iter().map(|p| p["line"].as_u64()).collect();
    assert_eq!(lines, [Some(8), Some(9), Some(10)], "{report}");
    for problem in problems {
        assert_eq!(problem["file"], "wasmctl.toml", "{report}");
        assert!(problem["column"].as_u64().is_some(), "{report}");
        assert!(!problem["message"].as_str().unwrap().is_empty(), "{report}");
    }
    assert_eq!(
        error["message"],
        format!(
            "wasmctl.toml:8:{}: {}",
            problems[0]["column"],
            problems[0]["message"].as_str().unwrap()
        ),
        "{report}"
    );
}

#[test]
fn a_json_error_reaches_stdout_when_stderr_is_closed() {
    let app = crate::support::testdata().join("errors/31-unknown-component-flag");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = wasmctl_process(&app)
        .args(["build", "--json", "--component", "apu"])
        .stdin(std::process::Stdio::null())
        .stderr(writer)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("no component `apu`"),
        "{report}"
    );
}

/// Options that only mean something with --from or --watch are refused, by name, in
/// every combination where they would be silently ignored.
#[test]
fn options_that_need_from_or_watch_are_refused_without_them() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["up", "--insecure", "--watch"][..],
        &["up", "--insecure", "--build"],
        &["up", "--insecure", "--debug"],
        &["up", "--insecure", "--manifest", "wasmctl.toml"],
        &["up", "handler.wasm", "--clear"],
        &["up", "handler.wasm", "--insecure"],
        &["up", "--from", "127.0.0.1:5000/app:v1", "--clear"],
    ] {
        wasmctl(dir.path())
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("cannot be used with"));
    }
}
