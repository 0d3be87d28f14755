//! Variables and secrets: `[variables]` valued from `--variable`, the environment, `.env`
//! and defaults, read by real guests through both versions of `wasi:config/store`.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{Server, get, serve, serve_with, testdata, wasmctl};

/// The `config-reader` guest built against each version of wasi:config (`config-draft`,
/// `config-rc1`), built once per run.
fn config_guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        wasmctl(&testdata().join("guests"))
            .args(["build", "-q", "-c", "config-draft", "-c", "config-rc1"])
            .assert()
            .success();
    });
    testdata()
        .join("guests/target/config")
        .join(format!("{name}.wasm"))
}

/// An app directory with both config guests and this manifest body (after
/// `[application]`).
fn app(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for guest in ["config-draft", "config-rc1"] {
        std::fs::copy(
            config_guest(guest),
            dir.path().join(format!("{guest}.wasm")),
        )
        .expect("guest copied");
    }
    std::fs::write(
        dir.path().join("wasmctl.toml"),
        format!("manifest_version = 1\n[application]\nname = \"vars\"\n{manifest}"),
    )
    .expect("manifest written");
    dir
}

/// The issue's example: a default and a required secret, read by a draft guest on
/// `/draft/...` and an rc.1 guest on `/rc1/...` under the same keys.
const GREETING_AND_TOKEN: &str = r#"
[variables]
greeting  = { default = "hello" }
api_token = { required = true, secret = true }

[[trigger.http]]
route = "/draft/..."
component = "draft"

[[trigger.http]]
route = "/rc1/..."
component = "rc1"

[component.draft]
source = "config-draft.wasm"
[component.draft.variables]
greeting = "{{ greeting }}, world"
token    = "{{ api_token }}"

[component.rc1]
source = "config-rc1.wasm"
[component.rc1.variables]
greeting = "{{ greeting }}, world"
token    = "{{ api_token }}"
"#;

#[test]
fn both_wasi_config_versions_read_the_same_values() {
    let dir = app(GREETING_AND_TOKEN);
    let server = serve(dir.path(), &["--variable", "api_token=t0ken"]);
    for version in ["draft", "rc1"] {
        assert_eq!(
            get(&server.url(&format!("/{version}/all"))),
            (200, "greeting=hello, world\ntoken=t0ken\n".to_string()),
            "{version}"
        );
        assert_eq!(
            get(&server.url(&format!("/{version}/get?key=greeting"))),
            (200, "hello, world".to_string())
        );
        // Keys are the component's names, not the app's.
        assert_eq!(
            get(&server.url(&format!("/{version}/get?key=api_token"))),
            (200, "(none)".to_string())
        );
    }
}

#[test]
fn each_source_wins_over_the_next() {
    let dir = app(GREETING_AND_TOKEN);
    let greeting = |args: &[&str], env: &[(&str, &str)]| {
        let mut args = args.to_vec();
        args.extend(["--variable", "api_token=t"]);
        let server = serve_with(dir.path(), &args, env);
        get(&server.url("/rc1/get?key=greeting")).1
    };
    assert_eq!(greeting(&[], &[]), "hello, world", "the default");

    std::fs::write(
        dir.path().join(".env"),
        "# local values\nWASMCTL_VARIABLE_GREETING=\"from .env\"\n",
    )
    .unwrap();
    assert_eq!(greeting(&[], &[]), "from .env, world");

    let spin = ("SPIN_VARIABLE_GREETING", "from spin env");
    assert_eq!(greeting(&[], &[spin]), "from spin env, world");

    let ours = ("WASMCTL_VARIABLE_GREETING", "from env");
    assert_eq!(greeting(&[], &[spin, ours]), "from env, world");

    let flag = ["--variable", "greeting=from flag"];
    assert_eq!(greeting(&flag, &[spin, ours]), "from flag, world");

    std::fs::write(dir.path().join("greeting.txt"), "from a file").unwrap();
    let file = ["--variable", "greeting=@greeting.txt"];
    assert_eq!(greeting(&file, &[spin, ours]), "from a file, world");
}

#[test]
fn a_missing_required_variable_stops_up_before_it_binds() {
    let dir = app(&GREETING_AND_TOKEN.replace(
        "greeting  = { default = \"hello\" }",
        "greeting  = { required = true }",
    ));
    for watch in [false, true] {
        let mut up = wasmctl(dir.path());
        up.args(["up", "--listen", "127.0.0.1:0"]);
        if watch {
            up.arg("--watch");
        }
        let output = up.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "watch {watch}: {stderr}");
        // Routes are printed once the server listens: none were.
        assert!(!stdout.contains("http://"), "watch {watch}: {stdout}");
        assert!(
            stderr.contains("required variables `api_token`, `greeting`"),
            "watch {watch}: {stderr}"
        );
        for way in [
            "--variable api_token=VALUE",
            "WASMCTL_VARIABLE_API_TOKEN",
            "SPIN_VARIABLE_API_TOKEN",
            ".env",
        ] {
            assert!(stderr.contains(way), "watch {watch}: {way} in {stderr}");
        }
    }
}

