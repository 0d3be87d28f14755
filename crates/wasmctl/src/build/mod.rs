//! Producing a component for each entry of the manifest: build, componentize, validate.
//!
//! - `cargo` builds: wasmctl runs `cargo build --target <target>` itself, takes the
//!   artifact path from cargo's JSON messages, and puts the component at the path it is
//!   served from ([`component_path`]) wherever the user's cargo setup (`CARGO_TARGET_DIR`,
//!   `build.target-dir`) put the artifact.
//! - `command` builds: a shell command in `workdir` that must produce `source`.
//! - no build table: `source` must already exist.
//!
//! A core module (wasm32-wasip1, wasm32-unknown-unknown) is wrapped into a component with
//! the WASI preview1 reactor adapter (its environment and files work, as on Spin). Every result is validated against the world
//! `wasmctl up` serves ([`crate::component::validate`]). Progress and child output go
//! through [`BuildEvent`]s; this module never prints.

mod cargo;
mod dependencies;
pub mod toolchain;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::component::{self, ComponentError, ValidComponent, WasmKind};
use crate::hint::{Hint, Hinted};
use crate::manifest::{App, BuildKind, Component, Dependencies};
use crate::process::{Line, Tail, run_lines};
use crate::validated::CheckedFile;

/// How to build.
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// Release (what is deployed) or debug; decides cargo's `--release` and where the
    /// component lands ([`component_path`]).
    pub profile: Profile,
    /// Ask cargo for coloured diagnostics.
    pub color: bool,
    /// The caller shows every [`BuildEvent::Output`] line to the user, so a failure's
    /// error need not repeat the last ones (it does when they were not shown).
    pub output_shown: bool,
}

/// Which build of a component: the optimised one that is deployed, or a debug build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// `cargo build --release`; the component lands at the manifest's `source`.
    #[default]
    Release,
    /// `cargo build` without `--release`; see [`component_path`] for where it lands.
    Debug,
}

impl Profile {
    /// [`Profile::Debug`] when `debug` holds (a `--debug` flag), else release.
    pub fn debug_if(debug: bool) -> Profile {
        if debug {
            Profile::Debug
        } else {
            Profile::Release
        }
    }
}

/// Where debug builds of cargo components land, relative to the app directory. They
/// never overwrite `source`, so a debug build is never deployed or served by mistake.
pub const DEBUG_DIR: &str = ".wasmctl/debug";

/// The file a component is built into and served from for `profile`: its `source` for
/// release builds, and for debug builds of cargo components `.wasmctl/debug/ID.wasm`
/// (a `command` build or a prebuilt file has one variant only: its `source`).
pub fn component_path(app: &App, component: &Component, profile: Profile) -> PathBuf {
    let cargo_built = matches!(
        component.build.as_ref().map(|b| &b.kind),
        Some(BuildKind::Cargo { .. })
    );
    match profile {
        Profile::Debug if cargo_built => app
            .dir
            .join(DEBUG_DIR)
            .join(format!("{}.wasm", component.id)),
        _ => app.resolve(&component.source),
    }
}

