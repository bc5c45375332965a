//! The plugin's allocator (src/lib.rs makes it the wasm module's global
//! allocator): free lists of small blocks in front of the system allocator,
//! wasi-libc's dlmalloc. A `tracesafe-full` request allocates and frees some
//! 80 small blocks (names, values, tokens, hit lists); popping or pushing a
//! list costs a few instructions where dlmalloc's bins cost a hundred or
//! more (docs/benchmark.md, "Envoy").
//!
//! Blocks on a list are never handed back, so the lists hold at most the
//! most blocks of each size ever live at once: memory stays flat under a
//! steady load, as the soak test shows. Blocks above [`LARGEST`] bytes or
//! aligned beyond [`STEP`] go to the system allocator as before.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Size classes are multiples of this, which is also every pooled block's
/// alignment.
pub const STEP: usize = 16;
/// Classes `STEP`, `2 * STEP`, … up to `CLASSES * STEP` bytes.
const CLASSES: usize = 16;
/// The largest pooled block.
pub const LARGEST: usize = CLASSES * STEP;

pub struct Pool {
    /// The head of each class's free list; a free block holds the next.
    heads: UnsafeCell<[*mut u8; CLASSES]>,
}

// SAFETY: a proxy-wasm VM runs one thread and has no shared memory (no
// `atomics`), so no two calls ever touch the lists at once. Elsewhere a
// `Pool` is not `Sync` and cannot be a global allocator.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl Sync for Pool {}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

impl Pool {
    pub const fn new() -> Self {
        Self {
            heads: UnsafeCell::new([ptr::null_mut(); CLASSES]),
        }
    }

    /// The class of a layout, if the pool serves it.
    #[inline]
    fn class(layout: Layout) -> Option<usize> {
        if layout.align() > STEP || layout.size() > LARGEST {
            return None;
        }
        Some(layout.size().max(1).div_ceil(STEP) - 1)
    }

    /// The system layout of every block of class `c`.
    #[inline]
    fn block(c: usize) -> Layout {
        // A multiple of a power-of-two alignment, far below isize::MAX:
        // always valid, so the fallback is never taken.
        Layout::from_size_align((c + 1) * STEP, STEP).unwrap_or(Layout::new::<u8>())
    }

    /// The free list of class `c`.
    ///
    /// # Safety
    /// No other reference to the lists may be live: one thread, and no
    /// caller keeps the reference past its own call.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    unsafe fn head(&self, c: usize) -> Option<&mut *mut u8> {
        // SAFETY: the caller's contract.
        unsafe { (*self.heads.get()).get_mut(c) }
    }
}

