//! An app as an OCI artifact, and back.
//!
//! Layout (the CNCF Wasm OCI artifact layout, plus wasmctl's own layers):
//! - config `application/vnd.wasm.config.v0+json`: `architecture: wasm`, `os: wasip2`,
//!   the digests of the component layers and, for a single component, its imports/exports;
//! - one `application/wasm` layer per component (sorted by id), titled `<id>.wasm`;
//! - one `application/vnd.wasmctl.files.v1.tar+gzip` layer per directory granted with
//!   `files`, packed deterministically (sorted, zero timestamps) so unchanged directories
//!   keep their digest;
//! - last, `application/vnd.wasmctl.app.v1+toml`: `wasmctl.toml` with every `source`
//!   replaced by the digest of its layer and the `build` and `deploy` tables removed.
//!
//! Everything is deterministic, so pushing an unchanged app uploads nothing new.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use sha2::{Digest, Sha256};

use crate::component::ValidComponent;
use crate::hint::Hinted;
use crate::manifest::App;

/// The config blob's media type (the CNCF Wasm OCI artifact layout): what makes a
/// manifest one wasmctl unpacks.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// A component layer's media type: the `.wasm` file as built.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// A granted directory's layer: a reproducible tar.gz of it.
pub const FILES_MEDIA_TYPE: &str = "application/vnd.wasmctl.files.v1.tar+gzip";
/// The last layer's media type: the app's `wasmctl.toml`, its sources replaced by digests.
pub const APP_MEDIA_TYPE: &str = "application/vnd.wasmctl.app.v1+toml";
/// The media type of the manifest wasmctl pushes and asks for.
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const TITLE: &str = "org.opencontainers.image.title";

/// The title of a config blob, which carries no title annotation.
pub(super) const CONFIG_TITLE: &str = "config";

/// A blob to push: its bytes, digest and what it is.
#[derive(Debug, Clone)]
pub struct Blob {
    /// One of this module's `*_MEDIA_TYPE`s.
    pub media_type: String,
    /// `sha256:<hex>` of [`data`](Self::data).
    pub digest: String,
    /// The whole blob, held in memory.
    pub data: Bytes,
    /// A name for people: `svc.wasm`, `files:assets`, `wasmctl.toml`, `config`.
    pub title: String,
}

impl Blob {
    pub(super) fn new(media_type: &str, title: String, data: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_string(),
            digest: sha256_digest(&data),
            data: Bytes::from(data),
            title,
        }
    }

    pub(super) fn descriptor(&self) -> OciDescriptor {
        let annotations = (self.title != CONFIG_TITLE)
            .then(|| BTreeMap::from([(TITLE.to_string(), self.title.clone())]));
        OciDescriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.data.len() as i64,
            urls: None,
            annotations,
            artifact_type: None,
        }
    }
}

/// An app packed for a registry.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The config blob ([`WASM_CONFIG_MEDIA_TYPE`]).
    pub config: Blob,
    /// In manifest order: components (sorted by id) each followed by its granted
    /// directories, a layer shared by several listed once; last, the app layer.
    pub layers: Vec<Blob>,
    /// The OCI image manifest, serialized exactly as pushed.
    pub manifest: Bytes,
    /// `sha256:<hex>` of [`manifest`](Self::manifest): what a pinned reference names.
    pub manifest_digest: String,
}

impl Artifact {
    /// The artifact of `config` and `layers` (in manifest order), its OCI image manifest
    /// annotated with the app's name, version, description and authors.
    pub(super) fn assemble(app: &App, config: Blob, layers: Vec<Blob>) -> Result<Artifact> {
        let mut annotations = BTreeMap::from([(TITLE.to_string(), app.name.clone())]);
        let optional = [
            ("version", app.version.clone()),
            ("description", app.description.clone()),
            (
                "authors",
                (!app.authors.is_empty()).then(|| app.authors.join(", ")),
            ),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                annotations.insert(format!("org.opencontainers.image.{key}"), value);
            }
        }
        let manifest = OciImageManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST_MEDIA_TYPE.to_string()),
            config: config.descriptor(),
            layers: layers.iter().map(Blob::descriptor).collect(),
            subject: None,
            artifact_type: None,
            annotations: Some(annotations),
        };
        let manifest = serde_json::to_vec(&manifest)?;
        Ok(Artifact {
            manifest_digest: sha256_digest(&manifest),
            manifest: Bytes::from(manifest),
            config,
            layers,
        })
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(data: &[u8]) -> String {
    hex_digest(&Sha256::digest(data))
}

