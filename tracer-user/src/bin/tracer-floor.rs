//! `tracer-floor`: attach the benchmark floor — two empty programs on
//! `raw_syscalls:sys_enter`/`sys_exit` (tracer-ebpf/src/bin/floor.rs) — and
//! hold them until SIGINT/SIGTERM. A tool for `cargo xtask bench`, not part
//! of the product: what it costs is the least any tracer on these hooks can
//! cost.

use std::process::ExitCode;

use aya::{Ebpf, programs::RawTracePoint};

static FLOOR_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/floor"));

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
    let _ebpf = match attach() {
        Ok(ebpf) => ebpf,
        Err(e) => {
            eprintln!("tracer-floor: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("tracer-floor: attached empty programs to raw_syscalls:sys_enter/sys_exit");
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
