//! Faults from outside: a registry that dies mid-push, a full disk and a read-only
//! directory under `new`, `build` and `up`'s key-value state, cargo killed mid-build, a
//! component file replaced while it is served, SIGTERM under load. Each ends in a clear
//! error (or no visible effect at all), a non-zero exit where something failed, and no
//! partial files.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{
    TestRegistry, build_guest, get, guest_app, http, serve, template_app, testdata, wasmctl,
    wasmctl_process,
};

// ---------------------------------------------------------------------------------
// Disks: a tmpfs mounted in a private mount namespace (`unshare`), so no privileges are
// needed and nothing outlives the command.

/// Runs `script` with `sh` in a new user and mount namespace where `$DIR` is a fresh
/// tmpfs mounted with `options`, then lists what is left in `$DIR`. Returns (exit status
/// of the script, stderr, what was left).
fn on_small_disk(options: &str, setup: &str, script: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let wasmctl = assert_cmd::cargo::cargo_bin("wasmctl");
    let full = format!(
        "set -u\nmount -t tmpfs -o {options} tmpfs \"$DIR\" || exit 99\n{setup}\n\
         ( {script} ) 2>\"$LOG\"\nstatus=$?\n\
         echo \"status=$status\"\nfind \"$DIR\" -mindepth 1 | sed \"s|$DIR|.|\" | sort\n"
    );
    let log = dir.path().join("stderr.log");
    let mount_point = dir.path().join("disk");
    std::fs::create_dir(&mount_point).unwrap();
    let output = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &full])
        .env("DIR", &mount_point)
        .env("LOG", &log)
        .env("WASMCTL", &wasmctl)
        .env("WASMCTL_DATA_DIR", dir.path().join("data"))
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_ne!(
        output.status.code(),
        Some(99),
        "mounting a tmpfs in a private namespace failed: these tests need `unshare --user --mount`\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status = stdout
        .lines()
        .find_map(|line| line.strip_prefix("status="))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {stdout:?}"));
    let left = stdout
        .lines()
        .filter(|line| !line.starts_with("status="))
        .collect::<Vec<_>>()
        .join("\n");
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    (status, stderr, left)
}

#[test]
fn new_on_a_read_only_or_full_disk_fails_clearly_and_leaves_nothing() {
    let (status, stderr, left) =
        on_small_disk("ro", "", "cd \"$DIR\" && \"$WASMCTL\" new http-rust svc -y");
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(left, "", "a read-only disk got files");

    // Two pages: the first files fit, the rest do not.
    let (status, stderr, left) = on_small_disk(
        "size=8k",
        "",
        "cd \"$DIR\" && \"$WASMCTL\" new http-rust svc -y",
    );
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains("svc"),
        "the error names the project: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(left, "", "a half-written project was left behind");
}

/// An app whose build copies a wasip1 core module into place; wasmctl then turns it
/// into a component, writing over it.
fn core_module_app() -> (PathBuf, String) {
    build_guest("wasip1-handler").success();
    let module = testdata().join("guests/target/wasm32-wasip1/release/wasip1_handler.wasm");
    let manifest = "manifest_version = 1\n[application]\nname = \"app\"\n\
        [[trigger.http]]\nroute = \"/...\"\ncomponent = \"handler\"\n\
        [component.handler]\nsource = \"handler.wasm\"\n\
        [component.handler.build]\ncommand = \"cp module.wasm handler.wasm\"\n";
    (module, manifest.to_string())
}

#[test]
fn build_on_a_full_or_read_only_disk_fails_clearly_and_corrupts_nothing() {
    let (module, manifest) = core_module_app();
    let size = std::fs::metadata(&module).unwrap().len();
    let setup = format!(
        "cp \"{}\" \"$DIR/module.wasm\" && printf '%s' '{manifest}' > \"$DIR/wasmctl.toml\"",
        module.display()
    );
    // Room for the module and its copy, not for the component (the adapter adds ~100 KB).
    let room = (2 * size + 64 * 1024).div_ceil(4096) * 4096;
    let (status, stderr, left) = on_small_disk(
        &format!("size={room}"),
        &setup,
        // The core module the build command produced must be whole after the failure.
        "cd \"$DIR\" && \"$WASMCTL\" build; built=$?; cmp -s module.wasm handler.wasm || exit 42; exit $built",
    );
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.contains("writing `") && stderr.contains("handler.wasm`"),
        "{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The core module the build produced is still whole (cmp exits 42 otherwise), the
    // copy the build command made is all there is besides it, and no temporary file
    // is left.
    assert_eq!(
        left, "./handler.wasm\n./module.wasm\n./wasmctl.toml",
        "{left}"
    );

    let (status, stderr, _) = on_small_disk(
        "size=4m",
        &format!("{setup} && mount -o remount,ro \"$DIR\""),
        "cd \"$DIR\" && \"$WASMCTL\" build",
    );
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.contains("`cp module.wasm handler.wasm` failed"),
        "{stderr}"
    );
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// ---------------------------------------------------------------------------------
// cargo killed mid-build.

