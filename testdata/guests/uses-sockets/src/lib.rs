//! Fixture: an HTTP handler that tries wasi:sockets. `wasmctl up` links the interfaces
//! (the Python runtime imports them whether or not the app uses them) and denies every
//! use, so it answers with the error code each attempt got.

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wasip2::sockets::network::{ErrorCode, IpAddressFamily};
use wasip2::sockets::{instance_network, ip_name_lookup, tcp_create_socket, udp_create_socket};

struct Handler;

impl wasip2::exports::http::incoming_handler::Guest for Handler {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let outcome = |result: Result<(), ErrorCode>| match result {
            Ok(()) => "allowed".to_string(),
            Err(code) => code.name().to_string(),
        };
        let tcp = tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4).map(drop);
        let udp = udp_create_socket::create_udp_socket(IpAddressFamily::Ipv4).map(drop);
        let network = instance_network::instance_network();
        let lookup = ip_name_lookup::resolve_addresses(&network, "localhost").map(drop);
        let report = format!(
            "tcp: {}\nudp: {}\nlookup: {}\n",
            outcome(tcp),
            outcome(udp),
            outcome(lookup)
        );

        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("a new response has a body");
        ResponseOutparam::set(response_out, Ok(response));
        let stream = body.write().expect("a new body has a stream");
        stream
            .blocking_write_and_flush(report.as_bytes())
            .expect("the report fits one write");
        drop(stream);
        OutgoingBody::finish(body, None).expect("the body is complete");
    }
}

wasip2::http::proxy::export!(Handler);
