//! Commit rounds (pure bookkeeping): the appends written between two syncs, the files they
//! touched, and which of them a failed sync takes down.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::WriteError;

/// An append whose bytes are written and await their round's sync.
#[derive(Debug)]
pub(super) struct Pending {
    /// Project name (its id log).
    pub project: Arc<str>,
    /// When the request arrived (id-log segment).
    pub received_at: i64,
    /// Id-log records of the accepted events.
    pub ids: Vec<u8>,
    /// Serials of the files holding bytes of it.
    pub serials: Vec<u64>,
    /// Still good: every part written, no sync of its files failed.
    pub ok: bool,
    /// Fires once the round completes.
    pub reply: oneshot::Sender<Result<(), WriteError>>,
}

/// The appends of one round and the files they wrote to.
#[derive(Debug, Default)]
pub(super) struct Round {
    /// In write order.
    pub pending: Vec<Pending>,
    /// Distinct serials written in this round, in order of first write.
    pub serials: Vec<u64>,
}

impl Round {
    /// No append in it.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Number of appends.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether bytes of this round are in the file `serial`.
    pub fn touches(&self, serial: u64) -> bool {
        self.serials.contains(&serial)
    }

    /// Adds a written append.
    pub fn push(&mut self, p: Pending) {
        for &s in &p.serials {
            if !self.touches(s) {
                self.serials.push(s);
            }
        }
        self.pending.push(p);
    }

    /// Marks failed every append with bytes in one of the `failed` files (their bytes were cut
    /// back); returns how many were still good.
    pub fn fail_files(&mut self, failed: &[u64]) -> usize {
        let mut n = 0;
        for p in &mut self.pending {
            if p.ok && p.serials.iter().any(|s| failed.contains(s)) {
                p.ok = false;
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(serials: &[u64]) -> Pending {
        Pending {
            project: Arc::from("p"),
            received_at: 0,
            ids: Vec::new(),
            serials: serials.to_vec(),
            ok: true,
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn serials_are_distinct_in_first_write_order() {
        let mut r = Round::default();
        assert!(r.is_empty());
        r.push(pending(&[3]));
        r.push(pending(&[1, 3]));
        r.push(pending(&[]));
        assert_eq!(r.serials, vec![3, 1]);
        assert_eq!(r.len(), 3);
        assert!(r.touches(1) && r.touches(3) && !r.touches(2));
    }

    #[test]
    fn a_failed_file_fails_exactly_the_appends_with_bytes_in_it() {
        let mut r = Round::default();
        r.push(pending(&[1]));
        r.push(pending(&[2]));
        r.push(pending(&[1, 2]));
        r.push(pending(&[]));
        assert_eq!(r.fail_files(&[1]), 2);
        let ok: Vec<bool> = r.pending.iter().map(|p| p.ok).collect();
        assert_eq!(ok, vec![false, true, false, true]);
        // Already failed appends are not counted twice.
        assert_eq!(r.fail_files(&[1, 2]), 1);
        assert!(r.pending[..3].iter().all(|p| !p.ok));
    }
}
