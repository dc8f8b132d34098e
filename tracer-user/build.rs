use anyhow::{Context as _, anyhow};
use aya_build::Toolchain;

/// Builds the BPF programs (tracer-ebpf) for bpfel-unknown-none with the
/// nightly toolchain and bpf-linker; `cargo xtask` puts bpf-linker on PATH.
fn main() -> anyhow::Result<()> {
    perfetto_protos()?;
    let cargo_metadata::Metadata { packages, .. } = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("MetadataCommand::exec")?;
    let ebpf_package = packages
        .into_iter()
        .find(|cargo_metadata::Package { name, .. }| name.as_str() == "tracer-ebpf")
        .ok_or_else(|| anyhow!("tracer-ebpf package not found"))?;
    let cargo_metadata::Package { name, manifest_path, .. } = ebpf_package;
    let ebpf_package = aya_build::Package {
        name: name.as_str(),
        root_dir: manifest_path
            .parent()
            .ok_or_else(|| anyhow!("no parent for {manifest_path}"))?
            .as_str(),
        ..Default::default()
    };
    aya_build::build_ebpf([ebpf_package], Toolchain::default())?;
    // Every tracer-ebpf binary lands in OUT_DIR; tracer-bench's `tracer-floor`
    // takes the `floor` object from there.
    println!("cargo::metadata=ebpf_dir={}", std::env::var("OUT_DIR")?);
    Ok(())
}

/// `tracer view --perfetto`: Rust types for the subset of Perfetto's trace
/// protos in src/view/perfetto.proto, by prost-build with a vendored protoc.
fn perfetto_protos() -> anyhow::Result<()> {
    let protoc = protoc_bin_vendored::protoc_bin_path().context("vendored protoc")?;
    prost_build::Config::new()
        .protoc_executable(protoc)
        .compile_protos(&["src/view/perfetto.proto"], &["src/view"])
        .context("compiling src/view/perfetto.proto")?;
    Ok(())
}
