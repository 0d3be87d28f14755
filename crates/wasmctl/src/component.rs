//! WebAssembly components: what a file is, turning core modules into components, and
//! validating a component against the world `wasmctl up` serves.
//!
//! The served world is `wasmctl:host/http-app` from the repository's `wit/` directory,
//! embedded at compile time: `wasi:http/proxy@0.2.12` plus the wasi:cli, wasi:filesystem
//! and insecure-random interfaces Rust's standard library imports, wasi:config (variables)
//! and wasi:keyvalue (key-value stores), each in the versions in use. A component is valid
//! when wasmparser accepts it, it exports `wasi:http/incoming-handler@0.2.x`, and every
//! interface and function it imports exists in that world.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};
use wit_parser::{Resolve, SourceMap, UnresolvedPackageGroup, WorldId, WorldItem, WorldKey};

use crate::hint::Hint;

/// The repository's `wit/` directory.
static WIT: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../wit");

/// The interface a WASI 0.2 HTTP component exports (without version).
pub const INCOMING_HANDLER: &str = "wasi:http/incoming-handler";

/// The interface a WASI 0.3 HTTP component exports (without version).
pub const HANDLER: &str = "wasi:http/handler";

/// The world `wasmctl up` serves to WASI 0.2 components.
pub const HOST_WORLD: &str = "wasmctl:host/http-app";

/// The world `wasmctl up` serves to WASI 0.3 components.
pub const HOST_SERVICE_WORLD: &str = "wasmctl:host/http-service";

/// What a wasm file holds, judged from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    /// A core WebAssembly module (version 1), e.g. from wasm32-wasip1; it must be
    /// componentized before it can be served.
    CoreModule,
    /// A component (the component-model layer), e.g. from wasm32-wasip2.
    Component,
}

/// Why a file is not a component `wasmctl up` can serve. Each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// The file's header is not WebAssembly's: too short, wrong magic number, or an
    /// unknown version.
    #[error(
        "`{}` is not a WebAssembly file: {reason}",
        path.display()
    )]
    NotWasm {
        /// The file judged.
        path: PathBuf,
        /// What is wrong with its header, as the message shows it.
        reason: String,
    },
    /// The header says component, but wasmparser rejects it or its WIT cannot be decoded.
    #[error(
        "`{}` is not valid WebAssembly (truncated or corrupt?): {message}",
        path.display()
    )]
    Invalid {
        /// The file judged.
        path: PathBuf,
        /// wasmparser's or the decoder's complaint.
        message: String,
    },
    /// A core module where a component is required ([`validate`] never componentizes).
    #[error(
        "`{}` is a core module, not a component",
        path.display()
    )]
    CoreModule {
        /// The file judged.
        path: PathBuf,
    },
    /// A core module [`componentize`] cannot wrap: it lacks wit-bindgen's
    /// `component-type` custom sections.
    #[error(
        "`{}` is a core module without component type information (no `component-type` custom section), so wasmctl cannot tell which interfaces it exports",
        path.display()
    )]
    NoComponentType {
        /// The core module.
        path: PathBuf,
    },
    /// wit-component failed to wrap a core module with the WASI preview1 adapter.
    #[error("could not turn core module `{}` into a component: {message}", path.display())]
    Componentize {
        /// The core module.
        path: PathBuf,
        /// wit-component's error, with its causes.
        message: String,
    },
    /// A valid component that exports neither `wasi:http/incoming-handler@0.2.x` nor
    /// `wasi:http/handler@0.3.x`.
    #[error(
        "`{}` exports neither `{INCOMING_HANDLER}@0.2.x` (WASI 0.2) nor `{HANDLER}@0.3.x` (WASI 0.3), so it cannot handle HTTP requests; it exports: {}",
        path.display(),
        if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
    )]
    NotHttpHandler {
        /// The component.
        path: PathBuf,
        /// What it exports instead, e.g. `wasi:cli/run@0.2.0`; the hint recognises a
        /// command.
        exports: Vec<String>,
    },
    /// An HTTP component that imports interfaces or functions the served world lacks.
    #[error("`{}` cannot run under `wasmctl up`:\n{}", path.display(), findings.iter().map(|f| format!("  - {f}")).collect::<Vec<_>>().join("\n"))]
    UnsupportedImports {
        /// The component.
        path: PathBuf,
        /// One line per problem, each saying what to do (missing interfaces grouped by
        /// advice); the message lists them.
        findings: Vec<String>,
    },
}

