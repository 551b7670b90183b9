//! How the process's allocator is set up. Measured with `bench/run.sh readers` (200 slow
//! readers of the CSV stream; README, "Memory"): glibc's malloc as it comes kept its peak
//! (160 MB) after the readers left, one arena per thread that ever allocated, each keeping
//! what it freed; jemalloc (background purging) and mimalloc were no better at the peak
//! (143 MB, 532 MB). Two arenas and a 128 KiB trim threshold gave the lowest peak and
//! handed most of it back. Explicit `MALLOC_ARENA_MAX` / `MALLOC_TRIM_THRESHOLD_` in the
//! environment win.

/// Call first thing in `main`, before any thread starts (arenas are made as threads first
/// allocate).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            // SAFETY: mallopt only changes malloc's parameters; no thread is running yet.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
        }
        if std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none() {
            // SAFETY: as above.
            unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024) };
        }
    }
}
