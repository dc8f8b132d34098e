//! Unit tests of [`super`].

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
fn decimal_matches_std_at_every_length() {
    let mut cases = vec![0u64, 1, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
    let mut p = 1u64;
    while let Some(next) = p.checked_mul(10) {
        cases.extend([p - 1, p, p + 1, next - 1]);
        p = next;
    }
    for v in cases {
        let mut o = Vec::new();
        push_u64(&mut o, v);
        assert_eq!(o, v.to_string().as_bytes());
    }
    for v in [0i64, -1, 1, -9, -10, i64::MIN, i64::MAX, -4095, 140066276507648] {
        let mut o = Vec::new();
        push_i64(&mut o, v);
        assert_eq!(o, v.to_string().as_bytes());
    }
    // Appends after what is there, whatever the spare capacity holds.
    let mut o = Vec::with_capacity(3);
    o.extend_from_slice(b"ab");
    push_u64(&mut o, 12345);
    assert_eq!(o, b"ab12345");
}

#[test]
fn hex_values_match_std_at_every_length() {
    for shift in 0..64 {
        for v in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
            assert_eq!(render(|w| w.hex(v)), format!("\"{v:#x}\""));
            let mut o = b"x".to_vec();
            push_hex(&mut o, v);
            assert_eq!(o, format!("x{v:x}").as_bytes());
        }
    }
    assert_eq!(render(|w| w.hex(0)), r#""0x0""#);
}

#[test]
fn nesting_deeper_than_one_word_of_comma_bits_is_refused() {
    let deep = std::panic::catch_unwind(|| {
        render(|w| {
            for _ in 0..=MAX_DEPTH {
                w.begin_array();
            }
        })
    });
    assert!(deep.is_err());
    let s = render(|w| {
        for _ in 0..MAX_DEPTH {
            w.begin_array();
        }
        w.u64(1);
        w.u64(2);
        for _ in 0..MAX_DEPTH {
            w.end_array();
        }
    });
    assert_eq!(s, format!("{}1,2{}", "[".repeat(64), "]".repeat(64)));
}

/// The escaping rules spelled out one char at a time: what the fast
/// path must agree with.
fn escaped_slowly(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[test]
fn escaping_finds_the_byte_wherever_it_sits_in_an_eight_byte_word() {
    // Each byte that needs escaping at every position of a 24-char
    // string (first word, word boundaries, tail), among ASCII and
    // among multi-byte UTF-8 (bytes >= 0x80 must not look special).
    for special in ["\"", "\\", "\n", "\0", "\x1f", "\x7f"] {
        for filler in ['a', 'é', '~', ' '] {
            for at in 0..=24 {
                let mut s: String = std::iter::repeat_n(filler, 24).collect();
                let cut = s.char_indices().nth(at).map_or(s.len(), |(i, _)| i);
                s.insert_str(cut, special);
                let mut o = Vec::new();
                escape_into(&mut o, s.as_bytes());
                assert_eq!(String::from_utf8(o.clone()).unwrap(), escaped_slowly(&s), "{s:?}");
                assert_eq!(serde_json::from_slice::<String>(&o).unwrap(), s);
            }
        }
    }
    // Nothing to escape, at lengths around the word size.
    for n in 0..20 {
        let s = "x".repeat(n);
        let mut o = Vec::new();
        escape_into(&mut o, s.as_bytes());
        assert_eq!(o, format!("\"{s}\"").as_bytes());
    }
}

#[test]
fn user_bytes_that_are_not_utf8_become_replacement_characters() {
    assert_eq!(render(|w| w.bytes_lossy(b"ok\xff\"\n")), "\"ok\u{fffd}\\\"\\n\"");
    assert_eq!(render(|w| w.bytes_lossy(b"\xe2\x82")), "\"\u{fffd}\"");
    assert_eq!(render(|w| w.bytes_lossy(b"")), "\"\"");
    assert_eq!(render(|w| w.bytes_lossy("€\x01".as_bytes())), "\"€\\u0001\"");
}

#[test]
fn numbers_after_existing_text_grow_the_buffer_as_needed() {
    // Start with no spare room at all, so every append must reserve.
    let mut o = Vec::with_capacity(1);
    o.push(b'[');
    push_i64(&mut o, i64::MIN);
    o.push(b',');
    push_u64(&mut o, u64::MAX);
    o.push(b',');
    push_i64(&mut o, -7);
    o.push(b',');
    push_u64(&mut o, 0);
    {
        let mut w = JsonWriter::new(&mut o);
        w.hex(u64::MAX);
        w.hex(0);
    }
    assert_eq!(String::from_utf8(o).unwrap(), "[-9223372036854775808,18446744073709551615,-7,0\"0xffffffffffffffff\"\"0x0\"");
}

#[test]
fn members_written_apart_join_an_object_with_the_right_commas() {
    let mut apart = Vec::new();
    let mut w = JsonWriter::continuing_object(&mut apart);
    w.key("b");
    w.u64(2);
    w.key_array("c");
    w.u64(3);
    w.end_array();
    assert_eq!(apart, br#","b":2,"c":[3]"#);
    // After a member, as the first member, and followed by one.
    assert_eq!(render(|w| { w.begin_object(); w.key("a"); w.u64(1); w.members(&apart); w.end_object(); }), r#"{"a":1,"b":2,"c":[3]}"#);
    assert_eq!(render(|w| { w.begin_object(); w.members(&apart); w.key("d"); w.null(); w.end_object(); }), r#"{"b":2,"c":[3],"d":null}"#);
    assert_eq!(render(|w| { w.begin_object(); w.members(b""); w.key("d"); w.null(); w.end_object(); }), r#"{"d":null}"#);
}

#[test]
fn an_object_opened_with_members_written_apart_takes_more_with_commas() {
    assert_eq!(render(|w| { w.begin_object_with(|o| o.extend_from_slice(br#""a":1"#)); w.key("b"); w.u64(2); w.end_object(); }), r#"{"a":1,"b":2}"#);
    assert_eq!(render(|w| { w.begin_object_with(|_| {}); w.key("b"); w.u64(2); w.end_object(); }), r#"{"b":2}"#);
    assert_eq!(render(|w| { w.begin_array(); w.u64(0); w.begin_object_with(|o| o.extend_from_slice(br#""a":1"#)); w.end_object(); w.u64(3); w.end_array(); }), r#"[0,{"a":1},3]"#);
}

#[test]
fn hex_has_no_leading_zeros() {
    for (v, s) in [(0u64, "0"), (1, "1"), (0x7f89_78e0_0000, "7f8978e00000"), (u64::MAX, "ffffffffffffffff")] {
        let mut o = Vec::new();
        push_hex(&mut o, v);
        assert_eq!(o, s.as_bytes());
    }
}
