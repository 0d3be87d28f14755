//! Project templates: their format, validation and rendering.
//!
//! A template is a directory with a `template.toml` metadata file and a `content/` tree of
//! handlebars files; file *names* are templates too. Templates come from the binary itself
//! ([`catalog`]'s embedded set) or from the user's data directory once installed.
//!
//! Rendering never touches the network and never leaves a half-written project: files are
//! rendered into a staging directory next to the target, which is renamed into place only
//! when everything succeeded.

pub mod add;
pub mod catalog;

use std::collections::BTreeMap;
use std::path::{Component as PathPart, Path, PathBuf};

use anyhow::{Context, Result, bail};
use handlebars::template::TemplateElement;
use handlebars::{Handlebars, handlebars_helper};
use regex::Regex;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::hint::{Hint, Hinted};
use crate::manifest::{self, App, MANIFEST_FILE};
use crate::names::check_name;

/// The metadata file at the root of every template.
pub const METADATA_FILE: &str = "template.toml";
/// The directory holding the files to render.
pub const CONTENT_DIR: &str = "content";
/// Variables every template gets without declaring them.
pub const BUILTIN_VARIABLES: [&str; 1] = ["project_name"];

/// A loaded, validated template.
#[derive(Debug, Clone)]
pub struct Template {
    /// `template.toml`'s `name`, which `wasmctl new` and `add` take: ASCII letters,
    /// digits, `-` and `_`, starting with a letter. An installed template never takes a
    /// built-in one's name.
    pub name: String,
    /// What the template makes, in a sentence, as `wasmctl templates list` shows it.
    pub description: String,
    /// The values it asks for, in `template.toml` order (besides
    /// [`BUILTIN_VARIABLES`]); names are unique.
    pub parameters: Vec<Parameter>,
    /// Embedded in the binary or installed, and where.
    pub origin: Origin,
    files: Vec<TemplateFile>,
}

/// Where a template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the wasmctl binary.
    Embedded,
    /// Installed with `wasmctl templates install` into this directory.
    Installed(PathBuf),
}

/// A value the template asks for.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// The handlebars variable name.
    pub name: String,
    /// The question shown on a terminal.
    pub prompt: String,
    /// The value taken when the user gives none; empty when `template.toml` has no
    /// `default`. Always matches [`Parameter::pattern`].
    pub default: String,
    /// Values must match this pattern as a whole.
    pub pattern: Option<Pattern>,
}

/// A regex as the template author wrote it, matched against whole values.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    anchored: Regex,
}

impl Pattern {
    fn new(text: String) -> Result<Self, regex::Error> {
        let anchored = Regex::new(&format!("^(?:{text})$"))?;
        Ok(Self { text, anchored })
    }

    /// The pattern as written in `template.toml`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern matches all of `value`, not just part of it.
    pub fn is_match(&self, value: &str) -> bool {
        self.anchored.is_match(value)
    }
}

impl Parameter {
    /// Checks a value against the declared pattern.
    pub fn check(&self, value: &str) -> Result<(), String> {
        match &self.pattern {
            Some(pattern) if !pattern.is_match(value) => Err(format!(
                "value `{value}` for `{}` does not match the pattern `{}`",
                self.name,
                pattern.as_str()
            )),
            _ => Ok(()),
        }
    }
}

/// One file of `content/`, path relative to it.
#[derive(Debug, Clone)]
struct TemplateFile {
    path: PathBuf,
    contents: Vec<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    name: toml::Spanned<String>,
    description: String,
    #[serde(default)]
    parameters: Vec<toml::Spanned<RawParameter>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    name: String,
    prompt: String,
    default: Option<toml::Spanned<String>>,
    pattern: Option<toml::Spanned<String>>,
}

