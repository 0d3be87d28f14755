//! Running child processes (cargo, build commands) with their output streamed line by line.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;

/// One line a child printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line of standard output, without its line ending.
    Stdout(String),
    /// A line of standard error, without its line ending.
    Stderr(String),
}

/// Runs `command` to completion, handing every output line to `on_line` as it arrives.
///
/// Both streams are read on their own threads so a child blocked on a full stderr pipe
/// can never deadlock us while we wait on its stdout.
pub fn run_lines(
    command: &mut Command,
    mut on_line: impl FnMut(Line),
) -> std::io::Result<ExitStatus> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (sender, receiver) = mpsc::channel();
    let readers = [
        forward(
            child.stdout.take().expect("stdout is piped"),
            sender.clone(),
            Line::Stdout,
        ),
        forward(
            child.stderr.take().expect("stderr is piped"),
            sender,
            Line::Stderr,
        ),
    ];
    for line in receiver {
        on_line(line);
    }
    for reader in readers {
        let _ = reader.join();
    }
    child.wait()
}

fn forward(
    stream: impl Read + Send + 'static,
    sender: mpsc::Sender<Line>,
    wrap: fn(String) -> Line,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if sender.send(wrap(line)).is_err() {
                break;
            }
        }
    })
}

/// The last 20 lines of a stream, for error messages.
#[derive(Debug, Default)]
pub struct Tail {
    lines: std::collections::VecDeque<String>,
}

impl Tail {
    const CAPACITY: usize = 20;

    /// Keeps `line`, forgetting the oldest once 20 are kept.
    pub fn push(&mut self, line: &str) {
        if self.lines.len() == Self::CAPACITY {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
    }

    /// The kept lines, indented for an error message; a note when there were none.
    pub fn render(&self) -> String {
        if self.lines.is_empty() {
            return "  (no output)".to_string();
        }
        self.lines
            .iter()
            .map(|l| format!("  | {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// How long a probe of a tool (`TOOL --version`) may run: a shim that prompts, or a
/// wrapper that hangs, must not hang `build` or `doctor` with it.
pub const PROBE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The most a probe's standard output is read: a version line is short, and a tool that
/// prints without end must not fill the memory.
const PROBE_OUTPUT: u64 = 4096;

/// What a probe printed and how it ended.
#[derive(Debug)]
pub struct Probe {
    /// How it exited.
    pub status: ExitStatus,
    /// Its standard output: at most 4 KiB, lossily decoded.
    pub stdout: String,
}

/// Why a probe gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The program could not be started (`NotFound`: not on PATH).
    #[error("could not be run: {0}")]
    Spawn(#[source] std::io::Error),
    /// It ran past its time limit ([`PROBE_LIMIT`]) and was killed.
    #[error("did not finish within {0:?}")]
    TimedOut(std::time::Duration),
}

/// Runs a short-lived `command` (stdin closed, stderr discarded), reading at most 4 KiB of
/// its output and killing it after [`PROBE_LIMIT`].
pub fn probe(command: &mut Command) -> Result<Probe, ProbeError> {
    probe_within(command, PROBE_LIMIT)
}

fn probe_within(command: &mut Command, limit: std::time::Duration) -> Result<Probe, ProbeError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(ProbeError::Spawn)?;
    let stdout = child.stdout.take().expect("stdout is piped");
    // Reading stops at the bound and closes the pipe, so a child that writes on gets
    // EPIPE and ends instead of blocking.
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.take(PROBE_OUTPUT).read_to_end(&mut bytes);
        bytes
    });
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProbeError::TimedOut(limit));
            }
        }
    };
    let bytes = reader.join().unwrap_or_default();
    Ok(Probe {
        status,
        stdout: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_reads_a_bounded_answer_and_never_waits_forever() {
        let answer = probe(Command::new("sh").args(["-c", "echo v20.1.0"])).unwrap();
        assert!(answer.status.success());
        assert_eq!(answer.stdout, "v20.1.0\n");
        // Output without end: 4 KiB are kept, the pipe is closed, the writer ends.
        let endless = probe(Command::new("yes").arg("1234567890")).unwrap();
        assert_eq!(endless.stdout.len(), 4096);
        // A program that never answers is killed at the limit.
        let started = std::time::Instant::now();
        let hung = probe_within(
            Command::new("sleep").arg("30"),
            std::time::Duration::from_millis(200),
        );
        assert!(matches!(hung, Err(ProbeError::TimedOut(_))), "{hung:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
