use std::collections::BTreeMap;
use std::path::Path;

use super::super::catalog::Catalog;
use super::super::{Origin, Template};
use super::*;

fn http_rust() -> Template {
    Catalog::embedded()
        .unwrap()
        .into_iter()
        .find(|t| t.name == "http-rust")
        .expect("http-rust is embedded")
}

/// Values for http-rust: defaults, and this route.
fn route(route: &str) -> BTreeMap<String, String> {
    http_rust()
        .parameters
        .iter()
        .map(|p| {
            let value = if p.name == "http_route" {
                route.to_string()
            } else {
                p.default.clone()
            };
            (p.name.clone(), value)
        })
        .collect()
}

/// A rendered `http-rust` app named `svc` in a fresh directory.
fn svc_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    http_rust()
        .render("svc", &route("/..."), &dir.path().join("svc"))
        .unwrap();
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The names in `dir`, sorted (no staging directory may be left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A template directory with this `wasmctl.toml` (if any) and one more file.
fn custom_template(manifest: Option<&str>) -> (tempfile::TempDir, Template) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("template.toml"),
        "name = \"custom\"\ndescription = \"a test template\"\n",
    )
    .unwrap();
    let content = dir.path().join("content");
    std::fs::create_dir_all(content.join("web")).unwrap();
    std::fs::write(content.join("web/Makefile"), "all:\n").unwrap();
    if let Some(manifest) = manifest {
        std::fs::write(content.join("wasmctl.toml"), manifest).unwrap();
    }
    let template = Template::from_dir(dir.path(), Origin::Installed(dir.path().into())).unwrap();
    (dir, template)
}

#[test]
fn a_cargo_component_joins_the_root_workspace_and_the_user_text_stays() {
    let dir = svc_app();
    let app = dir.path().join("svc");
    let manifest = app.join("wasmctl.toml");
    // The user's own comment and layout must survive.
    let original = read(&manifest).replace(
        "[component.svc]\n",
        "# my note: svc is the front door\n[component.svc]   # trailing\n",
    );
    std::fs::write(&manifest, &original).unwrap();
    let root_cargo = read(&app.join("Cargo.toml"));

    let added = ComponentSlot::find(&manifest, "api")
        .unwrap()
        .add(&http_rust(), &route("/api/..."))
        .unwrap();
    assert_eq!(added.components, ["api"]);
    assert_eq!(added.routes, ["/api/..."]);
    assert_eq!(added.workspace, Some(app.join("Cargo.toml")));

    let merged = read(&manifest);
    let trigger = "\n[[trigger.http]]\nroute = \"/api/...\"\ncomponent = \"api\"\n";
    let component_at = merged
        .find("\n[component.api]\n")
        .expect("the component table is added");
    let (before, component) = merged.split_at(component_at);
    // The original text is intact once the two added blocks are taken out.
    assert_eq!(before.replacen(trigger, "", 1), original, "{merged}");
    assert!(before.contains(trigger), "{merged}");
    assert!(
        component.contains("source = \"target/wasm32-wasip2/release/api.wasm\"\n"),
        "{component}"
    );
    assert!(component.contains("workdir = \"api\""), "{component}");
    assert!(
        component.contains("\n[component.api.build]\n"),
        "{component}"
    );
    // The template's comments come along.
    assert!(component.contains("# The component sees no environment"));

    let cargo = read(&app.join("Cargo.toml"));
    assert_eq!(
        cargo,
        root_cargo.replacen("[workspace]\n", "[workspace]\nmembers = [\"api\"]\n", 1),
        "only `members` is added to the root's Cargo.toml"
    );
    let crate_toml = read(&app.join("api/Cargo.toml"));
    assert!(!crate_toml.contains("[workspace]"), "{crate_toml}");
    assert!(!crate_toml.contains("[profile"), "{crate_toml}");
    assert!(crate_toml.contains("name = \"api\""), "{crate_toml}");
    assert!(!app.join("api/wasmctl.toml").exists());
    assert!(app.join("api/src/main.rs").is_file());

    let app = manifest::load(&manifest).unwrap();
    let api = &app.components["api"];
    assert_eq!(api.build.as_ref().unwrap().workdir, Path::new("api"));
}

