//! `wasmctl up`: real HTTP against a real server running real components.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{
    access_json, fresh_app, get, guest_app as app, guest_component, http, serve, serve_with,
    template_app, wasmctl,
};

/// The value of `name:` in a `/headers` dump of the probe.
fn header<'a>(dump: &'a str, name: &str) -> Option<&'a str> {
    dump.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
}

#[test]
fn new_app_serves_its_greeting() {
    let server = serve(template_app(), &["--build"]);
    assert_eq!(
        get(&server.url("/")),
        (200, "Hello from svc!\n".to_string())
    );
    assert_eq!(
        get(&server.url("/hello/wasm")),
        (200, "Hello, wasm!\n".to_string())
    );
    assert_eq!(get(&server.url("/nothing")).0, 404);
    assert!(
        server.stdout().contains("/...  →  svc"),
        "{}",
        server.stdout()
    );
}

#[test]
fn routing_exact_beats_wildcard_and_longest_prefix_wins() {
    let dir = app(
        r#"
[[trigger.http]]
route = "/api/headers"
component = "exact"
[[trigger.http]]
route = "/api/..."
component = "short"
[[trigger.http]]
route = "/api/v2/..."
component = "long"
[component.exact]
source = "probe.wasm"
[component.short]
source = "probe.wasm"
[component.long]
source = "probe.wasm"
"#,
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    let cases = [
        ("/api/headers", "exact", "/api/headers", None),
        ("/api/x/headers", "short", "/api/...", Some("/x/headers")),
        ("/api/v2/headers", "long", "/api/v2/...", Some("/headers")),
        (
            "/api/v2x/headers",
            "short",
            "/api/...",
            Some("/v2x/headers"),
        ),
    ];
    for (path, component, route, path_info) in cases {
        let (status, dump) = get(&server.url(path));
        assert_eq!(status, 200, "{path}: {dump}");
        assert_eq!(
            header(&dump, "wasmctl-component"),
            Some(component),
            "{path}: {dump}"
        );
        assert_eq!(
            header(&dump, "wasmctl-matched-route"),
            Some(route),
            "{path}: {dump}"
        );
        // An empty path-info header is dumped as `wasmctl-path-info: ` (trailing space).
        assert_eq!(
            header(&dump, "wasmctl-path-info").filter(|v| !v.is_empty()),
            path_info,
            "{path}: {dump}"
        );
    }
    let (status, body) = get(&server.url("/other/headers"));
    assert_eq!(
        (status, body.as_str()),
        (404, "no route for /other/headers\n")
    );
}

#[test]
fn client_cannot_spoof_routing_headers_and_headers_pass_both_ways() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    let mut response = http()
        .get(server.url("/headers"))
        .header("x-custom", "123")
        .header("wasmctl-component", "forged")
        .call()
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("x-probe")
            .map(|v| v.to_str().unwrap()),
        Some("present")
    );
    let dump = response.body_mut().read_to_string().unwrap();
    assert_eq!(header(&dump, "x-custom"), Some("123"), "{dump}");
    assert_eq!(header(&dump, "wasmctl-component"), Some("probe"), "{dump}");
}

#[test]
fn one_megabyte_streams_through_and_back() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    let payload: Vec<u8> = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let mut response = http().post(server.url("/echo")).send(&payload[..]).unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut echoed = Vec::new();
    response
        .body_mut()
        .as_reader()
        .read_to_end(&mut echoed)
        .unwrap();
    assert_eq!(echoed.len(), payload.len());
    assert!(echoed == payload, "the echoed body differs");
}

