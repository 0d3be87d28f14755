//! Raw manifest → validated [`App`], collecting every problem instead of stopping at the first.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Component as PathPart, Path, PathBuf};

use super::raw::{RawBuild, RawComponent, RawFile, RawManifest, RawVariable, S};
use super::toolchain::{Requirement, parse_dependencies, parse_requirement};
use super::variables::{Template, Variable, check_variable_name};
use super::{
    App, BuildKind, BuildSpec, Component, DEFAULT_CARGO_TARGET, DEFAULT_CARGO_WATCH, DEFAULT_STORE,
    FileMount, HttpRoute, Limits, MANIFEST_VERSION, MAX_INSTANCE_REUSE, ManifestFormat,
    MountEscape, OutboundHost, Route,
};
use crate::diagnostic::{self, Diagnostic, did_you_mean, line_column, suggestion};
use crate::hint::Hint;
use crate::names::{as_dns_label, check_name, dns_label_problem};
use toml::de::{DeTable, DeValue};

/// Cargo targets wasmctl knows how to turn into a component.
pub(super) const CARGO_TARGETS: [&str; 3] =
    ["wasm32-wasip2", "wasm32-wasip1", "wasm32-unknown-unknown"];

/// The smallest and largest memory caps that make sense for a 32-bit wasm instance.
const MIN_MEMORY: u64 = 1024 * 1024;
const MAX_MEMORY: u64 = 4 * 1024 * 1024 * 1024;

/// Turns a TOML or serde error in `file` (the manifest's kind: `wasmctl.toml` or Spin's
/// `spin.toml`) into a diagnostic; a missing key gets an example of it.
pub(super) fn from_toml_error(error: &toml::de::Error, source: &str, file: &str) -> Diagnostic {
    let mut diagnostic = diagnostic::from_toml_error(error, source, file);
    if let Some(key) = diagnostic
        .message
        .strip_prefix("missing key `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let example = match key {
            "manifest_version" => "add `manifest_version = 1` at the top of the file",
            "application" => "add the table:\n[application]\nname = \"my-app\"",
            "name" => "add `name = \"my-app\"`: a letter, then letters, digits, `-` or `_`",
            "source" => &format!(
                "add `source = \"...\"`: a path relative to the directory of {file}, e.g. `target/wasm32-wasip2/release/my_app.wasm`"
            ),
            "route" => "add `route = \"/...\"` (every path) or `route = \"/exact/path\"`",
            "component" => "add `component = \"<component id>\"`, naming a `[component.ID]` table",
            "destination" => "add `destination = \"/guest/path\"`: where the guest sees the files",
            _ => return diagnostic,
        };
        diagnostic.help = Some(Hint::new(example.to_string()));
    }
    diagnostic
}

/// Collects diagnostics while validating.
struct Findings<'a> {
    items: Vec<Diagnostic>,
    source: &'a str,
}

impl Findings<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.items.push(Diagnostic::new(message, Some(span)));
        self.items.last_mut().expect("just pushed")
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        line_column(self.source, span.start).0
    }

    /// Unwraps a check's result, recording its error at `span`.
    fn check<T>(&mut self, span: Range<usize>, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.error(span, message)).ok()
    }
}

/// What the file declares, read from its text before any problem was blanked out of it
/// (`recover`): a component or route table lost to blanking has its own error already, so
/// validation must not also report it as undefined or missing.
#[derive(Debug, Default)]
pub(super) struct Declared {
    /// Every `[component.ID]`.
    pub components: Vec<String>,
    /// Whether there is any `[[trigger.http]]`.
    pub routes: bool,
    /// Every `[variables]` name.
    pub variables: Vec<String>,
    /// The `[variables]` entries that write `default` or `required`: one without either
    /// after blanking lost it to an error of its own.
    pub valued_variables: Vec<String>,
}

impl Declared {
    /// Reads `text`; text that does not parse declares nothing.
    pub(super) fn read(text: &str) -> Self {
        let Ok(document) = DeTable::parse(text) else {
            return Self::default();
        };
        fn entry<'a, 'i>(table: &'a DeTable<'i>, name: &str) -> Option<&'a DeValue<'i>> {
            table
                .iter()
                .find(|(key, _)| key.get_ref() == name)
                .map(|(_, value)| value.get_ref())
        }
        let keys = |name: &str| -> Vec<String> {
            match entry(document.get_ref(), name) {
                Some(DeValue::Table(table)) => {
                    table.keys().map(|id| id.get_ref().to_string()).collect()
                }
                _ => Vec::new(),
            }
        };
        let components = keys("component");
        let variables = keys("variables");
        let valued_variables = match entry(document.get_ref(), "variables") {
            Some(DeValue::Table(table)) => table
                .iter()
                .filter(|(_, variable)| match variable.get_ref() {
                    DeValue::Table(keys) => ["default", "required"]
                        .iter()
                        .any(|key| entry(keys, key).is_some()),
                    _ => false,
                })
                .map(|(name, _)| name.get_ref().to_string())
                .collect(),
            _ => Vec::new(),
        };
        let routes = match entry(document.get_ref(), "trigger") {
            // A single `[trigger.http]` table is an error of its own, not "no routes".
            Some(DeValue::Table(trigger)) => match entry(trigger, "http") {
                Some(DeValue::Array(http)) => !http.is_empty(),
                Some(DeValue::Table(_)) => true,
                _ => false,
            },
            _ => false,
        };
        Self {
            components,
            routes,
            variables,
            valued_variables,
        }
    }
}

