//! Per-request instantiation: a fresh `Store` and instance from the `ProxyPre`, with the
//! pooling allocator, as `wasmctl up` makes for every request (the guest is not called).
//!
//! The peer is what a default `wasmtime serve -Scli` does: a default `Engine` (on-demand
//! allocation, an mmap per instance) with the whole of WASI linked.
//!
//! Run through `cargo xtask bench instantiate`, which passes the http-rust template's
//! component in `WASMCTL_BENCH_COMPONENT`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmctl_host::{AppConfig, ComponentConfig, Host, HostConfig, Route, ServerLimits};

fn instantiate(c: &mut Criterion) {
    let Some(path) = std::env::var_os("WASMCTL_BENCH_COMPONENT") else {
        eprintln!(
            "set WASMCTL_BENCH_COMPONENT to a component file (cargo xtask bench instantiate does)"
        );
        return;
    };
    let host = Host::new(HostConfig {
        cache_dir: None,
        output: None,
        access_log: None,
        limits: ServerLimits::default(),
        stores: Default::default(),
        engine: None,
    })
    .expect("the engine is configured");
    host.load(AppConfig {
        components: vec![ComponentConfig {
            id: "svc".into(),
            path: path.clone().into(),
            known: None,
            environment: Vec::new(),
            preopens: Vec::new(),
            outbound: Vec::new(),
            timeout: Duration::from_secs(30),
            memory: 128 << 20,
            instance_reuse: None,
            config: Default::default(),
            key_value_stores: Vec::new(),
            spin_headers: false,
        }],
        routes: vec![(Route::Prefix(String::new()), "svc".into())],
    })
    .expect("the benchmark component loads");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("instantiate");
    group.bench_function("wasmctl-host", |b| {
        b.iter(|| {
            runtime
                .block_on(host.instantiate_once("svc"))
                .expect("instantiates")
        })
    });

    let peer = peer::Peer::new(std::path::Path::new(&path));
    group.bench_function("wasmtime default engine", |b| {
        b.iter(|| runtime.block_on(peer.instantiate()))
    });
    group.finish();
}

/// A default-configured Wasmtime, set up the way its documentation shows.
mod peer {
    use wasmtime::component::{Component, Linker, ResourceTable};
    use wasmtime::{Engine, Store};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
    use wasmtime_wasi_http::p2::bindings::ProxyPre;
    use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

    pub(crate) struct State {
        wasi: WasiCtx,
        http: WasiHttpCtx,
        table: ResourceTable,
    }

    impl WasiView for State {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    impl WasiHttpView for State {
        fn http(&mut self) -> WasiHttpCtxView<'_> {
            WasiHttpCtxView {
                ctx: &mut self.http,
                table: &mut self.table,
                hooks: Default::default(),
            }
        }
    }

    pub(crate) struct Peer {
        pre: ProxyPre<State>,
    }

    impl Peer {
        pub(crate) fn new(path: &std::path::Path) -> Peer {
            let engine = Engine::default();
            let component = Component::from_file(&engine, path).expect("compiles");
            let mut linker = Linker::new(&engine);
            wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("links wasi");
            wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
                .expect("links wasi:http");
            let pre =
                ProxyPre::new(linker.instantiate_pre(&component).expect("pre")).expect("proxy");
            Peer { pre }
        }

        pub(crate) async fn instantiate(&self) {
            let state = State {
                wasi: WasiCtx::builder().build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
            };
            let mut store = Store::new(self.pre.engine(), state);
            self.pre
                .instantiate_async(&mut store)
                .await
                .expect("instantiates");
        }
    }
}

criterion_group!(benches, instantiate);
criterion_main!(benches);
