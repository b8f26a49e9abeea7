//! Splitting per-cell work over the available cores (`std::thread::scope`). Each part is computed
//! exactly as it would be alone, so results do not depend on the number of threads.

use std::mem::MaybeUninit;

/// At most this many threads.
pub(crate) const MAX_THREADS: usize = 8;

/// The number of threads for `len` items of which a thread should get at least `min_per_thread`
/// (starting a thread costs some tens of microseconds: below that much work per thread it does
/// not pay).
pub(crate) fn threads_for(len: usize, min_per_thread: usize) -> usize {
    if len < 2 * min_per_thread {
        return 1;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_THREADS)
        .min(len / min_per_thread)
        .max(1)
}

/// `f` over every item, in order, with consecutive chunks of `items` on separate threads when
/// there are at least `2 × min_per_thread` items. Each thread starts from its own `state(chunk)`
/// (e.g. a cache) and writes its results straight into its own part of the output, so nothing is
/// copied and the output's pages are first touched in parallel.
pub(crate) fn map_with<T: Sync, U: Send, S>(
    items: &[T],
    min_per_thread: usize,
    state: impl Fn(&[T]) -> S + Sync,
    f: impl Fn(&mut S, &T) -> U + Sync,
) -> Vec<U> {
    let threads = threads_for(items.len(), min_per_thread);
    if threads <= 1 {
        let mut s = state(items);
        return items.iter().map(|x| f(&mut s, x)).collect();
    }
    let len = items.len();
    let mut out: Vec<U> = Vec::with_capacity(len);
    let chunk = len.div_ceil(threads);
    let (state, f) = (&state, &f);
    let fill = move |src: &[T], dst: &mut [MaybeUninit<U>]| {
        let mut s = state(src);
        for (x, slot) in src.iter().zip(dst) {
            slot.write(f(&mut s, x));
        }
    };
    std::thread::scope(|sc| {
        let dst = &mut out.spare_capacity_mut()[..len];
        for (src, dst) in items.chunks(chunk).zip(dst.chunks_mut(chunk)) {
            sc.spawn(move || fill(src, dst));
        }
    });
    // SAFETY: `items.chunks(chunk)` and the first `len` spare slots split by `chunks_mut(chunk)`
    // pair up one to one with equal lengths, and `fill` writes every slot of its part; the scope
    // has joined all threads (a panic in one propagates before this line). So the first `len`
    // elements are initialised.
    unsafe { out.set_len(len) };
    out
}
