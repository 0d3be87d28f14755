//! `wasmctl up` and its alias `wasmctl watch` (`up --watch`): serve an app, a pulled app
//! or one component file on the embedded host. What is served and how each setting
//! resolves is `wasmctl-serve`'s; this module maps flags onto it and renders.

mod dev;
mod output;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use wasmctl::build::{Profile, build_app};
use wasmctl::files::FileStage;
use wasmctl::hint::Hinted;
use wasmctl::manifest::{self, App, Route};
use wasmctl::runtime_config::RuntimeConfig;
use wasmctl::variables::Given;
use wasmctl_host::{
    AccessLog, BoundServer, Compilation, Host, HostConfig, HttpWorld, MAX_INSTANCES, PendingEngine,
    ServerLimits,
};
use wasmctl_serve::state::StateDir;
use wasmctl_serve::{ServeSettings, Served};

use self::output::{AccessLines, LogFormat, TerminalAndLogs, shutdown_signal};
use super::ManifestArgs;
use crate::ui::{Ui, relative};

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
    Key-value stores a component names in `key_value_stores` live in .wasmctl/state/\n\
    (one SQLite file per store; --state-dir moves them) and outlive restarts and swaps;\n\
    --runtime-config FILE (Spin's runtime-config.toml) puts a store on Redis:\n\
    `[key_value_store.default]` `type = \"redis\"` `url = \"redis://HOST:PORT\"` (docs/state.md).\n\
    Access log: -v prints a line per request on stderr (time, method, path, status,\n\
    duration until the response head, component, route, why the host refused a\n\
    request as the client's error); --log-format json prints it\n\
    always, one JSON object per line. Health checks (2xx answers on /health, /healthz,\n\
    /ready, /readyz, /livez) are left out unless -vv or --log-health-checks.\n\
    Ctrl-C or SIGTERM stops accepting and lets in-flight requests finish.\n\
    --from REF pulls the app (verifying every digest; cached by digest) and serves it:\n\
    one pushed by `wasmctl deploy`, or in Spin's layout (`spin registry push`, `wasmctl\n\
    deploy --runtime spinkube`), served as the Spin app it is.\n\
    --watch (or `wasmctl watch`) builds, serves, and on every save of a component's\n\
    `watch` inputs or of wasmctl.toml rebuilds what changed and swaps it in; a failed\n\
    build keeps the last good version serving.")]
pub(crate) struct UpArgs {
    /// Serve this component file on `/...` instead of an app
    // clap skips a `requires` whose target conflicts with an argument given, so the
    // options that need --from or --watch are refused here by name too.
    #[arg(value_name = "FILE.wasm", conflicts_with_all = ["build", "manifest", "from", "debug", "watch", "clear", "insecure"])]
    pub file: Option<PathBuf>,
    /// Serve an app pulled from a registry: HOST[:PORT]/REPO:TAG or ...@sha256:...
    #[arg(long, value_name = "REF", conflicts_with_all = ["build", "manifest", "debug", "watch", "clear"])]
    pub from: Option<String>,
    /// With --from: allow plain HTTP to a registry that is not on loopback
    #[arg(long, requires = "from", conflicts_with_all = ["build", "manifest", "debug", "watch"])]
    pub insecure: bool,
    /// Run `wasmctl build` first
    #[arg(long)]
    pub build: bool,
    /// Rebuild on save and swap the new version in without dropping a request
    #[arg(long)]
    pub watch: bool,
    /// With --watch: clear the screen before each rebuild
    #[arg(long, requires = "watch")]
    pub clear: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `wasmctl watch`: `wasmctl up --watch`, with only the options that make sense when
/// watching.
#[derive(Debug, Args)]
#[command(
    after_help = "Builds every component, serves the app, and on every save of a component's\n\
    `watch` inputs or of wasmctl.toml rebuilds what changed and swaps it in: requests in\n\
    flight finish on the old version, the socket stays open. A failed build keeps the last\n\
    good version serving. The same as `wasmctl up --watch`; `wasmctl up --help` says how\n\
    requests are served."
)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Clear the screen before each rebuild
    #[arg(long)]
    pub clear: bool,
}

