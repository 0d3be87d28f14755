//! {{project_name}}: a `wasi:http/proxy` component.
//!
//! `wasmctl up` gives every request a fresh instance, so there is no state to share
//! between requests: keep it in a database or another service.

use wstd::http::{Body, Error, Method, Request, Response, StatusCode};

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
        (_, path) => text(StatusCode::NOT_FOUND, format!("{{project_name}} has nothing at {path}\n")),
    }
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
