//! Kubernetes manifests that run a pushed component on a cluster with a Wasm runtime.
//!
//! Which runtime depends on the app ([`Shim`]):
//!
//! - A stateless app (no `[variables]`, no `key_value_stores`) runs on runwasi's wasmtime
//!   shim (`containerd-shim-wasmtime`), selected with a `RuntimeClass` (default name
//!   `wasmtime`): a plain `Deployment` plus a `Service`. It runs the standard Wasm OCI
//!   artifact `wasmctl deploy` pushes, needs no operator or CRDs, and serves a `wasi:http`
//!   component on port 8080 of the pod.
//! - An app with variables or key-value stores needs wasi:config and wasi:keyvalue, which
//!   that shim does not link; SpinKube's `containerd-shim-spin` links Spin's versions of
//!   both (RuntimeClass `wasmtime-spin-v2`). For it the Deployment takes each variable
//!   from the environment the shim reads (`SPIN_VARIABLE_NAME`), set from a ConfigMap
//!   (`APP-variables`, written here) or a Secret (`APP-secrets`, never written: only the
//!   `kubectl create secret` command is given), and mounts Spin's runtime config from the
//!   Secret `APP-runtime-config` at `/runtime-config.toml`, where the shim reads it. Values
//!   of secret variables and the runtime config's text never enter the YAML. That shim
//!   runs Spin's artifact layout, which `deploy` pushes for it
//!   ([`crate::registry::spin_layout`]).
//! - `deploy --runtime spinkube` writes a `SpinApp` for spin-operator instead, which makes
//!   the Deployment and Service itself and runs every component of the app; its variables
//!   and runtime config come from the same ConfigMap and Secrets.
//!
//! runwasi's shim runs one component per pod, so apps with several components are
//! refused under a Deployment (deploy them as separate apps, or as a SpinApp).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::deploy::{DEFAULT_RUNTIME_CLASS, KubeSettings};
use crate::hint::Hinted;
use crate::manifest::{App, Component};
use crate::variables::Resolved;

/// The port the pod serves `wasi:http` on: runwasi's wasmtime shim's, and the one Spin's
/// shim is told to listen on ([`SPIN_LISTEN_ADDRESS`]).
pub const SHIM_HTTP_PORT: u16 = 8080;

/// The environment variable Spin's shim takes its listen address from (it listens on
/// port 80 without it), set so both shims serve on [`SHIM_HTTP_PORT`].
pub const SPIN_LISTEN_ADDRESS: &str = "SPIN_HTTP_LISTEN_ADDR";

/// What Spin's shim prefixes an app variable's upper-cased name with to read its value
/// from the environment (Spin's environment variable provider).
pub const SPIN_VARIABLE_PREFIX: &str = "SPIN_VARIABLE_";

/// Where Spin's shim reads its runtime config file (containerd-shim-spin's
/// `RUNTIME_CONFIG_PATH`).
pub const RUNTIME_CONFIG_PATH: &str = "/runtime-config.toml";

/// The key of the runtime config Secret that holds the file (spin-operator's name too).
pub const RUNTIME_CONFIG_KEY: &str = "runtime-config.toml";

/// The runtime the objects are written for (`deploy --runtime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shim {
    /// runwasi's `containerd-shim-wasmtime`: the plain Wasm OCI artifact, no state.
    Wasmtime,
    /// SpinKube's `containerd-shim-spin` under a plain Deployment: links Spin's
    /// wasi:config and wasi:keyvalue, runs Spin's layout.
    Spin,
    /// The same shim, run by spin-operator from a `SpinApp` resource
    /// (`core.spinkube.dev/v1alpha1`), which makes the Deployment and Service.
    SpinKube,
}

impl Shim {
    /// Spin's shim for an app with `[variables]`, a component with `key_value_stores`, or a
    /// runtime config (Spin's file) to mount; runwasi's wasmtime shim otherwise.
    pub fn for_app(app: &App, runtime_config: bool) -> Shim {
        let stores = app
            .components
            .values()
            .any(|component| !component.key_value_stores.is_empty());
        if runtime_config || stores || !app.variables.is_empty() {
            Shim::Spin
        } else {
            Shim::Wasmtime
        }
    }

    /// The RuntimeClass name the shim is usually installed under (for SpinKube, the
    /// SpinAppExecutor names it).
    pub fn default_runtime_class(self) -> &'static str {
        match self {
            Shim::Wasmtime => DEFAULT_RUNTIME_CLASS,
            Shim::Spin | Shim::SpinKube => crate::deploy::SPIN_RUNTIME_CLASS,
        }
    }

    /// The artifact layout the shim runs.
    pub fn layout(self) -> crate::registry::Layout {
        match self {
            Shim::Wasmtime => crate::registry::Layout::Wasmctl,
            Shim::Spin | Shim::SpinKube => crate::registry::Layout::Spin,
        }
    }

    /// Whether it is Spin's shim, under either kind of object.
    pub fn is_spin(self) -> bool {
        self != Shim::Wasmtime
    }

    /// Parses a `--runtime` value: `wasmtime`, `spin` or `spinkube`.
    pub fn parse(text: &str) -> Result<Shim, String> {
        match text {
            "wasmtime" => Ok(Shim::Wasmtime),
            "spin" => Ok(Shim::Spin),
            "spinkube" => Ok(Shim::SpinKube),
            other => Err(format!(
                "`{other}` is not a runtime; use `wasmtime` (runwasi), `spin` (containerd-shim-spin under a Deployment) or `spinkube` (a SpinApp for spin-operator)"
            )),
        }
    }
}

