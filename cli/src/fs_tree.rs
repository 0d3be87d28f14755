//! Copying directory trees (template installs, exported apps), and staging what the
//! user will own.

use std::path::Path;

use anyhow::{Context, Result};

/// Copies `from` into `to` recursively, creating `to`; regular files and directories only.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating `{}`", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading `{}`", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying `{}`", entry.path().display()))?;
        }
    }
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

    fn current_umask() -> u32 {
        let probe = tempfile::tempdir().unwrap();
        let path = probe.path().join("probe");
        std::fs::create_dir(&path).unwrap();
        0o777 & !(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777)
    }
}
