//! Counter fixture: a stateful guest over `wasi:keyvalue@0.2.0-draft2` (Spin's version),
//! bound with `wit-bindgen` to the WIT wasmctl vendors, so tests can check that data
//! outlives instances and servers, that increments are atomic, that grants and limits
//! hold. It acts on the last segment of the path, so it works under any route; a store
//! error is answered as `500 error: KIND`, never a trap.

use wstd::http::{Body, Error, Request, Response, StatusCode};

mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit/deps/keyvalue-0.2.0-draft2",
        world: "wasi:keyvalue/imports",
    });
}

use bindings::wasi::keyvalue::{atomics, store};

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    let query = request.uri().query().unwrap_or_default().to_string();
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_default()
            .to_string()
    };
    let action = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let store_label = match param("store") {
        label if label.is_empty() => "default".to_string(),
        label => label,
    };
    let bucket = match store::open(&store_label) {
        Ok(bucket) => bucket,
        Err(error) => return failed(error),
    };
    let answer = match action.as_str() {
        // Adds 1 to `count` and answers the new value.
        "inc" => atomics::increment(&bucket, "count", 1).map(|n| format!("{n}\n")),
        // ?key=K: its value, or 404.
        "get" => match bucket.get(&param("key")) {
            Ok(Some(value)) => Ok(String::from_utf8_lossy(&value).into_owned()),
            Ok(None) => return status(StatusCode::NOT_FOUND, "not set\n".into()),
            Err(error) => Err(error),
        },
        // ?key=K, the request body as its value.
        "set" => {
            let (_, mut body) = request.into_parts();
            let value = body.contents().await?.to_vec();
            bucket
                .set(&param("key"), &value)
                .map(|()| "set\n".to_string())
        }
        // Every key, one a line, page by page.
        "list" => list(&bucket),
        // Only opens the store.
        "open" => Ok(format!("opened {store_label}\n")),
        _ => return status(StatusCode::NOT_FOUND, "unknown action\n".into()),
    };
    match answer {
        Ok(body) => status(StatusCode::OK, body),
        Err(error) => failed(error),
    }
}

fn list(bucket: &store::Bucket) -> Result<String, store::Error> {
    let mut keys = String::new();
    let mut cursor = None;
    loop {
        let page = bucket.list_keys(cursor.as_deref())?;
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

fn failed(error: store::Error) -> Result<Response<Body>, Error> {
    let kind = match error {
        store::Error::NoSuchStore => "no-such-store".to_string(),
        store::Error::AccessDenied => "access-denied".to_string(),
        store::Error::Other(message) => format!("other: {message}"),
    };
    status(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("error: {kind}\n"),
    )
}

fn status(code: StatusCode, body: String) -> Result<Response<Body>, Error> {
    Ok(Response::builder().status(code).body(body.into())?)
}
