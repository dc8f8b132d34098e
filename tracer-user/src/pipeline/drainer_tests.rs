//! The drain's batching and its per-sink loss accounts, with a sink played
//! by the test (no thread, no kernel).

use super::*;
use crate::sink::Queue;
use std::sync::atomic::Ordering;

fn drainer_with_one_sink(capacity: usize) -> (Drainer, Arc<Queue>) {
    let queue = Arc::new(Queue::new(capacity));
    let slot = SinkSlot::new("t".into(), Arc::clone(&queue), Arc::default(), std::thread::spawn(|| {}));
    let output = crate::pipeline::output::Output::new(crate::pipeline::output::Format::Json, Clock::with_offset(0), true, Default::default());
    (Drainer::new(vec![slot], Clock::with_offset(0), 4096, SharedSnapshot::default(), output), queue)
}

/// Appends a stats-like line of about 200 bytes.
fn line(d: &mut Drainer) {
    d.batch.buf.extend_from_slice(&[b'x'; 199]);
    d.batch.buf.push(b'\n');
    d.batch.push_line(d.seq, 0, LineKind::Stats);
    d.seq += 1;
    d.dispatch();
}

/// What the sink received: (seqs of all lines, counts of lost records).
fn drain(q: &Queue) -> (Vec<u64>, Vec<u64>) {
    let (mut seqs, mut counts) = (vec![], vec![]);
    for c in q.take(Duration::ZERO).chunks {
        for (i, m) in c.metas().iter().enumerate() {
            seqs.push(m.seq);
            if m.kind.is_lost() {
                let v: serde_json::Value = serde_json::from_slice(c.batch.line(c.lines.start + i)).unwrap();
                counts.push(v["count"].as_u64().unwrap());
            }
        }
        q.release(c.bytes().len());
    }
    (seqs, counts)
}

// A full batch is queued in its own buffer (no copy), a small one in a
// right-sized copy: either way a queued batch holds at most an eighth
// more than its bytes, and the lines stay what was written.
#[test]
fn queued_batches_are_about_their_own_size_whether_handed_over_or_copied() {
    let (mut d, q) = drainer_with_one_sink(1 << 20);
    let append = |d: &mut Drainer, n: usize| {
        for _ in 0..n {
            d.batch.buf.extend_from_slice(format!("{:0199}\n", d.seq).as_bytes());
            d.batch.push_line(d.seq, 0, LineKind::Stats);
            d.seq += 1;
        }
    };
    append(&mut d, FLUSH_AT / 200 + 1);
    let handed = d.batch.buf.as_ptr();
    d.dispatch();
    append(&mut d, 3);
    d.dispatch();
    assert!(d.batch.buf.capacity() >= FLUSH_AT, "the working buffer keeps its room");
    let chunks = q.take(Duration::ZERO).chunks;
    assert_eq!(chunks.len(), 2);
    let (full, small) = (&chunks[0].batch, &chunks[1].batch);
    assert_eq!(full.buf.as_ptr(), handed, "the full buffer itself was queued");
    assert!(full.buf.capacity() - full.buf.len() <= full.buf.len() / 8);
    assert_eq!((small.buf.len(), small.buf.capacity()), (600, 600));
    let mut seq = 0u64;
    for b in [full, small] {
        for i in 0..b.lines.len() {
            assert_eq!(b.line(i), format!("{seq:0199}\n").as_bytes());
            seq += 1;
        }
    }
    assert_eq!(seq, d.seq);
}

#[test]
fn a_sinks_lost_counts_add_up_to_its_gaps_even_when_it_missed_earlier_reports() {
    let (mut d, q) = drainer_with_one_sink(2000);
    let mut seen = vec![];
    let mut counted = vec![];
    for _ in 0..11 {
        line(&mut d); // 10 fit, the 11th is dropped
    }
    assert_eq!(d.sinks[0].unreported, 1);
    // Reported while the sink is full: the report itself is lost too.
    d.report_sink_drops();
    assert_eq!(d.sinks[0].unreported, 2, "the report it could not take counts as lost");
    // Nothing new but that report: no new report until there is room.
    d.report_sink_drops();
    assert_eq!(d.seq, 12, "no report made for a full sink with nothing new");
    let (s, c) = drain(&q);
    seen.extend(s);
    counted.extend(c);
    line(&mut d);
    d.report_sink_drops();
    assert_eq!(d.sinks[0].unreported, 0, "accepted");
    let (s, c) = drain(&q);
    seen.extend(s);
    counted.extend(c);
    let missing = (0..d.seq).filter(|s| !seen.contains(s)).count() as u64;
    assert_eq!(missing, 2, "line 10 and the first report");
    assert_eq!(counted, vec![2], "one report it received, counting both");
    assert_eq!(d.sinks[0].dropped.load(Ordering::Relaxed), 2);
}

