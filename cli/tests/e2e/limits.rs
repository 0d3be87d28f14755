//! Untrusted bytes have limits (docs/hardening.md): devices and endless or oversized input
//! are refused promptly, and what was staged for them is gone afterwards; Ctrl-C stops a
//! command promptly and leaves nothing half-written.

use std::path::Path;
use std::time::{Duration, Instant};

use predicates::str::contains;

use crate::support::{FakeRegistry, Misbehaviour, Terminal, serve, wasmctl, wasmctl_process};

/// An app whose one component (no build table) is `svc.wasm`, a link to `/dev/zero`.
fn app_with_a_device_source() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wasmctl.toml"),
        "manifest_version = 1\n[application]\nname = \"zero\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"svc\"\n[component.svc]\nsource = \"svc.wasm\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("svc.wasm")).unwrap();
    dir
}

#[test]
fn up_refuses_a_source_linked_to_dev_zero_at_once() {
    let app = app_with_a_device_source();
    let started = Instant::now();
    wasmctl(app.path())
        .args(["up", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains(
            "svc.wasm` is a character device, not a regular file",
        ));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn watch_reports_a_source_linked_to_dev_zero_and_stays_small() {
    let app = app_with_a_device_source();
    // It serves (503 until a save fixes the component) and says why.
    let server = serve(app.path(), &["--watch"]);
    assert!(
        server.wait_for_stderr("is a character device, not a regular file"),
        "{}",
        server.stderr()
    );
    // Reading /dev/zero grew the process by gigabytes within seconds.
    std::thread::sleep(Duration::from_secs(2));
    let rss = server.rss_kib().unwrap();
    assert!(rss < 512 * 1024, "RSS {rss} KiB");
}

/// Files left in `dir` and below it.
fn files_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.map(Result::unwrap) {
        if entry.file_type().unwrap().is_dir() {
            found.extend(files_below(&entry.path()));
        } else {
            found.push(entry.path());
        }
    }
    found
}

#[test]
fn a_misbehaving_registry_is_cut_off_and_leaves_nothing() {
    let cases = [
        (
            Misbehaviour::EndlessManifest,
            "is larger than 4 MiB, the most wasmctl accepts for a registry manifest",
        ),
        (
            Misbehaviour::OversizeBlob,
            "is longer than the 8 bytes its descriptor gives",
        ),
        (Misbehaviour::BadDigest, "does not match its digest"),
        (
            Misbehaviour::GzipBomb,
            "unpacked is larger than 1 MiB, the most wasmctl accepts for a granted directory",
        ),
        (
            Misbehaviour::SymlinkLayer,
            "a symbolic link to `/etc/passwd`",
        ),
    ];
    for (misbehaviour, said) in cases {
        let registry = FakeRegistry::start(misbehaviour);
        let out = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let output = out.path().join("pulled");
        let started = Instant::now();
        wasmctl(out.path())
            .env("WASMCTL_CACHE_DIR", cache.path())
            .env("WASMCTL_MAX_FILES_SIZE", "1MiB")
            .args(["registry", "pull", &registry.reference(), "-o"])
            .arg(&output)
            .timeout(Duration::from_secs(60))
            .assert()
            .code(1)
            .stderr(contains(said));
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{misbehaviour:?}: took {:?}",
            started.elapsed()
        );
        assert!(!output.exists(), "{misbehaviour:?}: the output was written");
        let cached: Vec<_> = ["tmp", "apps"]
            .iter()
            .flat_map(|dir| files_below(&cache.path().join("oci").join(dir)))
            .collect();
        assert!(cached.is_empty(), "{misbehaviour:?}: left {cached:?}");
    }
}

#[test]
fn a_template_bomb_is_refused_and_nothing_is_left_anywhere() {
    let data = tempfile::tempdir().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let archive = crate::support::testdata().join("errors/114-template-archive-bomb/bomb.tar.gz");
    wasmctl(data.path())
        .env("WASMCTL_DATA_DIR", data.path())
        .env("WASMCTL_MAX_TEMPLATE_SIZE", "1MiB")
        .env("TMPDIR", temp.path())
        .args(["templates", "install"])
        .arg(&archive)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains("unpacked is larger than 1 MiB"));
    assert_eq!(files_below(data.path()), Vec::<std::path::PathBuf>::new());
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
}

