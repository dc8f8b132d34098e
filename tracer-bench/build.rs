//! `tracer-floor` embeds the floor object, which tracer-user's build script
//! builds with the rest of tracer-ebpf (one BPF build, not two) and names
//! through its `links` metadata.

fn main() {
    let dir = std::env::var("DEP_TRACER_EBPF_DIR").expect("tracer-user's build script names its BPF output directory");
    println!("cargo::rustc-env=TRACER_FLOOR_OBJECT={dir}/floor");
    println!("cargo::rerun-if-env-changed=DEP_TRACER_EBPF_DIR");
}
