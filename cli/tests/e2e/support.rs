//! Shared helpers: an isolated `wasmctl` command (and `wasmctl up`, through the
//! `wasmctl-test-support` harness xtask uses too), the workspace root, fixtures built once.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use assert_cmd::Command;
use wasmctl_test_support::http::free_port;

/// A running server, as xtask drives it too: started here by [`serve`].
pub(crate) use wasmctl_test_support::Server;

/// The repository root.
pub(crate) fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is one level below the root")
}

/// A `wasmctl` command run in `dir`, isolated from the user's data directory and terminal.
pub(crate) fn wasmctl(dir: &Path) -> Command {
    Command::from_std(wasmctl_process(dir))
}

/// The same as [`wasmctl`], as a `std::process::Command` for tests that manage the child
/// themselves (signals, piped output while it runs).
pub(crate) fn wasmctl_process(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("wasmctl"));
    command.current_dir(dir);
    isolate(&mut command);
    command
}

/// Keeps `command` (and the wasmctl it runs) away from the user's data, cache,
/// credentials and Docker config.
pub(crate) fn isolate(command: &mut std::process::Command) {
    for (key, value) in isolation() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
}

/// Environment that keeps a wasmctl child away from the user's data, cache,
/// credentials and Docker config (`None`: remove the variable).
fn isolation() -> Vec<(&'static str, Option<std::ffi::OsString>)> {
    let scratch = scratch_data_dir();
    vec![
        ("WASMCTL_DATA_DIR", Some(scratch.into())),
        ("WASMCTL_CACHE_DIR", Some(compile_cache().into())),
        ("WASMCTL_CONFIG_DIR", Some(scratch.join("config").into())),
        ("DOCKER_CONFIG", Some(scratch.join("docker").into())),
        ("NO_COLOR", Some("1".into())),
        ("RUST_LOG", None),
        ("RUST_BACKTRACE", None),
    ]
}

/// A data directory shared by the run; tests that install templates make their own.
fn scratch_data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

/// Where guest crates built by tests keep their build output, shared so their
/// dependencies compile once per run.
pub(crate) fn guest_target_dir() -> PathBuf {
    workspace_root().join("target").join("test-guests")
}

/// The bytes that start every component (as opposed to a core module).
pub(crate) const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// The repository's `testdata/` directory.
pub(crate) fn testdata() -> PathBuf {
    workspace_root().join("testdata")
}

/// A fresh `http-rust` app, rendered and built with `wasmctl build` once per test run.
pub(crate) fn template_app() -> &'static Path {
    static APP: OnceLock<tempfile::TempDir> = OnceLock::new();
    APP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        wasmctl(dir.path())
            .args(["new", "http-rust", "svc", "--accept-defaults"])
            .assert()
            .success();
        wasmctl(&dir.path().join("svc"))
            .arg("build")
            .assert()
            .success();
        dir
    })
    .path()
    .join("svc")
    .leak()
}

/// `wasmctl build -c ID` of one component of `testdata/guests/wasmctl.toml`.
pub(crate) fn build_guest(id: &str) -> assert_cmd::assert::Assert {
    wasmctl(&testdata().join("guests"))
        .args(["build", "--component", id])
        .assert()
}

/// The `hostile`, `probe` and `service` guests of `testdata/guests`, built once per run.
pub(crate) fn guest_component(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        wasmctl(&testdata().join("guests"))
            .args([
                "build", "-q", "-c", "hostile", "-c", "probe", "-c", "service",
            ])
            .assert()
            .success();
    });
    testdata()
        .join("guests/target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"))
}

/// An app directory holding copies of the guest components and this manifest body
/// (after the `[application]` table).
pub(crate) fn guest_app(manifest: &str, guests: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for guest in guests {
        std::fs::copy(
            guest_component(guest),
            dir.path().join(format!("{guest}.wasm")),
        )
        .expect("guest copied");
    }
    std::fs::write(
        dir.path().join("wasmctl.toml"),
        format!("manifest_version = 1\n[application]\nname = \"test\"\n{manifest}"),
    )
    .expect("manifest written");
    dir
}

