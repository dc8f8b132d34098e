//! `tracer view` on real traces of the walkthrough's programs: the page in
//! a real headless chromium (DOM, screenshot, no script error), the
//! Perfetto trace through the perfetto package's own protos, bad input.
//! chromium and the perfetto venv are installed by `cargo xtask test`.

mod common;
use common::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tracer_user::view::line::parse_ts;

const TRACER: &str = env!("CARGO_BIN_EXE_tracer");

/// A program of tests/programs traced with `tracer --syscalls all -- PROG`:
/// the trace file and its records.
struct Run {
    dir: TempDir,
    _prog: Program,
    jsonl: PathBuf,
    all: Vec<Value>,
}

fn traced(name: &str) -> Run {
    let prog = Program::compile(name, name, &[]);
    let dir = TempDir::new(&format!("view-{name}"));
    let jsonl = dir.path().join(format!("{name}.jsonl"));
    let out = std::fs::File::create(&jsonl).unwrap();
    let st = Command::new(TRACER)
        .args(["--syscalls", "all", "--"])
        .arg(&prog.bin)
        .stdout(out)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.code().is_some(), "tracer -- {name} was killed");
    let all = read_jsonl(&jsonl);
    assert!(all.len() > 20, "{name}: {} records", all.len());
    Run { dir, _prog: prog, jsonl, all }
}

fn view(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(TRACER).arg("view").args(args).output().unwrap()
}

fn stderr_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr).lines().map(str::to_owned).collect()
}

