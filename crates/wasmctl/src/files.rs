//! The files a component is granted: which ones a `files` mount selects (what `deploy`
//! ships and the guest sees), and the copies of Spin's glob selections that `up` serves.
//!
//! A whole directory is served as it is and changes as the user edits it. A selection
//! (Spin's glob patterns and `exclude_files`) cannot be a directory the guest opens, so
//! each load copies what it selects into a [`FileStage`] of the process's own, as Spin
//! copies them for `spin up`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::hint::Hinted;
use crate::manifest::{self, FileMount, MountEscape};

/// The files of `mount` (a mount of the app in `app_dir`) that the guest sees and that
/// may leave the machine: paths relative to the mount's source, sorted. Regular files
/// only; symbolic links are not followed. The app's `.env` (variable values, secrets among them) and
/// wasmctl's own `.wasmctl/` (key-value data, logs) are never among them, even when a
/// mount grants the directory that holds them, through a link or not: paths are compared
/// once resolved. A selection's path without a wildcard (`index.html`) must select a file.
pub fn selected_files(app_dir: &Path, mount: &FileMount) -> Result<Selected> {
    let app_dir = std::fs::canonicalize(app_dir)
        .with_context(|| format!("resolving {}", app_dir.display()))?;
    let (dotenv, state) = (
        app_dir.join(crate::variables::DOTENV_FILE),
        app_dir.join(".wasmctl"),
    );
    let dir = resolve_source(&app_dir, mount)?;
    let selection = mount.selection.as_ref();
    let mut files = Vec::new();
    collect_files_to_depth(
        &dir,
        Path::new(""),
        selection.and_then(|selection| selection.depth()),
        &state,
        &mut files,
    )?;
    // Excludes match the path the manifest names, as in Spin: below a source that is a
    // link, not where the link leads.
    let written = written_source(mount);
    files.retain(|relative| {
        let path = dir.join(relative);
        path != dotenv
            && !path.starts_with(&state)
            && selection
                .is_none_or(|selection| selection.selects(relative, &written.join(relative)))
    });
    if let Some(selection) = selection
        && let Some(missing) = selection
            .literal_includes()
            .find(|literal| !files.iter().any(|file| file == Path::new(literal)))
    {
        let path = dir.join(missing);
        let why = match std::fs::symlink_metadata(&path) {
            Err(_) => "there is no such file",
            Ok(found) if found.is_dir() => "it is a directory (for its files, write `DIR/**/*`)",
            Ok(found) if found.is_symlink() => {
                "it is a symbolic link, which wasmctl does not follow"
            }
            Ok(found) if !found.is_file() => "it is not a regular file",
            Ok(_) => "the app's `.env` and wasmctl's `.wasmctl/` are never granted",
        };
        anyhow::bail!(Hinted::new(
            format!(
                "`files` entry `{}` selects no file: {why}",
                written.join(missing).display()
            ),
            "fix the path, write a glob for a directory's files (`DIR/**/*`), or remove the entry"
        ));
    }
    files.sort();
    Ok(Selected { dir, files })
}

/// What [`selected_files`] found.
#[derive(Debug)]
pub struct Selected {
    /// The directory walked: the mount's source, canonical. Read the files below it with
    /// [`crate::limits::read_file_below`], which follows no link that appears in it since.
    pub dir: PathBuf,
    /// The files, relative to `dir`, sorted.
    pub files: Vec<PathBuf>,
}

/// `mount`'s source as the manifest names it, below the app directory (`` for the app
/// directory itself, so that its files read `index.html`, not `./index.html`).
pub fn written_source(mount: &FileMount) -> PathBuf {
    mount
        .source
        .components()
        .filter(|part| !matches!(part, std::path::Component::CurDir))
        .collect()
}

/// Where `mount`'s source leads, canonical: a directory of the app. It was checked when
/// the manifest loaded; a symbolic link put on the way since must not lead elsewhere.
fn resolve_source(app_dir: &Path, mount: &FileMount) -> Result<PathBuf> {
    match manifest::resolve_mount(app_dir, &mount.source) {
        Ok(Some(dir)) => Ok(dir),
        Ok(None) => Err(Hinted::new(
            format!(
                "the granted directory `{}` is gone from {}",
                mount.source.display(),
                app_dir.display()
            ),
            "create it again, or remove the `files` entry that grants it",
        )
        .into()),
        Err(escape) => Err(Hinted::new(escape.to_string(), MountEscape::HELP).into()),
    }
}

/// Adds the regular files below `root/relative` to `files`, as paths relative to `root`.
/// Symbolic links, devices, FIFOs and sockets are passed over.
pub(crate) fn collect_files(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    collect_files_to_depth(root, relative, None, Path::new(""), files)
}

