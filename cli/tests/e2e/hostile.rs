//! Hostile clients against a real `wasmctl up` (127.0.0.1 only, every loop bounded in
//! time and count): slowloris, a thousand idle keep-alive connections, oversized and
//! malformed requests, clients that vanish mid-response, a flood of requests to a guest
//! that loops. All the while a canary asks a well-behaved route on fresh connections: it
//! must always get 200 within a bound, memory stays bounded and the server stays up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmctl_test_support::http;

use crate::support::{Server, access_json, guest_app, serve};

/// The hostile guest on `/...` (`/ok`, `/loop`, `/slow`, ...) and the probe on
/// `/probe/...` (`echo`, `size`), served with `args`.
fn hostile_server(args: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = guest_app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"hostile\"\n\
         [[trigger.http]]\nroute = \"/probe/...\"\ncomponent = \"probe\"\n\
         [component.hostile]\nsource = \"hostile.wasm\"\n\
         [component.probe]\nsource = \"probe.wasm\"\n",
        &["hostile", "probe"],
    );
    let server = serve(dir.path(), args);
    (dir, server)
}

/// A well-behaved client: `GET /ok` on a new connection every 50 ms until stopped.
struct Canary {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<CanaryReport>,
}

#[derive(Debug)]
struct CanaryReport {
    answered: usize,
    failures: Vec<String>,
    slowest: Duration,
}

impl Canary {
    fn start(server: &Server) -> Canary {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, address) = (stop.clone(), server.address());
        let thread = std::thread::spawn(move || {
            let mut report = CanaryReport {
                answered: 0,
                failures: Vec::new(),
                slowest: Duration::ZERO,
            };
            // Bounded even if nobody stops it.
            let deadline = Instant::now() + Duration::from_secs(120);
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let started = Instant::now();
                let response = exchange(
                    &address,
                    b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
                );
                report.slowest = report.slowest.max(started.elapsed());
                if response.starts_with("HTTP/1.1 200") && response.ends_with("ok\n\r\n0\r\n\r\n") {
                    report.answered += 1;
                } else {
                    report.failures.push(response);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            report
        });
        Canary { stop, thread }
    }

    /// Stops the canary and checks it was always answered, each time within `bound`;
    /// what it saw, for figures.
    fn assert_healthy(self, bound: Duration, during: &str) -> CanaryReport {
        self.stop.store(true, Ordering::Relaxed);
        let report = self.thread.join().expect("the canary does not panic");
        assert!(
            report.failures.is_empty() && report.answered > 0,
            "the canary failed during {during}: {report:?}"
        );
        assert!(
            report.slowest < bound,
            "the canary waited {:?} during {during} (bound {bound:?})",
            report.slowest
        );
        report
    }
}

/// Writes `request` on a new connection and reads until the server closes it (each read
/// at most 30 s); what came back, as text, failures included.
fn exchange(address: &str, request: &[u8]) -> String {
    http::exchange(address, request, Duration::from_secs(30))
}

