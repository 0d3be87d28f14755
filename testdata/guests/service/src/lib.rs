//! A `wasi:http@0.3.0` service (world `service`, export `handler`) for `wasmctl up`'s
//! tests of WASI 0.3: what the 0.2 `hostile` and `probe` guests do, over the async ABI.
//! It acts on the last segment of the path, so it works under any route.

use std::sync::atomic::{AtomicU32, Ordering};

use wasip3::http::types::{ErrorCode, Fields, Method, Request, Response, Scheme};
use wasip3::{wit_bindgen, wit_future, wit_stream};

wasip3::http::service::export!(Service);

struct Service;

/// Requests this instance has served, this one included.
static SERVED: AtomicU32 = AtomicU32::new(0);

impl wasip3::exports::http::handler::Guest for Service {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let target = request.get_path_with_query().unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or_default()
                .to_string()
        };
        let action = path.rsplit('/').next().unwrap_or_default();
        match action {
            "" | "ok" => text(200, "hello from a wasi:http@0.3.0 service\n".into()),
            "served" => text(200, format!("{served}\n")),
            // The header the router sets, to show 0.3 guests get the same ones.
            "headers" => {
                let headers = request.get_headers();
                let lines: String = ["wasmctl-matched-route", "wasmctl-path-info", "wasmctl-component"]
                    .iter()
                    .map(|name| {
                        let values = headers.get(&name.to_string());
                        let value = values.first().map(|v| String::from_utf8_lossy(v).into_owned());
                        format!("{name}: {}\n", value.unwrap_or_default())
                    })
                    .collect();
                text(200, lines)
            }
            // ?n=N chunks, each its own write after the response head was sent.
            "stream" => {
                let chunks: u32 = param("n").parse().unwrap_or(3);
                let (mut body, contents) = wit_stream::new();
                let (trailers_tx, trailers) = wit_future::new(|| Ok(None));
                let (response, _sent) = Response::new(Fields::new(), Some(contents), trailers);
                wit_bindgen::spawn_local(async move {
                    for i in 0..chunks {
                        let rest = body.write_all(format!("chunk {i}\n").into_bytes()).await;
                        if !rest.is_empty() {
                            return;
                        }
                        wasip3::clocks::monotonic_clock::wait_for(1_000_000).await;
                    }
                    drop(body);
                    trailers_tx.write(Ok(None)).await.ok();
                });
                Ok(response)
            }
            // ?ms=N: waits on the host's clock, then answers.
            "sleep" => {
                let ms: u64 = param("ms").parse().unwrap_or(0);
                wasip3::clocks::monotonic_clock::wait_for(ms * 1_000_000).await;
                text(200, format!("slept {ms}\n"))
            }
            // Never answers: only the host's deadline ends it.
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            // Grows memory until the cap stops it.
            "bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 16 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "panic" => panic!("the service was asked to panic"),
            // ?url=http://host:port/path through wasi:http/client, so the host's
            // outbound policy and its error code show.
            "fetch" => match fetch(&param("url")).await {
                Ok(status) => text(200, format!("fetched {status}\n")),
                Err(code) => text(502, format!("fetch failed: {code:?}\n")),
            },
            other => text(404, format!("nothing at {other}\n")),
        }
    }
}

/// A response with a plain-text body.
fn text(status: u16, body: String) -> Result<Response, ErrorCode> {
    let headers = Fields::from_list(&[(
        "content-type".to_string(),
        b"text/plain; charset=utf-8".to_vec(),
    )])
    .map_err(|e| ErrorCode::InternalError(Some(format!("{e:?}"))))?;
    let (mut writer, contents) = wit_stream::new();
    let (trailers_tx, trailers) = wit_future::new(|| Ok(None));
    let (response, _sent) = Response::new(headers, Some(contents), trailers);
    response
        .set_status_code(status)
        .map_err(|()| ErrorCode::InternalError(Some(format!("bad status {status}"))))?;
    wit_bindgen::spawn_local(async move {
        writer.write_all(body.into_bytes()).await;
        drop(writer);
        trailers_tx.write(Ok(None)).await.ok();
    });
    Ok(response)
}

/// GETs `url` (`http://authority/path`) and answers its status.
async fn fetch(url: &str) -> Result<u16, ErrorCode> {
    let bad = || ErrorCode::InternalError(Some(format!("not an http:// URL: {url}")));
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let (_, trailers) = wit_future::new(|| Ok(None));
    let (request, _sent) = Request::new(Fields::new(), None, trailers, None);
    let set = |ok: Result<(), ()>| ok.map_err(|()| bad());
    set(request.set_method(&Method::Get))?;
    set(request.set_scheme(Some(&Scheme::Http)))?;
    set(request.set_authority(Some(authority)))?;
    set(request.set_path_with_query(Some(path)))?;
    let response = wasip3::http::client::send(request).await?;
    Ok(response.get_status_code())
}
