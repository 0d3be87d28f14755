//! Kubernetes manifests that run a pushed component on a cluster with a Wasm runtime.
//!
//! The target is runwasi's wasmtime shim (`containerd-shim-wasmtime`), selected with a
//! `RuntimeClass` (default name `wasmtime`): a plain `Deployment` plus a `Service`. It runs
//! the standard Wasm OCI artifact `wasmctl deploy` pushes, needs no operator or CRDs, and
//! serves a `wasi:http` component on port 8080 of the pod. It runs one component per pod,
//! so apps with several components are refused (deploy them as separate apps). SpinKube's
//! `SpinApp` was not chosen: it expects Spin's own artifact layout, which wasmctl does not
//! push.

use serde::Serialize;

use crate::deploy::KubeSettings;
use crate::manifest::Component;

/// The port runwasi's wasmtime shim serves `wasi:http` components on.
pub const SHIM_HTTP_PORT: u16 = 8080;

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
}

impl KubeApp {
    /// `component`, the app's one component (the shim runs one per pod), as `name` from
    /// `image`, run as `settings` say. The pod's environment is the component's
    /// `environment`, overridden by the settings' (`[deploy.kubernetes]`, then `--kube-env`).
    pub fn new(
        name: String,
        image: String,
        component: &Component,
        settings: KubeSettings,
    ) -> KubeApp {
        let mut environment = component.environment.clone();
        environment.extend(settings.environment);
        KubeApp {
            name,
            image,
            run: KubeSettings {
                environment,
                ..settings
            },
        }
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
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPort {
    name: &'static str,
    container_port: u16,
}

#[derive(Serialize)]
struct EnvVar<'a> {
    name: &'a str,
    value: &'a str,
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

/// The Deployment and Service as one multi-document YAML file, in apply order, with a
/// header saying what they need.
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
    let container = Container {
        name: &app.name,
        image: &app.image,
        // The Wasm module is the whole image: there is no entrypoint to run.
        command: ["/"],
        ports: [ContainerPort {
            name: "http",
            container_port: SHIM_HTTP_PORT,
        }],
        env: app
            .run
            .environment
            .iter()
            .map(|(name, value)| EnvVar { name, value })
            .collect(),
        resources: (quantities.cpu.is_some() || quantities.memory.is_some()).then_some(Resources {
            requests: quantities,
            limits: quantities,
        }),
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
    let mut out = format!(
        "# Generated by `wasmctl deploy` for {}.\n\
         # Needs a RuntimeClass named `{}` backed by runwasi's containerd-shim-wasmtime\n\
         # (installed, for example, by the KWasm operator or SpinKube's runtime-class-manager).\n",
        app.image, app.run.runtime_class
    );
    // Each value on its key's line: a long image reference folded into a `>-` block is
    // the same string, but harder to read and to grep.
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    out.push_str("---\n");
    out.push_str(&serde_saphyr::to_string_with_options(
        &deployment,
        options.clone(),
    )?);
    out.push_str("---\n");
    out.push_str(&serde_saphyr::to_string_with_options(&service, options)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use serde_json::Value;

    fn app() -> KubeApp {
        KubeApp {
            name: "svc".into(),
            image: "127.0.0.1:5000/demo/svc@sha256:abc".into(),
            run: KubeSettings {
                namespace: Some("apps".into()),
                replicas: 3,
                runtime_class: "wasmtime".into(),
                cpu: Some("250m".into()),
                memory: None,
                environment: BTreeMap::from([("GREETING".into(), "hi".into())]),
            },
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

    #[test]
    fn the_pod_environment_is_the_component_s_under_the_settings() {
        let component = Component {
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
            key_value_stores: Vec::new(),
            limits: Default::default(),
            build: None,
        };
        let settings = KubeSettings {
            namespace: Some("apps".into()),
            replicas: 2,
            runtime_class: "wasmtime".into(),
            cpu: None,
            memory: Some("128Mi".into()),
            environment: BTreeMap::from([("SHARED".into(), "settings".into())]),
        };
        let app = KubeApp::new(
            "svc".into(),
            "r/svc@sha256:abc".into(),
            &component,
            settings,
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
    }
}
