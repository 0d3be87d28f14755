//! A server process under test: started, waited for, measured, stopped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long `wasmctl up` may take to print its routes: it compiles every component first
/// (no cache on a first run), on a loaded 2-core CI machine.
const START_LIMIT: Duration = Duration::from_secs(120);

/// How long [`Server::wait_for_stderr`] waits: what it waits for follows a request.
const STDERR_LIMIT: Duration = Duration::from_secs(10);

/// How long a server may take to stop after SIGTERM: it finishes the requests in flight.
const TERMINATE_LIMIT: Duration = Duration::from_secs(30);

/// A running server on 127.0.0.1, killed (and reaped) when dropped, so a failing test or
/// an interrupted benchmark leaves no server behind. Everything it prints is kept: tests
/// assert on it, and a failure shows it.
pub struct Server {
    child: Child,
    /// `http://HOST:PORT`.
    base: String,
    stdout: Output,
    stderr: Output,
}

/// What a server printed on one stream so far, filled by a thread reading the pipe (an
/// unread pipe would block the server once its buffer is full).
type Output = Arc<Mutex<String>>;

impl Server {
    /// Starts `up`, a `wasmctl up` command (program, arguments, directory, environment),
    /// on a port of 127.0.0.1 that the system picks (`--listen 127.0.0.1:0`), and waits
    /// (at most two minutes) until it prints its first route's URL: it has bound its
    /// sockets and serves from then on. The URL is how the port is learnt, so no port is
    /// chosen here that another process could take first. The error holds what the server
    /// said on stderr.
    pub fn start(up: Command) -> Result<Server> {
        Self::start_within(up, START_LIMIT)
    }

    /// [`Server::start`], waiting up to `limit` instead of two minutes: for `up --build`,
    /// which installs packages and builds before it compiles.
    pub fn start_within(mut up: Command, limit: Duration) -> Result<Server> {
        up.args(["--listen", "127.0.0.1:0"]);
        let started = Started::spawn(up)?;
        match started.routes.recv_timeout(limit) {
            Ok(authority) => Ok(started.serving(format!("http://{authority}"))),
            Err(_) => Err(started.failed(format!(
                "wasmctl up did not start (no route printed within {limit:?})"
            ))),
        }
    }

    /// Starts `command`, a server already told to listen on 127.0.0.1:`port`, and waits
    /// (at most two minutes) until `GET ready_path` answers 200: for servers that print
    /// no route lines (a peer such as `wasmtime serve`), and for timing the whole way from
    /// process start to a first answer.
    pub fn start_on_port(command: Command, port: u16, ready_path: &str) -> Result<Server> {
        let started = Started::spawn(command)?;
        let address = format!("127.0.0.1:{port}");
        match crate::http::wait_for_200(&address, ready_path, START_LIMIT) {
            Ok(()) => Ok(started.serving(format!("http://{address}"))),
            Err(error) => Err(started.failed(error.to_string())),
        }
    }

