use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use clap::{Args, ValueEnum};
use console::Style;
use wasmctl::build::Profile;
use wasmctl::manifest::{self, App, Component, Limits, Route};
use wasmctl_host::{
    AccessLog, AppConfig, BoundServer, Compilation, ComponentConfig, GuestOutput, Host, HostConfig,
    LoadError, MAX_INSTANCES, OutboundRule, RequestRecord, ServerLimits, Stream,
};

use super::ManifestArgs;
use crate::ui::Ui;

/// `wasmctl up [FILE.wasm]`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    wasmctl up                          # serve the app in this directory\n  \
    wasmctl up --build                  # build first, then serve\n  \
    wasmctl up --build --debug          # a debug build: faster to build, names in traces\n  \
    wasmctl up handler.wasm             # serve one component on /... (no manifest)\n  \
    wasmctl up --listen 0.0.0.0:8080 --env LOG=debug --request-timeout 2s\n\n\
    Each request gets a fresh instance. Components see no environment, files or network\n\
    unless wasmctl.toml grants them. The host sets these request headers:\n  \
    wasmctl-matched-route  the route that matched, e.g. /api/...\n  \
    wasmctl-path-info      the path below a wildcard route's prefix, e.g. /users/7\n  \
    wasmctl-component      the id of the serving component\n\
    Paths are routed, and passed on, in normal form: %-escapes of letters, digits and\n\
    -._~ decoded (%2F stays), . and .. segments resolved; .. above / gets 400.\n\
    Guest output is shown prefixed with the component id and kept in .wasmctl/logs/.\n\
    Access log: -v prints a line per request on stderr (time, method, path, status,\n\
    duration until the response head, component, route, why the host refused a\n\
    request as the client's error); --log-format json prints it\n\
    always, one JSON object per line. Health checks (2xx answers on /health, /healthz,\n\
    /ready, /readyz, /livez) are left out unless -vv or --log-health-checks.\n\
    Ctrl-C or SIGTERM stops accepting and lets in-flight requests finish.\n\
    --from REF pulls the app (verifying every digest; cached by digest) and serves it.\n\
    --watch (or `wasmctl watch`) builds, serves, and on every save of a component's\n\
    `watch` inputs or of wasmctl.toml rebuilds what changed and swaps it in; a failed\n\
    build keeps the last good version serving.")]
pub struct UpArgs {
    /// Serve this component file on `/...` instead of an app
    #[arg(value_name = "FILE.wasm", conflicts_with_all = ["build", "manifest", "from"])]
    pub file: Option<PathBuf>,
    /// Serve an app pulled from a registry: HOST[:PORT]/REPO:TAG or ...@sha256:...
    #[arg(long, value_name = "REF", conflicts_with_all = ["build", "manifest"])]
    pub from: Option<String>,
    /// With --from: allow plain HTTP to a registry that is not on loopback
    #[arg(long, requires = "from")]
    pub insecure: bool,
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Run `wasmctl build` first
    #[arg(long)]
    pub build: bool,
    /// Serve the debug builds of cargo components (`wasmctl build --debug`; with --build
    /// or --watch, build them that way)
    #[arg(long, conflicts_with_all = ["file", "from"])]
    pub debug: bool,
    /// Rebuild on save and swap the new version in without dropping a request
    #[arg(long, conflicts_with_all = ["file", "from"])]
    pub watch: bool,
    /// With --watch: clear the screen before each rebuild
    #[arg(long, requires = "watch")]
    pub clear: bool,
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Add an environment variable to every component (repeatable; local development)
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = super::parse_env)]
    pub env: Vec<(String, String)>,
    /// Time limit per request for every component, 1ms to 1day, e.g. 2s (default: the
    /// manifest's, else 30s)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub request_timeout: Option<Duration>,
    /// Worker threads, each with its own listener (default: one per CPU)
    #[arg(long, value_name = "N", value_parser = parse_at_least_one)]
    pub workers: Option<usize>,
    /// Open connections at most
    #[arg(long, value_name = "N", default_value_t = ServerLimits::default().max_connections, value_parser = parse_at_least_one)]
    pub max_connections: usize,
    /// Instances alive at once across components, at most 4096; further requests wait for
    /// a slot (up to their time limit, then 503)
    #[arg(long, value_name = "N", default_value_t = ServerLimits::default().max_instances, value_parser = parse_max_instances)]
    pub max_instances: u32,
    /// Largest request body accepted, up to 4GiB, e.g. 16MiB
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_body_size, allow_hyphen_values = true)]
    pub max_body_size: u64,
    /// Time a client has to send its request headers (slowloris protection), 1ms to 1day
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub header_timeout: Duration,
    /// Time a response may wait on a client that reads none of it, 1ms to 1day; then the
    /// connection is closed
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub write_timeout: Duration,
    /// Compile components even if a cached compilation exists
    #[arg(long)]
    pub no_cache: bool,
    /// Access log format: text (shown with -v) or json (always shown, one object per line)
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Log health checks too (left out by default; see below)
    #[arg(long)]
    pub log_health_checks: bool,
}

