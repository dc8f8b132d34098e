//! Syscalls by number and name ([`table`]), their parameters ([`args`]) and
//! strace's classes ([`groups`]): generated tables (see the `gen_*.sh`
//! scripts beside them).

pub mod args;
pub mod groups;
pub mod table;

/// Name of syscall `nr`, or `syscall_<nr>` for numbers the table lacks.
pub fn syscall_name(nr: u32) -> std::borrow::Cow<'static, str> {
    match table::name(nr) {
        Some(n) => n.into(),
        None => format!("syscall_{nr}").into(),
    }
}
