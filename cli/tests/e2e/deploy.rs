//! `wasmctl deploy`, `wasmctl registry` and `wasmctl up --from` against a real registry.

use predicates::prelude::*;
use predicates::str::contains;

use wasmctl_test_support::http::free_port;

use crate::support::{
    Terminal, TestRegistry, files_layer, fresh_app, get, json_stdout, serve, template_app, wasmctl,
};

fn deploy_json(app: &std::path::Path, reference: &str, extra: &[&str]) -> serde_json::Value {
    let output = wasmctl(app)
        .args(["deploy", "--registry", reference, "--json"])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&output).unwrap()
}

#[test]
fn push_then_pull_round_trips_byte_identical_and_pushes_nothing_twice() {
    let registry = TestRegistry::start();
    let app = template_app();
    let reference = format!("{}/demo/svc:v1", registry.host);
    let pushed = deploy_json(app, &reference, &[]);
    let digest = pushed["digest"].as_str().unwrap();
    assert!(digest.starts_with("sha256:"), "{pushed}");
    assert_eq!(
        pushed["reference"],
        format!("{}/demo/svc@{digest}", registry.host)
    );
    let titles: Vec<&str> = pushed["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["svc.wasm", "wasmctl.toml", "config"]);
    assert_eq!(pushed["uploaded"], 3);

    let again = deploy_json(app, &reference, &[]);
    assert_eq!(
        again["digest"], digest,
        "an unchanged app has the same digest"
    );
    assert_eq!(again["uploaded"], 0, "{again}");

    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let target = out.path().join("pulled");
    let pulled = json_stdout(
        wasmctl(out.path())
            .env("WASMCTL_CACHE_DIR", cache.path())
            .args(["registry", "pull", &reference, "-o"])
            .arg(&target)
            .arg("--json"),
    );
    assert_eq!(pulled["digest"], digest);
    assert_eq!(
        pulled["downloaded"],
        3 - 1,
        "config is read through the manifest, layers downloaded: {pulled}"
    );
    let original = std::fs::read(app.join("target/wasm32-wasip2/release/svc.wasm")).unwrap();
    assert!(
        std::fs::read(target.join("components/svc.wasm")).unwrap() == original,
        "pulled component differs"
    );
    let manifest = std::fs::read_to_string(target.join("wasmctl.toml")).unwrap();
    assert!(
        manifest.contains("source = \"components/svc.wasm\"")
            && !manifest.contains("[component.svc.build]"),
        "{manifest}"
    );

    // Pulling by digest is served from the cache: nothing downloaded.
    let by_digest = format!("{}/demo/svc@{digest}", registry.host);
    wasmctl(out.path())
        .env("WASMCTL_CACHE_DIR", cache.path())
        .args(["registry", "pull", &by_digest])
        .assert()
        .success()
        .stderr(contains("0 of 2 layers downloaded"));
}

#[test]
fn up_from_a_registry_serves_the_app() {
    let registry = TestRegistry::start();
    let reference = format!("{}/demo/served:v1", registry.host);
    deploy_json(template_app(), &reference, &[]);
    let elsewhere = tempfile::tempdir().unwrap();
    let server = serve(elsewhere.path(), &["--from", &reference]);
    assert_eq!(
        get(&server.url("/")),
        (200, "Hello from svc!\n".to_string())
    );
}

#[test]
fn dead_registry_wrong_tag_and_bad_reference_fail_clearly() {
    let port = free_port().unwrap();
    wasmctl(template_app())
        .args([
            "deploy",
            "--registry",
            &format!("127.0.0.1:{port}/demo/svc:v1"),
        ])
        .assert()
        .code(1)
        .stderr(contains(format!(
            "could not reach the registry at 127.0.0.1:{port}"
        )));

    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .args([
            "registry",
            "pull",
            &format!("{}/demo/nothing:v9", registry.host),
        ])
        .assert()
        .code(1)
        .stderr(contains("does not exist in the registry"));

    wasmctl(dir.path())
        .args(["registry", "pull", "svc:v1"])
        .assert()
        .code(1)
        .stderr(contains("has no registry host").and(contains("127.0.0.1:5000/demo/svc:v1")));
}

#[test]
fn tampered_blob_is_refused_and_nothing_is_cached() {
    let registry = TestRegistry::start();
    let reference = format!("{}/demo/tampered:v1", registry.host);
    let pushed = deploy_json(template_app(), &reference, &[]);
    let wasm = pushed["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["title"] == "svc.wasm")
        .unwrap();
    let blob = registry.blob_file(wasm["digest"].as_str().unwrap());
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let cache = tempfile::tempdir().unwrap();
    wasmctl(cache.path())
        .env("WASMCTL_CACHE_DIR", cache.path())
        .args(["registry", "pull", &reference])
        .assert()
        .code(1)
        .stderr(
            contains("layer `svc.wasm`")
                .and(contains("does not match its digest"))
                .and(contains("nothing was cached")),
        );
    let cached_wasm = cache
        .path()
        .join("oci/blobs")
        .join(wasm["digest"].as_str().unwrap().replace(':', "/"));
    assert!(!cached_wasm.exists(), "a tampered blob was cached");
    assert!(
        !cache.path().join("oci/apps").exists()
            || std::fs::read_dir(cache.path().join("oci/apps"))
                .unwrap()
                .count()
                == 0
    );
}

#[test]
fn credentials_login_docker_config_and_refusals() {
    let registry = TestRegistry::start_with_auth(Some(("ada", "s3cret")));
    let reference = format!("{}/demo/private:v1", registry.host);
    let config = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| with_config_dir(config.path(), args, stdin);

    run(&["deploy", "--registry", &reference], "")
        .code(1)
        .stderr(
            contains("refused the credentials (none were given)")
                .and(contains("wasmctl registry login")),
        );
    run(
        &["registry", "login", &registry.host, "--username", "ada"],
        "wrong\n",
    )
    .code(1)
    .stderr(contains("refused user `ada` with this password").and(contains("nothing was saved")));
    assert!(
        !config.path().join("credentials.toml").exists(),
        "bad credentials were stored"
    );
    run(
        &["registry", "login", &registry.host, "--username", "ada"],
        "s3cret\n",
    )
    .success();
    let file = config.path().join("credentials.toml");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    run(&["deploy", "--registry", &reference], "")
        .success()
        .stdout(contains("/demo/private@sha256:"));
    // The manifest is fetched with wasmctl's own capped request: it carries the
    // credentials too, and a refusal reads as one.
    run(&["registry", "pull", &reference], "").success();
    run(&["registry", "logout", &registry.host], "").success();
    run(&["registry", "pull", &reference], "")
        .code(1)
        .stderr(contains("refused the credentials (none were given)"));

    // Docker's config.json works too.
    let docker = tempfile::tempdir().unwrap();
    let auth = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode("ada:s3cret")
    };
    std::fs::write(
        docker.path().join("config.json"),
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"}}}}}}",
            registry.host
        ),
    )
    .unwrap();
    // Mode 0644: the password in it is open to every user.
    let docker_file = docker.path().join("config.json");
    std::fs::set_permissions(&docker_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut command = wasmctl(template_app());
    command
        .env("WASMCTL_CONFIG_DIR", config.path())
        .env("DOCKER_CONFIG", docker.path())
        .args(["deploy", "--registry", &reference])
        .assert()
        .success()
        .stderr(contains(format!("chmod 600 {}", docker_file.display())));
}

#[test]
fn kube_manifests_run_the_pushed_digest() {
    let registry = TestRegistry::start();
    let reference = format!("{}/demo/kube:v1", registry.host);
    let out = tempfile::tempdir().unwrap();
    let kube_dir = out.path().join("k8s");
    let pushed = deploy_json(
        template_app(),
        &reference,
        &[
            "--kube",
            kube_dir.to_str().unwrap(),
            "--replicas",
            "2",
            "--memory",
            "128Mi",
            "--kube-env",
            "MODE=prod",
            // YAML 1.1 (Kubernetes) reads a plain `yes` as a boolean and refuses it.
            "--kube-env",
            "VERBOSE=yes",
        ],
    );
    let yaml = std::fs::read_to_string(kube_dir.join("svc.yaml")).unwrap();
    assert!(
        !yaml.lines().any(|line| line.trim() == "value: yes"),
        "{yaml}"
    );
    assert!(
        yaml.lines()
            .any(|line| line.trim_start().starts_with("image: 127.0.0.1:")),
        "the image on one line:\n{yaml}"
    );
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Deployment", "Service"]);
    let pod = &documents[0]["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["image"], pushed["reference"]);
    assert_eq!(pod["runtimeClassName"], "wasmtime");
    assert_eq!(documents[0]["spec"]["replicas"], 2);
    assert_eq!(
        pod["containers"][0]["resources"]["limits"]["memory"],
        "128Mi"
    );
    assert_eq!(
        pod["containers"][0]["env"],
        serde_json::json!([
            {"name": "MODE", "value": "prod"},
            {"name": "VERBOSE", "value": "yes"},
        ])
    );

    wasmctl(template_app())
        .env("PATH", "/nonexistent")
        .args([
            "deploy",
            "--registry",
            &reference,
            "--kube",
            kube_dir.to_str().unwrap(),
            "--apply",
        ])
        .assert()
        .code(1)
        .stderr(contains(
            "kubectl was not found on PATH, so nothing was applied",
        ));

    // A kubectl that talks on stdout, as the real one does (no cluster here): with
    // --json, stdout still holds deploy's one document, and kubectl is heard on stderr.
    let bin = tempfile::tempdir().unwrap();
    let kubectl = bin.path().join("kubectl");
    std::fs::write(
        &kubectl,
        "#!/bin/sh\necho \"deployment.apps/svc created ($*)\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &kubectl,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = wasmctl(template_app())
        .env("PATH", path)
        .args([
            "deploy",
            "--json",
            "--registry",
            &reference,
            "--kube",
            kube_dir.to_str().unwrap(),
            "--apply",
        ])
        .assert()
        .success()
        .stderr(contains("deployment.apps/svc created (apply -f"))
        .get_output()
        .stdout
        .clone();
    let document: serde_json::Value = serde_json::from_slice(&output).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&output)
        )
    });
    assert_eq!(document["reference"], pushed["reference"]);
}