/// Runs headless chromium on `page` with `extra` flags (bounded in time).
fn chromium(page: &Path, extra: &[&str]) -> Output {
    let profile = TempDir::new("view-chromium");
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium is installed by `cargo xtask test`");
    let out = std::thread::spawn({
        let mut so = child.stdout.take().unwrap();
        move || {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut so, &mut v).unwrap();
            v
        }
    });
    let err = std::thread::spawn({
        let mut se = child.stderr.take().unwrap();
        move || {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut se, &mut v).unwrap();
            v
        }
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish with {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

/// The page's DOM after its script ran; panics on a script error.
fn dom(page: &Path) -> String {
    let o = chromium(page, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(dom.contains("id=\"view-ready\""), "the page never got ready: {}", String::from_utf8_lossy(&o.stderr));
    if let Some(i) = dom.find("id=\"js-error\"") {
        panic!("script error on the page: {}", dom[i..].chars().take(600).collect::<String>());
    }
    dom
}

fn ids(all: &[Value]) -> (HashSet<u64>, HashSet<(u64, u64)>) {
    let mut pids = HashSet::new();
    let mut tids = HashSet::new();
    for r in all.iter().filter(|r| r.get("tid").is_some()) {
        pids.insert(r["pid"].as_u64().unwrap());
        tids.insert((r["pid"].as_u64().unwrap(), r["tid"].as_u64().unwrap()));
    }
    (pids, tids)
}

/// Every pid and tid of the trace is in the process tree of the DOM.
fn assert_tree_has_ids(dom: &str, all: &[Value]) {
    let (pids, tids) = ids(all);
    for pid in &pids {
        assert!(dom.contains(&format!("<span class=\"pid\">{pid}</span>")), "pid {pid} not in the tree");
    }
    let lists: Vec<HashSet<u64>> = dom
        .match_indices("<span class=\"tids\">tids ")
        .map(|(i, m)| dom[i + m.len()..].split('<').next().unwrap().split(", ").map(|t| t.parse().unwrap()).collect())
        .collect();
    for (pid, tid) in &tids {
        assert!(lists.iter().any(|l| l.contains(tid)), "tid {tid} (pid {pid}) not in the tree");
    }
}

fn html_of(run: &Run) -> PathBuf {
    let page = run.dir.path().join("view.html");
    let o = view(&[run.jsonl.as_os_str(), "--html".as_ref(), page.as_os_str()]);
    assert!(o.status.success(), "tracer view: {:?}", stderr_lines(&o));
    assert_eq!(stderr_lines(&o), Vec::<String>::new(), "a clean trace gives no warning");
    page
}

/// The screenshot is not blank and each lane the page reports has its
/// lifetime bar (or marks) drawn in its row.
fn assert_screenshot_lanes(page: &Path, dom: &str, min_lanes: usize) {
    let png = page.with_extension("png");
    let o = chromium(page, &[&format!("--screenshot={}", png.display())]);
    assert!(o.status.success() && png.exists(), "no screenshot: {}", String::from_utf8_lossy(&o.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let px = |x: usize, y: usize| -> [u8; 3] {
        let i = (y * info.width as usize + x) * ch;
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    let colours: HashSet<[u8; 3]> = (0..info.height as usize).step_by(3).flat_map(|y| (0..info.width as usize).step_by(3).map(move |x| (x, y))).map(|(x, y)| px(x, y)).collect();
    assert!(colours.len() > 20, "a blank screenshot ({} colours)", colours.len());

    let geo = dom.split("<pre id=\"lane-geometry\" hidden=\"\">").nth(1).unwrap().split("</pre>").next().unwrap();
    let mut lines = geo.lines();
    let c: Vec<f64> = lines.next().unwrap().split(' ').skip(1).map(|v| v.parse().unwrap()).collect();
    let (left, top, dpr) = (c[0], c[1], c[2]);
    let mut lanes = 0;
    for l in lines {
        let v: Vec<f64> = l.split(' ').map(|v| v.parse().unwrap()).collect();
        let (tid, y0, y1, x0, x1) = (v[0], v[1], v[2], v[3].max(200.0), v[4]);
        // The bar is light blue (#c9d8f5); marks over it are other colours:
        // the lane's middle row must be mostly not background over the bar.
        let y = ((top + (y0 + y1) / 2.0) * dpr) as usize;
        let (xa, xb) = (((left + x0) * dpr) as usize, ((left + x1) * dpr).min(info.width as f64 - 1.0) as usize);
        assert!(xb > xa + 2, "lane {tid}: no width");
        let drawn = (xa..xb).filter(|&x| { let p = px(x, y); p != [255, 255, 255] && p != [250, 251, 252] }).count();
        assert!(drawn * 10 >= (xb - xa) * 9, "lane {tid}: only {drawn} of {} pixels drawn at y {y}", xb - xa);
        let bar = (xa..xb).filter(|&x| px(x, y) == [0xc9, 0xd8, 0xf5]).count();
        assert!(bar > 0 || xb - xa < 40, "lane {tid}: no lifetime bar colour at y {y}");
        lanes += 1;
    }
    assert!(lanes >= min_lanes, "{lanes} lanes drawn, want {min_lanes}");
}

#[test]
fn html_page_of_the_thread_program() {
    if skip_without_root() {
        return;
    }
    let run = traced("threads");
    let page = html_of(&run);
    let dom = dom(&page);
    assert_tree_has_ids(&dom, &run.all);
    let tc: Vec<_> = run.all.iter().filter(|r| r["event"] == "thread_create").collect();
    assert_eq!(tc.len(), 1);
    let seed = tc[0]["child_tid"].as_u64().unwrap();
    let line = format!("[pid {}] *** thread_create {seed} {{stack_base={}, stack_size={:#x}, map_size=8392704, guard_size=4096,", tc[0]["tid"], tc[0]["stack_base"].as_str().unwrap(), tc[0]["stack_size"].as_u64().unwrap());
    assert!(dom.contains(&line), "no {line} in the DOM");
    assert!(!dom.contains("lost</b>") || dom.contains("lost <b>0</b>"));
    assert_screenshot_lanes(&page, &dom, 2);
}

#[test]
fn html_page_of_the_process_program() {
    if skip_without_root() {
        return;
    }
    let run = traced("process");
    let page = html_of(&run);
    let dom = dom(&page);
    assert_tree_has_ids(&dom, &run.all);
    let reaped: Vec<_> = run.all.iter().filter(|r| r["event"] == "reaped").collect();
    assert_eq!(reaped.len(), 1);
    let child = reaped[0]["child_pid"].as_u64().unwrap();
    assert!(dom.contains(&format!("pid {child} (process) exited with 1; reaped by {} after ", reaped[0]["tid"])), "child's exit and reap not in the DOM");
    assert!(dom.contains(&format!("*** reaped {child} (process) {{exited with 1, SIGCHLD CLD_EXITED status 1 (ignored), zombie for {} ns", reaped[0]["zombie_ns"])));
    assert!(dom.contains("exited with 1 · lived "), "the tree shows the child's exit");
    assert_screenshot_lanes(&page, &dom, 2);
}

/// Slices rebuilt from the decoded BEGIN/END events of each track.
struct Slice {
    name: String,
    begin: u64,
    end: u64,
    args: Value,
    terminating: Vec<u64>,
}

fn decode(pf: &Path) -> Value {
    let tools = std::env::var_os("TRACER_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"));
    let py = tools.join("view-venv/bin/python");
    assert!(py.exists(), "{} missing: `cargo xtask test` installs it", py.display());
    let o = Command::new(py).arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/view/decode_pftrace.py")).arg(pf).output().unwrap();
    assert!(o.status.success(), "the perfetto protos reject the trace: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn ns(r: &Value) -> u64 {
    parse_ts(r["ts"].as_str().unwrap()).unwrap() as u64
}

#[test]
fn perfetto_trace_decodes_to_the_json() {
    if skip_without_root() {
        return;
    }
    for name in ["process", "threads"] {
        let run = traced(name);
        let pf = run.dir.path().join("t.pftrace");
        let o = view(&[run.jsonl.as_os_str(), "--perfetto".as_ref(), pf.as_os_str()]);
        assert!(o.status.success(), "{:?}", stderr_lines(&o));
        let d = decode(&pf);
        // Tracks: a process track per pid, a thread track per tid under it.
        let mut proc_track = HashMap::new();
        let mut thread_track = HashMap::new();
        for t in d["tracks"].as_array().unwrap() {
            if let Some(p) = t.get("process") {
                proc_track.insert(p["pid"].as_u64().unwrap(), t["uuid"].as_u64().unwrap());
            }
        }
        for t in d["tracks"].as_array().unwrap() {
            if let Some(th) = t.get("thread") {
                let pid = th["pid"].as_u64().unwrap();
                assert_eq!(t["parent"].as_u64(), proc_track.get(&pid).copied(), "thread track {t} under its process");
                thread_track.insert(th["tid"].as_u64().unwrap(), t["uuid"].as_u64().unwrap());
            }
        }
        let (pids, tids) = ids(&run.all);
        assert_eq!(proc_track.keys().copied().collect::<HashSet<_>>(), pids, "{name}: process tracks");
        assert_eq!(thread_track.keys().copied().collect::<HashSet<_>>(), tids.iter().map(|t| t.1).collect(), "{name}: thread tracks");
        // Slices and instants per track.
        let mut slices: HashMap<u64, Vec<Slice>> = HashMap::new();
        let mut instants: HashMap<u64, Vec<&Value>> = HashMap::new();
        let mut open: HashMap<u64, Vec<Slice>> = HashMap::new();
        for e in d["events"].as_array().unwrap() {
            assert_eq!(e["seq"], 1);
            let track = e["track"].as_u64().unwrap();
            match e["type"].as_str().unwrap() {
                "TYPE_SLICE_BEGIN" => open.entry(track).or_default().push(Slice {
                    name: e["name"].as_str().unwrap().to_owned(),
                    begin: e["ts"].as_u64().unwrap(),
                    end: 0,
                    args: e["args"].clone(),
                    terminating: serde_json::from_value(e["terminating"].clone()).unwrap(),
                }),
                "TYPE_SLICE_END" => {
                    let mut s = open.get_mut(&track).and_then(Vec::pop).expect("END without BEGIN");
                    s.end = e["ts"].as_u64().unwrap();
                    assert!(s.end >= s.begin);
                    slices.entry(track).or_default().push(s);
                }
                "TYPE_INSTANT" => instants.entry(track).or_default().push(e),
                t => panic!("event type {t}"),
            }
        }
        assert!(open.values().all(Vec::is_empty), "unclosed slices");
        // Every syscall: a slice from entry to return with its args, or an
        // instant for exit/exit_group.
        // (A protobuf annotation cannot tell an empty dict from none: `{}` decodes as null.)
        let same_args = |got: &Value, want: &Value| got == want || (got.is_null() && want == &serde_json::json!({}));
        for r in run.all.iter().filter(|r| r["event"] == "syscall") {
            let track = thread_track[&r["tid"].as_u64().unwrap()];
            match r.get("duration_ns").and_then(Value::as_u64) {
                Some(dur) if dur > 0 => {
                    let hit = slices[&track].iter().any(|s| {
                        s.name == r["syscall"] && s.end == ns(r) && s.begin == ns(r) - dur && same_args(&s.args["args"], &r["args"]) && s.args["ret"] == r["ret"]
                    });
                    assert!(hit, "{name}: no slice for {r}");
                }
                _ => assert!(
                    instants[&track].iter().any(|e| e["name"] == r["syscall"] && e["ts"] == ns(r) && same_args(&e["args"]["args"], &r["args"])),
                    "{name}: no instant for {r}"
                ),
            }
        }
        // Forks: a flow from the parent's fork instant to the child's lifetime slice.
        for f in run.all.iter().filter(|r| r["event"] == "fork") {
            let from = instants[&thread_track[&f["tid"].as_u64().unwrap()]]
                .iter()
                .find(|e| e["name"] == "fork" && e["ts"] == ns(f) && e["args"]["child_tid"] == f["child_tid"])
                .unwrap_or_else(|| panic!("no fork instant for {f}"));
            let id = from["flows"][0].as_u64().expect("fork has a flow");
            let child = &slices[&thread_track[&f["child_tid"].as_u64().unwrap()]];
            let life = child.iter().find(|s| s.terminating.contains(&id)).expect("the flow arrives at the child");
            assert_eq!(life.begin, ns(f), "the child's lifetime starts at the fork");
            assert!(life.name.starts_with(if f["thread"] == true { "thread " } else { "process " }));
        }
        // Reaps: the child's exit → the parent's reaped instant; the child
        // process is a zombie from its exit to the reap.
        for r in run.all.iter().filter(|r| r["event"] == "reaped") {
            let child = r["child_pid"].as_u64().unwrap();
            let to = instants[&thread_track[&r["tid"].as_u64().unwrap()]].iter().find(|e| e["name"] == "reaped" && e["ts"] == ns(r)).expect("reaped instant");
            let id = to["terminating"][0].as_u64().expect("a flow ends at the reap");
            let exit = run.all.iter().find(|e| e["event"] == "exit" && e["pid"] == child && e["group_dead"] == true).unwrap();
            let from = instants[&thread_track[&exit["tid"].as_u64().unwrap()]].iter().find(|e| e["name"] == "exit" && e["ts"] == ns(exit)).unwrap();
            assert_eq!(from["flows"][0].as_u64(), Some(id), "the reap flow leaves from the child's exit");
            let z = slices[&proc_track[&child]].iter().find(|s| s.name == "zombie").expect("a zombie slice");
            assert_eq!((z.begin, z.end), (ns(exit), ns(r)));
            assert_eq!(z.end - z.begin, r["zombie_ns"].as_u64().unwrap());
        }
        if name == "threads" {
            let tc = run.all.iter().find(|r| r["event"] == "thread_create").unwrap();
            let i = instants[&thread_track[&tc["tid"].as_u64().unwrap()]].iter().find(|e| e["name"] == "thread_create").unwrap();
            assert_eq!(i["args"]["stack_base"], tc["stack_base"]);
            assert_eq!(i["args"]["guard_size"], 4096);
        }
    }
}

#[test]
fn reads_stdin_from_a_pipe() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process", &[]);
    let dir = TempDir::new("view-pipe");
    let page = dir.path().join("p.html");
    let mut tracer = Command::new(TRACER).arg("--").arg(&prog.bin).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let o = Command::new(TRACER).args(["view", "-", "--html"]).arg(&page).stdin(tracer.stdout.take().unwrap()).output().unwrap();
    tracer.wait().unwrap();
    assert!(o.status.success(), "{:?}", stderr_lines(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("\"name\":\"-\""));
    assert!(html.contains("*** reaped "));
}

#[test]
fn bad_input_is_one_line_or_a_marked_gap() {
    if skip_without_root() {
        return;
    }
    let run = traced("process");
    let text = std::fs::read_to_string(&run.jsonl).unwrap();
    let d = run.dir.path();
    let write = |n: &str, s: &str| {
        let p = d.join(n);
        std::fs::write(&p, s).unwrap();
        p
    };
    let out = d.join("out.html");
    // A truncated last line: skipped with one warning, the page is made.
    let cut = write("cut.jsonl", &text[..text.len() - 40]);
    let o = view(&[cut.as_os_str(), "--html".as_ref(), out.as_os_str()]);
    let n = run.all.len();
    assert!(o.status.success());
    assert_eq!(stderr_lines(&o).len(), 1, "{:?}", stderr_lines(&o));
    assert!(stderr_lines(&o)[0].starts_with(&format!("tracer view: warning: 1 unreadable line(s) skipped (first: line {n}: EOF while parsing")), "{:?}", stderr_lines(&o));
    assert!(std::fs::read_to_string(&out).unwrap().contains("1 unreadable line(s) skipped"));
    // Only lines of a newer schema: nothing usable, one line, exit 1, no page.
    let newer = write("newer.jsonl", &text.replace("{\"schema\":4,", "{\"schema\":5,"));
    let out2 = d.join("never.html");
    let o = view(&[newer.as_os_str(), "--html".as_ref(), out2.as_os_str(), "--perfetto".as_ref(), d.join("never.pftrace").as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr_lines(&o).len(), 1);
    assert!(stderr_lines(&o)[0].contains(&format!("no tracer records ({n} line(s) of schema 5 skipped: this tracer reads schema 4 and older")), "{:?}", stderr_lines(&o));
    assert!(!out2.exists() && !d.join("never.pftrace").exists());
    // A lost gap: marked on the page and in the summary, and a warning.
    let mut lines: Vec<&str> = text.lines().collect();
    let ts = run.all[n / 2]["ts"].as_str().unwrap().to_owned();
    let lost = format!("{{\"schema\":2,\"seq\":0,\"ts\":\"{ts}\",\"event\":\"lost\",\"where\":\"kernel\",\"reason\":\"ringbuf_full\",\"count\":7,\"total\":7,\"since\":\"{ts}\"}}");
    lines.insert(n / 2, &lost);
    let gap = write("gap.jsonl", &(lines.join("\n") + "\n"));
    let page = d.join("gap.html");
    let o = view(&[gap.as_os_str(), "--html".as_ref(), page.as_os_str(), "--perfetto".as_ref(), d.join("gap.pftrace").as_os_str()]);
    assert!(o.status.success());
    assert_eq!(stderr_lines(&o), ["tracer view: warning: 7 record(s) lost while tracing (1 gap(s) marked): the picture is incomplete"]);
    let dom = dom(&page);
    assert!(dom.contains("*** lost 7 records (kernel ringbuf_full) ***"), "the gap is listed");
    assert!(dom.contains("lost <b>7</b>"), "the summary counts it");
    decode(&d.join("gap.pftrace"));
    // Garbage, a missing file, no output named.
    let junk = write("junk.jsonl", "\u{0}\u{1}not json\n");
    let o = view(&[junk.as_os_str(), "--html".as_ref(), out.as_os_str()]);
    assert_eq!((o.status.code(), stderr_lines(&o).len()), (Some(1), 1), "{:?}", stderr_lines(&o));
    let o = view(&[d.join("missing.jsonl").as_os_str(), "--html".as_ref(), out.as_os_str()]);
    assert_eq!((o.status.code(), stderr_lines(&o).len()), (Some(1), 1));
    assert!(stderr_lines(&o)[0].contains("missing.jsonl: No such file"));
    let o = view(&[run.jsonl.as_os_str()]);
    assert_eq!((o.status.code(), stderr_lines(&o).len()), (Some(2), 1));
}

/// Shifts every pid/tid-valued field by `by` (a synthetic copy of a trace).
fn shift_ids(v: &mut Value, by: u64) {
    const IDS: &[&str] = &["pid", "tid", "ppid", "child_pid", "child_tid", "target_pid", "target_tid", "parent_tid", "reused_from_tid", "si_pid"];
    if let Value::Object(m) = v {
        for (k, x) in m.iter_mut() {
            match x {
                Value::Number(n) if IDS.contains(&k.as_str()) && n.as_u64().is_some_and(|n| n > 1) => *x = (n.as_u64().unwrap() + by).into(),
                Value::Object(_) => shift_ids(x, by),
                _ => {}
            }
        }
    }
}

/// Not a test (it asserts nothing about speed): the figures in
/// docs/walkthrough.md. A real trace of the process program replicated
/// with shifted pids, tids and times to 10^4, 10^5 and 10^6 records, each
/// made into a page and loaded in headless chromium until the page's ready
/// marker. Run: `cargo test -p tracer-user --test view -- --ignored --nocapture page_load_times`.
#[test]
#[ignore]
fn page_load_times() {
    if skip_without_root() {
        return;
    }
    let run = traced("threads");
    let base = &run.all;
    let t0 = ns(&base[0]) as i128;
    let span = ns(base.last().unwrap()) as i128 - t0 + 1_000_000;
    println!("| records | HTML | tracer view | page ready (performance.now) | chromium run |");
    println!("|---|---|---|---|---|");
    for total in [10_000usize, 100_000, 1_000_000] {
        let path = run.dir.path().join(format!("synthetic-{total}.jsonl"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for i in 0..total {
            let copy = i / base.len();
            let mut r = base[i % base.len()].clone();
            shift_ids(&mut r, copy as u64 * 1000);
            let mut ts = Vec::new();
            tracer_user::render::clock::push_rfc3339(&mut ts, ns(&r) as i128 + copy as i128 * span);
            r["ts"] = String::from_utf8(ts).unwrap().into();
            r["seq"] = i.into();
            serde_json::to_writer(&mut out, &r).unwrap();
            std::io::Write::write_all(&mut out, b"\n").unwrap();
        }
        drop(out);
        let page = run.dir.path().join(format!("synthetic-{total}.html"));
        let t = Instant::now();
        let o = view(&[path.as_os_str(), "--html".as_ref(), page.as_os_str()]);
        let view_s = t.elapsed().as_secs_f64();
        assert!(o.status.success(), "{:?}", stderr_lines(&o));
        let t = Instant::now();
        let d = dom(&page);
        let wall = t.elapsed().as_secs_f64();
        let ready: u64 = d.split(">view-ready ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let size = std::fs::metadata(&page).unwrap().len() as f64 / 1e6;
        println!("| {total} | {size:.1} MB | {view_s:.1} s | {:.2} s | {wall:.1} s |", ready as f64 / 1000.0);
    }
}
