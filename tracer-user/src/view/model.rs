//! The trace `tracer view` draws, built from JSON lines: processes (with
//! their comm history, exit and reap), threads (lifetimes), one mark per
//! syscall or lifecycle event, the arrows between lanes (fork → child,
//! exit → SIGCHLD → wait4 reap), `thread_create` details, losses and counts.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use super::line::{self, J};

/// The newest record schema this reader knows.
pub const SCHEMA: i64 = 4;

#[derive(Debug, Default, Clone)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    /// (ts, comm): the first comm seen, then each exec's.
    pub comms: Vec<(i64, String)>,
    /// The fork that made it, when traced.
    pub start: Option<i64>,
    /// Its last thread's exit (the process is dead, a zombie until reaped).
    pub end: Option<i64>,
    pub first_seen: i64,
    pub last_seen: i64,
    /// "exited with N" / "killed by SIG…".
    pub exit: Option<String>,
    pub reap: Option<Reap>,
    /// From an `unreaped` record: "exited with 3, zombie for N ns" / "still running".
    pub unreaped: Option<String>,
    pub threads: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Reap {
    pub ts: i64,
    pub by_tid: u32,
    pub zombie_ns: Option<i64>,
    pub lifetime_ns: Option<i64>,
    pub text: String,
}

#[derive(Debug, Default, Clone)]
pub struct Thread {
    pub tid: u32,
    pub pid: u32,
    pub proc_idx: usize,
    pub comm: String,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub exit: Option<String>,
}

/// One syscall or event on a thread's lane.
#[derive(Debug, Clone)]
pub struct Mark {
    /// Start (for a syscall: its return minus its duration).
    pub ts: i64,
    pub dur: u64,
    pub thread: usize,
    pub kind: u16,
    pub failed: bool,
    pub text: String,
    /// The record's own fields (everything but the common header), kept
    /// for `--perfetto`'s debug annotations when [`read`] is asked to.
    pub fields: Option<Box<J>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrowKind {
    /// clone/fork → the child's first moment.
    Fork,
    /// The child's death → SIGCHLD → its parent's wait4 that reaped it.
    Reap,
}

#[derive(Debug, Clone)]
pub struct Arrow {
    pub kind: ArrowKind,
    pub from_thread: usize,
    pub from_ts: i64,
    pub to_thread: usize,
    pub to_ts: i64,
}

#[derive(Debug, Clone)]
pub struct Lost {
    pub ts: i64,
    pub count: i64,
    pub text: String,
}

#[derive(Debug, Default, Clone)]
pub struct Trace {
    pub procs: Vec<Proc>,
    pub threads: Vec<Thread>,
    pub marks: Vec<Mark>,
    /// Names of mark kinds (syscall names, fork, exec, …), indexed by `Mark::kind`.
    pub kinds: Vec<String>,
    pub arrows: Vec<Arrow>,
    /// (thread index of the creator, the record as `--format text` prints it).
    pub thread_creates: Vec<(usize, String)>,
    pub lost: Vec<Lost>,
    /// syscall → (calls, failed calls).
    pub counts: BTreeMap<String, (u64, u64)>,
    pub t_min: i64,
    pub t_max: i64,
    pub records: u64,
    pub host: Option<String>,
    pub version: Option<String>,
    /// What could not be used, one line each, for the page and stderr.
    pub warnings: Vec<String>,
    pub bad_lines: u64,
    pub newer_schema: u64,
}

#[derive(Default)]
struct Builder {
    t: Trace,
    keep_fields: bool,
    /// The fields of the record being added (with `keep_fields`).
    fields: Option<Box<J>>,
    kind_idx: HashMap<String, u16>,
    /// Current thread/process index of a tid/pid (a reused id gets a new one).
    tid_idx: HashMap<u32, usize>,
    pid_idx: HashMap<u32, usize>,
}

impl Builder {
    fn kind(&mut self, name: &str) -> u16 {
        if let Some(&k) = self.kind_idx.get(name) {
            return k;
        }
        let k = u16::try_from(self.t.kinds.len()).unwrap_or(u16::MAX);
        if k < u16::MAX {
            self.t.kinds.push(name.to_owned());
            self.kind_idx.insert(name.to_owned(), k);
        }
        k
    }

