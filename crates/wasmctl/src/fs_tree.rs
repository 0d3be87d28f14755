//! Copying directory trees (template installs, exported apps), staging what the user
//! will own, and changing several of the user's files all together or not at all.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::hint::Hinted;

/// Copies `from` into `to` recursively, creating `to`; regular files and directories only.
/// A symbolic link (or a device, FIFO, socket) below `from` is refused, not followed: the
/// copy would otherwise hold whatever host file the link names, e.g. `/etc/passwd`.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating `{}`", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading `{}`", from.display()))? {
        crate::interrupt::check()?;
        let entry = entry?;
        let target = to.join(entry.file_name());
        // `DirEntry::file_type` does not follow links.
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying `{}`", entry.path().display()))?;
        } else {
            let what = if kind.is_symlink() {
                "a symbolic link"
            } else {
                "a special file"
            };
            anyhow::bail!(Hinted::new(
                format!(
                    "`{}` is {what}; wasmctl copies regular files and directories only, and never follows a link out of the directory it copies",
                    entry.path().display()
                ),
                "replace it with the file or directory it stands for"
            ));
        }
    }
    Ok(())
}

/// Creates `root/relative` and the directories between, refusing a symbolic link (or a
/// file) on the way: wasmctl's own directories (logs, caches) must not be redirected
/// elsewhere by a link placed in them. `root` itself may be a link (a moved home or cache).
pub fn create_own_dir(root: &Path, relative: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(root).with_context(|| format!("creating `{}`", root.display()))?;
    let mut dir = root.to_path_buf();
    for part in relative.components() {
        dir.push(part);
        match std::fs::create_dir(&dir) {
            Ok(()) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => {
                return Err(error).with_context(|| format!("creating `{}`", dir.display()));
            }
        }
        let kind = std::fs::symlink_metadata(&dir)
            .with_context(|| format!("reading `{}`", dir.display()))?
            .file_type();
        if !kind.is_dir() {
            anyhow::bail!(Hinted::new(
                format!(
                    "`{}` is {}, where wasmctl keeps a directory of its own; it writes nothing through it",
                    dir.display(),
                    if kind.is_symlink() {
                        "a symbolic link"
                    } else {
                        "not a directory"
                    }
                ),
                format!(
                    "remove `{}`; wasmctl creates the directory again",
                    dir.display()
                )
            ));
        }
    }
    Ok(dir)
}

/// Opens `path` for appending, creating it; a symbolic link there is refused, not followed
/// (`O_NOFOLLOW`), so a file wasmctl writes for the user (a log) cannot be redirected.
pub fn open_append_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::File::options();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Moves a staged directory to `target`, which must not exist or be an empty directory
/// (checked by the caller); the staging guard is defused once the rename succeeded.
pub fn place_dir(staging: tempfile::TempDir, target: &Path) -> Result<()> {
    if target.exists() {
        // Only an empty directory gets here; rename cannot replace it everywhere.
        std::fs::remove_dir(target)
            .with_context(|| format!("replacing the empty directory `{}`", target.display()))?;
    }
    std::fs::rename(staging.path(), target)
        .with_context(|| format!("moving the rendered files to `{}`", target.display()))?;
    // The staging directory is now the user's: do not let its guard delete it.
    let _ = staging.keep();
    Ok(())
}

/// Changes to files the user owns that must appear together or not at all: each is
/// applied at once (a rename), and [`Changes::roll_back`] undoes those applied so far
/// when a later one fails.
#[derive(Debug, Default)]
#[must_use = "roll back the changes when a later step fails"]
pub struct Changes {
    applied: Vec<Applied>,
}

#[derive(Debug)]
enum Applied {
    /// A directory that did not exist (`was_empty_dir`: an empty directory stood there).
    Placed { dir: PathBuf, was_empty_dir: bool },
    /// A file that was replaced; its former contents.
    Replaced { path: PathBuf, original: Vec<u8> },
}

impl Changes {
    /// [`place_dir`], remembered so it can be undone.
    pub fn place_dir(&mut self, staging: tempfile::TempDir, target: &Path) -> Result<()> {
        let was_empty_dir = target.is_dir();
        place_dir(staging, target)?;
        self.applied.push(Applied::Placed {
            dir: target.to_path_buf(),
            was_empty_dir,
        });
        Ok(())
    }

    /// Replaces the file at `path` (a symbolic link's target) with `contents`: written to
    /// a temporary file beside it, given the file's permissions, then renamed over it.
    pub fn replace_file(&mut self, path: &Path, contents: &[u8]) -> Result<()> {
        let path = std::fs::canonicalize(path)
            .with_context(|| format!("resolving `{}`", path.display()))?;
        let original =
            std::fs::read(&path).with_context(|| format!("reading `{}`", path.display()))?;
        write_over(&path, contents)?;
        self.applied.push(Applied::Replaced { path, original });
        Ok(())
    }

