//! The app's API, under `/api/...`; the same file is also the privately routed `admin`
//! component, which no request from outside reaches.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let path_info = request
        .header("spin-path-info")
        .and_then(|value| value.as_str())
        .unwrap_or("(none)");
    let role = std::env::var("ROLE").unwrap_or_else(|_| "none".to_string());
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(format!("api at {path_info} (role {role})\n"))
        .build())
}
