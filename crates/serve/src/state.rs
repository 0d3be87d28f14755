//! Where an app's key-value data lives, and its stores opened: for `up` (the stores its
//! components name) and for `wasmctl kv` (one store, to read or change from the command
//! line, while the app is served or not). A store is a SQLite file in the state
//! directory unless a runtime config (`--runtime-config`, Spin's format) puts it on
//! Redis or in another SQLite file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use wasmctl::hint::Hinted;
use wasmctl::manifest::DEFAULT_STORE;
use wasmctl::runtime_config::{RuntimeConfig, StoreBackend};
use wasmctl_host::keyvalue::{
    Cursor, KeyValueLimits, RedisStore, SqliteStore, Store, StoreError, Stores,
};

use crate::Served;

/// Where an app keeps its stores unless `--state-dir` says otherwise, relative to the app.
pub const STATE_DIR: &str = ".wasmctl/state";

/// The directory of an app's stores: one SQLite file per store, `LABEL.db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    /// A directory that may be a link (the app, or `--state-dir`)...
    root: PathBuf,
    /// ...and the part below it that wasmctl creates link by link.
    own: PathBuf,
}

impl StateDir {
    /// `--state-dir DIR` when given, else `.wasmctl/state` of the app in `app_dir`.
    pub fn new(app_dir: &Path, flag: Option<&Path>) -> StateDir {
        match flag {
            Some(dir) => StateDir {
                root: dir.to_path_buf(),
                own: PathBuf::new(),
            },
            None => StateDir {
                root: app_dir.to_path_buf(),
                own: PathBuf::from(STATE_DIR),
            },
        }
    }

    /// The directory.
    pub fn path(&self) -> PathBuf {
        self.root.join(&self.own)
    }

    /// The database file of store `label`.
    pub fn store_file(&self, label: &str) -> PathBuf {
        self.path().join(format!("{label}.db"))
    }

    /// Opens store `label`, creating the directory (link by link below the app: a link
    /// planted in `.wasmctl/` must not send the data elsewhere) and the file if absent.
    /// A label other than the stores wasmctl serves is refused, so no file is made for a
    /// typo.
    pub fn open(&self, label: &str) -> Result<SqliteStore> {
        check_label(label)?;
        let dir = wasmctl::fs_tree::create_own_dir(&self.root, &self.own).map_err(|error| {
            match error.downcast::<std::io::Error>() {
                Ok(io) => Hinted::new(
                    format!(
                        "cannot open key-value store `{label}`: its directory `{}` cannot be created",
                        self.path().display()
                    ),
                    format!(
                        "make {} writable, or keep the stores elsewhere with `--state-dir DIR`",
                        self.root.display()
                    ),
                )
                .because(io)
                .into(),
                // A link or a file where a directory belongs: its message says which.
                Err(error) => error.context(format!("opening key-value store `{label}`")),
            }
        })?;
        let file = dir.join(format!("{label}.db"));
        SqliteStore::open(&file).map_err(|error| unopenable(label, error))
    }
}

/// Refuses a label other than the stores wasmctl serves, so no file is made for a typo.
pub fn check_label(label: &str) -> Result<()> {
    if label != DEFAULT_STORE {
        return Err(Hinted::new(
            format!("unknown key-value store `{label}`"),
            format!("the one store wasmctl serves is `{DEFAULT_STORE}`"),
        )
        .into());
    }
    Ok(())
}

/// Opens store `label` where `runtime` puts it (Redis, or a SQLite file of its own), else
/// in `state`. A Redis that cannot be reached fails here, with the label and the URL
/// (its password redacted).
pub fn open_store(
    label: &str,
    state: &StateDir,
    runtime: Option<&RuntimeConfig>,
) -> Result<Arc<dyn Store>> {
    let Some((runtime, backend)) =
        runtime.and_then(|config| Some((config, config.key_value_stores.get(label)?)))
    else {
        return Ok(Arc::new(state.open(label)?));
    };
    check_label(label)?;
    match backend {
        StoreBackend::Redis(url) => {
            let shown = url.to_string();
            RedisStore::connect(url.expose(), &shown)
                .map(|store| Arc::new(store) as Arc<dyn Store>)
                .map_err(|error| {
                    Hinted::new(
                        format!("cannot open key-value store `{label}`"),
                        format!(
                            "start Redis there, or fix `url` of `[key_value_store.{label}]` in {}",
                            runtime.path.display()
                        ),
                    )
                    .because(error)
                    .into()
                })
        }
        StoreBackend::Spin { path: Some(path) } => SqliteStore::open(path)
            .map(|store| Arc::new(store) as Arc<dyn Store>)
            .map_err(|error| unopenable(label, error)),
        StoreBackend::Spin { path: None } => Ok(Arc::new(state.open(label)?)),
    }
}

/// The SQLite file store `label` lives in (in `state`, or where the runtime config puts
/// it); `None` for a store on Redis.
pub fn sqlite_file(
    label: &str,
    state: &StateDir,
    runtime: Option<&RuntimeConfig>,
) -> Option<PathBuf> {
    match runtime.and_then(|config| config.key_value_stores.get(label)) {
        Some(StoreBackend::Redis(_)) => None,
        Some(StoreBackend::Spin { path: Some(path) }) => Some(path.clone()),
        Some(StoreBackend::Spin { path: None }) | None => Some(state.store_file(label)),
    }
}

