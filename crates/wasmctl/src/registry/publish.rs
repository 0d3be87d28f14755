//! Shipping a built app: the one operation behind `wasmctl deploy` (which builds first and
//! may write Kubernetes manifests after) and `wasmctl registry push` (which does neither).

use std::collections::BTreeMap;

use anyhow::Result;
use oci_client::Reference;

use super::credentials::Credentials;
use super::{PushProgress, PushReport, Registry, RegistryError, artifact};
use crate::manifest::App;

/// Where to push `app`: `given` (from the command line), else `[deploy] registry`.
pub fn target(given: Option<&str>, app: &App) -> Result<Reference, RegistryError> {
    let text = given
        .or(app.deploy.registry.as_deref())
        .ok_or(RegistryError::NoTarget)?;
    super::parse_reference(text)
}

/// Pushes `app` as it was built: every component's `source` must exist and be valid (it
/// is validated here, against the world `up` serves), then the app is packed
/// ([`artifact::pack`]) and pushed with `credentials` ([`lookup`](super::credentials::lookup)). Plain HTTP
/// with `insecure` or the manifest's `[deploy] insecure` (and always to loopback).
pub async fn push_app(
    app: &App,
    reference: &Reference,
    credentials: &Credentials,
    insecure: bool,
    progress: &dyn PushProgress,
) -> Result<PushReport> {
    let mut valid = BTreeMap::new();
    for component in app.components.values() {
        if component.build.is_some() && !app.resolve(&component.source).exists() {
            return Err(RegistryError::NotBuilt {
                component: component.id.clone(),
                source_path: component.source.clone(),
            }
            .into());
        }
        valid.insert(
            component.id.clone(),
            crate::build::check_source(app, component, crate::build::Profile::Release)?,
        );
    }
    let packed = artifact::pack(app, &valid)?;
    tracing::info!(
        "credentials for {}: {:?}",
        reference.resolve_registry(),
        credentials.source
    );
    let registry = Registry::connect(
        reference,
        credentials.auth.clone(),
        insecure || app.deploy.insecure,
    )?;
    Ok(registry
        .push(reference, &packed, progress)
        .await
        .map_err(|error| credentials.explain(error))?)
}