#[test]
fn kube_flags_obey_the_manifest_rules_before_anything_is_pushed() {
    let out = tempfile::tempdir().unwrap();
    let kube_dir = out.path().join("k8s");
    for flags in [
        ["--cpu", "lots"],
        ["--memory", "-1Gi"],
        ["--namespace", "My_Apps"],
        ["--replicas", "0"],
        ["--kube-env", "1ST=x"],
        ["--runtime-class", "wasm time"],
    ] {
        wasmctl(template_app())
            // Nothing listens there: a usage error must come before any push.
            .args(["deploy", "--registry", "127.0.0.1:9/demo/kube:v1", "--kube"])
            .arg(&kube_dir)
            .args(flags)
            .assert()
            .code(2)
            // The value at fault; of `--kube-env NAME=VALUE` the name only (a value may
            // be a secret, so it is never quoted).
            .stderr(contains(flags[1].split('=').next().unwrap()))
            .stderr(contains("=x").not());
        assert!(!kube_dir.exists(), "{flags:?} wrote YAML");
    }
}

#[test]
fn a_corrupt_credentials_file_is_passed_over_until_credentials_are_needed() {
    let open = TestRegistry::start();
    let private = TestRegistry::start_with_auth(Some(("ada", "s3cret")));
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("credentials.toml");
    std::fs::write(&file, "registries = [not toml").unwrap();
    let deploy = |registry: &TestRegistry| {
        let mut command = wasmctl(template_app());
        command.env("WASMCTL_CONFIG_DIR", config.path()).args([
            "deploy",
            "--registry",
            &format!("{}/demo/creds:v1", registry.host),
        ]);
        command.assert()
    };
    let named = contains(file.display().to_string());
    deploy(&open).success().stderr(
        contains("warning: ignoring the credentials file")
            .and(named.clone())
            .and(contains("going on without it")),
    );
    deploy(&private).code(1).stderr(
        contains("asks for credentials, and none were sent")
            .and(named)
            .and(contains("fix the file or delete it")),
    );
}

