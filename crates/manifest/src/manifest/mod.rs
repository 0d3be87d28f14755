//! The app manifest, `wasmctl.toml` or Spin's `spin.toml`: finding it, parsing it,
//! validating it.
//!
//! [`load`] turns a file into an [`App`] whose every value has been checked: routes are
//! well-formed and unique, components referenced by routes exist, paths are relative and
//! stay inside the app directory, capability and limit values parse. Anything wrong comes
//! back as [`ManifestError::Invalid`] with every problem located by line and column.
//!
//! This module knows nothing of the terminal or of how the app is built or served.

mod raw;
pub(crate) use raw::too_deep_key;
mod recover;
mod spin;
mod toolchain;
mod validate;
mod variables;

pub use spin::SPIN_MANIFEST_FILE;
pub use toolchain::{Dependencies, Requirement, Tool, Version};
pub use variables::{Template, TemplatePart, Variable, check_variable_name};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::hint::Hint;

/// The manifest's file name, searched for in the current directory and its parents.
pub const MANIFEST_FILE: &str = "wasmctl.toml";

/// The only manifest format version this wasmctl reads.
pub const MANIFEST_VERSION: i64 = 1;

/// Default per-request time limit when neither manifest nor command line sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The shortest time limit. (The host checks time limits on its 10 ms epoch tick, so one
/// below that ends a busy request at the first tick.)
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// The longest time limit (a request's, a client's for its headers): a day is longer
/// than any request should take, and far from where adding it to the clock overflows.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The label of the key-value store every app has (`key_value_stores = ["default"]`),
/// Spin's name for it.
pub const DEFAULT_STORE: &str = "default";

/// Default per-instance linear memory cap.
pub const DEFAULT_MEMORY: u64 = 128 * 1024 * 1024;

/// The most requests one instance may serve (`instance_reuse`): beyond a few hundred the
/// start-up an instance saves is noise, and what it may carry over is not.
pub const MAX_INSTANCE_REUSE: u32 = 10_000;

/// The default compilation target of cargo builds.
pub const DEFAULT_CARGO_TARGET: &str = "wasm32-wasip2";

/// What a cargo build watches when its build table has no `watch` key.
pub const DEFAULT_CARGO_WATCH: [&str; 2] = ["src/**/*.rs", "Cargo.toml"];

/// Which tool's manifest format an app is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// `wasmctl.toml` (`manifest_version = 1`).
    Wasmctl,
    /// Spin's `spin.toml` (`spin_manifest_version = 2`), read as it is.
    Spin,
}

/// A validated application.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Absolute path of the manifest file.
    pub manifest_path: PathBuf,
    /// The format the manifest is written in: what may edit or pack it as text.
    pub format: ManifestFormat,
    /// The directory holding the manifest; every relative path is resolved against it.
    pub dir: PathBuf,
    /// `[application] name`: an ASCII letter, then letters, digits, `-` or `_`
    /// ([`crate::names::check_name`]).
    pub name: String,
    /// `[application] version`, as written; `None` when absent, never empty.
    pub version: Option<String>,
    /// `[application] description`, free text; `None` when absent.
    pub description: Option<String>,
    /// `[application] authors`, as written; empty when absent.
    pub authors: Vec<String>,
    /// `[variables]` by name: declarations only, never a resolved value.
    pub variables: BTreeMap<String, Variable>,
    /// The `[[trigger.http]]` routes in file order, no two alike; each names a component in
    /// `components`.
    pub routes: Vec<HttpRoute>,
    /// Components by id, in id order.
    pub components: BTreeMap<String, Component>,
    /// The `[deploy]` table, if any.
    pub deploy: Deploy,
}

/// Where and how `wasmctl deploy` ships the app; every field can be overridden by flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deploy {
    /// `HOST[:PORT]/REPO:TAG`
    pub registry: Option<String>,
    /// Allow plain HTTP to a registry that is not on loopback.
    pub insecure: bool,
    /// The `[deploy.kubernetes]` table; all defaults when absent.
    pub kubernetes: Kubernetes,
}

