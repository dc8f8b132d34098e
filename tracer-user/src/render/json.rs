//! A minimal JSON-lines writer: appends to a reused `Vec<u8>`, formats
//! integers and hex by hand, and escapes strings per RFC 8259.
//! Kept separate so the hot path allocates nothing and never goes through
//! `format!`.

pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    /// One bit per open object/array (bit `depth - 1` is the innermost):
    /// does its next member need a comma? A bit stack rather than a
    /// `Vec<bool>`, so starting a line allocates nothing.
    need_comma: u64,
    depth: u32,
    /// A key was just written: the next value belongs to it.
    after_key: bool,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Deepest nesting the writer tracks (tracer's lines use three levels).
const MAX_DEPTH: u32 = 64;

// The small methods are `#[inline]` on purpose: called with literal keys,
// the copies become fixed-size moves instead of calls into memcpy, which
// dominated the per-event cost (20+ keys per line).
impl<'a> JsonWriter<'a> {
    #[inline]
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        JsonWriter { out, need_comma: 0, depth: 0, after_key: false }
    }

    /// A writer for members that continue an object opened elsewhere: its
    /// first member starts with a comma. What it writes is for
    /// [`JsonWriter::members`].
    #[inline]
    pub fn continuing_object(out: &'a mut Vec<u8>) -> Self {
        JsonWriter { out, need_comma: 1, depth: 1, after_key: false }
    }

    /// Appends members a [`JsonWriter::continuing_object`] wrote to the
    /// object open here (without their leading comma if they come first).
    #[inline]
    pub fn members(&mut self, text: &[u8]) {
        assert!(self.depth > 0 && !self.after_key, "members go inside an object, between members");
        let bit = 1u64 << (self.depth - 1);
        let text = if self.need_comma & bit != 0 { text } else { text.strip_prefix(b",").unwrap_or(text) };
        if !text.is_empty() {
            self.need_comma |= bit;
        }
        self.out.extend_from_slice(text);
    }

    /// Comma before a member or array element, if one came before it.
    #[inline]
    fn sep(&mut self) {
        if self.depth > 0 {
            let bit = 1u64 << (self.depth - 1);
            if self.need_comma & bit != 0 {
                self.out.push(b',');
            }
            self.need_comma |= bit;
        }
    }

    /// Prefix of any value: nothing after a key, a comma between elements.
    #[inline]
    fn value(&mut self) {
        if self.after_key {
            self.after_key = false;
        } else {
            self.sep();
        }
    }

    #[inline]
    fn open(&mut self, bracket: u8) {
        self.value();
        self.out.push(bracket);
        assert!(self.depth < MAX_DEPTH, "JSON nested deeper than {MAX_DEPTH} levels");
        self.depth += 1;
        self.need_comma &= !(1u64 << (self.depth - 1));
    }

    #[inline]
    fn close(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.depth = self.depth.saturating_sub(1);
    }

    /// `"key":` — keys are our own ASCII identifiers, never escaped.
    #[inline]
    pub fn key(&mut self, k: &str) {
        let k = k.as_bytes();
        let comma = self.depth > 0 && self.need_comma & (1u64 << (self.depth - 1)) != 0;
        if self.depth > 0 {
            self.need_comma |= 1u64 << (self.depth - 1);
        }
        // `,"key":` in one reservation and one copy of the key (a literal
        // at every call site, so a fixed-size move once inlined).
        let n = usize::from(comma) + k.len() + 3;
        self.out.reserve(n);
        let len = self.out.len();
        // SAFETY: `reserve` made room for `n` bytes after `len`, and exactly
        // those `n` are written before the length is extended over them.
        unsafe {
            let mut p = self.out.as_mut_ptr().add(len);
            if comma {
                *p = b',';
                p = p.add(1);
            }
            *p = b'"';
            std::ptr::copy_nonoverlapping(k.as_ptr(), p.add(1), k.len());
            *p.add(1 + k.len()) = b'"';
            *p.add(2 + k.len()) = b':';
            self.out.set_len(len + n);
        }
        self.after_key = true;
    }

    #[inline]
    pub fn begin_object(&mut self) {
        self.open(b'{');
    }
    /// Opens an object whose first members `write` appends to the output
    /// directly: complete `"key":value` members, comma-separated, with no
    /// leading comma and nothing that needs escaping. For a run of members
    /// every line starts with, written as one.
    #[inline]
    pub fn begin_object_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.open(b'{');
        let len = self.out.len();
        write(self.out);
        if self.out.len() > len {
            self.need_comma |= 1u64 << (self.depth - 1);
        }
    }
    #[inline]
    pub fn end_object(&mut self) {
        self.close(b'}');
    }
    #[inline]
    pub fn begin_array(&mut self) {
        self.open(b'[');
    }
    #[inline]
    pub fn end_array(&mut self) {
        self.close(b']');
    }
    #[inline]
    pub fn key_object(&mut self, k: &str) {
        self.key(k);
        self.begin_object();
    }
    #[inline]
    pub fn key_array(&mut self, k: &str) {
        self.key(k);
        self.begin_array();
    }

    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.value();
        push_u64(self.out, v);
    }
    #[inline]
    pub fn i64(&mut self, v: i64) {
        self.value();
        push_i64(self.out, v);
    }
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.value();
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
    }
    #[inline]
    pub fn null(&mut self) {
        self.value();
        self.out.extend_from_slice(b"null");
    }
    /// `"0x…"`, lowercase, no leading zeros ("0x0" for zero).
    #[inline]
    pub fn hex(&mut self, v: u64) {
        self.value();
        let (digits, n) = hex_digits(v);
        // `"0x`, all sixteen digit bytes (only the first `n` are kept), `"`:
        // fixed-size stores straight into the line.
        self.out.reserve(20);
        let len = self.out.len();
        // SAFETY: `reserve` made room for 20 bytes after `len`; 3 + 16 are
        // written, then the quote at 3 + n <= 19, and the length covers
        // exactly the first 4 + n of them.
        unsafe {
            let p = self.out.as_mut_ptr().add(len);
            std::ptr::copy_nonoverlapping(b"\"0x".as_ptr(), p, 3);
            std::ptr::copy_nonoverlapping(digits.as_ptr(), p.add(3), 16);
            *p.add(3 + n) = b'"';
            self.out.set_len(len + 4 + n);
        }
    }
    #[inline]
    pub fn str(&mut self, s: &str) {
        self.value();
        escape_into(self.out, s.as_bytes());
    }
    /// One of tracer's own names (syscall, event): ASCII with nothing to
    /// escape, so copied as it is.
    #[inline]
    pub fn name(&mut self, s: &'static str) {
        debug_assert!(!s.bytes().any(|b| NEEDS_ESCAPE[b as usize] || b >= 0x80), "{s:?} needs escaping");
        self.ascii_str_with(|out| out.extend_from_slice(s.as_bytes()));
    }
    /// Bytes from outside (user memory) as a string: as they are when they
    /// are UTF-8, else with U+FFFD for each invalid sequence.
    pub fn bytes_lossy(&mut self, b: &[u8]) {
        self.value();
        match std::str::from_utf8(b) {
            Ok(_) => escape_into(self.out, b),
            Err(_) => escape_into(self.out, String::from_utf8_lossy(b).as_bytes()),
        }
    }
    /// A string value whose text `write` appends to the output directly,
    /// unescaped: only for text that cannot need escaping (e.g. an RFC 3339
    /// timestamp), to skip building it elsewhere first.
    #[inline]
    pub fn ascii_str_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.value();
        self.out.push(b'"');
        write(self.out);
        self.out.push(b'"');
    }
}