/// The children of process `pid`.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|child| child.parse().ok())
        .collect()
}

#[test]
fn cargo_killed_mid_build_is_reported_and_the_next_build_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("svc");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(template_app())
        .arg(&app)
        .status()
        .unwrap();
    assert!(copied.success());
    // The copy's own crate must be compiled: cargo has work to do when it is killed.
    let main_rs = app.join("src/main.rs");
    let text = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(&main_rs, text.replace("Hello from", "Hi from")).unwrap();

    let build = wasmctl_process(&app)
        .arg("build")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let cargo = loop {
        if let Some(&cargo) = children(build.id()).first() {
            break cargo;
        }
        assert!(Instant::now() < deadline, "cargo never started");
        std::thread::sleep(Duration::from_millis(5));
    };
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &cargo.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = build.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`cargo build --target wasm32-wasip2")
            && stderr.contains("failed (signal: 9 (SIGKILL))"),
        "{stderr}"
    );
    assert!(stderr.contains(&app.display().to_string()), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    wasmctl(&app).arg("build").assert().success();
}

// ---------------------------------------------------------------------------------
// Serving.

#[test]
fn a_component_file_replaced_while_served_changes_nothing() {
    let dir = guest_app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    let source = dir.path().join("probe.wasm");
    // Overwritten in place with garbage, then deleted: the server runs what it loaded.
    std::fs::write(&source, b"not a component any more").unwrap();
    assert_eq!(get(&server.url("/size")), (200, "0\n".to_string()));
    std::fs::remove_file(&source).unwrap();
    for _ in 0..20 {
        assert_eq!(get(&server.url("/size")), (200, "0\n".to_string()));
    }
    assert!(!server.stderr().contains("ERROR"), "{}", server.stderr());
}

#[test]
fn sigterm_under_load_loses_no_request_in_flight() {
    let dir = guest_app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"hostile\"\n[component.hostile]\nsource = \"hostile.wasm\"\n",
        &["hostile"],
    );
    let mut server = serve(dir.path(), &[]);
    let address = server.address();
    let stop = Arc::new(AtomicBool::new(false));
    // When SIGTERM was sent, in microseconds since `epoch` (0: not yet).
    let epoch = Instant::now();
    let terminated_at = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (address, stop, terminated_at) =
                (address.clone(), stop.clone(), terminated_at.clone());
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let Ok(mut stream) = TcpStream::connect(&address) else {
                        break; // the listener is gone: shutdown has begun
                    };
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .unwrap();
                    if stream
                        .write_all(
                            b"GET /slow?ms=1000 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
                        )
                        .is_err()
                    {
                        break;
                    }
                    let sent_at = epoch.elapsed().as_micros() as usize;
                    let mut response = String::new();
                    let _ = stream.read_to_string(&mut response);
                    outcomes.push((sent_at, response));
                }
                let terminated = terminated_at.load(Ordering::Relaxed);
                (outcomes, terminated)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    terminated_at.store(epoch.elapsed().as_micros() as usize, Ordering::Relaxed);
    let status = server.terminate().unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(status.success(), "exit status {status}");

    let (mut answered, mut running) = (0, 0);
    for client in clients {
        let (outcomes, terminated) = client.join().unwrap();
        for (sent_at, response) in outcomes {
            // Sent well before SIGTERM: the server had it, so it must be answered.
            if sent_at + 200_000 < terminated {
                answered += 1;
                assert!(
                    response.starts_with("HTTP/1.1 200") && response.contains("slept 1000 ms"),
                    "a request sent before shutdown got {response:?}"
                );
                // Its guest still slept when SIGTERM came.
                if sent_at + 1_000_000 > terminated {
                    running += 1;
                }
            }
        }
    }
    // Each client keeps one 1 s request going; with 8 of them, several are caught
    // mid-request by SIGTERM (none only if every one of them was between requests).
    assert!(
        running >= 1 && answered >= 8,
        "{running} requests were running at SIGTERM, {answered} answered"
    );
    assert!(http().get(server.url("/ok")).call().is_err());
}

// ---------------------------------------------------------------------------------
// A registry that dies mid-push: a proxy in front of a real registry cuts the
// connection at a chosen point.

#[derive(Clone, Copy)]
enum Cut {
    /// After this many bytes from wasmctl to the registry (inside a blob upload).
    AfterBytes(usize),
    /// When wasmctl starts to write the manifest (the tag).
    AtManifest,
}

/// Forwards connections to `upstream` until the cut, then drops them all,
/// closes the next connection at once and refuses later ones, like a registry process
/// that died.
fn dying_proxy(upstream: String, cut: Cut) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let dead = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for client in listener.incoming() {
            if dead.load(Ordering::Relaxed) {
                break; // the listener drops: connections are refused from now on
            }
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (dead, sent) = (dead.clone(), sent.clone());
            let (mut from_client, mut to_server) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut from_server, mut to_client) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
            });
            std::thread::spawn(move || {
                let mut buffer = [0u8; 16 * 1024];
                while let Ok(read @ 1..) = from_client.read(&mut buffer) {
                    let chunk = &buffer[..read];
                    let total = sent.fetch_add(read, Ordering::Relaxed) + read;
                    let cut_now = match cut {
                        Cut::AfterBytes(limit) => total > limit,
                        Cut::AtManifest => {
                            let text = String::from_utf8_lossy(chunk);
                            text.starts_with("PUT ") && text.contains("/manifests/")
                        }
                    };
                    if cut_now || dead.load(Ordering::Relaxed) {
                        dead.store(true, Ordering::Relaxed);
                        let _ = from_client.shutdown(std::net::Shutdown::Both);
                        let _ = to_server.shutdown(std::net::Shutdown::Both);
                        break;
                    }
                    if to_server.write_all(chunk).is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

/// Whether `tag` exists in the registry's repository `demo/svc`.
fn tag_exists(registry: &TestRegistry, tag: &str) -> bool {
    http()
        .head(format!(
            "http://{}/v2/demo/svc/manifests/{tag}",
            registry.host
        ))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .call()
        .is_ok_and(|response| response.status() == 200)
}

#[test]
fn a_registry_dying_mid_push_leaves_no_tag_and_a_clear_error() {
    let registry = TestRegistry::start();
    let app = template_app();
    for (cut, tag) in [
        (Cut::AfterBytes(64 * 1024), "mid-blob"),
        (Cut::AtManifest, "at-tag"),
    ] {
        let proxy = dying_proxy(registry.host.clone(), cut);
        let reference = format!("{proxy}/demo/svc:{tag}");
        let output = wasmctl(app)
            .args(["deploy", "--registry", &reference])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{tag}: {stderr}");
        assert!(
            stderr.contains(&format!("the connection to the registry {proxy} broke off")),
            "{tag}: {stderr}"
        );
        assert!(
            stderr.contains("a push tags only after every blob is uploaded"),
            "{tag}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!tag_exists(&registry, tag), "{tag}: a tag was written");
        // The registry is back (here: reached directly): the same push completes.
        let reference = format!("{}/demo/svc:{tag}", registry.host);
        wasmctl(app)
            .args(["deploy", "--registry", &reference])
            .assert()
            .success();
        assert!(tag_exists(&registry, tag), "{tag}: the retry did not tag");
    }
}

/// A state directory on a read-only disk: `up` stops before it binds with an error that
/// names the store and the disk's refusal, and a store that was written before the disk
/// became read-only keeps its data (read back once the disk is writable again).
#[test]
fn up_with_its_state_on_a_read_only_disk_stops_clearly_and_keeps_the_data() {
    let app = tempfile::tempdir().unwrap();
    std::fs::copy(
        crate::keyvalue::counter_component("counter"),
        app.path().join("counter.wasm"),
    )
    .unwrap();
    std::fs::write(
        app.path().join("wasmctl.toml"),
        "manifest_version = 1\n[application]\nname = \"app\"\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"counter\"\n\
         [component.counter]\nsource = \"counter.wasm\"\nkey_value_stores = [\"default\"]\n",
    )
    .unwrap();
    // `timeout`: were `up` to serve, the test fails instead of hanging.
    let up = format!(
        "cd \"{}\" && timeout 60 \"$WASMCTL\" up --state-dir \"$DIR/state\" --listen 127.0.0.1:0",
        app.path().display()
    );

    // Nothing there yet: the directory cannot be made.
    let (status, stderr, left) = on_small_disk("ro", "", &up);
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(stderr.contains("default"), "names the store: {stderr}");
    assert!(!stderr.contains("Serving"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(left, "");

    // A store written, then the disk remounted read-only under it.
    let kv = |args: &str| {
        format!(
            "cd \"{}\" && \"$WASMCTL\" kv {args} --state-dir \"$DIR/state\"",
            app.path().display()
        )
    };
    let setup = format!(
        "{} 2>/dev/null && mount -o remount,ro \"$DIR\" || exit 98",
        kv("set kept 'still here'")
    );
    let (status, stderr, left) = on_small_disk(
        "size=4m",
        &setup,
        &format!(
            "{up}; echo \"up=$?\" >&2; mount -o remount,rw \"$DIR\" && {} >&2",
            kv("get kept")
        ),
    );
    assert!(stderr.contains("up=1"), "{stderr}");
    assert!(stderr.contains("default"), "names the store: {stderr}");
    assert!(!stderr.contains("Serving"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("still here"),
        "the data is intact: {stderr}"
    );
    assert!(stderr.contains("writable"), "says what to do: {stderr}");
    assert_eq!(
        status, 0,
        "kv get, once the disk is writable again: {stderr}"
    );
    assert!(left.contains("./state/default.db"), "{left}");
}
