use std::path::Path;
use std::time::Duration;

use super::*;

const GOOD: &str = r#"
manifest_version = 1

[application]
name = "shop"
version = "1.2.0"
description = "a shop"
authors = ["Ada"]

[[trigger.http]]
route = "/..."
component = "web"

[[trigger.http]]
route = "/api/..."
component = "api"

[[trigger.http]]
route = "/health"
component = "api"

[component.web]
source = "web/target/wasm32-wasip2/release/web.wasm"
files = [{ source = "./web/assets", destination = "/assets" }]

[component.web.build]
cargo = { package = "web" }
workdir = "web"
watch = ["src/**/*.rs", "Cargo.toml"]

[component.api]
source = "api.wasm"
environment = { DB_URL = "postgres://localhost/shop", _X = "1" }
allowed_outbound_hosts = ["https://api.example.com", "http://127.0.0.1:*", "*://*.internal:8080"]
limits = { timeout = "2s", memory = "64MiB" }
build = { command = "make api.wasm", watch = ["api/**"] }
"#;

fn parse_text(text: &str) -> Result<App, ManifestError> {
    parse(Path::new("wasmctl.toml"), text.to_string())
}

/// The plain rendering of the errors `text` produces.
fn errors(text: &str) -> String {
    match parse_text(text) {
        Ok(app) => panic!("expected errors, got {app:#?}"),
        Err(ManifestError::Invalid(diagnostics)) => diagnostics.to_string(),
        Err(other) => panic!("expected diagnostics, got {other}"),
    }
}

/// A valid manifest with `extra` appended to the `web` component table.
fn with_component_keys(extra: &str) -> String {
    format!(
        "manifest_version = 1\n[application]\nname = \"app\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"web.wasm\"\n{extra}\n"
    )
}

#[test]
fn good_manifest_is_fully_understood() {
    let app = parse_text(GOOD).expect("valid");
    assert_eq!(app.name, "shop");
    assert_eq!(app.version.as_deref(), Some("1.2.0"));
    assert_eq!(app.authors, ["Ada"]);
    assert_eq!(
        app.routes,
        [
            HttpRoute {
                route: Route::Prefix(String::new()),
                component: "web".into()
            },
            HttpRoute {
                route: Route::Prefix("/api".into()),
                component: "api".into()
            },
            HttpRoute {
                route: Route::Exact("/health".into()),
                component: "api".into()
            },
        ]
    );
    let web = &app.components["web"];
    assert_eq!(
        web.source,
        Path::new("web/target/wasm32-wasip2/release/web.wasm")
    );
    assert_eq!(
        web.files,
        [FileMount {
            source: "web/assets".into(),
            destination: "/assets".into(),
            selection: None,
        }]
    );
    assert_eq!(
        web.build,
        Some(BuildSpec {
            kind: BuildKind::Cargo {
                package: Some("web".into()),
                target: DEFAULT_CARGO_TARGET.into(),
                features: vec![],
            },
            workdir: "web".into(),
            watch: vec!["src/**/*.rs".into(), "Cargo.toml".into()],
            requires: vec![],
            dependencies: None,
        })
    );
    let api = &app.components["api"];
    assert_eq!(api.environment["DB_URL"], "postgres://localhost/shop");
    assert_eq!(api.limits.timeout, Some(Duration::from_secs(2)));
    assert_eq!(api.limits.memory, Some(64 * 1024 * 1024));
    assert_eq!(
        api.allowed_outbound_hosts,
        [
            OutboundHost {
                scheme: "https".into(),
                host: "api.example.com".into(),
                port: Some(443)
            },
            OutboundHost {
                scheme: "http".into(),
                host: "127.0.0.1".into(),
                port: None
            },
            OutboundHost {
                scheme: "*".into(),
                host: "*.internal".into(),
                port: Some(8080)
            },
        ]
    );
    assert_eq!(
        api.build.as_ref().map(|b| &b.kind),
        Some(&BuildKind::Command("make api.wasm".into()))
    );
}

#[test]
fn template_manifest_is_valid() {
    // The http-rust template's manifest, as rendered with its defaults.
    let text = include_str!("../../../../templates/http-rust/content/wasmctl.toml")
        .replace("{{project_name}}", "svc")
        .replace("{{toml_str description}}", "\"d\"")
        .replace("{{toml_str http_route}}", "\"/...\"")
        .replace(
            "{{#if authors}}\nauthors = [{{toml_str authors}}]\n{{/if}}\n",
            "",
        );
    let app = parse_text(&text).expect("template manifest is valid");
    assert_eq!(
        app.components["svc"].source,
        Path::new("target/wasm32-wasip2/release/svc.wasm")
    );
}

#[test]
fn unknown_key_suggests_the_closest() {
    insta::assert_snapshot!(errors(&with_component_keys("sorce = \"x.wasm\"")));
}

