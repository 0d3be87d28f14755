//! The templates wasmctl knows: embedded in the binary, and installed by the user.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use include_dir::{Dir, include_dir};

use super::{CONTENT_DIR, METADATA_FILE, Origin, Template, TemplateFile};
use crate::hint::{Hint, Hinted};

/// The repository's `templates/` directory, compiled into the binary.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../templates");

/// Why a template could not be found.
#[derive(Debug, thiserror::Error)]
#[error("unknown template `{name}`")]
pub struct UnknownTemplate {
    /// The name asked for.
    pub name: String,
    /// The names of every template there is, embedded first; the hint suggests the
    /// closest.
    pub available: Vec<String>,
}

impl UnknownTemplate {
    /// What the user can do about it.
    pub fn hint(&self) -> Hint {
        crate::diagnostic::suggestion(
            &self.name,
            self.available.iter().map(String::as_str),
            "available templates",
        )
        .then("`wasmctl templates list` describes them")
    }
}

/// Embedded templates plus those installed under `installed_root`.
#[derive(Debug, Clone)]
pub struct Catalog {
    installed_root: PathBuf,
}

impl Catalog {
    /// A catalog whose installed templates live in `installed_root`, one directory per
    /// template named after it. Nothing is read or created until it is used.
    pub fn new(installed_root: PathBuf) -> Self {
        Self { installed_root }
    }

    /// The user's catalog: `templates/` under [`crate::dirs::data_root`].
    pub fn for_user() -> Result<Self> {
        Ok(Self::new(crate::dirs::data_root()?.join("templates")))
    }

    /// The templates compiled into this binary.
    pub fn embedded() -> Result<Vec<Template>> {
        EMBEDDED
            .dirs()
            .map(|dir| {
                let metadata = dir
                    .get_file(dir.path().join(METADATA_FILE))
                    .and_then(|file| file.contents_utf8())
                    .with_context(|| {
                        format!(
                            "embedded template `{}` has no {METADATA_FILE}",
                            dir.path().display()
                        )
                    })?;
                let content_root = dir.path().join(CONTENT_DIR);
                let mut files = Vec::new();
                if let Some(content) = dir.get_dir(&content_root) {
                    collect_embedded(content, &content_root, &mut files);
                }
                Template::from_parts(
                    &Path::new("templates").join(dir.path()).join(METADATA_FILE),
                    metadata,
                    files,
                    Origin::Embedded,
                )
            })
            .collect()
    }

    /// Installed templates; a broken one is reported rather than hidden.
    pub fn installed(&self) -> Result<Vec<Template>> {
        let entries = match std::fs::read_dir(&self.installed_root) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("reading `{}`", self.installed_root.display()));
            }
        };
        let mut templates = Vec::new();
        for entry in entries {
            let path = entry?.path();
            // Staging directories of an install in progress start with a dot.
            let hidden = path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with('.'));
            if path.is_dir() && !hidden {
                templates.push(Template::from_dir(&path, Origin::Installed(path.clone()))?);
            }
        }
        templates.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(templates)
    }

    /// Every template, embedded first.
    pub fn all(&self) -> Result<Vec<Template>> {
        let mut templates = Self::embedded()?;
        templates.extend(self.installed()?);
        Ok(templates)
    }

    /// Finds a template by name.
    pub fn find(&self, name: &str) -> Result<Template> {
        let mut templates = self.all()?;
        match templates.iter().position(|t| t.name == name) {
            Some(index) => Ok(templates.swap_remove(index)),
            None => Err(UnknownTemplate {
                name: name.to_string(),
                available: templates.into_iter().map(|t| t.name).collect(),
            }
            .into()),
        }
    }

    /// Validates and installs a template from a directory or a `.tar`/`.tar.gz` archive.
    /// An installed template of the same name is replaced only with `replace`.
    pub fn install(&self, source: &Path, replace: bool) -> Result<Template> {
        if !source.exists() {
            bail!(
                "`{}` does not exist; pass a template directory or a .tar.gz archive",
                source.display()
            );
        }
        std::fs::create_dir_all(&self.installed_root)
            .with_context(|| format!("creating `{}`", self.installed_root.display()))?;
        // Everything lands in a staging directory beside the installed templates first,
        // renamed into place once checked: a failed or interrupted install leaves nothing,
        // and nothing is written to the system's temporary directory.
        let staging = crate::fs_tree::staging_dir(".install-")
            .tempdir_in(&self.installed_root)
            .context("creating a staging directory for the install")?;
        let invalid = || format!("`{}` is not a valid template", source.display());
        let (template, root) = if source.is_dir() {
            // Checked where the user's files are, so messages name them.
            let template = Template::from_dir(source, Origin::Installed(source.to_path_buf()))
                .with_context(invalid)?;
            crate::fs_tree::copy_tree(source, staging.path())?;
            (template, staging.path().to_path_buf())
        } else {
            unpack_archive(source, staging.path())?;
            let root = find_template_root(staging.path())?;
            let template =
                Template::from_dir(&root, Origin::Installed(root.clone())).with_context(invalid)?;
            (template, root)
        };
        if Self::embedded()?.iter().any(|t| t.name == template.name) {
            bail!(
                "`{}` is the name of a built-in template; rename it in {METADATA_FILE}",
                template.name
            );
        }
        let destination = self.installed_root.join(&template.name);
        if destination.exists() && !replace {
            bail!(Hinted::new(
                format!("template `{}` is already installed", template.name),
                format!(
                    "pass `--force` to replace it, or `wasmctl templates uninstall {}` first",
                    template.name
                )
            ));
        }
        crate::interrupt::check()?;
        if destination.exists() {
            std::fs::remove_dir_all(&destination)
                .with_context(|| format!("removing the old `{}`", destination.display()))?;
        }
        // The template's root: the staging directory, or one directory in it (dropping
        // the guard then removes what was around it).
        std::fs::rename(&root, &destination)
            .with_context(|| format!("moving the template to `{}`", destination.display()))?;
        if root == staging.path() {
            let _ = staging.keep();
        }
        Template::from_dir(&destination, Origin::Installed(destination.clone()))
    }

    /// Removes an installed template.
    pub fn uninstall(&self, name: &str) -> Result<PathBuf> {
        let installed = self.installed()?;
        let Some(template) = installed.iter().find(|t| t.name == name) else {
            if Self::embedded()?.iter().any(|t| t.name == name) {
                bail!("`{name}` is built into wasmctl and cannot be uninstalled");
            }
            let names: Vec<_> = installed.iter().map(|t| t.name.as_str()).collect();
            bail!(Hinted::new(
                format!(
                    "no installed template named `{name}`; installed: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
                "`wasmctl templates list` shows every template and where it comes from"
            ));
        };
        let Origin::Installed(path) = &template.origin else {
            unreachable!("installed() only returns installed templates")
        };
        std::fs::remove_dir_all(path).with_context(|| format!("removing `{}`", path.display()))?;
        Ok(path.clone())
    }
}

