//! The package install before a `command` build (`dependencies` in the build table): run
//! only when the packages are missing or older than the list they come from, so a warm
//! build costs a few `stat` calls, not a package manager's start-up.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use super::toolchain::{self, FoundTool};
use super::{BuildError, BuildEvent, Step, run_streamed};
use crate::manifest::{Dependencies, Tool};

/// Where `dependencies = "pip"` puts its virtual environment, in the build's `workdir`.
const VENV: &str = ".venv";
/// The requirements list a pip install reads, in the build's `workdir`.
const REQUIREMENTS: &str = "requirements.txt";
/// A copy of the requirements list last installed into the environment: the
/// environment is filled again when the list differs from it.
const INSTALLED_REQUIREMENTS: &str = ".venv/wasmctl-installed-requirements.txt";
/// Written (through a staged rename, never through a link) after each `npm install`
/// wasmctl ran: its age is the age of `node_modules/`. wasmctl's own, since npm leaves its
/// `.package-lock.json` alone when nothing changed, and makes no `node_modules/` at all for
/// a package.json without dependencies.
const NPM_STAMP: &str = "node_modules/.wasmctl-installed";

/// One build's package install.
pub(super) struct Install<'a> {
    pub kind: Dependencies,
    pub workdir: &'a Path,
    pub component: &'a str,
    /// The tools the build's requirements found (the install's own tool among them).
    pub found: &'a [FoundTool],
}

impl Install<'_> {
    /// Installs the packages when they are missing or stale.
    pub(super) fn run_if_stale(
        &self,
        output_shown: bool,
        on_event: &mut dyn FnMut(BuildEvent<'_>),
    ) -> Result<(), BuildError> {
        match self.kind {
            Dependencies::Npm => self.npm(output_shown, on_event),
            Dependencies::Pip => self.pip(output_shown, on_event),
        }
    }

    /// Sets up the build command's environment: a pip build runs with `.venv/bin` first
    /// on PATH and `VIRTUAL_ENV` set, as an activated environment would.
    pub(super) fn prepare(&self, command: &mut Command) {
        if self.kind != Dependencies::Pip {
            return;
        }
        let venv = self.workdir.join(VENV);
        let mut path = vec![venv.join("bin")];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        if let Ok(joined) = std::env::join_paths(path) {
            command.env("PATH", joined);
        }
        command.env("VIRTUAL_ENV", venv);
    }

    fn npm(
        &self,
        output_shown: bool,
        on_event: &mut dyn FnMut(BuildEvent<'_>),
    ) -> Result<(), BuildError> {
        let package_json = self.package_list("package.json")?;
        let stamp = self.workdir.join(NPM_STAMP);
        let installed_at = modified(&stamp);
        let lists = [package_json, self.workdir.join("package-lock.json")];
        let stale = match installed_at {
            None => true,
            Some(installed_at) => lists
                .iter()
                .any(|list| modified(list).is_some_and(|changed| changed > installed_at)),
        };
        if !stale {
            return Ok(());
        }
        let command = "npm install --no-audit --no-fund";
        on_event(BuildEvent::Step(Step::Installing(command)));
        run_streamed(
            Command::new("npm").args(["install", "--no-audit", "--no-fund"]),
            command,
            self.workdir,
            output_shown,
            on_event,
        )?;
        // Only once npm succeeded: a failed install is tried again next build.
        super::write(&stamp, b"")
    }

    fn pip(
        &self,
        output_shown: bool,
        on_event: &mut dyn FnMut(BuildEvent<'_>),
    ) -> Result<(), BuildError> {
        let requirements_path = self.package_list(REQUIREMENTS)?;
        let requirements = crate::limits::read_file(&requirements_path, crate::limits::TEXT_FILE)
            .map_err(BuildError::Read)?;
        let venv = self.workdir.join(VENV);
        let venv_python = venv.join("bin/python");
        if !venv_python.exists() {
            let python = self
                .found
                .iter()
                .find(|found| found.tool == Tool::Python3)
                .expect("a pip build's requirements include python3");
            toolchain::check_venv(python).map_err(|problem| BuildError::Toolchain {
                component: self.component.to_string(),
                problem,
            })?;
            // A virtual environment whose Python is gone (upgraded or uninstalled since)
            // is made again from scratch; `--clear` only on a real directory that is a
            // virtual environment, so a link or a stranger's directory is never emptied.
            let broken = std::fs::symlink_metadata(&venv).is_ok_and(|m| m.is_dir())
                && std::fs::symlink_metadata(venv.join("pyvenv.cfg")).is_ok_and(|m| m.is_file());
            let args: &[&str] = if broken {
                &["-m", "venv", "--clear", VENV]
            } else {
                &["-m", "venv", VENV]
            };
            let command = format!("python3 {}", args.join(" "));
            on_event(BuildEvent::Step(Step::Installing(&command)));
            run_streamed(
                Command::new("python3").args(args),
                &command,
                self.workdir,
                output_shown,
                on_event,
            )?;
        }
        let stamp = self.workdir.join(INSTALLED_REQUIREMENTS);
        let installed = crate::limits::read_file(&stamp, crate::limits::TEXT_FILE).ok();
        if installed.as_deref() == Some(requirements.as_slice()) {
            return Ok(());
        }
        let command = format!("{VENV}/bin/python -m pip install -r {REQUIREMENTS}");
        on_event(BuildEvent::Step(Step::Installing(&command)));
        run_streamed(
            Command::new(&venv_python).args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-r",
                REQUIREMENTS,
            ]),
            &command,
            self.workdir,
            output_shown,
            on_event,
        )?;
        // Written only once pip succeeded: a failed install is tried again next build.
        // Through a staged file, so a killed build cannot leave half a copy that matches.
        super::write(&stamp, &requirements)
    }

    /// The file listing the packages, which must exist.
    fn package_list(&self, name: &str) -> Result<PathBuf, BuildError> {
        let path = self.workdir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(BuildError::NoPackageList {
                dependencies: self.kind,
                path,
            })
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
