//! Arbitrary templates rendered with arbitrary values, checked to stay inside the target.
//!
//! Input: NUL-separated sections: `template.toml` text, the name of the one file under
//! `content/` (itself a handlebars template), that file's contents, the project name,
//! then one value per declared parameter. The template is loaded with
//! `Template::from_dir`, the validation `templates install` uses; the project name and
//! values are used only if they pass the checks `wasmctl new` makes (else `app` and each
//! default), then it is rendered into `<root>/w/x/out/project`.
//!
//! Properties: nothing panics; after a successful render everything created is inside
//! the target, which holds one regular file per template file; after a failed render
//! nothing at all was created. Escapes of up to three levels would land inside `<root>`
//! and be seen; deeper ones are refused by the same `..` check.

#![no_main]

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use wasmctl::names::check_name;
use wasmctl::templates::{Origin, Template};

fuzz_target!(|data: &[u8]| {
    let mut sections = data.split(|byte| *byte == 0);
    let metadata = sections.next().unwrap_or_default();
    let Some(name) = sections.next().and_then(content_name) else {
        return;
    };
    let contents = sections.next().unwrap_or_default();
    let project_name = sections
        .next()
        .and_then(|s| std::str::from_utf8(s).ok())
        .filter(|name| check_name("app name", name).is_ok())
        .unwrap_or("app")
        .to_string();

    let root = tempfile::tempdir_in(scratch()).expect("a scratch directory");
    let source = root.path().join("template");
    std::fs::create_dir_all(
        source
            .join("content")
            .join(&name)
            .parent()
            .expect("has one"),
    )
    .expect("creating the template's directories");
    std::fs::write(source.join("template.toml"), metadata).expect("writing template.toml");
    std::fs::write(source.join("content").join(&name), contents).expect("writing the file");
    let Ok(template) = Template::from_dir(&source, Origin::Installed(source.clone())) else {
        return;
    };
    assert_eq!(template.file_count(), 1);

    let mut values = BTreeMap::new();
    for parameter in &template.parameters {
        let value = sections
            .next()
            .and_then(|s| std::str::from_utf8(s).ok())
            .filter(|value| parameter.check(value).is_ok())
            .unwrap_or(&parameter.default);
        values.insert(parameter.name.clone(), value.to_string());
    }

    let out = root.path().join("w/x/out");
    std::fs::create_dir_all(&out).expect("creating the target's parent");
    let target = out.join("project");
    let rendered = template.render(&project_name, &values, &target);

    let mut created = Vec::new();
    walk(root.path(), &mut created);
    let created: Vec<PathBuf> = created
        .into_iter()
        .filter(|path| !path.starts_with(&source))
        .filter(|path| !out.starts_with(path))
        .collect();
    match rendered {
        Ok(()) => {
            for path in &created {
                assert!(
                    path.starts_with(&target),
                    "{} is outside the target",
                    path.display()
                );
            }
            let files = created
                .iter()
                .filter(|path| path.symlink_metadata().is_ok_and(|m| m.is_file()))
                .count();
            assert_eq!(
                files, 1,
                "one file rendered from one template file: {created:?}"
            );
        }
        Err(error) => assert!(created.is_empty(), "{error:#} left {created:?}"),
    }
});

/// The file name as the harness writes it under `content/`: a relative path of plain
/// names (the template author's file system cannot hold anything else).
fn content_name(bytes: &[u8]) -> Option<PathBuf> {
    let name = std::str::from_utf8(bytes).ok()?;
    let path = Path::new(name);
    let plain = !name.is_empty()
        && name.len() < 200
        && path
            .components()
            .all(|part| matches!(part, Component::Normal(_)));
    // Rebuilt from its parts: `a/` names the file `a`, as a file system would.
    plain.then(|| path.components().collect())
}

/// tmpfs when there is one: every run writes and removes a few files.
fn scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Every path below `dir`, without following symbolic links.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading a scratch directory") {
        let path = entry.expect("reading a scratch directory").path();
        let is_dir = path.symlink_metadata().is_ok_and(|m| m.is_dir());
        found.push(path.clone());
        if is_dir {
            walk(&path, found);
        }
    }
}
