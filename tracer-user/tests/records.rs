//! Every byte of every record the kernel side reserves is written: the
//! ring buffer is small enough here to wrap many times, so any byte left
//! unwritten would show a previous record's data.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};
use tracer_common::{CLONE_ARGS_SIZE, PARENT_TID_OFFSET, RUSAGE_OFFSET, RUSAGE_SIZE, syscall_flags as f};
use tracer_user::load::{LoadOptions, load};

/// Byte ranges of a record that may hold data; everything else must be 0.
fn check_record(b: &[u8]) {
    assert!(b.len() == 144 || b.len() == 296, "record length {}", b.len());
    assert_eq!(&b[36..40], &[0; 4], "header padding");
    // comm is NUL-padded after its terminator.
    let comm = &b[48..64];
    if let Some(nul) = comm.iter().position(|&c| c == 0) {
        assert!(comm[nul..].iter().all(|&c| c == 0), "comm tail {comm:?}");
    }
    assert_eq!(&b[140..144], &[0; 4], "syscall padding");
    if b.len() == 144 {
        return;
    }
    let flags = u32::from_le_bytes(b[68..72].try_into().unwrap());
    let extra_len = u32::from_le_bytes(b[136..140].try_into().unwrap()) as usize;
    let x = &b[144..];
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
    for (i, (&byte, &ok)) in x.iter().zip(&may_hold).enumerate() {
        assert!(ok || byte == 0, "extra[{i}] = {byte:#x} outside any captured area (flags {flags:#x})");
    }
}

#[test]
fn reserved_records_are_fully_initialised_even_after_the_ring_wraps() {
    require_root();
    let dir = TempDir::new("records");
    let odd = compile(dir.path(), "odd_calls", "odd_calls", &[]);
    let threads = compile(dir.path(), "threads", "threads", &[]);
    // 16 KiB: ~100 records, so the programs below wrap it many times.
    let mut loaded = load(&LoadOptions { syscalls: vec![9, 10, 11, 56, 61, 435], ringbuf_size: 16 << 10, ..Default::default() }).unwrap();
    let mut ring = loaded.take_ring().unwrap();
    let mut seen = (0usize, 0usize);
    let mut drain = |ring: &mut aya::maps::RingBuf<aya::maps::MapData>| {
        while let Some(item) = ring.next() {
            check_record(&item);
            if item.len() == 296 { seen.1 += 1 } else { seen.0 += 1 }
            tracer_user::decode::decode(&item).expect("decodes");
        }
    };
    for _ in 0..20 {
        let mut children = vec![Command::new(&odd).spawn().unwrap(), Command::new(&threads).stdout(std::process::Stdio::null()).spawn().unwrap()];
        let deadline = Instant::now() + Duration::from_secs(10);
        while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
            drain(&mut ring);
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_micros(200));
        }
        drain(&mut ring);
    }
    drain(&mut ring);
    let (plain, extra) = seen;
    assert!(plain > 16 << 10 >> 7 && extra > 40, "the ring wrapped: {plain} plain, {extra} extra records");
}