#[test]
fn the_template_s_variables_join_the_app_s_unless_declared_there() {
    let embedded = |name: &str| {
        Catalog::embedded()
            .unwrap()
            .into_iter()
            .find(|t| t.name == name)
            .unwrap()
    };
    let js = embedded("http-js");
    let values = |route: &str| -> BTreeMap<String, String> {
        js.parameters
            .iter()
            .map(|p| {
                let value = if p.name == "http_route" {
                    route
                } else {
                    &p.default
                };
                (p.name.clone(), value.to_string())
            })
            .collect()
    };
    let dir = svc_app();
    let app = dir.path().join("svc");
    ComponentSlot::find(&app.join("wasmctl.toml"), "web")
        .unwrap()
        .add(&js, &values("/web/..."))
        .unwrap();
    let loaded = manifest::load(&app.join("wasmctl.toml")).unwrap();
    assert!(loaded.variables.contains_key("greeting"));
    assert_eq!(
        loaded.components["web"].source,
        Path::new("web/dist/web.wasm")
    );
    // A second component reading `greeting` keeps the app's declaration, as the user
    // may have edited it.
    edit_default(&app.join("wasmctl.toml"));
    ComponentSlot::find(&app.join("wasmctl.toml"), "web2")
        .unwrap()
        .add(&js, &values("/web2/..."))
        .unwrap();
    let text = read(&app.join("wasmctl.toml"));
    assert_eq!(text.matches("greeting = {").count(), 1, "{text}");
    assert!(text.contains("\"Howdy\""), "{text}");
}

fn edit_default(manifest: &Path) {
    let text = read(manifest).replace("default = \"Hello\"", "default = \"Howdy\"");
    std::fs::write(manifest, text).unwrap();
}

#[test]
fn without_a_root_cargo_toml_the_crate_stays_a_workspace_of_its_own() {
    let dir = svc_app();
    let app = dir.path().join("svc");
    std::fs::remove_file(app.join("Cargo.toml")).unwrap();
    let added = ComponentSlot::find(&app.join("wasmctl.toml"), "api")
        .unwrap()
        .add(&http_rust(), &route("/api/..."))
        .unwrap();
    assert_eq!(added.workspace, None);
    let loaded = manifest::load(&app.join("wasmctl.toml")).unwrap();
    assert_eq!(
        loaded.components["api"].source,
        Path::new("api/target/wasm32-wasip2/release/api.wasm")
    );
    assert!(read(&app.join("api/Cargo.toml")).contains("[workspace]"));
    assert!(!app.join("Cargo.toml").exists());
}

#[test]
fn every_path_of_the_template_becomes_relative_to_the_app() {
    let (_template_dir, template) = custom_template(Some(
        r#"manifest_version = 1
[application]
name = "{{project_name}}"

[[trigger.http]]
route = "/ui/..."
component = "{{project_name}}"

[component.{{project_name}}]
source = "web/dist/{{project_name}}.wasm"
files = [{ source = "assets", destination = "/assets" }]

[component.{{project_name}}.build]
command = "make"
workdir = "./web"
watch = ["src/*.js"]
"#,
    ));
    let app = tempfile::tempdir().unwrap();
    // Inline tables in the app: the new entries follow its style.
    let original = r#"manifest_version = 1
trigger.http = [{ route = "/...", component = "front" }]
component = { front = { source = "front.wasm" } }

[application]
name = "shop"
"#;
    std::fs::write(app.path().join("wasmctl.toml"), original).unwrap();
    ComponentSlot::find(&app.path().join("wasmctl.toml"), "ui")
        .unwrap()
        .add(&template, &BTreeMap::new())
        .unwrap();
    let merged = read(&app.path().join("wasmctl.toml"));
    let loaded = manifest::load(&app.path().join("wasmctl.toml")).unwrap();
    let ui = &loaded.components["ui"];
    assert_eq!(ui.source, Path::new("ui/web/dist/ui.wasm"), "{merged}");
    assert_eq!(ui.files[0].source, Path::new("ui/assets"));
    let build = ui.build.as_ref().unwrap();
    assert_eq!(build.workdir, Path::new("ui/web"));
    assert_eq!(build.watch, ["src/*.js"], "globs stay relative to workdir");
    assert_eq!(loaded.routes.len(), 2);
    assert!(
        merged.ends_with("\n\n[application]\nname = \"shop\"\n"),
        "{merged}"
    );
    assert!(app.path().join("ui/web/Makefile").is_file());
}