/// How the access log is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people, and only with -v.
    Text,
    /// For machines, always: one JSON object per line.
    Json,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    manifest::parse_timeout(text)
}

/// `--max-instances`: each instance slot reserves address space, so the pool has a ceiling.
fn parse_max_instances(text: &str) -> Result<u32, String> {
    let range = format!(
        "write a number from 1 to {MAX_INSTANCES}: each instance reserves 16 GiB of address space for its memories"
    );
    let count = text
        .parse::<u64>()
        .map_err(|_| format!("`{text}` is not a whole number; {range}"))?;
    u32::try_from(count)
        .ok()
        .filter(|count| (1..=MAX_INSTANCES).contains(count))
        .ok_or_else(|| format!("`{text}` is out of range; {range}"))
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::{IpAddr, Ipv6Addr};
    let example = "e.g. `127.0.0.1:3000`, `0.0.0.0:8080` or `[::1]:3000`";
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    let split = text.rsplit_once(':');
    if let Ok(ip) = text.parse::<IpAddr>() {
        // `::1:3200` is itself an IPv6 address; most likely it is `::1` and a port.
        if let Some((host, port)) = split.filter(|(host, port)| {
            ip.is_ipv6() && host.parse::<Ipv6Addr>().is_ok() && port.parse::<u16>().is_ok()
        }) {
            return Err(format!(
                "`{text}` reads as one IPv6 address, without a port; put the address in brackets, then the port: `[{host}]:{port}`"
            ));
        }
        let shown = match ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        return Err(format!(
            "`{text}` has no port; write e.g. `{shown}:3000`, or `{shown}:0` for any free port"
        ));
    }
    if let Some((host, port)) = split {
        let host_is_ip = host.parse::<IpAddr>().is_ok()
            || host
                .strip_prefix('[')
                .and_then(|host| host.strip_suffix(']'))
                .is_some_and(|host| host.parse::<Ipv6Addr>().is_ok());
        if host_is_ip && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "port `{port}` is out of range; a port is a number from 0 to 65535 (0: any free port), {example}"
            ));
        }
    }
    Err(format!(
        "write an IP address and a port, {example}; host names such as `localhost` are not looked up"
    ))
}

/// A count that must be at least 1: zero workers or connections would serve nothing.
fn parse_at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1: with 0 the server would accept nothing".to_string()),
        Ok(count) => Ok(count),
        Err(_) => Err(format!("`{text}` is not a whole number")),
    }
}

/// The largest `--max-body-size`: 4 GiB, the most a 32-bit guest could hold.
const MAX_BODY_SIZE: u64 = 4 << 30;

fn parse_body_size(text: &str) -> Result<u64, String> {
    let range = "write a size from 0 to 4GiB, e.g. 16MiB";
    match text.parse::<bytesize::ByteSize>() {
        Ok(size) if size.as_u64() <= MAX_BODY_SIZE => Ok(size.as_u64()),
        Ok(_) => Err(format!("`{text}` is too large; {range}")),
        Err(_) => Err(format!("`{text}` is not a size; {range}")),
    }
}

impl UpArgs {
    /// The build profile served (and built, with --build or --watch).
    pub(super) fn profile(&self) -> Profile {
        super::build::profile(self.debug)
    }

    pub fn run(self, ui: &Ui) -> Result<()> {
        if self.watch {
            return super::watch::run(self, ui);
        }
        let served = match (&self.file, &self.from) {
            (Some(file), _) => self.bare_component(file)?,
            (None, Some(reference)) => {
                let pulled = super::registry::pull(reference, self.insecure, ui)?;
                ui.status(
                    "Pulled",
                    format!(
                        "{reference} ({}, {} of {} layers downloaded)",
                        pulled.digest, pulled.downloaded, pulled.layers
                    ),
                );
                self.app(
                    &manifest::load(&pulled.dir.join(manifest::MANIFEST_FILE))?,
                    ui,
                )?
            }
            (None, None) => self.app(&self.manifest.load()?, ui)?,
        };

        let started = Instant::now();
        let host = self.new_host(&served.dir, ui)?;
        let progress = ui.progress("up");
        progress.step("compiling components");
        let loaded = host.load(self.app_config(&served));
        progress.finish();
        for report in loaded.map_err(load_problem)? {
            let (verb, note) = match report.compilation {
                Compilation::Compiled => ("Compiled", ""),
                Compilation::Cached | Compilation::Unchanged => ("Loaded", " (cached)"),
            };
            ui.status(
                verb,
                format!("{} in {:.0?}{note}", report.id, report.elapsed),
            );
        }
        let server = self.bind(host, started, ui)?;
        print_routes(server.local_addr(), &served.routes, ui)?;
        server.serve(shutdown_signal())?;
        ui.status("Stopped", "the server shut down");
        Ok(())
    }

