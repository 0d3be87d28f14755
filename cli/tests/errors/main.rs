//! The bad-input catalogue: every case in `testdata/errors/` run through the real binary,
//! each as its own test (`cargo test -p wasmctl-cli --test errors -- 07-` runs one).
//!
//! Each case directory holds a `case.toml` (the command, the exit code, what is wrong and
//! how to fix it) and the files the command needs. A case's test copies it into a
//! temporary directory, runs `wasmctl` there, checks the exit code and that nothing
//! panicked, and compares stderr (volatile parts normalized) with its snapshot,
//! `snapshots/<case>.snap`. The test `catalogue` checks the cases themselves (names,
//! numbers, groups, a snapshot for each and none left over) and renders `docs/errors.md`
//! from the cases and their snapshots, which the case tests hold to what wasmctl prints.
//!
//! After changing a message: `INSTA_UPDATE=always cargo test -p wasmctl-cli --test errors`,
//! review the snapshots, then `WASMCTL_UPDATE_DOCS=1 cargo test -p wasmctl-cli --test errors
//! catalogue` rewrites `docs/errors.md`.

#[allow(dead_code)] // the e2e tests' helpers; this harness needs a few of them
#[path = "../e2e/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;

use crate::support::{
    FakeRegistry, Misbehaviour, TestRegistry, build_guest, guest_component, testdata, wasmctl,
    workspace_root,
};

/// The catalogue must stay at least this large (the issue asks for 40 cases).
const MIN_CASES: usize = 40;

/// No case may take longer than this: bad input fails fast, it never hangs.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// The groups of `docs/errors.md`, in order: (key in case.toml, heading).
const GROUPS: [(&str, &str); 6] = [
    (
        "manifest",
        "The manifest (`wasmctl.toml`, or Spin's `spin.toml`)",
    ),
    ("templates", "Templates, `wasmctl new` and `wasmctl add`"),
    ("cli", "Command-line arguments"),
    ("wasm", "WebAssembly files and builds"),
    ("up", "`wasmctl up`"),
    ("registry", "Registries and `wasmctl deploy`"),
];

/// The password of the `auth` registry's user `ada`.
const REGISTRY_PASSWORD: &str = "correct-horse";

/// `testdata/errors/<case>/case.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// One of [`GROUPS`].
    group: String,
    /// One line: what bad input this is.
    about: String,
    /// The arguments after `wasmctl`; `{registry}` (HOST:PORT), `{registry_port}` and
    /// `{port}` are substituted.
    args: Vec<String>,
    /// The expected exit code: 1 for errors, 2 for usage errors.
    exit: i32,
    /// One line for the catalogue: what the user should do.
    fix: String,
    /// Where the command runs, relative to the case directory.
    #[serde(default)]
    cwd: Option<String>,
    /// What the command reads on stdin (default: nothing).
    #[serde(default)]
    stdin: Option<String>,
    /// A live registry for `{registry}`: `anonymous`, `auth` (user `ada`), `dead`
    /// (a port nothing listens on), or `fake:MISBEHAVIOUR`, a [`FakeRegistry`] serving a
    /// crafted artifact (`endless-manifest`, `oversize-blob`, `bad-digest`,
    /// `symlink-layer`, `gzip-bomb`).
    #[serde(default)]
    registry: Option<String>,
    /// Hold a port of 127.0.0.1 open during the command, as `{port}`.
    #[serde(default)]
    busy_port: bool,
    /// wasmctl commands that must succeed first, in the same directories.
    #[serde(default)]
    before: Vec<Vec<String>>,
    /// Files from the repository copied into the case: destination = path from the root.
    #[serde(default)]
    copy: BTreeMap<String, String>,
    /// Built guests of `testdata/guests` copied into the case: destination = component id.
    #[serde(default)]
    guests: BTreeMap<String, String>,
    /// Symbolic links made in the case (git would keep them, but a link to `/etc` in the
    /// repository is a trap for every tool that walks it): path = what it points to.
    #[serde(default)]
    links: BTreeMap<String, String>,
    /// FIFOs made in the case (git cannot hold one).
    #[serde(default)]
    fifos: Vec<String>,
    /// Environment variables for the commands (e.g. a limit lowered so a test input
    /// exceeds it quickly).
    #[serde(default)]
    env: BTreeMap<String, String>,
}

/// What one case printed (normalized), or why it failed.
struct Outcome {
    stderr: String,
    problems: Vec<String>,
}

