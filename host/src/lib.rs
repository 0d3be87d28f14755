//! The embedded Wasmtime HTTP server behind `wasmctl up`.
//!
//! The host serves `wasi:http/proxy` components (plus the wasi:cli and wasi:filesystem
//! interfaces Rust std imports, `wasi:config/store` in the two versions in use, and
//! `wasi:keyvalue` in its two drafts in use; never wasi:sockets). It knows nothing of
//! manifests or terminals: the caller describes components and routes with [`HostConfig`], and
//! receives guest output through [`GuestOutput`], one [`RequestRecord`] per answered
//! request through [`AccessLog`], and logs through `tracing`.
//!
//! Every request gets a fresh instance from a pre-instantiated component (`ProxyPre`) in
//! a pooling allocator, so instantiation is a few microseconds. The server runs one
//! single-threaded runtime per core, each accepting on its own `SO_REUSEPORT` socket, so
//! a request is parsed, routed, run and answered on one thread without hand-offs.
//!
//! A guest can never take the server down: a time limit (epoch interruption for CPU,
//! a timer for waits) answers 504, a trap or memory bomb answers 500 and is logged with
//! its wasm backtrace, and a busy guest yields its thread every epoch tick.

// Each public item is API for the next crate: say what it is for.
#![warn(missing_docs)]

mod access;
mod config;
mod engine;
mod handler;
pub mod keyvalue;
mod outbound;
mod request_path;
mod reuse;
mod router;
mod server;
mod service;
mod slots;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use arc_swap::ArcSwapOption;
use wasmtime::Engine;
use wasmtime::component::Linker;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p3::bindings::ServicePre;

pub use access::{AccessLog, RequestRecord};
pub use config::ConfigValues;
pub use engine::MAX_INSTANCES;
pub use outbound::{OutboundPolicy, OutboundRule};
pub use request_path::{NormalPath, PathError};
pub use router::{Route, RouteTable};
pub use server::BoundServer;
pub use service::DEFAULT_SERVICE_REUSE;
pub use state::{GuestOutput, Stream};

use crate::engine::{Digest, new_engine};
use crate::service::Service;
use crate::slots::InstanceSlots;
use crate::state::{ComponentShared, MemoryLimitHit, RequestState};

/// Request headers the host sets for the guest (client-sent copies are removed).
pub mod headers {
    /// The route that matched, as written in the manifest, e.g. `/api/...`.
    pub const MATCHED_ROUTE: &str = "wasmctl-matched-route";
    /// The path below a wildcard route's prefix (`/users/7` for `/api/users/7` under
    /// `/api/...`), or empty for an exact route; in normal form ([`crate::NormalPath`]),
    /// like the path of the URI the guest gets.
    pub const PATH_INFO: &str = "wasmctl-path-info";
    /// The id of the component serving the request.
    pub const COMPONENT: &str = "wasmctl-component";

    /// The headers Spin's HTTP trigger sets, for the components of a Spin app
    /// ([`crate::ComponentConfig::spin_headers`]); client-sent copies are removed for every
    /// component.
    pub mod spin {
        /// `http://HOST/PATH?QUERY`, as the client asked for it.
        pub const FULL_URL: &str = "spin-full-url";
        /// As [`super::PATH_INFO`].
        pub const PATH_INFO: &str = "spin-path-info";
        /// As [`super::MATCHED_ROUTE`].
        pub const MATCHED_ROUTE: &str = "spin-matched-route";
        /// The route as written, e.g. `/api/...`.
        pub const RAW_COMPONENT_ROUTE: &str = "spin-raw-component-route";
        /// The route without its wildcard, e.g. `/api`.
        pub const COMPONENT_ROUTE: &str = "spin-component-route";
        /// Always `/` (Spin 3 and later serve no other base).
        pub const BASE_PATH: &str = "spin-base-path";
        /// The client's address and port.
        pub const CLIENT_ADDR: &str = "spin-client-addr";

