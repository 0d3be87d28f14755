//! `spin:key-value/key-value@3.0.0`, the interface a component built with the Rust
//! spin-sdk 7 imports for its stores: Spin's 2.0.0 interface made async (every function
//! is an async WIT function, and `get-keys` streams its keys), over the same stores,
//! grants and limits as wasi:keyvalue.
//!
//! An async host function reaches the request state only through short synchronous
//! borrows (`Accessor::with`), never across an `.await`: each call copies out its store
//! under one borrow, then waits for the backend with none.

use std::sync::Arc;

use wasmtime::component::{Accessor, FutureReader, Linker, Resource, StreamReader};

use super::{
    Bucket, Failure, HasKeyValue, KeyValueLimits, KeyValueView, Store, StoreError, all_keys, run,
};
use crate::state::RequestState;

// Generated items are used within this crate only.
#[allow(unreachable_pub, missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/deps/spin-key-value-3.0.0",
        inline: "package wasmctl:spin-key-value3;
                 world imports { import spin:key-value/key-value@3.0.0; }",
        // The async functions take `async | store` from their WIT; `trappable` lets a
        // handle the guest does not hold trap, as in the other versions.
        imports: { default: trappable },
        with: {
            "spin:key-value/key-value.store": crate::keyvalue::Bucket,
        },
    });
}

use bindings::spin::key_value::key_value;

pub(super) fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    key_value::add_to_linker::<_, HasKeyValue>(linker, RequestState::key_value)
}

fn error(failure: Failure) -> key_value::Error {
    match failure {
        Failure::AccessDenied => key_value::Error::AccessDenied,
        Failure::Other(message) => key_value::Error::Other(message),
    }
}

type Answer<T> = wasmtime::Result<Result<T, key_value::Error>>;

impl key_value::Host for KeyValueView<'_> {}

impl key_value::HostStore for KeyValueView<'_> {
    fn drop(&mut self, store: Resource<Bucket>) -> wasmtime::Result<()> {
        self.close(store)
    }
}

/// What a call needs of an open store, copied out of the request state so that no borrow
/// of it is held while the backend works.
struct Opened {
    label: String,
    backend: Arc<dyn Store>,
    limits: KeyValueLimits,
}

/// The store behind `store`; traps on a handle the guest does not hold.
fn opened<T>(
    state: &Accessor<T, HasKeyValue>,
    store: &Resource<Bucket>,
) -> wasmtime::Result<Opened> {
    state.with(|mut state| {
        let view = state.get();
        let (label, backend) = view.bucket(store)?;
        Ok(Opened {
            label,
            backend,
            limits: view.limits(),
        })
    })
}

/// Runs `call` on `store` if the guest's input passed its `checked` limits.
async fn call<R: Send + 'static>(
    store: Opened,
    checked: Result<(), Failure>,
    call: impl FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
) -> Answer<R> {
    if let Err(failure) = checked {
        return Ok(Err(error(failure)));
    }
    Ok(run(&store.label, store.backend, call).await.map_err(error))
}

impl<T> key_value::HostStoreWithStore<T> for HasKeyValue {
    async fn open(state: &Accessor<T, Self>, label: String) -> Answer<Resource<Bucket>> {
        Ok(state
            .with(|mut state| state.get().open(label))?
            .map_err(error))
    }

    async fn get(
        state: &Accessor<T, Self>,
        store: Resource<Bucket>,
        key: String,
    ) -> Answer<Option<Vec<u8>>> {
        let store = opened(state, &store)?;
        let checked = store.limits.check_key(&key);
        call(store, checked, move |s| s.get(&key)).await
    }

    async fn set(
        state: &Accessor<T, Self>,
        store: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Answer<()> {
        let store = opened(state, &store)?;
        let checked = store
            .limits
            .check_key(&key)
            .and(store.limits.check_value(&value));
        call(store, checked, move |s| s.set(&key, &value)).await
    }

    async fn delete(state: &Accessor<T, Self>, store: Resource<Bucket>, key: String) -> Answer<()> {
        let store = opened(state, &store)?;
        let checked = store.limits.check_key(&key);
        call(store, checked, move |s| s.delete(&key)).await
    }

    async fn exists(
        state: &Accessor<T, Self>,
        store: Resource<Bucket>,
        key: String,
    ) -> Answer<bool> {
        let store = opened(state, &store)?;
        let checked = store.limits.check_key(&key);
        call(store, checked, move |s| s.exists(&key)).await
    }

    /// Every key of the store, read before the stream opens; the future says whether the
    /// list is whole. Keys read before a failure are still streamed, and the failure
    /// follows them.
    async fn get_keys(
        state: &Accessor<T, Self>,
        store: Resource<Bucket>,
    ) -> wasmtime::Result<(
        StreamReader<String>,
        FutureReader<Result<(), key_value::Error>>,
    )> {
        let store = opened(state, &store)?;
        let (keys, whole) =
            all_keys(&store.label, store.backend, store.limits.max_keys_per_call).await;
        let whole = whole.map_err(error);
        state.with(|mut state| {
            let keys = StreamReader::new(&mut state, keys)?;
            let whole =
                FutureReader::new(&mut state, async move { wasmtime::Result::<_>::Ok(whole) })?;
            Ok((keys, whole))
        })
    }
}
