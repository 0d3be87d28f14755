//! OCI registries: pushing an app ([`artifact`]), pulling it back into a verified,
//! content-addressed cache, and the credentials to do both ([`credentials`]).
//!
//! Network work uses `oci-client`. What it does not do for us, done here: skipping blobs
//! the registry already has (a HEAD per blob before uploading), streaming uploads with
//! progress, and refusing plain HTTP except to loopback or with `--insecure`.

pub mod artifact;
pub mod credentials;
mod publish;
pub mod spin_layout;

pub use publish::{pull_app, push_app};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use self::artifact::{Artifact, OCI_MANIFEST_MEDIA_TYPE, sha256_digest};
use crate::hint::Hint;

/// Why a registry operation failed, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// `reason` ends a sentence about the reference, e.g. "has no registry host".
    #[error("`{reference}` is not a registry reference: it {reason}")]
    BadReference {
        /// The text given as a reference.
        reference: String,
        /// Why it is not one.
        reason: String,
    },
    /// No connection could be made, or it timed out.
    #[error("could not reach the registry at {registry}: {reason}")]
    Unreachable {
        /// The registry's `HOST[:PORT]`.
        registry: String,
        /// The innermost cause of the failure (the socket or TLS error).
        reason: String,
        /// What to do about it, the error's [`hint`](RegistryError::hint): suggests
        /// `--insecure` when a non-loopback registry answered in plain HTTP.
        help: String,
    },
    /// The registry refused the request (HTTP 401 or 403, or an `UNAUTHORIZED` or `DENIED`
    /// error code).
    #[error("the registry {registry} refused the credentials{}", if *had_credentials { "" } else { " (none were given)" })]
    Unauthorized {
        /// The registry's `HOST[:PORT]`.
        registry: String,
        /// Whether credentials were sent; false for an anonymous request.
        had_credentials: bool,
    },
    /// The registry wanted credentials, none were sent, and wasmctl's credentials file,
    /// which may have held them, could not be read ([`credentials::Credentials::explain`]).
    #[error(
        "the registry {registry} asks for credentials, and none were sent: wasmctl's credentials file {} could not be read ({reason})",
        path.display()
    )]
    CredentialsUnreadable {
        /// The registry's `HOST[:PORT]`.
        registry: String,
        /// wasmctl's credentials file.
        path: PathBuf,
        /// Why it could not be read: the I/O error, or where the TOML is wrong.
        reason: String,
        /// What to do about the file.
        hint: Hint,
    },
    /// The repository, tag or digest is unknown to the registry.
    #[error("`{reference}` does not exist in the registry ({detail})")]
    NotFound {
        /// The whole reference asked for.
        reference: String,
        /// What the registry said, its error messages joined by `; `.
        detail: String,
    },
    /// A manifest or blob whose digest is not the one expected: nothing of it is kept.
    #[error(
        "{what} from {registry} does not match its digest: expected {expected}, got {actual}; the registry served tampered or corrupt data, and nothing was cached"
    )]
    DigestMismatch {
        /// The registry's `HOST[:PORT]`.
        registry: String,
        /// What was downloaded, for the message: "the manifest", "layer `svc.wasm`".
        what: String,
        /// The digest asked for (`sha256:<hex>`), from the reference, the registry's
        /// `Docker-Content-Digest` header or the layer's descriptor.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// The connection broke in the middle of an exchange, or a blob ended before its
    /// descriptor's size.
    #[error("the connection to the registry {registry} broke off: {reason}")]
    ConnectionLost {
        /// The registry's `HOST[:PORT]`.
        registry: String,
        /// The innermost cause, or how much of the blob arrived.
        reason: String,
    },
    /// A blob that went on past the size its descriptor gives: the download stopped
    /// there and nothing of it is kept.
    #[error(
        "{what} from {registry} is longer than the {size} bytes its descriptor gives; the registry served tampered or corrupt data, and nothing was cached"
    )]
    BlobTooLong {
        /// The registry's `HOST[:PORT]`.
        registry: String,
        /// What was downloaded, for the message: "layer `svc.wasm`".
        what: String,
        /// Bytes; the size the blob's descriptor gives.
        size: u64,
    },
    /// A manifest or layer over its limit (checked before and while downloading).
    #[error(transparent)]
    TooLarge(#[from] crate::limits::TooLarge),
    /// An environment variable that overrides a limit does not parse.
    #[error(transparent)]
    BadSetting(#[from] crate::limits::BadSetting),
    /// Ctrl-C stopped the command.
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    /// Anything else: an error answer with no more precise variant, or a local failure
    /// (setting up the HTTP client, writing the cache).
    #[error("registry {registry}: {message}")]
    Other {
        /// The registry's `HOST[:PORT]`.
        registry: String,
        /// The error in words, with its causes.
        message: String,
        /// The hint of the error `message` was made of, if it had one.
        hint: Option<Hint>,
    },
    /// Neither the command line nor the manifest's `[deploy]` table names a registry.
    #[error("no registry to push to")]
    NoTarget,
    /// A component with a `build` has no `source` file to push yet.
    #[error(
"component `{component}` has not been built: `{}` does not exist", source_path.display())]
    NotBuilt {
        /// The component's id.
        component: String,
        /// As the manifest writes it (relative to the app).
        source_path: PathBuf,
    },
    /// The app is described by Spin's `spin.toml`, which wasmctl's own layout cannot carry
    /// (it ships a `wasmctl.toml`); Spin's layout can.
    #[error(
        "`{}` is Spin's manifest, and wasmctl's own artifact layout carries a wasmctl.toml",
        manifest.display()
    )]
    SpinManifest {
        /// The app's manifest.
        manifest: PathBuf,
    },
}