fn main() {
    let arguments = Arguments::from_args();
    let root = testdata().join("errors");
    let cases = read_cases(&root);
    let mut trials = vec![{
        let cases = cases.clone();
        Trial::test("catalogue", move || check_catalogue(&cases))
    }];
    for (id, case) in cases {
        let root = root.clone();
        trials.push(Trial::test(id.clone(), move || {
            run_and_compare(&root, &id, &case)
        }));
    }
    libtest_mimic::run(&arguments, trials).exit();
}

/// One case: run it, then hold its stderr to the snapshot.
fn run_and_compare(root: &Path, id: &str, case: &Case) -> Result<(), Failed> {
    let outcome = run_case(root, id, case);
    let mut problems = outcome.problems;
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("{} (wasmctl {})", case.about, case.args.join(" ")));
    let matched = settings.bind(|| {
        std::panic::catch_unwind(|| {
            insta::assert_snapshot!(id, outcome.stderr.as_str());
        })
    });
    if matched.is_err() {
        problems.push(format!(
            "stderr differs from cli/tests/errors/snapshots/{id}.snap (diff above); \
             `INSTA_UPDATE=always cargo test -p wasmctl-cli --test errors -- {id}` rewrites it"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// The catalogue as a whole: enough cases, each with a snapshot, no snapshot without a
/// case, and `docs/errors.md` rendered from them.
fn check_catalogue(cases: &[(String, Case)]) -> Result<(), Failed> {
    let mut failures: Vec<String> = Vec::new();
    if cases.len() < MIN_CASES {
        failures.push(format!(
            "{} cases in testdata/errors; the catalogue keeps at least {MIN_CASES}",
            cases.len()
        ));
    }
    let ids: BTreeSet<&str> = cases.iter().map(|(id, _)| id.as_str()).collect();
    failures.extend(stale_snapshots(&ids));
    let mut messages = BTreeMap::new();
    for (id, _) in cases {
        match snapshot(id) {
            Some(message) => {
                messages.insert(id.as_str(), message);
            }
            None => failures.push(format!(
                "{id} has no snapshot; `INSTA_UPDATE=always cargo test -p wasmctl-cli --test \
                 errors -- {id}` writes one"
            )),
        }
    }
    if failures.is_empty() {
        let rendered = render_catalogue(cases, &messages);
        let docs = workspace_root().join("docs/errors.md");
        if std::env::var_os("WASMCTL_UPDATE_DOCS").is_some_and(|v| v == "1") {
            std::fs::write(&docs, &rendered).expect("docs/errors.md is writable");
        } else if std::fs::read_to_string(&docs).ok().as_deref() != Some(rendered.as_str()) {
            failures.push(
                "docs/errors.md is not what the cases render; review the snapshots, then run \
                 `WASMCTL_UPDATE_DOCS=1 cargo test -p wasmctl-cli --test errors catalogue`"
                    .to_string(),
            );
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} problems in the bad-input catalogue:\n{}",
            failures.len(),
            failures.join("\n")
        )
        .into())
    }
}

/// The message a case's snapshot holds (what follows insta's `---` header).
fn snapshot(id: &str) -> Option<String> {
    let text = std::fs::read_to_string(snapshot_dir().join(format!("{id}.snap"))).ok()?;
    let body = text.strip_prefix("---\n")?.split_once("\n---\n")?.1;
    Some(body.trim_end().to_string())
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors/snapshots")
}

/// Every case directory, sorted by id, with its parsed `case.toml`.
fn read_cases(root: &Path) -> Vec<(String, Case)> {
    let id_pattern = regex::Regex::new(r"^[0-9]{2,3}-[a-z0-9]+(-[a-z0-9]+)*$").unwrap();
    let mut cases = Vec::new();
    let mut numbers = BTreeSet::new();
    for entry in std::fs::read_dir(root).expect("testdata/errors exists") {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let id = entry.file_name().to_string_lossy().into_owned();
        assert!(
            id_pattern.is_match(&id),
            "testdata/errors/{id}: case directories are named NN-kebab-case (NNN from 100)"
        );
        assert!(
            numbers.insert(case_number(&id)),
            "testdata/errors/{id}: number {} is taken twice",
            case_number(&id)
        );
        let text = std::fs::read_to_string(entry.path().join("case.toml"))
            .unwrap_or_else(|e| panic!("testdata/errors/{id}/case.toml: {e}"));
        let case: Case =
            toml::from_str(&text).unwrap_or_else(|e| panic!("testdata/errors/{id}/case.toml: {e}"));
        assert!(
            GROUPS.iter().any(|(key, _)| *key == case.group),
            "testdata/errors/{id}: unknown group `{}`",
            case.group
        );
        assert!(
            [1, 2].contains(&case.exit),
            "testdata/errors/{id}: bad input exits 1 (error) or 2 (usage error)"
        );
        cases.push((id, case));
    }
    cases.sort_by_key(|(id, _)| case_number(id));
    cases
}

/// The number a case id starts with (`07-duplicate-component` is 7).
fn case_number(id: &str) -> u32 {
    id.split('-')
        .next()
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("testdata/errors/{id}: case ids start with a number"))
}