/// A credentials file broken in the middle of a password: what is said about it names
/// the file and the line, never the text (a TOML error's snippet would quote it).
#[test]
fn a_broken_credentials_file_is_never_quoted() {
    let private = TestRegistry::start_with_auth(Some(("ada", "s3cret")));
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("credentials.toml"),
        format!(
            "[registries.\"{}\"]\nusername = \"ada\"\npassword = \"hunter2-SECRET\n",
            private.host
        ),
    )
    .unwrap();
    let mut deploy = wasmctl(template_app());
    deploy.env("WASMCTL_CONFIG_DIR", config.path()).args([
        "deploy",
        "--json",
        "--registry",
        &format!("{}/demo/creds:v1", private.host),
    ]);
    let output = deploy.output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at line 3"), "{stderr}");
    let error: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("asks for credentials, and none were sent"),
        "{stdout}"
    );
    for said in [&stdout, &stderr] {
        assert!(!said.contains("hunter2"), "the password leaked:\n{said}");
    }
    // Writing credentials reads the file first, and says the same.
    with_config_dir(config.path(), &["registry", "logout", &private.host], "")
        .code(1)
        .stderr(
            contains("could not read the credentials file")
                .and(contains("at line 3"))
                .and(contains("hunter2").not()),
        );
}

#[test]
fn credentials_others_may_read_are_used_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let registry = TestRegistry::start_with_auth(Some(("ada", "s3cret")));
    let config = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| with_config_dir(config.path(), args, stdin);
    run(
        &["registry", "login", &registry.host, "--username", "ada"],
        "s3cret\n",
    )
    .success();
    let file = config.path().join("credentials.toml");
    let reference = format!("{}/demo/exposed:v1", registry.host);
    run(&["deploy", "--registry", &reference], "")
        .success()
        .stderr(contains("other users may read it").not());
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    run(&["deploy", "--registry", &reference], "")
        .success()
        .stderr(
            contains(format!(
                "warning: {} holds registry credentials and other users may read it",
                file.display()
            ))
            .and(contains(format!("chmod 600 {}", file.display()))),
        );
}