/// The layout an app is pushed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The CNCF Wasm OCI layout plus wasmctl's layers ([`artifact`]): what runwasi's
    /// wasmtime shim runs, and what `up --from` restores exactly.
    Wasmctl,
    /// Spin's layout ([`spin_layout`]): what SpinKube's containerd-shim-spin runs.
    Spin,
}

/// Refuses an app whose artifact could not be packed in `layout`, before anything is
/// built: one described by Spin's manifest, in wasmctl's layout (which carries a
/// `wasmctl.toml`).
pub fn check_packable(app: &crate::manifest::App, layout: Layout) -> Result<(), RegistryError> {
    match (app.format, layout) {
        (crate::manifest::ManifestFormat::Spin, Layout::Wasmctl) => {
            Err(RegistryError::SpinManifest {
                manifest: app.manifest_path.clone(),
            })
        }
        _ => Ok(()),
    }
}

impl RegistryError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<Hint> {
        let text = match self {
            RegistryError::BadReference { .. } => "write HOST[:PORT]/REPOSITORY:TAG, e.g. 127.0.0.1:5000/demo/svc:v1 or ghcr.io/me/svc:1.0".to_string(),
            RegistryError::Unreachable { help, .. } => help.clone(),
            RegistryError::Unauthorized { registry, .. } => format!("run `wasmctl registry login {registry}`, or check the credentials in Docker's config.json"),
            RegistryError::CredentialsUnreadable { hint, .. } => return Some(hint.clone()),
            RegistryError::NotFound { .. } => "check the repository and tag; `wasmctl deploy` prints the reference it pushed".to_string(),
            RegistryError::ConnectionLost { .. } => "check that the registry still runs, then run the command again (a push tags only after every blob is uploaded, and never sends a blob the registry already holds)".to_string(),
            RegistryError::NoTarget => "name one (`wasmctl registry push HOST[:PORT]/REPO:TAG`, `wasmctl deploy --registry HOST[:PORT]/REPO:TAG`), or set `registry` in a [deploy] table of wasmctl.toml".to_string(),
            RegistryError::NotBuilt { .. } => "run `wasmctl build` first (`wasmctl deploy` builds what is missing before it pushes)".to_string(),
            RegistryError::SpinManifest { .. } => "deploy it in Spin's layout, for SpinKube: `wasmctl deploy --kube DIR --runtime spinkube`".to_string(),
            // Transparent: the wrapped error is not a cause of its own in the chain.
            RegistryError::TooLarge(error) => return Some(error.hint()),
            RegistryError::BadSetting(error) => return Some(error.hint()),
            RegistryError::Other { hint, .. } => return hint.clone(),
            RegistryError::DigestMismatch { .. }
            | RegistryError::BlobTooLong { .. }
            | RegistryError::Interrupted(_) => return None,
        };
        Some(Hint::new(text))
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A runtime for the registry client, which is async; the commands are not.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Parses `HOST[:PORT]/REPO[:TAG|@DIGEST]`, insisting on an explicit registry host.
pub fn parse_reference(text: &str) -> Result<Reference, RegistryError> {
    let bad = |reason: String| RegistryError::BadReference {
        reference: text.to_string(),
        reason,
    };
    crate::manifest::registry_reference_problem(text).map_err(bad)?;
    text.parse::<Reference>()
        .map_err(|e| bad(format!("does not parse: {e}")))
}

/// Whether plain HTTP is acceptable for this registry host: loopback only.
pub fn is_loopback(registry: &str) -> bool {
    let host = registry
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']').map(|(host, _)| host))
        .unwrap_or_else(|| registry.rsplit_once(':').map_or(registry, |(host, _)| host));
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A connection to one registry with resolved credentials.
pub struct Registry {
    client: Client,
    /// For the manifest, which oci-client would read whole however long it is.
    http: reqwest::Client,
    auth: RegistryAuth,
    registry: String,
    /// Plain HTTP (loopback or `--insecure`) rather than HTTPS.
    plain_http: bool,
}