/// What a build reports as it goes.
#[derive(Debug, Clone, Copy)]
pub enum BuildEvent<'a> {
    /// A step started.
    Step(Step<'a>),
    /// A line the compiler or build command printed (cargo's diagnostics, rendered).
    Output(&'a str),
}

/// A stage of one component's build, reported as it starts.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// Running `cargo build` for this target.
    Cargo {
        /// The Rust target triple, e.g. `wasm32-wasip2`.
        target: &'a str,
        /// cargo runs with `--release` ([`Profile::Release`]).
        release: bool,
    },
    /// Installing the build's packages (`dependencies`): `npm install`, or making `.venv`
    /// and running `pip install -r requirements.txt`.
    Installing(&'a str),
    /// Running this build command (the manifest's `command`, through `sh -c`).
    Running(&'a str),
    /// Wrapping the core module the build produced into a component with the WASI
    /// preview1 adapter.
    Componentizing,
    /// Checking the component against the world `wasmctl up` serves.
    Validating,
}

/// A component ready to serve.
#[derive(Debug, Clone)]
pub struct BuiltComponent {
    /// The component's id in the manifest (its `[component.ID]` key).
    pub id: String,
    /// Absolute path of the component file.
    pub path: PathBuf,
    /// Size of the component file in bytes; at most [`crate::limits::COMPONENT`].
    pub size: u64,
    /// What validation found: the world it fits, its imports and exports.
    pub valid: ValidComponent,
    /// The build produced a core module that wasmctl turned into this component.
    pub componentized: bool,
    /// Time spent in cargo or the build command.
    pub build_time: Duration,
    /// Time spent componentizing and validating.
    pub check_time: Duration,
}

/// Why a component could not be built. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `cargo` (or the program named by the `CARGO` variable) could not be started.
    #[error("`cargo` was not found on PATH")]
    CargoNotFound,
    /// cargo failed because the standard library for the wasm target is not installed.
    #[error("the Rust target `{target}` is not installed")]
    TargetMissing {
        /// The Rust target triple the build asked for.
        target: String,
    },
    /// cargo or the build command ran and exited unsuccessfully.
    #[error("`{command}` failed ({status}) in `{}`{}", dir.display(), match tail {
        Some(tail) => format!("\n{}", tail.render()),
        None => "; its messages are above".to_string(),
    })]
    Failed {
        /// The command as a person would type it (for cargo, without wasmctl's own
        /// message-format and colour flags).
        command: String,
        /// The directory it ran in: the build's `workdir`.
        dir: PathBuf,
        /// How it exited, e.g. `exit status: 101`.
        status: String,
        /// The last lines of output, when the user has not seen them stream by.
        tail: Option<Tail>,
    },
    /// cargo succeeded but reported no `.wasm` artifact: the crate is a plain library.
    #[error("cargo built {package} but it produced no `.wasm` file")]
    NoWasmArtifact {
        /// Which package, as the message shows it: the build's `package`, or the one in
        /// its workdir.
        package: String,
        /// How to make the crate link into a `.wasm` file; the hint shows it.
        fix: String,
    },
    /// cargo reported more than one `.wasm` artifact, so wasmctl cannot tell which is
    /// the component (e.g. a workspace build without `package`).
    #[error("cargo built several `.wasm` files: {}", artifacts.join(", "))]
    SeveralArtifacts {
        /// The component's id, named in the hint's build table.
        component: String,
        /// The artifacts' paths, sorted.
        artifacts: Vec<String>,
    },
    /// A component with a build has no file for the profile yet, found by
    /// [`check_source`], which looks without building (e.g. `wasmctl up` without
    /// `--build`).
    #[error("component `{component}` is not built yet: `{}` does not exist", path.display())]
    NotBuilt {
        /// The component's id.
        component: String,
        /// The missing file; relative to the app directory when inside it.
        path: PathBuf,
        /// The build that is missing; the hint passes `--debug` for a debug one.
        profile: Profile,
    },
    /// The component's `source` does not exist: its build did not write it, or it has
    /// no build and nobody made it.
    #[error("the source of component `{component}`, `{}`, does not exist", path.display())]
    SourceMissing {
        /// The component's id.
        component: String,
        /// The missing file, absolute.
        path: PathBuf,
        /// What to do, which depends on whether the component has a build; the hint
        /// shows it.
        hint: String,
    },
    /// A component file unreadable, not a regular file, or over the component limit.
    #[error(transparent)]
    Read(crate::limits::ReadError),
    /// A component file (the componentized module, or the copy at its served path)
    /// could not be written.
    #[error("writing `{}`", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
    /// cargo or the build command could not be started (cargo missing is
    /// [`BuildError::CargoNotFound`]).
    #[error("could not start `{command}` in `{}`", dir.display())]
    Spawn {
        /// The command as a person would type it.
        command: String,
        /// The directory it was to run in: the build's `workdir`.
        dir: PathBuf,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },
    /// `.wasmctl/debug` could not be made, or a link stands in its way.
    #[error(transparent)]
    OwnDirectory(anyhow::Error),
    /// A tool the build requires is missing, too old or broken.
    #[error("component `{component}` cannot be built here")]
    Toolchain {
        /// The component's id.
        component: String,
        /// What is wrong with which tool; its hint says how to install it.
        #[source]
        problem: toolchain::ToolProblem,
    },
    /// `dependencies` names a package list that is not in the build's `workdir`.
    #[error("`dependencies = \"{}\"` needs the file `{}`, which is missing or not a regular file", dependencies.name(), path.display())]
    NoPackageList {
        /// The kind of install.
        dependencies: Dependencies,
        /// The missing file.
        path: PathBuf,
    },
    /// The file is not a valid component for the served world, or could not be
    /// componentized.
    #[error(transparent)]
    Component(#[from] ComponentError),
}

