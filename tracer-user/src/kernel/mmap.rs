//! BPF map memory mapped into the daemon ([`Mapping`], the one mmap type),
//! and the two single-word views through it: the `READER` state the daemon
//! writes ([`ReaderState`]) and the ring buffer's positions it reads for the
//! fill level ([`RingFill`]). Reading or writing them is a plain memory
//! access, no `bpf()` call, so they keep working after the privileges are
//! dropped.

use std::os::fd::{AsRawFd as _, BorrowedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aya::maps::MapData;

/// The system's page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// `bytes` (rounded up to pages) of a BPF map's memory at `offset`, mapped
/// shared; unmapped on drop. The mapping keeps the map alive by itself.
pub(crate) struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned by Mapping, and its users touch it only with
// atomic loads and stores.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `bytes` of map `fd` from `offset` (a multiple of the page size),
    /// writable if `write`. The map's memory must be at least that long
    /// (rounded up to pages), as an mmap-able array's or a ring buffer's
    /// position pages are.
    pub(crate) fn new(fd: BorrowedFd<'_>, offset: usize, bytes: usize, write: bool) -> std::io::Result<Mapping> {
        let page = page_size();
        let len = bytes.div_ceil(page).max(1) * page;
        let prot = if write { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        // SAFETY: a fresh shared mapping of the map's fd, no longer than the
        // memory the kernel lets us map there (it refuses otherwise).
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd.as_raw_fd(), offset as libc::off_t) };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping { ptr: p as *mut u8, len })
    }

    /// The `i`th u64 of the mapping.
    pub(crate) fn u64_at(&self, i: usize) -> &AtomicU64 {
        assert!((i + 1) * 8 <= self.len, "u64 {i} outside a mapping of {} bytes", self.len);
        // SAFETY: in bounds (checked above) and 8-aligned (the mapping is
        // page-aligned); the kernel reads and writes these words with plain
        // aligned accesses, we only with atomics.
        unsafe { &*(self.ptr as *const AtomicU64).add(i) }
    }

    /// The mapping's first u32.
    fn first_u32(&self) -> &AtomicU32 {
        // SAFETY: a mapping is at least a page, page-aligned.
        unsafe { &*(self.ptr as *const AtomicU32) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(self.ptr as *mut _, self.len) };
    }
}

/// The `READER` state (see `tracer-ebpf/src/main.rs`), mapped writable:
/// the daemon says through it what it is doing
/// ([`tracer_common::reader`]), and so when a record should wake it.
pub struct ReaderState {
    mapping: Mapping,
    /// Keeps the map's fd (the mapping alone would keep the map alive too).
    _map: MapData,
}

impl ReaderState {
    pub(crate) fn new(map: MapData) -> std::io::Result<ReaderState> {
        use std::os::fd::AsFd as _;
        let mapping = Mapping::new(map.fd().as_fd(), 0, 4, true)?;
        Ok(ReaderState { mapping, _map: map })
    }

    /// Sets the state. Sequentially consistent, a full barrier on x86-64
    /// (`xchg`): the daemon's next look at the ring cannot be ordered before
    /// it, which is its half of the handshake `syscalls::submit` describes.
    pub fn set(&self, state: u32) {
        self.mapping.first_u32().store(state, Ordering::SeqCst);
    }
}

/// Producer and consumer positions of the ring buffer, mapped read-only, for
/// the fill level in `stats` (aya does not expose them).
pub struct RingFill {
    consumer: Mapping,
    producer: Mapping,
    size: u64,
}

impl RingFill {
    /// Maps the two position pages of ring buffer `fd` (kernel layout:
    /// consumer page at offset 0, producer page after it).
    pub fn new(fd: BorrowedFd<'_>, size: u32) -> Option<RingFill> {
        let page = page_size();
        let consumer = Mapping::new(fd, 0, page, false).ok()?;
        let producer = Mapping::new(fd, page, page, false).ok()?;
        Some(RingFill { consumer, producer, size: size.into() })
    }

    /// Bytes committed or reserved by the kernel and not yet consumed.
    pub fn used(&self) -> u64 {
        // The kernel updates both positions with release semantics.
        let c = self.consumer.u64_at(0).load(Ordering::Acquire);
        let p = self.producer.u64_at(0).load(Ordering::Acquire);
        p.saturating_sub(c).min(self.size)
    }
}