impl Registry {
    /// Plain HTTP is used for loopback registries or with `insecure`; HTTPS otherwise.
    pub fn connect(
        reference: &Reference,
        auth: RegistryAuth,
        insecure: bool,
    ) -> Result<Registry, RegistryError> {
        // reqwest is built without a default TLS provider; ring is the one in our tree.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let registry = reference.resolve_registry().to_string();
        let plain_http = insecure || is_loopback(&registry);
        let protocol = if plain_http {
            ClientProtocol::HttpsExcept(vec![registry.clone()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            ..ClientConfig::default()
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| RegistryError::Other {
                registry: registry.clone(),
                message: format!("could not set up the HTTP client: {e}"),
                hint: None,
            })?;
        // `Client::new` would hide a configuration error behind a default HTTPS client.
        let client = Client::try_from(config).map_err(|e| RegistryError::Other {
            registry: registry.clone(),
            message: format!("could not set up the HTTP client: {e}"),
            hint: None,
        })?;
        Ok(Registry {
            client,
            http,
            auth,
            registry,
            plain_http,
        })
    }

    fn error(&self, reference: &Reference, error: OciDistributionError) -> RegistryError {
        let registry = self.registry.clone();
        let had_credentials = !matches!(self.auth, RegistryAuth::Anonymous);
        match error {
            OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
                let reason = root_cause(&e);
                let answered_plain_http = answered_plain_http(&e);
                let help = if answered_plain_http && !self.plain_http {
                    "the registry answers in plain HTTP, and wasmctl uses HTTPS for every registry that is not on loopback; if you trust the network to it, pass --insecure (or, for `wasmctl deploy`, set `insecure = true` in [deploy])"
                } else {
                    "check that the registry runs and the address is right"
                };
                RegistryError::Unreachable {
                    registry,
                    reason,
                    help: help.to_string(),
                }
            }
            OciDistributionError::RequestError(e)
                if matches!(e.status().map(|s| s.as_u16()), Some(401 | 403)) =>
            {
                RegistryError::Unauthorized {
                    registry,
                    had_credentials,
                }
            }
            // Sending the request or reading the answer failed after the connection was
            // made: it broke in the middle of the exchange.
            OciDistributionError::RequestError(e)
                if e.status().is_none() && (e.is_request() || e.is_body()) =>
            {
                RegistryError::ConnectionLost {
                    registry,
                    reason: root_cause(&e),
                }
            }
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => RegistryError::Unauthorized {
                registry,
                had_credentials,
            },
            OciDistributionError::ServerError { code: 401, .. } => RegistryError::Unauthorized {
                registry,
                had_credentials,
            },
            OciDistributionError::ImageManifestNotFoundError(detail) => RegistryError::NotFound {
                reference: reference.whole(),
                detail,
            },
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                    )
                }) =>
            {
                RegistryError::NotFound {
                    reference: reference.whole(),
                    detail: envelope
                        .errors
                        .iter()
                        .map(|e| e.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                }
            }
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|e| {
                    matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)
                }) =>
            {
                RegistryError::Unauthorized {
                    registry,
                    had_credentials,
                }
            }
            OciDistributionError::DigestError(DigestError::VerificationError {
                expected,
                actual,
            }) => RegistryError::DigestMismatch {
                registry,
                what: "a blob".to_string(),
                expected,
                actual,
            },
            other => RegistryError::Other {
                registry,
                message: format!("{other}"),
                hint: None,
            },
        }
    }

    /// Checks the credentials against the registry (`GET /v2/_catalog`).
    pub async fn check_login(&self, reference: &Reference) -> Result<(), RegistryError> {
        self.client
            .auth(reference, &self.auth, RegistryOperation::Pull)
            .await
            .map_err(|e| self.error(reference, e))?;
        match self
            .client
            .catalog(reference, &self.auth, Some(1), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => Err(self.error(reference, error)),
        }
    }

    /// Pushes an artifact, uploading only blobs the registry lacks.
    pub async fn push(
        &self,
        reference: &Reference,
        artifact: &Artifact,
        progress: &dyn PushProgress,
    ) -> Result<PushReport, RegistryError> {
        let started = Instant::now();
        self.client
            .auth(reference, &self.auth, RegistryOperation::Push)
            .await
            .map_err(|e| self.error(reference, e))?;
        let mut blobs = Vec::new();
        for blob in artifact
            .layers
            .iter()
            .chain(std::iter::once(&artifact.config))
        {
            let exists = self
                .client
                .blob_exists(reference, &blob.digest)
                .await
                .map_err(|e| self.error(reference, e))?;
            if !exists {
                self.upload(reference, blob, progress).await?;
            }
            progress.done(&blob.title, blob.data.len() as u64, !exists);
            blobs.push(PushedBlob {
                title: blob.title.clone(),
                media_type: blob.media_type.clone(),
                digest: blob.digest.clone(),
                size: blob.data.len() as u64,
                uploaded: !exists,
            });
        }
        self.client
            .push_manifest_raw(
                reference,
                artifact.manifest.clone(),
                OCI_MANIFEST_MEDIA_TYPE
                    .parse()
                    .expect("a valid header value"),
            )
            .await
            .map_err(|e| self.error(reference, e))?;
        let repository = format!("{}/{}", self.registry, reference.repository());
        Ok(PushReport {
            pinned: format!("{repository}@{}", artifact.manifest_digest),
            digest: artifact.manifest_digest.clone(),
            tagged: reference.whole(),
            blobs,
            elapsed: started.elapsed(),
        })
    }

    async fn upload(
        &self,
        reference: &Reference,
        blob: &artifact::Blob,
        progress: &dyn PushProgress,
    ) -> Result<(), RegistryError> {
        const CHUNK: usize = 256 * 1024;
        let total = blob.data.len() as u64;
        progress.start(&blob.title, total);
        let chunks: Vec<Bytes> = (0..blob.data.len())
            .step_by(CHUNK)
            .map(|at| blob.data.slice(at..(at + CHUNK).min(blob.data.len())))
            .collect();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let stream = futures::stream::iter(chunks).map(move |chunk| {
            let _ = sender.send(chunk.len() as u64);
            Ok(chunk)
        });
        let upload = self
            .client
            .push_blob_stream(reference, stream, &blob.digest, Some(total));
        tokio::pin!(upload);
        loop {
            tokio::select! {
                result = &mut upload => {
                    result.map_err(|e| self.error(reference, e))?;
                    return Ok(());
                }
                Some(sent) = receiver.recv() => progress.advance(&blob.title, sent),
            }
        }
    }

    /// Pulls an artifact into `cache` (verifying every digest) and returns the app directory.
    pub async fn pull(
        &self,
        reference: &Reference,
        cache: &Cache,
    ) -> Result<PulledApp, RegistryError> {
        let started = Instant::now();
        let (manifest_bytes, served_digest) = self.pull_manifest(reference).await?;
        let digest = sha256_digest(&manifest_bytes);
        let expected = reference
            .digest()
            .map(str::to_string)
            .or(served_digest)
            .unwrap_or_else(|| digest.clone());
        if digest != expected {
            return Err(RegistryError::DigestMismatch {
                registry: self.registry.clone(),
                what: "the manifest".to_string(),
                expected,
                actual: digest,
            });
        }
        let manifest =
            artifact::parse_manifest(&manifest_bytes).map_err(|problem| RegistryError::Other {
                registry: self.registry.clone(),
                message: format!("`{}` {problem}", reference.whole()),
                hint: None,
            })?;
        let mut fetched = Vec::new();
        for layer in &manifest.layers {
            if cache.has_blob(&layer.digest) {
                continue;
            }
            let staging = self.pull_layer(reference, layer, cache).await?;
            cache
                .keep_blob(staging, &layer.digest)
                .map_err(|e| self.other(e))?;
            fetched.push(layer.digest.clone());
        }
        let dir = cache.materialize(&digest, &manifest).map_err(|e| {
            cache.drop_blobs(&fetched);
            self.other(e)
        })?;
        let downloaded = fetched.len();
        Ok(PulledApp {
            dir,
            digest,
            layers: manifest.layers.len(),
            downloaded,
            elapsed: started.elapsed(),
        })
    }

    /// The manifest of `reference` and the digest the registry gave for it, read at most
    /// [`crate::limits::OCI_MANIFEST`]: an endless answer stops there.
    async fn pull_manifest(
        &self,
        reference: &Reference,
    ) -> Result<(Vec<u8>, Option<String>), RegistryError> {
        let fail = |error: OciDistributionError| self.error(reference, error);
        let token = self
            .client
            .auth(reference, &self.auth, RegistryOperation::Pull)
            .await
            .map_err(fail)?;
        let url = format!(
            "{}://{}/v2/{}/manifests/{}",
            if self.plain_http { "http" } else { "https" },
            reference.resolve_registry(),
            reference.repository(),
            reference.digest().or(reference.tag()).unwrap_or("latest")
        );
        let mut request = self
            .http
            .get(&url)
            .header(reqwest::header::ACCEPT, OCI_MANIFEST_MEDIA_TYPE);
        request = match (token, &self.auth) {
            (Some(token), _) => request.bearer_auth(token),
            (None, RegistryAuth::Basic(username, password)) => {
                request.basic_auth(username, Some(password))
            }
            (None, _) => request,
        };
        let mut response = request
            .send()
            .await
            .map_err(|e| fail(OciDistributionError::RequestError(e)))?;
        let status = response.status();
        let served_digest = response
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let limit = crate::limits::OCI_MANIFEST;
        // An error's body is only read for its message: a little is enough.
        let max = if status.is_success() {
            limit.value()?
        } else {
            64 * 1024
        };
        let too_large = || {
            limit.exceeded(
                format!(
                    "the manifest of `{}` from {}",
                    reference.whole(),
                    self.registry
                ),
                max,
            )
        };
        if response.content_length().is_some_and(|length| length > max) && status.is_success() {
            return Err(too_large().into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fail(OciDistributionError::RequestError(e)))?
        {
            if (body.len() + chunk.len()) as u64 > max {
                if status.is_success() {
                    return Err(too_large().into());
                }
                break;
            }
            body.extend_from_slice(&chunk);
        }
        if status == reqwest::StatusCode::OK {
            return Ok((body, served_digest));
        }
        // The errors oci-client gives for the same answers, so they read alike.
        let error = match status.as_u16() {
            401 => OciDistributionError::UnauthorizedError { url },
            code @ 400..=499 => match serde_json::from_slice(&body) {
                Ok(envelope) => OciDistributionError::RegistryError { envelope, url },
                Err(_) => OciDistributionError::ServerError {
                    code,
                    url,
                    message: String::from_utf8_lossy(&body).into_owned(),
                },
            },
            code => OciDistributionError::ServerError {
                code,
                url,
                message: String::from_utf8_lossy(&body).into_owned(),
            },
        };
        Err(fail(error))
    }

    /// Downloads one layer into a staging file of `cache`, verified: no longer than its
    /// descriptor says (the download stops one byte past it), that size within the limit
    /// of its kind, and its digest. On any failure the staging file is gone.
    async fn pull_layer(
        &self,
        reference: &Reference,
        layer: &oci_client::manifest::OciDescriptor,
        cache: &Cache,
    ) -> Result<tempfile::NamedTempFile, RegistryError> {
        use tokio::io::AsyncWriteExt;

        let title = layer
            .annotations
            .as_ref()
            .and_then(|a| a.get("org.opencontainers.image.title"))
            .cloned()
            .unwrap_or_else(|| layer.digest.clone());
        let what = format!("layer `{title}`");
        let limit = artifact::layer_limit(&layer.media_type);
        let max = limit.value()?;
        let size = u64::try_from(layer.size).unwrap_or(u64::MAX);
        if size > max {
            return Err(limit
                .exceeded(
                    format!(
                        "{what} of `{}` ({size} bytes, says its descriptor)",
                        reference.whole()
                    ),
                    max,
                )
                .into());
        }
        let staging = cache.staging_file().map_err(|e| self.other(e))?;
        let mut file = tokio::fs::File::create(staging.path())
            .await
            .map_err(|e| self.other(e.into()))?;
        let mut stream = self
            .client
            .pull_blob_stream(reference, layer)
            .await
            .map_err(|e| self.error(reference, e))?;
        let mut received: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.blob_error(reference, &what, e))?;
            received += chunk.len() as u64;
            if received > size {
                return Err(RegistryError::BlobTooLong {
                    registry: self.registry.clone(),
                    what,
                    size,
                });
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| self.other(e.into()))?;
        }
        file.flush().await.map_err(|e| self.other(e.into()))?;
        if received < size {
            return Err(RegistryError::ConnectionLost {
                registry: self.registry.clone(),
                reason: format!("{what} ended after {received} of its {size} bytes"),
            });
        }
        Ok(staging)
    }

    /// A failed read of a blob stream: a digest that does not match, or the connection.
    fn blob_error(
        &self,
        reference: &Reference,
        what: &str,
        error: std::io::Error,
    ) -> RegistryError {
        let Some(inner) = error.get_ref() else {
            return self.other(error.into());
        };
        if let Some(DigestError::VerificationError { expected, actual }) =
            inner.downcast_ref::<DigestError>()
        {
            return RegistryError::DigestMismatch {
                registry: self.registry.clone(),
                what: what.to_string(),
                expected: expected.clone(),
                actual: actual.clone(),
            };
        }
        match error
            .into_inner()
            .map(|inner| inner.downcast::<reqwest::Error>())
        {
            Some(Ok(request)) => {
                self.error(reference, OciDistributionError::RequestError(*request))
            }
            Some(Err(other)) => self.other(anyhow::anyhow!(other)),
            None => unreachable!("get_ref found an inner error"),
        }
    }

    fn other(&self, error: anyhow::Error) -> RegistryError {
        RegistryError::Other {
            registry: self.registry.clone(),
            message: format!("{error:#}"),
            hint: error.chain().find_map(crate::hint::of),
        }
    }
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Progress of a push, for a terminal (per-layer bars) or nothing.
///
/// Blobs are named by their [`title`](artifact::Blob::title) and pushed one at a time.
pub trait PushProgress: Sync {
    /// An upload of `size` bytes begins (never called for a blob the registry has).
    fn start(&self, title: &str, size: u64);
    /// `bytes` more of the blob were handed to the upload since the last call.
    fn advance(&self, title: &str, bytes: u64);
    /// The blob of `size` bytes is in the registry: uploaded (after [`start`](Self::start)),
    /// or already there. `uploaded` is false for a blob the registry already had.
    fn done(&self, title: &str, size: u64, uploaded: bool);
}

