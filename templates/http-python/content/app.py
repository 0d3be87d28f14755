"""{{project_name}}: a `wasi:http/proxy` component with state, in Python.

`wasmctl up` gives every request a fresh instance, so a module-level counter would answer 1
every time. State lives in a key-value store instead (`key_value_stores` in
`wasmctl.toml`; kept in `.wasmctl/state/` on your machine, Redis when you say so), and
configuration in variables (`[variables]`; set with `wasmctl up --variable`, the
environment or `.env`).

componentize-py makes the `wit_world` modules from `wit/world.wit` at build time: a WIT
`result` error is raised as `componentize_py_types.Err` (its value in `.value`), an
`option` is the value or `None`, a resource is an object to use in a `with` block.
"""

import traceback

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import atomics
from wit_world.imports import wasi_config_store as config
from wit_world.imports import wasi_keyvalue_store as store
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Get,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)

# The path below the route this component is mounted on, which the host passes in this
# header: the handler answers the same on `/...`, `/api/...` or any other route.
PATH_INFO = "wasmctl-path-info"


class IncomingHandler(exports.IncomingHandler):
    """The `wasi:http/incoming-handler` export: called once per request."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        try:
            status, body = route(request)
        except Exception as error:
            # The traceback goes to wasmctl's log; the client gets the error, not a bare 500.
            traceback.print_exc()
            status, body = 500, f"{type(error).__name__}: {error}\n"
        respond(response_out, status, body)


def route(request: IncomingRequest) -> tuple[int, str]:
    path = path_below_route(request)
    if isinstance(request.method(), Method_Get):
        if path == "/":
            return 200, "Hello from {{project_name}}!\n"
        if path.startswith("/hello/"):
            name = path[len("/hello/") :]
            return 200, f"Hello, {name}!\n"
        if path == "/count":
            return count_visit()
    return 404, f"{{project_name}} has nothing at {path}\n"


def count_visit() -> tuple[int, str]:
    """Adds one to `visits` in the `default` store and greets with the `greeting` variable."""
    try:
        greeting = config.get("greeting")
    except Err as error:
        return 500, f"cannot read variable `greeting`: {error.value}\n"
    if greeting is None:
        return 500, "variable `greeting` is not set\n"
    try:
        with store.open("default") as bucket:
            visits = atomics.increment(bucket, "visits", 1)
    except Err as error:
        return 500, f"key-value store `default`: {error.value}\n"
    return 200, f"{greeting}, visitor {visits}!\n"


def path_below_route(request: IncomingRequest) -> str:
    """`/` for the route itself; the full path when no router set the header."""
    with request.headers() as headers:
        values = headers.get(PATH_INFO)
    if values:
        return values[0].decode() or "/"
    return (request.path_with_query() or "/").split("?", 1)[0]


def respond(response_out: ResponseOutparam, status: int, body: str) -> None:
    response = OutgoingResponse(
        Fields.from_list([("content-type", b"text/plain; charset=utf-8")])
    )
    response.set_status_code(status)
    response_body = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    data = body.encode()
    with response_body.write() as stream:
        # `blocking-write-and-flush` takes at most 4096 bytes at a time.
        for start in range(0, len(data), 4096):
            stream.blocking_write_and_flush(data[start : start + 4096])
    OutgoingBody.finish(response_body, None)