/// The SpinAppExecutor a SpinApp runs under: the one spin-operator's install creates for
/// containerd-shim-spin.
pub const SPIN_APP_EXECUTOR: &str = "containerd-shim-spin";

/// Refuses objects for Spin's shim under RuntimeClass [`DEFAULT_RUNTIME_CLASS`], the name
/// of runwasi's wasmtime shim: it links neither wasi:config nor wasi:keyvalue, so a
/// component importing either would fail to start in every pod. Refused rather than
/// warned about because that YAML cannot work, and the check costs nothing before the
/// push; a cluster whose Spin shim really is called `wasmtime` is not one wasmctl's
/// defaults describe.
pub fn check_runtime_class(app: &App, settings: &KubeSettings) -> Result<(), Hinted> {
    if settings.shim == Shim::SpinKube {
        return check_spin_app_settings(settings);
    }
    if settings.shim != Shim::Spin || settings.runtime_class != DEFAULT_RUNTIME_CLASS {
        return Ok(());
    }
    let mut uses = Vec::new();
    if !app.variables.is_empty() {
        uses.push("variables (wasi:config)");
    }
    if app
        .components
        .values()
        .any(|component| !component.key_value_stores.is_empty())
    {
        uses.push("key-value stores (wasi:keyvalue)");
    }
    if settings.runtime_config.is_some() {
        uses.push("a runtime config (Spin's)");
    }
    Err(Hinted::new(
        format!(
            "--kube: RuntimeClass `{DEFAULT_RUNTIME_CLASS}` is runwasi's wasmtime shim, which links neither wasi:config nor wasi:keyvalue, and this app uses {}: its pods could not start",
            uses.join(" and ")
        ),
        format!(
            "leave out --runtime-class (and `runtime_class` of [deploy.kubernetes]) for `{}`, the usual RuntimeClass of SpinKube's containerd-shim-spin, or name your cluster's class for that shim",
            crate::deploy::SPIN_RUNTIME_CLASS
        ),
    ))
}

/// Refuses for a SpinApp what it has no field for: a RuntimeClass (its SpinAppExecutor
/// names one) and pod environment (the component's `environment` is in the artifact).
fn check_spin_app_settings(settings: &KubeSettings) -> Result<(), Hinted> {
    if settings.runtime_class != crate::deploy::SPIN_RUNTIME_CLASS {
        return Err(Hinted::new(
            format!(
                "--kube --runtime spinkube: a SpinApp runs under the RuntimeClass its SpinAppExecutor `{SPIN_APP_EXECUTOR}` names, so RuntimeClass `{}` cannot be set here",
                settings.runtime_class
            ),
            "leave out --runtime-class (and `runtime_class` of [deploy.kubernetes]), or set `deploymentConfig.runtimeClassName` of the executor on the cluster",
        ));
    }
    if let Some(key) = settings.environment.keys().next() {
        return Err(Hinted::new(
            format!(
                "--kube --runtime spinkube: a SpinApp has no pod environment, so `{key}` (from --kube-env or `environment` of [deploy.kubernetes]) cannot be set"
            ),
            "set it in the component's `environment` (it travels in the artifact), or give the value as an app variable",
        ));
    }
    Ok(())
}

/// Refuses, for Spin's shim, a pod environment variable that the shim would take as the
/// value of one of the app's variables: `SPIN_VARIABLE_NAME`, or `NAME` itself, which
/// the shim also reads. Either would override the value `deploy` arranges (a secret's
/// Secret among them), and a secret value would stand in plain YAML.
pub fn check_environment(app: &App, settings: &KubeSettings) -> Result<(), Hinted> {
    if !settings.shim.is_spin() {
        return Ok(());
    }
    let keys = app
        .components
        .values()
        .flat_map(|component| component.environment.keys())
        .chain(settings.environment.keys());
    for key in keys {
        for name in app.variables.keys() {
            let upper = name.to_ascii_uppercase();
            if *key == upper || *key == format!("{SPIN_VARIABLE_PREFIX}{upper}") {
                return Err(Hinted::new(
                    format!(
                        "--kube: the pod environment variable `{key}` would set the app variable `{name}` on Spin's shim, over the value `deploy` gives it"
                    ),
                    "rename or drop it (in a component's `environment`, `[deploy.kubernetes]` or `--kube-env`); give the variable's value with `--variable`, or for a secret in the Secret `deploy` names",
                ));
            }
        }
    }
    Ok(())
}

/// What to run, and how. Every value has passed the manifest's rules (`deploy` checks its
/// flags with them too); the YAML serializer quotes whatever a YAML 1.1 reader such as
/// Kubernetes' would otherwise take for another type (`yes`, `on`, `0755`, `1:30`).
/// Made from resolved [`KubeSettings`] by [`KubeApp::new`].
#[derive(Debug, Clone)]
pub struct KubeApp {
    /// The name of the Deployment, its Service and its container: an RFC 1123 label
    /// ([`names::kubernetes_name`](crate::names::kubernetes_name)).
    pub name: String,
    /// The pushed artifact, pinned by digest: `HOST/REPO@sha256:...`.
    pub image: String,
    /// How it runs: namespace, replicas, RuntimeClass, resources, and the container's
    /// environment (the component's own under the settings', see [`KubeApp::new`]).
    pub run: KubeSettings,
    /// What it reads from the cluster, for Spin's shim; `None` for runwasi's.
    pub state: Option<State>,
}

