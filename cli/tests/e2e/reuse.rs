//! Instance reuse (`limits.instance_reuse`, `--instance-reuse`): off by default, bounded
//! when on, and never for an instance that trapped, timed out or hit its memory cap.

use crate::support::{get, guest_app, serve};

const PROBE: &str = "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n";

/// What `/served` answered to `count` requests one after another: how many requests the
/// instance that served each had served.
fn served(server: &crate::support::Server, count: usize) -> Vec<u32> {
    served_at(server, "/served", count)
}

/// What `path` (a guest's `served` route) answered to `count` requests one after another.
pub(crate) fn served_at(server: &crate::support::Server, path: &str, count: usize) -> Vec<u32> {
    (0..count)
        .map(|_| {
            let (status, body) = get(&server.url(path));
            assert_eq!(status, 200, "{body}");
            body.trim().parse().unwrap()
        })
        .collect()
}

#[test]
fn every_request_gets_a_fresh_instance_by_default() {
    let dir = guest_app(PROBE, &["probe"]);
    let server = serve(dir.path(), &[]);
    assert_eq!(served(&server, 6), [1; 6]);
}

#[test]
fn reuse_from_the_manifest_is_bounded_by_its_count() {
    let dir = guest_app(
        &format!("{PROBE}limits = {{ instance_reuse = 3 }}\n"),
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    let counts = served(&server, 12);
    assert!(counts.iter().all(|&n| (1..=3).contains(&n)), "{counts:?}");
    assert!(counts.contains(&3), "instances were reused: {counts:?}");
}

#[test]
fn the_flag_overrides_the_manifest() {
    let dir = guest_app(
        &format!("{PROBE}limits = {{ instance_reuse = 3 }}\n"),
        &["probe"],
    );
    let server = serve(dir.path(), &["--instance-reuse", "1"]);
    assert_eq!(served(&server, 4), [1; 4]);
    let server = serve(dir.path(), &["--instance-reuse", "50"]);
    let counts = served(&server, 10);
    assert!(counts.iter().any(|&n| n > 3), "{counts:?}");
}

#[test]
fn an_instance_that_failed_is_never_reused() {
    let dir = guest_app(
        &format!(
            "{PROBE}limits = {{ instance_reuse = 1000, memory = \"16MiB\", timeout = \"1s\" }}\n"
        ),
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    for (failing, status) in [
        ("/panic", 500),
        ("/alloc?mb=32", 500),
        ("/sleep?ms=5000", 504),
    ] {
        let before = served(&server, 3);
        assert!(before.contains(&3), "{before:?}");
        assert_eq!(get(&server.url(failing)).0, status, "{failing}");
        // The instance that failed is gone: the next request starts afresh, and works.
        let after = served(&server, 2);
        assert_eq!(after[0], 1, "after {failing}: {after:?}");
    }
    assert_eq!(get(&server.url("/alloc?mb=4")).0, 200);
}

#[test]
fn idle_instances_never_keep_a_slot_from_a_request() {
    let dir = guest_app(
        "[[trigger.http]]\nroute = \"/a/...\"\ncomponent = \"a\"\n\
         [[trigger.http]]\nroute = \"/b/...\"\ncomponent = \"b\"\n\
         [component.a]\nsource = \"probe.wasm\"\nlimits = { instance_reuse = 100, timeout = \"2s\" }\n\
         [component.b]\nsource = \"probe.wasm\"\nlimits = { instance_reuse = 100, timeout = \"2s\" }\n",
        &["probe"],
    );
    // Two slots: `a`'s idle instance keeps one, so `b` gets the other, and `b`'s instance
    // is not kept idle (that would take the last slot).
    let server = serve(dir.path(), &["--max-instances", "2"]);
    let count = |path: &str| {
        let (status, body) = get(&server.url(path));
        assert_eq!(status, 200, "{path}: {body}");
        body.trim().parse::<u32>().unwrap()
    };
    assert_eq!(count("/a/served"), 1);
    assert_eq!(count("/a/served"), 2);
    for _ in 0..3 {
        assert_eq!(count("/b/served"), 1);
    }
    assert_eq!(count("/a/served"), 3);
}

#[test]
fn a_replaced_app_keeps_no_idle_instance() {
    let manifest = |timeout: &str| {
        format!(
            "[[trigger.http]]\nroute = \"/a/...\"\ncomponent = \"a\"\n\
             [[trigger.http]]\nroute = \"/b/...\"\ncomponent = \"b\"\n\
             [component.a]\nsource = \"probe.wasm\"\nlimits = {{ instance_reuse = 100, timeout = \"{timeout}\" }}\n\
             [component.b]\nsource = \"probe.wasm\"\nlimits = {{ timeout = \"30s\" }}\n"
        )
    };
    let dir = guest_app(&manifest("30s"), &["probe"]);
    let server = serve(dir.path(), &["--watch", "--max-instances", "2"]);
    assert_eq!(get(&server.url("/a/served")), (200, "1\n".to_string()));
    assert_eq!(get(&server.url("/a/served")), (200, "2\n".to_string()));
    // `a`'s idle instance keeps one slot; a slow request on the old app takes the other,
    // and keeps the old app alive through the reload.
    let slow = server.url("/b/sleep?ms=4000");
    let slow = std::thread::spawn(move || get(&slow));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let written = std::fs::read_to_string(dir.path().join("wasmctl.toml"))
        .unwrap()
        .replace(
            "timeout = \"30s\" }\n[component.b]",
            "timeout = \"1s\" }\n[component.b]",
        );
    assert!(written.contains("timeout = \"1s\""), "{written}");
    std::fs::write(dir.path().join("wasmctl.toml"), written).unwrap();
    assert!(server.wait_for_stderr("Reloaded"), "{}", server.stderr());
    // The old app's idle instance gave its slot up at the swap: the new app's `a` gets it
    // at once instead of waiting out its 1 s for the slow request and answering 503.
    assert_eq!(get(&server.url("/a/served")), (200, "1\n".to_string()));
    assert_eq!(slow.join().unwrap(), (200, "slept 4000 ms\n".to_string()));
}
