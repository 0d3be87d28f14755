//! Untrusted bytes have limits (docs/hardening.md): devices and endless or oversized input
//! are refused promptly, and what was staged for them is gone afterwards; Ctrl-C stops a
//! command promptly and leaves nothing half-written.

use std::path::Path;
use std::time::{Duration, Instant};

use predicates::str::contains;

use crate::support::{FakeRegistry, Misbehaviour, Server, wasmctl, wasmctl_process};

/// An app whose one component (no build table) is `svc.wasm`, a link to `/dev/zero`.
fn app_with_a_device_source() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wasmctl.toml"),
        "manifest_version = 1\n[application]\nname = \"zero\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"svc\"\n[component.svc]\nsource = \"svc.wasm\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("svc.wasm")).unwrap();
    dir
}

#[test]
fn up_refuses_a_source_linked_to_dev_zero_at_once() {
    let app = app_with_a_device_source();
    let started = Instant::now();
    wasmctl(app.path())
        .args(["up", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains(
            "svc.wasm` is a character device, not a regular file",
        ));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn watch_reports_a_source_linked_to_dev_zero_and_stays_small() {
    let app = app_with_a_device_source();
    // It serves (503 until a save fixes the component) and says why.
    let server = Server::start(app.path(), &["--watch"]);
    assert!(
        server.wait_for_stderr("is a character device, not a regular file"),
        "{}",
        server.stderr()
    );
    // Reading /dev/zero grew the process by gigabytes within seconds.
    std::thread::sleep(Duration::from_secs(2));
    let rss = server.rss_kib();
    assert!(rss < 512 * 1024, "RSS {rss} KiB");
}

/// Files left in `dir` and below it.
fn files_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.map(Result::unwrap) {
        if entry.file_type().unwrap().is_dir() {
            found.extend(files_below(&entry.path()));
        } else {
            found.push(entry.path());
        }
    }
    found
}

#[test]
fn a_misbehaving_registry_is_cut_off_and_leaves_nothing() {
    let cases = [
        (
            Misbehaviour::EndlessManifest,
            "is larger than 4 MiB, the most wasmctl accepts for a registry manifest",
        ),
        (
            Misbehaviour::OversizeBlob,
            "is longer than the 8 bytes its descriptor gives",
        ),
        (Misbehaviour::BadDigest, "does not match its digest"),
        (
            Misbehaviour::GzipBomb,
            "unpacked is larger than 1 MiB, the most wasmctl accepts for a granted directory",
        ),
        (
            Misbehaviour::SymlinkLayer,
            "a symbolic link to `/etc/passwd`",
        ),
    ];
    for (misbehaviour, said) in cases {
        let registry = FakeRegistry::start(misbehaviour);
        let out = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let output = out.path().join("pulled");
        let started = Instant::now();
        wasmctl(out.path())
            .env("WASMCTL_CACHE_DIR", cache.path())
            .env("WASMCTL_MAX_FILES_SIZE", "1MiB")
            .args(["registry", "pull", &registry.reference(), "-o"])
            .arg(&output)
            .timeout(Duration::from_secs(60))
            .assert()
            .code(1)
            .stderr(contains(said));
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{misbehaviour:?}: took {:?}",
            started.elapsed()
        );
        assert!(!output.exists(), "{misbehaviour:?}: the output was written");
        let cached: Vec<_> = ["tmp", "apps"]
            .iter()
            .flat_map(|dir| files_below(&cache.path().join("oci").join(dir)))
            .collect();
        assert!(cached.is_empty(), "{misbehaviour:?}: left {cached:?}");
    }
}

#[test]
fn a_template_bomb_is_refused_and_nothing_is_left_anywhere() {
    let data = tempfile::tempdir().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let archive = crate::support::testdata().join("errors/114-template-archive-bomb/bomb.tar.gz");
    wasmctl(data.path())
        .env("WASMCTL_DATA_DIR", data.path())
        .env("WASMCTL_MAX_TEMPLATE_SIZE", "1MiB")
        .env("TMPDIR", temp.path())
        .args(["templates", "install"])
        .arg(&archive)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains("unpacked is larger than 1 MiB"));
    assert_eq!(files_below(data.path()), Vec::<std::path::PathBuf>::new());
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
}

#[test]
fn ctrl_c_stops_a_pull_at_once_and_leaves_nothing() {
    let registry = FakeRegistry::start(Misbehaviour::SlowBlob);
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let output = out.path().join("pulled");
    let mut child = wasmctl_process(out.path())
        .env("WASMCTL_CACHE_DIR", cache.path())
        .args(["registry", "pull", &registry.reference(), "-o"])
        .arg(&output)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The download has begun once its staging file exists.
    let staging = cache.path().join("oci/tmp");
    let deadline = Instant::now() + Duration::from_secs(60);
    while files_below(&staging).is_empty() {
        assert!(Instant::now() < deadline, "the download did not start");
        assert!(child.try_wait().unwrap().is_none(), "wasmctl ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signals our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let interrupted = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(5),
            "wasmctl runs on after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(files_below(&staging), Vec::<std::path::PathBuf>::new());
    assert!(!output.exists());
}