    /// `http://HOST:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `HOST:PORT` of the server, for raw connections.
    pub fn address(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// Everything the server printed on stdout so far (`wasmctl up`: its routes).
    pub fn stdout(&self) -> String {
        read(&self.stdout)
    }

    /// Everything the server printed on stderr so far (status lines, guest output, logs).
    pub fn stderr(&self) -> String {
        read(&self.stderr)
    }

    /// Waits (at most 10 s) until stderr contains `needle`; whether it did.
    pub fn wait_for_stderr(&self, needle: &str) -> bool {
        self.wait_for(&self.stderr, needle)
    }

    /// Waits (at most 10 s) until stdout contains `needle` (a route line printed after a
    /// reload, which requests may see served before it is printed); whether it did.
    pub fn wait_for_stdout(&self, needle: &str) -> bool {
        self.wait_for(&self.stdout, needle)
    }

    fn wait_for(&self, output: &Output, needle: &str) -> bool {
        let deadline = Instant::now() + STDERR_LIMIT;
        while Instant::now() < deadline {
            if read(output).contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The server's resident memory, in KiB (Linux: `/proc`): what a leak grows.
    pub fn rss_kib(&self) -> Result<u64> {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("the server (process {pid}) is gone"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS in /proc/{pid}/status (the server exited)"))
    }

    /// What each of the server's file descriptors points at (`socket:[123]`, a path,
    /// `anon_inode:[eventfd]`, ...; Linux: `/proc`): their number is what a descriptor
    /// leak grows, their names say what leaked.
    pub fn open_files(&self) -> Result<Vec<String>> {
        let pid = self.child.id();
        let entries = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .with_context(|| format!("the server (process {pid}) is gone"))?;
        Ok(entries
            .filter_map(Result::ok)
            .map(|entry| {
                // A descriptor closed between listing and reading it.
                std::fs::read_link(entry.path())
                    .map(|target| target.display().to_string())
                    .unwrap_or_else(|_| "(closed)".to_string())
            })
            .collect())
    }

    /// Sends SIGTERM, as a service manager stops a server, and waits (at most 30 s) for
    /// its exit status.
    pub fn terminate(&mut self) -> Result<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("running kill")?;
        if !sent.success() {
            bail!("kill -TERM {pid} failed ({sent})");
        }
        let deadline = Instant::now() + TERMINATE_LIMIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the server did not stop within {TERMINATE_LIMIT:?} of SIGTERM; it said:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server and reaps it (SIGKILL: nothing of its shutdown is measured).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server process just started, not yet known to serve.
struct Started {
    child: Child,
    stdout: Output,
    stderr: Output,
    /// Ends when the server's stderr closes: then `stderr` holds all it said.
    stderr_reader: JoinHandle<()>,
    /// The `HOST:PORT` of every stdout line that starts with `http://` (`wasmctl up`
    /// prints one per route).
    routes: Receiver<String>,
}

impl Started {
    /// Starts `command` with stdin closed and both outputs captured.
    fn spawn(mut command: Command) -> Result<Started> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let (routes, routes_rx) = mpsc::channel();
        let (stdout, _) = capture(child.stdout.take().expect("piped"), Some(routes));
        let (stderr, stderr_reader) = capture(child.stderr.take().expect("piped"), None);
        Ok(Started {
            child,
            stdout,
            stderr,
            stderr_reader,
            routes: routes_rx,
        })
    }

    /// It serves at `base` (`http://HOST:PORT`).
    fn serving(self, base: String) -> Server {
        Server {
            child: self.child,
            base,
            stdout: self.stdout,
            stderr: self.stderr,
        }
    }

    /// It did not come up: kills it and returns `why` with what it said on stderr, all of
    /// it (read to the end, for a few seconds at most: a process it started could hold
    /// the pipe open).
    fn failed(mut self, why: String) -> anyhow::Error {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.stderr_reader.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        anyhow::anyhow!("{why}; it said:\n{}", read(&self.stderr))
    }
}

/// Reads `pipe` line by line on a thread until it closes, into the returned buffer; sends
/// the authority of each route URL to `routes`.
fn capture(
    pipe: impl Read + Send + 'static,
    routes: Option<Sender<String>>,
) -> (Output, JoinHandle<()>) {
    let output = Output::default();
    let buffer = output.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            {
                let mut text = buffer.lock().unwrap_or_else(PoisonError::into_inner);
                text.push_str(&line);
                text.push('\n');
            }
            // After the line is kept, so the route that made the server ready is in its
            // stdout by then.
            if let (Some(routes), Some(url)) = (&routes, line.strip_prefix("http://")) {
                let authority = url.split('/').next().unwrap_or_default().to_string();
                // The receiver is gone once the server was found ready (or not).
                let _ = routes.send(authority);
            }
        }
    });
    (output, reader)
}

fn read(output: &Output) -> String {
    output
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for `wasmctl up`: `sh -c SCRIPT`, which takes the `--listen` arguments
    /// `start` adds as its `$0` and `$1`.
    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn the_first_route_printed_says_where_it_serves_and_is_kept() {
        let mut server = Server::start(sh(
            "echo 'http://127.0.0.1:4321/api/...  →  api'; echo listening >&2; exec sleep 30",
        ))
        .unwrap();
        assert_eq!(server.address(), "127.0.0.1:4321");
        assert_eq!(server.url("/api/x"), "http://127.0.0.1:4321/api/x");
        assert!(server.stdout().contains("/api/...  →  api"));
        assert!(server.wait_for_stderr("listening"), "{}", server.stderr());
        assert!(server.is_running());
        assert!(server.rss_kib().unwrap() > 0);
        assert!(!server.open_files().unwrap().is_empty());
        let status = server.terminate().unwrap();
        assert!(!status.success(), "sleep ends by the signal: {status}");
    }

    #[test]
    fn a_server_that_ends_without_a_route_fails_at_once_with_all_it_said() {
        let started = Instant::now();
        let error = Server::start(sh("echo 'port in use' >&2; exit 1"))
            .err()
            .expect("no route, no server");
        assert!(
            format!("{error:#}").contains("did not start")
                && error.to_string().contains("port in use"),
            "{error:#}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