    /// Undoes every applied change, last first; says which could not be undone.
    pub fn roll_back(self) -> Result<()> {
        let mut failed = Vec::new();
        for change in self.applied.into_iter().rev() {
            let undone = match &change {
                Applied::Placed { dir, was_empty_dir } => std::fs::remove_dir_all(dir)
                    .and_then(|()| {
                        if *was_empty_dir {
                            std::fs::create_dir(dir)
                        } else {
                            Ok(())
                        }
                    })
                    .with_context(|| format!("removing `{}`", dir.display())),
                Applied::Replaced { path, original } => write_over(path, original),
            };
            if let Err(error) = undone {
                failed.push(format!("{error:#}"));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            anyhow::bail!(
                "undoing the changes failed: {}; restore these by hand",
                failed.join("; ")
            )
        }
    }
}

/// Writes `contents` over the existing file `path` through a temporary file and a rename,
/// keeping the file's permissions.
fn write_over(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;

    let dir = path.parent().unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(path)
        .with_context(|| format!("reading `{}`", path.display()))?
        .permissions();
    let mut staged = staging_file(".wasmctl-edit-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in `{}`", dir.display()))?;
    staged
        .write_all(contents)
        .and_then(|()| staged.as_file().sync_all())
        .and_then(|()| staged.as_file().set_permissions(permissions))
        .with_context(|| format!("writing a temporary file in `{}`", dir.display()))?;
    staged
        .persist(path)
        .map_err(|error| error.error)
        .with_context(|| format!("replacing `{}`", path.display()))?;
    Ok(())
}

/// A builder for a temporary directory that is then renamed into place for the user
/// (a new project): made as `mkdir` would make it (0777 less the umask), not with
/// tempfile's private 0700, which the rename would carry over.
pub fn staging_dir(prefix: &str) -> tempfile::Builder<'_, 'static> {
    staging(prefix, 0o777)
}

/// The same for a file (a built component): 0666 less the umask, not 0600.
pub fn staging_file(prefix: &str) -> tempfile::Builder<'_, 'static> {
    staging(prefix, 0o666)
}

fn staging(prefix: &str, _mode: u32) -> tempfile::Builder<'_, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(_mode));
    }
    builder
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn staged_files_and_directories_are_not_private() {
        let parent = tempfile::tempdir().unwrap();
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        // tempfile alone would make them 0700 and 0600.
        let umask = current_umask();
        let dir = super::staging_dir(".t-").tempdir_in(parent.path()).unwrap();
        assert_eq!(mode(dir.path()), 0o777 & !umask);
        let file = super::staging_file(".t-")
            .tempfile_in(parent.path())
            .unwrap();
        assert_eq!(mode(file.path()), 0o666 & !umask);
    }

    #[test]
    fn rolled_back_changes_leave_everything_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("app.toml");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let dir = root.path().join("component");
        std::fs::create_dir(&dir).unwrap();
        let staging = super::staging_dir(".s-").tempdir_in(root.path()).unwrap();
        std::fs::write(staging.path().join("main.rs"), "fn main() {}").unwrap();

        let mut changes = super::Changes::default();
        changes.place_dir(staging, &dir).unwrap();
        changes.replace_file(&file, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode(&file) & 0o777, 0o640, "a replaced file keeps its mode");
        assert!(dir.join("main.rs").is_file());
        // A directory cannot be replaced by a file: the third change fails.
        let blocked = root.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        assert!(changes.replace_file(&blocked, b"x").is_err());

        changes.roll_back().unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "old");
        assert_eq!(mode(&file) & 0o777, 0o640);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "the empty directory is back"
        );
        let mut names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["app.toml", "blocked", "component"],
            "no temporary file is left"
        );
    }

    #[test]
    fn links_are_neither_copied_nor_written_through() {
        let root = tempfile::tempdir().unwrap();
        let from = root.path().join("from");
        std::fs::create_dir(&from).unwrap();
        std::fs::write(from.join("ok.txt"), "ok").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", from.join("passwd")).unwrap();
        let error = super::copy_tree(&from, &root.path().join("to")).unwrap_err();
        assert!(
            error.to_string().contains("passwd` is a symbolic link"),
            "{error}"
        );
        assert!(!root.path().join("to/passwd").exists());

        let elsewhere = tempfile::tempdir().unwrap();
        let app = root.path().join("app");
        std::fs::create_dir(&app).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), app.join(".wasmctl")).unwrap();
        let logs = std::path::Path::new(".wasmctl/logs");
        assert!(super::create_own_dir(&app, logs).is_err());
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        std::fs::remove_file(app.join(".wasmctl")).unwrap();
        let made = super::create_own_dir(&app, logs).unwrap();
        assert!(made.is_dir());

        std::os::unix::fs::symlink(elsewhere.path().join("victim"), made.join("a.log")).unwrap();
        assert!(super::open_append_no_follow(&made.join("a.log")).is_err());
        assert!(!elsewhere.path().join("victim").exists());
    }

    fn current_umask() -> u32 {
        let probe = tempfile::tempdir().unwrap();
        let path = probe.path().join("probe");
        std::fs::create_dir(&path).unwrap();
        0o777 & !(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777)
    }
}
