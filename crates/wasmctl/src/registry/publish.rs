//! Shipping a built app: the one operation behind `wasmctl deploy` (which builds first and
//! may write Kubernetes manifests after) and `wasmctl registry push` (which does neither).

use std::collections::BTreeMap;

use anyhow::Result;

use super::credentials::Credentials;
use super::{PushProgress, PushReport, Registry, RegistryError, artifact};
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
