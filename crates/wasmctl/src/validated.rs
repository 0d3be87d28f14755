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
//!
//! [`check_file`] also remembers which file had which hash, in
//! `$WASMCTL_CACHE_DIR/files/`, by the file's identity: its absolute path, device, inode,
//! size, and modification and change times. A file whose identity is remembered is not
//! read at all (for a big component on a cold page cache, reading it was most of a warm
//! start), and the host reads it only if it has no compiled code for that hash. Any write
//! to a file moves its change time, which no user can set back; what a coarse clock could
//! hide, a write in the same tick as the one before, is ruled out as git rules out "racy
//! clean" entries: a file changed less than [`RACY`] before it was read is not remembered.
//!
//! The cache only saves time: a record that cannot be read or parsed is ignored, and one
//! that cannot be written is not an error. It is no trust boundary either, as the host
//! still links every import when it loads the component; whoever can write the cache can
//! plant compiled code in `compiled/` beside it anyway.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::component::{self, ComponentError, ValidComponent};
use crate::limits::{Limit, ReadError};

/// Where the records live, below the cache root.
const DIR: &str = "validated";

/// Where the hashes of files, by identity, live below the cache root.
const FILES_DIR: &str = "files";

/// How long ago a file must have last changed for its identity to stand for its contents:
/// well above the granularity of any file system's timestamps (a second or two on some).
const RACY: Duration = Duration::from_secs(2);

/// A component file as [`check_file`] found it.
#[derive(Debug)]
pub struct CheckedFile {
    /// What validating it found (or a record of that).
    pub valid: ValidComponent,
    /// The BLAKE3 hash of its contents: what the host keys compiled code by.
    pub blake3: blake3::Hash,
    /// Its contents, or `None` when its identity and hash were remembered and it was not
    /// read.
    pub bytes: Option<Vec<u8>>,
}

/// Validates the component file at `path` as [`validate`] does, reading it within
/// `limit` unless its identity was remembered with a hash that passed validation before
/// (then nothing of it is read). A read that fails goes through `read_error`, so that
/// each caller words a missing file its own way.
pub fn check_file<E: From<ComponentError>>(
    path: &Path,
    limit: Limit,
    read_error: impl FnOnce(ReadError) -> E,
) -> Result<CheckedFile, E> {
    check_file_in(
        crate::dirs::cache_root().ok().as_deref(),
        path,
        limit,
        read_error,
        RACY,
    )
}

/// [`check_file`] with the records below `cache_root` (none: read and validate every
/// time), remembering files that last changed at least `racy` before they were read.
fn check_file_in<E: From<ComponentError>>(
    cache_root: Option<&Path>,
    path: &Path,
    limit: Limit,
    read_error: impl FnOnce(ReadError) -> E,
    racy: Duration,
) -> Result<CheckedFile, E> {
    if let Some((valid, blake3)) = cache_root.and_then(|root| recall(root, path, limit)) {
        return Ok(CheckedFile {
            valid,
            blake3,
            bytes: None,
        });
    }
    let started = SystemTime::now();
    let (bytes, metadata) =
        crate::limits::read_file_with_metadata(path, limit).map_err(read_error)?;
    let blake3 = blake3::hash(&bytes);
    let valid = validate_in(cache_root, path, &bytes, &blake3)?;
    if let Some(cache_root) = cache_root
        && changed_before(&metadata, started, racy)
        && let Some(name) = identity_name(path, &metadata)
    {
        let record = cache_root.join(FILES_DIR).join(name);
        if let Err(error) = persist(cache_root, FILES_DIR, &record, blake3.to_hex().as_str()) {
            tracing::debug!(
                "could not remember the hash of {}: {error:#}",
                path.display()
            );
        }
    }
    Ok(CheckedFile {
        valid,
        blake3,
        bytes: Some(bytes),
    })
}