impl BuildError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            BuildError::CargoNotFound => Some(Hint::new(
                "install Rust from https://rustup.rs, then run `rustup target add wasm32-wasip2`",
            )),
            BuildError::TargetMissing { target } => {
                Some(Hint::new(format!("run `rustup target add {target}`")))
            }
            BuildError::NoWasmArtifact { fix, .. } => Some(Hint::new(fix.as_str())),
            BuildError::SeveralArtifacts { component, .. } => Some(Hint::new(format!(
                "name one crate with `cargo = {{ package = \"...\" }}` in the build table of component `{component}`"
            ))),
            BuildError::NotBuilt { profile, .. } => {
                let flag = match profile {
                    Profile::Release => "",
                    Profile::Debug => " --debug",
                };
                Some(Hint::new(format!(
                    "run `wasmctl build{flag}` (or `wasmctl up --build{flag}`)"
                )))
            }
            BuildError::SourceMissing { hint, .. } => Some(Hint::new(hint.as_str())),
            // Transparent: the wrapped error is not a cause of its own in the chain.
            BuildError::Read(error) => error.hint(),
            BuildError::OwnDirectory(error) => error
                .downcast_ref::<Hinted>()
                .map(|hinted| hinted.hint().clone()),
            BuildError::Component(error) => error.hint(),
            BuildError::NoPackageList { dependencies, .. } => Some(Hint::new(match dependencies {
                Dependencies::Npm => {
                    "run `npm init` in the build's `workdir`, or set `workdir` to the directory holding package.json"
                }
                Dependencies::Pip => {
                    "list the packages the build needs (e.g. `componentize-py==0.25.1`) in requirements.txt in the build's `workdir`"
                }
            })),
            // The problem, a cause of its own, carries the hint.
            BuildError::Toolchain { .. } => None,
            BuildError::Failed { .. } | BuildError::Write { .. } | BuildError::Spawn { .. } => None,
        }
    }
}