/// `[deploy.kubernetes]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kubernetes {
    /// The namespace to deploy into, an RFC 1123 label; `None` when the manifest names none.
    pub namespace: Option<String>,
    /// Pods to run, from 1 to `i32::MAX` ([`check_replicas`]); `None` when unset (deploy
    /// then runs one).
    pub replicas: Option<u32>,
    /// A Kubernetes CPU quantity, e.g. `250m`.
    pub cpu: Option<String>,
    /// A Kubernetes memory quantity, e.g. `128Mi`.
    pub memory: Option<String>,
    /// The pods' RuntimeClass name (e.g. `wasmtime`), an RFC 1123 subdomain; `None` when
    /// unset (deploy then picks its default).
    pub runtime_class: Option<String>,
    /// Environment variables of the deployed pods, by name; every key passed
    /// [`check_env_key`].
    pub environment: BTreeMap<String, String>,
}

impl App {
    /// Absolute path of a manifest-relative path.
    pub fn resolve(&self, relative: &Path) -> PathBuf {
        if relative == Path::new(".") {
            return self.dir.clone();
        }
        self.dir.join(relative)
    }
}

impl App {
    /// Checks that every `files` mount of `component` names a directory of the app: the
    /// guest could not start with a missing one, and a single file cannot be mounted.
    pub fn check_mounts(&self, component: &Component) -> Result<(), MountError> {
        for mount in &component.files {
            let problem = |problem: String, hint: String| MountError {
                problem,
                hint: Hint::new(hint),
            };
            let table = format!("`[component.{}]`", component.id);
            let intro = format!(
                "component `{}` mounts `{}` at `{}`",
                component.id,
                mount.source.display(),
                mount.destination
            );
            if let Err(escape) = resolve_mount(&self.dir, &mount.source) {
                return Err(problem(
                    format!("{intro}, but {escape}"),
                    MountEscape::HELP.to_string(),
                ));
            }
            match std::fs::metadata(self.resolve(&mount.source)) {
                Ok(metadata) if metadata.is_dir() => {}
                Ok(metadata) if metadata.is_file() => {
                    let source = match mount.source.parent() {
                        Some(parent) if !parent.as_os_str().is_empty() => parent,
                        _ => Path::new("."),
                    };
                    let destination = Path::new(&mount.destination)
                        .parent()
                        .map_or("/".to_string(), |parent| parent.display().to_string());
                    return Err(problem(
                        format!(
                            "{intro}, but `{}` is a file; wasmctl mounts directories only",
                            mount.source.display()
                        ),
                        format!(
                            "mount the directory that holds it: write `{{ source = \"{}\", destination = \"{destination}\" }}` in `files` of {table}; the guest then reads `{}`, and every other file in `{}`",
                            source.display(),
                            mount.destination,
                            source.display()
                        ),
                    ));
                }
                Ok(_) => {
                    return Err(problem(
                        format!(
                            "{intro}, but `{}` is not a directory",
                            mount.source.display()
                        ),
                        format!("mount a directory, or fix `files` of {table} in {MANIFEST_FILE}"),
                    ));
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    return Err(problem(
                        format!(
                            "{intro}, but the app has no directory `{}`",
                            mount.source.display()
                        ),
                        format!("create it, or fix `files` of {table} in {MANIFEST_FILE}"),
                    ));
                }
                Err(error) => {
                    return Err(problem(
                        format!(
                            "{intro}, but `{}` cannot be read: {error}",
                            mount.source.display()
                        ),
                        "make it readable by the user who runs wasmctl".to_string(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Where a granted directory really is: `dir/source` with every symbolic link followed.
/// `Ok(None)` when it cannot be resolved (missing, unreadable: [`App::check_mounts`] says
/// which); an error when it leads out of the app directory, since the guest, and `deploy`'s
/// packing, would then read host files that the path's text does not show.
pub fn resolve_mount(dir: &Path, source: &Path) -> Result<Option<PathBuf>, MountEscape> {
    let (Ok(root), Ok(target)) = (
        std::fs::canonicalize(dir),
        std::fs::canonicalize(dir.join(source)),
    ) else {
        return Ok(None);
    };
    if target.starts_with(&root) {
        Ok(Some(target))
    } else {
        Err(MountEscape {
            written: source.to_path_buf(),
            target,
            dir: root,
        })
    }
}

/// A `files` source whose symbolic links lead out of the app directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{}` resolves to `{}`, outside the app directory `{}`",
    written.display(),
    target.display(),
    dir.display()
)]
pub struct MountEscape {
    /// The path as the manifest writes it.
    pub written: PathBuf,
    /// Where its links lead.
    pub target: PathBuf,
    /// The app directory, resolved.
    pub dir: PathBuf,
}

impl MountEscape {
    /// What to do instead.
    pub const HELP: &str = "a symbolic link on the way leads out of the app, and the guest would read the host's files through it; grant a real directory of the app, and copy into it what the component needs";
}

/// A `files` mount that cannot be granted as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct MountError {
    /// What is wrong, naming the component, the mount and the path.
    pub problem: String,
    /// What to write or do instead.
    pub hint: Hint,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    /// The requests it takes (`route = "/api/..."`).
    pub route: Route,
    /// Id of the component that answers them: a key of [`App::components`].
    pub component: String,
}

/// A route pattern: `/exact/path`, or a wildcard prefix `/prefix/...`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// Matches exactly this path (always starts with `/`).
    Exact(String),
    /// Matches this prefix and anything below it; stored without the trailing `/...`,
    /// so `/...` is the empty prefix.
    Prefix(String),
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Exact(path) => f.write_str(path),
            Route::Prefix(prefix) => write!(f, "{prefix}/..."),
        }
    }
}

/// One `[component.ID]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// The component's id, unique in the app (the manifest's `[component.ID]` key); the
    /// same rules as an app name ([`crate::names::check_name`]).
    pub id: String,
    /// The component file, relative to the app directory.
    pub source: PathBuf,
    /// `description`, free text; `None` when absent.
    pub description: Option<String>,
    /// Environment variables the guest sees; nothing else from the host leaks in.
    pub environment: BTreeMap<String, String>,
    /// Read-only directories granted to the guest.
    pub files: Vec<FileMount>,
    /// Destinations the guest may send outgoing HTTP requests to.
    pub allowed_outbound_hosts: Vec<OutboundHost>,
    /// `[component.ID.variables]`: what the guest may read through `wasi:config/store`,
    /// by key, each a template over [`App::variables`] (every name it uses is declared
    /// there). Empty: the guest reads nothing.
    pub variables: BTreeMap<String, Template>,
    /// Labels of the key-value stores the guest may open (`key_value_stores`), each once;
    /// only [`DEFAULT_STORE`] for now.
    pub key_value_stores: Vec<String>,
    /// Its `[component.ID.limits]`; a `None` in it means the host default.
    pub limits: Limits,
    /// How to build `source` (`[component.ID.build]`); `None` when it is used as it is.
    pub build: Option<BuildSpec>,
}

/// A host directory (relative to the app directory) visible to the guest, read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMount {
    /// The host directory, relative to the app directory and inside it.
    pub source: PathBuf,
    /// Absolute path inside the guest, e.g. `/assets`.
    pub destination: String,
    /// `None`: the whole directory, as it changes. `Some`: only the files it selects
    /// (Spin's glob patterns and `exclude_files`), copied when the app loads.
    pub selection: Option<FileSelection>,
}

