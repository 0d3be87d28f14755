//! The Wasmtime engine `wasmctl up` runs on, and compiled components cached on disk.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch ticks: the granularity of time limits, and how often a busy
/// guest yields its thread to other requests.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// 4 GiB: the most a 32-bit linear memory can grow to.
const MAX_MEMORY: usize = 1 << 32;

/// Linear memory slots the pool keeps per component instance (see [`new_engine`]).
const MEMORIES_PER_INSTANCE: u32 = 4;

/// Core instances the pool allows per component instance. A Rust component has 1 to 4;
/// componentize-js's 4, componentize-py's 14 (CPython, its runtime and libc linked as
/// separate modules). Only a counter, so headroom is free.
const CORE_INSTANCES_PER_INSTANCE: u32 = 32;

/// Table slots per component instance: Rust, JavaScript and Python components have 1 or 2.
const TABLES_PER_INSTANCE: u32 = 8;

/// The most instances a pool can hold. Each takes `MEMORIES_PER_INSTANCE` slots of
/// address space of at least 4 GiB (plus guard pages), so 4096 instances reserve about
/// 64 TiB: half of the 128 TiB a process has on x86-64 and aarch64 with 48-bit virtual
/// addresses. Beyond that, creating the engine fails ("failed to create memory pool
/// mapping"), so `max_instances` is refused above it before.
pub const MAX_INSTANCES: u32 = 4096;

/// The BLAKE3 hash of a component file: cryptographic, as the compiled code cached under
/// it runs unchecked, and several times faster than sha256 (an 18 MiB component hashes in
/// about 5 ms instead of 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest(blake3::Hash);

impl Digest {
    pub(crate) fn of(bytes: &[u8]) -> Digest {
        Digest(blake3::hash(bytes))
    }
}

impl From<blake3::Hash> for Digest {
    fn from(hash: blake3::Hash) -> Digest {
        Digest(hash)
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

/// An engine tuned for many short-lived instances: pooling allocator with copy-on-write
/// memory images, memory kept resident between requests (reset with PAGEMAP_SCAN where the
/// kernel has it) instead of being unmapped and faulted in again, and epoch interruption
/// for time limits. `instances` bounds how many may be alive at once (one per request in
/// flight).
///
/// Pool slots take the largest memory a 32-bit instance can have: each component's own
/// cap is enforced per store, so a reloaded app may raise it without a new engine.
/// (Slots are address-space reservations of at least 4 GiB anyway.)
pub(crate) fn new_engine(instances: u32) -> Result<Engine> {
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(instances)
        // Every component instance may take its full share, so `instances` of them at
        // once always fit; a component needing more is refused when it is loaded (its
        // check instantiation fails), never under load.
        .total_core_instances(instances * CORE_INSTANCES_PER_INSTANCE)
        .max_core_instances_per_component(CORE_INSTANCES_PER_INSTANCE)
        .total_memories(instances * MEMORIES_PER_INSTANCE)
        .max_memories_per_component(MEMORIES_PER_INSTANCE)
        .total_tables(instances * TABLES_PER_INSTANCE)
        .max_tables_per_component(TABLES_PER_INSTANCE)
        .total_stacks(instances)
        .max_memory_size(MAX_MEMORY)
        // Keep the first pages of each slot resident: resetting them is cheaper than
        // unmapping and faulting them in on the next request.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(1 << 16)
        .async_stack_keep_resident(1 << 16)
        .pagemap_scan(Enabled::Auto);
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling))
        .memory_init_cow(true)
        .epoch_interruption(true)
        // WASI 0.3 components: the async ABI, streams and futures.
        .wasm_component_model_async(true)
        .wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Disable)
        .parallel_compilation(true);
    Engine::new(&config)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("configuring the Wasmtime engine")
}

/// The compiled code cached in `cache_dir` for the component hashing to `digest`, if a
/// compatible engine compiled it before.
pub(crate) fn load_cached(engine: &Engine, digest: Digest, cache_dir: &Path) -> Option<Component> {
    let cached = cache_dir.join(cache_key(engine, digest));
    if !cached.is_file() {
        return None;
    }
    // SAFETY: only files wasmctl wrote with `Component::serialize` for an engine with the
    // same compatibility hash (it is part of the file name) are loaded here.
    match unsafe { Component::deserialize_file(engine, &cached) } {
        Ok(component) => Some(component),
        Err(error) => {
            tracing::debug!("ignoring cached {}: {error}", cached.display());
            None
        }
    }
}

/// Compiles a component and, given a `cache_dir`, caches its compiled code there under
/// `digest`, the hash of `bytes`.
pub(crate) fn compile_and_cache(
    engine: &Engine,
    bytes: &[u8],
    digest: Digest,
    cache_dir: Option<&Path>,
) -> Result<Component> {
    let component = compile(engine, bytes)?;
    if let Some(cache_dir) = cache_dir
        && let Err(error) = store(&component, &cache_dir.join(cache_key(engine, digest)))
    {
        tracing::warn!(
            "could not cache the compiled component in {}: {error:#}",
            cache_dir.display()
        );
    }
    Ok(component)
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    Component::new(engine, bytes).map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// `<BLAKE3 of the component>-<engine compatibility hash>.cwasm`
fn cache_key(engine: &Engine, digest: Digest) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{digest}-{:016x}.cwasm", hasher.finish())
}

/// Writes atomically (temp file + rename) so a concurrent start never reads half a file.
fn store(component: &Component, path: &Path) -> Result<()> {
    let dir = path.parent().context("cache path has a directory")?;
    std::fs::create_dir_all(dir)?;
    let serialized = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
    let temporary: PathBuf = dir.join(format!(
        ".{}.tmp-{}",
        std::process::id(),
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("component")
    ));
    // A fresh file, never one found there: a link planted at the temporary name would
    // otherwise redirect the write.
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&temporary)?;
    std::io::Write::write_all(&mut file, &serialized)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}
