//! Help as data ([`Hint`], [`Hinted`]; see `wasmctl_manifest::hint`), and [`of`], which
//! finds the hint of an error wherever it sits in a chain.

pub use wasmctl_manifest::hint::*;

use crate::build::{AppBuildError, BuildError};
use crate::component::ComponentError;
use crate::limits::{BadSetting, ReadError, TooLarge};
use crate::manifest::{ManifestError, MountError};
use crate::registry::RegistryError;
use crate::registry::credentials::StoreUnreadable;
use crate::templates::catalog::UnknownTemplate;

/// What the user can do about one error of a chain (not its causes): a [`Hinted`]
/// error's hint, or that of one of the typed errors below, whose variants callers branch
/// on and which say what to do through a `hint()` method. A typed error with help
/// belongs in this list, or its help is never shown.
pub fn of(cause: &(dyn std::error::Error + 'static)) -> Option<Hint> {
    if let Some(hinted) = cause.downcast_ref::<Hinted>() {
        return Some(hinted.hint().clone());
    }
    if let Some(error) = cause.downcast_ref::<ManifestError>() {
        return error.hint();
    }
    if let Some(error) = cause.downcast_ref::<MountError>() {
        return Some(error.hint.clone());
    }
    if let Some(error) = cause.downcast_ref::<ReadError>() {
        return error.hint();
    }
    if let Some(error) = cause.downcast_ref::<TooLarge>() {
        return Some(error.hint());
    }
    if let Some(error) = cause.downcast_ref::<BadSetting>() {
        return Some(error.hint());
    }
    if let Some(error) = cause.downcast_ref::<AppBuildError>() {
        return error.hint();
    }
    if let Some(error) = cause.downcast_ref::<BuildError>() {
        return error.hint();
    }
    if let Some(problem) = cause.downcast_ref::<crate::build::toolchain::ToolProblem>() {
        return Some(problem.hint());
    }
    if let Some(error) = cause.downcast_ref::<ComponentError>() {
        return error.hint();
    }
    if let Some(error) = cause.downcast_ref::<RegistryError>() {
        return error.hint();
    }
    if let Some(error) = cause.downcast_ref::<StoreUnreadable>() {
        return Some(error.hint());
    }
    if let Some(error) = cause.downcast_ref::<UnknownTemplate>() {
        return Some(error.hint());
    }
    if let Some(error) = cause.downcast_ref::<crate::variables::VariableError>() {
        return error.hint();
    }
    None
}
