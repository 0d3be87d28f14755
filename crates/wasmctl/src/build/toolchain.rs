//! What the toolchains on this machine can do: the Rust toolchain cargo builds need, and
//! the tools a build table `requires` (node, npm, python3). `doctor` explains problems
//! before a build runs into them, and `build` checks a build's tools before it runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::hint::Hint;
use crate::manifest::{BuildSpec, Dependencies, Requirement, Tool, Version};
use crate::process::{ProbeError, probe};

/// `cargo --version`, or why it could not be run.
pub fn cargo_version() -> Result<String, String> {
    version_of(&std::env::var(crate::environment::CARGO).unwrap_or_else(|_| "cargo".to_string()))
}

/// `rustup --version` (rustup prints its own version on the first line).
pub fn rustup_version() -> Result<String, String> {
    version_of("rustup")
}

fn version_of(program: &str) -> Result<String, String> {
    let output = probe(Command::new(program).arg("--version"))
        .map_err(|e| format!("`{program} --version` {e}"))?;
    if !output.status.success() {
        return Err(format!("`{program} --version` failed ({})", output.status));
    }
    Ok(output
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// Whether the sysroot of the rustc that runs in `dir` has the standard library for
/// `target` (rustup picks the toolchain by `dir`'s `rust-toolchain.toml`).
///
/// Looking at the sysroot works with or without rustup, and costs one `rustc` call.
pub fn target_installed(target: &str, dir: &Path) -> Result<bool, String> {
    let rustc = std::env::var(crate::environment::RUSTC).unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("`{rustc}` could not be run: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{rustc} --print sysroot` failed ({})",
            output.status
        ));
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    Ok(sysroot
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir())
}

/// A tool a build requires, found on this machine.
#[derive(Debug, Clone)]
pub struct FoundTool {
    /// Which tool.
    pub tool: Tool,
    /// The version it reports.
    pub version: Version,
}

/// Why a tool a build requires cannot be used. The hint says how to install it on
/// Debian/Ubuntu and macOS.
#[derive(Debug, thiserror::Error)]
pub enum ToolProblem {
    /// Not on PATH.
    #[error("`{tool}` was not found on PATH")]
    Missing {
        /// The tool.
        tool: Tool,
        /// The requirement that asked for it, for the hint's version.
        requirement: Requirement,
    },
    /// It ran, but `TOOL --version` failed or printed no version.
    #[error("`{tool} --version` {problem}")]
    Broken {
        /// The tool.
        tool: Tool,
        /// What went wrong, as the end of a sentence.
        problem: String,
    },
    /// Older than the build requires.
    #[error("{tool} {found} is too old: the build requires {requirement}")]
    TooOld {
        /// The tool.
        tool: Tool,
        /// The version on this machine.
        found: Version,
        /// What the build requires.
        requirement: Requirement,
    },
    /// `dependencies = "pip"` needs Python's `venv` and `ensurepip` modules, which Debian
    /// and Ubuntu package apart from Python.
    #[error(
        "python3 {found} cannot make a virtual environment: its `venv`/`ensurepip` modules are missing"
    )]
    NoVenv {
        /// The Python version found.
        found: Version,
    },
}

impl ToolProblem {
    /// How to install or upgrade the tool.
    pub fn hint(&self) -> Hint {
        let (tool, requirement) = match self {
            ToolProblem::NoVenv { .. } => {
                return Hint::new(
                    "Debian/Ubuntu: `sudo apt-get install python3-venv`; macOS: `brew install python3` (Homebrew's Python has venv)",
                );
            }
            ToolProblem::Broken { tool, .. } => (*tool, None),
            ToolProblem::Missing { tool, requirement }
            | ToolProblem::TooOld {
                tool, requirement, ..
            } => (*tool, Some(requirement)),
        };
        let wanted = match requirement.and_then(|r| r.minimum.as_ref()) {
            Some(minimum) => format!("{tool} {minimum} or newer"),
            None => tool.to_string(),
        };
        Hint::new(match tool {
            Tool::Node => format!(
                "install {wanted}. Debian/Ubuntu: `sudo apt-get install nodejs npm` (Debian 12 and Ubuntu 22.04 ship Node 18 and 12; newer packages: https://nodejs.org/en/download); macOS: `brew install node`"
            ),
            Tool::Npm => format!(
                "install {wanted}. Debian/Ubuntu: `sudo apt-get install npm`; macOS: `brew install node` (npm comes with it)"
            ),
            Tool::Python3 => format!(
                "install {wanted}. Debian/Ubuntu: `sudo apt-get install python3 python3-venv`; macOS: `brew install python3`"
            ),
        })
    }
}