#[test]
fn unknown_top_level_table_lists_valid_keys() {
    insta::assert_snapshot!(errors(&with_component_keys("[trigers]\nx = 1")));
}

#[test]
fn toml_syntax_error_is_located() {
    insta::assert_snapshot!(errors("manifest_version = 1\n[application\nname = \"x\"\n"));
}

#[test]
fn wrong_manifest_version() {
    let text = with_component_keys("").replace("manifest_version = 1", "manifest_version = 2");
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn route_errors_are_all_reported() {
    let text = r#"manifest_version = 1
[application]
name = "app"
[[trigger.http]]
route = "api"
component = "web"
[[trigger.http]]
route = "/a/.../b"
component = "web"
[[trigger.http]]
route = "/files/*"
component = "web"
[[trigger.http]]
route = "/x/..."
component = "wbe"
[[trigger.http]]
route = "/x/..."
component = "web"
[component.web]
source = "web.wasm"
"#;
    insta::assert_snapshot!(errors(text));
}

#[test]
fn paths_must_stay_inside_the_app() {
    insta::assert_snapshot!(errors(&with_component_keys(
        "files = [{ source = \"../secrets\", destination = \"/s\" }, { source = \"/etc\", destination = \"etc\" }]"
    )));
}

#[test]
fn source_must_be_relative() {
    let text =
        with_component_keys("").replace("source = \"web.wasm\"", "source = \"/abs/web.wasm\"");
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn capability_and_limit_values_are_checked() {
    insta::assert_snapshot!(errors(&with_component_keys(
        "environment = { \"BAD-NAME\" = \"1\" }\nallowed_outbound_hosts = [\"api.example.com\", \"ftp://x\", \"https://x.com/path\", \"http://x:99999\"]\n[component.web.limits]\ntimeout = \"soon\"\nmemory = \"10GiB\""
    )));
}

#[test]
fn key_value_stores_name_known_stores_once() {
    let app = parse_text(&with_component_keys("key_value_stores = [\"default\"]")).unwrap();
    assert_eq!(app.components["web"].key_value_stores, ["default"]);
    insta::assert_snapshot!(errors(&with_component_keys(
        "key_value_stores = [\"default\", \"defualt\", \"cache\", \"default\"]"
    )));
}

#[test]
fn build_needs_exactly_one_way() {
    insta::assert_snapshot!(errors(&with_component_keys(
        "[component.web.build]\ncargo = { package = \"web\", target = \"x86_64-unknown-linux-gnu\" }\ncommand = \"make\""
    )));
}

#[test]
fn watch_globs_are_checked() {
    insta::assert_snapshot!(errors(&with_component_keys(
        "[component.web.build]\ncommand = \"make\"\nwatch = [\"src/[a.rs\", \"../up/*.rs\"]"
    )));
}

#[test]
fn build_requirements_and_dependencies_are_read() {
    let app = parse_text(&with_component_keys(
        "[component.web.build]\ncommand = \"npm run build\"\ndependencies = \"npm\"\nrequires = [\"node >= 20\", \"npm\"]",
    ))
    .unwrap();
    let build = app.components["web"].build.as_ref().unwrap();
    assert_eq!(build.dependencies, Some(Dependencies::Npm));
    let requires: Vec<String> = build.requires.iter().map(ToString::to_string).collect();
    assert_eq!(requires, ["node >= 20", "npm"]);
}

#[test]
fn bad_build_requirements_are_located() {
    insta::assert_snapshot!(errors(&with_component_keys(
        "[component.web.build]\ncargo = {}\ndependencies = \"pip\"\nrequires = [\"node >= 20\", \"nodejs\", \"node >= 18\", \"python3 >= three\"]"
    )));
    insta::assert_snapshot!(errors(&with_component_keys(
        "[component.web.build]\ncommand = \"make\"\ndependencies = \"yarn\""
    )));
}

#[test]
fn cargo_builds_watch_their_sources_by_default() {
    let watch_of = |build: &str| {
        let app = parse_text(&with_component_keys(build)).unwrap();
        app.components["web"].build.as_ref().unwrap().watch.clone()
    };
    assert_eq!(
        watch_of("[component.web.build]\ncargo = {}"),
        ["src/**/*.rs", "Cargo.toml"]
    );
    assert!(watch_of("[component.web.build]\ncargo = {}\nwatch = []").is_empty());
    assert!(watch_of("[component.web.build]\ncommand = \"make\"").is_empty());
}

#[test]
fn app_without_routes() {
    insta::assert_snapshot!(errors(
        "manifest_version = 1\n[application]\nname = \"2fast\"\n[component.web]\nsource = \"web.wasm\"\n"
    ));
}

#[test]
fn route_syntax() {
    assert_eq!(validate::parse_route("/"), Ok(Route::Exact("/".into())));
    assert_eq!(
        validate::parse_route("/..."),
        Ok(Route::Prefix(String::new()))
    );
    assert_eq!(
        validate::parse_route("/a/b/..."),
        Ok(Route::Prefix("/a/b".into()))
    );
    assert_eq!(
        validate::parse_route("/a/b/"),
        Ok(Route::Exact("/a/b/".into()))
    );
    for bad in [
        "", "a", "/a//b", "/a/../b", "/a b", "/a?x=1", "/...x", "/a*", "/.../x",
    ] {
        assert!(
            validate::parse_route(bad).is_err(),
            "{bad:?} should be refused"
        );
    }
    assert_eq!(
        validate::parse_route("/a/...").map(|r| r.to_string()),
        Ok("/a/...".to_string())
    );
}

#[test]
fn route_escapes_must_be_whole_and_of_reserved_characters() {
    // Requests are routed in normal form: these could never match as written.
    for bad in [
        "/100%",
        "/a%2",
        "/a%zz/...",
        "/%7Euser",
        "/static/%2e%2e/admin",
    ] {
        assert!(
            validate::parse_route(bad).is_err(),
            "{bad:?} should be refused"
        );
    }
    assert_eq!(
        validate::parse_route("/files/a%2Fb/..."),
        Ok(Route::Prefix("/files/a%2Fb".into()))
    );
    assert_eq!(
        validate::parse_route("/caf%c3%a9"),
        Ok(Route::Exact("/caf%c3%a9".into()))
    );
}

#[test]
fn locate_walks_up_to_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(MANIFEST_FILE), GOOD).unwrap();
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    assert_eq!(locate(&nested).unwrap(), dir.path().join(MANIFEST_FILE));
    let empty = tempfile::tempdir().unwrap();
    let error = locate(empty.path()).unwrap_err();
    assert!(
        error.to_string().contains("could not find `wasmctl.toml`"),
        "{error}"
    );
    let hint = error.hint().expect("a hint");
    assert!(hint.text().contains("wasmctl new http-rust"), "{hint}");
}

