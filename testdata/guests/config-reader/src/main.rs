//! Config-reader fixture: answers with what it reads through `wasi:config/store`, so tests
//! can check which variables a component sees and their values. Built twice: against
//! `wasi:config@0.2.0-draft-2024-09-27` (Spin's), and with feature `rc1` against
//! `wasi:config@0.2.0-rc.1` (wasmtime's), both vendored in the repository's `wit/deps/`.
//!
//! `/.../all`: every key and value, one `key=value` per line (`get-all`);
//! `/.../get?key=K`: the value of K, or `(none)` (`get`).

use wstd::http::{Body, Error, Request, Response};

#[cfg(not(feature = "rc1"))]
wit_bindgen::generate!({
    path: "../../../wit/deps/config-0.2.0-draft-2024-09-27",
    world: "wasi:config/imports",
    generate_all,
});

#[cfg(feature = "rc1")]
wit_bindgen::generate!({
    path: "../../../wit/deps/config-0.2.0-rc.1",
    world: "wasi:config/imports",
    generate_all,
});

use wasi::config::store;

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    let action = request.uri().path().rsplit('/').next().unwrap_or_default();
    let body = match action {
        "all" => match store::get_all() {
            Ok(pairs) => pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect(),
            Err(error) => format!("error: {error:?}\n"),
        },
        "get" => {
            let query = request.uri().query().unwrap_or_default();
            let key = query.strip_prefix("key=").unwrap_or_default();
            match store::get(key) {
                Ok(Some(value)) => value,
                Ok(None) => "(none)".to_string(),
                Err(error) => format!("error: {error:?}"),
            }
        }
        _ => "ask for /all or /get?key=K\n".to_string(),
    };
    Ok(Response::new(body.into()))
}