/// What `up` and `watch` share: the app, the build served, and the server's settings.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Serve the debug builds of cargo components (`wasmctl build --debug`); when
    /// building first or watching, build them that way
    #[arg(long)]
    pub debug: bool,
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Add an environment variable to every component (repeatable; local development)
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = super::Unquoted::new("--env <KEY=VALUE>", super::parse_env))]
    pub env: Vec<(String, String)>,
    /// Give app variable NAME a value (repeatable); NAME=@FILE reads it from FILE. Wins
    /// over WASMCTL_VARIABLE_NAME, SPIN_VARIABLE_NAME, .env and the manifest's default
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = super::VARIABLE_PARSER)]
    pub variables: Vec<(String, Given)>,
    /// Time limit per request for every component, 1ms to 1day, e.g. 2s (default: the
    /// manifest's, else 30s)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub request_timeout: Option<Duration>,
    /// Requests one instance serves in all, for every component (default: the manifest's
    /// `limits.instance_reuse`, else 1 for WASI 0.2 components, a fresh instance per
    /// request, and 128 for WASI 0.3 ones, up to 16 at once). A 0.2 instance serves them
    /// one after another. Reuse skips instantiation, but what a request leaves in the
    /// instance's memory and globals is there for the next ones: use it only for
    /// components that keep no per-request secrets (1 gives 0.3 components a fresh
    /// instance per request too). An instance that traps or times out is never reused
    #[arg(long, value_name = "N", value_parser = parse_instance_reuse)]
    pub instance_reuse: Option<u32>,
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
    /// Keep the key-value stores in DIR (default: .wasmctl/state of the app)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Set KEY to VALUE in the default key-value store before serving (repeatable)
    #[arg(long = "key-value", value_name = "KEY=VALUE", value_parser = super::Unquoted::new("--key-value <KEY=VALUE>", super::parse_key_value))]
    pub key_values: Vec<(String, String)>,
    /// Spin's runtime-config.toml: which backend serves each key-value store, e.g.
    /// `[key_value_store.default]` with `type = "redis"` and `url = "redis://HOST:PORT"`
    /// (docs/state.md)
    #[arg(long, value_name = "FILE")]
    pub runtime_config: Option<PathBuf>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    manifest::parse_timeout(text)
}

/// `--instance-reuse`: the manifest's `limits.instance_reuse` rule.
fn parse_instance_reuse(text: &str) -> Result<u32, String> {
    let count: i64 = text.parse().map_err(|_| {
        format!("`{text}` is not a number; write how many requests one instance serves, e.g. 128")
    })?;
    manifest::check_instance_reuse(count)
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
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        if self.watch {
            return dev::run(&self.serve, self.clear, ui);
        }
        // Set up while the app is read and checked: it needs nothing from it.
        let engine = PendingEngine::start(self.serve.max_instances);
        let profile = self.serve.profile();
        // Read before building: a mistake in it is found at once, not after a long build.
        let runtime = self.serve.runtime_config()?;
        let mut served = match (&self.file, &self.from) {
            (Some(_), _) if !self.serve.variables.is_empty() => {
                return Err(Hinted::new(
                    "`--variable` gives values to an app's variables, and a component file served alone has none",
                    "serve an app whose wasmctl.toml declares them in `[variables]`",
                )
                .into());
            }
            (Some(file), _) => Served::file(file)?,
            (None, Some(reference)) => {
                let pulled = crate::transfer::pull(reference, self.insecure, ui)?;
                ui.status(
                    "Pulled",
                    format!(
                        "{reference} ({}, {} of {} layers downloaded)",
                        pulled.digest, pulled.downloaded, pulled.layers
                    ),
                );
                // wasmctl's layout brings a wasmctl.toml, Spin's a spin.toml.
                let manifest_path = manifest::in_dir(&pulled.dir)
                    .unwrap_or_else(|| pulled.dir.join(manifest::MANIFEST_FILE));
                let app = manifest::load(&manifest_path)?;
                self.app(&app, profile, ui)?
            }
            (None, None) => self.app(&self.serve.manifest.load()?, profile, ui)?,
        };

        let started = Instant::now();
        let host = self
            .serve
            .new_host(&served, false, runtime.as_ref(), engine, ui)?;
        // Held while the server runs: the copies of file selections it serves.
        let mut stage = FileStage::default();
        let config = served.host_config(&self.serve.settings(), &mut stage)?;
        let progress = ui.progress("up");
        progress.step("compiling components");
        let loaded = host.load(config);
        progress.finish();
        for report in loaded.map_err(wasmctl_serve::explain_load_error)? {
            let (verb, cached) = match report.compilation {
                Compilation::Compiled => ("Compiled", None),
                Compilation::Cached | Compilation::Unchanged => ("Loaded", Some("cached")),
            };
            // 0.2 is the default and goes unsaid; a 0.3 component is named as one.
            let world = (report.world == HttpWorld::Service).then_some("WASI 0.3");
            let notes: Vec<&str> = cached.into_iter().chain(world).collect();
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            };
            ui.status(
                verb,
                format!("{} in {:.0?}{notes}", report.id, report.elapsed),
            );
        }
        let server = self.serve.bind(host, started, ui)?;
        print_routes(server.local_addr(), &served.routes, ui)?;
        server.serve(shutdown_signal())?;
        ui.status("Stopped", "the server shut down");
        Ok(())
    }

    /// An app ready to serve: built first with `--build`, else checked to be built.
    fn app(&self, app: &App, profile: Profile, ui: &Ui) -> Result<Served> {
        // Before building: a missing value is found at once, not after a long build.
        let variables = wasmctl::variables::resolve(app, &self.serve.variables)?;
        wasmctl_serve::check_mounts(app)?;
        let served = Served::app(app, profile, variables);
        if self.build {
            // Builds validate what they produce.
            build_app(
                app,
                &[],
                ui.build_options(profile),
                &mut ui.build_progress(&app.dir),
            )?;
            Ok(served)
        } else {
            let checked = wasmctl_serve::check_built(app, profile, &mut |stale| {
                ui.warn(format!(
                    "component `{}` is older than `{}`: serving the previous build (run `wasmctl up --build` to rebuild)",
                    stale.component,
                    relative(&stale.input, &app.dir)
                ))
            })?;
            Ok(Served { checked, ..served })
        }
    }
}

