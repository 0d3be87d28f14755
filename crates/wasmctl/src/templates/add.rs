//! `wasmctl add`: a template rendered as one more component of an existing app.
//!
//! The template's own `wasmctl.toml` says what it adds: its `[component.*]` tables and the
//! `[[trigger.http]]` entries routing to them. They move into the app's manifest with
//! their paths made relative to the app, and the rendered files go into `NAME/` beside
//! it. Manifests are edited with `toml_edit`, so the user's comments, order and layout
//! stay as they were.
//!
//! The Rust components of one app share one cargo workspace and target directory, so
//! adding one does not compile every dependency again: when the app's root has a
//! `Cargo.toml`, the new crate becomes a member of its workspace and gives up its own
//! `[workspace]` and profiles (profiles are workspace-level; the root's stay). Without
//! one, the new crate stays a workspace of its own.
//!
//! Nothing is half-added: the files are rendered into a staging directory, every edit is
//! prepared in memory and checked, then the directory and the files are put in place with
//! renames, and a failure undoes those already made ([`crate::fs_tree::Changes`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::{CONTENT_DIR, Template};
use crate::fs_tree::Changes;
use crate::hint::Hinted;
use crate::manifest::{self, App, BuildKind, Component, MANIFEST_FILE};
use crate::names::check_name;

/// The file that makes a directory a cargo package or workspace root.
pub const CARGO_MANIFEST: &str = "Cargo.toml";

/// Where a new component goes: an app and a free component id, checked before any
/// question is asked.
#[derive(Debug)]
pub struct ComponentSlot {
    manifest_path: PathBuf,
    /// The manifest as read, which the edit starts from.
    text: String,
    app: App,
    name: String,
    dir: PathBuf,
}

/// What [`ComponentSlot::add`] did.
#[derive(Debug)]
pub struct Added {
    /// The new component's directory.
    pub dir: PathBuf,
    /// The ids of the components now in the manifest.
    pub components: Vec<String>,
    /// Their routes, as written.
    pub routes: Vec<String>,
    /// The app's `Cargo.toml`, when the new crate joined its workspace.
    pub workspace: Option<PathBuf>,
}

impl ComponentSlot {
    /// Checks that `name` can be a new component of the app whose manifest is at
    /// `manifest_path`: a valid id that the valid manifest does not use yet, and `NAME/`
    /// beside the manifest absent or empty.
    pub fn find(manifest_path: &Path, name: &str) -> Result<Self> {
        check_name("component id", name).map_err(anyhow::Error::msg)?;
        let (manifest_path, text) = manifest::read(manifest_path)?;
        let app = manifest::parse(&manifest_path, text.clone())?;
        if app.format == manifest::ManifestFormat::Spin {
            bail!(Hinted::new(
                format!(
                    "`{}` is Spin's manifest; `wasmctl add` edits a wasmctl.toml only",
                    manifest_path.display()
                ),
                "add the component with `spin add`, or write its `[component.ID]` table and `[[trigger.http]]` route yourself",
            ));
        }
        if app.components.contains_key(name) {
            return Err(already_a_component(name, None, &manifest_path));
        }
        let dir = app.dir.join(name);
        super::ensure_empty_dir(
            &dir,
            &format!(
                "choose another NAME: a component's files go into `NAME/` beside {MANIFEST_FILE}"
            ),
        )?;
        Ok(Self {
            manifest_path,
            text,
            app,
            name: name.to_string(),
            dir,
        })
    }

