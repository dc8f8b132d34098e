//! `tracer -- CMD`: find CMD, fork it held before its `execve`, release it
//! once the programs are attached and its pid is in the filter, and report
//! how it ended.
//!
//! Held, not just started: the child blocks on a pipe between `fork` and
//! `execve`, so not one instruction of CMD (not even its dynamic loader)
//! runs untraced. The fork happens before the BPF object is loaded, while
//! tracer is still single-threaded, so the child inherits no BPF fds and
//! needs nothing but async-signal-safe calls before it execs.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use tokio::io::{Interest, unix::AsyncFd};

/// Exit codes when CMD cannot be run, as shells and `env`/`timeout` use them.
pub const EXIT_NOT_FOUND: u8 = 127;
pub const EXIT_CANNOT_EXEC: u8 = 126;

/// Errors a user causes with `-- CMD`.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot run '{0}': not found in PATH")]
    NotInPath(String),
    #[error("cannot run '{0}': {1}")]
    NotFound(String, io::Error),
    #[error("cannot run '{0}': {1}")]
    CannotExec(String, io::Error),
    #[error("starting '{0}': {1}")]
    Fork(String, io::Error),
}

impl LaunchError {
    /// The exit code tracer ends with for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            LaunchError::NotInPath(_) | LaunchError::NotFound(..) => EXIT_NOT_FOUND,
            LaunchError::CannotExec(..) => EXIT_CANNOT_EXEC,
            LaunchError::Fork(..) => 1,
        }
    }
}

fn shown(s: &OsStr) -> String {
    s.as_bytes().escape_ascii().to_string()
}

/// Is `p` something `execve` could run: a regular file with an execute bit?
fn executable(p: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(p)?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(io::Error::from_raw_os_error(libc::EACCES));
    }
    Ok(())
}

/// Finds CMD the way `execvp` (and strace) does: a name containing `/` is a
/// path as it stands; any other name is looked up in `path_env` (`$PATH`,
/// glibc's `/bin:/usr/bin` when unset; an empty entry is the current
/// directory), taking the first executable regular file.
pub fn resolve_command(cmd: &OsStr, path_env: Option<&OsStr>) -> Result<PathBuf, LaunchError> {
    if cmd.is_empty() {
        return Err(LaunchError::NotInPath(String::new()));
    }
    if cmd.as_bytes().contains(&b'/') {
        let p = PathBuf::from(cmd);
        return match executable(&p) {
            Ok(()) => Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(LaunchError::NotFound(shown(cmd), e)),
            Err(e) => Err(LaunchError::CannotExec(shown(cmd), e)),
        };
    }
    let path_env = path_env.unwrap_or(OsStr::new("/bin:/usr/bin"));
    let mut denied = None;
    for dir in path_env.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
        let p = dir.join(cmd);
        match executable(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() != io::ErrorKind::NotFound && p.exists() => denied = denied.or(Some(e)),
            Err(_) => {}
        }
    }
    match denied {
        // Like execvp: found only where it cannot be run.
        Some(e) => Err(LaunchError::CannotExec(shown(cmd), e)),
        None => Err(LaunchError::NotInPath(shown(cmd))),
    }
}

/// tracer's exit code for CMD's wait status: its exit code, or 128+N if
/// signal N killed it (as shells report it).
pub fn exit_code(status: libc::c_int) -> u8 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status) as u8
    } else if libc::WIFSIGNALED(status) {
        128u8.wrapping_add(libc::WTERMSIG(status) as u8)
    } else {
        1
    }
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// CMD, forked and waiting for [`HeldCommand::release`].
pub struct HeldCommand {
    pid: libc::pid_t,
    name: String,
    /// Writing a byte releases the child; closing it unreleased makes the
    /// child exit without running CMD.
    release: Option<OwnedFd>,
    /// Closed by a successful `execve` (O_CLOEXEC); carries errno otherwise.
    exec_errors: Option<OwnedFd>,
    pidfd: Option<AsyncFd<OwnedFd>>,
    reaped: bool,
}

