//! The embedded store: one SQLite database file per store (rusqlite, SQLite bundled, so
//! every machine runs the same SQLite).
//!
//! One connection per store behind a mutex: calls of one process take turns, which a
//! single writer needs anyway, and the host runs them on tokio's blocking pool. WAL mode
//! lets readers of another process (`wasmctl kv get` while `up` serves) read while a
//! write is under way; the busy timeout makes a writer wait for another process's write
//! rather than fail. Counters are decimal text, so `wasmctl kv get` shows them as they
//! are, and wasmtime's own store keeps them the same way.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::{Cursor, Store, StoreError};

/// How long a write waits for another process's write to finish before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A store in one SQLite database file.
pub struct SqliteStore {
    path: PathBuf,
    connection: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A backend failure while doing `context`.
fn failed(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let context = context.into();
    move |error| StoreError::Backend {
        context,
        source: Box::new(error),
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating it (not its directory) if absent, in WAL
    /// mode with its table. A file that is not a SQLite database, or a directory where
    /// it cannot be written, fails here, before anything is served; the file is left as
    /// it is.
    ///
    /// A symbolic link, directory or special file in the place of the database or of its
    /// `-wal` and `-shm` files is refused, as is another program's database: a link
    /// planted there must not make wasmctl change a file elsewhere.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            refuse_unless_regular(Path::new(&file))?;
        }
        // NOFOLLOW too: a link made between the check and the open is refused as well.
        let flags = OpenFlags::default() | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let connection =
            Connection::open_with_flags(path, flags).map_err(|e| open_failed(path, e))?;
        if let Some(table) = foreign_table(&connection).map_err(|e| open_failed(path, e))? {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                table,
            });
        }
        Self::prepare(&connection).map_err(|e| open_failed(path, e))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
        })
    }

    /// WAL mode, the busy timeout, the table.
    fn prepare(connection: &Connection) -> rusqlite::Result<()> {
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // The first statement that reads the file: a file that is not a database fails
        // here ("file is not a database").
        // (A file system without shared memory keeps another mode; SQLite still works.)
        let _mode: String =
            connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        // In WAL mode, NORMAL loses no committed write to a crash of the process; only a
        // power loss may lose the last ones.
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute(
            "CREATE TABLE IF NOT EXISTS key_value (
                key   TEXT PRIMARY KEY NOT NULL,
                value BLOB NOT NULL
             ) WITHOUT ROWID",
            [],
        )?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-call rolled its transaction back when the transaction dropped: the
        // connection is fine to use.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn upsert(connection: &Connection, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO key_value (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![key, value])?;
    Ok(())
}

fn select(connection: &Connection, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    connection
        .prepare_cached("SELECT value FROM key_value WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()
}

fn remove(connection: &Connection, key: &str) -> rusqlite::Result<()> {
    connection
        .prepare_cached("DELETE FROM key_value WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// An open failure, by what the user can do about it.
/// Fails when `path` exists and is not a regular file (not following a link).
fn refuse_unless_regular(path: &Path) -> Result<(), StoreError> {
    let kind = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_file() => return Ok(()),
        Ok(metadata) if metadata.is_symlink() => "a symbolic link",
        Ok(metadata) if metadata.is_dir() => "a directory",
        Ok(_) => "a special file",
        // Absent (created on open), or unreadable (the open says why).
        Err(_) => return Ok(()),
    };
    Err(StoreError::NotARegularFile {
        path: path.to_path_buf(),
        kind,
    })
}

/// A table of the database that is not the store's, if it has one. Read before
/// anything is written, so another program's database is left exactly as it was.
fn foreign_table(connection: &Connection) -> rusqlite::Result<Option<String>> {
    connection
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'key_value' LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()
}

fn open_failed(path: &Path, error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    let path = path.to_path_buf();
    let source = Box::new(error);
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase { path, source }
        }
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            StoreError::Unwritable { path, source }
        }
        _ => StoreError::Backend {
            context: format!("opening the SQLite database {}", path.display()),
            source,
        },
    }
}

