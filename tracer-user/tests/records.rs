//! Every byte of every record the kernel side reserves is written: the
//! ring buffer is small enough here to wrap many times, so any byte left
//! unwritten would show a previous record's data.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};
use std::mem::size_of;
use tracer_common::layout::{self, Record, Timeval, read};
use tracer_common::{
    CLONE_ARGS_SIZE, EXIT_CHILDREN_MAX, EXTRA_MAX, ExecRecord, ExitRecord, ForkRecord, RecordHeader, RecordKind,
    SignalRecord, SyscallRecord, SyscallRecordExec, SyscallRecordExtra, nr, syscall_flags as f,
};
use tracer_user::kernel::load::{LoadOptions, load};

/// A NUL-terminated string slot: nothing after the terminator.
fn check_str_slot(slot: &[u8], what: &str) {
    if let Some(nul) = slot.iter().position(|&c| c == 0) {
        assert!(slot[nul..].iter().all(|&c| c == 0), "{what} tail {slot:?}");
    }
}

/// Reads `b` as a `T` of exactly its length.
fn exactly<T: Record>(b: &[u8]) -> T {
    assert_eq!(b.len(), size_of::<T>(), "{} record length", std::any::type_name::<T>());
    read(b).unwrap()
}

/// Checks that every byte that holds no data is 0. Returns the record's
/// kind.
fn check_record(b: &[u8]) -> u32 {
    let h: RecordHeader = read(b).expect("a whole header");
    assert_eq!(h._pad0, 0, "header padding");
    // comm is NUL-padded after its terminator.
    check_str_slot(&h.comm, "comm");
    match RecordKind::try_from(h.kind) {
        Ok(RecordKind::Syscall) => check_syscall(b),
        Ok(RecordKind::Fork) => {
            let r: ForkRecord = exactly(b);
            assert_eq!(r._pad, 0, "fork padding");
        }
        Ok(RecordKind::Exec) => {
            let r: ExecRecord = exactly(b);
            check_str_slot(&r.filename, "exec filename");
        }
        // exit: the children left, the unused slots zero.
        Ok(RecordKind::Exit) => {
            let r: ExitRecord = exactly(b);
            let n = r.nr_children as usize;
            assert!(n <= EXIT_CHILDREN_MAX);
            assert!(r.children[n..].iter().all(|&c| c == 0), "exit children tail");
        }
        Ok(RecordKind::Signal) => {
            let r: SignalRecord = exactly(b);
            check_str_slot(&r.target_comm, "target comm");
        }
        Err(k) => panic!("record kind {k}"),
    }
    h.kind
}

/// Marks in `mask` the bytes `v` covers where it is non-zero (`v` written
/// at the start of `mask`'s area, as the kernel side writes the struct).
fn allow<T: Record>(mask: &mut [u8; EXTRA_MAX], v: &T) {
    let mut view = [0u8; EXTRA_MAX];
    assert!(layout::write(&mut view, v));
    mask.iter_mut().zip(view).for_each(|(m, b)| *m |= b);
}

fn check_syscall(b: &[u8]) {
    const PLAIN: usize = size_of::<SyscallRecord>();
    const EXTRA: usize = size_of::<SyscallRecordExtra>();
    const EXEC: usize = size_of::<SyscallRecordExec>();
    assert!([PLAIN, EXTRA, EXEC].contains(&b.len()), "syscall record length {}", b.len());
    let r: SyscallRecord = read(b).unwrap();
    assert_eq!(r._pad1, 0, "syscall padding");
    let (nr, flags, extra_len) = (r.nr, r.flags, r.extra_len as usize);
    if b.len() == EXEC {
        // execve/execveat: the ExecCapture, its string slots NUL-padded.
        let x: SyscallRecordExec = exactly(b);
        let x = x.exec;
        if flags & f::EXTRA_EXEC == 0 {
            assert!(layout_bytes(&x).iter().all(|&c| c == 0), "unread exec capture not zeroed");
            return;
        }
        check_str_slot(&x.filename, "exec filename");
        if x.flags & tracer_common::exec_flags::ARGV_BLOCK != 0 {
            let n = x.argv_len[0] as u16 as usize;
            assert!(x.argv_len[1..].iter().all(|&l| l == 0));
            assert!(x.argv.as_flattened()[n..].iter().all(|&c| c == 0), "argv block tail");
        } else {
            for slot in &x.argv {
                check_str_slot(slot, "argv slot");
            }
        }
        return;
    }
    if b.len() == PLAIN {
        return;
    }
    let x: SyscallRecordExtra = exactly(b);
    // Where each capture may hold data: its struct, written all ones.
    let mut mask = [0u8; EXTRA_MAX];
    let ones = u64::MAX;
    if flags & f::EXTRA_CLONE_ARGS != 0 {
        // Only as much of clone_args as the caller's size.
        mask[..extra_len.min(CLONE_ARGS_SIZE)].fill(0xff);
    }
    if flags & f::EXTRA_PARENT_TID != 0 {
        allow(&mut mask, &layout::Clone3Extra { args: Default::default(), parent_tid_value: u32::MAX, _pad: 0 });
    }
    let rusage = layout::Rusage { utime: Timeval { sec: -1, usec: -1 }, stime: Timeval { sec: -1, usec: -1 }, longs: [-1; 14] };
    if flags & f::EXTRA_WAIT_STATUS != 0 {
        allow(&mut mask, &layout::Wait4Extra { status: -1, _pad: 0, rusage: Default::default() });
    }
    if flags & f::EXTRA_RUSAGE != 0 {
        allow(&mut mask, &layout::Wait4Extra { status: 0, _pad: 0, rusage });
    }
    // rt_sigprocmask, rt_sigaction, prlimit64: what was passed in, what
    // the kernel wrote back.
    let (input, output) = (flags & f::EXTRA_IN != 0, flags & f::EXTRA_OUT != 0);
    let sa = |on: bool| if on { layout::Sigaction { handler: ones, flags: ones, restorer: ones, mask: ones } } else { Default::default() };
    let rl = |on: bool| if on { layout::Rlimit64 { cur: ones, max: ones } } else { Default::default() };
    match nr {
        nr::RT_SIGPROCMASK => allow(&mut mask, &layout::SigsetExtra { set: if input { ones } else { 0 }, oldset: if output { ones } else { 0 } }),
        nr::RT_SIGACTION => allow(&mut mask, &layout::SigactionExtra { act: sa(input), oldact: sa(output) }),
        nr::PRLIMIT64 => allow(&mut mask, &layout::RlimitExtra { new: rl(input), old: rl(output) }),
        _ => {}
    }
    for (i, (&byte, &m)) in x.extra.iter().zip(&mask).enumerate() {
        assert!(m == 0xff || byte == 0, "extra[{i}] = {byte:#x} outside any captured area (nr {nr}, flags {flags:#x})");
    }
}