/// The validation and hash remembered for the file at `path` as it is now, if both are.
fn recall(cache_root: &Path, path: &Path, limit: Limit) -> Option<(ValidComponent, blake3::Hash)> {
    let metadata = std::fs::metadata(path).ok()?;
    // What the read would refuse is read, to be refused with its reason.
    if !metadata.is_file() || metadata.len() > limit.value().ok()? {
        return None;
    }
    let record = cache_root
        .join(FILES_DIR)
        .join(identity_name(path, &metadata)?);
    let text = crate::limits::read_text(&record, crate::limits::TEXT_FILE).ok()?;
    let blake3 = blake3::Hash::from_hex(text.trim()).ok()?;
    let valid = read(&cache_root.join(DIR).join(record_name(&blake3)))?;
    Some((valid, blake3))
}

/// Whether the file last changed (its change time, which every write and rename moves)
/// at least `racy` before `started`.
fn changed_before(metadata: &std::fs::Metadata, started: SystemTime, racy: Duration) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (Ok(seconds), Ok(nanos)) = (
            u64::try_from(metadata.ctime()),
            u32::try_from(metadata.ctime_nsec()),
        ) else {
            return false;
        };
        let changed = SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos);
        changed + racy <= started
    }
    #[cfg(not(unix))]
    {
        let _ = (metadata, started, racy);
        false
    }
}

/// `<BLAKE3 of the file's absolute path, device, inode, size, modification and change
/// times>`: a file that changes in any way is another file here. (None where there are
/// no inodes: such a file is read every time.)
fn identity_name(path: &Path, metadata: &std::fs::Metadata) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::MetadataExt;
        let absolute = std::path::absolute(path).ok()?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"wasmctl file identity 1\0");
        hasher.update(absolute.as_os_str().as_bytes());
        hasher.update(&[0]);
        for number in [
            metadata.dev(),
            metadata.ino(),
            metadata.size(),
            metadata.mtime() as u64,
            metadata.mtime_nsec() as u64,
            metadata.ctime() as u64,
            metadata.ctime_nsec() as u64,
        ] {
            hasher.update(&number.to_le_bytes());
        }
        Some(hasher.finalize().to_hex().to_string())
    }
    #[cfg(not(unix))]
    {
        let _ = (path, metadata);
        None
    }
}

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
    validate_in(
        crate::dirs::cache_root().ok().as_deref(),
        path,
        bytes,
        &blake3::hash(bytes),
    )
}

/// [`validate`] of bytes hashing to `blake3`, with the records below `cache_root` (none: validate every time).
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

/// Writes a record through a temporary file and a rename, so that a concurrent start
/// never reads half of one; its directory `dir` is made link by link (see
/// [`crate::fs_tree::create_own_dir`]).
fn persist(cache_root: &Path, dir: &str, record: &Path, text: &str) -> anyhow::Result<()> {
    let dir = crate::fs_tree::create_own_dir(cache_root, Path::new(dir))?;
    let mut staged = crate::fs_tree::staging_file(".record").tempfile_in(&dir)?;
    std::io::Write::write_all(&mut staged, text.as_bytes())?;
    staged.persist(record)?;
    Ok(())
}

