//! Key-value stores for guests: `wasi:keyvalue` (store, atomics, batch) in the two drafts
//! in use, `0.2.0-draft2` (Spin, SpinKube; [`draft2`]) and `0.2.0-draft` (wasmtime 48's
//! `wasmtime-wasi-keyvalue`; [`draft`]), and Spin's own `fermyon:spin/key-value@2.0.0`
//! (spin-sdk 5.x; [`spin`]) and `spin:key-value/key-value@3.0.0` (spin-sdk 7; [`spin3`]),
//! all over one backend, the [`Store`] trait.
//!
//! What both drafts share lives here: which stores a component may open (its grants, by
//! label), the limits every call is held to (checked here, before any backend sees the
//! call, so each backend gets the same guest-visible errors), and the calls themselves,
//! run on tokio's blocking pool so a store that waits (SQLite's busy timeout, a network
//! round trip) never stalls the worker thread serving other requests. The version
//! modules only translate types.

#[macro_use]
mod translate;
mod draft;
mod draft2;
mod redis;
mod spin;
mod spin3;
mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

pub use redis::RedisStore;
pub use sqlite::SqliteStore;

use crate::BoxError;
use crate::state::RequestState;

/// A failure of a [`Store`]. The guest gets its message as `error::other`; the server
/// logs backend failures with the store's label.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The value of `key` is not a decimal integer, so it cannot be incremented.
    #[error("the value of `{key}` is not a decimal integer, so it cannot be incremented")]
    NotACounter {
        /// The key incremented.
        key: String,
    },
    /// The increment would leave the range of a signed 64-bit integer.
    #[error("incrementing `{key}` would overflow a 64-bit integer")]
    Overflow {
        /// The key incremented.
        key: String,
    },
    /// The values a batch read asked for add up to more than one answer may carry.
    #[error(
        "the values asked for add up to more than the {max_bytes} bytes one `get-many` may return; ask for fewer keys at a time"
    )]
    BatchTooLarge {
        /// The most one call may return, in bytes.
        max_bytes: usize,
    },
    /// The store's file is not a database of its kind (corrupted, or another file put
    /// in its place); it was left untouched.
    #[error("{} is not a SQLite database", path.display())]
    NotADatabase {
        /// The file.
        path: std::path::PathBuf,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The store's file (or its `-wal` or `-shm` beside it) is a symbolic link, a
    /// directory or a special file: never followed or opened, left as it is.
    #[error("{} is {kind}, not a database file", path.display())]
    NotARegularFile {
        /// The file.
        path: std::path::PathBuf,
        /// What it is: "a symbolic link", "a directory", "a special file".
        kind: &'static str,
    },
    /// The store's file is a SQLite database of another program (it has tables other
    /// than the store's); it was left untouched.
    #[error("{} is another program's SQLite database (it holds table `{table}`)", path.display())]
    Foreign {
        /// The file.
        path: std::path::PathBuf,
        /// One of its tables that is not the store's.
        table: String,
    },
    /// The store's file, or its directory, cannot be written.
    #[error("the key-value store {} cannot be opened for writing", path.display())]
    Unwritable {
        /// The file.
        path: std::path::PathBuf,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The store's server could not be reached, or refused the connection (a wrong
    /// password, a database it does not have).
    #[error("cannot connect to Redis at {url}")]
    Unreachable {
        /// The server's URL, its password redacted.
        url: String,
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// The backend failed: I/O, a Redis that went away, a database locked for longer than the busy timeout, a
    /// corrupted file.
    #[error("{context}")]
    Backend {
        /// What was being done, e.g. "writing key `count`".
        context: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// Whether the guest asked for something the data does not allow (as opposed to the
    /// backend failing): not worth a warning in the server's log.
    fn is_guests_fault(&self) -> bool {
        matches!(
            self,
            StoreError::NotACounter { .. }
                | StoreError::Overflow { .. }
                | StoreError::BatchTooLarge { .. }
        )
    }
}

/// Where [`Store::list_keys`] starts, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// At the first key.
    Start,
    /// At the first key after this one (draft2's cursor: the last key of the page before).
    After(String),
    /// After skipping this many keys (draft's cursor).
    Offset(u64),
}

/// One key-value store: what a label in `key_value_stores` names. Implemented by the
/// embedded [`SqliteStore`] and by [`RedisStore`].
///
/// Calls block (the host runs them on tokio's blocking pool); each is atomic on its own,
/// and [`Store::increment`] and [`Store::compare_and_swap`] are atomic across every
/// process using the same store. Keys and values arrive already checked against the
/// host's limits ([`KeyValueLimits`]).
pub trait Store: Send + Sync + 'static {
    /// The value of `key`, if it is set.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Sets `key` to `value`, replacing any value it had.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key`; removing a key that is not set is no error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Whether `key` is set.
    fn exists(&self, key: &str) -> Result<bool, StoreError>;
    /// At most `limit` keys from `cursor` on, in byte order of the keys.
    fn list_keys(&self, cursor: &Cursor, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Adds `delta` to the counter under `key` (a decimal integer; an unset key counts
    /// as 0) and returns the new value.
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// The values of `keys`, in their order.
    /// Fails with [`StoreError::BatchTooLarge`] as soon as the values read add up to more
    /// than `max_bytes`: a guest naming one large value a thousand times must not make
    /// the host hold a thousand copies.
    fn get_many(
        &self,
        keys: &[String],
        max_bytes: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    /// Sets every key to its value, all or none.
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError>;
    /// Removes every key, all or none.
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError>;
    /// Sets `key` to `value` if its value is still `expected` (`None`: unset); returns
    /// whether it did.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, StoreError>;
}

/// What guests may put into and ask of a store. Each is a guest-visible
/// `error::other`, never a trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyValueLimits {
    /// Longest key, in bytes (UTF-8).
    pub max_key_size: usize,
    /// Largest value, in bytes.
    pub max_value_size: usize,
    /// Most keys one `list-keys` page returns, and most keys one batch call
    /// (`get-many`, `set-many`, `delete-many`) takes.
    pub max_keys_per_call: usize,
    /// Most stores a request may have open at once.
    pub max_open_stores: usize,
    /// Most bytes of values one `get-many` returns.
    pub max_batch_bytes: usize,
}

impl Default for KeyValueLimits {
    fn default() -> Self {
        Self {
            max_key_size: 256,
            max_value_size: 1024 * 1024,
            max_keys_per_call: 1000,
            max_open_stores: 16,
            max_batch_bytes: 16 * 1024 * 1024,
        }
    }
}

impl KeyValueLimits {
    fn check_key(&self, key: &str) -> Result<(), Failure> {
        let max = self.max_key_size;
        if key.len() > max {
            return Err(Failure::Other(format!(
                "a key of {} bytes is longer than the {max} bytes a key may have",
                key.len()
            )));
        }
        Ok(())
    }

    fn check_value(&self, value: &[u8]) -> Result<(), Failure> {
        let max = self.max_value_size;
        if value.len() > max {
            return Err(Failure::Other(format!(
                "a value of {} bytes is larger than the {max} bytes a value may have",
                value.len()
            )));
        }
        Ok(())
    }

    fn check_count(&self, count: usize) -> Result<(), Failure> {
        let max = self.max_keys_per_call;
        if count > max {
            return Err(Failure::Other(format!(
                "{count} keys in one call; a batch call takes at most {max}"
            )));
        }
        Ok(())
    }
}

/// The stores of one server, by label; each component sees those its config names.
pub type Stores = BTreeMap<String, Arc<dyn Store>>;

/// The stores a component may open, and the limits its calls are held to; shared by
/// every request of the component.
pub(crate) struct Grants {
    stores: Vec<(String, Arc<dyn Store>)>,
    limits: KeyValueLimits,
}

impl Grants {
    /// `labels` of `stores`; `Err(label)` for the first label `stores` lacks.
    pub(crate) fn new(
        labels: &[String],
        stores: &Stores,
        limits: KeyValueLimits,
    ) -> Result<Grants, String> {
        let stores = labels
            .iter()
            .map(|label| match stores.get(label) {
                Some(store) => Ok((label.clone(), store.clone())),
                None => Err(label.clone()),
            })
            .collect::<Result<_, _>>()?;
        Ok(Grants { stores, limits })
    }
}

/// Store calls one request may have running at once. Only spin-sdk 7's async functions
/// can have several: a guest starting thousands without awaiting them waits for these
/// permits instead of filling the blocking pool every app shares.
const CALLS_PER_REQUEST: usize = 4;

/// One instance's key-value state: its component's grants, how many requests it serves at
/// once, how many stores they have open now, and the permits for store calls running.
pub(crate) struct KeyValueCtx {
    grants: Arc<Grants>,
    requests: usize,
    open: usize,
    calls: Arc<tokio::sync::Semaphore>,
}

impl KeyValueCtx {
    pub(crate) fn new(grants: Arc<Grants>) -> Self {
        Self {
            grants,
            requests: 1,
            open: 0,
            calls: Arc::new(tokio::sync::Semaphore::new(CALLS_PER_REQUEST)),
        }
    }

    /// The instance serves up to `requests` requests at once (a WASI 0.3 instance): the
    /// open stores and running calls it may have are those of that many requests, shared
    /// between them (one request may take more than its share while the others need less).
    pub(crate) fn serve_concurrently(&mut self, requests: usize) {
        let requests = requests.max(1);
        if requests > self.requests {
            self.calls
                .add_permits((requests - self.requests) * CALLS_PER_REQUEST);
        }
        self.requests = requests;
    }
}

/// An open store, as the guest holds it (`bucket`).
pub struct Bucket {
    label: String,
    store: Arc<dyn Store>,
}

/// A compare-and-swap in progress (draft2's `cas`): the value the key had when it began.
pub struct Cas {
    label: String,
    store: Arc<dyn Store>,
    key: String,
    current: Option<Vec<u8>>,
}

/// What a call tells the guest when it fails, in the terms both drafts share. (Their
/// `no-such-store` is never sent: a label the component does not name is denied whether
/// or not the server has such a store, as Spin does, so a guest learns nothing of the
/// stores of other components.)
enum Failure {
    AccessDenied,
    /// As many stores are open as may be (the message says how many): Spin's
    /// `store-table-full`, the drafts' `other`.
    TableFull(String),
    Other(String),
}

impl Failure {
    /// The message of a failure the drafts, which have no `store-table-full`, send as
    /// `other`.
    fn into_other(self) -> Option<String> {
        match self {
            Failure::AccessDenied => None,
            Failure::TableFull(message) | Failure::Other(message) => Some(message),
        }
    }
}

/// Call results: the outer error traps (a resource handle the guest does not hold), the
/// inner one is the guest's `error`.
type Answer<T> = wasmtime::Result<Result<T, Failure>>;

/// The request state as the key-value interfaces see it.
pub(crate) struct KeyValueView<'a> {
    ctx: &'a mut KeyValueCtx,
    table: &'a mut ResourceTable,
}

impl<'a> KeyValueView<'a> {
    pub(crate) fn new(ctx: &'a mut KeyValueCtx, table: &'a mut ResourceTable) -> Self {
        Self { ctx, table }
    }
}

struct HasKeyValue;

impl HasData for HasKeyValue {
    type Data<'a> = KeyValueView<'a>;
}

/// Links both drafts of wasi:keyvalue, and both versions of Spin's key-value.
pub(crate) fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    draft2::add_to_linker(linker)?;
    draft::add_to_linker(linker)?;
    spin::add_to_linker(linker)?;
    spin3::add_to_linker(linker)
}

/// Runs `call` on `store` on the blocking pool; a backend failure is logged with the
/// store's label and reaches the guest as its message.
async fn run<T: Send + 'static>(
    label: &str,
    store: Arc<dyn Store>,
    call: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Failure> {
    let result = tokio::task::spawn_blocking(move || call(&*store))
        .await
        .unwrap_or_else(|join| {
            Err(StoreError::Backend {
                context: "the store call panicked".to_string(),
                source: join.to_string().into(),
            })
        });
    result.map_err(|error| {
        let message = format!("key-value store `{label}`: {error}");
        if error.is_guests_fault() {
            tracing::debug!("{message}");
        } else {
            let causes: Vec<String> =
                std::iter::successors(std::error::Error::source(&error), |e| e.source())
                    .map(ToString::to_string)
                    .collect();
            tracing::warn!("{message}: {}", causes.join(": "));
        }
        Failure::Other(message)
    })
}

/// Up to `page` keys of `store` from `cursor`, and whether more follow.
async fn list_page(
    label: &str,
    store: Arc<dyn Store>,
    cursor: Cursor,
    page: usize,
) -> Result<(Vec<String>, bool), Failure> {
    // One key more than a page says whether another page follows.
    let mut keys = run(label, store, move |s| s.list_keys(&cursor, page + 1)).await?;
    let more = keys.len() > page;
    keys.truncate(page);
    Ok((keys, more))
}

/// The most keys one `get-keys` of `fermyon:spin/key-value@2.0.0` returns: it has no
/// cursor, so it answers with every key of the store or, past this, an error (rather than
/// a reply of unbounded size). spin-sdk 7's streams them, a page at a time, with no cap.
const MAX_LISTED_KEYS: usize = 100_000;

/// Every key of `store`, read a page of `page` keys at a time, for spin-sdk 5's
/// `get-keys`.
async fn all_keys(label: &str, store: Arc<dyn Store>, page: usize) -> Result<Vec<String>, Failure> {
    let mut all = Vec::new();
    let mut cursor = Cursor::Start;
    loop {
        let (keys, more) = list_page(label, store.clone(), cursor, page).await?;
        all.extend(keys);
        if all.len() > MAX_LISTED_KEYS {
            return Err(Failure::Other(format!(
                "key-value store `{label}` holds more than the {MAX_LISTED_KEYS} keys one `get-keys` may return"
            )));
        }
        match (more, all.last()) {
            (true, Some(last)) => cursor = Cursor::After(last.clone()),
            _ => return Ok(all),
        }
    }
}

impl KeyValueView<'_> {
    fn limits(&self) -> KeyValueLimits {
        self.ctx.grants.limits
    }

    /// The permits for the instance's running store calls.
    fn calls(&self) -> Arc<tokio::sync::Semaphore> {
        self.ctx.calls.clone()
    }

    /// The label and store behind a bucket handle.
    fn bucket(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<(String, Arc<dyn Store>)> {
        let bucket = self.table.get(bucket)?;
        Ok((bucket.label.clone(), bucket.store.clone()))
    }

    fn open(&mut self, label: String) -> Answer<Resource<Bucket>> {
        let Some(store) = self
            .ctx
            .grants
            .stores
            .iter()
            .find(|(granted, _)| *granted == label)
            .map(|(_, store)| store.clone())
        else {
            // Not granted, whether or not the server has a store of that name: the
            // component sees only the stores it names.
            return Ok(Err(Failure::AccessDenied));
        };
        let per_request = self.limits().max_open_stores;
        if self.ctx.open >= per_request * self.ctx.requests {
            let message = if self.ctx.requests == 1 {
                format!(
                    "{per_request} stores are open in this request, the most it may have; drop one first"
                )
            } else {
                format!(
                    "{} stores are open in the {} requests this instance serves at once, {per_request} each at most; drop one first",
                    self.ctx.open, self.ctx.requests
                )
            };
            return Ok(Err(Failure::TableFull(message)));
        }
        let bucket = self.table.push(Bucket { label, store })?;
        self.ctx.open += 1;
        Ok(Ok(bucket))
    }

    fn close(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        self.ctx.open = self.ctx.open.saturating_sub(1);
        Ok(())
    }

    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<Option<Vec<u8>>> {
        let (label, store) = self.bucket(&bucket)?;
        if let Err(failure) = self.limits().check_key(&key) {
            return Ok(Err(failure));
        }
        Ok(run(&label, store, move |s| s.get(&key)).await)
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> Answer<()> {
        let (label, store) = self.bucket(&bucket)?;
        if let Err(failure) = self
            .limits()
            .check_key(&key)
            .and(self.limits().check_value(&value))
        {
            return Ok(Err(failure));
        }
        Ok(run(&label, store, move |s| s.set(&key, &value)).await)
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<()> {
        let (label, store) = self.bucket(&bucket)?;
        if let Err(failure) = self.limits().check_key(&key) {
            return Ok(Err(failure));
        }
        Ok(run(&label, store, move |s| s.delete(&key)).await)
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<bool> {
        let (label, store) = self.bucket(&bucket)?;
        if let Err(failure) = self.limits().check_key(&key) {
            return Ok(Err(failure));
        }
        Ok(run(&label, store, move |s| s.exists(&key)).await)
    }

    /// One page of keys from `cursor`, and whether more follow.
    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Cursor,
    ) -> Answer<(Vec<String>, bool)> {
        let (label, store) = self.bucket(&bucket)?;
        let page = self.limits().max_keys_per_call;
        Ok(list_page(&label, store, cursor, page).await)
    }

    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Answer<i64> {
        let (label, store) = self.bucket(&bucket)?;
        if let Err(failure) = self.limits().check_key(&key) {
            return Ok(Err(failure));
        }
        Ok(run(&label, store, move |s| s.increment(&key, delta)).await)
    }

    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<(String, Option<Vec<u8>>)>> {
        let (label, store) = self.bucket(&bucket)?;
        let checked = self
            .limits()
            .check_count(keys.len())
            .and_then(|()| keys.iter().try_for_each(|key| self.limits().check_key(key)));
        if let Err(failure) = checked {
            return Ok(Err(failure));
        }
        let max_bytes = self.limits().max_batch_bytes;
        Ok(run(&label, store, move |s| {
            let values = s.get_many(&keys, max_bytes)?;
            Ok(keys.into_iter().zip(values).collect())
        })
        .await)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        entries: Vec<(String, Vec<u8>)>,
    ) -> Answer<()> {
        let (label, store) = self.bucket(&bucket)?;
        let checked = self.limits().check_count(entries.len()).and_then(|()| {
            entries.iter().try_for_each(|(key, value)| {
                self.limits()
                    .check_key(key)
                    .and(self.limits().check_value(value))
            })
        });
        if let Err(failure) = checked {
            return Ok(Err(failure));
        }
        Ok(run(&label, store, move |s| s.set_many(&entries)).await)
    }

    async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Answer<()> {
        let (label, store) = self.bucket(&bucket)?;
        let checked = self
            .limits()
            .check_count(keys.len())
            .and_then(|()| keys.iter().try_for_each(|key| self.limits().check_key(key)));
        if let Err(failure) = checked {
            return Ok(Err(failure));
        }
        Ok(run(&label, store, move |s| s.delete_many(&keys)).await)
    }

    /// Starts a compare-and-swap on `key`: reads the value it has now.
    async fn cas_new(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<Resource<Cas>> {
        let (label, store) = self.bucket(&bucket)?;
        if let Err(failure) = self.limits().check_key(&key) {
            return Ok(Err(failure));
        }
        let read = {
            let key = key.clone();
            run(&label, store.clone(), move |s| s.get(&key)).await
        };
        match read {
            Ok(current) => Ok(Ok(self.table.push(Cas {
                label,
                store,
                key,
                current,
            })?)),
            Err(failure) => Ok(Err(failure)),
        }
    }

    fn cas_current(&mut self, cas: Resource<Cas>) -> Answer<Option<Vec<u8>>> {
        Ok(Ok(self.table.get(&cas)?.current.clone()))
    }

    fn cas_drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }

    /// Sets the key of `cas` to `value` if it still has the value `cas` read; when it
    /// does not, `Err(Some(cas))` is a new `cas` over the value it has now, to retry with.
    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Result<Resource<Cas>, Failure>>> {
        let cas = self.table.delete(cas)?;
        if let Err(failure) = self.limits().check_value(&value) {
            return Ok(Err(Err(failure)));
        }
        let Cas {
            label,
            store,
            key,
            current,
        } = cas;
        let swapped = {
            let key = key.clone();
            run(&label, store.clone(), move |s| {
                if s.compare_and_swap(&key, current.as_deref(), &value)? {
                    Ok(None)
                } else {
                    s.get(&key).map(Some)
                }
            })
            .await
        };
        match swapped {
            Ok(None) => Ok(Ok(())),
            Ok(Some(now)) => {
                let retry = self.table.push(Cas {
                    label,
                    store,
                    key,
                    current: now,
                })?;
                Ok(Err(Ok(retry)))
            }
            Err(failure) => Ok(Err(Err(failure))),
        }
    }
}

/// Checks both backends alike: 8 threads × 50 increments over two stores of one data
/// set (standing for two processes) must count exactly 400.
#[cfg(test)]
fn assert_exact_increments(stores: [Arc<dyn Store>; 2]) {
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store = stores[i % 2].clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    store.increment("n", 1).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(stores[0].get("n").unwrap(), Some(b"400".to_vec()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view_over(store: Arc<dyn Store>, limits: KeyValueLimits) -> (KeyValueCtx, ResourceTable) {
        let stores: Stores = [("default".to_string(), store)].into();
        let grants = Grants::new(&["default".to_string()], &stores, limits).unwrap();
        (KeyValueCtx::new(Arc::new(grants)), ResourceTable::new())
    }

    fn other(failure: Failure) -> String {
        failure
            .into_other()
            .unwrap_or_else(|| "access-denied".into())
    }

    #[test]
    fn an_instance_serving_requests_at_once_may_hold_open_what_they_all_may() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("kv.db")).unwrap());
        let limits = KeyValueLimits {
            max_open_stores: 2,
            ..KeyValueLimits::default()
        };
        let (mut ctx, mut table) = view_over(store, limits);
        ctx.serve_concurrently(3);
        let mut view = KeyValueView::new(&mut ctx, &mut table);
        for _ in 0..6 {
            assert!(view.open("default".into()).unwrap().is_ok());
        }
        let seventh = other(view.open("default".into()).unwrap().err().unwrap());
        assert!(
            seventh.contains("6 stores are open in the 3 requests this instance serves at once"),
            "{seventh}"
        );
    }

    #[tokio::test]
    async fn spins_get_keys_reads_every_page() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("kv.db")).unwrap());
        assert!(
            all_keys("default", store.clone(), 2)
                .await
                .ok()
                .unwrap()
                .is_empty()
        );
        for key in ["c", "a", "e", "b", "d"] {
            store.set(key, b"1").unwrap();
        }
        let keys = all_keys("default", store, 2).await.ok().unwrap();
        assert_eq!(keys, ["a", "b", "c", "d", "e"]);
    }

    #[tokio::test]
    async fn limits_are_guest_errors_and_grants_decide_what_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("kv.db")).unwrap());
        let limits = KeyValueLimits {
            max_key_size: 4,
            max_value_size: 8,
            max_keys_per_call: 2,
            max_open_stores: 1,
            max_batch_bytes: 12,
        };
        let (mut ctx, mut table) = view_over(store, limits);
        let mut view = KeyValueView::new(&mut ctx, &mut table);
        assert!(matches!(
            view.open("other".into()).unwrap(),
            Err(Failure::AccessDenied)
        ));
        let bucket = view.open("default".into()).unwrap().ok().unwrap();
        let again = view
            .open("default".into())
            .unwrap()
            .err()
            .map(other)
            .unwrap();
        assert!(again.contains("the most it may have"), "{again}");

        let handle = |b: &Resource<Bucket>| Resource::<Bucket>::new_borrow(b.rep());
        let long_key = view
            .set(handle(&bucket), "12345".into(), vec![])
            .await
            .unwrap();
        assert!(other(long_key.unwrap_err()).contains("longer than the 4 bytes"));
        let big = view
            .set(handle(&bucket), "k".into(), vec![0; 9])
            .await
            .unwrap();
        assert!(other(big.unwrap_err()).contains("larger than the 8 bytes"));
        view.set(handle(&bucket), "k".into(), vec![0; 8])
            .await
            .unwrap()
            .ok()
            .unwrap();

        for key in ["a", "b", "c"] {
            view.set(handle(&bucket), key.into(), b"1".to_vec())
                .await
                .unwrap()
                .ok()
                .unwrap();
        }
        let (page, more) = view
            .list_keys(handle(&bucket), Cursor::Start)
            .await
            .unwrap()
            .ok()
            .unwrap();
        assert_eq!((page, more), (vec!["a".to_string(), "b".to_string()], true));
        let (page, more) = view
            .list_keys(handle(&bucket), Cursor::After("b".into()))
            .await
            .unwrap()
            .ok()
            .unwrap();
        assert_eq!(
            (page, more),
            (vec!["c".to_string(), "k".to_string()], false)
        );

        assert_eq!(
            view.increment(handle(&bucket), "a".into(), 41)
                .await
                .unwrap()
                .ok(),
            Some(42)
        );
        let not_a_number = view
            .increment(handle(&bucket), "k".into(), 1)
            .await
            .unwrap();
        assert!(other(not_a_number.unwrap_err()).contains("not a decimal integer"));

        // `k` holds 8 bytes: asked for twice, 16 bytes, more than a batch returns.
        let twice = view
            .get_many(handle(&bucket), vec!["k".into(), "k".into()])
            .await
            .unwrap();
        assert!(other(twice.unwrap_err()).contains("more than the 12 bytes"));
        let once = view
            .get_many(handle(&bucket), vec!["k".into(), "b".into()])
            .await
            .unwrap()
            .ok()
            .unwrap();
        assert_eq!(once[1], ("b".to_string(), Some(b"1".to_vec())));

        let cas = view
            .cas_new(handle(&bucket), "a".into())
            .await
            .unwrap()
            .ok()
            .unwrap();
        view.set(handle(&bucket), "a".into(), b"7".to_vec())
            .await
            .unwrap()
            .ok()
            .unwrap();
        let retry = match view.swap(cas, b"8".to_vec()).await.unwrap() {
            Err(Ok(retry)) => retry,
            _ => panic!("the swap should fail: the value changed"),
        };
        assert_eq!(
            view.cas_current(Resource::new_borrow(retry.rep()))
                .unwrap()
                .ok(),
            Some(Some(b"7".to_vec()))
        );
        assert!(matches!(
            view.swap(retry, b"8".to_vec()).await.unwrap(),
            Ok(())
        ));
        assert_eq!(
            view.get(handle(&bucket), "a".into()).await.unwrap().ok(),
            Some(Some(b"8".to_vec()))
        );
        view.close(bucket).unwrap();
        assert!(view.open("default".into()).unwrap().is_ok());
    }
}
