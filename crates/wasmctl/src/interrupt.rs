//! Ctrl-C for commands that write: the first SIGINT is noted, and the work stops at its
//! next check ([`check`], [`interruptible`] for async work, [`Checked`] for a long read),
//! unwinding through its staging guards so nothing half-written stays behind; the command
//! then exits 130.
//!
//! Work that does not reach a check in [`GRACE`] (a prompt waiting for a line, a blocking
//! call) is ended then, as is everything at a second SIGINT: Ctrl-C always stops a
//! command promptly. `up` and `watch` do not install this; their server shuts down
//! gracefully on Ctrl-C instead.
//!
//! Ending the process skips the code that would put the terminal back, so the ending puts
//! back the settings the command found (a password prompt turns echo off until it reads a
//! line) and shows the cursor, then says why it ended.

#[cfg(unix)]
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How long interrupted work has to reach a check before the process ends without it.
pub const GRACE: Duration = Duration::from_secs(2);

/// The exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_CODE: u8 = 130;

/// The command was stopped by Ctrl-C.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("interrupted; nothing half-written was left behind")]
pub struct Interrupted;

/// Catches SIGINT for the rest of the process (also when the parent ignored it, as a
/// shell does for background jobs). `farewell` is written to stderr if the process has to
/// be ended before the command reports the interruption itself.
#[cfg(unix)]
pub fn install(farewell: String) -> std::io::Result<()> {
    let _ = FAREWELL.set(farewell);
    if let Some(terminal) = Terminal::found() {
        let _ = TERMINAL.set(terminal);
    }
    let action = || {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // The second Ctrl-C: the user does not want to wait.
            end_now();
        }
    };
    // SAFETY: the action only touches an atomic and calls `end_now`, both
    // async-signal-safe.
    unsafe { signal_hook_registry::register(libc::SIGINT, action) }?;
    std::thread::Builder::new()
        .name("interrupt-grace".into())
        .spawn(|| {
            while !is_set() {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(GRACE);
            // The main thread had its chance to unwind.
            end_now();
        })?;
    Ok(())
}

#[cfg(not(unix))]
pub fn install(_farewell: String) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
static FAREWELL: OnceLock<String> = OnceLock::new();

#[cfg(unix)]
static TERMINAL: OnceLock<Terminal> = OnceLock::new();

/// The controlling terminal and its settings when the command started.
#[cfg(unix)]
struct Terminal {
    fd: std::os::fd::RawFd,
    settings: libc::termios,
}

#[cfg(unix)]
impl Terminal {
    /// `None` without a controlling terminal (a pipe, a service).
    fn found() -> Option<Terminal> {
        use std::os::fd::IntoRawFd;
        use std::os::unix::fs::OpenOptionsExt;

        // Whichever of stdin or `/dev/tty` a prompt reads, its settings are the controlling
        // terminal's. Kept open (close-on-exec) for the rest of the process.
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open("/dev/tty")
            .ok()?;
        let fd = tty.into_raw_fd();
        let settings = settings_of(fd)?;
        Some(Terminal { fd, settings })
    }
}

/// `tcgetattr`; async-signal-safe.
#[cfg(unix)]
fn settings_of(fd: std::os::fd::RawFd) -> Option<libc::termios> {
    let mut settings = std::mem::MaybeUninit::uninit();
    // SAFETY: `tcgetattr` fills `settings` when it returns 0.
    (unsafe { libc::tcgetattr(fd, settings.as_mut_ptr()) } == 0)
        .then(|| unsafe { settings.assume_init() })
}

/// Puts the terminal back as the command found it, says why the process ends, and ends
/// it with [`EXIT_CODE`]. Async-signal-safe: `tcgetattr`, `tcsetattr`, `write` and `_exit`
/// only, on what `install` prepared.
#[cfg(unix)]
fn end_now() -> ! {
    if let Some(terminal) = TERMINAL.get()
        && let Some(now) = settings_of(terminal.fd)
    {
        let flags = |settings: &libc::termios| {
            (
                settings.c_iflag,
                settings.c_oflag,
                settings.c_cflag,
                settings.c_lflag,
            )
        };
        // Only when a prompt changed them: a background job setting the terminal would be
        // stopped by SIGTTOU instead of ending.
        if flags(&now) != flags(&terminal.settings) {
            let show_cursor = b"\x1b[?25h\n";
            // SAFETY: plain system calls on an open descriptor and live buffers; a failure
            // leaves the terminal as it is, which is all that could be done anyway.
            unsafe {
                libc::tcsetattr(terminal.fd, libc::TCSANOW, &terminal.settings);
                libc::write(terminal.fd, show_cursor.as_ptr().cast(), show_cursor.len());
            }
        }
    }
    if let Some(farewell) = FAREWELL.get() {
        // SAFETY: writes a live buffer to stderr.
        unsafe {
            libc::write(
                libc::STDERR_FILENO,
                farewell.as_ptr().cast(),
                farewell.len(),
            )
        };
    }
    // SAFETY: ends the process at once, as intended.
    unsafe { libc::_exit(i32::from(EXIT_CODE)) }
}

/// Whether Ctrl-C was pressed.
pub fn is_set() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Stops the work here if Ctrl-C was pressed.
pub fn check() -> Result<(), Interrupted> {
    if is_set() { Err(Interrupted) } else { Ok(()) }
}

/// Runs `work` until it ends or Ctrl-C is pressed; then it is dropped (its staging files
/// with it) and the result is [`Interrupted`].
pub async fn interruptible<T, E: From<Interrupted>>(
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::select! {
        result = work => result,
        () = pressed() => Err(Interrupted.into()),
    }
}

/// A reader that stops at Ctrl-C, for copies long enough to outlast [`GRACE`] (one large
/// archive entry): the work ends within a read, and its staging is unwound.
pub struct Checked<R>(pub R);

impl<R: std::io::Read> std::io::Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        check().map_err(std::io::Error::other)?;
        self.0.read(buf)
    }
}

async fn pressed() {
    while !is_set() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
