//! What the two drafts' bindings translate alike, written once. Each macro expands inside
//! a version module, where `store` is that draft's generated `wasi:keyvalue/store`
//! module: the types differ by draft, the code does not.

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