/// The state of an app on Spin's shim: where its variables and stores come from.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The non-secret app variables and their values: the ConfigMap `APP-variables`.
    pub variables: BTreeMap<String, String>,
    /// The secret app variables, each with whether it is required: keys of the Secret
    /// `APP-secrets`, which wasmctl never writes.
    pub secrets: BTreeMap<String, bool>,
    /// Whether the component opens key-value stores.
    pub stores: bool,
}

// Values are written into a ConfigMap, but a debug print needs none of them.
impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("stores", &self.stores)
            .finish()
    }
}

/// A Secret the pods need that wasmctl does not write, and how to create it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretToCreate {
    /// Its name.
    pub name: String,
    /// The keys the pods read from it.
    pub keys: Vec<String>,
    /// The `kubectl create secret generic` command that creates it, with `VALUE` where a
    /// secret value goes, or the runtime config file's path.
    pub command: String,
}

impl KubeApp {
    /// `component`, the app's one component (a shim runs one per pod), as `name` from
    /// `image`, run as `settings` say. The pod's environment is the component's
    /// `environment`, overridden by the settings' (`[deploy.kubernetes]`, then `--kube-env`).
    /// For Spin's shim, `variables` holds the values of `app`'s non-secret variables
    /// ([`crate::variables::resolve_public`]).
    pub fn new(
        name: String,
        image: String,
        app: &App,
        component: &Component,
        settings: KubeSettings,
        variables: &Resolved,
    ) -> KubeApp {
        let mut environment = component.environment.clone();
        environment.extend(settings.environment);
        let state = settings.shim.is_spin().then(|| State {
            variables: variables
                .public()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            secrets: app
                .variables
                .iter()
                .filter(|(_, variable)| variable.secret)
                .map(|(name, variable)| (name.clone(), variable.required()))
                .collect(),
            stores: !component.key_value_stores.is_empty(),
        });
        KubeApp {
            name,
            image,
            run: KubeSettings {
                environment,
                ..settings
            },
            state,
        }
    }

    /// The kinds of the objects [`to_yaml`] writes, in order.
    pub fn kinds(&self) -> Vec<&'static str> {
        let config_map = self
            .state
            .as_ref()
            .is_some_and(|state| !state.variables.is_empty());
        let mut kinds = if config_map {
            vec!["ConfigMap"]
        } else {
            vec![]
        };
        match self.run.shim {
            Shim::SpinKube => kinds.push("SpinApp"),
            Shim::Wasmtime | Shim::Spin => kinds.extend(["Deployment", "Service"]),
        }
        kinds
    }

    fn variables_config_map(&self) -> String {
        format!("{}-variables", self.name)
    }

    fn secrets_secret(&self) -> String {
        format!("{}-secrets", self.name)
    }

    fn runtime_config_secret(&self) -> String {
        format!("{}-runtime-config", self.name)
    }

    /// The Secrets the pods read that are not in the YAML, each with the command that
    /// creates it: `APP-secrets` (the secret variables' values) and `APP-runtime-config`
    /// (the `--runtime-config` file). None for a stateless app.
    pub fn secrets_to_create(&self) -> Vec<SecretToCreate> {
        let Some(state) = &self.state else {
            return Vec::new();
        };
        let kubectl = |name: &str| {
            let mut command = format!("kubectl create secret generic {name}");
            if let Some(namespace) = &self.run.namespace {
                command.push_str(&format!(" --namespace {namespace}"));
            }
            command
        };
        let mut secrets = Vec::new();
        if !state.secrets.is_empty() {
            let name = self.secrets_secret();
            let mut command = kubectl(&name);
            for key in state.secrets.keys() {
                command.push_str(&format!(" --from-literal={key}=VALUE"));
            }
            secrets.push(SecretToCreate {
                keys: state.secrets.keys().cloned().collect(),
                name,
                command,
            });
        }
        if let Some(file) = &self.run.runtime_config {
            let name = self.runtime_config_secret();
            let command = format!(
                "{} {}",
                kubectl(&name),
                shell_word(&format!(
                    "--from-file={RUNTIME_CONFIG_KEY}={}",
                    file.display()
                ))
            );
            secrets.push(SecretToCreate {
                keys: vec![RUNTIME_CONFIG_KEY.to_string()],
                name,
                command,
            });
        }
        secrets
    }

    /// What the user should know about these objects before applying them.
    pub fn warnings(&self) -> Vec<Hinted> {
        let Some(state) = &self.state else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        if state.stores && self.run.runtime_config.is_none() && self.run.replicas > 1 {
            warnings.push(Hinted::new(
                format!(
                    "--kube: without --runtime-config the default key-value store is a SQLite file inside each pod: the {} replicas do not share it, and a restarted pod starts empty",
                    self.run.replicas
                ),
                "give a shared store with --runtime-config FILE (Spin's runtime-config.toml, e.g. `[key_value_store.default]` of type redis), or run 1 replica",
            ));
        }
        warnings
    }
}

