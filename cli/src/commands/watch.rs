//! `wasmctl up --watch` (and its alias `wasmctl watch`): the dev loop. Build, serve, and
//! on every save rebuild what changed, then swap it into the running server: requests in
//! flight finish on the old version, new ones get the new one, the socket stays open. A
//! failed build keeps the last good version serving.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmctl::manifest::{self, App};
use wasmctl::watch::{Changes, WatchError, WatchPlan, Watcher};
use wasmctl_host::{Compilation, Host};

use super::build::{build_one, format_duration};
use super::up::{Served, UpArgs, load_problem, print_routes, shutdown_signal};
use crate::ui::Ui;

/// Saves closer together than this are one rebuild (an editor writes a file in steps;
/// "save all" touches several).
const DEBOUNCE: Duration = Duration::from_millis(100);

/// How often the loop looks up from waiting to see whether the server stopped.
const POLL: Duration = Duration::from_millis(250);

pub fn run(args: UpArgs, ui: &Ui) -> Result<()> {
    if let Some(file) = &args.file {
        bail!(
            "--watch serves an app, not a single file (`{}`)\nhelp: run it in the app's directory, or give `--manifest PATH`",
            file.display()
        );
    }
    if args.from.is_some() {
        bail!("--watch rebuilds local sources; an app pulled with --from has none to watch");
    }
    let started = Instant::now();
    let app = args.manifest.load()?;
    let plan = WatchPlan::for_app(&app);
    // Watch before the first build, so a save during it is not missed.
    let mut watcher = Watcher::new(DEBOUNCE).context("starting the file watcher")?;
    watcher.follow(&plan).context("watching the app's files")?;

    let host = args.new_host(&app.dir, ui)?;
    let mut dev = DevLoop {
        args,
        ui,
        app,
        plan,
        failed: BTreeSet::new(),
    };
    let everything: BTreeSet<String> = dev.app.components.keys().cloned().collect();
    match dev.rebuild(&host, &everything) {
        Some(timing) => ui.status(
            "Built",
            format!(
                "{} ({timing})",
                everything.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        ),
        None => {
            ui.warn("the app is not served until a save fixes it (requests get 503 until then)")
        }
    }

    let server = dev.args.bind(host, started, ui)?;
    let host = server.host();
    let addr = server.local_addr();
    print_routes(addr, &Served::app(&dev.app, dev.args.profile()).routes, ui)?;
    ui.status("Watching", "for changes (Ctrl-C to stop)");
    let serving = std::thread::Builder::new()
        .name("wasmctl-server".into())
        .spawn(move || server.serve(shutdown_signal()))
        .context("starting the server thread")?;

    while !serving.is_finished() {
        let paths = match watcher.next(POLL) {
            Ok(Some(paths)) => paths,
            Ok(None) => continue,
            Err(error @ WatchError::Stopped) => {
                // Nothing will ever arrive again: say so rather than serve blind.
                return Err(anyhow::Error::new(error)).context(
                    "the dev loop cannot see saves any more
help: restart `wasmctl up --watch`",
                );
            }
            Err(error) => {
                ui.warn(format!("file watching: {error}"));
                continue;
            }
        };
        let changes = dev.plan.classify(&paths);
        if !changes.is_empty() {
            if dev.args.clear {
                let _ = console::Term::stderr().clear_screen();
            }
            let routes_before = Served::app(&dev.app, dev.args.profile()).routes;
            dev.apply(&host, &changes);
            let routes = Served::app(&dev.app, dev.args.profile()).routes;
            if routes != routes_before {
                print_routes(addr, &routes, ui)?;
            }
        }
        // Directories come and go (a new module folder, a `git checkout`) and a changed
        // manifest may bring new globs: watch what the plan needs now.
        if let Err(error) = watcher.follow(&dev.plan) {
            ui.warn(format!("file watching: {error}"));
        }
    }
    serving
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    ui.status("Stopped", "the server shut down");
    Ok(())
}

/// The app as last loaded from the manifest, and what still needs a successful build.
struct DevLoop<'a> {
    args: UpArgs,
    ui: &'a Ui,
    app: App,
    plan: WatchPlan,
    /// Components that still need a good build (their last build failed, or they
    /// changed while the manifest was broken): rebuilt with every change until they pass.
    failed: BTreeSet<String>,
}

