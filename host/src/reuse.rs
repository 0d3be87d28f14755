//! Instances kept between requests, for components that opt in to serial reuse
//! (`instance_reuse > 1`). A request takes an idle instance if there is one and gives it
//! back once its response is fully sent, unless it trapped, ran out of time or hit its
//! memory cap (those never come back), or it has served its count of requests.
//!
//! What reuse gives up: a request sees whatever the previous ones left in the instance's
//! memory and globals. What it gains: no instantiation, no memory image reset, and warm
//! caches inside the guest (a Python component's imports, a JavaScript engine's JIT-free
//! interpreter state).
//!
//! An idle instance keeps its instance slot (its permit of `max_instances`), as it keeps
//! its memory in the pool. So that idle instances never make a request wait: an instance
//! is kept only while a slot is free; a request that finds every slot taken drops idle
//! instances to free one (and looks again while it waits); instances idle for
//! [`IDLE_TIMEOUT`] are dropped by a sweep; and a replaced app's are dropped at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;
use wasmtime_wasi_http::p2::bindings::Proxy;

use crate::state::RequestState;

/// How long an instance may wait for its next request before it is dropped (and its
/// memory returned).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most idle instances one component keeps: enough for a burst on every worker; more
/// would only hold memory.
const MAX_IDLE: usize = 32;

/// An instance between requests, with the slot it holds.
pub(crate) struct IdleInstance {
    pub store: Store<RequestState>,
    pub proxy: Proxy,
    /// Requests it has served so far.
    pub served: u32,
    pub slot: OwnedSemaphorePermit,
    since: Instant,
}

/// One component's idle instances, most recently used last.
#[derive(Default)]
pub(crate) struct IdleInstances {
    instances: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    instances: Vec<IdleInstance>,
    /// The app was replaced: nothing is kept any more.
    retired: bool,
}

impl IdleInstances {
    /// The most recently used idle instance (its memory is likeliest to be warm).
    pub(crate) fn take(&self) -> Option<IdleInstance> {
        self.lock().instances.pop()
    }

    /// Keeps an instance that has served `served` requests, unless enough are idle.
    pub(crate) fn give_back(
        &self,
        store: Store<RequestState>,
        proxy: Proxy,
        served: u32,
        slot: OwnedSemaphorePermit,
    ) {
        let mut idle = self.lock();
        if !idle.retired && idle.instances.len() < MAX_IDLE {
            idle.instances.push(IdleInstance {
                store,
                proxy,
                served,
                slot,
                since: Instant::now(),
            });
        }
    }

    /// Drops one idle instance (the least recently used), freeing its slot; whether there
    /// was one.
    pub(crate) fn drop_one(&self) -> bool {
        let mut idle = self.lock();
        if idle.instances.is_empty() {
            return false;
        }
        // Dropped outside the lock: returning a store's memory to the pool is not free.
        let oldest = idle.instances.remove(0);
        drop(idle);
        drop(oldest);
        true
    }

    /// Drops every idle instance and keeps none from now on: the app they belong to was
    /// replaced.
    pub(crate) fn retire(&self) {
        let instances = {
            let mut idle = self.lock();
            idle.retired = true;
            std::mem::take(&mut idle.instances)
        };
        drop(instances);
    }

    /// Drops the instances idle since before `now - IDLE_TIMEOUT`.
    pub(crate) fn sweep(&self, now: Instant) {
        let expired: Vec<IdleInstance> = {
            let mut idle = self.lock();
            let keep_from = idle
                .instances
                .iter()
                .position(|instance| now.duration_since(instance.since) < IDLE_TIMEOUT)
                .unwrap_or(idle.instances.len());
            idle.instances.drain(..keep_from).collect()
        };
        drop(expired);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        // The list stays consistent even if a holder panicked: every change is one call.
        self.instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
