//! The Wasmtime engine `wasmctl up` runs on, and compiled components cached on disk.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch ticks: the granularity of time limits, and how often a busy
/// guest yields its thread to other requests.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Engine settings derived from the app.
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// The largest linear memory any component may have (pool slots are this big).
    pub max_memory: u64,
    /// How many instances may be alive at once (one per in-flight request).
    pub max_instances: u32,
}

/// An engine tuned for many short-lived instances: pooling allocator with copy-on-write
/// memory images, memory kept resident between requests (reset with PAGEMAP_SCAN where the
/// kernel has it) instead of being unmapped and faulted in again, and epoch interruption
/// for time limits.
pub fn new_engine(limits: EngineLimits) -> Result<Engine> {
    let mut pooling = PoolingAllocationConfig::new();
    let instances = limits.max_instances;
    pooling
        .total_component_instances(instances)
        // Rust components have a handful of core instances, memories and tables each
        // (the adapter adds some); size the pools with headroom.
        .total_core_instances(instances * 8)
        .total_memories(instances * 4)
        .total_tables(instances * 4)
        .total_stacks(instances)
        .max_memory_size(usize::try_from(limits.max_memory).unwrap_or(usize::MAX))
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
        .wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Disable)
        .parallel_compilation(true);
    Engine::new(&config)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("configuring the Wasmtime engine")
}

/// Compiles a component, or loads it from `cache_dir` when this exact component was
/// compiled before by a compatible engine. Returns whether the cache was used.
pub fn load_component(
    engine: &Engine,
    bytes: &[u8],
    cache_dir: Option<&Path>,
) -> Result<(Component, bool)> {
    let Some(cache_dir) = cache_dir else {
        return Ok((compile(engine, bytes)?, false));
    };
    let cached = cache_dir.join(cache_key(engine, bytes));
    if cached.is_file() {
        // SAFETY: only files wasmctl wrote with `Component::serialize` for an engine with
        // the same compatibility hash (it is part of the file name) are loaded here.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(component) => return Ok((component, true)),
            Err(error) => tracing::debug!("ignoring cached {}: {error}", cached.display()),
        }
    }
    let component = compile(engine, bytes)?;
    if let Err(error) = store(&component, &cached) {
        tracing::warn!(
            "could not cache the compiled component in {}: {error:#}",
            cache_dir.display()
        );
    }
    Ok((component, false))
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    Component::new(engine, bytes).map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// `<sha256 of the component>-<engine compatibility hash>.cwasm`
fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}.cwasm", hasher.finish())
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
    std::fs::write(&temporary, serialized)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}