/// The bytes of a record value.
fn layout_bytes<T: Record>(v: &T) -> Vec<u8> {
    let mut b = vec![0u8; size_of::<T>()];
    assert!(layout::write(&mut b, v));
    b
}

#[test]
fn reserved_records_are_fully_initialised_even_after_the_ring_wraps() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("records");
    let odd = compile(dir.path(), "odd_calls", "odd_calls", &[]);
    let threads = compile(dir.path(), "threads", "threads", &[]);
    let exec = compile(dir.path(), "exec_args", "exec_args", &[]);
    // 16 KiB: ~100 records, so the programs below wrap it many times. Every
    // record shape: plain, extra (clone3, wait4, the signal calls,
    // prlimit64), execve's, and the lifecycle records.
    let syscalls = vec![9, 10, 11, 13, 14, 56, 59, 61, 231, 302, 435];
    let mut loaded = load(&LoadOptions {
        syscalls,
        ringbuf_size: 16 << 10,
        lifecycle: true,
        signal_mask: tracer_user::kernel::load::DEFAULT_SIGNAL_MASK,
        ..Default::default()
    })
    .unwrap();
    let mut ring = loaded.take_ring().unwrap();
    let mut seen = (0usize, 0usize);
    let mut kinds = std::collections::BTreeMap::new();
    let mut drain = |ring: &mut aya::maps::RingBuf<aya::maps::MapData>| {
        while let Some(item) = ring.next() {
            let kind = check_record(&item);
            *kinds.entry((kind, item.len())).or_insert(0usize) += 1;
            if item.len() == size_of::<SyscallRecordExtra>() { seen.1 += 1 } else { seen.0 += 1 }
            tracer_user::model::decode::decode(&item).expect("decodes");
        }
    };
    for _ in 0..20 {
        let mut children = [
            Command::new(&odd).spawn().unwrap(),
            Command::new(&threads).stdout(std::process::Stdio::null()).spawn().unwrap(),
            Command::new(&exec).spawn().unwrap(),
        ];
        let deadline = Instant::now() + Duration::from_secs(10);
        while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
            drain(&mut ring);
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_micros(200));
        }
        drain(&mut ring);
    }
    drain(&mut ring);
    #[allow(clippy::drop_non_drop)]
    drop(drain); // ends its borrow of `seen` and `kinds`
    let (plain, extra) = seen;
    assert!(plain > 16 << 10 >> 7 && extra > 40, "the ring wrapped: {plain} plain, {extra} extra records");
    let shapes = [
        (RecordKind::Syscall, size_of::<SyscallRecord>()),
        (RecordKind::Syscall, size_of::<SyscallRecordExtra>()),
        (RecordKind::Syscall, size_of::<SyscallRecordExec>()),
        (RecordKind::Fork, size_of::<ForkRecord>()),
        (RecordKind::Exec, size_of::<ExecRecord>()),
        (RecordKind::Exit, size_of::<ExitRecord>()),
        (RecordKind::Signal, size_of::<SignalRecord>()),
    ];
    for shape in shapes.map(|(k, n)| (k as u32, n)) {
        assert!(kinds.contains_key(&shape), "no record of kind/length {shape:?}: {kinds:?}");
    }
}