/// Where a manifest was read from, and in which format.
pub(super) struct Place {
    pub manifest_path: PathBuf,
    pub format: ManifestFormat,
    pub dir: PathBuf,
}

pub(super) fn validate(
    raw: RawManifest,
    source: &str,
    place: Place,
    declared: &Declared,
) -> Result<App, Vec<Diagnostic>> {
    let Place {
        manifest_path,
        format,
        dir,
    } = place;
    let mut findings = Findings {
        items: Vec::new(),
        source,
    };

    if *raw.manifest_version.get_ref() != MANIFEST_VERSION {
        findings
            .error(
                raw.manifest_version.span(),
                format!(
                    "unsupported manifest_version {}; this wasmctl reads version {MANIFEST_VERSION}",
                    raw.manifest_version.get_ref()
                ),
            )
            .help = Some(Hint::new(format!(
                "set `manifest_version = {MANIFEST_VERSION}`, or upgrade wasmctl"
            )));
    }

    let application = raw.application.into_inner();
    findings.check(
        application.name.span(),
        check_name("application name", application.name.get_ref()),
    );
    if let Some(version) = &application.version
        && version.get_ref().trim().is_empty()
    {
        findings.error(
            version.span(),
            "application version is empty; set it, e.g. `0.1.0`, or remove the key",
        );
    }

    let variables = validate_variables(&mut findings, declared, raw.variables);

    // Routes may name a component that is declared but invalid: that is one error, not two.
    let mut components = BTreeMap::new();
    for (id, component) in raw.component {
        let span = id.span();
        let id = id.into_inner();
        if let Some(component) = validate_component(
            &mut findings,
            &dir,
            declared,
            &id,
            span,
            component.into_inner(),
        ) {
            components.insert(id, component);
        }
    }

    let routes = validate_routes(&mut findings, raw.trigger.map(S::into_inner), declared);
    let deploy = raw
        .deploy
        .map(|d| validate_deploy(&mut findings, d.into_inner()))
        .unwrap_or_default();

    if findings.items.is_empty() {
        Ok(App {
            manifest_path,
            format,
            dir,
            name: application.name.into_inner(),
            version: application.version.map(S::into_inner),
            description: application.description.map(S::into_inner),
            authors: application.authors.into_iter().map(S::into_inner).collect(),
            variables,
            routes,
            components,
            deploy,
        })
    } else {
        Err(findings.items)
    }
}

fn validate_routes(
    findings: &mut Findings,
    triggers: Option<super::raw::RawTriggers>,
    declared: &Declared,
) -> Vec<HttpRoute> {
    let triggers = triggers.map(|t| t.http).unwrap_or_default();
    if triggers.is_empty() && !declared.routes {
        findings
            .items
            .push(Diagnostic::new("the app has no routes", None).help(
                "add one, e.g.\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"<component id>\"",
            ));
    }
    let mut seen: HashMap<Route, Range<usize>> = HashMap::new();
    let mut routes = Vec::new();
    for trigger in triggers {
        let trigger = trigger.into_inner();
        let route_span = trigger.route.span();
        let route = findings.check(route_span.clone(), parse_route(trigger.route.get_ref()));
        let component_span = trigger.component.span();
        let component = trigger.component.into_inner();
        if !declared.components.contains(&component) {
            let error = findings.error(
                component_span,
                format!("route refers to component `{component}`, which is not defined"),
            );
            let defined = declared.components.iter().map(String::as_str);
            error.help = Some(match did_you_mean(&component, defined.clone()) {
                Some(_) => diagnostic::suggestion(&component, defined, "defined components"),
                None => Hint::new(format!("define it in a `[component.{component}]` table")),
            });
        }
        let Some(route) = route else { continue };
        if let Some(first) = seen.get(&route) {
            let line = findings.line_of(first);
            findings
                .error(route_span, format!("route `{route}` is defined twice"))
                .help = Some(Hint::new(format!(
                "the first definition is on line {line}; remove one of them"
            )));
            continue;
        }
        seen.insert(route.clone(), route_span);
        routes.push(HttpRoute { route, component });
    }
    routes
}

