//! How long `wasmctl build` spends validating a component (after cargo is done).
//!
//! Run through `cargo xtask bench validate`, which passes the http-rust template's release
//! component and its debug build (several MB, mostly DWARF) in `WASMCTL_BENCH_COMPONENTS`,
//! a `:`-separated list.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn validate(c: &mut Criterion) {
    let Some(paths) = std::env::var_os("WASMCTL_BENCH_COMPONENTS") else {
        eprintln!(
            "set WASMCTL_BENCH_COMPONENTS to component files (cargo xtask bench validate does)"
        );
        return;
    };
    let mut group = c.benchmark_group("validate");
    for path in std::env::split_paths(&paths) {
        let bytes = std::fs::read(&path).expect("reading the benchmark component");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("{} KiB component", bytes.len() / 1024), |b| {
            b.iter(|| wasmctl::component::validate(&path, &bytes).expect("valid component"))
        });
    }
    group.finish();
}

criterion_group!(benches, validate);
criterion_main!(benches);
