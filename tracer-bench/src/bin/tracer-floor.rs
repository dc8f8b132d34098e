//! `tracer-floor`: attach the benchmark floor — two empty programs on
//! `raw_syscalls:sys_enter`/`sys_exit` (tracer-ebpf/src/bin/floor.rs) — and
//! hold them until SIGINT/SIGTERM. A tool for `cargo xtask bench`, not part
//! of the product: what it costs is the least any tracer on these hooks can
//! cost.
//!
//! `tracer-floor --per-syscall clone,mmap,…`: the per-syscall floor instead,
//! the same empty programs on those syscalls' own `syscalls:sys_enter_<name>`
//! / `sys_exit_<name>` events (the least `--attach syscall` can cost).

use std::process::ExitCode;

use aya::{
    Ebpf,
    programs::{RawTracePoint, TracePoint},
};

static FLOOR_OBJECT: &[u8] = aya::include_bytes_aligned!(env!("TRACER_FLOOR_OBJECT"));

fn main() -> ExitCode {
    // Block the stop signals before attaching, so one that arrives early is
    // queued for sigwait rather than killing us with the programs attached.
    let mut set = unsafe { std::mem::zeroed::<libc::sigset_t>() };
    unsafe {
        // An ignored signal is discarded even while blocked, and a shell
        // without job control starts background jobs with SIGINT ignored.
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let per_syscall = match args.as_slice() {
        [] => None,
        [flag, names] if flag == "--per-syscall" => Some(names.split(',').map(str::to_owned).collect::<Vec<_>>()),
        _ => {
            eprintln!("usage: tracer-floor [--per-syscall NAME,NAME,…]");
            return ExitCode::from(2);
        }
    };
    let attached = match &per_syscall {
        None => attach(),
        Some(names) => attach_per_syscall(names),
    };
    let _ebpf = match attached {
        Ok(ebpf) => ebpf,
        Err(e) => {
            eprintln!("tracer-floor: {e}");
            return ExitCode::FAILURE;
        }
    };
    match &per_syscall {
        None => eprintln!("tracer-floor: attached empty programs to raw_syscalls:sys_enter/sys_exit"),
        Some(n) => eprintln!("tracer-floor: attached empty programs to syscalls:sys_enter_*/sys_exit_* of {}", n.join(",")),
    }
    let mut sig = 0;
    unsafe { libc::sigwait(&set, &mut sig) };
    // Dropping the Ebpf detaches and unloads the programs.
    ExitCode::SUCCESS
}

fn attach() -> Result<Ebpf, String> {
    let mut ebpf = Ebpf::load(FLOOR_OBJECT).map_err(|e| format!("loading the floor object: {e}"))?;
    for name in ["sys_enter", "sys_exit"] {
        let prog: &mut RawTracePoint = ebpf
            .program_mut(name)
            .ok_or_else(|| format!("program {name} missing from the floor object"))?
            .try_into()
            .map_err(|e| format!("program {name}: {e}"))?;
        prog.load().map_err(|e| format!("loading {name}: {e}"))?;
        prog.attach(name).map_err(|e| format!("attaching {name} to raw tracepoint {name}: {e}"))?;
    }
    Ok(ebpf)
}

/// The empty tracepoint programs on `sys_exit_<name>` then `sys_enter_<name>`
/// of each of `names` (tracefs event names: `newfstat`, not `fstat`).
fn attach_per_syscall(names: &[String]) -> Result<Ebpf, String> {
    let mut ebpf = Ebpf::load(FLOOR_OBJECT).map_err(|e| format!("loading the floor object: {e}"))?;
    for (prog, prefix) in [("sys_exit_tp", "sys_exit_"), ("sys_enter_tp", "sys_enter_")] {
        let p: &mut TracePoint = ebpf
            .program_mut(prog)
            .ok_or_else(|| format!("program {prog} missing from the floor object"))?
            .try_into()
            .map_err(|e| format!("program {prog}: {e}"))?;
        p.load().map_err(|e| format!("loading {prog}: {e}"))?;
        for n in names {
            let ev = format!("{prefix}{n}");
            p.attach("syscalls", &ev).map_err(|e| format!("attaching {prog} to syscalls:{ev}: {e}"))?;
        }
    }
    Ok(ebpf)
}