/// The artifact of a guest of `testdata/guests`, built once per run. Guests that are bad
/// on purpose fail validation, but cargo's artifact is there all the same.
fn built_guest(id: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Mutex::default);
    // Held while building: cases that share a guest wait for one build.
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(id) {
        return path.clone();
    }
    let path = build_guest_artifact(id);
    built.insert(id.to_string(), path.clone());
    path
}

fn build_guest_artifact(id: &str) -> PathBuf {
    if matches!(id, "hostile" | "probe") {
        return guest_component(id);
    }
    let guests = wasmctl::manifest::load(&testdata().join("guests/wasmctl.toml"))
        .expect("testdata/guests/wasmctl.toml is valid");
    let component = guests
        .components
        .get(id)
        .unwrap_or_else(|| panic!("no guest `{id}` in testdata/guests/wasmctl.toml"));
    let _ = build_guest(id);
    let path = guests.resolve(&component.source);
    assert!(
        path.is_file(),
        "building guest `{id}` produced no {}",
        path.display()
    );
    path
}

/// A registry of kind `kind` for one case, kept running while it is held (`None` for
/// `dead`), and its `host:port`.
fn registry(kind: &str) -> (Option<Box<dyn std::any::Any>>, String) {
    match kind {
        "anonymous" => {
            let registry = TestRegistry::start();
            let host = registry.host.clone();
            (Some(Box::new(registry)), host)
        }
        "auth" => {
            let registry = TestRegistry::start_with_auth(Some(("ada", REGISTRY_PASSWORD)));
            let host = registry.host.clone();
            (Some(Box::new(registry)), host)
        }
        // A port that was free a moment ago: nothing answers there.
        "dead" => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            (None, format!("127.0.0.1:{port}"))
        }
        fake if fake.starts_with("fake:") => {
            let misbehaviour = match &fake["fake:".len()..] {
                "endless-manifest" => Misbehaviour::EndlessManifest,
                "oversize-blob" => Misbehaviour::OversizeBlob,
                "bad-digest" => Misbehaviour::BadDigest,
                "symlink-layer" => Misbehaviour::SymlinkLayer,
                "gzip-bomb" => Misbehaviour::GzipBomb,
                other => panic!("unknown fake registry `{other}`"),
            };
            let registry = FakeRegistry::start(misbehaviour);
            let host = registry.host.clone();
            (Some(Box::new(registry)), host)
        }
        other => panic!("unknown registry kind `{other}` (anonymous, auth, dead, fake:...)"),
    }
}