// The fast paths are inlined into every allocation site: 4.3k fewer
// instructions per request than out-of-line calls, for 95 KB of module
// (docs/benchmark.md, "Size and opt-level"). The system allocator stays
// out of line.
unsafe impl GlobalAlloc for Pool {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = Self::class(layout) else {
            // SAFETY: the caller's layout (non-zero size).
            return unsafe { system_alloc(layout) };
        };
        // SAFETY: no other list reference is live during this call.
        if let Some(head) = unsafe { self.head(c) } {
            let block = *head;
            if !block.is_null() {
                // SAFETY: a listed block is ours, free, STEP-aligned, and
                // holds the next block's address in its first word.
                *head = unsafe { block.cast::<*mut u8>().read() };
                return block;
            }
        }
        // SAFETY: a non-zero size.
        unsafe { system_alloc(Self::block(c)) }
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(c) = Self::class(layout) else {
            // SAFETY: allocated by the system allocator with this layout.
            return unsafe { system_dealloc(block, layout) };
        };
        // SAFETY: no other list reference is live during this call.
        match unsafe { self.head(c) } {
            Some(head) => {
                // SAFETY: the block is at least STEP bytes and STEP-aligned,
                // room for one pointer, and its owner is done with it.
                unsafe { block.cast::<*mut u8>().write(*head) };
                *head = block;
            }
            // SAFETY: every block of class c has the layout `block(c)`.
            None => unsafe { system_dealloc(block, Self::block(c)) },
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return ptr::null_mut();
        };
        match (Self::class(layout), Self::class(new)) {
            // Both large: dlmalloc may grow in place.
            // SAFETY: allocated by the system allocator with `layout`.
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            // The block already has room.
            (Some(a), Some(b)) if a == b => block,
            _ => {
                // SAFETY: a non-zero size (the caller's contract).
                let to = unsafe { self.alloc(new) };
                if !to.is_null() {
                    // SAFETY: both blocks are live, distinct and at least
                    // this long; the old one is then freed with its layout.
                    unsafe {
                        ptr::copy_nonoverlapping(block, to, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                to
            }
        }
    }
}

#[cold]
#[inline(never)]
unsafe fn system_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: the caller's contract (a non-zero size).
    unsafe { System.alloc(layout) }
}

#[cold]
#[inline(never)]
unsafe fn system_dealloc(block: *mut u8, layout: Layout) {
    // SAFETY: the caller's contract (allocated by System with `layout`).
    unsafe { System.dealloc(block, layout) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// A live block and the byte it was filled with.
    struct Live {
        ptr: *mut u8,
        layout: Layout,
        fill: u8,
    }

    impl Live {
        fn new(pool: &Pool, layout: Layout, fill: u8) -> Self {
            let ptr = unsafe { pool.alloc(layout) };
            assert!(!ptr.is_null());
            assert_eq!(ptr as usize % layout.align(), 0, "{layout:?}");
            unsafe { ptr::write_bytes(ptr, fill, layout.size()) };
            Self { ptr, layout, fill }
        }

        /// Every byte still holds the fill: no other block overlaps it.
        fn check(&self) {
            let bytes = unsafe { std::slice::from_raw_parts(self.ptr, self.layout.size()) };
            assert!(bytes.iter().all(|b| *b == self.fill), "{:?}", self.layout);
        }
    }

    #[test]
    fn a_freed_small_block_is_the_next_one_of_its_class() {
        let pool = Pool::new();
        let a = unsafe { pool.alloc(layout(24, 8)) };
        let b = unsafe { pool.alloc(layout(24, 8)) };
        assert_ne!(a, b);
        unsafe { pool.dealloc(a, layout(24, 8)) };
        // 17..=32 bytes share a class: the freed 24-byte block serves 32.
        assert_eq!(unsafe { pool.alloc(layout(32, 1)) }, a);
        // Another class does not take it.
        unsafe { pool.dealloc(b, layout(24, 8)) };
        let c = unsafe { pool.alloc(layout(48, 8)) };
        assert_ne!(c, b);
        for (p, l) in [(a, layout(32, 1)), (c, layout(48, 8))] {
            unsafe { pool.dealloc(p, l) };
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_across_classes_and_the_system_allocator() {
        let pool = Pool::new();
        let mut l = layout(5, 1);
        let mut p = unsafe { pool.alloc(l) };
        unsafe { ptr::copy_nonoverlapping(b"hello".as_ptr(), p, 5) };
        // Same class: the block itself; then a larger class, then past
        // LARGEST (the system allocator), then back down.
        for size in [16, 17, LARGEST, LARGEST + 1, 4096, 200, 5] {
            let q = unsafe { pool.realloc(p, l, size) };
            assert!(!q.is_null());
            if size == 16 {
                assert_eq!(q, p, "same class");
            }
            let head = unsafe { std::slice::from_raw_parts(q, 5) };
            assert_eq!(head, b"hello", "after realloc to {size}");
            l = layout(size, 1);
            p = q;
        }
        unsafe { pool.dealloc(p, l) };
    }

    #[test]
    fn wide_alignments_and_large_blocks_go_to_the_system_allocator() {
        let pool = Pool::new();
        for l in [layout(64, 32), layout(8, 64), layout(LARGEST + 1, 8)] {
            let live = Live::new(&pool, l, 0xa5);
            live.check();
            unsafe { pool.dealloc(live.ptr, l) };
        }
    }

    /// Generated alloc/free/realloc sequences over every class and both
    /// sides of LARGEST: every live block keeps its bytes, so no two ever
    /// overlap and no free block is handed out twice.
    #[test]
    fn generated_sequences_never_overlap_blocks() {
        let pool = Pool::new();
        let mut live: Vec<Live> = Vec::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000u32 {
            let fill = (round % 251) as u8;
            match next() % 4 {
                0 | 1 => {
                    let size = 1 + (next() % (LARGEST as u64 + 64)) as usize;
                    let align = 1 << (next() % 6);
                    live.push(Live::new(&pool, layout(size, align), fill));
                }
                2 if !live.is_empty() => {
                    let b = live.swap_remove((next() % live.len() as u64) as usize);
                    b.check();
                    unsafe { pool.dealloc(b.ptr, b.layout) };
                }
                _ if !live.is_empty() => {
                    let i = (next() % live.len() as u64) as usize;
                    let size = 1 + (next() % (LARGEST as u64 * 2)) as usize;
                    let b = &mut live[i];
                    b.check();
                    let q = unsafe { pool.realloc(b.ptr, b.layout, size) };
                    assert!(!q.is_null());
                    let kept = b.layout.size().min(size);
                    let head = unsafe { std::slice::from_raw_parts(q, kept) };
                    assert!(head.iter().all(|x| *x == b.fill));
                    unsafe { ptr::write_bytes(q, b.fill, size) };
                    b.ptr = q;
                    b.layout = layout(size, b.layout.align());
                }
                _ => {}
            }
        }
        for b in live {
            b.check();
            unsafe { pool.dealloc(b.ptr, b.layout) };
        }
    }
}
