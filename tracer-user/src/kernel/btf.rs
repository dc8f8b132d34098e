//! Just enough of a BTF reader to find struct member offsets in the running
//! kernel's `/sys/kernel/btf/vmlinux`.
//!
//! The kernel programs are written in Rust without CO-RE relocations for
//! kernel structs, so the offsets they need (`task_struct`, `struct pid`,
//! `kernel_siginfo`, …) are looked up here at load time and handed to them
//! as load-time constants; so is the shape of a tracepoint that changed
//! between kernels (`sched_process_exit`'s `group_dead`).

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
const KIND_PTR: u32 = 2;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_TYPE_TAG: u32 = 18;

/// One type record, with the byte range of its trailing data.
struct Ty {
    name_off: u32,
    kind: u32,
    vlen: u32,
    kind_flag: bool,
    /// `size` for structs/unions, `type` for pointers, typedefs, qualifiers.
    size_type: u32,
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
        let mut index = vec![Ty { name_off: 0, kind: 0, vlen: 0, kind_flag: false, size_type: 0, extra: 0 }];
        let mut off = 0;
        while off < types.len() {
            let name_off = u32_at(types, off)?;
            let info = u32_at(types, off + 4)?;
            let size_type = u32_at(types, off + 8)?;
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
            index.push(Ty { name_off, kind, vlen, kind_flag: info >> 31 == 1, size_type, extra });
            off = extra + trailing;
        }
        Ok(Btf { types, strings, index })
    }

    fn name(&self, off: u32) -> &[u8] {
        let s = self.strings.get(off as usize..).unwrap_or(&[]);
        &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())]
    }

    fn struct_id(&self, name: &str) -> Result<usize, BtfError> {
        self.index
            .iter()
            .position(|t| t.kind == KIND_STRUCT && self.name(t.name_off) == name.as_bytes())
            .ok_or_else(|| BtfError::NoStruct(name.into()))
    }

    /// Byte offset of `member` in `struct name`, looking through anonymous
    /// structs and unions (randomized-layout kernels nest members in them).
    pub fn member_offset(&self, name: &str, member: &str) -> Result<u32, BtfError> {
        self.member_path_offset(name, &[member])
    }

    /// Byte offset of a nested member: `path` names a member of `struct
    /// name`, then a member of that member's struct or union type, and so
    /// on (`["_sifields", "_sigchld", "_status"]` in `kernel_siginfo`).
    pub fn member_path_offset(&self, name: &str, path: &[&str]) -> Result<u32, BtfError> {
        let mut id = self.struct_id(name)?;
        let mut total = 0;
        for (i, member) in path.iter().enumerate() {
            let (off, ty) = self
                .find_member(id, member.as_bytes(), 0)?
                .ok_or_else(|| BtfError::NoMember(name.into(), path[..=i].join(".")))?;
            total += off;
            id = self.strip(ty);
        }
        Ok(total)
    }

    /// Size in bytes of `struct name`.
    pub fn struct_size(&self, name: &str) -> Result<u32, BtfError> {
        Ok(self.index[self.struct_id(name)?].size_type)
    }

    /// Number of parameters of the function a typedef'd function pointer
    /// points to (`btf_trace_<tracepoint>`: the tracepoint's TP_PROTO plus
    /// the leading `void *`).
    pub fn typedef_fn_params(&self, typedef: &str) -> Option<u32> {
        let id = self.index.iter().position(|t| t.kind == KIND_TYPEDEF && self.name(t.name_off) == typedef.as_bytes())?;
        let mut t = self.index.get(self.index[id].size_type as usize)?;
        while t.kind == KIND_PTR || t.kind == KIND_TYPEDEF {
            t = self.index.get(t.size_type as usize)?;
        }
        (t.kind == KIND_FUNC_PROTO).then_some(t.vlen)
    }

    /// Follows typedefs and qualifiers to the underlying type id.
    fn strip(&self, mut id: usize) -> usize {
        for _ in 0..16 {
            match self.index.get(id) {
                Some(t) if matches!(t.kind, KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG) => {
                    id = t.size_type as usize
                }
                _ => break,
            }
        }
        id
    }

    /// (byte offset, type id) of `member` in struct/union `id`.
    fn find_member(&self, id: usize, member: &[u8], depth: u32) -> Result<Option<(u32, usize)>, BtfError> {
        let t = self.index.get(id).ok_or(BtfError::Malformed("type id"))?;
        if depth > 8 || !(t.kind == KIND_STRUCT || t.kind == KIND_UNION) {
            return Ok(None);
        }
        for i in 0..t.vlen as usize {
            let m = t.extra + 12 * i;
            let m_name = u32_at(self.types, m)?;
            let m_type = u32_at(self.types, m + 4)? as usize;
            let raw_off = u32_at(self.types, m + 8)?;
            let bit_off = if t.kind_flag { raw_off & 0x00ff_ffff } else { raw_off };
            if m_name == 0 {
                let inner = self.strip(m_type);
                if let Some((o, ty)) = self.find_member(inner, member, depth + 1)? {
                    return Ok(Some((bit_off / 8 + o, ty)));
                }
            } else if self.name(m_name) == member {
                return Ok(Some((bit_off / 8, m_type)));
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
    /// Everything else, in the layout `CONFIG` carries.
    pub more: tracer_common::KernelOffsets,
    /// `sched_process_exit` passes `group_dead` (Linux ≥ 6.16).
    pub exit_has_group_dead: bool,
}

pub fn task_offsets(btf: &Btf<'_>) -> Result<TaskOffsets, BtfError> {
    let task = |m: &str| btf.member_offset("task_struct", m);
    let siginfo = |p: &[&str]| btf.member_path_offset("kernel_siginfo", p);
    let mut more = tracer_common::KernelOffsets::zeroed();
    more.task_pid = task("pid")?;
    more.task_group_leader = task("group_leader")?;
    more.task_thread_pid = task("thread_pid")?;
    more.task_exit_code = task("exit_code")?;
    more.task_comm = task("comm")?;
    more.pid_level = btf.member_offset("pid", "level")?;
    more.pid_numbers = btf.member_offset("pid", "numbers")?;
    more.upid_size = btf.struct_size("upid")?;
    more.upid_nr = btf.member_offset("upid", "nr")?;
    more.binprm_filename = btf.member_offset("linux_binprm", "filename")?;
    more.siginfo_errno = siginfo(&["si_errno"])?;
    more.siginfo_code = siginfo(&["si_code"])?;
    more.siginfo_pid = siginfo(&["_sifields", "_sigchld", "_pid"])?;
    more.siginfo_uid = siginfo(&["_sifields", "_sigchld", "_uid"])?;
    more.siginfo_status = siginfo(&["_sifields", "_sigchld", "_status"])?;
    more.siginfo_utime = siginfo(&["_sifields", "_sigchld", "_utime"])?;
    more.siginfo_stime = siginfo(&["_sifields", "_sigchld", "_stime"])?;
    more.ksigaction_handler = btf.member_path_offset("k_sigaction", &["sa", "sa_handler"])?;
    more.ksigaction_flags = btf.member_path_offset("k_sigaction", &["sa", "sa_flags"])?;
    more.task_mm = task("mm")?;
    more.mm_arg_start = btf.member_offset("mm_struct", "arg_start")?;
    more.mm_arg_end = btf.member_offset("mm_struct", "arg_end")?;
    more.mm_env_end = btf.member_offset("mm_struct", "env_end")?;
    more.mm_start_stack = btf.member_offset("mm_struct", "start_stack")?;
    more.task_children = task("children")?;
    more.task_sibling = task("sibling")?;
    more.task_exit_state = task("exit_state")?;
    more.task_cred = task("cred")?;
    more.cred_uid = btf.member_offset("cred", "uid")?;
    more.cred_gid = btf.member_offset("cred", "gid")?;
    more.task_cgroups = task("cgroups")?;
    more.css_set_dfl_cgrp = btf.member_offset("css_set", "dfl_cgrp")?;
    more.cgroup_kn = btf.member_offset("cgroup", "kn")?;
    more.kernfs_node_id = btf.member_offset("kernfs_node", "id")?;
    more.task_start_boottime = task("start_boottime")?;
    Ok(TaskOffsets {
        real_parent: task("real_parent")?,
        tgid: task("tgid")?,
        signal: task("signal")?,
        signal_live: btf.member_offset("signal_struct", "live")?,
        more,
        // void *__data, struct task_struct *p, bool group_dead
        exit_has_group_dead: btf.typedef_fn_params("btf_trace_sched_process_exit") == Some(3),
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
        assert_eq!(btf.member_path_offset("outer", &["tgid"]), Ok(8));
        assert_eq!(btf.member_path_offset("outer", &["a", "b"]), Err(BtfError::NoMember("outer".into(), "a.b".into())));
        assert_eq!(btf.struct_size("outer"), Ok(16));
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
        // uapi layouts that cannot change: siginfo's header and _sigchld.
        assert_eq!((o.more.siginfo_errno, o.more.siginfo_code), (4, 8));
        assert_eq!((o.more.siginfo_pid, o.more.siginfo_uid, o.more.siginfo_status), (16, 20, 24));
        assert_eq!((o.more.siginfo_utime, o.more.siginfo_stime), (32, 40));
        assert_eq!((o.more.ksigaction_handler, o.more.ksigaction_flags), (0, 8));
        assert_eq!((o.more.upid_size, o.more.upid_nr), (16, 0));
        assert!(o.more.pid_numbers > o.more.pid_level);
        // The tracepoint's shape is what this kernel (6.18) has.
        assert!(o.exit_has_group_dead);
    }
}
