use std::process::ExitCode;

use clap::Parser;
use tracer_common::Counter;
use tracer_user::{
    cli::{Cli, parse_syscalls},
    daemon::{Drainer, Outcome, run},
    format::{Clock, syscall_name},
    load::{DEFAULT_SIGNAL_MASK, LoadError, LoadOptions, load},
    output::Output,
    procs::ProcTable,
};

/// Exit codes: 0 done, 1 runtime failure, 2 bad usage, 77 missing privilege.
const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_NOPERM: u8 = 77;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format(|f, r| {
            use std::io::Write as _;
            writeln!(f, "tracer: {}: {}", r.level().as_str().to_ascii_lowercase(), r.args())
        })
        .init();
    let cli = Cli::parse();
    let syscalls = match parse_syscalls(&cli.syscalls) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tracer: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let opts = LoadOptions {
        syscalls: syscalls.clone(),
        ringbuf_size: cli.ringbuf_size,
        lifecycle: !cli.no_lifecycle,
        signal_mask: DEFAULT_SIGNAL_MASK,
    };
    let mut loaded = match load(&opts) {
        Ok(l) => l,
        Err(LoadError::Permission(e)) => {
            eprintln!("tracer: loading BPF programs needs root, or CAP_BPF and CAP_PERFMON: {e}");
            return ExitCode::from(EXIT_NOPERM);
        }
        Err(LoadError::Other(e)) => {
            eprintln!("tracer: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tracer: starting the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let stdout = std::io::stdout().lock();
    // /proc is read after the hooks are attached, so no process can fall
    // between the two: one that starts now is seen by both.
    let output = Output::new(cli.format, Clock::now(), !cli.no_correlate, ProcTable::from_proc());
    let mut drainer = Drainer::new(stdout, output);
    let names: Vec<_> = if syscalls.len() == tracer_common::SYSCALL_BITMAP_BITS {
        vec!["all".into()]
    } else {
        syscalls.iter().map(|&n| syscall_name(n)).collect()
    };
    let hooks = if cli.no_lifecycle { "" } else { ", sched_process_fork/exec/exit, signal_generate/deliver" };
    let announce = || {
        eprintln!(
            "tracer: attached to raw_syscalls:sys_enter/sys_exit{hooks}, tracing {} machine-wide (ring buffer {} KiB)",
            names.join(","),
            cli.ringbuf_size / 1024
        )
    };
    let result = rt.block_on(run(&mut loaded, &mut drainer, announce));
    let code = match result {
        Ok(Outcome::Signalled) => 0,
        Ok(Outcome::OutputClosed) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tracer: {e:#}");
            EXIT_FAILURE
        }
    };
    match loaded.counters() {
        Ok(c) => eprintln!(
            "tracer: {} events written, {} lost (ring buffer full), {} exits without entry, {} stash failures, {} undecodable",
            drainer.stats.written,
            c.get(Counter::RingbufFull),
            c.get(Counter::ExitWithoutEnter),
            c.get(Counter::StashFailed),
            drainer.stats.decode_errors
        ),
        Err(e) => eprintln!("tracer: reading counters: {e:#}"),
    }
    ExitCode::from(code)
}
