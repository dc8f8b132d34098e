//! Just enough of a BTF reader to find struct member offsets in the running
//! kernel's `/sys/kernel/btf/vmlinux`.
//!
//! The kernel programs are written in Rust without CO-RE relocations for
//! kernel structs, so the few `task_struct` offsets they need are looked up
//! here at load time and handed to them as load-time constants.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BtfError {
    #[error("BTF data is truncated or malformed ({0})")]
    Malformed(&'static str),
    #[error("struct {0} not found in BTF")]
    NoStruct(String),
    #[error("member {1} of struct {0} not found in BTF")]
    NoMember(String, String),
}

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;

/// One type record, with the byte range of its trailing data.
struct Ty {
    name_off: u32,
    kind: u32,
    vlen: u32,
    kind_flag: bool,
    /// Offset of the trailing members in `types`.
    extra: usize,
}

pub struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
    index: Vec<Ty>,
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, BtfError> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
        .ok_or(BtfError::Malformed("short read"))
}

impl<'a> Btf<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self, BtfError> {
        let magic = data.get(0..2).ok_or(BtfError::Malformed("no header"))?;
        if u16::from_le_bytes([magic[0], magic[1]]) != BTF_MAGIC {
            return Err(BtfError::Malformed("bad magic"));
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let type_off = u32_at(data, 8)? as usize;
        let type_len = u32_at(data, 12)? as usize;
        let str_off = u32_at(data, 16)? as usize;
        let str_len = u32_at(data, 20)? as usize;
        let types = data
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or(BtfError::Malformed("type section"))?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or(BtfError::Malformed("string section"))?;
        // Type id 0 is void; ids count from 1 in section order.
        let mut index = vec![Ty { name_off: 0, kind: 0, vlen: 0, kind_flag: false, extra: 0 }];
        let mut off = 0;
        while off < types.len() {
            let name_off = u32_at(types, off)?;
            let info = u32_at(types, off + 4)?;
            let kind = (info >> 24) & 0x1f;
            let vlen = info & 0xffff;
            let extra = off + 12;
            let trailing = match kind {
                1 | 14 | 17 => 4,                 // INT, VAR, DECL_TAG
                3 => 12,                          // ARRAY
                4 | 5 | 15 | 19 => 12 * vlen as usize, // STRUCT, UNION, DATASEC, ENUM64
                6 | 13 => 8 * vlen as usize,      // ENUM, FUNC_PROTO
                2 | 7..=12 | 16 | 18 => 0,        // PTR, FWD, TYPEDEF, qualifiers, FUNC, FLOAT, TYPE_TAG
                _ => return Err(BtfError::Malformed("unknown kind")),
            };
            index.push(Ty { name_off, kind, vlen, kind_flag: info >> 31 == 1, extra });
            off = extra + trailing;
        }
        Ok(Btf { types, strings, index })
    }

    fn name(&self, off: u32) -> &[u8] {
        let s = self.strings.get(off as usize..).unwrap_or(&[]);
        &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())]
    }

    /// Byte offset of `member` in `struct name`, looking through anonymous
    /// structs and unions (randomized-layout kernels nest members in them).
    pub fn member_offset(&self, name: &str, member: &str) -> Result<u32, BtfError> {
        let id = self
            .index
            .iter()
            .position(|t| t.kind == KIND_STRUCT && self.name(t.name_off) == name.as_bytes())
            .ok_or_else(|| BtfError::NoStruct(name.into()))?;
        self.find_member(id, member.as_bytes(), 0)?
            .ok_or_else(|| BtfError::NoMember(name.into(), member.into()))
    }

    fn find_member(&self, id: usize, member: &[u8], depth: u32) -> Result<Option<u32>, BtfError> {
        let t = &self.index[id];
        if depth > 8 {
            return Ok(None);
        }
        for i in 0..t.vlen as usize {
            let m = t.extra + 12 * i;
            let m_name = u32_at(self.types, m)?;
            let m_type = u32_at(self.types, m + 4)? as usize;
            let raw_off = u32_at(self.types, m + 8)?;
            let bit_off = if t.kind_flag { raw_off & 0x00ff_ffff } else { raw_off };
            if m_name == 0 {
                let inner = self.index.get(m_type).ok_or(BtfError::Malformed("type id"))?;
                if inner.kind == KIND_STRUCT || inner.kind == KIND_UNION {
                    if let Some(o) = self.find_member(m_type, member, depth + 1)? {
                        return Ok(Some(bit_off / 8 + o));
                    }
                }
            } else if self.name(m_name) == member {
                return Ok(Some(bit_off / 8));
            }
        }
        Ok(None)
    }
}

