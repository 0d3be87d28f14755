//! One request: route it, instantiate the component, run `incoming-handler.handle`, and
//! turn whatever the guest does (respond, trap, hang) into an HTTP response.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, Version, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::request_path::{NormalPath, PathError};
use crate::reuse::IdleInstances;
use crate::slots::InstanceSlots;
use crate::state::{ComponentShared, RequestState};
use crate::{Guest, Host, LoadedApp, LoadedComponent, RequestRecord, headers};

/// The imports the host provides: wasi:http/proxy, plus wasi:cli, wasi:filesystem and
/// insecure random for Rust std, wasi:config for variables, wasi:keyvalue, and
/// wasi:sockets with every use denied (each request's `WasiCtx` allows no TCP, UDP or
/// name lookup, which wasmtime checks before it opens any socket).
pub(crate) fn linker(engine: &Engine) -> anyhow::Result<Linker<RequestState>> {
    use wasmtime_wasi::WasiView as _;
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
    use wasmtime_wasi::p2::bindings::{cli, filesystem, random, sockets};
    use wasmtime_wasi::random::WasiRandom;
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView as _};

    let mut linker = Linker::<RequestState>::new(engine);
    let l = &mut linker;
    let wrap = |e: wasmtime::Error| anyhow::anyhow!("linking WASI: {e}");
    // io, clocks, random, stdin/stdout/stderr and wasi:http.
    wasmtime_wasi_http::p2::add_to_linker_async(l).map_err(wrap)?;
    // WASI 0.3: wasi:http@0.3.0 and what its `service` world imports (wasi:cli, clocks,
    // filesystem, random, sockets at 0.3.0; sockets denied by the same context).
    wasmtime_wasi_http::p3::add_to_linker(l).map_err(wrap)?;
    wasmtime_wasi::p3::add_to_linker(l).map_err(wrap)?;
    filesystem::types::add_to_linker::<_, WasiFilesystem>(l, |t| t.filesystem()).map_err(wrap)?;
    filesystem::preopens::add_to_linker::<_, WasiFilesystem>(l, |t| t.filesystem())
        .map_err(wrap)?;
    random::insecure::add_to_linker::<_, WasiRandom>(l, |t| t.ctx().ctx.random()).map_err(wrap)?;
    random::insecure_seed::add_to_linker::<_, WasiRandom>(l, |t| t.ctx().ctx.random())
        .map_err(wrap)?;
    cli::exit::add_to_linker::<_, WasiCli>(l, |t| t.cli()).map_err(wrap)?;
    cli::environment::add_to_linker::<_, WasiCli>(l, |t| t.cli()).map_err(wrap)?;
    cli::terminal_input::add_to_linker::<_, WasiCli>(l, |t| t.cli()).map_err(wrap)?;
    cli::terminal_output::add_to_linker::<_, WasiCli>(l, |t| t.cli()).map_err(wrap)?;
    cli::terminal_stdin::add_to_linker::<_, WasiCli>(l, |t| t.cli()).map_err(wrap)?;
    cli::terminal_stdout::add_to_linker::<_, WasiCli>(l, |t| t.cli()).map_err(wrap)?;
    cli::terminal_stderr::add_to_linker::<_, WasiCli>(l, |t| t.cli()).map_err(wrap)?;
    // Denied by the context (see above); linked so components that merely import them run.
    sockets::network::add_to_linker::<_, WasiSockets>(l, &Default::default(), |t| t.sockets())
        .map_err(wrap)?;
    sockets::instance_network::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()).map_err(wrap)?;
    sockets::tcp::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()).map_err(wrap)?;
    sockets::tcp_create_socket::add_to_linker::<_, WasiSockets>(l, |t| t.sockets())
        .map_err(wrap)?;
    sockets::udp::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()).map_err(wrap)?;
    sockets::udp_create_socket::add_to_linker::<_, WasiSockets>(l, |t| t.sockets())
        .map_err(wrap)?;
    sockets::ip_name_lookup::add_to_linker::<_, WasiSockets>(l, |t| t.sockets()).map_err(wrap)?;

    // Variables: wasi:config/store, both versions in use.
    crate::config::add_to_linker(l).map_err(|e| anyhow::anyhow!("linking wasi:config: {e}"))?;

    // Key-value stores: both drafts of wasi:keyvalue (see `keyvalue`).
    crate::keyvalue::add_to_linker(l).map_err(|e| anyhow::anyhow!("linking wasi:keyvalue: {e}"))?;
    Ok(linker)
}

