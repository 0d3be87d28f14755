//! The dev loop's eyes: which files `up --watch` watches, and what a change affects.
//!
//! A [`WatchPlan`] is derived from the manifest: each component's `watch` globs (relative
//! to its build `workdir`), the `source` of components wasmctl does not build, and the
//! manifest itself. A [`Watcher`] watches only the directories those need (never a whole
//! `target/`), debounces bursts of events (an editor's save is several), and hands over
//! changed paths; [`WatchPlan::classify`] turns them into the components to rebuild.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component as PathPart, Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use notify_debouncer_full::notify::event::{MetadataKind, ModifyKind};
use notify_debouncer_full::notify::{self, EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::manifest::{App, FileSelection};
use crate::variables::DOTENV_FILE;

/// Directories whose contents never count as a change: build output, wasmctl's own
/// state, version control, and the packages a build installs (`dependencies`: npm's
/// `node_modules/`, pip's `.venv/`, Python's byte-code caches), each thousands of files
/// an install rewrites.
const IGNORED_DIRS: [&str; 6] = [
    "target",
    ".wasmctl",
    ".git",
    "node_modules",
    ".venv",
    "__pycache__",
];

/// Why [`Watcher::next`] has no batch.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The watcher is gone for good: nothing will ever arrive again.
    #[error("the file watcher stopped unexpectedly")]
    Stopped,
    /// The OS reported a problem (say, too many watches); later batches may be fine.
    #[error(transparent)]
    Notify(#[from] notify::Error),
}

/// What to watch for one app.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    app_dir: PathBuf,
    manifest: PathBuf,
    components: Vec<WatchedComponent>,
    selections: Vec<WatchedSelection>,
}

/// A `files` mount that selects some files of its directory: served as copies, which a
/// change to a selected file makes stale.
#[derive(Debug, Clone)]
struct WatchedSelection {
    component: String,
    source: PathBuf,
    selection: FileSelection,
}

#[derive(Debug, Clone)]
struct WatchedComponent {
    id: String,
    inputs: Inputs,
    /// Where the build writes the component; never an input, or a build that writes
    /// inside a watched directory would trigger itself forever.
    source: PathBuf,
}

#[derive(Debug, Clone)]
enum Inputs {
    /// Files matching these globs, relative to `base` (the build's workdir).
    Globs {
        base: PathBuf,
        patterns: Vec<glob::Pattern>,
    },
    /// No build table: the component file itself; a change means "serve the new file".
    SourceFile,
}

/// What a batch of changed paths means for the app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The manifest or the app's `.env` changed: reload the manifest and resolve its
    /// variables again.
    pub manifest: bool,
    /// Components whose inputs changed.
    pub components: BTreeSet<String>,
    /// Components a file changed for that one of their `files` selections picks: served
    /// again, with fresh copies, without a build.
    pub files: BTreeSet<String>,
    /// The changed paths that mattered, relative to the app directory.
    pub paths: Vec<PathBuf>,
}

impl Changes {
    /// Whether the batch means nothing to do: neither the manifest nor any component's
    /// inputs or selected files changed (`paths` is not consulted).
    pub fn is_empty(&self) -> bool {
        !self.manifest && self.components.is_empty() && self.files.is_empty()
    }
}

impl WatchPlan {
    /// Watches the manifest and the `.env` beside it (variable values), each component's
    /// `watch` globs, the `source` of each component without a build table, and the files
    /// of each `files` selection. Globs were checked when the manifest was loaded.
    pub fn for_app(app: &App) -> WatchPlan {
        let components = app
            .components
            .values()
            .map(|component| {
                let inputs = match &component.build {
                    Some(build) => Inputs::Globs {
                        base: app.resolve(&build.workdir),
                        patterns: build
                            .watch
                            .iter()
                            .filter_map(|pattern| glob::Pattern::new(pattern).ok())
                            .collect(),
                    },
                    None => Inputs::SourceFile,
                };
                WatchedComponent {
                    id: component.id.clone(),
                    inputs,
                    source: app.resolve(&component.source),
                }
            })
            .collect();
        let selections = app
            .components
            .values()
            .flat_map(|component| {
                component.files.iter().filter_map(|mount| {
                    Some(WatchedSelection {
                        component: component.id.clone(),
                        source: app.resolve(&mount.source),
                        selection: mount.selection.clone()?,
                    })
                })
            })
            .collect();
        WatchPlan {
            app_dir: app.dir.clone(),
            manifest: app.manifest_path.clone(),
            components,
            selections,
        }
    }

