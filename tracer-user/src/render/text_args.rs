//! The text renderer of the argument model ([`ArgOut`]): strace's
//! positional form. Values without keys in the argument list, `{key=value,
//! …}` for structs, `[…]` for arrays, `NULL` for a null pointer, strings
//! C-quoted and cut with `...`; where strace lays a call out its own way
//! (a pointee in its pointer's place, clone's named arguments, what the
//! call wrote back after `=>`) the decoder says so with a [`Slot`] layout.
//! Text is for people, not the hot path: each value is a small `String`.

use std::fmt::Write as _;

use crate::model::decode::{Rusage, UserStr};
use crate::model::names::{self, MemoSink};
use crate::model::wait::WaitStatus;
use crate::render::args::{ArgOut, Slot};

/// An argument list (or struct, or array) being written.
struct Frame {
    key: &'static str,
    kind: Kind,
    /// Each member's key and text, in the order the decoder wrote them.
    items: Vec<(&'static str, String)>,
    layout: Option<Vec<Slot>>,
    /// strace's `...` after the last element.
    elided: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Obj,
    Arr,
}

/// An [`ArgOut`] writing strace's argument list.
pub struct TextArgs {
    /// The open frames; the first is the argument list.
    frames: Vec<Frame>,
}

impl Default for TextArgs {
    fn default() -> Self {
        TextArgs { frames: vec![Frame::new("", Kind::List)] }
    }
}

impl Frame {
    fn new(key: &'static str, kind: Kind) -> Self {
        Frame { key, kind, items: Vec::new(), layout: None, elided: false }
    }

    fn find(&self, key: &str) -> Option<&str> {
        self.items.iter().find(|(k, _)| *k == key).map(|(_, t)| t.as_str())
    }

    /// The frame's text: its members as its layout places them (all of
    /// them, in order, without one).
    fn render(&self) -> String {
        let (open, close) = match self.kind {
            Kind::List => ("", ""),
            Kind::Obj => ("{", "}"),
            Kind::Arr => ("[", "]"),
        };
        let mut s = String::from(open);
        let mut put = |name: Option<&str>, text: &str, out: Option<&str>| {
            if s.len() > open.len() {
                s.push_str(", ");
            }
            if let Some(n) = name {
                s.push_str(n);
                s.push('=');
            }
            s.push_str(text);
            if let Some(o) = out {
                s.push_str(" => ");
                s.push_str(o);
            }
        };
        let keyed = self.kind == Kind::Obj;
        match &self.layout {
            None => {
                for (k, t) in &self.items {
                    put(keyed.then_some(*k), t, None);
                }
            }
            Some(layout) => {
                for slot in layout {
                    let Some((key, text)) = slot.from.iter().find_map(|&k| self.find(k).map(|t| (k, t))) else {
                        continue;
                    };
                    let name = slot.name.or(keyed.then_some(key));
                    put(name, text, slot.out.and_then(|o| self.find(o)));
                }
            }
        }
        if self.elided {
            put(None, "...", None);
        }
        s.push_str(close);
        s
    }
}

impl TextArgs {
    fn push(&mut self, key: &'static str, text: String) {
        self.frame().items.push((key, text));
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the argument list is never closed")
    }

    fn close(&mut self) {
        let f = self.frames.pop().expect("a close for every open");
        self.push(f.key, f.render());
    }

    /// Appends the argument list to `out`.
    pub fn finish(self, out: &mut String) {
        debug_assert_eq!(self.frames.len(), 1, "an open struct or array");
        out.push_str(&self.frames[0].render());
    }
}

/// `0` or `0x…`, as C's `%#x`.
fn hex(v: u64) -> String {
    if v == 0 { "0".into() } else { format!("{v:#x}") }
}

impl ArgOut for TextArgs {
    fn int(&mut self, key: &'static str, v: i64) {
        self.push(key, v.to_string());
    }
    fn ptr(&mut self, key: &'static str, v: u64) {
        self.push(key, if v == 0 { "NULL".into() } else { format!("{v:#x}") });
    }
    fn bool(&mut self, key: &'static str, v: bool) {
        self.push(key, v.to_string());
    }
    fn sym(&mut self, key: &'static str, write: impl FnOnce(&mut MemoSink<'_>)) {
        let mut b = Vec::new();
        write(&mut MemoSink { out: &mut b, memo: None });
        self.push(key, String::from_utf8_lossy(&b).into_owned());
    }
    fn user_str(&mut self, key: Option<&'static str>, s: &UserStr) {
        let mut t = String::new();
        quote_bytes(&mut t, &s.bytes, s.truncated);
        self.push(key.unwrap_or(""), t);
    }
    fn begin_obj(&mut self, key: &'static str) {
        self.frames.push(Frame::new(key, Kind::Obj));
    }
    fn end_obj(&mut self) {
        self.close();
    }
    fn begin_arr(&mut self, key: &'static str) {
        self.frames.push(Frame::new(key, Kind::Arr));
    }
    fn end_arr(&mut self) {
        self.close();
    }