/// `task_struct` (and `signal_struct`) offsets the kernel programs need.
#[derive(Clone, Copy, Debug)]
pub struct TaskOffsets {
    pub real_parent: u32,
    pub tgid: u32,
    /// `task_struct::signal`, the thread group's shared `signal_struct`.
    pub signal: u32,
    /// `signal_struct::live`, the group's count of threads not yet exiting.
    pub signal_live: u32,
}

pub fn task_offsets(btf: &Btf<'_>) -> Result<TaskOffsets, BtfError> {
    Ok(TaskOffsets {
        real_parent: btf.member_offset("task_struct", "real_parent")?,
        tgid: btf.member_offset("task_struct", "tgid")?,
        signal: btf.member_offset("task_struct", "signal")?,
        signal_live: btf.member_offset("signal_struct", "live")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a BTF blob: `struct outer { int a; union { int b; int tgid; }; int c; }`
    /// with `tgid` nested in an anonymous union at byte 8.
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0outer\0a\0b\0tgid\0c\0".to_vec();
        let s = |n: &str| {
            let pos = strings.windows(n.len() + 2).position(|w| w[0] == 0 && &w[1..=n.len()] == n.as_bytes() && w[n.len() + 1] == 0);
            pos.unwrap() as u32 + 1
        };
        let mut t = Vec::new();
        let mut push = |v: u32| t.extend_from_slice(&v.to_le_bytes());
        // 1: INT "int" size 4
        push(s("int")); push(1 << 24); push(4); push(32);
        // 2: anonymous UNION, 2 members
        push(0); push((5 << 24) | 2); push(4);
        push(s("b")); push(1); push(0);
        push(s("tgid")); push(1); push(0);
        // 3: STRUCT outer, 3 members
        push(s("outer")); push((4 << 24) | 3); push(16);
        push(s("a")); push(1); push(0);
        push(0); push(2); push(64);
        push(s("c")); push(1); push(96);
        let mut out = Vec::new();
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for v in [24u32, 0, t.len() as u32, t.len() as u32, strings.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&t);
        out.extend_from_slice(&strings);
        out
    }

    #[test]
    fn finds_direct_and_nested_members() {
        let data = sample();
        let btf = Btf::parse(&data).unwrap();
        assert_eq!(btf.member_offset("outer", "a"), Ok(0));
        assert_eq!(btf.member_offset("outer", "tgid"), Ok(8));
        assert_eq!(btf.member_offset("outer", "c"), Ok(12));
        assert_eq!(btf.member_offset("outer", "zz"), Err(BtfError::NoMember("outer".into(), "zz".into())));
        assert_eq!(btf.member_offset("inner", "a"), Err(BtfError::NoStruct("inner".into())));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(Btf::parse(&[]).is_err());
        assert!(Btf::parse(&[0x9f, 0xeb, 1, 0, 24, 0, 0, 0]).is_err());
        let mut data = sample();
        data.truncate(40);
        assert!(Btf::parse(&data).is_err());
    }

    #[test]
    fn running_kernel_has_task_struct_offsets() {
        // tracer needs kernel BTF; a machine without it cannot run tracer at all.
        let data = std::fs::read("/sys/kernel/btf/vmlinux").expect("kernel BTF");
        let btf = Btf::parse(&data).unwrap();
        let o = task_offsets(&btf).unwrap();
        assert!(o.real_parent > 0 && o.tgid > 0 && o.signal > 0);
        // `live` follows `sigcnt` at the head of signal_struct.
        assert!(o.signal_live > 0 && o.signal_live < 64, "signal_struct::live at {}", o.signal_live);
    }
}
