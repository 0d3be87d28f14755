//! `wasmctl templates`: list, install, uninstall through the CLI.

use predicates::prelude::*;

use crate::support::{json_stdout, wasmctl};

#[test]
fn list_json_describes_embedded_templates() {
    let dir = tempfile::tempdir().unwrap();
    let list = json_stdout(wasmctl(dir.path()).args(["templates", "list", "--json"]));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "http-js",
            "http-python",
            "http-rust",
            "http-rust-kv",
            "http-rust-wasip3",
            "http-ts"
        ]
    );
    let http_rust = &list[2];
    assert_eq!(http_rust["name"], "http-rust");
    assert_eq!(http_rust["origin"], "embedded");
    assert_eq!(http_rust["parameters"][1]["name"], "http_route");
    assert_eq!(http_rust["parameters"][1]["default"], "/...");
}

#[test]
fn installed_template_is_listed_used_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let source = dir.path().join("greeter");
    std::fs::create_dir_all(source.join("content")).unwrap();
    std::fs::write(
        source.join("template.toml"),
        "name = \"greeter\"\ndescription = \"says hi\"\n",
    )
    .unwrap();
    std::fs::write(
        source.join("content/hello.txt"),
        "hi from {{project_name}}\n",
    )
    .unwrap();

    let run = |args: &[&str]| {
        let mut command = wasmctl(dir.path());
        command.env("WASMCTL_DATA_DIR", data.path()).args(args);
        command.assert()
    };
    run(&["templates", "install", "greeter"])
        .success()
        .stderr(predicate::str::contains("Installed"));
    run(&["templates", "list"])
        .success()
        .stdout(predicate::str::contains("greeter").and(predicate::str::contains("says hi")));
    run(&["new", "greeter", "app"]).success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/hello.txt")).unwrap(),
        "hi from app\n"
    );
    run(&["templates", "uninstall", "greeter"]).success();
    run(&["templates", "uninstall", "greeter"])
        .code(1)
        .stderr(predicate::str::contains(
            "no installed template named `greeter`",
        ));
    run(&["templates", "uninstall", "http-rust"])
        .code(1)
        .stderr(predicate::str::contains("built into wasmctl"));
}

#[test]
fn broken_template_is_refused_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let source = dir.path().join("broken");
    std::fs::create_dir_all(source.join("content")).unwrap();
    std::fs::write(
        source.join("template.toml"),
        "name = \"broken\"\ndescripton = \"typo\"\n",
    )
    .unwrap();
    std::fs::write(source.join("content/a.txt"), "x").unwrap();
    wasmctl(dir.path())
        .env("WASMCTL_DATA_DIR", data.path())
        .args(["templates", "install", "broken"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("template.toml:2:1")
                .and(predicate::str::contains("descripton")),
        );
    assert!(!data.path().join("templates/broken").exists());
}
