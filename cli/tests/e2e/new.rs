//! `wasmctl new`: rendering, refusals, and a real wasm32-wasip2 build of the result.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use predicates::prelude::*;

use crate::support::{
    COMPONENT_HEADER, Terminal, get, guest_target_dir, json_stdout, wasmctl, wasmctl_process,
};

#[test]
fn http_rust_renders_and_builds_a_component() {
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .args(["new", "http-rust", "svc", "--accept-defaults"])
        .assert()
        .success()
        .stderr(predicate::str::contains("Created"));
    let app = dir.path().join("svc");
    for file in [
        "wasmctl.toml",
        "Cargo.toml",
        "src/main.rs",
        ".gitignore",
        "README.md",
    ] {
        assert!(app.join(file).is_file(), "{file} was not rendered");
    }
    let main_rs = std::fs::read_to_string(app.join("src/main.rs")).unwrap();
    assert!(main_rs.contains("Hello from svc!"), "{main_rs}");
    // The project is staged in a temporary directory (private, 0700) and renamed into
    // place: it must end up as `mkdir` would have made it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let plain = dir.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        assert_eq!(mode(&app), mode(&plain), "the project directory's mode");
    }

    let target_dir = guest_target_dir();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--target", "wasm32-wasip2", "--quiet"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(&app)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cargo build of the rendered project failed"
    );
    let wasm = std::fs::read(target_dir.join("wasm32-wasip2/release/svc.wasm")).unwrap();
    assert_eq!(
        wasm[..8],
        COMPONENT_HEADER,
        "the build output is not a component"
    );
}

#[test]
fn existing_project_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("svc");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("notes.txt"), "mine").unwrap();
    wasmctl(dir.path())
        .args(["new", "http-rust", "svc", "-y"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "already exists and is not empty; nothing was written",
        ));
    assert_eq!(
        std::fs::read_to_string(app.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&app).unwrap().count(), 1);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no staging directory left"
    );
}

#[test]
fn empty_directory_and_output_flag_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    wasmctl(dir.path())
        .args(["new", "http-rust", "svc", "-y", "--output", "empty"])
        .assert()
        .success();
    assert!(dir.path().join("empty/wasmctl.toml").is_file());
    wasmctl(dir.path())
        .args(["new", "http-rust", "svc", "-y", "-o", "deep/er/svc"])
        .assert()
        .success();
    assert!(dir.path().join("deep/er/svc/Cargo.toml").is_file());
}