/// `[variables]`: Spin's names, and each either `required = true` or with a `default`.
fn validate_variables(
    findings: &mut Findings,
    declared: &Declared,
    raw: BTreeMap<S<String>, S<RawVariable>>,
) -> BTreeMap<String, Variable> {
    let mut variables = BTreeMap::new();
    for (name, variable) in raw {
        let name_span = name.span();
        let name = name.into_inner();
        let named = findings
            .check(name_span.clone(), check_variable_name(&name))
            .is_some();
        let variable = variable.into_inner();
        let required = variable.required.as_ref().is_some_and(|r| *r.get_ref());
        let default = match (variable.default, required) {
            (Some(default), false) => Some(default.into_inner()),
            (None, true) => None,
            (Some(default), true) => {
                findings
                    .error(
                        default.span(),
                        format!("variable `{name}` is both required and has a default"),
                    )
                    .help = Some(Hint::new(
                    "remove `default` to insist on a value when the app is served, or `required = true` to fall back on the default",
                ));
                continue;
            }
            // Written, but blanked out for an error already reported.
            (None, false) if declared.valued_variables.contains(&name) => continue,
            (None, false) => {
                let span = variable.required.map_or(name_span, |r| r.span());
                findings
                    .error(
                        span,
                        format!("variable `{name}` has no default and is not required"),
                    )
                    .help = Some(Hint::new(
                    "add `default = \"...\"`, or `required = true` to insist on a value when the app is served",
                ));
                continue;
            }
        };
        if named {
            variables.insert(
                name,
                Variable {
                    default,
                    secret: variable.secret,
                    description: variable.description.map(S::into_inner),
                },
            );
        }
    }
    variables
}

/// `[component.ID.variables]`: Spin's names as keys, each value a template whose every
/// `{{ name }}` is an app variable.
fn validate_component_variables(
    findings: &mut Findings,
    declared: &Declared,
    raw: BTreeMap<S<String>, S<String>>,
) -> BTreeMap<String, Template> {
    let mut templates = BTreeMap::new();
    for (key, value) in raw {
        let key_ok = findings
            .check(key.span(), check_variable_name(key.get_ref()))
            .is_some();
        let span = value.span();
        // Where the template's text starts in the file: after the opening quote of a
        // basic or literal string without escapes; else the whole value is pointed at.
        let text_start = findings
            .source
            .get(span.clone())
            .filter(|written| {
                written.len() == value.get_ref().len() + 2
                    && (written.starts_with('"') || written.starts_with('\''))
                    && &written[1..written.len() - 1] == value.get_ref().as_str()
            })
            .map(|_| span.start + 1);
        let locate = |at: Range<usize>| match text_start {
            Some(start) => start + at.start..start + at.end,
            None => span.clone(),
        };
        let (template, references) = match Template::parse(value.get_ref()) {
            Ok(parsed) => parsed,
            Err(error) => {
                findings.error(locate(error.at), error.message).help = Some(Hint::new(
                    "write text with `{{ name }}` where an app variable's value goes, e.g. `\"{{ greeting }}, world\"`",
                ));
                continue;
            }
        };
        let mut known = true;
        for (name, at) in references {
            if declared.variables.contains(&name) {
                continue;
            }
            known = false;
            let defined = declared.variables.iter().map(String::as_str);
            let help = if declared.variables.is_empty() {
                Hint::new(format!(
                    "declare it in the app's `[variables]` table, e.g. `{name} = {{ default = \"...\" }}` or `{name} = {{ required = true }}`"
                ))
            } else {
                diagnostic::suggestion(&name, defined, "app variables")
            };
            findings
                .error(
                    locate(at),
                    format!("`{{{{ {name} }}}}` names no app variable"),
                )
                .help = Some(help);
        }
        if key_ok && known {
            templates.insert(key.into_inner(), template);
        }
    }
    templates
}

