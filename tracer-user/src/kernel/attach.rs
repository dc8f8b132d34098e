//! `--attach auto|raw|syscall`: which hooks carry the traced syscalls.
//!
//! - `raw`: one program on `raw_syscalls:sys_enter` and one on `sys_exit`.
//!   Every syscall of the machine runs both, traced or not (a bit test and
//!   out), so an untraced call pays the tracepoint slow path and two BPF
//!   program calls.
//! - `syscall`: the same work on each traced syscall's own
//!   `syscalls:sys_enter_<name>` / `sys_exit_<name>` events
//!   (`tracer-ebpf/src/syscalls_tp.rs`). The kernel's perf handler for
//!   those events tests the syscall's bit and returns before any BPF
//!   program runs, so an untraced call costs about half of what it does
//!   under `raw`; a traced one costs more (the kernel builds a trace record
//!   before the program runs). Every syscall of the set needs its events
//!   in tracefs.
//! - `auto` (default): `syscall` when the set is small
//!   ([`AUTO_SYSCALL_MAX`] syscalls or fewer) and every syscall in it has
//!   its events; `raw` otherwise: `all` and strace's classes, whose
//!   members are hot enough that the cheaper traced path wins, and kernels
//!   or containers without tracefs.
//!
//! `all` stays on `raw_syscalls` in every mode: only they see every number.
//!
//! Records, filters, pairing and loss accounting are the same code in both
//! modes (`try_sys_enter` / `try_sys_exit`); only the hook differs.

use std::path::{Path, PathBuf};

/// The mode the user asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttachMode {
    #[default]
    Auto,
    Raw,
    Syscall,
}

/// `auto` attaches per syscall for sets of at most this many syscalls.
/// The default set (5) is well under it; strace's classes (%process 13+,
/// %memory 20+, %signal 15+) and `all` are over it.
pub const AUTO_SYSCALL_MAX: usize = 8;

/// Parses `--attach`.
pub fn parse_attach(s: &str) -> Result<AttachMode, String> {
    match s {
        "auto" => Ok(AttachMode::Auto),
        "raw" => Ok(AttachMode::Raw),
        "syscall" => Ok(AttachMode::Syscall),
        _ => Err(format!("unknown attach mode '{}' (auto, raw or syscall)", s.escape_default())),
    }
}

/// What is attached, decided before anything is loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Plan {
    /// `raw_syscalls:sys_enter` / `sys_exit`.
    #[default]
    Raw,
    /// Each syscall's own events: the names after `sys_enter_` / `sys_exit_`.
    /// `auto`: chosen by `--attach auto`, which falls back to `Raw` if the
    /// kernel refuses the per-syscall programs.
    Syscall { events: Vec<String>, auto: bool },
}

impl Plan {
    /// The hooks, as the `attached` line names them.
    pub fn describe(&self) -> String {
        match self {
            Plan::Raw => "raw_syscalls:sys_enter/sys_exit".into(),
            Plan::Syscall { events, .. } => format!("syscalls:sys_enter_*/sys_exit_* of {}", events.join(",")),
        }
    }
}

/// The name of a syscall's tracepoints (`sys_enter_<it>`), given its name
/// in the x86-64 table: the table's entry point without `sys_`, which for a
/// few calls is not the syscall's own name
/// (`arch/x86/entry/syscalls/syscall_64.tbl`).
pub fn event_name(name: &str) -> &str {
    match name {
        "stat" => "newstat",
        "fstat" => "newfstat",
        "lstat" => "newlstat",
        "uname" => "newuname",
        "sendfile" => "sendfile64",
        "umount2" => "umount",
        n => n,
    }
}

/// tracefs, where the kernel lists its events (the path aya attaches by),
/// or why it cannot be used.
fn tracefs() -> Result<PathBuf, String> {
    let mut denied = None;
    for p in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        match std::fs::read_dir(Path::new(p).join("events")) {
            Ok(_) => return Ok(PathBuf::from(p)),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => denied = Some(p),
            Err(_) => {}
        }
    }
    Err(match denied {
        Some(p) => format!(
            "cannot read tracefs ({p}: permission denied), where the per-syscall events are listed; \
             it needs root, or --attach raw"
        ),
        None => "tracefs is not mounted (/sys/kernel/tracing), so the per-syscall events cannot be found".into(),
    })
}

