//! `tracer view TRACE.jsonl|- --html OUT.html --perfetto OUT.pftrace`:
//! tracer's JSON lines as a picture — a self-contained page (process tree,
//! one lane per thread, arrows for fork and reap) and a native Perfetto
//! TrackEvent trace.

pub(crate) mod html;
pub mod line;
pub(crate) mod model;
pub(crate) mod perfetto;

use std::ffi::OsString;
use std::io::{BufReader, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "tracer view",
    about = "Draw a tracer JSON-lines trace: a self-contained HTML page and/or a Perfetto trace",
    after_help = "Examples:\n  tracer -- ./prog > trace.jsonl && tracer view trace.jsonl --html trace.html\n  tracer -- ./prog | tracer view - --html out.html --perfetto out.pftrace"
)]
pub struct ViewArgs {
    /// The trace: tracer's JSON lines, or `-` for stdin.
    pub input: PathBuf,
    /// Write one offline HTML page (inline script and style, no network).
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
    /// Write a Perfetto trace (TrackEvent protobuf) for ui.perfetto.dev or trace_processor.
    #[arg(long, value_name = "OUT.pftrace")]
    pub perfetto: Option<PathBuf>,
}

/// `tracer view …`: `argv` starts with the `view` word. Exit 0 when every
/// output was written, 1 for unusable input or a write failure, 2 for bad
/// usage; each failure is one line on stderr.
pub fn main(argv: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = match ViewArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    if args.html.is_none() && args.perfetto.is_none() {
        eprintln!("tracer view: nothing to write: give --html OUT.html and/or --perfetto OUT.pftrace");
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tracer view: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &ViewArgs) -> Result<(), String> {
    let name = args.input.display().to_string();
    let trace = if name == "-" {
        model::read_with(std::io::stdin().lock(), "stdin", args.perfetto.is_some())
    } else {
        let f = std::fs::File::open(&args.input).map_err(|e| format!("{name}: {e}"))?;
        model::read_with(BufReader::with_capacity(1 << 20, f), &name, args.perfetto.is_some())
    }
    .map_err(|e| e.to_string())?;
    for w in &trace.warnings {
        eprintln!("tracer view: warning: {w}");
    }
    if let Some(out) = &args.html {
        write_file(out, |f| html::write(f, &trace, &name))?;
    }
    if let Some(out) = &args.perfetto {
        write_file(out, |f| f.write_all(&perfetto::encode(&trace)))?;
    }
    Ok(())
}

/// Writes through a temporary file renamed into place, so a failure never
/// leaves half a page behind.
fn write_file(out: &std::path::Path, body: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>) -> Result<(), String> {
    let tmp = out.with_extension("tmp-tracer-view");
    let res = std::fs::File::create(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        body(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    match res.and_then(|()| std::fs::rename(&tmp, out)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(format!("writing {}: {e}", out.display()))
        }
    }
}
