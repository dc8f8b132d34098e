//! What tracer needs from the kernel's privilege model, and giving it up.
//!
//! Loading and attaching needs CAP_BPF (create maps, load programs) and
//! CAP_PERFMON (tracing programs, `bpf_probe_read_*`), or CAP_SYS_ADMIN,
//! which implies both — in the initial user namespace: the kernel checks
//! BPF capabilities there. [`check`] looks at the effective set before
//! anything is loaded and names what is missing, so a user is told "missing
//! CAP_PERFMON", not just EPERM.
//!
//! `--drop-privileges USER` ([`drop_to`]): once the programs are attached
//! and every output is open, tracer becomes USER with no capability at all.
//! Nothing it does afterwards needs one: the ring buffer and the counters
//! are read through mappings taken before the drop (no `bpf()` call, which
//! before Linux 6.5 an unprivileged process could not make at all with
//! `kernel.unprivileged_bpf_disabled` set), the programs stay attached while
//! their fds are open, and new files are created in directories handed to
//! USER beforehand ([`hand_outputs_to`]). The drop happens while tracer is
//! still single-threaded (sink threads start after it), because the
//! credential calls behind it apply to the calling thread only.

use std::ffi::{CStr, CString};
use std::io;
use std::path::Path;

use crate::sink::SinkSpec;

pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's capability sets: (effective, permitted, inheritable).
fn capget() -> io::Result<(u64, u64, u64)> {
    let mut h = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut d = [CapData::default(); 2];
    // SAFETY: a v3 header and the two data structs v3 expects.
    if unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | u64::from(hi) << 32;
    Ok((
        join(d[0].effective, d[1].effective),
        join(d[0].permitted, d[1].permitted),
        join(d[0].inheritable, d[1].inheritable),
    ))
}

/// Empties the calling thread's effective, permitted and inheritable sets.
fn capset_none() -> io::Result<()> {
    let mut h = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let d = [CapData::default(); 2];
    // SAFETY: a v3 header and the two data structs v3 expects.
    if unsafe { libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The effective capability set.
pub fn effective() -> io::Result<u64> {
    capget().map(|(e, _, _)| e)
}

pub fn cap_name(cap: u32) -> &'static str {
    match cap {
        CAP_SETGID => "CAP_SETGID",
        CAP_SETUID => "CAP_SETUID",
        CAP_SYS_ADMIN => "CAP_SYS_ADMIN",
        CAP_PERFMON => "CAP_PERFMON",
        CAP_BPF => "CAP_BPF",
        _ => "CAP_?",
    }
}

fn has(set: u64, cap: u32) -> bool {
    set & (1 << cap) != 0
}

/// Capabilities missing from `eff` for loading (CAP_SYS_ADMIN stands in for
/// both), and, if `switch_identity`, for changing uid and gid.
pub fn missing(eff: u64, switch_identity: bool) -> Vec<u32> {
    let mut m = Vec::new();
    if !has(eff, CAP_SYS_ADMIN) {
        m.extend([CAP_BPF, CAP_PERFMON].into_iter().filter(|&c| !has(eff, c)));
    }
    if switch_identity {
        m.extend([CAP_SETUID, CAP_SETGID].into_iter().filter(|&c| !has(eff, c)));
    }
    m
}

/// `A`, `A and B`, `A, B and C`.
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Whether this process is in the initial user namespace (uid_map is the
/// identity over the whole range), where its capabilities count for BPF.
fn in_initial_user_namespace() -> bool {
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(m) => m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"],
        // No /proc: nothing to tell; let the kernel decide.
        Err(_) => true,
    }
}

/// Checks, before anything is loaded, that tracer has what it needs; the
/// error is one line naming the missing capabilities.
pub fn check(drop_to: Option<&User>) -> Result<(), String> {
    if !in_initial_user_namespace() {
        return Err("tracer runs in a user namespace: the kernel checks CAP_BPF and CAP_PERFMON in the initial one \
                    (run it in the host's user namespace, e.g. a container without user namespace remapping)"
            .into());
    }
    let eff = effective().map_err(|e| format!("reading capabilities: {e}"))?;
    let switch = drop_to.is_some_and(|u| !u.is_current());
    let m = missing(eff, switch);
    if m.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = m.iter().map(|&c| cap_name(c)).collect();
    let load_missing = m.iter().any(|&c| c == CAP_BPF || c == CAP_PERFMON);
    let why = match (load_missing, drop_to.filter(|_| switch)) {
        (true, _) => "loading and attaching the BPF programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN; root has all three)".to_owned(),
        (false, Some(u)) => format!("--drop-privileges {} needs CAP_SETUID and CAP_SETGID to switch to uid {}", u.name, u.uid),
        (false, None) => unreachable!("only load or switch capabilities are ever missing"),
    };
    Err(format!("missing {}: {why}", and_list(&names)))
}

/// A `--drop-privileges` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl User {
    /// Whether the process already has exactly this identity (real, effective
    /// and saved uid and gid).
    fn is_current(&self) -> bool {
        let (mut r, mut e, mut s) = (0, 0, 0);
        let (mut rg, mut eg, mut sg) = (0, 0, 0);
        // SAFETY: plain out-parameters.
        unsafe {
            libc::getresuid(&mut r, &mut e, &mut s);
            libc::getresgid(&mut rg, &mut eg, &mut sg);
        }
        [r, e, s] == [self.uid; 3] && [rg, eg, sg] == [self.gid; 3]
    }
}