    /// The app the component joins.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The directory the component's files go into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Renders `template` as the component `NAME` and adds it to the app.
    ///
    /// `values` must hold a checked value for every parameter of the template.
    pub fn add(self, template: &Template, values: &BTreeMap<String, String>) -> Result<Added> {
        let staging = crate::fs_tree::staging_dir(".wasmctl-add-")
            .tempdir_in(&self.app.dir)
            .with_context(|| {
                format!(
                    "creating a staging directory in `{}`",
                    self.app.dir.display()
                )
            })?;
        template.render_into(&self.name, values, staging.path())?;
        let part = Part::take(template, staging.path())?;
        self.check_fits(&part, template, values)?;

        let root_cargo = self.app.dir.join(CARGO_MANIFEST);
        let crates = part.crates(staging.path());
        let layout = Layout {
            prefix: &self.name,
            shared_target: root_cargo.is_file() && !crates.is_empty(),
        };
        let manifest_text = self.merged_manifest(&part, &layout)?;
        let workspace_text = if layout.shared_target {
            for krate in &crates {
                leave_own_workspace(template, &staging.path().join(krate).join(CARGO_MANIFEST))?;
            }
            let members: Vec<String> = crates.iter().map(|krate| layout.path(krate)).collect();
            Some(join_workspace(&root_cargo, &members)?)
        } else {
            None
        };

        // Someone may have saved the manifest while the questions were asked.
        let now = crate::limits::read_file(&self.manifest_path, crate::limits::MANIFEST)?;
        if now != self.text.as_bytes() {
            bail!(Hinted::new(
                format!(
                    "`{}` changed while `wasmctl add` ran; nothing was written",
                    self.manifest_path.display()
                ),
                "run the command again"
            ));
        }
        let mut changes = Changes::default();
        let applied = apply(
            &mut changes,
            staging,
            &self.dir,
            workspace_text
                .as_deref()
                .map(|text| (root_cargo.as_path(), text)),
            (&self.manifest_path, &manifest_text),
        );
        if let Err(error) = applied {
            let what = format!(
                "adding component `{}` to `{}` failed",
                self.name,
                self.manifest_path.display()
            );
            return Err(match changes.roll_back() {
                Ok(()) => error.context(format!("{what}; every change was undone")),
                Err(undo) => error.context(format!("{what}, and {undo:#}")),
            });
        }
        Ok(Added {
            dir: self.dir,
            components: part.app.components.keys().cloned().collect(),
            routes: part
                .app
                .routes
                .iter()
                .map(|route| route.route.to_string())
                .collect(),
            workspace: layout.shared_target.then_some(root_cargo),
        })
    }

    /// Refuses a template whose components or routes the app already has.
    fn check_fits(
        &self,
        part: &Part,
        template: &Template,
        values: &BTreeMap<String, String>,
    ) -> Result<()> {
        for id in part.app.components.keys() {
            if self.app.components.contains_key(id) {
                return Err(already_a_component(
                    id,
                    Some(&template.name),
                    &self.manifest_path,
                ));
            }
        }
        for new in &part.app.routes {
            let Some(owner) = self.app.routes.iter().find(|old| old.route == new.route) else {
                continue;
            };
            let route = new.route.to_string();
            // The parameter that gave the route its value, if one did, is how to change it.
            let help = match template
                .parameters
                .iter()
                .find(|parameter| values.get(&parameter.name) == Some(&route))
            {
                Some(parameter) => format!(
                    "choose another route with `--value {}=/{}/...`",
                    parameter.name, self.name
                ),
                None => format!(
                    "template `{}` always serves `{route}`; move component `{}` to another route first",
                    template.name, owner.component
                ),
            };
            bail!(Hinted::new(
                format!(
                    "route `{route}` of template `{}` is already served by component `{}` in `{}`; nothing was written",
                    template.name,
                    owner.component,
                    self.manifest_path.display()
                ),
                help
            ));
        }
        Ok(())
    }

