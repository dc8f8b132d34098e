use super::*;
use tracer_common::layout;

pub(crate) fn header(pid: u32, tid: u32, comm: &[u8]) -> RecordHeader {
    let mut c = [0u8; tracer_common::COMM_LEN];
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
        ns_level: 0,
        cgroup_id: 4242,
        comm: c,
        ns_pid: pid,
        ns_tid: tid,
        ns_ppid: 1,
        _pad0: 0,
        start_ns: 4_000_000_000,
        parent_start_ns: 1_000_000,
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
    let Event::Syscall(ev) = decode(&bytes(&r)).unwrap() else { panic!() };
    assert_eq!(ev.nr, nr::MMAP);
    assert_eq!(ev.header.pid, 100);
    assert_eq!((ev.header.start_ns, ev.header.parent_start_ns), (4_000_000_000, 1_000_000));
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
    let args = layout::CloneArgs {
        flags: 0x3d0f00,
        child_tid: 0x7f89_7960_0910,
        parent_tid: 0x7f89_7960_0910,
        stack: 0x7f89_78e0_0000,
        stack_size: 0x7fff00,
        tls: 0x7f89_7960_0640,
        set_tid: 9,
        set_tid_size: 9,
        cgroup: 9,
        ..Default::default()
    };
    assert!(layout::write(&mut x.extra, &layout::Clone3Extra { args, parent_tid_value: 0, _pad: 0 }));
    let Event::Syscall(ev) = decode(&bytes(&x)).unwrap() else { panic!() };
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
    let mut rusage = layout::Rusage { utime: Timeval { sec: 2, usec: 5 }, ..Default::default() };
    rusage.longs[0] = 1234; // maxrss
    assert!(layout::write(&mut x.extra, &Wait4Extra { status: 0x100, _pad: 0, rusage }));
    let Event::Syscall(ev) = decode(&bytes(&x)).unwrap() else { panic!() };
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
fn an_argument_block_splits_into_strings() {
    let s = |b: &[u8], t| Some(UserStr { bytes: b.to_vec(), truncated: t });
    assert_eq!(argv_block(b"true\0x\0", 2, false), vec![s(b"true", false), s(b"x", false)]);
    let long = b"a-long-argument-that-is-longer-than-32-bytes\0y\0";
    assert_eq!(argv_block(long, 3, false), vec![s(b"a-long-argument-that-is-longer-t", true), s(b"y", false)]);
    // The block was cut mid-string: that string is truncated.
    assert_eq!(argv_block(b"ab\0cd", 2, true), vec![s(b"ab", false), s(b"cd", true)]);
    assert_eq!(argv_block(b"ab\0cd\0ef\0", 2, false).len(), 2);
}

#[test]
fn comm_stops_at_first_nul_and_keeps_any_other_byte() {
    assert_eq!(Comm::from_bytes(b"ab\0cd").as_bytes(), b"ab");
    assert_eq!(Comm::from_bytes(b"\x1b\"\\\xff\n").as_bytes(), b"\x1b\"\\\xff\n");
    assert_eq!(Comm::from_bytes(&[b'x'; 16]).as_bytes(), &[b'x'; 16]);
}
