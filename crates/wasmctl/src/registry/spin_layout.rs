//! Spin's OCI layout, the one `spin registry push` writes and SpinKube's
//! containerd-shim-spin runs (Spin 3.6.3, the version shim 0.24 builds on; see
//! docs/deploy.md), packed by wasmctl and read back.
//!
//! - config `application/vnd.oci.image.config.v1+json`: an image config with
//!   `architecture: wasm` (the only field the shim checks) and a label naming the locked
//!   app's digest, so two apps never share an image id;
//! - one `application/vnd.wasm.content.layer.v1+wasm` layer per component;
//! - one `application/vnd.wasm.content.layer.v1+data` layer per granted file, or, when
//!   that would make more than [`MAX_LAYERS`] layers, one
//!   `application/vnd.wasm.content.bundle.v1.tar+gzip` archive per granted directory (a
//!   file is found in it by its own digest, as Spin finds it);
//! - last, `application/vnd.fermyon.spin.application.v1+config`: the locked app (JSON),
//!   each component's source and each file named by digest.
//!
//! Reading one back ([`materialize`]) writes the components and files into the app
//! directory and a `spin.toml` that says what the locked app says, so the manifest's
//! own rules check every value an artifact brings before anything is served.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use oci_client::manifest::OciImageManifest;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::artifact::{Artifact, Blob, push_unique, sha256_digest};
use crate::component::ValidComponent;
use crate::hint::Hinted;
use crate::manifest::App;

/// The config blob's media type: a plain OCI image config.
pub const IMAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The locked app's layer, always the last.
pub const LOCKED_APP_MEDIA_TYPE: &str = "application/vnd.fermyon.spin.application.v1+config";
/// A component layer.
pub const WASM_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// One granted file.
pub const DATA_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+data";
/// A tar.gz of granted files, each found by its own digest.
pub const ARCHIVE_MEDIA_TYPE: &str = "application/vnd.wasm.content.bundle.v1.tar+gzip";
/// Spin switches from a layer per file to archives above this many layers (registries
/// refuse manifests with too many).
pub const MAX_LAYERS: usize = 500;
/// The `spin_lock_version` Spin writes for an app without host requirements.
const LOCK_VERSION: u32 = 0;
/// The highest `spin_lock_version` Spin 3.6 (and wasmctl) reads.
const MAX_LOCK_VERSION: u32 = 1;
/// The image config label holding the locked app's digest (Spin's name).
const LOCKED_APP_LABEL: &str = "com.fermyon.spin.lockedAppDigest";

// The locked app, as Spin's `spin-locked-app` crate (de)serializes it: every key but the
// ones marked required has a default, and keys wasmctl does not know are kept out.

#[derive(Debug, Serialize, Deserialize)]
struct LockedApp {
    spin_lock_version: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    must_understand: Vec<String>,
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    host_requirements: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    variables: BTreeMap<String, LockedVariable>,
    triggers: Vec<LockedTrigger>,
    components: Vec<LockedComponent>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LockedVariable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// Absent: the variable is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    secret: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct LockedTrigger {
    id: String,
    trigger_type: String,
    trigger_config: serde_json::Value,
}