/// `sha256:<hex>` of a SHA-256 hash.
pub(super) fn hex_digest(hash: &[u8]) -> String {
    format!(
        "sha256:{}",
        hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Packs a built app. `valid` holds each component's validation result, by id.
pub fn pack(app: &App, valid: &BTreeMap<String, ValidComponent>) -> Result<Artifact> {
    let text = crate::limits::read_text(&app.manifest_path, crate::limits::MANIFEST)?;
    let mut document: toml::Table = toml::from_str(&text).context("re-reading the manifest")?;
    document.remove("deploy");

    let mut layers: Vec<Blob> = Vec::new();
    let mut component_digests = Vec::new();
    for (id, component) in &app.components {
        let path = app.resolve(&component.source);
        let bytes = crate::build::read_component(&path)
            .with_context(|| format!("reading component `{id}`"))?;
        let blob = Blob::new(WASM_LAYER_MEDIA_TYPE, format!("{id}.wasm"), bytes);
        let table = component_table(&mut document, id)?;
        table.insert("source".into(), blob.digest.clone().into());
        table.remove("build");
        component_digests.push(blob.digest.clone());
        push_unique(&mut layers, blob);

        for (index, mount) in component.files.iter().enumerate() {
            let selected = crate::files::selected_files(&app.dir, mount)?;
            let data = pack_directory(&selected.dir, &selected.files)?;
            let blob = Blob::new(
                FILES_MEDIA_TYPE,
                format!("files:{}", mount.source.display()),
                data,
            );
            let files = component_table(&mut document, id)?
                .get_mut("files")
                .and_then(toml::Value::as_array_mut)
                .and_then(|files| files.get_mut(index))
                .and_then(toml::Value::as_table_mut)
                .context("the manifest's files entry moved while packing")?;
            files.insert("source".into(), blob.digest.clone().into());
            push_unique(&mut layers, blob);
        }
    }
    let app_layer = Blob::new(
        APP_MEDIA_TYPE,
        "wasmctl.toml".to_string(),
        toml::to_string(&document)?.into_bytes(),
    );
    layers.push(app_layer);

    let mut config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": component_digests,
    });
    if let [only] = valid.values().collect::<Vec<_>>().as_slice() {
        config["component"] = serde_json::json!({
            "exports": only.exports,
            "imports": only.imports,
            "target": null,
        });
    }
    let config = Blob::new(
        WASM_CONFIG_MEDIA_TYPE,
        CONFIG_TITLE.to_string(),
        serde_json::to_vec(&config)?,
    );

    Artifact::assemble(app, config, layers)
}

/// Adds `blob` unless a layer of the same digest and media type is there (a runtime may
/// file a layer by its media type, so equal bytes of two kinds are two layers).
pub(super) fn push_unique(layers: &mut Vec<Blob>, blob: Blob) {
    let listed = |layer: &Blob| layer.digest == blob.digest && layer.media_type == blob.media_type;
    if !layers.iter().any(listed) {
        layers.push(blob);
    }
}

fn component_table<'a>(document: &'a mut toml::Table, id: &str) -> Result<&'a mut toml::Table> {
    document
        .get_mut("component")
        .and_then(toml::Value::as_table_mut)
        .and_then(|components| components.get_mut(id))
        .and_then(toml::Value::as_table_mut)
        .with_context(|| format!("component `{id}` is missing from the manifest text"))
}

