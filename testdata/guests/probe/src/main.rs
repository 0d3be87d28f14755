//! Probe fixture: reports what the guest can see and do, so tests can check the
//! capability rules and the request/response plumbing of `wasmctl up`. It acts on the
//! last segment of the path (`/anything/env`), so it works under any route.

use std::sync::atomic::{AtomicU32, Ordering};

use wstd::http::{Body, Error, Request, Response, StatusCode};

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
    // Dispatch on the last path segment, so the probe answers under any route.
    let action = request.uri().path().rsplit('/').next().unwrap_or_default().to_string();
    match action.as_str() {
        // Every environment variable, one `KEY=VALUE` per line.
        "env" => text(std::env::vars().map(|(k, v)| format!("{k}={v}\n")).collect()),
        "args" => text(std::env::args().map(|a| format!("{a}\n")).collect()),
        // ?path=/assets/hello.txt
        "read" => match std::fs::read_to_string(param("path")) {
            Ok(contents) => text(contents),
            Err(error) => status(StatusCode::FORBIDDEN, format!("cannot read: {error}\n")),
        },
        // ?url=http://127.0.0.1:1234/x, with the raw wasi:http API so the host's exact
        // error code reaches the response.
        "fetch" => match fetch(&param("url")) {
            Ok((code, body)) => text(format!("fetched {code} {body}")),
            Err(error) => status(StatusCode::BAD_GATEWAY, format!("fetch failed: {error}\n")),
        },
        // Streams the request body back.
        "echo" => {
            let (_, body) = request.into_parts();
            Ok(Response::new(body))
        }
        // Request headers, one `name: value` per line, sorted.
        "headers" => {
            let mut lines: Vec<String> = request
                .headers()
                .iter()
                .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("?")))
                .collect();
            lines.sort();
            Ok(Response::builder()
                .header("x-probe", "present")
                .body(lines.concat().into())?)
        }
        "print" => {
            println!("to stdout {}", param("n"));
            eprintln!("to stderr {}", param("n"));
            text("printed\n".to_string())
        }
        // Allocates and touches ?mb=N MiB.
        "alloc" => {
            let mb: usize = param("mb").parse().unwrap_or(1);
            let block = std::hint::black_box(vec![1u8; mb << 20]);
            text(format!("allocated {} MiB\n", block.len() >> 20))
        }
        "size" => {
            let mut body = request.into_body();
            let bytes = body.contents().await?.len();
            text(format!("{bytes}\n"))
        }
        // What a health check polls.
        "healthz" => text("ok\n".to_string()),
        // How many requests this instance has served, this one included: 1 in a fresh
        // instance, more when the host reuses instances.
        "served" => {
            static SERVED: AtomicU32 = AtomicU32::new(0);
            text(format!("{}\n", SERVED.fetch_add(1, Ordering::Relaxed) + 1))
        }
        "panic" => panic!("the probe panicked on purpose"),
        // Answers after ?ms=N.
        "sleep" => {
            let ms: u64 = param("ms").parse().unwrap_or(1000);
            wstd::task::sleep(wstd::time::Duration::from_millis(ms)).await;
            text(format!("slept {ms} ms\n"))
        }
        other => status(StatusCode::NOT_FOUND, format!("no {other}\n")),
    }
}

fn text(body: String) -> Result<Response<Body>, Error> {
    status(StatusCode::OK, body)
}

fn status(code: StatusCode, body: String) -> Result<Response<Body>, Error> {
    Ok(Response::builder().status(code).body(body.into())?)
}

/// GET `url` (`http://authority/path`) through `wasi:http/outgoing-handler`.
fn fetch(url: &str) -> Result<(u16, String), String> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, OutgoingRequest, Scheme};

    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let request = OutgoingRequest::new(Fields::new());
    request.set_scheme(Some(&Scheme::Http)).map_err(|()| "bad scheme")?;
    request.set_authority(Some(authority)).map_err(|()| "bad authority")?;
    request.set_path_with_query(Some(if path.is_empty() { "/" } else { path })).map_err(|()| "bad path")?;
    let pending = outgoing_handler::handle(request, None).map_err(|code| format!("{code:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("no response")?
        .map_err(|()| "response taken twice")?
        .map_err(|code| format!("{code:?}"))?;
    let code = response.status();
    let body = response.consume().map_err(|()| "body taken twice")?;
    let stream = body.stream().map_err(|()| "stream taken twice")?;
    let mut bytes = Vec::new();
    while let Ok(chunk) = stream.blocking_read(64 * 1024) {
        bytes.extend(chunk);
    }
    Ok((code, String::from_utf8_lossy(&bytes).into_owned()))
}