/// An HTTP trigger's config: Spin refuses keys it does not know, and so does wasmctl.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpTriggerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    component: Option<String>,
    /// `"/path"`, or `{ "private": true }`.
    route: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    executor: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    static_response: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LockedComponent {
    id: String,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    metadata: serde_json::Map<String, serde_json::Value>,
    source: LockedSource,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    files: Vec<ContentPath>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    dependencies: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    host_requirements: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LockedSource {
    content_type: String,
    #[serde(flatten)]
    content: ContentRef,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ContentRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    /// The bytes themselves, base64 (Spin inlines files of up to 128 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ContentPath {
    #[serde(flatten)]
    content: ContentRef,
    /// Where the guest reads it, relative to `/`.
    path: String,
}

/// Refuses, before anything is pushed, a component the shim could not run: it links
/// wasi:http 0.2 (0.3 only as a release candidate behind an unstable executor),
/// `wasi:keyvalue@0.2.0-draft2` and `wasi:config@0.2.0-draft-2024-09-27`, not the
/// versions Wasmtime's own crates serve.
pub fn check_runs_on_spin(valid: &BTreeMap<String, ValidComponent>) -> Result<(), Hinted> {
    for (id, component) in valid {
        if component.wasi() == "0.3" {
            // spin-sdk 7 components import Spin 4's `spin:` interfaces.
            let built_for_spin_4 = component.imports.iter().any(|i| i.starts_with("spin:"));
            let hint = if built_for_spin_4 {
                // No other runtime serves Spin's interfaces: no `--runtime wasmtime` here.
                "it was built with spin-sdk 7, for Spin 4: to ship it to SpinKube, build it with `spin-sdk = \"5\"` (an `#[http_component]`, for wasm32-wasip1 or wasm32-wasip2)"
            } else {
                "deploy it with `--runtime wasmtime`, or build it for WASI 0.2 (the http-rust template)"
            };
            return Err(Hinted::new(
                format!(
                    "component `{id}` is a WASI 0.3 component (wasi:http@0.3.0), and SpinKube's containerd-shim-spin (Spin 3.6) serves WASI 0.2 components only"
                ),
                hint,
            ));
        }
        for import in &component.imports {
            let (name, version) = import.split_once('@').unwrap_or((import, ""));
            let wanted = if name.starts_with("wasi:keyvalue/") {
                "0.2.0-draft2"
            } else if name.starts_with("wasi:config/") {
                "0.2.0-draft-2024-09-27"
            } else {
                continue;
            };
            if version != wanted {
                let package = name.split('/').next().unwrap_or(name);
                return Err(Hinted::new(
                    format!(
                        "component `{id}` imports `{import}`, and SpinKube's containerd-shim-spin links {package}@{wanted} only: its pods could not start"
                    ),
                    format!(
                        "bind {package}@{wanted} (the version wasmctl's http-rust-kv template vendors), or deploy with `--runtime wasmtime`"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A granted directory's files that may be shipped, as the guest reads them.
struct GrantedDir {
    dir: PathBuf,
    /// Relative to `dir` ([`crate::files::selected_files`]).
    relative: Vec<PathBuf>,
    /// Where the guest reads each, below its `/`.
    guest: Vec<String>,
}

/// Packs a built app in Spin's layout. `valid` holds each component's validation result,
/// by id ([`check_runs_on_spin`] has passed them).
pub fn pack(app: &App, valid: &BTreeMap<String, ValidComponent>) -> Result<Artifact> {
    check_runs_on_spin(valid)?;
    let mut granted: BTreeMap<&str, Vec<GrantedDir>> = BTreeMap::new();
    let mut file_count = 0;
    for (id, component) in &app.components {
        let mut mounts = Vec::new();
        for mount in &component.files {
            let selected = crate::files::selected_files(&app.dir, mount)?;
            let base = mount.destination.trim_matches('/');
            let guest = selected
                .files
                .iter()
                .map(|path| guest_path(base, path))
                .collect();
            file_count += selected.files.len();
            mounts.push(GrantedDir {
                dir: selected.dir,
                relative: selected.files,
                guest,
            });
        }
        granted.insert(id, mounts);
    }
    // Components, the files (a layer each), and the locked app.
    let archive = app.components.len() + file_count + 1 > MAX_LAYERS;

    let mut layers: Vec<Blob> = Vec::new();
    let mut components = Vec::new();
    for (id, component) in &app.components {
        let bytes = crate::build::read_component(&app.resolve(&component.source))
            .with_context(|| format!("reading component `{id}`"))?;
        let wasm = Blob::new(WASM_MEDIA_TYPE, format!("{id}.wasm"), bytes);
        let source = LockedSource {
            content_type: "application/wasm".into(),
            content: ContentRef {
                digest: Some(wasm.digest.clone()),
                ..ContentRef::default()
            },
        };
        push_unique(&mut layers, wasm);

        let mut files = Vec::new();
        for mount in &granted[id.as_str()] {
            if archive {
                let data = super::artifact::pack_directory(&mount.dir, &mount.relative)?;
                push_unique(
                    &mut layers,
                    Blob::new(
                        ARCHIVE_MEDIA_TYPE,
                        format!("files:{}", mount.dir.display()),
                        data,
                    ),
                );
            }
            let limit = crate::limits::FILES_SIZE;
            for (relative, guest) in mount.relative.iter().zip(&mount.guest) {
                let data = crate::limits::read_file_below(&mount.dir, relative, limit)?;
                let digest = sha256_digest(&data);
                if !archive {
                    push_unique(&mut layers, Blob::new(DATA_MEDIA_TYPE, guest.clone(), data));
                }
                files.push(ContentPath {
                    content: ContentRef {
                        digest: Some(digest),
                        ..ContentRef::default()
                    },
                    path: guest.clone(),
                });
            }
        }

        let mut metadata = serde_json::Map::new();
        if let Some(description) = &component.description {
            metadata.insert("description".into(), description.clone().into());
        }
        if !component.allowed_outbound_hosts.is_empty() {
            let hosts: Vec<String> = component
                .allowed_outbound_hosts
                .iter()
                .map(ToString::to_string)
                .collect();
            metadata.insert("allowed_outbound_hosts".into(), hosts.into());
        }
        if !component.key_value_stores.is_empty() {
            metadata.insert(
                "key_value_stores".into(),
                component.key_value_stores.clone().into(),
            );
        }
        components.push(LockedComponent {
            id: id.clone(),
            metadata,
            source,
            env: component.environment.clone(),
            files,
            config: component
                .variables
                .iter()
                .map(|(key, template)| (key.clone(), template.text()))
                .collect(),
            dependencies: serde_json::Map::new(),
            host_requirements: serde_json::Map::new(),
        });
    }

    let locked = LockedApp {
        spin_lock_version: LOCK_VERSION,
        must_understand: Vec::new(),
        metadata: app_metadata(app),
        host_requirements: serde_json::Map::new(),
        variables: app
            .variables
            .iter()
            .map(|(name, variable)| {
                let locked = LockedVariable {
                    description: variable.description.clone(),
                    default: variable.default.clone(),
                    secret: variable.secret,
                };
                (name.clone(), locked)
            })
            .collect(),
        triggers: triggers(app),
        components,
    };
    let locked = Blob::new(
        LOCKED_APP_MEDIA_TYPE,
        "spin.lock".to_string(),
        serde_json::to_vec(&locked)?,
    );
    let config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip1",
        "config": { "Labels": { LOCKED_APP_LABEL: locked.digest } },
        "rootfs": { "type": "layers", "diff_ids": [] },
    });
    layers.push(locked);
    let config = Blob::new(
        IMAGE_CONFIG_MEDIA_TYPE,
        "config".to_string(),
        serde_json::to_vec(&config)?,
    );
    Artifact::assemble(app, config, layers)
}

/// `base/relative` with `/` separators: a path below the guest's `/`, as Spin lists files.
fn guest_path(base: &str, relative: &Path) -> String {
    let parts = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned());
    std::iter::once(base.to_string())
        .filter(|base| !base.is_empty())
        .chain(parts)
        .collect::<Vec<_>>()
        .join("/")
}

/// The app's metadata as Spin's loader writes it. `trigger` and `triggers` both: the
/// shim's HTTP trigger reads one of them and fails without either.
fn app_metadata(app: &App) -> serde_json::Map<String, serde_json::Value> {
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), app.name.clone().into());
    if let Some(version) = &app.version {
        metadata.insert("version".into(), version.clone().into());
    }
    if let Some(description) = &app.description {
        metadata.insert("description".into(), description.clone().into());
    }
    if !app.authors.is_empty() {
        metadata.insert("authors".into(), app.authors.clone().into());
    }
    metadata.insert("trigger".into(), serde_json::json!({ "type": "http" }));
    metadata.insert("triggers".into(), serde_json::json!({}));
    metadata
}

/// One HTTP trigger per route; a component no route reaches gets a private one (Spin
/// loads only components a trigger names).
fn triggers(app: &App) -> Vec<LockedTrigger> {
    let mut triggers = Vec::new();
    let mut trigger = |component: &str, route: serde_json::Value| {
        let config = HttpTriggerConfig {
            component: Some(component.to_string()),
            route,
            executor: None,
            static_response: None,
        };
        triggers.push(LockedTrigger {
            id: format!("{component}-http-trigger-{}", triggers.len() + 1),
            trigger_type: "http".into(),
            trigger_config: serde_json::to_value(config).unwrap_or_default(),
        });
    };
    for route in &app.routes {
        trigger(&route.component, route.route.to_string().into());
    }
    for id in app.components.keys() {
        if !app.routes.iter().any(|route| &route.component == id) {
            trigger(id, serde_json::json!({ "private": true }));
        }
    }
    triggers
}

/// Whether a pulled manifest is in Spin's layout: it has a locked app layer.
pub fn is_spin_layout(manifest: &OciImageManifest) -> bool {
    manifest
        .layers
        .iter()
        .any(|layer| layer.media_type == LOCKED_APP_MEDIA_TYPE)
}

/// Refuses a locked app (from an artifact named `digest`) that asks for what wasmctl
/// does not run; `what` says it, ending a sentence about the app.
fn unsupported(what: String) -> anyhow::Error {
    anyhow::Error::new(Hinted::new(
        format!("the Spin app in this artifact {what}, which wasmctl does not run"),
        "see docs/spin.md for what of Spin wasmctl runs; `spin up --from` runs the rest",
    ))
}

/// Writes a pulled Spin-layout app into `target`: `components/ID.wasm`, `files/ID/...`
/// and a `spin.toml` saying what the locked app says, so it is served as the Spin app
/// it is (Spin's request headers, private routes). `blob` returns the path of a
/// verified blob. Everything in the locked app is untrusted: ids become file names only
/// after the naming rule, file paths only when they stay below their directory, and the
/// written manifest is checked by the manifest's rules when it is served.
pub fn materialize(
    manifest: &OciImageManifest,
    blob: &dyn Fn(&str) -> PathBuf,
    target: &Path,
) -> Result<()> {
    let layer = manifest
        .layers
        .iter()
        .rfind(|layer| layer.media_type == LOCKED_APP_MEDIA_TYPE)
        .context("the artifact has no Spin locked app layer")?;
    let bytes = crate::limits::read_file(&blob(&layer.digest), crate::limits::MANIFEST)?;
    let locked: LockedApp = serde_json::from_slice(&bytes)
        .context("the artifact's Spin locked app is not valid JSON of the locked app's shape")?;
    if locked.spin_lock_version > MAX_LOCK_VERSION {
        return Err(unsupported(format!(
            "has spin_lock_version {}, newer than the {MAX_LOCK_VERSION} wasmctl reads",
            locked.spin_lock_version
        )));
    }
    if let Some(what) = locked
        .must_understand
        .first()
        .or(locked.host_requirements.keys().next())
    {
        return Err(unsupported(format!("requires the host feature {what:?}")));
    }

    let mut document = toml::Table::new();
    document.insert("spin_manifest_version".into(), 2.into());
    let mut application = toml::Table::new();
    let name = locked
        .metadata
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("app");
    application.insert("name".into(), name.into());
    for key in ["version", "description"] {
        if let Some(value) = locked.metadata.get(key).and_then(serde_json::Value::as_str) {
            application.insert(key.into(), value.into());
        }
    }
    if let Some(authors) = locked.metadata.get("authors") {
        let authors: Vec<String> = serde_json::from_value(authors.clone())
            .context("the artifact's Spin app has `authors` that are not a list of strings")?;
        application.insert("authors".into(), authors.into());
    }
    document.insert("application".into(), application.into());

    let mut variables = toml::Table::new();
    for (name, variable) in &locked.variables {
        let mut table = toml::Table::new();
        match &variable.default {
            Some(default) => table.insert("default".into(), default.clone().into()),
            None => table.insert("required".into(), true.into()),
        };
        if variable.secret {
            table.insert("secret".into(), true.into());
        }
        if let Some(description) = &variable.description {
            table.insert("description".into(), description.clone().into());
        }
        variables.insert(name.clone(), table.into());
    }
    if !variables.is_empty() {
        document.insert("variables".into(), variables.into());
    }

    let mut triggers = Vec::new();
    for trigger in &locked.triggers {
        triggers.push(toml::Value::Table(http_trigger(trigger)?));
    }
    document.insert(
        "trigger".into(),
        toml::Table::from_iter([("http".to_string(), toml::Value::Array(triggers))]).into(),
    );

    let mut unpacking = Unpacking::new(manifest, blob, target)?;
    let mut components = toml::Table::new();
    let mut ids = std::collections::BTreeSet::new();
    for component in &locked.components {
        let id = &component.id;
        // The id becomes a file name: hold it to the naming rule before touching the disk,
        // and to one component per name, as a case-insensitive disk sees names.
        crate::names::check_name("component id", id).map_err(anyhow::Error::msg)?;
        if !ids.insert(id.to_ascii_lowercase()) {
            bail!("the artifact's Spin locked app lists component `{id}` twice");
        }
        components.insert(
            id.clone(),
            materialize_component(&mut unpacking, component)?.into(),
        );
    }
    unpacking.archives.remove(target)?;
    document.insert("component".into(), components.into());
    std::fs::write(
        target.join(crate::manifest::SPIN_MANIFEST_FILE),
        toml::to_string(&document)?,
    )?;
    Ok(())
}

/// A locked HTTP trigger as a `[[trigger.http]]` table of `spin.toml`; any other trigger,
/// executor or a static response is refused.
fn http_trigger(trigger: &LockedTrigger) -> Result<toml::Table> {
    if trigger.trigger_type != "http" {
        return Err(unsupported(format!(
            "has a {:?} trigger ({:?})",
            trigger.trigger_type, trigger.id
        )));
    }
    let config: HttpTriggerConfig = serde_json::from_value(trigger.trigger_config.clone())
        .with_context(|| {
            format!(
                "the artifact's Spin trigger {:?} has a config of another shape",
                trigger.id
            )
        })?;
    if config.static_response.is_some() {
        return Err(unsupported(format!(
            "answers trigger {:?} with a static_response",
            trigger.id
        )));
    }
    if let Some(executor) = &config.executor {
        let kind = executor.get("type").and_then(serde_json::Value::as_str);
        if !matches!(kind, Some("http" | "spin")) {
            return Err(unsupported(format!(
                "runs trigger {:?} with the executor {executor}",
                trigger.id
            )));
        }
    }
    let component = config.component.with_context(|| {
        format!(
            "the artifact's Spin trigger {:?} names no component",
            trigger.id
        )
    })?;
    let route: toml::Value = match config.route {
        // Checked and normalized by the manifest's rules when the app is served.
        serde_json::Value::String(route) => route.into(),
        route if route.get("private") == Some(&serde_json::Value::Bool(true)) => {
            toml::Table::from_iter([("private".to_string(), true.into())]).into()
        }
        other => bail!(
            "the artifact's Spin trigger {:?} has route {other}; Spin writes a path or {{\"private\": true}}",
            trigger.id
        ),
    };
    Ok(toml::Table::from_iter([
        ("route".to_string(), route),
        ("component".to_string(), component.into()),
    ]))
}

/// Writes one component's wasm and files; returns its `[component.ID]` table.
fn materialize_component(
    unpacking: &mut Unpacking,
    component: &LockedComponent,
) -> Result<toml::Table> {
    let id = &component.id;
    if let Some(dependency) = component.dependencies.keys().next() {
        return Err(unsupported(format!(
            "composes dependency `{dependency}` into component `{id}`"
        )));
    }
    for key in ["databases", "ai_models", "allowed_http_hosts"] {
        let used = component
            .metadata
            .get(key)
            .and_then(serde_json::Value::as_array)
            .is_some_and(|values| !values.is_empty());
        if used {
            return Err(unsupported(format!("gives component `{id}` `{key}`")));
        }
    }
    let digest = component
        .source
        .content
        .digest
        .as_deref()
        .with_context(|| {
            format!("the artifact's Spin component `{id}` names no digest for its source")
        })?;
    super::artifact::check_layer(
        unpacking.manifest,
        digest,
        &[WASM_MEDIA_TYPE, "application/wasm"],
    )?;
    let relative = format!("components/{id}.wasm");
    unpacking.write_component(digest, &relative)?;

    let mut table = toml::Table::new();
    table.insert("source".into(), relative.into());
    if let Some(description) = component
        .metadata
        .get("description")
        .and_then(serde_json::Value::as_str)
    {
        table.insert("description".into(), description.into());
    }
    for key in ["allowed_outbound_hosts", "key_value_stores"] {
        if let Some(values) = component.metadata.get(key) {
            let values: Vec<String> = serde_json::from_value(values.clone()).with_context(|| {
                format!("the artifact's Spin component `{id}` has `{key}` that is not a list of strings")
            })?;
            table.insert(key.into(), values.into());
        }
    }
    if !component.env.is_empty() {
        table.insert(
            "environment".into(),
            toml::Table::from_iter(
                component
                    .env
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone().into())),
            )
            .into(),
        );
    }
    if !component.files.is_empty() {
        let dir = Path::new("files").join(id);
        write_files(unpacking, &dir, component)?;
        let mount = toml::Table::from_iter([
            ("source".to_string(), dir.display().to_string().into()),
            ("destination".to_string(), "/".into()),
        ]);
        table.insert("files".into(), vec![toml::Value::Table(mount)].into());
    }
    if !component.config.is_empty() {
        table.insert(
            "variables".into(),
            toml::Table::from_iter(
                component
                    .config
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone().into())),
            )
            .into(),
        );
    }
    Ok(table)
}

