//! `--container ID` and `--unit NAME`: the cgroups they name, found under
//! the cgroup2 mount at start-up and, as containers and units come and go,
//! every second after, for the kernel's cgroup filter (one slot each; the
//! kernel side tests the slot's whole subtree, so a container's own
//! sub-cgroups are in).
//!
//! A cgroup joins when its path names a matching container (its id starts
//! with ID, as docker's short ids do) or unit (NAME exactly), and its
//! parent's does not: the container's or unit's top directory.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::model::cgroups::parse_path;

/// How often the tree is looked at for new matches.
pub const RESCAN_EVERY: Duration = Duration::from_secs(1);

pub struct CgroupWatch {
    root: PathBuf,
    containers: Vec<String>,
    units: Vec<String>,
    /// Inodes of the cgroups already in the filter.
    added: HashSet<u64>,
    last_scan: Instant,
    full: bool,
}

impl CgroupWatch {
    pub fn new(root: PathBuf, containers: Vec<String>, units: Vec<String>) -> Self {
        CgroupWatch { root, containers, units, added: HashSet::new(), last_scan: Instant::now(), full: false }
    }

    /// Does the cgroup at `rel` (relative to the mount) start a match?
    pub fn starts_match(&self, rel: &str) -> bool {
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        let (c, _, u) = parse_path(rel);
        let (pc, _, pu) = parse_path(parent);
        let container = c.as_deref().is_some_and(|id| self.containers.iter().any(|p| id.starts_with(p.as_str())));
        let unit = u.as_deref().is_some_and(|n| self.units.iter().any(|w| w == n)) && rel.ends_with(u.as_deref().unwrap_or(""));
        (container && pc != c) || (unit && pu != u)
    }

    /// Matching cgroups not seen before, opened: (path, directory).
    pub fn scan(&mut self) -> Vec<(PathBuf, std::fs::File)> {
        self.last_scan = Instant::now();
        let mut found = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            for e in rd.flatten() {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let path = e.path();
                let rel = format!("/{}", path.strip_prefix(&self.root).unwrap_or(&path).to_string_lossy());
                if self.starts_match(&rel) {
                    if let Ok(f) = std::fs::File::open(&path)
                        && let Ok(m) = f.metadata()
                        && self.added.insert(m.ino())
                    {
                        found.push((path.clone(), f));
                    }
                    // Below a match, everything is in already.
                    continue;
                }
                stack.push(path);
            }
        }
        found
    }

    /// [`scan`](Self::scan) if a second has passed since the last.
    pub fn scan_due(&mut self) -> Vec<(PathBuf, std::fs::File)> {
        if self.last_scan.elapsed() < RESCAN_EVERY { Vec::new() } else { self.scan() }
    }

    /// Says once that the filter has no room left for `path`.
    pub fn report_full(&mut self, path: &Path) {
        if !self.full {
            self.full = true;
            log::warn!(
                "the cgroup filter is full ({} slots): {} and later matches of --container/--unit are not traced",
                tracer_common::MAX_CGROUPS,
                path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_top_of_a_container_or_unit_matches() {
        let w = CgroupWatch::new("/x".into(), vec!["0123456789ab".into()], vec!["nginx.service".into()]);
        assert!(w.starts_match(&format!("/system.slice/docker-{ID}.scope")));
        assert!(!w.starts_match(&format!("/system.slice/docker-{ID}.scope/init")), "inside it: the top covers it");
        assert!(w.starts_match(&format!("/docker/{ID}")));
        assert!(!w.starts_match("/docker/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"));
        assert!(w.starts_match("/system.slice/nginx.service"));
        assert!(!w.starts_match("/system.slice/nginx.service/worker"));
        assert!(!w.starts_match("/system.slice/sshd.service"));
        assert!(!w.starts_match("/system.slice"));
    }
}