    fn app(&self, app: &App, ui: &Ui) -> Result<Served> {
        // A mount that is not a directory of the app would fail the guest at start, with a
        // message that does not name the manifest.
        for component in app.components.values() {
            app.check_mounts(component)?;
        }
        if self.build {
            // Builds validate what they produce.
            super::build::build_app(app, &[], self.profile(), ui)?;
        } else {
            for component in app.components.values() {
                check_built(app, component, self.profile(), ui)?;
            }
        }
        Ok(Served::app(app, self.profile()))
    }

    fn bare_component(&self, file: &Path) -> Result<Served> {
        let bytes = wasmctl::build::read_component(file).map_err(|error| {
            if error.io_kind() == Some(std::io::ErrorKind::NotFound) {
                anyhow::anyhow!(
                    "`{}` does not exist\nhelp: pass the path of a built component, e.g. `target/wasm32-wasip2/release/NAME.wasm`, or run `wasmctl up` without a file in an app's directory",
                    file.display()
                )
            } else {
                anyhow::Error::new(error)
            }
        })?;
        wasmctl::component::validate(file, &bytes)?;
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("component");
        // An id the naming rule accepts, derived from the file name.
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
        let path = std::path::absolute(file)?;
        let component = Component {
            id: id.clone(),
            source: PathBuf::from(file),
            description: None,
            environment: Default::default(),
            files: Vec::new(),
            allowed_outbound_hosts: Vec::new(),
            limits: Limits::default(),
            build: None,
        };
        Ok(Served {
            dir: path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            components: vec![(component, path)],
            routes: vec![(Route::Prefix(String::new()), id)],
        })
    }

    /// The engine and server settings; guest output goes to `DIR/.wasmctl/logs/`.
    pub(super) fn new_host(&self, dir: &Path, ui: &Ui) -> Result<Host> {
        let logs = wasmctl::fs_tree::create_own_dir(dir, Path::new(".wasmctl/logs"))?;
        let cache_dir = if self.no_cache {
            None
        } else {
            // Created link by link: a link planted there must not redirect the cache.
            Some(wasmctl::fs_tree::create_own_dir(
                &wasmctl::dirs::cache_root()?,
                Path::new("compiled"),
            )?)
        };
        Host::new(HostConfig {
            cache_dir,
            output: Some(Arc::new(TerminalAndLogs {
                dir: logs,
                files: Mutex::new(HashMap::new()),
                quiet: ui.is_quiet(),
            })),
            access_log: self.access_log(ui),
            limits: ServerLimits {
                max_connections: self.max_connections,
                max_instances: self.max_instances,
                max_body_size: self.max_body_size,
                header_read_timeout: self.header_timeout,
                max_component_size: wasmctl::limits::COMPONENT.value()?,
                write_timeout: self.write_timeout,
                ..ServerLimits::default()
            },
        })
    }

    /// The access log asked for: text with -v, JSON always with `--log-format json`.
    fn access_log(&self, ui: &Ui) -> Option<Arc<dyn AccessLog>> {
        let shown = match self.log_format {
            LogFormat::Text => ui.verbosity() >= 1,
            LogFormat::Json => true,
        };
        shown.then(|| {
            Arc::new(AccessLines {
                format: self.log_format,
                health_checks: self.log_health_checks || ui.verbosity() >= 2,
            }) as Arc<dyn AccessLog>
        })
    }

    /// What the host serves for `served`, with the grants, limits and `--env` applied.
    pub(super) fn app_config(&self, served: &Served) -> AppConfig {
        AppConfig {
            components: served
                .components
                .iter()
                .map(|(component, path)| component_config(component, path, &served.dir, self))
                .collect(),
            routes: served
                .routes
                .iter()
                .map(|(route, id)| (host_route(route), id.clone()))
                .collect(),
        }
    }