/// A reproducible tar.gz of `files` (relative paths, from [`crate::files::selected_files`]) of a
/// directory: sorted entries, zero timestamps and owners.
pub(super) fn pack_directory(dir: &Path, files: &[PathBuf]) -> Result<Vec<u8>> {
    let entries = crate::limits::FILES_ENTRIES;
    let max_entries = entries.value()?;
    if files.len() as u64 > max_entries {
        return Err(entries
            .exceeded(
                format!("the granted directory `{}`", dir.display()),
                max_entries,
            )
            .into());
    }
    let encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(encoder);
    // A pull unpacks at most this much: never pack what could not be pulled back.
    let limit = crate::limits::FILES_SIZE;
    let max = limit.value()?;
    let mut total: u64 = 0;
    for relative in files {
        let data = crate::limits::read_file_below(dir, relative, limit)?;
        total += data.len() as u64;
        if total > max {
            return Err(limit
                .exceeded(format!("the granted directory `{}`", dir.display()), max)
                .into());
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, relative, data.as_slice())?;
    }
    Ok(tar.into_inner()?.finish()?)
}

/// Writes a pulled app into `target`: components, granted directories, and a
/// `wasmctl.toml` pointing at them. `blob` returns the path of a verified blob.
pub fn materialize(
    manifest: &OciImageManifest,
    blob: &dyn Fn(&str) -> PathBuf,
    target: &Path,
) -> Result<()> {
    if super::spin_layout::is_spin_layout(manifest) {
        return super::spin_layout::materialize(manifest, blob, target);
    }
    std::fs::create_dir_all(target.join("components"))?;
    let app_layer = manifest
        .layers
        .iter()
        .find(|layer| layer.media_type == APP_MEDIA_TYPE);
    let Some(app_layer) = app_layer else {
        return materialize_single_component(manifest, blob, target);
    };
    let mut text = String::new();
    std::fs::File::open(blob(&app_layer.digest))?.read_to_string(&mut text)?;
    let mut document: toml::Table =
        toml::from_str(&text).context("the artifact's wasmctl.toml is not valid TOML")?;
    let components = document
        .get_mut("component")
        .and_then(toml::Value::as_table_mut)
        .context("the artifact's wasmctl.toml has no components")?;
    let mut written: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (id, component) in components.iter_mut() {
        // The id becomes a file name: hold it to the naming rule before touching the disk.
        crate::names::check_name("component id", id).map_err(anyhow::Error::msg)?;
        let component = component
            .as_table_mut()
            .with_context(|| format!("component `{id}` is not a table"))?;
        let digest = component
            .get("source")
            .and_then(toml::Value::as_str)
            .with_context(|| format!("component `{id}` has no source digest"))?
            .to_string();
        check_layer(manifest, &digest, &[WASM_LAYER_MEDIA_TYPE])?;
        let relative = format!("components/{id}.wasm");
        // Thousands of ids may name one large layer: one copy, then links to it.
        match written.get(&digest) {
            Some(first) => std::fs::hard_link(first, target.join(&relative))?,
            None => {
                std::fs::copy(blob(&digest), target.join(&relative))?;
                written.insert(digest.clone(), target.join(&relative));
            }
        }
        component.insert("source".into(), relative.into());
        if let Some(files) = component
            .get_mut("files")
            .and_then(toml::Value::as_array_mut)
        {
            for mount in files.iter_mut().filter_map(toml::Value::as_table_mut) {
                let digest = mount
                    .get("source")
                    .and_then(toml::Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                check_layer(manifest, &digest, &[FILES_MEDIA_TYPE])?;
                // A checked layer digest is `sha256:` and 64 hex digits: a safe directory name.
                let relative = format!("files/{}", digest.trim_start_matches("sha256:"));
                // Two mounts may share a layer (same contents): unpacked once.
                if !target.join(&relative).exists() {
                    unpack_files(&blob(&digest), &digest, &target.join(&relative))?;
                }
                mount.insert("source".into(), relative.into());
            }
        }
    }
    std::fs::write(
        target.join(crate::manifest::MANIFEST_FILE),
        toml::to_string(&document)?,
    )?;
    Ok(())
}

/// Why a pulled manifest is not one wasmctl unpacks; each ends a sentence about the
/// reference.
#[derive(Debug, thiserror::Error)]
pub enum ManifestProblem {
    /// Not JSON of an OCI image manifest's shape; holds the parse error.
    #[error("is not an OCI image manifest: {0}")]
    NotJson(serde_json::Error),
    /// Its config is not [`WASM_CONFIG_MEDIA_TYPE`]; holds the media type it has.
    #[error("is not a Wasm artifact (config media type `{0}`)")]
    NotWasm(String),
    /// A layer's or the config's digest is not in the one form the cache names files by;
    /// holds that digest.
    #[error(
        "lists a layer with digest `{0}`; wasmctl accepts `sha256:` and 64 lowercase hex digits"
    )]
    BadDigest(String),
}