impl Template {
    /// Builds a template from its metadata text and content files, validating both.
    ///
    /// `metadata_path` is only used to locate errors.
    fn from_parts(
        metadata_path: &Path,
        metadata: &str,
        files: Vec<TemplateFile>,
        origin: Origin,
    ) -> Result<Template> {
        let located = |items: Vec<Diagnostic>| Diagnostics {
            path: metadata_path.to_path_buf(),
            source: metadata.to_string(),
            items,
        };
        let raw: RawMetadata = toml::from_str(metadata).map_err(|error| {
            located(vec![crate::diagnostic::from_toml_error(
                &error,
                metadata,
                METADATA_FILE,
            )])
        })?;
        let mut problems = Vec::new();
        if let Err(message) = check_name("template name", raw.name.get_ref()) {
            problems.push(Diagnostic::new(message, Some(raw.name.span())));
        }
        let mut parameters: Vec<Parameter> = Vec::new();
        for spanned in raw.parameters {
            let span = spanned.span();
            let raw = spanned.into_inner();
            match parameter(raw, &parameters) {
                Ok(parameter) => parameters.push(parameter),
                Err(problem) => problems.push(problem.at_table(span)),
            }
        }
        if !problems.is_empty() {
            return Err(located(problems).into());
        }
        if files.is_empty() {
            bail!(
                "template `{}` has no files under `{CONTENT_DIR}/`; put the project's files there",
                raw.name.get_ref()
            );
        }
        let template = Template {
            name: raw.name.into_inner(),
            description: raw.description,
            parameters,
            origin,
            files,
        };
        template.check_syntax()?;
        Ok(template)
    }

    /// Compiles every file name and text file so broken templates are refused up front.
    fn check_syntax(&self) -> Result<()> {
        let help = "close every `{{#block}}` with its `{{/block}}` and every `{{` with `}}`; write `\\{{` for literal braces";
        for file in &self.files {
            let display = file.path.display().to_string();
            let text = std::str::from_utf8(&file.contents).ok();
            for (source, what) in [(Some(display.as_str()), "the file name "), (text, "")] {
                if let Some(source) = source
                    && let Err((problem, hint)) = check_limits(source)
                {
                    let message = format!(
                        "template `{}`: {what}`{CONTENT_DIR}/{display}` {problem}",
                        self.name
                    );
                    return Err(match hint {
                        Some(hint) => Hinted::new(message, hint).into(),
                        None => anyhow::Error::msg(message),
                    });
                }
            }
            if let Err(error) = handlebars::Template::compile(&display) {
                bail!(Hinted::new(
                    format!(
                        "template `{}`: the file name `{CONTENT_DIR}/{display}` is not a valid handlebars template: {}",
                        self.name,
                        syntax_problem(&error)
                    ),
                    help
                ));
            }
            if let Ok(text) = std::str::from_utf8(&file.contents)
                && let Err(error) = handlebars::Template::compile(text)
            {
                let at = match error.pos() {
                    Some((line, column)) => format!(":{line}:{column}"),
                    None => String::new(),
                };
                bail!(Hinted::new(
                    format!(
                        "template `{}`: `{CONTENT_DIR}/{display}{at}` is not a valid handlebars template: {}",
                        self.name,
                        syntax_problem(&error)
                    ),
                    help
                ));
            }
        }
        Ok(())
    }

    /// Reads a template from a directory holding `template.toml` and `content/`.
    pub fn from_dir(dir: &Path, origin: Origin) -> Result<Template> {
        let metadata_path = dir.join(METADATA_FILE);
        let metadata = crate::limits::read_text(&metadata_path, crate::limits::TEXT_FILE)
            .with_context(|| {
                format!(
                    "`{}` is not a template: it has no readable `{METADATA_FILE}`",
                    dir.display()
                )
            })?;
        let content = dir.join(CONTENT_DIR);
        if !content.is_dir() {
            bail!(Hinted::new(
                format!(
                    "`{}` is not a template: it has no `{CONTENT_DIR}/` directory",
                    dir.display()
                ),
                format!(
                    "put the files the template renders in `{}`",
                    content.display()
                )
            ));
        }
        let mut files = Vec::new();
        read_tree(&content, Path::new(""), &mut files)?;
        Template::from_parts(&metadata_path, &metadata, files, origin)
    }

