//! wait(2)'s status word, decoded once (as the W* macros and strace do);
//! the JSON and text renderers each show the decoded value.

/// A decoded wait status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStatus {
    /// WIFEXITED: WEXITSTATUS.
    Exited(u8),
    /// WIFSIGNALED: WTERMSIG, WCOREDUMP.
    Signaled { sig: u8, core: bool },
    /// WIFSTOPPED: WSTOPSIG.
    Stopped(u8),
    /// WIFCONTINUED.
    Continued,
}

impl WaitStatus {
    pub fn decode(s: u32) -> WaitStatus {
        let sig = (s & 0x7f) as u8;
        let high = ((s >> 8) & 0xff) as u8;
        if sig == 0 {
            WaitStatus::Exited(high)
        } else if s & 0xff == 0x7f {
            WaitStatus::Stopped(high)
        } else if s == 0xffff {
            WaitStatus::Continued
        } else {
            WaitStatus::Signaled { sig, core: s & 0x80 != 0 }
        }
    }

    /// How a task ended: a task's exit code is only ever an exit or a
    /// death by signal; the stop/continue patterns (never an exit code)
    /// read as the signal bits they hold.
    pub fn as_exit(self) -> WaitStatus {
        match self {
            WaitStatus::Stopped(_) => WaitStatus::Signaled { sig: 0x7f, core: false },
            WaitStatus::Continued => WaitStatus::Signaled { sig: 0x7f, core: true },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_status_decodes() {
        assert_eq!(WaitStatus::decode(0x0100), WaitStatus::Exited(1));
        assert_eq!(WaitStatus::decode(0), WaitStatus::Exited(0));
        assert_eq!(WaitStatus::decode(9), WaitStatus::Signaled { sig: 9, core: false });
        assert_eq!(WaitStatus::decode(0x86), WaitStatus::Signaled { sig: 6, core: true });
        assert_eq!(WaitStatus::decode(0x137f), WaitStatus::Stopped(19));
        assert_eq!(WaitStatus::decode(0xffff), WaitStatus::Continued);
        assert_eq!(WaitStatus::decode(0x137f).as_exit(), WaitStatus::Signaled { sig: 0x7f, core: false });
        assert_eq!(WaitStatus::decode(0xffff).as_exit(), WaitStatus::Signaled { sig: 0x7f, core: true });
        assert_eq!(WaitStatus::decode(0x86).as_exit(), WaitStatus::Signaled { sig: 6, core: true });
    }
}
