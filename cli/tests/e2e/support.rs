//! Shared helpers: an isolated `wasmctl` command, the workspace root, fixtures built once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;

/// The repository root.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is one level below the root")
}

/// A `wasmctl` command run in `dir`, isolated from the user's data directory and terminal.
pub fn wasmctl(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("wasmctl").expect("the wasmctl binary is built");
    command
        .current_dir(dir)
        .env("WASMCTL_DATA_DIR", scratch_data_dir())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    command
}

/// A data directory shared by the run; tests that install templates make their own.
fn scratch_data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

/// Where guest crates built by tests keep their build output, shared so their
/// dependencies compile once per run.
pub fn guest_target_dir() -> PathBuf {
    workspace_root().join("target").join("test-guests")
}

/// The bytes that start every component (as opposed to a core module).
pub const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// The repository's `testdata/` directory.
pub fn testdata() -> PathBuf {
    workspace_root().join("testdata")
}

/// A fresh `http-rust` app, rendered and built with `wasmctl build` once per test run.
pub fn template_app() -> &'static Path {
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
pub fn build_guest(id: &str) -> assert_cmd::assert::Assert {
    wasmctl(&testdata().join("guests"))
        .args(["build", "--component", id])
        .assert()
}