impl ComponentError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<Hint> {
        let text = match self {
            ComponentError::NotWasm { .. } => {
                "check the path: it should name the `.wasm` file a build produced"
            }
            ComponentError::Invalid { .. } => {
                "build it again; if it was copied or downloaded, copy or download it again"
            }
            ComponentError::CoreModule { .. } => {
                "build for wasm32-wasip2 (a component), or build for wasm32-wasip1 with `cargo = { target = \"wasm32-wasip1\" }` so wasmctl turns it into one"
            }
            ComponentError::NoComponentType { .. } => {
                "generate its bindings with wit-bindgen (e.g. the `wasi` or `wstd` crate), or build for wasm32-wasip2 instead"
            }
            ComponentError::NotHttpHandler { exports, .. }
                if exports.iter().any(|e| e.starts_with("wasi:cli/run")) =>
            {
                "this is a wasi:cli command (it has a `main`); an HTTP component exports the handler instead, e.g. with `#[wstd::http_server]`"
            }
            ComponentError::NotHttpHandler { .. }
            | ComponentError::Componentize { .. }
            | ComponentError::UnsupportedImports { .. } => return None,
        };
        Some(Hint::new(text))
    }
}

/// A component that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidComponent {
    /// For a WASI 0.2 component, `wasi:http/proxy@0.2.x` when it imports nothing beyond
    /// that world, otherwise [`HOST_WORLD`] (it also needs wasi:cli or wasi:filesystem);
    /// for a WASI 0.3 one, `wasi:http/service@0.3.x` or [`HOST_SERVICE_WORLD`].
    pub world: String,
    /// Imported interfaces, e.g. `wasi:http/types@0.2.12`.
    pub imports: Vec<String>,
    /// Exported interfaces.
    pub exports: Vec<String>,
}

impl ValidComponent {
    /// The WASI release of the wasi:http it speaks: `"0.3"` when it exports
    /// `wasi:http/handler@0.3.x`, else `"0.2"`.
    pub fn wasi(&self) -> &'static str {
        let service = self.exports.iter().any(|name| {
            HostWorld::track_of(name).is_some_and(|track| track == (HANDLER.to_string(), 0, 3))
        });
        if service { "0.3" } else { "0.2" }
    }
}

/// Judges a file from its first bytes.
pub fn kind(path: &Path, bytes: &[u8]) -> Result<WasmKind, ComponentError> {
    let not_wasm = |reason: &str| ComponentError::NotWasm {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if bytes.len() < 8 {
        return Err(not_wasm(&format!("it is only {} bytes long", bytes.len())));
    }
    if bytes[..4] != *b"\0asm" {
        return Err(not_wasm("it does not start with the `\\0asm` magic number"));
    }
    match bytes[4..8] {
        [1, 0, 0, 0] => Ok(WasmKind::CoreModule),
        [0x0d, 0, 1, 0] => Ok(WasmKind::Component),
        _ => Err(not_wasm(&format!(
            "unknown WebAssembly version/layer bytes {:02x?}",
            &bytes[4..8]
        ))),
    }
}

/// Turns a core module (wasm32-wasip1, or any module with wit-bindgen's component type
/// information) into a component with the WASI preview1 reactor adapter. (The proxy
/// adapter would keep it in the `wasi:http/proxy` world, but it answers the module's
/// environment and file calls with nothing: a Spin app's `environment` and `files` would
/// silently vanish for its wasip1 components.)
pub fn componentize(path: &Path, core: &[u8]) -> Result<Vec<u8>, ComponentError> {
    if !has_component_type(core) {
        return Err(ComponentError::NoComponentType {
            path: path.to_path_buf(),
        });
    }
    let failed = |error: anyhow::Error| ComponentError::Componentize {
        path: path.to_path_buf(),
        message: format!("{error:#}"),
    };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)
        .map_err(failed)?
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .map_err(failed)?
        .encode()
        .map_err(failed)
}

