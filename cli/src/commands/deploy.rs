use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use wasmctl::build::Profile;
use wasmctl::deploy::{DeployFlags, DeploySettings, KubeFlags, KubeSettings, PushFlags};
use wasmctl::hint::Hinted;
use wasmctl::kube::{self, KubeApp, SecretToCreate};
use wasmctl::manifest::{self, App};
use wasmctl::names;
use wasmctl::variables::{self, Given, Resolved};

use super::{JsonArgs, ManifestArgs, TransportArgs};
use crate::transfer;
use crate::ui::Ui;

/// `wasmctl deploy`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    wasmctl deploy --registry 127.0.0.1:5000/demo/svc:v1\n  \
    wasmctl deploy --registry ghcr.io/me/svc:1.0 --kube k8s/ --replicas 2 --apply\n  \
    wasmctl deploy --registry ghcr.io/me/shop:1.0 --kube k8s/ --runtime spinkube\n\n\
    The app is pushed as a Wasm OCI artifact: one application/wasm layer per component\n\
    (config application/vnd.wasm.config.v0+json), plus wasmctl.toml with sources rewritten\n\
    to layer digests. Blobs the registry has are not uploaded again. Credentials come from\n\
    `wasmctl registry login`, then Docker's config.json. Plain HTTP is used only for\n\
    loopback registries, or with --insecure.\n\n\
    --kube DIR writes a Deployment and Service for runwasi's wasmtime shim\n\
    (runtimeClassName: wasmtime) that run the pushed digest. An app with [variables] or\n\
    key_value_stores gets objects for SpinKube's containerd-shim-spin instead\n\
    (runtimeClassName: wasmtime-spin-v2): SPIN_VARIABLE_* from a ConfigMap APP-variables\n\
    and, for secret variables, from a Secret APP-secrets; --runtime-config mounts a Secret\n\
    APP-runtime-config. No secret value is written: deploy prints the `kubectl create\n\
    secret` commands to run.\n\n\
    --runtime spinkube writes a SpinApp (core.spinkube.dev/v1alpha1) for spin-operator\n\
    instead, with the same ConfigMap and Secrets. With `spin` or `spinkube` the app is\n\
    pushed in Spin's OCI layout (a locked app, a layer per component and per file), the\n\
    one containerd-shim-spin runs; a Spin app (spin.toml) is deployed this way only.\n\
    `wasmctl up --from` serves either layout.\n\n\
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
    #[arg(long = "kube-env", value_name = "KEY=VALUE", value_parser = super::Unquoted::new("--kube-env <KEY=VALUE>", super::parse_env))]
    pub kube_env: Vec<(String, String)>,
    /// The runtime to write objects for: `wasmtime` (runwasi's shim: a Deployment and a
    /// Service), `spin` (SpinKube's containerd-shim-spin under a Deployment and a Service)
    /// or `spinkube` (a SpinApp that spin-operator runs). `spin` and `spinkube` push the
    /// app in Spin's OCI layout. Default: `wasmtime`, or `spin` for an app with variables
    /// or key-value stores
    #[arg(long, value_name = "RUNTIME", value_parser = parse_runtime, requires = "kube")]
    pub runtime: Option<kube::Shim>,
    /// RuntimeClass of the Wasm runtime on the cluster (default: wasmtime, or
    /// wasmtime-spin-v2 for an app with variables or key-value stores)
    #[arg(long, value_name = "NAME", value_parser = parse_runtime_class)]
    pub runtime_class: Option<String>,
    /// Give non-secret app variable NAME its value in the ConfigMap (repeatable);
    /// NAME=@FILE reads it from FILE. Wins over WASMCTL_VARIABLE_NAME, SPIN_VARIABLE_NAME,
    /// .env and the manifest's default
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = super::VARIABLE_PARSER, requires = "kube")]
    pub variables: Vec<(String, Given)>,
    /// Spin's runtime-config.toml (e.g. a shared key-value store), mounted from the Secret
    /// APP-runtime-config; its text is never written into the YAML
    #[arg(long, value_name = "FILE", requires = "kube")]
    pub runtime_config: Option<PathBuf>,
    #[command(flatten)]
    pub format: JsonArgs,
}