/// The guest ran past its time limit (raised from the epoch callback).
#[derive(Debug)]
struct TimedOut;

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request ran past its time limit")
    }
}

impl std::error::Error for TimedOut {}

/// The two ends of a client's connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Connection {
    /// The server's address the client reached.
    pub local: SocketAddr,
    /// The client's.
    pub peer: SocketAddr,
}

/// Serves one request that came in on `connection`; never fails: every problem becomes
/// a status code. With an access log, reports the request once its response head is
/// ready.
pub(crate) async fn handle(
    host: Arc<Host>,
    connection: Connection,
    request: Request<Incoming>,
) -> Result<Response<HyperOutgoingBody>, std::convert::Infallible> {
    // This request keeps the app it started on, even if a new one is swapped in.
    let app = host.app.load_full();
    let Some(log) = &host.access_log else {
        return Ok(respond(&host, app.as_deref(), connection, request).await.0);
    };
    let started = Instant::now();
    // The request goes to the guest; the record needs its own copy of the path as sent.
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (response, outcome) = respond(&host, app.as_deref(), connection, request).await;
    let served_by = outcome.served_by;
    log.request(&RequestRecord {
        method: &method,
        path: &path,
        status: response.status(),
        duration: started.elapsed(),
        component: served_by.map(|served| served.component),
        route: served_by.map(|served| served.route),
        client_error: outcome.client_error.as_deref(),
    });
    Ok(response)
}

/// The component and route a request was routed to.
#[derive(Clone, Copy)]
struct ServedBy<'a> {
    component: &'a str,
    route: &'a str,
}

/// Who answered a request, and why it was refused when that was the client's fault.
#[derive(Default)]
struct Outcome<'a> {
    served_by: Option<ServedBy<'a>>,
    client_error: Option<String>,
}

/// A request the host refuses before routing it, as the client's fault (400): what hyper
/// lets through but RFC 9112 and 3986 do not.
#[derive(Debug, thiserror::Error)]
enum BadRequest {
    #[error("CONNECT is not served: wasmctl up is an origin server, not a proxy")]
    Connect,
    #[error("an HTTP/1.1 request needs a Host header")]
    MissingHost,
    #[error("the request has more than one Host header")]
    DuplicateHost,
    #[error("the Host header is not a host with an optional port")]
    InvalidHost,
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("the request path cannot be passed on to the component")]
    UnrepresentablePath,
}

/// What went wrong while the guest read the request body: the client's fault, whatever
/// the guest made of it.
#[derive(Debug)]
enum BodyFault {
    /// More than `max_body_size` bytes (a chunked body; an announced length is refused
    /// before the guest runs).
    TooLarge,
    /// Malformed chunked framing, or the client hung up mid-body: hyper's reason.
    Unreadable(String),
}

/// An answer the host makes itself to a request that is the client's fault.
fn refuse<'a>(
    status: StatusCode,
    reason: String,
    served_by: Option<ServedBy<'a>>,
) -> (Response<HyperOutgoingBody>, Outcome<'a>) {
    let response = plain(status, format!("{reason}\n"));
    let outcome = Outcome {
        served_by,
        client_error: Some(reason),
    };
    (response, outcome)
}

