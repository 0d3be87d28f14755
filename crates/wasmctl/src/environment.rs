//! Every environment variable wasmctl reads, in one place: [`VARIABLES`] here, and the
//! `WASMCTL_MAX_*` variable of each limit on untrusted input in [`crate::limits::ALL`].
//! `docs/environment.md` is rendered from both (a test keeps it equal), and a test finds
//! every `WASMCTL_` name in the sources and asks that it be listed.

/// One variable wasmctl reads.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    /// The variable's name, one of the constants of this module (or, for a family of
    /// variables, its prefix followed by `<NAME>`).
    pub name: &'static str,
    /// What setting it does, in one sentence.
    pub effect: &'static str,
    /// What happens when it is unset.
    pub unset: &'static str,
}

/// Overrides the directory of installed templates ([`crate::dirs::data_root`]).
pub const DATA_DIR: &str = "WASMCTL_DATA_DIR";
/// Overrides the cache directory ([`crate::dirs::cache_root`]).
pub const CACHE_DIR: &str = "WASMCTL_CACHE_DIR";
/// Overrides the directory of the registry credentials file ([`crate::dirs::config_root`]).
pub const CONFIG_DIR: &str = "WASMCTL_CONFIG_DIR";
/// Turns colours off when set to anything but the empty string (no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// The log filter, which wins over `-v`.
pub const RUST_LOG: &str = "RUST_LOG";
/// The cargo to run instead of the one on `PATH`.
pub const CARGO: &str = "CARGO";
/// The rustc to run instead of the one on `PATH`.
pub const RUSTC: &str = "RUSTC";
/// Docker's configuration directory, where registry credentials are also looked up.
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";

/// The prefix of the environment variables that give an app variable its value:
/// `WASMCTL_VARIABLE_` and the variable's name in upper case ([`crate::variables`]).
pub const VARIABLE_PREFIX: &str = "WASMCTL_VARIABLE_";
/// Spin's prefix for the same, read after wasmctl's own, so a Spin app's environment works.
pub const SPIN_VARIABLE_PREFIX: &str = "SPIN_VARIABLE_";

/// Every variable wasmctl reads but the limits' `WASMCTL_MAX_*`, in the order
/// `docs/environment.md` lists them.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: DATA_DIR,
        effect: "Where installed templates live (`wasmctl templates install`).",
        unset: "the platform's data directory (`~/.local/share/wasmctl` on Linux).",
    },
    Variable {
        name: CACHE_DIR,
        effect: "Where compiled components, records of components already validated (and of component files, by identity, with their hashes), and pulled OCI blobs and apps are cached; safe to delete.",
        unset: "the platform's cache directory (`~/.cache/wasmctl` on Linux).",
    },
    Variable {
        name: CONFIG_DIR,
        effect: "Where `wasmctl registry login` keeps credentials (a file of mode 0600).",
        unset: "the platform's config directory (`~/.config/wasmctl` on Linux).",
    },
    Variable {
        name: DOCKER_CONFIG,
        effect: "The Docker configuration directory whose `config.json` (and credential helpers) wasmctl reads for registry logins it does not hold itself.",
        unset: "`~/.docker`.",
    },
    Variable {
        name: "WASMCTL_VARIABLE_<NAME>",
        effect: "The value of app variable `<name>` (`[variables]` of wasmctl.toml) for `up`, and of a non-secret one for `deploy --kube`'s ConfigMap; below `--variable` and above a `.env` line of the same name and the manifest's `default`.",
        unset: "`SPIN_VARIABLE_<NAME>`, then `.env`, then the default; a required variable without a value stops `up` (and `deploy --kube`, for a non-secret one).",
    },
    Variable {
        name: "SPIN_VARIABLE_<NAME>",
        effect: "Spin's name for the same, read when `WASMCTL_VARIABLE_<NAME>` is unset.",
        unset: "a `.env` line, then the default.",
    },
    Variable {
        name: NO_COLOR,
        effect: "Any non-empty value turns colours off, as `--color never` does (no-color.org).",
        unset: "colours on a terminal only (`--color auto`).",
    },
    Variable {
        name: RUST_LOG,
        effect: "Log filter for wasmctl's and its libraries' logs on stderr, e.g. `wasmctl=debug,wasmtime=info`; wins over `-v`.",
        unset: "warnings only; `-v` shows info, `-vv` debug logs of wasmctl.",
    },
    Variable {
        name: CARGO,
        effect: "The cargo that `wasmctl build` and `doctor` run.",
        unset: "`cargo` from `PATH`.",
    },
    Variable {
        name: RUSTC,
        effect: "The rustc that `doctor` asks for its sysroot (where installed targets live).",
        unset: "`rustc` from `PATH`.",
    },
];