#[test]
fn ctrl_c_stops_a_pull_at_once_and_leaves_nothing() {
    let registry = FakeRegistry::start(Misbehaviour::SlowBlob);
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let output = out.path().join("pulled");
    let mut child = wasmctl_process(out.path())
        .env("WASMCTL_CACHE_DIR", cache.path())
        .args(["registry", "pull", &registry.reference(), "-o"])
        .arg(&output)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The download has begun once its staging file exists.
    let staging = cache.path().join("oci/tmp");
    let deadline = Instant::now() + Duration::from_secs(60);
    while files_below(&staging).is_empty() {
        assert!(Instant::now() < deadline, "the download did not start");
        assert!(child.try_wait().unwrap().is_none(), "wasmctl ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    interrupt_and_expect_130(&mut child);
    assert_eq!(files_below(&staging), Vec::<std::path::PathBuf>::new());
    assert!(!output.exists());
}

/// How long a command may take to end after Ctrl-C: the 2 s it has to reach a check, and
/// room for a loaded machine.
const PROMPTLY: Duration = Duration::from_secs(5);

/// Waits (at most [`PROMPTLY`]) for `child` to end; its exit code.
/// Sends SIGINT to `child`, which must then exit promptly with 130 and say it was
/// interrupted.
fn interrupt_and_expect_130(child: &mut std::process::Child) {
    // SAFETY: signals our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let code = exits_promptly(child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

fn exits_promptly(child: &mut std::process::Child) -> Option<i32> {
    let interrupted = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            interrupted.elapsed() < PROMPTLY,
            "wasmctl runs on after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `wasmctl ARGS` on a terminal, in a shell that carries on when Ctrl-C ends it and then
/// prints the exit code and the terminal's settings: the state wasmctl left it in.
fn on_a_terminal(args: &str, dir: &Path, env: &[(&str, &Path)]) -> Terminal {
    let wasmctl = assert_cmd::cargo::cargo_bin("wasmctl");
    Terminal::spawn(
        &format!(
            "trap : INT; {} {args}; echo \"exit code $?\"; stty -a",
            wasmctl.display()
        ),
        dir,
        env,
    )
}

/// Types Ctrl-C, checks the command ended within [`PROMPTLY`] with 130 and left the
/// terminal echoing lines as before; the transcript.
fn ctrl_c_ends(mut terminal: Terminal) -> String {
    let pressed = Instant::now();
    terminal.press_ctrl_c();
    terminal.expect("exit code ");
    let took = pressed.elapsed();
    let (_, transcript) = terminal.finish();
    assert!(took < PROMPTLY, "took {took:?} after Ctrl-C:\n{transcript}");
    let after = transcript.rsplit("exit code ").next().unwrap();
    assert!(after.starts_with("130"), "{transcript}");
    let settings: Vec<&str> = after.split_whitespace().collect();
    for flag in ["echo", "icanon", "isig"] {
        assert!(
            settings.contains(&flag),
            "the terminal was left with -{flag}:\n{transcript}"
        );
    }
    // A prompt that hid the cursor must show it again.
    if let Some(hidden) = transcript.rfind("\x1b[?25l") {
        assert!(
            transcript[hidden..].contains("\x1b[?25h"),
            "the cursor was left hidden:\n{transcript}"
        );
    }
    transcript
}

#[test]
fn ctrl_c_at_a_prompt_of_new_writes_nothing_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let mut terminal = on_a_terminal(
        "new http-rust svc",
        dir.path(),
        &[("WASMCTL_DATA_DIR", data.path()), ("TMPDIR", temp.path())],
    );
    terminal.expect("Description");
    let transcript = ctrl_c_ends(terminal);
    assert!(transcript.contains("interrupted"), "{transcript}");
    // No `svc/`, no staging directory beside it, nothing elsewhere.
    for place in [dir.path(), data.path(), temp.path()] {
        assert_eq!(
            std::fs::read_dir(place).unwrap().count(),
            0,
            "left in {}:\n{transcript}",
            place.display()
        );
    }
}

#[test]
fn ctrl_c_at_the_password_prompt_of_login_turns_echo_back_on() {
    // The registry is not reached before the password is typed.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let mut terminal = on_a_terminal(
        "registry login 127.0.0.1:9 --username ada",
        dir.path(),
        &[("WASMCTL_CONFIG_DIR", &config)],
    );
    terminal.expect("Password:");
    terminal.wait_until_echo_is_off();
    let transcript = ctrl_c_ends(terminal);
    assert!(transcript.contains("interrupted"), "{transcript}");
    assert!(!config.exists(), "{transcript}");
}

/// A legal template whose archive (plain tar) holds `files` small files: it takes seconds
/// to unpack.
fn many_file_template(files: usize, archive: &Path) {
    let mut tar = tar::Builder::new(std::fs::File::create(archive).unwrap());
    let mut add = |path: &str, contents: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, contents).unwrap();
    };
    add(
        "big/template.toml",
        b"name = \"big\"\ndescription = \"many files\"\n",
    );
    for file in 0..files {
        add(
            &format!("big/content/{}/{file}.txt", file % 100),
            b"{{project_name}}\n",
        );
    }
    tar.into_inner().unwrap();
}

