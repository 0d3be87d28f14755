//! WASI 0.3 components (`wasi:http@0.3.0`, world `service`, export `handler`), served by
//! wasmtime-wasi-http's `ProxyHandler`: one instance takes several requests at once
//! (the async ABI lets it wait on one while it runs another), a bounded number of them,
//! and is dropped when idle.
//!
//! The same rules as for 0.2 components hold: each request has its time limit (its
//! response must start within it, or it gets 504, and the instance takes no more
//! requests), an instance's memory is capped, a trap drops the instance (every request it
//! was serving gets 500), each instance holds one of `max_instances` slots, and the
//! outbound policy and grants are the component's.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::futures::OwnedNotified;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use wasmtime::component::GuestTaskId;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    ExpirationError, HandlerState, Instance, InstantiationError, Proxy, ProxyHandler, ShouldAccept,
    TrapOrPanicError, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::handler::{Failure, new_store};
use crate::reuse::IDLE_TIMEOUT;
use crate::slots::{InstanceSlots, SlotsBusy};
use crate::state::{ComponentShared, RequestState};

/// Requests one 0.3 instance serves at once (`wasmtime serve`'s default too); more wait
/// for another instance.
pub(crate) const MAX_CONCURRENT_REQUESTS: usize = 16;

/// Requests one 0.3 instance serves in all unless the component says otherwise
/// (`wasmtime serve`'s default too).
pub const DEFAULT_SERVICE_REUSE: u32 = 128;

/// How long past a request's time limit an instance still running it is given before it
/// is dropped: the request itself got its 504 at the limit.
const EXPIRY_GRACE: Duration = Duration::from_millis(100);

/// A loaded 0.3 component: its pre-instantiated code and the workers serving it.
pub(crate) struct Service {
    pre: ServicePre<RequestState>,
    handler: ProxyHandler<ServiceState>,
}

impl Service {
    pub(crate) fn new(
        pre: ServicePre<RequestState>,
        shared: Arc<ComponentShared>,
        slots: Arc<InstanceSlots>,
    ) -> Service {
        let handler = ProxyHandler::new(ServiceState {
            reuse: shared
                .config
                .instance_reuse
                .unwrap_or(DEFAULT_SERVICE_REUSE) as usize,
            shared,
            pre: pre.clone(),
            slots,
            retired: Arc::new(AtomicBool::new(false)),
        });
        Service { pre, handler }
    }

    pub(crate) fn pre(&self) -> &ServicePre<RequestState> {
        &self.pre
    }

    /// The app was replaced: its workers take no more requests, and idle ones exit.
    pub(crate) fn retire(&self) {
        let state = self.handler.state();
        state.retired.store(true, Ordering::Relaxed);
        state.slots.wanted().notify_waiters();
    }

    /// Serves one request, which must get its response within the component's time limit.
    pub(crate) async fn handle<B>(
        &self,
        request: http::Request<B>,
    ) -> Result<http::Response<HyperOutgoingBody>, Failure>
    where
        B: hyper::body::Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Send + 'static,
    {
        let deadline = Instant::now() + self.handler.state().shared.config.timeout;
        let request = request.map(|body| body.boxed_unsync());
        match self.handler.handle(deadline, request).await {
            Ok(response) => Ok(response),
            Err(error) => Err(failure(error, deadline)),
        }
    }
}

/// What a request that got no response was told, from `ProxyHandler`'s error.
fn failure(error: wasmtime::Error, deadline: Instant) -> Failure {
    if error.is::<ExpirationError>() {
        return Failure::Timeout;
    }
    if error.is::<TrapOrPanicError>() {
        // The worker was dropped under it: for running past the time limit (a busy loop
        // is stopped from outside the instance), or for a trap, logged with its cause.
        return if Instant::now() >= deadline {
            Failure::Timeout
        } else {
            Failure::Trap("the instance serving it failed, as logged above".to_string())
        };
    }
    if let Some(failed) = error.downcast_ref::<InstantiationError<Instant>>() {
        if let Some(SlotsBusy(waited)) = failed.error.downcast_ref::<SlotsBusy>() {
            return Failure::Busy(*waited);
        }
        return Failure::Host(format!("instantiating: {:#}", failed.error));
    }
    if let Some(code) =
        error.downcast_ref::<wasmtime_wasi_http::p3::bindings::http::types::ErrorCode>()
    {
        return Failure::Error(format!("{code:?}"));
    }
    Failure::from_wasmtime(error)
}

/// What every worker of one 0.3 component shares.
pub(crate) struct ServiceState {
    shared: Arc<ComponentShared>,
    pre: ServicePre<RequestState>,
    slots: Arc<InstanceSlots>,
    /// Requests one instance serves in all.
    reuse: usize,
    retired: Arc<AtomicBool>,
}

