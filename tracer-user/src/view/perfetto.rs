//! `--perfetto`: the trace as Perfetto TrackEvent protobuf (prost types
//! generated from perfetto.proto, a subset of Perfetto's own protos).
//!
//! One process track per process (its lifetime as a slice, then a
//! `zombie` slice until its reap) with one thread track per thread under it
//! (its lifetime as a slice; each syscall a slice from entry to return
//! inside it, exit/exit_group and tracer's events instants), every record's
//! fields as debug annotations, and flows: fork → the child's lifetime,
//! the child's exit → the `reaped` of the wait4 that collected it.

use std::collections::HashMap;

use prost::Message as _;

use super::line::J;
use super::model::{ArrowKind, Trace};

#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/perfetto.protos.rs"));
}

use pb::debug_annotation::{NameField, Value as AnnValue};
use pb::trace_packet::{Data, OptionalTrustedPacketSequenceId, SequenceFlags};
use pb::track_descriptor::StaticOrDynamicName;
use pb::track_event::{NameField as EvName, Type};

/// Every packet is on this one writer sequence.
const SEQ: u32 = 1;

/// Track uuids: processes and threads by their index in the trace.
pub fn proc_uuid(i: usize) -> u64 {
    0x1_0000_0000 + i as u64
}
pub fn thread_uuid(i: usize) -> u64 {
    0x2_0000_0000 + i as u64
}

fn annotation(name: &str, v: &J) -> pb::DebugAnnotation {
    let mut a = pb::DebugAnnotation { name_field: Some(NameField::Name(name.to_owned())), ..Default::default() };
    match v {
        J::Null => a.value = Some(AnnValue::StringValue("null".into())),
        J::Bool(b) => a.value = Some(AnnValue::BoolValue(*b)),
        J::Int(i) => a.value = Some(AnnValue::IntValue(*i)),
        J::UInt(u) => a.value = Some(AnnValue::UintValue(*u)),
        J::Float(f) => a.value = Some(AnnValue::DoubleValue(*f)),
        J::Str(s) => a.value = Some(AnnValue::StringValue(s.clone())),
        J::Arr(items) => a.array_values = items.iter().map(|x| annotation("", x)).map(|mut x| {
            x.name_field = None;
            x
        }).collect(),
        J::Obj(kv) => a.dict_entries = kv.iter().map(|(k, x)| annotation(k, x)).collect(),
    }
    a
}

fn string_ann(name: &str, v: &str) -> pb::DebugAnnotation {
    annotation(name, &J::Str(v.to_owned()))
}

struct Writer {
    packets: Vec<pb::TracePacket>,
}

