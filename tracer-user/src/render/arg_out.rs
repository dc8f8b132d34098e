//! The argument model: what a decoder ([`super::args`]) writes, each
//! value with its kind, and the [`ArgOut`] every format implements (the
//! JSON writer; [`super::text_args`] for strace's form; [`ValueTree`] for
//! tests and tools).

use crate::model::decode::{Rusage, UserStr};
use crate::model::names::{self, MemoSink};
use crate::model::wait::WaitStatus;

/// A decoded argument value. Each argument name maps to one variant
/// wherever it appears, so every JSON field keeps one type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A signed integer (sizes, fds, pids, counts).
    Int(i64),
    /// An address, rendered as a hex string.
    Ptr(u64),
    /// A symbolic rendering (flags, signal names).
    Str(String),
    Bool(bool),
    Obj(Vec<(&'static str, Value)>),
    Arr(Vec<Value>),
}

pub type Args = Vec<(&'static str, Value)>;

/// Receives decoded arguments, in order: the one argument model, rendered
/// by each implementation its own way. The JSON formatter writes each
/// straight into the line (no tree, no allocation); [`ValueTree`] builds
/// [`Value`]s of them; `text_args::TextArgs` writes strace's positional
/// form. The methods after the first nine are the kinds of value strace
/// writes in a way of its own; their defaults are what JSON writes.
pub trait ArgOut {
    fn int(&mut self, key: &'static str, v: i64);
    fn ptr(&mut self, key: &'static str, v: u64);
    fn bool(&mut self, key: &'static str, v: bool);
    /// Symbolic text that `write` renders with `names` (names, flags,
    /// numbers): ASCII, never in need of escaping.
    fn sym(&mut self, key: &'static str, write: impl FnOnce(&mut MemoSink<'_>));
    /// A string read from user memory (JSON: as UTF-8, U+FFFD for bytes
    /// that are not); `key` None for an element of the open array.
    fn user_str(&mut self, key: Option<&'static str>, s: &UserStr);
    fn begin_obj(&mut self, key: &'static str);
    fn end_obj(&mut self);
    fn begin_arr(&mut self, key: &'static str);
    fn end_arr(&mut self);

    /// An unsigned 64-bit integer (a `size_t`, an `unsigned long`).
    #[inline]
    fn uint(&mut self, key: &'static str, v: u64) {
        self.int(key, v as i64);
    }
    /// An integer strace writes in hex (`0` for zero): mmap's offset, a
    /// stack size, rseq's length.
    #[inline]
    fn int_hex(&mut self, key: &'static str, v: i64) {
        self.int(key, v);
    }
    /// An address strace writes as a number (`0`, never `NULL`).
    #[inline]
    fn ptr_hex(&mut self, key: &'static str, v: u64) {
        self.ptr(key, v);
    }
    /// An int the call read or wrote through a pointer: strace's `[N]`.
    #[inline]
    fn int_at(&mut self, key: &'static str, v: i64) {
        self.int(key, v);
    }
    /// A directory fd: strace's `AT_FDCWD` for -100.
    #[inline]
    fn dirfd(&mut self, key: &'static str, v: i64) {
        self.int(key, v);
    }
    /// An element of the open array that could not be read (strace's `?`).
    #[inline]
    fn unread_str(&mut self) {
        self.user_str(None, &UserStr::default());
    }
    /// The open array goes on past what was read (strace's `...`).
    #[inline]
    fn elided(&mut self) {}
    /// A wait status ([`WaitStatus`], decoded there), as object `key`.
    fn wait_status(&mut self, key: &'static str, st: WaitStatus) {
        self.begin_obj(key);
        match st {
            WaitStatus::Exited(code) => self.int("exited", code.into()),
            WaitStatus::Stopped(sig) => self.sym("stopped", |b| names::write_signal(b, sig.into())),
            WaitStatus::Continued => self.bool("continued", true),
            WaitStatus::Signaled { sig, core } => {
                self.sym("signaled", |b| names::write_signal(b, sig.into()));
                self.bool("core_dumped", core);
            }
        }
        self.end_obj();
    }
    /// `struct rusage`, as object `key`.
    fn rusage(&mut self, key: &'static str, r: &Rusage) {
        self.begin_obj(key);
        self.int("utime_us", r.utime_us as i64);
        self.int("stime_us", r.stime_us as i64);
        for (n, v) in RUSAGE_LONGS.iter().zip(r.longs) {
            self.int(n, v);
        }
        self.end_obj();
    }
    /// An environment pointer and its count (`capped`: at least that
    /// many): strace's `0x… /* N vars */`.
    fn envp(&mut self, key: &'static str, v: u64, count_key: &'static str, count: u32, capped: bool) {
        let _ = capped;
        self.ptr(key, v);
        self.int(count_key, count.into());
    }
    /// What strace shows but the JSON contract leaves out (a pointer whose
    /// string could not be read, a NULL array).
    #[inline]
    fn text_only(&mut self, f: impl FnOnce(&mut Self))
    where
        Self: Sized,
    {
        let _ = f;
    }
    /// How strace lays out the members of the open object (or the
    /// argument list, outside any): made only for the text renderer.
    #[inline]
    fn text_layout(&mut self, layout: impl FnOnce() -> Vec<Slot>) {
        let _ = layout;
    }
}

/// One place in strace's layout of an argument list or struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The members that can fill it, best first (a pointer's pointee,
    /// then the pointer); none present: the slot is left out.
    pub from: &'static [&'static str],
    /// strace's `name=` before the value, where it names the argument.
    pub name: Option<&'static str>,
    /// A member the call wrote back, shown after ` => ` when present.
    pub out: Option<&'static str>,
}

impl Slot {
    pub const fn of(from: &'static [&'static str]) -> Slot {
        Slot { from, name: None, out: None }
    }
    pub const fn named(name: &'static str, from: &'static [&'static str]) -> Slot {
        Slot { from, name: Some(name), out: None }
    }
    pub const fn then_out(self, out: &'static str) -> Slot {
        Slot { out: Some(out), ..self }
    }
}

/// An [`ArgOut`] that builds the [`Value`] tree.
#[derive(Default)]
pub struct ValueTree {
    /// The open objects and arrays: key, members so far.
    open: Vec<(&'static str, Args)>,
    pub args: Args,
}

impl ValueTree {
    fn push(&mut self, key: &'static str, v: Value) {
        match self.open.last_mut() {
            Some((_, members)) => members.push((key, v)),
            None => self.args.push((key, v)),
        }
    }

    fn close(&mut self) -> (&'static str, Args) {
        self.open.pop().expect("a close for every open")
    }
}

impl ArgOut for ValueTree {
    fn int(&mut self, key: &'static str, v: i64) {
        self.push(key, Value::Int(v));
    }
    fn ptr(&mut self, key: &'static str, v: u64) {
        self.push(key, Value::Ptr(v));
    }
    fn bool(&mut self, key: &'static str, v: bool) {
        self.push(key, Value::Bool(v));
    }
    fn sym(&mut self, key: &'static str, write: impl FnOnce(&mut MemoSink<'_>)) {
        let mut b = Vec::new();
        write(&mut MemoSink { out: &mut b, memo: None });
        self.push(key, Value::Str(String::from_utf8_lossy(&b).into_owned()));
    }
    fn user_str(&mut self, key: Option<&'static str>, s: &UserStr) {
        self.push(key.unwrap_or(""), Value::Str(String::from_utf8_lossy(&s.bytes).into_owned()));
    }
    fn begin_obj(&mut self, key: &'static str) {
        self.open.push((key, Vec::new()));
    }
    fn end_obj(&mut self) {
        let (key, members) = self.close();
        self.push(key, Value::Obj(members));
    }
    fn begin_arr(&mut self, key: &'static str) {
        self.open.push((key, Vec::new()));
    }
    fn end_arr(&mut self) {
        let (key, items) = self.close();
        self.push(key, Value::Arr(items.into_iter().map(|(_, v)| v).collect()));
    }
}

const RUSAGE_LONGS: [&str; 14] = [
    "maxrss", "ixrss", "idrss", "isrss", "minflt", "majflt", "nswap", "inblock", "oublock",
    "msgsnd", "msgrcv", "nsignals", "nvcsw", "nivcsw",
];