    /// Number of files the template renders.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Renders into `target`, which must not exist or be an empty directory.
    ///
    /// `values` must hold a checked value for every declared parameter.
    pub fn render(
        &self,
        project_name: &str,
        values: &BTreeMap<String, String>,
        target: &Path,
    ) -> Result<()> {
        ensure_empty_target(target)?;
        self.check_manifest(project_name, values)?;
        // Stage next to the target so the final rename stays on one filesystem.
        let anchor = nearest_existing_ancestor(target)?;
        let staging = crate::fs_tree::staging_dir(".wasmctl-new-")
            .tempdir_in(&anchor)
            .with_context(|| format!("creating a staging directory in `{}`", anchor.display()))?;
        self.render_into(project_name, values, staging.path())?;

        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating `{}`", parent.display()))?;
        }
        crate::fs_tree::place_dir(staging, target)
    }

    /// Renders every file into `dir`, an existing directory the caller stages and later
    /// moves into place (`render` for a project, `add` for a component of an app).
    ///
    /// `values` must hold a checked value for every declared parameter.
    pub fn render_into(
        &self,
        project_name: &str,
        values: &BTreeMap<String, String>,
        dir: &Path,
    ) -> Result<()> {
        let data = self.data(project_name, values)?;
        let engine = engine();
        for file in &self.files {
            let relative = engine
                .render_template(&file.path.to_string_lossy(), &data)
                .with_context(|| format!("rendering the file name `{}`", file.path.display()))?;
            let relative = checked_relative(&relative)
                .with_context(|| format!("template file name `{}`", file.path.display()))?;
            let contents = match std::str::from_utf8(&file.contents) {
                Ok(text) => engine
                    .render_template(text, &data)
                    .map_err(|error| self.render_problem(&file.path, &error))?
                    .into_bytes(),
                // Binary files (images, fonts) are copied as they are.
                Err(_) => file.contents.clone(),
            };
            let destination = dir.join(relative);
            if let Some(parent) = destination.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating `{}`", parent.display()))?;
            }
            std::fs::write(&destination, contents)
                .with_context(|| format!("writing `{}`", destination.display()))?;
        }
        Ok(())
    }

    /// What the files are rendered with: `project_name` and every parameter's value.
    fn data(
        &self,
        project_name: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<serde_json::Value> {
        let mut data = serde_json::Map::new();
        data.insert("project_name".into(), project_name.into());
        for parameter in &self.parameters {
            let value = values
                .get(&parameter.name)
                .with_context(|| format!("no value for template parameter `{}`", parameter.name))?;
            data.insert(parameter.name.clone(), value.clone().into());
        }
        Ok(serde_json::Value::Object(data))
    }

    /// Renders the template's `wasmctl.toml` in memory and checks it with the manifest's own
    /// rules, before a file is written: a value can fit its parameter's pattern and still
    /// make an app that `build` refuses (a route `/../admin`). A template without a
    /// `wasmctl.toml` at the top of its content passes.
    pub fn check_manifest(
        &self,
        project_name: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<()> {
        let Some(file) = self
            .files
            .iter()
            .find(|file| file.path == Path::new(MANIFEST_FILE))
        else {
            return Ok(());
        };
        let text = std::str::from_utf8(&file.contents).ok().with_context(|| {
            format!(
                "template `{}`: `{CONTENT_DIR}/{MANIFEST_FILE}` is not UTF-8 text",
                self.name
            )
        })?;
        let rendered = engine()
            .render_template(text, &self.data(project_name, values)?)
            .map_err(|error| self.render_problem(&file.path, &error))?;
        self.parse_manifest(rendered).map(drop)
    }

    /// Validates the `wasmctl.toml` this template rendered, located as the template's own
    /// file (a staging directory would be gone by the time the message is read).
    pub fn parse_manifest(&self, rendered: String) -> Result<App> {
        let shown = Path::new(CONTENT_DIR).join(MANIFEST_FILE);
        manifest::parse(&shown, rendered).with_context(|| {
            format!(
                "template `{}` renders, with these values, a `{MANIFEST_FILE}` that is not a valid app; nothing was written",
                self.name
            )
        })
    }

    /// A rendering error in words: strict mode's "missing variable" names the variable
    /// and the ones the template has.
    fn render_problem(&self, path: &Path, error: &handlebars::RenderError) -> anyhow::Error {
        let at = match (error.line_no, error.column_no) {
            (Some(line), Some(column)) => format!(":{line}:{column}"),
            _ => String::new(),
        };
        let file = format!("{CONTENT_DIR}/{}{at}", path.display());
        match error.reason() {
            handlebars::RenderErrorReason::MissingVariable(Some(variable)) => {
                let known: Vec<&str> = BUILTIN_VARIABLES
                    .into_iter()
                    .chain(self.parameters.iter().map(|p| p.name.as_str()))
                    .collect();
                Hinted::new(
                    format!(
                        "template `{}`: `{file}` uses the variable `{variable}`, which the template does not declare",
                        self.name
                    ),
                    crate::diagnostic::suggestion(variable, known, "its variables").then(
                        format!("declare others as [[parameters]] in {METADATA_FILE}"),
                    ),
                )
                .into()
            }
            reason => anyhow::anyhow!("template `{}`: rendering `{file}`: {reason}", self.name),
        }
    }
}

/// How deep `(...)` subexpressions may nest inside one `{{...}}`: handlebars' parser
/// backtracks, taking about twice as long for each level (25 levels take seconds).
pub const MAX_SUBEXPRESSION_DEPTH: usize = 8;
/// How deep blocks (`{{#if}}`, `{{#each}}`, `{{else if}}` chains) may nest: rendering
/// recurses once per level, and a few thousand levels overflow the stack.
pub const MAX_BLOCK_DEPTH: usize = 32;

/// The limits that keep loading and rendering a hostile template bounded, all found by
/// fuzzing (`fuzz/fuzz_targets/template.rs`): subexpression depth (checked before
/// parsing, since parsing is what takes exponential time), block depth, and no partials
/// or decorators: a template has no partials to include but inline ones, and
/// `{{#*inline "p"}}{{> p}}{{/inline}}{{> p}}` recurses until the stack overflows.
///
/// A text that does not compile passes: the syntax check reports it.
fn check_limits(text: &str) -> Result<(), (String, Option<Hint>)> {
    if subexpression_depth(text) > MAX_SUBEXPRESSION_DEPTH {
        return Err((
            format!("nests `(...)` subexpressions more than {MAX_SUBEXPRESSION_DEPTH} deep"),
            None,
        ));
    }
    match handlebars::Template::compile(text) {
        Ok(template) => check_elements(&template.elements, 0),
        Err(_) => Ok(()),
    }
}

/// The deepest nesting of `(` between a `{{` and its `}}`, quoted or not (a false alarm
/// needs nine `(` in one string literal).
fn subexpression_depth(text: &str) -> usize {
    let (mut deepest, mut depth, mut in_expression) = (0, 0usize, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("{{") {
            (in_expression, depth, rest) = (true, 0, after);
            continue;
        }
        if let Some(after) = rest.strip_prefix("}}") {
            (in_expression, rest) = (false, after);
            continue;
        }
        if in_expression {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            deepest = deepest.max(depth);
        }
        rest = &rest[c.len_utf8()..];
    }
    deepest
}

fn check_elements(
    elements: &[TemplateElement],
    depth: usize,
) -> Result<(), (String, Option<Hint>)> {
    if depth > MAX_BLOCK_DEPTH {
        return Err((
            format!("nests blocks more than {MAX_BLOCK_DEPTH} deep"),
            None,
        ));
    }
    for element in elements {
        match element {
            TemplateElement::HelperBlock(block) => {
                for inner in [&block.template, &block.inverse].into_iter().flatten() {
                    check_elements(&inner.elements, depth + 1)?;
                }
            }
            TemplateElement::RawString(_)
            | TemplateElement::HtmlExpression(_)
            | TemplateElement::Expression(_)
            | TemplateElement::Comment(_) => {}
            // Partials and decorators, and whatever a later handlebars adds.
            _ => {
                return Err((
                    "uses a partial or decorator (`{{> ...}}`, `{{#*inline ...}}`), which templates do not support".to_string(),
                    Some(Hint::new("write the text out, or use `{{#if}}`/`{{#each}}` blocks")),
                ));
            }
        }
    }
    Ok(())
}

/// A handlebars syntax error without the parser's list of every token it would accept.
fn syntax_problem(error: &handlebars::TemplateError) -> String {
    match error.reason() {
        handlebars::TemplateErrorReason::InvalidSyntax(_) => {
            "invalid handlebars syntax".to_string()
        }
        reason => reason.to_string(),
    }
}

/// A problem with one `[[parameters]]` entry, located at a value when it is about one.
struct ParameterProblem {
    message: String,
    span: Option<std::ops::Range<usize>>,
    help: Option<Hint>,
}

impl ParameterProblem {
    fn new(message: String) -> Self {
        Self {
            message,
            span: None,
            help: None,
        }
    }

    /// The diagnostic, at the value's span or else at the whole entry.
    fn at_table(self, table: std::ops::Range<usize>) -> Diagnostic {
        let diagnostic = Diagnostic::new(self.message, Some(self.span.unwrap_or(table)));
        match self.help {
            Some(help) => diagnostic.help(help),
            None => diagnostic,
        }
    }
}

fn parameter(raw: RawParameter, earlier: &[Parameter]) -> Result<Parameter, ParameterProblem> {
    let mut chars = raw.name.chars();
    let identifier = matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !identifier {
        return Err(ParameterProblem::new(format!(
            "parameter name `{}` must be lowercase letters, digits and `_`, starting with a letter",
            raw.name
        )));
    }
    if BUILTIN_VARIABLES.contains(&raw.name.as_str()) || earlier.iter().any(|p| p.name == raw.name)
    {
        return Err(ParameterProblem::new(format!(
            "parameter `{}` is declared twice or shadows a built-in variable",
            raw.name
        )));
    }
    let pattern = match raw.pattern {
        Some(pattern) => {
            let span = pattern.span();
            let text = pattern.into_inner();
            match Pattern::new(text.clone()) {
                Ok(pattern) => Some(pattern),
                Err(error) => {
                    return Err(ParameterProblem {
                        message: format!(
                            "pattern `{text}` of parameter `{}` is not a valid regular expression: {}",
                            raw.name,
                            regex_problem(&error)
                        ),
                        span: Some(span),
                        help: Some(
                            "write a regular expression in Rust `regex` syntax; it must match the whole value".into(),
                        ),
                    });
                }
            }
        }
        None => None,
    };
    let default_span = raw.default.as_ref().map(|d| d.span());
    let parameter = Parameter {
        name: raw.name,
        prompt: raw.prompt,
        default: raw
            .default
            .map(toml::Spanned::into_inner)
            .unwrap_or_default(),
        pattern,
    };
    if let Err(problem) = parameter.check(&parameter.default) {
        return Err(ParameterProblem {
            message: format!("the default does not fit its own pattern: {problem}"),
            span: default_span,
            help: Some(
                "change `default` to a value the pattern accepts, or widen `pattern`".into(),
            ),
        });
    }
    Ok(parameter)
}

/// The last line of a regex error: what is wrong, without the echo of the pattern.
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text.lines().last().unwrap_or_default().trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// The handlebars engine templates render with: strict (a misspelt variable is an error),
/// no HTML escaping (these are source files), `toml_str` to quote values safely, and
/// `route_path` for the URLs a template's README shows.
fn engine() -> Handlebars<'static> {
    handlebars_helper!(toml_str: |text: str| toml_string(text));
    handlebars_helper!(route_path: |route: str, below: str| path_below_route(route, below));
    let mut engine = Handlebars::new();
    engine.set_strict_mode(true);
    engine.register_escape_fn(handlebars::no_escape);
    engine.register_helper("toml_str", Box::new(toml_str));
    engine.register_helper("route_path", Box::new(route_path));
    engine
}

