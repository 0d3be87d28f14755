//! What each request's `Store` holds: a WASI context granting exactly what the manifest
//! grants, the wasi:http context with the outbound policy, and the memory limiter.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::ComponentConfig;
use crate::config::ConfigValues;
use crate::keyvalue::{Grants, KeyValueCtx, KeyValueView};
use crate::outbound::OutboundPolicy;

/// Which of a guest's output streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The guest's standard output.
    Stdout,
    /// The guest's standard error.
    Stderr,
}

/// Receives guest output, one complete line at a time (without the newline).
pub trait GuestOutput: Send + Sync + 'static {
    /// One line that component `component` wrote to `stream`, without its line ending,
    /// invalid UTF-8 replaced; a line longer than 16 KiB arrives in pieces.
    fn line(&self, component: &str, stream: Stream, line: &str);
}

/// Per-request store data.
pub(crate) struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHooks,
    table: ResourceTable,
    key_value: KeyValueCtx,
    pub limits: MemoryCap,
    /// What `wasi:config/store` answers.
    config: ConfigValues,
    /// When the request being served must be done (the epoch callback stops it then); set
    /// anew for each request a 0.2 instance serves. `None` for a 0.3 instance, which
    /// serves several requests at once and is stopped from outside (`service::Expiry`).
    pub deadline: Option<std::time::Instant>,
}

/// The per-instance memory cap. A growth past it traps at once (a memory bomb does not
/// get to see a failed grow and try again) with a [`MemoryLimitHit`], which callers
/// recognise by type: at load it means "raise the limit", at run time it is a 500.
pub(crate) struct MemoryCap {
    limit: usize,
    /// Everything else: wasmtime's limits, failures trapping.
    others: StoreLimits,
}

impl MemoryCap {
    fn new(limit: u64) -> Self {
        Self {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            others: StoreLimitsBuilder::new().trap_on_grow_failure(true).build(),
        }
    }
}

/// A guest asked for more memory than its cap.
#[derive(Debug, thiserror::Error)]
#[error(
    "forcing trap when growing memory to {wanted} bytes: over the memory limit of {limit} bytes"
)]
pub(crate) struct MemoryLimitHit {
    pub wanted: usize,
    pub limit: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitHit {
                wanted: desired,
                limit: self.limit,
            }));
        }
        // The memory's own declared maximum.
        self.others.memory_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.others.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.others.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.others.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.others.instances()
    }

    fn tables(&self) -> usize {
        self.others.tables()
    }

    fn memories(&self) -> usize {
        self.others.memories()
    }
}

impl RequestState {
    pub(crate) fn new(component: &ComponentShared) -> anyhow::Result<Self> {
        let config = &component.config;
        let mut wasi = WasiCtxBuilder::new();
        // Nothing from the host leaks in: no inherited env, args or stdio; only grants.
        wasi.envs(&config.environment);
        // No network through wasi:sockets, ever (wasmtime's defaults, said aloud): every
        // socket or name lookup is refused before anything is opened. Outbound requests
        // go through wasi:http and the component's `allowed_outbound_hosts`.
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for (host_dir, guest_dir) in &config.preopens {
            // The caller checked where each grant leads; a symbolic link put on its path
            // since then must not take the guest somewhere else.
            let resolved = std::fs::canonicalize(host_dir).map_err(|e| {
                anyhow::anyhow!("opening {} for the guest: {e}", host_dir.display())
            })?;
            if &resolved != host_dir {
                anyhow::bail!(
                    "refusing to open {} for the guest: it now leads to {}, through a symbolic link",
                    host_dir.display(),
                    resolved.display()
                );
            }
            wasi.preopened_dir(host_dir, guest_dir, FsPerms::ReadOnly)
                .map_err(|e| {
                    anyhow::anyhow!("opening {} for the guest: {e}", host_dir.display())
                })?;
        }
        if let Some(output) = &component.output {
            wasi.stdout(OutputSink::new(&config.id, Stream::Stdout, output));
            wasi.stderr(OutputSink::new(&config.id, Stream::Stderr, output));
        }
        Ok(Self {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks {
                component: component.config.id.clone(),
                policy: component.outbound.clone(),
            },
            table: ResourceTable::new(),
            key_value: KeyValueCtx::new(component.key_value.clone()),
            limits: MemoryCap::new(config.memory),
            config: config.config.clone(),
            deadline: None,
        })
    }