        /// Every one of them: a client's copies are removed for every component, so a
        /// Spin component served from a `wasmctl.toml` cannot be handed forged ones.
        pub const ALL: [&str; 7] = [
            FULL_URL,
            PATH_INFO,
            MATCHED_ROUTE,
            RAW_COMPONENT_ROUTE,
            COMPONENT_ROUTE,
            BASE_PATH,
            CLIENT_ADDR,
        ];
    }
}

/// Why [`Host::load`] refused an app; the app served before stays.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file could not be read: missing, not a regular file, or larger than
    /// [`ServerLimits::max_component_size`].
    #[error("reading component `{id}` from {}", path.display())]
    Read {
        /// The component's id ([`ComponentConfig::id`]).
        id: String,
        /// The file it was read from ([`ComponentConfig::path`]).
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: BoxError,
    },
    /// The bytes could not be compiled (not a valid component, say).
    #[error("compiling component `{id}`")]
    Compile {
        /// The component's id.
        id: String,
        /// Wasmtime's error.
        #[source]
        source: BoxError,
    },
    /// The component imports an interface the host does not provide (wasi:sockets, a
    /// custom interface...).
    #[error("component `{id}` needs imports wasmctl up does not provide: {reason}")]
    Link {
        /// The component's id.
        id: String,
        /// Wasmtime's account of the missing import, as the message shows it.
        reason: String,
    },
    /// The component links but has no HTTP handler to call: it exports neither
    /// `wasi:http/incoming-handler@0.2` nor `wasi:http/handler@0.3.0`.
    #[error(
        "component `{id}` exports no HTTP handler: neither wasi:http/incoming-handler (WASI 0.2: {proxy}) nor wasi:http/handler@0.3.0 (WASI 0.3: {service})"
    )]
    NotAProxy {
        /// The component's id.
        id: String,
        /// Why it is not a 0.2 proxy, as Wasmtime says.
        proxy: String,
        /// Why it is not a 0.3 service, as Wasmtime says.
        service: String,
    },
    /// Instantiating needs more memory than the component may have: its initial memory
    /// (or what its start-up code grows to) is above `limit`.
    #[error(
        "component `{id}` needs more memory to start ({wanted} bytes) than its limit of {limit} bytes"
    )]
    MemoryLimit {
        /// The component's id.
        id: String,
        /// Its memory cap ([`ComponentConfig::memory`]), in bytes.
        limit: u64,
        /// The linear memory size it tried to reach, in bytes.
        wanted: u64,
    },
    /// Instantiating the component failed for another reason (a trap in its start-up
    /// code, say).
    #[error("component `{id}` cannot be instantiated")]
    Instantiate {
        /// The component's id.
        id: String,
        /// Wasmtime's error.
        #[source]
        source: BoxError,
    },
    /// A component is granted a key-value store the host was not given
    /// ([`HostConfig::stores`]).
    #[error(
        "component `{id}` is granted key-value store `{label}`, which the server does not have"
    )]
    UnknownStore {
        /// The component's id.
        id: String,
        /// The store's label.
        label: String,
    },
    /// A route of [`AppConfig::routes`] names an id no [`ComponentConfig`] has.
    #[error("route `{route}` names unknown component `{id}`")]
    UnknownComponent {
        /// The route, as written (`/api/...`).
        route: String,
        /// The id it names.
        id: String,
    },
    /// The host itself failed (no runtime for the start-up check, say).
    #[error(transparent)]
    Host(BoxError),
}

