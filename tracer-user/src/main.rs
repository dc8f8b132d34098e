use std::process::ExitCode;

use tracer_common::Counter;
use tracer_user::{
    cli::{filter_args, parse_syscalls, run_command},
    config::{ConfigError, parse},
    kernel::filter,
    kernel::load::{DEFAULT_SIGNAL_MASK, LoadError, LoadOptions, load},
    launch::{self, HeldCommand},
    metrics,
    model::{procs::ProcTable, syscalls::syscall_name},
    pipeline::daemon::{Drainer, Outcome, RunOptions, SHUTDOWN_BOUND, Signals, run, spawn_sinks},
    pipeline::output::Output,
    privilege,
    pipeline::start::Setting,
    render::clock::Clock,
    sink,
};

/// Exit codes: 0 done, 1 runtime failure (including a BPF program this
/// kernel's verifier rejects), 2 bad usage (including a filter naming
/// nothing on this machine), 77 missing privilege; with `-- CMD`, CMD's own
/// status, or 127/126 if it cannot be found/run.
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
    // `tracer view TRACE …` reads a trace instead of making one (src/view/).
    if std::env::args_os().nth(1).is_some_and(|a| a == "view") {
        return tracer_user::view::main(std::env::args_os().skip(1));
    }
    let cli = match parse() {
        Ok(c) => c,
        Err(ConfigError::Clap(e)) => e.exit(),
        Err(e) => {
            eprintln!("tracer: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Some(cmd) = &cli.subcommand {
        // A closed pipe (`tracer man | head`) is not worth a message.
        let _ = run_command(cmd, &mut std::io::stdout().lock());
        return ExitCode::SUCCESS;
    }

    // Everything the user typed is checked before anything is loaded, so a
    // mistake leaves no BPF program behind and no command started.
    let syscalls = match parse_syscalls(&cli.syscalls) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tracer: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut filters = match filter_args(&cli).map_err(|e| e.to_string()).and_then(|a| filter::resolve(&a).map_err(|e| e.to_string())) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("tracer: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // --container/--unit: the cgroups that match now join the filter
    // before anything is loaded; the drain adds those that appear later.
    let mut watch = None;
    if !cli.containers.is_empty() || !cli.units.is_empty() {
        let mount = std::fs::read_to_string("/proc/self/mountinfo").ok().and_then(|m| filter::cgroup2_mount(&m));
        let Some(mount) = mount else {
            eprintln!("tracer: --container/--unit: no cgroup2 filesystem is mounted (none in /proc/self/mountinfo)");
            return ExitCode::from(EXIT_USAGE);
        };
        let mut w = tracer_user::pipeline::cgroup_watch::CgroupWatch::new(mount, cli.containers.clone(), cli.units.clone());
        for (path, dir) in w.scan() {
            if filters.cgroups.len() >= tracer_common::MAX_CGROUPS as usize {
                w.report_full(&path);
                break;
            }
            filters.cgroups.push(filter::Cgroup { path, dir });
        }
        filters.dynamic_cgroups = true;
        watch = Some(w);
    }
    let drop_to = match cli.daemon.drop_privileges.as_deref().map(privilege::lookup_user).transpose() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("tracer: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if drop_to.is_some() && !cli.command.is_empty() {
        // CMD would still run as root, and tracer could no longer signal it.
        eprintln!("tracer: --drop-privileges cannot be combined with -- CMD");
        return ExitCode::from(EXIT_USAGE);
    }
    let mut command = None;
    if let Some(cmd) = cli.command.first() {
        let spawned = launch::resolve_command(cmd, std::env::var_os("PATH").as_deref())
            // Still single-threaded here: no runtime, no BPF fds to inherit.
            .and_then(|path| HeldCommand::spawn(&path, &cli.command, true));
        match spawned {
            Ok(c) => {
                filters.tgids.push(c.pid());
                command = Some(c);
            }
            Err(e) => {
                eprintln!("tracer: {e}");
                return ExitCode::from(e.exit_code());
            }
        }
    }

    // Sinks and the metrics port first: a bad path or a taken port is a
    // usage error before anything is loaded into the kernel. Their threads
    // start only after the privileges are dropped (see `privilege`).
    if cli.daemon.schema != tracer_user::sink::schema_map::Schema::Native && cli.format != tracer_user::pipeline::output::Format::Json {
        eprintln!("tracer: --schema applies to JSON lines; it cannot be used with --format text");
        return ExitCode::from(EXIT_USAGE);
    }
    let open = match sink::open_all(cli.daemon.sinks(), cli.daemon.file_options()) {
        Ok(s) => s.into_iter().map(|o| sink::OpenSink { writer: sink::schema::wrap(&o.spec, o.writer, cli.daemon.schema), spec: o.spec }).collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("tracer: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let specs: Vec<_> = open.iter().map(|s| s.spec.clone()).collect();
    let metrics_listener = match cli.daemon.metrics.map(std::net::TcpListener::bind).transpose() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tracer: --metrics {}: {e}", cli.daemon.metrics.map(|a| a.to_string()).unwrap_or_default());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tracer: starting the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let signals = match rt.block_on(async { Signals::install() }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tracer: installing signal handlers: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    // Signal handlers exist from here on, before anything is attached: a
    // SIGINT sent as soon as tracer says it is attached is handled.
    if let Err(e) = privilege::check(drop_to.as_ref()) {
        eprintln!("tracer: {e}");
        return ExitCode::from(EXIT_NOPERM);
    }
    // After the privilege check (a missing capability is named first) and
    // before anything is loaded: the hooks, which need tracefs readable
    // for `--attach syscall`.
    let named: Vec<_> = syscalls.iter().map(|&n| (n, tracer_user::model::syscalls::table::name(n))).collect();
    let attach = match tracer_user::kernel::attach::plan(cli.attach, &named) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tracer: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let what = filters.describe();
    let opts = LoadOptions {
        syscalls: syscalls.clone(),
        ringbuf_size: cli.ringbuf_size,
        filters,
        lifecycle: !cli.no_lifecycle,
        signal_mask: DEFAULT_SIGNAL_MASK,
        attach,
    };
    let mut loaded = match load(&opts) {
        Ok(l) => l,
        Err(LoadError::Permission(e)) => {
            eprintln!(
                "tracer: the kernel refused to load the BPF programs although tracer has CAP_BPF and CAP_PERFMON \
                 (kernel lockdown, an LSM or a seccomp policy?): {e}"
            );
            return ExitCode::from(EXIT_NOPERM);
        }
        Err(LoadError::Rejected(r)) => {
            eprintln!("tracer: {r}");
            return ExitCode::from(EXIT_FAILURE);
        }
        Err(LoadError::Other(e)) => {
            eprintln!("tracer: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    drop(opts);
    let ring = match loaded.take_ring() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tracer: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if let Some(user) = &drop_to {
        for w in privilege::hand_outputs_to(user, &specs, cli.daemon.rotate_size.is_some()) {
            eprintln!("tracer: warn: {w}");
        }
        if let Err(e) = privilege::drop_to(user) {
            eprintln!("tracer: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    }
    let (sinks, sink_events) = match spawn_sinks(open, cli.daemon.queue_size) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tracer: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let names: Vec<_> = if syscalls.len() == tracer_common::SYSCALL_BITMAP_BITS {
        vec!["all".into()]
    } else {
        syscalls.iter().map(|&n| syscall_name(n)).collect()
    };
    let hooks = if cli.no_lifecycle { "" } else { ", sched_process_fork/exec/exit, signal_generate/deliver" };
    let dropped = drop_to.as_ref().map(|u| format!(", running as {} without capabilities", u.name)).unwrap_or_default();
    tracer_user::model::identity::set(tracer_user::model::identity::Identity::of_this_machine(
        cli.host_name.as_deref(),
        cli.fields,
    ));
    let start = tracer_user::pipeline::start::Start::here(start_config(&cli, &names));
    let snapshot = tracer_user::pipeline::report::SharedSnapshot::default();
    // /proc is read once the hooks are attached, so no process falls
    // between the two: one that starts now is seen by both.
    let clock = Clock::now();
    let mut output = Output::new(cli.format, clock, !cli.no_correlate, ProcTable::from_proc()).with_ancestors(cli.ancestors.into())
        .with_cgroups(tracer_user::model::cgroups::CgroupResolver::for_this_machine());
    if !syscalls.contains(&tracer_common::nr::MMAP) {
        output = output.mmap_not_traced();
    }
    // Said once /proc is read too: what is started after this line (a
    // test's workload, say) happens after the table's snapshot, so the
    // snapshot never shows a state newer than an event still in the ring.
    eprintln!(
        "tracer: attached to {}{hooks}, tracing {} {what} (ring buffer {} KiB){dropped}",
        loaded.attach.describe(),
        names.join(","),
        cli.ringbuf_size / 1024
    );
    let mut drainer = Drainer::new(sinks, clock, cli.ringbuf_size, snapshot.clone(), output).with_cgroup_watch(watch);
    if cli.format == tracer_user::pipeline::output::Format::Json {
        drainer.emit_start(&start);
    }
    let run_opts = RunOptions { stats_interval: cli.daemon.stats_interval, sink_events, signals };
    let result = rt.block_on(async {
        if let Some(l) = metrics_listener {
            l.set_nonblocking(true)?;
            let l = tokio::net::TcpListener::from_std(l)?;
            tokio::spawn(metrics::serve(l, std::sync::Arc::new(metrics::registry(snapshot))));
        }
        run(&loaded, ring, &mut drainer, run_opts, command.as_mut()).await
    });
    // Sink threads still stuck (a dead peer) must not hold the exit.
    rt.shutdown_timeout(SHUTDOWN_BOUND);
    let code = match result {
        Ok(Outcome::Signalled) => 0,
        Ok(Outcome::CommandExited(status)) => launch::exit_code(status),
        Ok(Outcome::OutputClosed) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tracer: {e:#}");
            match e.downcast_ref::<launch::LaunchError>() {
                Some(le) => return ExitCode::from(le.exit_code()),
                None => EXIT_FAILURE,
            }
        }
    };
    match loaded.counters() {
        Ok(c) => {
            eprintln!(
                "tracer: {} events written, {} lost (ring buffer full), {} exits without entry, {} stash failures, {} undecodable, {} filtered out in the kernel, {} calls in flight",
                drainer.records(),
                c.get(Counter::RingbufFull),
                c.get(Counter::ExitWithoutEnter),
                c.get(Counter::StashFailed),
                drainer.decode_errors(),
                c.get(Counter::Filtered),
                loaded.calls_in_flight(),
            );
            if c.get(Counter::TrackFull) > 0 {
                eprintln!(
                    "tracer: {} new processes of the traced trees were not followed: the tracked-process map was full",
                    c.get(Counter::TrackFull)
                );
            }
        }
        Err(e) => eprintln!("tracer: reading counters: {e:#}"),
    }
    for s in drainer.take_snapshot().sinks {
        if s.dropped > 0 || s.write_errors > 0 {
            eprintln!("tracer: sink {}: {} lines dropped (queue full), {} not written", s.name, s.dropped, s.write_errors);
        }
    }
    ExitCode::from(code)
}

/// The `start` record's `config`: the settings that shape the records.
fn start_config(cli: &tracer_user::cli::Cli, syscalls: &[std::borrow::Cow<'_, str>]) -> Vec<(String, Setting)> {
    let list = |v: &[std::ffi::OsString]| Setting::List(v.iter().map(|s| s.to_string_lossy().into_owned()).collect());
    let mut c = vec![
        ("syscalls".into(), Setting::List(syscalls.iter().map(|s| s.to_string()).collect())),
        ("format".into(), Setting::Str("json".into())),
        ("ringbuf_size".into(), Setting::U64(cli.ringbuf_size.into())),
        ("correlate".into(), Setting::Bool(!cli.no_correlate)),
        ("lifecycle".into(), Setting::Bool(!cli.no_lifecycle)),
        ("comm".into(), list(&cli.comms)),
        ("cgroup".into(), Setting::List(cli.cgroups.iter().map(|p| p.display().to_string()).collect())),
        ("pid".into(), Setting::List(cli.pids.iter().map(u32::to_string).collect())),
        ("container".into(), Setting::List(cli.containers.clone())),
        ("unit".into(), Setting::List(cli.units.clone())),
        ("fields".into(), Setting::List(cli.fields.names().into_iter().map(String::from).collect())),
        ("ancestors".into(), Setting::U64(cli.ancestors.into())),
    ];
    if !cli.command.is_empty() {
        c.push(("command".into(), list(&cli.command)));
    }
    c
}
