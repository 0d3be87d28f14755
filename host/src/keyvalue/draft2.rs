//! `wasi:keyvalue@0.2.0-draft2`, the version Spin and SpinKube link: string cursors,
//! signed counters, compare-and-swap.

use wasmtime::component::{Linker, Resource};

use super::{Bucket, Cas, Cursor, Failure, HasKeyValue, KeyValueView};
use crate::state::RequestState;

// Generated items are used within this crate only.
#[allow(unreachable_pub, missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/deps/keyvalue-0.2.0-draft2",
        world: "wasi:keyvalue/imports",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": crate::keyvalue::Bucket,
            "wasi:keyvalue/atomics.cas": crate::keyvalue::Cas,
        },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};

pub(super) fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    store::add_to_linker::<_, HasKeyValue>(linker, RequestState::key_value)?;
    atomics::add_to_linker::<_, HasKeyValue>(linker, RequestState::key_value)?;
    batch::add_to_linker::<_, HasKeyValue>(linker, RequestState::key_value)
}

translate_store!();

impl store::HostBucket for KeyValueView<'_> {
    translate_bucket_methods!();

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Answer<store::KeyResponse> {
        let cursor = cursor.map_or(Cursor::Start, Cursor::After);
        let listed = KeyValueView::list_keys(self, bucket, cursor).await?;
        Ok(listed
            .map(|(keys, more)| store::KeyResponse {
                cursor: if more { keys.last().cloned() } else { None },
                keys,
            })
            .map_err(error))
    }
}

impl atomics::Host for KeyValueView<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Answer<i64> {
        Ok(KeyValueView::increment(self, bucket, key, delta)
            .await?
            .map_err(error))
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        Ok(KeyValueView::swap(self, cas, value)
            .await?
            .map_err(|failed| match failed {
                Ok(retry) => atomics::CasError::CasFailed(retry),
                Err(failure) => atomics::CasError::StoreError(error(failure)),
            }))
    }
}

impl atomics::HostCas for KeyValueView<'_> {
    async fn new(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<Resource<Cas>> {
        Ok(self.cas_new(bucket, key).await?.map_err(error))
    }

    async fn current(&mut self, cas: Resource<Cas>) -> Answer<Option<Vec<u8>>> {
        Ok(self.cas_current(cas)?.map_err(error))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.cas_drop(cas)
    }
}

impl batch::Host for KeyValueView<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<(String, Option<Vec<u8>>)>> {
        Ok(KeyValueView::get_many(self, bucket, keys)
            .await?
            .map_err(error))
    }

    translate_batch_writes!();
}
