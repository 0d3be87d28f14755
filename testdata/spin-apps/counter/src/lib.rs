//! A spin-sdk component as a Spin user writes one: a variable, a key-value counter, and
//! Spin's request headers, through spin-sdk's own interfaces (fermyon:spin@2.0.0).

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;
use spin_sdk::key_value::Store;
use spin_sdk::variables;

/// `GET /count`: the greeting and the next visitor number, kept in the default store.
/// Any other path: the greeting and the path below the route (`spin-path-info`).
#[http_component]
fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let greeting = variables::get("greeting")?;
    let body = if request.path() == "/count" {
        let store = Store::open_default()?;
        let visits = match store.get("visits")? {
            Some(bytes) => String::from_utf8(bytes)?.parse::<u64>()?,
            None => 0,
        } + 1;
        store.set("visits", visits.to_string().as_bytes())?;
        format!("{greeting}, visitor {visits}!\n")
    } else {
        let path_info = request
            .header("spin-path-info")
            .and_then(|value| value.as_str())
            .unwrap_or("(none)");
        format!("{greeting} from spin-sdk at {path_info}\n")
    };
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(body)
        .build())
}