impl WatchArgs {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        dev::run(&self.serve, self.clear, ui)
    }
}

impl ServeArgs {
    /// The build profile served (and built, with --build or --watch).
    fn profile(&self) -> Profile {
        Profile::debug_if(self.debug)
    }

    /// The settings that change what each component gets.
    fn settings(&self) -> ServeSettings {
        ServeSettings {
            profile: self.profile(),
            env: self.env.clone(),
            request_timeout: self.request_timeout,
            instance_reuse: self.instance_reuse,
            variables: self.variables.clone(),
        }
    }

    /// `--runtime-config`, read and checked.
    fn runtime_config(&self) -> Result<Option<RuntimeConfig>> {
        self.runtime_config
            .as_deref()
            .map(wasmctl::runtime_config::load)
            .transpose()
    }

    /// The engine and server settings; guest output goes to `DIR/.wasmctl/logs/`. The
    /// key-value stores `served` names are opened (and seeded) here, where `runtime`
    /// puts them, before anything is served; `watching` opens the default store anyway,
    /// as a save may grant it.
    fn new_host(
        &self,
        served: &Served,
        watching: bool,
        runtime: Option<&RuntimeConfig>,
        engine: PendingEngine,
        ui: &Ui,
    ) -> Result<Host> {
        let dir = &served.dir;
        let logs = wasmctl::fs_tree::create_own_dir(dir, Path::new(".wasmctl/logs"))?;
        let state = StateDir::new(dir, self.state_dir.as_deref());
        let stores =
            wasmctl_serve::state::open_stores(served, &state, runtime, &self.key_values, watching)?;
        if let Some(runtime) = runtime {
            // A warning, not an error: one runtime config often serves several apps (and
            // SpinKube's pods), and a store another app uses does no harm here.
            for label in runtime.key_value_stores.keys() {
                if !stores.contains_key(label) {
                    ui.warn(format!(
                        "{} configures key-value store `{label}`, which no component of this app names; it is not opened",
                        relative(&runtime.path, dir)
                    ));
                }
            }
        }
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
            output: Some(Arc::new(TerminalAndLogs::new(logs, ui.is_quiet()))),
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
            stores,
            engine: Some(engine),
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

    /// Binds the listening sockets and says so.
    fn bind(&self, host: Host, started: Instant, ui: &Ui) -> Result<BoundServer> {
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

/// The URL of each route, on stdout (scripts and tests wait for these lines).
fn print_routes(addr: SocketAddr, routes: &[(Route, String)], ui: &Ui) -> Result<()> {
    for (route, component) in routes {
        ui.result(format!("http://{addr}{route}  →  {component}"))?;
    }
    Ok(())
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
    Hinted::new(
        format!("could not listen on {addr}: another process is listening there"),
        format!(
            "stop it, or listen on another port, e.g. `--listen {}:0` for any free one",
            addr.ip()
        ),
    )
    .into()
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
