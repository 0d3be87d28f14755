//! Apps to and from registries, the operations the commands call: [`push_app`] behind
//! `wasmctl deploy` (which builds first and may write Kubernetes manifests after) and
//! `wasmctl registry push` (which does neither); [`pull_app`] behind `wasmctl registry
//! pull` and `wasmctl up --from`.

use std::collections::BTreeMap;

use anyhow::Result;
use oci_client::Reference;

use super::credentials::Credentials;
use super::{Cache, PulledApp, PushProgress, PushReport, Registry, RegistryError, artifact};
use crate::deploy::PushSettings;
use crate::manifest::App;

/// Pushes `app` as it was built: every component's `source` must exist and be valid (it
/// is validated here, against the world `up` serves), then the app is packed
/// ([`artifact::pack`]) and pushed to where `settings` say ([`PushSettings::resolve`]) with
/// `credentials` ([`lookup`](super::credentials::lookup)).
pub async fn push_app(
    app: &App,
    settings: &PushSettings,
    credentials: &Credentials,
    progress: &dyn PushProgress,
) -> Result<PushReport> {
    super::check_packable(app, settings.layout)?;
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
    let packed = match settings.layout {
        super::Layout::Wasmctl => artifact::pack(app, &valid)?,
        super::Layout::Spin => super::spin_layout::pack(app, &valid)?,
    };
    let reference = &settings.reference;
    tracing::info!(
        "credentials for {}: {:?}",
        reference.resolve_registry(),
        credentials.source
    );
    let registry = Registry::connect(reference, credentials.auth.clone(), settings.insecure)?;
    Ok(registry
        .push(reference, &packed, progress)
        .await
        .map_err(|error| credentials.explain(error))?)
}

/// Pulls `reference` into the user's cache ([`Cache::for_user`]) with `credentials`
/// ([`lookup`](super::credentials::lookup)); plain HTTP with `insecure` (and always from
/// loopback). A refusal is explained with what the lookup knows ([`Credentials::explain`]).
/// Dropping the future (Ctrl-C) drops the pull, and its staging files with it.
pub async fn pull_app(
    reference: &Reference,
    credentials: &Credentials,
    insecure: bool,
) -> Result<PulledApp> {
    let registry = Registry::connect(reference, credentials.auth.clone(), insecure)?;
    Ok(registry
        .pull(reference, &Cache::for_user()?)
        .await
        .map_err(|error| credentials.explain(error))?)
}
