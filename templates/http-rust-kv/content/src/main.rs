//! {{project_name}}: a `wasi:http/proxy` component with state.
//!
//! `wasmctl up` gives every request a fresh instance, so a `static` counter would answer 1
//! every time. State lives in a key-value store instead (`key_value_stores` in
//! `wasmctl.toml`; kept in `.wasmctl/state/` on your machine, Redis when you say so), and
//! configuration in variables (`[variables]`; set with `wasmctl up --variable`, the
//! environment or `.env`).

use wstd::http::{Body, Error, Method, Request, Response, StatusCode};

mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "app", generate_all });
}

use bindings::wasi::config::store as config;
use bindings::wasi::keyvalue::{atomics, store};

/// The path below the route this component is mounted on, which the host passes in this
/// header: the handler answers the same on `/...`, `/api/...` or any other route.
const PATH_INFO: &str = "wasmctl-path-info";

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    let path = path_below_route(&request);
    match (request.method(), path.as_str()) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello from {{project_name}}!\n".to_string()),
        (&Method::GET, path) if path.starts_with("/hello/") => {
            let name = &path["/hello/".len()..];
            text(StatusCode::OK, format!("Hello, {name}!\n"))
        }
        (&Method::GET, "/count") => match count_visit() {
            Ok(body) => text(StatusCode::OK, body),
            Err(message) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{message}\n")),
        },
        (_, path) => text(StatusCode::NOT_FOUND, format!("{{project_name}} has nothing at {path}\n")),
    }
}

/// Adds one to `visits` in the `default` store and greets with the `greeting` variable.
fn count_visit() -> Result<String, String> {
    let greeting = config::get("greeting")
        .map_err(|error| format!("cannot read variable `greeting`: {error:?}"))?
        .ok_or("variable `greeting` is not set")?;
    let visits = store::open("default")
        .and_then(|bucket| atomics::increment(&bucket, "visits", 1))
        .map_err(|error| format!("key-value store `default`: {error:?}"))?;
    Ok(format!("{greeting}, visitor {visits}!\n"))
}

/// `/` for the route itself; the full path when no router set the header.
fn path_below_route(request: &Request<Body>) -> String {
    match request.headers().get(PATH_INFO).and_then(|v| v.to_str().ok()) {
        Some("") => "/".to_string(),
        Some(path) => path.to_string(),
        None => request.uri().path().to_string(),
    }
}

fn text(status: StatusCode, body: String) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body.into())?)
}
