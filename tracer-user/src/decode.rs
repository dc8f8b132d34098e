//! Ring-buffer bytes → typed events. Pure: no I/O, no kernel, no root.
//!
//! Every record is validated against its declared kind and length before a
//! field is read; nothing here can panic on malformed input.

use thiserror::Error;
use tracer_common::{
    CLONE_ARGS_SIZE, COMM_LEN, PARENT_TID_OFFSET, RUSAGE_OFFSET, RUSAGE_SIZE, RecordKind, SyscallRecord,
    SyscallRecordExtra, syscall_flags,
};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {0} bytes is shorter than its header")]
    Truncated(usize),
    #[error("unknown record kind {0}")]
    UnknownKind(u32),
    #[error("{kind} record has {len} bytes, expected {expected}")]
    BadLength { kind: &'static str, len: usize, expected: usize },
}

/// Fields every record carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub cpu: u32,
    /// Nanoseconds since boot (CLOCK_BOOTTIME).
    pub ts_boot_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub cgroup_id: u64,
    /// comm bytes up to (not including) the first NUL.
    pub comm: Comm,
}

/// A task's comm: at most 15 bytes, any byte value but NUL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Comm {
    buf: [u8; COMM_LEN],
    len: u8,
}

impl Comm {
    pub fn from_bytes(raw: &[u8]) -> Self {
        let len = raw.iter().take(COMM_LEN).position(|&b| b == 0).unwrap_or(raw.len().min(COMM_LEN));
        let mut buf = [0; COMM_LEN];
        buf[..len].copy_from_slice(&raw[..len]);
        Comm { buf, len: len as u8 }
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// clone3's `struct clone_args` as far as the caller's `size` covered it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CloneArgs {
    /// Bytes actually read (64, 80 or 88 for the three published versions).
    pub len: u32,
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
    /// The tid the kernel stored at `parent_tid` (CLONE_PARENT_SETTID), read
    /// at exit.
    pub parent_tid_value: Option<u32>,
}

/// `struct rusage` (x86-64): two timevals, then fourteen longs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Rusage {
    pub utime_us: u64,
    pub stime_us: u64,
    /// ru_maxrss … ru_nivcsw in declaration order.
    pub longs: [i64; 14],
}

