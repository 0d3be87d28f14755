//! `wasmctl build` and `wasmctl doctor`: real cargo builds of real fixtures.

use predicates::prelude::*;
use predicates::str::contains;

use crate::support::{COMPONENT_HEADER, build_guest, fresh_app, template_app, testdata, wasmctl};

#[test]
fn template_app_builds_into_a_validated_component() {
    let app = template_app();
    let output = wasmctl(app)
        .args(["build", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let component = &report["components"][0];
    assert_eq!(component["id"], "svc");
    assert_eq!(component["componentized"], false);
    assert_eq!(component["world"], "wasmctl:host/http-app");
    let exports = component["exports"].as_array().unwrap();
    assert!(
        exports
            .iter()
            .any(|e| e == "wasi:http/incoming-handler@0.2.12"),
        "{exports:?}"
    );
    let path = component["path"].as_str().unwrap();
    assert!(
        path.ends_with("target/wasm32-wasip2/release/svc.wasm"),
        "{path}"
    );
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes[..8], COMPONENT_HEADER);
    assert_eq!(component["size"], bytes.len());
}

#[test]
fn human_report_has_one_line_per_component() {
    let output = wasmctl(template_app())
        .arg("build")
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout.lines().next().unwrap();
    assert!(line.starts_with("svc "), "{line}");
    assert!(
        line.contains("KiB") && line.contains("wasmctl:host/http-app"),
        "{line}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("Built svc"));
}

#[test]
fn wasip1_core_module_is_componentized_into_the_proxy_world() {
    let output = build_guest("wasip1-handler")
        .success()
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(output).unwrap();
    assert!(stdout.contains("wasi:http/proxy@0.2.12"), "{stdout}");
    let component =
        testdata().join("guests/target/wasm32-wasip1/release/wasip1_handler.component.wasm");
    assert_eq!(std::fs::read(component).unwrap()[..8], COMPONENT_HEADER);
}

#[test]
fn command_component_is_another_world() {
    build_guest("cli-command").code(1).stderr(
        contains("does not export `wasi:http/incoming-handler@0.2.x`")
            .and(contains("it exports: wasi:cli/run@0.2.0"))
            .and(contains("this is a wasi:cli command")),
    );
}

#[test]
fn socket_imports_are_refused_by_name() {
    build_guest("uses-sockets").code(1).stderr(
        contains("uses_sockets.wasm` cannot run under `wasmctl up`")
            .and(contains(
                "imports `wasi:sockets/instance-network@0.2.12`, `wasi:sockets/network@0.2.12`, which wasmctl up does not provide",
            ))
            .and(contains("allowed_outbound_hosts")),
    );
}

#[test]
fn library_without_cdylib_has_no_artifact() {
    build_guest("plain-lib").code(1).stderr(
        contains("cargo built package `plain-lib` but it produced no `.wasm` file")
            .and(contains("crate-type = [\"cdylib\"]")),
    );
}

#[test]
fn core_module_without_type_information() {
    build_guest("no-component-type").code(1).stderr(
        contains("is a core module without component type information")
            .and(contains("wit-bindgen")),
    );
}

fn build_bad(app: &str) -> assert_cmd::assert::Assert {
    let dir = testdata().join("bad").join(app);
    wasmctl(&dir).arg("build").assert().code(1)
}

#[test]
fn not_wasm_file() {
    build_bad("not-wasm").stderr(contains("not-wasm.wasm` is not a WebAssembly file: it does not start with the `\\0asm` magic number"));
}

#[test]
fn truncated_file() {
    build_bad("truncated").stderr(contains(
        "truncated.wasm` is not valid WebAssembly (truncated or corrupt?): unexpected end-of-file",
    ));
}

#[test]
fn missing_source_without_build() {
    build_bad("missing-source").stderr(
        contains("the source of component `app`")
            .and(contains("app.wasm`, does not exist"))
            .and(contains("has no build table")),
    );
}

#[test]
fn failing_build_command_shows_command_directory_and_output() {
    build_bad("failing-command").stderr(
        contains("`echo compiling app; echo 'error: the frobnicator is on fire' >&2; exit 3` failed (exit status: 3)")
            .and(contains("testdata/bad/failing-command`"))
            .and(contains("  | error: the frobnicator is on fire")),
    );
}

#[test]
fn manifest_source_must_match_what_cargo_built() {
    let dir = fresh_app(|text| text.replace("release/svc.wasm", "release/other.wasm"));
    // Share the template app's build output: only the manifest differs.
    let target = template_app().join("target");
    std::os::unix::fs::symlink(&target, dir.path().join("svc/target")).unwrap();
    wasmctl(&dir.path().join("svc")).arg("build").assert().code(1).stderr(
        contains("cargo built `")
            .and(contains("but the source of component `svc` in wasmctl.toml is `target/wasm32-wasip2/release/other.wasm`"))
            .and(contains("set `source = \"target/wasm32-wasip2/release/svc.wasm\"` in `[component.svc]`")),
    );
}

#[test]
fn unknown_component_is_named() {
    wasmctl(template_app())
        .args(["build", "-c", "svx"])
        .assert()
        .code(1)
        .stderr(contains("no component `svx`").and(contains("components: svc")));
}

#[test]
fn missing_manifest_says_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .arg("build")
        .assert()
        .code(1)
        .stderr(contains("could not find `wasmctl.toml`").and(contains("wasmctl new http-rust")));
}

#[test]
fn missing_cargo_is_explained() {
    let dir = fresh_app(|text| text);
    wasmctl(&dir.path().join("svc"))
        .arg("build")
        .env_remove("CARGO")
        .env("PATH", "/nonexistent")
        .assert()
        .code(1)
        .stderr(contains("`cargo` was not found on PATH").and(contains("https://rustup.rs")));
}

#[test]
fn missing_rust_target_names_the_rustup_command() {
    // wasm32-unknown-unknown is a target wasmctl accepts and that neither CI nor
    // install.sh installs; if a developer has it, this path cannot be exercised.
    if wasmctl::build::toolchain::target_installed("wasm32-unknown-unknown").unwrap() {
        eprintln!("skipped: wasm32-unknown-unknown is installed here");
        return;
    }
    let dir = fresh_app(|text| {
        text.replace(
            "cargo = { package = \"svc\" }",
            "cargo = { package = \"svc\", target = \"wasm32-unknown-unknown\" }",
        )
    });
    wasmctl(&dir.path().join("svc"))
        .arg("build")
        .assert()
        .code(1)
        .stderr(
            contains("the Rust target `wasm32-unknown-unknown` is not installed")
                .and(contains("rustup target add wasm32-unknown-unknown")),
        );
}

#[test]
fn doctor_passes_in_a_built_app() {
    let output = wasmctl(template_app())
        .args(["doctor", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(report["ok"], true);
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cargo",
            "rustup",
            "rust target wasm32-wasip2",
            "manifest",
            "component svc"
        ]
    );
}

#[test]
fn doctor_fails_with_fixes() {
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .arg("doctor")
        .assert()
        .code(1)
        .stdout(contains("✗ manifest: no wasmctl.toml here").and(contains("fix: cd into an app")))
        .stderr(contains("1 of 4 checks failed"));
    wasmctl(&testdata().join("bad/not-wasm"))
        .arg("doctor")
        .assert()
        .code(1)
        .stdout(contains("✗ component not-wasm").and(contains("is not a WebAssembly file")));
}

#[test]
fn build_reports_every_manifest_problem_in_file_order() {
    // serde meets `enviroment` (line 9) before `limits` (line 8): keys come sorted.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wasmctl.toml"),
        "manifest_version = 1\n[application]\nname = \"shop\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"api\"\n[component.api]\nlimits = { timeout = 30 }\nenviroment = { MODE = \"dev\" }\nsource = \"api.wasm\"\n",
    )
    .unwrap();
    let output = wasmctl(dir.path()).arg("build").assert().code(1);
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    let line_8 = stderr.find("wrong type: expected a string, in quotes, found integer `30`");
    let at_8 = stderr.find("wasmctl.toml:8:22");
    let line_9 = stderr.find("unknown key `enviroment`");
    let at_9 = stderr.find("wasmctl.toml:9:1");
    assert!(
        line_8.is_some() && at_8.is_some() && line_9.is_some() && at_9.is_some(),
        "{stderr}"
    );
    assert!(line_8 < at_8 && at_8 < line_9 && line_9 < at_9, "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 2, "{stderr}");
}
