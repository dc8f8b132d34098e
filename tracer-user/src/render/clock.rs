//! Time: the boot-time → wall-clock offset every record is stamped with,
//! and RFC 3339 text.

use crate::render::json::push_u64;

/// The wall clock now, in nanoseconds since the Unix epoch (0 if before it).
pub fn now_unix_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// Converts CLOCK_BOOTTIME stamps (what the kernel side records) to wall-clock
/// time, using the offset between the two clocks taken once at start-up.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    realtime_minus_boottime_ns: i128,
}

impl Clock {
    pub fn now() -> Self {
        let read = |id| {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            unsafe { libc::clock_gettime(id, &mut ts) };
            ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
        };
        let boot = read(libc::CLOCK_BOOTTIME);
        let real = read(libc::CLOCK_REALTIME);
        Clock { realtime_minus_boottime_ns: real - boot }
    }

    pub fn with_offset(realtime_minus_boottime_ns: i128) -> Self {
        Clock { realtime_minus_boottime_ns }
    }

    /// Unix time in nanoseconds for a boot-time stamp.
    pub fn unix_ns(&self, boot_ns: u64) -> i128 {
        boot_ns as i128 + self.realtime_minus_boottime_ns
    }
}

/// Appends RFC 3339 UTC time with nanoseconds: `2026-11-27T06:45:46.123456789Z`.
/// For a line now and then; a renderer keeps a [`Stamp`].
pub fn push_rfc3339(out: &mut Vec<u8>, unix_ns: i128) {
    Stamp::default().push(out, unix_ns);
}

/// The last time written, as text: events come in time order, many to a
/// second, so the date and time of day are worked out once per second,
/// only the fraction per event — and not even that for the records an
/// event completes, which carry its very time. (Updated in place: a copy
/// of the text in and out of a `Cell` was split into thirty byte moves
/// each way.)
#[derive(Default)]
pub struct Stamp {
    /// None: nothing written yet.
    secs: Option<i64>,
    /// None: `text` has the second but not yet a fraction.
    nanos: Option<u32>,
    /// `YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ`
    text: [u8; 30],
}

impl Stamp {
    /// Appends RFC 3339 UTC time with nanoseconds, as [`push_rfc3339`].
    #[inline]
    pub fn push(&mut self, out: &mut Vec<u8>, unix_ns: i128) {
        // i64 nanoseconds reach 2262: there, stay clear of 128-bit
        // division, which is a libcall.
        let (secs, nanos) = match i64::try_from(unix_ns) {
            Ok(ns) => (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000) as u32),
            Err(_) => (unix_ns.div_euclid(1_000_000_000) as i64, unix_ns.rem_euclid(1_000_000_000) as u32),
        };
        if self.secs != Some(secs) {
            if !fill_second(&mut self.text, secs) {
                // A year past 9999: wider than the fixed layout (never, for
                // a real clock).
                push_rfc3339_wide(out, secs, nanos);
                return;
            }
            self.secs = Some(secs);
            self.nanos = None;
        }
        if self.nanos != Some(nanos) {
            fill_digits(&mut self.text[20..29], nanos);
            self.nanos = Some(nanos);
        }
        out.extend_from_slice(&self.text);
    }
}

/// Unix second `secs` as `YYYY-MM-DDThh:mm:ss.?????????Z` into `b`; false
/// if the year does not fit in four digits.
fn fill_second(b: &mut [u8; 30], secs: i64) -> bool {
    let (y, m, d, sod) = civil(secs);
    if y > 9999 {
        return false;
    }
    *b = *b"yyyy-mm-ddThh:mm:ss.nnnnnnnnnZ";
    fill_digits(&mut b[0..4], y as u32);
    fill_digits(&mut b[5..7], m);
    fill_digits(&mut b[8..10], d);
    fill_digits(&mut b[11..13], sod / 3600);
    fill_digits(&mut b[14..16], sod / 60 % 60);
    fill_digits(&mut b[17..19], sod % 60);
    true
}

/// Year (at least 0), month, day and second of the day of Unix second
/// `secs` (Howard Hinnant's civil_from_days).
fn civil(secs: i64) -> (u64, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y.max(0) as u64, m, d, sod)
}

/// [`push_rfc3339`] for years of five digits and more.
#[cold]
fn push_rfc3339_wide(out: &mut Vec<u8>, secs: i64, nanos: u32) {
    let (y, m, d, sod) = civil(secs);
    push_u64(out, y);
    let mut b = *b"-mm-ddThh:mm:ss.nnnnnnnnnZ";
    fill_digits(&mut b[1..3], m);
    fill_digits(&mut b[4..6], d);
    fill_digits(&mut b[7..9], sod / 3600);
    fill_digits(&mut b[10..12], sod / 60 % 60);
    fill_digits(&mut b[13..15], sod % 60);
    fill_digits(&mut b[16..25], nanos);
    out.extend_from_slice(&b);
}

/// Writes `v` zero-padded to exactly `dst.len()` decimal digits (the
/// caller makes sure it fits).
#[inline]
fn fill_digits(dst: &mut [u8], mut v: u32) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}