/// Whether a core module carries wit-bindgen's `component-type*` custom sections.
fn has_component_type(core: &[u8]) -> bool {
    wasmparser::Parser::new(0).parse_all(core).any(|payload| {
        matches!(payload, Ok(wasmparser::Payload::CustomSection(section)) if section.name().starts_with("component-type"))
    })
}

/// Validates a component's bytes against the world `wasmctl up` serves.
pub fn validate(path: &Path, bytes: &[u8]) -> Result<ValidComponent, ComponentError> {
    match kind(path, bytes)? {
        WasmKind::Component => {}
        WasmKind::CoreModule => {
            return Err(ComponentError::CoreModule {
                path: path.to_path_buf(),
            });
        }
    }
    let invalid = |message: String| ComponentError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| invalid(e.to_string()))?;
    let decoded = wit_component::decode(bytes).map_err(|e| invalid(format!("{e:#}")))?;
    let wit_parser::decoding::DecodedWasm::Component(resolve, world) = decoded else {
        return Err(invalid(
            "it holds WIT definitions, not a component".to_string(),
        ));
    };
    let imports = interfaces(&resolve, world, Direction::Imports);
    let exports = interfaces(&resolve, world, Direction::Exports);

    let exported_names: Vec<String> = exports.keys().cloned().collect();
    // Which wasi:http it speaks, by the handler it exports.
    let handler = exports
        .keys()
        .find_map(|name| match HostWorld::track_of(name)? {
            (interface, 0, 2) if interface == INCOMING_HANDLER => Some((Http::Proxy, name)),
            (interface, 0, 3) if interface == HANDLER => Some((Http::Service, name)),
            _ => None,
        });
    let Some((http, handler)) = handler else {
        return Err(ComponentError::NotHttpHandler {
            path: path.to_path_buf(),
            exports: exported_names,
        });
    };
    let handler_version = handler
        .rsplit_once('@')
        .map(|(_, version)| version.to_string())
        .unwrap_or_default();

    let host = HostWorld::get();
    let mut findings = Vec::new();
    // Interfaces the host lacks, grouped by what to do about them (one line for all of
    // wasi:blobstore, say).
    let mut missing: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, functions) in &imports {
        match host.provides(name, functions) {
            Ok(()) => {}
            Err(Unprovided::Interface) => {
                let advice = missing_interface_advice(name);
                match missing.iter_mut().find(|(a, _)| *a == advice) {
                    Some((_, names)) => names.push(name),
                    None => missing.push((advice, vec![name])),
                }
            }
            Err(Unprovided::Other(finding)) => findings.push(finding),
        }
    }
    for (advice, names) in missing {
        findings.push(format!(
            "imports `{}`, which wasmctl up does not provide: {advice}",
            names.join("`, `"),
        ));
    }
    findings.extend(bare_function_imports(&resolve, world));
    if !findings.is_empty() {
        return Err(ComponentError::UnsupportedImports {
            path: path.to_path_buf(),
            findings,
        });
    }
    let (http_world, http_imports, host_world) = match http {
        Http::Proxy => ("proxy", &host.proxy, HOST_WORLD),
        Http::Service => ("service", &host.service, HOST_SERVICE_WORLD),
    };
    let only_http = imports
        .keys()
        .all(|name| HostWorld::track_of(name).is_some_and(|track| http_imports.contains(&track)));
    Ok(ValidComponent {
        world: if only_http {
            format!("wasi:http/{http_world}@{handler_version}")
        } else {
            host_world.to_string()
        },
        imports: imports.into_keys().collect(),
        exports: exported_names,
    })
}

/// The two wasi:http worlds `wasmctl up` serves.
#[derive(Clone, Copy)]
enum Http {
    /// WASI 0.2: world `proxy`, export `incoming-handler`.
    Proxy,
    /// WASI 0.3: world `service`, export `handler`.
    Service,
}

#[derive(Clone, Copy)]
enum Direction {
    Imports,
    Exports,
}

