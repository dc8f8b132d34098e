//! Every byte of every record the kernel side reserves is written: the
//! ring buffer is small enough here to wrap many times, so any byte left
//! unwritten would show a previous record's data.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};
use tracer_common::{CLONE_ARGS_SIZE, PARENT_TID_OFFSET, RUSAGE_OFFSET, RUSAGE_SIZE, syscall_flags as f};
use tracer_user::kernel::load::{LoadOptions, load};

/// A NUL-terminated string slot: nothing after the terminator.
fn check_str_slot(slot: &[u8], what: &str) {
    if let Some(nul) = slot.iter().position(|&c| c == 0) {
        assert!(slot[nul..].iter().all(|&c| c == 0), "{what} tail {slot:?}");
    }
}

/// Byte ranges of a record that may hold data; everything else must be 0.
/// Returns the record's kind.
fn check_record(b: &[u8]) -> u32 {
    let kind = u32::from_le_bytes(b[0..4].try_into().unwrap());
    assert_eq!(&b[76..80], &[0; 4], "header padding");
    // comm is NUL-padded after its terminator.
    check_str_slot(&b[48..64], "comm");
    match kind {
        1 => check_syscall(b),
        // fork: child ids, flags, then padding.
        2 => {
            assert_eq!(b.len(), 104);
            assert_eq!(&b[100..104], &[0; 4], "fork padding");
        }
        // exec: old_tid, filename_len, filename[256].
        3 => {
            assert_eq!(b.len(), 344);
            check_str_slot(&b[88..344], "exec filename");
        }
        // exit: code, flags, the children left (the unused slots zero).
        4 => {
            assert_eq!(b.len(), 160);
            let n = u32::from_le_bytes(b[88..92].try_into().unwrap()) as usize;
            assert!(n <= 16);
            assert!(b[96 + 4 * n..].iter().all(|&c| c == 0), "exit children tail");
        }
        5 => {
            assert_eq!(b.len(), 176);
            check_str_slot(&b[160..176], "target comm");
        }
        k => panic!("record kind {k}"),
    }
    kind
}

fn check_syscall(b: &[u8]) {
    assert!(b.len() == 160 || b.len() == 312 || b.len() == 672, "syscall record length {}", b.len());
    assert_eq!(&b[156..160], &[0; 4], "syscall padding");
    if b.len() == 160 {
        return;
    }
    let nr = u32::from_le_bytes(b[80..84].try_into().unwrap());
    let flags = u32::from_le_bytes(b[84..88].try_into().unwrap());
    let extra_len = u32::from_le_bytes(b[152..156].try_into().unwrap()) as usize;
    let x = &b[160..];
    if b.len() == 672 {
        // execve/execveat: the ExecCapture, its string slots NUL-padded.
        if flags & f::EXTRA_EXEC == 0 {
            assert!(x.iter().all(|&c| c == 0), "unread exec capture not zeroed");
            return;
        }
        let xf = u32::from_le_bytes(x[12..16].try_into().unwrap());
        check_str_slot(&x[32..192], "exec filename");
        if xf & tracer_common::exec_flags::ARGV_BLOCK != 0 {
            let n = u16::from_le_bytes([x[16], x[17]]) as usize;
            assert!(x[18..32].iter().all(|&c| c == 0));
            assert!(x[192 + n..].iter().all(|&c| c == 0), "argv block tail");
        } else {
            for i in 0..8 {
                check_str_slot(&x[192 + 40 * i..232 + 40 * i], "argv slot");
            }
        }
        return;
    }
    let mut may_hold = vec![false; x.len()];
    let mut allow = |r: std::ops::Range<usize>| may_hold[r].iter_mut().for_each(|m| *m = true);
    if flags & f::EXTRA_CLONE_ARGS != 0 {
        allow(0..extra_len.min(CLONE_ARGS_SIZE));
    }
    if flags & f::EXTRA_PARENT_TID != 0 {
        allow(PARENT_TID_OFFSET..PARENT_TID_OFFSET + 4);
    }
    if flags & f::EXTRA_WAIT_STATUS != 0 {
        allow(0..4);
    }
    if flags & f::EXTRA_RUSAGE != 0 {
        allow(RUSAGE_OFFSET..RUSAGE_OFFSET + RUSAGE_SIZE);
    }
    // rt_sigprocmask, rt_sigaction, prlimit64: what was passed in at 0,
    // what the kernel wrote back right after it.
    let n = match nr {
        14 => 8,
        13 => 32,
        302 => 16,
        _ => 0,
    };
    if flags & f::EXTRA_IN != 0 {
        allow(0..n);
    }
    if flags & f::EXTRA_OUT != 0 {
        allow(n..2 * n);
    }
    for (i, (&byte, &ok)) in x.iter().zip(&may_hold).enumerate() {
        assert!(ok || byte == 0, "extra[{i}] = {byte:#x} outside any captured area (nr {nr}, flags {flags:#x})");
    }
}

#[test]
fn reserved_records_are_fully_initialised_even_after_the_ring_wraps() {
    require_root();
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
            if item.len() == 312 { seen.1 += 1 } else { seen.0 += 1 }
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
    for shape in [(1, 160), (1, 312), (1, 672), (2, 104), (3, 344), (4, 160), (5, 176)] {
        assert!(kinds.contains_key(&shape), "no record of kind/length {shape:?}: {kinds:?}");
    }
}
