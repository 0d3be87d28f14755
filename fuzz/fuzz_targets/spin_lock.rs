//! A Spin locked app as a hostile registry could serve it, in an artifact of Spin's layout.
//!
//! Input: the locked app's bytes (JSON), served as the last layer of a manifest that also
//! lists a component layer and a data layer with fixed contents (the seeds name their
//! digests, [`WASM`] and [`DATA`]); given to `spin_layout::materialize`, which `registry
//! pull` and `up --from` run on a pulled Spin-layout artifact.
//!
//! Properties: nothing panics, not even loading the `spin.toml` it writes; after a
//! successful materialize the app directory holds regular files and directories only, a
//! `spin.toml` among them, and nothing was created beside it.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wasmctl::registry::artifact::{self, sha256_digest};
use wasmctl::registry::spin_layout;

/// The component layer's bytes; the seeds name its digest,
/// `sha256:ec40d5a7e92e6e385030d91e0a8137a096acbf59e69478e8d79dc5e96006fce4`.
const WASM: &[u8] = b"\0asm\x0d\0\x01\0 fuzz";
/// The data layer's bytes, digest
/// `sha256:14e4f8d0992b5c29e26a5be8651b88bddb19ca1d063d32cdb03c6d746fd07653`.
const DATA: &[u8] = b"<h1>fuzz</h1>\n";

fuzz_target!(|data: &[u8]| {
    let root = tempfile::tempdir().expect("a temporary directory");
    let blobs = root.path().join("blobs");
    std::fs::create_dir(&blobs).expect("the blobs directory");
    let mut layers = Vec::new();
    for (media_type, bytes) in [
        (spin_layout::WASM_MEDIA_TYPE, WASM),
        (spin_layout::DATA_MEDIA_TYPE, DATA),
        (spin_layout::LOCKED_APP_MEDIA_TYPE, data),
    ] {
        let digest = sha256_digest(bytes);
        std::fs::write(blobs.join(digest.replace(':', "-")), bytes).expect("a blob");
        layers.push(format!(
            r#"{{"mediaType":"{media_type}","digest":"{digest}","size":{}}}"#,
            bytes.len()
        ));
    }
    let manifest = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{}","size":2}},"layers":[{}]}}"#,
        spin_layout::IMAGE_CONFIG_MEDIA_TYPE,
        sha256_digest(b"{}"),
        layers.join(",")
    );
    let manifest = artifact::parse_manifest(manifest.as_bytes()).expect("the fixed manifest");
    let app = root.path().join("app");
    std::fs::create_dir(&app).expect("the app directory");
    let blob = |digest: &str| blobs.join(digest.replace(':', "-"));
    if spin_layout::materialize(&manifest, &blob, &app).is_ok() {
        check_tree(&app);
        let spin_toml = app.join(wasmctl::manifest::SPIN_MANIFEST_FILE);
        assert!(spin_toml.is_file());
        // Valid or not, it is reported, never a panic.
        let _ = wasmctl::manifest::load(&spin_toml);
    }
    let mut beside: Vec<_> = std::fs::read_dir(root.path())
        .expect("reading the root")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    beside.sort();
    assert_eq!(beside, ["app", "blobs"]);
});

/// Everything below `dir` is a regular file or a directory.
fn check_tree(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("reading the app directory") {
        let entry = entry.expect("an entry");
        let kind = entry.file_type().expect("its type");
        if kind.is_dir() {
            check_tree(&entry.path());
        } else {
            assert!(kind.is_file(), "{} is {kind:?}", entry.path().display());
        }
    }
}
