//! A pulled artifact as a hostile registry could serve it: the manifest, then a files
//! layer.
//!
//! Input: the manifest's bytes up to the first NUL byte, given to
//! `artifact::parse_manifest` (what `registry pull` and `up --from` check a manifest with,
//! once its digest matched); the rest, as a files layer (tar.gz), to
//! `artifact::unpack_files`, unpacked into a fresh directory.
//!
//! Properties: nothing panics; a parsed manifest lists only `sha256:` digests of 64
//! lowercase hex digits (they become file names) and a Wasm config (or, with a locked app
//! layer, Spin's image config); after a successful
//! unpack the directory holds regular files and directories only (no link, no special
//! file), at most the limits' worth, and nothing was created beside it.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wasmctl::registry::artifact::{self, WASM_CONFIG_MEDIA_TYPE};
use wasmctl::registry::spin_layout;

fuzz_target!(|data: &[u8]| {
    let (manifest, layer) = match data.iter().position(|byte| *byte == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(manifest) = artifact::parse_manifest(manifest) {
        // A Wasm config, or Spin's image config beside a locked app layer.
        assert!(
            manifest.config.media_type == WASM_CONFIG_MEDIA_TYPE
                || (manifest.config.media_type == spin_layout::IMAGE_CONFIG_MEDIA_TYPE
                    && spin_layout::is_spin_layout(&manifest)),
            "{}",
            manifest.config.media_type
        );
        for descriptor in manifest.layers.iter().chain([&manifest.config]) {
            let hex = descriptor.digest.strip_prefix("sha256:").expect("a sha256 digest");
            assert_eq!(hex.len(), 64);
            assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
    }

    let root = tempfile::tempdir().expect("a temporary directory");
    let archive = root.path().join("layer.tar.gz");
    std::fs::write(&archive, layer).expect("writing the layer");
    let dir = root.path().join("files");
    let digest = format!("sha256:{}", "0".repeat(64));
    if artifact::unpack_files(&archive, &digest, &dir).is_ok() {
        let (mut bytes, mut entries) = (0, 0);
        check_tree(&dir, &mut bytes, &mut entries);
        assert!(bytes <= wasmctl::limits::FILES_SIZE.default);
        assert!(entries <= wasmctl::limits::FILES_ENTRIES.default);
    }
    let mut beside: Vec<_> = std::fs::read_dir(root.path())
        .expect("reading the root")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    beside.sort();
    let expected: &[&str] = if dir.exists() {
        &["files", "layer.tar.gz"]
    } else {
        &["layer.tar.gz"]
    };
    assert_eq!(beside, expected);
});

/// Everything below `dir` is a regular file or a directory.
fn check_tree(dir: &Path, bytes: &mut u64, entries: &mut u64) {
    for entry in std::fs::read_dir(dir).expect("reading an unpacked directory") {
        let entry = entry.expect("an entry");
        let kind = entry.file_type().expect("its type");
        *entries += 1;
        if kind.is_dir() {
            check_tree(&entry.path(), bytes, entries);
        } else {
            assert!(kind.is_file(), "{} is {kind:?}", entry.path().display());
            *bytes += entry.metadata().expect("its metadata").len();
        }
    }
}