#[test]
fn request_body_limit_answers_413() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let server = serve(dir.path(), &["--max-body-size", "1KiB"]);
    let response = http()
        .post(server.url("/size"))
        .send(&[7u8; 2048][..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let (status, _) = {
        let mut small = http()
            .post(server.url("/size"))
            .send(&[7u8; 512][..])
            .unwrap();
        (
            small.status().as_u16(),
            small.body_mut().read_to_string().unwrap(),
        )
    };
    assert_eq!(status, 200);
}

#[test]
fn guest_sees_only_granted_environment() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\nenvironment = { GREETING = \"hi\" }\n",
        &["probe"],
    );
    let server = serve_with(
        dir.path(),
        &["--env", "EXTRA=1"],
        &[("SECRET_HOST_VAR", "leak")],
    );
    let (status, env) = get(&server.url("/env"));
    assert_eq!(status, 200);
    let mut lines: Vec<&str> = env.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["EXTRA=1", "GREETING=hi"],
        "the guest saw more than it was granted"
    );
    assert_eq!(
        get(&server.url("/args")),
        (200, String::new()),
        "the guest sees no arguments"
    );
}

#[test]
fn guest_reads_only_granted_files() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\nfiles = [{ source = \"assets\", destination = \"/assets\" }]\n",
        &["probe"],
    );
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/hello.txt"), "granted").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "not granted").unwrap();
    let server = serve(dir.path(), &[]);
    assert_eq!(
        get(&server.url("/read?path=/assets/hello.txt")),
        (200, "granted".to_string())
    );
    for path in [
        "/assets/../secret.txt",
        "/secret.txt",
        "/etc/passwd",
        "wasmctl.toml",
    ] {
        let (status, body) = get(&server.url(&format!("/read?path={path}")));
        assert_eq!(status, 403, "{path} was readable: {body}");
    }
}

/// A one-shot HTTP server on 127.0.0.1 answering "pong" to up to `count` requests.
pub(crate) fn pong_server(count: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            // Read the whole request head: closing with unread bytes would reset the connection.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
            );
        }
    });
    port
}

#[test]
fn outbound_requests_need_a_grant() {
    let port = pong_server(4);
    let manifest = format!(
        r#"
[[trigger.http]]
route = "/allowed/..."
component = "allowed"
[[trigger.http]]
route = "/denied/..."
component = "denied"
[component.allowed]
source = "probe.wasm"
allowed_outbound_hosts = ["http://127.0.0.1:{port}"]
[component.denied]
source = "probe.wasm"
"#
    );
    let dir = app(&manifest, &["probe"]);
    let server = serve(dir.path(), &[]);
    let target = format!("http://127.0.0.1:{port}/ping");
    assert_eq!(
        get(&server.url(&format!("/allowed/fetch?url={target}"))),
        (200, "fetched 200 pong".to_string())
    );
    let (status, body) = get(&server.url(&format!("/denied/fetch?url={target}")));
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");
    assert!(
        server.wait_for_stderr(&format!(
            "component `denied`: outgoing request to http://127.0.0.1:{port} denied"
        )),
        "{}",
        server.stderr()
    );
    // The grant is for that port only.
    let (status, body) = get(&server.url(&format!(
        "/allowed/fetch?url=http://127.0.0.1:{}/",
        port.wrapping_add(1)
    )));
    assert_eq!(status, 502, "{body}");
}