    /// The app's manifest with the template's components and routes added; the text the
    /// user wrote is kept as it was.
    fn merged_manifest(&self, part: &Part, layout: &Layout) -> Result<String> {
        let mut doc: DocumentMut = self
            .text
            .parse()
            .with_context(|| format!("parsing `{}`", self.manifest_path.display()))?;
        let template_components = part
            .doc
            .get("component")
            .and_then(Item::as_table_like)
            .context("the template's manifest has no components")?;
        let components = container(&mut doc, "component");
        for (id, component) in &part.app.components {
            let mut item = template_components
                .get(id)
                .with_context(|| format!("the template's manifest has no component `{id}`"))?
                .clone();
            let table = item
                .as_table_like_mut()
                .with_context(|| format!("the template's component `{id}` is not a table"))?;
            layout.rewrite(table, component)?;
            insert_like(components, id, item)?;
        }

        // The app variables the template's components read, unless the app declares them
        // already (its own declaration stands).
        if let Some(variables) = part.doc.get("variables").and_then(Item::as_table_like) {
            let declared = doc
                .entry("variables")
                .or_insert(Item::Table(Table::new()))
                .as_table_like_mut()
                .context("`variables` in the manifest is not a table")?;
            for (name, declaration) in variables.iter() {
                if !declared.contains_key(name) {
                    declared.insert(name, declaration.clone());
                }
            }
        }

        let triggers = part
            .doc
            .get("trigger")
            .and_then(Item::as_table_like)
            .and_then(|trigger| trigger.get("http"))
            .map(entries)
            .unwrap_or_default();
        let http = container(&mut doc, "trigger")
            .as_table_like_mut()
            .context("`trigger` in the manifest is not a table")?
            .entry("http")
            .or_insert(Item::ArrayOfTables(Default::default()));
        for entry in triggers {
            match http {
                Item::ArrayOfTables(array) => array.push(entry),
                Item::Value(Value::Array(array)) => array.push(entry.into_inline_table()),
                _ => bail!(
                    "`trigger.http` in `{}` is neither a list of tables nor an array; nothing was written",
                    self.manifest_path.display()
                ),
            }
        }

        let merged = doc.to_string();
        // A last check of the whole: what `up` would read must be a valid app.
        manifest::parse(&self.manifest_path, merged.clone()).with_context(|| {
            format!(
                "adding `{}` would leave `{}` invalid; nothing was written",
                self.name,
                self.manifest_path.display()
            )
        })?;
        Ok(merged)
    }
}

/// Puts the staged directory, then the edited `Cargo.toml`, then the manifest in place;
/// stops at the first failure (the caller rolls back).
fn apply(
    changes: &mut Changes,
    staging: tempfile::TempDir,
    dir: &Path,
    workspace: Option<(&Path, &str)>,
    (manifest_path, manifest_text): (&Path, &str),
) -> Result<()> {
    changes.place_dir(staging, dir)?;
    if let Some((path, text)) = workspace {
        changes.replace_file(path, text.as_bytes())?;
    }
    changes.replace_file(manifest_path, manifest_text.as_bytes())
}

fn already_a_component(id: &str, template: Option<&str>, manifest_path: &Path) -> anyhow::Error {
    let from = template
        .map(|name| format!(" of template `{name}`"))
        .unwrap_or_default();
    Hinted::new(
        format!(
            "component `{id}`{from} is already in `{}`; nothing was written",
            manifest_path.display()
        ),
        format!("choose another NAME, or remove `[component.{id}]` from the manifest first"),
    )
    .into()
}

/// The template's rendered manifest: what it adds.
struct Part {
    /// Validated, for its meaning.
    app: App,
    /// As written, for its layout and comments.
    doc: DocumentMut,
}

impl Part {
    /// Reads the rendered `wasmctl.toml` out of `staging`: it describes the component to
    /// the app and is no file of the component's own.
    fn take(template: &Template, staging: &Path) -> Result<Part> {
        let path = staging.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(Hinted::new(
                format!(
                    "template `{}` has no `{MANIFEST_FILE}`, so it does not say which component, route and build it adds; nothing was written",
                    template.name
                ),
                format!(
                    "use `wasmctl new {} NAME` for an app of its own, or give the template a `{CONTENT_DIR}/{MANIFEST_FILE}`",
                    template.name
                )
            )),
            Err(error) => {
                return Err(error).with_context(|| format!("reading `{}`", path.display()));
            }
        };
        std::fs::remove_file(&path).with_context(|| format!("removing `{}`", path.display()))?;
        let app = template.parse_manifest(text.clone())?;
        let doc = text.parse().with_context(|| {
            format!(
                "template `{}`: parsing its `{MANIFEST_FILE}`",
                template.name
            )
        })?;
        Ok(Part { app, doc })
    }

    /// The directories (relative to the template) of the crates its cargo builds build.
    fn crates(&self, staging: &Path) -> BTreeSet<PathBuf> {
        self.app
            .components
            .values()
            .filter_map(|component| component.build.as_ref())
            .filter(|build| matches!(build.kind, BuildKind::Cargo { .. }))
            .map(|build| build.workdir.clone())
            .filter(|workdir| staging.join(workdir).join(CARGO_MANIFEST).is_file())
            .collect()
    }
}

