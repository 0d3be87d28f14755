//! WASI 0.3 components (`wasi:http@0.3.0`, world `service`): served next to 0.2 ones in
//! one app, with the same routing headers, limits, outbound policy and hot swap, and
//! shared instances (several requests at once, a bounded number in all).

use std::time::Duration;

use wasmctl_test_support::http::exchange;

use crate::support::{
    get, guest_app, guest_component, guest_target_dir, json_stdout, serve, testdata, wasmctl,
    wasmctl_process,
};
use crate::up::pong_server;

/// The 0.3 `service` guest under `/p3/...` and the 0.2 `probe` under `/p2/...`.
fn side_by_side(service_limits: &str) -> tempfile::TempDir {
    guest_app(
        &format!(
            "[[trigger.http]]\nroute = \"/p3/...\"\ncomponent = \"service\"\n\
             [[trigger.http]]\nroute = \"/p2/...\"\ncomponent = \"probe\"\n\
             [component.service]\nsource = \"service.wasm\"\nlimits = {{ {service_limits} }}\n\
             [component.probe]\nsource = \"probe.wasm\"\n"
        ),
        &["service", "probe"],
    )
}

/// How many requests the instance that answered `/p3/served` had served, for each of
/// `count` requests one after another.
fn served(server: &crate::support::Server, count: usize) -> Vec<u32> {
    crate::reuse::served_at(server, "/p3/served", count)
}

#[test]
fn a_wasi03_service_and_a_wasi02_proxy_serve_side_by_side() {
    let dir = side_by_side("timeout = \"30s\"");
    let server = serve(dir.path(), &[]);
    // Status lines go to stderr, read on a thread of their own: the route line on stdout
    // that made the server ready can arrive first.
    assert!(
        server.wait_for_stderr("WASI 0.3") && server.stderr().contains("service in"),
        "up names the 0.3 component's world: {}",
        server.stderr()
    );
    assert_eq!(
        get(&server.url("/p3/")),
        (200, "hello from a wasi:http@0.3.0 service\n".into())
    );
    assert_eq!(get(&server.url("/p2/healthz")).0, 200);
    // The router's headers reach a 0.3 guest as they reach a 0.2 one.
    assert_eq!(
        get(&server.url("/p3/x/headers")),
        (
            200,
            "wasmctl-matched-route: /p3/...\nwasmctl-path-info: /x/headers\nwasmctl-component: service\n"
                .into()
        )
    );
    // A body written after the response head went out, chunk by chunk.
    let response = exchange(
        &server.address(),
        b"GET /p3/stream?n=4 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(30),
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{response}"
    );
    for i in 0..4 {
        assert!(response.contains(&format!("chunk {i}\n")), "{response}");
    }
}

#[test]
fn a_wasi03_guest_gets_the_same_limits() {
    let dir = side_by_side("timeout = \"1s\", memory = \"32MiB\"");
    let server = serve(dir.path(), &[]);
    for (path, status) in [
        ("/p3/loop", 504),
        ("/p3/sleep?ms=5000", 504),
        ("/p3/bomb", 500),
        ("/p3/panic", 500),
    ] {
        assert_eq!(get(&server.url(path)).0, status, "{path}");
        // The instance that failed is gone; the component and its neighbour still serve.
        assert_eq!(get(&server.url("/p3/ok")).0, 200, "after {path}");
        assert_eq!(get(&server.url("/p2/healthz")).0, 200, "after {path}");
    }
    let stderr = server.stderr();
    assert!(
        stderr.contains("the service was asked to panic"),
        "{stderr}"
    );
    assert!(stderr.contains("memory limit"), "{stderr}");
}

#[test]
fn a_wasi03_instance_serves_many_requests_at_once_and_a_bounded_number_in_all() {
    let dir = side_by_side("timeout = \"5s\", instance_reuse = 3");
    let server = serve(dir.path(), &[]);
    let counts = served(&server, 9);
    assert!(counts.iter().all(|&n| (1..=3).contains(&n)), "{counts:?}");
    assert!(counts.contains(&3), "instances were shared: {counts:?}");

    // One instance slot in all: twelve requests that each wait 1 s can only all finish
    // within their 8 s limit if one instance serves several of them at the same time.
    let dir = side_by_side("timeout = \"8s\"");
    let server = serve(dir.path(), &["--max-instances", "1"]);
    // The instance is up before the burst. (A burst at a cold start can be served one
    // request after another on a loaded machine: a second worker waiting for the one slot
    // makes the first give it up whenever it is idle for a moment. Seen once under test
    // load; left for the instance-reuse work of issue 15.)
    assert_eq!(
        get(&server.url("/p3/sleep?ms=1")),
        (200, "slept 1\n".into())
    );
    let waits: Vec<_> = (0..12)
        .map(|_| {
            let url = server.url("/p3/sleep?ms=1000");
            std::thread::spawn(move || get(&url))
        })
        .collect();
    for wait in waits {
        assert_eq!(wait.join().unwrap(), (200, "slept 1000\n".into()));
    }
}

