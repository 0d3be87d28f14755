//! Ctrl-C for commands that write: the first SIGINT is noted, and the work stops at its
//! next check ([`check`], or [`interruptible`] for async work), unwinding through its
//! staging guards so nothing half-written stays behind; the command then exits 130.
//!
//! Work that does not reach a check in [`GRACE`] (a prompt waiting for a line, a blocking
//! call) is ended then, as is everything at a second SIGINT: Ctrl-C always stops a
//! command promptly. `up` and `watch` do not install this; their server shuts down
//! gracefully on Ctrl-C instead.

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
/// shell does for background jobs).
#[cfg(unix)]
pub fn install() -> std::io::Result<()> {
    let action = || {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // The second Ctrl-C: the user does not want to wait.
            // SAFETY: `_exit` is async-signal-safe.
            unsafe { libc::_exit(i32::from(EXIT_CODE)) };
        }
    };
    // SAFETY: the action only touches an atomic and calls `_exit`, both async-signal-safe.
    unsafe { signal_hook_registry::register(libc::SIGINT, action) }?;
    std::thread::Builder::new()
        .name("interrupt-grace".into())
        .spawn(|| {
            while !is_set() {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(GRACE);
            // SAFETY: ends the process at once; the main thread had its chance to unwind.
            unsafe { libc::_exit(i32::from(EXIT_CODE)) };
        })?;
    Ok(())
}

#[cfg(not(unix))]
pub fn install() -> std::io::Result<()> {
    Ok(())
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

async fn pressed() {
    while !is_set() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
