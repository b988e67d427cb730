//! Process-wide settings the `ferry` binary applies before it starts any thread. The benchmarks
//! apply them too, so they measure what ships.

/// glibc gives each thread that allocates its own arena (up to 8 per core), and each keeps
/// freed memory. With sled's, tokio's and actix's threads that is up to 20 MB of resident memory
/// with a 200,000-entry backlog waiting for Kingdee (measured peaks: 65-69 MB with no cap, 66-67
/// MB with four arenas, 47-64 MB with two). Two arenas cost 10-15 % in the throughput benchmark.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn cap_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Other platforms' allocators need no cap.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn cap_malloc_arenas() {}