/// Compiled components shared by every server of the run: each compiles once.
fn compile_cache() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

/// `wasmctl up ARGS` in `dir` (see [`serve_with`]).
pub(crate) fn serve(dir: &Path, args: &[&str]) -> Server {
    serve_with(dir, args, &[])
}

/// `wasmctl up ARGS` in `dir`, isolated as every wasmctl of the tests ([`wasmctl_process`]),
/// with `env` on top, on a free port of 127.0.0.1; returns once it serves, and panics with
/// what it said if it does not.
pub(crate) fn serve_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut up = wasmctl_process(dir);
    up.arg("up").args(args).envs(env.iter().copied());
    // Two workers, as on the CI machine, unless the test chooses.
    if !args.contains(&"--workers") {
        up.args(["--workers", "2"]);
    }
    Server::start(up).unwrap_or_else(|error| panic!("{error:#}"))
}

/// An HTTP client that returns every status as a response, each request bounded to a
/// minute.
pub(crate) fn http() -> ureq::Agent {
    wasmctl_test_support::http::client(Duration::from_secs(60))
}

/// GET → (status, body).
pub(crate) fn get(url: &str) -> (u16, String) {
    let mut response = http()
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// A real Docker Distribution registry (Debian's `docker-registry`) on a free port of
/// 127.0.0.1 with its own storage directory; stopped when dropped.
pub(crate) struct TestRegistry {
    child: std::process::Child,
    pub storage: tempfile::TempDir,
    pub host: String,
}

impl TestRegistry {
    /// The manifest of `repository:tag` as pushed, and a reader of its blobs (as JSON or
    /// bytes): what a runtime pulling the artifact reads.
    pub(crate) fn artifact(&self, repository: &str, tag: &str) -> serde_json::Value {
        let url = format!("http://{}/v2/{repository}/manifests/{tag}", self.host);
        let body = http()
            .get(&url)
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .call()
            .unwrap()
            .into_body()
            .read_to_vec()
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// The blob `digest` of `repository`.
    pub(crate) fn blob(&self, repository: &str, digest: &str) -> Vec<u8> {
        let url = format!("http://{}/v2/{repository}/blobs/{digest}", self.host);
        http()
            .get(&url)
            .call()
            .unwrap()
            .into_body()
            .read_to_vec()
            .unwrap()
    }

    /// Anonymous read/write.
    pub(crate) fn start() -> TestRegistry {
        Self::start_with_auth(None)
    }

    /// With `(user, password)`: HTTP basic auth through an htpasswd file.
    pub(crate) fn start_with_auth(login: Option<(&str, &str)>) -> TestRegistry {
        let storage = tempfile::tempdir().expect("temp dir");
        let port = free_port().expect("a free port");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.path().join("data").display()
        );
        if let Some((user, password)) = login {
            let htpasswd = storage.path().join("htpasswd");
            let hash = bcrypt::hash(password, 5).expect("bcrypt");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = storage.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry is installed (apt-get install docker-registry)");
        let registry = TestRegistry {
            child,
            storage,
            host: format!("127.0.0.1:{port}"),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let answered = http().get(format!("http://{}/v2/", registry.host)).call();
            if answered.is_ok_and(|response| [200, 401].contains(&response.status().as_u16())) {
                return registry;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "docker-registry did not start on {}",
                registry.host
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Where the registry keeps a blob's bytes.
    pub(crate) fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A freshly rendered (unbuilt) `http-rust` app `svc` whose `wasmctl.toml` went through
/// `edit`; the app is `<returned dir>/svc`.
pub(crate) fn fresh_app(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    wasmctl(dir.path())
        .args(["new", "http-rust", "svc", "-y"])
        .assert()
        .success();
    edit_file(&dir.path().join("svc/wasmctl.toml"), edit);
    dir
}

/// Runs `command`, which must succeed, and parses its stdout as one JSON document.
pub(crate) fn json_stdout(command: &mut Command) -> serde_json::Value {
    let output = command.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&output).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output)
        )
    })
}

/// Rewrites a text file through `edit`.
pub(crate) fn edit_file(path: &Path, edit: impl FnOnce(String) -> String) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    std::fs::write(path, edit(text)).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// A command on a pseudo-terminal (through `script`), driven like `expect`: wait for
/// text to appear, then type. Dropping it kills the session, so a test that fails
/// while a prompt waits for input leaves nothing behind.
///
/// The command must run in the terminal's foreground process group: anything that
/// moves it out (`timeout` without `--foreground` does, whenever the shell `script`
/// starts forks rather than execs) gets SIGTTOU at the prompt's first `tcsetattr` and
/// stops, with the typed answer echoed and never read.
pub(crate) struct Terminal {
    child: std::process::Child,
    /// `None` once `finish` closed it.
    input: Option<std::process::ChildStdin>,
    transcript: std::sync::Arc<std::sync::Mutex<String>>,
    /// How much of the transcript earlier `expect`s consumed.
    seen: usize,
}

impl Terminal {
    /// Runs `command` in `dir`, with `WASMCTL_DATA_DIR` there and `env` on top.
    pub(crate) fn spawn(command: &str, dir: &Path, env: &[(&str, &Path)]) -> Terminal {
        let mut child = std::process::Command::new("script")
            .args(["-qec", command, "/dev/null"])
            .current_dir(dir)
            .env("WASMCTL_DATA_DIR", dir.join("data"))
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script (util-linux) runs");
        let input = child.stdin.take().unwrap();
        let mut output = child.stdout.take().unwrap();
        let transcript = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = transcript.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = output.read(&mut buffer) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        Terminal {
            child,
            input: Some(input),
            transcript,
            seen: 0,
        }
    }

    /// Waits (at most 30 s) until `text` appears after what was seen so far.
    pub(crate) fn expect(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            {
                let transcript = self.transcript.lock().unwrap();
                if let Some(at) = transcript[self.seen..].find(text) {
                    self.seen += at + text.len();
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "`{text}` never appeared:\n{transcript}"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most 30 s) until the terminal stops echoing what is typed, as a password
    /// prompt makes it do. Typing earlier would race it: the line discipline echoes input
    /// as it arrives, and the prompt discards input that came before echo was turned off.
    pub(crate) fn wait_until_echo_is_off(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if self
                .settings()
                .is_some_and(|settings| settings.split_whitespace().any(|flag| flag == "-echo"))
            {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the terminal still echoes: {:?}\n{}",
                self.settings(),
                self.transcript.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `stty -a` of the pseudo-terminal, found as the standard input of the process
    /// `script` started on it (its first child); `None` until that process exists.
    fn settings(&self) -> Option<String> {
        let pid = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        let child = children.split_whitespace().next()?;
        let tty = std::fs::read_link(format!("/proc/{child}/fd/0")).ok()?;
        let output = std::process::Command::new("stty")
            .arg("-F")
            .arg(&tty)
            .arg("-a")
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Waits for a prompt containing `prompt`, then types `answer` and Enter.
    pub(crate) fn answer(&mut self, prompt: &str, answer: &str) {
        self.expect(prompt);
        self.type_line(answer);
    }

    /// Types `line` and Enter.
    pub(crate) fn type_line(&mut self, line: &str) {
        use std::io::Write;
        let input = self.input.as_mut().expect("the terminal is still open");
        input.write_all(format!("{line}\r").as_bytes()).unwrap();
        input.flush().unwrap();
    }

    /// Types Ctrl-C: the terminal turns it into SIGINT for the foreground process group,
    /// or passes it on as a byte to a prompt that reads keys raw.
    pub(crate) fn press_ctrl_c(&mut self) {
        use std::io::Write;
        let input = self.input.as_mut().expect("the terminal is still open");
        input.write_all(&[0x03]).unwrap();
        input.flush().unwrap();
    }

    /// Closes the input and waits for the command to end.
    pub(crate) fn finish(mut self) -> (std::process::ExitStatus, String) {
        self.input = None;
        let status = self.child.wait().unwrap();
        let transcript = self.transcript.lock().unwrap().clone();
        (status, transcript)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Closing the pseudo-terminal hangs up the command on it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a [`FakeRegistry`] misbehaves. A real registry verifies what it stores and cannot
/// serve these; each is something a hostile or broken registry could send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Misbehaviour {
    /// The manifest never ends (chunked, zeros, until the client hangs up).
    EndlessManifest,
    /// The component layer's descriptor says 8 bytes; the blob never ends.
    OversizeBlob,
    /// The component layer's bytes do not match its digest (same length).
    BadDigest,
    /// The files layer holds a symbolic link to `/etc/passwd`.
    SymlinkLayer,
    /// The files layer is 8 MiB of zeros compressed to a few KiB.
    GzipBomb,
    /// The component layer (64 MiB) trickles out at 64 KiB per 100 ms.
    SlowBlob,
}

/// A registry on 127.0.0.1 that serves one crafted artifact (any repository, any tag),
/// misbehaving as told. Every connection gets one answer and is closed; endless answers
/// stop when the client hangs up, or after a minute.
pub(crate) struct FakeRegistry {
    pub host: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

const SLOW_BLOB_SIZE: usize = 64 * 1024 * 1024;

impl FakeRegistry {
    pub(crate) fn start(misbehaviour: Misbehaviour) -> FakeRegistry {
        use std::sync::atomic::Ordering;

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.set_nonblocking(true).unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let artifact = std::sync::Arc::new(CraftedArtifact::new(misbehaviour));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            // Bounded: a test never runs this long.
            let deadline = std::time::Instant::now() + Duration::from_secs(600);
            while !stopping.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let artifact = artifact.clone();
                        std::thread::spawn(move || artifact.answer(stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeRegistry { host, stop }
    }

    /// `HOST:PORT/evil/app:v1`.
    pub(crate) fn reference(&self) -> String {
        format!("{}/evil/app:v1", self.host)
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

struct CraftedArtifact {
    misbehaviour: Misbehaviour,
    manifest: Vec<u8>,
    /// digest → bytes served.
    blobs: std::collections::HashMap<String, Vec<u8>>,
    component_digest: String,
}

impl CraftedArtifact {
    fn new(misbehaviour: Misbehaviour) -> CraftedArtifact {
        use wasmctl::registry::artifact::{
            APP_MEDIA_TYPE, FILES_MEDIA_TYPE, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE,
            sha256_digest,
        };
        let config = br#"{"architecture":"wasm","os":"wasip2"}"#.to_vec();
        let component = match misbehaviour {
            Misbehaviour::SlowBlob => vec![0; SLOW_BLOB_SIZE],
            _ => b"\0asm\x0d\0\x01\0".to_vec(),
        };
        let files = match misbehaviour {
            Misbehaviour::SymlinkLayer => {
                files_layer(tar::EntryType::Symlink, "passwd", "/etc/passwd")
            }
            Misbehaviour::GzipBomb => gzip_bomb(8 * 1024 * 1024),
            _ => files_layer(tar::EntryType::Directory, "empty", ""),
        };
        let component_digest = sha256_digest(&component);
        let files_digest = sha256_digest(&files);
        let app = format!(
            "manifest_version = 1\n[application]\nname = \"evil\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n[component.probe]\nsource = \"{component_digest}\"\nfiles = [{{ source = \"{files_digest}\", destination = \"/data\" }}]\n"
        )
        .into_bytes();
        let descriptor = |data: &[u8], media_type: &str| {
            let size = match (misbehaviour, media_type) {
                (Misbehaviour::OversizeBlob, WASM_LAYER_MEDIA_TYPE) => 8,
                _ => data.len(),
            };
            serde_json::json!({ "mediaType": media_type, "digest": sha256_digest(data), "size": size })
        };
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": descriptor(&config, WASM_CONFIG_MEDIA_TYPE),
            "layers": [
                descriptor(&component, WASM_LAYER_MEDIA_TYPE),
                descriptor(&files, FILES_MEDIA_TYPE),
                descriptor(&app, APP_MEDIA_TYPE),
            ],
        }))
        .unwrap();
        let served_component = match misbehaviour {
            Misbehaviour::BadDigest => b"\0asm\x0d\0\x01\x01".to_vec(),
            _ => component,
        };
        let blobs = [
            (sha256_digest(&config), config),
            (component_digest.clone(), served_component),
            (files_digest, files),
            (sha256_digest(&app), app),
        ]
        .into_iter()
        .collect();
        CraftedArtifact {
            misbehaviour,
            manifest,
            blobs,
            component_digest,
        }
    }

    /// Reads one request and answers it.
    fn answer(&self, mut stream: std::net::TcpStream) {
        use std::io::{Read, Write};

        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 64 * 1024 {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        let request = String::from_utf8_lossy(&request);
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
        let reply = |stream: &mut std::net::TcpStream, status: &str, body: &[u8]| {
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        };
        let endless = |stream: &mut std::net::TcpStream, content_type: &str| {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b'0'; 64 * 1024];
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while std::time::Instant::now() < deadline {
                let framed =
                    [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                if stream.write_all(&framed).is_err() {
                    return;
                }
            }
        };
        if path == "/v2/" {
            reply(&mut stream, "200 OK", b"{}");
        } else if path.contains("/manifests/") {
            if self.misbehaviour == Misbehaviour::EndlessManifest {
                endless(&mut stream, "application/vnd.oci.image.manifest.v1+json");
            } else {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    self.manifest.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&self.manifest);
            }
        } else if let Some((_, digest)) = path.split_once("/blobs/") {
            let is_component = digest == self.component_digest;
            match (self.misbehaviour, self.blobs.get(digest)) {
                (Misbehaviour::OversizeBlob, _) if is_component => {
                    endless(&mut stream, "application/octet-stream");
                }
                (Misbehaviour::SlowBlob, Some(data)) if is_component => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        data.len()
                    );
                    if stream.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    for piece in data.chunks(64 * 1024) {
                        if stream.write_all(piece).is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                (_, Some(data)) => reply(&mut stream, "200 OK", data),
                (_, None) => reply(&mut stream, "404 Not Found", b""),
            }
        } else {
            reply(&mut stream, "404 Not Found", b"");
        }
    }
}

/// A files layer: `ok.txt` first (so a refusal comes after something was written), then
/// one entry of `kind` named `name` (linking to `target`, for a link).
pub(crate) fn files_layer(kind: tar::EntryType, name: &str, target: &str) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(encoder);
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, "ok.txt", &b"ok"[..]).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(0);
    header.set_mode(0o755);
    header.set_entry_type(kind);
    if kind == tar::EntryType::Directory {
        tar.append_data(&mut header, name, std::io::empty())
            .unwrap();
    } else {
        tar.append_link(&mut header, name, target).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// A tar.gz holding one file of `size` zeros: a few KiB that unpack to `size` bytes.
pub(crate) fn gzip_bomb(size: u64) -> Vec<u8> {
    use std::io::Read;

    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(encoder);
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, "zeros", std::io::repeat(0).take(size))
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

/// The access log lines (JSON objects) of a server's stderr (`--log-format json`).
pub(crate) fn access_json(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}