/// Finds `requirement`'s tool on PATH and checks its version (one `TOOL --version` run).
pub fn check(requirement: &Requirement) -> Result<FoundTool, ToolProblem> {
    let tool = requirement.tool;
    let output = match probe(Command::new(tool.name()).arg("--version")) {
        Ok(output) => output,
        Err(ProbeError::Spawn(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ToolProblem::Missing {
                tool,
                requirement: requirement.clone(),
            });
        }
        Err(error) => {
            return Err(ToolProblem::Broken {
                tool,
                problem: error.to_string(),
            });
        }
    };
    if !output.status.success() {
        return Err(ToolProblem::Broken {
            tool,
            problem: format!("failed ({})", output.status),
        });
    }
    // Python 2 printed its version on stderr; every tool here prints it on stdout.
    let version =
        Version::find_in(output.stdout.lines().next().unwrap_or_default()).ok_or_else(|| {
            ToolProblem::Broken {
                tool,
                problem: "printed no version".to_string(),
            }
        })?;
    if let Some(minimum) = &requirement.minimum
        && version < *minimum
    {
        return Err(ToolProblem::TooOld {
            tool,
            found: version,
            requirement: requirement.clone(),
        });
    }
    Ok(FoundTool { tool, version })
}

/// What a build needs from the machine: its `requires`, plus the tools its `dependencies`
/// install runs (npm needs node too) when `requires` does not name them.
pub fn requirements(build: &BuildSpec) -> Vec<Requirement> {
    let mut needed = build.requires.clone();
    let implied: &[Tool] = match build.dependencies {
        Some(Dependencies::Npm) => &[Tool::Node, Tool::Npm],
        Some(Dependencies::Pip) => &[Tool::Python3],
        None => &[],
    };
    for &tool in implied {
        if !needed.iter().any(|r| r.tool == tool) {
            needed.push(Requirement {
                tool,
                minimum: None,
            });
        }
    }
    needed
}

/// Whether `python3` can make a virtual environment (Debian's python3 without the
/// python3-venv package cannot).
pub fn check_venv(python: &FoundTool) -> Result<(), ToolProblem> {
    let usable = probe(Command::new(python.tool.name()).args(["-c", "import ensurepip, venv"]))
        .is_ok_and(|output| output.status.success());
    if usable {
        Ok(())
    } else {
        Err(ToolProblem::NoVenv {
            found: python.version.clone(),
        })
    }
}

/// One tool an app's builds need, the highest minimum any of them asks for, and which
/// components need it.
#[derive(Debug, Clone)]
pub struct AppRequirement {
    /// The tool and the highest minimum version asked for.
    pub requirement: Requirement,
    /// The ids of the components whose builds need it, in manifest order.
    pub components: Vec<String>,
    /// Some build needing it installs with `dependencies = "pip"`, so python3 must be able
    /// to make a virtual environment.
    pub needs_venv: bool,
}

/// What the app's builds need from the machine, one entry per tool in [`Tool::ALL`] order.
pub fn app_requirements(app: &crate::manifest::App) -> Vec<AppRequirement> {
    let mut merged: Vec<AppRequirement> = Vec::new();
    for component in app.components.values() {
        let Some(build) = &component.build else {
            continue;
        };
        for requirement in requirements(build) {
            let needs_venv =
                requirement.tool == Tool::Python3 && build.dependencies == Some(Dependencies::Pip);
            match merged
                .iter_mut()
                .find(|m| m.requirement.tool == requirement.tool)
            {
                Some(entry) => {
                    if requirement.minimum > entry.requirement.minimum {
                        entry.requirement.minimum = requirement.minimum;
                    }
                    entry.components.push(component.id.clone());
                    entry.needs_venv |= needs_venv;
                }
                None => merged.push(AppRequirement {
                    requirement,
                    components: vec![component.id.clone()],
                    needs_venv,
                }),
            }
        }
    }
    merged.sort_by_key(|m| m.requirement.tool);
    merged
}
