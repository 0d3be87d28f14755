//! `wasmctl up --watch`: real edits to a real app under a running server.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Server, get, http, serve, template_app};

/// How long a rebuild may take on a loaded 2-core CI machine.
const REBUILD: Duration = Duration::from_secs(300);

/// A copy of the built template app, its `target/` too, so a rebuild compiles only the
/// app's own crate.
fn built_app_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(template_app())
        .arg(dir.path().join("svc"))
        .status()
        .unwrap();
    assert!(status.success(), "copying the template app failed");
    dir
}

/// Rewrites a file the way an editor saves it: a new file renamed over the old one.
pub(crate) fn save(path: &Path, edit: impl Fn(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let edited = edit(text);
    let temporary = path.with_extension("swp");
    std::fs::write(&temporary, edited).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// Waits (bounded) until `url` answers `status` with a body containing `text`.
pub(crate) fn wait_for(server: &Server, path: &str, status: u16, text: &str) {
    let deadline = Instant::now() + REBUILD;
    loop {
        let (got, body) = get(&server.url(path));
        if got == status && body.contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} still answers {got} {body:?}, not {status} with {text:?}; server said:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_save_is_rebuilt_and_swapped_in_without_a_failed_request() {
    let dir = built_app_copy();
    let app = dir.path().join("svc");
    let server = serve(&app, &["--watch"]);
    assert_eq!(
        get(&server.url("/")),
        (200, "Hello from svc!\n".to_string())
    );

    // Clients on keep-alive connections request without pause through the rebuild and
    // the swap (bounded by time and count).
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, url) = (stop.clone(), server.url("/"));
            std::thread::spawn(move || {
                let agent = http();
                let deadline = Instant::now() + REBUILD + Duration::from_secs(30);
                let (mut old, mut new, mut failures) = (0u32, 0u32, Vec::new());
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && old < 500_000 {
                    match agent.get(&url).call() {
                        Ok(mut response) => {
                            let status = response.status().as_u16();
                            let body = response.body_mut().read_to_string().unwrap_or_default();
                            match (status, body.as_str()) {
                                (200, "Hello from svc!\n") => old += 1,
                                (200, "Howdy from svc!\n") => new += 1,
                                _ => failures.push(format!("{status} {body:?}")),
                            }
                        }
                        Err(error) => failures.push(error.to_string()),
                    }
                }
                (old, new, failures)
            })
        })
        .collect();

    save(&app.join("src/main.rs"), |text| {
        text.replace("Hello from svc!", "Howdy from svc!")
    });
    wait_for(&server, "/", 200, "Howdy from svc!");
    // The clients go on a little on the new version, then stop.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (mut old, mut new, mut failures) = (0, 0, Vec::new());
    for client in clients {
        let (o, n, f) = client.join().unwrap();
        old += o;
        new += n;
        failures.extend(f);
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the swap, e.g. {:?}",
        failures.len(),
        old + new + failures.len() as u32,
        &failures[..failures.len().min(5)]
    );
    assert!(old > 0 && new > 0, "old {old}, new {new}");
    // One save, one rebuild: the build reading its own inputs must not trigger another.
    std::thread::sleep(Duration::from_secs(1));
    let stderr = server.stderr();
    assert_eq!(stderr.matches("Reloaded").count(), 1, "{stderr}");
    assert!(
        stderr.contains("Reloaded svc after src/main.rs changed (build "),
        "{stderr}"
    );
    assert!(stderr.contains(", compile "), "{stderr}");
    assert!(stderr.contains(", swap "), "{stderr}");
}

#[test]
fn a_broken_save_keeps_the_last_good_version_and_a_fix_recovers() {
    let dir = built_app_copy();
    let app = dir.path().join("svc");
    let mut server = serve(&app, &["--watch"]);
    let main_rs = app.join("src/main.rs");
    let original = std::fs::read_to_string(&main_rs).unwrap();

    // A syntax error: cargo's diagnostic is shown, the old version keeps serving.
    save(&main_rs, |text| text + "\nfn broken( {\n");
    let failed = "the last good version keeps serving";
    let deadline = Instant::now() + REBUILD;
    while !server.stderr().contains(failed) {
        assert!(Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    let stderr = server.stderr();
    assert!(
        stderr.contains("src/main.rs:"),
        "no rustc diagnostic:\n{stderr}"
    );
    assert_eq!(
        get(&server.url("/")),
        (200, "Hello from svc!\n".to_string())
    );

    // The next good save recovers.
    save(&main_rs, |_| {
        original.replace("Hello from svc!", "Fixed svc!")
    });
    wait_for(&server, "/", 200, "Fixed svc!");

    // A broken manifest is reported and changes nothing...
    let manifest = app.join("wasmctl.toml");
    let good_manifest = std::fs::read_to_string(&manifest).unwrap();
    save(&manifest, |text| {
        text.replace("[application]", "[application")
    });
    let deadline = Instant::now() + REBUILD;
    while !server.stderr().contains("the manifest is invalid") {
        assert!(Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        server.stderr().contains("wasmctl.toml:"),
        "{}",
        server.stderr()
    );
    assert_eq!(get(&server.url("/")), (200, "Fixed svc!\n".to_string()));

    // ...and a good one that moves the route rebuilds the route table.
    save(&manifest, |_| {
        good_manifest.replace("route = \"/...\"", "route = \"/api/...\"")
    });
    wait_for(&server, "/", 404, "no route for /");
    // The handler routes on the path below its new mount.
    let (status, body) = get(&server.url("/api/x"));
    assert_eq!((status, body.as_str()), (404, "svc has nothing at /x\n"));
    // The routes are printed once the new app is served, so maybe after the requests.
    assert!(
        server.wait_for_stdout("/api/...  →  svc"),
        "{}",
        server.stdout()
    );

    assert!(server.terminate().unwrap().success(), "{}", server.stderr());
}