/// The lowercase hex digits of `v`, without leading zeros, at the start of
/// sixteen bytes (the rest is filler); and how many there are (1 for 0).
/// All sixteen are worked out at once in two words: no loop, no branch.
#[inline]
fn hex_digits(v: u64) -> ([u8; 16], usize) {
    /// Eight nibbles of `x` to eight ASCII hex digits, most significant
    /// digit in the most significant byte.
    #[inline]
    fn eight(x: u32) -> u64 {
        let mut v = u64::from(x);
        // Spread the nibbles one per byte: nibble k lands in byte k.
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        // 1 in each byte whose nibble is 10 or more: those become letters.
        let letters = ((v + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
        v + 0x3030_3030_3030_3030 + letters * (b'a' - b'0' - 10) as u64
    }
    let n = (64 - (v | 1).leading_zeros() as usize).div_ceil(4);
    let all = (u128::from(eight((v >> 32) as u32)) << 64) | u128::from(eight(v as u32));
    ((all << ((16 - n) * 8)).to_be_bytes(), n)
}

/// Appends `v` in lowercase hex without leading zeros ("0" for zero).
pub fn push_hex(out: &mut Vec<u8>, v: u64) {
    let (digits, n) = hex_digits(v);
    out.extend_from_slice(&digits[..n]);
}

/// "00" "01" … "99": two decimal digits per division.
const DEC_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Decimal digits of `v` (at least 1).
#[inline]
fn dec_len(v: u64) -> usize {
    const POW10: [u64; 20] = {
        let mut t = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    // floor(log10(2^bits)) is the count or one less (1233/4096 ~ log10 2).
    let bits = 64 - (v | 1).leading_zeros() as usize;
    let t = (bits * 1233) >> 12;
    t + usize::from(v >= POW10[t])
}

/// Appends `v` in decimal: the length first, then the digits written two at
/// a time, right to left, straight into the vector's spare room (no
/// staging buffer: copying one out after byte-sized stores stalls on
/// store forwarding). The room is cut into the odd leading digit (if any)
/// and two-digit pairs, so every byte of it is written by construction and
/// no index needs a bounds check.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    let n = dec_len(v);
    out.reserve(n);
    let (head, pairs) = out.spare_capacity_mut()[..n].split_at_mut(n % 2);
    for pair in pairs.rchunks_exact_mut(2) {
        let d = (v % 100) as usize * 2;
        v /= 100;
        pair[0].write(DEC_PAIRS[d]);
        pair[1].write(DEC_PAIRS[d + 1]);
    }
    if let [h] = head {
        h.write(b'0' + v as u8);
    }
    // SAFETY: `head` and `pairs` split spare[..n] between them, and every
    // byte of both was written just above.
    unsafe { out.set_len(out.len() + n) };
}

/// Appends `v` in decimal, with a `-` if negative.
#[inline]
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Bytes a JSON string cannot hold as they are: `"`, `\\` and the control
/// characters (U+0000–U+001F and U+007F).
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0x7f] = true;
    t
};

/// Does any of the eight bytes of `w` need escaping (see [`NEEDS_ESCAPE`])?
/// The classic "has a byte less than n" and "has a zero byte" word tests:
/// exact as to whether one exists.
#[inline]
fn needs_escape_in(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    control | zero_in(w ^ (ONES * u64::from(b'"'))) | zero_in(w ^ (ONES * u64::from(b'\\'))) | zero_in(w ^ (ONES * 0x7f)) != 0
}

/// Writes `s` (UTF-8) as a JSON string literal, escaping `"`, `\\` and all
/// control characters (U+0000–U+001F and U+007F). Runs of plain bytes are
/// copied whole: most strings (names, flags, comms) have nothing to escape.
pub fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    // Eight bytes at a time up to the first word that holds one to escape.
    let mut clean = 0;
    while let Some(word) = s.get(clean..clean + 8) {
        if needs_escape_in(u64::from_le_bytes(word.try_into().expect("8 bytes"))) {
            break;
        }
        clean += 8;
    }
    let mut start = 0;
    for (i, &b) in s.iter().enumerate().skip(clean) {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => b"",
        };
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
