//! One sink's bounded queue, bounded in bytes.
//!
//! Bytes, not lines: the bound exists to cap memory, and lines vary from
//! ~300 bytes (a plain mmap) to over 1 KiB (a clone3 with its clone_args, a
//! stats record). A byte bound makes `sinks × --queue-size` the real ceiling.
//! Bytes stay charged until the sink has written them (not merely taken
//! them), so what a stalled sink holds in hand counts too. (Not charged:
//! ~50 bytes of metadata per line, and the rest of a batch of which only a
//! part was queued — both bounded by the same order of magnitude.)
//!
//! The producer ([`Queue::push`]) never waits: it takes the longest prefix of
//! the offered lines that fits and reports how many that was. The consumer
//! waits on a condvar with a timeout.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Batch, Chunk};

#[derive(Debug)]
pub struct Queue {
    capacity: usize,
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct State {
    chunks: VecDeque<Chunk>,
    /// Bytes queued or taken but not yet released.
    charged: usize,
    closed: bool,
    reopen: bool,
}

/// What the consumer got from [`Queue::take`].
#[derive(Debug, Default)]
pub struct Taken {
    pub chunks: Vec<Chunk>,
    pub reopen: bool,
    /// The producer is done: once `chunks` is empty, nothing more will come.
    pub closed: bool,
}

impl Queue {
    pub fn new(capacity: usize) -> Self {
        Queue { capacity, state: Mutex::new(State::default()), ready: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A sink thread that panicked must not take the drain down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes queued or in the sink's hands.
    pub fn charged(&self) -> usize {
        self.lock().charged
    }

    /// Free bytes.
    pub fn room(&self) -> usize {
        self.capacity.saturating_sub(self.lock().charged)
    }

    /// Queues the longest prefix of `lines` that fits; returns its length.
    pub fn push(&self, batch: &Arc<Batch>, lines: Range<usize>) -> usize {
        let mut st = self.lock();
        if st.closed {
            return 0;
        }
        let room = self.capacity.saturating_sub(st.charged);
        let base = if lines.start == 0 { 0 } else { batch.lines[lines.start - 1].end };
        // Lines end at increasing offsets: binary search the last that fits.
        let metas = &batch.lines[lines.clone()];
        let fit = metas.partition_point(|m| m.end - base <= room);
        if fit > 0 {
            let chunk = Chunk { batch: Arc::clone(batch), lines: lines.start..lines.start + fit };
            st.charged += metas[fit - 1].end - base;
            st.chunks.push_back(chunk);
            drop(st);
            self.ready.notify_one();
        }
        fit
    }

    /// Consumer: waits up to `timeout` for chunks, a reopen request or close,
    /// and takes everything queued.
    pub fn take(&self, timeout: Duration) -> Taken {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        while st.chunks.is_empty() && !st.reopen && !st.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = self.ready.wait_timeout(st, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        Taken { chunks: st.chunks.drain(..).collect(), reopen: std::mem::take(&mut st.reopen), closed: st.closed }
    }

    /// Consumer: `bytes` of taken chunks are written (or given up on).
    pub fn release(&self, bytes: usize) {
        let mut st = self.lock();
        st.charged = st.charged.saturating_sub(bytes);
    }

    /// Consumer: sleeps up to `d`, waking early if the queue is closed.
    /// Returns whether it is closed.
    pub fn sleep_unless_closed(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut st = self.lock();
        while !st.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = self.ready.wait_timeout(st, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        st.closed
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// SIGHUP: the sink reopens its files before writing anything else.
    pub fn request_reopen(&self) {
        self.lock().reopen = true;
        self.ready.notify_all();
    }

    /// The producer is done; the consumer drains what is queued and stops.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::LineKind;

    fn batch(sizes: &[usize]) -> Arc<Batch> {
        let mut b = Batch::default();
        for (i, &n) in sizes.iter().enumerate() {
            b.buf.extend(std::iter::repeat_n(b'x', n - 1));
            b.buf.push(b'\n');
            b.push_line(i as u64, 0, LineKind::Stats);
        }
        Arc::new(b)
    }

    #[test]
    fn takes_the_prefix_that_fits_and_charges_until_release() {
        let q = Queue::new(100);
        let b = batch(&[40, 40, 40]);
        assert_eq!(q.push(&b, 0..3), 2, "80 of 120 bytes fit");
        assert_eq!(q.charged(), 80);
        assert_eq!(q.push(&b, 2..3), 0, "40 more does not fit in 20");
        let t = q.take(Duration::ZERO);
        assert_eq!(t.chunks.len(), 1);
        assert_eq!(t.chunks[0].lines, 0..2);
        assert_eq!(t.chunks[0].bytes().len(), 80);
        // Taken but not written: still charged.
        assert_eq!(q.room(), 20);
        q.release(80);
        assert_eq!(q.room(), 100);
        assert_eq!(q.push(&b, 2..3), 1);
        let t = q.take(Duration::ZERO);
        assert_eq!(t.chunks[0].lines, 2..3);
        assert_eq!(t.chunks[0].metas()[0].seq, 2);
    }

    #[test]
    fn a_line_larger_than_the_queue_never_fits() {
        let q = Queue::new(10);
        assert_eq!(q.push(&batch(&[11]), 0..1), 0);
        assert_eq!(q.push(&batch(&[10]), 0..1), 1);
    }

    #[test]
    fn take_times_out_and_close_and_reopen_wake_it() {
        let q = Arc::new(Queue::new(100));
        let t0 = Instant::now();
        let t = q.take(Duration::from_millis(50));
        assert!(t.chunks.is_empty() && !t.closed && !t.reopen);
        assert!(t0.elapsed() >= Duration::from_millis(50));

        let q2 = Arc::clone(&q);
        let h = std::thread::spawn(move || q2.take(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        q.request_reopen();
        let t = h.join().unwrap();
        assert!(t.reopen && !t.closed);
        assert!(!q.take(Duration::ZERO).reopen, "a reopen request is taken once");

        let q2 = Arc::clone(&q);
        let h = std::thread::spawn(move || q2.take(Duration::from_secs(10)));
        q.close();
        assert!(h.join().unwrap().closed);
        assert_eq!(q.push(&batch(&[5]), 0..1), 0, "closed: nothing more is queued");
        assert!(q.sleep_unless_closed(Duration::from_secs(10)));
    }
}