/// `docs/environment.md`.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated from crates/wasmctl/src/environment.rs: do not edit by hand.\n     \
         After changing a variable: WASMCTL_UPDATE_DOCS=1 cargo test -p wasmctl --lib environment -->\n\n\
         # Environment variables\n\n\
         Every environment variable wasmctl itself reads. Guests never see the host's \
         environment: a component gets only its manifest's `environment` and `up --env`.\n\n\
         | variable | what it sets | when unset |\n|---|---|---|\n",
    );
    for variable in VARIABLES {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            variable.name, variable.effect, variable.unset
        ));
    }
    out.push_str(
        "\n## Limits on untrusted input\n\n\
         Each limit takes a size (`512MiB`, `2GB`) or a count; docs/hardening.md says where \
         each applies and why its default is what it is.\n\n\
         | variable | bounds | default |\n|---|---|---|\n",
    );
    for limit in crate::limits::ALL {
        out.push_str(&format!(
            "| `{}` | {} ({}) | {} |\n",
            limit.variable,
            limit.what,
            match limit.unit {
                crate::limits::Unit::Bytes => "size",
                crate::limits::Unit::Entries => "entries",
            },
            limit.show(limit.default)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// Whether wasmctl reads the variable `name`.
    fn is_listed(name: &str) -> bool {
        VARIABLES.iter().any(|v| v.name == name)
            || crate::limits::ALL
                .iter()
                .any(|limit| limit.variable == name)
    }

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_variable_prefixes_are_listed() {
        for prefix in [VARIABLE_PREFIX, SPIN_VARIABLE_PREFIX] {
            assert!(is_listed(&format!("{prefix}<NAME>")), "{prefix}<NAME>");
        }
        assert_eq!(
            crate::variables::environment_names("api_token"),
            ["WASMCTL_VARIABLE_API_TOKEN", "SPIN_VARIABLE_API_TOKEN"]
        );
    }

    #[test]
    fn the_docs_list_every_variable() {
        let docs = workspace_root().join("docs/environment.md");
        let rendered = render_markdown();
        if std::env::var_os("WASMCTL_UPDATE_DOCS").is_some_and(|v| v == "1") {
            std::fs::write(&docs, &rendered).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&docs).unwrap_or_default(),
            rendered,
            "docs/environment.md is not what crates/wasmctl/src/environment.rs renders; run \
             `WASMCTL_UPDATE_DOCS=1 cargo test -p wasmctl --lib environment`"
        );
    }

    /// A `WASMCTL_` name anywhere in the sources of the binary, the library or the host
    /// is one this module lists (tests' own variables aside).
    #[test]
    fn every_wasmctl_variable_in_the_sources_is_listed() {
        let name = regex::Regex::new(r#""(WASMCTL_[A-Z0-9_]+)""#).unwrap();
        let tests = regex::Regex::new(r"#\[cfg\([^\]]*\btest\b").unwrap();
        let mut unlisted = Vec::new();
        let mut pending = vec![
            workspace_root().join("cli/src"),
            workspace_root().join("crates/wasmctl/src"),
            workspace_root().join("crates/manifest/src"),
            workspace_root().join("host/src"),
        ];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let is_test = path
                    .file_name()
                    .is_some_and(|file| file == "tests.rs" || file == "environment.rs");
                if path.extension().is_none_or(|ext| ext != "rs") || is_test {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Unit tests at the end of a file may set variables of their own.
                let code = tests.split(&text).next().unwrap_or(&text);
                for found in name.captures_iter(code) {
                    if !is_listed(&found[1]) {
                        unlisted.push(format!("{} in {}", &found[1], path.display()));
                    }
                }
            }
        }
        assert!(
            unlisted.is_empty(),
            "list these in crates/wasmctl/src/environment.rs: {unlisted:?}"
        );
    }
}
