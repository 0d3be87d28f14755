//! Bad fixture: an HTTP handler that imports wasi:sockets, which `wasmctl up` never provides.

use wasip2::http::types::{IncomingRequest, ResponseOutparam};

struct Handler;

impl wasip2::exports::http::incoming_handler::Guest for Handler {
    fn handle(_request: IncomingRequest, _response_out: ResponseOutparam) {
        let _network = wasip2::sockets::instance_network::instance_network();
    }
}

wasip2::http::proxy::export!(Handler);