#[test]
fn deploy_table_is_parsed_and_checked() {
    let app = parse_text(&with_component_keys("[deploy]\nregistry = \"127.0.0.1:5000/demo/svc:v1\"\n[deploy.kubernetes]\nreplicas = 2\ncpu = \"250m\"\nmemory = \"128Mi\"\nenvironment = { MODE = \"prod\" }")).unwrap();
    assert_eq!(
        app.deploy.registry.as_deref(),
        Some("127.0.0.1:5000/demo/svc:v1")
    );
    assert_eq!(app.deploy.kubernetes.replicas, Some(2));
    assert_eq!(app.deploy.kubernetes.environment["MODE"], "prod");
    insta::assert_snapshot!(errors(&with_component_keys(
        "[deploy]\nregistry = \"svc:v1\"\n[deploy.kubernetes]\nreplicas = 0\nmemory = \"lots\""
    )));
}

/// Each problem of `text` as (line, the text its span covers, message).
fn problems(text: &str) -> Vec<(usize, String, String)> {
    match parse_text(text) {
        Ok(app) => panic!("expected errors, got {app:#?}"),
        Err(ManifestError::Invalid(diagnostics)) => diagnostics
            .items
            .iter()
            .map(|item| {
                let span = item.span.clone().expect("located");
                let line = crate::diagnostic::line_column(text, span.start).0;
                (line, text[span].to_string(), item.message.clone())
            })
            .collect(),
        Err(other) => panic!("expected diagnostics, got {other}"),
    }
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = r#"manifest_version = 1
[application]
name = "app"
colour = "red"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
sorce = "web.wasm"
limits = { timeout = 5, memory = "64MiB", bogus = 1 }
files = [{ source = "a", destination = "/a", extra = 1 }, { source = 7, destination = "/b" }]
[component.api]
source = "api.wasm"
allowed_outbound_hosts = ["ftp://x"]
"#;
    let found = problems(text);
    let summary: Vec<(usize, &str)> = found
        .iter()
        .map(|(line, span, _)| (*line, span.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (4, "colour"),
            (9, "sorce"),
            (10, "5"),
            (10, "bogus"),
            (11, "extra"),
            (11, "7"),
            (14, "\"ftp://x\""),
        ],
        "{found:#?}"
    );
    // The blanked `sorce` leaves `web` without `source`, and the route names `web`: neither
    // is news.
    assert!(
        found
            .iter()
            .all(|(_, _, message)| !message.contains("missing") && !message.contains("not defined")),
        "{found:#?}"
    );
    insta::assert_snapshot!(errors(text));
}