impl HandlerState for ServiceState {
    type StoreData = RequestState;
    type WorkerExpiration = Expiry;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<RequestState, Expiry, Worker>> {
        let config = &self.shared.config;
        let slot = self
            .slots
            .acquire(config.timeout, || false)
            .await
            .map_err(wasmtime::Error::new)?;
        let mut store = new_store(self.pre.engine(), &self.shared)
            .map_err(|e| wasmtime::format_err!("{e:#}"))?;
        // Several requests share this store: the worker's expiry enforces each one's
        // limit, and the epoch only makes a busy guest yield (so that it is looked at).
        store.data_mut().deadline = None;
        // No more at once than it serves in all.
        store
            .data_mut()
            .serve_concurrently(MAX_CONCURRENT_REQUESTS.min(self.reuse));
        let service = self.pre.instantiate_async(&mut store).await?;
        let failed = Arc::new(AtomicBool::new(false));
        Ok(Instance {
            store,
            proxy: Proxy::P3(service),
            view: <RequestState as WasiHttpView>::http,
            expiration: Expiry::new(
                config.timeout,
                &self.slots,
                self.retired.clone(),
                failed.clone(),
            ),
            state: Worker {
                id: config.id.clone(),
                reuse: self.reuse,
                retired: self.retired.clone(),
                failed,
                _slot: slot,
            },
        })
    }
}

/// One instance's bounds; holds its slot until the instance is dropped.
pub(crate) struct Worker {
    id: String,
    reuse: usize,
    retired: Arc<AtomicBool>,
    /// A request ran past its time limit: the instance takes no more (`ProxyHandler`
    /// stops it accepting), and [`Expiry`] drops it as soon as no request is in flight.
    failed: Arc<AtomicBool>,
    _slot: OwnedSemaphorePermit,
}

impl WorkerState for Worker {
    type StoreData = RequestState;
    /// The request's deadline.
    type RequestData = Instant;

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.reuse || self.retired.load(Ordering::Relaxed) {
            ShouldAccept::Never
        } else if concurrent >= MAX_CONCURRENT_REQUESTS {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, RequestState>,
        deadline: Instant,
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        let failed = self.failed.clone();
        Box::pin(async move {
            tokio::time::sleep_until(deadline.into()).await;
            failed.store(true, Ordering::Relaxed);
        })
    }

    fn drop(&self, store: Store<RequestState>, result: wasmtime::Result<()>) {
        drop(store);
        if let Err(error) = result {
            Failure::from_wasmtime(error).log(&self.id);
        }
    }
}

/// When a worker's instance goes: past the latest request's time limit (a guest that
/// does not answer, or a busy loop the event loop cannot interrupt), or when idle for
/// [`IDLE_TIMEOUT`], or at once when idle and a slot is wanted or the app was replaced.
pub(crate) struct Expiry {
    timeout: Duration,
    /// Shared with the [`Worker`].
    failed: Arc<AtomicBool>,
    timer: Pin<Box<tokio::time::Sleep>>,
    wanted: Pin<Box<OwnedNotified>>,
    retired: Arc<AtomicBool>,
}

impl Expiry {
    fn new(
        timeout: Duration,
        slots: &InstanceSlots,
        retired: Arc<AtomicBool>,
        failed: Arc<AtomicBool>,
    ) -> Expiry {
        let wanted: Arc<Notify> = slots.wanted();
        Expiry {
            timeout,
            failed,
            timer: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)),
            wanted: Box::pin(wanted.notified_owned()),
            retired,
        }
    }
}

impl WorkerExpiration for Expiry {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let this = self.get_mut();
        let until = match status {
            WorkerStatus::Idle => {
                if this.retired.load(Ordering::Relaxed) || this.wanted.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(());
                }
                start + IDLE_TIMEOUT
            }
            // An instance that will take no more requests goes once none is in flight,
            // even if the guest is still busy: besides its memory and slot, it would hold
            // on to a request that is waiting for an instance. (`ProxyHandler` 48 wakes
            // one waiting worker per queued request, and may pick one that has since
            // stopped taking requests; the request then waits until that worker is gone.)
            WorkerStatus::PostReturn if this.failed.load(Ordering::Relaxed) => {
                return Poll::Ready(());
            }
            WorkerStatus::Requests | WorkerStatus::PostReturn => {
                start + this.timeout + EXPIRY_GRACE
            }
        };
        if Instant::now() >= until {
            return Poll::Ready(());
        }
        if this.timer.deadline() != until.into() {
            this.timer.as_mut().reset(until.into());
        }
        this.timer.as_mut().poll(cx)
    }
}