    /// Whether the guest left any part of an HTTP exchange open: a request, a body or its
    /// stream, a response or its outparam, an outgoing request or its future (headers
    /// alone hold nothing open).
    /// Such an instance is not reused: an unfinished outgoing body, say, is only closed
    /// (and its response only ends) when the store is dropped, and a guest that relies on
    /// that (StarlingMonkey's) would leave the client waiting.
    pub(crate) fn holds_http_resources(&mut self) -> bool {
        use wasmtime_wasi_http::p2::body::{
            HostFutureTrailers, HostIncomingBody, HostOutgoingBody,
        };
        use wasmtime_wasi_http::p2::types::{
            HostFutureIncomingResponse, HostIncomingRequest, HostIncomingResponse,
            HostOutgoingRequest, HostOutgoingResponse, HostResponseOutparam,
        };
        self.table.iter_mut().any(|entry| {
            let entry: &dyn std::any::Any = entry;
            entry.is::<HostIncomingRequest>()
                || entry.is::<HostIncomingBody>()
                || entry.is::<HostFutureTrailers>()
                || entry.is::<HostResponseOutparam>()
                || entry.is::<HostOutgoingResponse>()
                || entry.is::<HostOutgoingBody>()
                || entry.is::<HostOutgoingRequest>()
                || entry.is::<HostFutureIncomingResponse>()
                || entry.is::<HostIncomingResponse>()
        })
    }

    /// The values `wasi:config/store` answers with.
    pub(crate) fn config(&mut self) -> &ConfigValues {
        &self.config
    }

    /// This state is one WASI 0.3 instance's, serving up to `requests` requests at once:
    /// the per-request limits on what is held open scale with them.
    pub(crate) fn serve_concurrently(&mut self, requests: usize) {
        self.key_value.serve_concurrently(requests);
    }

    /// The request as wasi:keyvalue sees it.
    pub(crate) fn key_value(&mut self) -> KeyValueView<'_> {
        KeyValueView::new(&mut self.key_value, &mut self.table)
    }
}

/// What every request of one component shares.
pub(crate) struct ComponentShared {
    pub config: ComponentConfig,
    pub outbound: Arc<OutboundPolicy>,
    pub output: Option<Arc<dyn GuestOutput>>,
    /// The key-value stores it may open.
    pub key_value: Arc<Grants>,
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outgoing requests pass through the component's `allowed_outbound_hosts`.
struct OutboundHooks {
    component: String,
    policy: Arc<OutboundPolicy>,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        if let Err(destination) = self.policy.check(request.uri()) {
            tracing::warn!(
                "component `{}`: outgoing request to {destination} denied; grant it in `allowed_outbound_hosts`",
                self.component
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let mut defaults: [(); 0] = [];
        defaults.send_request(request, options, fut)
    }
}

/// A guest output stream: split into lines, each handed to [`GuestOutput`].
struct OutputSink {
    component: Arc<str>,
    stream: Stream,
    output: Arc<dyn GuestOutput>,
}

impl OutputSink {
    fn new(component: &str, stream: Stream, output: &Arc<dyn GuestOutput>) -> Self {
        Self {
            component: component.into(),
            stream,
            output: output.clone(),
        }
    }
}

impl IsTerminal for OutputSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputSink {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            component: self.component.clone(),
            stream: self.stream,
            output: self.output.clone(),
            pending: Vec::new(),
        })
    }
}

/// Buffers a partial line until its newline (or the end of the request) arrives.
struct LineWriter {
    component: Arc<str>,
    stream: Stream,
    output: Arc<dyn GuestOutput>,
    pending: Vec<u8>,
}

impl LineWriter {
    /// Longest line kept before it is emitted anyway (a guest printing without newlines).
    const MAX_LINE: usize = 16 * 1024;

    fn emit(&mut self, upto: usize) {
        let line: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&line);
        self.output.line(
            &self.component,
            self.stream,
            text.trim_end_matches(['\n', '\r']),
        );
    }
}

impl tokio::io::AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.pending.extend_from_slice(buf);
        while let Some(newline) = self.pending.iter().position(|b| *b == b'\n') {
            self.emit(newline + 1);
        }
        if self.pending.len() >= Self::MAX_LINE {
            let all = self.pending.len();
            self.emit(all);
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let all = self.pending.len();
            self.emit(all);
        }
    }
}
