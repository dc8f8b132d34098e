//! A program the kernel's verifier refused, told so a user can act on it:
//! one line with the program, the kernel and the verifier's last word,
//! and the whole log kept in a file.

/// A program the kernel's verifier refused, told in one line: the
/// program, the kernel, the verifier's own last word, and where its whole
/// log is.
#[derive(Debug)]
pub struct Rejection {
    pub program: String,
    /// `uname -r`.
    pub kernel: String,
    /// The log's last meaningful line (its statistics lines skipped), with
    /// the instruction it is about when there is one.
    pub reason: String,
    /// The full log, written out; `None` if that failed.
    pub log_file: Option<std::path::PathBuf>,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the verifier of kernel {} rejected BPF program {}: {}; full log ", self.kernel, self.program, self.reason)?;
        match &self.log_file {
            Some(path) => write!(f, "in {} (and with RUST_LOG=debug)", path.display()),
            None => f.write_str("with RUST_LOG=debug"),
        }
    }
}

/// Lines a verifier log ends with that say nothing about why it failed.
fn is_log_trailer(line: &str) -> bool {
    ["processed ", "verification time", "stack depth", "max_states_per_insn", "peak_states", "-- END PROG LOAD LOG --"]
        .iter()
        .any(|p| line.starts_with(p))
}

/// The verifier's verdict in a log: its last meaningful line and, if an
/// instruction precedes it, that instruction (without the register state
/// after its `;`). `None` for an empty log.
pub fn verifier_verdict(log: &str) -> Option<String> {
    let mut lines = log.lines().map(str::trim).filter(|l| !l.is_empty() && !is_log_trailer(l)).rev();
    let last = lines.next()?;
    // "1891: (85) call bpf_probe_read_user#112": digits, a colon, an opcode.
    let is_insn = |l: &str| l.split_once(": (").is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if is_insn(last) {
        return Some(last.split(';').next().unwrap_or(last).trim_end().to_owned());
    }
    match lines.find(|l| !l.starts_with(';')) {
        Some(insn) if is_insn(insn) => Some(format!("{last} (at {})", insn.split(';').next().unwrap_or(insn).trim_end())),
        _ => Some(last.to_owned()),
    }
}

/// `uname -r`.
fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()).unwrap_or_else(|_| "(unknown)".into())
}

/// A verifier rejection of `prog`, if that is what `e` is: a load error
/// with a log. The log goes to the debug log and to a new file in the
/// temporary directory (created exclusively: never through a link someone
/// planted there).
pub fn rejection(prog: &str, e: &aya::programs::ProgramError) -> Option<Rejection> {
    let aya::programs::ProgramError::LoadError { verifier_log, .. } = e else { return None };
    let log = verifier_log.to_string();
    let reason = verifier_verdict(&log)?;
    log::debug!("verifier log of {prog}:\n{log}");
    let path = std::env::temp_dir().join(format!("tracer-verifier-{prog}-{}.log", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, log.as_bytes()));
    Some(Rejection { program: prog.to_owned(), kernel: kernel_release(), reason, log_file: written.ok().map(|()| path) })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A real log: the BTF-typed `signal_generate` as this kernel (6.18)
    /// refused it before its siginfo reads went through the helper.
    pub(crate) const LOG_6_18: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verifier-logs/6.18-signal_generate.log"));

    #[test]
    fn verdict_is_the_last_meaningful_line_and_its_instruction() {
        assert_eq!(
            verifier_verdict(LOG_6_18).as_deref(),
            Some("R3 invalid mem access 'scalar' (at 539: (61) r2 = *(u32 *)(r3 +0))")
        );
        // Statistics trailers and source comments between the instruction
        // and the verdict are skipped; an instruction with its state keeps
        // only the instruction.
        let log = "1891: (85) call bpf_probe_read_user#112\n; comment @ x.rs:1\nR2 min value is negative, either use unsigned or 'var &= const'\n\
                   processed 2048 insns (limit 1000000) max_states_per_insn 4 total_states 90 peak_states 90 mark_read 30\n";
        assert_eq!(
            verifier_verdict(log).as_deref(),
            Some("R2 min value is negative, either use unsigned or 'var &= const' (at 1891: (85) call bpf_probe_read_user#112)")
        );
        // A verdict with no instruction before it stands alone.
        assert_eq!(verifier_verdict("invalid argument\n").as_deref(), Some("invalid argument"));
        assert_eq!(verifier_verdict("12: (79) r2 = *(u64 *)(r1 +8)   ; R2=scalar()\n").as_deref(), Some("12: (79) r2 = *(u64 *)(r1 +8)"));
        // No log: not a verifier rejection.
        assert_eq!(verifier_verdict(""), None);
        assert_eq!(verifier_verdict("\nverification time 3 usec\n"), None);
    }

    #[test]
    fn rejection_is_one_line_naming_program_kernel_verdict_and_log() {
        let r = Rejection {
            program: "sys_exit_raw".into(),
            kernel: "6.1.0-57-amd64".into(),
            reason: verifier_verdict(LOG_6_18).unwrap(),
            log_file: Some("/tmp/tracer-verifier-sys_exit_raw-7.log".into()),
        };
        assert_eq!(
            r.to_string(),
            "the verifier of kernel 6.1.0-57-amd64 rejected BPF program sys_exit_raw: R3 invalid mem access 'scalar' \
             (at 539: (61) r2 = *(u32 *)(r3 +0)); full log in /tmp/tracer-verifier-sys_exit_raw-7.log (and with RUST_LOG=debug)"
        );
        let r = Rejection { log_file: None, ..r };
        assert!(r.to_string().ends_with("; full log with RUST_LOG=debug"), "{r}");
        assert!(!r.to_string().contains('\n'));
    }

}
