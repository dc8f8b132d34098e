//! Memory: mmap/mprotect `prot`, mmap `flags`.

use super::*;

// ---------------------------------------------------------------------------
// mmap / mprotect prot
// ---------------------------------------------------------------------------

/// `PROT_*` for mmap(2)/mprotect(2)/pkey_mprotect(2).
/// Values: asm-generic/mman-common.h (x86-64 uses the generic values).
/// Order: strace 6.1 (`mmap_prot` xlat).
pub const PROT: &Table = &[
    (0x0, "PROT_NONE"),
    (0x1, "PROT_READ"),
    (0x2, "PROT_WRITE"),
    (0x4, "PROT_EXEC"),
    (0x8, "PROT_SEM"),
    (0x0100_0000, "PROT_GROWSDOWN"),
    (0x0200_0000, "PROT_GROWSUP"),
];

/// mmap/mprotect `prot`, e.g. `PROT_READ|PROT_WRITE`, `PROT_NONE`,
/// `PROT_READ|0x100`, `0x100 /* PROT_??? */`. All 64 bits are decoded
/// (strace prints `PROT_READ|0x100000000` for 0x100000001).
pub fn prot(v: u64) -> String {
    string_of(|s| write_prot(s, v))
}

pub fn write_prot(out: &mut impl Sink, v: u64) {
    push_flags(out, v, PROT, Some("PROT_???"));
}

// ---------------------------------------------------------------------------
// mmap flags
// ---------------------------------------------------------------------------

/// `MAP_TYPE` (mask 0x0f) selects one mapping type; the rest are flags.
/// Value: asm-generic/mman-common.h.
const MAP_TYPE: u32 = 0x0f;
/// `MAP_HUGE_SHIFT` / `MAP_HUGE_MASK`: log2 of the huge page size is encoded
/// in bits 26..31. Values: linux/mman.h via asm-generic/hugetlb_encode.h.
pub(super) const MAP_HUGE_SHIFT: u32 = 26;
const MAP_HUGE_MASK: u32 = 0x3f;

/// Mapping types (the `MAP_TYPE` field). strace prints type 0 as `MAP_FILE`.
/// Values: linux/mman.h (`MAP_SHARED`, `MAP_PRIVATE`, `MAP_SHARED_VALIDATE`)
/// and asm-generic/mman-common.h (`MAP_FILE` = 0).
/// This is a value field, not bits, so it is a separate table (as in strace).
pub const MMAP_TYPES: &Table = &[
    (0x0, "MAP_FILE"),
    (0x1, "MAP_SHARED"),
    (0x2, "MAP_PRIVATE"),
    (0x3, "MAP_SHARED_VALIDATE"),
];

/// mmap flag bits (outside `MAP_TYPE` and the huge-page size field).
/// Values: asm-generic/mman-common.h, asm-generic/mman.h (GROWSDOWN,
/// DENYWRITE, EXECUTABLE, LOCKED, NORESERVE), x86 asm/mman.h (MAP_32BIT).
/// Order is strace 6.1's printing order, which is NOT bit order
/// (MAP_NORESERVE/POPULATE/NONBLOCK come before MAP_GROWSDOWN).
/// `MAP_UNINITIALIZED` (0x4000000) is deliberately absent: that bit is
/// bit 26, inside the huge-page field, and strace prints it as
/// `1<<MAP_HUGE_SHIFT`.
pub const MMAP_FLAGS: &Table = &[
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x1_0000, "MAP_NONBLOCK"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x2_0000, "MAP_STACK"),
    (0x4_0000, "MAP_HUGETLB"),
    (0x8_0000, "MAP_SYNC"),
    (0x10_0000, "MAP_FIXED_NOREPLACE"),
];

/// mmap `flags`, e.g. `MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK`.
///
/// Like strace, only the low 32 bits are decoded (strace prints
/// `MAP_PRIVATE|MAP_ANONYMOUS` for 0x100000022). Layout of the result:
/// type name (`MAP_FILE` for 0, `0x4 /* MAP_??? */` for an unknown type),
/// then `|flags` (unknown bits as bare `0x...`), then
/// `|N<<MAP_HUGE_SHIFT` if the huge-page size field is non-zero
/// (e.g. `21<<MAP_HUGE_SHIFT` for MAP_HUGE_2MB, independent of MAP_HUGETLB).
pub fn mmap_flags(v: u64) -> String {
    string_of(|s| write_mmap_flags(s, v))
}

pub fn write_mmap_flags(s: &mut impl Sink, v: u64) {
    let f = v as u32;
    let ty = f & MAP_TYPE;
    let huge = (f >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    let rest = f & !MAP_TYPE & !(MAP_HUGE_MASK << MAP_HUGE_SHIFT);

    match lookup(MMAP_TYPES, ty.into()) {
        Some(name) => s.put(name),
        None => {
            write_hex(s, ty.into());
            s.put(" /* MAP_??? */");
        }
    }
    if rest != 0 {
        s.put("|");
        push_flags(s, rest.into(), MMAP_FLAGS, None);
    }
    if huge != 0 {
        s.put("|");
        write_dec(s, huge.into());
        s.put("<<MAP_HUGE_SHIFT");
    }
}
