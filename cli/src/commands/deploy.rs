use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use wasmctl::build::Profile;
use wasmctl::deploy::{DeployFlags, DeploySettings, KubeFlags, KubeSettings, PushFlags};
use wasmctl::hint::Hinted;
use wasmctl::kube::{self, KubeApp};
use wasmctl::manifest::{self, App};
use wasmctl::names;

use super::{JsonArgs, ManifestArgs, TransportArgs};
use crate::transfer;
use crate::ui::Ui;

/// `wasmctl deploy`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    wasmctl deploy --registry 127.0.0.1:5000/demo/svc:v1\n  \
    wasmctl deploy --registry ghcr.io/me/svc:1.0 --kube k8s/ --replicas 2 --apply\n\n\
    The app is pushed as a Wasm OCI artifact: one application/wasm layer per component\n\
    (config application/vnd.wasm.config.v0+json), plus wasmctl.toml with sources rewritten\n\
    to layer digests. Blobs the registry has are not uploaded again. Credentials come from\n\
    `wasmctl registry login`, then Docker's config.json. Plain HTTP is used only for\n\
    loopback registries, or with --insecure.\n\n\
    --kube DIR writes a Deployment and Service for runwasi's wasmtime shim\n\
    (runtimeClassName: wasmtime) that run the pushed digest.\n\n\
    `wasmctl registry push` pushes the same artifact, but builds nothing (it pushes what\n\
    `wasmctl build` made) and has no Kubernetes options; deploy first builds the\n\
    components that are missing or older than their sources.")]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Where to push: HOST[:PORT]/REPO:TAG (default: `[deploy] registry` in wasmctl.toml)
    #[arg(long, value_name = "REF")]
    pub registry: Option<String>,
    #[command(flatten)]
    pub transport: TransportArgs,
    /// Also write Kubernetes manifests into DIR
    #[arg(long, value_name = "DIR")]
    pub kube: Option<PathBuf>,
    /// Run `kubectl apply` on the written manifests
    #[arg(long, requires = "kube")]
    pub apply: bool,
    /// Pod replicas (default: `[deploy.kubernetes] replicas`, else 1)
    #[arg(long, value_name = "N", value_parser = manifest::parse_replicas, allow_hyphen_values = true)]
    pub replicas: Option<u32>,
    /// Kubernetes namespace (default: the manifest's, else kubectl's current one)
    #[arg(long, value_name = "NAME", value_parser = parse_namespace)]
    pub namespace: Option<String>,
    /// CPU request and limit, e.g. 250m
    #[arg(long, value_name = "QUANTITY", value_parser = parse_cpu, allow_hyphen_values = true)]
    pub cpu: Option<String>,
    /// Memory request and limit, e.g. 128Mi
    #[arg(long, value_name = "QUANTITY", value_parser = parse_memory, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Extra environment for the pods (repeatable)
    #[arg(long = "kube-env", value_name = "KEY=VALUE", value_parser = super::parse_env)]
    pub kube_env: Vec<(String, String)>,
    /// RuntimeClass of the Wasm runtime on the cluster
    #[arg(long, value_name = "NAME", value_parser = parse_runtime_class)]
    pub runtime_class: Option<String>,
    #[command(flatten)]
    pub format: JsonArgs,
}

impl DeployArgs {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        let app = self.manifest.load()?;
        let settings = DeploySettings::resolve(self.flags(), &app)?;
        if self.kube.is_some() && app.components.len() > 1 {
            bail!(Hinted::new(
                format!(
                    "--kube: runwasi's wasmtime shim serves one component per pod, and this app has {} ({})",
                    app.components.len(),
                    app.components
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "deploy each component as an app of its own, or leave out --kube",
            ));
        }

        build_if_needed(&app, ui)?;
        let report = transfer::push(&app, &settings.push, ui)?;

        let kube_file = match &self.kube {
            Some(dir) => Some(write_kube(&app, &report.pinned, settings.kubernetes, dir)?),
            None => None,
        };
        if self.format.json {
            let mut document = super::push_json(&report);
            document["kubernetes"] =
                serde_json::json!(kube_file.as_ref().map(|f| f.display().to_string()));
            ui.json(&document)?;
        } else {
            super::print_push(&report, ui)?;
        }
        if let Some(file) = kube_file {
            if !self.format.json {
                ui.status(
                    "Wrote",
                    format!("{} (Deployment and Service)", file.display()),
                );
            }
            if self.apply {
                kubectl_apply(&file, ui)?;
            }
        }
        Ok(())
    }

