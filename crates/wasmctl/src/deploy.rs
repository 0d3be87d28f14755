//! The settings of `wasmctl deploy` and `wasmctl registry push`, resolved in one place:
//! each value is its flag when given, else the manifest's `[deploy]` or
//! `[deploy.kubernetes]` key, else the default. The commands map their flags into
//! [`DeployFlags`] / [`PushFlags`] (plain values, no clap) and use only what
//! [`DeploySettings::resolve`] / [`PushSettings::resolve`] return; nothing else reads
//! `app.deploy`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_client::Reference;

use crate::kube::Shim;
use crate::manifest::{App, Kubernetes};
use crate::registry::{self, RegistryError};

/// Pod replicas when neither `--replicas` nor `[deploy.kubernetes] replicas` says.
pub const DEFAULT_REPLICAS: u32 = 1;

/// The RuntimeClass of a stateless app when neither `--runtime-class` nor
/// `[deploy.kubernetes] runtime_class` names one: the name runwasi's wasmtime shim is
/// usually installed under.
pub const DEFAULT_RUNTIME_CLASS: &str = "wasmtime";

/// The RuntimeClass of an app with variables or key-value stores when none is named: the
/// name SpinKube installs its containerd-shim-spin under (spin-operator's Helm chart and
/// samples), the shim that links wasi:config and wasi:keyvalue.
pub const SPIN_RUNTIME_CLASS: &str = "wasmtime-spin-v2";

/// The push flags as given: `None` or `false` where a flag was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushFlags {
    /// `HOST[:PORT]/REPO:TAG` (`deploy --registry`, `registry push REF`).
    pub registry: Option<String>,
    /// `--insecure`.
    pub insecure: bool,
}

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// The flag, else `[deploy] registry`; there is no default.
    pub reference: Reference,
    /// Plain HTTP to a registry that is not on loopback: the flag or `[deploy] insecure`.
    pub insecure: bool,
    /// The artifact's layout: wasmctl's, unless `deploy --kube` writes objects for a Spin
    /// runtime ([`Shim::layout`]).
    pub layout: registry::Layout,
}

impl PushSettings {
    /// Resolves `flags` over `app`'s `[deploy]` table; no registry in either is
    /// [`RegistryError::NoTarget`].
    pub fn resolve(flags: PushFlags, app: &App) -> Result<PushSettings, RegistryError> {
        let text = flags
            .registry
            .as_deref()
            .or(app.deploy.registry.as_deref())
            .ok_or(RegistryError::NoTarget)?;
        Ok(PushSettings {
            reference: registry::parse_reference(text)?,
            insecure: flags.insecure || app.deploy.insecure,
            layout: registry::Layout::Wasmctl,
        })
    }
}

/// The Kubernetes flags of `deploy` as given, each checked with the rule of the
/// `[deploy.kubernetes]` key it overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeFlags {
    /// `--namespace`.
    pub namespace: Option<String>,
    /// `--replicas`: from 1 to `i32::MAX`.
    pub replicas: Option<u32>,
    /// `--cpu`: a Kubernetes CPU quantity, e.g. `250m`.
    pub cpu: Option<String>,
    /// `--memory`: a Kubernetes memory quantity, e.g. `128Mi`.
    pub memory: Option<String>,
    /// `--runtime-class`.
    pub runtime_class: Option<String>,
    /// `--kube-env`, in the order given (a later one wins).
    pub environment: Vec<(String, String)>,
    /// `--runtime-config`: Spin's `runtime-config.toml`, for a Secret the pods mount.
    pub runtime_config: Option<PathBuf>,
    /// `--runtime`: the runtime to write objects for; `None` picks by the app
    /// ([`Shim::for_app`]).
    pub runtime: Option<Shim>,
}

/// How the app runs on Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSettings {
    /// `None`: kubectl's current namespace.
    pub namespace: Option<String>,
    /// Pod replicas: at least 1; [`DEFAULT_REPLICAS`] unless set.
    pub replicas: u32,
    /// The shim the objects are written for: Spin's for an app with state.
    pub shim: Shim,
    /// The RuntimeClass the pods run under: the cluster's name for its Wasm runtime;
    /// unless set, [`DEFAULT_RUNTIME_CLASS`], or [`SPIN_RUNTIME_CLASS`] for Spin's shim.
    pub runtime_class: String,
    /// CPU request and limit; `None` sets none.
    pub cpu: Option<String>,
    /// Memory request and limit; `None` sets none.
    pub memory: Option<String>,
    /// The manifest's `environment` of `[deploy.kubernetes]`, then the flags' (which win).
    /// The component's own `environment` lies beneath both ([`crate::kube::KubeApp::new`]).
    pub environment: BTreeMap<String, String>,
    /// The runtime config file whose Secret the pods mount (`--runtime-config`).
    pub runtime_config: Option<PathBuf>,
}