    fn uint(&mut self, key: &'static str, v: u64) {
        self.push(key, v.to_string());
    }
    fn int_hex(&mut self, key: &'static str, v: i64) {
        self.push(key, hex(v as u64));
    }
    fn ptr_hex(&mut self, key: &'static str, v: u64) {
        self.push(key, hex(v));
    }
    fn int_at(&mut self, key: &'static str, v: i64) {
        self.push(key, format!("[{v}]"));
    }
    fn dirfd(&mut self, key: &'static str, v: i64) {
        self.push(key, names::dirfd(v as u64));
    }
    fn unread_str(&mut self) {
        self.push("", "?".into());
    }
    fn elided(&mut self) {
        self.frame().elided = true;
    }
    /// strace's `[{WIFEXITED(s) && WEXITSTATUS(s) == 1}]`: an int read
    /// through a pointer, so in brackets.
    fn wait_status(&mut self, key: &'static str, st: WaitStatus) {
        let t = match st {
            WaitStatus::Exited(code) => format!("[{{WIFEXITED(s) && WEXITSTATUS(s) == {code}}}]"),
            WaitStatus::Stopped(sig) => format!("[{{WIFSTOPPED(s) && WSTOPSIG(s) == {}}}]", names::signal_string(sig.into())),
            WaitStatus::Continued => "[{WIFCONTINUED(s)}]".into(),
            WaitStatus::Signaled { sig, core } => {
                let core = if core { " && WCOREDUMP(s)" } else { "" };
                format!("[{{WIFSIGNALED(s) && WTERMSIG(s) == {}{core}}}]", names::signal_string(sig.into()))
            }
        };
        self.push(key, t);
    }
    /// strace's abbreviated `struct rusage`: the two times, then `...`.
    fn rusage(&mut self, key: &'static str, r: &Rusage) {
        let t = format!(
            "{{ru_utime={{tv_sec={}, tv_usec={}}}, ru_stime={{tv_sec={}, tv_usec={}}}, ...}}",
            r.utime_us / 1_000_000,
            r.utime_us % 1_000_000,
            r.stime_us / 1_000_000,
            r.stime_us % 1_000_000
        );
        self.push(key, t);
    }
    fn envp(&mut self, key: &'static str, v: u64, _count_key: &'static str, count: u32, capped: bool) {
        if v == 0 {
            self.push(key, "NULL".into());
            return;
        }
        let mut t = format!("{v:#x} /* {count}");
        if capped {
            t.push('+');
        }
        let _ = write!(t, " vars */");
        self.push(key, t);
    }
    fn text_only(&mut self, f: impl FnOnce(&mut Self)) {
        f(self);
    }
    fn text_layout(&mut self, layout: impl FnOnce() -> Vec<Slot>) {
        self.frame().layout = Some(layout());
    }
}

/// A C string literal as strace prints one (`string_quote`): `\"`, `\\`,
/// `\n`, `\t`, `\r`, `\f`, `\v`, printable ASCII as is, anything else in
/// octal, three digits only when an octal digit follows.
pub fn quote_bytes(out: &mut String, b: &[u8], cut: bool) {
    out.push('"');
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x0c => out.push_str("\\f"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                out.push('\\');
                let next_is_digit = b.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                if next_is_digit || c >> 6 != 0 {
                    out.push((b'0' + (c >> 6)) as char);
                }
                if next_is_digit || c >> 3 != 0 {
                    out.push((b'0' + ((c >> 3) & 7)) as char);
                }
                out.push((b'0' + (c & 7)) as char);
            }
        }
    }
    out.push('"');
    if cut {
        out.push_str("...");
    }
}
