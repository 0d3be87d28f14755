//! install.sh, run for real into a temporary prefix.

use crate::support::workspace_root;

/// `./install.sh --prefix DIR`, the documented way to install elsewhere, twice: the
/// default (release) build both times, the second run changing nothing it need not.
#[test]
fn install_sh_installs_into_a_prefix_and_is_idempotent() {
    let prefix = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = std::process::Command::new("sh")
            .arg(workspace_root().join("install.sh"))
            .arg("--prefix")
            .arg(prefix.path())
            .current_dir(workspace_root())
            // The build cache the README test shares; the flags are the defaults.
            .env("CARGO_TARGET_DIR", workspace_root().join("target/install"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "install.sh failed:\n{stderr}");
        assert!(stderr.contains("wasm32-wasip2"), "{stderr}");
        assert!(
            stderr.contains(&format!("installed wasmctl {}", env!("CARGO_PKG_VERSION"))),
            "{stderr}"
        );
        assert!(!stderr.contains("debug build"), "{stderr}");
    }
    let installed = prefix.path().join("bin/wasmctl");
    let version = std::process::Command::new(&installed)
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("wasmctl "));
}

#[test]
fn install_sh_help_and_bad_options() {
    let script = workspace_root().join("install.sh");
    let help = std::process::Command::new("sh")
        .arg(&script)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--prefix DIR"));
    let bad = std::process::Command::new("sh")
        .arg(&script)
        .arg("--frob")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown option '--frob'"));
}
