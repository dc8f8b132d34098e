//! A minimal JSON-lines writer: appends to a reused `Vec<u8>`, formats
//! integers with `itoa` and hex by hand, and escapes strings per RFC 8259.
//! Kept separate so the hot path allocates nothing and never goes through
//! `format!`.

pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    /// One flag per open object/array: does the next member need a comma?
    need_comma: Vec<bool>,
    /// A key was just written: the next value belongs to it.
    after_key: bool,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl<'a> JsonWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        JsonWriter { out, need_comma: Vec::with_capacity(4), after_key: false }
    }

    /// Comma before a member or array element, if one came before it.
    fn sep(&mut self) {
        if let Some(c) = self.need_comma.last_mut() {
            if *c {
                self.out.push(b',');
            }
            *c = true;
        }
    }

    /// Prefix of any value: nothing after a key, a comma between elements.
    fn value(&mut self) {
        if self.after_key {
            self.after_key = false;
        } else {
            self.sep();
        }
    }

    /// `"key":` — keys are our own ASCII identifiers, never escaped.
    pub fn key(&mut self, k: &str) {
        self.sep();
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.after_key = true;
    }

    pub fn begin_object(&mut self) {
        self.value();
        self.out.push(b'{');
        self.need_comma.push(false);
    }
    pub fn end_object(&mut self) {
        self.out.push(b'}');
        self.need_comma.pop();
    }
    pub fn begin_array(&mut self) {
        self.value();
        self.out.push(b'[');
        self.need_comma.push(false);
    }
    pub fn end_array(&mut self) {
        self.out.push(b']');
        self.need_comma.pop();
    }
    pub fn key_object(&mut self, k: &str) {
        self.key(k);
        self.begin_object();
    }
    pub fn key_array(&mut self, k: &str) {
        self.key(k);
        self.begin_array();
    }

    pub fn u64(&mut self, v: u64) {
        self.value();
        self.out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.value();
        self.out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
    pub fn bool(&mut self, v: bool) {
        self.value();
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
    }
    pub fn null(&mut self) {
        self.value();
        self.out.extend_from_slice(b"null");
    }
    /// `"0x…"`, lowercase, no leading zeros ("0x0" for zero).
    pub fn hex(&mut self, v: u64) {
        self.value();
        self.out.extend_from_slice(b"\"0x");
        push_hex(self.out, v);
        self.out.push(b'"');
    }
    pub fn str(&mut self, s: &str) {
        self.value();
        escape_into(self.out, s.as_bytes());
    }
}

pub fn push_hex(out: &mut Vec<u8>, v: u64) {
    if v == 0 {
        out.push(b'0');
        return;
    }
    let digits = (64 - v.leading_zeros() as usize).div_ceil(4);
    for i in (0..digits).rev() {
        out.push(HEX[((v >> (4 * i)) & 0xf) as usize]);
    }
}

/// Writes `s` (UTF-8) as a JSON string literal, escaping `"`, `\\` and all
/// control characters (U+0000–U+001F and U+007F).
pub fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
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
mod tests {
    use super::*;

    fn render(f: impl FnOnce(&mut JsonWriter)) -> String {
        let mut v = Vec::new();
        let mut w = JsonWriter::new(&mut v);
        f(&mut w);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn nested_objects_and_arrays_have_commas_in_the_right_places() {
        let s = render(|w| {
            w.begin_object();
            w.key("a");
            w.u64(1);
            w.key("b");
            w.str("x");
            w.key_object("c");
            w.key("d");
            w.hex(255);
            w.key("e");
            w.null();
            w.end_object();
            w.key_array("f");
            w.hex(0);
            w.i64(-5);
            w.bool(true);
            w.end_array();
            w.key("g");
            w.i64(-1);
            w.end_object();
        });
        assert_eq!(s, r#"{"a":1,"b":"x","c":{"d":"0xff","e":null},"f":["0x0",-5,true],"g":-1}"#);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["c"]["d"], "0xff");
    }

    #[test]
    fn escapes_every_control_byte_and_round_trips() {
        let all: String = (1u8..0x80).map(|b| b as char).collect();
        let s = render(|w| w.str(&all));
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, all);
        assert!(!s.bytes().any(|b| b < 0x20 || b == 0x7f));
        assert_eq!(render(|w| w.str("a\"b\\c\nd\x1b")), r#""a\"b\\c\nd\u001b""#);
    }

    #[test]
    fn hex_has_no_leading_zeros() {
        for (v, s) in [(0u64, "0"), (1, "1"), (0x7f89_78e0_0000, "7f8978e00000"), (u64::MAX, "ffffffffffffffff")] {
            let mut o = Vec::new();
            push_hex(&mut o, v);
            assert_eq!(o, s.as_bytes());
        }
    }
}
