//! `BPF_MAP_TYPE_TASK_STORAGE` (Linux ≥ 5.11): a value hung off each
//! `task_struct`, found through the task pointer with no hashing and no
//! bucket lock, and freed by the kernel with the task. aya-ebpf 0.2.1 has
//! no wrapper for it, so the BTF map definition is spelled out here in the
//! layout `aya_ebpf::btf_maps` uses (local-storage maps need BTF key and
//! value types, which only a `.maps` definition carries).

use aya_ebpf::{
    bindings::{BPF_F_NO_PREALLOC, BPF_LOCAL_STORAGE_GET_F_CREATE, bpf_map_type::BPF_MAP_TYPE_TASK_STORAGE},
    helpers::generated::bpf_task_storage_get,
};

#[repr(C)]
pub struct TaskStorage<T> {
    r#type: *const [i32; BPF_MAP_TYPE_TASK_STORAGE as usize],
    key: *const i32,
    value: *const T,
    max_entries: *const [i32; 0],
    map_flags: *const [i32; BPF_F_NO_PREALLOC as usize],
}

// Placeholder pointers patched by the loader, never dereferenced.
unsafe impl<T> Sync for TaskStorage<T> {}

impl<T> TaskStorage<T> {
    pub const fn new() -> Self {
        Self {
            r#type: core::ptr::null(),
            key: core::ptr::null(),
            value: core::ptr::null(),
            max_entries: core::ptr::null(),
            map_flags: core::ptr::null(),
        }
    }

    /// The value of `task` (a BTF task pointer, e.g. from
    /// `bpf_get_current_task_btf`), created zeroed if `create` and absent.
    /// `None` if absent, or if the kernel refused (allocation failure, or
    /// the storage busy on this CPU because a program that holds it was
    /// interrupted by this one).
    #[inline(always)]
    pub fn get(&self, task: *mut aya_ebpf::bindings::task_struct, create: bool) -> Option<*mut T> {
        let flags = if create { BPF_LOCAL_STORAGE_GET_F_CREATE as u64 } else { 0 };
        let p = unsafe {
            bpf_task_storage_get(self as *const Self as *mut _, task.cast(), core::ptr::null_mut(), flags)
        };
        if p.is_null() { None } else { Some(p.cast()) }
    }
}
