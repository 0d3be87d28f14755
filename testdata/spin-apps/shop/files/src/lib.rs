//! Serves the files the manifest grants (`files = ["static/**/*", "docs/*.txt"]`, less
//! `exclude_files`), each at its path in the app, as Spin mounts them: `GET
//! /static/css/site.css` reads `/static/css/site.css`.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let (status, body) = match std::fs::read(request.path()) {
        Ok(contents) => (200, contents),
        Err(error) => (404, format!("{}: {error}\n", request.path()).into_bytes()),
    };
    Ok(Response::builder().status(status).body(body).build())
}
