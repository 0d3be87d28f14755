//! Instance slots: one permit of `max_instances` per instance alive, whatever serves it.
//!
//! A request (0.2) or a worker (0.3) that finds every slot taken asks idle instances to
//! go: 0.2 idle instances are dropped through the caller's `drop_idle`, 0.3 workers that
//! are idle listen for [`InstanceSlots::wanted`] and exit. It then waits, bounded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// How often a request waiting for a slot asks idle instances to go again: another
/// worker may have kept one idle (with its slot) since the last look.
const IDLE_RECHECK: Duration = Duration::from_millis(50);

/// Every slot stayed taken for as long as the request may take.
#[derive(Debug, thiserror::Error)]
#[error("every instance slot stayed busy for {0:?}")]
pub(crate) struct SlotsBusy(pub Duration);

/// The host's instance slots.
pub(crate) struct InstanceSlots {
    semaphore: Arc<Semaphore>,
    /// Notified whenever someone waits for a slot: idle 0.3 workers then exit.
    wanted: Arc<Notify>,
}

impl InstanceSlots {
    pub(crate) fn new(max_instances: u32) -> InstanceSlots {
        InstanceSlots {
            semaphore: Arc::new(Semaphore::new(max_instances as usize)),
            wanted: Arc::new(Notify::new()),
        }
    }

    /// Whether a slot is free now.
    pub(crate) fn any_free(&self) -> bool {
        self.semaphore.available_permits() > 0
    }

    /// What idle 0.3 workers listen to.
    pub(crate) fn wanted(&self) -> Arc<Notify> {
        self.wanted.clone()
    }

    /// A slot for one more instance: at once if one is free; else after `drop_idle` (which
    /// drops an idle instance, holding one, and says whether it did); else the first to
    /// come free within `timeout`, asking idle instances to go every [`IDLE_RECHECK`].
    pub(crate) async fn acquire(
        &self,
        timeout: Duration,
        mut drop_idle: impl FnMut() -> bool,
    ) -> Result<OwnedSemaphorePermit, SlotsBusy> {
        if let Ok(slot) = self.semaphore.clone().try_acquire_owned() {
            return Ok(slot);
        }
        if drop_idle()
            && let Ok(slot) = self.semaphore.clone().try_acquire_owned()
        {
            return Ok(slot);
        }
        // A flood of slow requests must not exhaust the instance pool and fail everyone
        // else: wait (bounded) for a slot, held until the instance is gone.
        let deadline = Instant::now() + timeout;
        loop {
            self.wanted.notify_waiters();
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(IDLE_RECHECK);
            match tokio::time::timeout(wait, self.semaphore.clone().acquire_owned()).await {
                Ok(slot) => return Ok(slot.expect("the instance semaphore is never closed")),
                Err(_) if Instant::now() >= deadline => return Err(SlotsBusy(timeout)),
                Err(_) => {
                    drop_idle();
                }
            }
        }
    }
}
