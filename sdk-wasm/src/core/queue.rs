//! The write-ahead event queue.
//!
//! Every event is persisted before it can be sent, and leaves storage only after a 2xx or a
//! permanent 4xx. Storage is written append-only: the events produced by one input call form
//! one *chunk*, written once to its own key (`{prefix}q{seq}`, NDJSON, at most `maxChunkBytes`)
//! and removed once every event in it is acknowledged. Nothing is ever rewritten, so the bytes
//! written to storage are the event bytes plus nothing (compare: rewriting the whole queue every
//! 500 ms, 1.5-3.7 storage bytes per delivered byte).
//!
//! The queue is bounded by event count and bytes; when over, the oldest chunks not in flight
//! are dropped whole (their events counted for the `$sdk_diagnostic` report). Chunks are small
//! (one call's events), so whole-chunk dropping stays close to event-exact.
//!
//! At start the host hands over every stored `{prefix}q*` entry; chunks are reloaded in
//! sequence order and their events sent again with the same `messageId`s — the collector
//! dedups what was already delivered.

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Queued,
    InFlight,
    Done,
}

#[derive(Debug)]
struct Chunk {
    seq: u64,
    /// When it was appended (host clock); reloaded chunks count as old.
    created_at: i64,
    /// The stored NDJSON text.
    text: String,
    /// Byte ranges of the events in `text`, with their state.
    events: Vec<(u32, u32, St)>,
    /// Events not yet Done.
    live: usize,
    /// False after the host reported that writing it failed: the events live only in memory.
    saved: bool,
}

/// A request body taken from the queue.
#[derive(Debug)]
pub struct Taken {
    /// `{"batch":[...],"sentAt":"..."}`.
    pub body: String,
    /// Events in it.
    pub events: usize,
}

/// The queue.
#[derive(Debug)]
pub struct Queue {
    prefix: String,
    chunks: VecDeque<Chunk>,
    next_seq: u64,
    live_events: usize,
    queued_events: usize,
    stored_bytes: usize,
}

/// The storage key of chunk `seq`: `{prefix}q{seq}` (`format!` was ≈ 500 instructions per
/// key, two keys per event; digits pushed into a sized buffer are a fraction of that).
fn chunk_key(prefix: &str, seq: u64) -> String {
    let mut key = String::with_capacity(prefix.len() + 21);
    key.push_str(prefix);
    key.push('q');
    super::text::push_u64(&mut key, seq);
    key
}

fn is_event_line(l: &str) -> bool {
    let l = l.trim();
    l.len() >= 2 && l.starts_with('{') && l.ends_with('}')
}

