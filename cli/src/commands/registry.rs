use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use oci_client::secrets::RegistryAuth;
use wasmctl::deploy::{PushFlags, PushSettings};
use wasmctl::hint::Hinted;
use wasmctl::registry::credentials;
use wasmctl::registry::{self, Registry, RegistryError, runtime};

use super::{JsonArgs, ManifestArgs, TransportArgs};
use crate::transfer;
use crate::ui::Ui;

/// `wasmctl registry ...`
#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Store credentials for a registry (asks for the password, or reads it from stdin)
    #[command(after_help = "Examples:\n  \
        wasmctl registry login ghcr.io --username me    (asks for the password)\n  \
        echo \"$TOKEN\" | wasmctl registry login ghcr.io --username me\n\n\
        On a terminal, the password is asked for and not echoed; otherwise (or with\n\
        --password-stdin) it is read from stdin. The credentials are checked against the\n\
        registry, then kept in wasmctl's config directory, readable by you only (mode 0600).")]
    Login {
        /// The registry, HOST[:PORT]
        host: String,
        #[arg(short, long)]
        username: String,
        /// Read the password from stdin even on a terminal (as `docker login` does)
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        transport: TransportArgs,
    },
    /// Forget the stored credentials of a registry
    Logout {
        /// The registry, HOST[:PORT]
        host: String,
    },
    /// Push the built app to an OCI registry, and nothing else
    #[command(after_help = "Examples:\n  \
        wasmctl build && wasmctl registry push 127.0.0.1:5000/demo/svc:v1\n  \
        wasmctl registry push --json    (to `[deploy] registry` of wasmctl.toml)\n\n\
        Pushes the components as they are built (run `wasmctl build` first: nothing is\n\
        built here, a missing component is an error and an outdated one a warning) and\n\
        prints HOST/REPO@sha256:... . The artifact is the one `wasmctl deploy` pushes;\n\
        `deploy` also builds what is missing or outdated, and can write Kubernetes\n\
        manifests and apply them. Pull it back with `wasmctl registry pull`, serve it\n\
        with `wasmctl up --from`.")]
    Push {
        /// Where to push: HOST[:PORT]/REPO:TAG (default: `[deploy] registry` in wasmctl.toml)
        reference: Option<String>,
        #[command(flatten)]
        manifest: ManifestArgs,
        #[command(flatten)]
        transport: TransportArgs,
        #[command(flatten)]
        format: JsonArgs,
    },
    /// Download an app, verifying every digest, into the cache (and optionally a directory)
    Pull {
        /// HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:...
        reference: String,
        /// Also copy the app into DIR (must not exist or be empty)
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        #[command(flatten)]
        transport: TransportArgs,
        #[command(flatten)]
        format: JsonArgs,
    },
}

impl RegistryCommand {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        match self {
            RegistryCommand::Login {
                host,
                username,
                password_stdin,
                transport: TransportArgs { insecure },
            } => {
                let password = if ui.interactive() && !password_stdin {
                    // No echo: the password must not stay on the screen or in a recording.
                    dialoguer::Password::new()
                        .with_prompt("Password")
                        .interact()
                        .context("reading the password from the terminal")?
                } else {
                    password_from_stdin(&host, &username)?
                };
                let reference = registry::parse_reference(&format!("{host}/wasmctl-login:check"))?;
                let auth = RegistryAuth::Basic(username.clone(), password.clone());
                let client = Registry::connect(&reference, auth, insecure)?;
                runtime()?
                    .block_on(client.check_login(&reference))
                    .map_err(|error| -> anyhow::Error { match error {
                        RegistryError::Unauthorized { registry, .. } => Hinted::new(
                            format!("the registry {registry} refused user `{username}` with this password; nothing was saved"),
                            "check the username and the password, then pipe the password in again",
                        )
                        .into(),
                        other => other.into(),
                    }})?;
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
                    bail!(Hinted::new(
                        format!(
                            "wasmctl has no stored credentials for {host}; nothing was removed"
                        ),
                        format!(
                            "credentials in Docker's config.json are removed with `docker logout {host}`"
                        ),
                    ))
                }
            }
            RegistryCommand::Push {
                reference,
                manifest,
                transport: TransportArgs { insecure },
                format: JsonArgs { json },
            } => {
                let app = manifest.load()?;
                let settings = PushSettings::resolve(
                    PushFlags {
                        registry: reference,
                        insecure,
                    },
                    &app,
                )?;
                for component in app.components.values() {
                    if let Some(input) = wasmctl::build::stale_input(
                        &app,
                        component,
                        wasmctl::build::Profile::Release,
                    ) {
                        ui.warn(format!(
                            "component `{}` is older than `{}`: pushing the previous build (run `wasmctl build` first, or `wasmctl deploy`, which rebuilds)",
                            component.id,
                            super::relative(&input, &app.dir)
                        ));
                    }
                }
                let report = transfer::push(&app, &settings, ui)?;
                if json {
                    ui.json(&super::push_json(&report))
                } else {
                    super::print_push(&report, ui)
                }
            }
            RegistryCommand::Pull {
                reference,
                output,
                transport: TransportArgs { insecure },
                format: JsonArgs { json },
            } => {
                // Fail before downloading what could not be copied.
                if let Some(target) = &output {
                    wasmctl::templates::ensure_empty_dir(
                        target,
                        "pass `--output` a directory that does not exist yet or is empty, or leave it out to keep the app in the cache only",
                    )?;
                }
                let pulled = transfer::pull(&reference, insecure, ui)?;
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
                ui.result(dir.display())
            }
        }
    }
}

/// The password piped in: all of stdin, without the final line break.
fn password_from_stdin(host: &str, username: &str) -> Result<String> {
    // Bounded like any text wasmctl reads: a stream without end must not fill memory.
    let limit = wasmctl::limits::TEXT_FILE;
    let mut password = String::new();
    wasmctl::limits::Bounded::new(
        std::io::stdin(),
        limit,
        limit.value()?,
        "the password on stdin",
    )
    .read_to_string(&mut password)
    .map_err(|error| match wasmctl::limits::find_too_large(&error) {
        Some(too_large) => anyhow::Error::new(too_large.clone()),
        None => anyhow::Error::new(error).context("reading the password from stdin"),
    })?;
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!(Hinted::new(
            "no password on stdin",
            format!("echo \"$PASSWORD\" | wasmctl registry login {host} --username {username}"),
        ));
    }
    Ok(password)
}
