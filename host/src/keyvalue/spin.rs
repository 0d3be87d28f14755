//! `fermyon:spin/key-value@2.0.0`, the interface a component built with the Rust spin-sdk
//! (5.x) imports for its stores: the same stores, grants and limits as wasi:keyvalue,
//! with Spin's names (`store`, `get-keys`).

use wasmtime::component::{Linker, Resource};

use super::{Bucket, Failure, HasKeyValue, KeyValueView, all_keys};
use crate::state::RequestState;

// Generated items are used within this crate only.
#[allow(unreachable_pub, missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/deps/spin-2.0.0",
        inline: "package wasmctl:spin-key-value;
                 world imports { import fermyon:spin/key-value@2.0.0; }",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/key-value.store": crate::keyvalue::Bucket,
        },
    });
}

use bindings::fermyon::spin::key_value;

pub(super) fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    key_value::add_to_linker::<_, HasKeyValue>(linker, RequestState::key_value)
}

translate_spin_error!();

impl key_value::Host for KeyValueView<'_> {}

impl key_value::HostStore for KeyValueView<'_> {
    async fn open(&mut self, label: String) -> Answer<Resource<Bucket>> {
        Ok(KeyValueView::open(self, label)?.map_err(error))
    }

    async fn get(&mut self, store: Resource<Bucket>, key: String) -> Answer<Option<Vec<u8>>> {
        Ok(KeyValueView::get(self, store, key).await?.map_err(error))
    }

    async fn set(&mut self, store: Resource<Bucket>, key: String, value: Vec<u8>) -> Answer<()> {
        Ok(KeyValueView::set(self, store, key, value)
            .await?
            .map_err(error))
    }

    async fn delete(&mut self, store: Resource<Bucket>, key: String) -> Answer<()> {
        Ok(KeyValueView::delete(self, store, key).await?.map_err(error))
    }

    async fn exists(&mut self, store: Resource<Bucket>, key: String) -> Answer<bool> {
        Ok(KeyValueView::exists(self, store, key).await?.map_err(error))
    }

    async fn get_keys(&mut self, store: Resource<Bucket>) -> Answer<Vec<String>> {
        let (label, backend) = self.bucket(&store)?;
        Ok(all_keys(&label, backend, self.limits().max_keys_per_call)
            .await
            .map_err(error))
    }

    async fn drop(&mut self, store: Resource<Bucket>) -> wasmtime::Result<()> {
        self.close(store)
    }
}