#[test]
fn hostile_guests_get_5xx_while_others_are_served() {
    let hostile = guest_component("hostile");
    let dir = hostile.parent().unwrap();
    let server = serve(dir, &["hostile.wasm", "--request-timeout", "2s"]);
    for (path, expected) in [
        ("/loop", 504),
        ("/hang", 504),
        ("/bomb", 500),
        ("/recurse", 500),
        ("/panic", 500),
    ] {
        let url = server.url(path);
        let started = Instant::now();
        let attack = std::thread::spawn(move || get(&url));
        // While the hostile request runs, a well-behaved one is answered.
        std::thread::sleep(Duration::from_millis(100));
        let ok_started = Instant::now();
        assert_eq!(
            get(&server.url("/ok")),
            (200, "ok\n".to_string()),
            "during {path}"
        );
        assert!(
            ok_started.elapsed() < Duration::from_secs(2),
            "/ok waited {:?} during {path}",
            ok_started.elapsed()
        );
        let (status, _) = attack.join().unwrap();
        assert_eq!(status, expected, "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    assert!(
        server.wait_for_stderr("component `hostile` trapped: wasm trap"),
        "{}",
        server.stderr()
    );
    assert!(
        server.wait_for_stderr("request timed out"),
        "{}",
        server.stderr()
    );
    assert!(
        server.wait_for_stderr("forcing trap when growing memory"),
        "{}",
        server.stderr()
    );
    assert!(
        server
            .stderr()
            .contains("[hostile] ! the guest panicked on purpose"),
        "{}",
        server.stderr()
    );
    assert_eq!(
        get(&server.url("/ok")).0,
        200,
        "still serving after all of them"
    );
}

#[test]
fn memory_limit_comes_from_the_manifest() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\nlimits = { memory = \"16MiB\" }\n",
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    assert_eq!(
        get(&server.url("/alloc?mb=4")),
        (200, "allocated 4 MiB\n".to_string())
    );
    assert_eq!(get(&server.url("/alloc?mb=32")).0, 500);
    assert!(
        server.wait_for_stderr("forcing trap when growing memory"),
        "{}",
        server.stderr()
    );
}

#[test]
fn shutdown_finishes_in_flight_requests() {
    let hostile = guest_component("hostile");
    let mut server = serve(hostile.parent().unwrap(), &["hostile.wasm"]);
    let url = server.url("/slow?ms=1500");
    let in_flight = std::thread::spawn(move || get(&url));
    std::thread::sleep(Duration::from_millis(300));
    let status = server.terminate().unwrap();
    assert!(status.success(), "exit status {status}");
    assert_eq!(
        in_flight.join().unwrap(),
        (200, "slept 1500 ms\n".to_string())
    );
    assert!(server.wait_for_stderr("Stopped"), "{}", server.stderr());
    assert!(
        http().get(server.url("/ok")).call().is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn guest_output_is_prefixed_and_logged() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let server = serve(dir.path(), &[]);
    assert_eq!(get(&server.url("/print?n=7")).0, 200);
    assert!(
        server.wait_for_stderr("[probe] to stdout 7"),
        "{}",
        server.stderr()
    );
    assert!(
        server.wait_for_stderr("[probe] ! to stderr 7"),
        "{}",
        server.stderr()
    );
    let log = std::fs::read_to_string(dir.path().join(".wasmctl/logs/probe.log")).unwrap();
    assert!(
        log.contains("out to stdout 7") && log.contains("err to stderr 7"),
        "{log}"
    );
}

/// An app serving the probe guest on `/...`.
const PROBE_APP: &str = "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n";

/// `wasmctl up` in `dir` with the compile cache `cache`: says `status`, then serves.
fn up_with_cache(dir: &Path, cache: &Path, status: &str) {
    let env = [("WASMCTL_CACHE_DIR", cache.to_str().unwrap())];
    let server = serve_with(dir, &[], &env);
    // Status lines go to stderr, the URL to stdout: stderr may still be on its way.
    assert!(server.wait_for_stderr(status), "{}", server.stderr());
    assert_eq!(get(&server.url("/args")).0, 200);
}

#[test]
fn restart_uses_the_compile_cache() {
    let dir = app(PROBE_APP, &["probe"]);
    let cache = tempfile::tempdir().unwrap();
    up_with_cache(dir.path(), cache.path(), "Compiled probe");
    up_with_cache(dir.path(), cache.path(), "(cached)");
}

#[test]
fn a_component_known_by_identity_is_read_again_when_needed() {
    let dir = app(PROBE_APP, &["probe"]);
    let cache = tempfile::tempdir().unwrap();
    let up = |status| up_with_cache(dir.path(), cache.path(), status);
    // Changed more than two seconds before it is read: remembered by its identity.
    std::thread::sleep(Duration::from_millis(2500));
    up("Compiled probe");
    assert_eq!(
        std::fs::read_dir(cache.path().join("files"))
            .unwrap()
            .count(),
        1
    );
    // Known by its identity, not read: its compiled code is found by the hash remembered.
    up("(cached)");
    // Its compiled code gone, the server reads the file after all.
    std::fs::remove_dir_all(cache.path().join("compiled")).unwrap();
    up("Compiled probe");

    // Changed in place to the same size, the modification time set back: read again
    // (and refused, no longer being WebAssembly), not served from what was remembered.
    let path = dir.path().join("probe.wasm");
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    wasmctl(dir.path())
        .arg("up")
        .env("WASMCTL_CACHE_DIR", cache.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("probe.wasm"));
}

#[test]
fn unbuilt_and_stale_components_are_reported() {
    let dir = fresh_app(|text| text);
    let app_dir = dir.path().join("svc");
    wasmctl(&app_dir).arg("up").assert().code(1).stderr(
        predicates::str::contains("component `svc` is not built yet")
            .and(predicates::str::contains("wasmctl up --build")),
    );

    // Built earlier than its source: serve, but say so.
    let built = template_app();
    std::fs::create_dir_all(app_dir.join("target/wasm32-wasip2/release")).unwrap();
    std::fs::copy(
        built.join("target/wasm32-wasip2/release/svc.wasm"),
        app_dir.join("target/wasm32-wasip2/release/svc.wasm"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let main_rs = app_dir.join("src/main.rs");
    std::fs::write(&main_rs, std::fs::read_to_string(&main_rs).unwrap() + "\n").unwrap();
    let server = serve(&app_dir, &[]);
    assert!(
        server
            .stderr()
            .contains("component `svc` is older than `src/main.rs`"),
        "{}",
        server.stderr()
    );
}

#[test]
fn bare_component_that_is_not_an_http_handler_is_refused() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/bad/not-wasm/not-wasm.wasm");
    let dir = tempfile::tempdir().unwrap();
    wasmctl(dir.path())
        .arg("up")
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is not a WebAssembly file"));
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn slow_header_senders_are_cut_off_and_connections_are_capped() {
    let hostile = guest_component("hostile");
    let server = serve(
        hostile.parent().unwrap(),
        &[
            "hostile.wasm",
            "--header-timeout",
            "1s",
            "--max-connections",
            "1",
        ],
    );
    let address = server.address();

    // A slowloris client: half a request line, then nothing. The server hangs up.
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    slow.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buffer = Vec::new();
    let _ = slow.read_to_end(&mut buffer);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the slow client was kept {:?}",
        started.elapsed()
    );

    // With one connection allowed, a second client waits until the first one leaves.
    let mut first = std::net::TcpStream::connect(&address).unwrap();
    first
        .write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    first.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let url = server.url("/ok");
    let second = std::thread::spawn(move || {
        let started = Instant::now();
        (get(&url), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !second.is_finished(),
        "a second connection was served while the cap was reached"
    );
    drop(first);
    let ((status, _), waited) = second.join().unwrap();
    assert_eq!(status, 200);
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
}

#[test]
fn http2_with_prior_knowledge_is_served() {
    use http_body_util::BodyExt;

    let hostile = guest_component("hostile");
    let server = serve(hostile.parent().unwrap(), &["hostile.wasm"]);
    let address = server.address();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let request = http::Request::get(format!("http://{address}/ok"))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok\n");
    });
}

/// An app serving the probe on every path, for the access log tests.
fn probe_everywhere() -> tempfile::TempDir {
    app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    )
}

#[test]
fn access_log_with_v_shows_each_request_but_not_health_checks() {
    let dir = probe_everywhere();
    let server = serve(dir.path(), &["-v"]);
    assert_eq!(get(&server.url("/healthz")), (200, "ok\n".to_string()));
    assert_eq!(get(&server.url("/api/headers")).0, 200);
    assert_eq!(get(&server.url("/api/%zz")).0, 400);
    assert_eq!(get(&server.url("/api/nothing?secret=1")).0, 404);
    // Lines come in order: once the last is read, so are the others.
    assert!(
        server.wait_for_stderr(" GET /api/nothing 404 "),
        "{}",
        server.stderr()
    );
    let stderr = server.stderr();
    let line = |needle: &str| stderr.lines().find(|line| line.contains(needle));
    let ok = line(" GET /api/headers 200 ").unwrap_or_else(|| panic!("{stderr}"));
    assert!(ok.ends_with(" probe /..."), "{ok}");
    assert!(ok.contains("ms "), "a duration: {ok}");
    let missing = line(" GET /api/nothing 404 ").unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        !missing.contains("secret"),
        "the query is left out: {missing}"
    );
    assert!(line("/healthz").is_none(), "{stderr}");
    // The host's refusal says why, and that it was the client's error.
    let refused = line(" GET /api/%zz 400 ").unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        refused.ends_with(
            " - - (client error: the path has a `%` that is not followed by two hex digits)"
        ),
        "{refused}"
    );
}