/// Where the template's files land in the app.
struct Layout<'a> {
    /// The component's directory, relative to the app.
    prefix: &'a str,
    /// Cargo builds go to the app's shared target directory.
    shared_target: bool,
}

impl Layout<'_> {
    /// A normalized path of the template, relative to the app.
    fn path(&self, relative: &Path) -> String {
        under(self.prefix, relative)
    }

    /// A component's `source`: in a shared workspace, cargo writes what the template put
    /// under its crate's `target/` to the `target/` beside the app's `Cargo.toml`.
    fn source(&self, component: &Component) -> String {
        let workdir = match &component.build {
            Some(build) if self.shared_target && matches!(build.kind, BuildKind::Cargo { .. }) => {
                &build.workdir
            }
            _ => return self.path(&component.source),
        };
        let in_crate = if workdir == Path::new(".") {
            Some(component.source.as_path())
        } else {
            component.source.strip_prefix(workdir).ok()
        };
        match in_crate.and_then(|path| path.strip_prefix("target").ok()) {
            Some(below) => under("target", below),
            None => self.path(&component.source),
        }
    }

    /// Makes the paths of one `[component.ID]` table relative to the app: `source`,
    /// `files` sources and the build's `workdir` (`watch` globs are relative to it).
    fn rewrite(&self, table: &mut dyn TableLike, component: &Component) -> Result<()> {
        set_string(table, "source", &self.source(component));
        if let Some(files) = table.get_mut("files") {
            let mounts: Vec<&mut dyn TableLike> = match files {
                Item::ArrayOfTables(array) => array
                    .iter_mut()
                    .map(|table| table as &mut dyn TableLike)
                    .collect(),
                Item::Value(Value::Array(array)) => array
                    .iter_mut()
                    .filter_map(Value::as_inline_table_mut)
                    .map(|table| table as &mut dyn TableLike)
                    .collect(),
                _ => Vec::new(),
            };
            for (mount, file) in mounts.into_iter().zip(&component.files) {
                set_string(mount, "source", &self.path(&file.source));
            }
        }
        if let Some(build) = &component.build {
            let table = table
                .get_mut("build")
                .and_then(Item::as_table_like_mut)
                .with_context(|| {
                    format!("the build of component `{}` is not a table", component.id)
                })?;
            set_string(table, "workdir", &self.path(&build.workdir));
        }
        Ok(())
    }
}

/// `relative` (normalized) below `dir`, as a manifest writes paths: with `/`.
fn under(dir: &str, relative: &Path) -> String {
    let mut parts = vec![dir.to_string()];
    parts.extend(
        relative
            .components()
            .filter(|part| !matches!(part, std::path::Component::CurDir))
            .map(|part| part.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// Sets a string value, keeping the comments and spaces around an existing one.
fn set_string(table: &mut dyn TableLike, key: &str, text: &str) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(value) => {
            let decor = value.decor().clone();
            *value = Value::from(text);
            *value.decor_mut() = decor;
        }
        None => {
            table.insert(key, toml_edit::value(text));
        }
    }
}

/// The item under `key` at the top of `doc`, an implicit table (one without a header of
/// its own) when absent.
fn container<'a>(doc: &'a mut DocumentMut, key: &str) -> &'a mut Item {
    let mut implicit = Table::new();
    implicit.set_implicit(true);
    doc.entry(key).or_insert(Item::Table(implicit))
}

