//! Symbolic decoding of syscall arguments and return values, x86-64 only,
//! producing exactly the strings strace prints for the same values.
//!
//! Every decoder is data-driven: each family is a `const` table of
//! `(value, name)` pairs, rendered by the shared helpers [`push_flags`]
//! (bitsets) and [`lookup`] (plain values). Numeric values come from the
//! uapi headers named on each table (under `/usr/include`, linux-libc-dev
//! 6.1); table *order* and all formatting details come from what strace
//! 6.1 (the installed strace) actually prints, verified by running small C
//! programs under `strace -e inject=...:error=ENOSYS` so the calls were
//! decoded without being executed. The unit tests quote those strace lines.
//!
//! Formatting rules copied from strace (`printflags`):
//! * known bits are joined with `|` in table order (not always bit order:
//!   see [`MMAP_FLAGS`], [`WAIT4_OPTIONS`], [`CLONE_FLAGS`]);
//! * leftover unknown bits follow as `|0x...` (lowercase hex);
//! * if *only* unknown bits are set, strace adds a comment naming the
//!   family: `0x100 /* PROT_??? */`;
//! * zero prints as the table's zero entry (`PROT_NONE`) or as `0`.
//!
//! Every decoder writes into a [`Sink`] (`write_*`: the JSON formatter's
//! output buffer, no allocation); the `String`-returning functions of the
//! same names wrap them for the text format and the tests.
//!
//! One file per family ([`mem`], [`process`], [`signals`], [`errno`],
//! [`misc`]); the shared helpers and the [`Sink`]s are here. Standalone: no
//! dependencies outside this folder.

mod errno;
mod mem;
mod misc;
mod process;
mod signals;

pub use errno::*;
pub use mem::*;
pub use misc::*;
pub use process::*;
pub use signals::*;

/// A decoding table: `(value, name)` pairs, in the order strace prints them.
type Table = [(u64, &'static str)];

/// Where decoded names go: a `String`, or a byte buffer being filled with
/// a JSON line. Everything written is ASCII.
pub trait Sink {
    fn put(&mut self, s: &str);
    /// `v` as a bitset against `table` ([`push_flags`]); a sink that keeps
    /// a [`FlagsMemo`] copies a text it made before.
    fn put_flags(&mut self, v: u64, table: &Table, unknown: Option<&str>)
    where
        Self: Sized,
    {
        render_flags(self, v, table, unknown);
    }
}

impl Sink for String {
    #[inline]
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

/// The text of the flag values rendered last, direct-mapped by value,
/// table and family: the same few values come again and again (every
/// pthread_create passes the same clone3 flags), and a repeat is then one
/// copy instead of a walk of the table and a copy per name. Owned by the
/// renderer that writes the lines.
pub struct FlagsMemo {
    slots: Vec<(Option<FlagsKey>, String)>,
}

const FLAGS_MEMO_SLOTS: usize = 64;

/// Value, table address and length, family name address.
type FlagsKey = (u64, usize, usize, usize);

impl Default for FlagsMemo {
    fn default() -> Self {
        FlagsMemo { slots: vec![(None, String::new()); FLAGS_MEMO_SLOTS] }
    }
}

/// A byte buffer being filled with a line, and the [`FlagsMemo`] of the
/// renderer filling it (None: flags are rendered afresh).
pub struct MemoSink<'a> {
    pub out: &'a mut Vec<u8>,
    pub memo: Option<&'a mut FlagsMemo>,
}

impl Sink for MemoSink<'_> {
    #[inline]
    fn put(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    fn put_flags(&mut self, v: u64, table: &Table, unknown: Option<&str>) {
        let Some(memo) = self.memo.as_deref_mut() else {
            render_flags(self.out, v, table, unknown);
            return;
        };
        // Direct-mapped, by value, table (clone and clone3 share a table but
        // not its length) and family name.
        let key = (v, table.as_ptr() as usize, table.len(), unknown.map_or(0, |u| u.as_ptr() as usize));
        let slot = (v ^ v >> 17 ^ (key.1 >> 4) as u64 ^ key.2 as u64) as usize % FLAGS_MEMO_SLOTS;
        let (k, text) = &mut memo.slots[slot];
        if *k != Some(key) {
            text.clear();
            render_flags(text, v, table, unknown);
            *k = Some(key);
        }
        self.out.extend_from_slice(text.as_bytes());
    }
}

/// `f`'s output as a `String`.
fn string_of(f: impl FnOnce(&mut String)) -> String {
    let mut s = String::new();
    f(&mut s);
    s
}

/// Writes `v` in decimal, without `format!`.
pub fn write_udec(out: &mut impl Sink, v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// Writes `v` in decimal, with `-` if negative.
pub fn write_dec(out: &mut impl Sink, v: i64) {
    if v < 0 {
        out.put("-");
    }
    write_udec(out, v.unsigned_abs());
}

/// Writes `0x` and `v` in lowercase hex (`0x0` for zero).
pub fn write_hex(out: &mut impl Sink, v: u64) {
    let mut buf = [0u8; 18];
    let mut i = buf.len();
    let mut n = v;
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    buf[i - 2..i].copy_from_slice(b"0x");
    out.put(std::str::from_utf8(&buf[i - 2..]).unwrap_or_default());
}

/// Appends `v` rendered as a bitset against `table`, strace `printflags` style.
///
/// * `v == 0`: the table's zero-valued entry if it has one, else `"0"`.
/// * Otherwise every non-zero entry whose bits are all set in `v` is printed
///   (in table order, `|`-separated) and its bits are cleared; remaining
///   bits follow as `0x...`. If nothing was named and `unknown` is
///   `Some("X_???")`, the hex is followed by ` /* X_??? */`.
///
fn push_flags(out: &mut impl Sink, v: u64, table: &Table, unknown: Option<&str>) {
    out.put_flags(v, table, unknown);
}

/// [`push_flags`] without a memo.
fn render_flags(out: &mut impl Sink, v: u64, table: &Table, unknown: Option<&str>) {
    if v == 0 {
        out.put(lookup(table, 0).unwrap_or("0"));
        return;
    }
    let mut rest = v;
    let mut named = false;
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            if named {
                out.put("|");
            }
            out.put(name);
            rest &= !bits;
            named = true;
        }
    }
    if rest != 0 {
        if named {
            out.put("|");
        }
        write_hex(out, rest);
        if let (false, Some(family)) = (named, unknown) {
            out.put(" /* ");
            out.put(family);
            out.put(" */");
        }
    }
}

/// Name of the first entry of `table` whose value is exactly `v`.
fn lookup(table: &Table, v: u64) -> Option<&'static str> {
    table.iter().find(|&&(val, _)| val == v).map(|&(_, name)| name)
}

/// `name` from `table` for exactly `v`, else `0x… /* FAMILY */`.
fn value_or_unknown(out: &mut impl Sink, table: &Table, v: u64, family: &str) {
    match lookup(table, v) {
        Some(n) => out.put(n),
        None => {
            write_hex(out, v);
            out.put(" /* ");
            out.put(family);
            out.put(" */");
        }
    }
}

// ---------------------------------------------------------------------------
// misc
// ---------------------------------------------------------------------------

/// `0x` + lowercase hex; `0x0` for zero (no NULL special case).
pub fn hex(v: u64) -> String {
    string_of(|s| write_hex(s, v))
}

#[cfg(test)]
mod tests;
