//! Giving freed memory back to the system between the types of a sync.

/// How many stored summaries a type must have had for their memory to be
/// given back when it is done (fewer: not worth the page faults of using
/// the memory again).
pub(crate) const RELEASE_AFTER_SUMMARIES: usize = 100_000;

/// Returns the allocator's free pages to the system. A type's stored
/// summaries are a million small allocations or more; once they are
/// dropped, the next type's summaries (one large vector, mapped on its own)
/// cannot reuse them, and the process would keep both: at 1M students,
/// about 250 MiB of the unchanged re-sync's peak. glibc only
/// (`malloc_trim`); with another allocator, nothing.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer; it only walks and trims the
    // allocator's own free lists, under the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
