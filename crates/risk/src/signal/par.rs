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
    cores().min(len / min_per_thread).max(1)
}

/// The available parallelism, at most [`MAX_THREADS`], asked once per process: on Linux
/// `available_parallelism` reads the cgroup quota files, which costs more than scoring a
/// small table.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(MAX_THREADS)
    })
}

/// Items per block handed out to the threads of [`map_with`].
const BLOCK: usize = 2_048;

/// `f` over every item, in order. With at least `2 × min_per_thread` items the work is shared by
/// the calling thread and helper threads (up to [`threads_for`] in all): each takes the next
/// block of `BLOCK` items until none is left and writes its results straight into that block of
/// the output, so nothing is copied, the output's pages are first touched in parallel, and a
/// helper that the scheduler starts late (a busy machine) leaves its share to the others instead
/// of holding up the result. Each thread starts from its own `state(items)` (e.g. a cache);
/// `f` must not depend on what the state has seen, so the result does not depend on the split.
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
    {
        let blocks: Vec<(&[T], &mut [MaybeUninit<U>])> = items
            .chunks(BLOCK)
            .zip(out.spare_capacity_mut()[..len].chunks_mut(BLOCK))
            .collect();
        let queue = std::sync::Mutex::new(blocks.into_iter());
        let (state, f, queue) = (&state, &f, &queue);
        let work = move || {
            let mut s = state(items);
            loop {
                let next = queue
                    .lock()
                    .expect("no worker panics holding the queue")
                    .next();
                let Some((src, dst)) = next else { break };
                for (x, slot) in src.iter().zip(dst) {
                    slot.write(f(&mut s, x));
                }
            }
        };
        std::thread::scope(|sc| {
            for _ in 1..threads {
                sc.spawn(work);
            }
            work();
        });
    }
    // SAFETY: `items.chunks(BLOCK)` and the first `len` spare slots split by `chunks_mut(BLOCK)`
    // pair up one to one with equal lengths and cover all `len` slots; every block leaves the
    // queue exactly once and the thread that takes it writes every slot of it; the scope has
    // joined all threads (a panic in one propagates before this line). So the first `len`
    // elements are initialised.
    unsafe { out.set_len(len) };
    out
}

/// Where [`map_blocks`]'s function puts its results: the output slots of its block, in order.
pub(crate) struct Emit<'a, U> {
    slots: &'a mut [MaybeUninit<U>],
    filled: usize,
}

impl<U> Emit<'_, U> {
    /// The result of the next item of the block (panics past the block's end).
    #[inline]
    pub(crate) fn push(&mut self, value: U) {
        self.slots[self.filled].write(value);
        self.filled += 1;
    }
}

/// Like [`map_with`], but `f` maps a whole block of items at once, pushing one result per item
/// in order: for loops that run faster in passes over a block (the cheap arithmetic of every
/// item first, then an expensive function of each: shorter dependency chains overlap better).
pub(crate) fn map_blocks<T: Sync, U: Send>(
    items: &[T],
    min_per_thread: usize,
    f: impl Fn(&[T], &mut Emit<'_, U>) + Sync,
) -> Vec<U> {
    let threads = threads_for(items.len(), min_per_thread);
    let len = items.len();
    let mut out: Vec<U> = Vec::with_capacity(len);
    let fill = |src: &[T], slots: &mut [MaybeUninit<U>]| {
        let mut emit = Emit { slots, filled: 0 };
        f(src, &mut emit);
        assert_eq!(emit.filled, src.len(), "one result per item");
    };
    {
        let blocks = items
            .chunks(BLOCK)
            .zip(out.spare_capacity_mut()[..len].chunks_mut(BLOCK));
        if threads <= 1 {
            for (src, dst) in blocks {
                fill(src, dst);
            }
        } else {
            let queue = std::sync::Mutex::new(blocks);
            let (fill, queue) = (&fill, &queue);
            let work = move || {
                loop {
                    let next = queue
                        .lock()
                        .expect("no worker panics holding the queue")
                        .next();
                    let Some((src, dst)) = next else { break };
                    fill(src, dst);
                }
            };
            std::thread::scope(|sc| {
                for _ in 1..threads {
                    sc.spawn(work);
                }
                work();
            });
        }
    }
    // SAFETY: the blocks of `items` and of the first `len` spare slots pair up one to one with
    // equal lengths and cover all `len` slots; each block is filled once (the queue hands it out
    // once), and `fill` checks that `f` wrote one result for each of its items, in its slots
    // (`Emit::push` writes them in order and cannot go past the block); the scope has joined all
    // threads, and any panic propagates before this line.
    unsafe { out.set_len(len) };
    out
}