fn write(cache_root: &Path, record: &Path, valid: &ValidComponent) -> anyhow::Result<()> {
    let text = serde_json::to_string(&Record {
        world: valid.world.clone(),
        imports: valid.imports.clone(),
        exports: valid.exports.clone(),
    })?;
    persist(cache_root, DIR, record, &text)
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

    /// How long ago a file must have changed to be remembered, in these tests: far above
    /// the tick of the kernel's file timestamps, and short enough not to wait for.
    const TEST_RACY: Duration = Duration::from_millis(20);

    /// A file of `bytes`, changed longer than [`TEST_RACY`] ago, and a record saying its
    /// bytes are valid (they are no component, so validating them would fail: a read
    /// shows as `bytes: Some` or as that failure).
    fn old_valid_file(cache: &Path, path: &Path, bytes: &[u8]) {
        std::fs::write(path, bytes).unwrap();
        let record = cache.join(DIR).join(record_name(&blake3::hash(bytes)));
        write(cache, &record, &valid("wasmctl:host/http-app")).unwrap();
        std::thread::sleep(TEST_RACY * 3);
    }

    /// A cache, and the path of a file in a directory of its own (kept with it).
    fn scratch() -> (tempfile::TempDir, tempfile::TempDir, std::path::PathBuf) {
        let cache = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.wasm");
        (cache, dir, path)
    }

    fn check_at(cache: &Path, path: &Path, racy: Duration) -> anyhow::Result<CheckedFile> {
        check_file_in(
            Some(cache),
            path,
            crate::limits::COMPONENT,
            anyhow::Error::new,
            racy,
        )
    }

    #[test]
    fn a_file_known_by_identity_is_not_read_again_until_it_changes() {
        let (cache, _dir, path) = scratch();
        let first = b"\0asm\x0d\0\x01\0 first component";
        old_valid_file(cache.path(), &path, first);

        let read = check_at(cache.path(), &path, TEST_RACY).unwrap();
        assert_eq!(read.bytes.as_deref(), Some(&first[..]));
        assert_eq!(read.blake3, blake3::hash(first));
        let known = check_at(cache.path(), &path, TEST_RACY).unwrap();
        assert_eq!(known.bytes, None, "known by its identity, not read");
        assert_eq!(known.blake3, blake3::hash(first));
        assert_eq!(known.valid, read.valid);

        // Rewritten in place to the same size, its modification time set back: the
        // change time, which no one sets, still tells.
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let second = b"\0asm\x0d\0\x01\0 other component";
        assert_eq!(first.len(), second.len());
        old_valid_file(cache.path(), &path, second);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(modified).unwrap();
        drop(file);
        std::thread::sleep(TEST_RACY * 3);
        let reread = check_at(cache.path(), &path, TEST_RACY).unwrap();
        assert_eq!(reread.bytes.as_deref(), Some(&second[..]));
        assert_eq!(reread.blake3, blake3::hash(second));
    }

    #[test]
    fn a_file_changed_just_before_it_was_read_is_not_remembered() {
        let (cache, _dir, path) = scratch();
        old_valid_file(cache.path(), &path, b"\0asm\x0d\0\x01\0 component");
        for _ in 0..2 {
            // Changed 60 ms ago is within an hour's racy window.
            let checked = check_at(cache.path(), &path, Duration::from_secs(3600)).unwrap();
            assert!(checked.bytes.is_some());
        }
        assert!(!cache.path().join(FILES_DIR).exists());
    }

    #[test]
    fn a_file_is_read_when_what_was_remembered_cannot_be_used() {
        let (cache, _dir, path) = scratch();
        let bytes = b"\0asm\x0d\0\x01\0 component";
        old_valid_file(cache.path(), &path, bytes);
        check_at(cache.path(), &path, TEST_RACY).unwrap();
        let files = cache.path().join(FILES_DIR);
        let remembered: Vec<_> = std::fs::read_dir(&files)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(remembered.len(), 1);

        // A garbled record of the file is passed over.
        for garbage in [&b""[..], b"not a hash", &[0xff; 64]] {
            std::fs::write(&remembered[0], garbage).unwrap();
            let checked = check_at(cache.path(), &path, TEST_RACY).unwrap();
            assert!(checked.bytes.is_some());
        }

        // So is a hash that no longer has a validation record: the bytes are read and
        // validated (and, being no component, fail).
        std::fs::remove_dir_all(cache.path().join(DIR)).unwrap();
        let result = check_at(cache.path(), &path, TEST_RACY);
        assert!(result.is_err_and(|error| error.is::<ComponentError>()));

        // And a file now above the limit is read, to be refused for its size.
        old_valid_file(cache.path(), &path, bytes);
        check_at(cache.path(), &path, TEST_RACY).unwrap();
        let small = crate::limits::Limit {
            default: 8,
            ..crate::limits::COMPONENT
        };
        let result = check_file_in(
            Some(cache.path()),
            &path,
            small,
            anyhow::Error::new,
            TEST_RACY,
        );
        assert!(result.is_err_and(|error| error.is::<ReadError>()));
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