/// [`collect_files`], going at most `depth` directories down (`None`: all the way), and
/// never into `skipped` (wasmctl's own state, which no walk has any business reading).
fn collect_files_to_depth(
    root: &Path,
    relative: &Path,
    depth: Option<usize>,
    skipped: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<()> {
    let dir = root.join(relative);
    for entry in std::fs::read_dir(&dir)
        .with_context(|| format!("reading the granted directory {}", dir.display()))?
    {
        crate::interrupt::check()?;
        let entry = entry?;
        let path = relative.join(entry.file_name());
        // `DirEntry::file_type` does not follow links.
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if depth != Some(0) && root.join(&path) != skipped {
                let deeper = depth.map(|depth| depth - 1);
                collect_files_to_depth(root, &path, deeper, skipped, files)?;
            }
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Where `up` keeps the copies of the file selections it serves: a temporary directory of
/// the process's own, removed when the stage is dropped (a stopped server). Each load
/// copies into a generation of its own, so a reload never changes the files under
/// requests still served by the version before it. A generation is removed once two
/// later ones have been served ([`FileStage::served`]), or once a later one is served
/// when it never was (its load failed).
#[derive(Debug, Default)]
pub struct FileStage {
    /// Created at the first selection: an app without one writes nothing.
    root: Option<(tempfile::TempDir, PathBuf)>,
    generation: u64,
    /// The generation being served, as [`FileStage::served`] last said.
    serving: Option<u64>,
}

impl FileStage {
    /// Starts the copies of one load.
    pub fn next_generation(&mut self) {
        self.generation += 1;
    }

    /// The load of the current generation succeeded: it is served now, and the one served
    /// before it still finishes its requests. Every other generation is removed.
    pub fn served(&mut self) {
        let keep = [Some(self.generation), self.serving];
        self.serving = Some(self.generation);
        let Some((_, root)) = &self.root else {
            return;
        };
        for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let generation = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse().ok());
            if !keep.contains(&generation) {
                // Failing to remove a stale copy costs disk space only; the drop removes it.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// The host directory the guest is given for `mount` of `component`: the source
    /// itself (canonical) for a whole directory, else a fresh copy of what it selects. A
    /// directory that holds the app's `.env` or wasmctl's `.wasmctl/` (the app directory,
    /// or `.wasmctl/` itself, through a link or not) is copied too, without them.
    pub fn granted_dir(
        &mut self,
        app_dir: &Path,
        component: &str,
        index: usize,
        mount: &FileMount,
    ) -> Result<PathBuf> {
        let source = resolve_source(app_dir, mount)?;
        let app_dir = std::fs::canonicalize(app_dir)
            .with_context(|| format!("resolving {}", app_dir.display()))?;
        let holds_secrets = source == app_dir || source.starts_with(app_dir.join(".wasmctl"));
        if mount.selection.is_none() && !holds_secrets {
            return Ok(source);
        }
        let Selected { dir: walked, files } = selected_files(&app_dir, mount)
            .with_context(|| format!("selecting the files of component `{component}`"))?;
        let root = match &self.root {
            Some((_, root)) => root.clone(),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("wasmctl-files-")
                    .tempdir()
                    .context("creating a directory for the copies of selected files")?;
                // The host opens canonical paths only (a temporary directory may be
                // reached through a link, as on macOS).
                let root = std::fs::canonicalize(dir.path())?;
                self.root.insert((dir, root)).1.clone()
            }
        };
        let copy = root
            .join(self.generation.to_string())
            .join(component)
            .join(index.to_string());
        std::fs::create_dir_all(&copy).with_context(|| format!("creating {}", copy.display()))?;
        let limit = crate::limits::FILES_SIZE;
        let max = limit.value()?;
        let entries = crate::limits::FILES_ENTRIES;
        let max_entries = entries.value()?;
        let what = || format!("the files `{}` selects", mount.source.display());
        if files.len() as u64 > max_entries {
            return Err(entries.exceeded(what(), max_entries).into());
        }
        let mut total = 0;
        for relative in &files {
            crate::interrupt::check()?;
            let data = crate::limits::read_file_below(&walked, relative, limit)?;
            total += data.len() as u64;
            if total > max {
                return Err(limit.exceeded(what(), max).into());
            }
            let target = copy.join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&target, data)
                .with_context(|| format!("copying into {}", target.display()))?;
        }
        Ok(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::FileSelection;

    fn mount(source: &str, include: &[&str], exclude: &[&str]) -> FileMount {
        let patterns = |texts: &[&str]| {
            texts
                .iter()
                .map(|text| glob::Pattern::new(text).unwrap())
                .collect()
        };
        FileMount {
            source: source.into(),
            destination: format!("/{source}"),
            selection: Some(FileSelection {
                include: patterns(include),
                exclude: patterns(exclude),
            }),
        }
    }

    fn app_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in [
            (".env", "TOKEN=secret"),
            (".wasmctl/kv/default.db", "state"),
            ("index.html", "<h1>home</h1>"),
            ("notes.md", "notes"),
            ("static/site.css", "body {}"),
            ("static/.hidden", "dot"),
            ("static/drafts/plan.html", "draft"),
            ("static/img/logo.svg", "<svg/>"),
        ] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn selected(dir: &Path, mount: &FileMount) -> Vec<String> {
        selected_files(dir, mount)
            .unwrap()
            .files
            .iter()
            .map(|path| path.display().to_string())
            .collect()
    }

    #[test]
    fn a_selection_picks_its_files_and_never_the_apps_secrets_or_state() {
        let dir = app_dir();
        let dir = dir.path();
        assert_eq!(
            selected(dir, &mount("static", &["**/*"], &["static/drafts/**"])),
            [".hidden", "img/logo.svg", "site.css"]
        );
        assert_eq!(
            selected(dir, &mount("static", &["*.css"], &[])),
            ["site.css"]
        );
        // From the app directory itself: `**` reaches everywhere but `.env` and `.wasmctl/`.
        assert_eq!(
            selected(dir, &mount(".", &["**/*.html", "*.md"], &["static/**"])),
            ["index.html", "notes.md"]
        );
        let whole = FileMount {
            selection: None,
            ..mount(".", &[], &[])
        };
        assert!(
            !selected(dir, &whole)
                .iter()
                .any(|path| path.starts_with("."))
        );
    }

    #[test]
    fn a_path_that_selects_no_file_is_an_error_naming_it() {
        let dir = app_dir();
        for (include, exclude, why) in [
            ("missing.txt", "", "there is no such file"),
            ("img", "", "it is a directory"),
        ] {
            let error = selected_files(dir.path(), &mount("static", &[include], &[exclude]))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(&format!("`static/{include}` selects no file: {why}")),
                "{error}"
            );
        }
    }

    #[test]
    fn each_load_copies_into_a_generation_and_the_one_before_stays() {
        let dir = app_dir();
        let css = mount("static", &["*.css"], &[]);
        let mut stage = FileStage::default();
        let load = |stage: &mut FileStage, served: bool| {
            stage.next_generation();
            let copy = stage.granted_dir(dir.path(), "web", 0, &css).unwrap();
            if served {
                stage.served();
            }
            copy
        };
        let first = load(&mut stage, true);
        assert_eq!(
            std::fs::read_to_string(first.join("site.css")).unwrap(),
            "body {}"
        );
        assert_eq!(
            std::fs::read_dir(&first).unwrap().count(),
            1,
            "only the selection"
        );

        std::fs::write(dir.path().join("static/site.css"), "p {}").unwrap();
        // Loads that fail (a build, the host) never take the served version's files.
        let failed = load(&mut stage, false);
        load(&mut stage, false);
        assert!(first.exists(), "the version served keeps its files");
        let second = load(&mut stage, true);
        assert_eq!(
            std::fs::read_to_string(second.join("site.css")).unwrap(),
            "p {}"
        );
        assert!(first.exists(), "the version before finishes its requests");
        assert!(!failed.exists(), "a failed load's copies are gone");
        load(&mut stage, true);
        assert!(
            !first.exists(),
            "two served loads later, its copies are gone"
        );
        assert!(second.exists());

        // A whole directory is granted as it is, and nothing is copied.
        let whole = FileMount {
            selection: None,
            ..css.clone()
        };
        let granted = stage.granted_dir(dir.path(), "web", 1, &whole).unwrap();
        assert_eq!(
            granted,
            std::fs::canonicalize(dir.path().join("static")).unwrap()
        );
        let root = second.ancestors().nth(3).unwrap().to_path_buf();
        drop(stage);
        assert!(!root.exists(), "a stopped server leaves no copies behind");
    }

    #[test]
    fn the_app_directory_is_granted_as_a_copy_without_its_secrets() {
        let dir = app_dir();
        let whole = FileMount {
            selection: None,
            ..mount(".", &[], &[])
        };
        let mut stage = FileStage::default();
        stage.next_generation();
        let granted = stage.granted_dir(dir.path(), "web", 0, &whole).unwrap();
        assert_ne!(granted, std::fs::canonicalize(dir.path()).unwrap());
        assert!(granted.join("static/site.css").is_file());
        assert!(!granted.join(".env").exists() && !granted.join(".wasmctl").exists());
    }

    #[test]
    fn a_named_file_is_selected_whatever_exclude_files_says_as_in_spin() {
        let dir = app_dir();
        assert_eq!(
            selected(
                dir.path(),
                &mount("static", &["site.css", "*.svg"], &["**/*.css"])
            ),
            ["site.css"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn excludes_match_the_path_the_manifest_names_not_where_a_link_leads() {
        let dir = app_dir();
        std::os::unix::fs::symlink("static", dir.path().join("public")).unwrap();
        assert_eq!(
            selected(
                dir.path(),
                &mount("public", &["**/*"], &["public/drafts/**"])
            ),
            [".hidden", "img/logo.svg", "site.css"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_source_that_leads_out_of_the_app_is_refused() {
        let dir = app_dir();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "root").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked")).unwrap();
        let error = FileStage::default()
            .granted_dir(dir.path(), "web", 0, &mount("linked", &["*"], &[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("outside the app directory"), "{error}");
    }
}