/// Builds, componentizes and validates one component.
pub fn build_component(
    app: &App,
    component: &Component,
    options: BuildOptions,
    on_event: &mut dyn FnMut(BuildEvent<'_>),
) -> Result<BuiltComponent, BuildError> {
    let source = component_path(app, component, options.profile);
    let started = Instant::now();
    let produced = match &component.build {
        Some(build) => {
            let workdir = app.resolve(&build.workdir);
            let mut found = Vec::new();
            for requirement in toolchain::requirements(build) {
                found.push(toolchain::check(&requirement).map_err(|problem| {
                    BuildError::Toolchain {
                        component: component.id.clone(),
                        problem,
                    }
                })?);
            }
            match &build.kind {
                BuildKind::Cargo {
                    package,
                    target,
                    features,
                } => {
                    let request = cargo::CargoBuild {
                        workdir: &workdir,
                        package: package.as_deref(),
                        target,
                        features,
                        release: options.profile == Profile::Release,
                        color: options.color,
                        output_shown: options.output_shown,
                    };
                    let artifact = cargo::build(&request, &component.id, on_event)?;
                    Produced::CargoArtifact(artifact)
                }
                BuildKind::Command(command) => {
                    let mut shell = Command::new("sh");
                    shell.arg("-c").arg(command);
                    if let Some(kind) = build.dependencies {
                        let install = dependencies::Install {
                            kind,
                            workdir: &workdir,
                            component: &component.id,
                            found: &found,
                        };
                        install.run_if_stale(options.output_shown, on_event)?;
                        install.prepare(&mut shell);
                    }
                    on_event(BuildEvent::Step(Step::Running(command)));
                    run_streamed(
                        &mut shell,
                        command,
                        &workdir,
                        options.output_shown,
                        on_event,
                    )?;
                    Produced::Source
                }
            }
        }
        None => Produced::Source,
    };
    let build_time = started.elapsed();

    let started = Instant::now();
    let (path, bytes, componentized) = match produced {
        Produced::CargoArtifact(artifact) => {
            let (built, bytes, componentized) = component_for_artifact(&artifact, on_event)?;
            if !same_file(&built, &source) {
                if options.profile == Profile::Debug {
                    // wasmctl's own directory: made link by link, so a link planted at
                    // `.wasmctl` or `.wasmctl/debug` cannot send the copy elsewhere.
                    crate::fs_tree::create_own_dir(&app.dir, Path::new(DEBUG_DIR))
                        .map_err(BuildError::OwnDirectory)?;
                }
                write(&source, &bytes)?;
            }
            (source, bytes, componentized)
        }
        Produced::Source => {
            let bytes = read_source(component, &source, Reading::AfterBuild)?;
            match component::kind(&source, &bytes)? {
                // A build command's core module is replaced by its component in place:
                // `source` is what `up` serves.
                WasmKind::CoreModule if component.build.is_some() => {
                    on_event(BuildEvent::Step(Step::Componentizing));
                    let wrapped = component::componentize(&source, &bytes)?;
                    write(&source, &wrapped)?;
                    (source, wrapped, true)
                }
                _ => (source, bytes, false),
            }
        }
    };
    on_event(BuildEvent::Step(Step::Validating));
    let valid = crate::validated::validate(&path, &bytes)?;
    Ok(BuiltComponent {
        id: component.id.clone(),
        size: bytes.len() as u64,
        path,
        valid,
        componentized,
        build_time,
        check_time: started.elapsed(),
    })
}

/// How a build of several components reports progress: each component's
/// [`BuildEvent`]s, framed by its start and end. The binary draws a spinner per component.
pub trait BuildProgress {
    /// `component`'s build starts; its events follow.
    fn started(&mut self, component: &Component);
    /// A step or output line of the component being built.
    fn event(&mut self, event: BuildEvent<'_>);
    /// The component's build ended: built, or `None` when it failed (the error is
    /// returned to the caller).
    fn finished(&mut self, built: Option<&BuiltComponent>);
}

/// Why [`build_app`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum AppBuildError {
    /// `--component ID` names no component of the app.
    #[error("no component `{id}` in `{}`", manifest.display())]
    UnknownComponent {
        /// The id asked for.
        id: String,
        /// The app's manifest file, which the message names.
        manifest: PathBuf,
        /// The app's component ids, in manifest order; the hint suggests the closest.
        known: Vec<String>,
    },
    /// A component failed to build; the ones before it were built.
    #[error("building component `{id}`")]
    Component {
        /// The id of the component that failed.
        id: String,
        /// Why it failed.
        // Not boxed: a boxed source would sit in the error chain as a `Box`, and the
        // `BuildError`, whose hint says what to do, could no longer be found in it.
        #[source]
        source: BuildError,
    },
}

impl AppBuildError {
    /// What to do about it (see [`crate::hint::of`]).
    pub fn hint(&self) -> Option<crate::hint::Hint> {
        match self {
            AppBuildError::UnknownComponent { id, known, .. } => {
                Some(crate::diagnostic::suggestion(
                    id,
                    known.iter().map(String::as_str),
                    "its components",
                ))
            }
            AppBuildError::Component { .. } => None,
        }
    }
}

/// Builds the components named in `only` (all of them when it is empty), in manifest
/// order, stopping at the first failure. `wasmctl build`, `up --build`, the dev loop and
/// `deploy` all build through here.
// The error is large, but it is returned once, after a build that took seconds.
#[allow(clippy::result_large_err)]
pub fn build_app(
    app: &App,
    only: &[String],
    options: BuildOptions,
    progress: &mut dyn BuildProgress,
) -> Result<Vec<BuiltComponent>, AppBuildError> {
    if let Some(unknown) = only.iter().find(|id| !app.components.contains_key(*id)) {
        return Err(AppBuildError::UnknownComponent {
            id: unknown.clone(),
            manifest: app.manifest_path.clone(),
            known: app.components.keys().cloned().collect(),
        });
    }
    let mut selected: Vec<&Component> = app
        .components
        .values()
        .filter(|c| only.is_empty() || only.contains(&c.id))
        .collect();
    // Components with a build first: one without may use the file another's build makes
    // (a Spin app may serve one file as two components with other settings).
    selected.sort_by_key(|c| c.build.is_none());
    let mut built = Vec::new();
    for component in selected {
        progress.started(component);
        let result = build_component(app, component, options, &mut |event| progress.event(event));
        progress.finished(result.as_ref().ok());
        built.push(result.map_err(|source| AppBuildError::Component {
            id: component.id.clone(),
            source,
        })?);
    }
    built.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(built)
}

/// The components `deploy` must build before pushing: those with a build whose file is
/// missing or older than one of its inputs.
pub fn outdated(app: &App) -> Vec<String> {
    app.components
        .values()
        .filter(|c| {
            c.build.is_some()
                && (!app.resolve(&c.source).exists()
                    || stale_input(app, c, Profile::Release).is_some())
        })
        .map(|c| c.id.clone())
        .collect()
}

/// Validates a component's current file for `profile` without building anything.
pub fn check_source(
    app: &App,
    component: &Component,
    profile: Profile,
) -> Result<ValidComponent, BuildError> {
    read_checked(app, component, profile).map(|checked| checked.valid)
}

/// [`check_source`], keeping what it found: the file's hash, and its bytes if it had to
/// read them ([`crate::validated::check_file`]), so that serving them does not read and
/// hash a big component again.
pub fn read_checked(
    app: &App,
    component: &Component,
    profile: Profile,
) -> Result<CheckedFile, BuildError> {
    let source = component_path(app, component, profile);
    crate::validated::check_file(&source, crate::limits::COMPONENT, |error| {
        match read_error(component, &source, Reading::WithoutBuilding(profile), error) {
            // Inside the app: shown relative to it, as the manifest writes paths.
            BuildError::NotBuilt {
                component,
                path,
                profile,
            } => BuildError::NotBuilt {
                component,
                path: path
                    .strip_prefix(&app.dir)
                    .map(Path::to_path_buf)
                    .unwrap_or(path),
                profile,
            },
            other => other,
        }
    })
}

enum Produced {
    /// cargo reported this `.wasm` artifact.
    CargoArtifact(PathBuf),
    /// The manifest's `source` holds the result.
    Source,
}

/// When a component's file is read: right after its build, or to check what is there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    AfterBuild,
    /// Checking the build of this profile that is already there.
    WithoutBuilding(Profile),
}