/// Writes a component's files below `dir` (relative to the app), each from its inline
/// bytes, its data layer, or the archive layer holding a file of its digest.
fn write_files(unpacking: &mut Unpacking, dir: &Path, component: &LockedComponent) -> Result<()> {
    for file in &component.files {
        crate::interrupt::check()?;
        let relative = Path::new(&file.path);
        let plain = relative.components().next().is_some()
            && relative
                .components()
                .all(|part| matches!(part, std::path::Component::Normal(_)));
        if !plain {
            bail!(Hinted::new(
                format!(
                    "the artifact's Spin component `{}` lists the file {:?}, a path that does not stay below its directory; nothing was written",
                    component.id, file.path
                ),
                "the artifact was altered or not made by Spin or wasmctl; push it again from the app's directory",
            ));
        }
        let path = unpacking.target.join(dir).join(relative);
        // Only directories this loop made are on the way, so nothing leads out of `dir`.
        let mut out = super::artifact::create_new_file(&path)?;
        match (&file.content.inline, &file.content.digest) {
            (Some(inline), _) => {
                let data = base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
                )
                .decode(inline)
                .with_context(|| format!("the inline bytes of {:?} are not base64", file.path))?;
                unpacking.budget.add(data.len() as u64)?;
                std::io::Write::write_all(&mut out, &data)?;
            }
            (None, Some(digest)) => {
                let source = match super::artifact::check_layer(
                    unpacking.manifest,
                    digest,
                    &[DATA_MEDIA_TYPE],
                ) {
                    Ok(()) => (unpacking.blob)(digest),
                    Err(error) => unpacking.archived(digest)?.ok_or(error)?,
                };
                let mut source = std::fs::File::open(&source)
                    .with_context(|| format!("opening {}", source.display()))?;
                unpacking.budget.add(source.metadata()?.len())?;
                std::io::copy(&mut source, &mut out)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            (None, None) => bail!(
                "the artifact's Spin component `{}` lists {:?} with neither bytes nor a digest",
                component.id,
                file.path
            ),
        }
    }
    Ok(())
}