#[test]
fn access_log_as_json_is_always_on_and_can_include_health_checks() {
    let dir = probe_everywhere();
    let server = serve(dir.path(), &["--log-format", "json"]);
    assert_eq!(get(&server.url("/healthz")).0, 200);
    assert_eq!(get(&server.url("/api/headers")).0, 200);
    assert!(
        server.wait_for_stderr(r#""path":"/api/headers""#),
        "{}",
        server.stderr()
    );
    let lines = access_json(&server.stderr());
    assert_eq!(lines.len(), 1, "{}", server.stderr());
    let line = &lines[0];
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], "/api/headers");
    assert_eq!(line["status"], 200);
    assert_eq!(line["component"], "probe");
    assert_eq!(line["route"], "/...");
    assert!(
        line["duration_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{line}"
    );
    assert!(
        line["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{line}"
    );
    drop(server);

    let server = serve(dir.path(), &["--log-format", "json", "--log-health-checks"]);
    assert_eq!(get(&server.url("/healthz")).0, 200);
    assert!(
        server.wait_for_stderr(r#""path":"/healthz""#),
        "{}",
        server.stderr()
    );
}

#[test]
fn no_access_log_by_default() {
    let dir = probe_everywhere();
    let server = serve(dir.path(), &[]);
    assert_eq!(get(&server.url("/api/headers")).0, 200);
    assert_eq!(get(&server.url("/print?n=1")).0, 200);
    // Guest output of the later request arrived, so a log line would have too.
    assert!(
        server.wait_for_stderr("[probe] to stdout 1"),
        "{}",
        server.stderr()
    );
    assert!(!server.stderr().contains("GET /"), "{}", server.stderr());
}

#[test]
fn a_file_mount_is_refused_by_doctor_and_up_alike_with_the_fix() {
    let mount = "files = [{ source = \"assets/index.html\", destination = \"/index.html\" }]";
    let manifest = format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n{mount}\n"
    );
    let dir = app(&manifest, &["probe"]);
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/index.html"), "<h1>shop</h1>").unwrap();
    let problem = "component `probe` mounts `assets/index.html` at `/index.html`, but `assets/index.html` is a file; wasmctl mounts directories only";
    let fix = "{ source = \"assets\", destination = \"/\" }";
    let up = wasmctl(dir.path()).arg("up").assert().code(1);
    let stderr = String::from_utf8_lossy(&up.get_output().stderr).into_owned();
    assert!(stderr.contains(problem) && stderr.contains(fix), "{stderr}");
    let doctor = wasmctl(dir.path()).arg("doctor").assert().code(1);
    let stdout = String::from_utf8_lossy(&doctor.get_output().stdout).into_owned();
    assert!(
        stdout.contains(&format!("✗ component probe files: {problem}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "fix: mount the directory that holds it: write `{fix}`"
        )),
        "{stdout}"
    );

    // The fix, as written, serves the file at the guest path the manifest asked for.
    let manifest_path = dir.path().join("wasmctl.toml");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(
        &manifest_path,
        text.replace(mount, &format!("files = [{fix}]")),
    )
    .unwrap();
    let server = serve(dir.path(), &[]);
    assert_eq!(
        get(&server.url("/read?path=/index.html")),
        (200, "<h1>shop</h1>".to_string())
    );
}

#[test]
fn a_grant_whose_link_leads_out_of_the_app_is_refused_at_load() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\nfiles = [{ source = \"etclink\", destination = \"/etc\" }]\n",
        &["probe"],
    );
    std::os::unix::fs::symlink("/etc", dir.path().join("etclink")).unwrap();
    let output = wasmctl(dir.path())
        .args(["up", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("wasmctl.toml:")
            && stderr.contains("`etclink` resolves to `/etc`, outside the app directory"),
        "{stderr}"
    );
    assert!(!stderr.contains("Listening"), "{stderr}");
}

/// A link inside a granted directory: one that stays inside it is followed (wasmtime-wasi
/// resolves it beneath the preopen), one that leads out of it is not.
#[test]
fn links_inside_a_grant_never_lead_the_guest_out_of_it() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\nfiles = [{ source = \"assets\", destination = \"/assets\" }]\n",
        &["probe"],
    );
    let assets = dir.path().join("assets");
    std::fs::create_dir(&assets).unwrap();
    std::fs::write(assets.join("hello.txt"), "granted").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "not granted").unwrap();
    std::os::unix::fs::symlink("hello.txt", assets.join("alias.txt")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", assets.join("passwd")).unwrap();
    std::os::unix::fs::symlink("/etc", assets.join("etc")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", assets.join("secret.txt")).unwrap();
    let server = serve(dir.path(), &[]);
    assert_eq!(
        get(&server.url("/read?path=/assets/alias.txt")),
        (200, "granted".to_string())
    );
    for path in ["/assets/passwd", "/assets/etc/passwd", "/assets/secret.txt"] {
        let (status, body) = get(&server.url(&format!("/read?path={path}")));
        assert_ne!(status, 200, "{path} was readable: {body}");
        assert!(!body.contains("root:"), "{path}: {body}");
        assert!(!body.contains("not granted"), "{path}: {body}");
    }
}

#[test]
fn a_link_in_place_of_a_log_is_not_followed() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim.txt");
    std::fs::write(&victim, "untouched\n").unwrap();
    let logs = dir.path().join(".wasmctl/logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::os::unix::fs::symlink(&victim, logs.join("probe.log")).unwrap();
    let server = serve(dir.path(), &[]);
    assert_eq!(get(&server.url("/print?n=3")).0, 200);
    assert!(
        server.wait_for_stderr("[probe] to stdout 3"),
        "{}",
        server.stderr()
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
}

#[test]
fn a_link_in_place_of_the_compile_cache_is_refused() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let cache = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), cache.path().join("compiled")).unwrap();
    let mut up = wasmctl(dir.path());
    up.env("WASMCTL_CACHE_DIR", cache.path());
    assert_up_refuses_the_link(up, "compiled", elsewhere.path());
}

/// `up` in `command`'s directory refuses to start because its own directory `name` is a
/// link, and writes nothing where the link leads.
fn assert_up_refuses_the_link(mut command: assert_cmd::Command, name: &str, elsewhere: &Path) {
    let output = command
        .args(["up", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{name}` is a symbolic link")),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(elsewhere).unwrap().count(), 0);
}

#[test]
fn a_link_in_place_of_the_logs_directory_is_refused() {
    let dir = app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"probe.wasm\"\n",
        &["probe"],
    );
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join(".wasmctl")).unwrap();
    assert_up_refuses_the_link(wasmctl(dir.path()), ".wasmctl", elsewhere.path());
}
