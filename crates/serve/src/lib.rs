//! What `wasmctl up` serves: an app from its manifest, or one bare component, mapped onto
//! the configuration of `wasmctl-host`, with every setting resolved in one place (a
//! flag, else the manifest, else the default). [`dev`] is the dev loop behind
//! `up --watch`. No clap and no terminal: the binary renders what happens.

// Each public item is API for the next crate: say what it is for.
#![warn(missing_docs)]

pub mod dev;
pub mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use wasmctl::build::{self, Profile};
use wasmctl::files::FileStage;
use wasmctl::hint::Hinted;
use wasmctl::limits;
use wasmctl::manifest::{self, App, Component, Limits, Route};
use wasmctl::validated::{self, CheckedFile};
use wasmctl::variables::{Given, Resolved};
use wasmctl_host::{AppConfig, ComponentConfig, KnownContent, LoadError, OutboundRule};

/// The settings of `up` that change what each component gets (the server's own limits
/// are `wasmctl_host::ServerLimits`).
#[derive(Debug, Clone, Default)]
pub struct ServeSettings {
    /// Which build of cargo components is served (and built by the dev loop).
    pub profile: Profile,
    /// `--env`: added to every component's environment, after the manifest's.
    pub env: Vec<(String, String)>,
    /// `--request-timeout`: the time limit of every component, over the manifest's.
    pub request_timeout: Option<Duration>,
    /// `--instance-reuse`: requests per instance for every component, over the
    /// manifest's `limits.instance_reuse`.
    pub instance_reuse: Option<u32>,
    /// `--variable`: values of app variables, over every other source
    /// ([`wasmctl::variables::resolve`]).
    pub variables: Vec<(String, Given)>,
}

/// What `up` serves: an app from a manifest, or one bare component.
#[derive(Debug, Clone)]
pub struct Served {
    /// Where `.wasmctl/logs/` goes.
    pub dir: PathBuf,
    /// Each component and the file it is served from.
    pub components: Vec<(Component, PathBuf)>,
    /// What checking the component files found of their contents, by component id: the
    /// bytes read and their hash, or the hash alone of a file known by its identity
    /// ([`wasmctl::validated::check_file`]), so that the host does not read and hash a
    /// (big) file again. One without an entry is read by the host.
    /// [`Served::host_config`] hands them over (they are not kept alive while the app is
    /// served), so a later configuration reads the files.
    pub checked: HashMap<String, KnownContent>,
    /// Routes to component ids, in the manifest's order.
    pub routes: Vec<(Route, String)>,
    /// The values of the app's variables; each component reads its own templates of them.
    pub variables: Resolved,
    /// Whether the app is a Spin app (`spin.toml`): its components also get the request
    /// headers Spin sets, which they may read.
    pub spin: bool,
}

impl Served {
    /// `app` as built for `profile`, its variables valued `variables` (what
    /// [`wasmctl::variables::resolve`] made of them).
    pub fn app(app: &App, profile: Profile, variables: Resolved) -> Served {
        Served {
            variables,
            spin: app.format == manifest::ManifestFormat::Spin,
            dir: app.dir.clone(),
            components: app
                .components
                .values()
                .map(|c| (c.clone(), build::component_path(app, c, profile)))
                .collect(),
            checked: HashMap::new(),
            routes: app
                .routes
                .iter()
                .map(|r| (r.route.clone(), r.component.clone()))
                .collect(),
        }
    }

    /// One component file served on `/...`, without a manifest: no grants, default
    /// limits, and an id made from the file name.
    pub fn file(file: &Path) -> Result<Served> {
        let checked = validated::check_file(file, limits::COMPONENT, |error| {
            if error.io_kind() == Some(std::io::ErrorKind::NotFound) {
                Hinted::new(
                    format!("`{}` does not exist", file.display()),
                    "pass the path of a built component, e.g. `target/wasm32-wasip2/release/NAME.wasm`, or run `wasmctl up` without a file in an app's directory",
                )
                .into()
            } else {
                anyhow::Error::new(error)
            }
        })?;
        let id = component_id(file);
        let path = std::path::absolute(file)?;
        let component = Component {
            id: id.clone(),
            source: PathBuf::from(file),
            description: None,
            environment: Default::default(),
            files: Vec::new(),
            allowed_outbound_hosts: Vec::new(),
            variables: Default::default(),
            key_value_stores: Vec::new(),
            limits: Limits::default(),
            build: None,
        };
        Ok(Served {
            dir: path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            components: vec![(component, path)],
            checked: HashMap::from([(id.clone(), known_content(checked))]),
            routes: vec![(Route::Prefix(String::new()), id)],
            variables: Resolved::default(),
            spin: false,
        })
    }