#[test]
fn deploy_without_a_registry_says_where_to_set_one() {
    wasmctl(template_app())
        .arg("deploy")
        .assert()
        .code(1)
        .stderr(contains("no registry to push to").and(contains("[deploy]")));
}

#[test]
fn login_on_a_terminal_asks_for_the_password_without_echo() {
    let registry = TestRegistry::start_with_auth(Some(("ada", "s3cret")));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let mut terminal = Terminal::spawn(
        &format!(
            "{} registry login {} --username ada",
            assert_cmd::cargo::cargo_bin("wasmctl").display(),
            registry.host
        ),
        dir.path(),
        &[("WASMCTL_CONFIG_DIR", &config)],
    );
    terminal.expect("Password:");
    terminal.wait_until_echo_is_off();
    terminal.type_line("s3cret");
    terminal.expect("Logged in");
    let (status, transcript) = terminal.finish();
    assert!(status.success(), "{transcript}");
    assert!(
        !transcript.contains("s3cret"),
        "the password was echoed:\n{transcript}"
    );
    assert!(config.join("credentials.toml").is_file(), "{transcript}");

    // `--password-stdin` (docker's and Spin's flag) reads a pipe, as without it.
    let piped = dir.path().join("piped");
    wasmctl(dir.path())
        .env("WASMCTL_CONFIG_DIR", &piped)
        .args([
            "registry",
            "login",
            &registry.host,
            "-u",
            "ada",
            "--password-stdin",
        ])
        .write_stdin("s3cret\n")
        .assert()
        .success()
        .stderr(contains("Logged in"));
    assert!(piped.join("credentials.toml").is_file());
}

#[test]
fn registry_push_ships_what_build_made_without_kubernetes() {
    let registry = TestRegistry::start();
    let app = template_app();
    let reference = format!("{}/demo/pushed:v1", registry.host);
    let pushed = json_stdout(wasmctl(app).args(["registry", "push", &reference, "--json"]));
    let digest = pushed["digest"].as_str().unwrap();
    let pinned = format!("{}/demo/pushed@{digest}", registry.host);
    assert_eq!(pushed["reference"], pinned);
    assert_eq!(pushed["tag"], reference);
    assert!(pushed.get("kubernetes").is_none(), "{pushed}");

    // For people: the pinned reference on stdout, and not a word of Kubernetes.
    wasmctl(app)
        .args(["registry", "push", &reference])
        .assert()
        .success()
        .stdout(format!("{pinned}\n"))
        .stderr(contains("Pushed").and(contains("Deployment").not()));

    // The very artifact `deploy` pushes.
    let deployed = deploy_json(app, &format!("{}/demo/deployed:v1", registry.host), &[]);
    assert_eq!(deployed["digest"], digest);

    let out = tempfile::tempdir().unwrap();
    let pulled = json_stdout(
        wasmctl(out.path())
            .env("WASMCTL_CACHE_DIR", out.path().join("cache"))
            .args(["registry", "pull", &reference, "--json"]),
    );
    assert_eq!(pulled["digest"], digest);
    let dir = std::path::Path::new(pulled["directory"].as_str().unwrap());
    assert!(
        std::fs::read(dir.join("components/svc.wasm")).unwrap()
            == std::fs::read(app.join("target/wasm32-wasip2/release/svc.wasm")).unwrap(),
        "the pulled component is not the built one"
    );
}

