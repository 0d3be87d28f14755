//! The README's "Try it on a fresh machine" commands, run verbatim on a clean copy of the
//! checkout, as a new user runs them.
//!
//! The commands are read from README.md, so when the README changes, this test runs the
//! new text. Only the environment is arranged: `CARGO_INSTALL_ROOT` points cargo's default
//! install location at a temporary directory on `PATH` (the command still runs with its
//! default flags, a release install), `CARGO_TARGET_DIR` shares one build cache between
//! runs (`target/install`), and wasmctl's own data and cache directories are isolated.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{isolate, workspace_root};

/// A release build of wasmctl on 2 busy cores, then a template build: generous, bounded.
const SETUP_TIMEOUT: Duration = Duration::from_secs(40 * 60);

/// The shell blocks of the README section a new user follows first.
fn first_steps() -> (String, String) {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let section = readme
        .split("## Try it on a fresh machine")
        .nth(1)
        .expect("README.md has a `## Try it on a fresh machine` section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let blocks: Vec<String> = section
        .split("```sh\n")
        .skip(1)
        .map(|block| {
            block
                .split("```")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect();
    let [setup, request, ..] = blocks.as_slice() else {
        panic!(
            "the section should have two ```sh blocks (set-up, then a request); it has {blocks:?}"
        )
    };
    // The test is only worth its time while the README still says these things.
    assert!(setup.starts_with("./install.sh"), "{setup}");
    assert!(setup.contains("wasmctl up"), "{setup}");
    assert!(request.starts_with("curl "), "{request}");
    (setup.clone(), request.clone())
}

/// The files git tracks, copied into `dest`: what a fresh clone of this tree holds.
fn clean_copy(dest: &Path) {
    let root = workspace_root();
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached"])
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(listed.status.success(), "git ls-files failed");
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let relative = PathBuf::from(String::from_utf8(name.to_vec()).unwrap());
        let from = root.join(&relative);
        // Deleted in the working tree but still in the index: a clone would not have it.
        let Ok(metadata) = std::fs::symlink_metadata(&from) else {
            continue;
        };
        let to = dest.join(&relative);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if metadata.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
}

/// A child running in its own process group, killed (group and all) when dropped.
struct Session(std::process::Child);

impl Drop for Session {
    fn drop(&mut self) {
        // `--`: without it, kill(1) takes the negative process-group id for an option.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn the_readme_first_steps_work_verbatim_on_a_clean_clone() {
    use std::os::unix::process::CommandExt;

    let (setup, request) = first_steps();
    let clone = tempfile::tempdir().unwrap();
    clean_copy(clone.path());
    let install_root = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        install_root.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut command = Command::new("sh");
    command
        .args(["-c", &setup])
        .current_dir(clone.path())
        .env("CARGO_INSTALL_ROOT", install_root.path())
        .env("CARGO_TARGET_DIR", workspace_root().join("target/install"))
        .env("PATH", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    isolate(&mut command);
    let mut session = Session(command.spawn().expect("sh runs"));

    // `wasmctl up` prints each route's URL on stdout once it serves.
    let (ready, ready_rx) = std::sync::mpsc::channel::<()>();
    let stdout = session.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("http://") {
                let _ = ready.send(());
            }
        }
    });
    let stderr_log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = session.0.stderr.take().unwrap();
    let log = stderr_log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let started = Instant::now();
    loop {
        if ready_rx.recv_timeout(Duration::from_secs(1)).is_ok() {
            break;
        }
        if let Some(status) = session.0.try_wait().unwrap() {
            panic!(
                "`{setup}` ended ({status}) before serving:\n{}",
                stderr_log.lock().unwrap()
            );
        }
        assert!(
            started.elapsed() < SETUP_TIMEOUT,
            "`{setup}` did not serve within {SETUP_TIMEOUT:?}:\n{}",
            stderr_log.lock().unwrap()
        );
    }
    let log = stderr_log.lock().unwrap().clone();
    // The default path, not --debug: a release install.
    assert!(log.contains("install.sh: installed wasmctl"), "{log}");
    assert!(!log.contains("debug build"), "{log}");
    assert!(install_root.path().join("bin/wasmctl").is_file());

    // Verbatim, bounded by timeout(1) (no terminal here, so no process-group trouble).
    let answer = Command::new("timeout")
        .args(["60", "sh", "-c", &request])
        .output()
        .expect("curl runs");
    let body = String::from_utf8_lossy(&answer.stdout);
    assert!(
        answer.status.success(),
        "`{request}` failed: {}",
        String::from_utf8_lossy(&answer.stderr)
    );
    assert_eq!(body, "Hello, world!\n", "`{request}` answered {body:?}");
}