    /// The directories to watch, and whether recursively: for a glob, the directory
    /// before its first wildcard (recursive when the wildcard may cross directories);
    /// for a single file, its directory. Directories that do not exist are left out.
    pub fn roots(&self) -> BTreeMap<PathBuf, RecursiveMode> {
        let mut roots = BTreeMap::new();
        add_root(
            &mut roots,
            parent_of(&self.manifest),
            RecursiveMode::NonRecursive,
        );
        for component in &self.components {
            match &component.inputs {
                Inputs::Globs { base, patterns } => {
                    for pattern in patterns {
                        let (dir, mode) = glob_root(pattern.as_str());
                        add_root(&mut roots, base.join(dir), mode);
                    }
                }
                Inputs::SourceFile => add_root(
                    &mut roots,
                    parent_of(&component.source),
                    RecursiveMode::NonRecursive,
                ),
            }
        }
        for watched in &self.selections {
            let mode = match watched.selection.depth() {
                Some(0) => RecursiveMode::NonRecursive,
                _ => RecursiveMode::Recursive,
            };
            add_root(&mut roots, watched.source.clone(), mode);
        }
        roots
    }

    /// Sorts changed paths into "the manifest changed", "these components' inputs
    /// changed" and "these components' selected files changed"; everything else (build
    /// output, unrelated files) is dropped.
    pub fn classify(&self, paths: &[PathBuf]) -> Changes {
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..glob::MatchOptions::new()
        };
        let mut changes = Changes::default();
        for path in paths {
            let mut relevant = false;
            if *path == self.manifest || *path == self.app_dir.join(DOTENV_FILE) {
                changes.manifest = true;
                relevant = true;
            }
            for component in &self.components {
                let affected = match &component.inputs {
                    Inputs::SourceFile => *path == component.source,
                    Inputs::Globs { base, patterns } => {
                        *path != component.source
                            && !self.is_ignored(path)
                            && (path.strip_prefix(base).is_ok_and(|relative| {
                                patterns
                                    .iter()
                                    .any(|pattern| pattern.matches_path_with(relative, options))
                            }) || patterns.iter().any(|pattern| {
                                // A directory holding inputs appeared, vanished or was
                                // renamed (a `git checkout`): its files changed with it.
                                base.join(glob_root(pattern.as_str()).0).starts_with(path)
                                    && path.starts_with(base)
                                    && path != base
                            }))
                    }
                };
                if affected {
                    changes.components.insert(component.id.clone());
                    relevant = true;
                }
            }
            for watched in &self.selections {
                let in_app = path.strip_prefix(&self.app_dir).unwrap_or(path);
                // A directory made, removed or renamed (or a file removed) says nothing
                // of which files it held: the selection is copied again.
                let selected = !in_app.starts_with(".wasmctl")
                    && path.strip_prefix(&watched.source).is_ok_and(|relative| {
                        watched.selection.selects(relative, in_app)
                            || path.is_dir()
                            || !path.exists()
                    });
                if selected {
                    changes.files.insert(watched.component.clone());
                    relevant = true;
                }
            }
            if relevant {
                changes.paths.push(
                    path.strip_prefix(&self.app_dir)
                        .unwrap_or(path)
                        .to_path_buf(),
                );
            }
        }
        changes.paths.sort();
        changes.paths.dedup();
        changes
    }

    fn is_ignored(&self, path: &Path) -> bool {
        path.strip_prefix(&self.app_dir)
            .unwrap_or(path)
            .components()
            .any(|part| matches!(part, PathPart::Normal(name) if IGNORED_DIRS.iter().any(|d| name == *d)))
    }
}