/// The URL path that reaches `below` (e.g. `/hello/world`) in a component mounted on
/// `route`: `/api/...` gives `/api/hello/world`, `/...` gives `/hello/world`; an exact
/// route serves only itself, so it is the answer.
fn path_below_route(route: &str, below: &str) -> String {
    match route.strip_suffix("/...") {
        Some(prefix) => format!("{prefix}{below}"),
        None => route.to_string(),
    }
}

/// A TOML basic string literal, quotes included.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// Refuses a target that exists and is anything but an empty directory.
pub fn ensure_empty_target(target: &Path) -> Result<()> {
    ensure_empty_dir(
        target,
        "choose a directory that does not exist yet or is empty",
    )
}

/// [`ensure_empty_target`] with the caller's `help`: what to do instead.
pub fn ensure_empty_dir(target: &Path, help: &str) -> Result<()> {
    match std::fs::read_dir(target) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(Hinted::new(
                    format!(
                        "`{}` already exists and is not empty; nothing was written",
                        target.display()
                    ),
                    help
                ));
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if target.exists() => bail!(Hinted::new(
            format!(
                "`{}` already exists and is not a directory; nothing was written",
                target.display()
            ),
            help
        )),
        Err(error) => Err(error).with_context(|| format!("checking `{}`", target.display())),
    }
}

