//! A reference host in Rust: fake clock, storage, network and collector around a [`Core`].
//!
//! Used by the unit tests and the benchmark; it also documents what a real host (the JS
//! wrapper) must do: execute effects in order, keep one timer at the latest `wakeAt`, report
//! each `send`'s outcome with `sent`. Nothing here is used by the wasm build.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::Value;

use super::jv::{Json, Obj};

use super::{Config, Core, Effect, Init, LaunchOptions, Level, PageView};

/// How the fake network answers requests while time advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// Every request is answered 200 at once (and stored by the fake collector).
    Up,
    /// Every request fails at once with no response (status 0).
    Down,
    /// Requests stay outstanding until the test answers them with [`Sim::respond`].
    Manual,
}

/// A request the core handed to the host.
#[derive(Debug, Clone)]
pub struct Request {
    /// The id to echo.
    pub batch_id: u32,
    /// Body as sent.
    pub body: Vec<u8>,
    /// Its events, decoded.
    pub events: Vec<Value>,
    /// `sentAt` of the envelope.
    pub sent_at: String,
    /// The URL posted to.
    pub url: String,
    /// The request headers.
    pub headers: Obj,
}

impl Request {
    /// The `messageId`s of its events.
    pub fn ids(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| e["messageId"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Decodes a request body (gzip or plain JSON) into its events and `sentAt`.
pub fn decode(body: &[u8]) -> (Vec<Value>, String) {
    let raw = if body.starts_with(&[0x1f, 0x8b]) {
        miniz_oxide::inflate::decompress_to_vec(&body[10..body.len() - 8]).unwrap_or_default()
    } else {
        body.to_vec()
    };
    let v: Value = serde_json::from_slice(&raw).unwrap_or_default();
    let events = v["batch"].as_array().cloned().unwrap_or_default();
    (events, v["sentAt"].as_str().unwrap_or_default().to_owned())
}

/// The fake collector: stores each event once (dedup by `messageId`).
#[derive(Debug, Default)]
pub struct Collector {
    /// Stored ids.
    pub ids: BTreeSet<String>,
    /// Stored events in arrival order.
    pub events: Vec<Value>,
    /// Events received again (dedup hits).
    pub duplicates: usize,
}

impl Collector {
    fn store(&mut self, events: &[Value]) {
        for e in events {
            let id = e["messageId"].as_str().unwrap_or_default().to_owned();
            if self.ids.insert(id) {
                self.events.push(e.clone());
            } else {
                self.duplicates += 1;
            }
        }
    }
    /// Stored events named `name` (track `event` or page `name`).
    pub fn named(&self, name: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["event"] == name || (e["type"] == "page" && e["name"] == name))
            .collect()
    }
}

/// The simulated host.
pub struct Sim {
    /// The core under test.
    pub core: Core,
    /// Host storage.
    pub storage: BTreeMap<String, String>,
    /// Host clock (ms).
    pub now: f64,
    /// Requests sent and not yet answered.
    pub outbox: VecDeque<Request>,
    /// Every request ever sent.
    pub requests: Vec<Request>,
    /// The pending wake-up.
    pub wake: Option<f64>,
    /// Logged lines.
    pub logs: Vec<(Level, String)>,
    /// Bytes written to storage (values).
    pub storage_bytes_written: u64,
    /// Highest total of stored value bytes seen.
    pub max_storage_bytes: usize,
    /// The collector.
    pub collector: Collector,
    /// Network behaviour.
    pub net: Net,
    /// Storage full: every queue-chunk write is refused (reported with `persist_failed`).
    pub refuse_writes: bool,
    config: Config,
    seed: u8,
}

/// A fixed start time: 2026-11-24T17:10:46Z.
pub const T0: f64 = 1_795_540_246_000.0;

impl Sim {
    /// Starts a core with `config` and empty storage at [`T0`].
    pub fn new(config: Config) -> Self {
        Self::with_storage(config, BTreeMap::new(), T0, 1)
    }

    /// Starts a core with `config` over `storage` at `now`; `seed` varies the entropy.
    pub fn with_storage(
        config: Config,
        storage: BTreeMap<String, String>,
        now: f64,
        seed: u8,
    ) -> Self {
        Self::build(config, storage, now, seed, Collector::default(), Net::Up)
    }

    fn build(
        config: Config,
        storage: BTreeMap<String, String>,
        now: f64,
        seed: u8,
        collector: Collector,
        net: Net,
    ) -> Self {
        let init = Init {
            now,
            entropy: (0..32u8).map(|i| i.wrapping_mul(31) ^ seed).collect(),
            stored: storage
                .iter()
                .filter(|(k, _)| k.starts_with(&config.storage_prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let core = match Core::new(config.clone(), init) {
            Ok(c) => c,
            Err(e) => panic!("core refused to start: {e}"),
        };
        let mut sim = Self {
            core,
            storage,
            now,
            outbox: VecDeque::new(),
            requests: Vec::new(),
            wake: None,
            logs: Vec::new(),
            storage_bytes_written: 0,
            max_storage_bytes: 0,
            collector,
            net,
            refuse_writes: false,
            config,
            seed,
        };
        sim.drain();
        sim
    }

    /// The app is killed and launched again `after_ms` later: memory and outstanding requests
    /// are lost, storage and the collector survive.
    pub fn restart(self, after_ms: f64) -> Self {
        let now = self.now + after_ms;
        let mut next = Self::build(
            self.config,
            self.storage,
            now,
            self.seed.wrapping_add(1),
            self.collector,
            self.net,
        );
        next.storage_bytes_written += self.storage_bytes_written;
        next.max_storage_bytes = next.max_storage_bytes.max(self.max_storage_bytes);
        let mut requests = self.requests;
        requests.append(&mut next.requests);
        next.requests = requests;
        next
    }

    /// Executes every pending effect, answering sends per [`Sim::net`].
    pub fn drain(&mut self) {
        loop {
            let effects = self.core.poll_effects();
            if effects.is_empty() {
                break;
            }
            for e in effects {
                self.execute(e);
            }
            match self.net {
                Net::Up => {
                    while !self.outbox.is_empty() {
                        self.respond(200, None);
                    }
                }
                Net::Down => {
                    while !self.outbox.is_empty() {
                        self.respond(0, None);
                    }
                }
                Net::Manual => {}
            }
        }
    }

    fn execute(&mut self, e: Effect) {
        match e {
            Effect::Persist { key, value } => {
                if self.refuse_writes {
                    // The effects this produces are drained by the caller's loop.
                    self.core.persist_failed(self.now, &key);
                    return;
                }
                self.storage_bytes_written += value.len() as u64;
                self.storage.insert(key, value);
                let total: usize = self.storage.values().map(String::len).sum();
                self.max_storage_bytes = self.max_storage_bytes.max(total);
            }
            Effect::Remove { key } => {
                self.storage.remove(&key);
            }
            Effect::Send {
                batch_id,
                body,
                url,
                headers,
                ..
            } => {
                let (events, sent_at) = decode(&body);
                let r = Request {
                    batch_id,
                    body,
                    events,
                    sent_at,
                    url,
                    headers,
                };
                self.requests.push(r.clone());
                self.outbox.push_back(r);
            }
            Effect::WakeAt { at } => self.wake = at.map(|a| a as f64),
            Effect::Log { level, message } => self.logs.push((level, message)),
        }
    }

    /// Answers the oldest outstanding request; a 2xx stores its events in the collector.
    pub fn respond(&mut self, status: u16, retry_after_s: Option<f64>) -> Option<Request> {
        let r = self.outbox.pop_front()?;
        if (200..300).contains(&status) {
            self.collector.store(&r.events);
        }
        self.core.sent(self.now, r.batch_id, status, retry_after_s);
        let effects = self.core.poll_effects();
        for e in effects {
            self.execute(e);
        }
        Some(r)
    }

    /// Runs `f` on the core at the current time, then executes the effects.
    pub fn call(&mut self, f: impl FnOnce(&mut Core, f64)) {
        f(&mut self.core, self.now);
        self.drain();
    }

    /// Moves the clock forward to `now + ms`, firing every wake-up on the way.
    pub fn advance(&mut self, ms: f64) {
        let target = self.now + ms;
        while let Some(w) = self.wake.filter(|w| *w <= target) {
            self.wake = None;
            self.now = self.now.max(w);
            self.core.tick(self.now);
            self.drain();
        }
        self.now = target;
    }

    /// Sum of the stored value bytes under the SDK prefix.
    pub fn stored_bytes(&self) -> usize {
        self.storage
            .iter()
            .filter(|(k, _)| k.starts_with(&self.config.storage_prefix))
            .map(|(_, v)| v.len())
            .sum()
    }

    /// Ids of every event currently in the stored queue chunks.
    pub fn stored_event_ids(&self) -> BTreeSet<String> {
        let q = format!("{}q", self.config.storage_prefix);
        self.storage
            .iter()
            .filter(|(k, _)| k.starts_with(&q))
            .flat_map(|(_, v)| v.lines().map(str::to_owned).collect::<Vec<_>>())
            .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
            .map(|e| e["messageId"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Launch, 10 page views, 100 track calls 300 ms apart, hide (the scripted session).
pub fn scripted_session(config: Config) -> Sim {
    let mut sim = Sim::new(config);
    sim.call(|c, now| {
        c.app_launch(
            now,
            &LaunchOptions {
                path: Some("pages/index/index".into()),
                scene: Some(1047),
                ..LaunchOptions::default()
            },
        );
        c.app_show(now, &LaunchOptions::default());
    });
    for p in 0..10 {
        if p > 0 {
            sim.call(|c, now| c.page_hide(now));
        }
        let view = PageView {
            path: format!("pages/p{p}/p{p}"),
            query: query(&[("id", p.to_string())]),
            title: None,
        };
        sim.call(|c, now| c.page_show(now, &view));
        for i in 0..10 {
            sim.advance(300.0);
            sim.call(|c, now| {
                c.track(now, "view_item", props_of(&format!("sku-{}", p * 10 + i)));
            });
        }
    }
    sim.call(|c, now| {
        c.page_hide(now);
        c.app_hide(now);
    });
    sim.advance(60_000.0);
    sim
}

fn query(pairs: &[(&str, String)]) -> Obj {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Json::Str(v.clone())))
        .collect()
}

fn props_of(item: &str) -> Obj {
    let mut m = Obj::new();
    m.insert("item_id".into(), item.into());
    m.insert("price".into(), Json::Num("19.9".into()));
    m
}