#[test]
fn a_fresh_instance_per_request_is_one_setting_away() {
    let dir = side_by_side("instance_reuse = 1");
    let server = serve(dir.path(), &[]);
    assert_eq!(served(&server, 5), [1; 5]);
    let server = serve(dir.path(), &["--instance-reuse", "50"]);
    assert!(served(&server, 5).contains(&5));
}

#[test]
fn outbound_requests_from_a_wasi03_guest_need_a_grant() {
    let port = pong_server(2);
    let manifest = format!(
        "[[trigger.http]]\nroute = \"/allowed/...\"\ncomponent = \"allowed\"\n\
         [[trigger.http]]\nroute = \"/denied/...\"\ncomponent = \"denied\"\n\
         [component.allowed]\nsource = \"service.wasm\"\nallowed_outbound_hosts = [\"http://127.0.0.1:{port}\"]\n\
         [component.denied]\nsource = \"service.wasm\"\n"
    );
    let dir = guest_app(&manifest, &["service"]);
    let server = serve(dir.path(), &[]);
    let target = format!("http://127.0.0.1:{port}/ping");
    assert_eq!(
        get(&server.url(&format!("/allowed/fetch?url={target}"))),
        (200, "fetched 200\n".into())
    );
    let (status, body) = get(&server.url(&format!("/denied/fetch?url={target}")));
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");
}

#[test]
fn a_reload_replaces_wasi03_instances() {
    let dir = side_by_side("timeout = \"30s\"");
    let server = serve(dir.path(), &["--watch"]);
    assert_eq!(served(&server, 2), [1, 2]);
    let manifest = dir.path().join("wasmctl.toml");
    let written = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("timeout = \"30s\"", "timeout = \"20s\"");
    std::fs::write(&manifest, written).unwrap();
    assert!(server.wait_for_stderr("Reloaded"), "{}", server.stderr());
    // The old app's instance took no more requests: the new app starts afresh.
    assert_eq!(served(&server, 2), [1, 2]);
}

#[test]
fn build_and_doctor_name_the_wasi03_world() {
    guest_component("service");
    let guests = testdata().join("guests");
    let built = json_stdout(wasmctl(&guests).args(["build", "-c", "service", "--json"]));
    let component = &built["components"][0];
    assert_eq!(component["world"], "wasmctl:host/http-service", "{built}");
    assert_eq!(component["wasi"], "0.3", "{built}");
    assert!(
        component["exports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "wasi:http/handler@0.3.0"),
        "{built}"
    );
    wasmctl(&guests)
        .args(["doctor"])
        .assert()
        .stdout(predicates::str::contains(
            "service.wasm (wasmctl:host/http-service, WASI 0.3)",
        ));
}

/// The README's commands for the WASI 0.3 template, verbatim: `new`, then `up --build`,
/// then its three URLs (the routed ones are also checked below another route, with every
/// template, in `new::every_template_routes_below_a_non_default_route`).
#[test]
fn the_wasi03_template_builds_serves_and_streams() {
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .args(["new", "http-rust-wasip3", "svc", "-y"])
        .assert()
        .success();
    let app = dir.path().join("svc");
    let mut up = wasmctl_process(&app);
    up.args(["up", "--build", "--workers", "2"])
        .env("CARGO_TARGET_DIR", guest_target_dir());
    let server =
        wasmctl_test_support::Server::start_within(up, crate::languages::BUILD_AND_START_LIMIT)
            .unwrap_or_else(|error| panic!("{error:#}"));
    assert!(server.wait_for_stderr("WASI 0.3"), "{}", server.stderr());
    assert_eq!(get(&server.url("/")), (200, "Hello from svc!\n".into()));
    assert_eq!(
        get(&server.url("/hello/world")),
        (200, "Hello, world!\n".into())
    );
    let lines: String = (1..=5).map(|n| format!("line {n} of 5\n")).collect();
    assert_eq!(get(&server.url("/stream")), (200, lines));
    let readme = std::fs::read_to_string(app.join("README.md")).unwrap();
    assert!(
        readme.contains("curl -N http://127.0.0.1:3000/stream"),
        "{readme}"
    );
}
