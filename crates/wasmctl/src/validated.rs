//! Components already validated, remembered by content hash, so that a warm start does not
//! validate the same bytes again. Validating is the slowest part of starting a big
//! component: wasmparser walks every function, and decoding its WIT type information
//! takes as long again (an 18 MiB componentize-py component: about 95 ms of a 140 ms
//! start).
//!
//! A record is a small JSON file in `$WASMCTL_CACHE_DIR/validated/`, named by the BLAKE3
//! hash of the component and a fingerprint of the rules it passed (wasmctl's version, the
//! validating code and the WIT of the world it serves), so a new wasmctl or a changed world
//! validates afresh.
//! The cache only saves time: a record that cannot be read or parsed is ignored, and one
//! that cannot be written is not an error. It is no trust boundary either, as the host
//! still links every import when it loads the component; whoever can write the cache can
//! plant compiled code in `compiled/` beside it anyway.

use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::component::{self, ComponentError, ValidComponent};

/// Where the records live, below the cache root.
const DIR: &str = "validated";

/// What a record holds: the result of validating the component it is named after.
#[derive(Serialize, Deserialize)]
struct Record {
    world: String,
    imports: Vec<String>,
    exports: Vec<String>,
}

/// Validates `bytes` (read from `path`) as [`component::validate`] does, unless a record
/// in the cache says these exact bytes passed these exact rules before. Failures are
/// never recorded: their messages name the file, and fixing it changes the bytes anyway.
pub fn validate(path: &Path, bytes: &[u8]) -> Result<ValidComponent, ComponentError> {
    validate_hashed(path, bytes, &blake3::hash(bytes))
}

/// [`validate`] for bytes whose BLAKE3 hash the caller has already computed (it also
/// keys the host's compiled code, so a start hashes a big component once).
pub fn validate_hashed(
    path: &Path,
    bytes: &[u8],
    blake3: &blake3::Hash,
) -> Result<ValidComponent, ComponentError> {
    validate_in(
        crate::dirs::cache_root().ok().as_deref(),
        path,
        bytes,
        blake3,
    )
}

/// [`validate_hashed`] with the records below `cache_root` (none: validate every time).
fn validate_in(
    cache_root: Option<&Path>,
    path: &Path,
    bytes: &[u8],
    blake3: &blake3::Hash,
) -> Result<ValidComponent, ComponentError> {
    let Some(cache_root) = cache_root else {
        return component::validate(path, bytes);
    };
    let record = cache_root.join(DIR).join(record_name(blake3));
    if let Some(valid) = read(&record) {
        return Ok(valid);
    }
    let valid = component::validate(path, bytes)?;
    if let Err(error) = write(cache_root, &record, &valid) {
        tracing::debug!(
            "could not remember that {} is valid: {error:#}",
            path.display()
        );
    }
    Ok(valid)
}

/// `<BLAKE3 of the bytes>-<rules>.json`. BLAKE3, not sha256: hashing is most of what a
/// record costs, and BLAKE3 is several times faster.
fn record_name(blake3: &blake3::Hash) -> String {
    format!("{}-{}.json", blake3.to_hex(), rules_fingerprint())
}

/// What validation checks against: this wasmctl, the code that validates (so a build
/// that changes the rules without a new version does not trust old records) and the WIT
/// of the world it serves.
fn rules_fingerprint() -> &'static str {
    static FINGERPRINT: OnceLock<String> = OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        let mut hasher = blake3::Hasher::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(include_str!("component.rs").as_bytes());
        for (name, text) in component::world_files() {
            hasher.update(name.to_string_lossy().as_bytes());
            hasher.update(&[0]);
            hasher.update(text);
            hasher.update(&[0]);
        }
        hasher.finalize().to_hex()[..16].to_string()
    })
}

fn read(record: &Path) -> Option<ValidComponent> {
    let text = crate::limits::read_text(record, crate::limits::TEXT_FILE).ok()?;
    let Record {
        world,
        imports,
        exports,
    } = serde_json::from_str(&text).ok()?;
    Some(ValidComponent {
        world,
        imports,
        exports,
    })
}

/// Writes the record through a temporary file and a rename, so that a concurrent start
/// never reads half of one; the directory is made link by link (see
/// [`crate::fs_tree::create_own_dir`]).
fn write(cache_root: &Path, record: &Path, valid: &ValidComponent) -> anyhow::Result<()> {
    let dir = crate::fs_tree::create_own_dir(cache_root, Path::new(DIR))?;
    let text = serde_json::to_string(&Record {
        world: valid.world.clone(),
        imports: valid.imports.clone(),
        exports: valid.exports.clone(),
    })?;
    let mut staged = crate::fs_tree::staging_file(".record").tempfile_in(&dir)?;
    std::io::Write::write_all(&mut staged, text.as_bytes())?;
    staged.persist(record)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_at(
        cache_root: &Path,
        path: &Path,
        bytes: &[u8],
    ) -> Result<ValidComponent, ComponentError> {
        validate_in(Some(cache_root), path, bytes, &blake3::hash(bytes))
    }

    fn valid(world: &str) -> ValidComponent {
        ValidComponent {
            world: world.to_string(),
            imports: vec!["wasi:http/types@0.2.12".to_string()],
            exports: vec!["wasi:http/incoming-handler@0.2.12".to_string()],
        }
    }

    #[test]
    fn a_record_stands_for_validating_the_same_bytes() {
        let cache = tempfile::tempdir().unwrap();
        let path = Path::new("app.wasm");
        let bytes = b"\0asm\x0d\0\x01\0 no component really";
        // Without a record these bytes fail, and the failure is not remembered.
        assert!(validate_at(cache.path(), path, bytes).is_err());
        let records = cache.path().join(DIR);
        assert!(!records.exists() || std::fs::read_dir(&records).unwrap().next().is_none());

        // A record for exactly these bytes is taken at its word.
        let record = records.join(record_name(&blake3::hash(bytes)));
        write(cache.path(), &record, &valid("wasmctl:host/http-app")).unwrap();
        let found = validate_at(cache.path(), path, bytes).unwrap();
        assert_eq!(found, valid("wasmctl:host/http-app"));
        // Other bytes are not.
        assert!(validate_at(cache.path(), path, b"\0asm\x0d\0\x01\0 other").is_err());
    }

    #[test]
    fn an_unreadable_record_means_validating_again() {
        let cache = tempfile::tempdir().unwrap();
        let bytes = b"\0asm\x0d\0\x01\0 no component really";
        let record = cache
            .path()
            .join(DIR)
            .join(record_name(&blake3::hash(bytes)));
        std::fs::create_dir_all(record.parent().unwrap()).unwrap();
        for garbage in [&b"{\"world\": 7}"[..], b"", &[0xff; 64]] {
            std::fs::write(&record, garbage).unwrap();
            let result = validate_at(cache.path(), Path::new("app.wasm"), bytes);
            assert!(
                matches!(result, Err(ComponentError::Invalid { .. })),
                "{result:?}"
            );
        }
    }

    #[test]
    fn records_differ_by_content_and_rules() {
        let name = record_name(&blake3::hash(b"one"));
        assert_ne!(name, record_name(&blake3::hash(b"two")));
        let (digest, rules) = name.trim_end_matches(".json").split_once('-').unwrap();
        assert_eq!(digest.len(), 64);
        assert_eq!(rules, rules_fingerprint());
        assert_eq!(rules.len(), 16);
        assert!(
            component::world_files()
                .iter()
                .any(|(path, _)| path.ends_with("world.wit"))
        );
    }
}