/// One blob of a pushed artifact, as `--json` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushedBlob {
    /// A name for people: `svc.wasm`, `files:assets`, `wasmctl.toml`, `config`.
    pub title: String,
    /// Its media type, e.g. [`artifact::WASM_LAYER_MEDIA_TYPE`].
    pub media_type: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// Bytes.
    pub size: u64,
    /// False when the registry already had it and nothing was sent.
    pub uploaded: bool,
}

/// What [`Registry::push`] did.
#[derive(Debug, Clone)]
pub struct PushReport {
    /// `HOST/REPO@sha256:...`
    pub pinned: String,
    /// The manifest's digest, `sha256:<hex>`: what [`pinned`](Self::pinned) pins.
    pub digest: String,
    /// The tag reference as given.
    pub tagged: String,
    /// The layers in manifest order, then the config.
    pub blobs: Vec<PushedBlob>,
    /// From the start of the push to the tagged manifest.
    pub elapsed: Duration,
}

impl PushReport {
    /// Blobs sent (the rest were in the registry already).
    pub fn uploaded(&self) -> usize {
        self.blobs.iter().filter(|b| b.uploaded).count()
    }
}

/// What [`Registry::pull`] brought into the cache.
#[derive(Debug, Clone)]
pub struct PulledApp {
    /// A directory holding `wasmctl.toml` and everything it refers to.
    pub dir: PathBuf,
    /// The manifest's digest, `sha256:<hex>`, verified.
    pub digest: String,
    /// How many layers the artifact has.
    pub layers: usize,
    /// Layers fetched from the registry (the rest were already cached).
    pub downloaded: usize,
    /// From the first request to the materialized app.
    pub elapsed: Duration,
}