    /// Binds the listening sockets and says so.
    pub(super) fn bind(&self, host: Host, started: Instant, ui: &Ui) -> Result<BoundServer> {
        let workers = self
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let server = host
            .bind(self.listen, workers)
            .map_err(|error| listen_problem(error, self.listen))?;
        ui.status(
            "Serving",
            format!(
                "on http://{} ({workers} workers, ready in {:.0?})",
                server.local_addr(),
                started.elapsed()
            ),
        );
        Ok(server)
    }
}

/// What `up` serves: an app from a manifest, or one bare component.
pub(super) struct Served {
    /// Where `.wasmctl/logs/` goes.
    pub dir: PathBuf,
    pub components: Vec<(Component, PathBuf)>,
    pub routes: Vec<(Route, String)>,
}

impl Served {
    pub fn app(app: &App, profile: Profile) -> Served {
        Served {
            dir: app.dir.clone(),
            components: app
                .components
                .values()
                .map(|c| (c.clone(), wasmctl::build::component_path(app, c, profile)))
                .collect(),
            routes: app
                .routes
                .iter()
                .map(|r| (r.route.clone(), r.component.clone()))
                .collect(),
        }
    }
}

/// The URL of each route, on stdout (scripts and tests wait for these lines).
pub(super) fn print_routes(addr: SocketAddr, routes: &[(Route, String)], ui: &Ui) -> Result<()> {
    for (route, component) in routes {
        ui.result(format!("http://{addr}{route}  →  {component}"))?;
    }
    Ok(())
}

/// A load failure as the user reads it: a component whose memory limit is below what it
/// needs to start gets what to raise, and by how much.
pub(super) fn load_problem(error: LoadError) -> anyhow::Error {
    let LoadError::MemoryLimit { id, limit, wanted } = error else {
        return error.into();
    };
    let mib = |bytes: u64| format!("{}MiB", bytes.div_ceil(1024 * 1024));
    anyhow::anyhow!(
        "component `{id}` needs more memory to start than its limit of {}\nhelp: raise `memory` in `[component.{id}.limits]` of {} to at least {}, or remove it for the default ({})",
        mib(limit),
        manifest::MANIFEST_FILE,
        mib(wanted),
        mib(manifest::DEFAULT_MEMORY),
    )
}

/// A bind failure on a port in use, with what to do about it.
fn listen_problem(error: anyhow::Error, addr: SocketAddr) -> anyhow::Error {
    let in_use = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::AddrInUse);
    if !in_use {
        return error;
    }
    anyhow::anyhow!(
        "could not listen on {addr}: another process is listening there\nhelp: stop it, or listen on another port, e.g. `--listen {}:0` for any free one",
        addr.ip()
    )
}

/// A component about to be served without a build: it must exist and be valid, and
/// should be newer than its inputs.
fn check_built(app: &App, component: &Component, profile: Profile, ui: &Ui) -> Result<()> {
    wasmctl::build::check_source(app, component, profile)?;
    if let Some(input) = wasmctl::build::stale_input(app, component, profile) {
        ui.warn(format!(
            "component `{}` is older than `{}`: serving the previous build (run `wasmctl up --build` to rebuild)",
            component.id,
            super::relative(&input, &app.dir)
        ));
    }
    Ok(())
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
    dir: &Path,
    args: &UpArgs,
) -> ComponentConfig {
    let mut environment: Vec<(String, String)> =
        component.environment.clone().into_iter().collect();
    environment.extend(args.env.iter().cloned());
    ComponentConfig {
        id: component.id.clone(),
        path: path.to_path_buf(),
        environment,
        preopens: component
            .files
            .iter()
            .map(|f| {
                // The host opens canonical paths only (see `ComponentConfig::preopens`);
                // each mount was checked against the app directory when the manifest loaded.
                let granted = manifest::resolve_mount(dir, &f.source)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| dir.join(&f.source));
                (granted, f.destination.clone())
            })
            .collect(),
        outbound: component
            .allowed_outbound_hosts
            .iter()
            .map(|h| OutboundRule {
                scheme: h.scheme.clone(),
                host: h.host.clone(),
                port: h.port,
            })
            .collect(),
        timeout: args
            .request_timeout
            .or(component.limits.timeout)
            .unwrap_or(manifest::DEFAULT_TIMEOUT),
        memory: component.limits.memory.unwrap_or(manifest::DEFAULT_MEMORY),
    }
}

/// Guest output: prefixed with the component id on stderr, and appended to
/// `<dir>/<id>.log` (opened on a component's first line, so components added by a
/// reload get theirs too).
struct TerminalAndLogs {
    dir: PathBuf,
    files: Mutex<HashMap<String, Option<File>>>,
    quiet: bool,
}