#[test]
fn blanked_tables_cause_no_cascades() {
    // The only routes are lost (one lacks `component`, one names a component whose `source`
    // has the wrong type): no "the app has no routes", no "not defined".
    let text = r#"manifest_version = 1
[application]
name = "app"
[[trigger.http]]
route = "/a"
[[trigger.http]]
route = "/b"
component = "web"
[component.web]
source = 5
[component.web.build]
command = "make"
"#;
    assert_eq!(
        problems(text),
        [
            (
                4,
                "[[trigger.http]]".into(),
                "missing key `component`".into()
            ),
            (
                10,
                "5".into(),
                "wrong type: expected a string, in quotes, found integer `5`".into()
            ),
        ]
    );
}

#[test]
fn a_missing_key_is_news_when_nothing_was_blanked_from_its_table() {
    // `bogus` goes from the subtable; `[component.web]` itself lost nothing.
    let text = "manifest_version = 1\n[application]\nname = \"app\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\ndescription = \"w\"\n[component.web.build]\ncommand = \"make\"\nbogus = 1\n";
    assert_eq!(
        problems(text),
        [
            (7, "[component.web]".into(), "missing key `source`".into()),
            (11, "bogus".into(), "unknown key `bogus`".into()),
        ]
    );
}

#[test]
fn dotted_keys_and_arrays_are_blanked_whole() {
    let text = with_component_keys(
        "build.bogus = 1\nlimits.timeout = 5\nallowed_outbound_hosts = [1, \"https://a.com\", 2]\nenvironment = { A.B = \"x\", C = 1 }",
    );
    let found: Vec<(usize, String)> = problems(&text)
        .into_iter()
        .map(|(line, span, _)| (line, span))
        .collect();
    assert_eq!(
        found,
        [
            (9, "bogus".into()),
            (10, "5".into()),
            (11, "1".into()),
            (11, "2".into()),
            (12, "A".into()),
            (12, "1".into()),
        ]
    );
}

#[test]
fn a_syntax_error_is_the_only_error() {
    assert_eq!(
        problems("manifest_version = 1\nbogus = 2\n[application\nname = \"x\"\n").len(),
        1
    );
}

#[test]
fn problems_are_capped() {
    let keys: String = (0..100).map(|n| format!("bogus{n} = 1\n")).collect();
    let found = problems(&with_component_keys(&keys));
    assert_eq!(found.len(), recover::MAX_PROBLEMS);
}

#[test]
fn spin_files_strings_get_the_table_to_write() {
    let text = with_component_keys(
        "files = [\"assets/**/*\", \"./public\", \"static/*.html\", \"**/*\", { source = \"ok\", destination = \"/ok\" }, 5]",
    );
    let Err(ManifestError::Invalid(diagnostics)) = parse_text(&text) else {
        panic!("string entries are refused");
    };
    let found: Vec<(&str, &str)> = diagnostics
        .items
        .iter()
        .map(|item| {
            let span = item.span.clone().unwrap();
            (&text[span], item.help.as_ref().map_or("", Hint::text))
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "\"assets/**/*\"",
                "write `{ source = \"assets\", destination = \"/assets\" }`: the guest reads everything in `assets` at `/assets`, read-only"
            ),
            (
                "\"./public\"",
                "write `{ source = \"public\", destination = \"/public\" }`: the guest reads everything in `public` at `/public`, read-only"
            ),
            (
                "\"static/*.html\"",
                "write `{ source = \"static\", destination = \"/static\" }`: the guest reads all of `static` at `/static`, read-only, not only the files matching `*.html`; to share only those, move them into a directory of their own and mount that"
            ),
            (
                "\"**/*\"",
                "write `{ source = \".\", destination = \"/\" }`: the guest reads everything in `.` at `/`, read-only"
            ),
            ("5", ""),
        ]
    );
    assert_eq!(
        diagnostics.items[0].message,
        "`files` entry `assets/**/*` is a path, as Spin writes it; wasmctl mounts directories, each written as a table"
    );
    assert_eq!(
        diagnostics.items[4].message,
        "wrong type: expected a table `{ source = \"dir\", destination = \"/guest/path\" }`, found integer `5`"
    );
}

