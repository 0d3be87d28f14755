//! Key-value stores: the `counter` guest (wasi:keyvalue@0.2.0-draft2) against a real
//! `wasmctl up`, its data in a real SQLite file, read back with `wasmctl kv`; and on a
//! real `redis-server` (started by each test on a free port) through a runtime config.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmctl_test_support::RedisServer;

use crate::support::{get, guest_target_dir, http, serve, testdata, wasmctl, wasmctl_process};

/// The `counter` guest (draft2) or `counter-draft` (draft), both built once per run.
pub(crate) fn counter_component(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        wasmctl(&testdata().join("guests"))
            .args(["build", "-q", "-c", "counter", "-c", "counter-draft"])
            .assert()
            .success();
    });
    testdata()
        .join("guests/target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"))
}

/// An app of the counter on `/granted/...` (granted the default store) and on
/// `/denied/...` (granted nothing), and of the draft's counter on `/draft/...`.
fn counter_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["counter", "counter-draft"] {
        std::fs::copy(
            counter_component(name),
            dir.path().join(format!("{name}.wasm")),
        )
        .expect("guest copied");
    }
    std::fs::write(
        dir.path().join("wasmctl.toml"),
        r#"manifest_version = 1
[application]
name = "counter"

[[trigger.http]]
route = "/granted/..."
component = "granted"

[[trigger.http]]
route = "/denied/..."
component = "denied"

[component.granted]
source = "counter.wasm"
key_value_stores = ["default"]

[[trigger.http]]
route = "/draft/..."
component = "draft"

[component.denied]
source = "counter.wasm"

[component.draft]
source = "counter-draft.wasm"
key_value_stores = ["default"]
"#,
    )
    .expect("manifest written");
    dir
}

pub(crate) fn kv(dir: &Path, args: &[&str]) -> String {
    let output = wasmctl(dir).arg("kv").args(args).assert().success();
    String::from_utf8(output.get_output().stdout.clone()).expect("UTF-8")
}

#[test]
fn a_counter_survives_restarts_and_is_read_by_kv() {
    let app = counter_app();
    let mut server = serve(app.path(), &[]);
    for expected in 1..=3 {
        assert_eq!(
            get(&server.url("/granted/inc")),
            (200, format!("{expected}\n"))
        );
    }
    server.stop();
    assert!(
        app.path().join(".wasmctl/state/default.db").is_file(),
        "the store lives in .wasmctl/state/"
    );

    let server = serve(app.path(), &[]);
    assert_eq!(get(&server.url("/granted/inc")), (200, "4\n".to_string()));
    // Read while the server holds the store open (WAL).
    assert_eq!(kv(app.path(), &["get", "count"]), "4\n");
    let json: serde_json::Value =
        serde_json::from_str(&kv(app.path(), &["get", "count", "--json"])).unwrap();
    assert_eq!(json, serde_json::json!({ "key": "count", "value": "4" }));
    kv(app.path(), &["set", "greeting", "hello"]);
    assert_eq!(
        get(&server.url("/granted/get?key=greeting")),
        (200, "hello".to_string())
    );
    assert_eq!(kv(app.path(), &["list"]), "count\ngreeting\n");
    kv(app.path(), &["delete", "greeting"]);
    assert_eq!(get(&server.url("/granted/get?key=greeting")).0, 404);
    wasmctl(app.path())
        .args(["kv", "get", "greeting"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "key `greeting` is not set in store `default`",
        ));
}

#[test]
fn concurrent_increments_are_exact() {
    let app = counter_app();
    let server = serve(app.path(), &["--workers", "4"]);
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let url = server.url("/granted/inc");
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let url = url.clone();
            scope.spawn(move || {
                let agent = http();
                for _ in 0..EACH {
                    let response = agent.get(&url).call().expect("request answered");
                    assert_eq!(response.status().as_u16(), 200);
                }
            });
        }
    });
    assert_eq!(
        kv(app.path(), &["get", "count"]),
        format!("{}\n", THREADS * EACH)
    );
}

#[test]
fn a_store_not_granted_is_denied_and_the_server_keeps_serving() {
    let app = counter_app();
    let server = serve(app.path(), &[]);
    assert_eq!(
        get(&server.url("/denied/inc")),
        (500, "error: access-denied\n".to_string())
    );
    assert_eq!(
        get(&server.url("/granted/open?store=other")),
        (500, "error: access-denied\n".to_string())
    );
    assert_eq!(get(&server.url("/granted/inc")), (200, "1\n".to_string()));
}

