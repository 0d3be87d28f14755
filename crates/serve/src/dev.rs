//! The dev loop behind `wasmctl up --watch` (and `wasmctl watch`): build, serve, and on
//! every save rebuild what changed, then swap it into the running server: requests in
//! flight finish on the old version, new ones get the new one, the socket stays open. A
//! failed build keeps the last good version serving.
//!
//! The loop decides; the binary renders what it reports through [`DevReport`].

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wasmctl::build::{BuildOptions, BuildProgress, build_app};
use wasmctl::files::FileStage;
use wasmctl::hint::Hinted;
use wasmctl::manifest::{self, App, Route};
use wasmctl::variables::{self, Resolved};
use wasmctl::watch::{Changes, WatchError, WatchPlan, Watcher};
use wasmctl_host::{Compilation, Host};

use crate::{ServeSettings, Served, explain_load_error};

/// Saves closer together than this are one rebuild (an editor writes a file in steps;
/// "save all" touches several).
const DEBOUNCE: Duration = Duration::from_millis(100);

/// How often the loop looks up from waiting to see whether the server stopped.
const POLL: Duration = Duration::from_millis(250);

/// What the dev loop tells the user about, as it happens.
pub trait DevReport {
    /// Where builds report their progress.
    fn builds(&mut self) -> &mut dyn BuildProgress;
    /// Saves were seen; a rebuild follows.
    fn changed(&mut self, changes: &Changes);
    /// A build, the manifest or the load into the host failed; what was served before
    /// (if anything: not after a failed first build) keeps serving.
    fn failed(&mut self, error: &anyhow::Error);
    /// The file watcher had a problem it goes on after.
    fn watch_trouble(&mut self, error: &dyn std::error::Error);
    /// What `changes` led to is being served now.
    fn reloaded(&mut self, changes: &Changes, timing: &Timing);
    /// Nothing was swapped in, and why.
    fn kept(&mut self, why: Kept);
    /// The manifest's routes changed. An error (stdout is gone) ends the loop.
    fn routes_changed(&mut self, routes: &[(Route, String)]) -> Result<()>;
}

/// Why a batch of saves did not change what is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// A build (or the load into the host) failed.
    BuildFailed,
    /// `wasmctl.toml` does not load.
    ManifestInvalid,
    /// `wasmctl.toml` loads, but its variables cannot be given values (a new required
    /// variable, say).
    VariablesUnresolved,
}

/// Where a reload's time went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Building (cargo or the build command) and validating.
    pub build: Duration,
    /// Compiling (or loading from the cache) the components whose bytes changed.
    pub compile: Duration,
    /// The rest of the load: instantiating each component once, the route table, and
    /// the atomic switch.
    pub swap: Duration,
}

/// The app as last loaded from the manifest, what is watched, and what still needs a
/// successful build.
pub struct DevLoop {
    settings: ServeSettings,
    options: BuildOptions,
    app: App,
    /// The values of `app`'s variables.
    variables: Resolved,
    plan: WatchPlan,
    watcher: Watcher,
    /// Components that still need a good build (their last build failed, or they
    /// changed while the manifest was broken): rebuilt with every change until they pass.
    failed: BTreeSet<String>,
    /// The copies of file selections served, a generation per load.
    stage: FileStage,
}

impl DevLoop {
    /// Starts watching `app`'s files: before the first build, so a save during it is
    /// not missed. Fails when the app's variables cannot be given values. Builds are of
    /// `settings.profile`, the profile served, whatever
    /// `options.profile` says.
    pub fn new(app: App, settings: ServeSettings, options: BuildOptions) -> Result<DevLoop> {
        let options = BuildOptions {
            profile: settings.profile,
            ..options
        };
        let variables = variables::resolve(&app, &settings.variables)?;
        let plan = WatchPlan::for_app(&app);
        let mut watcher = Watcher::new(DEBOUNCE).context("starting the file watcher")?;
        watcher.follow(&plan).context("watching the app's files")?;
        Ok(DevLoop {
            settings,
            options,
            app,
            variables,
            plan,
            watcher,
            failed: BTreeSet::new(),
            stage: FileStage::default(),
        })
    }

    /// The app as last loaded.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// What is served for the app as last loaded.
    pub fn served(&self) -> Served {
        Served::app(&self.app, self.settings.profile, self.variables.clone())
    }