fn read_source(
    component: &Component,
    source: &Path,
    reading: Reading,
) -> Result<Vec<u8>, BuildError> {
    read_component(source).map_err(|error| read_error(component, source, reading, error))
}

/// A failure to read a component's file, worded by what was expected of it.
fn read_error(
    component: &Component,
    source: &Path,
    reading: Reading,
    error: crate::limits::ReadError,
) -> BuildError {
    if error.io_kind() == Some(std::io::ErrorKind::NotFound) {
        if let (Some(_), Reading::WithoutBuilding(profile)) = (&component.build, reading) {
            return BuildError::NotBuilt {
                component: component.id.clone(),
                path: source.to_path_buf(),
                profile,
            };
        }
        let hint = match &component.build {
            Some(_) => "its build finished without producing it; fix `source` in wasmctl.toml, or the build so it writes there".to_string(),
            None => format!(
                "component `{}` has no build table, so wasmctl cannot build it: fix the path, build the file yourself, or add a `[component.{}.build]` table",
                component.id, component.id
            ),
        };
        BuildError::SourceMissing {
            component: component.id.clone(),
            path: source.to_path_buf(),
            hint,
        }
    } else {
        BuildError::Read(error)
    }
}

/// Reads a component or core module: a regular file, at most [`crate::limits::COMPONENT`].
pub fn read_component(path: &Path) -> Result<Vec<u8>, crate::limits::ReadError> {
    crate::limits::read_file(path, crate::limits::COMPONENT)
}