/// Adds a directory to watch. A recursive watch never covers an ignored directory such
/// as `target/` (thousands of directories, busy during builds): a directory with one
/// somewhere below is watched flat, and its other subdirectories in its place.
fn add_root(roots: &mut BTreeMap<PathBuf, RecursiveMode>, dir: PathBuf, mode: RecursiveMode) {
    if !dir.is_dir() {
        return;
    }
    if mode == RecursiveMode::Recursive && holds_ignored(&dir) {
        for subdir in subdirs(&dir).into_iter().filter(|d| !is_ignored_dir(d)) {
            add_root(roots, subdir, RecursiveMode::Recursive);
        }
        add_root(roots, dir, RecursiveMode::NonRecursive);
        return;
    }
    let entry = roots.entry(dir).or_insert(mode);
    if mode == RecursiveMode::Recursive {
        *entry = mode;
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        // Symbolic links are not followed: no loops.
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.path())
        .collect()
}

fn is_ignored_dir(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| IGNORED_DIRS.iter().any(|d| name == *d))
}

/// Whether an ignored directory lies anywhere below `dir`.
fn holds_ignored(dir: &Path) -> bool {
    subdirs(dir)
        .iter()
        .any(|subdir| is_ignored_dir(subdir) || holds_ignored(subdir))
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The directory part of a glob before its first wildcard, and whether matches can lie
/// in subdirectories of it (`src/**/*.rs` → `src`, recursive; `*.toml` → ``, flat).
fn glob_root(pattern: &str) -> (PathBuf, RecursiveMode) {
    let parts: Vec<&str> = pattern.split('/').collect();
    let literal = parts
        .iter()
        .take_while(|part| !part.contains(['*', '?', '[']))
        .count();
    if literal == parts.len() {
        // No wildcard: one file (or directory) whose parent is watched.
        let dir = parts[..parts.len() - 1].join("/");
        return (PathBuf::from(dir), RecursiveMode::NonRecursive);
    }
    let wild = &parts[literal..];
    let mode = if wild.len() > 1 || wild.iter().any(|part| part.contains("**")) {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    (PathBuf::from(parts[..literal].join("/")), mode)
}

/// Watches the directories of a [`WatchPlan`] and delivers debounced batches of paths.
pub struct Watcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    events: Receiver<DebounceEventResult>,
    watching: BTreeMap<PathBuf, RecursiveMode>,
}

impl Watcher {
    /// Events closer together than `debounce` arrive as one batch.
    pub fn new(debounce: Duration) -> notify::Result<Watcher> {
        let (sender, events) = std::sync::mpsc::channel();
        Ok(Watcher {
            debouncer: new_debouncer(debounce, None, sender)?,
            events,
            watching: BTreeMap::new(),
        })
    }

    /// Watches exactly the roots of `plan` (adding and dropping directories as the plan
    /// changed since the last call).
    pub fn follow(&mut self, plan: &WatchPlan) -> notify::Result<()> {
        let wanted = plan.roots();
        let stale: Vec<PathBuf> = self
            .watching
            .iter()
            .filter(|(dir, mode)| wanted.get(*dir) != Some(mode))
            .map(|(dir, _)| dir.clone())
            .collect();
        for dir in stale {
            self.unwatch(&dir);
        }
        for (dir, mode) in wanted {
            if !self.watching.contains_key(&dir) {
                self.debouncer.watch(&dir, mode)?;
                self.watching.insert(dir, mode);
            }
        }
        Ok(())
    }

    /// The next batch of changed paths, waiting at most `timeout`; `Ok(None)` when
    /// nothing changed in that time. Reading a file is no change (cargo reads
    /// `Cargo.toml` on every build: counting that would rebuild forever).
    ///
    /// A watched directory that was removed or renamed away takes its OS watch with it:
    /// it is forgotten here, so the next [`Watcher::follow`] watches it again if it is
    /// back.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Vec<PathBuf>>, WatchError> {
        match self.events.recv_timeout(timeout) {
            Ok(Ok(events)) => {
                let changes: Vec<_> = events
                    .into_iter()
                    .filter(|event| is_change(&event.kind))
                    .collect();
                for event in &changes {
                    if matches!(
                        event.kind,
                        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
                    ) {
                        for path in &event.paths {
                            self.forget_below(path);
                        }
                    }
                }
                Ok(Some(
                    changes
                        .into_iter()
                        .flat_map(|event| event.event.paths)
                        .collect(),
                ))
            }
            Ok(Err(mut errors)) => Err(errors
                .pop()
                .unwrap_or_else(|| {
                    notify::Error::generic("the file watcher reported an unknown error")
                })
                .into()),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(WatchError::Stopped),
        }
    }

    /// Drops the watches on `path` and every watched directory below it.
    fn forget_below(&mut self, path: &Path) {
        let gone: Vec<PathBuf> = self
            .watching
            .keys()
            .filter(|dir| dir.starts_with(path))
            .cloned()
            .collect();
        for dir in gone {
            self.unwatch(&dir);
        }
    }

    fn unwatch(&mut self, dir: &Path) {
        // Fails when the directory is gone: the OS dropped its watch with it.
        let _ = self.debouncer.unwatch(dir);
        self.watching.remove(dir);
    }
}