/// `word` as one word for a POSIX shell: as it is when nothing in it is special, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

// The objects, typed: field names as the Kubernetes API spells them.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<'a, Spec> {
    api_version: &'static str,
    kind: &'static str,
    metadata: &'a Metadata<'a>,
    spec: Spec,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    labels: &'a Labels<'a>,
}

#[derive(Serialize)]
struct Labels<'a> {
    #[serde(rename = "app.kubernetes.io/name")]
    name: &'a str,
    #[serde(
        rename = "app.kubernetes.io/managed-by",
        skip_serializing_if = "Option::is_none"
    )]
    managed_by: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentSpec<'a> {
    replicas: u32,
    selector: Selector<'a>,
    template: PodTemplate<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector<'a> {
    match_labels: &'a Labels<'a>,
}

#[derive(Serialize)]
struct PodTemplate<'a> {
    metadata: PodMetadata<'a>,
    spec: PodSpec<'a>,
}

#[derive(Serialize)]
struct PodMetadata<'a> {
    labels: &'a Labels<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec<'a> {
    runtime_class_name: &'a str,
    containers: [Container<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Volume<'a>>,
}

#[derive(Serialize)]
struct Volume<'a> {
    name: &'static str,
    secret: SecretVolume<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretVolume<'a> {
    secret_name: &'a str,
    items: [KeyToPath; 1],
}