    /// What the host serves: each component with its grants and limits, `settings`
    /// applied over the manifest's values, and the defaults under both. The files each
    /// selection of Spin's globs grants are copied into `stage` for this load.
    pub fn host_config(
        &mut self,
        settings: &ServeSettings,
        stage: &mut FileStage,
    ) -> Result<AppConfig> {
        stage.next_generation();
        let mut components = Vec::new();
        for (component, path) in &self.components {
            let mut preopens = Vec::new();
            for (index, mount) in component.files.iter().enumerate() {
                let granted = stage.granted_dir(&self.dir, &component.id, index, mount)?;
                preopens.push((granted, mount.destination.clone()));
            }
            components.push(ComponentConfig {
                spin_headers: self.spin,
                preopens,
                known: self.checked.remove(&component.id),
                ..component_config(component, path, settings, &self.variables)
            });
        }
        Ok(AppConfig {
            components,
            routes: self
                .routes
                .iter()
                .map(|(route, id)| (host_route(route), id.clone()))
                .collect(),
        })
    }
}

/// A component id the naming rule accepts, made from a file name.
fn component_id(file: &Path) -> String {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("component");
    let mut id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert_str(0, "c-");
    }
    id
}

/// A component whose file is older than one of its build's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleBuild {
    /// The component's id (its `[component.ID]` key).
    pub component: String,
    /// The newest input changed since the build.
    pub input: PathBuf,
}

/// Checks an app before it is built or served: each `files` mount must be a directory
/// of the app (else the guest would fail at start, with a message that does not name
/// the manifest).
pub fn check_mounts(app: &App) -> Result<()> {
    for component in app.components.values() {
        app.check_mounts(component)?;
    }
    Ok(())
}

/// Checks that every component of `app` is built for `profile` and valid; each one
/// served from a build older than its inputs is handed to `stale` as it is found (before
/// a later component's failure ends the check). Returns the bytes checked, for
/// [`Served::checked`].
pub fn check_built(
    app: &App,
    profile: Profile,
    stale: &mut dyn FnMut(StaleBuild),
) -> Result<HashMap<String, KnownContent>> {
    let mut checked = HashMap::new();
    for component in app.components.values() {
        let read = build::read_checked(app, component, profile)?;
        if let Some(input) = build::stale_input(app, component, profile) {
            stale(StaleBuild {
                component: component.id.clone(),
                input,
            });
        }
        checked.insert(component.id.clone(), known_content(read));
    }
    Ok(checked)
}

/// What a check found of a file's contents, as the host takes it.
fn known_content(checked: CheckedFile) -> KnownContent {
    match checked.bytes {
        Some(bytes) => KnownContent::bytes(bytes, checked.blake3),
        None => KnownContent::hash(checked.blake3),
    }
}

/// A load failure as the user reads it: a component whose memory limit is below what it
/// needs to start gets what to raise, and by how much.
pub fn explain_load_error(error: LoadError) -> anyhow::Error {
    let LoadError::MemoryLimit { id, limit, wanted } = error else {
        return error.into();
    };
    let mib = |bytes: u64| format!("{}MiB", bytes.div_ceil(1024 * 1024));
    Hinted::new(
        format!(
            "component `{id}` needs more memory to start than its limit of {}",
            mib(limit)
        ),
        format!(
            "raise `memory` in `[component.{id}.limits]` of {} to at least {}, or remove it for the default ({})",
            manifest::MANIFEST_FILE,
            mib(wanted),
            mib(manifest::DEFAULT_MEMORY),
        ),
    )
    .into()
}

fn host_route(route: &Route) -> wasmctl_host::Route {
    match route {
        Route::Exact(path) => wasmctl_host::Route::Exact(path.clone()),
        Route::Prefix(prefix) => wasmctl_host::Route::Prefix(prefix.clone()),
    }
}

