//! Signals: names, sets, actions, `si_code`, signal_generate's result.

use super::*;

// ---------------------------------------------------------------------------
// signals
// ---------------------------------------------------------------------------

/// Standard signals 1..=31. Values: x86 asm/signal.h. Where the header has
/// aliases (SIGIOT=6, SIGPOLL=29, SIGUNUSED=31) strace prints the name used
/// here.
pub const SIGNALS: &Table = &[
    (1, "SIGHUP"),
    (2, "SIGINT"),
    (3, "SIGQUIT"),
    (4, "SIGILL"),
    (5, "SIGTRAP"),
    (6, "SIGABRT"),
    (7, "SIGBUS"),
    (8, "SIGFPE"),
    (9, "SIGKILL"),
    (10, "SIGUSR1"),
    (11, "SIGSEGV"),
    (12, "SIGUSR2"),
    (13, "SIGPIPE"),
    (14, "SIGALRM"),
    (15, "SIGTERM"),
    (16, "SIGSTKFLT"),
    (17, "SIGCHLD"),
    (18, "SIGCONT"),
    (19, "SIGSTOP"),
    (20, "SIGTSTP"),
    (21, "SIGTTIN"),
    (22, "SIGTTOU"),
    (23, "SIGURG"),
    (24, "SIGXCPU"),
    (25, "SIGXFSZ"),
    (26, "SIGVTALRM"),
    (27, "SIGPROF"),
    (28, "SIGWINCH"),
    (29, "SIGIO"),
    (30, "SIGPWR"),
    (31, "SIGSYS"),
];

/// `SIGCHLD`, whose `si_code` names how a child changed state.
pub const SIGCHLD: u32 = 17;

/// Kernel real-time signal range (`__SIGRTMIN`..=`__SIGRTMAX`, i.e. 32.._NSIG);
/// x86 asm/signal.h (`SIGRTMIN` 32, `_NSIG` 64).
pub(super) const SIGRTMIN: i32 = 32;
const SIGRTMAX: i32 = 64;

/// Name of standard signal `sig` (1..=31), e.g. `Some("SIGKILL")` for 9.
pub fn signal_name(sig: u64) -> Option<&'static str> {
    lookup(SIGNALS, sig)
}

/// A signal number as strace prints it: `SIGKILL`, `SIGRTMIN` (32),
/// `SIGRT_1` (33) .. `SIGRT_32` (64), otherwise the bare decimal number.
/// The value is a C int, as in strace: only the low 32 bits count and they
/// are signed (`u64::MAX` prints `-1`, 0x100000009 prints `SIGKILL`).
pub fn signal_string(sig: u64) -> String {
    string_of(|s| write_signal(s, sig))
}

pub fn write_signal(out: &mut impl Sink, sig: u64) {
    let s = sig as u32 as i32;
    if let Some(name) = u64::try_from(s).ok().and_then(signal_name) {
        out.put(name);
    } else if s == SIGRTMIN {
        out.put("SIGRTMIN");
    } else if s > SIGRTMIN && s <= SIGRTMAX {
        out.put("SIGRT_");
        write_dec(out, (s - SIGRTMIN).into());
    } else {
        write_dec(out, s.into());
    }
}


// ---------------------------------------------------------------------------
// signal sets, sigaction, signal info
// ---------------------------------------------------------------------------

/// A signal's name as strace writes it inside a set (`[CHLD RTMIN RT_1]`):
/// the name without `SIG`, `RTMIN` for 32, `RT_<n>` above, else decimal.
fn write_set_member(out: &mut impl Sink, sig: u32) {
    match signal_name(sig.into()) {
        Some(n) => out.put(&n[3..]),
        None if sig as i32 == SIGRTMIN => out.put("RTMIN"),
        None if sig as i32 > SIGRTMIN && sig as i32 <= SIGRTMAX => {
            out.put("RT_");
            write_dec(out, (sig as i32 - SIGRTMIN).into());
        }
        None => write_dec(out, sig.into()),
    }
}

/// A 64-signal `sigset_t` as strace prints it: `[]`, `[CHLD]`,
/// `[RTMIN RT_1]`; when at least two thirds of the 64 bits are set, the
/// complement: `~[]` (all), `~[KILL STOP]` (strace's `sprintsigmask_n`).
pub fn sigset(mask: u64) -> String {
    string_of(|s| write_sigset(s, mask))
}

pub fn write_sigset(s: &mut impl Sink, mask: u64) {
    let (bits, prefix) = if mask.count_ones() >= 64 * 2 / 3 { (!mask, "~[") } else { (mask, "[") };
    s.put(prefix);
    let mut first = true;
    for bit in 0..64 {
        if bits & (1 << bit) != 0 {
            if !first {
                s.put(" ");
            }
            first = false;
            write_set_member(s, bit + 1);
        }
    }
    s.put("]");
}