#[test]
fn file_mount_tables_keep_their_own_errors() {
    // The entry's own deserializer must not hide an unknown or missing key behind "no variant".
    let found = problems(&with_component_keys(
        "files = [{ source = \"a\", destination = \"/a\", mode = \"ro\" }, { source = \"b\" }]",
    ));
    let summary: Vec<(&str, &str)> = found
        .iter()
        .map(|(_, span, message)| (span.as_str(), message.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("mode", "unknown key `mode`"),
            ("{ source = \"b\" }", "missing key `destination`"),
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_files_source_is_judged_by_where_its_links_lead() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("assets")).unwrap();
    std::os::unix::fs::symlink("/etc", app.join("etclink")).unwrap();
    std::os::unix::fs::symlink("assets", app.join("inside")).unwrap();
    let manifest = app.join(MANIFEST_FILE);
    let write = |source: &str| {
        std::fs::write(
            &manifest,
            with_component_keys(&format!(
                "files = [{{ source = \"{source}\", destination = \"/d\" }}]"
            )),
        )
        .unwrap();
    };
    write("etclink");
    let Err(ManifestError::Invalid(diagnostics)) = load(&manifest) else {
        panic!("a grant linked to /etc was accepted");
    };
    let text = diagnostics.to_string();
    assert!(
        text.contains("`etclink` resolves to `/etc`, outside the app directory")
            && text.contains("wasmctl.toml:9:"),
        "{text}"
    );
    // A link that stays inside the app is a grant of what it names.
    write("inside");
    let loaded = load(&manifest).unwrap();
    assert_eq!(
        resolve_mount(&loaded.dir, Path::new("inside")).unwrap(),
        Some(std::fs::canonicalize(app.join("assets")).unwrap())
    );
}

#[test]
fn time_limits_have_a_range_and_say_it() {
    assert_eq!(parse_timeout("1ms"), Ok(Duration::from_millis(1)));
    assert_eq!(parse_timeout("1day"), Ok(MAX_TIMEOUT));
    // These overflowed `Instant + timeout` in the host: a panic, not an error.
    for text in [
        "18446744073709551615s",
        "300000000000y",
        "25h",
        "0s",
        "500us",
    ] {
        let error = parse_timeout(text).unwrap_err();
        assert!(error.contains("from 1ms to 1day"), "{text}: {error}");
    }
    let error = parse_timeout("-5s").unwrap_err();
    assert!(error.contains("negative"), "{error}");
    let text = with_component_keys("[component.web.limits]\ntimeout = \"300000000000y\"");
    assert_eq!(
        problems(&text),
        [(
            10,
            "\"300000000000y\"".into(),
            "timeout `300000000000y` is out of range; write a time from 1ms to 1day, e.g. `30s`"
                .into()
        )]
    );
}

#[test]
fn instance_reuse_is_a_count_in_range() {
    let app = parse_text(&with_component_keys(
        "[component.web.limits]\ninstance_reuse = 128",
    ))
    .unwrap();
    assert_eq!(app.components["web"].limits.instance_reuse, Some(128));
    let app = parse_text(&with_component_keys("")).unwrap();
    assert_eq!(app.components["web"].limits.instance_reuse, None);
    for bad in ["0", "-1", "10001", "4294967297"] {
        let text = with_component_keys(&format!("[component.web.limits]\ninstance_reuse = {bad}"));
        assert_eq!(
            problems(&text),
            [(
                10,
                bad.to_string(),
                format!(
                    "instance_reuse `{bad}` is out of range; write how many requests one instance serves, 1 (a fresh instance for each request) to 10000, e.g. `128`"
                )
            )],
        );
    }
    // Not a number at all: the TOML type error names the key.
    let text = with_component_keys("[component.web.limits]\ninstance_reuse = \"lots\"");
    assert!(parse_text(&text).is_err());
}

#[test]
fn outbound_hosts_must_be_real_hosts() {
    for good in [
        "https://api.example.com",
        "https://*.example.com",
        "*://*:*",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "https://xn--bcher-kva.example",
        "https://a-b.c-d",
    ] {
        assert!(validate::parse_outbound_host(good).is_ok(), "{good}");
    }
    for (bad, problem) in [
        ("https://999.1.1.1", "not an IPv4 address"),
        ("https://1.2.3", "not an IPv4 address"),
        ("https://-bad-.com", "`-bad-`"),
        ("https://bad-.com", "`bad-`"),
        ("https://a..b", "empty"),
        ("https://*.10.0.0.1", "wildcard"),
        ("https://[::zz]", "IPv6"),
        ("https://under_score.com", "`_`"),
    ] {
        let error = validate::parse_outbound_host(bad).unwrap_err();
        assert!(error.contains(problem), "{bad}: {error}");
    }
}

#[test]
fn a_single_trigger_http_table_says_to_double_the_brackets() {
    let text = "manifest_version = 1\n[application]\nname = \"app\"\n[trigger.http]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"web.wasm\"\n";
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 4);
    assert!(found[0].2.contains("write `[[trigger.http]]`"), "{found:?}");
}

#[test]
fn a_key_nested_too_deep_is_located() {
    let deep = vec!["a"; 50_000].join(".");
    for line in [format!("{deep} = 1"), format!("[{deep}]")] {
        let found = problems(&with_component_keys(&line));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 9);
        assert!(found[0].2.contains("nested 50000 levels deep"), "{found:?}");
    }
    // As deep as the limit is still read (and refused as an unknown key).
    let limit = vec!["a"; raw::MAX_KEY_PARTS].join(".");
    let found = problems(&with_component_keys(&format!("{limit} = 1")));
    assert!(found[0].2.contains("unknown key"), "{found:?}");
}

