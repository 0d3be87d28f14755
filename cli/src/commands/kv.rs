//! `wasmctl kv get|set|list|delete`: an app's key-value stores from the command line,
//! while it is served or not (SQLite's WAL lets both at once; Redis serves many clients).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Subcommand};
use wasmctl::hint::Hinted;
use wasmctl::manifest::DEFAULT_STORE;
use wasmctl_host::keyvalue::Store;
use wasmctl_serve::state::{self, StateDir};

use super::{JsonArgs, ManifestArgs};
use crate::ui::Ui;

/// `wasmctl kv ...`
#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:\n  \
    wasmctl kv list                       # the keys of the default store\n  \
    wasmctl kv get count                  # one value, as stored\n  \
    wasmctl kv set greeting hello\n  \
    wasmctl kv delete greeting\n  \
    wasmctl kv list --state-dir /srv/state\n  \
    wasmctl kv get count --runtime-config runtime-config.toml   # a store on Redis\n\n\
    The stores live in .wasmctl/state/ of the app (one SQLite file per store), or in the\n\
    directory `up --state-dir` was given, or where `up --runtime-config` puts them\n\
    (Redis; docs/state.md); they can be read and changed while `up` serves.")]
pub(crate) enum KvCommand {
    /// Print the value of KEY (exit 1 if it is not set)
    Get {
        /// The key
        key: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        format: JsonArgs,
    },
    /// Set KEY to VALUE
    Set {
        /// The key
        key: String,
        /// The value, stored as these bytes (UTF-8)
        value: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print every key, in byte order, one a line
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        format: JsonArgs,
    },
    /// Remove KEY (no error if it is not set)
    Delete {
        /// The key
        key: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Which store: its label, and where the stores are.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The store's label, as in `key_value_stores`
    #[arg(long, value_name = "LABEL", default_value = DEFAULT_STORE)]
    store: String,
    /// The directory of the stores, as given to `up --state-dir` (default: .wasmctl/state
    /// of the app)
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// The runtime config given to `up --runtime-config` (Spin's runtime-config.toml),
    /// for a store it puts on Redis or in another SQLite file
    #[arg(long, value_name = "FILE")]
    runtime_config: Option<PathBuf>,
    #[command(flatten)]
    manifest: ManifestArgs,
}

impl StoreArgs {
    /// The store, opened. Only a write (`create`) makes a SQLite store that is not there
    /// yet: reading a mistyped `--state-dir` must say so, not show an empty store.
    fn open(&self, create: bool) -> Result<Arc<dyn Store>> {
        let runtime = self
            .runtime_config
            .as_deref()
            .map(wasmctl::runtime_config::load)
            .transpose()?;
        let state = match &self.state_dir {
            Some(dir) => StateDir::new(dir, Some(dir.as_path())),
            None => {
                let manifest = self.manifest.path()?;
                let app_dir = manifest
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."));
                StateDir::new(&app_dir, None)
            }
        };
        state::check_label(&self.store)?;
        if !create
            && let Some(file) = state::sqlite_file(&self.store, &state, runtime.as_ref())
            && std::fs::symlink_metadata(&file).is_err()
        {
            return Err(Hinted::new(
                format!(
                    "store `{}` holds nothing yet: `{}` does not exist",
                    self.store,
                    file.display()
                ),
                "run this in the app's directory (or give `--state-dir` as `up` was given it); `wasmctl kv set` or a served request creates the store",
            )
            .into());
        }
        state::open_store(&self.store, &state, runtime.as_ref())
    }
}

impl KvCommand {
    pub(crate) fn json(&self) -> bool {
        match self {
            KvCommand::Get { format, .. } | KvCommand::List { format, .. } => format.json,
            KvCommand::Set { .. } | KvCommand::Delete { .. } => false,
        }
    }

    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        match self {
            KvCommand::Get { key, store, format } => {
                let value = store.open(false)?.get(&key)?;
                let Some(value) = value else {
                    return Err(Hinted::new(
                        format!("key `{key}` is not set in store `{}`", store.store),
                        "`wasmctl kv list` shows the keys that are",
                    )
                    .into());
                };
                if format.json {
                    // Text as a string; anything else as its bytes.
                    return match std::str::from_utf8(&value) {
                        Ok(text) => ui.json(&serde_json::json!({ "key": key, "value": text })),
                        Err(_) => ui.json(&serde_json::json!({ "key": key, "bytes": value })),
                    };
                }
                ui.output(&value)?;
                if !value.ends_with(b"\n") {
                    ui.output(b"\n")?;
                }
                Ok(())
            }
            KvCommand::Set { key, value, store } => {
                state::check_key(&key)?;
                store.open(true)?.set(&key, value.as_bytes())?;
                ui.status("Set", format!("`{key}` in store `{}`", store.store));
                Ok(())
            }
            KvCommand::List { store, format } => {
                let keys = state::all_keys(&*store.open(false)?)?;
                if format.json {
                    return ui.json(&serde_json::json!({ "store": store.store, "keys": keys }));
                }
                for key in keys {
                    ui.result(key)?;
                }
                Ok(())
            }
            KvCommand::Delete { key, store } => {
                store.open(false)?.delete(&key)?;
                ui.status("Deleted", format!("`{key}` from store `{}`", store.store));
                Ok(())
            }
        }
    }
}