/// Looks USER up in the password database: a name, or a numeric uid (a uid
/// without an entry gets the gid of the same number).
pub fn lookup_user(spec: &str) -> Result<User, String> {
    let by_uid = spec.parse::<u32>().ok();
    let c = CString::new(spec).map_err(|_| format!("--drop-privileges: '{}' is not a user name", spec.escape_default()))?;
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16 * 1024];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpw*_r write into pw and buf, which outlive the call; out
    // points to pw or is null.
    let rc = unsafe {
        match by_uid {
            Some(uid) => libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut out),
            None => libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut out),
        }
    };
    if rc == 0 && !out.is_null() {
        // SAFETY: pw_name points into buf, NUL-terminated.
        let name = unsafe { CStr::from_ptr(pw.pw_name) }.to_string_lossy().into_owned();
        return Ok(User { name, uid: pw.pw_uid, gid: pw.pw_gid });
    }
    match by_uid {
        Some(uid) => Ok(User { name: spec.to_owned(), uid, gid: uid }),
        None => Err(format!("--drop-privileges: no user named '{}' on this machine", spec.escape_default())),
    }
}

/// Hands tracer's outputs to `user` before the drop, so it can go on
/// creating and reopening files: an `--output` FILE itself (SIGHUP reopens
/// it), an `--output-dir` DIR and the `*.jsonl` files in it (per-process
/// files are created and reopened there). Symlinks are never followed.
/// Returns warnings for what could not be done or will not work (rotation
/// renames in FILE's directory, which stays its owner's).
pub fn hand_outputs_to(user: &User, sinks: &[SinkSpec], rotating: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut chown = |p: &Path| {
        use std::os::unix::ffi::OsStrExt as _;
        let Ok(c) = CString::new(p.as_os_str().as_bytes()) else { return };
        // SAFETY: a valid C string; AT_SYMLINK_NOFOLLOW changes a symlink
        // itself, never its target.
        if unsafe { libc::fchownat(libc::AT_FDCWD, c.as_ptr(), user.uid, user.gid, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
            warnings.push(format!("--drop-privileges: cannot hand {} to {}: {}", p.display(), user.name, io::Error::last_os_error()));
        }
    };
    for s in sinks {
        match s {
            SinkSpec::File(p) => chown(p),
            SinkSpec::Dir(d) => {
                chown(d);
                if let Ok(entries) = std::fs::read_dir(d) {
                    for e in entries.flatten() {
                        let p = e.path();
                        if p.extension().is_some_and(|x| x == "jsonl") && e.file_type().is_ok_and(|t| t.is_file()) {
                            chown(&p);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if rotating {
        for s in sinks {
            let SinkSpec::File(p) = s else { continue };
            let parent = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if !writable_by(parent, user) {
                warnings.push(format!(
                    "--drop-privileges: {} cannot write {}, so rotating {} will fail (give the directory to {})",
                    user.name,
                    parent.display(),
                    p.display(),
                    user.name
                ));
            }
        }
    }
    warnings
}

/// Whether `user` may create and rename files in `dir` (owner, group or
/// other write+search bits; ACLs are not looked at).
fn writable_by(dir: &Path, user: &User) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(md) = std::fs::metadata(dir) else { return false };
    let mode = md.mode();
    let bits = if md.uid() == user.uid {
        mode >> 6
    } else if md.gid() == user.gid {
        mode >> 3
    } else {
        mode
    };
    bits & 0o3 == 0o3
}

/// Number of threads of this process.
fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Becomes `user` (groups, gid, uid) and empties every capability set
/// (ambient, inheritable, permitted, effective); sets `no_new_privs` and
/// keeps the process non-dumpable, so that other processes of `user` cannot
/// ptrace it and take its BPF file descriptors. Must run while the process
/// has one thread. Verifies the result.
pub fn drop_to(user: &User) -> Result<(), String> {
    let err = |what: &str| format!("--drop-privileges {}: {what}: {}", user.name, io::Error::last_os_error());
    match thread_count() {
        Ok(1) => {}
        Ok(n) => return Err(format!("--drop-privileges {}: {n} threads running; the drop must happen before any starts", user.name)),
        Err(e) => return Err(format!("--drop-privileges {}: reading /proc/self/task: {e}", user.name)),
    }
    // SAFETY: plain syscalls on this (only) thread's credentials.
    unsafe {
        if !user.is_current() {
            let groups = [user.gid];
            if libc::setgroups(1, groups.as_ptr()) != 0 {
                return Err(err("setgroups"));
            }
            if libc::setresgid(user.gid, user.gid, user.gid) != 0 {
                return Err(err("setresgid"));
            }
            if libc::setresuid(user.uid, user.uid, user.uid) != 0 {
                return Err(err("setresuid"));
            }
        }
        if libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 {
            return Err(err("clearing ambient capabilities"));
        }
    }
    capset_none().map_err(|e| format!("--drop-privileges {}: capset: {e}", user.name))?;
    // SAFETY: plain prctls.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(err("PR_SET_NO_NEW_PRIVS"));
        }
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            return Err(err("PR_SET_DUMPABLE"));
        }
    }
    let (e, p, i) = capget().map_err(|e| format!("--drop-privileges {}: capget: {e}", user.name))?;
    if (e, p, i) != (0, 0, 0) || !user.is_current() {
        return Err(format!("--drop-privileges {}: capabilities or ids did not change as asked", user.name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_exactly_what_is_missing() {
        let set = |caps: &[u32]| caps.iter().fold(0u64, |s, &c| s | 1 << c);
        assert_eq!(missing(set(&[CAP_BPF, CAP_PERFMON]), false), Vec::<u32>::new());
        assert_eq!(missing(set(&[CAP_BPF]), false), [CAP_PERFMON]);
        assert_eq!(missing(set(&[CAP_PERFMON]), false), [CAP_BPF]);
        assert_eq!(missing(0, false), [CAP_BPF, CAP_PERFMON]);
        assert_eq!(missing(set(&[CAP_SYS_ADMIN]), false), Vec::<u32>::new(), "CAP_SYS_ADMIN implies both");
        assert_eq!(missing(set(&[CAP_BPF, CAP_PERFMON]), true), [CAP_SETUID, CAP_SETGID]);
        assert_eq!(missing(set(&[CAP_BPF, CAP_PERFMON, CAP_SETUID, CAP_SETGID]), true), Vec::<u32>::new());
        assert_eq!(missing(u64::MAX >> 23, true), Vec::<u32>::new(), "root's full set (41 capabilities)");
    }

    #[test]
    fn lists_read_as_english() {
        assert_eq!(and_list(&["CAP_BPF"]), "CAP_BPF");
        assert_eq!(and_list(&["CAP_BPF", "CAP_PERFMON"]), "CAP_BPF and CAP_PERFMON");
        assert_eq!(and_list(&["A", "B", "C"]), "A, B and C");
    }

    #[test]
    fn users_by_name_and_number() {
        assert_eq!(lookup_user("root").unwrap(), User { name: "root".into(), uid: 0, gid: 0 });
        assert_eq!(lookup_user("0").unwrap().name, "root");
        assert_eq!(lookup_user("4000000").unwrap(), User { name: "4000000".into(), uid: 4_000_000, gid: 4_000_000 });
        assert!(lookup_user("no-such-user-here").unwrap_err().contains("no user named 'no-such-user-here'"));
    }
}