#[test]
fn kubernetes_names_follow_kubernetes_rules() {
    let text = "manifest_version = 1\n[application]\nname = \"app\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"web.wasm\"\n[deploy.kubernetes]\nnamespace = \"Prod Apps\"\nruntime_class = \"wasmtime.\"\nreplicas = 0\n";
    let lines: Vec<usize> = problems(text).into_iter().map(|(line, ..)| line).collect();
    assert_eq!(lines, [10, 11, 12]);
    assert!(check_namespace("apps-1").is_ok());
    assert!(check_runtime_class("wasmtime.v1").is_ok());
    assert!(check_replicas(i64::from(i32::MAX) + 1).is_err());
}

/// A valid app around `variables` (the `[variables]` table's body) and the `web`
/// component's `[component.web.variables]` body.
fn with_variables(variables: &str, component: &str) -> String {
    format!(
        "manifest_version = 1\n[application]\nname = \"app\"\n[variables]\n{variables}\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"web.wasm\"\n[component.web.variables]\n{component}\n"
    )
}

#[test]
fn variables_are_declarations_and_templates() {
    let app = parse_text(&with_variables(
        "greeting = { default = \"hello\", description = \"what to say\" }\napi_token = { required = true, secret = true }",
        "greeting = \"{{ greeting }}, world\"\ntoken = '{{api_token}}'",
    ))
    .unwrap();
    let greeting = &app.variables["greeting"];
    assert_eq!(greeting.default.as_deref(), Some("hello"));
    assert!(!greeting.secret && !greeting.required());
    assert_eq!(greeting.description.as_deref(), Some("what to say"));
    let token = &app.variables["api_token"];
    assert!(token.secret && token.required());
    let web = &app.components["web"];
    assert_eq!(
        web.variables["greeting"].render(|_| "hi"),
        "hi, world",
        "{:?}",
        web.variables
    );
    assert_eq!(
        web.variables["token"].variables().collect::<Vec<_>>(),
        ["api_token"]
    );
    // Deny by default: a component without the table reads nothing.
    let plain = parse_text(&with_component_keys("")).unwrap();
    assert!(plain.variables.is_empty() && plain.components["web"].variables.is_empty());
}

#[test]
fn variable_errors_are_located_with_help() {
    insta::assert_snapshot!(errors(&with_variables(
        "greeting = { default = \"hello\" }\nApi-Token = { required = true }\nboth = { required = true, default = \"x\" }\nneither = { secret = true }",
        "greeting = \"{{ greting }}, world\"\nopen = \"{{ greeting \"\nbad_Key = \"x\"\nempty = \"a {{ }} b\"",
    )));
}

#[test]
fn an_unknown_variable_without_any_declared_says_how_to_declare_it() {
    let text = with_component_keys("variables = { token = \"{{ api_token }}\" }");
    let errors = errors(&text);
    assert!(
        errors.contains("`{{ api_token }}` names no app variable")
            && errors.contains("`api_token = { required = true }`"),
        "{errors}"
    );
}