fn run_case(root: &Path, id: &str, case: &Case) -> Outcome {
    let mut problems = Vec::new();
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("case");
    let user = temp.path().join("user");
    copy_case(&root.join(id), &dir);
    for (destination, source) in &case.copy {
        copy_file(&workspace_root().join(source), &dir.join(destination));
    }
    for (destination, guest) in &case.guests {
        copy_file(&built_guest(guest), &dir.join(destination));
    }
    for (link, target) in &case.links {
        std::os::unix::fs::symlink(target, dir.join(link)).expect("making a case's link");
    }
    for fifo in &case.fifos {
        let path = std::ffi::CString::new(dir.join(fifo).into_os_string().into_encoded_bytes())
            .expect("a path without NUL");
        // SAFETY: a valid C string; mkfifo only creates the file.
        let made = unsafe { libc::mkfifo(path.as_ptr(), 0o600) };
        assert_eq!(made, 0, "making the FIFO {fifo}");
    }

    let mut substitutions: Vec<(String, String)> = Vec::new();
    let mut ports: Vec<u16> = Vec::new();
    // The registry is held until the command has run.
    let (_registry, registry_host) = match &case.registry {
        Some(kind) => {
            let (running, host) = registry(kind);
            (running, Some(host))
        }
        None => (None, None),
    };
    if let Some(host) = registry_host {
        let port = host.rsplit_once(':').unwrap().1.to_string();
        ports.push(port.parse().unwrap());
        substitutions.push(("{registry}".into(), host));
        substitutions.push(("{registry_port}".into(), port));
    }
    // Held until the command has run.
    let busy = case.busy_port.then(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to hold");
        let port = listener.local_addr().unwrap().port();
        ports.push(port);
        substitutions.push(("{port}".into(), port.to_string()));
        listener
    });
    let substitute = |arg: &str| {
        substitutions
            .iter()
            .fold(arg.to_string(), |arg, (from, to)| arg.replace(from, to))
    };

    let cwd = match &case.cwd {
        Some(cwd) => dir.join(cwd),
        None => dir.clone(),
    };
    let command = |args: &[String]| {
        let mut command = wasmctl(&cwd);
        command
            .env("WASMCTL_DATA_DIR", user.join("data"))
            .env("WASMCTL_CACHE_DIR", user.join("cache"))
            .env("WASMCTL_CONFIG_DIR", user.join("config"))
            .env("DOCKER_CONFIG", user.join("docker"))
            .envs(&case.env)
            .args(args.iter().map(|a| substitute(a)))
            .timeout(CASE_TIMEOUT);
        command
    };
    for before in &case.before {
        let output = command(before)
            .write_stdin("")
            .output()
            .expect("wasmctl runs");
        if !output.status.success() {
            problems.push(format!(
                "`wasmctl {}` (before) failed:\n{}",
                before.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    let output = command(&case.args)
        .write_stdin(case.stdin.clone().unwrap_or_default())
        .output()
        .expect("wasmctl runs");
    drop(busy);

    let raw = String::from_utf8_lossy(&output.stderr).into_owned();
    match output.status.code() {
        Some(code) if code == case.exit => {}
        Some(code) => problems.push(format!("exit code {code}, expected {}:\n{raw}", case.exit)),
        None => problems.push(format!(
            "killed (a hang, or a signal), expected exit {}:\n{raw}",
            case.exit
        )),
    }
    if raw.contains("panicked") {
        problems.push(format!("wasmctl panicked:\n{raw}"));
    }
    if !output.stdout.is_empty() {
        // Results go to stdout: a command that failed has none, or a script would take them.
        let stdout = String::from_utf8_lossy(&output.stdout);
        problems.push(format!("printed to stdout although it failed:\n{stdout}"));
    }
    let stderr = normalize(&raw, temp.path(), &ports);
    Outcome { stderr, problems }
}

/// Copies a case's files (all but `case.toml`) into `to`.
fn copy_case(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_case(&entry.path(), &target);
        } else if entry.file_name() != "case.toml" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn copy_file(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
}

/// Replaces what differs between runs and machines: the case's temporary directories,
/// the repository's location, ports picked at random, and measured durations.
fn normalize(text: &str, temp: &Path, ports: &[u16]) -> String {
    let mut replacements: Vec<(String, &str)> = Vec::new();
    for (path, name) in [
        (temp.join("case"), "[CASE]"),
        (temp.join("user"), "[USER]"),
        (temp.to_path_buf(), "[TMP]"),
        (workspace_root().to_path_buf(), "[ROOT]"),
    ] {
        if let Ok(canonical) = path.canonicalize() {
            replacements.push((canonical.display().to_string(), name));
        }
        replacements.push((path.display().to_string(), name));
    }
    let mut text = text.to_string();
    for (from, to) in replacements {
        text = text.replace(&from, to);
    }
    for port in ports {
        for host in ["127.0.0.1", "127.1"] {
            text = text.replace(&format!("{host}:{port}"), &format!("{host}:[PORT]"));
        }
    }
    let duration = regex::Regex::new(r"\bin [0-9]+(\.[0-9]+)?(ns|µs|ms|s)\b").unwrap();
    duration.replace_all(&text, "in [DURATION]").into_owned()
}

/// Snapshots in `snapshots/errors/` whose case is gone.
fn stale_snapshots(ids: &BTreeSet<&str>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(snapshot_dir()) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        // Only snapshots: a pending `.snap.new` is insta's, and reported as a mismatch.
        .filter(|name| {
            name.strip_suffix(".snap")
                .is_some_and(|id| !ids.contains(id))
        })
        .map(|name| {
            format!(
                "cli/tests/errors/snapshots/{name} belongs to no case in testdata/errors; delete it"
            )
        })
        .collect()
}

/// `docs/errors.md`, from the cases and their messages.
fn render_catalogue(cases: &[(String, Case)], messages: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    out.push_str(
        "<!-- Generated from testdata/errors/ by cli/tests/errors/main.rs: do not edit by hand.\n     \
         After changing a case or a message: WASMCTL_UPDATE_DOCS=1 cargo test -p wasmctl-cli --test errors catalogue -->\n\n",
    );
    out.push_str("# Errors: bad input and what wasmctl says about it\n\n");
    out.push_str(&format!(
        "Every message below is exactly what wasmctl prints on stderr for one kind of bad \
         input, and each is checked on every test run: the case lives in \
         [`testdata/errors/`](../testdata/errors/) (a `case.toml` with the command, plus the \
         files it needs), and its message is a snapshot in \
         `cli/tests/errors/snapshots/`; each case is a test of its own. {} cases.\n\n",
        cases.len()
    ));
    out.push_str(
        "Every message says what is wrong, where (file, line and column, the value, or the \
         path), and what to do. Errors exit with code 1, usage errors (arguments clap \
         refuses) with 2; bad input never makes wasmctl panic.\n\n\
         A command run with `--json` that fails after reading its arguments also prints \
         one JSON document on stdout: `{\"error\": {\"message\", \"causes\", \"help\", \
         \"problems\"}}`. `message` is what went wrong, `causes` the errors beneath it, \
         `help` what to do (the `help:` lines below); a manifest or template file with \
         problems lists each in `problems` (`file`, `line`, `column`, `message`, `help`), \
         and its first problem is the `message`.\n\n\
         In the messages, `[CASE]` stands for the directory the command ran in, `[USER]` \
         for wasmctl's data, cache and config directories, `[PORT]` for a port picked at \
         random, and `[DURATION]` for a measured time.\n\n",
    );
    // The groups in order, each with its cases; empty groups are left out.
    let groups: Vec<(&str, Vec<&(String, Case)>)> = GROUPS
        .iter()
        .map(|(group, heading)| {
            let members = cases.iter().filter(|(_, case)| case.group == *group);
            (*heading, members.collect::<Vec<_>>())
        })
        .filter(|(_, members)| !members.is_empty())
        .collect();
    for (heading, members) in &groups {
        out.push_str(&format!("- [{heading}](#{}):", anchor(heading)));
        for (id, _) in members {
            out.push_str(&format!(" [{:02}](#{id})", case_number(id)));
        }
        out.push('\n');
    }
    out.push('\n');
    for (heading, members) in &groups {
        out.push_str(&format!("## {heading}\n\n"));
        for (id, case) in members {
            render_case(&mut out, id, case, &messages[id.as_str()]);
        }
    }
    out
}

fn render_case(out: &mut String, id: &str, case: &Case, message: &str) {
    out.push_str(&format!("### {id}\n\n{}\n\n", case.about));
    out.push_str("```console\n");
    if let Some(cwd) = &case.cwd {
        out.push_str(&format!("$ cd {cwd}\n"));
    }
    for before in &case.before {
        out.push_str(&format!("$ wasmctl {}\n", shell_words(before)));
    }
    let command = format!("wasmctl {}", shell_words(&case.args));
    match case.stdin.as_deref() {
        // One line, as `echo` writes it.
        Some(stdin) if stdin.ends_with('\n') && stdin.matches('\n').count() == 1 => out.push_str(
            &format!("$ echo {} | {command}\n", shell_word(stdin.trim_end())),
        ),
        Some(stdin) => out.push_str(&format!(
            "$ printf '%s' {} | {command}\n",
            shell_word(stdin)
        )),
        None => out.push_str(&format!("$ {command}\n")),
    }
    out.push_str("```\n\n```text\n");
    out.push_str(message);
    out.push_str("\n```\n\n");
    out.push_str(&format!(
        "Exit code {}. **Fix:** {} Case: [`testdata/errors/{id}/`](../testdata/errors/{id}/).\n\n",
        case.exit,
        case.fix.trim(),
    ));
}

/// The arguments as a reader would type them; placeholders as they appear in messages.
fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|arg| {
            shell_word(
                &arg.replace("{registry}", "127.0.0.1:[PORT]")
                    .replace("{registry_port}", "[PORT]")
                    .replace("{port}", "[PORT]"),
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@[]%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// GitHub's anchor for a heading.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}