/// A traced syscall: its number and its name in the x86-64 table (none for
/// a number the table does not name).
pub type Named<'a> = (u32, Option<&'a str>);

/// Decides the hooks for `syscalls` under `mode`, reading tracefs for the
/// events; `Err` (one line) when `syscall` is asked for and cannot be had.
pub fn plan(mode: AttachMode, syscalls: &[Named]) -> Result<Plan, String> {
    plan_with(mode, syscalls, tracefs().as_deref().map_err(String::clone))
}

fn plan_with(mode: AttachMode, syscalls: &[Named], tracefs: Result<&Path, String>) -> Result<Plan, String> {
    match mode {
        AttachMode::Raw => return Ok(Plan::Raw),
        // Every number, named or not: the raw hooks are the only ones that
        // see them all, and where every call is traced they are the cheaper.
        _ if syscalls.len() >= tracer_common::SYSCALL_BITMAP_BITS => {
            log::info!("--syscalls all: attaching to raw_syscalls");
            return Ok(Plan::Raw);
        }
        AttachMode::Auto if syscalls.len() > AUTO_SYSCALL_MAX || syscalls.is_empty() => return Ok(Plan::Raw),
        _ => {}
    }
    let events = match per_syscall_events(syscalls, tracefs) {
        Ok(e) => e,
        Err(e) if mode == AttachMode::Auto => {
            log::info!("--attach auto: raw_syscalls ({e})");
            return Ok(Plan::Raw);
        }
        Err(e) => return Err(format!("--attach syscall: {e}")),
    };
    Ok(Plan::Syscall { events, auto: mode == AttachMode::Auto })
}

fn per_syscall_events(syscalls: &[Named], tracefs: Result<&Path, String>) -> Result<Vec<String>, String> {
    let tracefs = tracefs?;
    let dir = tracefs.join("events/syscalls");
    let mut out = Vec::with_capacity(syscalls.len());
    for &(nr, name) in syscalls {
        let Some(name) = name else {
            return Err(format!("syscall {nr} has no name, so no syscalls:sys_enter_* event"));
        };
        let ev = event_name(name);
        for kind in ["sys_enter_", "sys_exit_"] {
            if !dir.join(format!("{kind}{ev}")).join("id").exists() {
                return Err(format!("syscall {name} has no syscalls:{kind}{ev} event in {}", dir.display()));
            }
        }
        out.push(ev.to_string());
    }
    Ok(out)
}

/// Attaches the loaded `prog` to `syscalls:<prefix><event>` for every
/// event of the plan.
pub(super) fn attach_events(
    ebpf: &mut aya::Ebpf,
    prog: &str,
    prefix: &str,
    events: &[String],
) -> anyhow::Result<()> {
    let p = tracepoint(ebpf, prog)?;
    for ev in events {
        let name = format!("{prefix}{ev}");
        p.attach("syscalls", &name).map_err(|e| anyhow::anyhow!("attaching {prog} to syscalls:{name}: {e}"))?;
    }
    Ok(())
}

