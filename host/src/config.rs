//! `wasi:config/store`: what a component reads of its configuration, in the two versions
//! in use (`0.2.0-draft-2024-09-27`, linked by Spin and SpinKube; `0.2.0-rc.1`, linked by
//! wasmtime's `wasmtime-wasi-config`), and Spin's own variables interfaces,
//! `fermyon:spin/variables@2.0.0` (spin-sdk 5.x) and `spin:variables/variables@3.0.0`
//! (spin-sdk 7, an async function), all answered from one [`ConfigValues`].
//! The bindings are generated from the WIT vendored in the repository's `wit/deps/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{Accessor, HasData, Linker};

use crate::state::RequestState;

/// The configuration a component may read, by key; empty unless the caller grants some.
/// Values may be secrets: `Debug` shows keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConfigValues(Arc<BTreeMap<String, String>>);

impl ConfigValues {
    /// The value of `key`, if it has one.
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    /// Every key and value, in key order.
    fn all(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }
}

impl FromIterator<(String, String)> for ConfigValues {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self(Arc::new(pairs.into_iter().collect()))
    }
}

impl std::fmt::Debug for ConfigValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

mod draft {
    wasmtime::component::bindgen!({
        path: "../wit/deps/config-0.2.0-draft-2024-09-27",
        world: "wasi:config/imports",
    });
}

mod rc1 {
    wasmtime::component::bindgen!({
        path: "../wit/deps/config-0.2.0-rc.1",
        world: "wasi:config/imports",
    });
}

mod spin {
    wasmtime::component::bindgen!({
        path: "../wit/deps/spin-2.0.0",
        inline: "package wasmctl:spin-variables;
                 world imports { import fermyon:spin/variables@2.0.0; }",
    });
}

mod spin3 {
    wasmtime::component::bindgen!({
        path: "../wit/deps/spin-variables-3.0.0",
        inline: "package wasmctl:spin-variables3;
                 world imports { import spin:variables/variables@3.0.0; }",
    });
}

use spin::fermyon::spin::variables as spin2_variables;
use spin3::spin::variables::variables as spin3_variables;

/// What both versions' functions are given: the values of the component being served.
struct Config;

impl HasData for Config {
    type Data<'a> = &'a ConfigValues;
}

/// The `store` interface of one version, mapped onto [`ConfigValues`]: the two versions
/// have the same functions. Reading never fails, so neither ever returns its `error`.
macro_rules! store_host {
    ($version:ident) => {
        impl $version::wasi::config::store::Host for &ConfigValues {
            fn get(
                &mut self,
                key: String,
            ) -> Result<Option<String>, $version::wasi::config::store::Error> {
                Ok(ConfigValues::get(self, &key))
            }

            fn get_all(
                &mut self,
            ) -> Result<Vec<(String, String)>, $version::wasi::config::store::Error> {
                Ok(self.all())
            }
        }
    };
}

store_host!(draft);
store_host!(rc1);

/// Spin's `variables.get`: a name the component's `variables` table lacks is `undefined`,
/// as Spin answers it.
impl spin2_variables::Host for &ConfigValues {
    fn get(&mut self, name: String) -> Result<String, spin2_variables::Error> {
        ConfigValues::get(self, &name).ok_or(spin2_variables::Error::Undefined(name))
    }
}

/// The same answers to spin-sdk 7's `variables.get`, an async function: it reads the
/// values under a short synchronous borrow of the request state, and never waits.
impl spin3_variables::Host for &ConfigValues {}

impl<T> spin3_variables::HostWithStore<T> for Config {
    async fn get(
        state: &Accessor<T, Self>,
        name: String,
    ) -> Result<String, spin3_variables::Error> {
        state
            .with(|mut state| ConfigValues::get(state.get(), &name))
            .ok_or(spin3_variables::Error::Undefined(name))
    }
}

/// Adds both versions of `wasi:config/store`, and both of Spin's `variables`, to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    draft::wasi::config::store::add_to_linker::<_, Config>(linker, |state| state.config())?;
    rc1::wasi::config::store::add_to_linker::<_, Config>(linker, |state| state.config())?;
    spin2_variables::add_to_linker::<_, Config>(linker, |state| state.config())?;
    spin3_variables::add_to_linker::<_, Config>(linker, |state| state.config())?;
    Ok(())
}