/// Inserts a table into `container` in the container's style: a `[header]` table in a
/// table, an inline table in an inline one. Without a position of its own, a table is
/// written after the last one before it in the document (after the container's tables).
fn insert_like(container: &mut Item, key: &str, item: Item) -> Result<()> {
    let mut table = match item {
        Item::Table(table) => table,
        Item::Value(Value::InlineTable(inline)) => inline.into_table(),
        _ => bail!("the template's `{key}` is not a table"),
    };
    forget_positions(&mut table);
    match container {
        Item::Table(parent) => {
            parent.insert(key, Item::Table(table));
        }
        Item::Value(Value::InlineTable(parent)) => {
            parent.insert(key, Value::InlineTable(table.into_inline_table()));
        }
        _ => bail!("`{key}`'s parent in the manifest is not a table"),
    }
    Ok(())
}

/// The tables of a list of tables or of an array of inline tables, without their
/// positions in the template's manifest.
fn entries(item: &Item) -> Vec<Table> {
    let mut tables: Vec<Table> = match item {
        Item::ArrayOfTables(array) => array.iter().cloned().collect(),
        Item::Value(Value::Array(array)) => array
            .iter()
            .filter_map(Value::as_inline_table)
            .map(|inline| inline.clone().into_table())
            .collect(),
        _ => Vec::new(),
    };
    tables.iter_mut().for_each(forget_positions);
    tables
}

/// Clears where a table and its sub-tables sat in the document they came from, so they
/// are written where they are inserted.
fn forget_positions(table: &mut Table) {
    table.set_position(None);
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(child) => forget_positions(child),
            Item::ArrayOfTables(array) => array.iter_mut().for_each(forget_positions),
            _ => {}
        }
    }
}

/// Makes the crate at `path` (rendered by `template`) a member of the app's workspace:
/// without the `[workspace]` that made it a project of its own, and without profiles,
/// which cargo only reads from the workspace root.
fn leave_own_workspace(template: &Template, path: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
    let mut doc: DocumentMut = text.parse().with_context(|| {
        format!(
            "template `{}` renders a `{CARGO_MANIFEST}` that is not valid TOML",
            template.name
        )
    })?;
    doc.remove("workspace");
    doc.remove("profile");
    std::fs::write(path, doc.to_string()).with_context(|| format!("writing `{}`", path.display()))
}

/// The app's `Cargo.toml` at `path` with `members` of its `[workspace]` (added if absent)
/// listing each of `members` that no entry (a path or a glob) covers yet.
fn join_workspace(path: &Path, members: &[String]) -> Result<String> {
    let help = format!(
        "fix `{}`, or move it away to keep the new crate a workspace of its own, then run `wasmctl add` again",
        path.display()
    );
    let text = crate::limits::read_text(path, crate::limits::TEXT_FILE)?;
    let mut doc: DocumentMut = match text.parse() {
        Ok(doc) => doc,
        Err(error) => bail!(Hinted::new(
            format!(
                "`{}` is not valid TOML, so the new crate cannot join its workspace: {}; nothing was written",
                path.display(),
                error.message()
            ),
            help
        )),
    };
    let Some(workspace) = doc
        .entry("workspace")
        .or_insert(Item::Table(Table::new()))
        .as_table_like_mut()
    else {
        bail!(Hinted::new(
            format!(
                "`workspace` in `{}` is not a table; nothing was written",
                path.display()
            ),
            help
        ));
    };
    let Some(listed) = workspace
        .entry("members")
        .or_insert(toml_edit::value(toml_edit::Array::new()))
        .as_array_mut()
    else {
        bail!(Hinted::new(
            format!(
                "`workspace.members` in `{}` is not an array; nothing was written",
                path.display()
            ),
            help
        ));
    };
    for member in members {
        let covered = listed.iter().filter_map(Value::as_str).any(|entry| {
            entry.trim_start_matches("./").trim_end_matches('/') == member
                || glob::Pattern::new(entry).is_ok_and(|pattern| pattern.matches(member))
        });
        if !covered {
            listed.push(member.as_str());
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests;
