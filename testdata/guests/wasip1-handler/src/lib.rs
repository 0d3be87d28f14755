//! Good fixture: built for wasm32-wasip1 this is a core module carrying wit-bindgen's
//! component type information; wasmctl wraps it with the preview1 reactor adapter.

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Handler;

impl wasip2::exports::http::incoming_handler::Guest for Handler {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        let stream = body.write().expect("stream is taken once");
        stream.blocking_write_and_flush(b"hello from a wasip1 core module\n").expect("write");
        drop(stream);
        OutgoingBody::finish(body, None).expect("finish");
    }
}

wasip2::http::proxy::export!(Handler);
