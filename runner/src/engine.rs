//! The wasmtime engine: configuration, the epoch ticker that enforces the
//! per-request time limit, and compilation with an on-disk cache.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Result};
use wasmtime::{error::Context as _, format_err};

/// One epoch tick. Guests yield to the executor at every tick and are
/// interrupted at the first tick after their deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

const MIB: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Instances that may exist at once (concurrent requests + admin calls).
    pub max_instances: u32,
    /// Largest linear memory a guest may grow to.
    pub max_memory_bytes: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_instances: 256,
            max_memory_bytes: 512 * MIB,
        }
    }
}

/// Builds the engine: async, epoch interruption, and the pooling allocator
/// tuned as DESIGN.md section 7 measured: no copy-on-write memory
/// initialisation, and linear memories, tables and async stacks kept
/// resident between instances, which avoids the `madvise` calls whose TLB
/// shootdowns dominated the cost of per-request instantiation.
pub fn new_engine(opts: &EngineOptions) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.memory_init_cow(false);

    let n = opts.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        // A composed component (endpoint + op-store) has several core
        // instances and memories: give each instance room for that.
        .total_core_instances(n * 16)
        .total_memories(n * 4)
        .total_tables(n * 8)
        .total_stacks(n)
        .max_core_instances_per_component(64)
        .max_memories_per_component(16)
        .max_tables_per_component(32)
        .max_memories_per_module(2)
        .max_tables_per_module(2)
        .table_elements(50_000)
        .max_component_instance_size(MIB)
        .max_core_instance_size(MIB)
        .max_memory_size(opts.max_memory_bytes)
        .linear_memory_keep_resident(16 * MIB)
        .table_keep_resident(MIB)
        .async_stack_keep_resident(2 * MIB);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// Increments the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.weak();
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("authrim-epoch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawn epoch thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Feeds `Hash` data into SHA-256 (for a stable engine fingerprint).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache file name for `wasm` compiled by `engine`: the SHA-256 of the
/// bytes and of the engine's compatibility hash (wasmtime version,
/// settings, target), so any change to either misses the cache.
pub fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut h = ShaHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    let engine_hash = h.0.finalize();
    let mut k = Sha256::new();
    k.update(wasm);
    k.update(engine_hash);
    hex(&k.finalize())
}

/// Compiles a component, through the on-disk cache when `cache_dir` is set.
pub fn load_component(engine: &Engine, wasm: &[u8], cache_dir: Option<&Path>) -> Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, wasm);
    };
    let path: PathBuf = dir.join(format!("{}.cwasm", cache_key(engine, wasm)));
    if path.exists() {
        // SAFETY: the file was written by `precompile_component` below into
        // the runner's own cache directory, and its name binds it to these
        // wasm bytes and this engine's configuration. A file that is not a
        // valid artifact for this engine is rejected by wasmtime's header
        // checks and recompiled.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok(c),
            Err(e) => eprintln!(
                "authrim: ignoring unusable compile cache entry {}: {e}",
                path.display()
            ),
        }
    }
    let compiled = engine.precompile_component(wasm)?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create cache directory {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, &compiled).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    // SAFETY: as above; we just wrote this file.
    unsafe { Component::deserialize_file(engine, &path) }
        .map_err(|e| format_err!("cannot load compiled component {}: {e}", path.display()))
}