#[derive(Serialize)]
struct KeyToPath {
    key: &'static str,
    path: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: &'static str,
    mount_path: &'static str,
    sub_path: &'static str,
    read_only: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container<'a> {
    name: &'a str,
    image: &'a str,
    command: [&'static str; 1],
    ports: [ContainerPort; 1],
    env: Vec<EnvVar<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Resources<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volume_mounts: Vec<VolumeMount>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPort {
    name: &'static str,
    container_port: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar<'a> {
    name: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_from: Option<EnvSource<'a>>,
}

/// Where an environment variable's value comes from: one key of a ConfigMap or Secret.
#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
enum EnvSource<'a> {
    ConfigMapKeyRef(KeyRef<'a>),
    SecretKeyRef(KeyRef<'a>),
}

#[derive(Serialize, Clone)]
struct KeyRef<'a> {
    name: &'a str,
    key: &'a str,
    /// A variable with a default may be left out of the Secret: Spin then uses the default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    optional: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigMap<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
    data: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Resources<'a> {
    requests: Quantities<'a>,
    limits: Quantities<'a>,
}

#[derive(Serialize, Clone, Copy)]
struct Quantities<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<&'a str>,
}

#[derive(Serialize)]
struct ServiceSpec<'a> {
    selector: &'a Labels<'a>,
    ports: [ServicePort; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServicePort {
    name: &'static str,
    port: u16,
    target_port: &'static str,
}

/// The objects as one multi-document YAML file, in apply order ([`KubeApp::kinds`]), with
/// a header saying what they need.
pub fn to_yaml(app: &KubeApp) -> Result<String, serde_saphyr::ser::Error> {
    let labels = Labels {
        name: &app.name,
        managed_by: Some("wasmctl"),
    };
    let selector = Labels {
        name: &app.name,
        managed_by: None,
    };
    let metadata = Metadata {
        name: &app.name,
        namespace: app.run.namespace.as_deref(),
        labels: &labels,
    };
    let quantities = Quantities {
        cpu: app.run.cpu.as_deref(),
        memory: app.run.memory.as_deref(),
    };
    let listen = format!("0.0.0.0:{SHIM_HTTP_PORT}");
    let mut environment: BTreeMap<&str, &str> = app
        .run
        .environment
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    if app.state.is_some() {
        // Given explicitly (`--kube-env`) it wins, as every environment value does.
        environment.entry(SPIN_LISTEN_ADDRESS).or_insert(&listen);
    }
    let mut env: Vec<EnvVar> = environment
        .into_iter()
        .map(|(name, value)| EnvVar {
            name: name.into(),
            value: Some(value),
            value_from: None,
        })
        .collect();
    let config_map_name = app.variables_config_map();
    let secret_name = app.secrets_secret();
    let runtime_config_name = app.runtime_config_secret();
    let mut volumes = Vec::new();
    let mut volume_mounts = Vec::new();
    if let Some(state) = &app.state {
        let variable = |name: &str| format!("{SPIN_VARIABLE_PREFIX}{}", name.to_ascii_uppercase());
        for name in state.variables.keys() {
            env.push(EnvVar {
                name: variable(name).into(),
                value: None,
                value_from: Some(EnvSource::ConfigMapKeyRef(KeyRef {
                    name: &config_map_name,
                    key: name,
                    optional: false,
                })),
            });
        }
        for (name, required) in &state.secrets {
            env.push(EnvVar {
                name: variable(name).into(),
                value: None,
                value_from: Some(EnvSource::SecretKeyRef(KeyRef {
                    name: &secret_name,
                    key: name,
                    optional: !required,
                })),
            });
        }
        if app.run.runtime_config.is_some() {
            volumes.push(Volume {
                name: "runtime-config",
                secret: SecretVolume {
                    secret_name: &runtime_config_name,
                    items: [KeyToPath {
                        key: RUNTIME_CONFIG_KEY,
                        path: RUNTIME_CONFIG_KEY,
                    }],
                },
            });
            volume_mounts.push(VolumeMount {
                name: "runtime-config",
                mount_path: RUNTIME_CONFIG_PATH,
                sub_path: RUNTIME_CONFIG_KEY,
                read_only: true,
            });
        }
    }
    let container = Container {
        name: &app.name,
        image: &app.image,
        // The Wasm module is the whole image: there is no entrypoint to run.
        command: ["/"],
        ports: [ContainerPort {
            name: "http",
            container_port: SHIM_HTTP_PORT,
        }],
        env,
        resources: (quantities.cpu.is_some() || quantities.memory.is_some()).then_some(Resources {
            requests: quantities,
            limits: quantities,
        }),
        volume_mounts,
    };
    let deployment = Object {
        api_version: "apps/v1",
        kind: "Deployment",
        metadata: &metadata,
        spec: DeploymentSpec {
            replicas: app.run.replicas,
            selector: Selector {
                match_labels: &selector,
            },
            template: PodTemplate {
                metadata: PodMetadata { labels: &labels },
                spec: PodSpec {
                    runtime_class_name: &app.run.runtime_class,
                    containers: [container],
                    volumes,
                },
            },
        },
    };
    let service = Object {
        api_version: "v1",
        kind: "Service",
        metadata: &metadata,
        spec: ServiceSpec {
            selector: &selector,
            ports: [ServicePort {
                name: "http",
                port: 80,
                target_port: "http",
            }],
        },
    };
    let mut out = format!("# Generated by `wasmctl deploy` for {}.\n", app.image);
    match &app.state {
        None => out.push_str(&format!(
            "# Needs a RuntimeClass named `{}` backed by runwasi's containerd-shim-wasmtime\n\
             # (installed, for example, by the KWasm operator or SpinKube's runtime-class-manager).\n",
            app.run.runtime_class
        )),
        Some(_) => {
            if app.run.shim == Shim::SpinKube {
                out.push_str(&format!(
                    "# Needs spin-operator (the SpinApp CRD, core.spinkube.dev/v1alpha1) and its\n\
                     # SpinAppExecutor `{SPIN_APP_EXECUTOR}` (SpinKube's containerd-shim-spin).\n"
                ));
            } else {
                out.push_str(&format!(
                    "# Needs a RuntimeClass named `{}` backed by SpinKube's containerd-shim-spin,\n\
                     # which links wasi:config and wasi:keyvalue (Spin's versions).\n",
                    app.run.runtime_class
                ));
            }
            let secrets = app.secrets_to_create();
            if !secrets.is_empty() {
                out.push_str("# Create first (their values are never written here):\n");
                for secret in secrets {
                    // A file name may hold a line break: each line stays a comment.
                    for line in secret.command.split(['\n', '\r']) {
                        out.push_str(&format!("#   {line}\n"));
                    }
                }
            }
        }
    }
    // Each value on its key's line: a long image reference folded into a `>-` block is
    // the same string, but harder to read and to grep.
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    if let Some(state) = app
        .state
        .as_ref()
        .filter(|state| !state.variables.is_empty())
    {
        let config_map = ConfigMap {
            api_version: "v1",
            kind: "ConfigMap",
            metadata: Metadata {
                name: &config_map_name,
                namespace: app.run.namespace.as_deref(),
                labels: &labels,
            },
            data: &state.variables,
        };
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string_with_options(
            &config_map,
            options.clone(),
        )?);
    }
    out.push_str("---\n");
    if app.run.shim == Shim::SpinKube {
        let spin_app =
            Object {
                api_version: "core.spinkube.dev/v1alpha1",
                kind: "SpinApp",
                metadata: &metadata,
                spec: SpinAppSpec {
                    image: &app.image,
                    executor: SPIN_APP_EXECUTOR,
                    replicas: app.run.replicas,
                    resources: deployment.spec.template.spec.containers[0]
                        .resources
                        .as_ref(),
                    variables: spin_app_variables(&deployment.spec.template.spec.containers[0].env),
                    runtime_config: app.run.runtime_config.is_some().then_some(
                        SpinAppRuntimeConfig {
                            load_from_secret: &runtime_config_name,
                        },
                    ),
                },
            };
        out.push_str(&serde_saphyr::to_string_with_options(&spin_app, options)?);
        return Ok(out);
    }
    out.push_str(&serde_saphyr::to_string_with_options(
        &deployment,
        options.clone(),
    )?);
    out.push_str("---\n");
    out.push_str(&serde_saphyr::to_string_with_options(&service, options)?);
    Ok(out)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpinAppSpec<'a> {
    image: &'a str,
    executor: &'static str,
    replicas: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<&'a Resources<'a>>,
    /// spin-operator sets each as `SPIN_VARIABLE_<NAME>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    variables: Vec<EnvVar<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_config: Option<SpinAppRuntimeConfig<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpinAppRuntimeConfig<'a> {
    /// A Secret whose key `runtime-config.toml` holds Spin's runtime config.
    load_from_secret: &'a str,
}

/// A SpinApp's `variables`: the pod's `SPIN_VARIABLE_*` sources under the app variable's
/// own name, which spin-operator turns back into that environment variable.
fn spin_app_variables<'a>(env: &[EnvVar<'a>]) -> Vec<EnvVar<'a>> {
    env.iter()
        .filter_map(|variable| {
            let name = variable.name.strip_prefix(SPIN_VARIABLE_PREFIX)?;
            Some(EnvVar {
                name: name.to_ascii_lowercase().into(),
                value: variable.value,
                value_from: variable.value_from.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::*;
    use serde_json::Value;

    fn app() -> KubeApp {
        KubeApp {
            name: "svc".into(),
            image: "127.0.0.1:5000/demo/svc@sha256:abc".into(),
            run: KubeSettings {
                namespace: Some("apps".into()),
                replicas: 3,
                shim: Shim::Wasmtime,
                runtime_class: "wasmtime".into(),
                cpu: Some("250m".into()),
                memory: None,
                environment: BTreeMap::from([("GREETING".into(), "hi".into())]),
                runtime_config: None,
            },
            state: None,
        }
    }

    fn documents(yaml: &str) -> Vec<Value> {
        serde_saphyr::from_multiple(yaml).unwrap()
    }

    #[test]
    fn yaml_parses_back_into_a_deployment_and_a_service() {
        let documents = documents(&to_yaml(&app()).unwrap());
        let kinds: Vec<&str> = documents
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["Deployment", "Service"]);
        let deployment = &documents[0];
        assert_eq!(deployment["metadata"]["namespace"], "apps");
        assert_eq!(
            deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "wasmctl"
        );
        assert_eq!(deployment["spec"]["replicas"], 3);
        assert_eq!(
            deployment["spec"]["selector"]["matchLabels"],
            serde_json::json!({ "app.kubernetes.io/name": "svc" })
        );
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["runtimeClassName"], "wasmtime");
        let container = &pod["containers"][0];
        assert_eq!(container["image"], "127.0.0.1:5000/demo/svc@sha256:abc");
        assert_eq!(container["command"], serde_json::json!(["/"]));
        assert_eq!(container["ports"][0]["containerPort"], 8080);
        assert_eq!(container["env"][0]["name"], "GREETING");
        assert_eq!(container["resources"]["limits"]["cpu"], "250m");
        assert_eq!(container["resources"]["requests"]["cpu"], "250m");
        assert!(container["resources"]["limits"].get("memory").is_none());
        assert_eq!(documents[1]["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(documents[1]["spec"]["ports"][0]["port"], 80);
    }

    #[test]
    fn no_namespace_and_no_resources_leave_their_keys_out() {
        let base = app();
        let yaml = to_yaml(&KubeApp {
            run: KubeSettings {
                namespace: None,
                cpu: None,
                ..base.run
            },
            ..base
        })
        .unwrap();
        let deployment = &documents(&yaml)[0];
        assert!(deployment["metadata"].get("namespace").is_none(), "{yaml}");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert!(container.get("resources").is_none(), "{yaml}");
    }

    /// Kubernetes reads YAML 1.1, where these plain scalars are booleans, null, numbers or
    /// timestamps: an environment value written plain would be refused or changed.
    #[test]
    fn values_a_yaml_1_1_reader_would_retype_are_quoted() {
        let tricky = [
            "yes",
            "no",
            "Y",
            "n",
            "on",
            "OFF",
            "true",
            "~",
            "null",
            "",
            "0755",
            "0x1f",
            "1:30",
            "1e3",
            "12",
            "2001-12-14",
            ".inf",
        ];
        let environment: BTreeMap<String, String> = tricky
            .iter()
            .enumerate()
            .map(|(i, value)| (format!("V{i:02}"), value.to_string()))
            .collect();
        let base = app();
        let yaml = to_yaml(&KubeApp {
            run: KubeSettings {
                environment: environment.clone(),
                ..base.run
            },
            ..base
        })
        .unwrap();
        for value in tricky {
            assert!(
                !yaml
                    .lines()
                    .any(|line| line.trim() == format!("value: {value}").trim()),
                "`{value}` is written plain:\n{yaml}"
            );
        }
        let container = &documents(&yaml)[0]["spec"]["template"]["spec"]["containers"][0];
        for (i, (name, value)) in environment.iter().enumerate() {
            assert_eq!(
                container["env"][i],
                serde_json::json!({ "name": name, "value": value })
            );
        }
    }

    fn component(key_value_stores: &[&str]) -> Component {
        Component {
            id: "svc".into(),
            source: "svc.wasm".into(),
            description: None,
            environment: BTreeMap::from([
                ("COMPONENT_ONLY".into(), "component".into()),
                ("SHARED".into(), "component".into()),
            ]),
            files: Vec::new(),
            allowed_outbound_hosts: Vec::new(),
            variables: BTreeMap::new(),
            key_value_stores: key_value_stores.iter().map(|s| s.to_string()).collect(),
            limits: Default::default(),
            build: None,
        }
    }

    fn settings(shim: Shim) -> KubeSettings {
        KubeSettings {
            namespace: Some("apps".into()),
            replicas: 2,
            shim,
            runtime_class: shim.default_runtime_class().into(),
            cpu: None,
            memory: Some("128Mi".into()),
            environment: BTreeMap::from([("SHARED".into(), "settings".into())]),
            runtime_config: None,
        }
    }

    /// An app of one component, `svc`, with this manifest body after `[component.svc]`.
    fn loaded(dir: &Path, body: &str) -> App {
        let path = dir.join(crate::manifest::MANIFEST_FILE);
        std::fs::write(
            &path,
            format!(
                "manifest_version = 1\n[application]\nname = \"svc\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"svc\"\n[component.svc]\nsource = \"svc.wasm\"\n{body}"
            ),
        )
        .unwrap();
        crate::manifest::load(&path).unwrap()
    }

    const STATEFUL: &str = "key_value_stores = [\"default\"]\n[component.svc.variables]\ngreeting = \"{{ greeting }}\"\ntoken = \"{{ api_token }}\"\n[variables]\ngreeting = { default = \"hello\" }\nmode = { default = \"yes\" }\napi_token = { required = true, secret = true }\nsigning_key = { default = \"dev\", secret = true }\n";

    /// The stateful app's YAML, its secret given in the environment `deploy` runs in.
    fn stateful_yaml(dir: &Path, runtime_config: Option<PathBuf>) -> (KubeApp, String) {
        let app = loaded(dir, STATEFUL);
        let component = &app.components["svc"];
        let shim = Shim::for_app(&app, runtime_config.is_some());
        assert_eq!(shim, Shim::Spin);
        let settings = KubeSettings {
            runtime_config,
            ..settings(shim)
        };
        let resolved = crate::variables::resolve_public(&app, &[]).unwrap();
        let kube_app = KubeApp::new(
            "svc".into(),
            "r/svc@sha256:abc".into(),
            &app,
            component,
            settings,
            &resolved,
        );
        let yaml = to_yaml(&kube_app).unwrap();
        (kube_app, yaml)
    }

    #[test]
    fn the_pod_environment_is_the_component_s_under_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let app = loaded(dir.path(), "");
        let app = KubeApp::new(
            "svc".into(),
            "r/svc@sha256:abc".into(),
            &app,
            &component(&[]),
            settings(Shim::Wasmtime),
            &Resolved::default(),
        );
        assert_eq!(
            app.run.environment,
            BTreeMap::from([
                ("COMPONENT_ONLY".into(), "component".into()),
                ("SHARED".into(), "settings".into()),
            ])
        );
        assert_eq!(
            (
                app.run.replicas,
                app.run.namespace.as_deref(),
                app.run.memory.as_deref()
            ),
            (2, Some("apps"), Some("128Mi"))
        );
        assert!(app.state.is_none(), "a stateless app reads nothing");
        assert!(app.secrets_to_create().is_empty() && app.warnings().is_empty());
    }

    #[test]
    fn variables_and_stores_pick_spin_s_shim() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Shim::for_app(&loaded(dir.path(), ""), false),
            Shim::Wasmtime
        );
        assert_eq!(Shim::for_app(&loaded(dir.path(), ""), true), Shim::Spin);
        let stores = loaded(dir.path(), "key_value_stores = [\"default\"]\n");
        assert_eq!(Shim::for_app(&stores, false), Shim::Spin);
        let variables = loaded(dir.path(), "[variables]\na = { default = \"x\" }\n");
        assert_eq!(Shim::for_app(&variables, false), Shim::Spin);

        let mut settings = settings(Shim::Spin);
        assert!(check_runtime_class(&stores, &settings).is_ok());
        settings.runtime_class = DEFAULT_RUNTIME_CLASS.into();
        let refused = check_runtime_class(&stores, &settings).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("links neither wasi:config nor wasi:keyvalue, and this app uses key-value stores (wasi:keyvalue)"),
            "{refused}"
        );
        assert!(
            check_runtime_class(&loaded(dir.path(), ""), &self::settings(Shim::Wasmtime)).is_ok()
        );
    }

    #[test]
    fn a_stateful_app_reads_a_config_map_and_secrets_it_never_holds() {
        let dir = tempfile::tempdir().unwrap();
        let (app, yaml) = stateful_yaml(dir.path(), None);
        let documents = documents(&yaml);
        let kinds: Vec<&str> = documents
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["ConfigMap", "Deployment", "Service"]);
        assert_eq!(kinds, app.kinds());

        let config_map = &documents[0];
        assert_eq!(config_map["metadata"]["name"], "svc-variables");
        assert_eq!(config_map["metadata"]["namespace"], "apps");
        assert_eq!(
            config_map["data"],
            serde_json::json!({ "greeting": "hello", "mode": "yes" }),
            "non-secret values only, `yes` still a string:\n{yaml}"
        );

        let pod = &documents[1]["spec"]["template"]["spec"];
        assert_eq!(pod["runtimeClassName"], crate::deploy::SPIN_RUNTIME_CLASS);
        assert!(pod.get("volumes").is_none(), "{yaml}");
        let container = &pod["containers"][0];
        assert!(container.get("volumeMounts").is_none(), "{yaml}");
        assert_eq!(container["ports"][0]["containerPort"], SHIM_HTTP_PORT);
        assert_eq!(
            container["env"],
            serde_json::json!([
                { "name": "SHARED", "value": "settings" },
                { "name": "SPIN_HTTP_LISTEN_ADDR", "value": "0.0.0.0:8080" },
                { "name": "SPIN_VARIABLE_GREETING", "valueFrom": { "configMapKeyRef": { "name": "svc-variables", "key": "greeting" } } },
                { "name": "SPIN_VARIABLE_MODE", "valueFrom": { "configMapKeyRef": { "name": "svc-variables", "key": "mode" } } },
                { "name": "SPIN_VARIABLE_API_TOKEN", "valueFrom": { "secretKeyRef": { "name": "svc-secrets", "key": "api_token" } } },
                { "name": "SPIN_VARIABLE_SIGNING_KEY", "valueFrom": { "secretKeyRef": { "name": "svc-secrets", "key": "signing_key", "optional": true } } },
            ])
        );
        // The secret's default is in the manifest, never in the YAML.
        assert!(!yaml.contains("dev"), "{yaml}");

        assert_eq!(
            app.secrets_to_create(),
            [SecretToCreate {
                name: "svc-secrets".into(),
                keys: vec!["api_token".into(), "signing_key".into()],
                command: "kubectl create secret generic svc-secrets --namespace apps --from-literal=api_token=VALUE --from-literal=signing_key=VALUE".into(),
            }]
        );
        assert!(
            yaml.contains(&format!("#   {}\n", app.secrets_to_create()[0].command)),
            "{yaml}"
        );
        let warnings: Vec<String> = app.warnings().iter().map(|w| w.to_string()).collect();
        assert!(
            warnings[0].contains("the 2 replicas do not share it"),
            "{warnings:?}"
        );
    }

    #[test]
    fn the_runtime_config_secret_is_mounted_where_spin_s_shim_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("my config.toml");
        std::fs::write(
            &file,
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://:pw@redis:6379\"\n",
        )
        .unwrap();
        crate::runtime_config::load(&file).unwrap();
        let (app, yaml) = stateful_yaml(dir.path(), Some(file.clone()));
        assert!(
            !yaml.contains("redis"),
            "the file's text is in the YAML:\n{yaml}"
        );
        let deployment = &documents(&yaml)[1];
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(
            pod["volumes"],
            serde_json::json!([{
                "name": "runtime-config",
                "secret": {
                    "secretName": "svc-runtime-config",
                    "items": [{ "key": "runtime-config.toml", "path": "runtime-config.toml" }],
                },
            }])
        );
        assert_eq!(
            pod["containers"][0]["volumeMounts"],
            serde_json::json!([{
                "name": "runtime-config",
                "mountPath": "/runtime-config.toml",
                "subPath": "runtime-config.toml",
                "readOnly": true,
            }])
        );
        let secrets = app.secrets_to_create();
        assert_eq!(secrets[1].name, "svc-runtime-config");
        assert_eq!(
            secrets[1].command,
            format!(
                "kubectl create secret generic svc-runtime-config --namespace apps '--from-file=runtime-config.toml={}'",
                file.display()
            )
        );
        // A shared store: no warning about replicas.
        assert_eq!(app.warnings().len(), 0);

        // A line break in the file's name cannot end the header's comment.
        let odd = dir.path().join("rc\nkind: Secret\r.toml");
        std::fs::write(&odd, "").unwrap();
        let (_, yaml) = stateful_yaml(dir.path(), Some(odd));
        assert!(
            yaml.lines()
                .filter(|line| line.contains("kind: Secret"))
                .all(|line| line.starts_with('#')),
            "{yaml}"
        );
        assert_eq!(documents(&yaml).len(), 3, "{yaml}");
    }

    /// What `to_yaml` wrote for [`app`] before stateful apps existed (commit 1d7fac7):
    /// a stateless app's objects stay exactly these bytes.
    const STATELESS_YAML: &str = r#"# Generated by `wasmctl deploy` for 127.0.0.1:5000/demo/svc@sha256:abc.