fn validate_component(
    findings: &mut Findings,
    dir: &Path,
    declared: &Declared,
    id: &str,
    id_span: Range<usize>,
    raw: RawComponent,
) -> Option<Component> {
    let before = findings.items.len();
    findings.check(id_span, check_name("component id", id));

    let source = findings.check(raw.source.span(), relative_inside(raw.source.get_ref()));

    let mut environment = BTreeMap::new();
    for (key, value) in raw.environment {
        if findings
            .check(key.span(), check_env_key(key.get_ref()))
            .is_some()
        {
            environment.insert(key.into_inner(), value.into_inner());
        }
    }

    let mut files: Vec<FileMount> = Vec::new();
    for entry in raw.files {
        let span = entry.span();
        let mount = match entry.into_inner() {
            RawFile::Mount(mount) => mount,
            RawFile::Pattern(pattern) => {
                let (message, help) = spin_files_entry(&pattern);
                findings.error(span, message).help = Some(help.into());
                continue;
            }
        };
        // The text stays inside the app; a symbolic link on the way may still lead out.
        let source = findings
            .check(mount.source.span(), relative_inside(mount.source.get_ref()))
            .filter(|source| match super::resolve_mount(dir, source) {
                Ok(_) => true,
                Err(escape) => {
                    findings.error(mount.source.span(), escape.to_string()).help =
                        Some(MountEscape::HELP.into());
                    false
                }
            });
        let destination = findings.check(
            mount.destination.span(),
            check_guest_path(mount.destination.get_ref()),
        );
        if let Some(destination) = &destination
            && files.iter().any(|f| &f.destination == destination)
        {
            findings
                .error(
                    mount.destination.span(),
                    format!("`{destination}` is mounted twice in component `{id}`"),
                )
                .help = Some("give each mount its own `destination`".into());
        }
        if let (Some(source), Some(destination)) = (source, destination) {
            files.push(FileMount {
                source,
                destination,
                selection: mount.selection,
            });
        }
    }

    let mut allowed_outbound_hosts = Vec::new();
    for host in raw.allowed_outbound_hosts {
        if let Some(host) = findings.check(host.span(), parse_outbound_host(host.get_ref())) {
            allowed_outbound_hosts.push(host);
        }
    }

    let variables = validate_component_variables(findings, declared, raw.variables);

    let mut key_value_stores: Vec<String> = Vec::new();
    for label in raw.key_value_stores {
        let span = label.span();
        let label = label.into_inner();
        if label != DEFAULT_STORE {
            findings
                .error(span, format!("unknown key-value store `{label}`"))
                .help = Some(suggestion(
                &label,
                [DEFAULT_STORE],
                "the stores wasmctl serves (other labels are not served yet, with or without a runtime config)",
            ));
        } else if key_value_stores.contains(&label) {
            findings
                .error(
                    span,
                    format!("key-value store `{label}` is named twice in component `{id}`"),
                )
                .help = Some("name each store once".into());
        } else {
            key_value_stores.push(label);
        }
    }

    let mut limits = Limits::default();
    if let Some(raw_limits) = raw.limits {
        let raw_limits = raw_limits.into_inner();
        if let Some(timeout) = raw_limits.timeout {
            limits.timeout = findings.check(timeout.span(), parse_timeout(timeout.get_ref()));
        }
        if let Some(memory) = raw_limits.memory {
            limits.memory = findings.check(memory.span(), parse_memory(memory.get_ref()));
        }
        if let Some(reuse) = raw_limits.instance_reuse {
            limits.instance_reuse =
                findings.check(reuse.span(), check_instance_reuse(*reuse.get_ref()));
        }
    }

    let build = raw
        .build
        .and_then(|build| validate_build(findings, id, build));

    if findings.items.len() > before {
        return None;
    }
    Some(Component {
        id: id.to_string(),
        source: source?,
        description: raw.description.map(S::into_inner),
        environment,
        files,
        allowed_outbound_hosts,
        variables,
        key_value_stores,
        limits,
        build,
    })
}

