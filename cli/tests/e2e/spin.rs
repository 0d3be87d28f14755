//! Spin apps as they are: a directory whose manifest is Spin's `spin.toml` builds,
//! checks and serves with no `wasmctl.toml`; what wasmctl does not run of Spin is an error
//! at its line; what would rewrite or pack the manifest says it cannot.

use predicates::prelude::PredicateBooleanExt;

use crate::support::{get, guest_component, serve, wasmctl};

/// A Spin app with two components: the probe under every path, with files granted by
/// globs (a whole directory, and the `.txt` files of another), an environment and a build
/// of two commands; the hostile guest on a private route.
const SPIN_TOML: &str = r#"spin_manifest_version = 2

[application]
name = "spin-app"
version = "0.1.0"
authors = ["Ada <ada@example.com>"]
description = "a Spin app, served by wasmctl unchanged"

[[trigger.http]]
route = "/..."
component = "probe"

[[trigger.http]]
route = { private = true }
component = "internal"

[component.probe]
source = "probe.wasm"
files = ["static/**/*", "notes/*.txt"]
environment = { MODE = "spin" }
allowed_outbound_hosts = []
[component.probe.build]
command = ["cp prebuilt/probe.wasm probe.wasm", "touch built.txt"]
watch = ["prebuilt/*.wasm"]

[component.internal]
source = "hostile.wasm"
"#;

fn spin_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("prebuilt")).unwrap();
    std::fs::create_dir_all(dir.path().join("static/css")).unwrap();
    std::fs::copy(
        guest_component("probe"),
        dir.path().join("prebuilt/probe.wasm"),
    )
    .unwrap();
    std::fs::copy(guest_component("hostile"), dir.path().join("hostile.wasm")).unwrap();
    std::fs::write(dir.path().join("static/css/site.css"), "body {}\n").unwrap();
    std::fs::create_dir_all(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/draft.md"), "not selected\n").unwrap();
    std::fs::write(dir.path().join("spin.toml"), SPIN_TOML).unwrap();
    dir
}

#[test]
fn a_spin_app_builds_and_serves_unchanged() {
    let dir = spin_app();
    let build = wasmctl(dir.path()).arg("build").assert().success();
    let output = String::from_utf8_lossy(&build.get_output().stderr).to_string();
    assert!(
        dir.path().join("built.txt").exists() && dir.path().join("probe.wasm").exists(),
        "both build commands ran, one after the other: {output}"
    );
    wasmctl(dir.path())
        .arg("doctor")
        .assert()
        .success()
        .stdout(predicates::str::contains("spin.toml is valid"));

    let server = serve(dir.path(), &[]);
    // The glob's files are where Spin puts them: at their path in the app.
    assert_eq!(
        get(&server.url("/read?path=/static/css/site.css")),
        (200, "body {}\n".into())
    );
    // `notes/*.txt` selects none of `notes/`: the guest sees the directory, empty.
    let (status, body) = get(&server.url("/read?path=/notes/draft.md"));
    assert_eq!(status, 403, "{body}");
    let (status, env) = get(&server.url("/env"));
    assert_eq!(status, 200);
    assert!(env.contains("MODE=spin\n"), "{env}");
    // Spin's request headers, as Spin's HTTP trigger sets them (a client's copy replaced).
    let response = crate::support::http()
        .get(&server.url("/docs/headers?x=1"))
        .header("spin-path-info", "/forged")
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let address = server.address();
    for line in [
        format!("spin-full-url: http://{address}/docs/headers?x=1\n"),
        "spin-path-info: /docs/headers\n".to_string(),
        "spin-matched-route: /...\n".to_string(),
        "spin-raw-component-route: /...\n".to_string(),
        "spin-component-route: \n".to_string(),
        "spin-base-path: /\n".to_string(),
        "spin-client-addr: 127.0.0.1:".to_string(),
        "wasmctl-path-info: /docs/headers\n".to_string(),
    ] {
        assert!(response.contains(&line), "no `{line}` in:\n{response}");
    }
    assert!(!response.contains("/forged"), "{response}");
    // The listener speaks plain HTTP, whatever scheme an absolute-form target names.
    let absolute = wasmctl_test_support::http::exchange(
        &address,
        format!(
            "GET https://{address}/docs/headers HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"
        )
        .as_bytes(),
        std::time::Duration::from_secs(30),
    );
    assert!(
        absolute.contains(&format!("spin-full-url: http://{address}/docs/headers\n")),
        "{absolute}"
    );
    // Nothing routes to the private component: the probe answers every path.
    assert_eq!(get(&server.url("/ok")), (404, "no ok\n".into()));
    assert!(
        server.wait_for_stderr(" internal in "),
        "the privately routed component is loaded all the same: {}",
        server.stderr()
    );
}

