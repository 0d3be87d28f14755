//! The ceiling for `bench up`: a native hyper server answering the template's hello, in
//! the shape of `wasmctl up` (one current-thread runtime per worker, each with its own
//! `SO_REUSEPORT` listener) but with no WebAssembly at all. Started as
//! `xtask native-hello PORT WORKERS` so that it is measured as a process of its own, like
//! the servers it is the ceiling for.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Serves `Hello from svc!` on 127.0.0.1:`port` with `workers` threads until killed.
pub(crate) fn serve(port: u16, workers: usize) -> Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            std::thread::spawn(move || -> Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(accept(address))
            })
        })
        .collect();
    for thread in threads {
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
    }
    Ok(())
}

async fn accept(address: SocketAddr) -> Result<()> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseport(true)?;
    socket.set_reuseaddr(true)?;
    socket.bind(address).context("binding")?;
    let listener = socket.listen(1024)?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let hello = service_fn(|_request| async {
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                    b"Hello from svc!\n",
                ))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), hello)
                .await;
        });
    }
}
