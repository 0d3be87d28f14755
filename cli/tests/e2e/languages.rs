//! The JavaScript, TypeScript and Python templates with their real toolchains: npm
//! installs jco, componentize-js and TypeScript into the app, pip installs componentize-py
//! into the app's `.venv`. Each test takes the documented path verbatim
//! (`wasmctl new TEMPLATE a && cd a && wasmctl up --build`), sends real requests, then
//! meets the mistakes a user of that language makes first. One test per template, so its
//! packages are installed once.

use std::path::Path;
use std::time::Duration;

use predicates::prelude::*;
use predicates::str::contains;
use wasmctl_test_support::Server;

use crate::support::{edit_file, get, wasmctl, wasmctl_process};

/// How long `up --build` may take before it serves: a package install, a componentize
/// (seconds to tens of seconds), and a first compile of a 10–40 MB component, on a loaded
/// 2-core CI machine.
pub(crate) const BUILD_AND_START_LIMIT: Duration = Duration::from_secs(600);

/// `wasmctl new TEMPLATE a -y` in a new directory; returns it and the app's path.
fn new_app(template: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    wasmctl(dir.path())
        .args(["new", template, "a", "-y"])
        .assert()
        .success();
    let app = dir.path().join("a");
    (dir, app)
}

fn up(app: &Path, args: &[&str]) -> Server {
    let mut up = wasmctl_process(app);
    up.arg("up").args(args).args(["--workers", "2"]);
    Server::start_within(up, BUILD_AND_START_LIMIT).unwrap_or_else(|error| panic!("{error:#}"))
}

/// What every template answers, the counter starting at `first_visit`.
fn assert_serves(server: &Server, greeting: &str, first_visit: u32) {
    assert_eq!(get(&server.url("/")), (200, "Hello from a!\n".to_string()));
    assert_eq!(
        get(&server.url("/hello/ada")),
        (200, "Hello, ada!\n".to_string())
    );
    for visit in first_visit..first_visit + 2 {
        assert_eq!(
            get(&server.url("/count")),
            (200, format!("{greeting}, visitor {visit}!\n"))
        );
    }
    assert_eq!(
        get(&server.url("/nope")),
        (404, "a has nothing at /nope\n".to_string())
    );
}

/// `new` → `up --build` → requests; then a warm restart with a variable, which keeps the
/// count and serves from the compiled-code cache; then one reusing instances.
fn serves_as_documented(template: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, app) = new_app(template);
    let server = up(&app, &["--build"]);
    assert_serves(&server, "Hello", 1);
    drop(server);
    let server = up(&app, &["--variable", "greeting=Howdy"]);
    assert_serves(&server, "Howdy", 3);
    drop(server);
    // Instance reuse on: every answer still ends (a guest that leaves its response body
    // for the store's drop to close is not reused, so the client is not left waiting).
    let server = up(&app, &["--instance-reuse", "4"]);
    assert_serves(&server, "Hello", 5);
    (dir, app)
}

/// `wasmctl build` fails and says `expected` (the user's file and line) on stderr.
fn build_fails_naming(app: &Path, expected: &str) {
    wasmctl(app)
        .arg("build")
        .assert()
        .code(1)
        .stderr(contains(expected).and(contains("failed")));
}

#[test]
fn http_js_serves_and_explains_syntax_errors_and_missing_packages() {
    let (_dir, app) = serves_as_documented("http-js");
    let source = app.join("src/app.js");
    let original = std::fs::read_to_string(&source).unwrap();
    edit_file(&source, |text| format!("{text}\nlet broken = ;\n"));
    build_fails_naming(&app, "src/app.js:");
    std::fs::write(&source, &original).unwrap();

    // Packages gone (a fresh clone): the build installs them again, and only then.
    std::fs::remove_dir_all(app.join("node_modules")).unwrap();
    wasmctl(&app)
        .arg("build")
        .assert()
        .success()
        .stderr(contains("npm install"));
    wasmctl(&app)
        .arg("build")
        .assert()
        .success()
        .stderr(contains("npm install").not());
}

#[test]
fn http_ts_serves_and_explains_type_errors() {
    let (_dir, app) = serves_as_documented("http-ts");
    edit_file(&app.join("src/app.ts"), |text| {
        format!("{text}\nconst wrong: number = \"text\";\n")
    });
    build_fails_naming(&app, "src/app.ts(");
}

#[test]
fn http_python_serves_and_explains_syntax_errors() {
    let (_dir, app) = serves_as_documented("http-python");

    // CPython's component instantiates 14 core modules per request: with every instance
    // slot busy at once, the pool still has room for all of them (it once had room for
    // 8 per slot, and 8 busy slots failed requests).
    let server = up(&app, &["--max-instances", "8"]);
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                for _ in 0..6 {
                    assert_eq!(get(&server.url("/hello/x")).0, 200);
                }
            });
        }
    });
    drop(server);
    edit_file(&app.join("app.py"), |text| {
        format!("{text}\ndef broken(:\n")
    });
    build_fails_naming(&app, "app.py\", line");
}

/// A machine without the template's toolchain: `new` warns, `build` stops before running
/// anything, naming the tool and how to install it, and exits 1.
#[test]
fn a_missing_toolchain_is_named_with_how_to_install_it() {
    for (template, tool, package) in [
        ("http-js", "node", "apt-get install nodejs npm"),
        (
            "http-python",
            "python3",
            "apt-get install python3 python3-venv",
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let bare_path = dir.path().join("no-tools");
        std::fs::create_dir(&bare_path).unwrap();
        wasmctl(dir.path())
            .args(["new", template, "a", "-y"])
            .env("PATH", &bare_path)
            .assert()
            .success()
            .stderr(contains(format!("`{tool}` was not found on PATH")).and(contains(package)));
        wasmctl(&dir.path().join("a"))
            .arg("build")
            .env("PATH", &bare_path)
            .assert()
            .code(1)
            .stderr(
                contains("component `a` cannot be built here")
                    .and(contains(format!("`{tool}` was not found on PATH")))
                    .and(contains(package))
                    .and(contains("brew install")),
            );
    }
}
