//! A spin-sdk 7 component as a Spin 4 user writes one: an async handler exporting
//! `wasi:http/handler@0.3.0`, reading a variable and keeping a counter through Spin 4's
//! async interfaces (`spin:variables@3.0.0`, `spin:key-value@3.0.0`).

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use spin_sdk::key_value::Store;
use spin_sdk::variables;

/// `GET /count`: the greeting and the next visitor number, kept in the default store.
/// `GET /keys`: the store's keys, one per line, as `get-keys` streams them.
/// `POST /fill/N`: sets keys `key-0`...`key-{N-1}`, all at once (the calls run
/// concurrently), and says how many.
/// `DELETE /count`: forgets the count, and says whether the key is still there.
/// `GET /other-store`: what opening a store the component was not granted answers.
/// Any other path: the greeting and the path below the route (`spin-path-info`).
#[http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let greeting = variables::get("greeting").await?;
    let path = request.uri().path().to_string();
    let body = match (request.method().as_str(), path.as_str()) {
        ("GET", "/count") => {
            let store = Store::open_default().await?;
            let visits = match store.get("visits").await? {
                Some(bytes) => String::from_utf8(bytes)?.parse::<u64>()?,
                None => 0,
            } + 1;
            store.set("visits", visits.to_string()).await?;
            format!("{greeting}, visitor {visits}!\n")
        }
        ("GET", "/keys") => {
            let store = Store::open_default().await?;
            let keys = store.get_keys().await.collect().await?;
            keys.iter().map(|key| format!("{key}\n")).collect()
        }
        ("POST", fill) if fill.starts_with("/fill/") => {
            let count: usize = fill["/fill/".len()..].parse()?;
            let store = Store::open_default().await?;
            let sets = (0..count).map(|i| store.set(format!("key-{i}"), "1"));
            futures::future::try_join_all(sets).await?;
            format!("set {count} keys\n")
        }
        ("DELETE", "/count") => {
            let store = Store::open_default().await?;
            store.delete("visits").await?;
            format!("visits still set: {}\n", store.exists("visits").await?)
        }
        ("GET", "/other-store") => match Store::open("other").await {
            Ok(_) => "opened\n".to_string(),
            Err(error) => format!("{error:?}\n"),
        },
        _ => {
            let path_info = request
                .headers()
                .get("spin-path-info")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("(none)");
            format!("{greeting} from spin-sdk 7 at {path_info}\n")
        }
    };
    Ok(http::Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(body)?)
}