/// The component for a cargo artifact: the artifact itself, or for a core module a
/// `NAME.component.wasm` written next to it (re-encoded only when the module changed).
fn component_for_artifact(
    artifact: &Path,
    on_event: &mut dyn FnMut(BuildEvent<'_>),
) -> Result<(PathBuf, Vec<u8>, bool), BuildError> {
    let read = |path: &Path| read_component(path).map_err(BuildError::Read);
    let bytes = read(artifact)?;
    if component::kind(artifact, &bytes)? == WasmKind::Component {
        return Ok((artifact.to_path_buf(), bytes, false));
    }
    let wrapped_path = artifact.with_extension("component.wasm");
    if is_newer(&wrapped_path, artifact) {
        return Ok((wrapped_path.clone(), read(&wrapped_path)?, true));
    }
    on_event(BuildEvent::Step(Step::Componentizing));
    let wrapped = component::componentize(artifact, &bytes)?;
    write(&wrapped_path, &wrapped)?;
    Ok((wrapped_path, wrapped, true))
}

fn is_newer(path: &Path, than: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(path), modified(than)), (Some(a), Some(b)) if a >= b)
}

/// Writes to a temporary file beside `path` (creating its directory), then renames it
/// over: a full disk or a killed build never leaves half a component behind (and a core
/// module componentized in place is intact until its component is complete). A symlink
/// at `path` is replaced, never followed.
fn write(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let failed = |source: std::io::Error| BuildError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut file = crate::fs_tree::staging_file(".wasmctl-build-")
        .tempfile_in(dir)
        .map_err(failed)?;
    std::io::Write::write_all(&mut file, bytes).map_err(failed)?;
    file.persist(path).map_err(|error| failed(error.error))?;
    Ok(())
}

/// Whether two paths name one file (cargo put its artifact right at `source`).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Runs `program` in `workdir`, streaming its output; `command` is how a person would
/// type it, for errors.
fn run_streamed(
    program: &mut Command,
    command: &str,
    workdir: &Path,
    output_shown: bool,
    on_event: &mut dyn FnMut(BuildEvent<'_>),
) -> Result<(), BuildError> {
    let mut tail = Tail::default();
    let status = run_lines(program.current_dir(workdir), |line| {
        let (Line::Stdout(text) | Line::Stderr(text)) = &line;
        tail.push(text);
        on_event(BuildEvent::Output(text));
    })
    .map_err(|source| BuildError::Spawn {
        command: command.to_string(),
        dir: workdir.to_path_buf(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::Failed {
            command: command.to_string(),
            dir: workdir.to_path_buf(),
            status: status.to_string(),
            tail: (!output_shown).then_some(tail),
        })
    }
}

/// The newest input file (matched by the build's `watch` globs) that changed after the
/// component's file for `profile` was written, if any; `None` also when nothing is
/// watched or the file does not exist.
pub fn stale_input(app: &App, component: &Component, profile: Profile) -> Option<PathBuf> {
    let build = component.build.as_ref()?;
    let built_at = std::fs::metadata(component_path(app, component, profile))
        .and_then(|m| m.modified())
        .ok()?;
    let workdir = app.resolve(&build.workdir);
    build
        .watch
        .iter()
        .filter_map(|pattern| glob::glob(&workdir.join(pattern).to_string_lossy()).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|path| {
            Some((
                std::fs::metadata(&path).and_then(|m| m.modified()).ok()?,
                path,
            ))
        })
        .filter(|(modified, _)| *modified > built_at)
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, path)| path)
}