impl DeployArgs {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        let app = self.manifest.load()?;
        let settings = DeploySettings::resolve(self.flags(), &app)?;
        wasmctl::registry::check_packable(&app, settings.push.layout)?;
        // A SpinApp routes between the components of its app.
        if self.kube.is_some()
            && settings.kubernetes.shim != kube::Shim::SpinKube
            && app.components.len() > 1
        {
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
                "deploy it with `--runtime spinkube` (a SpinApp serves every component), deploy each component as an app of its own, or leave out --kube",
            ));
        }
        // Everything --kube needs is checked before anything is built or pushed.
        let variables = match &self.kube {
            Some(_) => {
                kube::check_runtime_class(&app, &settings.kubernetes)?;
                kube::check_environment(&app, &settings.kubernetes)?;
                if let Some(file) = &settings.kubernetes.runtime_config {
                    wasmctl::runtime_config::load(file)?;
                }
                variables::resolve_public(&app, &self.variables)?
            }
            None => Resolved::default(),
        };

        build_if_needed(&app, ui)?;
        let report = transfer::push(&app, &settings.push, ui)?;

        let written = match &self.kube {
            Some(dir) => Some(write_kube(
                &app,
                &report.pinned,
                settings.kubernetes,
                &variables,
                dir,
            )?),
            None => None,
        };
        if self.format.json {
            let mut document = super::push_json(&report);
            document["kubernetes"] = serde_json::json!(
                written
                    .as_ref()
                    .map(|written| written.file.display().to_string())
            );
            if let Some(written) = &written {
                document["kubernetes_secrets"] = serde_json::json!(written.secrets);
            }
            ui.json(&document)?;
        } else {
            super::print_push(&report, ui)?;
        }
        if let Some(written) = written {
            for warning in &written.warnings {
                ui.warn_hinted(warning);
            }
            if !self.format.json {
                ui.status(
                    "Wrote",
                    format!("{} ({})", written.file.display(), and_list(&written.kinds)),
                );
            }
            // With --json the commands are in the document, like the file's name.
            for secret in written.secrets.iter().filter(|_| !self.format.json) {
                ui.status(
                    "Create",
                    format!(
                        "the Secret `{}` the pods read ({}), with your values: {}",
                        secret.name,
                        secret.keys.join(", "),
                        secret.command
                    ),
                );
            }
            if self.apply {
                kubectl_apply(&written.file, ui)?;
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
                runtime_config: self.runtime_config.clone(),
                runtime: self.runtime,
            },
            writes_kube: self.kube.is_some(),
        }
    }
}

/// What `--kube` wrote, and what the user must know and do about it.
struct Written {
    file: PathBuf,
    kinds: Vec<&'static str>,
    secrets: Vec<SecretToCreate>,
    warnings: Vec<Hinted>,
}

/// Writes the objects that run `pinned` into `dir`.
fn write_kube(
    app: &App,
    pinned: &str,
    settings: KubeSettings,
    variables: &Resolved,
    dir: &std::path::Path,
) -> Result<Written> {
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
    let kube_app = KubeApp::new(
        name,
        pinned.to_string(),
        app,
        component,
        settings,
        variables,
    );
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(format!("{}.yaml", kube_app.name));
    std::fs::write(&file, kube::to_yaml(&kube_app)?)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(Written {
        file,
        kinds: kube_app.kinds(),
        secrets: kube_app.secrets_to_create(),
        warnings: kube_app.warnings(),
    })
}

/// "A", "A and B", "A, B and C".
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
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

fn parse_runtime(text: &str) -> Result<kube::Shim, String> {
    kube::Shim::parse(text)
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
