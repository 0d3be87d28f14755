//! What the two drafts' bindings (and the two versions of Spin's) translate alike, written
//! once. Each macro expands inside a version module, where `store` is that draft's
//! generated `wasi:keyvalue/store` module (`key_value`, Spin's): the types differ by
//! version, the code does not.

/// The draft's `error` from a [`Failure`](super::Failure), the `Answer` type, and
/// `store.open`.
macro_rules! translate_store {
    () => {
        fn error(failure: Failure) -> store::Error {
            match failure.into_other() {
                None => store::Error::AccessDenied,
                Some(message) => store::Error::Other(message),
            }
        }

        type Answer<T> = wasmtime::Result<Result<T, store::Error>>;

        impl store::Host for KeyValueView<'_> {
            async fn open(&mut self, identifier: String) -> Answer<Resource<Bucket>> {
                Ok(KeyValueView::open(self, identifier)?.map_err(error))
            }
        }
    };
}

/// Spin's `error` from a [`Failure`](super::Failure), and the `Answer` type, in either
/// version of Spin's key-value (where `key_value` is that version's generated module).
macro_rules! translate_spin_error {
    () => {
        fn error(failure: Failure) -> key_value::Error {
            match failure {
                Failure::AccessDenied => key_value::Error::AccessDenied,
                Failure::TableFull(_) => key_value::Error::StoreTableFull,
                Failure::Other(message) => key_value::Error::Other(message),
            }
        }

        type Answer<T> = wasmtime::Result<Result<T, key_value::Error>>;
    };
}

/// The `bucket` methods both drafts declare alike (all but `list-keys`).
macro_rules! translate_bucket_methods {
    () => {
        async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<Option<Vec<u8>>> {
            Ok(KeyValueView::get(self, bucket, key).await?.map_err(error))
        }

        async fn set(
            &mut self,
            bucket: Resource<Bucket>,
            key: String,
            value: Vec<u8>,
        ) -> Answer<()> {
            Ok(KeyValueView::set(self, bucket, key, value)
                .await?
                .map_err(error))
        }

        async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<()> {
            Ok(KeyValueView::delete(self, bucket, key)
                .await?
                .map_err(error))
        }

        async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<bool> {
            Ok(KeyValueView::exists(self, bucket, key)
                .await?
                .map_err(error))
        }

        async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
            self.close(bucket)
        }
    };
}

/// The `batch` writes both drafts declare alike (`get-many` differs).
macro_rules! translate_batch_writes {
    () => {
        async fn set_many(
            &mut self,
            bucket: Resource<Bucket>,
            key_values: Vec<(String, Vec<u8>)>,
        ) -> Answer<()> {
            Ok(KeyValueView::set_many(self, bucket, key_values)
                .await?
                .map_err(error))
        }

        async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Answer<()> {
            Ok(KeyValueView::delete_many(self, bucket, keys)
                .await?
                .map_err(error))
        }
    };
}