    fn proc(&mut self, pid: u32, ppid: u32, comm: &str, ts: i64, fresh: bool) -> usize {
        if let Some(&i) = self.pid_idx.get(&pid) {
            // A pid reused after its process was reaped is a new process.
            if !(fresh && self.t.procs[i].reap.is_some()) {
                let p = &mut self.t.procs[i];
                p.last_seen = p.last_seen.max(ts);
                if p.ppid == 0 {
                    p.ppid = ppid;
                }
                return i;
            }
        }
        let i = self.t.procs.len();
        self.t.procs.push(Proc { pid, ppid, comms: vec![(ts, comm.to_owned())], first_seen: ts, last_seen: ts, ..Default::default() });
        self.pid_idx.insert(pid, i);
        i
    }

    fn thread(&mut self, tid: u32, pid: u32, ppid: u32, comm: &str, ts: i64, fresh: bool) -> usize {
        if let Some(&i) = self.tid_idx.get(&tid) {
            if !(fresh && self.t.threads[i].end.is_some()) && self.t.threads[i].pid == pid {
                let th = &mut self.t.threads[i];
                th.last_seen = th.last_seen.max(ts);
                let p = th.proc_idx;
                let pr = &mut self.t.procs[p];
                pr.last_seen = pr.last_seen.max(ts);
                return i;
            }
        }
        let p = self.proc(pid, ppid, comm, ts, fresh && tid == pid);
        let i = self.t.threads.len();
        self.t.threads.push(Thread { tid, pid, proc_idx: p, comm: comm.to_owned(), first_seen: ts, last_seen: ts, ..Default::default() });
        self.t.procs[p].threads.push(i);
        self.tid_idx.insert(tid, i);
        i
    }

    /// A mark of kind `kind`: a syscall's name, or `event:NAME` for the
    /// other records (the `exit` event is not the `exit` syscall).
    fn mark(&mut self, ts: i64, dur: u64, thread: usize, kind: &str, failed: bool, text: String) {
        let kind = self.kind(kind);
        let fields = self.fields.take();
        self.t.marks.push(Mark { ts, dur, thread, kind, failed, text, fields });
    }

