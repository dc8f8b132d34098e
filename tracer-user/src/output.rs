//! From a decoded event to output lines: enrich (exec's old comm from the
//! process table), format (JSON or strace-shaped text), correlate (the
//! `thread_create`/`reaped`/`unreaped` records an event completes, each on
//! its own line after it). The drain loop calls [`Output::render`] once per
//! record; everything it needs to remember lives here.

use crate::correlate::{Correlator, Record};
use crate::decode::Event;
use crate::format::{Clock, write_json_line};
use crate::format_lifecycle::{write_reaped, write_thread_create, write_unreaped};
use crate::procs::ProcTable;
use crate::text;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (docs/schema.json): the default.
    Json,
    /// strace's line shape, for people.
    Text,
}

pub struct Output {
    format: Format,
    clock: Clock,
    procs: ProcTable,
    correlator: Option<Correlator>,
    /// The next line's `seq`: gapless over every line written.
    seq: u64,
    text: String,
}

impl Output {
    /// `procs` is what tracer knows of the machine at start-up
    /// ([`ProcTable::from_proc`]).
    pub fn new(format: Format, clock: Clock, correlate: bool, procs: ProcTable) -> Self {
        Output { format, clock, procs, correlator: correlate.then(Correlator::new), seq: 0, text: String::new() }
    }

    /// Appends the lines for `ev` to `out`; returns how many.
    pub fn render(&mut self, mut ev: Event, out: &mut Vec<u8>) -> u64 {
        if let Event::Exec(e) = &mut ev {
            e.old_comm = self.procs.old_comm(e.old_tid);
        }
        let first = self.seq;
        self.write(out, Line::Event(&ev));
        if let Some(c) = &mut self.correlator {
            let records = c.event(&ev, first, &mut self.procs);
            for r in &records {
                self.write(out, Line::Record(r));
            }
        }
        self.procs.observe(&ev);
        self.seq - first
    }

    fn write(&mut self, out: &mut Vec<u8>, line: Line<'_>) {
        let seq = self.seq;
        self.seq += 1;
        match self.format {
            Format::Json => match line {
                Line::Event(ev) => write_json_line(out, ev, seq, &self.clock),
                Line::Record(r) => {
                    match r {
                        Record::ThreadCreate(t) => write_thread_create(out, t, seq, &self.clock),
                        Record::Reaped(x) => write_reaped(out, x, seq, &self.clock),
                        Record::Unreaped(x) => write_unreaped(out, x, seq, &self.clock),
                    }
                    out.push(b'\n');
                }
            },
            Format::Text => {
                self.text.clear();
                match line {
                    Line::Event(ev) => text::write_event(&mut self.text, ev),
                    Line::Record(r) => text::write_record(&mut self.text, r),
                }
                out.extend_from_slice(self.text.as_bytes());
            }
        }
    }
}

enum Line<'a> {
    Event(&'a Event),
    Record(&'a Record),
}
