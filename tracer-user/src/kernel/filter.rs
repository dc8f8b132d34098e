//! Resolve the filters the user named into what the kernel side's maps hold:
//! comms as NUL-padded keys, cgroup paths as open cgroup v2 directories,
//! pids as live thread-group ids. Everything here runs before any BPF object
//! is loaded, so bad input leaves nothing behind.

use std::fs::File;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use tracer_common::{COMM_LEN, filter_kinds};

/// `statfs(2)` f_type of cgroup v2 (`CGROUP2_SUPER_MAGIC`).
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Errors a user causes with a filter option; each is one line naming the
/// offending value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("--cgroup {arg}: no cgroup2 filesystem is mounted (none in /proc/self/mountinfo), so a relative path has nothing to be relative to")]
    NoCgroup2Mount { arg: String },
    #[error("--cgroup {arg}: {path} does not exist")]
    CgroupMissing { arg: String, path: String },
    #[error("--cgroup {arg}: {path} is not a cgroup v2 directory")]
    NotCgroup2 { arg: String, path: String },
    #[error("--cgroup {arg}: {path}: {err}")]
    CgroupIo { arg: String, path: String, err: String },
    #[error("--pid {0}: no such process")]
    NoSuchPid(u32),
}

/// One `--cgroup`: the directory, held open for `CGROUPS` (the map takes
/// the fd), and the path it was found at.
#[derive(Debug)]
pub struct Cgroup {
    pub path: PathBuf,
    pub dir: File,
}

/// Filters ready for the loader. Empty: trace the whole machine.
#[derive(Debug, Default)]
pub struct Filters {
    pub comms: Vec<[u8; COMM_LEN]>,
    pub cgroups: Vec<Cgroup>,
    /// Thread-group ids whose process trees are traced (`--pid`s and the
    /// launched command).
    pub tgids: Vec<u32>,
    /// More cgroups may join `cgroups` after load (`--container`,
    /// `--unit`): the kernel side gets every slot, filled in order.
    pub dynamic_cgroups: bool,
}

impl Filters {
    /// `Config::filter_kinds` bits for what is set.
    pub fn kinds(&self) -> u32 {
        let mut k = 0;
        if !self.comms.is_empty() {
            k |= filter_kinds::COMM;
        }
        if !self.cgroups.is_empty() || self.dynamic_cgroups {
            k |= filter_kinds::CGROUP;
        }
        if !self.tgids.is_empty() {
            k |= filter_kinds::PID;
        }
        k
    }

    /// What is traced, for the `attached` line: `machine-wide`, or e.g.
    /// `where comm is a|b and pid is 7 or a descendant`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.comms.is_empty() {
            let names: Vec<String> = self
                .comms
                .iter()
                .map(|c| c[..c.iter().position(|&b| b == 0).unwrap_or(COMM_LEN)].escape_ascii().to_string())
                .collect();
            parts.push(format!("comm is {}", names.join(" or ")));
        }
        if self.dynamic_cgroups {
            parts.push("cgroup matches --container/--unit or --cgroup".to_string());
        } else if !self.cgroups.is_empty() {
            let paths: Vec<String> =
                self.cgroups.iter().map(|c| c.path.as_os_str().as_bytes().escape_ascii().to_string()).collect();
            parts.push(format!("cgroup is under {}", paths.join(" or ")));
        }
        if !self.tgids.is_empty() {
            let pids: Vec<String> = self.tgids.iter().map(u32::to_string).collect();
            parts.push(format!("process is {} or a descendant", pids.join(" or ")));
        }
        if parts.is_empty() { "machine-wide".into() } else { format!("where {}", parts.join(" and ")) }
    }
}

/// The filters as given on the command line, checked for what can be checked
/// without looking at the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterArgs {
    /// NUL-padded, as the kernel keeps `task_struct::comm`.
    pub comms: Vec<[u8; COMM_LEN]>,
    pub cgroups: Vec<PathBuf>,
    pub pids: Vec<u32>,
}

