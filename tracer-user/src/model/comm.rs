//! A task's name as the kernel keeps it (`task_struct::comm`).

use tracer_common::COMM_LEN;

/// A task's comm: at most 15 bytes, any byte value but NUL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Comm {
    buf: [u8; COMM_LEN],
    len: u8,
}

impl Comm {
    pub fn from_bytes(raw: &[u8]) -> Self {
        let len = raw.iter().take(COMM_LEN).position(|&b| b == 0).unwrap_or(raw.len().min(COMM_LEN));
        let mut buf = [0; COMM_LEN];
        buf[..len].copy_from_slice(&raw[..len]);
        Comm { buf, len: len as u8 }
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}