#[test]
fn a_broken_variable_is_one_error_not_also_an_unknown_one() {
    let found = problems(&with_variables(
        "greeting = { default = 1 }",
        "greeting = \"{{ greeting }}\"",
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "1");
}

/// Spin's http-rust template as `spin new` renders it (Spin 3).
const SPIN_HTTP_RUST: &str = r#"spin_manifest_version = 2

[application]
name = "hello"
version = "0.1.0"
authors = ["Ada <ada@example.com>"]
description = ""

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = "target/wasm32-wasip1/release/hello.wasm"
allowed_outbound_hosts = []
[component.hello.build]
command = "cargo build --target wasm32-wasip1 --release"
watch = ["src/**/*.rs", "Cargo.toml"]
"#;

#[test]
fn a_spin_manifest_is_read_as_it_is() {
    let app = parse(Path::new("spin.toml"), SPIN_HTTP_RUST.to_string()).expect("valid");
    assert_eq!(app.format, ManifestFormat::Spin);
    assert_eq!(app.name, "hello");
    assert_eq!(app.authors, ["Ada <ada@example.com>"]);
    assert_eq!(
        app.routes,
        [HttpRoute {
            route: Route::Prefix(String::new()),
            component: "hello".into()
        }]
    );
    let hello = &app.components["hello"];
    assert_eq!(
        hello.source,
        Path::new("target/wasm32-wasip1/release/hello.wasm")
    );
    let build = hello.build.as_ref().expect("a build");
    assert_eq!(
        build.kind,
        BuildKind::Command("cargo build --target wasm32-wasip1 --release".into())
    );
    assert_eq!(build.watch, ["src/**/*.rs", "Cargo.toml"]);
    assert_eq!(build.workdir, Path::new("."));
    // The same text is a Spin manifest whatever the file is called.
    let named = parse(Path::new("wasmctl.toml"), SPIN_HTTP_RUST.to_string()).unwrap();
    assert_eq!(named.format, ManifestFormat::Spin);
    assert_eq!(parse_text(GOOD).unwrap().format, ManifestFormat::Wasmctl);
}

#[test]
fn spin_routes_files_variables_and_stores_map_onto_wasmctls() {
    let text = r#"spin_manifest_version = 2
[application]
name = "shop"
[application.trigger.http]
base = "/"
[application.tool.other]
anything = 1

[variables]
greeting = { default = "Hello" }
api_token = { required = true, secret = true }

[[trigger.http]]
id = "web-trigger"
route = "shop/*"
component = "web"
executor = { type = "spin" }

[[trigger.http]]
route = "/health/"
component = "web"
executor = { type = "http" }

[[trigger.http]]
route = { private = true }
component = "worker"

[component.web]
source = "web.wasm"
files = ["static/**/*", { source = "assets", destination = "/data" }, "./img/**", "./docs/.//**"]
environment = { MODE = "prod" }
allowed_outbound_hosts = ["https://api.example.com"]
key_value_stores = ["default"]
variables = { message = "{{ greeting }}!", token = "{{ api_token }}" }
[component.web.build]
command = ["npm install # with a comment", "npm run build"]
workdir = "web"
[component.web.tool.other]
x = 1

[component.worker]
source = "worker.wasm"
dependencies_inherit_configuration = false
dependencies = {}
"#;
    let app = parse(Path::new("spin.toml"), text.to_string()).expect("valid");
    assert_eq!(
        app.routes,
        [
            HttpRoute {
                route: Route::Prefix("/shop".into()),
                component: "web".into()
            },
            HttpRoute {
                route: Route::Exact("/health".into()),
                component: "web".into()
            }
        ],
        "the private route is reachable by no request"
    );
    assert!(app.components.contains_key("worker"));
    let web = &app.components["web"];
    assert_eq!(
        web.files,
        [
            FileMount {
                source: "static".into(),
                destination: "/static".into(),
                selection: None,
            },
            FileMount {
                source: "assets".into(),
                destination: "/data".into(),
                selection: None,
            },
            FileMount {
                source: "img".into(),
                destination: "/img".into(),
                selection: None,
            },
            FileMount {
                source: "docs".into(),
                destination: "/docs".into(),
                selection: None,
            },
        ]
    );
    assert_eq!(web.environment["MODE"], "prod");
    assert_eq!(web.key_value_stores, ["default"]);
    assert_eq!(web.variables.len(), 2);
    assert!(app.variables["api_token"].secret);
    let build = web.build.as_ref().unwrap();
    assert_eq!(
        build.kind,
        BuildKind::Command("set -e\nnpm install # with a comment\nnpm run build".into())
    );
    assert_eq!(build.workdir, Path::new("web"));
    assert!(build.watch.is_empty());
}

#[test]
fn spin_file_patterns_select_files_and_exclude_files_takes_some_out() {
    let text = r#"spin_manifest_version = 2
[application]
name = "app"
[[trigger.http]]
route = "/..."
component = "web"
[[trigger.http]]
route = "/plain"
component = "plain"

[component.web]
source = "web.wasm"
files = ["static/**/*", "docs/*.txt", "docs/*.md", "index.html", { source = "assets", destination = "/data" }]
exclude_files = ["static/drafts/**", "*.bak"]

[component.plain]
source = "plain.wasm"
files = ["static/**/*", "static/*.txt", "favicon.ico", "*.html", "static/img/*.png"]

[component.nested]
source = "nested.wasm"
files = ["static/img/*.png", "static/**/*.css", "static/img/icons/**"]
"#;
    let app = parse(Path::new("spin.toml"), text.to_string()).expect("valid");
    let mounts = |id: &str| -> Vec<(String, String, Option<Vec<String>>)> {
        app.components[id]
            .files
            .iter()
            .map(|mount| {
                (
                    mount.source.display().to_string(),
                    mount.destination.clone(),
                    mount
                        .selection
                        .as_ref()
                        .map(|selection| selection.include.iter().map(|p| p.to_string()).collect()),
                )
            })
            .collect()
    };
    let some = |patterns: &[&str]| Some(patterns.iter().map(|p| p.to_string()).collect());
    // With `exclude_files`, even whole directories are selections; a directory's
    // patterns share one mount; a path is its file in its directory.
    assert_eq!(
        mounts("web"),
        [
            ("static".into(), "/static".into(), some(&["**/*"])),
            ("docs".into(), "/docs".into(), some(&["*.txt", "*.md"])),
            (".".into(), "/".into(), some(&["index.html"])),
            ("assets".into(), "/data".into(), some(&["**/*"])),
        ]
    );
    // Without: a whole directory is served live, and a pattern in it adds nothing. The
    // app directory's `*.html` reaches no subdirectory, so `static` needs no joining.
    assert_eq!(
        mounts("plain"),
        [
            ("static".into(), "/static".into(), None),
            (".".into(), "/".into(), some(&["favicon.ico", "*.html"])),
        ]
    );
    // A directory below one whose patterns reach into subdirectories joins its mount,
    // which would otherwise hide part of it.
    assert_eq!(
        mounts("nested"),
        [(
            "static".into(),
            "/static".into(),
            some(&["**/*.css", "img/*.png", "img/icons/**/*"])
        )]
    );

    let web = &app.components["web"].files;
    let selects = |mount: usize, in_source: &str, in_app: &str| {
        web[mount]
            .selection
            .as_ref()
            .unwrap()
            .selects(Path::new(in_source), Path::new(in_app))
    };
    assert!(selects(0, "css/site.css", "static/css/site.css"));
    assert!(
        selects(0, ".hidden", "static/.hidden"),
        "as in Spin, `*` matches dotfiles"
    );
    assert!(!selects(
        0,
        "drafts/a/plan.html",
        "static/drafts/a/plan.html"
    ));
    assert!(
        !selects(0, "css/old.bak", "static/css/old.bak"),
        "`*` crosses `/` in an exclude"
    );
    assert!(selects(1, "guide.txt", "docs/guide.txt"));
    assert!(
        !selects(1, "sub/guide.txt", "docs/sub/guide.txt"),
        "`*` stays in one directory"
    );
    assert!(!selects(1, "notes.rst", "docs/notes.rst"));
    assert!(selects(2, "index.html", "index.html"));
    assert!(!selects(2, "static/index.html", "static/index.html"));
    let depth = |mount: usize| web[mount].selection.as_ref().unwrap().depth();
    assert_eq!((depth(0), depth(1), depth(2)), (None, Some(0), Some(0)));
    let literal: Vec<&str> = web[2]
        .selection
        .as_ref()
        .unwrap()
        .literal_includes()
        .collect();
    assert_eq!(literal, ["index.html"]);
}

/// The plain rendering of the errors `text` produces as a `spin.toml`.
fn spin_errors(text: &str) -> String {
    match parse(Path::new(SPIN_MANIFEST_FILE), text.to_string()) {
        Err(ManifestError::Invalid(diagnostics)) => diagnostics.to_string(),
        other => panic!("expected diagnostics, got {other:?}"),
    }
}

#[test]
fn what_wasmctl_does_not_run_of_spin_is_an_error_at_its_key() {
    let text = r#"spin_manifest_version = 2
[application]
name = "app"
[application.trigger.http]
base = "/api"

[[trigger.http]]
route = "/..."
component = "web"

[[trigger.http]]
route = "/users/:id"
component = "web"

[[trigger.http]]
route = "/wagi"
component = "web"
executor = { type = "wagi" }

[[trigger.http]]
route = "/inline"
component = { source = "inline.wasm" }

[[trigger.redis]]
channel = "messages"
component = "web"

[[trigger.http]]
route = { private = true }
component = "nowhere"

[component.web]
source = { url = "https://example.com/web.wasm", digest = "sha256:00" }
files = ["*.html", "./**/*", "/etc/*", "static/../../*", "static/[x"]
exclude_files = ["secret/**", "[oops"]
allowed_http_hosts = ["example.com"]
sqlite_databases = ["default"]
ai_models = ["llama2-chat"]
dependencies = { "example:dep" = "1.0.0" }
"#;
    insta::assert_snapshot!(spin_errors(text));
}

#[test]
fn a_spin_manifest_of_another_version_says_which_it_is() {
    let one = "spin_manifest_version = \"1\"\nname = \"app\"\ntrigger = { type = \"http\" }\n";
    insta::assert_snapshot!(spin_errors(one));
    let three = "spin_manifest_version = 3\n[application]\nname = \"app\"\n";
    assert!(spin_errors(three).contains("unsupported `spin_manifest_version`"));
}

#[test]
fn locate_finds_a_spin_manifest_where_there_is_no_wasmctl_toml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(SPIN_MANIFEST_FILE), SPIN_HTTP_RUST).unwrap();
    let nested = dir.path().join("src");
    std::fs::create_dir_all(&nested).unwrap();
    assert_eq!(
        locate(&nested).unwrap(),
        dir.path().join(SPIN_MANIFEST_FILE)
    );
    // Both in one directory: wasmctl's own wins.
    std::fs::write(dir.path().join(MANIFEST_FILE), GOOD).unwrap();
    assert_eq!(locate(&nested).unwrap(), dir.path().join(MANIFEST_FILE));
    // A manifest name that is not a regular file is the manifest all the same: loading it
    // says what is wrong, instead of the parent's being served in its place.
    std::fs::create_dir(nested.join(SPIN_MANIFEST_FILE)).unwrap();
    let found = locate(&nested).unwrap();
    assert_eq!(found, nested.join(SPIN_MANIFEST_FILE));
    assert!(matches!(load(&found), Err(ManifestError::Refused(_))));
}
