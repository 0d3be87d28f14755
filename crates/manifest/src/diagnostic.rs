//! Source-located diagnostics for user files (`wasmctl.toml`, template metadata).
//!
//! A [`Diagnostics`] value owns the file's text and path so it can render rustc-style
//! snippets (via `annotate-snippets`) long after parsing is done. Rendering is plain by
//! default (`Display`, used in tests and logs); the CLI asks for [`Diagnostics::render`]
//! with colours when stderr is a terminal.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use crate::hint::Hint;

/// One problem in a file: what is wrong, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, one line: the title after `error:`.
    pub message: String,
    /// Byte range in the file; `None` when the problem is about the file as a whole.
    pub span: Option<Range<usize>>,
    /// Short text shown under the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<Hint>,
}

impl Diagnostic {
    /// A problem with no label or help yet; `span` is a byte range in the file, `None` for
    /// the file as a whole.
    pub fn new(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Self {
            message: message.into(),
            span,
            label: None,
            help: None,
        }
    }

    /// Adds the short text shown under the caret (ignored when there is no span).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds what to do about it, shown as `help:` below the snippet.
    pub fn help(mut self, help: impl Into<Hint>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one file. Never empty.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The file, as the snippets name it (shown relative to the current directory when it
    /// lies under it).
    pub path: PathBuf,
    /// The file's whole text, which the items' spans index into.
    pub source: String,
    /// The problems, at least one, rendered in this order.
    pub items: Vec<Diagnostic>,
}

impl std::error::Error for Diagnostics {}

impl Diagnostics {
    /// Renders all diagnostics, with ANSI colours when `styled`.
    pub fn render(&self, styled: bool) -> String {
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let path = display_path(&self.path);
        let mut out = String::new();
        for item in &self.items {
            let title = Level::ERROR.primary_title(item.message.as_str());
            let mut group = match &item.span {
                Some(span) => {
                    let span = clamp_span(span.clone(), self.source.len());
                    let mut annotation = AnnotationKind::Primary.span(span);
                    if let Some(label) = &item.label {
                        annotation = annotation.label(label.as_str());
                    }
                    title.element(
                        Snippet::source(self.source.as_str())
                            .path(path.as_str())
                            .annotation(annotation),
                    )
                }
                None => title.element(Origin::path(path.as_str())),
            };
            if let Some(help) = &item.help {
                group = group.element(Level::HELP.message(help.text()));
            }
            let report: [Group<'_>; 1] = [group];
            out.push_str(&renderer.render(&report));
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(false).trim_end())
    }
}

/// 1-based line and column of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Paths under the working directory are shown relative to it, like cargo does.
pub fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

fn clamp_span(span: Range<usize>, len: usize) -> Range<usize> {
    let start = span.start.min(len);
    start..span.end.clamp(start, len)
}

/// Turns a TOML syntax or shape error in `source` (the text of a file called `file`, e.g.
/// `wasmctl.toml`) into a diagnostic in words a user can act on: an unknown key gets a
/// "did you mean" and the valid keys, a missing key says to add it, a duplicate key is
/// named, and a wrong type says which type is expected.
pub fn from_toml_error(error: &toml::de::Error, source: &str, file: &str) -> Diagnostic {
    let message = error.message().trim();
    let span = error.span();
    if let Some((field, expected)) = unknown_field(message) {
        let help = suggestion(
            &field,
            expected.iter().map(String::as_str),
            "valid keys here",
        );
        return Diagnostic::new(format!("unknown key `{field}`"), span)
            .label(format!("not a {file} key"))
            .help(help);
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return Diagnostic::new(format!("missing key `{field}`"), span)
            .help(format!("add `{field}` to this table"));
    }
    if message == "duplicate key" {
        let key = span
            .clone()
            .and_then(|span| source.get(span))
            .unwrap_or_default()
            .trim_matches('"');
        return Diagnostic::new(format!("`{key}` is defined twice"), span)
            .help("keep one of them, or give the second another name");
    }
    if let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        let expected = type_in_words(expected);
        let diagnostic = Diagnostic::new(
            format!("wrong type: expected {expected}, found {found}"),
            span,
        );
        let quoted = found.starts_with("string");
        let wants_string = expected.starts_with("a string");
        return match (quoted, wants_string) {
            (true, false) => diagnostic.help("remove the quotes"),
            (false, true) if !found.starts_with("sequence") && !found.starts_with("map") => {
                diagnostic.help("put the value in quotes")
            }
            _ => diagnostic,
        };
    }
    Diagnostic::new(message, span)
}

/// serde's name of an expected type, as a user would say it.
fn type_in_words(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "isize" | "usize" => {
            "a whole number".to_string()
        }
        "a sequence" => "a list, `[...]`".to_string(),
        "a boolean" => "`true` or `false`".to_string(),
        "a string" => "a string, in quotes".to_string(),
        "a map" => "a table".to_string(),
        other if other.starts_with("struct ") => "a table".to_string(),
        other => other.to_string(),
    }
}

/// Picks apart serde's "unknown field `x`, expected one of `a`, `b`" message.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((field.to_string(), expected))
}

/// The one way wasmctl answers a name it does not know: "did you mean `x`? KIND: a, b, c"
/// when a candidate is close enough to be a plausible typo ([`did_you_mean`]), else
/// "KIND: a, b, c" ("KIND: none" when there are no candidates). `kind` names the list, as
/// "its components" or "valid keys here".
pub fn suggestion<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    kind: &str,
) -> Hint {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let listed = if candidates.is_empty() {
        "none".to_string()
    } else {
        candidates.join(", ")
    };
    Hint::new(match did_you_mean(word, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? {kind}: {listed}"),
        None => format!("{kind}: {listed}"),
    })
}

/// The closest candidate to `word`, if any is close enough to be a plausible typo, or
/// else the only one that has `word` as a whole part (`route` for `http_route`).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    let closest = candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), *candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate);
    closest.or_else(|| {
        let mut containing = candidates.iter().filter(|candidate| {
            word.len() >= 3
                && candidate
                    .split(['_', '-'])
                    .any(|part| part.eq_ignore_ascii_case(word))
        });
        match (containing.next(), containing.next()) {
            (Some(only), None) => Some(*only),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 4));
    }

    #[test]
    fn did_you_mean_finds_typos_only() {
        let keys = ["source", "environment", "files"];
        assert_eq!(did_you_mean("sorce", keys), Some("source"));
        assert_eq!(did_you_mean("enviroment", keys), Some("environment"));
        assert_eq!(did_you_mean("zzz", keys), None);
        let parameters = ["description", "http_route", "authors"];
        assert_eq!(did_you_mean("route", parameters), Some("http_route"));
        assert_eq!(did_you_mean("name", ["app_name", "template_name"]), None);
    }

    #[test]
    fn suggestion_has_one_format() {
        let ids = ["api", "web"];
        assert_eq!(
            suggestion("apu", ids, "its components").text(),
            "did you mean `api`? its components: api, web"
        );
        assert_eq!(
            suggestion("zzz", ids, "its components").text(),
            "its components: api, web"
        );
        assert_eq!(
            suggestion("x", [], "its parameters").text(),
            "its parameters: none"
        );
    }
}
