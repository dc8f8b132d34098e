use which::which;

/// Rebuild when bpf-linker changes (aya-template does the same): the linker
/// is what turns LLVM bitcode into the BPF object.
fn main() {
    let bpf_linker = which("bpf-linker").expect("bpf-linker not found on PATH; run `cargo xtask bootstrap`");
    println!("cargo:rerun-if-changed={}", bpf_linker.to_str().unwrap());
}