impl DevLoop<'_> {
    /// Reacts to one batch of changes: reload the manifest if it changed, rebuild the
    /// affected components, swap the result in.
    fn apply(&mut self, host: &Host, changes: &Changes) {
        let mut to_build = changes.components.clone();
        if changes.manifest {
            match manifest::load(&self.app.manifest_path) {
                Ok(app) => {
                    // Components that are new, or whose source or build changed.
                    to_build.extend(
                        app.components
                            .values()
                            .filter(|new| {
                                self.app.components.get(&new.id).is_none_or(|old| {
                                    old.source != new.source || old.build != new.build
                                })
                            })
                            .map(|c| c.id.clone()),
                    );
                    to_build.retain(|id| app.components.contains_key(id));
                    self.failed.retain(|id| app.components.contains_key(id));
                    self.plan = WatchPlan::for_app(&app);
                    self.app = app;
                }
                Err(error) => {
                    // Their edits are not lost: they are built once the manifest is fixed.
                    self.failed.extend(changes.components.iter().cloned());
                    self.ui.error(&error.into());
                    self.ui
                        .warn("wasmctl.toml is invalid: the last good version keeps serving");
                    return;
                }
            }
        }
        if let Some(timing) = self.rebuild(host, &to_build) {
            self.ui
                .status("Reloaded", format!("{} ({timing})", describe(changes)));
        } else {
            self.ui
                .warn("the last good version keeps serving; save a fix to retry");
        }
    }

    /// Builds `ids` and every component whose last build failed, then loads the app
    /// into the host. Errors are printed; `None` means nothing was swapped in.
    fn rebuild(&mut self, host: &Host, ids: &BTreeSet<String>) -> Option<Timing> {
        let started = Instant::now();
        let pending: BTreeSet<String> = ids.union(&self.failed).cloned().collect();
        for id in &pending {
            let Some(component) = self.app.components.get(id) else {
                continue;
            };
            match build_one(&self.app, component, self.args.profile(), self.ui) {
                Ok(_) => {
                    self.failed.remove(id);
                }
                Err(error) => {
                    self.ui.error(&error);
                    self.failed.insert(id.clone());
                }
            }
        }
        if !self.failed.is_empty() {
            return None;
        }
        let build = started.elapsed();
        let started = Instant::now();
        match host.load(
            self.args
                .app_config(&Served::app(&self.app, self.args.profile())),
        ) {
            Ok(reports) => {
                // Components compile in parallel: the slowest is what the swap waited for.
                let compile = reports
                    .iter()
                    .filter(|report| report.compilation != Compilation::Unchanged)
                    .map(|report| report.elapsed)
                    .max()
                    .unwrap_or_default();
                Some(Timing {
                    build,
                    compile,
                    swap: started.elapsed().saturating_sub(compile),
                })
            }
            Err(error) => {
                self.ui.error(&load_problem(error));
                None
            }
        }
    }
}

/// Where a reload's time went.
struct Timing {
    /// Building (cargo or the build command) and validating.
    build: Duration,
    /// Compiling (or loading from the cache) the components whose bytes changed.
    compile: Duration,
    /// The rest of the load: instantiating each component once, the route table, and
    /// the atomic switch.
    swap: Duration,
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "build {}, compile {}, swap {}",
            format_duration(self.build),
            format_duration(self.compile),
            format_duration(self.swap)
        )
    }
}

/// `svc after src/main.rs changed`: what was rebuilt, and why.
fn describe(changes: &Changes) -> String {
    let mut what: Vec<&str> = changes.components.iter().map(String::as_str).collect();
    if changes.manifest && what.is_empty() {
        what.push("the app");
    }
    const SHOWN: usize = 3;
    let mut paths: Vec<String> = changes
        .paths
        .iter()
        .take(SHOWN)
        .map(|path| path.display().to_string())
        .collect();
    if changes.paths.len() > SHOWN {
        paths.push(format!("{} more", changes.paths.len() - SHOWN));
    }
    format!("{} after {} changed", what.join(", "), paths.join(", "))
}
