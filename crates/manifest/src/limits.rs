//! How much untrusted input wasmctl reads: one [`Limit`] per kind of input (a manifest, a
//! component, a registry manifest, a files layer unpacked, a template archive unpacked...),
//! and [`read_file`], the one way a local file of such a kind is read: by type first (a
//! device, FIFO or socket is refused before it is opened, so `/dev/zero` cannot fill the
//! memory and a FIFO cannot block), then at most the limit and one byte more.
//!
//! Every limit has a default sized far above what real apps need and an environment
//! variable that raises (or lowers) it; docs/hardening.md lists them.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::hint::Hint;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A size in bytes; its variable takes `256MiB`, `1GB` or a plain number.
    Bytes,
    /// A count of archive entries (files and directories); its variable takes a number.
    Entries,
}

/// A bound on one kind of untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The input, as a message names it: "manifest", "component".
    pub what: &'static str,
    /// What [`Limit::default`] and the variable's value count.
    pub unit: Unit,
    /// The bound when the variable is unset, in [`Limit::unit`]s.
    pub default: u64,
    /// The environment variable that overrides the default (`256MiB`, `1GB`, `5000`).
    pub variable: &'static str,
}

const MIB: u64 = 1024 * 1024;

/// `wasmctl.toml` (and the copy inside a pulled artifact): hand-written text; the largest
/// real manifests are a few KiB.
pub const MANIFEST: Limit = Limit {
    what: "manifest",
    unit: Unit::Bytes,
    default: MIB,
    variable: "WASMCTL_MAX_MANIFEST_SIZE",
};

/// A component or core module, local or pulled. It is read whole, validated and compiled
/// in memory; the largest components in use (an interpreter and its standard library
/// componentized, e.g. Python or JavaScript runtimes) are 40 to 100 MiB.
pub const COMPONENT: Limit = Limit {
    what: "component",
    unit: Unit::Bytes,
    default: 256 * MIB,
    variable: "WASMCTL_MAX_COMPONENT_SIZE",
};

/// Small text files wasmctl reads: template metadata and files, the credentials store, a
/// runtime config (`up --runtime-config`),
/// an app's `.env` and `up --variable NAME=@FILE` values.
pub const TEXT_FILE: Limit = Limit {
    what: "file",
    unit: Unit::Bytes,
    default: 16 * MIB,
    variable: "WASMCTL_MAX_TEXT_FILE_SIZE",
};

/// An OCI manifest (and an artifact's config blob): JSON listing a few layers. 4 MiB is
/// the size the OCI distribution spec asks registries to accept at least.
pub const OCI_MANIFEST: Limit = Limit {
    what: "registry manifest",
    unit: Unit::Bytes,
    default: 4 * MIB,
    variable: "WASMCTL_MAX_OCI_MANIFEST_SIZE",
};

/// Everything a granted directory holds: packed by `deploy`, unpacked from a files layer
/// (the layer itself, compressed, is held to the same bound).
pub const FILES_SIZE: Limit = Limit {
    what: "granted directory",
    unit: Unit::Bytes,
    default: 1024 * MIB,
    variable: "WASMCTL_MAX_FILES_SIZE",
};

/// Entries (files and directories) in one files layer.
pub const FILES_ENTRIES: Limit = Limit {
    what: "granted directory",
    unit: Unit::Entries,
    default: 100_000,
    variable: "WASMCTL_MAX_FILES_ENTRIES",
};

/// A template archive unpacked (`templates install`); the archive itself, compressed, is
/// held to the same bound. Templates are source code: the built-in ones are a few KiB.
pub const TEMPLATE_SIZE: Limit = Limit {
    what: "template archive",
    unit: Unit::Bytes,
    default: 64 * MIB,
    variable: "WASMCTL_MAX_TEMPLATE_SIZE",
};

/// Entries (files and directories) in a template archive.
pub const TEMPLATE_ENTRIES: Limit = Limit {
    what: "template archive",
    unit: Unit::Entries,
    default: 10_000,
    variable: "WASMCTL_MAX_TEMPLATE_ENTRIES",
};

