//! Spin's manifest, `spin.toml` (`spin_manifest_version = 2`), read as it is.
//!
//! Its keys are mapped onto the raw shape of `wasmctl.toml` with their spans kept, so one
//! validation applies to both and every problem points into the user's own file. What
//! wasmctl does not run (other triggers, remote sources, SQLite databases, AI models,
//! component dependencies, inline components) is an error at its key, never skipped.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::raw::{
    RawApplication, RawBuild, RawComponent, RawFile, RawFileMount, RawHttpTrigger, RawManifest,
    RawTriggers, RawVariable, S, http_routes,
};
use super::{FileSelection, MANIFEST_VERSION};
use crate::diagnostic::Diagnostic;
use crate::hint::Hint;

/// The file name Spin gives its manifest, looked for where there is no `wasmctl.toml`.
pub const SPIN_MANIFEST_FILE: &str = "spin.toml";

/// The Spin manifest version wasmctl reads (Spin 2.0 and later write it).
const SPIN_MANIFEST_VERSION: i64 = 2;

/// Whether `text` is a Spin manifest: its top level has `spin_manifest_version` (Spin 2
/// and later) or `spin_version` (Spin 1). Text that does not parse is not.
pub(super) fn is_spin(text: &str) -> bool {
    DeTable::parse(text).is_ok_and(|document| {
        document.get_ref().keys().any(|key| {
            matches!(
                key.get_ref().as_ref(),
                "spin_manifest_version" | "spin_version"
            )
        })
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpinManifest {
    spin_manifest_version: S<toml::Value>,
    application: S<RawSpinApplication>,
    #[serde(default)]
    variables: BTreeMap<S<String>, S<RawVariable>>,
    trigger: Option<S<RawSpinTriggers>>,
    #[serde(default)]
    component: BTreeMap<S<String>, S<RawSpinComponent>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpinApplication {
    name: S<String>,
    version: Option<S<String>>,
    description: Option<S<String>>,
    #[serde(default)]
    authors: Vec<S<String>>,
    trigger: Option<S<RawSpinGlobalTriggers>>,
    /// Settings of other tools (`[application.tool.NAME]`): not wasmctl's to read.
    #[serde(default, rename = "tool")]
    _tool: Option<toml::Value>,
    /// The environments `spin deploy` checks the app against: not a runtime setting.
    #[serde(default, rename = "targets")]
    _targets: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpinGlobalTriggers {
    http: Option<S<RawSpinHttpGlobal>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpinHttpGlobal {
    base: Option<S<String>>,
}

/// `[trigger]`: the HTTP routes; every other trigger type is reported from the document
/// itself ([`other_triggers`]), with the span of its name.
#[derive(Debug, Deserialize)]
struct RawSpinTriggers {
    #[serde(default, deserialize_with = "http_routes")]
    http: Vec<S<RawSpinHttpTrigger>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpinHttpTrigger {
    /// A name for the trigger, used by Spin's tooling only.
    #[serde(rename = "id")]
    _id: Option<toml::Value>,
    route: S<RawSpinRoute>,
    component: S<TextOrTable>,
    executor: Option<S<RawSpinExecutor>>,
    components: Option<S<toml::Value>>,
    static_response: Option<S<toml::Value>>,
}

/// `route = "/path"` or `route = { private = true }` (reachable by no HTTP request).
#[derive(Debug)]
enum RawSpinRoute {
    Path(String),
    Private,
}

impl<'de> Deserialize<'de> for RawSpinRoute {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Private {
            private: bool,
        }
        struct Route;
        impl<'de> serde::de::Visitor<'de> for Route {
            type Value = RawSpinRoute;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a route such as \"/...\", or `{ private = true }`")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RawSpinRoute, E> {
                Ok(RawSpinRoute::Path(text.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawSpinRoute, A::Error> {
                let private =
                    Private::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                if private.private {
                    Ok(RawSpinRoute::Private)
                } else {
                    Err(serde::de::Error::custom(
                        "`private = false` routes nothing; write the route, e.g. `route = \"/...\"`",
                    ))
                }
            }
        }
        deserializer.deserialize_any(Route)
    }
}

/// A value Spin writes either as a string or as a table: `component = "id"` or an inline
/// component table; `source = "path.wasm"` or a component to download (`{ url, digest }`,
/// `{ registry, package, version }`). wasmctl reads the string form only.
#[derive(Debug)]
enum TextOrTable {
    Text(String),
    Table,
}

impl<'de> Deserialize<'de> for TextOrTable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = TextOrTable;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a table")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<TextOrTable, E> {
                Ok(TextOrTable::Text(text.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<TextOrTable, A::Error> {
                serde::de::IgnoredAny::deserialize(serde::de::value::MapAccessDeserializer::new(
                    map,
                ))?;
                Ok(TextOrTable::Table)
            }
        }
        deserializer.deserialize_any(Either)
    }
}

/// `executor = { type = "http" }` (the default, also written `"spin"`) or
/// `{ type = "wagi", ... }`.
#[derive(Debug, Deserialize)]
struct RawSpinExecutor {
    #[serde(rename = "type")]
    kind: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpinComponent {
    source: S<TextOrTable>,
    description: Option<S<String>>,
    #[serde(default)]
    variables: BTreeMap<S<String>, S<String>>,
    #[serde(default)]
    environment: BTreeMap<S<String>, S<String>>,
    #[serde(default)]
    files: Vec<S<RawFile>>,
    #[serde(default)]
    exclude_files: Vec<S<String>>,
    #[serde(default)]
    allowed_http_hosts: Vec<S<String>>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<S<String>>,
    #[serde(default)]
    key_value_stores: Vec<S<String>>,
    #[serde(default)]
    sqlite_databases: Vec<S<String>>,
    #[serde(default)]
    ai_models: Vec<S<String>>,
    build: Option<S<RawSpinBuild>>,
    /// Settings of other tools (`[component.ID.tool.NAME]`): not wasmctl's to read.
    #[serde(default, rename = "tool")]
    _tool: Option<toml::Value>,
    /// Only meaningful with `dependencies`, refused below.
    #[serde(default, rename = "dependencies_inherit_configuration")]
    _dependencies_inherit_configuration: Option<bool>,
    dependencies: Option<S<toml::Table>>,
    /// The environments `spin deploy` checks the component against: not a runtime setting.
    #[serde(default, rename = "targets")]
    _targets: Option<toml::Value>,
    /// Overrides `spin build --profile NAME` / `spin up --profile NAME` select; without
    /// one, Spin runs the component as its table writes it, and so does wasmctl.
    #[serde(default, rename = "profile")]
    _profile: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpinBuild {
    command: S<RawSpinCommand>,
    workdir: Option<S<String>>,
    watch: Option<Vec<S<String>>>,
}

/// `command = "..."` or a list of commands, run one after the other.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSpinCommand {
    One(String),
    Many(Vec<String>),
}

/// Reads Spin manifest text into the raw shape of `wasmctl.toml`, adding a diagnostic
/// for each problem to `items`; `None` when the text could not be read that far.
pub(super) fn read(text: &str, items: &mut Vec<Diagnostic>) -> Option<RawManifest> {
    // The version and the trigger types are read from the document itself (one parse for
    // both); a syntax error is for deserializing to report.
    if let Ok(document) = DeTable::parse(text) {
        if let Some(diagnostic) = version_problem(document.get_ref()) {
            items.push(diagnostic);
            return None;
        }
        items.extend(other_triggers(document.get_ref()));
    }
    let recovered = super::recover::deserialize::<RawSpinManifest>(text);
    items.extend(
        recovered
            .errors
            .iter()
            .map(|error| super::validate::from_toml_error(error, text, SPIN_MANIFEST_FILE)),
    );
    let spin = recovered.value?;
    Some(Mapper { items }.manifest(spin))
}

/// A version other than 2, where it is written; `None` for version 2 (or when the key is
/// missing, which deserializing reports).
fn version_problem(document: &DeTable<'_>) -> Option<Diagnostic> {
    let (key, value) = document.iter().find(|(key, _)| {
        matches!(
            key.get_ref().as_ref(),
            "spin_manifest_version" | "spin_version"
        )
    })?;
    let two = match value.get_ref() {
        DeValue::Integer(integer) => integer.as_str() == SPIN_MANIFEST_VERSION.to_string(),
        _ => false,
    };
    if two && key.get_ref() == "spin_manifest_version" {
        return None;
    }
    let version_one = match value.get_ref() {
        DeValue::String(text) => text == "1",
        DeValue::Integer(integer) => integer.as_str() == "1",
        _ => false,
    };
    let message = if version_one {
        "this is a Spin manifest of version 1 (Spin 1.x); wasmctl reads version 2".to_string()
    } else {
        format!(
            "unsupported `{}`; wasmctl reads Spin manifests of version {SPIN_MANIFEST_VERSION}",
            key.get_ref()
        )
    };
    Some(
        Diagnostic::new(message, Some(key.span().start..value.span().end)).help(
            "rewrite it in the version 2 format that Spin 2.0 and later write (`spin_manifest_version = 2`, `[[trigger.http]]` routes naming `[component.ID]` tables)",
        ),
    )
}

/// Each `[[trigger.TYPE]]` other than HTTP, at its name: wasmctl serves HTTP only.
fn other_triggers(document: &DeTable<'_>) -> Vec<Diagnostic> {
    let Some(DeValue::Table(triggers)) = document
        .iter()
        .find(|(key, _)| key.get_ref() == "trigger")
        .map(|(_, value)| value.get_ref())
    else {
        return Vec::new();
    };
    triggers
        .keys()
        .filter(|kind| kind.get_ref() != "http")
        .map(|kind| {
            Diagnostic::new(
                format!(
                    "wasmctl serves HTTP triggers only; `trigger.{}` is not served",
                    kind.get_ref()
                ),
                Some(kind.span()),
            )
            .help(
                "serve this app's other triggers with Spin, or move the component behind an `[[trigger.http]]` route",
            )
        })
        .collect()
}

/// A Spin route in wasmctl's syntax: Spin adds a missing leading `/`, drops one trailing
/// `/`, and reads `/prefix/*` as `/prefix/...`. A `:name` segment (Spin 2.5 and later) is
/// refused: wasmctl matches no parameters.
fn spin_route(path: &str) -> Result<String, String> {
    if let Some(segment) = path.split('/').find(|segment| segment.starts_with(':')) {
        return Err(format!(
            "route `{path}` captures `{segment}`; wasmctl does not match route parameters"
        ));
    }
    let mut route = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    if let Some(prefix) = route.strip_suffix("/*") {
        route = format!("{prefix}/...");
    }
    if route.len() > 1 && route.ends_with('/') {
        route.pop();
    }
    Ok(route)
}

struct Mapper<'a> {
    items: &'a mut Vec<Diagnostic>,
}

impl Mapper<'_> {
    fn refuse(&mut self, span: Range<usize>, message: String, help: &str) {
        self.items
            .push(Diagnostic::new(message, Some(span)).help(Hint::new(help)));
    }

    fn manifest(&mut self, spin: RawSpinManifest) -> RawManifest {
        let version_span = spin.spin_manifest_version.span();
        let application_span = spin.application.span();
        let application = spin.application.into_inner();
        self.base(application.trigger);
        let ids: Vec<String> = spin
            .component
            .keys()
            .map(|id| id.get_ref().clone())
            .collect();
        let trigger = spin.trigger.map(|trigger| {
            let span = trigger.span();
            let http = trigger
                .into_inner()
                .http
                .into_iter()
                .filter_map(|route| self.route(route, &ids))
                .collect();
            S::new(span, RawTriggers { http })
        });
        let component = spin
            .component
            .into_iter()
            .filter_map(|(id, component)| {
                let span = component.span();
                let component = self.component(&id, component.into_inner())?;
                Some((id, S::new(span, component)))
            })
            .collect();
        RawManifest {
            manifest_version: S::new(version_span, MANIFEST_VERSION),
            application: S::new(
                application_span,
                RawApplication {
                    name: application.name,
                    version: application.version,
                    description: application.description,
                    authors: application.authors,
                },
            ),
            variables: spin.variables,
            trigger,
            component,
            deploy: None,
        }
    }

    /// `[application.trigger.http] base`: Spin 3 and later accept only `/` (the default),
    /// and so does wasmctl.
    fn base(&mut self, triggers: Option<S<RawSpinGlobalTriggers>>) {
        let Some(base) = triggers
            .and_then(|triggers| triggers.into_inner().http)
            .and_then(|http| http.into_inner().base)
        else {
            return;
        };
        if base.get_ref() != "/" {
            self.refuse(
                base.span(),
                format!(
                    "`base = \"{}\"` is not served: only `/` is, as in Spin 3 and later",
                    base.get_ref()
                ),
                "prepend the base to each `[[trigger.http]]` route and remove `base`",
            );
        }
    }

    /// One `[[trigger.http]]`; `ids` are the app's components.
    fn route(
        &mut self,
        trigger: S<RawSpinHttpTrigger>,
        ids: &[String],
    ) -> Option<S<RawHttpTrigger>> {
        let span = trigger.span();
        let trigger = trigger.into_inner();
        let mut refused = false;
        if let Some(executor) = &trigger.executor
            && !matches!(executor.get_ref().kind.get_ref().as_str(), "http" | "spin")
        {
            let kind = &executor.get_ref().kind;
            self.refuse(
                kind.span(),
                format!("the `{}` executor is not served by wasmctl", kind.get_ref()),
                "wasmctl serves wasi:http components (Spin's default executor, `http`); rebuild the module as a wasi:http component, or serve it with Spin",
            );
            refused = true;
        }
        if let Some(components) = &trigger.components {
            self.refuse(
                components.span(),
                "`components` (middleware chains) is not served by wasmctl".to_string(),
                "route the trigger to one `component`",
            );
            refused = true;
        }
        if let Some(response) = &trigger.static_response {
            self.refuse(
                response.span(),
                "`static_response` is not served by wasmctl".to_string(),
                "answer the route with a component",
            );
            refused = true;
        }
        let component_span = trigger.component.span();
        let component = match trigger.component.into_inner() {
            TextOrTable::Text(id) => id,
            TextOrTable::Table => {
                self.refuse(
                    component_span,
                    "an inline component table is not read by wasmctl".to_string(),
                    "move it into a `[component.ID]` table of its own and write `component = \"ID\"`",
                );
                return None;
            }
        };
        let route_span = trigger.route.span();
        let route = match trigger.route.into_inner() {
            RawSpinRoute::Path(path) => match spin_route(&path) {
                Ok(route) => route,
                Err(message) => {
                    self.refuse(
                        route_span,
                        message,
                        "write the route as an exact path (`/users`) or a prefix (`/users/...`), and read the rest of the path from the request",
                    );
                    return None;
                }
            },
            // Reachable by no request from outside; Spin's self-requests to it are not
            // served. (A public route's component is checked with the rest of the app.)
            RawSpinRoute::Private => {
                if !ids.contains(&component) {
                    self.refuse(
                        component_span,
                        format!("route refers to component `{component}`, which is not defined"),
                        "define it in a `[component.ID]` table, or fix the id",
                    );
                }
                return None;
            }
        };
        if refused {
            return None;
        }
        Some(S::new(
            span,
            RawHttpTrigger {
                route: S::new(route_span, route),
                component: S::new(component_span, component),
            },
        ))
    }

    fn component(&mut self, id: &S<String>, spin: RawSpinComponent) -> Option<RawComponent> {
        let before = self.items.len();
        let source_span = spin.source.span();
        let source = match spin.source.into_inner() {
            TextOrTable::Text(path) => Some(S::new(source_span, path)),
            TextOrTable::Table => {
                self.refuse(
                    source_span,
                    format!("component `{}` is downloaded from elsewhere; wasmctl runs local files only", id.get_ref()),
                    "download the .wasm file into the app and write its path, e.g. `source = \"deps/component.wasm\"`",
                );
                None
            }
        };
        for (key, values) in [
            ("sqlite_databases", &spin.sqlite_databases),
            ("ai_models", &spin.ai_models),
        ] {
            if let Some(first) = values.first() {
                self.refuse(
                    first.span(),
                    format!(
                        "`{key}` of component `{}` is not served by wasmctl",
                        id.get_ref()
                    ),
                    "serve the app with Spin, or remove the key and what uses it",
                );
            }
        }
        if let Some(dependencies) = &spin.dependencies
            && !dependencies.get_ref().is_empty()
        {
            self.refuse(
                dependencies.span(),
                format!("component dependencies of `{}` are not composed by wasmctl", id.get_ref()),
                "compose the component with its dependencies first (`wac plug`), and point `source` at the result",
            );
        }
        if let Some(host) = spin.allowed_http_hosts.first() {
            self.refuse(
                host.span(),
                "`allowed_http_hosts` is Spin 1's key".to_string(),
                "write the hosts in `allowed_outbound_hosts` with their scheme, e.g. `allowed_outbound_hosts = [\"https://example.com\"]`",
            );
        }
        let exclude = self.exclude_patterns(spin.exclude_files);
        let files = self.files(spin.files, &exclude);
        let build = spin.build.map(|build| {
            let span = build.span();
            let build = build.into_inner();
            let command_span = build.command.span();
            let command = match build.command.into_inner() {
                RawSpinCommand::One(command) => command,
                // One per line, under `set -e`: each stops the build if it fails, and a
                // comment at the end of one cannot swallow the next. An empty entry is
                // refused by the check of an empty command.
                RawSpinCommand::Many(commands) if commands.iter().any(|c| c.trim().is_empty()) => {
                    String::new()
                }
                RawSpinCommand::Many(commands) => format!("set -e\n{}", commands.join("\n")),
            };
            S::new(
                span,
                RawBuild {
                    cargo: None,
                    command: Some(S::new(command_span, command)),
                    workdir: build.workdir,
                    watch: build.watch,
                    requires: Vec::new(),
                    dependencies: None,
                },
            )
        });
        if self.items.len() > before {
            return None;
        }
        Some(RawComponent {
            source: source?,
            description: spin.description,
            environment: spin.environment,
            files,
            allowed_outbound_hosts: spin.allowed_outbound_hosts,
            variables: spin.variables,
            key_value_stores: spin.key_value_stores,
            limits: None,
            build,
        })
    }

    /// `exclude_files`, each checked as a glob.
    fn exclude_patterns(&mut self, patterns: Vec<S<String>>) -> Vec<glob::Pattern> {
        let mut compiled = Vec::new();
        for pattern in patterns {
            match glob::Pattern::new(pattern.get_ref()) {
                Ok(glob) => compiled.push(glob),
                Err(error) => self.refuse(
                    pattern.span(),
                    format!(
                        "`exclude_files` entry `{}` is not a valid glob: {} at character {}",
                        pattern.get_ref(),
                        error.msg,
                        error.pos + 1
                    ),
                    "write e.g. `\"static/drafts/**\"`, relative to the app directory, with `[[]` for a literal `[`",
                ),
            }
        }
        compiled
    }

    /// A component's `files` as mounts. A `{ source, destination }` mapping stays as it
    /// is; a pattern mounts the directory before its first wildcard where Spin puts its
    /// files (`static/*.txt`: `static` at `/static`), selecting what the rest matches. A
    /// whole directory (`static/**/*`, or a mapping) is served live unless `exclude_files`
    /// takes something out of it.
    ///
    /// Patterns share mounts, so that no mount hides part of another (the guest sees the
    /// deepest mount at a path): those of one directory share its mount, and one below a
    /// directory whose patterns reach into subdirectories joins that directory's mount
    /// (`static/**/*.css` with `static/img/*.png`: one mount of `static`).
    fn files(&mut self, entries: Vec<S<RawFile>>, exclude: &[glob::Pattern]) -> Vec<S<RawFile>> {
        let mut mappings: Vec<S<RawFile>> = Vec::new();
        let mut patterns: Vec<(Range<usize>, RawFileMount)> = Vec::new();
        for entry in entries {
            let span = entry.span();
            match entry.into_inner() {
                RawFile::Mount(mut mount) => {
                    if !exclude.is_empty() {
                        mount.selection = Some(FileSelection {
                            include: vec![glob::Pattern::new("**/*").expect("a valid glob")],
                            exclude: exclude.to_vec(),
                        });
                    }
                    mappings.push(S::new(span, RawFile::Mount(mount)));
                }
                RawFile::Pattern(pattern) => {
                    if let Some(mount) = self.pattern_mount(span.clone(), &pattern, exclude) {
                        match patterns
                            .iter_mut()
                            .find(|(_, kept)| kept.source.get_ref() == mount.source.get_ref())
                        {
                            Some((_, kept)) => join_selections(kept, mount.selection, ""),
                            None => patterns.push((span, mount)),
                        }
                    }
                }
            }
        }
        // Shallowest first, so each directory meets the mounts above it already kept.
        patterns.sort_by_key(|(_, mount)| depth_of(mount.source.get_ref()));
        let mut kept: Vec<(Range<usize>, RawFileMount)> = Vec::new();
        for (span, mount) in patterns {
            let below = kept.iter_mut().find_map(|(_, above)| {
                let reaches_below = above
                    .selection
                    .as_ref()
                    .is_none_or(|selection| selection.depth() != Some(0));
                let under = relative_below(above.source.get_ref(), mount.source.get_ref())?;
                reaches_below.then_some((above, under))
            });
            match below {
                Some((above, under)) => join_selections(above, mount.selection, &under),
                None => kept.push((span, mount)),
            }
        }
        let mut mounts: Vec<S<RawFile>> = kept
            .into_iter()
            .map(|(span, mount)| S::new(span, RawFile::Mount(mount)))
            .chain(mappings)
            .collect();
        // In the manifest's order, as `doctor` and `deploy` show them.
        mounts.sort_by_key(|mount| mount.span().start);
        mounts
    }

    /// The mount of one pattern entry: `static/*.txt` mounts `static` at `/static`,
    /// selecting `*.txt`; `index.html` mounts the app directory at `/`, selecting it.
    fn pattern_mount(
        &mut self,
        span: Range<usize>,
        pattern: &str,
        exclude: &[glob::Pattern],
    ) -> Option<RawFileMount> {
        let parts: Vec<&str> = pattern
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .collect();
        if pattern.starts_with('/') || parts.contains(&"..") || parts.is_empty() {
            self.refuse(
                span,
                format!("`files` entry `{pattern}` does not name files inside the app directory"),
                "write a path or glob relative to the directory of spin.toml, e.g. `\"static/**/*\"`",
            );
            return None;
        }
        // Spin's own test of a glob: escaping changes it.
        let is_glob = |part: &&str| glob::Pattern::escape(part) != *part;
        let literal = match parts.iter().position(is_glob) {
            Some(first_glob) => first_glob,
            // A path: the file itself, in its directory.
            None => parts.len() - 1,
        };
        let (directory, rest) = (parts[..literal].join("/"), parts[literal..].join("/"));
        let include = match glob::Pattern::new(&rest) {
            Ok(include) => include,
            Err(error) => {
                self.refuse(
                    span,
                    format!(
                        "`files` entry `{pattern}` is not a valid glob: {} in `{rest}` at character {}",
                        error.msg,
                        error.pos + 1
                    ),
                    "write e.g. `\"static/**/*\"`, with `[[]` for a literal `[`",
                );
                return None;
            }
        };
        let whole = matches!(rest.as_str(), "**/*" | "**");
        if whole && directory.is_empty() {
            self.refuse(
                span,
                format!("`files` entry `{pattern}` grants the whole app: its `target/`, its `.env`, and wasmctl's own `.wasmctl/` (every component's key-value data and logs), as they change"),
                "grant what the component reads, e.g. `\"static/**/*\"` or `\"*.html\"`",
            );
            return None;
        }
        let selection = (!whole || !exclude.is_empty()).then(|| FileSelection {
            include: vec![include],
            exclude: exclude.to_vec(),
        });
        Some(RawFileMount {
            source: S::new(
                span.clone(),
                if directory.is_empty() {
                    ".".to_string()
                } else {
                    directory.clone()
                },
            ),
            destination: S::new(span, format!("/{directory}")),
            selection,
        })
    }
}

/// Adds what `selection` (of the directory `under`, below `mount`'s) selects to
/// `mount`'s selection: a whole directory makes the mount whole.
fn join_selections(mount: &mut RawFileMount, selection: Option<FileSelection>, under: &str) {
    let (Some(shared), Some(selection)) = (&mut mount.selection, selection) else {
        if under.is_empty() {
            // The whole directory: nothing is left to select.
            mount.selection = None;
        } else if let Some(shared) = &mut mount.selection {
            // A whole subdirectory: everything below it.
            shared.include.push(prefixed(under, "**/*"));
        }
        return;
    };
    shared.include.extend(
        selection
            .include
            .iter()
            .map(|pattern| prefixed(under, pattern.as_str())),
    );
}

/// `pattern`, below the literal directory `under` (`""`: as it is).
fn prefixed(under: &str, pattern: &str) -> glob::Pattern {
    let text = if under.is_empty() {
        pattern.to_string()
    } else {
        format!("{}/{pattern}", glob::Pattern::escape(under))
    };
    glob::Pattern::new(&text).expect("an escaped directory before a valid glob")
}

/// How many directories deep `source` (a mount's directory, `.` for the app's) lies.
fn depth_of(source: &str) -> usize {
    if source == "." {
        0
    } else {
        source.split('/').count()
    }
}

/// `inner` relative to `outer`, both mount directories as patterns write them, when it
/// lies strictly below it.
fn relative_below(outer: &str, inner: &str) -> Option<String> {
    if outer == inner {
        return None;
    }
    if outer == "." {
        return Some(inner.to_string());
    }
    inner
        .strip_prefix(outer)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_string)
}