/// The tracepoint program `prog` of the object.
pub(super) fn tracepoint<'a>(ebpf: &'a mut aya::Ebpf, prog: &str) -> anyhow::Result<&'a mut aya::programs::TracePoint> {
    use anyhow::anyhow;
    ebpf.program_mut(prog)
        .ok_or_else(|| anyhow!("program {prog} missing from BPF object"))?
        .try_into()
        .map_err(|e| anyhow!("program {prog}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake tracefs holding the events for `names`.
    fn fake_tracefs(names: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tracer-attach-{}-{}", std::process::id(), names.join("_")));
        for n in names {
            for kind in ["sys_enter_", "sys_exit_"] {
                let ev = dir.join("events/syscalls").join(format!("{kind}{n}"));
                std::fs::create_dir_all(&ev).unwrap();
                std::fs::write(ev.join("id"), "1\n").unwrap();
            }
        }
        dir
    }

    const DEFAULT: [Named; 5] =
        [(56, Some("clone")), (435, Some("clone3")), (9, Some("mmap")), (10, Some("mprotect")), (61, Some("wait4"))];

    #[test]
    fn auto_attaches_small_sets_per_syscall_and_large_ones_raw() {
        let fs = fake_tracefs(&["clone", "clone3", "mmap", "mprotect", "wait4"]);
        let events = ["clone", "clone3", "mmap", "mprotect", "wait4"].map(String::from).to_vec();
        assert_eq!(
            plan_with(AttachMode::Auto, &DEFAULT, Ok(&fs)),
            Ok(Plan::Syscall { events: events.clone(), auto: true })
        );
        assert_eq!(plan_with(AttachMode::Syscall, &DEFAULT, Ok(&fs)), Ok(Plan::Syscall { events, auto: false }));
        assert_eq!(plan_with(AttachMode::Raw, &DEFAULT, Ok(&fs)), Ok(Plan::Raw));
        let nine: Vec<Named> = (0..9).map(|n| (n, Some("clone"))).collect();
        assert_eq!(plan_with(AttachMode::Auto, &nine, Ok(&fs)), Ok(Plan::Raw));
        let all: Vec<Named> = (0..tracer_common::SYSCALL_BITMAP_BITS as u32).map(|n| (n, None)).collect();
        assert_eq!(plan_with(AttachMode::Auto, &all, Ok(&fs)), Ok(Plan::Raw));
        assert_eq!(plan_with(AttachMode::Syscall, &all, Ok(&fs)), Ok(Plan::Raw));
        std::fs::remove_dir_all(fs).unwrap();
    }

    #[test]
    fn a_missing_event_is_raw_under_auto_and_an_error_under_syscall() {
        let fs = fake_tracefs(&["clone", "mmap"]);
        let set = [(56, Some("clone")), (10, Some("mprotect"))];
        assert_eq!(plan_with(AttachMode::Auto, &set, Ok(&fs)), Ok(Plan::Raw));
        let e = plan_with(AttachMode::Syscall, &set, Ok(&fs)).unwrap_err();
        assert_eq!(e, format!("--attach syscall: syscall mprotect has no syscalls:sys_enter_mprotect event in {}/events/syscalls", fs.display()));
        let e = plan_with(AttachMode::Syscall, &[(56, Some("clone")), (999, None)], Ok(&fs)).unwrap_err();
        assert!(e.contains("syscall 999 has no name"), "{e}");
        let gone = || Err("tracefs is not mounted".to_string());
        assert_eq!(plan_with(AttachMode::Auto, &set[..1], gone()), Ok(Plan::Raw));
        assert_eq!(plan_with(AttachMode::Syscall, &set[..1], gone()), Err("--attach syscall: tracefs is not mounted".into()));
        std::fs::remove_dir_all(fs).unwrap();
    }

    #[test]
    fn event_names_follow_the_entry_points() {
        assert_eq!(event_name("mmap"), "mmap");
        assert_eq!(event_name("fstat"), "newfstat");
        assert_eq!(event_name("uname"), "newuname");
        assert_eq!(event_name("sendfile"), "sendfile64");
        assert_eq!(parse_attach("syscall"), Ok(AttachMode::Syscall));
        assert!(parse_attach("perf").is_err());
    }

    /// On the machine running the tests: every syscall whose event name
    /// this table gives has that event (where tracefs is readable).
    #[test]
    fn the_running_kernel_has_the_default_sets_events() {
        let Ok(fs) = tracefs() else { return };
        if !fs.join("events/syscalls").is_dir() {
            return;
        }
        assert!(matches!(plan_with(AttachMode::Syscall, &DEFAULT, Ok(&fs)), Ok(Plan::Syscall { .. })));
    }
}