/// The cause carried by a [`LoadError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One component to serve.
#[derive(Debug, Clone)]
pub struct ComponentConfig {
    /// The component's id, unique in the app: what routes name, what guest output and
    /// access records are tagged with, and the `wasmctl-component` header.
    pub id: String,
    /// The component file.
    pub path: PathBuf,
    /// What the caller knows of the file's contents already, from checking it: its bytes
    /// and their hash (served instead of reading and hashing `path` again), or the hash
    /// alone (`path` is read only if no compiled code is cached under it). `None` reads
    /// `path`.
    pub known: Option<KnownContent>,
    /// Exactly the environment the guest sees.
    pub environment: Vec<(String, String)>,
    /// Host directories the guest may read: (host path, guest path). Each host path is
    /// absolute and free of symbolic links (canonical), as the caller checked it; one that
    /// resolves elsewhere when a request opens it is refused. Links inside a directory
    /// that lead out of it are not followed (wasmtime-wasi resolves beneath the preopen).
    pub preopens: Vec<(PathBuf, String)>,
    /// Allowed outgoing HTTP destinations; empty denies all.
    pub outbound: Vec<OutboundRule>,
    /// Time a request may take.
    pub timeout: Duration,
    /// Linear memory cap per instance, in bytes.
    pub memory: u64,
    /// Requests one instance serves in all (1: a fresh instance for each); `None` takes
    /// the world's default: 1 for a 0.2 component, [`DEFAULT_SERVICE_REUSE`] for a 0.3
    /// one. A 0.2 instance serves them one after another, a 0.3 instance up to 16 at
    /// once. An instance that trapped, ran out of time or hit its memory cap is never
    /// reused.
    pub instance_reuse: Option<u32>,
    /// What the guest reads through `wasi:config/store` (either version); empty denies all.
    pub config: ConfigValues,
    /// Labels of the key-value stores the guest may open, each one of
    /// [`HostConfig::stores`]; empty denies all.
    pub key_value_stores: Vec<String>,
    /// Whether the guest also gets the request headers Spin sets ([`headers::spin`]):
    /// for components of a Spin app, which may read them.
    pub spin_headers: bool,
}

/// A component file's contents as the caller knows them: the bytes it read and their
/// BLAKE3 hash, or the hash alone.
#[derive(Clone)]
pub struct KnownContent {
    bytes: Option<Arc<Vec<u8>>>,
    digest: Digest,
}

impl KnownContent {
    /// Bytes the caller read, and their hash: `blake3` must be the BLAKE3 hash of
    /// `bytes` (the host caches compiled code under it); the caller has it from hashing
    /// them for its own purposes.
    pub fn bytes(bytes: Vec<u8>, blake3: blake3::Hash) -> KnownContent {
        debug_assert_eq!(blake3, blake3::hash(&bytes), "the hash of these bytes");
        KnownContent {
            bytes: Some(Arc::new(bytes)),
            digest: Digest::from(blake3),
        }
    }

    /// The hash alone, of a file the caller knows the contents of without reading it (by
    /// its identity, say). The host reads the file only if no compiled code is cached
    /// under `blake3`, and then serves what it read, whatever that hashes to.
    pub fn hash(blake3: blake3::Hash) -> KnownContent {
        KnownContent {
            bytes: None,
            digest: Digest::from(blake3),
        }
    }
}

impl std::fmt::Debug for KnownContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.bytes {
            Some(bytes) => write!(f, "{} bytes, BLAKE3 {}", bytes.len(), self.digest),
            None => write!(f, "BLAKE3 {}", self.digest),
        }
    }
}

/// Limits of the server itself.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Open connections at most; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Largest request body accepted (413 beyond).
    pub max_body_size: u64,
    /// Time a client has to send its request headers (slowloris).
    pub header_read_timeout: Duration,
    /// Time a write to a client may wait without any progress (a client that stops
    /// reading its response) before the connection is closed.
    pub write_timeout: Duration,
    /// Time in-flight requests get to finish after shutdown starts.
    pub shutdown_grace: Duration,
    /// Instances alive at once (requests in flight across all components); further
    /// requests wait for a slot, at most as long as their time limit, then get 503.
    /// At most [`MAX_INSTANCES`].
    pub max_instances: u32,
    /// Largest component file [`Host::load`] reads; a larger one fails the load.
    pub max_component_size: u64,
    /// What guests may put into and ask of key-value stores.
    pub key_value: keyvalue::KeyValueLimits,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_body_size: 64 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            max_instances: 1000,
            max_component_size: 256 * 1024 * 1024,
            key_value: keyvalue::KeyValueLimits::default(),
        }
    }
}

