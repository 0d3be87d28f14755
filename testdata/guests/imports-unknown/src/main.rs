//! Bad fixture: an HTTP handler that imports an interface `wasmctl up` does not provide
//! (`example:db/query`, not WASI), so `build` must refuse it by name.

use wstd::http::{Body, Error, Request, Response};

mod bindings {
    wit_bindgen::generate!({
        inline: "package example:db;
                 interface query { run: func(sql: string) -> string; }
                 world imports { import query; }",
    });
}

#[wstd::http_server]
async fn main(_request: Request<Body>) -> Result<Response<Body>, Error> {
    let answer = bindings::example::db::query::run("select 1");
    Ok(Response::new(answer.into()))
}