/// Which files of a mount's directory the guest sees, matched as Spin matches them (the
/// `glob` crate's default options: `*` and `**` match dotfiles too; case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSelection {
    /// A file matching one of these, by its path below the mount's `source`, is selected;
    /// `*` stays within one directory, as when Spin lists a pattern's files.
    pub include: Vec<glob::Pattern>,
    /// `exclude_files`: a file matching one of these, by its path below the app
    /// directory, is not; `*` crosses `/` here, as in Spin (`*.bak` drops `a/b.bak`).
    pub exclude: Vec<glob::Pattern>,
}

impl FileSelection {
    /// Whether the file at `in_source` (below the mount's source), which is `in_app`
    /// below the app directory as the manifest names it (through links, not where they
    /// lead), is selected. A file an include names without a wildcard is, whatever
    /// `exclude_files` says, as in Spin.
    pub fn selects(&self, in_source: &Path, in_app: &Path) -> bool {
        let within_directories = glob::MatchOptions {
            require_literal_separator: true,
            ..glob::MatchOptions::new()
        };
        let named = self
            .literal_includes()
            .any(|literal| Path::new(literal) == in_source);
        let matched = self
            .include
            .iter()
            .any(|pattern| pattern.matches_path_with(in_source, within_directories));
        let excluded = self
            .exclude
            .iter()
            .any(|pattern| pattern.matches_path(in_app));
        named || (matched && !excluded)
    }

    /// How many directories deep below the source a selected file can lie (`a/b.txt`
    /// is 1), or `None` when a `**` reaches any depth: a walk need go no further.
    pub fn depth(&self) -> Option<usize> {
        self.include
            .iter()
            .map(|pattern| {
                let text = pattern.as_str();
                (!text.contains("**")).then(|| text.matches('/').count())
            })
            .try_fold(0, |deepest, depth| Some(deepest.max(depth?)))
    }

