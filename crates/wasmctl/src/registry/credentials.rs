//! Registry credentials: wasmctl's own store (written by `wasmctl registry login`, mode
//! 0600), then Docker's `config.json` (including its credential helpers), else anonymous.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use oci_client::secrets::RegistryAuth;
use serde::{Deserialize, Serialize};

use super::RegistryError;
use crate::hint::Hint;

/// The credentials file: `registries.<host> = { username, password }`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Store {
    #[serde(default)]
    registries: BTreeMap<String, Login>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// Where a registry's credentials came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// wasmctl's credentials file, written by `wasmctl registry login`.
    Wasmctl,
    /// Docker's `config.json` or one of the credential helpers it names.
    Docker,
    /// Neither holds credentials for the registry (or Docker's lookup failed): none are
    /// sent.
    Anonymous,
}

fn store_path() -> Result<PathBuf> {
    Ok(crate::dirs::config_root()?.join("credentials.toml"))
}

/// wasmctl's credentials file exists and cannot be used. The reason never quotes the
/// file (a TOML error's snippet would show a password).
#[derive(Debug, thiserror::Error)]
#[error("could not read the credentials file {}: {reason}", path.display())]
pub struct StoreUnreadable {
    /// The credentials file.
    pub path: PathBuf,
    /// Why: the read error, or where the TOML is wrong.
    pub reason: String,
    /// What to do, when the read error knows better than "fix or delete the file" (a
    /// limit set wrong in the environment, a file too large).
    read_hint: Option<Hint>,
}

impl StoreUnreadable {
    /// What to do about it (see [`crate::hint::of`]).
    pub fn hint(&self) -> Hint {
        self.read_hint.clone().unwrap_or_else(|| {
            Hint::new("fix the file or delete it; `wasmctl registry login` writes a new one")
        })
    }
}

/// wasmctl's credentials, or why the file cannot be used.
fn read_store(path: &Path) -> Result<Store, StoreUnreadable> {
    let unreadable = |reason, read_hint| StoreUnreadable {
        path: path.to_path_buf(),
        reason,
        read_hint,
    };
    match crate::limits::read_text(path, crate::limits::TEXT_FILE) {
        Ok(text) => toml::from_str(&text).map_err(|error: toml::de::Error| {
            let line = error
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let at = line
                .map(|line| format!(" at line {line}"))
                .unwrap_or_default();
            unreadable(
                format!("not a credentials file{at}: {}", error.message()),
                None,
            )
        }),
        Err(error) if error.io_kind() == Some(std::io::ErrorKind::NotFound) => Ok(Store::default()),
        Err(error) => Err(unreadable(error.to_string(), crate::hint::of(&error))),
    }
}

/// wasmctl's credentials file, when it exists but cannot be used (unreadable, not TOML of
/// the expected shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableStore {
    /// The credentials file.
    pub path: PathBuf,
    /// Why, in words: the I/O error, or where the TOML is wrong (never its text).
    pub reason: String,
    /// What to do about it.
    pub hint: Hint,
}

/// The credentials for one registry, and what a user should hear about them.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// What to send: a username and password, a token, or nothing.
    pub auth: RegistryAuth,
    /// Where [`auth`](Self::auth) came from.
    pub source: Source,
    /// wasmctl's credentials file could not be used and was passed over: an anonymous
    /// pull goes on, and a registry that asks for credentials gets an error naming it
    /// ([`Credentials::explain`]).
    pub unreadable_store: Option<UnreadableStore>,
    /// The file the credentials came from, when others than its owner may read it.
    pub readable_by_others: Option<PathBuf>,
}

impl Credentials {
    /// `error` with what the lookup knows: a registry that refused an anonymous request
    /// may have wanted the credentials in the file that could not be read.
    pub fn explain(&self, error: RegistryError) -> RegistryError {
        match (error, &self.unreadable_store) {
            (
                RegistryError::Unauthorized {
                    registry,
                    had_credentials: false,
                },
                Some(store),
            ) => RegistryError::CredentialsUnreadable {
                registry,
                path: store.path.clone(),
                reason: store.reason.clone(),
                hint: store.hint.clone(),
            },
            (error, _) => error,
        }
    }
}

/// Whether anyone but the owner may read `path` (unix permission bits; elsewhere no).
fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Docker's `config.json` (where the `docker_credential` crate reads it) when it holds
/// `registry`'s password itself, in `auths`, rather than naming a credential helper.
fn docker_config_holding(registry: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None => directories::BaseDirs::new()?.home_dir().join(".docker"),
    };
    let path = dir.join("config.json");
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let helper = config.get("credsStore").is_some()
        || config
            .get("credHelpers")
            .is_some_and(|helpers| helpers.get(registry).is_some());
    let inline = config
        .get("auths")
        .and_then(|auths| auths.get(registry))
        .is_some_and(|entry| entry.get("auth").is_some() || entry.get("identitytoken").is_some());
    (inline && !helper).then_some(path)
}

/// Writes the store readable by its owner only, atomically.
fn write_store(store: &Store) -> Result<PathBuf> {
    use std::io::Write;
    let path = store_path()?;
    let dir = path.parent().expect("the store has a directory");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(toml::to_string(store)?.as_bytes())?;
    file.persist(&path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The credentials to use for `registry` (a `host[:port]`): wasmctl's store, then
/// Docker's config.json, else anonymous. A store that cannot be used is passed over, not an
/// error: a public image needs no credentials.
pub fn lookup(registry: &str) -> Result<Credentials> {
    let path = store_path()?;
    let (store, unreadable_store) = match read_store(&path) {
        Ok(store) => (store, None),
        Err(error) => (
            Store::default(),
            Some(UnreadableStore {
                path: path.clone(),
                hint: error.read_hint.clone().unwrap_or_else(|| {
                    Hint::new(format!(
                        "fix the file or delete it, then run `wasmctl registry login {registry}`"
                    ))
                }),
                reason: error.reason,
            }),
        ),
    };
    let found = |auth, source, file: Option<PathBuf>| Credentials {
        auth,
        source,
        unreadable_store: unreadable_store.clone(),
        readable_by_others: file.filter(|file| readable_by_others(file)),
    };
    if let Some(login) = store.registries.get(registry) {
        return Ok(found(
            RegistryAuth::Basic(login.username.clone(), login.password.clone()),
            Source::Wasmctl,
            Some(path),
        ));
    }
    Ok(match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => found(
            RegistryAuth::Basic(user, password),
            Source::Docker,
            docker_config_holding(registry),
        ),
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => found(
            RegistryAuth::Bearer(token),
            Source::Docker,
            docker_config_holding(registry),
        ),
        Err(_) => found(RegistryAuth::Anonymous, Source::Anonymous, None),
    })
}

/// Saves a login; returns the file it is in.
pub fn save(registry: &str, username: &str, password: &str) -> Result<PathBuf> {
    let mut store = read_store(&store_path()?)?;
    store.registries.insert(
        registry.to_string(),
        Login {
            username: username.to_string(),
            password: password.to_string(),
        },
    );
    write_store(&store)
}

/// Forgets a login; `false` if there was none.
pub fn remove(registry: &str) -> Result<bool> {
    let mut store = read_store(&store_path()?)?;
    let removed = store.registries.remove(registry).is_some();
    if removed {
        write_store(&store)?;
    }
    Ok(removed)
}
