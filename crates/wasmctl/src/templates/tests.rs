use std::collections::BTreeMap;
use std::path::Path;

use super::catalog::{Catalog, UnknownTemplate};
use super::*;

/// Writes a template directory with the given metadata and `content/` files.
fn template_dir(metadata: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(METADATA_FILE), metadata).unwrap();
    for (path, text) in files {
        let path = dir.path().join(CONTENT_DIR).join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const METADATA: &str = r#"
name = "greeter"
description = "says hello"
[[parameters]]
name = "greeting"
prompt = "Greeting"
default = "hello"
pattern = "[a-z]+"
"#;

fn load(dir: &tempfile::TempDir) -> Result<Template> {
    Template::from_dir(dir.path(), Origin::Installed(dir.path().to_path_buf()))
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn embedded_templates_are_valid() {
    let templates = Catalog::embedded().unwrap();
    let http_rust = templates
        .iter()
        .find(|t| t.name == "http-rust")
        .expect("http-rust is embedded");
    let names: Vec<_> = http_rust
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["description", "http_route", "authors"]);
    let route = &http_rust.parameters[1];
    for good in ["/", "/...", "/api/...", "/api/v1"] {
        assert_eq!(route.check(good), Ok(()), "{good}");
    }
    for bad in ["api", "/a b", "/\"", "/x\n"] {
        assert!(route.check(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn renders_contents_and_file_names() {
    let dir = template_dir(
        METADATA,
        &[
            ("{{project_name}}.txt", "{{greeting}}, {{project_name}}!"),
            ("sub/plain.md", "# {{project_name}}"),
        ],
    );
    let template = load(&dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("nested/app");
    template
        .render("app", &values(&[("greeting", "hi")]), &target)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(target.join("app.txt")).unwrap(),
        "hi, app!"
    );
    assert_eq!(
        std::fs::read_to_string(target.join("sub/plain.md")).unwrap(),
        "# app"
    );
    // Nothing but the project is left next to it: the staging directory became the project.
    let siblings: Vec<_> = std::fs::read_dir(out.path().join("nested"))
        .unwrap()
        .collect();
    assert_eq!(siblings.len(), 1);
}

#[test]
fn failed_render_leaves_nothing_behind() {
    // `{{missing}}` is not a variable: strict mode makes the second file fail to render.
    let dir = template_dir(
        METADATA,
        &[("a.txt", "{{greeting}}"), ("b.txt", "{{missing}}")],
    );
    let template = load(&dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("app");
    let error = template
        .render("app", &values(&[("greeting", "hi")]), &target)
        .unwrap_err();
    assert!(format!("{error:#}").contains("b.txt"), "{error:#}");
    assert!(!target.exists());
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "staging directory was removed"
    );
}

#[test]
fn rendered_names_cannot_escape_the_project() {
    let dir = template_dir(METADATA, &[("{{greeting}}/x.txt", "x")]);
    let template = load(&dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    let error = template
        .render(
            "app",
            &values(&[("greeting", "..")]),
            &out.path().join("app"),
        )
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("not a path inside the project"),
        "{error:#}"
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn non_empty_target_is_refused_and_untouched() {
    let dir = template_dir(METADATA, &[("a.txt", "{{greeting}}")]);
    let template = load(&dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("mine.txt"), "precious").unwrap();
    let error = template
        .render("app", &values(&[("greeting", "hi")]), out.path())
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("already exists and is not empty"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("mine.txt")).unwrap(),
        "precious"
    );
    assert!(!out.path().join("a.txt").exists());
}

#[test]
fn bad_metadata_is_located() {
    let dir = template_dir(
        "name = \"1bad\"\ndescription = \"x\"\n[[parameters]]\nname = \"Upper\"\nprompt = \"p\"\n[[parameters]]\nname = \"n\"\nprompt = \"p\"\ndefault = \"ABC\"\npattern = \"[a-z]+\"\n",
        &[("a.txt", "x")],
    );
    let error = load(&dir).unwrap_err();
    let diagnostics = error.downcast_ref::<Diagnostics>().expect("located error");
    let messages: Vec<_> = diagnostics
        .items
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].contains("template name `1bad`"), "{messages:?}");
    assert!(
        messages[1].contains("parameter name `Upper`"),
        "{messages:?}"
    );
    assert!(messages[2].contains("default does not fit"), "{messages:?}");
    assert!(
        diagnostics.to_string().contains("template.toml:1:8"),
        "{diagnostics}"
    );
}

#[test]
fn broken_handlebars_is_refused_at_load() {
    let dir = template_dir(METADATA, &[("a.txt", "{{#if greeting}}unclosed")]);
    let error = load(&dir).unwrap_err();
    assert!(format!("{error:#}").contains("content/a.txt"), "{error:#}");
}

#[test]
fn install_list_and_uninstall() {
    let data = tempfile::tempdir().unwrap();
    let catalog = Catalog::new(data.path().join("templates"));
    let source = template_dir(METADATA, &[("a.txt", "{{greeting}}")]);
    let installed = catalog.install(source.path(), false).unwrap();
    assert_eq!(installed.name, "greeter");
    assert!(catalog.find("greeter").is_ok());
    let again = catalog.install(source.path(), false).unwrap_err();
    assert!(again.to_string().contains("already installed"), "{again}");
    catalog.install(source.path(), true).unwrap();
    catalog.uninstall("greeter").unwrap();
    let unknown = catalog.find("greeter").unwrap_err();
    let hint = unknown
        .downcast_ref::<UnknownTemplate>()
        .expect("an unknown template")
        .hint();
    assert!(
        hint.text()
            .contains("available templates: http-js, http-python, http-rust,"),
        "{unknown}: {hint}"
    );
}

#[test]
fn install_from_tarball_with_a_top_level_directory() {
    let source = template_dir(METADATA, &[("a.txt", "{{greeting}}")]);
    let archive_dir = tempfile::tempdir().unwrap();
    let archive = archive_dir.path().join("greeter.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&archive).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("greeter", source.path()).unwrap();
    tar.into_inner().unwrap().finish().unwrap();

    let data = tempfile::tempdir().unwrap();
    let catalog = Catalog::new(data.path().join("templates"));
    let installed = catalog.install(&archive, false).unwrap();
    assert_eq!(installed.file_count(), 1);
}

#[test]
fn install_refuses_invalid_and_builtin_names() {
    let data = tempfile::tempdir().unwrap();
    let catalog = Catalog::new(data.path().join("templates"));
    let not_a_template = tempfile::tempdir().unwrap();
    let error = catalog.install(not_a_template.path(), false).unwrap_err();
    assert!(format!("{error:#}").contains("template.toml"), "{error:#}");
    let builtin = template_dir(&METADATA.replace("greeter", "http-rust"), &[("a.txt", "x")]);
    let error = catalog.install(builtin.path(), false).unwrap_err();
    assert!(error.to_string().contains("built-in template"), "{error}");
    let garbage = not_a_template.path().join("junk.tar.gz");
    std::fs::write(&garbage, b"\x1f\x8b not really gzip").unwrap();
    assert!(catalog.install(&garbage, false).is_err());
    assert!(!Path::new(&data.path().join("templates/greeter")).exists());
}

// Found by fuzzing (fuzz/fuzz_targets/template.rs); the inputs are in testdata/fuzz/template/.

#[test]
fn recursive_partials_are_refused_at_load() {
    // Rendering this recursed until the stack overflowed and aborted `wasmctl new`.
    let recursive = r#"{{#*inline "p"}}x{{> p}}{{/inline}}{{> p}}"#;
    for files in [[("a.txt", recursive)], [(recursive, "a")]] {
        let dir = template_dir(METADATA, &files);
        let error = format!("{:#}", load(&dir).unwrap_err());
        assert!(error.contains("partial or decorator"), "{error}");
    }
    let dir = template_dir(METADATA, &[("a.txt", "{{> a.txt}}")]);
    assert!(
        load(&dir).is_err(),
        "a partial, even one that renders nothing"
    );
}

#[test]
fn deeply_nested_blocks_are_refused_at_load() {
    let nested =
        |depth: usize| "{{#if greeting}}".repeat(depth) + "{{greeting}}" + &"{{/if}}".repeat(depth);
    // A few thousand levels overflowed the stack while rendering.
    let dir = template_dir(METADATA, &[("a.txt", &nested(MAX_BLOCK_DEPTH + 1))]);
    let error = format!("{:#}", load(&dir).unwrap_err());
    assert!(error.contains("nests blocks more than 32 deep"), "{error}");

    let dir = template_dir(METADATA, &[("a.txt", &nested(MAX_BLOCK_DEPTH))]);
    let out = tempfile::tempdir().unwrap();
    load(&dir)
        .unwrap()
        .render(
            "app",
            &values(&[("greeting", "hi")]),
            &out.path().join("app"),
        )
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.path().join("app/a.txt")).unwrap(),
        "hi"
    );
}

#[test]
fn deeply_nested_subexpressions_are_refused_before_parsing() {
    let nested = |depth: usize| {
        format!(
            "{{{{toml_str {}greeting{}}}}}",
            "(toml_str ".repeat(depth),
            ")".repeat(depth)
        )
    };
    // handlebars' parser takes about twice as long per level: 30 levels took minutes.
    let started = std::time::Instant::now();
    let dir = template_dir(METADATA, &[("a.txt", &nested(30))]);
    let error = format!("{:#}", load(&dir).unwrap_err());
    assert!(error.contains("subexpressions more than 8 deep"), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    let dir = template_dir(METADATA, &[("a.txt", &nested(MAX_SUBEXPRESSION_DEPTH))]);
    assert!(load(&dir).is_ok());
    // Parentheses in the text around the expressions are not subexpressions.
    assert_eq!(
        subexpression_depth("f(g(h(i(j(k(l(m(n(o()))))))))) {{x}}"),
        0
    );
    assert_eq!(subexpression_depth("{{a (b (c))}} ((("), 2);
}

#[test]
fn route_path_is_the_url_below_a_route() {
    use super::path_below_route;
    assert_eq!(path_below_route("/...", "/hello/world"), "/hello/world");
    assert_eq!(
        path_below_route("/api/...", "/hello/world"),
        "/api/hello/world"
    );
    assert_eq!(path_below_route("/api/v1/...", "/"), "/api/v1/");
    // An exact route serves only itself.
    assert_eq!(path_below_route("/greet", "/hello/world"), "/greet");
}

#[test]
fn values_that_make_an_invalid_manifest_are_refused_before_writing() {
    let templates = Catalog::embedded().unwrap();
    let http_rust = templates.iter().find(|t| t.name == "http-rust").unwrap();
    let mut given = values(&[
        ("description", "d"),
        ("http_route", "/../admin"),
        ("authors", ""),
    ]);
    // The pattern lets `..` through; the manifest's route rule does not.
    assert_eq!(http_rust.parameters[1].check("/../admin"), Ok(()));
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("svc");
    let error = http_rust.render("svc", &given, &target).unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("not a valid app; nothing was written"),
        "{message}"
    );
    assert!(message.contains("route `/../admin`"), "{message}");
    assert!(!target.exists());
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);

    given.insert("http_route".into(), "/admin/...".into());
    http_rust.render("svc", &given, &target).unwrap();
    crate::manifest::load(&target.join(MANIFEST_FILE)).unwrap();
}

/// The WIT a template vendors for its guest is the WIT the host serves, byte for byte:
/// a template cannot drift to an interface version `up` does not link.
#[test]
fn vendored_template_wit_is_the_hosts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let vendored = root.join("templates/http-rust-kv/content/wit/deps");
    let mut compared = 0;
    for package in std::fs::read_dir(&vendored).unwrap() {
        let package = package.unwrap().path();
        for file in std::fs::read_dir(&package).unwrap() {
            let file = file.unwrap().path();
            let hosts = root
                .join("wit/deps")
                .join(package.file_name().unwrap())
                .join(file.file_name().unwrap());
            assert_eq!(
                std::fs::read(&file).unwrap(),
                std::fs::read(&hosts).unwrap_or_default(),
                "{} differs from {}",
                file.display(),
                hosts.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 7, "only {compared} WIT files compared");
}