/// Every limit, for the docs and their test.
pub const ALL: [Limit; 8] = [
    MANIFEST,
    COMPONENT,
    TEXT_FILE,
    OCI_MANIFEST,
    FILES_SIZE,
    FILES_ENTRIES,
    TEMPLATE_SIZE,
    TEMPLATE_ENTRIES,
];

/// A limit's environment variable holds something that is not a size or count.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{variable}={value}` is not a {}",
    match unit { Unit::Bytes => "size", Unit::Entries => "count" }
)]
pub struct BadSetting {
    variable: &'static str,
    value: String,
    unit: Unit,
}

impl BadSetting {
    /// What the user can do about it.
    pub fn hint(&self) -> Hint {
        let example = match self.unit {
            Unit::Bytes => "512MiB",
            Unit::Entries => "50000",
        };
        Hint::new(format!(
            "write e.g. `{}={example}`, or unset it for the default",
            self.variable
        ))
    }
}

impl Limit {
    /// The limit in force: the environment variable's value, else the default.
    pub fn value(&self) -> Result<u64, BadSetting> {
        let Some(value) = std::env::var_os(self.variable) else {
            return Ok(self.default);
        };
        let value = value.to_string_lossy().trim().to_string();
        let parsed = match self.unit {
            Unit::Bytes => value.parse::<bytesize::ByteSize>().ok().map(|s| s.as_u64()),
            Unit::Entries => value.parse::<u64>().ok(),
        };
        parsed.ok_or(BadSetting {
            variable: self.variable,
            value,
            unit: self.unit,
        })
    }

    /// `256 MiB`, `1000 bytes` or `10000 entries`: exact, as a user would write it.
    pub fn show(&self, value: u64) -> String {
        const KIB: u64 = 1024;
        match self.unit {
            Unit::Bytes if value >= MIB && value.is_multiple_of(MIB) => {
                format!("{} MiB", value / MIB)
            }
            Unit::Bytes if value >= KIB && value.is_multiple_of(KIB) => {
                format!("{} KiB", value / KIB)
            }
            Unit::Bytes => format!("{value} bytes"),
            Unit::Entries => format!("{value} entries"),
        }
    }

    /// The error for input beyond the limit of `value`.
    pub fn exceeded(&self, input: impl Into<String>, value: u64) -> TooLarge {
        TooLarge {
            limit: *self,
            input: input.into(),
            value,
        }
    }
}

/// Input beyond its limit.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{input} {} {}, the most wasmctl accepts for a {}",
    match limit.unit { Unit::Bytes => "is larger than", Unit::Entries => "holds more than" },
    limit.show(*value),
    limit.what
)]
pub struct TooLarge {
    /// The limit it exceeded (its message names the limit's kind and variable).
    pub limit: Limit,
    /// What it is, for the message: "component `svc.wasm`", "the files layer `sha256:…`".
    pub input: String,
    /// The limit in force when it was exceeded, in [`Unit`]s of `limit`: the message shows
    /// it as the most wasmctl accepts.
    pub value: u64,
}

impl TooLarge {
    /// What the user can do about it.
    pub fn hint(&self) -> Hint {
        Hint::new(format!(
            "if it is meant to be this large, raise the limit: `{}=...` (docs/hardening.md lists every limit)",
            self.limit.variable
        ))
    }
}

/// Why [`read_file`] read nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reading failed: the file is missing, unreadable, or (from [`read_text`]) not UTF-8.
    #[error("could not read {what} `{}`", path.display())]
    Io {
        /// The kind of input, as the message names it ([`Limit::what`]).
        what: &'static str,
        /// The file, as the caller gave it.
        path: PathBuf,
        /// The failure; its kind tells a missing file apart ([`ReadError::io_kind`]).
        #[source]
        source: std::io::Error,
    },
    /// The path is a directory, device, FIFO or socket: refused by its type, unopened.
    #[error(
        "{what} `{}` is {found}, not a regular file; wasmctl reads a {what} from a regular file only",
        path.display()
    )]
    NotAFile {
        /// The kind of input, as the message names it ([`Limit::what`]).
        what: &'static str,
        /// The file, as the caller gave it.
        path: PathBuf,
        /// What it is instead, from [`describe`]: "a directory", "a FIFO"...
        found: &'static str,
    },
    /// The file holds more than the limit allows.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The limit's environment variable could not be read as a size or count.
    #[error(transparent)]
    BadSetting(#[from] BadSetting),
}

