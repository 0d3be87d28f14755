use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use oci_client::secrets::RegistryAuth;
use wasmctl::registry::{self, Cache, PulledApp, Registry, RegistryError, credentials};

use super::deploy::runtime;
use crate::ui::Ui;

/// `wasmctl registry ...`
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Store credentials for a registry (the password is read from stdin)
    #[command(
        after_help = "Example: echo \"$TOKEN\" | wasmctl registry login ghcr.io --username me\n\n\
        The credentials are checked against the registry, then kept in wasmctl's config\n\
        directory, readable by you only (mode 0600)."
    )]
    Login {
        /// The registry, HOST[:PORT]
        host: String,
        #[arg(short, long)]
        username: String,
        /// Allow plain HTTP to a registry that is not on loopback
        #[arg(long)]
        insecure: bool,
    },
    /// Forget the stored credentials of a registry
    Logout {
        /// The registry, HOST[:PORT]
        host: String,
    },
    /// Download an app, verifying every digest, into the cache (and optionally a directory)
    Pull {
        /// HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:...
        reference: String,
        /// Also copy the app into DIR (must not exist or be empty)
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Allow plain HTTP to a registry that is not on loopback
        #[arg(long)]
        insecure: bool,
        /// Print one JSON document for scripts
        #[arg(long)]
        json: bool,
    },
}

impl RegistryCommand {
    pub fn run(self, ui: &Ui) -> Result<()> {
        match self {
            RegistryCommand::Login {
                host,
                username,
                insecure,
            } => {
                let mut password = String::new();
                std::io::stdin()
                    .read_to_string(&mut password)
                    .context("reading the password from stdin")?;
                let password = password.trim_end_matches(['\n', '\r']).to_string();
                if password.is_empty() {
                    bail!(
                        "no password on stdin\nhelp: echo \"$PASSWORD\" | wasmctl registry login {host} --username {username}"
                    );
                }
                let reference = registry::parse_reference(&format!("{host}/wasmctl-login:check"))?;
                let auth = RegistryAuth::Basic(username.clone(), password.clone());
                let client = Registry::connect(&reference, auth, insecure)?;
                runtime()?
                    .block_on(client.check_login(&reference))
                    .map_err(|error| match error {
                        RegistryError::Unauthorized { registry, .. } => anyhow::anyhow!(
                            "the registry {registry} refused user `{username}` with this password; nothing was saved\nhelp: check the username and the password, then pipe the password in again"
                        ),
                        other => other.into(),
                    })?;
                let file = credentials::save(&host, &username, &password)?;
                ui.status(
                    "Logged in",
                    format!("to {host} as {username} (saved in {})", file.display()),
                );
                Ok(())
            }
            RegistryCommand::Logout { host } => {
                if credentials::remove(&host)? {
                    ui.status("Logged out", format!("of {host}"));
                    Ok(())
                } else {
                    bail!(
                        "wasmctl has no stored credentials for {host}; nothing was removed\nhelp: credentials in Docker's config.json are removed with `docker logout {host}`"
                    )
                }
            }
            RegistryCommand::Pull {
                reference,
                output,
                insecure,
                json,
            } => {
                let pulled = pull(&reference, insecure)?;
                if let Some(target) = &output {
                    registry::export(&pulled.dir, target)?;
                }
                let dir = output.unwrap_or_else(|| pulled.dir.clone());
                if json {
                    return ui.json(&serde_json::json!({
                        "reference": reference,
                        "digest": pulled.digest,
                        "directory": dir.display().to_string(),
                        "layers": pulled.layers,
                        "downloaded": pulled.downloaded,
                        "seconds": pulled.elapsed.as_secs_f64(),
                    }));
                }
                ui.status(
                    "Pulled",
                    format!(
                        "{reference} ({}; {} of {} layers downloaded, in {:.0?})",
                        pulled.digest, pulled.downloaded, pulled.layers, pulled.elapsed
                    ),
                );
                ui.result(dir.display());
                Ok(())
            }
        }
    }
}

/// Pulls `reference` into the user's cache; `up --from` shares this.
pub fn pull(reference: &str, insecure: bool) -> Result<PulledApp> {
    let reference = registry::parse_reference(reference)?;
    let (auth, _) = credentials::lookup(reference.resolve_registry())?;
    let client = Registry::connect(&reference, auth, insecure)?;
    Ok(runtime()?.block_on(client.pull(&reference, &Cache::for_user()?))?)
}