#[test]
fn what_wasmctl_does_not_run_of_a_spin_app_is_named_at_its_line() {
    let dir = spin_app();
    let manifest = SPIN_TOML.replace(
        "[component.internal]",
        "[[trigger.redis]]\nchannel = \"jobs\"\ncomponent = \"internal\"\n\n[component.internal]",
    );
    std::fs::write(dir.path().join("spin.toml"), manifest).unwrap();
    wasmctl(dir.path())
        .arg("up")
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "wasmctl serves HTTP triggers only; `trigger.redis` is not served",
        ))
        .stderr(predicates::str::contains("spin.toml:26:11"));
}

#[test]
fn deploy_without_spins_layout_and_add_leave_a_spin_app_alone() {
    let dir = spin_app();
    wasmctl(dir.path())
        .args(["deploy", "--registry", "127.0.0.1:9/spin-app:v1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("is Spin's manifest"))
        .stderr(predicates::str::contains("--runtime spinkube"));
    assert!(
        !dir.path().join("built.txt").exists(),
        "deploy refused before building anything"
    );
    wasmctl(dir.path())
        .args(["add", "http-rust", "extra", "-y"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "`wasmctl add` edits a wasmctl.toml only",
        ));
    assert!(!dir.path().join("extra").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("spin.toml")).unwrap(),
        SPIN_TOML
    );
}

/// Acceptance app 2 (`testdata/spin-apps/counter`): a spin-sdk 5.2 component that imports
/// Spin's own `fermyon:spin/variables` and `fermyon:spin/key-value`, built by its
/// `spin.toml`'s command (plain cargo, for wasm32-wasip1, as Spin's template does).
#[test]
fn a_spin_sdk_app_reads_its_variable_and_counts_across_restarts() {
    let app = built_spin_app("counter");
    let (state, _server) = counts_across_restarts(&app, "Hello from spin-sdk at /some/where\n");
    let state_dir = state.path().to_str().unwrap();
    assert_eq!(
        crate::keyvalue::kv(&app, &["get", "visits", "--state-dir", state_dir]),
        "3\n"
    );
}

/// Serves a counter app (`counter`, `counter-async`) over a state directory of its own:
/// two visitors counted, Spin's `spin-path-info` header read at `/some/where` (answered
/// with `path_reply`), then served again with `--variable greeting=Howdy`, and the count
/// goes on. Returns the state directory and the second server.
fn counts_across_restarts(
    app: &std::path::Path,
    path_reply: &str,
) -> (tempfile::TempDir, crate::support::Server) {
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let mut server = serve(app, &["--state-dir", state_dir]);
    for visitor in 1..=2 {
        assert_eq!(
            get(&server.url("/count")),
            (200, format!("Hello, visitor {visitor}!\n"))
        );
    }
    // spin-sdk reads the header Spin sets.
    assert_eq!(get(&server.url("/some/where")), (200, path_reply.into()));
    server.stop();

    let server = serve(
        app,
        &["--state-dir", state_dir, "--variable", "greeting=Howdy"],
    );
    assert_eq!(
        get(&server.url("/count")),
        (200, "Howdy, visitor 3!\n".into())
    );
    (state, server)
}

/// A spin-sdk 7 app (`testdata/spin-apps/counter-async`): an async handler exporting
/// `wasi:http/handler@0.3.0` that reads its variable and keeps its counter through Spin 4's
/// async `spin:variables@3.0.0` and `spin:key-value@3.0.0`, whose `get-keys` streams.
#[test]
fn a_spin_sdk_7_app_reads_its_variable_and_counts_through_spin_4s_async_interfaces() {
    let app = built_spin_app("counter-async");
    wasmctl(&app)
        .arg("doctor")
        .assert()
        .success()
        .stdout(predicates::str::contains("WASI 0.3"));
    let (_state, server) = counts_across_restarts(&app, "Hello from spin-sdk 7 at /some/where\n");
    assert_eq!(get(&server.url("/keys")), (200, "visits\n".into()));
    // A store the component was not granted is denied, as Spin denies it.
    assert_eq!(
        get(&server.url("/other-store")),
        (200, "Error::AccessDenied\n".into())
    );
    let deleted = crate::support::http()
        .delete(&server.url("/count"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert_eq!(deleted, "visits still set: false\n");
    assert_eq!(get(&server.url("/keys")), (200, String::new()));
    // 2500 sets started at once (each waits for one of the instance's call permits),
    // then listed through `get-keys`' stream: three pages of the host's 1000.
    let filled = crate::support::http()
        .post(&server.url("/fill/2500"))
        .send_empty()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert_eq!(filled, "set 2500 keys\n");
    let (status, listed) = get(&server.url("/keys"));
    assert_eq!(status, 200);
    let mut expected: Vec<String> = (0..2500).map(|i| format!("key-{i}")).collect();
    expected.sort();
    assert_eq!(listed.lines().collect::<Vec<_>>(), expected);
    assert_eq!(
        get(&server.url("/count")),
        (200, "Howdy, visitor 1!\n".into())
    );
    // SpinKube's shim builds on Spin 3.6, which runs neither WASI 0.3 nor spin-sdk 7:
    // refused, saying how to build it for Spin 3 (and not to pick a runtime that would
    // not serve Spin's interfaces either).
    let out = tempfile::tempdir().unwrap();
    wasmctl(&app)
        .args([
            "deploy",
            "--registry",
            "127.0.0.1:9/counter-async:v1",
            "--kube",
        ])
        .arg(out.path())
        .args(["--runtime", "spinkube"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "component `counter-async` is a WASI 0.3 component",
        ))
        .stderr(predicates::str::contains(
            "it was built with spin-sdk 7, for Spin 4",
        ))
        .stderr(predicates::str::contains("--runtime wasmtime").not());
}

/// `testdata/spin-apps/NAME`, built by `wasmctl build` as it is: its `source` is in the
/// app's own target directory, as Spin's template has it, whatever the tests' cargo uses.
///
/// The apps lock the same spin-sdk: on a fresh checkout each app's `target` is made a link
/// to one shared directory, so spin-sdk compiles once per run rather than once per app.
/// An app that already has a `target` (a developer's own build) keeps it.
fn built_spin_app(name: &str) -> std::path::PathBuf {
    let app = crate::support::testdata().join("spin-apps").join(name);
    let target = app.join("target");
    if std::fs::symlink_metadata(&target).is_err() {
        let shared = crate::support::workspace_root().join("target/spin-apps");
        std::fs::create_dir_all(&shared).unwrap();
        // Two tests may race to make it: either link is the same.
        if let Err(error) = std::os::unix::fs::symlink(&shared, &target) {
            assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists, "{error}");
        }
    }
    wasmctl(&app)
        .arg("build")
        .env_remove("CARGO_TARGET_DIR")
        .assert()
        .success();
    app
}

/// Acceptance app 1 (`testdata/spin-apps/hello`): Spin's http-rust template as `spin new`
/// renders it (spin-sdk 5.2, built with plain cargo by its own build command).
#[test]
fn spins_http_rust_template_app_serves_unchanged() {
    let app = built_spin_app("hello");
    wasmctl(&app)
        .arg("doctor")
        .assert()
        .success()
        .stdout(predicates::str::contains("WASI 0.2"));
    let server = serve(&app, &[]);
    assert_eq!(get(&server.url("/")), (200, "Hello World!".into()));
    assert_eq!(get(&server.url("/any/path")), (200, "Hello World!".into()));
    // The guest prints the `spin-full-url` header the host set (into its log, a moment
    // after it answered).
    let printed = format!(
        "Handling request to Some(HeaderValue {{ inner: String(\"http://{}/any/path\") }})",
        server.address()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(app.join(".wasmctl/logs/hello.log")).unwrap_or_default();
        if log.contains(&printed) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `{printed}` in:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Acceptance app 3 (`testdata/spin-apps/shop`): two components from one cargo workspace,
/// a third on a private route (the same file with other settings), and static files
/// selected by globs, less what `exclude_files` takes out.
#[test]
fn a_spin_app_with_two_components_a_private_route_and_static_files_serves() {
    let app = built_spin_app("shop");
    let server = serve(&app, &[]);
    assert_eq!(
        get(&server.url("/static/css/site.css")),
        (200, "body { color: teal; }\n".into())
    );
    assert_eq!(
        get(&server.url("/static/index.html")),
        (200, "<h1>shop</h1>\n".into())
    );
    assert_eq!(
        get(&server.url("/api/items/7")),
        (200, "api at /items/7 (role public)\n".into())
    );
    // Only what the globs select is granted: not the manifest beside it, nor what
    // `exclude_files` takes out, nor a file `docs/*.txt` does not match.
    assert_eq!(get(&server.url("/spin.toml")).0, 404);
    assert_eq!(
        get(&server.url("/docs/guide.txt")),
        (200, "How to shop: pick, pay, wait.\n".into())
    );
    assert_eq!(get(&server.url("/docs/notes.md")).0, 404);
    assert_eq!(get(&server.url("/static/drafts/plan.html")).0, 404);
    // The private component is reachable by no request: the catch-all answers.
    let (status, body) = get(&server.url("/admin"));
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("role admin"), "{body}");
}

/// A component served from a `wasmctl.toml` gets no Spin headers, and none a client forged.
#[test]
fn forged_spin_headers_never_reach_a_wasmctl_apps_component() {
    let dir = crate::support::guest_app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    let response = crate::support::http()
        .get(&server.url("/headers"))
        .header("spin-path-info", "/admin")
        .header("spin-client-addr", "10.0.0.1:1")
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        response.contains("wasmctl-path-info: /headers\n"),
        "{response}"
    );
    assert!(!response.contains("spin-"), "{response}");
}

/// The media types containerd-shim-spin (0.24, Spin 3.6.3) passes to Spin: a layer of any
/// other type never reaches the app.
const SHIM_LAYER_TYPES: [&str; 5] = [
    "application/vnd.wasm.content.layer.v1+wasm",
    "application/wasm",
    "application/vnd.wasm.content.bundle.v1.tar+gzip",
    "application/vnd.wasm.content.layer.v1+data",
    "application/vnd.fermyon.spin.application.v1+config",
];

/// Acceptance app 3 shipped to SpinKube: `deploy --runtime spinkube` pushes Spin's OCI
/// layout (read back here as the shim reads it) and writes a SpinApp; `up --from` pulls
/// that artifact and serves it as the Spin app it is.
#[test]
fn a_spin_app_ships_to_spinkube_in_spins_layout_and_serves_back_from_the_registry() {
    let app = built_spin_app("shop");
    let registry = crate::support::TestRegistry::start();
    let out = tempfile::tempdir().unwrap();
    let kube_dir = out.path().join("k8s");
    let reference = format!("{}/demo/shop:v1", registry.host);
    let output = wasmctl(&app)
        .args(["deploy", "--json", "--registry", &reference, "--kube"])
        .arg(&kube_dir)
        .args([
            "--runtime",
            "spinkube",
            "--replicas",
            "2",
            "--memory",
            "64Mi",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let pinned = document["reference"].as_str().unwrap();

    let yaml = std::fs::read_to_string(kube_dir.join("shop.yaml")).unwrap();
    let objects: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    assert_eq!(objects.len(), 1, "{yaml}");
    let spin_app = &objects[0];
    assert_eq!(spin_app["apiVersion"], "core.spinkube.dev/v1alpha1");
    assert_eq!(spin_app["kind"], "SpinApp");
    assert_eq!(spin_app["metadata"]["name"], "shop");
    let spec = &spin_app["spec"];
    assert_eq!(spec["image"], pinned);
    assert_eq!(spec["executor"], "containerd-shim-spin");
    assert_eq!(spec["replicas"], 2);
    assert_eq!(spec["resources"]["limits"]["memory"], "64Mi");
    assert_eq!(spec["resources"]["requests"]["memory"], "64Mi");

    // The artifact, as the shim reads it.
    let manifest = registry.artifact("demo/shop", "v1");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    let config: serde_json::Value = serde_json::from_slice(
        &registry.blob("demo/shop", manifest["config"]["digest"].as_str().unwrap()),
    )
    .unwrap();
    // runwasi refuses an image whose config is not for the `wasm` architecture.
    assert_eq!(config["architecture"], "wasm");
    let locked_layer = layers.last().unwrap();
    assert_eq!(
        locked_layer["mediaType"],
        "application/vnd.fermyon.spin.application.v1+config"
    );
    assert_eq!(
        config["config"]["Labels"]["com.fermyon.spin.lockedAppDigest"],
        locked_layer["digest"]
    );
    let layer_of = |digest: &serde_json::Value| {
        layers
            .iter()
            .find(|layer| layer["digest"] == *digest)
            .unwrap_or_else(|| panic!("{digest} is not a layer"))["mediaType"]
            .as_str()
            .unwrap()
    };
    for layer in layers {
        assert!(
            SHIM_LAYER_TYPES.contains(&layer["mediaType"].as_str().unwrap()),
            "{layer}"
        );
    }
    let locked: serde_json::Value = serde_json::from_slice(
        &registry.blob("demo/shop", locked_layer["digest"].as_str().unwrap()),
    )
    .unwrap();
    // The keys Spin's locked app requires, and the trigger metadata its HTTP trigger reads.
    assert!(
        locked["spin_lock_version"].as_u64().unwrap() <= 1,
        "{locked}"
    );
    assert_eq!(locked["metadata"]["name"], "shop");
    assert_eq!(locked["metadata"]["trigger"]["type"], "http");
    let routes: Vec<(String, String)> = locked["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|trigger| {
            assert_eq!(trigger["trigger_type"], "http");
            (
                trigger["trigger_config"]["component"]
                    .as_str()
                    .unwrap()
                    .into(),
                trigger["trigger_config"]["route"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("files".into(), "\"/...\"".into()),
            ("api".into(), "\"/api/...\"".into()),
            ("admin".into(), "{\"private\":true}".into()),
        ]
    );
    let components = locked["components"].as_array().unwrap();
    let component = |id: &str| {
        components
            .iter()
            .find(|component| component["id"] == id)
            .unwrap_or_else(|| panic!("no component {id} in {locked}"))
    };
    for component in components {
        assert_eq!(component["source"]["content_type"], "application/wasm");
        assert_eq!(
            layer_of(&component["source"]["digest"]),
            "application/vnd.wasm.content.layer.v1+wasm"
        );
    }
    assert_eq!(component("api")["env"]["ROLE"], "public");
    assert_eq!(component("admin")["env"]["ROLE"], "admin");
    let files: Vec<&str> = component("files")["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| {
            assert_eq!(
                layer_of(&file["digest"]),
                "application/vnd.wasm.content.layer.v1+data"
            );
            file["path"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        files,
        ["static/css/site.css", "static/index.html", "docs/guide.txt"],
        "each mount's files, in the manifest's order, less `static/drafts/`"
    );

    // Pulled back elsewhere: the same answers as the app served from its directory,
    // Spin's headers among them (the api component prints `spin-path-info`).
    let elsewhere = tempfile::tempdir().unwrap();
    let server = serve(elsewhere.path(), &["--from", &reference]);
    assert_eq!(
        get(&server.url("/static/index.html")),
        (200, "<h1>shop</h1>\n".into())
    );
    assert_eq!(
        get(&server.url("/api/items/7")),
        (200, "api at /items/7 (role public)\n".into())
    );
    assert_eq!(
        get(&server.url("/docs/guide.txt")),
        (200, "How to shop: pick, pay, wait.\n".into())
    );
    assert_eq!(get(&server.url("/static/drafts/plan.html")).0, 404);
    let (status, body) = get(&server.url("/admin"));
    assert_eq!(status, 404, "{body}");

    // `registry pull -o` writes the same app: a spin.toml that `wasmctl doctor` accepts.
    let pulled = elsewhere.path().join("pulled");
    wasmctl(elsewhere.path())
        .args(["registry", "pull", &reference, "-o"])
        .arg(&pulled)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(pulled.join("files/files/static/index.html")).unwrap(),
        "<h1>shop</h1>\n"
    );
    wasmctl(&pulled).arg("doctor").assert().success();
}

/// `up --watch` on a Spin app: a changed input of a component's `watch` globs runs its
/// build (both commands of the list), and an edit of `spin.toml` is applied, each
/// swapped in under the running server.
#[test]
fn up_watch_rebuilds_a_spin_app_and_applies_an_edited_spin_toml() {
    let dir = spin_app();
    wasmctl(dir.path()).arg("build").assert().success();
    let server = serve(dir.path(), &["--watch"]);
    assert!(get(&server.url("/env")).1.contains("MODE=spin\n"));

    // An input the build watches: the build runs again (its second command leaves a mark).
    std::fs::remove_file(dir.path().join("built.txt")).unwrap();
    let prebuilt = dir.path().join("prebuilt/probe.wasm");
    std::fs::copy(&prebuilt, dir.path().join("prebuilt/probe.swp")).unwrap();
    std::fs::rename(dir.path().join("prebuilt/probe.swp"), &prebuilt).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !dir.path().join("built.txt").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no rebuild; server said:\n{}",
            server.stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // The manifest itself: its new environment is served.
    crate::watch::save(&dir.path().join("spin.toml"), |text| {
        text.replace("MODE = \"spin\"", "MODE = \"watched\"")
    });
    crate::watch::wait_for(&server, "/env", 200, "MODE=watched\n");

    // A file a `files` glob selects: served as a fresh copy, with no build.
    std::fs::remove_file(dir.path().join("built.txt")).unwrap();
    assert_eq!(get(&server.url("/read?path=/notes/today.txt")).0, 403);
    std::fs::write(dir.path().join("notes/today.txt"), "fresh\n").unwrap();
    crate::watch::wait_for(&server, "/read?path=/notes/today.txt", 200, "fresh\n");
    assert!(!dir.path().join("built.txt").exists(), "no build ran");
}