fn collect_embedded(dir: &Dir<'_>, content_root: &Path, files: &mut Vec<TemplateFile>) {
    for file in dir.files() {
        let path = file
            .path()
            .strip_prefix(content_root)
            .expect("embedded files sit under their content root")
            .to_path_buf();
        files.push(TemplateFile {
            path,
            contents: file.contents().to_vec(),
        });
    }
    for sub in dir.dirs() {
        collect_embedded(sub, content_root, files);
    }
}

/// Unpacks a `.tar` or `.tar.gz` template archive into `dir`, streamed from the file:
/// what it unpacks to is held to [`crate::limits::TEMPLATE_SIZE`] (a small archive may
/// expand to gigabytes) and its entries to [`crate::limits::TEMPLATE_ENTRIES`]. Only
/// regular files and directories are written, below `dir`.
fn unpack_archive(archive: &Path, dir: &Path) -> Result<()> {
    use std::io::BufRead;

    let not_an_archive = || {
        format!(
            "`{}` is not a template directory or a readable .tar/.tar.gz archive",
            archive.display()
        )
    };
    let kind = std::fs::metadata(archive)
        .with_context(|| format!("reading `{}`", archive.display()))?
        .file_type();
    if !kind.is_file() {
        bail!(
            "`{}` is {}; pass a template directory or a .tar.gz archive",
            archive.display(),
            crate::limits::describe(kind)
        );
    }
    let file =
        std::fs::File::open(archive).with_context(|| format!("reading `{}`", archive.display()))?;
    let mut file = std::io::BufReader::new(file);
    let gzipped = file
        .fill_buf()
        .with_context(|| format!("reading `{}`", archive.display()))?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn std::io::Read> = if gzipped {
        Box::new(flate2::bufread::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let size = crate::limits::TEMPLATE_SIZE;
    let input = format!("the template archive `{}` unpacked", archive.display());
    // Checked as it streams: one large entry can take longer to write than Ctrl-C waits.
    let reader = crate::interrupt::Checked(reader);
    let reader = crate::limits::Bounded::new(reader, size, size.value()?, input.clone());
    let entries = crate::limits::TEMPLATE_ENTRIES;
    let max_entries = entries.value()?;
    // An exceeded limit is the error, not a broken archive.
    let reading = |error: std::io::Error| match crate::limits::find_too_large(&error) {
        Some(too_large) => anyhow::Error::new(too_large.clone()),
        None => anyhow::Error::new(error).context(not_an_archive()),
    };
    let mut tar = tar::Archive::new(reader);
    for (count, entry) in tar.entries().map_err(reading)?.enumerate() {
        crate::interrupt::check()?;
        if count as u64 >= max_entries {
            return Err(entries.exceeded(input, max_entries).into());
        }
        let mut entry = entry.map_err(reading)?;
        let kind = entry.header().entry_type();
        if !matches!(
            kind,
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory
        ) {
            bail!(
                "`{}` holds `{}`, which is not a regular file or directory ({kind:?}); templates hold plain files only",
                archive.display(),
                entry.path().map_err(reading)?.display()
            );
        }
        // `unpack_in` refuses paths that would land outside `dir`; no link is ever made
        // in it, so none can lead out either.
        entry.unpack_in(dir).map_err(reading)?;
    }
    Ok(())
}

/// An archive holds the template at its root or inside one top-level directory.
fn find_template_root(unpacked: &Path) -> Result<PathBuf> {
    if unpacked.join(METADATA_FILE).is_file() {
        return Ok(unpacked.to_path_buf());
    }
    let dirs: Vec<PathBuf> = std::fs::read_dir(unpacked)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    match dirs.as_slice() {
        [only] if only.join(METADATA_FILE).is_file() => Ok(only.clone()),
        _ => bail!(
            "the archive has no {METADATA_FILE} at its root or in a single top-level directory"
        ),
    }
}