/// Refuses what RFC 9112 §3.2 refuses about `Host` (none in HTTP/1.1, more than one, an
/// invalid one) and CONNECT; gives a request without any authority (HTTP/1.0, or HTTP/2
/// without `:authority`) the address it came in on, as the guest's request needs one.
fn check_authority(parts: &mut http::request::Parts, local: SocketAddr) -> Result<(), BadRequest> {
    if parts.method == Method::CONNECT {
        return Err(BadRequest::Connect);
    }
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => Err(BadRequest::DuplicateHost),
        (Some(host), None) if is_valid_host(host) => Ok(()),
        (Some(_), None) => Err(BadRequest::InvalidHost),
        (None, _) if parts.version == Version::HTTP_11 => Err(BadRequest::MissingHost),
        (None, _) => {
            if parts.uri.authority().is_none() {
                let local = HeaderValue::from_str(&local.to_string())
                    .expect("a socket address is a valid header value");
                parts.headers.insert(header::HOST, local);
            }
            Ok(())
        }
    }
}

/// The headers Spin's HTTP trigger sets ([`headers::spin`]), computed as Spin computes
/// them from the routed request (`route` and `path_info` as wasmctl's own headers carry
/// them; the host from the `Host` header, as Spin takes it). A value that cannot be a
/// header (none can fail here: each comes from a valid URI, route or address) is left
/// out; the client's copy was removed before.
fn insert_spin_headers(
    parts: &mut http::request::Parts,
    route: &HeaderValue,
    path_info: &HeaderValue,
    peer: SocketAddr,
) {
    let route_text = route.to_str().unwrap_or_default();
    let component_route = route_text.strip_suffix("/...").unwrap_or(route_text);
    let component_route = HeaderValue::from_str(component_route);
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| parts.uri.authority().map(http::uri::Authority::as_str))
        .unwrap_or("localhost");
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    // The listener speaks plain HTTP, whatever scheme an absolute-form target names.
    let full_url = HeaderValue::from_str(&format!("http://{host}{path_and_query}"));
    let values = [
        (headers::spin::FULL_URL, full_url),
        (headers::spin::PATH_INFO, Ok(path_info.clone())),
        (headers::spin::MATCHED_ROUTE, Ok(route.clone())),
        (headers::spin::RAW_COMPONENT_ROUTE, Ok(route.clone())),
        (headers::spin::COMPONENT_ROUTE, component_route),
        (headers::spin::BASE_PATH, Ok(HeaderValue::from_static("/"))),
        (
            headers::spin::CLIENT_ADDR,
            HeaderValue::from_str(&peer.to_string()),
        ),
    ];
    for (name, value) in values {
        if let Ok(value) = value {
            parts.headers.insert(name, value);
        }
    }
}

/// `uri-host [ ":" port ]`: an authority without user information.
fn is_valid_host(host: &HeaderValue) -> bool {
    host.to_str()
        .ok()
        .and_then(|text| text.parse::<http::uri::Authority>().ok())
        .is_some_and(|authority| !authority.as_str().contains('@'))
}