/// User memory the kernel side read for this call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extra {
    None,
    Clone3(CloneArgs),
    Wait4 { status: Option<i32>, rusage: Option<Rusage> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallEvent {
    pub header: Header,
    pub nr: u32,
    /// `tracer_common::syscall_flags` bits.
    pub flags: u32,
    pub args: [u64; 6],
    pub ret: i64,
    pub duration_ns: u64,
    pub extra: Extra,
}

impl SyscallEvent {
    pub fn enter_read_failed(&self) -> bool {
        self.flags & syscall_flags::ENTER_READ_FAILED != 0
    }
    pub fn exit_read_failed(&self) -> bool {
        self.flags & syscall_flags::EXIT_READ_FAILED != 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Syscall(SyscallEvent),
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

const HEADER_LEN: usize = size_of::<tracer_common::RecordHeader>();
const SYSCALL_LEN: usize = size_of::<SyscallRecord>();
const SYSCALL_EXTRA_LEN: usize = size_of::<SyscallRecordExtra>();

/// Decodes one ring-buffer record.
pub fn decode(b: &[u8]) -> Result<Event, DecodeError> {
    if b.len() < HEADER_LEN {
        return Err(DecodeError::Truncated(b.len()));
    }
    let kind = u32_at(b, 0);
    match RecordKind::try_from(kind).map_err(DecodeError::UnknownKind)? {
        RecordKind::Syscall => decode_syscall(b).map(Event::Syscall),
    }
}

fn decode_header(b: &[u8]) -> Header {
    Header {
        cpu: u32_at(b, 4),
        ts_boot_ns: u64_at(b, 8),
        pid: u32_at(b, 16),
        tid: u32_at(b, 20),
        ppid: u32_at(b, 24),
        uid: u32_at(b, 28),
        gid: u32_at(b, 32),
        cgroup_id: u64_at(b, 40),
        comm: Comm::from_bytes(&b[48..48 + COMM_LEN]),
    }
}

fn decode_syscall(b: &[u8]) -> Result<SyscallEvent, DecodeError> {
    if b.len() != SYSCALL_LEN && b.len() != SYSCALL_EXTRA_LEN {
        return Err(DecodeError::BadLength { kind: "syscall", len: b.len(), expected: SYSCALL_LEN });
    }
    let header = decode_header(b);
    let o = HEADER_LEN;
    let nr = u32_at(b, o);
    let flags = u32_at(b, o + 4);
    let mut args = [0u64; 6];
    for (i, a) in args.iter_mut().enumerate() {
        *a = u64_at(b, o + 8 + 8 * i);
    }
    let ret = u64_at(b, o + 56) as i64;
    let duration_ns = u64_at(b, o + 64);
    let extra_len = u32_at(b, o + 72) as usize;
    let extra = if b.len() == SYSCALL_EXTRA_LEN {
        decode_extra(flags, extra_len, &b[SYSCALL_LEN..])
    } else {
        Extra::None
    };
    Ok(SyscallEvent { header, nr, flags, args, ret, duration_ns, extra })
}

fn decode_extra(flags: u32, extra_len: usize, x: &[u8]) -> Extra {
    if flags & syscall_flags::EXTRA_CLONE_ARGS != 0 {
        let len = extra_len.min(CLONE_ARGS_SIZE);
        let field = |i: usize| if 8 * (i + 1) <= len { u64_at(x, 8 * i) } else { 0 };
        return Extra::Clone3(CloneArgs {
            len: len as u32,
            flags: field(0),
            pidfd: field(1),
            child_tid: field(2),
            parent_tid: field(3),
            exit_signal: field(4),
            stack: field(5),
            stack_size: field(6),
            tls: field(7),
            set_tid: field(8),
            set_tid_size: field(9),
            cgroup: field(10),
            parent_tid_value: (flags & syscall_flags::EXTRA_PARENT_TID != 0)
                .then(|| u32_at(x, PARENT_TID_OFFSET)),
        });
    }
    let status = (flags & syscall_flags::EXTRA_WAIT_STATUS != 0).then(|| u32_at(x, 0) as i32);
    let rusage = (flags & syscall_flags::EXTRA_RUSAGE != 0).then(|| {
        let r = &x[RUSAGE_OFFSET..RUSAGE_OFFSET + RUSAGE_SIZE];
        let tv = |o: usize| (u64_at(r, o)).wrapping_mul(1_000_000).wrapping_add(u64_at(r, o + 8));
        let mut longs = [0i64; 14];
        for (i, l) in longs.iter_mut().enumerate() {
            *l = u64_at(r, 32 + 8 * i) as i64;
        }
        Rusage { utime_us: tv(0), stime_us: tv(16), longs }
    });
    if status.is_none() && rusage.is_none() {
        Extra::None
    } else {
        Extra::Wait4 { status, rusage }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tracer_common::{EXTRA_MAX, RecordHeader, nr};

    pub(crate) fn header(pid: u32, tid: u32, comm: &[u8]) -> RecordHeader {
        let mut c = [0u8; COMM_LEN];
        c[..comm.len()].copy_from_slice(comm);
        RecordHeader {
            kind: RecordKind::Syscall as u32,
            cpu: 1,
            ts_ns: 5_000_000_123,
            pid,
            tid,
            ppid: 1,
            uid: 0,
            gid: 0,
            _pad0: 0,
            cgroup_id: 4242,
            comm: c,
        }
    }

    pub(crate) fn record(nr: u32, args: [u64; 6], ret: i64) -> SyscallRecord {
        SyscallRecord {
            header: header(100, 101, b"threads"),
            nr,
            flags: 0,
            args,
            ret,
            duration_ns: 1500,
            extra_len: 0,
            _pad1: 0,
        }
    }

    pub(crate) fn bytes<T: Copy>(v: &T) -> Vec<u8> {
        // Test-only view of a repr(C) record without padding, as the kernel writes it.
        unsafe { std::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) }.to_vec()
    }

    #[test]
    fn decodes_plain_syscall_record() {
        let r = record(nr::MMAP, [0, 8392704, 0, 0x20022, u64::MAX, 0], 0x7f89_78e0_0000);
        let Event::Syscall(ev) = decode(&bytes(&r)).unwrap();
        assert_eq!(ev.nr, nr::MMAP);
        assert_eq!(ev.header.pid, 100);
        assert_eq!(ev.header.tid, 101);
        assert_eq!(ev.header.comm.as_bytes(), b"threads");
        assert_eq!(ev.header.cgroup_id, 4242);
        assert_eq!(ev.args[1], 8392704);
        assert_eq!(ev.ret, 0x7f89_78e0_0000);
        assert_eq!(ev.duration_ns, 1500);
        assert_eq!(ev.extra, Extra::None);
    }

    #[test]
    fn decodes_clone3_args_honouring_size() {
        let mut x = SyscallRecordExtra { base: record(nr::CLONE3, [0x7ffd_0000, 88, 0, 0, 0, 0], 74200), extra: [0; EXTRA_MAX] };
        x.base.flags = syscall_flags::EXTRA_CLONE_ARGS;
        x.base.extra_len = 64; // a CLONE_ARGS_SIZE_VER0 caller
        let vals: [u64; 11] = [0x3d0f00, 0, 0x7f89_7960_0910, 0x7f89_7960_0910, 0, 0x7f89_78e0_0000, 0x7fff00, 0x7f89_7960_0640, 9, 9, 9];
        for (i, v) in vals.iter().enumerate() {
            x.extra[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
        }
        let Event::Syscall(ev) = decode(&bytes(&x)).unwrap();
        let Extra::Clone3(ca) = ev.extra else { panic!("no clone_args") };
        assert_eq!(ca.len, 64);
        assert_eq!(ca.flags, 0x3d0f00);
        assert_eq!(ca.stack, 0x7f89_78e0_0000);
        assert_eq!(ca.stack_size, 0x7fff00);
        assert_eq!(ca.tls, 0x7f89_7960_0640);
        // Beyond the caller's size: not read, reported as zero.
        assert_eq!((ca.set_tid, ca.set_tid_size, ca.cgroup), (0, 0, 0));
    }

    #[test]
    fn decodes_wait4_status_and_rusage() {
        let mut x = SyscallRecordExtra { base: record(nr::WAIT4, [76678, 0x7ffc_0000, 0, 0x7ffc_1000, 0, 0], 76678), extra: [0; EXTRA_MAX] };
        x.base.flags = syscall_flags::EXTRA_WAIT_STATUS | syscall_flags::EXTRA_RUSAGE;
        x.extra[0..4].copy_from_slice(&0x100i32.to_le_bytes());
        x.extra[RUSAGE_OFFSET..RUSAGE_OFFSET + 8].copy_from_slice(&2u64.to_le_bytes()); // utime.tv_sec
        x.extra[RUSAGE_OFFSET + 8..RUSAGE_OFFSET + 16].copy_from_slice(&5u64.to_le_bytes()); // utime.tv_usec
        x.extra[RUSAGE_OFFSET + 32..RUSAGE_OFFSET + 40].copy_from_slice(&1234u64.to_le_bytes()); // maxrss
        let Event::Syscall(ev) = decode(&bytes(&x)).unwrap();
        let Extra::Wait4 { status, rusage } = ev.extra else { panic!() };
        assert_eq!(status, Some(0x100));
        let ru = rusage.unwrap();
        assert_eq!(ru.utime_us, 2_000_005);
        assert_eq!(ru.longs[0], 1234);
    }

    #[test]
    fn rejects_malformed_records_without_panicking() {
        assert_eq!(decode(&[]), Err(DecodeError::Truncated(0)));
        assert_eq!(decode(&[1, 0, 0]), Err(DecodeError::Truncated(3)));
        let mut b = bytes(&record(nr::MMAP, [0; 6], 0));
        b[0] = 99;
        assert_eq!(decode(&b), Err(DecodeError::UnknownKind(99)));
        b[0] = 1;
        b.pop();
        assert!(matches!(decode(&b), Err(DecodeError::BadLength { .. })));
        // Every prefix length and a spray of byte patterns: errors, never panics.
        let good = bytes(&SyscallRecordExtra { base: record(nr::WAIT4, [0; 6], 1), extra: [0xff; EXTRA_MAX] });
        for n in 0..=good.len() {
            let _ = decode(&good[..n]);
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let mut v = good.clone();
            for byte in v.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *byte = seed as u8;
            }
            v[0] = 1;
            let _ = decode(&v);
        }
    }

    #[test]
    fn comm_stops_at_first_nul_and_keeps_any_other_byte() {
        assert_eq!(Comm::from_bytes(b"ab\0cd").as_bytes(), b"ab");
        assert_eq!(Comm::from_bytes(b"\x1b\"\\\xff\n").as_bytes(), b"\x1b\"\\\xff\n");
        assert_eq!(Comm::from_bytes(&[b'x'; 16]).as_bytes(), &[b'x'; 16]);
    }
}
