//! Help as data: what a user can do about an error, kept apart from the message that
//! says what went wrong.
//!
//! An error's `Display` is its message only. The hint travels beside it, in a [`Hinted`]
//! error or from a typed error's own `hint()` method, and whoever presents the error reads
//! it from there: the terminal prints `help: TEXT` after the message it belongs to,
//! `--json` lists it under `help`, and `docs/errors.md` shows what the terminal printed.

use std::error::Error;
use std::fmt;

/// What the user can do about an error, in a sentence or two ("run `wasmctl build`
/// first").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Hint(String);

impl Hint {
    /// A hint of this text, a sentence without the `help: ` its readers put before it.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// What to do, as text.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// This hint and then `more`, one clause after another.
    pub fn then(self, more: impl fmt::Display) -> Self {
        Self(format!("{}; {more}", self.0))
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Hint {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Hint {
    fn from(text: &str) -> Self {
        Self(text.to_string())
    }
}

/// An error message with a [`Hint`]: what went wrong, and what to do about it.
///
/// `Display` is the message only. With [`Hinted::because`], a typed error becomes its
/// source: it is still found by downcasting the causes of the error chain, and printed
/// as a cause.
#[derive(Debug)]
pub struct Hinted {
    message: String,
    hint: Hint,
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl Hinted {
    /// The error `message` (what went wrong), with `hint` (what to do about it).
    pub fn new(message: impl Into<String>, hint: impl Into<Hint>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
            source: None,
        }
    }

    /// The error this one happened because of (the message says what that meant). A
    /// typed error, not an `anyhow::Error`: boxed as itself, it stays visible to
    /// `downcast_ref` (and so its hint to `wasmctl::hint::of`), which a boxed
    /// `anyhow::Error` would hide.
    pub fn because(mut self, source: impl Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong; also the error's `Display`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it.
    pub fn hint(&self) -> &Hint {
        &self.hint
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Hinted {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("typed")]
    struct Typed;

    #[test]
    fn display_is_the_message_and_the_source_stays_typed() {
        let error = anyhow::Error::new(Hinted::new("it failed", "do this").because(Typed));
        assert_eq!(error.to_string(), "it failed");
        let hinted = error.downcast_ref::<Hinted>().expect("a Hinted");
        assert_eq!(hinted.hint().text(), "do this");
        assert!(error.chain().any(|cause| cause.is::<Typed>()));
    }
}