/// `uri` with its path replaced by `path`; the query stays.
fn with_path(uri: &Uri, path: &str) -> Option<Uri> {
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// The response to one request, and who served it.
async fn respond<'a>(
    host: &Host,
    app: Option<&'a LoadedApp>,
    connection: Connection,
    request: Request<Incoming>,
) -> (Response<HyperOutgoingBody>, Outcome<'a>) {
    let (mut parts, body) = request.into_parts();
    if let Err(bad) = check_authority(&mut parts, connection.local) {
        return refuse(StatusCode::BAD_REQUEST, bad.to_string(), None);
    }
    let Some(app) = app else {
        let response = plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "no app is loaded yet\n".to_string(),
        );
        return (response, Outcome::default());
    };
    let path = match NormalPath::new(parts.uri.path()) {
        Ok(path) => path,
        Err(bad) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                BadRequest::from(bad).to_string(),
                None,
            );
        }
    };
    let Some(matched) = app.routes.lookup(&path) else {
        let response = plain(
            StatusCode::NOT_FOUND,
            format!("no route for {}\n", path.as_str()),
        );
        return (response, Outcome::default());
    };
    let component = &app.components[matched.component];
    let id = &component.shared.config.id;
    let served_by = Some(ServedBy {
        component: id,
        route: matched.route,
    });
    let route = HeaderValue::from_str(matched.route);
    let path_info = HeaderValue::from_str(matched.path_info);
    // The guest sees the path it was routed on, so that it cannot read the request
    // differently from the router: `/api/v1/../x` is `/api/x` to both.
    let uri = match path.into_changed() {
        Some(normal) => with_path(&parts.uri, &normal),
        None => Some(parts.uri.clone()),
    };
    let (Ok(route), Ok(path_info), Some(uri)) = (route, path_info, uri) else {
        let bad = BadRequest::UnrepresentablePath;
        return refuse(StatusCode::BAD_REQUEST, bad.to_string(), served_by);
    };
    parts.uri = uri;
    let max_body = host.limits.max_body_size;
    let content_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if content_length.is_some_and(|length| length > max_body) {
        let reason = format!("request body is larger than {max_body} bytes");
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, reason, served_by);
    }

    for name in headers::spin::ALL {
        parts.headers.remove(name);
    }
    if component.shared.config.spin_headers {
        insert_spin_headers(&mut parts, &route, &path_info, connection.peer);
    }
    for (name, value) in [
        (headers::MATCHED_ROUTE, route),
        (headers::PATH_INFO, path_info),
    ] {
        parts.headers.insert(name, value);
    }
    parts.headers.insert(
        headers::COMPONENT,
        HeaderValue::from_str(id).expect("component ids are header-safe"),
    );
    let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
    // A body can turn out too large (chunked) or malformed while the guest reads it; the
    // guest then fails, and the client should learn why. (An empty body cannot, and
    // skips the allocation.)
    let body_fault = (!body.is_end_stream()).then(|| Arc::new(OnceLock::<BodyFault>::new()));
    let fault_seen = body_fault.clone();
    let body = Limited::new(body, limit).map_err(move |error| {
        let (fault, error) = if error.is::<http_body_util::LengthLimitError>() {
            (
                BodyFault::TooLarge,
                wasmtime_wasi_http::Error::HttpRequestBodySize(Some(max_body)),
            )
        } else {
            let fault = BodyFault::Unreadable(error_chain(&*error));
            match error.downcast::<hyper::Error>() {
                Ok(error) => (fault, wasmtime_wasi_http::Error::Hyper(*error)),
                Err(_) => (fault, wasmtime_wasi_http::Error::ConnectionTerminated),
            }
        };
        if let Some(seen) = &fault_seen {
            let _ = seen.set(fault);
        }
        error
    });
    let request = Request::from_parts(parts, body);

    let result = match &component.guest {
        Guest::Proxy { pre, idle } => {
            let fault = body_fault.clone();
            run_proxy(app, component, (pre, idle), request, &host.slots, fault).await
        }
        Guest::Service(service) => service.handle(request).await,
    };
    let failed = match &result {
        Ok(response) => response.status().is_server_error(),
        Err(_) => true,
    };
    if let Some(fault) = body_fault.as_deref().and_then(OnceLock::get)
        && failed
    {
        return match fault {
            BodyFault::TooLarge => {
                let reason = format!("request body is larger than {max_body} bytes");
                refuse(StatusCode::PAYLOAD_TOO_LARGE, reason, served_by)
            }
            BodyFault::Unreadable(why) => {
                let reason = format!("the request body could not be read: {why}");
                refuse(StatusCode::BAD_REQUEST, reason, served_by)
            }
        };
    }
    let response = match result {
        Ok(response) => response,
        Err(failure) => {
            let status = failure.status();
            failure.log(id);
            plain(
                status,
                format!("{}\n", status.canonical_reason().unwrap_or("error")),
            )
        }
    };
    let outcome = Outcome {
        served_by,
        client_error: None,
    };
    (response, outcome)
}

