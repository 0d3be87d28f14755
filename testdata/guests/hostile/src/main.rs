//! Hostile fixture: each path misbehaves in its own way. `wasmctl up` must answer 5xx for
//! each within its limits, and keep serving everyone else.

use wstd::http::{Body, Error, Request, Response, StatusCode};

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    match request.uri().path() {
        "/ok" => Ok(Response::new("ok\n".to_string().into())),
        // A busy loop: only epoch interruption can stop it.
        "/loop" => {
            let mut counter: u64 = 0;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
        // Waits forever on a timer: only the host's request timer can stop it.
        "/hang" => {
            wstd::task::sleep(wstd::time::Duration::from_secs(24 * 3600)).await;
            Ok(Response::new("woke up\n".to_string().into()))
        }
        // Grabs memory until the cap stops it.
        "/bomb" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "/recurse" => Ok(Response::new(format!("{}\n", recurse(std::hint::black_box(1))).into())),
        "/panic" => panic!("the guest panicked on purpose"),
        // Answers after a delay, for graceful-shutdown tests: ?ms=N.
        "/slow" => {
            let ms: u64 = request.uri().query().and_then(|q| q.strip_prefix("ms=")?.parse().ok()).unwrap_or(1000);
            wstd::task::sleep(wstd::time::Duration::from_millis(ms)).await;
            Ok(Response::new(format!("slept {ms} ms\n").into()))
        }
        other => Ok(Response::builder().status(StatusCode::NOT_FOUND).body(format!("no {other}\n").into())?),
    }
}

/// Unbounded recursion with a frame the optimizer cannot remove.
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 32]);
    recurse(depth + 1) + frame[(depth % 32) as usize]
}