/// Plays the sink's thread: takes what is queued and writes it, or,
/// while `full`, fails every line. Returns what was written: (seqs,
/// counts of lost records).
fn work(d: &Drainer, q: &Queue, full: bool) -> (Vec<u64>, Vec<u64>) {
    let c = &d.sinks[0].counters;
    let (mut seqs, mut counts) = (vec![], vec![]);
    for chunk in q.take(Duration::ZERO).chunks {
        let n = chunk.lines.len();
        let failed: Vec<u32> = if full { (0..n as u32).collect() } else { vec![] };
        c.add_written(n - failed.len());
        c.add_failed(&chunk, &failed);
        c.settle_reports(&chunk, 0, &failed);
        if !full {
            for (i, m) in chunk.metas().iter().enumerate() {
                seqs.push(m.seq);
                if m.kind.is_lost() {
                    let v: serde_json::Value = serde_json::from_slice(chunk.batch.line(chunk.lines.start + i)).unwrap();
                    assert_eq!(v["reason"], "write_error");
                    counts.push(v["count"].as_u64().unwrap());
                }
            }
        }
        q.release(chunk.bytes().len());
    }
    (seqs, counts)
}

#[test]
fn a_sinks_write_error_counts_add_up_to_its_gaps_and_an_idle_full_disk_is_not_reported_every_poll() {
    let (mut d, q) = drainer_with_one_sink(1 << 20);
    // (seqs written, counts of the lost records written)
    let mut got: (Vec<u64>, Vec<u64>) = (vec![], vec![]);
    fn keep(got: &mut (Vec<u64>, Vec<u64>), (s, c): (Vec<u64>, Vec<u64>)) {
        got.0.extend(s);
        got.1.extend(c);
    }
    for _ in 0..3 {
        line(&mut d);
    }
    keep(&mut got, work(&d, &q, false));
    // The disk fills: 5 lines fail, and so does the record about them.
    for _ in 0..5 {
        line(&mut d);
    }
    keep(&mut got, work(&d, &q, true));
    d.report_sink_failures(false);
    assert_eq!(d.seq, 9, "a record about the 5 failures");
    keep(&mut got, work(&d, &q, true));
    // Idle machine, disk still full: no record per poll.
    for _ in 0..3 {
        d.report_sink_failures(false);
        keep(&mut got, work(&d, &q, true));
    }
    assert_eq!(d.seq, 9, "no new record while only records failed");
    for _ in 0..2 {
        line(&mut d);
    }
    keep(&mut got, work(&d, &q, true));
    d.report_sink_failures(false);
    assert_eq!(d.seq, 12, "new real failures: a new record");
    keep(&mut got, work(&d, &q, true));
    // Space returns: the next line is written, and the sink gets the
    // whole account (5 + 1 + 2 + 1), once.
    line(&mut d);
    keep(&mut got, work(&d, &q, false));
    d.report_sink_failures(false);
    assert_eq!(d.seq, 14);
    d.report_sink_failures(false);
    assert_eq!(d.seq, 14, "outstanding: no second record");
    keep(&mut got, work(&d, &q, false));
    d.report_sink_failures(false);
    assert_eq!(d.seq, 14, "written, settled, nothing new");
    assert_eq!(got.1, vec![9]);
    let missing = (0..d.seq).filter(|s| !got.0.contains(s)).count() as u64;
    assert_eq!(missing, 9);
    assert_eq!(d.sinks[0].failures.base, 9);
    // A later failure is counted from there.
    line(&mut d);
    keep(&mut got, work(&d, &q, true));
    line(&mut d);
    keep(&mut got, work(&d, &q, false));
    d.report_sink_failures(false);
    keep(&mut got, work(&d, &q, false));
    assert_eq!(got.1, vec![9, 1]);
    assert_eq!((0..d.seq).filter(|s| !got.0.contains(s)).count(), 10);
}

// The metrics endpoint runs on the drain's current-thread runtime: waiting
// for the sinks at shutdown must yield to it, not sleep the thread. A
// blocking wait would come back from its first poll only once done.
#[test]
fn settling_waits_on_the_runtimes_timer_without_blocking_it() {
    use std::future::Future as _;
    let (mut d, q) = drainer_with_one_sink(1 << 20);
    line(&mut d);
    assert!(q.charged() > 0, "a line its sink never takes");
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        let mut settle = std::pin::pin!(d.settle(Instant::now() + Duration::from_secs(600)));
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(settle.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "settle blocked the runtime's thread until it was done");
        // The stalled sink is given up on after SETTLE_STALL.
        settle.await;
    });
    assert!(q.charged() > 0);
}