/// An error and its sources, `outer: inner: ...`, on one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why a request got no response from its guest.
pub(crate) enum Failure {
    /// Every instance slot stayed taken for as long as the request may take.
    Busy(std::time::Duration),
    /// Over the time limit before the response started.
    Timeout,
    /// The guest trapped (panic, stack overflow, memory cap, ...).
    Trap(String),
    /// The guest returned an error code instead of a response (its debug form).
    Error(String),
    /// The host could not set the request up.
    Host(String),
}

impl Failure {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Failure::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Timeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn log(&self, id: &str) {
        match self {
            Failure::Busy(waited) => tracing::warn!(
                "component `{id}`: every instance slot stayed busy for {waited:?}; the request got 503"
            ),
            Failure::Timeout => {
                tracing::warn!("component `{id}`: request timed out; the instance was stopped")
            }
            Failure::Trap(message) => tracing::error!("component `{id}` trapped: {message}"),
            Failure::Error(code) => {
                // Internal errors carry the host's Rust backtrace when RUST_BACKTRACE is
                // set: the guest's author needs the message, not wasmtime's frames.
                let code = code
                    .split("\n    Stack backtrace:")
                    .next()
                    .unwrap_or_default();
                tracing::warn!("component `{id}` answered with an error: {code}")
            }
            Failure::Host(message) => tracing::error!("component `{id}`: {message}"),
        }
    }

    pub(crate) fn from_wasmtime(error: wasmtime::Error) -> Failure {
        if error.downcast_ref::<TimedOut>().is_some()
            || matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt))
        {
            return Failure::Timeout;
        }
        // The trap message, then the guest's frames; never the host's Rust backtrace.
        let backtrace = error
            .downcast_ref::<wasmtime::WasmBacktrace>()
            .map(|frames| format!("\n{}", frames.to_string().trim_end()))
            .unwrap_or_default();
        Failure::Trap(format!("{}{backtrace}", error.root_cause()))
    }
}

/// A fresh store for a component: its grants, its memory cap, and a deadline
/// (`RequestState::deadline`, which each request a 0.2 instance serves sets anew).
pub(crate) fn new_store(
    engine: &Engine,
    component: &ComponentShared,
) -> anyhow::Result<Store<RequestState>> {
    let state = RequestState::new(component)?;
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    // Every epoch tick the guest yields its thread to other requests, and past the
    // deadline it is stopped: a busy loop can neither starve the worker nor run forever.
    // The yield is tokio's: it lets the runtime poll for I/O before the guest runs on.
    // (A plain wake-and-return-Pending yield keeps the task always ready, and tokio then
    // polls sockets only every 61 task polls: 610 ms of a busy guest between looks at
    // new connections and requests.)
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|store| {
        if store
            .data()
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            Err(wasmtime::Error::new(TimedOut))
        } else {
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        }
    });
    Ok(store)
}

/// Instantiates a component in a fresh store, as a request would, without calling it.
pub(crate) async fn instantiate(component: &LoadedComponent) -> anyhow::Result<()> {
    match &component.guest {
        Guest::Proxy { pre, .. } => {
            let mut store = new_store(pre.engine(), &component.shared)?;
            pre.instantiate_async(&mut store).await?;
        }
        Guest::Service(service) => {
            let mut store = new_store(service.pre().engine(), &component.shared)?;
            service.pre().instantiate_async(&mut store).await?;
        }
    }
    Ok(())
}

