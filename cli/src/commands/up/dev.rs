//! The dev loop on the terminal: `wasmctl-serve`'s [`DevLoop`] decides what to rebuild
//! and swap in; this renders what it reports.

use std::time::Instant;

use anyhow::{Context, Result};
use wasmctl::build::BuildProgress;
use wasmctl::manifest::Route;
use wasmctl::watch::Changes;
use wasmctl_host::PendingEngine;
use wasmctl_serve::dev::{DevLoop, DevReport, Kept, Timing};

use super::output::shutdown_signal;
use super::{ServeArgs, print_routes};
use crate::ui::{BuildSpinners, Ui, format_duration};

pub(super) fn run(serve: &ServeArgs, clear: bool, ui: &Ui) -> Result<()> {
    let started = Instant::now();
    // Set up while the app is read and built: it needs nothing from it.
    let engine = PendingEngine::start(serve.max_instances);
    let app = serve.manifest.load()?;
    // Read once: the stores stay open for the loop's whole life, through every swap.
    let runtime = serve.runtime_config()?;
    let mut dev = DevLoop::new(app, serve.settings(), ui.build_options(serve.profile()))?;
    let host = serve.new_host(&dev.served(), true, runtime.as_ref(), engine, ui)?;
    let app_dir = dev.app().dir.clone();
    let mut report = Lines {
        ui,
        clear,
        spinners: ui.build_progress(&app_dir).without_built_lines(),
        addr: None,
    };
    let mut everything: Vec<String> = dev.app().components.keys().cloned().collect();
    everything.sort();
    match dev.build_all(&host, &mut report) {
        Some(timing) => ui.status(
            "Built",
            format!("{} ({})", everything.join(", "), describe_timing(&timing)),
        ),
        None => {
            ui.warn("the app is not served until a save fixes it (requests get 503 until then)")
        }
    }

    let server = serve.bind(host, started, ui)?;
    let host = server.host();
    let addr = server.local_addr();
    report.addr = Some(addr);
    print_routes(addr, &dev.served().routes, ui)?;
    ui.status("Watching", "for changes (Ctrl-C to stop)");
    let serving = std::thread::Builder::new()
        .name("wasmctl-server".into())
        .spawn(move || server.serve(shutdown_signal()))
        .context("starting the server thread")?;
    dev.run(&host, &|| serving.is_finished(), &mut report)?;
    serving
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    ui.status("Stopped", "the server shut down");
    Ok(())
}

/// The dev loop's reports as status lines, warnings and errors.
struct Lines<'a> {
    ui: &'a Ui,
    /// `--clear`: a clean screen before each rebuild.
    clear: bool,
    spinners: BuildSpinners<'a>,
    /// Where the server listens, once it does (routes are printed with it).
    addr: Option<std::net::SocketAddr>,
}

impl DevReport for Lines<'_> {
    fn builds(&mut self) -> &mut dyn BuildProgress {
        &mut self.spinners
    }

    fn changed(&mut self, _changes: &Changes) {
        if self.clear {
            let _ = console::Term::stderr().clear_screen();
        }
    }

    fn failed(&mut self, error: &anyhow::Error) {
        self.ui.error(error);
    }

    fn watch_trouble(&mut self, error: &dyn std::error::Error) {
        self.ui.warn(format!("file watching: {error}"));
    }

    fn reloaded(&mut self, changes: &Changes, timing: &Timing) {
        self.ui.status(
            "Reloaded",
            format!("{} ({})", describe(changes), describe_timing(timing)),
        );
    }

    fn kept(&mut self, why: Kept) {
        self.ui.warn(match why {
            Kept::BuildFailed => "the last good version keeps serving; save a fix to retry",
            Kept::ManifestInvalid => "the manifest is invalid: the last good version keeps serving",
            Kept::VariablesUnresolved => {
                "the app's variables lack values: the last good version keeps serving"
            }
        });
    }

    fn routes_changed(&mut self, routes: &[(Route, String)]) -> Result<()> {
        match self.addr {
            Some(addr) => print_routes(addr, routes, self.ui),
            None => Ok(()),
        }
    }
}

fn describe_timing(timing: &Timing) -> String {
    format!(
        "build {}, compile {}, swap {}",
        format_duration(timing.build),
        format_duration(timing.compile),
        format_duration(timing.swap)
    )
}

/// `svc after src/main.rs changed`: what was rebuilt, and why.
fn describe(changes: &Changes) -> String {
    let mut what: Vec<&str> = changes
        .components
        .union(&changes.files)
        .map(String::as_str)
        .collect();
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
