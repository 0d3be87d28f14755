//! Accepting connections: one single-threaded tokio runtime per worker thread, each with
//! its own `SO_REUSEPORT` listener, so the kernel spreads connections over the workers and
//! a request never changes threads. Shutdown stops accepting, lets in-flight requests
//! finish within the grace period, then returns.
//!
//! A client holds a connection slot only while it keeps up: it has the header timeout to
//! send its first bytes and each request head, and a write to it may wait the write
//! timeout without progress (a client that stops reading its response) before the
//! connection is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{Semaphore, watch};
use tokio_io_timeout::TimeoutWriter;

use crate::Host;
use crate::engine::EPOCH_TICK;
use crate::handler::{Connection, handle};

/// Listening sockets bound and ready: the address is known before serving starts.
pub struct BoundServer {
    host: Arc<Host>,
    listeners: Vec<std::net::TcpListener>,
    local_addr: SocketAddr,
}

/// How often instances idle past [`crate::reuse::IDLE_TIMEOUT`] are looked for.
const IDLE_SWEEP: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) fn bind(host: Host, addr: SocketAddr, workers: usize) -> Result<BoundServer> {
    let workers = workers.max(1);
    raise_open_file_limit(host.limits.max_connections);
    let first = listen(addr).with_context(|| format!("could not listen on {addr}"))?;
    // With port 0 the first socket picks the port; the others join it.
    let local_addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..workers {
        listeners
            .push(listen(local_addr).with_context(|| format!("could not listen on {local_addr}"))?);
    }
    Ok(BoundServer {
        host: Arc::new(host),
        listeners,
        local_addr,
    })
}

/// Every connection is a file descriptor, and many systems start processes with a soft
/// limit of 1024: raise it to the hard limit, as servers do, so `max_connections` (plus
/// the files guests and the cache use) can be reached; warn when the system will not.
fn raise_open_file_limit(max_connections: usize) {
    // Listeners, log files, preopened directories, the compile cache...
    const HEADROOM: u64 = 256;
    let wanted = max_connections as u64 + HEADROOM;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < wanted => tracing::warn!(
            "the open-file limit is {limit}: fewer than --max-connections {max_connections} connections can be served; raise `ulimit -n`"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!("could not raise the open-file limit: {error}"),
    }
}

fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

impl BoundServer {
    /// The address the server listens on, with the port the OS picked when port 0 was
    /// asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The host being served: [`Host::load`] on it swaps a new app in while serving.
    pub fn host(&self) -> Arc<Host> {
        self.host.clone()
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests (bounded by the
    /// grace period) and returns.
    pub fn serve(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let engine = self.host.engine.clone();
        let (stop_ticker, ticker_stopped) = std::sync::mpsc::channel::<()>();
        // Epochs drive time limits and the yielding of busy guests.
        let ticker = std::thread::Builder::new()
            .name("wasmctl-epoch".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    ticker_stopped.recv_timeout(EPOCH_TICK)
                {
                    engine.increment_epoch();
                }
            })?;
        // Instances idle for too long are dropped on a thread of their own: returning a
        // big memory to the pool must not hold up the epoch, and so the time limits.
        let host = self.host.clone();
        let (stop_sweeper, sweeper_stopped) = std::sync::mpsc::channel::<()>();
        let sweeper = std::thread::Builder::new()
            .name("wasmctl-idle".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    sweeper_stopped.recv_timeout(IDLE_SWEEP)
                {
                    host.sweep_idle_instances(std::time::Instant::now());
                }
            })?;

        let (stop, stopped) = watch::channel(false);
        let connections = Arc::new(Semaphore::new(self.host.limits.max_connections));
        let workers: Vec<_> = self
            .listeners
            .into_iter()
            .enumerate()
            .map(|(index, listener)| {
                let (host, stopped, connections) =
                    (self.host.clone(), stopped.clone(), connections.clone());
                std::thread::Builder::new()
                    .name(format!("wasmctl-worker-{index}"))
                    .spawn(move || worker(host, listener, stopped, connections))
            })
            .collect::<Result<_, _>>()?;

        let control = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        control.block_on(shutdown);
        let _ = stop.send(true);
        let mut result = Ok(());
        for worker in workers {
            match worker.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => result = Err(error),
                Err(_) => result = Err(anyhow::anyhow!("a worker thread panicked")),
            }
        }
        drop(stop_ticker);
        let _ = ticker.join();
        drop(stop_sweeper);
        let _ = sweeper.join();
        result
    }
}

fn worker(
    host: Arc<Host>,
    listener: std::net::TcpListener,
    mut stopped: watch::Receiver<bool>,
    connections: Arc<Semaphore>,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(host.limits.header_read_timeout)
            .keep_alive(true);
        builder.http2().timer(TokioTimer::new());
        let builder = Arc::new(builder);
        let first_bytes_timeout = host.limits.header_read_timeout;
        let write_timeout = host.limits.write_timeout;
        let listening_on = listener.local_addr()?;
        let graceful = GracefulShutdown::new();
        loop {
            // Accept first, then wait for a connection slot: a worker must not sit on a
            // slot while connections queue on its siblings' sockets (SO_REUSEPORT spreads
            // them over all workers). Each worker holds at most one waiting connection.
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accepting a connection failed: {error}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stopped.changed() => break,
            };
            let permit = tokio::select! {
                permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                _ = stopped.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let host = host.clone();
            let (builder, watcher) = (builder.clone(), graceful.watcher());
            tokio::spawn(async move {
                // hyper-util's auto builder reads the first bytes to tell HTTP/1 from
                // HTTP/2 without a timer of its own, and hyper's header timeout starts only
                // after that: a client that connects and sends nothing (or half the HTTP/2
                // preface) would keep its slot forever (hyperium/hyper#3962).
                let detected = tokio::time::timeout(first_bytes_timeout, protocol_detectable(&stream)).await;
                if detected != Ok(true) {
                    return;
                }
                // The address the client reached, for requests that name no host (HTTP/1.0).
                let local = stream.local_addr().unwrap_or(listening_on);
                // hyper has no write timeout: without one, a client that stops reading a
                // response keeps its connection (and its slot) for as long as it likes.
                let mut stream = TimeoutWriter::new(stream);
                stream.set_timeout(Some(write_timeout));
                let ends = Connection { local, peer };
                let service = hyper::service::service_fn(move |request| handle(host.clone(), ends, request));
                let io = TokioIo::new(Box::pin(stream));
                let connection = watcher.watch(builder.serve_connection(io, service).into_owned());
                if let Err(error) = connection.await {
                    tracing::debug!("connection ended with an error: {error}");
                }
                drop(permit);
            });
        }
        drop(listener);
        let grace = host.limits.shutdown_grace;
        if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
            tracing::warn!("some requests were still running {grace:?} after shutdown started; they were cut off");
        }
        Ok(())
    })
}

/// Waits until the client has sent enough for hyper-util to tell HTTP/1 from HTTP/2
/// (a byte off the HTTP/2 preface, or all of it) without consuming anything; false if
/// the client hung up first.
async fn protocol_detectable(stream: &tokio::net::TcpStream) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut start = [0u8; PREFACE.len()];
    loop {
        match stream.peek(&mut start).await {
            Ok(0) | Err(_) => return false,
            Ok(read) if read == PREFACE.len() || start[..read] != PREFACE[..read] => return true,
            // A partial preface: peek would return at once with the same bytes, so wait
            // a little for the rest (the caller's timeout bounds the whole wait).
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}
