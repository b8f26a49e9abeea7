//! Splitting per-cell work over the available cores (`std::thread::scope`). Each part is computed
//! exactly as it would be alone, so results do not depend on the number of threads.

/// Below this many items the work stays on the calling thread.
pub(crate) const PARALLEL_MIN: usize = 8_192;
/// At most this many threads.
pub(crate) const MAX_THREADS: usize = 8;

/// The number of threads for `len` items.
pub(crate) fn threads_for(len: usize) -> usize {
    if len < PARALLEL_MIN {
        return 1;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_THREADS)
}

/// `f` over consecutive chunks of `items` (one per thread), the outputs concatenated in order.
pub(crate) fn map_chunks<T: Sync, U: Send>(
    items: &[T],
    f: impl Fn(&[T]) -> Vec<U> + Sync,
) -> Vec<U> {
    let threads = threads_for(items.len());
    if threads <= 1 {
        return f(items);
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    let parts: Vec<Vec<U>> = std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(move || f(c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker thread panicked"))
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for p in parts {
        out.extend(p);
    }
    out
}