fn component_config(
    component: &Component,
    path: &Path,
    settings: &ServeSettings,
    variables: &Resolved,
) -> ComponentConfig {
    let mut environment: Vec<(String, String)> =
        component.environment.clone().into_iter().collect();
    environment.extend(settings.env.iter().cloned());
    ComponentConfig {
        id: component.id.clone(),
        path: path.to_path_buf(),
        // `Served::host_config` sets them.
        known: None,
        environment,
        // `Served::host_config` sets them.
        preopens: Vec::new(),
        outbound: component
            .allowed_outbound_hosts
            .iter()
            .map(|h| OutboundRule {
                scheme: h.scheme.clone(),
                host: h.host.clone(),
                port: h.port,
            })
            .collect(),
        timeout: settings
            .request_timeout
            .or(component.limits.timeout)
            .unwrap_or(manifest::DEFAULT_TIMEOUT),
        memory: component.limits.memory.unwrap_or(manifest::DEFAULT_MEMORY),
        // Unset, the world's default (fresh instances for 0.2, shared ones for 0.3).
        instance_reuse: settings.instance_reuse.or(component.limits.instance_reuse),
        config: variables.for_component(component).into_iter().collect(),
        key_value_stores: component.key_value_stores.clone(),
        // The app's, not the component's: `Served::host_config` sets it.
        spin_headers: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_file_names_follow_the_naming_rule() {
        assert_eq!(component_id(Path::new("dir/hello.wasm")), "hello");
        assert_eq!(
            component_id(Path::new("my handler.v2.wasm")),
            "my-handler-v2"
        );
        assert_eq!(component_id(Path::new("1st.wasm")), "c-1st");
        for file in ["dir/hello.wasm", "my handler.v2.wasm", "1st.wasm", "ä.wasm"] {
            let id = component_id(Path::new(file));
            assert!(
                wasmctl::names::check_name("component id", &id).is_ok(),
                "{file} → {id}"
            );
        }
    }

    #[test]
    fn the_host_is_given_what_was_checked_and_reads_the_others() {
        let app = manifest::parse(
            Path::new("/nonexistent/wasmctl.toml"),
            "manifest_version = 1\n[application]\nname = \"app\"\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"checked\"\n\
             [component.checked]\nsource = \"a.wasm\"\n\
             [component.hashed]\nsource = \"c.wasm\"\n\
             [component.unread]\nsource = \"b.wasm\"\n"
                .to_string(),
        )
        .unwrap();
        let bytes = b"\0asm checked".to_vec();
        let read = KnownContent::bytes(bytes.clone(), blake3::hash(&bytes));
        let hashed = KnownContent::hash(blake3::hash(b"known by identity"));
        let mut served = Served {
            checked: HashMap::from([
                ("checked".to_string(), read),
                ("hashed".to_string(), hashed),
            ]),
            ..Served::app(&app, Profile::Release, Resolved::default())
        };
        let config = served
            .host_config(&Default::default(), &mut FileStage::default())
            .unwrap();
        let given = |id: &str| {
            let component = config.components.iter().find(|c| c.id == id).unwrap();
            component.known.as_ref().map(|b| format!("{b:?}"))
        };
        assert_eq!(
            given("checked").unwrap(),
            format!(
                "{} bytes, BLAKE3 {}",
                bytes.len(),
                blake3::hash(&bytes).to_hex()
            )
        );
        assert_eq!(
            given("hashed").unwrap(),
            format!("BLAKE3 {}", blake3::hash(b"known by identity").to_hex())
        );
        assert_eq!(given("unread"), None);
        // Handed over once: the next configuration (a reload) reads the file.
        let again = served
            .host_config(&Default::default(), &mut FileStage::default())
            .unwrap();
        assert!(again.components.iter().all(|c| c.known.is_none()));
    }

    #[test]
    fn each_component_reads_its_own_variables_only() {
        // Nothing is read from this directory: it has no `.env`.
        let app = manifest::parse(
            Path::new("/nonexistent/wasmctl.toml"),
            "manifest_version = 1\n[application]\nname = \"app\"\n\
             [variables]\ngreeting = { default = \"hello\" }\ntoken = { required = true, secret = true }\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"reads\"\n\
             [component.reads]\nsource = \"a.wasm\"\n\
             variables = { message = \"{{ greeting }}, {{ token }}\" }\n\
             [component.plain]\nsource = \"b.wasm\"\n"
                .to_string(),
        )
        .unwrap();
        let given = [("token".to_string(), Given::Text("t".into()))];
        let values = wasmctl::variables::resolve(&app, &given).unwrap();
        let config = Served::app(&app, Profile::Release, values)
            .host_config(&Default::default(), &mut FileStage::default())
            .unwrap();
        let reads = config.components.iter().find(|c| c.id == "reads").unwrap();
        let plain = config.components.iter().find(|c| c.id == "plain").unwrap();
        assert_eq!(
            reads.config,
            [("message".to_string(), "hello, t".to_string())]
                .into_iter()
                .collect()
        );
        assert_eq!(plain.config, Default::default());
        // The host's debug print names keys only.
        assert_eq!(format!("{:?}", reads.config), "{\"message\"}");
    }

    #[test]
    fn the_flag_wins_over_the_manifest_over_the_default() {
        let mut component = Component {
            id: "svc".into(),
            source: "svc.wasm".into(),
            description: None,
            environment: [("MODE".to_string(), "manifest".to_string())].into(),
            files: Vec::new(),
            allowed_outbound_hosts: Vec::new(),
            variables: Default::default(),
            key_value_stores: Vec::new(),
            limits: Limits::default(),
            build: None,
        };
        let none = ServeSettings::default();
        let config = component_config(
            &component,
            Path::new("/app/svc.wasm"),
            &none,
            &Resolved::default(),
        );
        assert_eq!(config.timeout, manifest::DEFAULT_TIMEOUT);
        assert_eq!(config.memory, manifest::DEFAULT_MEMORY);

        component.limits.timeout = Some(Duration::from_secs(5));
        let config = component_config(
            &component,
            Path::new("/app/svc.wasm"),
            &none,
            &Resolved::default(),
        );
        assert_eq!(config.timeout, Duration::from_secs(5));

        let flags = ServeSettings {
            profile: Profile::Release,
            env: vec![("MODE".into(), "flag".into())],
            request_timeout: Some(Duration::from_secs(2)),
            instance_reuse: None,
            variables: Vec::new(),
        };
        let config = component_config(
            &component,
            Path::new("/app/svc.wasm"),
            &flags,
            &Resolved::default(),
        );
        assert_eq!(config.timeout, Duration::from_secs(2));
        // The flag's value comes last, so it is the one the guest reads.
        assert_eq!(
            config.environment.last(),
            Some(&("MODE".to_string(), "flag".to_string()))
        );
    }
}