    /// Builds every component and loads the app into `host`; `None` when something
    /// failed (reported), and the app is not served until a save fixes it.
    pub fn build_all(&mut self, host: &Host, report: &mut dyn DevReport) -> Option<Timing> {
        let everything: BTreeSet<String> = self.app.components.keys().cloned().collect();
        self.rebuild(host, &everything, report)
    }

    /// Reacts to saves until `stopped` says the server is gone. Fails when the watcher
    /// itself stopped for good, or `report` could not show new routes.
    pub fn run(
        &mut self,
        host: &Host,
        stopped: &dyn Fn() -> bool,
        report: &mut dyn DevReport,
    ) -> Result<()> {
        while !stopped() {
            let paths = match self.watcher.next(POLL) {
                Ok(Some(paths)) => paths,
                Ok(None) => continue,
                Err(error @ WatchError::Stopped) => {
                    // Nothing will ever arrive again: say so rather than serve blind.
                    return Err(Hinted::new(
                        "the dev loop cannot see saves any more",
                        "restart `wasmctl up --watch`",
                    )
                    .because(error)
                    .into());
                }
                Err(error) => {
                    report.watch_trouble(&error);
                    continue;
                }
            };
            let changes = self.plan.classify(&paths);
            if !changes.is_empty() {
                report.changed(&changes);
                let routes_before = self.served().routes;
                self.apply(host, &changes, report);
                let routes = self.served().routes;
                if routes != routes_before {
                    report.routes_changed(&routes)?;
                }
            }
            // Directories come and go (a new module folder, a `git checkout`) and a changed
            // manifest may bring new globs: watch what the plan needs now.
            if let Err(error) = self.watcher.follow(&self.plan) {
                report.watch_trouble(&error);
            }
        }
        Ok(())
    }

    /// Reacts to one batch of changes: reload the manifest if it changed, rebuild the
    /// affected components, swap the result in.
    fn apply(&mut self, host: &Host, changes: &Changes, report: &mut dyn DevReport) {
        let mut to_build = changes.components.clone();
        if changes.manifest {
            let reloaded = match manifest::load(&self.app.manifest_path) {
                Err(error) => Err((anyhow::Error::from(error), Kept::ManifestInvalid)),
                Ok(app) => match variables::resolve(&app, &self.settings.variables) {
                    Ok(values) => Ok((app, values)),
                    Err(error) => Err((error.into(), Kept::VariablesUnresolved)),
                },
            };
            match reloaded {
                Ok((app, values)) => {
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
                    self.variables = values;
                }
                Err((error, kept)) => {
                    // Their edits are not lost: they are built once the manifest is fixed.
                    self.failed.extend(changes.components.iter().cloned());
                    report.failed(&error);
                    report.kept(kept);
                    return;
                }
            }
        }
        match self.rebuild(host, &to_build, report) {
            Some(timing) => report.reloaded(changes, &timing),
            None => report.kept(Kept::BuildFailed),
        }
    }

    /// Builds `ids` and every component whose last build failed, then loads the app
    /// into the host. Failures are reported; `None` means nothing was swapped in.
    fn rebuild(
        &mut self,
        host: &Host,
        ids: &BTreeSet<String>,
        report: &mut dyn DevReport,
    ) -> Option<Timing> {
        let started = Instant::now();
        let pending: BTreeSet<String> = ids.union(&self.failed).cloned().collect();
        for id in pending {
            if !self.app.components.contains_key(&id) {
                continue;
            }
            let built = build_app(
                &self.app,
                std::slice::from_ref(&id),
                self.options,
                report.builds(),
            );
            match built {
                Ok(_) => {
                    self.failed.remove(&id);
                }
                Err(error) => {
                    report.failed(&error.into());
                    self.failed.insert(id);
                }
            }
        }
        if !self.failed.is_empty() {
            return None;
        }
        let build = started.elapsed();
        let started = Instant::now();
        let config = match self.served().host_config(&self.settings, &mut self.stage) {
            Ok(config) => config,
            Err(error) => {
                report.failed(&error);
                return None;
            }
        };
        match host.load(config) {
            Ok(reports) => {
                self.stage.served();
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
                report.failed(&explain_load_error(error));
                None
            }
        }
    }
}