#[test]
fn bad_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["../x", "a/b", "", "1st", "-x", "a b", "/abs"] {
        wasmctl(dir.path())
            .args(["new", "http-rust", name, "-y"])
            .assert()
            .code(predicate::in_iter([1, 2]))
            .stderr(
                predicate::str::contains("app name")
                    .or(predicate::str::contains("unexpected argument")),
            );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

#[test]
fn unknown_template_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .args(["new", "http-go", "svc", "-y"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("unknown template `http-go`\n").and(predicate::str::contains(
                "available templates: http-js, http-python, http-rust, http-rust-kv, http-rust-wasip3, http-ts",
            )),
        );
}

#[test]
fn values_are_checked_against_the_template() {
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .args(["new", "http-rust", "svc", "--value", "http_route=no-slash"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not match the pattern"));
    wasmctl(dir.path())
        .args(["new", "http-rust", "svc", "--value", "colour=blue"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no parameter `colour`\n").and(
            predicate::str::contains("its parameters: description, http_route, authors"),
        ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    wasmctl(dir.path())
        .args([
            "new",
            "http-rust",
            "svc",
            "--value",
            "http_route=/api/...",
            "--value",
            "description=say \"hi\"",
        ])
        .assert()
        .success();
    let manifest = std::fs::read_to_string(dir.path().join("svc/wasmctl.toml")).unwrap();
    assert!(manifest.contains("route = \"/api/...\""), "{manifest}");
    assert!(
        manifest.contains(r#"description = 'say "hi"'"#),
        "{manifest}"
    );
}

#[test]
fn without_a_terminal_it_never_prompts() {
    // No --accept-defaults and stdin is not a terminal: defaults apply, nothing waits.
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wasmctl"))
        .args(["new", "http-rust", "svc"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("wasmctl new waited for input without a terminal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let manifest = std::fs::read_to_string(dir.path().join("svc/wasmctl.toml")).unwrap();
    assert!(manifest.contains("route = \"/...\""), "{manifest}");
}

#[test]
fn on_a_terminal_it_prompts_and_validates_answers() {
    // `script` (util-linux) runs wasmctl on a real pseudo-terminal; we answer each prompt
    // as a user would, once it shows: a description, a bad route (refused by the
    // pattern, asked again), a good one, authors.
    let dir = tempfile::tempdir().unwrap();
    let wasmctl = assert_cmd::cargo::cargo_bin("wasmctl");
    let mut terminal = Terminal::spawn(
        &format!("{} new http-rust svc", wasmctl.display()),
        dir.path(),
        &[],
    );
    terminal.answer("Description", "Typed at a prompt");
    terminal.answer("HTTP route", "no-slash");
    terminal.expect("does not match the pattern");
    terminal.answer("HTTP route", "/api/...");
    terminal.answer("Authors", "Ada");
    let (status, transcript) = terminal.finish();
    assert!(status.success(), "{transcript}");
    let manifest = std::fs::read_to_string(dir.path().join("svc/wasmctl.toml")).unwrap();
    assert!(
        manifest.contains("description = \"Typed at a prompt\""),
        "{manifest}"
    );
    assert!(manifest.contains("route = \"/api/...\""), "{manifest}");
    assert!(manifest.contains("authors = [\"Ada\"]"), "{manifest}");
}

#[test]
fn dash_v_with_a_pair_is_a_value_and_alone_is_verbose() {
    // Spin's `-v KEY=VALUE`; a `-v` before anything else stays `--verbose`.
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .args(["new", "-v", "http-rust", "svc", "-v", "http_route=/api/..."])
        .args(["-vdescription=short"])
        .assert()
        .success();
    let manifest = std::fs::read_to_string(dir.path().join("svc/wasmctl.toml")).unwrap();
    assert!(manifest.contains("route = \"/api/...\""), "{manifest}");
    assert!(manifest.contains("description = \"short\""), "{manifest}");

    wasmctl(dir.path())
        .args(["new", "-vv", "http-rust", "other", "-y"])
        .assert()
        .success();
    assert!(dir.path().join("other/wasmctl.toml").is_file());
}

/// Every template that takes an `http_route` answers below a non-default route, and its
/// README shows a URL that works there.
#[test]
fn every_template_routes_below_a_non_default_route() {
    let templates = json_stdout(wasmctl(Path::new(".")).args(["templates", "list", "--json"]));
    let routed: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "http_route")
        })
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(routed.contains(&"http-rust"), "{routed:?}");
    for template in routed {
        let dir = tempfile::tempdir().unwrap();
        wasmctl(dir.path())
            .args([
                "new",
                template,
                "routed",
                "-y",
                "--value",
                "http_route=/api/...",
            ])
            .assert()
            .success();
        let app = dir.path().join("routed");
        let readme = std::fs::read_to_string(app.join("README.md")).unwrap();
        assert!(
            readme.contains("curl http://127.0.0.1:3000/api/hello/world"),
            "{template}: {readme}"
        );
        let target_dir = guest_target_dir();
        // `--build` installs packages and compiles a big component for the JavaScript,
        // TypeScript and Python templates: the build-and-start limit of those tests.
        let mut up = wasmctl_process(&app);
        up.args(["up", "--build", "--workers", "2"])
            .env("CARGO_TARGET_DIR", &target_dir);
        let server =
            wasmctl_test_support::Server::start_within(up, crate::languages::BUILD_AND_START_LIMIT)
                .unwrap_or_else(|error| panic!("{template}: {error:#}"));
        assert_eq!(
            get(&server.url("/api/")),
            (200, "Hello from routed!\n".into()),
            "{template}"
        );
        assert_eq!(
            get(&server.url("/api")),
            (200, "Hello from routed!\n".into()),
            "{template}"
        );
        assert_eq!(
            get(&server.url("/api/hello/world")),
            (200, "Hello, world!\n".into()),
            "{template}"
        );
        assert_eq!(get(&server.url("/hello/world")).0, 404, "{template}");
    }
}
