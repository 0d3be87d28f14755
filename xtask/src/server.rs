//! A server process that the benchmarks and the soak start on 127.0.0.1, and what they
//! read of it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A running server, killed when dropped.
pub struct Server(Child);

impl Server {
    /// Starts `command` with its output discarded.
    pub fn spawn(mut command: Command) -> Result<Server> {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        Ok(Server(child))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    pub fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `GET path` on `port` until it answers 200 (bounded by `limit`).
pub fn wait_for_200(port: u16, path: &str, limit: Duration) -> Result<()> {
    if !wait_for(port, path, limit, |response| {
        response.starts_with("HTTP/1.1 200")
    }) {
        bail!("no 200 for GET {path} on port {port} within {limit:?}");
    }
    Ok(())
}

/// Polls `GET path` on `port`, each time on a new connection, until the whole response
/// satisfies `answered`; false if none did within `limit`. Callers say what they waited
/// for.
pub fn wait_for(port: u16, path: &str, limit: Duration, answered: impl Fn(&str) -> bool) -> bool {
    use std::io::{Read, Write};
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.write_all(request.as_bytes());
            let mut response = Vec::new();
            if stream.read_to_end(&mut response).is_ok()
                && answered(&String::from_utf8_lossy(&response))
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// Resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc status")
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