/// A component's file could not be read (or was too large).
fn read_error(component: &ComponentConfig, source: anyhow::Error) -> LoadError {
    LoadError::Read {
        id: component.id.clone(),
        path: component.path.clone(),
        source: source.into(),
    }
}

/// Refuses a component larger than `max` bytes, whoever read it.
fn check_component_size(bytes: &[u8], max: u64) -> Result<()> {
    if bytes.len() as u64 > max {
        anyhow::bail!("it is larger than {max} bytes, the most the server loads");
    }
    Ok(())
}

/// Reads a component file: a regular file (a device or FIFO put at its path is refused
/// before it is opened, and the open does not block) of at most `max` bytes.
fn read_component_file(path: &std::path::Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;

    let not_a_file =
        || anyhow::anyhow!("it is not a regular file; wasmctl serves component files only");
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_a_file());
    }
    let mut options = std::fs::File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(not_a_file());
    }
    // Sized once: growing by doubling would copy a big component several times over.
    let mut bytes = Vec::with_capacity(metadata.len().min(max) as usize);
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    check_component_size(&bytes, max)?;
    Ok(bytes)
}

/// Instance slots beyond `max_instances`, kept for the instantiation checks of
/// [`Host::load`].
const CHECK_INSTANCES: u32 = 4;

/// The server-wide settings, fixed for the life of a [`Host`].
pub struct HostConfig {
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Where guest stdout/stderr lines go; `None` discards them.
    pub output: Option<Arc<dyn GuestOutput>>,
    /// Where each answered request is reported; `None` reports nothing (and costs
    /// nothing per request).
    pub access_log: Option<Arc<dyn AccessLog>>,
    /// Bounds on connections, bodies, waits and instances.
    pub limits: ServerLimits,
    /// The key-value stores components may be granted, by label; opened by the caller,
    /// they live as long as the host, so their data outlives every [`Host::load`].
    pub stores: keyvalue::Stores,
    /// The engine, when [`PendingEngine::start`] began setting it up early; `None` sets
    /// it up in [`Host::new`].
    pub engine: Option<PendingEngine>,
}

/// The engine and linker being set up on a thread of their own. Reserving the instance
/// pool is a large part of a warm start (a guard page to protect for each of
/// `max_instances` stacks, and the memory and table slots), and it needs nothing from
/// the app: it can overlap reading the manifest and checking the components.
pub struct PendingEngine {
    max_instances: u32,
    setup: std::thread::JoinHandle<Result<(Engine, Linker<RequestState>)>>,
}

impl PendingEngine {
    /// Starts setting up the engine for a host whose [`ServerLimits::max_instances`] is
    /// `max_instances`.
    pub fn start(max_instances: u32) -> PendingEngine {
        let setup = std::thread::spawn(move || {
            // Start-up and reload checks instantiate too, while requests hold every slot.
            let engine = new_engine(max_instances + CHECK_INSTANCES)?;
            let linker = handler::linker(&engine)?;
            Ok((engine, linker))
        });
        PendingEngine {
            max_instances,
            setup,
        }
    }

    /// Waits for the set-up, which must have been for `max_instances`.
    fn finish(self, max_instances: u32) -> Result<(Engine, Linker<RequestState>)> {
        anyhow::ensure!(
            self.max_instances == max_instances,
            "the engine was set up for {} instances and the host needs {max_instances}",
            self.max_instances
        );
        match self.setup.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// What is served: components and the routes to them. [`Host::load`] swaps a new one in
/// while the server runs.
#[derive(Debug, Clone, Default)]
pub struct AppConfig {
    /// The components to serve, each id once (a route leads to the first one with its id).
    pub components: Vec<ComponentConfig>,
    /// Routes to component ids.
    pub routes: Vec<(Route, String)>,
}

/// Where a loaded component's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compilation {
    /// Compiled now.
    Compiled,
    /// Loaded from the on-disk cache.
    Cached,
    /// The same bytes were already being served: their compiled code was kept.
    Unchanged,
}

/// Which `wasi:http` a component speaks, found when it is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpWorld {
    /// WASI 0.2: world `proxy`, export `wasi:http/incoming-handler`.
    Proxy,
    /// WASI 0.3: world `service`, export `wasi:http/handler@0.3.0`.
    Service,
}