impl HeldCommand {
    /// Forks the child that will exec `path` with `argv` (`argv[0]` as the
    /// user typed it). With `stdout_to_stderr`, CMD's stdout is tracer's
    /// stderr, keeping tracer's stdout for events alone.
    ///
    /// Call only while the process is single-threaded.
    pub fn spawn(path: &Path, argv: &[OsString], stdout_to_stderr: bool) -> Result<HeldCommand, LaunchError> {
        let name = shown(argv.first().map(OsString::as_os_str).unwrap_or(path.as_os_str()));
        let nul = |_| LaunchError::CannotExec(name.clone(), io::Error::from_raw_os_error(libc::EINVAL));
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(nul)?;
        let c_args = argv.iter().map(|a| CString::new(a.as_bytes())).collect::<Result<Vec<_>, _>>().map_err(nul)?;
        let mut c_argv: Vec<*const libc::c_char> = c_args.iter().map(|c| c.as_ptr()).collect();
        c_argv.push(std::ptr::null());
        let fork_err = |e| LaunchError::Fork(name.clone(), e);
        let (release_r, release_w) = pipe_cloexec().map_err(fork_err)?;
        let (err_r, err_w) = pipe_cloexec().map_err(fork_err)?;
        match unsafe { libc::fork() } {
            -1 => Err(fork_err(io::Error::last_os_error())),
            0 => unsafe {
                child_exec_when_released(
                    release_r.as_raw_fd(),
                    release_w.as_raw_fd(),
                    err_r.as_raw_fd(),
                    err_w.as_raw_fd(),
                    &c_path,
                    &c_argv,
                    stdout_to_stderr,
                )
            },
            pid => Ok(HeldCommand {
                pid,
                name,
                release: Some(release_w),
                exec_errors: Some(err_r),
                pidfd: None,
                reaped: false,
            }),
        }
        // release_r and err_w close here in the parent.
    }

    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the child exec CMD, and waits until it has (or has failed to).
    pub fn release(&mut self) -> Result<(), LaunchError> {
        let Some(w) = self.release.take() else { return Ok(()) };
        let n = unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        if n != 1 {
            return Err(LaunchError::Fork(self.name.clone(), io::Error::last_os_error()));
        }
        drop(w);
        let r = self.exec_errors.take().expect("released once");
        let mut errno = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = unsafe { libc::read(r.as_raw_fd(), errno[got..].as_mut_ptr().cast(), 4 - got) };
            match n {
                0 => break,
                n if n > 0 => got += n as usize,
                _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
                _ => break,
            }
        }
        if got < 4 {
            return Ok(());
        }
        self.reap_blocking();
        let e = io::Error::from_raw_os_error(i32::from_ne_bytes(errno));
        Err(if e.kind() == io::ErrorKind::NotFound {
            LaunchError::NotFound(self.name.clone(), e)
        } else {
            LaunchError::CannotExec(self.name.clone(), e)
        })
    }

    /// Sends `sig` to CMD (SIGINT/SIGTERM that reached tracer).
    pub fn signal(&self, sig: libc::c_int) {
        if !self.reaped {
            // A zombie keeps its pid until reaped, so this cannot hit a stranger.
            unsafe { libc::kill(self.pid, sig) };
        }
    }

    /// Waits (async) for CMD to exit, reaps it, and returns its wait status.
    /// Cancel-safe: a dropped call leaves CMD to the next one.
    pub async fn wait(&mut self) -> io::Result<libc::c_int> {
        if self.pidfd.is_none() {
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, self.pid, 0) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
            // SAFETY: the AsyncFd owns the pidfd for as long as it is
            // registered; nothing else closes it.
            let afd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
                .map_err(|e| e.into_parts().1)?;
            self.pidfd = Some(afd);
        }
        loop {
            let mut guard = self.pidfd.as_ref().unwrap().readable().await?;
            let mut status = 0;
            match unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) } {
                0 => guard.clear_ready(),
                -1 => return Err(io::Error::last_os_error()),
                _ => {
                    self.reaped = true;
                    return Ok(status);
                }
            }
        }
    }

    fn reap_blocking(&mut self) {
        if !self.reaped {
            let mut status = 0;
            while unsafe { libc::waitpid(self.pid, &mut status, 0) } == -1
                && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
            {}
            self.reaped = true;
        }
    }
}

impl Drop for HeldCommand {
    fn drop(&mut self) {
        // Never released (tracer failed to attach): closing the pipe makes
        // the child exit without running CMD; reap it. A released CMD that
        // outlives tracer (stdout closed) is left to run, as after strace.
        if self.release.take().is_some() {
            self.reap_blocking();
        }
    }
}

