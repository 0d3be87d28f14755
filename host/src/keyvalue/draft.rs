//! `wasi:keyvalue@0.2.0-draft`, the version wasmtime 48's `wasmtime-wasi-keyvalue` links:
//! offset cursors, unsigned counters, no compare-and-swap.

use wasmtime::component::{Linker, Resource};

use super::{Bucket, Cursor, Failure, HasKeyValue, KeyValueView};
use crate::state::RequestState;

// Generated items are used within this crate only.
#[allow(unreachable_pub, missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/deps/keyvalue-0.2.0-draft",
        world: "wasi:keyvalue/imports",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": crate::keyvalue::Bucket,
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
        cursor: Option<u64>,
    ) -> Answer<store::KeyResponse> {
        let offset = cursor.unwrap_or(0);
        let listed = KeyValueView::list_keys(self, bucket, Cursor::Offset(offset)).await?;
        Ok(listed
            .map(|(keys, more)| store::KeyResponse {
                cursor: more.then(|| offset + keys.len() as u64),
                keys,
            })
            .map_err(error))
    }
}

impl atomics::Host for KeyValueView<'_> {
    /// Unsigned in this draft: a delta or a result beyond the signed range the store
    /// keeps is the guest's error.
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> Answer<u64> {
        let Ok(delta) = i64::try_from(delta) else {
            return Ok(Err(store::Error::Other(format!(
                "a delta of {delta} is beyond the largest counter a store keeps ({})",
                i64::MAX
            ))));
        };
        let counted = KeyValueView::increment(self, bucket, key, delta).await?;
        Ok(match counted {
            Ok(value) => u64::try_from(value).map_err(|_| {
                store::Error::Other(format!(
                    "the counter is {value}, which this version of wasi:keyvalue cannot return"
                ))
            }),
            Err(failure) => Err(error(failure)),
        })
    }
}

impl batch::Host for KeyValueView<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<Option<(String, Vec<u8>)>>> {
        let values = KeyValueView::get_many(self, bucket, keys).await?;
        Ok(values
            .map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(key, value)| value.map(|value| (key, value)))
                    .collect()
            })
            .map_err(error))
    }

    translate_batch_writes!();
}
