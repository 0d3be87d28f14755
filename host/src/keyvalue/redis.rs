//! A store on a Redis server (redis-rs, blocking API), for apps served by more than one
//! process or machine: every `up` pointed at the same Redis sees the same data.
//!
//! Keys are stored as they are, without a prefix, in the database the URL names, as
//! Spin's Redis store keeps them: a Spin app and a wasmctl app on the same Redis share
//! their data, and the whole database is the store (`list-keys` lists every key in it).
//! Counters are Redis's own (`INCRBY`, decimal text), so they are atomic across every
//! process, and `wasmctl kv get` shows them as they are.
//!
//! Connections come from a pool (r2d2, at most [`POOL_SIZE`]): the blocking calls run on
//! tokio's blocking pool, several at once. Each connection is made with a connect timeout
//! and given read and write timeouts, and a pooled one is checked (`PING`) before each
//! use, so a Redis that went away or hangs fails a call within a few seconds (an `other`
//! error for the guest, a log line for the operator) instead of holding the request to
//! its time limit; the next call connects anew.

use std::time::Duration;

use r2d2::ManageConnection as _;
use redis::{Commands, Connection, ConnectionLike as _, RedisError};

use super::{Cursor, Store, StoreError};

/// How long connecting to Redis may take (TCP, TLS, `AUTH`, `SELECT`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one command may wait for Redis to read it or answer.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections one store keeps open: more than the calls that run at once on a
/// small server, few enough for a shared Redis's client limit (10000 by default).
const POOL_SIZE: u32 = 16;

/// How many keys one `SCAN` step asks for.
const SCAN_COUNT: usize = 1000;

/// A store on one Redis database.
pub struct RedisStore {
    /// The URL as messages show it (password redacted).
    shown: String,
    pool: r2d2::Pool<Connector>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Makes the pool's connections: each with a connect timeout and command timeouts.
struct Connector {
    client: redis::Client,
}

impl r2d2::ManageConnection for Connector {
    type Connection = Connection;
    type Error = RedisError;

    fn connect(&self) -> Result<Connection, RedisError> {
        let connection = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        connection.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        connection.set_write_timeout(Some(COMMAND_TIMEOUT))?;
        Ok(connection)
    }

    fn is_valid(&self, connection: &mut Connection) -> Result<(), RedisError> {
        redis::cmd("PING").query::<()>(connection)
    }

