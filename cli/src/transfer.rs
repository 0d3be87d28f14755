//! Apps to and from registries with the terminal attached, for every command that moves
//! one (`deploy`, `registry push`, `registry pull`, `up --from`): the credentials looked up
//! and their warnings printed, layer progress, Ctrl-C. The work itself is the library's
//! ([`registry::push_app`], [`registry::pull_app`]).

use anyhow::Result;
use oci_client::Reference;
use wasmctl::deploy::PushSettings;
use wasmctl::hint::Hinted;
use wasmctl::interrupt::interruptible;
use wasmctl::manifest::App;
use wasmctl::registry::credentials::{self, Credentials};
use wasmctl::registry::{self, PulledApp, PushReport};

use crate::ui::{LayerProgress, Ui};

/// Pushes `app` where `settings` say, with per-layer progress.
pub(crate) fn push(app: &App, settings: &PushSettings, ui: &Ui) -> Result<PushReport> {
    let credentials = lookup_credentials(&settings.reference, ui)?;
    let progress = LayerProgress::new(ui);
    let pushed = registry::runtime()?.block_on(interruptible(registry::push_app(
        app,
        settings,
        &credentials,
        &progress,
    )));
    progress.finish();
    pushed
}

/// Pulls `reference` (`HOST[:PORT]/REPO:TAG` or `...@sha256:...`) into the user's cache.
pub(crate) fn pull(reference: &str, insecure: bool, ui: &Ui) -> Result<PulledApp> {
    let reference = registry::parse_reference(reference)?;
    let credentials = lookup_credentials(&reference, ui)?;
    registry::runtime()?.block_on(interruptible(registry::pull_app(
        &reference,
        &credentials,
        insecure,
    )))
}

/// The credentials for `reference`'s registry, warning about the files they come from.
fn lookup_credentials(reference: &Reference, ui: &Ui) -> Result<Credentials> {
    let credentials = credentials::lookup(reference.resolve_registry())?;
    if let Some(store) = &credentials.unreadable_store {
        ui.warn_hinted(&Hinted::new(
            format!(
                "ignoring the credentials file {}, which could not be read ({}); going on without it",
                store.path.display(),
                store.reason
            ),
            store.hint.clone(),
        ));
    }
    if let Some(file) = &credentials.readable_by_others {
        ui.warn_hinted(&Hinted::new(
            format!(
                "{} holds registry credentials and other users may read it",
                file.display()
            ),
            format!("run `chmod 600 {}`", file.display()),
        ));
    }
    Ok(credentials)
}