    fn record(&mut self, r: &J, ts: i64) {
        let ev = r.str("event").unwrap_or("");
        self.t.t_min = self.t.t_min.min(ts);
        self.t.t_max = self.t.t_max.max(ts);
        if let Some(h) = r.str("host").or(r.str("hostname")) {
            self.t.host = Some(h.to_owned());
        }
        if let Some(v) = r.str("tracer_version").or(r.str("version")) {
            self.t.version = Some(v.to_owned());
        }
        match ev {
            "lost" => {
                self.t.lost.push(Lost { ts, count: r.i64("count").unwrap_or(0), text: line::record_text(r) });
                return;
            }
            "stats" | "start" => return,
            _ => {}
        }
        let (Some(pid), Some(tid)) = (r.u32("pid"), r.u32("tid")) else {
            return;
        };
        let ppid = r.u32("ppid").unwrap_or(0);
        let comm = r.str("comm").unwrap_or("?");
        let th = self.thread(tid, pid, ppid, comm, ts, false);
        let text = line::record_text(r);
        match ev {
            "syscall" => {
                let name = r.str("syscall").unwrap_or("?");
                let dur = r.i64("duration_ns").unwrap_or(0).max(0);
                let failed = r.get("errno").is_some();
                let c = self.t.counts.entry(name.to_owned()).or_default();
                c.0 += 1;
                c.1 += u64::from(failed);
                self.t.t_min = self.t.t_min.min(ts - dur);
                let t = &mut self.t.threads[th];
                t.first_seen = t.first_seen.min(ts - dur);
                let p = t.proc_idx;
                self.t.procs[p].first_seen = self.t.procs[p].first_seen.min(ts - dur);
                self.mark(ts - dur, dur as u64, th, name, failed, text);
            }
            "fork" => {
                let (Some(cpid), Some(ctid)) = (r.u32("child_pid"), r.u32("child_tid")) else { return };
                let child = self.thread(ctid, cpid, pid, comm, ts, true);
                self.t.threads[child].start.get_or_insert(ts);
                if r.bool("thread") != Some(true) {
                    let p = self.t.threads[child].proc_idx;
                    self.t.procs[p].start.get_or_insert(ts);
                    self.t.procs[p].ppid = pid;
                }
                self.t.arrows.push(Arrow { kind: ArrowKind::Fork, from_thread: th, from_ts: ts, to_thread: child, to_ts: ts });
                self.mark(ts, 0, th, "event:fork", false, text);
            }
            "exec" => {
                let p = self.t.threads[th].proc_idx;
                let comms = &mut self.t.procs[p].comms;
                // First seen at this exec: its comm before it is old_comm.
                if let (Some(old), [(t0, first)]) = (r.str("old_comm"), comms.as_mut_slice()) {
                    if *t0 == ts && first == comm {
                        *first = old.to_owned();
                    }
                }
                comms.push((ts, comm.to_owned()));
                self.t.threads[th].comm = comm.to_owned();
                self.mark(ts, 0, th, "event:exec", false, text);
            }
            "exit" => {
                let st = line::status_text(r);
                self.t.threads[th].end = Some(ts);
                self.t.threads[th].exit = st.clone();
                if r.bool("group_dead") == Some(true) {
                    let p = self.t.threads[th].proc_idx;
                    self.t.procs[p].end = Some(ts);
                    self.t.procs[p].exit = st;
                }
                self.mark(ts, 0, th, "event:exit", false, text);
            }
            "signal" => self.mark(ts, 0, th, "event:signal", false, text),
            "thread_create" => {
                self.t.thread_creates.push((th, text.clone()));
                self.mark(ts, 0, th, "event:thread_create", false, text);
            }
            "reaped" | "unreaped" => {
                let Some(cpid) = r.u32("child_pid") else { return };
                let reaped = ev == "reaped";
                if let Some(&ci) = self.pid_idx.get(&cpid) {
                    let child = &mut self.t.procs[ci];
                    if reaped {
                        let zombie_ns = r.i64("zombie_ns");
                        child.reap = Some(Reap { ts, by_tid: tid, zombie_ns, lifetime_ns: r.i64("lifetime_ns"), text: text.clone() });
                        child.exit = child.exit.take().or_else(|| line::status_text(r));
                        let died = child.end.or(zombie_ns.map(|z| ts - z)).unwrap_or(ts);
                        // From the thread that died last (the leader's lane if unknown).
                        let from = child
                            .threads
                            .iter()
                            .copied()
                            .filter(|&t| self.t.threads[t].end == Some(died))
                            .last()
                            .or(child.threads.first().copied());
                        if let Some(from) = from {
                            self.t.arrows.push(Arrow { kind: ArrowKind::Reap, from_thread: from, from_ts: died, to_thread: th, to_ts: ts });
                        }
                    } else {
                        let s = text.trim_start_matches("*** ").trim_end_matches(" ***");
                        child.unreaped = Some(s.split_once('{').map(|(_, x)| x.trim_end_matches('}')).unwrap_or(s).to_owned());
                    }
                }
                self.mark(ts, 0, th, &format!("event:{ev}"), false, text);
            }
            _ => {}
        }
    }
}

/// Why a trace cannot be drawn at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: no tracer records ({1})")]
    Empty(String, String),
}

/// Reads JSON lines: a line that is not a JSON object with a valid `ts`
/// (a truncated last line, garbage) or whose `schema` is newer than
/// [`SCHEMA`] is skipped and counted, with a warning naming the first one.
/// (`tracer view` calls [`read_with`]; tests call this.)
#[cfg(test)]
pub fn read(input: impl BufRead, name: &str) -> Result<Trace, ReadError> {
    read_with(input, name, false)
}

/// Header fields every record carries; the rest are a mark's `fields`.
const HEADER: &[&str] = &[
    "schema", "seq", "ts", "cpu", "event", "host", "pid", "tid", "ppid", "uid", "gid", "comm", "cgroup_id", "exec_id", "parent_exec_id",
    "ancestors", "cgroup", "container_id", "pod_uid", "unit",
];