#[test]
fn registry_push_without_a_reference_or_a_build_fails_clearly() {
    let stderr = |assert: assert_cmd::assert::Assert| {
        String::from_utf8(assert.get_output().stderr.clone()).unwrap()
    };
    let push = stderr(
        wasmctl(template_app())
            .args(["registry", "push"])
            .assert()
            .code(1),
    );
    let deploy = stderr(wasmctl(template_app()).arg("deploy").assert().code(1));
    assert!(push.contains("no registry to push to"), "{push}");
    assert_eq!(
        push, deploy,
        "push and deploy explain a missing reference alike"
    );

    // Nothing is built: the component must exist already.
    let unbuilt = fresh_app(|text| text);
    wasmctl(&unbuilt.path().join("svc"))
        .args(["registry", "push", "127.0.0.1:1/demo/svc:v1"])
        .assert()
        .code(1)
        .stderr(contains("component `svc` has not been built").and(contains("wasmctl build")));
    assert!(!unbuilt.path().join("svc/target").exists(), "push built");
}

/// Pushes a hand-made wasmctl artifact whose one files layer is `files` (a tar.gz), with
/// the plain OCI distribution API: what a hostile registry or publisher could serve.
fn push_crafted(registry: &TestRegistry, repository: &str, files: Vec<u8>) -> String {
    use wasmctl::registry::artifact::{
        APP_MEDIA_TYPE, FILES_MEDIA_TYPE, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE,
        sha256_digest,
    };
    let agent = crate::support::http();
    let base = format!("http://{}/v2/{repository}", registry.host);
    let upload = |data: &[u8]| -> serde_json::Value {
        let digest = sha256_digest(data);
        let started = agent
            .post(format!("{base}/blobs/uploads/"))
            .send_empty()
            .unwrap();
        assert_eq!(started.status().as_u16(), 202);
        let location = started.headers()["location"].to_str().unwrap().to_string();
        let location = if location.starts_with('/') {
            format!("http://{}{location}", registry.host)
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let put = agent
            .put(format!("{location}{separator}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .send(data)
            .unwrap();
        assert_eq!(put.status().as_u16(), 201, "uploading {digest}");
        serde_json::json!({ "digest": digest, "size": data.len() })
    };
    let config = upload(br#"{"architecture":"wasm","os":"wasip2"}"#);
    let wasm = upload(b"\0asm\x0d\0\x01\0");
    let files = upload(&files);
    let toml = format!(
        "manifest_version = 1\n[application]\nname = \"evil\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"{}\"\nfiles = [{{ source = \"{}\", destination = \"/data\" }}]\n",
        wasm["digest"].as_str().unwrap(),
        files["digest"].as_str().unwrap()
    );
    let app = upload(toml.as_bytes());
    let layer = |blob: &serde_json::Value, media_type: &str| serde_json::json!({ "mediaType": media_type, "digest": blob["digest"], "size": blob["size"] });
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": layer(&config, WASM_CONFIG_MEDIA_TYPE),
        "layers": [
            layer(&wasm, WASM_LAYER_MEDIA_TYPE),
            layer(&files, FILES_MEDIA_TYPE),
            layer(&app, APP_MEDIA_TYPE),
        ],
    });
    let put = agent
        .put(format!("{base}/manifests/v1"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .send(serde_json::to_vec(&manifest).unwrap().as_slice())
        .unwrap();
    assert_eq!(put.status().as_u16(), 201, "pushing the manifest");
    format!("{}/{repository}:v1", registry.host)
}

#[test]
fn a_pulled_files_layer_with_a_link_is_refused_and_leaves_nothing() {
    let registry = TestRegistry::start();
    let cases = [
        (
            "symlink-file",
            tar::EntryType::Symlink,
            "passwd",
            "/etc/passwd",
            "a symbolic link to `/etc/passwd`",
        ),
        (
            "symlink-dir",
            tar::EntryType::Symlink,
            "etc",
            "/etc",
            "a symbolic link to `/etc`",
        ),
        (
            "hardlink",
            tar::EntryType::Link,
            "passwd",
            "/etc/passwd",
            "a hard link to `/etc/passwd`",
        ),
    ];
    for (repository, kind, name, target, said) in cases {
        let reference = push_crafted(
            &registry,
            &format!("evil/{repository}"),
            files_layer(kind, name, target),
        );
        let out = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let output = out.path().join("pulled");
        wasmctl(out.path())
            .env("WASMCTL_CACHE_DIR", cache.path())
            .args(["registry", "pull", &reference, "-o"])
            .arg(&output)
            .assert()
            .code(1)
            .stderr(
                contains(format!("holds `{name}`, {said}"))
                    .and(contains("regular files and directories only")),
            );
        assert!(!output.exists(), "{repository}: the output was written");
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "{repository}: staging left behind"
        );
        let apps = cache.path().join("oci/apps");
        let left: Vec<_> = std::fs::read_dir(&apps)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{repository}: the cache holds {left:?}");
        let blobs = cache.path().join("oci/blobs/sha256");
        let blobs: Vec<_> = std::fs::read_dir(&blobs)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(blobs.is_empty(), "{repository}: blobs kept: {blobs:?}");

        // `up --from` unpacks through the same code: refused before anything is served.
        wasmctl(out.path())
            .env("WASMCTL_CACHE_DIR", cache.path())
            .args(["up", "--from", &reference, "--listen", "127.0.0.1:0"])
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(1)
            .stderr(contains(format!("holds `{name}`, {said}")));
    }
}

/// `wasmctl ARGS` in the template app with its credentials kept in `config`, fed `stdin`.
fn with_config_dir(
    config: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> assert_cmd::assert::Assert {
    let mut command = wasmctl(template_app());
    command
        .env("WASMCTL_CONFIG_DIR", config)
        .args(args)
        .write_stdin(stdin.to_string());
    command.assert()
}

/// The secrets of [`stateful_app`], each handed to `deploy` a different way.
const SECRET_FROM_ENV: &str = "SECRET-env-7f3a1c";
const SECRET_FROM_DOTENV: &str = "SECRET-dotenv-91c2";
const SECRET_FROM_FLAG: &str = "SECRET-flag-5be0";
const SECRET_IN_RUNTIME_CONFIG: &str = "SECRET-redis-d44e";

/// The `counter` guest (wasi:keyvalue) granted the default store, with a default, a
/// required and a required secret variable; the secret's value sits in `.env`, and a
/// runtime config with a Redis password beside the app.
fn stateful_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        crate::keyvalue::counter_component("counter"),
        dir.path().join("counter.wasm"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("wasmctl.toml"),
        r#"manifest_version = 1
[application]
name = "stateful"

[variables]
greeting = { default = "hello" }
region = { required = true }
api_token = { required = true, secret = true }

[[trigger.http]]
route = "/..."
component = "svc"

[component.svc]
source = "counter.wasm"
key_value_stores = ["default"]

[component.svc.variables]
greeting = "{{ greeting }}"
region = "{{ region }}"
token = "{{ api_token }}"
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("WASMCTL_VARIABLE_API_TOKEN={SECRET_FROM_DOTENV}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("runtime-config.toml"),
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://:{SECRET_IN_RUNTIME_CONFIG}@redis:6379\"\n"
        ),
    )
    .unwrap();
    dir
}

/// Every file under `dir`, recursively, as bytes.
fn every_file(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for secret in [
        SECRET_FROM_ENV,
        SECRET_FROM_DOTENV,
        SECRET_FROM_FLAG,
        SECRET_IN_RUNTIME_CONFIG,
    ] {
        assert!(!text.contains(secret), "{what} holds `{secret}`:\n{text}");
    }
}

#[test]
fn deploy_kube_of_a_stateful_app_writes_spin_objects_and_never_a_secret() {
    let registry = TestRegistry::start();
    let app = stateful_app();
    let out = tempfile::tempdir().unwrap();
    let kube_dir = out.path().join("k8s");
    let reference = format!("{}/demo/stateful:v1", registry.host);
    let deploy = |extra: &[&str]| {
        let mut command = wasmctl(app.path());
        command
            .env("WASMCTL_VARIABLE_API_TOKEN", SECRET_FROM_ENV)
            .args(["deploy", "--registry", &reference, "--kube"])
            .arg(&kube_dir)
            .args(extra);
        command.output().unwrap()
    };

    // A required variable without a value, and a secret given on the command line: both
    // refused before anything is pushed or written, neither quoting a secret.
    let missing = deploy(&[]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("the app needs a value for required variable `region`")
            && stderr.contains("`wasmctl deploy --variable region=VALUE`"),
        "{stderr}"
    );
    let secret_given = deploy(&[
        "--variable",
        "region=eu",
        "--variable",
        &format!("api_token={SECRET_FROM_FLAG}"),
    ]);
    assert_eq!(secret_given.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&secret_given.stderr);
    assert!(
        stderr.contains("`api_token` is a secret variable, and `deploy` writes no secret value"),
        "{stderr}"
    );
    for output in [&missing, &secret_given] {
        assert_no_secret("stdout", &output.stdout);
        assert_no_secret("stderr", &output.stderr);
    }
    assert!(!kube_dir.exists(), "YAML written after a refusal");
    assert!(
        every_file(registry.storage.path())
            .iter()
            .all(|(path, _)| !path
                .to_string_lossy()
                .contains("repositories/demo/stateful")),
        "pushed after a refusal"
    );

    let runtime_config = app.path().join("runtime-config.toml");
    let json = deploy(&[
        "--json",
        "--replicas",
        "2",
        "--variable",
        "region=eu-west",
        "--runtime-config",
        runtime_config.to_str().unwrap(),
    ]);
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&json.stderr);
    assert!(
        !stderr.contains("do not share it") && !stderr.contains("kubectl create secret"),
        "a runtime config gives a shared store, and --json holds the commands: {stderr}"
    );
    assert_eq!(
        document["kubernetes_secrets"],
        serde_json::json!([
            {
                "name": "stateful-secrets",
                "keys": ["api_token"],
                "command": "kubectl create secret generic stateful-secrets --from-literal=api_token=VALUE",
            },
            {
                "name": "stateful-runtime-config",
                "keys": ["runtime-config.toml"],
                "command": format!(
                    "kubectl create secret generic stateful-runtime-config --from-file=runtime-config.toml={}",
                    runtime_config.display()
                ),
            },
        ])
    );

    let yaml = std::fs::read_to_string(kube_dir.join("stateful.yaml")).unwrap();
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ConfigMap", "Deployment", "Service"], "{yaml}");
    assert_eq!(documents[0]["metadata"]["name"], "stateful-variables");
    assert_eq!(
        documents[0]["data"],
        serde_json::json!({ "greeting": "hello", "region": "eu-west" })
    );
    let pod = &documents[1]["spec"]["template"]["spec"];
    assert_eq!(pod["runtimeClassName"], "wasmtime-spin-v2");
    assert_eq!(pod["containers"][0]["image"], document["reference"]);
    let env = pod["containers"][0]["env"].as_array().unwrap();
    let source = |name: &str| {
        env.iter()
            .find(|variable| variable["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {yaml}"))["valueFrom"]
            .clone()
    };
    assert_eq!(
        source("SPIN_VARIABLE_REGION"),
        serde_json::json!({ "configMapKeyRef": { "name": "stateful-variables", "key": "region" } })
    );
    assert_eq!(
        source("SPIN_VARIABLE_API_TOKEN"),
        serde_json::json!({ "secretKeyRef": { "name": "stateful-secrets", "key": "api_token" } })
    );
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        "stateful-runtime-config"
    );
    assert_eq!(
        pod["containers"][0]["volumeMounts"][0]["mountPath"],
        "/runtime-config.toml"
    );

    // For people: the same commands, and still no secret.
    let human = deploy(&["--replicas", "2", "--variable", "region=eu-west"]);
    assert!(human.status.success());
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert!(
        stderr.contains("(ConfigMap, Deployment and Service)")
            && stderr.contains(
                "the Secret `stateful-secrets` the pods read (api_token), with your values: kubectl create secret generic stateful-secrets --from-literal=api_token=VALUE"
            )
            && stderr.contains("the 2 replicas do not share it"),
        "{stderr}"
    );

    for output in [&json, &human] {
        assert_no_secret("stdout", &output.stdout);
        assert_no_secret("stderr", &output.stderr);
    }
    for (path, bytes) in every_file(out.path())
        .into_iter()
        .chain(every_file(registry.storage.path()))
    {
        assert_no_secret(&path.display().to_string(), &bytes);
    }
}

/// `--runtime spinkube`: a SpinApp whose variables come from the ConfigMap and the
/// Secret, whose runtime config is a Secret spin-operator mounts; the locked app carries
/// the declarations, templates and stores, never a value of a secret.
#[test]
fn deploy_runtime_spinkube_writes_a_spin_app_and_spins_layout_without_a_secret() {
    let registry = TestRegistry::start();
    let app = stateful_app();
    let out = tempfile::tempdir().unwrap();
    let kube_dir = out.path().join("k8s");
    let reference = format!("{}/demo/stateful:v1", registry.host);
    let runtime_config = app.path().join("runtime-config.toml");
    let deploy = |extra: &[&str]| {
        wasmctl(app.path())
            .env("WASMCTL_VARIABLE_API_TOKEN", SECRET_FROM_ENV)
            .args(["deploy", "--registry", &reference, "--kube"])
            .arg(&kube_dir)
            .args(["--runtime", "spinkube", "--variable", "region=eu-west"])
            .args(extra)
            .output()
            .unwrap()
    };

    // What a SpinApp has no field for is refused before anything is pushed.
    for (flag, value, says) in [
        ("--kube-env", "MODE=x", "a SpinApp has no pod environment"),
        ("--runtime-class", "other", "its SpinAppExecutor"),
    ] {
        let refused = deploy(&[flag, value]);
        assert_eq!(refused.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
    assert!(!kube_dir.exists(), "YAML written after a refusal");

    let output = deploy(&[
        "--json",
        "--runtime-config",
        runtime_config.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let yaml = std::fs::read_to_string(kube_dir.join("stateful.yaml")).unwrap();
    let objects: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ConfigMap", "SpinApp"], "{yaml}");
    let spec = &objects[1]["spec"];
    assert_eq!(
        spec["variables"],
        serde_json::json!([
            { "name": "greeting", "valueFrom": { "configMapKeyRef": { "name": "stateful-variables", "key": "greeting" } } },
            { "name": "region", "valueFrom": { "configMapKeyRef": { "name": "stateful-variables", "key": "region" } } },
            { "name": "api_token", "valueFrom": { "secretKeyRef": { "name": "stateful-secrets", "key": "api_token" } } },
        ]),
        "{yaml}"
    );
    assert_eq!(
        spec["runtimeConfig"],
        serde_json::json!({ "loadFromSecret": "stateful-runtime-config" })
    );

    let manifest = registry.artifact("demo/stateful", "v1");
    let layers = manifest["layers"].as_array().unwrap();
    let locked: serde_json::Value = serde_json::from_slice(&registry.blob(
        "demo/stateful",
        layers.last().unwrap()["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(
        locked["variables"],
        serde_json::json!({
            "api_token": { "secret": true },
            "greeting": { "default": "hello" },
            "region": {},
        })
    );
    let component = &locked["components"][0];
    assert_eq!(
        component["config"],
        serde_json::json!({
            "greeting": "{{ greeting }}",
            "region": "{{ region }}",
            "token": "{{ api_token }}",
        })
    );
    assert_eq!(
        component["metadata"]["key_value_stores"],
        serde_json::json!(["default"])
    );
    assert_no_secret("stdout", &output.stdout);
    assert_no_secret("stderr", &output.stderr);
    for (path, bytes) in every_file(out.path())
        .into_iter()
        .chain(every_file(registry.storage.path()))
    {
        assert_no_secret(&path.display().to_string(), &bytes);
    }
}

#[test]
fn a_stateful_app_is_refused_under_runwasi_s_wasmtime_class_before_any_push() {
    let app = stateful_app();
    let out = tempfile::tempdir().unwrap();
    let kube_dir = out.path().join("k8s");
    wasmctl(app.path())
        // Nothing listens there: the refusal must come before any push.
        .args(["deploy", "--registry", "127.0.0.1:9/demo/kube:v1", "--kube"])
        .arg(&kube_dir)
        .args(["--variable", "region=eu", "--runtime-class", "wasmtime"])
        .assert()
        .code(1)
        .stderr(
            contains("links neither wasi:config nor wasi:keyvalue")
                .and(contains("wasmtime-spin-v2")),
        );
    assert!(!kube_dir.exists());
}