impl KubeSettings {
    /// Resolves `flags` over the manifest's `[deploy.kubernetes]` table, then the
    /// defaults, for objects run by `shim`.
    pub fn resolve(flags: KubeFlags, manifest: &Kubernetes, shim: Shim) -> KubeSettings {
        let mut environment = manifest.environment.clone();
        environment.extend(flags.environment);
        KubeSettings {
            namespace: flags.namespace.or_else(|| manifest.namespace.clone()),
            replicas: flags
                .replicas
                .or(manifest.replicas)
                .unwrap_or(DEFAULT_REPLICAS),
            shim,
            runtime_class: flags
                .runtime_class
                .or_else(|| manifest.runtime_class.clone())
                .unwrap_or_else(|| shim.default_runtime_class().to_string()),
            cpu: flags.cpu.or_else(|| manifest.cpu.clone()),
            memory: flags.memory.or_else(|| manifest.memory.clone()),
            environment,
            runtime_config: flags.runtime_config,
        }
    }
}

/// The flags of `wasmctl deploy` as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployFlags {
    /// Where to push.
    pub push: PushFlags,
    /// How the app runs on Kubernetes (used when `deploy --kube` writes manifests).
    pub kubernetes: KubeFlags,
    /// `--kube` was given: the artifact is pushed in the layout its runtime runs.
    pub writes_kube: bool,
}

/// Everything `wasmctl deploy` needs to know, resolved once.
#[derive(Debug, Clone)]
pub struct DeploySettings {
    /// Where and how to push.
    pub push: PushSettings,
    /// How the app runs on Kubernetes (used when `deploy --kube` writes manifests).
    pub kubernetes: KubeSettings,
}

