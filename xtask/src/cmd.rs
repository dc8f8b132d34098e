//! Small helpers around [`std::process::Command`]: echo what is run, turn
//! failures into `anyhow` errors with context, and a typed error for "stop
//! with this message and this exit code".

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

/// An error that `main` reports verbatim (no "caused by" chain) and exits
/// with `code`. Use it for expected, user-actionable conditions.
#[derive(Debug)]
pub struct Fatal {
    pub code: u8,
    pub msg: String,
}

impl Fatal {
    pub fn new(code: u8, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Fatal {}

/// The cargo that runs us (`$CARGO`, set by `cargo run`), else `cargo` from PATH.
pub fn cargo() -> Command {
    Command::new(cargo_program())
}

fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Run `cmd` with inherited stdio after echoing it as `xtask: $ cmd args`.
/// A spawn failure or a non-zero exit becomes an error.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    eprintln!("xtask: $ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("failed to start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Run `cmd` quietly (no echo) and return its stdout. stderr is captured and
/// included in the error if the command fails.
pub fn output(cmd: &mut Command) -> Result<String> {
    let shown = display(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to start `{shown}`"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        if first.is_empty() {
            bail!("`{shown}` failed ({})", out.status);
        }
        bail!("`{shown}` failed ({}): {first}", out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed non-UTF-8 output"))
}

/// Render a command the way a user would type it: explicitly set environment
/// variables (except PATH, which is long and uninteresting) first, then the
/// program and its arguments, shell-quoted where needed. `$CARGO` is shown as
/// `cargo`, paths under the current directory relative to it.
pub fn display(cmd: &Command) -> String {
    let mut parts = Vec::new();
    for (key, value) in cmd.get_envs() {
        if key == "PATH" {
            continue;
        }
        if let Some(value) = value {
            parts.push(format!("{}={}", key.to_string_lossy(), quote(value)));
        }
    }
    let program = cmd.get_program();
    if program == cargo_program() {
        parts.push("cargo".to_owned());
    } else {
        let cwd = cmd
            .get_current_dir()
            .map(Path::to_path_buf)
            .or_else(|| std::env::current_dir().ok());
        parts.push(quote(shorten(Path::new(program), cwd.as_deref())));
    }
    parts.extend(cmd.get_args().map(quote));
    parts.join(" ")
}

/// `path` relative to `base` if it lies under it, otherwise unchanged.
fn shorten(path: &Path, base: Option<&Path>) -> OsString {
    match base.and_then(|b| path.strip_prefix(b).ok()) {
        Some(rel) if path.is_absolute() && !rel.as_os_str().is_empty() => {
            rel.as_os_str().to_owned()
        }
        _ => path.as_os_str().to_owned(),
    }
}

/// Quote a word for display in a POSIX shell if it needs it.
pub fn quote(word: impl AsRef<OsStr>) -> String {
    let s = word.as_ref().to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Absolute form of `p` (relative paths are taken from the current directory).
pub fn absolute(p: impl Into<PathBuf>) -> Result<PathBuf> {
    let p = p.into();
    std::path::absolute(&p).with_context(|| format!("cannot make {} absolute", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("--release"), "--release");
        assert_eq!(quote("^0.13"), "^0.13");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn display_shows_env_but_not_path() {
        let mut cmd = Command::new("/usr/bin/true");
        cmd.env("PATH", "/x:/y")
            .env("LLVM_PREFIX", "/usr/lib/llvm-22")
            .args(["install", "--version", "^0.13", "two words"])
            .current_dir("/usr");
        assert_eq!(
            display(&cmd),
            "LLVM_PREFIX=/usr/lib/llvm-22 bin/true install --version ^0.13 'two words'"
        );
    }

    #[test]
    fn shorten_only_under_base() {
        let base = Path::new("/work/main");
        assert_eq!(
            shorten(Path::new("/work/main/target/release/tracer"), Some(base)),
            OsString::from("target/release/tracer")
        );
        assert_eq!(
            shorten(Path::new("/usr/bin/x"), Some(base)),
            OsString::from("/usr/bin/x")
        );
        assert_eq!(
            shorten(Path::new("rel/x"), Some(base)),
            OsString::from("rel/x")
        );
    }

    #[test]
    fn failures_are_errors() {
        let err = run(&mut Command::new("false")).unwrap_err();
        assert!(err.to_string().contains("`false` failed"), "{err}");
        let err = output(&mut Command::new("/nonexistent/xtask-test")).unwrap_err();
        assert!(err.to_string().contains("failed to start"), "{err}");
        assert_eq!(output(Command::new("echo").arg("hi")).unwrap(), "hi\n");
    }
}
