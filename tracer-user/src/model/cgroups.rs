//! A record's cgroup: `cgroup_id` (the kernel's, the cgroup directory's
//! inode number) resolved to its path relative to the cgroup2 mount, and
//! what the path says — the container, the Kubernetes pod, the systemd
//! unit — for the layouts real runtimes make.
//!
//! Resolving: the cgroup2 filesystem (kernfs) hands out file handles made
//! of the id itself, so `open_by_handle_at(mount, {id})` opens the cgroup
//! directory directly and `/proc/self/fd/N` names it: one lookup per new
//! cgroup, however many there are (it needs CAP_DAC_READ_SEARCH; without
//! it — after `--drop-privileges` — the tree under the mount is walked
//! instead). Results are cached by id, so a cgroup created after start-up
//! resolves on first sight and every later record is a hash lookup.
//! [`CgroupResolver::sweep`] (every few seconds, from the drain) drops the
//! entries of cgroups that no longer exist, so churn does not grow the
//! cache.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a cgroup path says. `path` starts with `/` (the mount's root).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupInfo {
    pub path: String,
    pub container_id: Option<String>,
    pub pod_uid: Option<String>,
    pub unit: Option<String>,
}

impl CgroupInfo {
    pub fn parse(path: &str) -> Self {
        let (container_id, pod_uid, unit) = parse_path(path);
        CgroupInfo { path: path.to_string(), container_id, pod_uid, unit }
    }
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A container id in one path component, for the runtimes' layouts:
/// docker `docker-<id>.scope` and `/docker/<id>`; containerd/CRI
/// `cri-containerd-<id>.scope` and the cgroupfs `/kubepods/…/pod<uid>/<id>`;
/// cri-o `crio-<id>.scope`; podman `libpod-<id>.scope` and `/libpod_parent/libpod-<id>`.
/// The runtimes' monitors (`crio-conmon-<id>.scope`, `libpod-conmon-<id>.scope`)
/// are not the container.
fn container_in(component: &str, parent: Option<&str>) -> Option<String> {
    let name = component.strip_suffix(".scope").unwrap_or(component);
    for prefix in ["docker-", "cri-containerd-", "crio-", "libpod-", "containerd-"] {
        if let Some(id) = name.strip_prefix(prefix)
            && is_hex_id(id)
        {
            return Some(id.to_string());
        }
    }
    // cgroupfs layouts: the bare id, under docker/ or a pod's directory.
    let bare_parent = parent.is_some_and(|p| p == "docker" || p == "libpod_parent" || pod_in(p).is_some());
    (bare_parent && is_hex_id(component)).then(|| component.to_string())
}

/// A pod uid: `pod<uid>` (cgroupfs) or `kubepods[-<qos>]-pod<uid_with_underscores>.slice`
/// (systemd), as the uid's usual dashed form.
fn pod_in(component: &str) -> Option<String> {
    let name = component.strip_suffix(".slice").unwrap_or(component);
    let at = name.rfind("pod")?;
    let before = &name[..at];
    if !(before.is_empty() || before.starts_with("kubepods") && before.ends_with('-')) {
        return None;
    }
    let uid = name[at + 3..].replace('_', "-");
    let ok = uid.len() == 36
        && uid.bytes().enumerate().all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() });
    ok.then(|| uid.to_ascii_lowercase())
}

/// `container_id`, `pod_uid`, `unit` of a cgroup path: the deepest match
/// of each (a container inside a pod inside a slice).
pub fn parse_path(path: &str) -> (Option<String>, Option<String>, Option<String>) {
    let (mut container, mut pod, mut unit) = (None, None, None);
    let mut parent: Option<&str> = None;
    for c in path.split('/').filter(|c| !c.is_empty()) {
        if let Some(id) = container_in(c, parent) {
            container = Some(id);
        }
        if let Some(uid) = pod_in(c) {
            pod = Some(uid);
        }
        if (c.ends_with(".service") || c.ends_with(".scope")) && c.len() > ".scope".len() {
            unit = Some(c.to_string());
        }
        parent = Some(c);
    }
    (container, pod, unit)
}