    fn has_broken(&self, connection: &mut Connection) -> bool {
        !connection.is_open()
    }
}

/// A backend failure while doing `context`.
fn failed(context: impl Into<String>) -> impl FnOnce(RedisError) -> StoreError {
    let context = context.into();
    move |error| StoreError::Backend {
        context,
        source: Box::new(error),
    }
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://` or `rediss://`) and checks that it
    /// answers; `shown` is the URL as messages may show it (its password redacted).
    /// A Redis that cannot be reached fails here, before anything is served.
    pub fn connect(url: &str, shown: &str) -> Result<RedisStore, StoreError> {
        // The client's message only: its error's own source repeats it.
        let unreachable = |error: RedisError| StoreError::Unreachable {
            url: shown.to_string(),
            source: error.to_string().into(),
        };
        let connector = Connector {
            client: redis::Client::open(url).map_err(unreachable)?,
        };
        // Connect once, so an unreachable or misconfigured Redis (a wrong password, a
        // database it does not have) is found now, with the client's own error (the
        // pool's would say only that it timed out).
        let mut connection = connector.connect().map_err(unreachable)?;
        connector.is_valid(&mut connection).map_err(unreachable)?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            // Connections are made when calls need them, not ahead.
            .min_idle(Some(0))
            // While Redis is down, each call fails after this long (r2d2 retries
            // connecting until then), not after the request's whole time limit.
            .connection_timeout(CONNECT_TIMEOUT)
            // Failures reach the caller (and the log line naming the store) as errors.
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(connector);
        Ok(RedisStore {
            shown: shown.to_string(),
            pool,
        })
    }

    /// A connection from the pool, for `context`.
    fn connection(&self, context: &str) -> Result<r2d2::PooledConnection<Connector>, StoreError> {
        self.pool.get().map_err(|error| StoreError::Backend {
            context: format!("{context}: no connection to Redis at {}", self.shown),
            source: Box::new(error),
        })
    }
}

impl Store for RedisStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let context = format!("reading key `{key}`");
        self.connection(&context)?.get(key).map_err(failed(context))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let context = format!("writing key `{key}`");
        self.connection(&context)?
            .set(key, value)
            .map_err(failed(context))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let context = format!("deleting key `{key}`");
        self.connection(&context)?.del(key).map_err(failed(context))
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let context = format!("reading key `{key}`");
        self.connection(&context)?
            .exists(key)
            .map_err(failed(context))
    }

    /// Every key of the database (`SCAN`, which never blocks the server the way `KEYS`
    /// does), sorted, then the page from `cursor`: Redis keeps no order, and pages by key
    /// order are what both drafts' cursors mean. Keys that are not UTF-8 (written by
    /// other clients) are left out: a guest could not name them.
    fn list_keys(&self, cursor: &Cursor, limit: usize) -> Result<Vec<String>, StoreError> {
        let context = "listing keys";
        let mut connection = self.connection(context)?;
        let scanned: Vec<Vec<u8>> = connection
            .scan_options::<Vec<u8>>(redis::ScanOptions::default().with_count(SCAN_COUNT))
            .and_then(|keys| keys.collect())
            .map_err(failed(context))?;
        let mut keys: Vec<String> = scanned
            .into_iter()
            .filter_map(|key| String::from_utf8(key).ok())
            .collect();
        keys.sort_unstable();
        keys.dedup(); // SCAN may return a key twice
        let start = match cursor {
            Cursor::Start => 0,
            Cursor::After(after) => keys.partition_point(|key| key.as_str() <= after.as_str()),
            Cursor::Offset(offset) => usize::try_from(*offset).unwrap_or(usize::MAX),
        };
        Ok(keys.into_iter().skip(start).take(limit).collect())
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let context = format!("incrementing key `{key}`");
        let mut connection = self.connection(&context)?;
        match connection.incr::<_, _, i64>(key, delta) {
            Ok(new) => Ok(new),
            // Redis refuses a value that is not an integer, and a result beyond 64 bits,
            // with one error: the value tells which.
            Err(error) if matches!(error.kind(), redis::ErrorKind::Server(_)) => {
                let value: Option<Vec<u8>> = connection.get(key).map_err(failed(&context))?;
                let is_integer = value
                    .as_deref()
                    .and_then(|bytes| std::str::from_utf8(bytes).ok())
                    .is_some_and(|text| text.parse::<i64>().is_ok());
                let key = key.to_string();
                Err(if is_integer {
                    StoreError::Overflow { key }
                } else {
                    StoreError::NotACounter { key }
                })
            }
            Err(error) => Err(failed(context)(error)),
        }
    }

    fn get_many(
        &self,
        keys: &[String],
        max_bytes: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let context = "reading keys";
        let mut connection = self.connection(context)?;
        // The sizes first, so a reply too large for one answer is never read into memory.
        let mut sizes = redis::pipe();
        for key in keys {
            sizes.cmd("STRLEN").arg(key);
        }
        let sizes: Vec<usize> = sizes.query(&mut *connection).map_err(failed(context))?;
        let too_large = |total: usize| total > max_bytes;
        if too_large(sizes.iter().fold(0, |sum, size| sum.saturating_add(*size))) {
            return Err(StoreError::BatchTooLarge { max_bytes });
        }
        // One MGET: every value from the same moment.
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(keys)
            .query(&mut *connection)
            .map_err(failed(context))?;
        // A value may have grown between the two calls.
        let total = values
            .iter()
            .flatten()
            .fold(0, |sum: usize, value| sum.saturating_add(value.len()));
        if too_large(total) {
            return Err(StoreError::BatchTooLarge { max_bytes });
        }
        Ok(values)
    }

    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        // One MSET: all or nothing.
        let context = "writing keys";
        self.connection(context)?
            .mset::<_, _, ()>(entries)
            .map_err(failed(context))
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        // One DEL: all or nothing.
        let context = "deleting keys";
        self.connection(context)?
            .del::<_, ()>(keys)
            .map_err(failed(context))
    }

    /// `WATCH`, read, compare, then `MULTI`/`SET`/`EXEC`: Redis runs the transaction only
    /// if no client changed the key since the `WATCH`.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, StoreError> {
        let context = format!("swapping key `{key}`");
        let mut connection = self.connection(&context)?;
        let connection = &mut *connection;
        let swap = |connection: &mut Connection| -> Result<bool, RedisError> {
            redis::cmd("WATCH").arg(key).query::<()>(connection)?;
            let current: Option<Vec<u8>> = connection.get(key)?;
            if current.as_deref() != expected {
                return Ok(false);
            }
            let done: Option<Vec<redis::Value>> =
                redis::pipe().atomic().set(key, value).query(connection)?;
            Ok(done.is_some())
        };
        let swapped = swap(connection);
        // No WATCH may outlive this call on a pooled connection (EXEC ended it if it ran).
        let unwatched = redis::cmd("UNWATCH").query::<()>(connection);
        let swapped = swapped.map_err(failed(&context))?;
        unwatched.map_err(failed(context))?;
        Ok(swapped)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wasmctl_test_support::RedisServer;

    use super::*;

    #[test]
    fn increments_from_threads_and_connections_are_exact() {
        let server = RedisServer::start().unwrap();
        // Two stores on one Redis stand for two processes.
        super::super::assert_exact_increments([
            Arc::new(RedisStore::connect(&server.url(), "redis").unwrap()),
            Arc::new(RedisStore::connect(&server.url(), "redis").unwrap()),
        ]);
    }

    #[test]
    fn every_call_means_what_it_means_on_sqlite() {
        let server = RedisServer::start().unwrap();
        let store = RedisStore::connect(&server.url(), "redis").unwrap();
        for key in ["c", "a", "b", "d"] {
            store.set(key, key.as_bytes()).unwrap();
        }
        assert_eq!(store.get("a").unwrap(), Some(b"a".to_vec()));
        assert!(store.exists("b").unwrap());
        assert_eq!(
            store.list_keys(&Cursor::Start, 2).unwrap(),
            ["a".to_string(), "b".to_string()]
        );
        assert_eq!(
            store.list_keys(&Cursor::After("b".into()), 5).unwrap(),
            ["c".to_string(), "d".to_string()]
        );
        assert_eq!(
            store.list_keys(&Cursor::Offset(3), 5).unwrap(),
            ["d".to_string()]
        );
        store.delete("d").unwrap();
        store.delete("d").unwrap();
        assert!(!store.exists("d").unwrap());

        store
            .set_many(&[("x".into(), b"1".to_vec()), ("y".into(), b"2".to_vec())])
            .unwrap();
        assert_eq!(
            store
                .get_many(&["y".into(), "nope".into(), "x".into()], 2)
                .unwrap(),
            [Some(b"2".to_vec()), None, Some(b"1".to_vec())]
        );
        assert!(matches!(
            store.get_many(&["y".into(), "x".into(), "y".into()], 2),
            Err(StoreError::BatchTooLarge { max_bytes: 2 })
        ));
        store.delete_many(&["x".into(), "y".into()]).unwrap();
        assert_eq!(store.get_many(&["x".into()], 0).unwrap(), [None]);

        assert_eq!(store.increment("n", 41).unwrap(), 41);
        assert_eq!(store.increment("n", 1).unwrap(), 42);
        assert_eq!(store.get("n").unwrap(), Some(b"42".to_vec()));
        assert!(matches!(
            store.increment("a", 1),
            Err(StoreError::NotACounter { .. })
        ));
        store.set("big", i64::MAX.to_string().as_bytes()).unwrap();
        assert!(matches!(
            store.increment("big", 1),
            Err(StoreError::Overflow { .. })
        ));

        assert!(store.compare_and_swap("a", Some(b"a"), b"A").unwrap());
        assert!(!store.compare_and_swap("a", Some(b"a"), b"B").unwrap());
        assert!(store.compare_and_swap("new", None, b"1").unwrap());
        assert!(!store.compare_and_swap("new", None, b"2").unwrap());
        assert_eq!(store.get("a").unwrap(), Some(b"A".to_vec()));
        assert_eq!(store.get("new").unwrap(), Some(b"1".to_vec()));
    }

    #[test]
    fn a_redis_gone_is_an_error_then_served_again() {
        let mut server = RedisServer::start().unwrap();
        let store = RedisStore::connect(&server.url(), "redis://127.0.0.1").unwrap();
        store.set("k", b"v").unwrap();
        server.kill();
        let started = std::time::Instant::now();
        let error = store.get("k").unwrap_err();
        assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
        assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(2));
        server.restart().unwrap();
        // The pool's connections to the server that went away are found dead and replaced.
        assert_eq!(store.get("k").unwrap(), None);

        // TLS (`rediss://`) to a server that speaks none: an error at start, not a panic
        // (rustls finds its one crypto provider).
        let tls = server.url().replace("redis://", "rediss://");
        let error = RedisStore::connect(&tls, "rediss://127.0.0.1:PORT").unwrap_err();
        assert!(matches!(error, StoreError::Unreachable { .. }), "{error:?}");

        server.kill();
        let error = RedisStore::connect(&server.url(), "redis://127.0.0.1:PORT").unwrap_err();
        assert!(matches!(error, StoreError::Unreachable { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "cannot connect to Redis at redis://127.0.0.1:PORT"
        );
    }
}
