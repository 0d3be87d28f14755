//! `cargo xtask boundaries`: the library crates stay free of the terminal. The binary
//! (`wasmctl-cli`) may use clap, dialoguer, console and indicatif; `wasmctl`,
//! `wasmctl-manifest`, `wasmctl-serve` and `wasmctl-host` may not, not even through a
//! dependency, and the manifest crate (what the fuzz targets build on) has no Wasmtime,
//! hyper or tokio. Within the binary, no command module imports another (cargo's rule:
//! commands are thin wrappers over library operations, and never call each other).
//!
//! `wasmctl-test-support` is not one of those libraries: it is test tooling (a
//! dev-dependency of the binary's tests and a dependency of xtask) and may use whatever a
//! test needs. What it must never be is linked into the binary.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::root;

/// Crates that belong to the command line and the terminal.
const TERMINAL: [&str; 6] = [
    "clap",
    "clap_complete",
    "dialoguer",
    "console",
    "indicatif",
    "tracing-subscriber",
];

/// Test tooling: the harness the end-to-end tests and xtask share.
const TEST_SUPPORT: &str = "wasmctl-test-support";

/// Crates the manifest crate must not pull in: the server's.
const SERVER: [&str; 5] = [
    "wasmtime",
    "cranelift-codegen",
    "hyper",
    "tokio",
    "wasmctl-host",
];

pub(crate) fn run() -> Result<()> {
    let mut problems = Vec::new();
    for library in [
        "wasmctl",
        "wasmctl-manifest",
        "wasmctl-serve",
        "wasmctl-host",
    ] {
        for found in dependencies(library)?
            .iter()
            .filter(|name| TERMINAL.contains(&name.as_str()))
        {
            problems.push(format!("{library} depends on {found}, a terminal crate"));
        }
    }
    for found in dependencies("wasmctl-manifest")?
        .iter()
        .filter(|name| SERVER.contains(&name.as_str()))
    {
        problems.push(format!(
            "wasmctl-manifest depends on {found}, a server crate"
        ));
    }
    // The binary's normal dependencies are everything linked into it, libraries included.
    if dependencies("wasmctl-cli")?
        .iter()
        .any(|name| name == TEST_SUPPORT)
    {
        problems.push(format!(
            "wasmctl-cli depends on {TEST_SUPPORT}, which is for tests and xtask only (a dev-dependency)"
        ));
    }
    problems.extend(commands_importing_commands()?);
    if !problems.is_empty() {
        bail!(
            "the crates crossed their boundaries:\n  {}\n(ARCHITECTURE.md says which crate owns what)",
            problems.join("\n  ")
        );
    }
    eprintln!(
        "xtask: boundaries hold (no terminal crate in the libraries, no server in the manifest, no test support in the binary, no command importing another)"
    );
    Ok(())
}

/// The names of every normal (not dev, not build) dependency of `package`, transitively.
fn dependencies(package: &str) -> Result<Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(&cargo)
        .args([
            "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .args(["-p", package])
        .current_dir(root())
        .output()
        .with_context(|| format!("running `{cargo} tree`"))?;
    if !output.status.success() {
        bail!(
            "`cargo tree -p {package}` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Modules of `cli/src/commands/` that are not commands but argument groups and input
/// rewriting that commands share.
const SHARED_MODULES: [&str; 2] = ["shorthand", "template_values"];

/// Each use of one command module by another, as `file:line: ...`.
fn commands_importing_commands() -> Result<Vec<String>> {
    let dir = root().join("cli/src/commands");
    let mut commands = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = match path.extension() {
            Some(extension) if extension == "rs" => path.file_stem(),
            None if path.join("mod.rs").is_file() => path.file_name(),
            _ => None,
        };
        if let Some(name) = name.and_then(|name| name.to_str())
            && name != "mod"
            && !SHARED_MODULES.contains(&name)
        {
            commands.push((name.to_string(), path));
        }
    }
    let mut problems = Vec::new();
    for (command, path) in &commands {
        // Each file of the command, and how it names the `commands` module: a command in a
        // directory reaches its siblings through `super::super::` from its submodules.
        let mut files = Vec::new();
        if path.is_dir() {
            for entry in std::fs::read_dir(path)? {
                let file = entry?.path();
                let parent = if file.file_name().is_some_and(|name| name == "mod.rs") {
                    "super::"
                } else {
                    "super::super::"
                };
                files.push((file, parent));
            }
        } else {
            files.push((path.clone(), "super::"));
        }
        for (file, parent) in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let shown = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .display()
                .to_string();
            for (line, used) in paths_used(&text, parent) {
                if let Some((other, _)) = commands
                    .iter()
                    .find(|(other, _)| other != command && used.contains(other))
                {
                    problems.push(format!(
                        "{shown}:{line}: command `{command}` uses command `{other}`"
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// The module names each path into `commands` starts with, by line: `use` statements
/// (however they are grouped or broken over lines) whose path starts at `parent` (how the
/// file names the `commands` module) or at `crate::commands::`, and paths such as
/// `super::build::build_app(...)` in code.
fn paths_used(text: &str, parent: &str) -> Vec<(usize, Vec<String>)> {
    let roots = [parent.to_string(), "crate::commands::".to_string()];
    let identifiers = |path: &str| -> Vec<String> {
        path.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|word| !word.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut found = Vec::new();
    let mut statement: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if statement.is_none() && (trimmed.starts_with("use ") || trimmed.starts_with("pub use ")) {
            statement = Some((number + 1, String::new()));
        }
        if let Some((start, mut text)) = statement.take() {
            text.push_str(trimmed);
            if !trimmed.contains(';') {
                statement = Some((start, text));
                continue;
            }
            let path: String = text
                .trim_start_matches("pub ")
                .trim_start_matches("use ")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if let Some(rest) = roots
                .iter()
                .find_map(|root| path.strip_prefix(root.as_str()))
            {
                found.push((start, identifiers(rest)));
            }
            continue;
        }
        for root in &roots {
            for (at, _) in line.match_indices(root.as_str()) {
                let rest = &line[at + root.len()..];
                let module: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if rest[module.len()..].starts_with("::") {
                    found.push((number + 1, vec![module]));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::paths_used;

    #[test]
    fn every_way_of_naming_a_command_module_is_seen() {
        let text = "use super::registry;\n\
                    use super::{\n    JsonArgs,\n    build,\n};\n\
                    use crate::commands::{up, deploy};\n\
                    fn f() { super::build::build_app(); crate::commands::new::run(); }\n\
                    use super::ManifestArgs;\n";
        let found = paths_used(text, "super::");
        assert_eq!(
            found,
            vec![
                (1, vec!["registry".to_string()]),
                (2, vec!["JsonArgs".to_string(), "build".to_string()]),
                (6, vec!["up".to_string(), "deploy".to_string()]),
                (7, vec!["build".to_string()]),
                (7, vec!["new".to_string()]),
                (8, vec!["ManifestArgs".to_string()]),
            ]
        );
    }
}