/// Whether the server has closed `stream` (it reads end-of-file or a reset; a 408 before
/// closing counts too), waiting until `deadline` at most. Callers checking many streams
/// share one deadline, so a regression fails in bounded time, not in streams × wait.
fn closed_by_server(mut stream: &TcpStream, deadline: Instant) -> bool {
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buffer = [0u8; 256];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) => {
                return !matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

/// The server's open files once it is fully up: the URL is printed when the sockets are
/// bound, before the workers' runtimes (each with its epoll and eventfd) exist, so one
/// request is served first.
fn settled_open_files(server: &Server) -> usize {
    let response = exchange(
        &server.address(),
        b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    server.open_files().unwrap().len()
}

/// Waits (at most 10 s) until the server holds no more than `at_most` open files.
fn assert_files_back(server: &Server, at_most: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = server.open_files().unwrap();
        if open.len() <= at_most {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server holds {} files, {at_most} at most expected: {open:?}",
            open.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn slowloris_and_silent_clients_are_cut_off_while_others_are_served() {
    let (_dir, server) = hostile_server(&["--header-timeout", "2s"]);
    let canary = Canary::start(&server);
    // 100 clients that connect and never send a byte, and 20 that send half the HTTP/2
    // preface: the server cannot tell HTTP/1 from HTTP/2 yet, and must still let them go
    // at the header timeout.
    let silent: Vec<TcpStream> = (0..120)
        .map(|client| {
            let mut stream = TcpStream::connect(server.address()).unwrap();
            if client % 6 == 0 {
                stream.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
            }
            stream
        })
        .collect();
    // 200 clients that send a request line, then one header line every 300 ms.
    let mut slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut stream = TcpStream::connect(server.address()).unwrap();
            stream.write_all(b"GET /ok HTTP/1.1\r\n").unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        for stream in &mut slow {
            // The server may have hung up already: then the write fails, as it should.
            let _ = stream.write_all(b"x-drip: 1\r\n");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let still_open = |streams: &[TcpStream]| {
        streams
            .iter()
            .filter(|stream| !closed_by_server(stream, deadline))
            .count()
    };
    assert_eq!(
        (still_open(&slow), still_open(&silent)),
        (0, 0),
        "(slow, silent) clients kept past the 2 s header timeout"
    );
    canary.assert_healthy(Duration::from_secs(2), "slowloris");
}

#[test]
fn a_thousand_idle_keep_alive_connections_cost_little_and_expire() {
    rlimit::increase_nofile_limit(8192).expect("the open-file limit can be raised");
    let (_dir, server) = hostile_server(&["--header-timeout", "3s"]);
    let files_before = settled_open_files(&server);
    let rss_before = server.rss_kib().unwrap();
    // Each connection makes one request and then sits idle, kept alive.
    let mut idle: Vec<TcpStream> = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(server.address()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
            .write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        let mut response = Vec::new();
        let mut buffer = [0u8; 512];
        while !response.ends_with(b"0\r\n\r\n") {
            let read = stream.read(&mut buffer).unwrap();
            assert!(read > 0, "closed before the response ended");
            response.extend_from_slice(&buffer[..read]);
        }
        idle.push(stream);
    }
    let canary = Canary::start(&server);
    std::thread::sleep(Duration::from_millis(500));
    canary.assert_healthy(Duration::from_secs(2), "1,000 idle connections");
    let rss_idle = server.rss_kib().unwrap();
    assert!(
        rss_idle < rss_before + 128 * 1024,
        "1,000 idle connections grew the server from {rss_before} KiB to {rss_idle} KiB"
    );
    // Idle keep-alive connections are closed after the header timeout: none is kept.
    let deadline = Instant::now() + Duration::from_secs(10);
    let closed = idle
        .iter()
        .filter(|stream| closed_by_server(stream, deadline))
        .count();
    assert_eq!(closed, 1000, "idle connections outlived the header timeout");
    drop(idle);
    assert_files_back(&server, files_before + 8);
}

#[test]
fn oversized_and_malformed_requests_get_4xx_and_change_nothing() {
    let (_dir, server) = hostile_server(&["--max-body-size", "1MiB"]);
    let canary = Canary::start(&server);
    let address = server.address();
    let chunked = |body_size: usize| {
        let mut request = b"POST /probe/size HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
        for chunk in vec![b'a'; body_size].chunks(64 * 1024) {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(chunk);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        request
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a 600 KB header",
            [
                b"GET /ok HTTP/1.1\r\nhost: x\r\nx-big: ".as_slice(),
                &vec![b'a'; 600 * 1024],
                b"\r\n\r\n",
            ]
            .concat(),
            "HTTP/1.1 431",
        ),
        (
            "200 headers",
            [
                b"GET /ok HTTP/1.1\r\nhost: x\r\n".to_vec(),
                (0..200)
                    .flat_map(|i| format!("x-{i}: a\r\n").into_bytes())
                    .collect(),
                b"\r\n".to_vec(),
            ]
            .concat(),
            "HTTP/1.1 431",
        ),
        (
            "a 100 KB URI",
            [
                b"GET /".as_slice(),
                &vec![b'a'; 100 * 1024],
                b" HTTP/1.1\r\nhost: x\r\n\r\n",
            ]
            .concat(),
            "HTTP/1.1 414",
        ),
        (
            "a garbage request line",
            b"HELLO WORLD\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "a header without a colon",
            b"GET /ok HTTP/1.1\r\nhost x\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "a non-numeric Content-Length",
            b"POST /ok HTTP/1.1\r\nhost: x\r\ncontent-length: lots\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "a body announced at 1 TB",
            b"POST /probe/size HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000000000\r\n\r\n"
                .to_vec(),
            "HTTP/1.1 413",
        ),
        (
            "a chunked body over the limit",
            chunked(2 << 20),
            "HTTP/1.1 413",
        ),
        (
            "a chunked body within the limit",
            chunked(512 << 10),
            "524288\n",
        ),
    ];
    for (what, request, expected) in cases {
        let response = exchange(&address, &request);
        assert!(
            response.contains(expected),
            "{what}: expected {expected:?}, got {:?}",
            &response[..response.len().min(300)]
        );
    }
    canary.assert_healthy(Duration::from_secs(2), "bad requests");
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

#[test]
fn clients_that_vanish_mid_response_leak_nothing() {
    let (_dir, mut server) = hostile_server(&[]);
    // Warm up, then take the baseline.
    let canary = Canary::start(&server);
    std::thread::sleep(Duration::from_millis(300));
    let files_before = settled_open_files(&server);
    let body = vec![b'x'; 1 << 20];
    for _ in 0..50 {
        // A 1 MiB echo: read the first kilobyte of the answer, then hang up.
        let mut stream = TcpStream::connect(server.address()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let head = format!(
            "POST /probe/echo HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        let mut first = [0u8; 1024];
        stream.read_exact(&mut first).unwrap();
        assert!(first.starts_with(b"HTTP/1.1 200"));
        drop(stream);
        // A slow answer nobody waits for.
        let mut stream = TcpStream::connect(server.address()).unwrap();
        stream
            .write_all(b"GET /slow?ms=300 HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        drop(stream);
    }
    canary.assert_healthy(Duration::from_secs(2), "vanishing clients");
    // Every abandoned instance and connection is gone once the slow answers ran out.
    assert_files_back(&server, files_before + 4);
    assert!(server.is_running());
}

#[test]
fn a_flood_to_a_looping_guest_leaves_others_served() {
    let (_dir, mut server) = hostile_server(&["--request-timeout", "2s"]);
    let rss_before = server.rss_kib().unwrap();
    let canary = Canary::start(&server);
    // 48 clients ask for the busy loop again and again for 6 seconds.
    let flood_until = Instant::now() + Duration::from_secs(6);
    let flooders: Vec<_> = (0..48)
        .map(|_| {
            let address = server.address();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while Instant::now() < flood_until {
                    let response = exchange(
                        &address,
                        b"GET /loop HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
                    );
                    statuses.push(response.get(..12).unwrap_or(&response).to_string());
                }
                statuses
            })
        })
        .collect();
    let statuses: Vec<String> = flooders
        .into_iter()
        .flat_map(|flooder| flooder.join().unwrap())
        .collect();
    canary.assert_healthy(Duration::from_secs(3), "a flood of busy loops");
    assert!(statuses.len() >= 48, "{statuses:?}");
    assert!(
        statuses.iter().all(|status| status == "HTTP/1.1 504"),
        "{statuses:?}"
    );
    let rss_after = server.rss_kib().unwrap();
    assert!(
        rss_after < rss_before + 256 * 1024,
        "the flood grew the server from {rss_before} KiB to {rss_after} KiB"
    );
    assert!(server.is_running());
}

#[test]
fn a_busy_guest_does_not_hold_up_its_workers_other_requests() {
    // One worker: the looping guest and the well-behaved requests share its thread.
    let (_dir, server) = hostile_server(&["--workers", "1", "--request-timeout", "6s"]);
    let address = server.address();
    let looping = std::thread::spawn(move || {
        exchange(
            &address,
            b"GET /loop HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    // The guest yields every 10 ms epoch tick, and the worker looks at its sockets then:
    // a request on a new connection is answered in a few ticks, not in the ~600 ms it
    // took when the worker polled for I/O only every 61 of those ticks.
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let response = exchange(
            &server.address(),
            b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        );
        slowest = slowest.max(started.elapsed());
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    let looped = looping.join().unwrap();
    assert!(looped.starts_with("HTTP/1.1 504"), "{looped}");
    assert!(
        slowest < Duration::from_millis(400),
        "a request waited {slowest:?} behind a busy guest on its worker"
    );
}

#[test]
fn requests_beyond_the_instance_cap_wait_for_a_slot_instead_of_failing() {
    let (_dir, server) = hostile_server(&["--max-instances", "4", "--request-timeout", "10s"]);
    // Twice as many slow requests (1 s each) as there are instance slots.
    let slow: Vec<_> = (0..8)
        .map(|_| {
            let address = server.address();
            std::thread::spawn(move || {
                exchange(
                    &address,
                    b"GET /slow?ms=1000 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
                )
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // A request behind them waits for a slot, then is served: 200, not a 500 from an
    // exhausted instance pool.
    let started = Instant::now();
    let response = exchange(
        &server.address(),
        b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    for request in slow {
        let response = request.join().unwrap();
        assert!(response.contains("slept 1000 ms"), "{response}");
    }
    assert!(
        !server.stderr().contains("concurrent limit"),
        "{}",
        server.stderr()
    );
}

#[test]
fn requests_malformed_past_hyper_are_the_clients_fault() {
    let (_dir, server) = hostile_server(&["--log-format", "json"]);
    let address = server.address();
    // Each reaches the host's handler (hyper parses it) and gets a 400 from the host,
    // logged with its reason as the client's error; no component runs.
    let cases: [(&str, &[u8], &str); 11] = [
        (
            "HTTP/1.1 without Host",
            b"GET /ok HTTP/1.1\r\nconnection: close\r\n\r\n",
            "needs a Host header",
        ),
        (
            "two Host headers",
            b"GET /ok HTTP/1.1\r\nhost: x\r\nhost: y\r\nconnection: close\r\n\r\n",
            "more than one Host header",
        ),
        (
            "a Host with a space",
            b"GET /ok HTTP/1.1\r\nhost: a b\r\nconnection: close\r\n\r\n",
            "the Host header is not a host",
        ),
        (
            "a Host with user information",
            b"GET /ok HTTP/1.1\r\nhost: user@x\r\nconnection: close\r\n\r\n",
            "the Host header is not a host",
        ),
        (
            "CONNECT",
            b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\nconnection: close\r\n\r\n",
            "CONNECT is not served",
        ),
        (
            "an authority-form target",
            b"GET example.com:80 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "not a path starting with `/`",
        ),
        (
            "an asterisk-form target",
            b"OPTIONS * HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "not a path starting with `/`",
        ),
        (
            "a path above the root",
            b"GET /probe/../../ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "climbs above `/`",
        ),
        (
            "an encoded path above the root",
            b"GET /%2e%2E/ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "climbs above `/`",
        ),
        (
            "a broken percent escape",
            b"GET /ok%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "not followed by two hex digits",
        ),
        (
            "malformed chunk framing",
            b"POST /probe/size HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            "the request body could not be read",
        ),
    ];
    for (what, request, reason) in cases {
        let response = exchange(&address, request);
        assert!(
            response.starts_with("HTTP/1.1 400 ") && response.contains(reason),
            "{what}: expected a 400 saying {reason:?}, got {response:?}"
        );
    }
    // HTTP/1.0 needs no Host: the guest's request gets the address the client reached as
    // its authority.
    let response = exchange(&address, b"GET /probe/headers HTTP/1.0\r\n\r\n");
    assert!(
        response.starts_with("HTTP/1.0 200 OK\r\n") && response.contains("x-probe: present"),
        "{response}"
    );

    assert!(
        server.wait_for_stderr(r#""path":"/probe/headers""#),
        "{}",
        server.stderr()
    );
    let stderr = server.stderr();
    let refused: Vec<_> = access_json(&stderr)
        .into_iter()
        .filter(|line| line["status"] == 400)
        .collect();
    assert_eq!(refused.len(), cases.len(), "{stderr}");
    for (line, (what, _, reason)) in refused.iter().zip(cases) {
        let logged = line["client_error"].as_str().unwrap_or_default();
        assert!(logged.contains(reason), "{what}: {line}");
    }
    // The malformed body reached the probe, which is named; nothing else ran a component.
    let served: Vec<_> = refused.iter().map(|line| &line["component"]).collect();
    assert_eq!(
        served.iter().filter(|c| c.is_null()).count(),
        cases.len() - 1
    );
    // A component error names its component; there is none.
    assert!(!stderr.contains("component `"), "{stderr}");
}

#[test]
fn paths_are_routed_and_passed_on_in_normal_form() {
    let (_dir, server) = hostile_server(&[]);
    let address = server.address();
    let get = |target: &str| {
        exchange(
            &address,
            format!("GET {target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
    };
    // `%70robe` is `probe`: the probe's route serves it, and the probe (which acts on the
    // last segment) sees `headers`, not `%68eaders`.
    let response = get("/%70robe/x/%68eaders?q=%2e");
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    assert!(
        response.contains("wasmctl-matched-route: /probe/...\n")
            && response.contains("wasmctl-path-info: /x/headers\n"),
        "{response}"
    );
    // `..` cannot step out of the route it is written under, nor into one.
    let response = get("/probe/../ok");
    assert!(
        response.starts_with("HTTP/1.1 200 ") && response.contains("ok\n"),
        "{response}"
    );
    assert!(
        !response.contains("wasmctl"),
        "the hostile guest answered: {response}"
    );
    let response = get("/ok/%2E%2e/probe/headers");
    assert!(
        response.contains("wasmctl-path-info: /headers\n"),
        "{response}"
    );
    // An encoded slash is data: `a%2Fheaders` is one segment, not `headers`.
    let response = get("/probe/a%2fheaders");
    assert!(response.contains("no a%2Fheaders"), "{response}");
}

/// The server's open sockets: its listeners and signal pipe, and one per connection.
fn open_sockets(server: &Server) -> usize {
    server
        .open_files()
        .unwrap()
        .iter()
        .filter(|name| name.starts_with("socket:"))
        .count()
}

/// Connects, asks the probe for a 16 MiB file and never reads a byte of the answer: the
/// server's write stalls once the socket buffers between them are full (a few MiB).
/// Returns once the answer has started, so the connection holds a slot.
fn stalled_reader(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET /probe/read?path=/assets/big HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    // A peek leaves the bytes where they are: the buffers stay full.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut first = [0u8; 12];
    let peeked = stream.peek(&mut first).unwrap();
    assert!(first[..peeked].starts_with(b"HTTP/1.1"), "{first:?}");
    stream
}

#[test]
fn stalled_readers_are_cut_off_at_the_write_timeout_and_lock_no_one_out() {
    let dir = guest_app(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"hostile\"\n\
         [[trigger.http]]\nroute = \"/probe/...\"\ncomponent = \"probe\"\n\
         [component.hostile]\nsource = \"hostile.wasm\"\n\
         [component.probe]\nsource = \"probe.wasm\"\n\
         files = [{ source = \"assets\", destination = \"/assets\" }]\n",
        &["hostile", "probe"],
    );
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/big"), vec![b'x'; 16 << 20]).unwrap();
    // Long enough that the checks of the held slots below (about 2.5 s of sleeps, the
    // canary and seven connects) end before it even on a loaded CI machine (5 s did not).
    const WRITE_TIMEOUT: Duration = Duration::from_secs(8);
    let server = serve(
        dir.path(),
        &["--max-connections", "8", "--write-timeout", "8s"],
    );
    let address = server.address();
    // A write that fails makes the probe print, which opens its log file: open it first.
    let printed = exchange(
        &address,
        b"GET /probe/print HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(printed.starts_with("HTTP/1.1 200"), "{printed}");
    settled_open_files(&server);
    // The last exchange's socket may close a moment after its answer.
    std::thread::sleep(Duration::from_millis(300));
    let (files_before, sockets_before) =
        (server.open_files().unwrap().len(), open_sockets(&server));

    // Seven stalled readers hold seven of the eight connection slots...
    // No stall can begin before the first of them connects.
    let stalled_at = Instant::now();
    let stalled: Vec<TcpStream> = (0..7).map(|_| stalled_reader(&address)).collect();
    // (Their answers have started: wait until the server's writes have filled the buffers.)
    std::thread::sleep(Duration::from_millis(500));
    let held = open_sockets(&server).saturating_sub(sockets_before);
    // ...and a canary on the eighth is served all the while.
    let canary = Canary::start(&server);
    std::thread::sleep(Duration::from_millis(1500));
    let report = canary.assert_healthy(Duration::from_secs(2), "7 stalled readers");
    let still_held = open_sockets(&server).saturating_sub(sockets_before);
    let checked_after = stalled_at.elapsed();
    assert!(
        held == 7 && still_held == 7 && checked_after < WRITE_TIMEOUT,
        "7 stalled readers held {held} connections, then {still_held} after {checked_after:?} (write timeout {WRITE_TIMEOUT:?}): {:?}",
        server.open_files().unwrap()
    );

    // An eighth takes the last slot: a new client waits in the backlog only until the
    // write timeout cuts the first stalled reader off.
    let last = stalled_reader(&address);
    let started = Instant::now();
    let response = exchange(
        &address,
        b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    let waited = started.elapsed();
    let answered_after = stalled_at.elapsed();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        answered_after >= WRITE_TIMEOUT && answered_after < WRITE_TIMEOUT + Duration::from_secs(5),
        "with every slot held, a client was answered {answered_after:?} after the stall began (write timeout {WRITE_TIMEOUT:?})"
    );
    // Every stalled reader is cut off, the eighth too: the server's sockets come back, and
    // its other descriptors (their instances' preopened directories).
    let deadline = Instant::now() + WRITE_TIMEOUT + Duration::from_secs(5);
    while open_sockets(&server) > sockets_before {
        assert!(
            Instant::now() < deadline,
            "stalled readers outlived the write timeout: {:?}",
            server.open_files().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let freed_after = stalled_at.elapsed();
    assert_files_back(&server, files_before);
    eprintln!(
        "stalled readers: 7 held {held} connections of 8 (still {still_held} after \
         {checked_after:.1?}); the canary got {} answers meanwhile, the slowest in {:.1?}; \
         with all 8 slots held a new client waited {waited:.1?} ({answered_after:.1?} after \
         the stall began); all freed {freed_after:.1?} after it (write timeout \
         {WRITE_TIMEOUT:?})",
        report.answered, report.slowest,
    );
    drop((stalled, last));
}