impl GuestOutput for TerminalAndLogs {
    fn line(&self, component: &str, stream: Stream, line: &str) {
        if !self.quiet {
            let prefix = Style::new().cyan().apply_to(format!("[{component}]"));
            match stream {
                Stream::Stdout => eprintln!("{prefix} {line}"),
                Stream::Stderr => {
                    eprintln!("{prefix} {} {line}", Style::new().yellow().apply_to("!"))
                }
            }
        }
        let Ok(mut files) = self.files.lock() else {
            return;
        };
        let file = files.entry(component.to_string()).or_insert_with(|| {
            let path = self.dir.join(format!("{component}.log"));
            // A link at the log's path could send guest output over any file of the user.
            let opened = wasmctl::fs_tree::open_append_no_follow(&path);
            opened
                .inspect_err(|error| {
                    tracing::warn!("guest output is not logged to {}: {error}", path.display())
                })
                .ok()
        });
        if let Some(file) = file {
            let tag = match stream {
                Stream::Stdout => "out",
                Stream::Stderr => "err",
            };
            let _ = writeln!(file, "{tag} {line}");
        }
    }
}

/// Paths that load balancers and orchestrators poll every few seconds: their successful
/// answers would drown the requests worth reading. A failing health check is logged.
const HEALTH_CHECK_PATHS: [&str; 5] = ["/health", "/healthz", "/ready", "/readyz", "/livez"];

/// The access log: one line per answered request on stderr.
struct AccessLines {
    format: LogFormat,
    /// Log successful health checks too.
    health_checks: bool,
}

/// One access log line as JSON.
#[derive(serde::Serialize)]
struct AccessJson<'a> {
    time: String,
    method: &'a str,
    path: &'a str,
    status: u16,
    duration_ms: f64,
    component: Option<&'a str>,
    route: Option<&'a str>,
    client_error: Option<&'a str>,
}

impl AccessLog for AccessLines {
    fn request(&self, record: &RequestRecord<'_>) {
        if !self.health_checks
            && record.status.is_success()
            && HEALTH_CHECK_PATHS.contains(&record.path)
        {
            return;
        }
        let time = humantime::format_rfc3339_millis(SystemTime::now());
        let duration_ms = record.duration.as_secs_f64() * 1000.0;
        // A request path holds no spaces or control characters (hyper refuses them), and
        // the reason for a client error is the host's (or hyper's) own text, never the
        // client's bytes, so a line cannot be forged from the outside.
        let line = match self.format {
            LogFormat::Text => format!(
                "{} {} {} {} {duration_ms:.2}ms {} {}{}",
                Style::new().dim().apply_to(time),
                record.method,
                record.path,
                record.status.as_u16(),
                record.component.unwrap_or("-"),
                record.route.unwrap_or("-"),
                match record.client_error {
                    Some(reason) => format!(" (client error: {reason})"),
                    None => String::new(),
                },
            ),
            LogFormat::Json => serde_json::to_string(&AccessJson {
                time: time.to_string(),
                method: record.method.as_str(),
                path: record.path,
                status: record.status.as_u16(),
                duration_ms,
                component: record.component,
                route: record.route,
                client_error: record.client_error,
            })
            .expect("strings, numbers and options serialize"),
        };
        // A closed stderr must not take the worker down; the line is lost either way.
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_say_what_is_wrong() {
        assert_eq!(
            parse_listen("[::1]:3200"),
            Ok("[::1]:3200".parse().unwrap())
        );
        let cases = [
            ("::1:3200", "`[::1]:3200`"),
            ("::1", "has no port; write e.g. `[::1]:3000`"),
            ("127.0.0.1", "has no port; write e.g. `127.0.0.1:3000`"),
            ("127.0.0.1:99999", "port `99999` is out of range"),
            ("[::1]:70000", "port `70000` is out of range"),
            (
                "localhost:3000",
                "host names such as `localhost` are not looked up",
            ),
        ];
        for (text, expected) in cases {
            let error = parse_listen(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn counts_and_sizes_have_ranges() {
        assert_eq!(parse_max_instances("4096"), Ok(MAX_INSTANCES));
        for text in ["0", "4097", "100000", "99999999999"] {
            let error = parse_max_instances(text).unwrap_err();
            assert!(error.contains("from 1 to 4096"), "{text}: {error}");
        }
        assert_eq!(parse_body_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_body_size("0"), Ok(0));
        for text in ["5GiB", "-1MiB", "lots"] {
            let error = parse_body_size(text).unwrap_err();
            assert!(error.contains("from 0 to 4GiB"), "{text}: {error}");
        }
    }
}
