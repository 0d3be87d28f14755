//! What the host reports about each request it answered, for an access log. The host
//! only reports; the caller decides whether and how to print.

use std::time::Duration;

use http::{Method, StatusCode};

/// One request the host answered.
#[derive(Debug, Clone, Copy)]
pub struct RequestRecord<'a> {
    /// The request's method, as the client sent it.
    pub method: &'a Method,
    /// The request path, without the query (which may carry secrets).
    pub path: &'a str,
    /// The status answered: the guest's, or the host's own (404, 500, 503, 504...).
    pub status: StatusCode,
    /// From the request reaching the handler until the response head was ready; a body
    /// the guest streams may still be flowing.
    pub duration: Duration,
    /// The component that served it; `None` when the host answered without one (no
    /// route, no app loaded yet).
    pub component: Option<&'a str>,
    /// The route that matched, as written (`/api/...`).
    pub route: Option<&'a str>,
    /// Why the host refused the request as the client's fault (a 400 for a missing
    /// `Host` or a path that climbs above `/`, a 413, ...); `None` for every other answer,
    /// the guest's 4xx included.
    pub client_error: Option<&'a str>,
}

/// Receives one [`RequestRecord`] per answered request, on the worker thread that
/// answered it: keep it quick.
pub trait AccessLog: Send + Sync + 'static {
    /// Called once the response head of a request is ready.
    fn request(&self, record: &RequestRecord<'_>);
}
