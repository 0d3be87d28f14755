//! `wasmctl build` and `wasmctl doctor`: real cargo builds of real fixtures.

use predicates::prelude::*;
use predicates::str::contains;

use crate::support::{
    COMPONENT_HEADER, build_guest, edit_file, fresh_app, get, guest_target_dir, json_stdout, serve,
    serve_with, template_app, testdata, wasmctl,
};

#[test]
fn template_app_builds_into_a_validated_component() {
    let app = template_app();
    let report = json_stdout(wasmctl(app).args(["build", "--json"]));
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
fn a_component_validated_before_is_taken_from_its_record() {
    let app = template_app();
    let cache = tempfile::tempdir().unwrap();
    let build = || {
        let mut command = wasmctl(app);
        command
            .env("WASMCTL_CACHE_DIR", cache.path())
            .args(["build", "--json"]);
        json_stdout(&mut command)
    };
    assert_eq!(build()["components"][0]["world"], "wasmctl:host/http-app");
    let records: Vec<_> = std::fs::read_dir(cache.path().join("validated"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    let name = record.file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with(".json"), "{name}");

    // The same bytes are not validated again: the record is the answer.
    std::fs::write(
        record,
        r#"{"world":"recorded:world","imports":[],"exports":[]}"#,
    )
    .unwrap();
    assert_eq!(build()["components"][0]["world"], "recorded:world");

    // A record that is not one is ignored, and written again.
    std::fs::write(record, "not json").unwrap();
    assert_eq!(build()["components"][0]["world"], "wasmctl:host/http-app");
    assert!(
        std::fs::read_to_string(record)
            .unwrap()
            .contains("wasmctl:host/http-app")
    );
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
fn wasip1_core_module_is_componentized_with_the_reactor_adapter() {
    let output = build_guest("wasip1-handler")
        .success()
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(output).unwrap();
    // The adapter imports wasi:cli and wasi:filesystem, so the module's environment and
    // granted files work: a world beyond wasi:http/proxy.
    assert!(stdout.contains("wasmctl:host/http-app"), "{stdout}");
    let component =
        testdata().join("guests/target/wasm32-wasip1/release/wasip1_handler.component.wasm");
    assert_eq!(std::fs::read(component).unwrap()[..8], COMPONENT_HEADER);
}

#[test]
fn command_component_is_another_world() {
    build_guest("cli-command").code(1).stderr(
        contains("exports neither `wasi:http/incoming-handler@0.2.x` (WASI 0.2) nor `wasi:http/handler@0.3.x` (WASI 0.3)")
            .and(contains("it exports: wasi:cli/run@0.2.0"))
            .and(contains("this is a wasi:cli command")),
    );
}

#[test]
fn socket_imports_link_and_every_use_is_denied() {
    // CPython (componentize-py) imports wasi:sockets whether or not the app uses it, so
    // the host links the interfaces and refuses every use before any socket is opened.
    build_guest("uses-sockets").success();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        testdata().join("guests/target/wasm32-wasip2/release/uses_sockets.wasm"),
        dir.path().join("sockets.wasm"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("wasmctl.toml"),
        "manifest_version = 1\n[application]\nname = \"sockets\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"sockets\"\n[component.sockets]\nsource = \"sockets.wasm\"\nallowed_outbound_hosts = [\"*://*:*\"]\n",
    )
    .unwrap();
    let server = serve(dir.path(), &[]);
    let (status, body) = get(&server.url("/"));
    assert_eq!(status, 200, "{body}");
    // Even with every outbound host allowed for wasi:http: sockets are another door.
    assert_eq!(
        body,
        // wasmtime answers a lookup that is not allowed as a resolver failure.
        "tcp: access-denied\nudp: access-denied\nlookup: permanent-resolver-failure\n"
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
    let output = build_bad("failing-command")
        .stderr(
            contains("`echo compiling app; echo 'error: the frobnicator is on fire' >&2; exit 3` failed (exit status: 3)")
                .and(contains("testdata/bad/failing-command`; its messages are above")),
        )
        .get_output()
        .clone();
    // Streamed once as the command ran; not repeated in the error.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let printed = stderr
        .lines()
        .filter(|line| line.ends_with("error: the frobnicator is on fire"))
        .count();
    assert_eq!(printed, 1, "{stderr}");

    // With --quiet nothing streamed, so the error carries the last lines.
    wasmctl(&testdata().join("bad/failing-command"))
        .args(["build", "-q"])
        .assert()
        .code(1)
        .stderr(contains("  | error: the frobnicator is on fire"));
}

/// A freshly rendered template app, and a cargo target directory outside it (as with
/// `CARGO_TARGET_DIR` or `build.target-dir` on a real machine), shared by the tests that
/// use it so the template's dependencies compile once.
///
/// Each test names its crate (`crate_name`) while the app and its component stay `svc`:
/// cargo gives same-named crates of different directories the same artifacts in one
/// target directory, so tests building different code under one name would race for
/// them. (A crate named otherwise than `source` also shows the copy to `source` at work.)
fn app_with_foreign_target_dir(crate_name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    app_with_foreign_target_dir_and(crate_name, |text| text)
}

/// The same, with the app's `wasmctl.toml` edited by `edit`.
fn app_with_foreign_target_dir_and(
    crate_name: &str,
    edit: impl Fn(String) -> String,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = fresh_app(|text| {
        edit(text.replace(
            "cargo = { package = \"svc\" }",
            &format!("cargo = {{ package = \"{crate_name}\" }}"),
        ))
    });
    edit_file(&dir.path().join("svc/Cargo.toml"), |text| {
        text.replace("name = \"svc\"", &format!("name = \"{crate_name}\""))
    });
    (dir, guest_target_dir())
}

/// Builds a fresh app (its manifest edited by `edit`) with `CARGO_TARGET_DIR` outside it,
/// and checks the component landed at `source`.
fn build_with_target_dir_elsewhere(
    crate_name: &str,
    edit: impl Fn(String) -> String,
    source: &str,
) -> tempfile::TempDir {
    let (dir, target_dir) = app_with_foreign_target_dir_and(crate_name, edit);
    let app = dir.path().join("svc");
    wasmctl(&app)
        .arg("build")
        .env("CARGO_TARGET_DIR", &target_dir)
        .assert()
        .success()
        .stderr(contains(format!("Built svc → {source}")));
    assert_eq!(
        std::fs::read(app.join(source)).unwrap()[..8],
        COMPONENT_HEADER
    );
    dir
}

#[test]
fn the_component_lands_at_source_whatever_cargo_target_dir_is() {
    let dir = build_with_target_dir_elsewhere(
        "lands_at_source",
        |text| text,
        "target/wasm32-wasip2/release/svc.wasm",
    );
    let app = dir.path().join("svc");
    // Nothing else of cargo's went into the app: its target dir is elsewhere.
    assert!(!app.join("target/wasm32-wasip2/release/deps").exists());
    let server = serve(&app, &[]);
    assert_eq!(
        get(&server.url("/hello/you")),
        (200, "Hello, you!\n".into())
    );
}

#[test]
fn the_component_lands_at_source_with_a_target_dir_in_cargo_config() {
    let (dir, target_dir) = app_with_foreign_target_dir("cargo_config_target_dir");
    let app = dir.path().join("svc");
    std::fs::create_dir(app.join(".cargo")).unwrap();
    std::fs::write(
        app.join(".cargo/config.toml"),
        format!(
            "[build]\ntarget-dir = {:?}\n",
            target_dir.display().to_string()
        ),
    )
    .unwrap();
    wasmctl(&app).arg("build").assert().success();
    let built = std::fs::read(app.join("target/wasm32-wasip2/release/svc.wasm")).unwrap();
    assert_eq!(built[..8], COMPONENT_HEADER);
    assert!(!app.join("target/release").exists());
}

#[test]
fn a_source_other_than_cargos_path_gets_the_component() {
    build_with_target_dir_elsewhere(
        "lands_in_dist",
        |text| text.replace("target/wasm32-wasip2/release/svc.wasm", "dist/svc.wasm"),
        "dist/svc.wasm",
    );
}

#[test]
fn debug_builds_just_work() {
    let (dir, target_dir) = app_with_foreign_target_dir("debug_build");
    let app = dir.path().join("svc");
    let output = wasmctl(&app)
        .args(["build", "--debug", "--json"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .assert()
        .success()
        .stderr(contains("Built svc → .wasmctl/debug/svc.wasm"))
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let path = report["components"][0]["path"].as_str().unwrap();
    assert!(path.ends_with(".wasmctl/debug/svc.wasm"), "{path}");
    // The release `source` is left alone: a debug build is never deployed by mistake.
    assert!(!app.join("target/wasm32-wasip2/release/svc.wasm").exists());

    // `up --debug` serves the debug build; `up` wants the release build first.
    let server = serve(&app, &["--debug"]);
    assert_eq!(get(&server.url("/")), (200, "Hello from svc!\n".into()));
    drop(server);
    wasmctl(&app).arg("up").assert().code(1).stderr(
        contains(
            "component `svc` is not built yet: `target/wasm32-wasip2/release/svc.wasm` does not exist",
        )
        .and(contains("help: run `wasmctl build` (or `wasmctl up --build`)")),
    );

    // `up --build --debug` builds the debug variant, then serves it.
    let server = serve_with(
        &app,
        &["--build", "--debug"],
        &[("CARGO_TARGET_DIR", target_dir.to_str().unwrap())],
    );
    assert_eq!(
        get(&server.url("/hello/debug")),
        (200, "Hello, debug!\n".into())
    );
    assert!(
        server
            .stderr()
            .contains("Built svc → .wasmctl/debug/svc.wasm"),
        "{}",
        server.stderr()
    );
    drop(server);

    // `.wasmctl/debug` is wasmctl's own: a link planted there is refused, not written through.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::remove_dir_all(app.join(".wasmctl/debug")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), app.join(".wasmctl/debug")).unwrap();
    wasmctl(&app)
        .args(["build", "--debug"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .assert()
        .code(1)
        .stderr(contains(".wasmctl/debug` is a symbolic link"));
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn compile_errors_are_shown_once() {
    let (dir, target_dir) = app_with_foreign_target_dir("compile_error");
    let app = dir.path().join("svc");
    edit_file(&app.join("src/main.rs"), |code| {
        code.replace("fn text(", "fn text(oops: Frobnicator, ")
    });
    let output = wasmctl(&app)
        .arg("build")
        .env("CARGO_TARGET_DIR", &target_dir)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("cannot find type `Frobnicator`").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("`cargo build --target wasm32-wasip2 --release` failed")
            && stderr.contains("its messages are above"),
        "{stderr}"
    );
    assert!(!stderr.contains("--message-format"), "{stderr}");
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
    if wasmctl::build::toolchain::target_installed(
        "wasm32-unknown-unknown",
        std::path::Path::new("."),
    )
    .unwrap()
    {
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
    let report = json_stdout(wasmctl(template_app()).args(["doctor", "--json"]));
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
        .stdout(
            contains("✗ manifest: no wasmctl.toml (or Spin's spin.toml) here")
                .and(contains("fix: cd into an app")),
        )
        .stderr(contains("1 of 4 checks failed"));
    wasmctl(&testdata().join("bad/not-wasm"))
        .arg("doctor")
        .assert()
        .code(1)
        .stdout(contains("✗ component not-wasm").and(contains("is not a WebAssembly file")));
}

#[test]
fn doctor_says_not_built_and_stale() {
    let (dir, target_dir) = app_with_foreign_target_dir("not_built_then_stale");
    let app = dir.path().join("svc");
    wasmctl(&app).arg("doctor").assert().code(1).stdout(
        contains("✗ component svc: not built yet: `target/wasm32-wasip2/release/svc.wasm` does not exist")
            .and(contains("fix: run `wasmctl build`")),
    );
    wasmctl(&app)
        .arg("build")
        .env("CARGO_TARGET_DIR", &target_dir)
        .assert()
        .success();
    wasmctl(&app).arg("doctor").assert().success();
    // An edit after the build: `up` would serve the previous build.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .append(true)
        .open(app.join("src/main.rs"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    wasmctl(&app).arg("doctor").assert().code(1).stdout(contains(
        "✗ component svc: stale: `target/wasm32-wasip2/release/svc.wasm` is older than `src/main.rs`",
    ));
}

/// The release profile strips function names (keeping them costs 27% of the template's
/// component, docs/performance.md); a debug build keeps them, so a panic's trace names
/// the guest's own functions.
#[test]
fn a_debug_build_names_the_guest_functions_in_a_panic() {
    let (dir, target_dir) = app_with_foreign_target_dir("named_panic");
    let app = dir.path().join("svc");
    edit_file(&app.join("src/main.rs"), |code| {
        code.replace(
            "    let path = path_below_route(&request);",
            "    let path = path_below_route(&request);\n    if path == \"/boom\" {\n        explode_on_purpose();\n    }",
        ) + "\n#[inline(never)]\nfn explode_on_purpose() {\n    panic!(\"boom\");\n}\n"
    });
    let server = serve_with(
        &app,
        &["--build", "--debug"],
        &[("CARGO_TARGET_DIR", target_dir.to_str().unwrap())],
    );
    assert_eq!(get(&server.url("/boom")).0, 500);
    assert!(
        server.wait_for_stderr("explode_on_purpose"),
        "{}",
        server.stderr()
    );
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