#[test]
fn key_value_seeds_the_default_store_and_state_dir_moves_it() {
    let app = counter_app();
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().join("kv");
    let state_arg = state_dir.to_str().unwrap();
    let server = serve(
        app.path(),
        &[
            "--state-dir",
            state_arg,
            "--key-value",
            "count=41",
            "--key-value",
            "motd=hi there",
        ],
    );
    assert_eq!(
        get(&server.url("/granted/get?key=motd")),
        (200, "hi there".to_string())
    );
    assert_eq!(get(&server.url("/granted/inc")), (200, "42\n".to_string()));
    assert!(state_dir.join("default.db").is_file());
    assert!(!app.path().join(".wasmctl/state").exists());
    assert_eq!(
        kv(app.path(), &["get", "count", "--state-dir", state_arg]),
        "42\n"
    );
}

#[test]
fn a_value_over_the_limit_is_the_guests_error() {
    let app = counter_app();
    let server = serve(app.path(), &[]);
    let too_big = vec![b'x'; 1024 * 1024 + 1];
    let mut response = http()
        .post(server.url("/granted/set?key=big"))
        .send(&too_big[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    let body = response.body_mut().read_to_string().unwrap();
    assert_eq!(
        body,
        "error: other: a value of 1048577 bytes is larger than the 1048576 bytes a value may have\n"
    );
    let just_fits = vec![b'x'; 1024 * 1024];
    let response = http()
        .post(server.url("/granted/set?key=big"))
        .send(&just_fits[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(get(&server.url("/granted/inc")), (200, "1\n".to_string()));
}

#[test]
fn both_drafts_of_wasi_keyvalue_share_the_store() {
    let app = counter_app();
    let server = serve(app.path(), &["--key-value", "a=1"]);
    assert_eq!(get(&server.url("/granted/inc")), (200, "1\n".to_string()));
    assert_eq!(get(&server.url("/draft/inc")), (200, "2\n".to_string()));
    assert_eq!(get(&server.url("/granted/inc")), (200, "3\n".to_string()));
    assert_eq!(
        get(&server.url("/draft/list")),
        (200, "a\ncount\n".to_string())
    );
}

#[test]
fn stored_data_outlives_a_hot_swap() {
    let app = counter_app();
    let server = serve(app.path(), &["--watch"]);
    assert_eq!(get(&server.url("/granted/inc")), (200, "1\n".to_string()));
    // A new component file where the served one was: `up --watch` swaps it in (here the
    // other draft's counter, which answers `open`, an action it lacks, with the key list).
    let staged = app.path().join("counter.wasm.new");
    std::fs::copy(app.path().join("counter-draft.wasm"), &staged).unwrap();
    std::fs::rename(&staged, app.path().join("counter.wasm")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while get(&server.url("/granted/open")).1 != "count\n" {
        assert!(
            std::time::Instant::now() < deadline,
            "no swap within a minute: {}",
            server.stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(get(&server.url("/granted/inc")), (200, "2\n".to_string()));
}

/// The path a user takes with the stateful template: `new`, `build`, `up`, count; stop
/// the server hard, serve again with another greeting, and the count goes on; then the
/// same app on two servers sharing a real Redis counts exactly.
#[test]
fn a_fresh_http_rust_kv_app_counts_across_restarts_and_across_servers_on_redis() {
    let dir = tempfile::tempdir().expect("temp dir");
    wasmctl(dir.path())
        .args(["new", "http-rust-kv", "svc", "-y"])
        .assert()
        .success();
    let app = dir.path().join("svc");
    // Its dependencies compile once per run, shared with the other template builds.
    wasmctl(&app)
        .arg("build")
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .assert()
        .success();

    let mut server = serve(&app, &[]);
    assert_eq!(get(&server.url("/")), (200, "Hello from svc!\n".into()));
    for visitor in 1..=2 {
        assert_eq!(
            get(&server.url("/count")),
            (200, format!("Hello, visitor {visitor}!\n"))
        );
    }
    server.stop();

    let server = serve(&app, &["--variable", "greeting=Howdy"]);
    assert_eq!(
        get(&server.url("/count")),
        (200, "Howdy, visitor 3!\n".into())
    );
    assert!(app.join(".wasmctl/state/default.db").is_file());
    assert_eq!(kv(&app, &["get", "visits"]), "3\n");
    wasmctl(&app)
        .args(["kv", "get", "nope"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "key `nope` is not set in store `default`",
        ));
    drop(server);

    // The same app on two servers sharing a real Redis (the README's runtime config):
    // every visitor number is handed out once, none lost, none twice.
    let redis = RedisServer::start().unwrap();
    let config = redis_runtime_config(&app, &redis.url());
    let config = config.to_str().unwrap();
    let servers = [
        serve(&app, &["--runtime-config", config]),
        serve(&app, &["--runtime-config", config]),
    ];
    const THREADS: usize = 4;
    const EACH: usize = 10;
    let mut seen: Vec<usize> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|thread| {
                let url = servers[thread % 2].url("/count");
                scope.spawn(move || {
                    let agent = http();
                    (0..EACH)
                        .map(|_| {
                            let mut response = agent.get(&url).call().expect("answered");
                            assert_eq!(response.status().as_u16(), 200);
                            let body = response.body_mut().read_to_string().unwrap();
                            body.trim_start_matches("Hello, visitor ")
                                .trim_end_matches("!\n")
                                .parse::<usize>()
                                .unwrap_or_else(|_| panic!("{body:?}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect()
    });
    seen.sort_unstable();
    assert_eq!(seen, (1..=THREADS * EACH).collect::<Vec<_>>());
    assert_eq!(
        kv(&app, &["get", "visits", "--runtime-config", config]),
        format!("{}\n", THREADS * EACH)
    );
}

/// A runtime config in `dir` that puts the default store on the Redis at `url`.
fn redis_runtime_config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(
        &path,
        format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
    )
    .expect("runtime config written");
    path
}

#[test]
fn two_servers_sharing_redis_count_exactly() {
    let redis = RedisServer::start().unwrap();
    let app = counter_app();
    let config = redis_runtime_config(app.path(), &redis.url());
    let config = config.to_str().unwrap();
    let servers = [
        serve(app.path(), &["--runtime-config", config, "--workers", "2"]),
        serve(app.path(), &["--runtime-config", config, "--workers", "2"]),
    ];
    const THREADS: usize = 8;
    const EACH: usize = 25;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            // Half the threads on each server, both drafts among them.
            let path = if thread % 4 == 3 {
                "/draft/inc"
            } else {
                "/granted/inc"
            };
            let url = servers[thread % 2].url(path);
            scope.spawn(move || {
                let agent = http();
                for _ in 0..EACH {
                    let response = agent.get(&url).call().expect("request answered");
                    assert_eq!(response.status().as_u16(), 200);
                }
            });
        }
    });
    let total = THREADS * EACH;
    for server in &servers {
        assert_eq!(
            get(&server.url("/granted/get?key=count")),
            (200, total.to_string())
        );
    }
    // Nothing went to SQLite; `kv` reads the same Redis through the same file.
    assert!(!app.path().join(".wasmctl/state/default.db").exists());
    assert_eq!(
        kv(app.path(), &["get", "count", "--runtime-config", config]),
        format!("{total}\n")
    );
    kv(
        app.path(),
        &["set", "motd", "shared", "--runtime-config", config],
    );
    assert_eq!(
        get(&servers[1].url("/granted/get?key=motd")),
        (200, "shared".to_string())
    );
}

#[test]
fn redis_going_away_is_the_guests_error_and_the_server_keeps_serving() {
    let mut redis = RedisServer::start().unwrap();
    let app = counter_app();
    let config = redis_runtime_config(app.path(), &redis.url());
    let server = serve(app.path(), &["--runtime-config", config.to_str().unwrap()]);
    assert_eq!(get(&server.url("/granted/inc")), (200, "1\n".to_string()));

    redis.kill();
    let (status, body) = get(&server.url("/granted/inc"));
    assert_eq!(status, 500, "{body}");
    assert!(
        body.starts_with("error: other: key-value store `default`: incrementing key `count`"),
        "{body}"
    );
    // The server answers what does not need the store...
    assert_eq!(
        get(&server.url("/denied/inc")),
        (500, "error: access-denied\n".to_string())
    );
    // ...says on stderr which store failed...
    assert!(
        server.wait_for_stderr("key-value store `default`: incrementing key `count`"),
        "{}",
        server.stderr()
    );
    // ...and serves the store again once Redis is back (empty: it persists nothing).
    redis.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(&server.url("/granted/inc"));
        if status == 200 {
            assert_eq!(body, "1\n");
            break;
        }
        assert!(Instant::now() < deadline, "not served again: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn redis_down_at_start_stops_up_before_it_binds() {
    let redis = RedisServer::start().unwrap();
    let url = format!("redis://:hunter2@127.0.0.1:{}", redis.port());
    drop(redis);
    let app = counter_app();
    let config = redis_runtime_config(app.path(), &url);
    let output = wasmctl_process(app.path())
        .args(["up", "--listen", "127.0.0.1:0", "--runtime-config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open key-value store `default`\n")
            && stderr.contains("cannot connect to Redis at redis://:***@127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("start Redis there"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains("Serving"), "{stderr}");
}

#[test]
fn up_watch_serves_the_runtime_configs_store() {
    let redis = RedisServer::start().unwrap();
    let app = counter_app();
    let config = redis_runtime_config(app.path(), &redis.url());
    let config = config.to_str().unwrap();
    let server = serve(app.path(), &["--watch", "--runtime-config", config]);
    assert_eq!(get(&server.url("/granted/inc")), (200, "1\n".to_string()));
    assert_eq!(
        kv(app.path(), &["get", "count", "--runtime-config", config]),
        "1\n"
    );
    assert!(!app.path().join(".wasmctl/state/default.db").exists());
}