impl Store for SqliteStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        select(&self.connection(), key).map_err(failed(format!("reading key `{key}`")))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        upsert(&self.connection(), key, value).map_err(failed(format!("writing key `{key}`")))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        remove(&self.connection(), key).map_err(failed(format!("deleting key `{key}`")))
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let connection = self.connection();
        let found = connection
            .prepare_cached("SELECT 1 FROM key_value WHERE key = ?1")
            .and_then(|mut statement| statement.exists([key]));
        found.map_err(failed(format!("reading key `{key}`")))
    }

    fn list_keys(&self, cursor: &Cursor, limit: usize) -> Result<Vec<String>, StoreError> {
        let connection = self.connection();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let list = || -> rusqlite::Result<Vec<String>> {
            match cursor {
                Cursor::Start => connection
                    .prepare_cached("SELECT key FROM key_value ORDER BY key LIMIT ?1")?
                    .query_map([limit], |row| row.get(0))?
                    .collect(),
                Cursor::After(after) => connection
                    .prepare_cached(
                        "SELECT key FROM key_value WHERE key > ?1 ORDER BY key LIMIT ?2",
                    )?
                    .query_map(params![after, limit], |row| row.get(0))?
                    .collect(),
                Cursor::Offset(offset) => connection
                    .prepare_cached("SELECT key FROM key_value ORDER BY key LIMIT ?1 OFFSET ?2")?
                    .query_map(
                        params![limit, i64::try_from(*offset).unwrap_or(i64::MAX)],
                        |row| row.get(0),
                    )?
                    .collect(),
            }
        };
        list().map_err(failed("listing keys"))
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let context = format!("incrementing key `{key}`");
        let mut connection = self.connection();
        // IMMEDIATE takes the write lock before reading, so no other process can write
        // between this read and this write.
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed(&context))?;
        let current = match select(&transaction, key).map_err(failed(&context))? {
            None => 0,
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or_else(|| StoreError::NotACounter {
                    key: key.to_string(),
                })?,
        };
        let new = current
            .checked_add(delta)
            .ok_or_else(|| StoreError::Overflow {
                key: key.to_string(),
            })?;
        upsert(&transaction, key, new.to_string().as_bytes()).map_err(failed(&context))?;
        transaction.commit().map_err(failed(&context))?;
        Ok(new)
    }

    fn get_many(
        &self,
        keys: &[String],
        max_bytes: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut connection = self.connection();
        // One read transaction: every value from the same moment.
        let transaction = connection.transaction().map_err(failed("reading keys"))?;
        let mut values = Vec::with_capacity(keys.len());
        let mut bytes = 0usize;
        for key in keys {
            let value = select(&transaction, key).map_err(failed("reading keys"))?;
            bytes = bytes.saturating_add(value.as_ref().map_or(0, Vec::len));
            if bytes > max_bytes {
                return Err(StoreError::BatchTooLarge { max_bytes });
            }
            values.push(value);
        }
        transaction.commit().map_err(failed("reading keys"))?;
        Ok(values)
    }

    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let mut write = || -> rusqlite::Result<()> {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (key, value) in entries {
                upsert(&transaction, key, value)?;
            }
            transaction.commit()
        };
        write().map_err(failed("writing keys"))
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let mut write = || -> rusqlite::Result<()> {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for key in keys {
                remove(&transaction, key)?;
            }
            transaction.commit()
        };
        write().map_err(failed("deleting keys"))
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        let mut swap = || -> rusqlite::Result<bool> {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if select(&transaction, key)?.as_deref() != expected {
                return Ok(false);
            }
            upsert(&transaction, key, value)?;
            transaction.commit()?;
            Ok(true)
        };
        swap().map_err(failed(format!("swapping key `{key}`")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A link in the place of the database or its `-wal` file, or another program's
    /// database, is refused, and the file elsewhere is left exactly as it was.
    #[test]
    fn links_special_files_and_foreign_databases_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("their.db");
        {
            let theirs = Connection::open(&elsewhere).unwrap();
            theirs
                .execute("CREATE TABLE notes (text TEXT)", [])
                .unwrap();
        }
        let before = std::fs::read(&elsewhere).unwrap();

        let linked = dir.path().join("linked.db");
        std::os::unix::fs::symlink(&elsewhere, &linked).unwrap();
        let refused = SqliteStore::open(&linked).err().unwrap();
        assert!(
            matches!(
                refused,
                StoreError::NotARegularFile {
                    kind: "a symbolic link",
                    ..
                }
            ),
            "{refused}"
        );

        let wal_linked = dir.path().join("wal.db");
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("wal.db-wal")).unwrap();
        let refused = SqliteStore::open(&wal_linked).err().unwrap();
        assert!(
            refused
                .to_string()
                .contains("wal.db-wal is a symbolic link"),
            "{refused}"
        );
        assert!(!wal_linked.exists(), "nothing was created");

        let directory = dir.path().join("dir.db");
        std::fs::create_dir(&directory).unwrap();
        let refused = SqliteStore::open(&directory).err().unwrap();
        assert!(refused.to_string().contains("is a directory"), "{refused}");

        let refused = SqliteStore::open(&elsewhere).err().unwrap();
        assert!(
            matches!(&refused, StoreError::Foreign { table, .. } if table == "notes"),
            "{refused}"
        );
        assert_eq!(
            std::fs::read(&elsewhere).unwrap(),
            before,
            "their file is unchanged"
        );
        let mode: String = Connection::open(&elsewhere)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
    }

    #[test]
    fn increments_from_threads_and_connections_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.db");
        // Two stores on one file stand for two processes.
        super::super::assert_exact_increments([
            Arc::new(SqliteStore::open(&path).unwrap()),
            Arc::new(SqliteStore::open(&path).unwrap()),
        ]);
    }

    #[test]
    fn values_survive_reopening_and_garbage_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.db");
        SqliteStore::open(&path).unwrap().set("k", b"v").unwrap();
        assert_eq!(
            SqliteStore::open(&path).unwrap().get("k").unwrap(),
            Some(b"v".to_vec())
        );

        let garbage = dir.path().join("garbage.db");
        let text = "not a database, but someone's notes\n".repeat(200);
        std::fs::write(&garbage, &text).unwrap();
        let error = SqliteStore::open(&garbage).unwrap_err();
        assert!(
            matches!(error, StoreError::NotADatabase { .. }),
            "{error:?}"
        );
        assert_eq!(std::fs::read_to_string(&garbage).unwrap(), text);
    }
}
