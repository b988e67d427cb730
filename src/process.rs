//! Process-wide settings: the memory allocator, and the pause points crash tests kill at.
//!
//! On Linux ferry allocates through jemalloc with one arena. Measured on a 2-core VM with a
//! 200,000-entry backlog waiting for Kingdee and in the throughput benchmark:
//! - glibc malloc, default arenas (up to 8 per core, one per allocating thread): peak 65-69 MB;
//! - glibc with two arenas: 47-64 MB, but its threads then queue on the arena locks: 10-15 %
//!   slower end to end than with its default arenas;
//! - jemalloc with two arenas: 56-68 MB over 13 runs, median 57 (glibc with two arenas, in the
//!   same batches: 50-63, median 61), and 40-55 % faster, because each thread keeps a small
//!   cache of freed blocks and takes no lock for most allocations;
//! - jemalloc with one arena: 54-58 MB over 7 runs, while two arenas in the same batches went
//!   from 57 to 72 MB (a tail above 64 MB in most batches), at the same throughput (medians of
//!   8 runs: 8,506 and 8,516 delivered/s): the per-thread caches, not the arenas, keep the
//!   threads off the locks. The release build (one code unit, LTO; see Cargo.toml) takes
//!   another 2-3 MB off: 53-56 MB over 11 runs.
//! - mimalloc: about 100 MB.
//!
//! Everything here is in the library so the benchmarks and tests run with what ships.

#[cfg(target_os = "linux")]
mod jemalloc {
    use std::alloc::{GlobalAlloc, Layout};
    use std::sync::atomic::{AtomicBool, Ordering};

    use tikv_jemallocator::Jemalloc;

    /// Read by jemalloc at its first allocation: one arena (see the module notes), dirty
    /// pages handed back to the system after a second, none kept in the lazily-freed state.
    /// `_RJEM_MALLOC_CONF` in the environment overrides it.
    #[export_name = "_rjem_malloc_conf"]
    pub static MALLOC_CONF: &[u8; 47] = b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

    /// jemalloc, except for how zeroed memory is cleared.
    ///
    /// jemalloc's `calloc` zeroes a *reused* block above a page or so by handing its pages back
    /// to the kernel and faulting them in again. sled reads its whole log into zeroed 512 KB
    /// buffers when it opens; with a 200,000-entry store those page faults made restart to the
    /// first BatchSave take 1.2 s instead of 0.6 s. `memset` on the reused pages is cheaper.
    ///
    /// But `calloc` is right for *fresh* memory, which the kernel has already zeroed and which
    /// costs nothing until written: sled allocates 21 MB of zeroed statistics tables at start
    /// and never writes most of them (clearing them too raised the 200k-backlog peak from about
    /// 58 to 85 MB). So a large block goes to `calloc` until the first large block has been
    /// freed (until then nothing large can be reused), and to `memset` after that.
    pub struct Allocator;

    /// Small blocks are always cleared with `memset` (what jemalloc does for them anyway).
    const MEMSET_UP_TO: usize = 256 * 1024;
    /// Set at the first `dealloc` of a block above `MEMSET_UP_TO`.
    static LARGE_FREED: AtomicBool = AtomicBool::new(false);

    // SAFETY: every call is forwarded to jemalloc with the caller's layout; `alloc_zeroed`
    // clears exactly the `layout.size()` bytes that a successful `alloc` returned.
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            Jemalloc.alloc(layout)
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if layout.size() > MEMSET_UP_TO && !LARGE_FREED.load(Ordering::Relaxed) {
                return Jemalloc.alloc_zeroed(layout);
            }
            let p = Jemalloc.alloc(layout);
            if !p.is_null() {
                std::ptr::write_bytes(p, 0, layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if layout.size() > MEMSET_UP_TO && !LARGE_FREED.load(Ordering::Relaxed) {
                LARGE_FREED.store(true, Ordering::Relaxed);
            }
            Jemalloc.dealloc(ptr, layout)
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            Jemalloc.realloc(ptr, layout, new_size)
        }
    }

    #[global_allocator]
    static GLOBAL: Allocator = Allocator;
}

/// Lets a broken pipe end the process quietly, as it does any Unix command: Rust ignores
/// SIGPIPE, so `ferry dlq list | head` would otherwise fail writing (or panic in `println!`).
/// Only for the short commands: a `ferry run` must not die because its console went away.
pub fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called at start-up, before any thread exists; restores the default disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A named place where a crash test wants to kill ferry: with `FERRY_PAUSE_AT=<name>` in the
/// environment, the process says so on stderr and waits there (at most a minute) so the test
/// can kill it at exactly that point. Without the variable this is one comparison.
pub fn pause_point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("FERRY_PAUSE_AT").ok());
    if at.as_deref() == Some(name) {
        eprintln!("ferry: paused at {name} (FERRY_PAUSE_AT)");
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::hint::black_box;

    #[test]
    fn zeroed_allocations_are_zero_after_reuse() {
        // Blocks filled with non-zero bytes, freed, then asked for again zeroed: both the
        // `memset` path (small, or large after a large free) and jemalloc's own must clear them.
        for size in [64, 4096, 200 * 1024, 512 * 1024, 4 << 20] {
            for _ in 0..3 {
                drop(black_box(vec![0xA5u8; size]));
                let clean = black_box(vec![0u8; size]);
                assert!(clean.iter().all(|b| *b == 0), "{size} bytes not zeroed");
            }
        }
    }

    extern "C" {
        fn _rjem_mallctl(
            name: *const std::ffi::c_char,
            oldp: *mut std::ffi::c_void,
            oldlenp: *mut usize,
            newp: *mut std::ffi::c_void,
            newlen: usize,
        ) -> std::ffi::c_int;
    }

    #[test]
    fn jemalloc_runs_with_our_configuration() {
        let mut narenas: u32 = 0;
        let mut len = std::mem::size_of::<u32>();
        // SAFETY: "opt.narenas" is an unsigned; the buffer and its length match it.
        let rc = unsafe {
            _rjem_mallctl(
                c"opt.narenas".as_ptr(),
                (&mut narenas as *mut u32).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(rc, 0, "mallctl failed");
        if std::env::var_os("_RJEM_MALLOC_CONF").is_none() {
            assert_eq!(narenas, 1);
        }
    }
}
