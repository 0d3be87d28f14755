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
