"""Decodes a .pftrace with the perfetto package's own trace protos
(perfetto_trace_pb2) and prints its tracks and track events as JSON, for
tests/view.rs to check against tracer's JSON lines."""
import json
import sys

from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace, TrackEvent


def annotation(a):
    if a.dict_entries:
        return {e.name: annotation(e) for e in a.dict_entries}
    if a.array_values:
        return [annotation(e) for e in a.array_values]
    kind = a.WhichOneof("value")
    return getattr(a, kind) if kind else None


def main(path):
    trace = Trace()
    with open(path, "rb") as f:
        trace.ParseFromString(f.read())
    tracks, events = [], []
    for p in trace.packet:
        if p.HasField("track_descriptor"):
            d = p.track_descriptor
            t = {"uuid": d.uuid, "parent": d.parent_uuid if d.HasField("parent_uuid") else None, "name": d.name}
            if d.HasField("process"):
                t["process"] = {"pid": d.process.pid, "name": d.process.process_name}
            if d.HasField("thread"):
                t["thread"] = {"pid": d.thread.pid, "tid": d.thread.tid, "name": d.thread.thread_name}
            tracks.append(t)
        elif p.HasField("track_event"):
            e = p.track_event
            events.append({
                "ts": p.timestamp,
                "seq": p.trusted_packet_sequence_id,
                "type": TrackEvent.Type.Name(e.type),
                "track": e.track_uuid,
                "name": e.name,
                "flows": list(e.flow_ids),
                "terminating": list(e.terminating_flow_ids),
                "args": {a.name: annotation(a) for a in e.debug_annotations},
            })
        else:
            raise SystemExit("unexpected packet: " + str(p)[:200])
    json.dump({"tracks": tracks, "events": events}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