/// What one materialize writes, held as a whole to the files limits: a locked app of a
/// few hundred kilobytes may list the same large layer under thousands of names.
struct Budget {
    bytes: u64,
    entries: u64,
    max_bytes: u64,
    max_entries: u64,
}

impl Budget {
    fn new() -> Result<Budget> {
        Ok(Budget {
            bytes: 0,
            entries: 0,
            max_bytes: crate::limits::FILES_SIZE.value()?,
            max_entries: crate::limits::FILES_ENTRIES.value()?,
        })
    }

    /// Counts one more file of `bytes`, before it is written.
    fn add(&mut self, bytes: u64) -> Result<()> {
        self.bytes += bytes;
        self.entries += 1;
        if self.bytes > self.max_bytes {
            let limit = crate::limits::FILES_SIZE;
            return Err(limit
                .exceeded("the files of the artifact's Spin app", self.max_bytes)
                .into());
        }
        if self.entries > self.max_entries {
            let limit = crate::limits::FILES_ENTRIES;
            return Err(limit
                .exceeded("the files of the artifact's Spin app", self.max_entries)
                .into());
        }
        Ok(())
    }
}

/// The state of one materialize: where it writes, what it has written, what is left.
struct Unpacking<'a> {
    manifest: &'a OciImageManifest,
    blob: &'a dyn Fn(&str) -> PathBuf,
    target: &'a Path,
    budget: Budget,
    archives: ArchiveIndex,
    /// Component layers written so far, by digest: another component of the same layer
    /// is a hard link to the first, not another copy.
    components: BTreeMap<String, PathBuf>,
}