/// As [`read`]; `keep_fields` keeps each mark's record fields.
pub fn read_with(input: impl BufRead, name: &str, keep_fields: bool) -> Result<Trace, ReadError> {
    let mut b = Builder { keep_fields, ..Default::default() };
    b.t.t_min = i64::MAX;
    b.t.t_max = i64::MIN;
    let mut first_bad: Option<String> = None;
    let mut newest = 0;
    for (n, l) in input.split(b'\n').enumerate() {
        let l = l.map_err(|e| ReadError::Io(name.to_owned(), e))?;
        let s = String::from_utf8_lossy(&l);
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        let rec = match line::parse(s) {
            Ok(r @ J::Obj(_)) => r,
            other => {
                let why = other.err().map_or_else(|| "not a JSON object".to_owned(), |e| e.to_string());
                b.t.bad_lines += 1;
                first_bad.get_or_insert(format!("line {}: {why}", n + 1));
                continue;
            }
        };
        let schema = rec.i64("schema").unwrap_or(0);
        if schema > SCHEMA {
            b.t.newer_schema += 1;
            newest = newest.max(schema);
            continue;
        }
        let Some(ts) = rec.str("ts").and_then(line::parse_ts) else {
            b.t.bad_lines += 1;
            first_bad.get_or_insert(format!("line {}: no valid \"ts\"", n + 1));
            continue;
        };
        b.t.records += 1;
        if b.keep_fields {
            if let J::Obj(kv) = &rec {
                b.fields = Some(Box::new(J::Obj(kv.iter().filter(|(k, _)| !HEADER.contains(&k.as_str())).cloned().collect())));
            }
        }
        b.record(&rec, ts);
        b.fields = None;
    }
    let mut t = b.t;
    if t.bad_lines > 0 {
        t.warnings.push(format!("{} unreadable line(s) skipped (first: {})", t.bad_lines, first_bad.unwrap_or_default()));
    }
    if t.newer_schema > 0 {
        t.warnings.push(format!(
            "{} line(s) of schema {newest} skipped: this tracer reads schema {SCHEMA} and older; view them with a newer tracer",
            t.newer_schema
        ));
    }
    if !t.lost.is_empty() {
        let n: i64 = t.lost.iter().map(|l| l.count).sum();
        t.warnings.push(format!("{n} record(s) lost while tracing ({} gap(s) marked): the picture is incomplete", t.lost.len()));
    }
    if t.records == 0 {
        let why = if t.warnings.is_empty() { "the input is empty".to_owned() } else { t.warnings.join("; ") };
        return Err(ReadError::Empty(name.to_owned(), why));
    }
    // Each lane's marks in time order, lanes in thread order.
    t.marks.sort_by_key(|m| (m.thread, m.ts));
    Ok(t)
}

impl Trace {
    /// A thread's lane: from its creation (or first record) to its exit
    /// (or last record).
    pub fn lane(&self, i: usize) -> (i64, i64) {
        let th = &self.threads[i];
        (th.start.unwrap_or(th.first_seen), th.end.unwrap_or(th.last_seen))
    }

