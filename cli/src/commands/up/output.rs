//! What `up` prints while serving: guest output (on stderr and in `.wasmctl/logs/`) and
//! the access log.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use clap::ValueEnum;
use console::Style;
use wasmctl_host::{AccessLog, GuestOutput, RequestRecord, Stream};

/// How the access log is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// For people, and only with -v.
    Text,
    /// For machines, always: one JSON object per line.
    Json,
}

/// Guest output: prefixed with the component id on stderr, and appended to
/// `<dir>/<id>.log` (opened on a component's first line, so components added by a
/// reload get theirs too).
pub(super) struct TerminalAndLogs {
    dir: PathBuf,
    files: Mutex<HashMap<String, Option<File>>>,
    quiet: bool,
}

impl TerminalAndLogs {
    /// Logs go to `dir`; `quiet` keeps guest output off the terminal.
    pub(super) fn new(dir: PathBuf, quiet: bool) -> Self {
        Self {
            dir,
            files: Mutex::new(HashMap::new()),
            quiet,
        }
    }
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
pub(super) struct AccessLines {
    pub(super) format: LogFormat,
    /// Log successful health checks too.
    pub(super) health_checks: bool,
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
