//! {{project_name}}: a `wasi:http/service@0.3.0` component (WASI 0.3).
//!
//! The handler is an `async fn`: while it waits (on a body, a timer, an outgoing request)
//! the instance can serve other requests, and `wasmctl up` gives one instance up to 16
//! at once, 128 in all (`limits.instance_reuse` in wasmctl.toml; 1 for a fresh instance
//! per request). So keep no per-request secrets in statics.

use wasip3::http::types::{ErrorCode, Fields, Request, Response};
use wasip3::{wit_bindgen, wit_future, wit_stream};

wasip3::http::service::export!(Service);

struct Service;

/// The path below the route this component is mounted on, which the host passes in this
/// header: the handler answers the same on `/...`, `/api/...` or any other route.
const PATH_INFO: &str = "wasmctl-path-info";

impl wasip3::exports::http::handler::Guest for Service {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let path = path_below_route(&request);
        if path == "/" {
            return text(200, "Hello from {{project_name}}!\n".to_string());
        }
        if let Some(name) = path.strip_prefix("/hello/") {
            return text(200, format!("Hello, {name}!\n"));
        }
        if path == "/stream" {
            return counting(5);
        }
        text(404, format!("{{project_name}} has nothing at {path}\n"))
    }
}

/// `/` for the route itself; the request's path when no router set the header.
fn path_below_route(request: &Request) -> String {
    let below = request.get_headers().get(PATH_INFO);
    match below.first().map(|value| String::from_utf8_lossy(value).into_owned()) {
        Some(path) if path.is_empty() => "/".to_string(),
        Some(path) => path,
        None => {
            let target = request.get_path_with_query().unwrap_or_default();
            target.split('?').next().unwrap_or_default().to_string()
        }
    }
}

/// A response whose body is written after its head has gone out: `count` lines, one
/// every 100 ms, each reaching the client as it is written.
fn counting(count: u32) -> Result<Response, ErrorCode> {
    let (response, mut body) = streaming(200)?;
    wit_bindgen::spawn_local(async move {
        for line in 1..=count {
            let rest = body.write_all(format!("line {line} of {count}\n").into_bytes()).await;
            if !rest.is_empty() {
                return; // the client went away
            }
            wasip3::clocks::monotonic_clock::wait_for(100_000_000).await;
        }
    });
    Ok(response)
}

/// A plain-text response.
fn text(status: u16, body: String) -> Result<Response, ErrorCode> {
    let (response, mut writer) = streaming(status)?;
    wit_bindgen::spawn_local(async move {
        writer.write_all(body.into_bytes()).await;
    });
    Ok(response)
}

/// A plain-text response head, and the stream its body is written to (the body ends
/// when the stream is dropped).
fn streaming(status: u16) -> Result<(Response, wit_bindgen::StreamWriter<u8>), ErrorCode> {
    let internal = |what: String| ErrorCode::InternalError(Some(what));
    let headers = Fields::from_list(&[(
        "content-type".to_string(),
        b"text/plain; charset=utf-8".to_vec(),
    )])
    .map_err(|e| internal(format!("{e:?}")))?;
    let (writer, contents) = wit_stream::new();
    // No trailers: the future resolves to none once the body is done.
    let (_, trailers) = wit_future::new(|| Ok(None));
    let (response, _) = Response::new(headers, Some(contents), trailers);
    response
        .set_status_code(status)
        .map_err(|()| internal(format!("bad status {status}")))?;
    Ok((response, writer))
}