/// Parses a pulled manifest (its digest already checked) and holds it to what wasmctl
/// unpacks: a Wasm artifact whose digests all have the one form the cache names files by.
pub fn parse_manifest(bytes: &[u8]) -> Result<OciImageManifest, ManifestProblem> {
    let manifest: OciImageManifest =
        serde_json::from_slice(bytes).map_err(ManifestProblem::NotJson)?;
    // Spin's layout has a plain image config; its locked app layer says what it is.
    let spin = manifest.config.media_type == super::spin_layout::IMAGE_CONFIG_MEDIA_TYPE
        && super::spin_layout::is_spin_layout(&manifest);
    if manifest.config.media_type != WASM_CONFIG_MEDIA_TYPE && !spin {
        return Err(ManifestProblem::NotWasm(manifest.config.media_type));
    }
    // Digests become file names in the cache: hold them to their one form first.
    for descriptor in manifest.layers.iter().chain([&manifest.config]) {
        if !is_sha256_digest(&descriptor.digest) {
            return Err(ManifestProblem::BadDigest(descriptor.digest.clone()));
        }
    }
    Ok(manifest)
}

/// The limit on a layer of `media_type`, checked against its descriptor's size before it
/// is downloaded. A layer wasmctl does not know is held to the component limit.
pub fn layer_limit(media_type: &str) -> crate::limits::Limit {
    match media_type {
        FILES_MEDIA_TYPE
        | super::spin_layout::DATA_MEDIA_TYPE
        | super::spin_layout::ARCHIVE_MEDIA_TYPE => crate::limits::FILES_SIZE,
        APP_MEDIA_TYPE | super::spin_layout::LOCKED_APP_MEDIA_TYPE => crate::limits::MANIFEST,
        _ => crate::limits::COMPONENT,
    }
}

