//! Push and pull of the http-rust app to a loopback Docker Distribution registry, against
//! the raw transfer of the same component blob with curl (the floor: two requests).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{median, ms};

const RUNS: usize = 7;

pub(super) fn run(wasmctl: &Path, app: &Path) -> Result<()> {
    let registry = Registry::start()?;
    let component = app.join("target/wasm32-wasip2/release/svc.wasm");
    let work = std::env::temp_dir().join(format!("wasmctl-bench-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;

    let mut push_cold = Vec::new();
    let mut push_noop = Vec::new();
    let mut pull_cold = Vec::new();
    let mut pull_warm = Vec::new();
    let mut raw_push = Vec::new();
    let mut raw_pull = Vec::new();
    for run in 0..RUNS {
        // A fresh repository each run: nothing is in the registry yet.
        let reference = format!("{}/bench/svc{run}:v1", registry.host);
        let deploy = || {
            let mut command = Command::new(wasmctl);
            command
                .args(["deploy", "-q", "--registry", &reference])
                .current_dir(app)
                .env("WASMCTL_CONFIG_DIR", &work);
            command
        };
        push_cold.push(time(deploy())?);
        push_noop.push(time(deploy())?);
        let cache = work.join(format!("cache{run}"));
        let pull = || {
            let mut command = Command::new(wasmctl);
            command
                .args(["registry", "pull", "-q", &reference])
                .env("WASMCTL_CACHE_DIR", &cache)
                .env("WASMCTL_CONFIG_DIR", &work);
            command
        };
        pull_cold.push(time(pull())?);
        pull_warm.push(time(pull())?);
        raw_push.push(curl_push(
            &registry.host,
            &format!("bench/raw{run}"),
            &component,
        )?);
        raw_pull.push(curl_pull(
            &registry.host,
            &format!("bench/raw{run}"),
            &component,
        )?);
    }
    let _ = std::fs::remove_dir_all(&work);

    let (raw_push, raw_pull) = (median(raw_push), median(raw_pull));
    let ratio = |ours: Duration, peer: Duration| ours.as_secs_f64() / peer.as_secs_f64();
    println!("\n## Push and pull, http-rust app, loopback registry ({RUNS} runs, medians)\n");
    println!("| operation | time | peer (curl, component blob only) | ratio |");
    println!("|---|---|---|---|");
    for (name, samples, peer) in [
        (
            "`deploy` (new repository: 3 blobs + manifest)",
            push_cold,
            raw_push,
        ),
        ("`deploy` again (nothing to upload)", push_noop, raw_push),
        ("`registry pull` (empty cache)", pull_cold, raw_pull),
        ("`registry pull` (cached)", pull_warm, raw_pull),
    ] {
        let value = median(samples);
        println!(
            "| {name} | {} | {} | {:.2} |",
            ms(value),
            ms(peer),
            ratio(value, peer)
        );
    }
    Ok(())
}

fn time(mut command: Command) -> Result<Duration> {
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(started.elapsed())
}

/// A monolithic blob upload with curl: POST to open the upload, PUT the bytes.
fn curl_push(host: &str, repository: &str, file: &Path) -> Result<Duration> {
    let digest = sha256(file)?;
    let started = Instant::now();
    let opened = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-D", "-", "-X", "POST"])
        .arg(format!("http://{host}/v2/{repository}/blobs/uploads/"))
        .output()?;
    let headers = String::from_utf8_lossy(&opened.stdout);
    let location = headers
        .lines()
        .find_map(|l| {
            l.strip_prefix("Location: ")
                .or_else(|| l.strip_prefix("location: "))
        })
        .context("no upload location from the registry")?
        .trim()
        .to_string();
    let separator = if location.contains('?') { '&' } else { '?' };
    let status = Command::new("curl")
        .args([
            "-s",
            "-f",
            "-o",
            "/dev/null",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
        ])
        .arg(format!("@{}", file.display()))
        .arg(format!("{location}{separator}digest={digest}"))
        .status()?;
    if !status.success() {
        bail!("curl upload failed ({status})");
    }
    Ok(started.elapsed())
}

/// Downloads the blob pushed by [`curl_push`].
fn curl_pull(host: &str, repository: &str, file: &Path) -> Result<Duration> {
    let digest = sha256(file)?;
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["-s", "-f", "-o", "/dev/null"])
        .arg(format!("http://{host}/v2/{repository}/blobs/{digest}"))
        .status()?;
    if !status.success() {
        bail!("curl download failed ({status})");
    }
    Ok(started.elapsed())
}

fn sha256(file: &Path) -> Result<String> {
    let output = Command::new("sha256sum").arg(file).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(format!(
        "sha256:{}",
        text.split_whitespace()
            .next()
            .context("sha256sum printed nothing")?
    ))
}

/// `docker-registry` on a free loopback port with temporary storage.
struct Registry {
    child: std::process::Child,
    host: String,
    storage: std::path::PathBuf,
}

impl Registry {
    fn start() -> Result<Registry> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let storage = std::env::temp_dir().join(format!("wasmctl-bench-registry-{port}"));
        std::fs::create_dir_all(&storage)?;
        let config = storage.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.join("data").display()
            ),
        )?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting docker-registry (apt-get install docker-registry)")?;
        let registry = Registry {
            child,
            host: format!("127.0.0.1:{port}"),
            storage,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("docker-registry did not start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}