/// Contents, names or permissions changed; not a read, not an access time.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(manifest: &str) -> (tempfile::TempDir, App) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/bin")).unwrap();
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        let path = dir.path().join("wasmctl.toml");
        std::fs::write(&path, manifest).unwrap();
        let app = crate::manifest::load(&path).unwrap();
        (dir, app)
    }

    const TWO_COMPONENTS: &str = r#"
manifest_version = 1
[application]
name = "app"
[[trigger.http]]
route = "/..."
component = "api"
[[trigger.http]]
route = "/web/..."
component = "web"
[component.api]
source = "target/wasm32-wasip2/release/api.wasm"
[component.api.build]
cargo = {}
[component.web]
source = "web/web.wasm"
[component.web.build]
command = "make"
workdir = "web"
watch = ["*.js", "static/**"]
[component.prebuilt]
source = "vendor/prebuilt.wasm"
"#;

    #[test]
    fn changes_map_to_the_components_they_affect() {
        let (dir, app) = app(TWO_COMPONENTS);
        let plan = WatchPlan::for_app(&app);
        let root = dir.path();
        let classify = |paths: &[&str]| {
            let paths: Vec<PathBuf> = paths.iter().map(|p| root.join(p)).collect();
            let changes = plan.classify(&paths);
            (
                changes.manifest,
                changes.components.into_iter().collect::<Vec<_>>(),
            )
        };
        // cargo's default globs: src/**/*.rs and Cargo.toml
        assert_eq!(classify(&["src/main.rs"]), (false, vec!["api".to_string()]));
        assert_eq!(
            classify(&["src/bin/x.rs"]),
            (false, vec!["api".to_string()])
        );
        assert_eq!(classify(&["Cargo.toml"]), (false, vec!["api".to_string()]));
        assert_eq!(classify(&["src/notes.txt"]), (false, vec![]));
        // globs are relative to the build's workdir; `*` stays in one directory
        assert_eq!(classify(&["web/app.js"]), (false, vec!["web".to_string()]));
        assert_eq!(classify(&["web/lib/app.js"]), (false, vec![]));
        assert_eq!(
            classify(&["web/static/css/a.css"]),
            (false, vec!["web".to_string()])
        );
        // the build's own output never triggers it
        assert_eq!(classify(&["web/web.wasm"]), (false, vec![]));
        assert_eq!(
            classify(&["target/release/build/x/out/gen.rs"]),
            (false, vec![])
        );
        // a component wasmctl does not build is reloaded when its file changes
        assert_eq!(
            classify(&["vendor/prebuilt.wasm"]),
            (false, vec!["prebuilt".to_string()])
        );
        assert_eq!(classify(&["wasmctl.toml"]), (true, vec![]));
        let changes = plan.classify(&[root.join("src/main.rs"), root.join("README.md")]);
        assert_eq!(changes.paths, vec![PathBuf::from("src/main.rs")]);
    }

    #[test]
    fn a_change_to_a_selected_file_serves_fresh_copies_without_a_build() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("static/drafts")).unwrap();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        let path = root.join("spin.toml");
        std::fs::write(
            &path,
            r#"spin_manifest_version = 2
[application]
name = "app"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "web.wasm"
files = ["static/**/*", "docs/*.txt"]
exclude_files = ["static/drafts/**"]
"#,
        )
        .unwrap();
        for file in [
            "static/css/site.css",
            "static/drafts/plan.html",
            "docs/guide.txt",
            "docs/sub/guide.txt",
            "docs/notes.md",
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), "").unwrap();
        }
        let plan = WatchPlan::for_app(&crate::manifest::load(&path).unwrap());
        let files = |path: &str| {
            plan.classify(&[root.join(path)])
                .files
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(files("static/css/site.css"), ["web"]);
        assert_eq!(files("docs/guide.txt"), ["web"]);
        assert!(
            files("docs/sub/guide.txt").is_empty(),
            "`*` stays in one directory"
        );
        assert!(files("docs/notes.md").is_empty());
        assert!(files("static/drafts/plan.html").is_empty(), "excluded");
        // A directory renamed in (or out): whatever it holds may be selected.
        std::fs::create_dir_all(root.join("static/img")).unwrap();
        assert_eq!(files("static/img"), ["web"]);
        assert_eq!(files("static/gone"), ["web"]);
        assert!(files(".wasmctl/kv/default.db").is_empty());
        let changes = plan.classify(&[root.join("docs/guide.txt")]);
        assert!(!changes.is_empty() && changes.components.is_empty() && !changes.manifest);
        let roots = plan.roots();
        assert_eq!(roots[&root.join("static")], RecursiveMode::Recursive);
        assert_eq!(roots[&root.join("docs")], RecursiveMode::NonRecursive);
    }

    #[test]
    fn roots_are_the_directories_before_each_wildcard() {
        let (dir, app) = app(TWO_COMPONENTS);
        std::fs::create_dir_all(dir.path().join("web/static")).unwrap();
        let roots = WatchPlan::for_app(&app).roots();
        let root = dir.path();
        let expected: BTreeMap<PathBuf, RecursiveMode> = [
            (root.to_path_buf(), RecursiveMode::NonRecursive),
            (root.join("src"), RecursiveMode::Recursive),
            (root.join("web"), RecursiveMode::NonRecursive),
            (root.join("web/static"), RecursiveMode::Recursive),
        ]
        .into_iter()
        .collect();
        // `vendor/` does not exist: nothing to watch there yet.
        assert_eq!(roots, expected);
    }

    #[test]
    fn a_recursive_watch_leaves_build_output_out() {
        let (dir, mut app) = app(TWO_COMPONENTS);
        let root = dir.path();
        for sub in ["target/release", "crates/a/target", "crates/a/src"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        app.components
            .get_mut("api")
            .unwrap()
            .build
            .as_mut()
            .unwrap()
            .watch = vec!["**/*.rs".into()];
        app.components.remove("web");
        let roots = WatchPlan::for_app(&app).roots();
        let expected: BTreeMap<PathBuf, RecursiveMode> = [
            (root.to_path_buf(), RecursiveMode::NonRecursive),
            (root.join("crates"), RecursiveMode::NonRecursive),
            (root.join("crates/a"), RecursiveMode::NonRecursive),
            (root.join("crates/a/src"), RecursiveMode::Recursive),
            (root.join("src"), RecursiveMode::Recursive),
            (root.join("web"), RecursiveMode::Recursive),
        ]
        .into_iter()
        .collect();
        assert_eq!(roots, expected);
    }

    #[test]
    fn glob_roots() {
        assert_eq!(
            glob_root("src/**/*.rs"),
            (PathBuf::from("src"), RecursiveMode::Recursive)
        );
        assert_eq!(
            glob_root("Cargo.toml"),
            (PathBuf::new(), RecursiveMode::NonRecursive)
        );
        assert_eq!(
            glob_root("assets/*.css"),
            (PathBuf::from("assets"), RecursiveMode::NonRecursive)
        );
        assert_eq!(
            glob_root("a/*/b.txt"),
            (PathBuf::from("a"), RecursiveMode::Recursive)
        );
    }

    #[test]
    fn reading_a_file_is_no_change() {
        let (dir, app) = app(TWO_COMPONENTS);
        let cargo_toml = dir.path().join("Cargo.toml");
        std::fs::write(&cargo_toml, "[package]").unwrap();
        let plan = WatchPlan::for_app(&app);
        let mut watcher = Watcher::new(Duration::from_millis(50)).unwrap();
        watcher.follow(&plan).unwrap();
        for _ in 0..3 {
            std::fs::read(&cargo_toml).unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_millis(600);
        while std::time::Instant::now() < deadline {
            if let Some(paths) = watcher.next(Duration::from_millis(100)).unwrap() {
                assert!(plan.classify(&paths).is_empty(), "{paths:?}");
            }
        }
    }

    /// The two-component app, its plan, and a watcher following it.
    fn watched(debounce: Duration) -> (tempfile::TempDir, WatchPlan, Watcher) {
        let (dir, app) = app(TWO_COMPONENTS);
        let plan = WatchPlan::for_app(&app);
        let mut watcher = Watcher::new(debounce).unwrap();
        watcher.follow(&plan).unwrap();
        (dir, plan, watcher)
    }

    #[test]
    fn a_save_arrives_as_one_batch() {
        let (dir, plan, mut watcher) = watched(Duration::from_millis(100));
        let main_rs = dir.path().join("src/main.rs");
        // An editor's save: write a temporary file, then rename it over the original.
        for _ in 0..3 {
            let temporary = dir.path().join("src/.main.rs.swp");
            std::fs::write(&temporary, "fn main() {}").unwrap();
            std::fs::rename(&temporary, &main_rs).unwrap();
        }
        let changes = next_changes(&mut watcher, &plan, Duration::from_secs(10));
        assert_eq!(
            changes.components.into_iter().collect::<Vec<_>>(),
            vec!["api".to_string()]
        );
        assert_eq!(changes.paths, vec![PathBuf::from("src/main.rs")]);
        // ... and only one: nothing relevant follows the first batch.
        let later = next_changes(&mut watcher, &plan, Duration::from_millis(500));
        assert!(later.is_empty(), "a second batch: {later:?}");
    }

    #[test]
    fn a_directory_removed_and_made_again_is_watched_again() {
        let (dir, plan, mut watcher) = watched(Duration::from_millis(50));
        let src = dir.path().join("src");
        // A `git checkout` that drops and restores the sources: a change to `api`.
        std::fs::remove_dir_all(&src).unwrap();
        let removed = next_changes(&mut watcher, &plan, Duration::from_secs(10));
        assert_eq!(removed.components.len(), 1, "{removed:?}");
        watcher.follow(&plan).unwrap();
        std::fs::create_dir(&src).unwrap();
        let restored = next_changes(&mut watcher, &plan, Duration::from_secs(10));
        assert_eq!(restored.components.len(), 1, "{restored:?}");
        watcher.follow(&plan).unwrap();
        // The new `src/` is watched: a save in it is seen.
        std::fs::write(src.join("main.rs"), "fn main() {}").unwrap();
        let saved = next_changes(&mut watcher, &plan, Duration::from_secs(10));
        assert_eq!(saved.paths, vec![PathBuf::from("src/main.rs")]);
    }

    /// The first batch with a relevant change, or no change after `wait`.
    fn next_changes(watcher: &mut Watcher, plan: &WatchPlan, wait: Duration) -> Changes {
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline {
            if let Some(paths) = watcher.next(Duration::from_millis(100)).unwrap() {
                let changes = plan.classify(&paths);
                if !changes.is_empty() {
                    return changes;
                }
            }
        }
        Changes::default()
    }
}
