//! Syscalls without a decoder in [`super::args`]: the parameters the
//! kernel declares for them, typed from their C types.

use crate::model::decode::SyscallEvent;
use crate::model::names::{self, Sink as _};
use crate::model::syscalls::args::params as syscall_params;
use crate::model::syscalls::table as syscall_table;
use crate::render::arg_out::ArgOut;

/// A syscall without a decoder in [`super::args`]: the parameters the kernel declares
/// for it (`SYSCALL_DEFINE`: `model/syscalls/args.rs`), each as
/// [`param_kind`] says. One the kernel's metadata does not know has no
/// arguments (its registers are in `raw`); strace shows all six in hex.
pub fn generic_args(ev: &SyscallEvent, o: &mut impl ArgOut) {
    let Some(params) = syscall_table::name(ev.nr).and_then(syscall_params) else {
        o.text_only(|o| {
            for v in ev.args {
                o.ptr_hex("", v);
            }
        });
        return;
    };
    for (&(name, ctype), v) in params.iter().zip(ev.args) {
        match param_kind(name, ctype) {
            Param::Ptr => o.ptr(name, v),
            Param::Dirfd => o.dirfd(name, v as u32 as i32 as i64),
            Param::Bits => o.sym(name, |s| match v {
                0 => s.put("0"),
                v => names::write_hex(s, v),
            }),
            Param::Hex => o.ptr_hex(name, v),
            Param::Signal => o.sym(name, |s| names::write_signal(s, v)),
            Param::Resource => o.sym(name, |s| names::write_rlimit_resource(s, v)),
            Param::Int { wide: true, unsigned: true } => o.uint(name, v),
            Param::Int { wide: true, unsigned: false } => o.int(name, v as i64),
            Param::Int { wide: false, unsigned: true } => o.int(name, (v as u32).into()),
            Param::Int { wide: false, unsigned: false } => o.int(name, (v as u32 as i32).into()),
            Param::TextOnly => o.text_only(|o| o.ptr(name, v)),
        }
    }
}

/// How a parameter of a syscall without a decoder is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// An address: a hex string (`NULL` in text for zero).
    Ptr,
    /// A directory fd: an integer (`AT_FDCWD` in text).
    Dirfd,
    /// Flags, modes, masks, options: undecoded bits, `0` or `0x…`.
    Bits,
    /// A number shown in hex like an address (`0x0` in JSON, `0` in
    /// text): one the name is a pointer or a symbol for elsewhere.
    Hex,
    /// A signal number, by name.
    Signal,
    /// An rlimit resource, by name.
    Resource,
    /// An integer at its C type's width and sign.
    Int { wide: bool, unsigned: bool },
    /// Shown in text only: the name is a decoded struct's elsewhere.
    TextOnly,
}

/// Names that are a pointer in one prototype and an integer in another,
/// or a number where a decoder above uses them: an integer everywhere.
const NUMBER_NAMES: [&str; 5] = ["size", "fildes", "offset", "addr_len", "optlen"];
/// The same, shown as a string everywhere (a pointer, or bits, in most
/// prototypes; a symbol where a decoder above uses them).
const STRING_NAMES: [&str; 9] = ["timeout", "arg", "option", "arg2", "attr", "ctx", "type", "data", "policy"];

/// How parameter `name` of C type `ctype` is shown: pointers (and
/// addresses passed as `unsigned long`) as addresses, dirfds as dirfds,
/// flag-like parameters as bits, signals and rlimit resources by name,
/// other integers at their C width. One kind per name, whatever the
/// prototype, so that each `args` member keeps one JSON type across
/// syscalls (`every_argument_name_keeps_one_json_type` checks the whole
/// table).
pub fn param_kind(name: &str, ctype: &str) -> Param {
    match name {
        "sig" => return Param::Signal,
        "resource" => return Param::Resource,
        // wait4's is an object; move_pages' an array's address.
        "status" => return Param::TextOnly,
        _ => {}
    }
    let natural = if ctype.contains('*') || name.ends_with("addr") || name.ends_with("address") || name == "start" {
        Param::Ptr
    } else if matches!(name, "dfd" | "olddfd" | "newdfd" | "from_dfd" | "to_dfd") {
        Param::Dirfd
    } else if ["flags", "mode", "prot", "options", "mask", "how"].iter().any(|f| name.ends_with(f)) {
        Param::Bits
    } else {
        let wide = ctype.contains("long") || ctype.contains("64") || ctype.ends_with("size_t") || ctype.contains("off_t");
        let unsigned = ctype.starts_with("unsigned") || ctype.starts_with('u') || ctype.starts_with("__u") || ctype == "size_t";
        // An fd is an int to strace, whatever the prototype says.
        Param::Int { wide, unsigned: unsigned && !name.ends_with("fd") }
    };
    match natural {
        Param::Ptr if NUMBER_NAMES.contains(&name) => Param::Int { wide: true, unsigned: true },
        Param::Int { .. } | Param::Dirfd if STRING_NAMES.contains(&name) => Param::Hex,
        k => k,
    }
}
