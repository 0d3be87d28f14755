//! Talking to a server under test: raw requests on one connection (for what an HTTP
//! client would not send or would hide), polling until it answers, and a client.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// A port on 127.0.0.1 that was free a moment ago: for a server that must be told its
/// port up front (a peer like `wasmtime serve`, a registry), or an address nothing
/// listens on. `wasmctl up` picks its own (`--listen 127.0.0.1:0`, see [`crate::Server`]).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Writes `request` on a new connection to `address` (`host:port`) and reads until the
/// server closes it, waiting at most `limit` for each read; what came back, as text.
/// A failure is part of the text (`<connect: …>`, `<write: …>`, or `<read: …>` after
/// what was read), so a test's message shows how far the exchange got.
pub fn exchange(address: &str, request: &[u8], limit: Duration) -> String {
    let mut stream = match TcpStream::connect(address) {
        Ok(stream) => stream,
        Err(error) => return format!("<connect: {error}>"),
    };
    if let Err(error) = stream.set_read_timeout(Some(limit)) {
        return format!("<connect: {error}>");
    }
    if let Err(error) = stream.write_all(request) {
        return format!("<write: {error}>");
    }
    let mut response = Vec::new();
    if let Err(error) = stream.read_to_end(&mut response) {
        response.extend_from_slice(format!("<read: {error}>").as_bytes());
    }
    String::from_utf8_lossy(&response).into_owned()
}

/// Polls `GET path` on `address`, each time on a new connection, until the whole response
/// satisfies `answered`; false if none did within `limit`. A fresh connection each time,
/// so a server that is still starting, or swapping in a new version, is asked anew.
/// Callers say what they waited for.
pub fn wait_for(
    address: &str,
    path: &str,
    limit: Duration,
    answered: impl Fn(&str) -> bool,
) -> bool {
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if answered(&exchange(
            address,
            request.as_bytes(),
            Duration::from_secs(5),
        )) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// Polls `GET path` on `address` until it answers 200 (at most `limit`).
pub fn wait_for_200(address: &str, path: &str, limit: Duration) -> Result<()> {
    if !wait_for(address, path, limit, |response| {
        response.starts_with("HTTP/1.1 200")
    }) {
        bail!("no 200 for GET {path} on {address} within {limit:?}");
    }
    Ok(())
}

/// An HTTP client that returns every status as a response (the status is what a test
/// checks), each request bounded by `timeout` so a hung server fails the caller instead
/// of hanging it.
pub fn client(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_waits_for_a_server_that_comes_up_later() {
        // A port nothing listens on: the exchange says how far it got. A free port can be
        // taken by another process between the look and the use (CI runs many servers),
        // so a few are tried.
        let (port, address) = (0..10)
            .map(|_| {
                let port = free_port().unwrap();
                (port, format!("127.0.0.1:{port}"))
            })
            .find(|(_, address)| {
                exchange(address, b"GET / HTTP/1.1\r\n\r\n", Duration::from_secs(1))
                    .starts_with("<connect: ")
            })
            .expect("one of ten free ports has nothing listening");
        let server = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .unwrap();
        });
        wait_for_200(&address, "/", Duration::from_secs(30)).unwrap();
        server.join().unwrap();
    }
}