fn validate_build(findings: &mut Findings, id: &str, build: S<RawBuild>) -> Option<BuildSpec> {
    let span = build.span();
    let build = build.into_inner();
    let workdir = match &build.workdir {
        Some(workdir) => findings.check(workdir.span(), relative_inside(workdir.get_ref()))?,
        None => PathBuf::from("."),
    };
    let mut watch = Vec::new();
    for pattern in build.watch.iter().flatten() {
        if let Some(checked) = findings.check(pattern.span(), check_watch_glob(pattern.get_ref())) {
            watch.push(checked);
        }
    }
    if build.watch.is_none() && build.cargo.is_some() {
        watch = DEFAULT_CARGO_WATCH.map(String::from).to_vec();
    }
    let kind = match (build.cargo, build.command) {
        (Some(cargo), None) => {
            let cargo = cargo.into_inner();
            let target = match cargo.target {
                Some(target) => {
                    let name = target.get_ref().as_str();
                    if !CARGO_TARGETS.contains(&name) {
                        findings
                            .error(target.span(), format!("unsupported cargo target `{name}`"))
                            .help = Some(Hint::new(format!(
                            "use one of: {}",
                            CARGO_TARGETS.join(", ")
                        )));
                        return None;
                    }
                    name.to_string()
                }
                None => DEFAULT_CARGO_TARGET.to_string(),
            };
            if let Some(package) = &cargo.package
                && package.get_ref().trim().is_empty()
            {
                findings.error(
                    package.span(),
                    "cargo package name is empty; name the crate, or leave out `package` to build the crate in `workdir`",
                );
                return None;
            }
            BuildKind::Cargo {
                package: cargo.package.map(S::into_inner),
                target,
                features: cargo.features.into_iter().map(S::into_inner).collect(),
            }
        }
        (None, Some(command)) => {
            if command.get_ref().trim().is_empty() {
                findings.error(
                    command.span(),
                    "build command is empty; write the shell command that produces `source`, e.g. `make app.wasm`",
                );
                return None;
            }
            BuildKind::Command(command.into_inner())
        }
        (Some(_), Some(command)) => {
            findings
                .error(
                    command.span(),
                    format!("component `{id}` sets both `cargo` and `command`"),
                )
                .help = Some(
                "keep `cargo` to let wasmctl run cargo, or `command` for any other toolchain"
                    .into(),
            );
            return None;
        }
        (None, None) => {
            findings
                .error(span, format!("build table of component `{id}` says neither how nor what to build"))
                .help = Some(
                    "add `cargo = { package = \"<crate>\" }` for a Rust crate, or `command = \"...\"` for any other toolchain".into(),
                );
            return None;
        }
    };
    let mut requires: Vec<Requirement> = Vec::new();
    for entry in &build.requires {
        let Some(requirement) = findings.check(entry.span(), parse_requirement(entry.get_ref()))
        else {
            continue;
        };
        if requires.iter().any(|r| r.tool == requirement.tool) {
            findings.error(
                entry.span(),
                format!(
                    "`{}` is required twice; keep one entry per tool",
                    requirement.tool
                ),
            );
            continue;
        }
        requires.push(requirement);
    }
    let dependencies = match build.dependencies {
        Some(dependencies) => {
            let span = dependencies.span();
            let parsed =
                findings.check(span.clone(), parse_dependencies(dependencies.get_ref()))?;
            if matches!(kind, BuildKind::Cargo { .. }) {
                findings
                    .error(span, "`dependencies` is for `command` builds; cargo fetches a crate's dependencies itself")
                    .help = Some("remove `dependencies` from this build table".into());
                return None;
            }
            Some(parsed)
        }
        None => None,
    };
    Some(BuildSpec {
        kind,
        workdir,
        watch,
        requires,
        dependencies,
    })
}

fn validate_deploy(findings: &mut Findings, raw: super::raw::RawDeploy) -> super::Deploy {
    let registry = raw.registry.and_then(|r| {
        findings.check(
            r.span(),
            check_registry_reference(r.get_ref()).map(|()| r.into_inner()),
        )
    });
    let mut kubernetes = super::Kubernetes::default();
    if let Some(raw_kube) = raw.kubernetes {
        let raw_kube = raw_kube.into_inner();
        if let Some(replicas) = raw_kube.replicas {
            kubernetes.replicas =
                findings.check(replicas.span(), check_replicas(*replicas.get_ref()));
        }
        for (field, value) in [("cpu", &raw_kube.cpu), ("memory", &raw_kube.memory)] {
            if let Some(value) = value {
                findings.check(value.span(), check_quantity(field, value.get_ref()));
            }
        }
        if let Some(namespace) = &raw_kube.namespace {
            findings.check(namespace.span(), check_namespace(namespace.get_ref()));
        }
        if let Some(runtime_class) = &raw_kube.runtime_class {
            findings.check(
                runtime_class.span(),
                check_runtime_class(runtime_class.get_ref()),
            );
        }
        kubernetes.cpu = raw_kube.cpu.map(S::into_inner);
        kubernetes.memory = raw_kube.memory.map(S::into_inner);
        kubernetes.namespace = raw_kube.namespace.map(S::into_inner);
        kubernetes.runtime_class = raw_kube.runtime_class.map(S::into_inner);
        for (key, value) in raw_kube.environment {
            if findings
                .check(key.span(), check_env_key(key.get_ref()))
                .is_some()
            {
                kubernetes
                    .environment
                    .insert(key.into_inner(), value.into_inner());
            }
        }
    }
    super::Deploy {
        registry,
        insecure: raw.insecure,
        kubernetes,
    }
}

/// `HOST[:PORT]/REPO[:TAG|@DIGEST]` with an explicit registry host.
fn check_registry_reference(text: &str) -> Result<(), String> {
    registry_reference_problem(text).map_err(|problem| {
        format!(
            "registry reference `{text}` {problem}; write HOST[:PORT]/REPOSITORY:TAG, e.g. `127.0.0.1:5000/demo/svc:v1` or `ghcr.io/me/svc:1.0`"
        )
    })
}