/// Resolves every filter option; the first bad one is the error.
pub fn resolve(args: &FilterArgs) -> Result<Filters, FilterError> {
    let mut f = Filters { comms: args.comms.clone(), ..Filters::default() };
    if !args.cgroups.is_empty() {
        let mount = std::fs::read_to_string("/proc/self/mountinfo")
            .ok()
            .and_then(|m| cgroup2_mount(&m));
        for arg in &args.cgroups {
            let cg = resolve_cgroup(arg, mount.as_deref())?;
            // Two spellings of one directory are one slot.
            let ino = cg.dir.metadata().map(|m| (m.dev(), m.ino())).ok();
            if !f.cgroups.iter().any(|c| c.dir.metadata().map(|m| (m.dev(), m.ino())).ok() == ino) {
                f.cgroups.push(cg);
            }
        }
    }
    for &pid in &args.pids {
        let tgid = resolve_pid(pid)?;
        if tgid != pid {
            log::warn!("--pid {pid} is a thread of process {tgid}; tracing process {tgid}");
        }
        if !f.tgids.contains(&tgid) {
            f.tgids.push(tgid);
        }
    }
    Ok(f)
}

/// Undoes mountinfo's octal escapes (`\040` for a space, …).
fn unescape_mountinfo(field: &str) -> PathBuf {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') as u32 * 64 + (b[i + 2] - b'0') as u32 * 8 + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    PathBuf::from(std::ffi::OsStr::from_bytes(&out))
}

/// The mount point of the cgroup v2 hierarchy, from `/proc/self/mountinfo`
/// text: `/sys/fs/cgroup` on unified hosts, `/sys/fs/cgroup/unified` on
/// hybrid ones. Where it is mounted more than once, a mount of the
/// hierarchy's root is preferred (a mount of a subtree, as inside a cgroup
/// namespace, shows less), then the first listed.
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    let mut best: Option<(bool, PathBuf)> = None;
    for line in mountinfo.lines() {
        // id parent major:minor root mount-point options [optional…] - fstype source super-options
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|&f| f == "-") else { continue };
        if fields.get(dash + 1) != Some(&"cgroup2") || dash < 5 {
            continue;
        }
        let is_root = fields[3] == "/";
        let point = unescape_mountinfo(fields[4]);
        match &best {
            Some((true, _)) => {}
            Some((false, _)) if !is_root => {}
            _ => best = Some((is_root, point)),
        }
    }
    best.map(|(_, p)| p)
}

/// Opens one `--cgroup` PATH: absolute, or relative to the cgroup2 mount;
/// either way it must be a directory on a cgroup2 filesystem.
pub fn resolve_cgroup(arg: &Path, mount: Option<&Path>) -> Result<Cgroup, FilterError> {
    let shown = arg.as_os_str().as_bytes().escape_ascii().to_string();
    let path = if arg.is_absolute() {
        arg.to_path_buf()
    } else {
        match mount {
            Some(m) => m.join(arg),
            None => return Err(FilterError::NoCgroup2Mount { arg: shown }),
        }
    };
    let path_shown = path.as_os_str().as_bytes().escape_ascii().to_string();
    let io = |e: std::io::Error| FilterError::CgroupIo { arg: shown.clone(), path: path_shown.clone(), err: e.to_string() };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FilterError::CgroupMissing { arg: shown, path: path_shown });
        }
        Err(e) => return Err(io(e)),
    };
    if !meta.is_dir() {
        return Err(FilterError::NotCgroup2 { arg: shown, path: path_shown });
    }
    let dir = File::open(&path).map_err(io)?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(std::os::fd::AsRawFd::as_raw_fd(&dir), &mut st) } != 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    if st.f_type as i64 != CGROUP2_SUPER_MAGIC {
        return Err(FilterError::NotCgroup2 { arg: shown, path: path_shown });
    }
    Ok(Cgroup { path, dir })
}

/// The thread-group id of a live `--pid` (a thread's id names its process).
pub fn resolve_pid(pid: u32) -> Result<u32, FilterError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|_| FilterError::NoSuchPid(pid))?;
    tgid_from_status(&status).ok_or(FilterError::NoSuchPid(pid))
}

