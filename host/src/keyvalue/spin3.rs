//! `spin:key-value/key-value@3.0.0`, the interface a component built with the Rust
//! spin-sdk 7 imports for its stores: Spin's 2.0.0 interface made async (every function
//! is an async WIT function, and `get-keys` streams its keys), over the same stores,
//! grants and limits as wasi:keyvalue.
//!
//! An async host function reaches the request state only through short synchronous
//! borrows (`Accessor::with`), never across an `.await`: each call copies out its store
//! under one borrow, then waits for the backend with none. A guest can start many calls
//! without awaiting them: each waits for one of the instance's call permits
//! (`KeyValueCtx`), and `get-keys` reads a page only when the guest reads the stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{Semaphore, oneshot};
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Accessor, Destination, FutureReader, Linker, Resource, StreamProducer, StreamReader,
    StreamResult, VecBuffer,
};

use super::{
    Bucket, Cursor, Failure, HasKeyValue, KeyValueLimits, KeyValueView, Store, StoreError,
    list_page, run,
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

translate_spin_error!();

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
    calls: Arc<Semaphore>,
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
            calls: view.calls(),
        })
    })
}

/// Runs `call` on `store` if the guest's input passed its `checked` limits, once one of
/// the instance's call permits is free.
async fn call<R: Send + 'static>(
    store: Opened,
    checked: Result<(), Failure>,
    call: impl FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
) -> Answer<R> {
    if let Err(failure) = checked {
        return Ok(Err(error(failure)));
    }
    let _permit = store.calls.acquire_owned().await?;
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

    /// Every key of the store, streamed a page at a time as the guest reads (so the host
    /// holds at most one page per listing, however large the store); the future says
    /// whether the list ended whole or on a failure, after the keys read before it.
    async fn get_keys(
        state: &Accessor<T, Self>,
        store: Resource<Bucket>,
    ) -> wasmtime::Result<(
        StreamReader<String>,
        FutureReader<Result<(), key_value::Error>>,
    )> {
        let store = opened(state, &store)?;
        let (ended, end) = oneshot::channel();
        let pages = KeyPages {
            page: store.limits.max_keys_per_call,
            store,
            next: Some(Cursor::Start),
            fetching: None,
            ended: Some(ended),
        };
        state.with(|mut state| {
            let mut keys = StreamReader::new(&mut state, pages)?;
            match FutureReader::new(&mut state, end) {
                Ok(end) => Ok((keys, end)),
                Err(failure) => {
                    // Never handed to the guest: closed, or it would stay in the store.
                    keys.close(&mut state)?;
                    Err(failure)
                }
            }
        })
    }
}

type Page = Pin<Box<dyn Future<Output = Result<(Vec<String>, bool), Failure>> + Send>>;

/// `get-keys`' stream: reads the next page of keys when the guest reads, and says how the
/// list ended through `ended` (the future handed out beside the stream).
struct KeyPages {
    store: Opened,
    page: usize,
    /// Where the next page starts; `None` once the list has ended.
    next: Option<Cursor>,
    /// The page being read.
    fetching: Option<Page>,
    ended: Option<oneshot::Sender<Result<(), key_value::Error>>>,
}

impl KeyPages {
    fn end(&mut self, how: Result<(), key_value::Error>) {
        self.next = None;
        if let Some(ended) = self.ended.take() {
            // The guest may have dropped the future: nobody to tell.
            let _ = ended.send(how);
        }
    }
}

impl<D> StreamProducer<D> for KeyPages {
    type Item = String;
    type Buffer = VecBuffer<String>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, String, VecBuffer<String>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        let Some(next) = &this.next else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        // A read of no keys asks whether keys are ready: say yes without reading any,
        // rather than buffer a page the guest may never take.
        if destination.remaining(store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let fetching = this.fetching.get_or_insert_with(|| {
            let (label, backend, calls) = (
                this.store.label.clone(),
                this.store.backend.clone(),
                this.store.calls.clone(),
            );
            let (from, page) = (next.clone(), this.page);
            Box::pin(async move {
                let _permit = calls
                    .acquire_owned()
                    .await
                    .map_err(|closed| Failure::Other(closed.to_string()))?;
                list_page(&label, backend, from, page).await
            })
        });
        let read = match fetching.as_mut().poll(cx) {
            Poll::Pending if finish => {
                // Cancelled: the page is read again on the next read.
                this.fetching = None;
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            Poll::Pending => return Poll::Pending,
            Poll::Ready(read) => read,
        };
        this.fetching = None;
        match read {
            Err(failure) => {
                this.end(Err(error(failure)));
                Poll::Ready(Ok(StreamResult::Dropped))
            }
            Ok((keys, more)) => {
                match (more, keys.last()) {
                    (true, Some(last)) => this.next = Some(Cursor::After(last.clone())),
                    _ => this.end(Ok(())),
                }
                destination.set_buffer(keys.into());
                Poll::Ready(Ok(if this.next.is_some() {
                    StreamResult::Completed
                } else {
                    StreamResult::Dropped
                }))
            }
        }
    }
}

impl Drop for KeyPages {
    /// The guest dropped the stream before its end: the listing ends there, as it asked.
    fn drop(&mut self) {
        self.end(Ok(()));
    }
}