    /// The flags as given, for [`DeploySettings::resolve`] to lay over the manifest.
    fn flags(&self) -> DeployFlags {
        DeployFlags {
            push: PushFlags {
                registry: self.registry.clone(),
                insecure: self.transport.insecure,
            },
            kubernetes: KubeFlags {
                namespace: self.namespace.clone(),
                replicas: self.replicas,
                cpu: self.cpu.clone(),
                memory: self.memory.clone(),
                runtime_class: self.runtime_class.clone(),
                environment: self.kube_env.clone(),
            },
        }
    }
}

/// Writes the Deployment and Service that run `pinned` into `dir`.
fn write_kube(
    app: &App,
    pinned: &str,
    settings: KubeSettings,
    dir: &std::path::Path,
) -> Result<PathBuf> {
    let component = app
        .components
        .values()
        .next()
        .context("the app has a component")?;
    let name = names::kubernetes_name(&app.name).map_err(|problem| {
        Hinted::new(
            format!("--kube: {problem}"),
            format!(
                "rename the app in `[application] name` of {}",
                app.manifest_path.display()
            ),
        )
    })?;
    let kube_app = KubeApp::new(name, pinned.to_string(), component, settings);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(format!("{}.yaml", kube_app.name));
    std::fs::write(&file, kube::to_yaml(&kube_app)?)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}

// The Kubernetes flags obey the rules of the `[deploy.kubernetes]` keys they override.

fn parse_namespace(text: &str) -> Result<String, String> {
    manifest::check_namespace(text).map(|()| text.to_string())
}

fn parse_cpu(text: &str) -> Result<String, String> {
    manifest::check_quantity("cpu", text).map(|()| text.to_string())
}

fn parse_memory(text: &str) -> Result<String, String> {
    manifest::check_quantity("memory", text).map(|()| text.to_string())
}

fn parse_runtime_class(text: &str) -> Result<String, String> {
    manifest::check_runtime_class(text).map(|()| text.to_string())
}

/// Builds components whose file is missing or older than their inputs (the push
/// validates them all).
fn build_if_needed(app: &App, ui: &Ui) -> Result<()> {
    let outdated = wasmctl::build::outdated(app);
    if !outdated.is_empty() {
        wasmctl::build::build_app(
            app,
            &outdated,
            ui.build_options(Profile::Release),
            &mut ui.build_progress(&app.dir),
        )?;
    }
    Ok(())
}

fn kubectl_apply(file: &std::path::Path, ui: &Ui) -> Result<()> {
    let status = std::process::Command::new("kubectl")
        .arg("apply")
        .arg("-f")
        .arg(file)
        // What kubectl says is for people; deploy's stdout holds its result only (one
        // JSON document with --json).
        .stdout(std::io::stderr())
        .status();
    match status {
        Ok(status) if status.success() => {
            ui.status("Applied", file.display());
            Ok(())
        }
        Ok(status) => bail!(
            "`kubectl apply -f {}` failed ({status}); the manifests are in place to retry",
            file.display()
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(Hinted::new(
            "kubectl was not found on PATH, so nothing was applied",
            format!(
                "install kubectl, or apply {} with your own tooling",
                file.display()
            ),
        )),
        Err(error) => Err(error).context("running kubectl"),
    }
}