/// How loading one component went.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// The component's id ([`ComponentConfig::id`]).
    pub id: String,
    /// The `wasi:http` it exports.
    pub world: HttpWorld,
    /// Whether its code was compiled, read from the cache or kept.
    pub compilation: Compilation,
    /// Wall time to read it and to compile, fetch or reuse its code.
    pub elapsed: Duration,
}

/// The engine and linker every component runs on, and the app being served now.
///
/// Requests take the current app with one atomic load and keep it until they finish, so
/// [`Host::load`] can swap a new app in at any time: requests in flight finish on the
/// old one, new requests get the new one, and nothing waits.
pub struct Host {
    engine: Engine,
    linker: Linker<RequestState>,
    cache_dir: Option<PathBuf>,
    output: Option<Arc<dyn GuestOutput>>,
    access_log: Option<Arc<dyn AccessLog>>,
    limits: ServerLimits,
    stores: keyvalue::Stores,
    app: ArcSwapOption<LoadedApp>,
    /// One permit per instance alive (`max_instances`).
    slots: Arc<InstanceSlots>,
}

/// Components compiled and pre-instantiated, routes resolved.
pub(crate) struct LoadedApp {
    pub components: Vec<LoadedComponent>,
    pub routes: RouteTable,
}

pub(crate) struct LoadedComponent {
    pub shared: Arc<ComponentShared>,
    /// The hash of the component file: unchanged bytes are not compiled again on reload.
    pub digest: Digest,
    pub guest: Guest,
}

/// A component's code, linked, and what serves it. Instances are not carried over to a
/// reloaded app: they were made with the old grants and limits.
pub(crate) enum Guest {
    /// WASI 0.2: an instance per request, or reused one request after another.
    Proxy {
        pre: ProxyPre<RequestState>,
        /// Instances between requests (only with `instance_reuse > 1`).
        idle: Arc<reuse::IdleInstances>,
    },
    /// WASI 0.3: instances taking several requests at once.
    Service(Service),
}

impl LoadedApp {
    /// Drops one idle 0.2 instance of the app, freeing its slot; whether there was one.
    pub(crate) fn drop_one_idle(&self) -> bool {
        self.components
            .iter()
            .any(|component| match &component.guest {
                Guest::Proxy { idle, .. } => idle.drop_one(),
                Guest::Service(_) => false,
            })
    }
}

impl Host {
    /// Sets up the engine and linker (or waits for [`HostConfig::engine`]); nothing is
    /// served until [`Host::load`].
    pub fn new(config: HostConfig) -> Result<Host> {
        let max_instances = config.limits.max_instances;
        let (engine, linker) = config
            .engine
            .unwrap_or_else(|| PendingEngine::start(max_instances))
            .finish(max_instances)?;
        Ok(Host {
            engine,
            linker,
            cache_dir: config.cache_dir,
            output: config.output,
            access_log: config.access_log,
            limits: config.limits,
            stores: config.stores,
            app: ArcSwapOption::empty(),
            slots: Arc::new(InstanceSlots::new(config.limits.max_instances)),
        })
    }

    /// Drops the current app's instances idle since before `now - IDLE_TIMEOUT`.
    fn sweep_idle_instances(&self, now: Instant) {
        if let Some(app) = self.app.load().as_deref() {
            for component in &app.components {
                if let Guest::Proxy { idle, .. } = &component.guest {
                    idle.sweep(now);
                }
            }
        }
    }