/// What is wrong with a registry reference, as the end of a sentence about it
/// ("has no registry host").
pub(super) fn registry_reference_problem(text: &str) -> Result<(), String> {
    let Some((host, rest)) = text.split_once('/') else {
        return Err("has no registry host".to_string());
    };
    let looks_like_host = host.contains('.') || host.contains(':') || host == "localhost";
    if !looks_like_host || rest.is_empty() {
        return Err("has no registry host".to_string());
    }
    let valid = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
        && !rest.starts_with('/')
        && !rest.contains("//");
    if !valid {
        return Err("has characters a repository or tag cannot have".to_string());
    }
    // OCI repositories are lowercase; tags may have capitals.
    let repository = rest.split(['@', ':']).next().unwrap_or(rest);
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "has capital letters in its repository `{repository}`, which must be lowercase (`{}`)",
            repository.to_ascii_lowercase()
        ));
    }
    Ok(())
}

/// `--replicas N`: a whole number, then [`check_replicas`].
pub fn parse_replicas(text: &str) -> Result<u32, String> {
    let count = text
        .parse::<i64>()
        .map_err(|_| format!("`{text}` is not a whole number; write e.g. `2`"))?;
    check_replicas(count)
}

/// Pod replicas: a whole number from 1 (0 would run nothing) to what Kubernetes holds
/// (an int32).
pub fn check_replicas(replicas: i64) -> Result<u32, String> {
    u32::try_from(replicas)
        .ok()
        .filter(|n| (1..=i32::MAX as u32).contains(n))
        .ok_or_else(|| {
            format!(
                "replicas must be a whole number from 1 to {}, not {replicas}",
                i32::MAX
            )
        })
}

/// A Kubernetes resource quantity such as `250m`, `1`, `128Mi` or `1G`.
pub fn check_quantity(field: &str, text: &str) -> Result<(), String> {
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let suffixes = ["", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"];
    if number.is_empty() || number.parse::<f64>().is_err() || !suffixes.contains(&suffix) {
        return Err(format!(
            "{field} `{text}` is not a Kubernetes quantity; write e.g. `250m` or `1` (cpu), `128Mi` or `1Gi` (memory)"
        ));
    }
    Ok(())
}

/// A Kubernetes namespace: an RFC 1123 label.
pub fn check_namespace(text: &str) -> Result<(), String> {
    dns_label_problem(text).map_err(|problem| {
        // `My_Apps` is most likely meant as `my-apps`.
        let lowered = as_dns_label(text);
        let example = if dns_label_problem(&lowered).is_ok() {
            lowered
        } else {
            "apps".to_string()
        };
        format!("namespace `{text}` {problem}; write e.g. `{example}`")
    })
}

/// A RuntimeClass name: an RFC 1123 subdomain, labels joined by `.`.
pub fn check_runtime_class(text: &str) -> Result<(), String> {
    let problem = if text.len() > 253 {
        Err(format!("is {} characters long, above 253", text.len()))
    } else {
        text.split('.').try_for_each(dns_label_problem)
    };
    problem.map_err(|problem| {
        format!("runtime class `{text}` {problem}; write e.g. `wasmtime` or `wasmtime-v1`")
    })
}

/// Parses `/exact/path` or `/prefix/...`.
pub(super) fn parse_route(text: &str) -> Result<Route, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "route `{text}` must start with `/`, e.g. `/{}`",
            text.trim_start_matches('/')
        ));
    }
    let (path, wildcard) = match text.strip_suffix("/...") {
        Some(prefix) => (prefix, true),
        None => (text, false),
    };
    if path.contains("...") {
        return Err(format!(
            "route `{text}`: `...` may only end a route, as in `/prefix/...`"
        ));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '*' | '?' | '#' | '{' | '}'))
    {
        let help = if bad == '*' {
            "; wildcards are written `/prefix/...`"
        } else {
            ""
        };
        return Err(format!(
            "route `{text}` contains `{}`{help}",
            bad.escape_debug()
        ));
    }
    if let Some(problem) = escape_problem(path) {
        return Err(format!("route `{text}` {problem}"));
    }
    // "/" alone is the root path; every other segment must be a real name.
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let is_root = path == "/";
    if !is_root
        && !path.is_empty()
        && segments
            .iter()
            .enumerate()
            .any(|(i, s)| (s.is_empty() && i + 1 != segments.len()) || *s == "." || *s == "..")
    {
        let named: Vec<&str> = segments
            .iter()
            .copied()
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .collect();
        return Err(format!(
            "route `{text}` has an empty, `.` or `..` segment; write each segment as a name, e.g. `/{}{}`",
            named.join("/"),
            if wildcard { "/..." } else { "" }
        ));
    }
    Ok(if wildcard {
        Route::Prefix(path.to_string())
    } else {
        Route::Exact(path.to_string())
    })
}

