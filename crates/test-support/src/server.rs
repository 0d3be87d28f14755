//! A server process under test: started, waited for, measured, stopped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
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
    pub fn start(mut up: Command) -> Result<Server> {
        up.args(["--listen", "127.0.0.1:0"]);
        let (child, stdout, stderr, routes) = spawn(up)?;
        let mut server = Server {
            child,
            base: String::new(),
            stdout,
            stderr,
        };
        match routes.recv_timeout(START_LIMIT) {
            Ok(authority) => {
                server.base = format!("http://{authority}");
                Ok(server)
            }
            Err(_) => {
                server.stop();
                bail!(
                    "wasmctl up did not start (no route printed within {START_LIMIT:?}); it said:\n{}",
                    server.stderr()
                )
            }
        }
    }

    /// Starts `command`, a server already told to listen on 127.0.0.1:`port`, and waits
    /// (at most two minutes) until `GET ready_path` answers 200: for servers that print
    /// no route lines (a peer such as `wasmtime serve`), and for timing the whole way from
    /// process start to a first answer.
    pub fn start_on_port(command: Command, port: u16, ready_path: &str) -> Result<Server> {
        let (child, stdout, stderr, _routes) = spawn(command)?;
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout,
            stderr,
        };
        if let Err(error) = crate::http::wait_for_200(&server.address(), ready_path, START_LIMIT) {
            server.stop();
            return Err(error.context(format!("the server said:\n{}", server.stderr())));
        }
        Ok(server)
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
        let deadline = Instant::now() + STDERR_LIMIT;
        while Instant::now() < deadline {
            if self.stderr().contains(needle) {
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

/// Starts `command` with stdin closed and both outputs captured; the receiver gets the
/// `HOST:PORT` of every line that starts with `http://` (`wasmctl up` prints one per route).
fn spawn(mut command: Command) -> Result<(Child, Output, Output, Receiver<String>)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let (routes, routes_rx) = mpsc::channel();
    let stdout = capture(child.stdout.take().expect("piped"), Some(routes));
    let stderr = capture(child.stderr.take().expect("piped"), None);
    Ok((child, stdout, stderr, routes_rx))
}

/// Reads `pipe` line by line on a thread until it closes, into the returned buffer; sends
/// the authority of each route URL to `routes`.
fn capture(pipe: impl Read + Send + 'static, routes: Option<Sender<String>>) -> Output {
    let output = Output::default();
    let buffer = output.clone();
    std::thread::spawn(move || {
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
    output
}

fn read(output: &Output) -> String {
    output
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}