/// Unpacks a files layer into `dir`, which it creates. A layer is untrusted input: only
/// regular files and directories are written, at relative paths that stay below `dir`,
/// each file created anew (never through an existing path). A symbolic link or hard link
/// would let the guest, or a later copy of the app, read a host file such as
/// `/etc/passwd`, so one refuses the whole layer; the caller stages `dir` and drops it.
///
/// The layer is small on the wire but may unpack to anything (a gzip bomb): what it
/// unpacks to is held to [`crate::limits::FILES_SIZE`] and its entries to
/// [`crate::limits::FILES_ENTRIES`], checked as it goes.
pub fn unpack_files(archive: &Path, digest: &str, dir: &Path) -> Result<()> {
    let refuse = |entry: &str, what: String| {
        anyhow::Error::new(Hinted::new(
            format!(
                "the artifact's files layer `{digest}` holds `{entry}`, {what}; wasmctl unpacks regular files and directories only, so nothing was written"
            ),
            "the artifact was not packed by `wasmctl deploy` or was altered; push it again from the app's directory",
        ))
    };
    // Inside the caller's fresh staging directory, which holds no links.
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file =
        std::fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let layer = format!("the files layer `{digest}` unpacked");
    let size = crate::limits::FILES_SIZE;
    // Checked as it streams: one large entry can take longer to write than Ctrl-C waits.
    let unpacked = crate::limits::Bounded::new(
        crate::interrupt::Checked(flate2::read::GzDecoder::new(file)),
        size,
        size.value()?,
        layer.clone(),
    );
    let entries = crate::limits::FILES_ENTRIES;
    let max_entries = entries.value()?;
    // An exceeded limit is the error, not a broken layer.
    let reading = |error: std::io::Error| match crate::limits::find_too_large(&error) {
        Some(too_large) => anyhow::Error::new(too_large.clone()),
        None => anyhow::Error::new(error).context(format!("reading the files layer `{digest}`")),
    };
    let mut tar = tar::Archive::new(unpacked);
    for (count, entry) in tar.entries().map_err(reading)?.enumerate() {
        crate::interrupt::check()?;
        if count as u64 >= max_entries {
            return Err(entries.exceeded(layer, max_entries).into());
        }
        let mut entry = entry.map_err(reading)?;
        let name = entry.path()?.into_owned();
        let shown = name.display().to_string();
        // Plain names only: no `/`, `..` or `.` that could lead anywhere but below `dir`.
        let plain = name.components().next().is_some()
            && name
                .components()
                .all(|part| matches!(part, std::path::Component::Normal(_)));
        if !plain {
            return Err(refuse(
                &shown,
                "a path that does not stay below its directory".into(),
            ));
        }
        let path = dir.join(&name);
        // Only directories this loop made are on the way (it never makes a link), so
        // creating the parents cannot be led out of `dir`.
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut out = create_new_file(&path)?;
                std::io::copy(&mut entry, &mut out).map_err(|error| {
                    match crate::limits::find_too_large(&error) {
                        Some(too_large) => anyhow::Error::new(too_large.clone()),
                        None => {
                            anyhow::Error::new(error).context(format!("writing {}", path.display()))
                        }
                    }
                })?;
            }
            tar::EntryType::Directory => std::fs::create_dir_all(&path)
                .with_context(|| format!("creating {}", path.display()))?,
            tar::EntryType::Symlink => {
                let to = entry.link_name()?.unwrap_or_default().display().to_string();
                return Err(refuse(&shown, format!("a symbolic link to `{to}`")));
            }
            tar::EntryType::Link => {
                let to = entry.link_name()?.unwrap_or_default().display().to_string();
                return Err(refuse(&shown, format!("a hard link to `{to}`")));
            }
            other => return Err(refuse(&shown, format!("a special file ({other:?})"))),
        }
    }
    Ok(())
}

/// Creates the file `path` anew (never through an existing path), and its parents.
pub(super) fn create_new_file(path: &Path) -> Result<std::fs::File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("writing {} (is it listed twice?)", path.display()))
}

/// Other Wasm tooling pushes one `application/wasm` layer and nothing else: serve it on `/...`.
fn materialize_single_component(
    manifest: &OciImageManifest,
    blob: &dyn Fn(&str) -> PathBuf,
    target: &Path,
) -> Result<()> {
    let wasm: Vec<&OciDescriptor> = manifest
        .layers
        .iter()
        .filter(|l| l.media_type == WASM_LAYER_MEDIA_TYPE)
        .collect();
    let [layer] = wasm.as_slice() else {
        bail!(
            "the artifact has no wasmctl.toml layer and {} application/wasm layers; wasmctl can serve one",
            wasm.len()
        );
    };
    std::fs::copy(blob(&layer.digest), target.join("components/app.wasm"))?;
    std::fs::write(
        target.join(crate::manifest::MANIFEST_FILE),
        "manifest_version = 1\n[application]\nname = \"app\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"app\"\n[component.app]\nsource = \"components/app.wasm\"\n",
    )?;
    Ok(())
}