impl Queue {
    /// An empty queue writing keys `{prefix}q{seq}`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            chunks: VecDeque::new(),
            next_seq: 1,
            live_events: 0,
            queued_events: 0,
            stored_bytes: 0,
        }
    }

    /// The sequence number of a queue key, if `key` is one.
    pub fn seq_of(&self, key: &str) -> Option<u64> {
        key.strip_prefix(&self.prefix)?
            .strip_prefix('q')
            .and_then(super::text::parse_u64)
    }

    pub fn key(&self, seq: u64) -> String {
        chunk_key(&self.prefix, seq)
    }

    /// Reloads stored chunks (any order). Returns the keys to remove: chunks holding no event.
    pub fn load(&mut self, entries: Vec<(u64, String)>) -> Vec<String> {
        let mut entries = entries;
        entries.sort_unstable_by_key(|(s, _)| *s);
        let mut remove = Vec::new();
        for (seq, text) in entries {
            self.next_seq = self.next_seq.max(seq + 1);
            let mut events = Vec::new();
            let mut pos = 0usize;
            for line in super::text::split_ascii(&text, b'\n') {
                let end = pos + line.len();
                if is_event_line(line) {
                    events.push((pos as u32, end as u32, St::Queued));
                }
                pos = end + 1;
            }
            if events.is_empty() {
                remove.push(self.key(seq));
                continue;
            }
            self.live_events += events.len();
            self.queued_events += events.len();
            self.stored_bytes += text.len();
            self.chunks.push_back(Chunk {
                seq,
                created_at: i64::MIN,
                live: events.len(),
                text,
                events,
                saved: true,
            });
        }
        remove
    }

    /// Appends events (JSON texts without newlines) as new chunks of at most `max_chunk`
    /// bytes each. Returns the `(key, value)` pairs to persist, in order.
    pub fn append(
        &mut self,
        now: i64,
        events: impl IntoIterator<Item = String>,
        max_chunk: usize,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut cur: Option<Chunk> = None;
        for ev in events {
            if let Some(c) = &cur {
                if c.text.len() + 1 + ev.len() > max_chunk {
                    out.push(self.seal(cur.take()));
                }
            }
            let c = cur.get_or_insert_with(|| {
                let seq = self.next_seq;
                self.next_seq += 1;
                Chunk {
                    seq,
                    created_at: now,
                    text: String::new(),
                    events: Vec::new(),
                    live: 0,
                    saved: true,
                }
            });
            let start = if c.text.is_empty() {
                // The first event's text becomes the chunk's (no copy).
                c.text = ev;
                0
            } else {
                c.text.push('\n');
                let start = c.text.len();
                c.text.push_str(&ev);
                start
            };
            c.events
                .push((start as u32, c.text.len() as u32, St::Queued));
            c.live += 1;
        }
        if cur.is_some() {
            out.push(self.seal(cur));
        }
        out
    }

    fn seal(&mut self, chunk: Option<Chunk>) -> (String, String) {
        let Some(c) = chunk else {
            return (String::new(), String::new());
        };
        self.live_events += c.live;
        self.queued_events += c.live;
        self.stored_bytes += c.text.len();
        let kv = (self.key(c.seq), c.text.clone());
        self.chunks.push_back(c);
        kv
    }

    /// The host could not store the chunk under `key`: its events stay in memory only (still
    /// sent; lost if the app is killed first). Returns the chunk's size, if `key` is a live chunk.
    pub fn mark_unsaved(&mut self, key: &str) -> Option<usize> {
        let seq = self.seq_of(key)?;
        let c = self.chunks.iter_mut().find(|c| c.seq == seq)?;
        if !c.saved {
            return None;
        }
        c.saved = false;
        Some(c.text.len())
    }

    /// Live chunks whose write failed, to write again (marked saved again; a new failure is
    /// reported like the first one).
    pub fn take_unsaved(&mut self) -> Vec<(String, String)> {
        let prefix = &self.prefix;
        let mut out = Vec::new();
        for c in &mut self.chunks {
            if !c.saved && c.live > 0 {
                c.saved = true;
                out.push((chunk_key(prefix, c.seq), c.text.clone()));
            }
        }
        out
    }

    /// Drops the oldest chunks not in flight until within both bounds. Returns the number of
    /// events dropped and the keys to remove.
    pub fn enforce(&mut self, max_events: usize, max_bytes: usize) -> (usize, Vec<String>) {
        let mut dropped = 0;
        let mut keys = Vec::new();
        while self.live_events > max_events || self.stored_bytes > max_bytes {
            let Some(i) = self
                .chunks
                .iter()
                .position(|c| !c.events.iter().any(|e| e.2 == St::InFlight))
            else {
                break;
            };
            let Some(c) = self.chunks.remove(i) else {
                break;
            };
            let queued = c.events.iter().filter(|e| e.2 == St::Queued).count();
            dropped += c.live;
            self.live_events -= c.live;
            self.queued_events -= queued;
            self.stored_bytes -= c.text.len();
            keys.push(self.key(c.seq));
        }
        (dropped, keys)
    }

    /// Marks up to `max_events` queued events (and `max_bytes` of them, but always at least
    /// one) in flight, oldest first, and returns them as a batch body stamped `sent_at`.
    pub fn take(&mut self, max_events: usize, max_bytes: usize, sent_at: &str) -> Option<Taken> {
        if self.queued_events == 0 {
            return None;
        }
        let mut body = String::with_capacity(64 + max_bytes.min(64 << 10));
        body.push_str("{\"batch\":[");
        let mut n = 0usize;
        'outer: for c in &mut self.chunks {
            for e in &mut c.events {
                if e.2 != St::Queued {
                    continue;
                }
                let text = &c.text[e.0 as usize..e.1 as usize];
                if n == max_events || (n > 0 && body.len() + text.len() + 40 > max_bytes) {
                    break 'outer;
                }
                if n > 0 {
                    body.push(',');
                }
                body.push_str(text);
                e.2 = St::InFlight;
                n += 1;
            }
        }
        self.queued_events -= n;
        body.push_str("],\"sentAt\":\"");
        body.push_str(sent_at);
        body.push_str("\"}");
        Some(Taken { body, events: n })
    }

    /// The in-flight events are done (delivered or dropped for good). Returns the keys of the
    /// chunks now fully done, to remove, and the bytes of the events done.
    pub fn ack(&mut self) -> (Vec<String>, usize) {
        let mut done_bytes = 0;
        for c in &mut self.chunks {
            for e in &mut c.events {
                if e.2 == St::InFlight {
                    e.2 = St::Done;
                    c.live -= 1;
                    self.live_events -= 1;
                    done_bytes += (e.1 - e.0) as usize;
                }
            }
        }
        let mut keys = Vec::new();
        let prefix = &self.prefix;
        let bytes = &mut self.stored_bytes;
        self.chunks.retain(|c| {
            if c.live == 0 {
                *bytes -= c.text.len();
                keys.push(chunk_key(prefix, c.seq));
                false
            } else {
                true
            }
        });
        (keys, done_bytes)
    }

    /// The in-flight events go back to waiting (the attempt failed).
    pub fn release(&mut self) {
        for c in &mut self.chunks {
            for e in &mut c.events {
                if e.2 == St::InFlight {
                    e.2 = St::Queued;
                    self.queued_events += 1;
                }
            }
        }
    }

    /// Removes everything; returns every key the queue had stored.
    pub fn purge(&mut self) -> Vec<String> {
        let keys = self.chunks.iter().map(|c| self.key(c.seq)).collect();
        self.chunks.clear();
        self.live_events = 0;
        self.queued_events = 0;
        self.stored_bytes = 0;
        keys
    }

    /// Events waiting to be sent (not in flight, not done).
    pub fn queued(&self) -> usize {
        self.queued_events
    }

    /// Events stored and not yet done.
    pub fn live(&self) -> usize {
        self.live_events
    }

    /// Bytes the queue holds in storage.
    pub fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    /// When the oldest waiting event was appended (`i64::MIN` for reloaded ones).
    pub fn oldest_queued_at(&self) -> Option<i64> {
        self.chunks
            .iter()
            .find(|c| c.events.iter().any(|e| e.2 == St::Queued))
            .map(|c| c.created_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_are_prefix_q_decimal_seq() {
        for seq in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(chunk_key("md_", seq), format!("md_q{seq}"));
            assert_eq!(chunk_key("", seq), format!("q{seq}"));
        }
    }

    fn ev(i: usize) -> String {
        format!("{{\"messageId\":\"m{i}\"}}")
    }

    #[test]
    fn append_take_ack_removes_only_full_chunks() {
        let mut q = Queue::new("md_");
        let p1 = q.append(1, vec![ev(1), ev(2)], 1 << 16);
        let p2 = q.append(2, vec![ev(3)], 1 << 16);
        assert_eq!(p1, vec![("md_q1".into(), format!("{}\n{}", ev(1), ev(2)))]);
        assert_eq!(p2[0].0, "md_q2");
        assert_eq!(q.queued(), 3);
        let t = q.take(1, 1 << 20, "S").unwrap();
        assert_eq!(
            t.body,
            format!("{{\"batch\":[{}],\"sentAt\":\"S\"}}", ev(1))
        );
        assert_eq!(q.ack().0, Vec::<String>::new()); // chunk 1 still has m2
        let t = q.take(10, 1 << 20, "S").unwrap();
        assert_eq!(t.events, 2);
        let (keys, bytes) = q.ack();
        assert_eq!(keys, vec!["md_q1".to_owned(), "md_q2".to_owned()]);
        assert_eq!(bytes, ev(2).len() + ev(3).len());
        assert_eq!((q.live(), q.queued(), q.stored_bytes()), (0, 0, 0));
    }

    #[test]
    fn chunks_respect_max_bytes_and_reload_in_order() {
        let mut q = Queue::new("md_");
        let evs: Vec<String> = (0..10).map(ev).collect();
        let persisted = q.append(5, evs.clone(), 40);
        assert!(persisted.len() > 1);
        assert!(persisted.iter().all(|(_, v)| v.len() <= 40));
        let mut r = Queue::new("md_");
        let mut entries: Vec<(u64, String)> = persisted
            .iter()
            .map(|(k, v)| (r.seq_of(k).unwrap(), v.clone()))
            .collect();
        entries.reverse();
        entries.push((99, "garbage".into()));
        assert_eq!(r.load(entries), vec!["md_q99".to_owned()]);
        assert_eq!(r.oldest_queued_at(), Some(i64::MIN));
        let t = r.take(100, 1 << 20, "S").unwrap();
        assert_eq!(
            t.body,
            format!("{{\"batch\":[{}],\"sentAt\":\"S\"}}", evs.join(","))
        );
        assert_eq!(r.append(1, vec![ev(1)], 100)[0].0, "md_q100");
        assert_eq!(r.seq_of("md_state"), None);
        assert_eq!(r.seq_of("other_q1"), None);
    }

    #[test]
    fn release_requeues_and_bounds_skip_in_flight() {
        let mut q = Queue::new("md_");
        for i in 0..5 {
            q.append(i, vec![ev(i as usize)], 1 << 16);
        }
        q.take(1, 1 << 20, "S").unwrap();
        let (dropped, keys) = q.enforce(3, 1 << 20);
        // m0 is in flight, so m1 and m2 go.
        assert_eq!(dropped, 2);
        assert_eq!(keys, vec!["md_q2".to_owned(), "md_q3".to_owned()]);
        q.release();
        assert_eq!(q.queued(), 3);
        let (dropped, _) = q.enforce(1, 1 << 20);
        assert_eq!(dropped, 2);
        assert_eq!(q.live(), 1);
        let t = q.take(9, 1 << 20, "S").unwrap();
        assert!(t.body.contains("\"m4\""));
        assert_eq!(q.purge(), vec!["md_q5".to_owned()]);
    }

    #[test]
    fn take_respects_bytes_but_always_takes_one() {
        let mut q = Queue::new("md_");
        q.append(0, (0..10).map(ev), 1 << 16);
        let t = q.take(100, 10, "S").unwrap();
        assert_eq!(t.events, 1);
        let t = q.take(100, 120, "S").unwrap();
        assert!(t.events >= 2 && t.body.len() <= 140, "{}", t.body.len());
    }
}