    /// The patterns that name one file, without a wildcard: each must select a file.
    pub fn literal_includes(&self) -> impl Iterator<Item = &str> {
        self.include
            .iter()
            .map(glob::Pattern::as_str)
            .filter(|text| glob::Pattern::escape(text) == *text)
    }
}

/// An `allowed_outbound_hosts` entry such as `https://api.example.com` or `http://127.0.0.1:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundHost {
    /// `http`, `https`, or `*` for either.
    pub scheme: String,
    /// A host name or IP, `*` for any host, or `*.example.com` for any subdomain.
    pub host: String,
    /// `None` means any port.
    pub port: Option<u16>,
}

impl std::fmt::Display for OutboundHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => f.write_str(":*"),
        }
    }
}

/// Per-component limits; `None` means the host default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Time limit of one request, from [`MIN_TIMEOUT`] to [`MAX_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// Linear memory cap in bytes.
    pub memory: Option<u64>,
    /// How many requests one instance serves, one after another, before it is dropped
    /// (1 to [`MAX_INSTANCE_REUSE`]); `None` means 1: a fresh instance per request.
    pub instance_reuse: Option<u32>,
}

/// How to produce a component's source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSpec {
    /// What runs: cargo, or a shell command.
    pub kind: BuildKind,
    /// Where the build runs, relative to the app directory.
    pub workdir: PathBuf,
    /// Globs (relative to `workdir`) whose changes make the component stale.
    pub watch: Vec<String>,
    /// The tools the build needs (`requires`), checked before anything runs.
    pub requires: Vec<Requirement>,
    /// The package install that runs before the command (`dependencies`), only when the
    /// packages are missing or stale.
    pub dependencies: Option<Dependencies>,
}

/// The toolchain of a [`BuildSpec`]: `cargo = { ... }` or `command = "..."` in the build
/// table (exactly one of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildKind {
    /// wasmctl runs `cargo build --target <target>` itself.
    Cargo {
        /// The crate to build (`--package`); `None` builds the crate in `workdir`. Never empty.
        package: Option<String>,
        /// One of the cargo targets wasmctl turns into a component;
        /// [`DEFAULT_CARGO_TARGET`] unless the manifest names another.
        target: String,
        /// Cargo features to enable; empty for the crate's defaults only.
        features: Vec<String>,
    },
    /// Any other toolchain: a shell command.
    Command(String),
}

/// The rules the manifest applies, for the command-line flags that stand in for its keys
/// (`deploy --cpu`, `up --env`, ...).
pub use validate::{
    check_env_key, check_instance_reuse, check_namespace, check_quantity, check_replicas,
    check_runtime_class, parse_replicas,
};

/// Parses a time limit such as `30s` or `500ms` (the manifest's `limits.timeout` syntax),
/// from [`MIN_TIMEOUT`] to [`MAX_TIMEOUT`].
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    validate::parse_timeout(text)
}

/// What is wrong with a `HOST[:PORT]/REPO:TAG` reference, as the end of a sentence about
/// it, e.g. "has no registry host".
pub fn registry_reference_problem(text: &str) -> Result<(), String> {
    validate::registry_reference_problem(text)
}

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// No `wasmctl.toml` (or `spin.toml`) in the start directory or any of its parents.
    #[error(
        "could not find `{MANIFEST_FILE}` (or Spin's `{SPIN_MANIFEST_FILE}`) in `{}` or any parent directory",
        start.display()
    )]
    NotFound {
        /// The directory the search began in, as the message shows it.
        start: PathBuf,
    },
    /// The manifest exists but reading it failed.
    #[error("could not read manifest `{}`", path.display())]
    Read {
        /// The manifest file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The manifest holds bytes that are not UTF-8.
    #[error(
        "manifest `{}` is not UTF-8 text: line {line}, column {column} has a byte that is not UTF-8",
        path.display()
    )]
    NotUtf8 {
        /// The manifest file.
        path: PathBuf,
        /// 1-based line of the first byte that is not UTF-8.
        line: usize,
        /// 1-based column (in characters) of that byte.
        column: usize,
    },
    /// Not a regular file, or larger than the manifest limit.
    #[error(transparent)]
    Refused(crate::limits::ReadError),
    /// The manifest parsed badly or broke a rule: every problem, located.
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl ManifestError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            ManifestError::NotFound { .. } => Some(Hint::new(
                "run `wasmctl new http-rust <NAME>` to create an app, or pass `--manifest PATH`",
            )),
            ManifestError::NotUtf8 { .. } => Some(Hint::new("save the file as UTF-8")),
            ManifestError::Refused(refused) => refused.hint(),
            // Each diagnostic carries its own help, rendered with its snippet.
            ManifestError::Read { .. } | ManifestError::Invalid(_) => None,
        }
    }
}