/// A legal template whose archive (plain tar, sparse on disk) holds one `size`-byte file
/// of zeros: it takes seconds to write out.
fn big_file_template(size: u64, archive: &Path) {
    use std::io::Write;
    // Written by hand: `tar::Builder` would write out the zeros.
    let header = |path: &str, size: u64| {
        let mut header = tar::Header::new_ustar();
        header.set_path(path).unwrap();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        header
    };
    let metadata = b"name = \"big\"\ndescription = \"one big file\"\n";
    let mut file = std::fs::File::create(archive).unwrap();
    file.write_all(header("big/template.toml", metadata.len() as u64).as_bytes())
        .unwrap();
    file.write_all(metadata).unwrap();
    file.write_all(&[0; 512][metadata.len()..]).unwrap();
    file.write_all(header("big/content/big.bin", size).as_bytes())
        .unwrap();
    // The zeros, their padding and the two zero blocks that end an archive, as a hole.
    let end = file.metadata().unwrap().len() + size.next_multiple_of(512) + 1024;
    file.set_len(end).unwrap();
}

/// Runs `templates install ARCHIVE` (with `limits` raised), sends SIGINT once `under_way`
/// holds for what is in the data directory, and checks it exits 130 within [`PROMPTLY`]
/// leaving nothing in the data directory or `$TMPDIR`.
fn interrupt_template_install(
    archive: &Path,
    limits: &[(&str, &str)],
    under_way: impl Fn(&[std::path::PathBuf]) -> bool,
) {
    let data = tempfile::tempdir().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let mut child = wasmctl_process(archive.parent().unwrap())
        .env("WASMCTL_DATA_DIR", data.path())
        .envs(limits.iter().copied())
        .env("TMPDIR", temp.path())
        .args(["templates", "install"])
        .arg(archive)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !under_way(&files_below(data.path())) {
        assert!(Instant::now() < deadline, "the unpacking did not start");
        if child.try_wait().unwrap().is_some() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            panic!("wasmctl ended early: {stderr}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    interrupt_and_expect_130(&mut child);
    // No `.install-*` staging directory beside the installed templates.
    assert_eq!(files_below(data.path()), Vec::<std::path::PathBuf>::new());
    let staging: Vec<_> = std::fs::read_dir(data.path().join("templates"))
        .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default();
    assert_eq!(staging, Vec::<std::path::PathBuf>::new());
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
}

#[test]
fn ctrl_c_stops_a_template_install_midway_and_leaves_nothing() {
    const FILES: usize = 60_000;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("many.tar");
    many_file_template(FILES, &archive);
    // Under way once a few files are unpacked, and not yet done.
    interrupt_template_install(
        &archive,
        &[("WASMCTL_MAX_TEMPLATE_ENTRIES", "100000")],
        |unpacked| (100..FILES).contains(&unpacked.len()),
    );
}

#[test]
fn ctrl_c_stops_a_template_install_inside_a_big_file_and_leaves_nothing() {
    // Seconds to write out: more than the grace period Ctrl-C gives a command.
    const SIZE: u64 = 8 << 30;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("big.tar");
    big_file_template(SIZE, &archive);
    // Under way once the file is partly written.
    interrupt_template_install(
        &archive,
        &[("WASMCTL_MAX_TEMPLATE_SIZE", "9GiB")],
        |unpacked| {
            unpacked.iter().any(|path| {
                path.ends_with("big.bin")
                    && std::fs::metadata(path).is_ok_and(|file| file.len() > 16 << 20)
            })
        },
    );
}