/// Runs a 0.2 guest on `request`, in an idle instance of the component when it reuses
/// them and one is idle, else in a fresh one; a failure after the response head was sent
/// is logged, unless the client broke the request body (`body_fault`) and so caused it.
async fn run_proxy<B>(
    app: &LoadedApp,
    component: &LoadedComponent,
    (pre, idle): (&ProxyPre<RequestState>, &Arc<IdleInstances>),
    request: Request<B>,
    slots: &Arc<InstanceSlots>,
    body_fault: Option<Arc<OnceLock<BodyFault>>>,
) -> Result<Response<HyperOutgoingBody>, Failure>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    let config = &component.shared.config;
    let (mut store, proxy, served, slot) = match idle.take() {
        Some(idle) => (idle.store, Some(idle.proxy), idle.served, idle.slot),
        None => {
            let slot = slots
                .acquire(config.timeout, || app.drop_one_idle())
                .await
                .map_err(|busy| Failure::Busy(busy.0))?;
            let store = new_store(pre.engine(), &component.shared)
                .map_err(|e| Failure::Host(format!("{e:#}")))?;
            (store, None, 0, slot)
        }
    };
    store.data_mut().deadline = Some(Instant::now() + config.timeout);
    store.set_epoch_deadline(1);

    let (sender, receiver) = tokio::sync::oneshot::channel();
    let incoming = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, request)
        .map_err(|e| Failure::Host(format!("{e}")))?;
    let outparam = store
        .data_mut()
        .http()
        .new_response_outparam(sender)
        .map_err(|e| Failure::Host(format!("{e}")))?;

    // The guest keeps running after it sent the response head (it streams the body), so
    // it gets a task of its own; on this single-threaded runtime that is no thread hop.
    let pre = pre.clone();
    let idle = idle.clone();
    let slots = slots.clone();
    let reuse = config.instance_reuse.unwrap_or(1);
    let timeout = config.timeout;
    let guest = tokio::spawn(async move {
        let run = async {
            let proxy = match proxy {
                Some(proxy) => proxy,
                None => pre.instantiate_async(&mut store).await?,
            };
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam)
                .await?;
            Ok::<_, wasmtime::Error>(proxy)
        };
        // The epoch callback stops busy guests; this stops guests waiting on I/O.
        let proxy = match tokio::time::timeout(timeout, run).await {
            Ok(result) => result?,
            Err(_) => return Err(wasmtime::Error::new(TimedOut)),
        };
        // Only an instance that finished its request cleanly serves another: one that
        // trapped, timed out or hit its memory cap was dropped above, with its slot, and
        // one that left part of the exchange open is dropped here.
        // Nor is one kept idle while every slot is taken: requests may be waiting for its.
        let served = served + 1;
        if served < reuse && slots.any_free() && !store.data_mut().holds_http_resources() {
            idle.give_back(store, proxy, served, slot);
        }
        Ok(())
    });

    match receiver.await {
        Ok(Ok(response)) => {
            // Failures after the head was sent surface as a broken body; log them.
            let id = config.id.clone();
            tokio::spawn(async move {
                if let Ok(Err(error)) = guest.await {
                    match body_fault.as_deref().and_then(OnceLock::get) {
                        Some(fault) => tracing::debug!(
                            "component `{id}` stopped on a request body the client broke ({fault:?}): {error}"
                        ),
                        None => Failure::from_wasmtime(error).log(&id),
                    }
                }
            });
            Ok(response)
        }
        Ok(Err(code)) => Err(Failure::Error(format!("{code:?}"))),
        // The outparam was dropped unset: the guest finished, trapped or timed out.
        Err(_) => match guest.await {
            Ok(Ok(())) => Err(Failure::Host(
                "the guest returned without sending a response".to_string(),
            )),
            Ok(Err(error)) => Err(Failure::from_wasmtime(error)),
            Err(join) => Err(Failure::Host(format!("the guest task failed: {join}"))),
        },
    }
}

/// A short plain-text response made by the host itself.
pub(crate) fn plain(status: StatusCode, text: String) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed_unsync();
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body)
        .expect("a static status and header make a valid response")
}