impl<'a> Unpacking<'a> {
    fn new(
        manifest: &'a OciImageManifest,
        blob: &'a dyn Fn(&str) -> PathBuf,
        target: &'a Path,
    ) -> Result<Unpacking<'a>> {
        std::fs::create_dir_all(target.join("components"))?;
        Ok(Unpacking {
            manifest,
            blob,
            target,
            budget: Budget::new()?,
            archives: ArchiveIndex::default(),
            components: BTreeMap::new(),
        })
    }

    /// Writes the component layer `digest` at `relative`.
    fn write_component(&mut self, digest: &str, relative: &str) -> Result<()> {
        let path = self.target.join(relative);
        match self.components.get(digest) {
            Some(first) => std::fs::hard_link(first, &path)
                .with_context(|| format!("linking {}", path.display()))?,
            None => {
                std::fs::copy((self.blob)(digest), &path)
                    .with_context(|| format!("writing {}", path.display()))?;
                self.components.insert(digest.to_string(), path);
            }
        }
        Ok(())
    }

    /// The unpacked archive file of `digest`, if an archive layer holds one.
    fn archived(&mut self, digest: &str) -> Result<Option<PathBuf>> {
        self.archives.find(
            self.manifest,
            self.blob,
            self.target,
            &mut self.budget,
            digest,
        )
    }
}