/// Verified blobs by digest, and apps materialized from them.
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// A cache kept under `root`, created as it is needed.
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// `oci/` under [`crate::dirs::cache_root`].
    pub fn for_user() -> Result<Cache> {
        Ok(Cache::new(crate::dirs::cache_root()?.join("oci")))
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.root.join("blobs").join(digest.replace(':', "/"))
    }

    /// A blob is the file the store wrote; a link put in its place does not count.
    fn has_blob(&self, digest: &str) -> bool {
        std::fs::symlink_metadata(self.blob_path(digest)).is_ok_and(|m| m.is_file())
    }

    fn staging_file(&self) -> Result<tempfile::NamedTempFile> {
        let dir = crate::fs_tree::create_own_dir(&self.root, Path::new("tmp"))?;
        Ok(tempfile::NamedTempFile::new_in(dir)?)
    }

    /// Moves a verified download into the store (after verification only: a mismatch
    /// drops the staging file and leaves the store untouched). The rename replaces a link
    /// found at the blob's path; it never writes through it.
    fn keep_blob(&self, staging: tempfile::NamedTempFile, digest: &str) -> Result<()> {
        crate::fs_tree::create_own_dir(&self.root, Path::new("blobs/sha256"))?;
        staging
            .persist(self.blob_path(digest))
            .map_err(|e| e.error)?;
        Ok(())
    }

    /// Forgets blobs of an artifact that was refused: they are verified, but nothing
    /// should remain of an app wasmctl would not unpack.
    fn drop_blobs(&self, digests: &[String]) {
        for digest in digests {
            let _ = std::fs::remove_file(self.blob_path(digest));
        }
    }

    fn materialize(&self, manifest_digest: &str, manifest: &OciImageManifest) -> Result<PathBuf> {
        let dir = self
            .root
            .join("apps")
            .join(manifest_digest.replace(':', "-"));
        // Materialized by this cache: a real directory (not a link put there) with a manifest.
        let materialized = || {
            std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir())
                && crate::manifest::in_dir(&dir).is_some_and(|manifest| manifest.is_file())
        };
        if materialized() {
            return Ok(dir);
        }
        let apps = crate::fs_tree::create_own_dir(&self.root, Path::new("apps"))?;
        let staging = tempfile::Builder::new().prefix(".app-").tempdir_in(apps)?;
        artifact::materialize(manifest, &|digest| self.blob_path(digest), staging.path())?;
        // An app wasmctl would refuse to serve is not kept: the manifest the artifact
        // brought (or that was written from it) must pass the manifest's rules first.
        let written = crate::manifest::in_dir(staging.path())
            .context("the pulled artifact materialized without a manifest")?;
        crate::manifest::load(&written).context(
            "the pulled app's manifest does not pass wasmctl's rules, so it was not kept",
        )?;
        match std::fs::rename(staging.path(), &dir) {
            Ok(()) => {
                let _ = staging.keep();
            }
            // Another pull materialized it first: same digest, same content.
            Err(_) if materialized() => {}
            Err(error) => {
                return Err(error).with_context(|| format!("moving the app to {}", dir.display()));
            }
        }
        Ok(dir)
    }
}