/// What is wrong with a route's `%` escapes, if anything. `up` routes a request on its
/// path in normal form (wasmctl-host's `NormalPath`): a broken escape is refused and an
/// escaped unreserved character decoded, so such a route would never match as written
/// (and `%2e%2e` would be a `..` segment).
fn escape_problem(path: &str) -> Option<String> {
    path.match_indices('%').find_map(|(at, _)| {
        let hex = path
            .get(at + 1..at + 3)
            .filter(|hex| hex.bytes().all(|digit| digit.is_ascii_hexdigit()));
        let Some(hex) = hex else {
            return Some(
                "has a `%` that is not followed by two hex digits; write `%25` for a `%` itself"
                    .to_string(),
            );
        };
        let byte = u8::from_str_radix(hex, 16).expect("two hex digits are a byte");
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
        unreserved.then(|| {
            let character = char::from(byte);
            format!("escapes `{character}` as `%{hex}`; write `{character}` itself, as requests are routed with it decoded")
        })
    })
}

/// A path that is relative and, once `.` and `..` are resolved, stays inside the app directory.
pub(super) fn relative_inside(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err(
            "path is empty; write a path relative to the directory of wasmctl.toml".to_string(),
        );
    }
    let path = Path::new(text);
    let mut normalized = PathBuf::new();
    for part in path.components() {
        match part {
            PathPart::Normal(name) => normalized.push(name),
            PathPart::CurDir => {}
            PathPart::ParentDir => {
                if !normalized.pop() {
                    return Err(format!(
                        "`{text}` points outside the app directory; paths must stay inside the directory of wasmctl.toml, so move what it names into the app"
                    ));
                }
            }
            PathPart::RootDir | PathPart::Prefix(_) => {
                return Err(format!(
                    "`{text}` is absolute; write it relative to the directory of wasmctl.toml"
                ));
            }
        }
    }
    if normalized.as_os_str().is_empty() {
        normalized.push(".");
    }
    Ok(normalized)
}

fn check_watch_glob(text: &str) -> Result<String, String> {
    relative_inside(text)?;
    glob::Pattern::new(text).map_err(|error| {
        format!(
            "`{text}` is not a valid glob: {} at character {}; write e.g. `src/**/*.rs`, with `[[]` for a literal `[`",
            error.msg,
            error.pos + 1
        )
    })?;
    Ok(text.to_string())
}

/// Spin's string form of a `files` entry (a path or glob, its files shown at the same
/// path in the guest), and the table that mounts what it names: the directory before the
/// first glob, at the same guest path. A mount is a whole directory, so a glob that picks
/// some files cannot be kept; the help says so.
fn spin_files_entry(pattern: &str) -> (String, String) {
    let parts: Vec<&str> = pattern
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    let is_glob = |part: &&str| part.contains(['*', '?', '[', '{']);
    let directory: Vec<&str> = parts.iter().copied().take_while(|p| !is_glob(p)).collect();
    let rest = parts[directory.len()..].join("/");
    let source = if directory.is_empty() {
        ".".to_string()
    } else {
        directory.join("/")
    };
    let destination = format!("/{}", directory.join("/"));
    let table = format!("{{ source = \"{source}\", destination = \"{destination}\" }}");
    let message = format!(
        "`files` entry `{pattern}` is a path, as Spin writes it; wasmctl mounts directories, each written as a table"
    );
    let help = match rest.as_str() {
        "" | "**" | "**/*" => format!(
            "write `{table}`: the guest reads everything in `{source}` at `{destination}`, read-only"
        ),
        _ => format!(
            "write `{table}`: the guest reads all of `{source}` at `{destination}`, read-only, not only the files matching `{rest}`; to share only those, move them into a directory of their own and mount that"
        ),
    };
    (message, help)
}

fn check_guest_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "guest path `{text}` must be absolute, e.g. `/{}`",
            text.trim_start_matches("./")
        ));
    }
    if text.split('/').any(|segment| segment == "..") {
        return Err(format!("guest path `{text}` must not contain `..`"));
    }
    Ok(text.to_string())
}

/// An environment variable name: what a shell and Kubernetes accept.
pub fn check_env_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(
            "environment variable name is empty; write NAME=VALUE, the name of letters, digits and `_`, not starting with a digit".to_string(),
        );
    }
    let mut chars = key.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "environment variable name `{key}` is not valid; use letters, digits and `_`, not starting with a digit"
        ))
    }
}