impl ReadError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            ReadError::Io { .. } => None,
            ReadError::NotAFile { .. } => Some(Hint::new(
                "point it at a regular file (a symbolic link to one is fine)",
            )),
            ReadError::TooLarge(too_large) => Some(too_large.hint()),
            ReadError::BadSetting(bad_setting) => Some(bad_setting.hint()),
        }
    }

    /// The I/O error's kind, for callers that treat a missing file their own way.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            ReadError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// Reads the regular file at `path` (a symbolic link to one is followed), at most `limit`.
/// A directory, device, FIFO or socket is refused by its type before it is opened, and
/// the file is opened without blocking, so one swapped in meanwhile cannot hang the read.
pub fn read_file(path: &Path, limit: Limit) -> Result<Vec<u8>, ReadError> {
    read_file_with_metadata(path, limit).map(|(bytes, _)| bytes)
}

/// [`read_file`], also returning the metadata of the file read, taken from the open file
/// before reading: what the bytes read were the contents of (its device, inode, size and
/// times), not what a path names a moment later.
pub fn read_file_with_metadata(
    path: &Path,
    limit: Limit,
) -> Result<(Vec<u8>, std::fs::Metadata), ReadError> {
    let max = limit.value()?;
    let io = |source| ReadError::Io {
        what: limit.what,
        path: path.to_path_buf(),
        source,
    };
    check_regular(path, limit.what, &std::fs::metadata(path).map_err(io)?)?;
    let mut options = std::fs::File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO put in place since the check opens at once instead of waiting for a writer.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(io)?;
    read_opened(file, path, limit, max)
}

/// [`read_file`] for `relative`, a file a walk of `root` found, where `root` is canonical
/// (absolute, through no link): the path is opened one component at a time from `/`, and
/// a symbolic link at any step is refused, so a link swapped in since the walk, below
/// `root` or on the way to it, cannot lead the read anywhere else.
pub fn read_file_below(root: &Path, relative: &Path, limit: Limit) -> Result<Vec<u8>, ReadError> {
    let path = root.join(relative);
    let max = limit.value()?;
    let file = open_below(root, relative).map_err(|failure| match failure {
        OpenBelow::Link => ReadError::NotAFile {
            what: limit.what,
            path: path.clone(),
            found: "a symbolic link",
        },
        OpenBelow::Io(source) => ReadError::Io {
            what: limit.what,
            path: path.clone(),
            source,
        },
    })?;
    read_opened(file, &path, limit, max).map(|(bytes, _)| bytes)
}

/// Why [`open_below`] opened nothing.
enum OpenBelow {
    /// A step of the path is a symbolic link.
    Link,
    Io(std::io::Error),
}

impl From<std::io::Error> for OpenBelow {
    fn from(error: std::io::Error) -> Self {
        OpenBelow::Io(error)
    }
}