/// How long a cgroup is kept in the cache without a sweep.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

pub struct CgroupResolver {
    /// The cgroup2 mount point, and the mount opened (for handles).
    root: PathBuf,
    mount: Option<OwnedFd>,
    /// id → what it resolved to (`None`: could not be resolved; retried
    /// after the next sweep).
    cache: HashMap<u64, Option<Arc<CgroupInfo>>>,
    /// open_by_handle_at works here (CAP_DAC_READ_SEARCH).
    by_handle: bool,
}

impl CgroupResolver {
    /// The resolver for this machine's cgroup2 mount, if there is one.
    pub fn for_this_machine() -> Option<Self> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let root = crate::kernel::filter::cgroup2_mount(&mountinfo)?;
        Some(CgroupResolver::new(root))
    }

    pub fn new(root: PathBuf) -> Self {
        let mount = std::fs::File::open(&root).ok().map(OwnedFd::from);
        CgroupResolver { root, mount, cache: HashMap::new(), by_handle: true }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Cached entries (what `stats` reports as `cgroups_cached`).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// What cgroup `id` is, resolving it on first sight.
    pub fn resolve(&mut self, id: u64) -> Option<Arc<CgroupInfo>> {
        if let Some(hit) = self.cache.get(&id) {
            return hit.clone();
        }
        let found = self.lookup(id).map(|rel| Arc::new(CgroupInfo::parse(&rel)));
        self.cache.insert(id, found.clone());
        found
    }

    /// The path of cgroup `id` relative to the mount (`/` for its root).
    fn lookup(&mut self, id: u64) -> Option<String> {
        if self.by_handle {
            match self.by_handle(id) {
                Ok(p) => return p,
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => self.by_handle = false,
                Err(_) => return None,
            }
        }
        self.by_walk(id)
    }

    fn relative(&self, abs: &Path) -> Option<String> {
        let rel = abs.strip_prefix(&self.root).ok()?;
        Some(format!("/{}", rel.to_string_lossy()))
    }

    /// `open_by_handle_at` with kernfs's handle: the 64-bit id
    /// (FILEID_KERNFS). Ok(None): no such cgroup (any more).
    fn by_handle(&self, id: u64) -> std::io::Result<Option<String>> {
        let Some(mount) = &self.mount else { return Err(std::io::Error::from_raw_os_error(libc::EBADF)) };
        #[repr(C)]
        struct Handle {
            bytes: u32,
            kind: i32,
            id: u64,
        }
        const FILEID_KERNFS: i32 = 0xfe;
        let mut h = Handle { bytes: 8, kind: FILEID_KERNFS, id };
        // SAFETY: `h` is a `struct file_handle` with 8 bytes of handle.
        let fd = unsafe {
            libc::syscall(libc::SYS_open_by_handle_at, mount.as_raw_fd(), &mut h as *mut Handle, libc::O_PATH | libc::O_CLOEXEC)
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ESTALE | libc::ENOENT) => Ok(None),
                _ => Err(e),
            };
        }
        // SAFETY: a new fd, owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let abs = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        Ok(self.relative(&abs))
    }

    /// Walks the tree under the mount for a directory whose inode is `id`.
    fn by_walk(&self, id: u64) -> Option<String> {
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            if std::fs::metadata(&dir).is_ok_and(|m| m.ino() == id) {
                return self.relative(&dir);
            }
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
        None
    }

    /// Drops the entries of cgroups that are gone (and of ids that did not
    /// resolve, so they are tried again).
    pub fn sweep(&mut self) {
        let root = self.root.clone();
        self.cache.retain(|&id, info| match info {
            Some(i) => {
                let abs = root.join(i.path.trim_start_matches('/'));
                std::fs::metadata(abs).is_ok_and(|m| m.ino() == id)
            }
            None => false,
        });
        self.cache.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const POD: &str = "5d3e7c1a-9b2f-4e6d-8a1c-0f9e8d7c6b5a";

    fn p(path: &str) -> (Option<String>, Option<String>, Option<String>) {
        parse_path(path)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn docker() {
        assert_eq!(p(&format!("/system.slice/docker-{ID}.scope")), (s(ID), None, s(&format!("docker-{ID}.scope"))));
        assert_eq!(p(&format!("/docker/{ID}")), (s(ID), None, None));
        // Not an id: too short, upper case, or not under docker/.
        assert_eq!(p("/docker/0123abcd").0, None);
        assert_eq!(p(&format!("/docker/{}", ID.to_uppercase())).0, None);
        assert_eq!(p(&format!("/other/{ID}")).0, None);
    }

    #[test]
    fn containerd_and_kubernetes() {
        let pod_ = POD.replace('-', "_");
        let systemd = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_}.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(p(&systemd), (s(ID), s(POD), s(&format!("cri-containerd-{ID}.scope"))));
        let guaranteed = format!("/kubepods.slice/kubepods-pod{pod_}.slice/cri-containerd-{ID}.scope");
        assert_eq!(p(&guaranteed).1, s(POD));
        assert_eq!(p(&format!("/kubepods/burstable/pod{POD}/{ID}")), (s(ID), s(POD), None));
        assert_eq!(p(&format!("/kubepods/pod{POD}/{ID}")), (s(ID), s(POD), None));
        // The pod's own cgroup: a pod, no container.
        assert_eq!(p(&format!("/kubepods/besteffort/pod{POD}")), (None, s(POD), None));
    }

    #[test]
    fn crio_and_podman() {
        assert_eq!(p(&format!("/kubepods.slice/crio-{ID}.scope")).0, s(ID));
        assert_eq!(p(&format!("/kubepods.slice/crio-conmon-{ID}.scope")).0, None, "conmon is not the container");
        assert_eq!(p(&format!("/machine.slice/libpod-{ID}.scope")), (s(ID), None, s(&format!("libpod-{ID}.scope"))));
        assert_eq!(p(&format!("/machine.slice/libpod-{ID}.scope/container")).0, s(ID));
        assert_eq!(p(&format!("/machine.slice/libpod-conmon-{ID}.scope")).0, None);
        assert_eq!(p(&format!("/libpod_parent/libpod-{ID}")).0, s(ID));
    }

    #[test]
    fn systemd_units() {
        assert_eq!(p("/system.slice/nginx.service"), (None, None, s("nginx.service")));
        assert_eq!(p("/user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.scope"), (None, None, s("run-u7.scope")));
        assert_eq!(p("/user.slice/user-1000.slice/session-3.scope"), (None, None, s("session-3.scope")));
        assert_eq!(p("/"), (None, None, None));
        assert_eq!(p("/init.scope"), (None, None, s("init.scope")));
        assert_eq!(p("/a.slice/.scope"), (None, None, None));
    }

    #[test]
    fn own_cgroup_resolves_by_id() {
        let Some(mut r) = CgroupResolver::for_this_machine() else { return };
        let line = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let Some(own) = line.lines().find_map(|l| l.strip_prefix("0::")) else { return };
        let ino = std::fs::metadata(r.root().join(own.trim_start_matches('/'))).unwrap().ino();
        let info = r.resolve(ino).expect("own cgroup");
        assert_eq!(info.path, own);
        assert_eq!(r.cached(), 1);
        // The walk finds the same (what runs without CAP_DAC_READ_SEARCH).
        assert_eq!(r.by_walk(ino).as_deref(), Some(own));
        r.sweep();
        assert_eq!(r.cached(), 1, "it still exists");
        assert_eq!(r.resolve(u64::MAX - 7), None);
        r.sweep();
        assert_eq!(r.cached(), 1, "an id that did not resolve is not kept");
    }
}