/// Parses `scheme://host[:port]`; a missing port means the scheme's default port.
pub(super) fn parse_outbound_host(text: &str) -> Result<OutboundHost, String> {
    let example =
        "write `scheme://host[:port]`, e.g. `https://api.example.com` or `http://127.0.0.1:8080`";
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(format!(
            "allowed outbound host `{text}` has no scheme; {example}"
        ));
    };
    let default_port = match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "*" => None,
        other => {
            return Err(format!(
                "allowed outbound host `{text}` has scheme `{other}`; use `http`, `https` or `*`"
            ));
        }
    };
    if rest.contains('/') {
        return Err(format!(
            "allowed outbound host `{text}` has a path; grant the host only, e.g. `{scheme}://{}`",
            rest.split('/').next().unwrap_or_default()
        ));
    }
    let (host, port) = match rest.rsplit_once(':') {
        // A colon inside brackets belongs to an IPv6 address, not a port.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (rest, None),
    };
    if host.is_empty() {
        return Err(format!(
            "allowed outbound host `{text}` has no host; {example}"
        ));
    }
    if let Err(problem) = check_outbound_host_name(host) {
        return Err(format!(
            "allowed outbound host `{text}`: `{host}` {problem}; write a host name, an IP address, `*` or `*.domain`"
        ));
    }
    let port = match port {
        None => default_port,
        Some("*") => None,
        Some(port) => Some(port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
            format!("allowed outbound host `{text}`: port `{port}` is not a number from 1 to 65535 or `*`")
        })?),
    };
    Ok(OutboundHost {
        scheme: scheme.to_string(),
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// The host of an outbound grant: `*`, `*.` and a domain, a domain name, an IPv4 address
/// or a bracketed IPv6 address; what is wrong with it, as the end of a sentence.
fn check_outbound_host_name(host: &str) -> Result<(), String> {
    if host == "*" {
        return Ok(());
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(drop)
            .map_err(|_| "is not an IPv6 address".to_string());
    }
    let (wildcard, name) = match host.strip_prefix("*.") {
        Some(domain) => (true, domain),
        None => (false, host),
    };
    // A name whose last label is a number can only be an IPv4 address (no top-level
    // domain is numeric), so `999.1.1.1` is a bad address, not a name.
    let last = name.rsplit('.').next().unwrap_or(name);
    if !last.is_empty() && last.chars().all(|c| c.is_ascii_digit()) {
        if wildcard {
            return Err(
                "puts `*.` before an IP address; a wildcard covers subdomains of a name"
                    .to_string(),
            );
        }
        return name.parse::<std::net::Ipv4Addr>().map(drop).map_err(|_| {
            "is not an IPv4 address: four numbers from 0 to 255, joined by `.`".to_string()
        });
    }
    if name.len() > 253 {
        return Err(format!(
            "is {} characters long, above the 253 of a domain name",
            name.len()
        ));
    }
    for label in name.split('.') {
        let rule = "each part between dots is 1 to 63 letters, digits and `-`, not starting or ending with `-`";
        if label.is_empty() || label.len() > 63 {
            return Err(format!("has an empty or too long part; {rule}"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("contains `{}`; {rule}", bad.escape_debug()));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("has the part `{label}`; {rule}"));
        }
    }
    Ok(())
}

pub(super) fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let range = format!(
        "from {} to {}",
        humantime::format_duration(super::MIN_TIMEOUT),
        humantime::format_duration(super::MAX_TIMEOUT)
    );
    if text.trim_start().starts_with('-') {
        return Err(format!(
            "timeout `{text}` is negative; write a time {range}, e.g. `30s`"
        ));
    }
    let duration = humantime::parse_duration(text).map_err(|e| {
        format!("timeout `{text}` is not a duration ({e}); write e.g. `30s`, `500ms` or `2m`")
    })?;
    if !(super::MIN_TIMEOUT..=super::MAX_TIMEOUT).contains(&duration) {
        return Err(format!(
            "timeout `{text}` is out of range; write a time {range}, e.g. `30s`"
        ));
    }
    Ok(duration)
}

/// `instance_reuse`: requests per instance, 1 (no reuse) to [`MAX_INSTANCE_REUSE`].
pub fn check_instance_reuse(count: i64) -> Result<u32, String> {
    match u32::try_from(count) {
        Ok(count @ 1..=MAX_INSTANCE_REUSE) => Ok(count),
        _ => Err(format!(
            "instance_reuse `{count}` is out of range; write how many requests one instance serves, 1 (a fresh instance for each request) to {MAX_INSTANCE_REUSE}, e.g. `128`"
        )),
    }
}

pub(super) fn parse_memory(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .parse()
        .map_err(|_| format!("memory `{text}` is not a size; write e.g. `128MiB` or `1GiB`"))?;
    let bytes = size.as_u64();
    if !(MIN_MEMORY..=MAX_MEMORY).contains(&bytes) {
        return Err(format!("memory `{text}` must be between 1MiB and 4GiB"));
    }
    Ok(bytes)
}
