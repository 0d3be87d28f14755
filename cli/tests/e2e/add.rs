//! `wasmctl add`: a second component in an app made by `wasmctl new`, built in the same
//! cargo workspace and served beside the first.

use predicates::prelude::*;

use crate::support::{COMPONENT_HEADER, fresh_app, get, serve, wasmctl};

#[test]
fn an_added_component_shares_the_workspace_and_is_served() {
    // The user's own comment, which the edit must keep with everything else.
    let dir = fresh_app(|text| {
        text.replace(
            "[component.svc]\n",
            "# svc is the front door\n[component.svc]\n",
        )
    });
    let app = dir.path().join("svc");
    let manifest = app.join("wasmctl.toml");
    wasmctl(&app).arg("build").assert().success();
    let original = std::fs::read_to_string(&manifest).unwrap();
    let cargo_before = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();

    // From a subdirectory: the app is found as every command finds it.
    wasmctl(&app.join("src"))
        .args(["add", "http-rust", "api", "--accept-defaults"])
        .args(["--value", "http_route=/api/..."])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Added component `api` from template `http-rust` in `api/`",
        ))
        .stdout(predicate::str::contains("route /api/..."));

    let merged = std::fs::read_to_string(&manifest).unwrap();
    let trigger = "\n[[trigger.http]]\nroute = \"/api/...\"\ncomponent = \"api\"\n";
    let (before, added) = merged.split_at(
        merged
            .find("\n[component.api]\n")
            .expect("[component.api] is added"),
    );
    assert!(before.contains(trigger), "{merged}");
    assert_eq!(
        before.replacen(trigger, "", 1),
        original,
        "the user's text is kept byte for byte"
    );
    assert!(
        added.contains("source = \"target/wasm32-wasip2/release/api.wasm\"\n")
            && added.contains("workdir = \"api\"\n"),
        "{added}"
    );
    assert_eq!(
        std::fs::read_to_string(app.join("Cargo.toml")).unwrap(),
        cargo_before.replacen("[workspace]\n", "[workspace]\nmembers = [\"api\"]\n", 1)
    );
    assert!(!app.join("api/wasmctl.toml").exists());

    // One workspace: the dependencies svc built are not compiled again for api.
    let build = wasmctl(&app).arg("build").assert().success();
    let output = String::from_utf8_lossy(&build.get_output().stderr).into_owned();
    assert!(output.contains("Compiling api v0.1.0"), "{output}");
    assert!(!output.contains("Compiling wstd"), "{output}");
    assert!(!app.join("api/target").exists(), "one target directory");
    for id in ["svc", "api"] {
        let wasm =
            std::fs::read(app.join(format!("target/wasm32-wasip2/release/{id}.wasm"))).unwrap();
        assert_eq!(wasm[..8], COMPONENT_HEADER, "{id}");
    }

    let server = serve(&app, &[]);
    assert_eq!(
        get(&server.url("/")),
        (200, "Hello from svc!\n".to_string())
    );
    // `/api/...` is api's, and it routes on the path below its mount.
    assert_eq!(
        get(&server.url("/api/")),
        (200, "Hello from api!\n".to_string())
    );
    assert_eq!(
        get(&server.url("/api/hello/add")),
        (200, "Hello, add!\n".to_string())
    );
    assert!(
        server.stdout().contains("/api/...  →  api"),
        "{}",
        server.stdout()
    );
}

#[test]
fn a_taken_name_or_route_is_refused_and_nothing_is_written() {
    let dir = fresh_app(|text| text);
    let app = dir.path().join("svc");
    let manifest = std::fs::read_to_string(app.join("wasmctl.toml")).unwrap();
    wasmctl(&app)
        .args(["add", "http-rust", "svc", "-y"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("component `svc` is already in"));
    wasmctl(&app)
        .args(["add", "http-rust", "api", "-y"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "route `/...` of template `http-rust` is already served by component `svc`",
        ));
    assert_eq!(
        std::fs::read_to_string(app.join("wasmctl.toml")).unwrap(),
        manifest
    );
    assert!(!app.join("api").exists());
}