    /// Processes in tree order (parents before children, depth-first) with
    /// their depth; roots are processes whose parent is not in the trace.
    pub fn tree(&self) -> Vec<(usize, usize)> {
        let mut kids: HashMap<u32, Vec<usize>> = HashMap::new();
        let pids: std::collections::HashSet<u32> = self.procs.iter().map(|p| p.pid).collect();
        let mut roots = Vec::new();
        for (i, p) in self.procs.iter().enumerate() {
            if p.ppid != p.pid && pids.contains(&p.ppid) {
                kids.entry(p.ppid).or_default().push(i);
            } else {
                roots.push(i);
            }
        }
        let mut out = Vec::with_capacity(self.procs.len());
        let mut seen = vec![false; self.procs.len()];
        let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|r| (r, 0)).collect();
        while let Some((i, d)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            out.push((i, d));
            if let Some(k) = kids.get(&self.procs[i].pid) {
                stack.extend(k.iter().rev().map(|&c| (c, d + 1)));
            }
        }
        // A parent-pid cycle (pid reuse) leaves nodes unvisited: list them as roots.
        out.extend((0..self.procs.len()).filter(|&i| !seen[i]).map(|i| (i, 0)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORK_EXIT_REAP: &str = r#"{"schema":3,"seq":0,"ts":"2026-11-27T08:13:20.697000000Z","event":"exec","pid":10,"tid":10,"ppid":1,"comm":"prog","old_comm":"tracer","filename":"./prog"}
{"schema":3,"seq":1,"ts":"2026-11-27T08:13:20.697646941Z","event":"fork","pid":10,"tid":10,"ppid":1,"comm":"prog","child_pid":11,"child_tid":11,"thread":false}
{"schema":3,"seq":2,"ts":"2026-11-27T08:13:20.697650000Z","event":"syscall","syscall":"clone","pid":10,"tid":10,"ppid":1,"comm":"prog","args":{"clone_flags":"SIGCHLD"},"ret":11,"duration_ns":1000,"raw":["0x0","0x0","0x0","0x0","0x0","0x0"]}
{"schema":3,"seq":3,"ts":"2026-11-27T08:13:20.697880347Z","event":"exit","pid":11,"tid":11,"ppid":10,"comm":"prog","exit_code":1,"group_dead":true}
{"schema":3,"seq":4,"ts":"2026-11-27T08:13:20.698044029Z","event":"syscall","syscall":"wait4","pid":10,"tid":10,"ppid":1,"comm":"prog","args":{"upid":11},"ret":-10,"errno":"ECHILD","duration_ns":20,"raw":["0x0","0x0","0x0","0x0","0x0","0x0"]}
{"schema":3,"seq":5,"ts":"2026-11-27T08:13:20.698044029Z","event":"reaped","pid":10,"tid":10,"ppid":1,"comm":"prog","child_pid":11,"child_comm":"prog","exit_code":1,"zombie_ns":163682,"lifetime_ns":233406,"sources":[1,3,4]}
"#;

    #[test]
    fn builds_tree_lanes_arrows() {
        let t = read(FORK_EXIT_REAP.as_bytes(), "t").unwrap();
        assert_eq!(t.records, 6);
        assert_eq!(t.procs.len(), 2);
        assert_eq!(t.tree(), vec![(0, 0), (1, 1)]);
        let child = &t.procs[1];
        assert_eq!((child.pid, child.ppid), (11, 10));
        assert_eq!(child.exit.as_deref(), Some("exited with 1"));
        assert_eq!(child.reap.as_ref().unwrap().zombie_ns, Some(163682));
        assert_eq!(t.procs[0].comms.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["tracer", "prog"], "the comm before the exec is its old_comm");
        assert_eq!(t.arrows.len(), 2);
        assert_eq!((t.arrows[0].kind, t.arrows[0].from_thread, t.arrows[0].to_thread), (ArrowKind::Fork, 0, 1));
        assert_eq!((t.arrows[1].kind, t.arrows[1].from_thread, t.arrows[1].to_thread), (ArrowKind::Reap, 1, 0));
        assert_eq!(t.arrows[1].to_ts - t.arrows[1].from_ts, 698044029 - 697880347);
        assert_eq!(t.counts["wait4"], (1, 1));
        assert_eq!(t.counts["clone"], (1, 0));
        // The clone's mark starts at its return minus its duration.
        let clone = t.marks.iter().find(|m| t.kinds[m.kind as usize] == "clone").unwrap();
        assert_eq!(clone.ts, line::parse_ts("2026-11-27T08:13:20.697649000Z").unwrap());
        assert!(t.warnings.is_empty());
    }

    #[test]
    fn bad_lines_newer_schema_and_losses_are_counted() {
        let mut s = FORK_EXIT_REAP.to_owned();
        s.push_str("{\"schema\":5,\"seq\":6,\"ts\":\"2026-11-27T08:13:20.7Z\",\"event\":\"exit\",\"pid\":10,\"tid\":10}\n");
        s.push_str("{\"schema\":2,\"seq\":7,\"ts\":\"2026-11-27T08:13:20.7Z\",\"event\":\"lost\",\"where\":\"kernel\",\"reason\":\"ringbuf_full\",\"count\":5,\"total\":5,\"since\":\"x\"}\n");
        s.push_str("[1,2]\n{\"schema\":2,\"seq\":8,\"ts\":\"2026-11-27T08:1");
        let t = read(s.as_bytes(), "t").unwrap();
        assert_eq!((t.records, t.bad_lines, t.newer_schema, t.lost.len()), (7, 2, 1, 1));
        assert_eq!(t.warnings.len(), 3, "{:?}", t.warnings);
        assert!(t.warnings[0].starts_with("2 unreadable line(s) skipped (first: line 9: not a JSON object)"), "{}", t.warnings[0]);
        assert!(t.warnings[1].contains("schema 5"));
        assert!(t.warnings[2].starts_with("5 record(s) lost"));
    }

    #[test]
    fn unusable_input_is_an_error() {
        let e = read(&b"garbage\n"[..], "in.jsonl").unwrap_err().to_string();
        assert!(e.starts_with("in.jsonl: no tracer records (1 unreadable line(s) skipped (first: line 1: expected value"), "{e}");
        assert_eq!(read(&b""[..], "-").unwrap_err().to_string(), "-: no tracer records (the input is empty)");
        let newer = "{\"schema\":9,\"ts\":\"2026-11-27T08:13:20.7Z\",\"event\":\"x\"}\n";
        assert!(read(newer.as_bytes(), "n").unwrap_err().to_string().contains("of schema 9 skipped"));
    }
}