/// Interfaces of a world by versioned name (`wasi:http/types@0.2.12`), with their functions.
fn interfaces(
    resolve: &Resolve,
    world: WorldId,
    direction: Direction,
) -> BTreeMap<String, BTreeSet<String>> {
    let world = &resolve.worlds[world];
    let items = match direction {
        Direction::Imports => &world.imports,
        Direction::Exports => &world.exports,
    };
    items
        .iter()
        .filter_map(|(key, item)| match (key, item) {
            (WorldKey::Interface(_), WorldItem::Interface { id, .. }) => {
                let name = resolve.id_of(*id)?;
                let functions = resolve.interfaces[*id].functions.keys().cloned().collect();
                Some((name, functions))
            }
            _ => None,
        })
        .collect()
}

/// Functions imported directly into the component's world (not through an interface):
/// no host provides those.
fn bare_function_imports(resolve: &Resolve, world: WorldId) -> Vec<String> {
    resolve.worlds[world]
        .imports
        .iter()
        .filter_map(|(key, item)| match (key, item) {
            (WorldKey::Name(name), WorldItem::Function(_)) => Some(format!(
                "imports a bare function `{name}`, which wasmctl up does not provide; only WASI interfaces are available"
            )),
            (WorldKey::Name(name), WorldItem::Interface { .. }) => Some(format!(
                "imports an unnamed interface `{name}`, which wasmctl up does not provide"
            )),
            _ => None,
        })
        .collect()
}

/// Every file of the embedded `wit/` directory with its contents, in a stable order: what
/// validation checks against, beside the code.
pub(crate) fn world_files() -> Vec<(&'static Path, &'static [u8])> {
    fn walk(dir: &'static Dir<'static>, files: &mut Vec<(&'static Path, &'static [u8])>) {
        for entry in dir.entries() {
            match entry {
                include_dir::DirEntry::Dir(dir) => walk(dir, files),
                include_dir::DirEntry::File(file) => files.push((file.path(), file.contents())),
            }
        }
    }
    let mut files = Vec::new();
    walk(&WIT, &mut files);
    files.sort_by_key(|(path, _)| *path);
    files
}

/// The interfaces the host world imports, parsed once from the embedded WIT.
struct HostWorld {
    /// `wasi:http/types` → (version, functions) of each version the host serves (both
    /// versions of wasi:config and both drafts of wasi:keyvalue, one version of everything
    /// else).
    interfaces: BTreeMap<String, Vec<(semver::Version, BTreeSet<String>)>>,
    /// The interfaces `wasi:http/proxy@0.2` imports, as semver tracks.
    proxy: BTreeSet<Track>,
    /// The interfaces `wasi:http/service@0.3` imports, as semver tracks.
    service: BTreeSet<Track>,
}

/// An interface name and its semver track: (`wasi:http/types`, 0, 2).
type Track = (String, u64, u64);

