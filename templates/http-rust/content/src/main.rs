//! {{project_name}}: a `wasi:http/proxy` component.
//!
//! `wasmctl up` gives every request a fresh instance, so there is no state to share
//! between requests: keep it in a database or another service.

use wstd::http::{Body, Error, Method, Request, Response, StatusCode};

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    let path = request.uri().path().to_string();
    match (request.method(), path.as_str()) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello from {{project_name}}!\n".to_string()),
        (&Method::GET, path) if path.starts_with("/hello/") => {
            let name = &path["/hello/".len()..];
            text(StatusCode::OK, format!("Hello, {name}!\n"))
        }
        (_, path) => text(StatusCode::NOT_FOUND, format!("{{project_name}} has nothing at {path}\n")),
    }
}

fn text(status: StatusCode, body: String) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body.into())?)
}