/// `sha256:` and 64 lowercase hex digits: the only digest form wasmctl stores, so a digest
/// can name a file in the cache without leading anywhere else.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Checks that `digest`, named by the artifact's own manifest file (wasmctl.toml or Spin's
/// locked app), is one of its layers of one of `media_types`.
pub(super) fn check_layer(
    manifest: &OciImageManifest,
    digest: &str,
    media_types: &[&str],
) -> Result<()> {
    if manifest
        .layers
        .iter()
        .any(|layer| layer.digest == digest && media_types.contains(&layer.media_type.as_str()))
    {
        Ok(())
    } else {
        bail!(
            "the artifact refers to `{digest}`, which is not one of its {} layers",
            media_types.join(" or ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An app directory with a fake component, an assets directory and a build table.
    fn app_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("svc.wasm"), b"\0asm\x0d\0\x01\0 pretend").unwrap();
        std::fs::create_dir_all(dir.path().join("assets/css")).unwrap();
        std::fs::write(dir.path().join("assets/index.html"), "<h1>hi</h1>").unwrap();
        std::fs::write(dir.path().join("assets/css/site.css"), "h1{}").unwrap();
        std::fs::write(
            dir.path().join("wasmctl.toml"),
            "manifest_version = 1\n[application]\nname = \"svc\"\nversion = \"1.0.0\"\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"svc\"\n\
             [component.svc]\nsource = \"svc.wasm\"\nfiles = [{ source = \"assets\", destination = \"/assets\" }]\n\
             [component.svc.build]\ncommand = \"true\"\n[deploy]\nregistry = \"127.0.0.1:5000/demo/svc:v1\"\n",
        )
        .unwrap();
        dir
    }

    fn pack_dir(dir: &Path) -> Artifact {
        let app = crate::manifest::load(&dir.join("wasmctl.toml")).unwrap();
        pack(&app, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn variable_values_are_never_packed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("svc.wasm"), b"\0asm\x0d\0\x01\0 pretend").unwrap();
        std::fs::write(dir.path().join("note.txt"), "kept").unwrap();
        std::fs::write(dir.path().join(".env"), "WASMCTL_VARIABLE_TOKEN=s3cret\n").unwrap();
        std::fs::write(
            dir.path().join("wasmctl.toml"),
            "manifest_version = 1\n[application]\nname = \"svc\"\n\
             [variables]\ntoken = { required = true, secret = true }\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"svc\"\n\
             [component.svc]\nsource = \"svc.wasm\"\nfiles = [{ source = \".\", destination = \"/app\" }]\n\
             variables = { token = \"{{ token }}\" }\n",
        )
        .unwrap();
        let artifact = pack_dir(dir.path());
        let files = artifact
            .layers
            .iter()
            .find(|layer| layer.media_type == FILES_MEDIA_TYPE)
            .unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&files.data[..]));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|entry| entry.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(names.contains(&"note.txt".to_string()), "{names:?}");
        assert!(
            !names.iter().any(|name| name.ends_with(".env")),
            "{names:?}"
        );
        // The manifest layer holds the declarations as written, and no value.
        let manifest = artifact.layers.last().unwrap();
        let text = std::str::from_utf8(&manifest.data).unwrap();
        assert!(
            text.contains("secret = true") && !text.contains("s3cret"),
            "{text}"
        );
    }

    #[test]
    fn packing_is_deterministic_and_rewrites_sources() {
        let dir = app_dir();
        let first = pack_dir(dir.path());
        // Touch every file: timestamps must not change any digest.
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(dir.path().join("assets/index.html"), "<h1>hi</h1>").unwrap();
        let second = pack_dir(dir.path());
        assert_eq!(first.manifest_digest, second.manifest_digest);

        let media: Vec<&str> = first.layers.iter().map(|l| l.media_type.as_str()).collect();
        assert_eq!(
            media,
            [WASM_LAYER_MEDIA_TYPE, FILES_MEDIA_TYPE, APP_MEDIA_TYPE]
        );
        let app_toml = std::str::from_utf8(&first.layers[2].data).unwrap();
        assert!(
            app_toml.contains(&format!("source = \"{}\"", first.layers[0].digest)),
            "{app_toml}"
        );
        assert!(
            app_toml.contains(&format!("source = \"{}\"", first.layers[1].digest)),
            "{app_toml}"
        );
        assert!(
            !app_toml.contains("build") && !app_toml.contains("deploy"),
            "{app_toml}"
        );
        let manifest: serde_json::Value = serde_json::from_slice(&first.manifest).unwrap();
        assert_eq!(manifest["config"]["mediaType"], WASM_CONFIG_MEDIA_TYPE);
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.version"],
            "1.0.0"
        );
        assert_eq!(sha256_digest(&first.manifest), first.manifest_digest);
    }

    /// Writes the artifact's layers where `materialize` can find them by digest.
    fn materialize_into(
        artifact: &Artifact,
        manifest: &OciImageManifest,
        target: &Path,
    ) -> Result<()> {
        let blobs = tempfile::tempdir().unwrap();
        for layer in &artifact.layers {
            std::fs::write(
                blobs.path().join(layer.digest.replace(':', "-")),
                &layer.data,
            )
            .unwrap();
        }
        materialize(
            manifest,
            &|digest| blobs.path().join(digest.replace(':', "-")),
            target,
        )
    }

    #[test]
    fn materialize_restores_a_servable_app() {
        let dir = app_dir();
        let artifact = pack_dir(dir.path());
        let manifest: OciImageManifest = serde_json::from_slice(&artifact.manifest).unwrap();
        let target = tempfile::tempdir().unwrap();
        materialize_into(&artifact, &manifest, target.path()).unwrap();
        let app = crate::manifest::load(&target.path().join("wasmctl.toml")).unwrap();
        let component = &app.components["svc"];
        assert_eq!(
            std::fs::read(app.resolve(&component.source)).unwrap(),
            std::fs::read(dir.path().join("svc.wasm")).unwrap()
        );
        let assets = app.resolve(&component.files[0].source);
        assert_eq!(
            std::fs::read_to_string(assets.join("css/site.css")).unwrap(),
            "h1{}"
        );
    }

    #[test]
    fn a_foreign_layer_reference_is_refused() {
        let dir = app_dir();
        let mut artifact = pack_dir(dir.path());
        let mut manifest: OciImageManifest = serde_json::from_slice(&artifact.manifest).unwrap();
        manifest.layers.remove(0);
        artifact.layers.remove(0);
        let target = tempfile::tempdir().unwrap();
        let error = materialize_into(&artifact, &manifest, target.path()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("not one of its application/wasm layers"),
            "{error}"
        );
    }

    #[test]
    fn hostile_component_ids_never_reach_the_disk() {
        let dir = app_dir();
        let artifact = pack_dir(dir.path());
        let mut manifest: OciImageManifest = serde_json::from_slice(&artifact.manifest).unwrap();
        // Rewrite the app layer so its component id tries to escape the target directory.
        let app_layer = artifact
            .layers
            .iter()
            .position(|l| l.media_type == APP_MEDIA_TYPE)
            .unwrap();
        let mut artifact = artifact;
        let text = std::str::from_utf8(&artifact.layers[app_layer].data)
            .unwrap()
            .replace("[component.svc]", "[component.\"../../escaped\"]");
        let blob = Blob::new(APP_MEDIA_TYPE, "wasmctl.toml".into(), text.into_bytes());
        manifest.layers[app_layer].digest = blob.digest.clone();
        artifact.layers[app_layer] = blob;
        let target = tempfile::tempdir().unwrap();
        let error = materialize_into(&artifact, &manifest, &target.path().join("app")).unwrap_err();
        assert!(
            error.to_string().contains("component id `../../escaped`"),
            "{error}"
        );
        assert!(!target.path().join("escaped.wasm").exists());
    }
}
