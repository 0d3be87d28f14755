//! Registry credentials: wasmctl's own store (written by `wasmctl registry login`, mode
//! 0600), then Docker's `config.json` (including its credential helpers), else anonymous.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use oci_client::secrets::RegistryAuth;
use serde::{Deserialize, Serialize};

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
    Wasmctl,
    Docker,
    Anonymous,
}

fn store_path() -> Result<PathBuf> {
    Ok(crate::dirs::config_root()?.join("credentials.toml"))
}

fn read_store() -> Result<Store> {
    let path = store_path()?;
    match crate::limits::read_text(&path, crate::limits::TEXT_FILE) {
        Ok(text) => toml::from_str(&text)
            .with_context(|| format!("reading credentials from {}", path.display())),
        Err(error) if error.io_kind() == Some(std::io::ErrorKind::NotFound) => Ok(Store::default()),
        Err(error) => Err(error.into()),
    }
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

/// The credentials to use for `registry` (a `host[:port]`).
pub fn lookup(registry: &str) -> Result<(RegistryAuth, Source)> {
    if let Some(login) = read_store()?.registries.get(registry) {
        return Ok((
            RegistryAuth::Basic(login.username.clone(), login.password.clone()),
            Source::Wasmctl,
        ));
    }
    match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
            Ok((RegistryAuth::Basic(user, password), Source::Docker))
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => {
            Ok((RegistryAuth::Bearer(token), Source::Docker))
        }
        Err(_) => Ok((RegistryAuth::Anonymous, Source::Anonymous)),
    }
}

/// Saves a login; returns the file it is in.
pub fn save(registry: &str, username: &str, password: &str) -> Result<PathBuf> {
    let mut store = read_store()?;
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
    let mut store = read_store()?;
    let removed = store.registries.remove(registry).is_some();
    if removed {
        write_store(&store)?;
    }
    Ok(removed)
}