/// The `Tgid:` line of `/proc/PID/status`.
pub fn tgid_from_status(status: &str) -> Option<u32> {
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const UNIFIED: &str = "\
22 1 0:21 / /proc rw,nosuid - proc proc rw
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn finds_the_cgroup2_mount_on_hybrid_and_unified_hosts() {
        assert_eq!(cgroup2_mount(HYBRID), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        // Optional fields (shared:4) before the separator.
        assert_eq!(cgroup2_mount(UNIFIED), Some(PathBuf::from("/sys/fs/cgroup")));
        assert_eq!(cgroup2_mount("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"), None);
        assert_eq!(cgroup2_mount(""), None);
    }

    #[test]
    fn prefers_a_mount_of_the_root_and_unescapes_the_mount_point() {
        let m = "\
50 1 0:40 /sub /mnt/sub rw - cgroup2 cgroup2 rw
51 1 0:40 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw
52 1 0:40 / /mnt/later rw - cgroup2 cgroup2 rw
";
        assert_eq!(cgroup2_mount(m), Some(PathBuf::from("/mnt/cg two")));
        assert_eq!(cgroup2_mount(&m[..m.find("51 ").unwrap()]), Some(PathBuf::from("/mnt/sub")));
    }

    #[test]
    fn tgid_line_of_proc_status() {
        let s = "Name:\tthreads\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4243\n";
        assert_eq!(tgid_from_status(s), Some(4242));
        assert_eq!(tgid_from_status("Name:\tx\n"), None);
    }

    #[test]
    fn kinds_and_description_follow_what_is_set() {
        let f = Filters::default();
        assert_eq!(f.kinds(), 0);
        assert_eq!(f.describe(), "machine-wide");
        let mut c = [0u8; COMM_LEN];
        c[..3].copy_from_slice(b"a\x1bb");
        let f = Filters { comms: vec![c, *b"nginx\0\0\0\0\0\0\0\0\0\0\0"], cgroups: vec![], tgids: vec![7, 9], dynamic_cgroups: false };
        assert_eq!(f.kinds(), filter_kinds::COMM | filter_kinds::PID);
        assert_eq!(f.describe(), "where comm is a\\x1bb or nginx and process is 7 or 9 or a descendant");
    }

    #[test]
    fn cgroup_errors_name_the_path() {
        let e = resolve_cgroup(Path::new("nope/x"), Some(Path::new("/nonexistent-cg2"))).unwrap_err();
        assert_eq!(e.to_string(), "--cgroup nope/x: /nonexistent-cg2/nope/x does not exist");
        let e = resolve_cgroup(Path::new("rel"), None).unwrap_err();
        assert!(matches!(e, FilterError::NoCgroup2Mount { .. }));
        // A directory, but not on cgroup2.
        let e = resolve_cgroup(Path::new("/"), None).unwrap_err();
        assert_eq!(e.to_string(), "--cgroup /: / is not a cgroup v2 directory");
        let e = resolve_cgroup(Path::new("/proc/self/status"), None).unwrap_err();
        assert!(matches!(e, FilterError::NotCgroup2 { .. }));
    }

    #[test]
    fn own_pid_resolves_and_a_free_pid_does_not() {
        let me = std::process::id();
        assert_eq!(resolve_pid(me), Ok(me));
        // A thread's id names its process.
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(unsafe { libc::gettid() } as u32).unwrap();
            let _ = done_rx.recv();
        });
        let tid = rx.recv().unwrap();
        assert_ne!(tid, me);
        assert_eq!(resolve_pid(tid), Ok(me));
        drop(done_tx);
        t.join().unwrap();
        // Above the kernel's PID_MAX_LIMIT (4M): never a live pid.
        assert_eq!(resolve_pid(1 << 23), Err(FilterError::NoSuchPid(1 << 23)));
        assert_eq!(FilterError::NoSuchPid(5).to_string(), "--pid 5: no such process");
    }
}