#[cfg(unix)]
fn open_below(root: &Path, relative: &Path) -> Result<std::fs::File, OpenBelow> {
    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, openat, statat};
    use std::path::Component;

    let invalid =
        |why: &str| OpenBelow::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, why));
    if !root.is_absolute() || relative.as_os_str().is_empty() {
        return Err(invalid("no canonical directory and file below it"));
    }
    // Every step from `/`: `root`'s (canonical, so plain names) and then `relative`'s
    // (a walk's, so plain names too); anything else is refused, never resolved.
    let names = root
        .components()
        .filter(|component| *component != Component::RootDir)
        .chain(relative.components())
        .map(|component| match component {
            Component::Normal(name) => Ok(name),
            _ => Err(invalid(
                "the path is not canonical, or leaves its directory",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Some((file, dirs)) = names.split_last() else {
        return Err(invalid("no file named"));
    };
    // A step that fails to open is looked at, unfollowed: a link there is named as one.
    let step = |dir: &rustix::fd::OwnedFd, name: &std::ffi::OsStr, flags: OFlags| {
        openat(
            dir,
            name,
            flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|error| match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                OpenBelow::Link
            }
            _ => OpenBelow::Io(error.into()),
        })
    };
    let mut dir = openat(
        CWD,
        "/",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)?;
    for name in dirs {
        dir = step(&dir, name, OFlags::RDONLY | OFlags::DIRECTORY)?;
    }
    // Without blocking: a FIFO swapped in opens at once rather than waiting for a writer.
    let file = step(
        &dir,
        file,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
    )?;
    Ok(std::fs::File::from(file))
}

#[cfg(not(unix))]
fn open_below(root: &Path, relative: &Path) -> Result<std::fs::File, OpenBelow> {
    Ok(std::fs::File::open(root.join(relative))?)
}

/// The rest of a read once `file` is open: refused unless it is a regular file, and held
/// to `max` bytes however much it grows meanwhile.
fn read_opened(
    file: std::fs::File,
    path: &Path,
    limit: Limit,
    max: u64,
) -> Result<(Vec<u8>, std::fs::Metadata), ReadError> {
    let io = |source| ReadError::Io {
        what: limit.what,
        path: path.to_path_buf(),
        source,
    };
    let metadata = file.metadata().map_err(io)?;
    check_regular(path, limit.what, &metadata)?;
    let too_large = || limit.exceeded(format!("{} `{}`", limit.what, path.display()), max);
    if metadata.len() > max {
        return Err(too_large().into());
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // A file that grows while it is read stops one byte past the limit.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(too_large().into());
    }
    Ok((bytes, metadata))
}

/// [`read_file`] for text: bytes that are not UTF-8 are an I/O error of kind `InvalidData`.
pub fn read_text(path: &Path, limit: Limit) -> Result<String, ReadError> {
    let bytes = read_file(path, limit)?;
    String::from_utf8(bytes).map_err(|error| ReadError::Io {
        what: limit.what,
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
    })
}

fn check_regular(
    path: &Path,
    what: &'static str,
    metadata: &std::fs::Metadata,
) -> Result<(), ReadError> {
    if metadata.is_file() {
        return Ok(());
    }
    Err(ReadError::NotAFile {
        what,
        path: path.to_path_buf(),
        found: describe(metadata.file_type()),
    })
}

/// "a directory", "a FIFO", "a character device"...
pub fn describe(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// A reader that fails once more than `max` bytes came through it: for streams whose
/// length is only known at the end (a gzip stream unpacked, a download).
pub struct Bounded<R> {
    inner: R,
    limit: Limit,
    max: u64,
    read: u64,
    input: String,
}

impl<R> Bounded<R> {
    /// Wraps `inner`, allowing at most `max` bytes (the value of `limit` in force, from
    /// [`Limit::value`]); past that a read fails with an I/O error wrapping a [`TooLarge`]
    /// that names `input` (see [`find_too_large`]).
    pub fn new(inner: R, limit: Limit, max: u64, input: impl Into<String>) -> Bounded<R> {
        Bounded {
            inner,
            limit,
            max,
            read: 0,
            input: input.into(),
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // One byte past the limit is enough to know it is exceeded.
        let room = self.max.saturating_add(1).saturating_sub(self.read);
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..len])?;
        self.read += n as u64;
        if self.read > self.max {
            return Err(std::io::Error::other(
                self.limit.exceeded(self.input.clone(), self.max),
            ));
        }
        Ok(n)
    }
}

/// The [`TooLarge`] inside an error chain, e.g. from a [`Bounded`] reader behind a
/// decoder or tar: callers report it as it is, not as a broken archive.
pub fn find_too_large<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a TooLarge> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<TooLarge>() {
            return Some(found);
        }
        if let Some(found) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<TooLarge>())
        {
            return Some(found);
        }
        next = error.source();
    }
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_file_below_a_root_is_read_through_no_link() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "key").unwrap();
        let root = tempfile::tempdir().unwrap();
        let root = &std::fs::canonicalize(root.path()).unwrap();
        std::fs::create_dir(root.join("dir")).unwrap();
        std::fs::write(root.join("dir/page.html"), "<p>").unwrap();
        let read = |relative: &str| read_file_below(root, Path::new(relative), FILES_SIZE);
        assert_eq!(read("dir/page.html").unwrap(), b"<p>");

        // A link swapped in for the file, or for a directory on the way, is refused.
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("link")).unwrap();
        assert!(matches!(
            read("link"),
            Err(ReadError::NotAFile {
                found: "a symbolic link",
                ..
            })
        ));
        std::fs::rename(root.join("dir"), root.join("moved")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("dir")).unwrap();
        std::fs::write(outside.path().join("page.html"), "outside").unwrap();
        assert!(matches!(
            read("dir/page.html"),
            Err(ReadError::NotAFile {
                found: "a symbolic link",
                ..
            })
        ));
        // A FIFO opens without waiting and is refused by its type.
        let fifo = root.join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(matches!(read("fifo"), Err(ReadError::NotAFile { .. })));
        // A path leaving the root is never opened, nor one below a root that is not
        // canonical.
        let error = read("../secret").unwrap_err();
        assert_eq!(error.io_kind(), Some(std::io::ErrorKind::InvalidInput));
        let relative_root = read_file_below(Path::new("dir"), Path::new("page.html"), FILES_SIZE);
        assert_eq!(
            relative_root.unwrap_err().io_kind(),
            Some(std::io::ErrorKind::InvalidInput)
        );
        // A link swapped in on the way to the root is refused too.
        let swapped = root.parent().unwrap().join(format!(
            "{}-swapped",
            root.file_name().unwrap().to_str().unwrap()
        ));
        std::fs::rename(root, &swapped).unwrap();
        std::os::unix::fs::symlink(&swapped, root).unwrap();
        assert!(matches!(
            read("moved/page.html"),
            Err(ReadError::NotAFile {
                found: "a symbolic link",
                ..
            })
        ));
        std::fs::remove_file(root).unwrap();
        std::fs::rename(&swapped, root).unwrap();
    }

    const SMALL: Limit = Limit {
        what: "manifest",
        unit: Unit::Bytes,
        default: 8,
        variable: "WASMCTL_TEST_UNSET_LIMIT",
    };

    #[test]
    fn devices_fifos_and_directories_are_refused_before_opening() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        for (path, found) in [
            (Path::new("/dev/zero"), "a character device"),
            (fifo.as_path(), "a FIFO"),
            (dir.path(), "a directory"),
        ] {
            match read_file(path, SMALL) {
                Err(ReadError::NotAFile { found: got, .. }) => assert_eq!(got, found),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
    }

    #[test]
    fn a_file_over_its_limit_is_refused_and_a_link_to_a_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345678").unwrap();
        std::os::unix::fs::symlink(&file, dir.path().join("link")).unwrap();
        assert_eq!(
            read_file(&dir.path().join("link"), SMALL).unwrap(),
            b"12345678"
        );
        std::fs::write(&file, b"123456789").unwrap();
        let error = read_file(&file, SMALL).unwrap_err();
        assert!(matches!(error, ReadError::TooLarge(_)), "{error:?}");
        assert!(error.to_string().contains("larger than 8 bytes"), "{error}");
    }

    #[test]
    fn a_bounded_reader_stops_one_byte_past_its_limit() {
        let mut reader = Bounded::new(std::io::repeat(0), SMALL, 8, "zeros");
        let mut sink = Vec::new();
        let error = reader.read_to_end(&mut sink).unwrap_err();
        assert!(sink.len() <= 8);
        assert!(find_too_large(&error).is_some());
    }
}