impl Writer {
    fn push(&mut self, ts: Option<i64>, data: Data) {
        let first = self.packets.is_empty();
        self.packets.push(pb::TracePacket {
            timestamp: ts.map(|t| t.max(0) as u64),
            data: Some(data),
            optional_trusted_packet_sequence_id: Some(OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(SEQ)),
            sequence_flags: first.then_some(SequenceFlags::SeqIncrementalStateCleared as u32),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn event(&mut self, ts: i64, track: u64, ty: Type, name: Option<String>, anns: Vec<pb::DebugAnnotation>, flows: Vec<u64>, terminating: Vec<u64>) {
        let ev = pb::TrackEvent {
            categories: if ty == Type::SliceEnd { vec![] } else { vec!["tracer".into()] },
            name_field: name.map(EvName::Name),
            r#type: Some(ty as i32),
            track_uuid: Some(track),
            flow_ids: flows,
            terminating_flow_ids: terminating,
            debug_annotations: anns,
        };
        self.push(Some(ts), Data::TrackEvent(ev));
    }
}

/// The whole trace, encoded.
pub fn encode(t: &Trace) -> Vec<u8> {
    let mut w = Writer { packets: Vec::with_capacity(t.marks.len() + 4 * t.threads.len() + 16) };
    for (i, p) in t.procs.iter().enumerate() {
        let name = p.comms.last().map(|c| c.1.clone()).unwrap_or_default();
        w.push(
            None,
            Data::TrackDescriptor(pb::TrackDescriptor {
                uuid: Some(proc_uuid(i)),
                parent_uuid: None,
                static_or_dynamic_name: None,
                process: Some(pb::ProcessDescriptor {
                    pid: Some(p.pid as i32),
                    cmdline: vec![],
                    process_name: Some(name),
                    start_timestamp_ns: p.start,
                    process_labels: vec![],
                }),
                thread: None,
            }),
        );
    }
    for (i, th) in t.threads.iter().enumerate() {
        w.push(
            None,
            Data::TrackDescriptor(pb::TrackDescriptor {
                uuid: Some(thread_uuid(i)),
                parent_uuid: Some(proc_uuid(th.proc_idx)),
                static_or_dynamic_name: Some(StaticOrDynamicName::Name(format!("{} {}", th.comm, th.tid))),
                process: None,
                thread: Some(pb::ThreadDescriptor { pid: Some(th.pid as i32), tid: Some(th.tid as i32), thread_name: Some(th.comm.clone()) }),
            }),
        );
    }

    // Flows, by the event they leave from or arrive at.
    let mut out_flow: HashMap<(usize, i64, &str), Vec<u64>> = HashMap::new();
    let mut in_flow: HashMap<(usize, i64, &str), Vec<u64>> = HashMap::new();
    let mut start_flow: HashMap<usize, Vec<u64>> = HashMap::new();
    for (n, a) in t.arrows.iter().enumerate() {
        let id = n as u64 + 1;
        match a.kind {
            ArrowKind::Fork => {
                out_flow.entry((a.from_thread, a.from_ts, "event:fork")).or_default().push(id);
                start_flow.entry(a.to_thread).or_default().push(id);
            }
            ArrowKind::Reap => {
                out_flow.entry((a.from_thread, a.from_ts, "event:exit")).or_default().push(id);
                in_flow.entry((a.to_thread, a.to_ts, "event:reaped")).or_default().push(id);
            }
        }
    }

    // Each thread: lifetime slice around its marks (sorted by thread, ts).
    let mut i = 0;
    for (ti, th) in t.threads.iter().enumerate() {
        let start = i;
        while i < t.marks.len() && t.marks[i].thread == ti {
            i += 1;
        }
        let marks = &t.marks[start..i];
        let (s, e) = t.lane(ti);
        let s = marks.first().map_or(s, |m| m.ts.min(s));
        let e = marks.iter().map(|m| m.ts + m.dur as i64).max().map_or(e, |me| me.max(e));
        let track = thread_uuid(ti);
        let mut anns = vec![string_ann("comm", &th.comm)];
        if let Some(x) = &th.exit {
            anns.push(string_ann("exit", x));
        }
        let life = if th.tid == th.pid { "process" } else { "thread" };
        w.event(s, track, Type::SliceBegin, Some(format!("{life} {} ({})", th.tid, th.comm)), anns, vec![], start_flow.remove(&ti).unwrap_or_default());
        let mut busy_until = s;
        for m in marks {
            let kind = t.kinds[m.kind as usize].as_str();
            let mut anns = vec![string_ann("strace", &m.text)];
            if let Some(J::Obj(kv)) = m.fields.as_deref() {
                anns.extend(kv.iter().map(|(k, v)| annotation(k, v)));
            }
            let key = (ti, m.ts, kind);
            let flows = out_flow.remove(&key).unwrap_or_default();
            let term = in_flow.remove(&key).unwrap_or_default();
            let name = kind.strip_prefix("event:").unwrap_or(kind).to_owned();
            if m.dur > 0 && !kind.starts_with("event:") {
                // Calls of one thread never overlap; clamp if clocks disagree.
                let b = m.ts.max(busy_until);
                w.event(b, track, Type::SliceBegin, Some(name), anns, flows, term);
                busy_until = m.ts + m.dur as i64;
                w.event(busy_until, track, Type::SliceEnd, None, vec![], vec![], vec![]);
            } else {
                w.event(m.ts, track, Type::Instant, Some(name), anns, flows, term);
            }
        }
        w.event(e.max(busy_until), track, Type::SliceEnd, None, vec![], vec![], vec![]);
    }
    // Flows whose event is not in the trace still get their ends.
    let mut left: Vec<_> = out_flow.into_iter().map(|((th, ts, k), f)| (th, ts, k, f, true)).collect();
    left.extend(in_flow.into_iter().map(|((th, ts, k), f)| (th, ts, k, f, false)));
    left.sort();
    for (th, ts, k, f, out) in left {
        let name = k.strip_prefix("event:").unwrap_or(k).to_owned();
        let (flows, term) = if out { (f, vec![]) } else { (vec![], f) };
        w.event(ts, thread_uuid(th), Type::Instant, Some(name), vec![], flows, term);
    }

    // Each process: alive, then a zombie until reaped.
    for (pi, p) in t.procs.iter().enumerate() {
        let ths = || p.threads.iter().map(|&x| t.lane(x));
        let s = p.start.unwrap_or_else(|| ths().map(|l| l.0).min().unwrap_or(p.first_seen)).min(p.first_seen);
        let e = p.end.unwrap_or_else(|| ths().map(|l| l.1).max().unwrap_or(p.last_seen));
        let name = p.comms.last().map(|c| c.1.as_str()).unwrap_or("?");
        let mut anns = vec![annotation("comms", &J::Arr(p.comms.iter().map(|c| J::Str(c.1.clone())).collect()))];
        if let Some(x) = &p.exit {
            anns.push(string_ann("exit", x));
        }
        if let Some(u) = &p.unreaped {
            anns.push(string_ann("unreaped", u));
        }
        w.event(s, proc_uuid(pi), Type::SliceBegin, Some(format!("process {} ({name})", p.pid)), anns, vec![], vec![]);
        w.event(e.max(s), proc_uuid(pi), Type::SliceEnd, None, vec![], vec![], vec![]);
        if let (Some(r), Some(end)) = (&p.reap, p.end) {
            w.event(end, proc_uuid(pi), Type::SliceBegin, Some("zombie".into()), vec![string_ann("reaped", &r.text)], vec![], vec![]);
            w.event(r.ts.max(end), proc_uuid(pi), Type::SliceEnd, None, vec![], vec![], vec![]);
        }
    }
    pb::Trace { packet: w.packets }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_prost() {
        let l = concat!(
            r#"{"schema":3,"seq":1,"ts":"2026-11-27T08:13:20.000001000Z","event":"fork","pid":10,"tid":10,"ppid":1,"comm":"p","child_pid":11,"child_tid":11,"thread":false}"#,
            "\n",
            r#"{"schema":3,"seq":2,"ts":"2026-11-27T08:13:20.000002000Z","event":"syscall","syscall":"mmap","pid":11,"tid":11,"ppid":10,"comm":"p","args":{"addr":"0x0","len":4096},"ret":4096,"duration_ns":500,"raw":[]}"#,
            "\n"
        );
        let t = super::super::model::read_with(l.as_bytes(), "t", true).unwrap();
        let tr = pb::Trace::decode(encode(&t).as_slice()).unwrap();
        let events: Vec<_> = tr
            .packet
            .iter()
            .filter_map(|p| match &p.data {
                Some(Data::TrackEvent(e)) => Some((p.timestamp.unwrap(), e.r#type.unwrap(), e.name_field.clone(), e.track_uuid.unwrap())),
                _ => None,
            })
            .collect();
        let mmap = events.iter().find(|e| e.2 == Some(EvName::Name("mmap".into()))).unwrap();
        assert_eq!(mmap.1, Type::SliceBegin as i32);
        assert_eq!(mmap.3, thread_uuid(1));
        assert_eq!(mmap.0 % 1_000_000_000, 1500);
        assert_eq!(tr.packet.iter().filter(|p| matches!(p.data, Some(Data::TrackDescriptor(_)))).count(), 4);
    }
}
