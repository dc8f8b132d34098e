//! The records correlation makes (`thread_create`, `reaped`, `unreaped`),
//! as values the renderers write.

use crate::model::decode::{Comm, Header};
use crate::model::names;

/// A thread's stack mapping as its mmap (and mprotect) made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub base: u64,
    pub len: u64,
    /// Bytes at the bottom left `PROT_NONE` by the mprotect that opened
    /// the rest; None if no such mprotect was seen.
    pub guard: Option<u64>,
    pub(super) mmap_seq: u64,
    pub(super) mprotect_seq: Option<u64>,
    /// The thread that was given this stack (once a clone used it).
    pub(super) owner: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadCreate {
    /// The clone's header: the creating (parent) thread.
    pub header: Header,
    pub syscall: &'static str,
    pub child_tid: u32,
    /// clone3's `flags` / clone's `clone_flags` (named by [`Self::write_flags`]).
    pub flags: u64,
    /// The lowest address of the stack: clone3's `stack`, or for clone the
    /// mapping that holds `newsp`.
    pub stack_base: Option<u64>,
    /// clone3's `stack_size` (clone passes none).
    pub stack_size: Option<u64>,
    pub mapping: Option<Mapping>,
    pub tls: u64,
    /// None when mmap is not traced and no mapping is on record: unknown.
    pub stack_reused: Option<bool>,
    pub reused_from_tid: Option<u32>,
    pub sources: Sources,
}

impl ThreadCreate {
    /// The flags as strace names them for the call that made the thread.
    pub fn write_flags(&self, out: &mut impl names::Sink) {
        if self.syscall == "clone3" {
            names::write_clone3_flags(out, self.flags);
        } else {
            names::write_clone_flags(out, self.flags);
        }
    }
}

/// The `seq`s of the events a record joins, oldest first: at most four
/// (a child's fork, exit and SIGCHLD, and the wait4 that reaped it), so
/// kept inline rather than in a `Vec` per record.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources {
    seqs: [u64; 4],
    len: u8,
}

impl Sources {
    pub fn push(&mut self, seq: u64) {
        self.seqs[usize::from(self.len)] = seq;
        self.len += 1;
    }
}

impl Extend<u64> for Sources {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, seqs: I) {
        for s in seqs {
            self.push(s);
        }
    }
}

impl std::ops::Deref for Sources {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        &self.seqs[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self[..].fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sigchld {
    pub code: i32,
    pub status: i32,
    pub result: i32,
    pub(super) seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// The wait4's header: the reaper.
    pub header: Header,
    pub child_pid: u32,
    pub child_comm: Comm,
    /// The child's wait-style status from its exit event.
    pub exit_status: Option<u32>,
    pub sigchld: Option<Sigchld>,
    /// From the child's death (its exit event) to the wait4's return.
    pub zombie_ns: Option<u64>,
    /// From the fork to the child's death.
    pub lifetime_ns: Option<u64>,
    pub sources: Sources,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreaped {
    /// The exit event of the parent's last thread.
    pub header: Header,
    pub child_pid: u32,
    pub child_comm: Comm,
    /// The child had died (a zombie nobody waited for); false: running.
    pub child_exited: bool,
    /// Its wait-style status, if tracer saw it die.
    pub exit_status: Option<u32>,
    pub zombie_ns: Option<u64>,
    pub sources: Sources,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    ThreadCreate(ThreadCreate),
    Reaped(Reaped),
    Unreaped(Unreaped),
}

/// The records one event completes: none or one but for an exit that
/// leaves several children, so one is kept inline (no allocation).
#[derive(Debug)]
// The inline record is the point: boxing it would bring the allocation back.
#[allow(clippy::large_enum_variant)]
pub enum Records {
    One(Option<Record>),
    Many(Vec<Record>),
}

impl Default for Records {
    fn default() -> Self {
        Records::One(None)
    }
}

impl Records {
    // Inlined: out of line, every record (~300 bytes) was built on the
    // stack and then copied into its slot.
    #[inline]
    pub(super) fn push(&mut self, r: Record) {
        match self {
            Records::One(slot @ None) => *slot = Some(r),
            Records::One(Some(_)) => {
                let Records::One(Some(first)) = std::mem::take(self) else { unreachable!() };
                *self = Records::Many(vec![first, r]);
            }
            Records::Many(v) => v.push(r),
        }
    }

    /// Empty again; a `Many` keeps its allocation for the next time.
    pub fn clear(&mut self) {
        match self {
            Records::One(r) => *r = None,
            Records::Many(v) => v.clear(),
        }
    }

    pub fn as_slice(&self) -> &[Record] {
        match self {
            Records::One(r) => r.as_slice(),
            Records::Many(v) => v,
        }
    }
}

impl std::ops::Deref for Records {
    type Target = [Record];
    fn deref(&self) -> &[Record] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Records {
    type Item = &'a Record;
    type IntoIter = std::slice::Iter<'a, Record>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}