fn nearest_existing_ancestor(path: &Path) -> Result<PathBuf> {
    let absolute =
        std::path::absolute(path).with_context(|| format!("resolving `{}`", path.display()))?;
    absolute
        .ancestors()
        .skip(1)
        .find(|dir| dir.is_dir())
        .map(Path::to_path_buf)
        .with_context(|| format!("no existing parent directory for `{}`", path.display()))
}

/// A rendered file name must stay inside the project.
fn checked_relative(text: &str) -> Result<PathBuf> {
    let path = Path::new(text);
    let escapes = text.is_empty()
        || path
            .components()
            .any(|part| !matches!(part, PathPart::Normal(_) | PathPart::CurDir));
    if escapes {
        bail!("renders to `{text}`, which is not a path inside the project");
    }
    Ok(path.to_path_buf())
}

/// The files below `root`, as paths relative to it; errors name them as `root` is written.
fn read_tree(root: &Path, relative: &Path, files: &mut Vec<TemplateFile>) -> Result<()> {
    // Read through no link (`read_file_below` takes a canonical directory).
    let canonical =
        std::fs::canonicalize(root).with_context(|| format!("resolving `{}`", root.display()))?;
    read_tree_below(root, &canonical, relative, files)
}

fn read_tree_below(
    root: &Path,
    canonical: &Path,
    relative: &Path,
    files: &mut Vec<TemplateFile>,
) -> Result<()> {
    let dir = root.join(relative);
    let mut entries = std::fs::read_dir(&dir)
        .with_context(|| format!("reading `{}`", dir.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading `{}`", dir.display()))?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = relative.join(entry.file_name());
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            read_tree_below(root, canonical, &path, files)?;
        } else if file_type.is_file() {
            let contents =
                crate::limits::read_file_below(canonical, &path, crate::limits::TEXT_FILE)?;
            files.push(TemplateFile { path, contents });
        } else {
            bail!(
                "`{}` is neither a file nor a directory; templates hold plain files only",
                entry.path().display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