    /// Compiles (or takes from the cache, or keeps when unchanged) every component in
    /// parallel, links it, instantiates each once under its limits (a component that
    /// cannot start, say with initial memory above its cap, fails here rather than on
    /// every request), then atomically makes it the app being served. On error the
    /// app served before stays.
    pub fn load(&self, config: AppConfig) -> Result<Vec<LoadReport>, LoadError> {
        let current = self.app.load_full();
        let loaded: Vec<Result<(LoadedComponent, LoadReport), LoadError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = config
                    .components
                    .iter()
                    .map(|component| {
                        let current = current.as_deref();
                        scope.spawn(move || self.load_component(component, current))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("component loading does not panic"))
                    .collect()
            });
        let mut components = Vec::new();
        let mut reports = Vec::new();
        for result in loaded {
            let (component, report) = result?;
            components.push(component);
            reports.push(report);
        }

        let index_of = |id: &str| {
            components
                .iter()
                .position(|c: &LoadedComponent| c.shared.config.id == id)
        };
        let routes = config
            .routes
            .into_iter()
            .map(|(route, id)| {
                let index = index_of(&id).ok_or_else(|| LoadError::UnknownComponent {
                    route: route.to_string(),
                    id: id.clone(),
                })?;
                Ok((route, index))
            })
            .collect::<Result<Vec<_>, LoadError>>()?;
        let app = LoadedApp {
            components,
            routes: RouteTable::new(routes),
        };
        check_instances(&app)?;
        let previous = self.app.swap(Some(Arc::new(app)));
        // The old app's idle instances would keep their slots for as long as its last
        // request runs (up to its time limit): they go now, and none is kept after.
        for component in previous.iter().flat_map(|app| &app.components) {
            match &component.guest {
                Guest::Proxy { idle, .. } => idle.retire(),
                Guest::Service(service) => service.retire(),
            }
        }
        Ok(reports)
    }

    /// Reads a component's file, and hashes it.
    fn read(&self, component: &ComponentConfig) -> Result<(Arc<Vec<u8>>, Digest), LoadError> {
        let bytes = read_component_file(&component.path, self.limits.max_component_size)
            .map_err(|source| read_error(component, source))?;
        let digest = Digest::of(&bytes);
        Ok((Arc::new(bytes), digest))
    }

    /// The compiled code of a component whose contents hash to `digest`: from the cache,
    /// else compiled from `bytes` and cached. Without `bytes` (the caller knew the hash
    /// alone) the file is read now and what is read is served, whatever it hashes to.
    /// Returns the hash of what is served.
    fn compiled(
        &self,
        component: &ComponentConfig,
        bytes: Option<Arc<Vec<u8>>>,
        digest: Digest,
    ) -> Result<(wasmtime::component::Component, Compilation, Digest), LoadError> {
        let cache_dir = self.cache_dir.as_deref();
        let cached =
            |digest| cache_dir.and_then(|dir| engine::load_cached(&self.engine, digest, dir));
        if let Some(compiled) = cached(digest) {
            return Ok((compiled, Compilation::Cached, digest));
        }
        let (bytes, digest) = match bytes {
            Some(bytes) => (bytes, digest),
            None => {
                let (bytes, read) = self.read(component)?;
                if read != digest
                    && let Some(compiled) = cached(read)
                {
                    return Ok((compiled, Compilation::Cached, read));
                }
                (bytes, read)
            }
        };
        let compiled = engine::compile_and_cache(&self.engine, &bytes, digest, cache_dir).map_err(
            |source| LoadError::Compile {
                id: component.id.clone(),
                source: source.into(),
            },
        )?;
        Ok((compiled, Compilation::Compiled, digest))
    }

    fn load_component(
        &self,
        component: &ComponentConfig,
        current: Option<&LoadedApp>,
    ) -> Result<(LoadedComponent, LoadReport), LoadError> {
        let started = Instant::now();
        let key_value = keyvalue::Grants::new(
            &component.key_value_stores,
            &self.stores,
            self.limits.key_value,
        )
        .map_err(|label| LoadError::UnknownStore {
            id: component.id.clone(),
            label,
        })?;
        let (bytes, digest) = match &component.known {
            Some(known) => {
                if let Some(bytes) = &known.bytes {
                    check_component_size(bytes, self.limits.max_component_size)
                        .map_err(|source| read_error(component, source))?;
                }
                (known.bytes.clone(), known.digest)
            }
            None => {
                let (bytes, digest) = self.read(component)?;
                (Some(bytes), digest)
            }
        };
        let shared = Arc::new(ComponentShared {
            // Without the bytes: the compiled code is all it serves from now on.
            config: ComponentConfig {
                known: None,
                ..component.clone()
            },
            outbound: Arc::new(OutboundPolicy {
                rules: component.outbound.clone(),
            }),
            output: self.output.clone(),
            key_value: Arc::new(key_value),
        });
        let unchanged = current
            .into_iter()
            .flat_map(|app| &app.components)
            .find(|loaded| loaded.digest == digest);
        let (code, compilation, digest) = match unchanged {
            Some(loaded) => {
                let code = match &loaded.guest {
                    Guest::Proxy { pre, .. } => Code::Proxy(pre.clone()),
                    Guest::Service(service) => Code::Service(service.pre().clone()),
                };
                (code, Compilation::Unchanged, digest)
            }
            None => {
                let (compiled, compilation, digest) = self.compiled(component, bytes, digest)?;
                let instance_pre =
                    self.linker
                        .instantiate_pre(&compiled)
                        .map_err(|e| LoadError::Link {
                            id: component.id.clone(),
                            reason: e.to_string(),
                        })?;
                // Which world it is, by what it exports.
                let code = match ProxyPre::new(instance_pre.clone()) {
                    Ok(pre) => Code::Proxy(pre),
                    Err(proxy) => match ServicePre::new(instance_pre) {
                        Ok(pre) => Code::Service(pre),
                        Err(service) => {
                            return Err(LoadError::NotAProxy {
                                id: component.id.clone(),
                                proxy: proxy.to_string(),
                                service: service.to_string(),
                            });
                        }
                    },
                };
                (code, compilation, digest)
            }
        };
        let (guest, world) = match code {
            Code::Proxy(pre) => {
                let idle = Default::default();
                (Guest::Proxy { pre, idle }, HttpWorld::Proxy)
            }
            Code::Service(pre) => {
                let service = Service::new(pre, shared.clone(), self.slots.clone());
                (Guest::Service(service), HttpWorld::Service)
            }
        };
        Ok((
            LoadedComponent {
                shared,
                digest,
                guest,
            },
            LoadReport {
                id: component.id.clone(),
                world,
                compilation,
                elapsed: started.elapsed(),
            },
        ))
    }

    /// Instantiates component `id` of the current app once and drops the instance: the
    /// per-request instantiation cost, for benchmarks.
    pub async fn instantiate_once(&self, id: &str) -> Result<()> {
        let app = self.app.load_full().context("no app is loaded")?;
        let component = app
            .components
            .iter()
            .find(|c| c.shared.config.id == id)
            .with_context(|| format!("no component `{id}`"))?;
        handler::instantiate(component).await
    }

    /// Binds `workers` listening sockets (one per worker thread) to `addr`.
    pub fn bind(self, addr: SocketAddr, workers: usize) -> Result<BoundServer> {
        server::bind(self, addr, workers)
    }
}

/// A component's linked code, for either world.
enum Code {
    Proxy(ProxyPre<RequestState>),
    Service(ServicePre<RequestState>),
}

/// Instantiates every component once, as a request would.
fn check_instances(app: &LoadedApp) -> Result<(), LoadError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadError::Host(e.into()))?;
    for component in &app.components {
        let config = &component.shared.config;
        runtime
            .block_on(handler::instantiate(component))
            .map_err(|error| match error.downcast_ref::<MemoryLimitHit>() {
                Some(hit) => LoadError::MemoryLimit {
                    id: config.id.clone(),
                    limit: config.memory,
                    wanted: hit.wanted as u64,
                },
                // The trap itself, without wasmtime's layers of context.
                None => LoadError::Instantiate {
                    id: config.id.clone(),
                    source: error.root_cause().to_string().into(),
                },
            })?;
    }
    Ok(())
}
