// {{project_name}}: a `wasi:http/proxy` component with state, in TypeScript.
//
// `wasmctl up` gives every request a fresh instance, so a module-level counter would answer
// 1 every time. State lives in a key-value store instead (`key_value_stores` in
// `wasmctl.toml`; kept in `.wasmctl/state/` on your machine, Redis when you say so), and
// configuration in variables (`[variables]`; set with `wasmctl up --variable`, the
// environment or `.env`).
//
// `tsc` compiles this file to dist/js/app.js, which `jco componentize` runs in
// StarlingMonkey, a JavaScript engine with the web's `fetch` event, `Request`, `Response`
// and `URL`. The `wasi:` imports below are the interfaces named in `wit/world.wit`, typed
// in types/ (`npm run types`): a WIT `result` error is thrown (its value in
// `error.payload`), an `option` is the value or `undefined`, a `u64` is a `bigint`.

import { get as getVariable } from 'wasi:config/store@0.2.0-draft-2024-09-27';
import { open } from 'wasi:keyvalue/store@0.2.0-draft2';
import { increment } from 'wasi:keyvalue/atomics@0.2.0-draft2';

// The path below the route this component is mounted on, which the host passes in this
// header: the handler answers the same on `/...`, `/api/...` or any other route.
const PATH_INFO = 'wasmctl-path-info';

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request: Request): Promise<Response> {
  // Without this, an exception would reach the host as a bare "no fetch-event handler
  // triggered" 500 that hides the actual error.
  try {
    const path = pathBelowRoute(request);
    if (request.method === 'GET') {
      if (path === '/') return text(200, 'Hello from {{project_name}}!\n');
      if (path.startsWith('/hello/')) {
        const name = path.slice('/hello/'.length);
        return text(200, `Hello, ${name}!\n`);
      }
      if (path === '/count') return countVisit();
    }
    return text(404, `{{project_name}} has nothing at ${path}\n`);
  } catch (error) {
    // The log shows where: `handle@app.js:LINE:COL`, a line of the compiled dist/js/app.js.
    console.error(error instanceof Error ? `${error}\n${error.stack?.trimEnd()}` : error);
    return text(500, `${describe(error)}\n`);
  }
}

// Adds one to `visits` in the `default` store and greets with the `greeting` variable.
function countVisit(): Response {
  let greeting: string | undefined;
  try {
    greeting = getVariable('greeting');
  } catch (error) {
    return text(500, `cannot read variable \`greeting\`: ${describe(error)}\n`);
  }
  if (greeting === undefined) return text(500, 'variable `greeting` is not set\n');
  let visits: bigint;
  try {
    visits = increment(open('default'), 'visits', 1n);
  } catch (error) {
    return text(500, `key-value store \`default\`: ${describe(error)}\n`);
  }
  return text(200, `${greeting}, visitor ${visits}!\n`);
}

// `/` for the route itself; the full path when no router set the header.
function pathBelowRoute(request: Request): string {
  const path = request.headers.get(PATH_INFO);
  if (path === null) return new URL(request.url).pathname;
  return path === '' ? '/' : path;
}

// A WIT error's value (e.g. `{"tag":"no-such-store"}`), or the exception's own message.
function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'payload' in error) {
    return JSON.stringify(error.payload);
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function text(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}