/// The manifest of the app in `dir`: its `wasmctl.toml`, else its `spin.toml`; `None`
/// when it has neither. A name that is there but not a regular file (a directory, a
/// FIFO, a dangling link) is the manifest all the same, so that reading it says what is
/// wrong, rather than a parent's manifest being taken in its place.
pub fn in_dir(dir: &Path) -> Option<PathBuf> {
    [MANIFEST_FILE, SPIN_MANIFEST_FILE]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|candidate| candidate.symlink_metadata().is_ok())
}

/// Finds the manifest ([`in_dir`]) of `start` or of the nearest parent that has one.
pub fn locate(start: &Path) -> Result<PathBuf, ManifestError> {
    start
        .ancestors()
        .find_map(in_dir)
        .ok_or_else(|| ManifestError::NotFound {
            start: start.to_path_buf(),
        })
}

/// Reads and validates the manifest at `path`.
pub fn load(path: &Path) -> Result<App, ManifestError> {
    let (path, text) = read(path)?;
    parse(&path, text)
}

/// Reads the manifest at `path` as text, unvalidated: its absolute path and contents,
/// for callers that edit the file as well as [`parse`] it.
pub fn read(path: &Path) -> Result<(PathBuf, String), ManifestError> {
    let path = std::path::absolute(path).map_err(|source| ManifestError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes =
        crate::limits::read_file(&path, crate::limits::MANIFEST).map_err(|error| match error {
            crate::limits::ReadError::Io { path, source, .. } => {
                ManifestError::Read { path, source }
            }
            refused => ManifestError::Refused(refused),
        })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).expect("valid up to here");
        let (line, column) = crate::diagnostic::line_column(valid, valid.len());
        ManifestError::NotUtf8 {
            path: path.clone(),
            line,
            column,
        }
    })?;
    Ok((path, text))
}

/// Validates manifest text as if it were read from `path`, reporting every problem of the
/// file at once, in file order.
pub fn parse(path: &Path, text: String) -> Result<App, ManifestError> {
    if let Some((parts, span)) = raw::too_deep_key(&text) {
        let diagnostic = Diagnostic::new(
            format!(
                "this key is nested {parts} levels deep; wasmctl reads keys of at most {} parts",
                raw::MAX_KEY_PARTS
            ),
            Some(span.start..span.start + 1),
        )
        .help("the manifest's deepest keys have 4 parts, e.g. `component.ID.build.cargo`; see docs/manifest.md");
        return Err(ManifestError::Invalid(Diagnostics {
            path: path.to_path_buf(),
            source: text,
            items: vec![diagnostic],
        }));
    }
    let (format, raw, mut items) = if spin::is_spin(&text) {
        let mut items = Vec::new();
        let raw = spin::read(&text, &mut items);
        (ManifestFormat::Spin, raw, items)
    } else {
        let recovered = recover::deserialize::<raw::RawManifest>(&text);
        let items: Vec<Diagnostic> = recovered
            .errors
            .iter()
            .map(|error| validate::from_toml_error(error, &text, MANIFEST_FILE))
            .collect();
        (ManifestFormat::Wasmctl, recovered.value, items)
    };
    if let Some(raw) = raw {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let declared = validate::Declared::read(&text);
        let place = validate::Place {
            manifest_path: path.to_path_buf(),
            format,
            dir,
        };
        match validate::validate(raw, &text, place, &declared) {
            Ok(app) if items.is_empty() => return Ok(app),
            Ok(_) => {}
            Err(found) => items.extend(found),
        }
    }
    // File order; problems of the file as a whole last.
    items.sort_by_key(|item| item.span.as_ref().map_or(usize::MAX, |span| span.start));
    Err(ManifestError::Invalid(Diagnostics {
        path: path.to_path_buf(),
        source: text,
        items,
    }))
}

#[cfg(test)]
mod tests;