# Needs a RuntimeClass named `wasmtime` backed by runwasi's containerd-shim-wasmtime
# (installed, for example, by the KWasm operator or SpinKube's runtime-class-manager).
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc
  namespace: apps
  labels:
    app.kubernetes.io/name: svc
    app.kubernetes.io/managed-by: wasmctl
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: svc
  template:
    metadata:
      labels:
        app.kubernetes.io/name: svc
        app.kubernetes.io/managed-by: wasmctl
    spec:
      runtimeClassName: wasmtime
      containers:
      - name: svc
        image: 127.0.0.1:5000/demo/svc@sha256:abc
        command:
        - /
        ports:
        - name: http
          containerPort: 8080
        env:
        - name: GREETING
          value: hi
        resources:
          requests:
            cpu: 250m
          limits:
            cpu: 250m
---
apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: apps
  labels:
    app.kubernetes.io/name: svc
    app.kubernetes.io/managed-by: wasmctl
spec:
  selector:
    app.kubernetes.io/name: svc
  ports:
  - name: http
    port: 80
    targetPort: http
"#;

    #[test]
    fn stateless_yaml_is_unchanged_byte_for_byte() {
        assert_eq!(to_yaml(&app()).unwrap(), STATELESS_YAML);
    }

    #[test]
    fn stateless_yaml_has_no_trace_of_spin() {
        let yaml = to_yaml(&app()).unwrap();
        for word in ["SPIN_", "volume", "ConfigMap", "Secret", "valueFrom"] {
            assert!(!yaml.contains(word), "`{word}` in\n{yaml}");
        }
    }
}