/// Copies a pulled app directory to `target` (which must not exist or be empty).
pub fn export(app_dir: &Path, target: &Path) -> Result<()> {
    crate::templates::ensure_empty_target(target)?;
    // Staged beside the target and renamed: a copy that fails leaves nothing behind.
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).with_context(|| format!("creating `{}`", parent.display()))?;
    let staging = crate::fs_tree::staging_dir(".wasmctl-pull-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a staging directory in `{}`", parent.display()))?;
    crate::fs_tree::copy_tree(app_dir, staging.path())?;
    crate::fs_tree::place_dir(staging, target)
}

/// Whether TLS failed because the server answered its hello in plain HTTP: rustls finds
/// a record of no TLS content type. Found by type along the error's causes, including
/// the error inside an `io::Error` (whose `source` skips it).
fn answered_plain_http(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if matches!(
            error.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))
        ) {
            return true;
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && answered_plain_http(inner)
        {
            return true;
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_only_may_use_plain_http() {
        for host in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "ghcr.io",
            "10.0.0.1:5000",
            "example.com:5000",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn references_need_a_registry_host() {
        assert!(parse_reference("127.0.0.1:5000/demo/svc:v1").is_ok());
        assert!(parse_reference("ghcr.io/me/svc@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").is_ok());
        for bad in ["svc:v1", "demo/svc:v1", "127.0.0.1:5000/", ""] {
            let error = parse_reference(bad).unwrap_err();
            let hint = error.hint().expect("a hint");
            assert!(hint.text().contains("HOST[:PORT]/REPO"), "{bad}: {error}");
        }
    }
}
