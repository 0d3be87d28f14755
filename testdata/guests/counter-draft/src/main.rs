//! The counter over the other draft, `wasi:keyvalue@0.2.0-draft` (what wasmtime 48's
//! `wasmtime serve -Skeyvalue` links): `inc` adds 1 to `count` in the default store and
//! answers the new value, `list` answers every key (offset cursors), so tests can check
//! that both drafts reach the same data. `getset` reads `bench` and writes it back (one
//! `get` and one `set`: the request `cargo xtask bench kv` loads). `?store=LABEL` opens
//! another store than `default`; `?store=` (empty) opens the store `""`, the only one
//! `wasmtime serve -Skeyvalue` has.

use wstd::http::{Body, Error, Request, Response, StatusCode};

mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit/deps/keyvalue-0.2.0-draft",
        world: "wasi:keyvalue/imports",
    });
}

use bindings::wasi::keyvalue::{atomics, store};

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    let action = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let label = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("store="))
        .unwrap_or("default")
        .to_string();
    let answer = store::open(&label).and_then(|bucket| match action.as_str() {
        "inc" => atomics::increment(&bucket, "count", 1).map(|n| format!("{n}\n")),
        "getset" => {
            let value = bucket.get("bench")?.unwrap_or_else(|| b"0123456789abcdef".to_vec());
            bucket.set("bench", &value).map(|()| "ok\n".to_string())
        }
        _ => {
            let mut keys = String::new();
            let mut cursor = None;
            loop {
                let page = bucket.list_keys(cursor)?;
                for key in page.keys {
                    keys.push_str(&key);
                    keys.push('\n');
                }
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => return Ok(keys),
                }
            }
        }
    });
    let (code, body) = match answer {
        Ok(body) => (StatusCode::OK, body),
        Err(store::Error::AccessDenied) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "error: access-denied\n".into(),
        ),
        Err(store::Error::NoSuchStore) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "error: no-such-store\n".into(),
        ),
        Err(store::Error::Other(message)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("error: other: {message}\n"),
        ),
    };
    Ok(Response::builder().status(code).body(body.into())?)
}