/// The child between `fork` and `execve`: only async-signal-safe calls, no
/// allocation, no Rust destructors (it leaves through `execve` or `_exit`).
unsafe fn child_exec_when_released(
    release_r: RawFd,
    release_w: RawFd,
    err_r: RawFd,
    err_w: RawFd,
    path: &CString,
    argv: &[*const libc::c_char],
    stdout_to_stderr: bool,
) -> ! {
    unsafe {
        libc::close(release_w);
        libc::close(err_r);
        let mut b = 0u8;
        loop {
            match libc::read(release_r, (&raw mut b).cast(), 1) {
                1 => break,
                -1 if *libc::__errno_location() == libc::EINTR => continue,
                // EOF: tracer gave up (or died) before attaching.
                _ => libc::_exit(EXIT_CANNOT_EXEC as i32),
            }
        }
        // Rust's runtime ignores SIGPIPE, and ignored signals survive execve.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        if stdout_to_stderr {
            libc::dup2(2, 1);
        }
        libc::execv(path.as_ptr(), argv.as_ptr());
        let errno = (*libc::__errno_location()).to_ne_bytes();
        libc::write(err_w, errno.as_ptr().cast(), 4);
        libc::_exit(EXIT_CANNOT_EXEC as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_looked_up_in_path_and_paths_are_taken_as_they_stand() {
        let path = OsStr::new("/nonexistent-dir::/bin:/usr/bin");
        let sh = resolve_command(OsStr::new("sh"), Some(path)).unwrap();
        assert!(sh == Path::new("/bin/sh") || sh == Path::new("/usr/bin/sh"), "{}", sh.display());
        assert_eq!(resolve_command(OsStr::new("/bin/sh"), Some(path)).unwrap(), Path::new("/bin/sh"));
        let e = resolve_command(OsStr::new("no-such-command-tracer"), Some(path)).unwrap_err();
        assert_eq!(e.to_string(), "cannot run 'no-such-command-tracer': not found in PATH");
        assert_eq!(e.exit_code(), 127);
        let e = resolve_command(OsStr::new("./no/such/file"), Some(path)).unwrap_err();
        assert_eq!(e.to_string(), "cannot run './no/such/file': No such file or directory (os error 2)");
        assert_eq!(e.exit_code(), 127);
        // A directory and a non-executable file are found but cannot run.
        let e = resolve_command(OsStr::new("/tmp"), Some(path)).unwrap_err();
        assert_eq!(e.exit_code(), 126);
        let plain = std::env::temp_dir().join(format!("tracer-launch-plain-{}", std::process::id()));
        std::fs::write(&plain, "not a program\n").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = resolve_command(plain.as_os_str(), Some(path)).unwrap_err();
        assert_eq!(e.to_string(), format!("cannot run '{}': Permission denied (os error 13)", plain.display()));
        assert_eq!(e.exit_code(), 126);
        std::fs::remove_file(&plain).unwrap();
        // An unset PATH falls back to /bin:/usr/bin.
        assert!(resolve_command(OsStr::new("sh"), None).is_ok());
        // Control bytes in the name are escaped in the error.
        let e = resolve_command(OsStr::new("a\x1bb"), Some(path)).unwrap_err();
        assert_eq!(e.to_string(), "cannot run 'a\\x1bb': not found in PATH");
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        // Wait statuses as the kernel encodes them.
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(255 << 8), 255);
        assert_eq!(exit_code(libc::SIGKILL), 128 + 9);
        assert_eq!(exit_code(libc::SIGINT | 0x80), 130, "core dump flag does not matter");
    }

    #[test]
    fn held_child_runs_nothing_until_released_and_reports_its_status() {
        let dir = std::env::temp_dir().join(format!("tracer-launch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("ran");
        let _ = std::fs::remove_file(&marker);
        let argv: Vec<OsString> =
            vec!["sh".into(), "-c".into(), format!("touch {}; exit 3", marker.display()).into()];
        let mut held = HeldCommand::spawn(Path::new("/bin/sh"), &argv, false).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!marker.exists(), "CMD ran before release");
        held.release().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        let status = rt.block_on(held.wait()).unwrap();
        assert_eq!(exit_code(status), 3);
        assert!(marker.exists());

        // Dropped unreleased: the child exits without running CMD.
        let _ = std::fs::remove_file(&marker);
        let held = HeldCommand::spawn(Path::new("/bin/sh"), &argv, false).unwrap();
        let pid = held.pid();
        drop(held);
        assert!(!marker.exists());
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "child reaped");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