/// rt_sigprocmask `how`. Values: asm-generic/signal-defs.h.
pub const SIGPROCMASK_HOW: &Table = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];

/// rt_sigprocmask `how`, e.g. `SIG_BLOCK`, `0x3 /* SIG_??? */`.
pub fn sigprocmask_how(v: u64) -> String {
    string_of(|s| write_sigprocmask_how(s, v))
}

pub fn write_sigprocmask_how(out: &mut impl Sink, v: u64) {
    value_or_unknown(out, SIGPROCMASK_HOW, u64::from(v as u32), "SIG_???");
}

/// `sa_flags` bits. Values: x86 asm/signal.h and asm-generic/signal-defs.h.
/// Order: strace 6.1's (SA_RESTORER first, not bit order).
pub const SA_FLAGS: &Table = &[
    (0x0400_0000, "SA_RESTORER"),
    (0x0800_0000, "SA_ONSTACK"),
    (0x1000_0000, "SA_RESTART"),
    (0x2000_0000, "SA_INTERRUPT"),
    (0x4000_0000, "SA_NODEFER"),
    (0x8000_0000, "SA_RESETHAND"),
    (0x4, "SA_SIGINFO"),
    (0x1, "SA_NOCLDSTOP"),
    (0x2, "SA_NOCLDWAIT"),
];
pub const SA_RESTORER: u64 = 0x0400_0000;

/// `sa_flags`, e.g. `SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO`, `0`,
/// `0x400 /* SA_??? */` (all 64 bits decoded).
pub fn sa_flags(v: u64) -> String {
    string_of(|s| write_sa_flags(s, v))
}

pub fn write_sa_flags(out: &mut impl Sink, v: u64) {
    push_flags(out, v, SA_FLAGS, Some("SA_???"));
}

/// `sa_handler`: `SIG_DFL` (0), `SIG_IGN` (1), else the address in hex.
pub fn sa_handler(v: u64) -> String {
    string_of(|s| write_sa_handler(s, v))
}

pub fn write_sa_handler(out: &mut impl Sink, v: u64) {
    match v {
        0 => out.put("SIG_DFL"),
        1 => out.put("SIG_IGN"),
        _ => write_hex(out, v),
    }
}

/// `CLD_EXITED`: the SIGCHLD's `si_status` is an exit code, not a signal.
pub const CLD_EXITED: i32 = 1;

/// `si_code` of a SIGCHLD from the kernel (uapi asm-generic/siginfo.h).
pub const CLD_CODES: &Table = &[
    (1, "CLD_EXITED"),
    (2, "CLD_KILLED"),
    (3, "CLD_DUMPED"),
    (4, "CLD_TRAPPED"),
    (5, "CLD_STOPPED"),
    (6, "CLD_CONTINUED"),
];

/// `si_code` values any signal can carry (uapi asm-generic/siginfo.h;
/// as i32, stored two's complement).
pub const SI_CODES: &Table = &[
    (0, "SI_USER"),
    (0x80, "SI_KERNEL"),
    (0xffff_ffff, "SI_QUEUE"),
    (0xffff_fffe, "SI_TIMER"),
    (0xffff_fffd, "SI_MESGQ"),
    (0xffff_fffc, "SI_ASYNCIO"),
    (0xffff_fffb, "SI_SIGIO"),
    (0xffff_fffa, "SI_TKILL"),
    (0xffff_fff9, "SI_DETHREAD"),
    (0xffff_fff8, "SI_ASYNCNL"),
];

/// `si_code` as strace prints it for signal `sig`: `CLD_EXITED` for a
/// SIGCHLD from the kernel (code > 0), `SI_USER`, `SI_TKILL`, …, else the
/// number.
pub fn si_code(sig: u32, code: i32) -> String {
    string_of(|s| write_si_code(s, sig, code))
}

pub fn write_si_code(out: &mut impl Sink, sig: u32, code: i32) {
    let by_signal = (sig == SIGCHLD && code > 0).then(|| lookup(CLD_CODES, code as u64)).flatten();
    match by_signal.or_else(|| lookup(SI_CODES, u64::from(code as u32))) {
        Some(n) => out.put(n),
        None => write_dec(out, code.into()),
    }
}

/// signal_generate's `result` (include/trace/events/signal.h,
/// `enum trace_signal_result`), lower-case.
pub fn signal_result(r: i32) -> String {
    string_of(|s| write_signal_result(s, r))
}

pub fn write_signal_result(out: &mut impl Sink, r: i32) {
    match r {
        0 => out.put("delivered"),
        1 => out.put("ignored"),
        2 => out.put("already_pending"),
        3 => out.put("overflow_fail"),
        4 => out.put("lose_info"),
        _ => write_dec(out, r.into()),
    }
}