/// The files of the archive layers, by their own digest: unpacked (with the checks of
/// [`super::artifact::unpack_files`], and counted in the app's budget) the first time a
/// file is not a layer of its own.
#[derive(Default)]
struct ArchiveIndex {
    files: Option<BTreeMap<String, PathBuf>>,
}

/// Where archives are unpacked while a pull is materialized, inside the staging directory.
const ARCHIVES_DIR: &str = ".archives";

impl ArchiveIndex {
    fn find(
        &mut self,
        manifest: &OciImageManifest,
        blob: &dyn Fn(&str) -> PathBuf,
        target: &Path,
        budget: &mut Budget,
        digest: &str,
    ) -> Result<Option<PathBuf>> {
        if self.files.is_none() {
            let mut files = BTreeMap::new();
            for layer in manifest
                .layers
                .iter()
                .filter(|layer| layer.media_type == ARCHIVE_MEDIA_TYPE)
            {
                let dir = target
                    .join(ARCHIVES_DIR)
                    .join(layer.digest.trim_start_matches("sha256:"));
                super::artifact::unpack_files(&blob(&layer.digest), &layer.digest, &dir)?;
                let mut relative = Vec::new();
                crate::files::collect_files(&dir, Path::new(""), &mut relative)?;
                for path in relative {
                    crate::interrupt::check()?;
                    let path = dir.join(path);
                    let mut file = std::fs::File::open(&path)?;
                    budget.add(file.metadata()?.len())?;
                    let mut hash = Sha256::new();
                    std::io::copy(&mut file, &mut hash)?;
                    files.insert(super::artifact::hex_digest(&hash.finalize()), path);
                }
            }
            self.files = Some(files);
        }
        Ok(self
            .files
            .as_ref()
            .and_then(|files| files.get(digest).cloned()))
    }

    fn remove(self, target: &Path) -> Result<()> {
        if self.files.is_some() {
            std::fs::remove_dir_all(target.join(ARCHIVES_DIR))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(imports: &[&str]) -> ValidComponent {
        ValidComponent {
            world: "wasmctl:host/http-app".into(),
            imports: imports.iter().map(ToString::to_string).collect(),
            exports: vec!["wasi:http/incoming-handler@0.2.6".into()],
        }
    }

    /// An app with a component, a granted directory (and a `.env` beside it, never packed).
    fn app_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("svc.wasm"), b"\0asm\x0d\0\x01\0 pretend").unwrap();
        std::fs::create_dir_all(dir.path().join("assets/css")).unwrap();
        std::fs::write(dir.path().join("assets/index.html"), "<h1>hi</h1>").unwrap();
        std::fs::write(dir.path().join("assets/css/site.css"), "h1{}").unwrap();
        std::fs::write(dir.path().join(".env"), "WASMCTL_VARIABLE_TOKEN=s3cret\n").unwrap();
        std::fs::write(
            dir.path().join("wasmctl.toml"),
            "manifest_version = 1\n[application]\nname = \"svc\"\nversion = \"1.0.0\"\n\
             [variables]\ntoken = { required = true, secret = true }\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"svc\"\n\
             [component.svc]\nsource = \"svc.wasm\"\nenvironment = { MODE = \"prod\" }\n\
             key_value_stores = [\"default\"]\nallowed_outbound_hosts = [\"https://api.example.com\"]\n\
             files = [{ source = \"assets\", destination = \"/static\" }, { source = \".\", destination = \"/all\" }]\n\
             [component.svc.variables]\nauth = \"Bearer {{ token }}\"\n",
        )
        .unwrap();
        dir
    }

    fn pack_dir(dir: &Path) -> Artifact {
        let app = crate::manifest::load(&dir.join("wasmctl.toml")).unwrap();
        pack(&app, &BTreeMap::from([("svc".to_string(), component(&[]))])).unwrap()
    }

    fn locked(artifact: &Artifact) -> serde_json::Value {
        serde_json::from_slice(&artifact.layers.last().unwrap().data).unwrap()
    }