impl HostWorld {
    fn get() -> &'static HostWorld {
        static WORLD: OnceLock<HostWorld> = OnceLock::new();
        WORLD.get_or_init(|| {
            HostWorld::parse().expect("the embedded wit/ directory is valid (tested)")
        })
    }

    fn parse() -> anyhow::Result<HostWorld> {
        let parse = |file: &include_dir::File<'_>| {
            let text = file
                .contents_utf8()
                .ok_or_else(|| anyhow::anyhow!("{} is not UTF-8", file.path().display()))?;
            UnresolvedPackageGroup::parse(file.path(), text)
                .map_err(|(map, error)| anyhow::anyhow!("{}", error.render(&map)))
        };
        let main = WIT
            .get_file("world.wit")
            .ok_or_else(|| anyhow::anyhow!("wit/world.wit is missing"))?;
        let deps_dir = WIT
            .get_dir("deps")
            .ok_or_else(|| anyhow::anyhow!("wit/deps is missing"))?;
        let is_wit =
            |file: &&include_dir::File<'_>| file.path().extension().is_some_and(|ext| ext == "wit");
        // A package is one file (`deps/http.wit`) or a directory of files, as upstream
        // ships it (`deps/config-0.2.0-rc.1/`, `deps/keyvalue-0.2.0-draft2/`).
        let package_dir = |dir: &include_dir::Dir<'_>| {
            let mut map = SourceMap::new();
            for file in dir.files().filter(is_wit) {
                let text = file
                    .contents_utf8()
                    .ok_or_else(|| anyhow::anyhow!("{} is not UTF-8", file.path().display()))?;
                map.push(file.path(), text);
            }
            map.parse()
                .map_err(|(map, error)| anyhow::anyhow!("{}", error.render(&map)))
        };
        let deps = deps_dir
            .files()
            .filter(is_wit)
            .map(parse)
            .chain(deps_dir.dirs().map(package_dir))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut resolve = Resolve::default();
        let package = resolve.push_groups(parse(main)?, deps)?;
        // Every interface either world imports (the host links them all for both).
        let mut versions: BTreeMap<String, Vec<(semver::Version, BTreeSet<String>)>> =
            BTreeMap::new();
        for world in ["http-app", "http-service"] {
            let world = resolve.select_world(&[package], Some(world))?;
            for (name, functions) in interfaces(&resolve, world, Direction::Imports) {
                let Some((unversioned, version)) = name.split_once('@') else {
                    continue;
                };
                let Ok(version) = semver::Version::parse(version) else {
                    continue;
                };
                let known = versions.entry(unversioned.to_string()).or_default();
                if !known.iter().any(|(v, _)| *v == version) {
                    known.push((version, functions));
                }
            }
        }
        let http_world = |major_minor: (u64, u64), world: &str| {
            let http = resolve
                .packages
                .iter()
                .find(|(_, p)| {
                    p.name.namespace == "wasi"
                        && p.name.name == "http"
                        && p.name
                            .version
                            .as_ref()
                            .is_some_and(|v| (v.major, v.minor) == major_minor)
                })
                .map(|(id, _)| id)
                .ok_or_else(|| anyhow::anyhow!("wasi:http {major_minor:?} is missing"))?;
            let world = resolve.select_world(&[http], Some(world))?;
            anyhow::Ok(import_tracks(&resolve, world))
        };
        Ok(HostWorld {
            interfaces: versions,
            proxy: http_world((0, 2), "proxy")?,
            service: http_world((0, 3), "service")?,
        })
    }

    /// `wasi:http/types@0.2.12` → (`wasi:http/types`, 0, 2): the name and semver track
    /// (major, and minor while major is 0) that decide compatibility.
    fn track_of(name: &str) -> Option<Track> {
        let (unversioned, version) = name.split_once('@')?;
        let version = semver::Version::parse(version).ok()?;
        let minor = if version.major == 0 { version.minor } else { 0 };
        Some((unversioned.to_string(), version.major, minor))
    }

    /// Whether the host can satisfy an import of interface `name` using `functions`.
    fn provides(&self, name: &str, functions: &BTreeSet<String>) -> Result<(), Unprovided> {
        let (unversioned, version) = name.split_once('@').unwrap_or((name, ""));
        let Some(versions) = self.interfaces.get(unversioned) else {
            return Err(Unprovided::Interface);
        };
        // The version asked for if the host has it, else the newest of its track (0.2.x
        // for 0.2.3), else the newest: pre-release versions (wasi:config's draft and rc,
        // the wasi:keyvalue drafts) link by exact version only, as Wasmtime's linker
        // matches them.
        let wanted = semver::Version::parse(version).ok();
        let track = |v: &semver::Version| (v.major, if v.major == 0 { v.minor } else { 0 });
        let newest = |a: &&(semver::Version, _), b: &&(semver::Version, _)| a.0.cmp(&b.0);
        let (host_version, host_functions) = versions
            .iter()
            .find(|(host_version, _)| Some(host_version) == wanted.as_ref())
            .or_else(|| {
                let wanted = wanted.as_ref()?;
                versions
                    .iter()
                    .filter(|(host_version, _)| track(host_version) == track(wanted))
                    .max_by(newest)
            })
            .or_else(|| versions.iter().max_by(newest))
            .ok_or(Unprovided::Interface)?;
        let host_name = format!("{unversioned}@{host_version}");
        let pre_release =
            wanted.as_ref().is_some_and(|v| !v.pre.is_empty()) || !host_version.pre.is_empty();
        if pre_release && host_version.to_string() != version {
            return Err(Unprovided::Other(format!(
                "imports `{name}`, but wasmctl up provides `{host_name}`; a pre-release version links by its exact version"
            )));
        }
        if Self::track_of(name) != Self::track_of(&host_name) {
            return Err(Unprovided::Other(format!(
                "imports `{name}`, but wasmctl up provides `{host_name}`, which is not compatible; build against WASI 0.2 or 0.3 (the wasi crates `wasip2` or `wasip3`, target wasm32-wasip2)"
            )));
        }
        let missing: Vec<&str> = functions
            .iter()
            .filter(|f| !host_functions.contains(*f))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(Unprovided::Other(format!(
                "imports `{}` from `{name}`, which `{host_name}` in wasmctl up does not have; update the guest's WASI bindings",
                missing.join("`, `")
            )));
        }
        Ok(())
    }
}