#[test]
fn a_component_without_variables_sees_none() {
    let dir = app(&GREETING_AND_TOKEN.replace(
        "[component.rc1.variables]\ngreeting = \"{{ greeting }}, world\"\ntoken    = \"{{ api_token }}\"\n",
        "",
    ));
    let server = serve(dir.path(), &["--variable", "api_token=t"]);
    assert_eq!(get(&server.url("/rc1/all")), (200, String::new()));
    assert_eq!(
        get(&server.url("/rc1/get?key=greeting")),
        (200, "(none)".to_string())
    );
    assert_eq!(
        get(&server.url("/draft/get?key=greeting")),
        (200, "hello, world".to_string())
    );
}

#[test]
fn a_secret_never_shows_in_output_or_errors() {
    const SECRET: &str = "hunter2-do-not-print";
    let dir = app(GREETING_AND_TOKEN);
    let flag = format!("api_token={SECRET}");
    // -v logs more, and the access log in JSON is what scripts read.
    let mut server = serve(
        dir.path(),
        &["-v", "--log-format", "json", "--variable", flag.as_str()],
    );
    assert_eq!(get(&server.url("/draft/get?key=token")).1, SECRET);
    assert_eq!(get(&server.url("/rc1/all")).0, 200);
    server.stop();
    let shown = format!("{}{}", server.stdout(), server.stderr());
    assert!(
        shown.contains("/draft/...") && shown.contains("\"path\""),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "{shown}");

    // Refusals name the flag, the variable or the file, never the value.
    let refused = [
        vec!["--variable".to_string(), format!("API_TOKEN={SECRET}")],
        vec!["--variable".to_string(), format!("api_tokn={SECRET}")],
    ];
    for args in refused {
        let output = wasmctl(dir.path())
            .args(["up", "-v", "--listen", "127.0.0.1:0"])
            .args(&args)
            .output()
            .unwrap();
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!shown.contains(SECRET), "{args:?}: {shown}");
        assert!(shown.contains("variable"), "{args:?}: {shown}");
    }
}

/// Waits (bounded) until `path` answers `body`, or panics with what the server said.
fn wait_for_body(server: &Server, path: &str, body: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while get(&server.url(path)).1 != body {
        assert!(
            Instant::now() < deadline,
            "GET {path} never answered {body:?}; server said:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn up_watch_resolves_again_on_each_manifest_or_dotenv_save() {
    let dir = app(GREETING_AND_TOKEN);
    let server = serve(dir.path(), &["--watch", "--variable", "api_token=t"]);
    assert_eq!(
        get(&server.url("/draft/get?key=greeting")).1,
        "hello, world"
    );

    // Saved as an editor does: a new file renamed over the manifest.
    let manifest = dir.path().join("wasmctl.toml");
    let save = |text: String| {
        let temporary = dir.path().join("wasmctl.toml.swp");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, &manifest).unwrap();
    };
    let text = std::fs::read_to_string(&manifest).unwrap();
    let changed_default = text.replace("default = \"hello\"", "default = \"hi\"");
    save(changed_default.clone());
    wait_for_body(&server, "/draft/get?key=greeting", "hi, world");

    // `.env` outranks the default: saving it is a change too.
    std::fs::write(dir.path().join(".env"), "WASMCTL_VARIABLE_GREETING=howdy\n").unwrap();
    wait_for_body(&server, "/draft/get?key=greeting", "howdy, world");
    std::fs::remove_file(dir.path().join(".env")).unwrap();
    wait_for_body(&server, "/draft/get?key=greeting", "hi, world");

    // A new required variable without a value: said, and the last good version serves.
    save(changed_default.replace(
        "[variables]\n",
        "[variables]\nregion = { required = true }\n",
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !server.stderr().contains("the app's variables lack values") {
        assert!(Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        server.stderr().contains("required variable `region`"),
        "{}",
        server.stderr()
    );
    assert_eq!(get(&server.url("/draft/get?key=greeting")).1, "hi, world");
}

/// An environment variable set to bytes that are not UTF-8 is an error naming it, not
/// skipped for the next source (here the default would have been served).
#[test]
fn a_variable_in_the_environment_that_is_not_text_is_named() {
    use std::os::unix::ffi::OsStrExt;
    let dir = app(GREETING_AND_TOKEN);
    let output = wasmctl(dir.path())
        .args(["up", "--listen", "127.0.0.1:0", "--variable", "api_token=t"])
        .env(
            "WASMCTL_VARIABLE_GREETING",
            std::ffi::OsStr::from_bytes(b"\xffhi"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`WASMCTL_VARIABLE_GREETING` is set, but its value is not UTF-8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unset WASMCTL_VARIABLE_GREETING"),
        "{stderr}"
    );
}