    #[test]
    fn an_app_packs_into_the_layout_the_shim_reads() {
        let dir = app_dir();
        let artifact = pack_dir(dir.path());
        assert_eq!(artifact.config.media_type, IMAGE_CONFIG_MEDIA_TYPE);
        let config: serde_json::Value = serde_json::from_slice(&artifact.config.data).unwrap();
        assert_eq!(config["architecture"], "wasm");
        let locked_layer = artifact.layers.last().unwrap();
        assert_eq!(locked_layer.media_type, LOCKED_APP_MEDIA_TYPE);
        assert_eq!(
            config["config"]["Labels"][LOCKED_APP_LABEL],
            locked_layer.digest
        );
        assert_eq!(artifact.layers[0].media_type, WASM_MEDIA_TYPE);

        let locked = locked(&artifact);
        assert_eq!(locked["spin_lock_version"], 0);
        assert_eq!(locked["metadata"]["trigger"]["type"], "http");
        assert_eq!(locked["metadata"]["triggers"], serde_json::json!({}));
        assert_eq!(
            locked["variables"]["token"],
            serde_json::json!({ "secret": true })
        );
        assert_eq!(
            locked["triggers"][0]["trigger_config"],
            serde_json::json!({ "component": "svc", "route": "/..." })
        );
        let svc = &locked["components"][0];
        assert_eq!(
            svc["source"],
            serde_json::json!({ "content_type": "application/wasm", "digest": artifact.layers[0].digest })
        );
        assert_eq!(svc["env"]["MODE"], "prod");
        assert_eq!(svc["config"]["auth"], "Bearer {{ token }}");
        assert_eq!(
            svc["metadata"],
            serde_json::json!({
                "allowed_outbound_hosts": ["https://api.example.com:443"],
                "key_value_stores": ["default"],
            })
        );
        let paths: Vec<&str> = svc["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|file| file["path"].as_str().unwrap())
            .collect();
        // `.env` holds variable values: never packed, even from a directory granted whole.
        assert!(
            !paths.iter().any(|path| path.ends_with(".env")),
            "{paths:?}"
        );
        assert!(paths.contains(&"static/css/site.css") && paths.contains(&"static/index.html"));
        for file in svc["files"].as_array().unwrap() {
            // Every file has a data layer, `svc.wasm` too (granted by `.`).
            assert!(
                artifact
                    .layers
                    .iter()
                    .any(|layer| layer.media_type == DATA_MEDIA_TYPE
                        && serde_json::json!(layer.digest) == file["digest"]),
                "{file}"
            );
        }
        // Deterministic: the same app packs to the same digest.
        assert_eq!(
            pack_dir(dir.path()).manifest_digest,
            artifact.manifest_digest
        );
    }

    #[test]
    fn neither_dotenv_nor_wasmctls_state_is_shipped_even_through_a_link() {
        let dir = app_dir();
        std::fs::create_dir_all(dir.path().join(".wasmctl/state")).unwrap();
        std::fs::write(dir.path().join(".wasmctl/state/default.db"), "s3cret state").unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("public")).unwrap();
        let manifest = std::fs::read_to_string(dir.path().join("wasmctl.toml")).unwrap();
        std::fs::write(
            dir.path().join("wasmctl.toml"),
            manifest.replace(
                "{ source = \".\", destination = \"/all\" }",
                "{ source = \"public\", destination = \"/all\" }",
            ),
        )
        .unwrap();
        let app = crate::manifest::load(&dir.path().join("wasmctl.toml")).unwrap();
        let valid = BTreeMap::from([("svc".to_string(), component(&[]))]);
        let spin = pack(&app, &valid).unwrap();
        let wasmctl = super::super::artifact::pack(&app, &valid).unwrap();
        let mut shipped = Vec::new();
        for layer in spin.layers.iter().chain(&wasmctl.layers) {
            let mut text = String::from_utf8_lossy(&layer.data).into_owned();
            if layer.media_type == super::super::artifact::FILES_MEDIA_TYPE {
                let mut unpacked = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(&layer.data[..]),
                    &mut unpacked,
                )
                .unwrap();
                text.push_str(&unpacked);
            }
            shipped.push(text);
        }
        assert!(
            shipped.iter().all(|text| !text.contains("s3cret")),
            "a secret was shipped"
        );
        let paths = locked(&spin)["components"][0]["files"].to_string();
        assert!(
            paths.contains("all/svc.wasm") && !paths.contains(".wasmctl"),
            "{paths}"
        );
    }

    #[test]
    fn what_one_pull_writes_is_held_to_one_budget() {
        let mut budget = Budget {
            bytes: 0,
            entries: 0,
            max_bytes: 10,
            max_entries: 3,
        };
        budget.add(4).unwrap();
        budget.add(6).unwrap();
        assert!(
            budget
                .add(1)
                .unwrap_err()
                .to_string()
                .contains("files of the artifact")
        );
        let mut budget = Budget {
            max_bytes: 1000,
            ..budget
        };
        budget.bytes = 0;
        budget.entries = 3;
        assert!(budget.add(0).is_err(), "a fourth entry");
    }

    #[test]
    fn components_the_shim_cannot_run_are_refused_by_name() {
        let refused = check_runs_on_spin(&BTreeMap::from([(
            "svc".to_string(),
            component(&["wasi:keyvalue/store@0.2.0-draft"]),
        )]))
        .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("imports `wasi:keyvalue/store@0.2.0-draft`")
                && refused.to_string().contains("wasi:keyvalue@0.2.0-draft2"),
            "{refused}"
        );
        let spin_versions = component(&[
            "wasi:keyvalue/store@0.2.0-draft2",
            "wasi:config/store@0.2.0-draft-2024-09-27",
        ]);
        assert!(check_runs_on_spin(&BTreeMap::from([("svc".into(), spin_versions)])).is_ok());
    }

    /// A Spin-shaped artifact (as `spin registry push` writes it: a small file inline, a
    /// bigger one in a data layer) in a cache directory; `edit` changes its locked app.
    fn spin_artifact(
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> (tempfile::TempDir, OciImageManifest) {
        let cache = tempfile::tempdir().unwrap();
        let wasm = b"\0asm\x0d\0\x01\0 pretend".to_vec();
        let data = vec![b'x'; 300];
        let (wasm_digest, data_digest) = (sha256_digest(&wasm), sha256_digest(&data));
        let mut locked = serde_json::json!({
            "spin_lock_version": 1,
            "metadata": { "name": "hello", "version": "0.1.0", "authors": ["Ada"], "trigger": { "type": "http" } },
            "variables": { "token": { "secret": true }, "greeting": { "default": "hi" } },
            "triggers": [
                { "id": "t1", "trigger_type": "http", "trigger_config": { "component": "hello", "route": "/hello/*" } },
                { "id": "t2", "trigger_type": "http", "trigger_config": { "component": "hello", "route": { "private": true } } },
            ],
            "components": [{
                "id": "hello",
                "metadata": { "key_value_stores": ["default"] },
                "source": { "content_type": "application/wasm", "digest": wasm_digest },
                "env": { "MODE": "spin" },
                "files": [
                    { "inline": "PGgxPmhpPC9oMT4", "digest": "sha256:00", "path": "static/index.html" },
                    { "digest": data_digest, "path": "static/big.txt" },
                ],
                "config": { "auth": "{{ token }}" },
            }],
        });
        edit(&mut locked);
        let locked = serde_json::to_vec(&locked).unwrap();
        let layers = [
            (WASM_MEDIA_TYPE, wasm),
            (DATA_MEDIA_TYPE, data),
            (LOCKED_APP_MEDIA_TYPE, locked),
        ];
        let mut descriptors = Vec::new();
        for (media_type, bytes) in layers {
            let digest = sha256_digest(&bytes);
            std::fs::write(cache.path().join(digest.replace(':', "-")), &bytes).unwrap();
            descriptors.push(serde_json::json!({ "mediaType": media_type, "digest": digest, "size": bytes.len() }));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "config": { "mediaType": IMAGE_CONFIG_MEDIA_TYPE, "digest": sha256_digest(b"{}"), "size": 2 },
            "layers": descriptors,
        });
        (cache, serde_json::from_value(manifest).unwrap())
    }

    fn materialize_in(
        cache: &Path,
        manifest: &OciImageManifest,
    ) -> (tempfile::TempDir, Result<()>) {
        let target = tempfile::tempdir().unwrap();
        let blob = |digest: &str| cache.join(digest.replace(':', "-"));
        let result = materialize(manifest, &blob, target.path());
        (target, result)
    }

    #[test]
    fn a_spin_pushed_artifact_becomes_a_spin_app_wasmctl_serves() {
        let (cache, manifest) = spin_artifact(|_| {});
        assert!(
            super::super::artifact::parse_manifest(&serde_json::to_vec(&manifest).unwrap()).is_ok()
        );
        let (target, result) = materialize_in(cache.path(), &manifest);
        result.unwrap();
        let dir = target.path();
        assert_eq!(
            std::fs::read_to_string(dir.join("files/hello/static/index.html")).unwrap(),
            "<h1>hi</h1>"
        );
        assert_eq!(
            std::fs::read(dir.join("files/hello/static/big.txt"))
                .unwrap()
                .len(),
            300
        );
        // The written spin.toml passes the manifest's rules and says what the lock says.
        let app = crate::manifest::load(&dir.join(crate::manifest::SPIN_MANIFEST_FILE)).unwrap();
        assert_eq!(app.format, crate::manifest::ManifestFormat::Spin);
        assert_eq!(app.name, "hello");
        assert_eq!(app.routes.len(), 1);
        assert_eq!(app.routes[0].route.to_string(), "/hello/...");
        let hello = &app.components["hello"];
        assert_eq!(hello.environment["MODE"], "spin");
        assert_eq!(hello.key_value_stores, ["default"]);
        assert_eq!(hello.files[0].destination, "/");
        assert_eq!(hello.variables["auth"].text(), "{{ token }}");
        assert!(app.variables["token"].secret && app.variables["token"].required());
    }

    #[test]
    fn what_wasmctl_does_not_run_or_a_path_out_of_the_app_is_refused() {
        type Edit = fn(&mut serde_json::Value);
        let cases: [(Edit, &str); 6] = [
            (
                |locked| {
                    let mut twin = locked["components"][0].clone();
                    twin["id"] = "HELLO".into();
                    locked["components"].as_array_mut().unwrap().push(twin);
                },
                "lists component `HELLO` twice",
            ),
            (
                |locked| {
                    locked["triggers"][0]["trigger_config"]["executor"] = serde_json::json!({})
                },
                "with the executor {}",
            ),
            (
                |locked| locked["components"][0]["files"][0]["path"] = "../../etc/passwd".into(),
                "does not stay below its directory",
            ),
            (
                |locked| locked["triggers"][0]["trigger_type"] = "redis".into(),
                "has a \"redis\" trigger",
            ),
            (
                |locked| locked["must_understand"] = serde_json::json!(["host_requirements"]),
                "requires the host feature \"host_requirements\"",
            ),
            (
                |locked| locked["components"][0]["id"] = "../evil".into(),
                "component id",
            ),
        ];
        for (edit, says) in cases {
            let (cache, manifest) = spin_artifact(edit);
            let (target, result) = materialize_in(cache.path(), &manifest);
            let error = format!("{:#}", result.unwrap_err());
            assert!(error.contains(says), "{error}");
            assert!(!target.path().join("spin.toml").exists());
        }
    }
}
