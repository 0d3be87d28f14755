//! Where wasmctl keeps things per user. Each root can be moved with an environment
//! variable (tests, CI caches, unusual setups).

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::environment::{CACHE_DIR, CONFIG_DIR, DATA_DIR};

fn project() -> Result<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "wasmctl", "wasmctl")
        .with_context(|| format!("no home directory; set {DATA_DIR}, {CACHE_DIR} and {CONFIG_DIR}"))
}

fn root(variable: &str, default: fn(&directories::ProjectDirs) -> PathBuf) -> Result<PathBuf> {
    match std::env::var_os(variable) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(default(&project()?)),
    }
}

/// Installed templates live under here (`$WASMCTL_DATA_DIR`).
pub fn data_root() -> Result<PathBuf> {
    root(DATA_DIR, |p| p.data_dir().to_path_buf())
}

/// Compiled components and pulled artifacts (`$WASMCTL_CACHE_DIR`): safe to delete.
pub fn cache_root() -> Result<PathBuf> {
    root(CACHE_DIR, |p| p.cache_dir().to_path_buf())
}

/// Registry credentials (`$WASMCTL_CONFIG_DIR`).
pub fn config_root() -> Result<PathBuf> {
    root(CONFIG_DIR, |p| p.config_dir().to_path_buf())
}
