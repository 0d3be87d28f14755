//! Where wasmctl keeps things per user. Each root can be moved with an environment
//! variable (tests, CI caches, unusual setups).

use std::path::PathBuf;

use anyhow::{Context, Result};

fn project() -> Result<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "wasmctl", "wasmctl").context(
        "no home directory; set WASMCTL_DATA_DIR, WASMCTL_CACHE_DIR and WASMCTL_CONFIG_DIR",
    )
}

fn root(variable: &str, default: fn(&directories::ProjectDirs) -> PathBuf) -> Result<PathBuf> {
    match std::env::var_os(variable) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(default(&project()?)),
    }
}

/// Installed templates live under here (`$WASMCTL_DATA_DIR`).
pub fn data_root() -> Result<PathBuf> {
    root("WASMCTL_DATA_DIR", |p| p.data_dir().to_path_buf())
}

/// Compiled components and pulled artifacts (`$WASMCTL_CACHE_DIR`): safe to delete.
pub fn cache_root() -> Result<PathBuf> {
    root("WASMCTL_CACHE_DIR", |p| p.cache_dir().to_path_buf())
}

/// Registry credentials (`$WASMCTL_CONFIG_DIR`).
pub fn config_root() -> Result<PathBuf> {
    root("WASMCTL_CONFIG_DIR", |p| p.config_dir().to_path_buf())
}