/// Why a store cannot be opened, with what to do about it.
fn unopenable(label: &str, error: StoreError) -> anyhow::Error {
    let help = match &error {
        StoreError::NotADatabase { path, .. }
        | StoreError::NotARegularFile { path, .. }
        | StoreError::Foreign { path, .. } => format!(
            "wasmctl left the file as it is; move it away (e.g. `mv {0} {0}.broken`) to start store `{label}` empty, or serve with `--state-dir DIR` elsewhere",
            path.display()
        ),
        StoreError::Unwritable { path, .. } => format!(
            "make {} and its directory writable, or keep the stores elsewhere with `--state-dir DIR`",
            path.display()
        ),
        _ => {
            return anyhow::Error::new(error).context(format!("opening key-value store `{label}`"));
        }
    };
    Hinted::new(format!("cannot open key-value store `{label}`"), help)
        .because(error)
        .into()
}

/// The stores of `served` (each label a component names), opened where `runtime` puts
/// them ([`open_store`]), and `seeds` set in the default store (opened for them if no
/// component names it). With `always_default` (the dev loop, where a save may grant it
/// later) the default store is opened anyway.
pub fn open_stores(
    served: &Served,
    state: &StateDir,
    runtime: Option<&RuntimeConfig>,
    seeds: &[(String, String)],
    always_default: bool,
) -> Result<Stores> {
    let mut labels: Vec<&str> = served
        .components
        .iter()
        .flat_map(|(component, _)| component.key_value_stores.iter().map(String::as_str))
        .collect();
    if always_default || !seeds.is_empty() {
        labels.push(DEFAULT_STORE);
    }
    labels.sort_unstable();
    labels.dedup();
    let mut stores = Stores::new();
    for label in labels {
        stores.insert(label.to_string(), open_store(label, state, runtime)?);
    }
    if let Some(store) = stores.get(DEFAULT_STORE) {
        for (key, value) in seeds {
            check_key(key)?;
            store.set(key, value.as_bytes()).map_err(|error| {
                anyhow::Error::new(error)
                    .context(format!("seeding key `{key}` of store `{DEFAULT_STORE}`"))
            })?;
        }
    }
    Ok(stores)
}

/// Every key of `store`, in byte order, a page at a time.
pub fn all_keys(store: &dyn Store) -> Result<Vec<String>, StoreError> {
    const PAGE: usize = 1000;
    let mut keys: Vec<String> = Vec::new();
    loop {
        let cursor = keys
            .last()
            .map_or(Cursor::Start, |last| Cursor::After(last.clone()));
        let page = store.list_keys(&cursor, PAGE)?;
        let done = page.len() < PAGE;
        keys.extend(page);
        if done {
            return Ok(keys);
        }
    }
}

/// A key wasmctl's stores take: at most [`KeyValueLimits::max_key_size`] bytes, as
/// guests are held to.
pub fn check_key(key: &str) -> Result<()> {
    let max = KeyValueLimits::default().max_key_size;
    if key.len() > max {
        return Err(Hinted::new(
            format!(
                "the key is {} bytes long, longer than a key may be",
                key.len()
            ),
            format!("use a key of at most {max} bytes"),
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dir_is_the_apps_unless_moved() {
        let app = Path::new("/app");
        assert_eq!(
            StateDir::new(app, None).store_file("default"),
            Path::new("/app/.wasmctl/state/default.db")
        );
        assert_eq!(
            StateDir::new(app, Some(Path::new("/data"))).store_file("default"),
            Path::new("/data/default.db")
        );
    }

    #[test]
    fn a_runtime_config_moves_a_store_and_others_stay_put() {
        let dir = tempfile::tempdir().unwrap();
        let config = wasmctl::runtime_config::parse(
            &dir.path().join("runtime-config.toml"),
            "[key_value_store.default]\ntype = \"spin\"\npath = \"elsewhere.db\"\n".to_string(),
        )
        .unwrap();
        let state = StateDir::new(dir.path(), None);
        let store = open_store(DEFAULT_STORE, &state, Some(&config)).unwrap();
        store.set("k", b"v").unwrap();
        assert!(dir.path().join("elsewhere.db").is_file());
        assert!(!state.store_file(DEFAULT_STORE).exists());
        // Without the runtime config, the usual file: another store.
        let usual = open_store(DEFAULT_STORE, &state, None).unwrap();
        assert_eq!(usual.get("k").unwrap(), None);
        assert!(state.store_file(DEFAULT_STORE).is_file());
    }

    #[test]
    fn a_broken_store_file_is_named_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path(), None);
        std::fs::create_dir_all(state.path()).unwrap();
        std::fs::write(state.store_file("default"), "x".repeat(4096)).unwrap();
        let error = state.open("default").unwrap_err();
        assert_eq!(error.to_string(), "cannot open key-value store `default`");
        assert_eq!(
            std::fs::read_to_string(state.store_file("default")).unwrap(),
            "x".repeat(4096)
        );
    }
}