#[test]
fn refusals_write_nothing() {
    let dir = svc_app();
    let app = dir.path().join("svc");
    let manifest = app.join("wasmctl.toml");
    let before = read(&manifest);
    let cargo_before = read(&app.join("Cargo.toml"));
    let listing_before = listing(&app);

    // The messages of the chain, then the hints.
    let message = |result: Result<Added>| {
        let error = result.unwrap_err();
        let hints: Vec<_> = error.chain().filter_map(crate::hint::of).collect();
        format!("{error:#} {hints:?}")
    };
    let add = |name: &str, values: BTreeMap<String, String>| {
        ComponentSlot::find(&manifest, name).and_then(|slot| slot.add(&http_rust(), &values))
    };
    let taken = message(add("svc", route("/api/...")));
    assert!(
        taken.contains("component `svc` is already in") && taken.contains("nothing was written"),
        "{taken}"
    );
    let bad = message(add("1api", route("/api/...")));
    assert!(
        bad.contains("component id `1api` must start with a letter"),
        "{bad}"
    );
    let route_taken = message(add("api", route("/...")));
    assert!(
        route_taken
            .contains("route `/...` of template `http-rust` is already served by component `svc`")
            && route_taken.contains("--value http_route=/api/..."),
        "{route_taken}"
    );
    std::fs::write(app.join("notes.txt"), "mine").unwrap();
    std::fs::create_dir(app.join("docs")).unwrap();
    std::fs::write(app.join("docs/x"), "x").unwrap();
    let busy = message(add("docs", route("/docs/...")));
    assert!(busy.contains("already exists and is not empty"), "{busy}");
    let (_template_dir, bare) = custom_template(None);
    let bare = message(
        ComponentSlot::find(&manifest, "web").and_then(|slot| slot.add(&bare, &BTreeMap::new())),
    );
    assert!(
        bare.contains("template `custom` has no `wasmctl.toml`"),
        "{bare}"
    );

    assert_eq!(read(&manifest), before);
    assert_eq!(read(&app.join("Cargo.toml")), cargo_before);
    std::fs::remove_dir_all(app.join("docs")).unwrap();
    std::fs::remove_file(app.join("notes.txt")).unwrap();
    assert_eq!(
        listing(&app),
        listing_before,
        "no staging directory is left"
    );
}

#[test]
fn a_broken_root_cargo_toml_is_named_and_nothing_is_written() {
    let dir = svc_app();
    let app = dir.path().join("svc");
    std::fs::write(app.join("Cargo.toml"), "[package\n").unwrap();
    let before = read(&app.join("wasmctl.toml"));
    let error = ComponentSlot::find(&app.join("wasmctl.toml"), "api")
        .unwrap()
        .add(&http_rust(), &route("/api/..."))
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message
            .contains("Cargo.toml` is not valid TOML, so the new crate cannot join its workspace"),
        "{message}"
    );
    assert_eq!(read(&app.join("wasmctl.toml")), before);
    assert!(!app.join("api").exists());
}

#[test]
fn a_glob_member_already_covers_the_crate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Cargo.toml");
    std::fs::write(
        &path,
        "[workspace]\nmembers = [\"crates/*\", \"./api\"] # all\n",
    )
    .unwrap();
    assert_eq!(
        join_workspace(&path, &["crates/x".into(), "api".into(), "web".into()]).unwrap(),
        "[workspace]\nmembers = [\"crates/*\", \"./api\", \"web\"] # all\n"
    );
    std::fs::write(&path, "[package]\nname = \"x\"\n").unwrap();
    assert_eq!(
        join_workspace(&path, &["api".into()]).unwrap(),
        "[package]\nname = \"x\"\n\n[workspace]\nmembers = [\"api\"]\n"
    );
}