impl DeploySettings {
    /// Resolves every flag over `app`'s `[deploy]` table, then the defaults.
    pub fn resolve(flags: DeployFlags, app: &App) -> Result<DeploySettings, RegistryError> {
        let shim = flags
            .kubernetes
            .runtime
            .unwrap_or_else(|| Shim::for_app(app, flags.kubernetes.runtime_config.is_some()));
        let mut push = PushSettings::resolve(flags.push, app)?;
        if flags.writes_kube {
            push.layout = shim.layout();
        }
        Ok(DeploySettings {
            push,
            kubernetes: KubeSettings::resolve(flags.kubernetes, &app.deploy.kubernetes, shim),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::manifest::Deploy;

    fn app(deploy: Deploy) -> App {
        App {
            manifest_path: PathBuf::from("/app/wasmctl.toml"),
            format: crate::manifest::ManifestFormat::Wasmctl,
            dir: PathBuf::from("/app"),
            name: "svc".into(),
            version: None,
            description: None,
            authors: Vec::new(),
            variables: BTreeMap::new(),
            routes: Vec::new(),
            components: BTreeMap::new(),
            deploy,
        }
    }

    fn manifest_kubernetes() -> Kubernetes {
        Kubernetes {
            namespace: Some("from-manifest".into()),
            replicas: Some(3),
            cpu: Some("500m".into()),
            memory: Some("256Mi".into()),
            runtime_class: Some("manifest-class".into()),
            environment: BTreeMap::from([
                ("SHARED".into(), "manifest".into()),
                ("MANIFEST_ONLY".into(), "manifest".into()),
            ]),
        }
    }

    fn all_kube_flags() -> KubeFlags {
        KubeFlags {
            namespace: Some("from-flag".into()),
            replicas: Some(5),
            cpu: Some("250m".into()),
            memory: Some("128Mi".into()),
            runtime_class: Some("flag-class".into()),
            environment: vec![
                ("SHARED".into(), "first flag".into()),
                ("SHARED".into(), "flag".into()),
                ("FLAG_ONLY".into(), "flag".into()),
            ],
            runtime_config: None,
            runtime: None,
        }
    }

    #[test]
    fn kube_flags_win_over_the_manifest() {
        let settings =
            KubeSettings::resolve(all_kube_flags(), &manifest_kubernetes(), Shim::Wasmtime);
        assert_eq!(
            settings,
            KubeSettings {
                namespace: Some("from-flag".into()),
                replicas: 5,
                shim: Shim::Wasmtime,
                runtime_class: "flag-class".into(),
                cpu: Some("250m".into()),
                memory: Some("128Mi".into()),
                environment: BTreeMap::from([
                    ("SHARED".into(), "flag".into()),
                    ("MANIFEST_ONLY".into(), "manifest".into()),
                    ("FLAG_ONLY".into(), "flag".into()),
                ]),
                runtime_config: None,
            }
        );
    }

    #[test]
    fn the_manifest_fills_in_what_no_flag_gives() {
        let settings =
            KubeSettings::resolve(KubeFlags::default(), &manifest_kubernetes(), Shim::Spin);
        assert_eq!(
            settings,
            KubeSettings {
                namespace: Some("from-manifest".into()),
                replicas: 3,
                shim: Shim::Spin,
                runtime_class: "manifest-class".into(),
                cpu: Some("500m".into()),
                memory: Some("256Mi".into()),
                environment: manifest_kubernetes().environment,
                runtime_config: None,
            }
        );
    }

    #[test]
    fn without_flags_or_manifest_keys_the_defaults_hold() {
        let settings =
            KubeSettings::resolve(KubeFlags::default(), &Kubernetes::default(), Shim::Wasmtime);
        assert_eq!(
            settings,
            KubeSettings {
                namespace: None,
                replicas: DEFAULT_REPLICAS,
                shim: Shim::Wasmtime,
                runtime_class: DEFAULT_RUNTIME_CLASS.into(),
                cpu: None,
                memory: None,
                environment: BTreeMap::new(),
                runtime_config: None,
            }
        );
        let spin = KubeSettings::resolve(KubeFlags::default(), &Kubernetes::default(), Shim::Spin);
        assert_eq!(spin.runtime_class, SPIN_RUNTIME_CLASS);
    }

    #[test]
    fn the_registry_flag_wins_over_the_manifest() {
        let manifest = Deploy {
            registry: Some("127.0.0.1:5000/manifest/svc:v1".into()),
            ..Deploy::default()
        };
        let flags = PushFlags {
            registry: Some("127.0.0.1:5000/flag/svc:v2".into()),
            insecure: false,
        };
        let settings = PushSettings::resolve(flags, &app(manifest.clone())).unwrap();
        assert_eq!(settings.reference.repository(), "flag/svc");
        let settings = PushSettings::resolve(PushFlags::default(), &app(manifest)).unwrap();
        assert_eq!(settings.reference.repository(), "manifest/svc");
        assert!(!settings.insecure);
    }

    #[test]
    fn without_a_registry_anywhere_there_is_no_target() {
        let error = PushSettings::resolve(PushFlags::default(), &app(Deploy::default()));
        assert!(matches!(error, Err(RegistryError::NoTarget)), "{error:?}");
        let bad = PushFlags {
            registry: Some("svc:v1".into()),
            insecure: false,
        };
        let error = PushSettings::resolve(bad, &app(Deploy::default()));
        assert!(
            matches!(error, Err(RegistryError::BadReference { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn insecure_is_the_flag_or_the_manifest() {
        let registry = Some("example.com/svc:v1".to_string());
        for (flag, manifest, insecure) in [
            (false, false, false),
            (true, false, true),
            (false, true, true),
            (true, true, true),
        ] {
            let flags = PushFlags {
                registry: registry.clone(),
                insecure: flag,
            };
            let deploy = Deploy {
                insecure: manifest,
                ..Deploy::default()
            };
            let settings = PushSettings::resolve(flags, &app(deploy)).unwrap();
            assert_eq!(
                settings.insecure, insecure,
                "flag {flag}, manifest {manifest}"
            );
        }
    }

    #[test]
    fn deploy_settings_resolve_both_tables() {
        let deploy = Deploy {
            registry: Some("127.0.0.1:5000/demo/svc:v1".into()),
            insecure: false,
            kubernetes: manifest_kubernetes(),
        };
        let flags = DeployFlags {
            push: PushFlags::default(),
            kubernetes: KubeFlags {
                replicas: Some(2),
                ..KubeFlags::default()
            },
            writes_kube: false,
        };
        let settings = DeploySettings::resolve(flags.clone(), &app(deploy.clone())).unwrap();
        assert_eq!(settings.push.reference.repository(), "demo/svc");
        assert_eq!(settings.kubernetes.replicas, 2);
        assert_eq!(
            settings.kubernetes.namespace.as_deref(),
            Some("from-manifest")
        );
        assert_eq!(settings.kubernetes.shim, Shim::Wasmtime, "no state");
        assert_eq!(settings.push.layout, registry::Layout::Wasmctl);

        // `--runtime spinkube` with `--kube`: Spin's layout; without `--kube` the artifact
        // stays wasmctl's, whatever the runtime.
        let spinkube = |writes_kube| DeployFlags {
            kubernetes: KubeFlags {
                runtime: Some(Shim::SpinKube),
                ..flags.kubernetes.clone()
            },
            writes_kube,
            ..flags.clone()
        };
        let settings = DeploySettings::resolve(spinkube(true), &app(deploy.clone())).unwrap();
        assert_eq!(settings.kubernetes.shim, Shim::SpinKube);
        assert_eq!(settings.push.layout, registry::Layout::Spin);
        let settings = DeploySettings::resolve(spinkube(false), &app(deploy)).unwrap();
        assert_eq!(settings.push.layout, registry::Layout::Wasmctl);
    }
}