/// The semver tracks of the interfaces a world imports.
fn import_tracks(resolve: &Resolve, world: WorldId) -> BTreeSet<Track> {
    interfaces(resolve, world, Direction::Imports)
        .keys()
        .filter_map(|name| HostWorld::track_of(name))
        .collect()
}

/// Why the host cannot satisfy an import.
enum Unprovided {
    /// The host world has no interface of that name.
    Interface,
    /// Anything else, said in full.
    Other(String),
}

/// Why the host world lacks an interface, and what to do about an import of it.
fn missing_interface_advice(name: &str) -> &'static str {
    if name.starts_with("wasi:") {
        "it is not part of the worlds wasmctl serves (wasi:http/proxy or wasi:http/service, plus wasi:cli, wasi:filesystem, wasi:config and wasi:keyvalue); remove the code or dependency behind the import"
    } else if name.starts_with("spin:") {
        // spin-sdk 7's interfaces (`spin:sqlite@3.1.0`, `spin:mqtt@3.0.0`, ...).
        "of Spin 4's interfaces (spin-sdk 7) wasmctl serves `spin:key-value/key-value@3.0.0` and `spin:variables/variables@3.0.0` only, to components exporting wasi:http/handler@0.3.0; serve the app with Spin 4, or remove the code that uses this one"
    } else if name.starts_with("fermyon:spin/") {
        "of Spin's own interfaces wasmctl serves `fermyon:spin/key-value@2.0.0` and `fermyon:spin/variables@2.0.0` only; serve the app with Spin, or remove the code that uses this one"
    } else {
        "wasmctl up provides WASI and, for spin-sdk components, Spin's key-value and variables only; remove the code or dependency behind the import"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unserved_import_gets_advice_for_where_it_comes_from() {
        // What a spin-sdk 7.0.0 component using SQLite imports.
        let spin_sdk_7 = missing_interface_advice("spin:sqlite/sqlite@3.1.0");
        assert!(
            spin_sdk_7.contains("serve the app with Spin 4"),
            "{spin_sdk_7}"
        );
        let spin_sdk_5 = missing_interface_advice("fermyon:spin/sqlite@2.0.0");
        assert!(
            spin_sdk_5.contains("serve the app with Spin"),
            "{spin_sdk_5}"
        );
        let wasi = missing_interface_advice("wasi:blobstore/blobstore@0.2.0-draft");
        assert!(
            wasi.contains("not part of the worlds wasmctl serves"),
            "{wasi}"
        );
    }

    #[test]
    fn embedded_host_world_parses() {
        let world = HostWorld::parse().unwrap();
        for name in [
            "wasi:http/types",
            "wasi:http/outgoing-handler",
            "wasi:cli/environment",
            "wasi:filesystem/preopens",
            // Linked with every use denied (CPython imports them).
            "wasi:sockets/tcp-create-socket",
            "wasi:sockets/ip-name-lookup",
        ] {
            assert!(world.interfaces.contains_key(name), "{name} missing");
        }
        // Both versions of wasi:config and both drafts of wasi:keyvalue, each linked by its
        // exact version; a pre-release the host lacks is refused.
        let functions = |name: &str| {
            let (unversioned, version) = name.split_once('@').unwrap();
            world.interfaces[unversioned]
                .iter()
                .find(|(v, _)| v.to_string() == version)
                .map(|(_, f)| f.clone())
                .unwrap()
        };
        for name in [
            "wasi:config/store@0.2.0-draft-2024-09-27",
            "wasi:config/store@0.2.0-rc.1",
            "wasi:keyvalue/store@0.2.0-draft2",
            "wasi:keyvalue/atomics@0.2.0-draft2",
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:keyvalue/batch@0.2.0-draft",
        ] {
            assert!(world.provides(name, &functions(name)).is_ok(), "{name}");
        }
        for name in [
            "wasi:keyvalue/store@0.2.0-draft3",
            "wasi:config/store@0.2.0-rc.2",
        ] {
            assert!(world.provides(name, &BTreeSet::new()).is_err(), "{name}");
        }
        let track = |name: &str| HostWorld::track_of(name).unwrap();
        assert!(world.proxy.contains(&track("wasi:http/types@0.2.1")));
        assert!(!world.proxy.contains(&track("wasi:cli/environment@0.2.1")));
        assert!(!world.proxy.contains(&track("wasi:http/types@0.3.0")));
        assert!(world.service.contains(&track("wasi:http/types@0.3.0")));
        assert!(world.service.contains(&track("wasi:cli/stdout@0.3.0")));
        assert!(!world.service.contains(&track("wasi:cli/stdout@0.2.12")));
        // Both WASI versions, each by its own track.
        for name in [
            "wasi:http/types@0.2.3",
            "wasi:http/types@0.3.0",
            "wasi:cli/stdout@0.2.0",
            "wasi:cli/stdout@0.3.0",
            "wasi:sockets/types@0.3.0",
        ] {
            assert!(world.provides(name, &BTreeSet::new()).is_ok(), "{name}");
        }
        assert!(
            world
                .provides("wasi:http/types@0.4.0", &BTreeSet::new())
                .is_err()
        );
    }

    #[test]
    fn kind_of_headers() {
        let path = Path::new("x.wasm");
        assert_eq!(
            kind(path, b"\0asm\x01\0\0\0").unwrap(),
            WasmKind::CoreModule
        );
        assert_eq!(
            kind(path, b"\0asm\x0d\0\x01\0").unwrap(),
            WasmKind::Component
        );
        assert!(
            kind(path, b"hello world")
                .unwrap_err()
                .to_string()
                .contains("`\\0asm` magic")
        );
        assert!(
            kind(path, b"\0as")
                .unwrap_err()
                .to_string()
                .contains("only 3 bytes")
        );
    }

    #[test]
    fn semver_tracks() {
        assert_eq!(
            HostWorld::track_of("wasi:http/types@0.2.3"),
            Some(("wasi:http/types".into(), 0, 2))
        );
        assert_eq!(
            HostWorld::track_of("wasi:http/types@1.4.0"),
            Some(("wasi:http/types".into(), 1, 0))
        );
        assert_eq!(HostWorld::track_of("wasi:http/types"), None);
        let world = HostWorld::get();
        assert!(
            world
                .provides("wasi:http/types@0.2.0", &BTreeSet::new())
                .is_ok()
        );
        let said = |unprovided: Unprovided| match unprovided {
            Unprovided::Other(finding) => finding,
            Unprovided::Interface => panic!("expected a finding, got a missing interface"),
        };
        let newer = said(
            world
                .provides("wasi:http/types@0.4.0", &BTreeSet::new())
                .unwrap_err(),
        );
        assert!(newer.contains("not compatible"), "{newer}");
        assert!(
            world
                .provides("wasi:sockets/tcp@0.2.3", &BTreeSet::new())
                .is_ok()
        );
        assert!(matches!(
            world.provides("wasi:blobstore/container@0.2.0", &BTreeSet::new()),
            Err(Unprovided::Interface)
        ));
        let function = said(
            world
                .provides(
                    "wasi:cli/environment@0.2.12",
                    &BTreeSet::from(["get-everything".to_string()]),
                )
                .unwrap_err(),
        );
        assert!(function.contains("`get-everything`"), "{function}");
    }
}
