//! The SDK core: a sans-IO state machine (in the style of quinn-proto and rustls).
//!
//! [`Core`] does no I/O and owns no clock or randomness. Every input is a method call that
//! carries the host time (`now`, ms since the epoch); random bytes come from the host at start
//! ([`Init::entropy`]); stored entries come from the host at start ([`Init::stored`]); request
//! outcomes come back through [`Core::sent`]. After any call the host drains
//! [`Core::poll_effects`] and executes them in order ([`Effect`]: persist, remove, send,
//! wake-at, log). Every rule is therefore testable natively with a fake host — see `tests.rs`.
//!
//! Where each rule lives:
//! - [`config`]: every knob and its default.
//! - [`ids`]: 128-bit random ids from host entropy; [`sha256`]: hashing.
//! - [`state`]: identity, super properties, session, first day, drop counters (persisted).
//! - [`channel`]: UTM from the query / `query.scene` / QR `q`, the share chain.
//! - [`autotrack`]: page durations and referrer, click dataset allow-list, exposure rules.
//! - [`consent`]: pending buffer, grant, deny.
//! - [`redact`]: per-property hashing / dropping before anything is stored.
//! - [`queue`]: the write-ahead chunked queue; [`scheduler`]: the one upload scheduler.
//! - [`gzip`]: the request body encoding.
//! - this module: building messages (context, sampling, validation) and wiring the above.

pub mod autotrack;
pub mod channel;
pub mod config;
pub mod consent;
pub mod deflate;
pub mod effects;
pub mod gzip;
pub mod ids;
pub mod inputs;
pub mod json;
pub mod json_text;
pub mod json_write;
pub mod jv;
pub mod queue;
pub mod redact;
pub mod scheduler;
pub mod sha256;
pub mod sim;
pub mod state;
pub mod text;

#[cfg(test)]
mod tests;

use maidian_protocol::message::{Library, MiniProgram, Network, Page, reserved};
use maidian_protocol::time::format_rfc3339_millis;
use maidian_protocol::validate::{check_event_name, is_valid_identity};
use maidian_protocol::{Context, Limits, MessageType};

use jv::{Json, Obj};

pub use config::{Config, ConfigError};
pub use consent::Consent;
pub use effects::{Effect, Level};
pub use inputs::{ExposureEntry, LaunchOptions, PageView, ShareInput, Tap};

use autotrack::{ExposureRule, Exposures, ShownPage, filter_dataset};
use consent::{PendingBuffer, PendingEvent};
use ids::Ids;
use queue::Queue;
use scheduler::{Policy, Scheduler, Verdict};
use state::{Counters, State, local_day};

/// Request header carrying the device's anonymous id as a load-balancer routing key; also sent
/// as `?device=` when the id is URL-safe (it is for the SDK's own UUIDs).
pub const DEVICE_HEADER: &str = "X-Maidian-Device";

/// What the host hands over at start.
#[derive(Debug, Clone, Default)]
pub struct Init {
    /// Host time (ms since the epoch).
    pub now: f64,
    /// At least 16 (better 32) bytes from the host's cryptographic random source.
    pub entropy: Vec<u8>,
    /// Every stored entry whose key starts with the configured prefix.
    pub stored: Vec<(String, String)>,
}

/// Why the core could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// Fewer than [`ids::MIN_SEED_BYTES`] random bytes.
    NotEnoughEntropy,
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Config(e) => write!(f, "invalid config: {e}"),
            Self::NotEnoughEntropy => f.write_str("at least 16 random bytes are required"),
        }
    }
}

/// Counters for tests, benchmarks and the host's own metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events appended to the queue.
    pub events_queued: u64,
    /// Events acknowledged with a 2xx.
    pub events_delivered: u64,
    /// Requests handed to the host.
    pub requests: u64,
    /// Request body bytes handed to the host.
    pub wire_bytes: u64,
    /// Bytes of storage values written (queue chunks, state, consent).
    pub storage_bytes_written: u64,
    /// Bytes of event JSON acknowledged with a 2xx.
    pub delivered_event_bytes: u64,
}

/// The SDK core. See the module documentation.
pub struct Core {
    cfg: Config,
    limits: Limits,
    rule: ExposureRule,
    ids: Ids,
    effects: Vec<Effect>,
    /// Latest host time seen (event timestamps).
    ts: i64,
    /// Monotonic time (durations, scheduling): never moves backwards.
    mono: i64,

    consent: Consent,
    pending: PendingBuffer,
    state: State,
    first_visit: bool,
    run_props: Obj,

    static_ctx: Context,
    /// `context.screen.density` as the host's number literal (`json::density`).
    density: Option<Box<str>>,
    scene: Option<u32>,
    launch_path: Option<String>,
    campaign: Option<maidian_protocol::message::Campaign>,
    share: Option<maidian_protocol::message::Share>,
    network: Option<String>,
    foreground_since: Option<i64>,
    hidden: bool,
    page: Option<ShownPage>,
    last_path: Option<String>,
    exposures: Exposures,
    /// The last event's `context` as JSON text and the inputs it was built from.
    context_cache: Option<(ContextKey, String)>,

    /// Events built during the current call, persisted together as one chunk.
    group: Vec<String>,
    queue: Queue,
    /// The request body compressor (its match tables are kept between batches).
    deflater: deflate::Deflater,
    sched: Scheduler,
    retry_after_until: Option<i64>,
    wake: Option<i64>,
    other_keys: Vec<String>,
    url: String,
    headers: Obj,
    stats: Stats,
}

fn to_ms(now: f64) -> i64 {
    if now.is_finite() { now as i64 } else { 0 }
}

/// What an event's `context` depends on besides the static context (fixed at start) and the
/// fields whose setters drop the cache (scene, launch path, page, campaign, share, network:
/// [`Core::context_changed`]): equal keys give equal context text, so consecutive events reuse
/// it (see [`Core::cached_context`]; serializing the ≈ 700-byte context for every event was the
/// largest part of building one). Comparing every input instead was ≈ 1 KB of wasm.
#[derive(Debug, PartialEq)]
struct ContextKey {
    session_id: Option<String>,
    first_day: bool,
}

impl Core {
    /// Starts the core: validates `config`, seeds the id generator, reloads stored state and
    /// queue. Drain [`Core::poll_effects`] afterwards (reloaded events are sent right away).
    pub fn new(mut config: Config, init: Init) -> Result<Self, InitError> {
        config.validate().map_err(InitError::Config)?;
        let ids = Ids::new(&init.entropy).ok_or(InitError::NotEnoughEntropy)?;
        let now = to_ms(init.now);
        // Taken, not cloned: nothing reads `cfg.context` later, and `Context`'s derived `Clone`
        // is ≈ 1.2 KB of wasm.
        let mut static_ctx = std::mem::take(&mut config.context);
        static_ctx.library = Some(Library {
            name: config.library_name.clone(),
            version: crate::VERSION.to_owned(),
        });
        let mp = static_ctx
            .mini_program
            .get_or_insert_with(MiniProgram::default);
        if mp.platform.is_empty() {
            mp.platform = "wechat".into();
        }
        // Dynamic fields are the core's.
        static_ctx.page = None;
        static_ctx.campaign = None;
        static_ctx.share = None;
        static_ctx.session_id = None;
        static_ctx.first_day = None;
        let network = static_ctx.network.take().map(|n| n.kind);
        let policy = Policy {
            flush_at: config.flush_at as usize,
            flush_interval_ms: i64::from(config.flush_interval_ms),
            max_batch_events: config.max_batch_events as usize,
            retry_base_ms: i64::from(config.retry_base_ms),
            retry_max_ms: i64::from(config.retry_max_ms),
            max_retry_after_ms: i64::from(config.max_retry_after_ms),
            request_timeout_ms: i64::from(config.request_timeout_ms),
        };
        let rule = ExposureRule {
            ratio: config.exposure_ratio,
            dwell_ms: i64::from(config.exposure_dwell_ms),
            frequency: config.exposure_frequency,
            max_keys: config.max_exposure_keys as usize,
        };
        let mut headers = Obj::new();
        headers.insert("Content-Type".into(), "application/json".into());
        if config.gzip {
            headers.insert("Content-Encoding".into(), "gzip".into());
        }
        headers.insert("X-Write-Key".into(), config.write_key.clone().into());
        let url = text::cat(&[config.endpoint.trim_end_matches('/'), "/v1/batch"]);
        let mut core = Self {
            limits: Limits::default(),
            rule,
            ids,
            effects: Vec::new(),
            ts: now,
            mono: now,
            consent: if config.consent_required {
                Consent::Pending
            } else {
                Consent::Granted
            },
            pending: PendingBuffer::default(),
            state: State::default(),
            first_visit: false,
            run_props: Obj::new(),
            static_ctx,
            density: config.screen_density.take(),
            scene: None,
            launch_path: None,
            campaign: None,
            share: None,
            network,
            foreground_since: None,
            hidden: false,
            page: None,
            last_path: None,
            exposures: Exposures::default(),
            context_cache: None,
            group: Vec::new(),
            queue: Queue::new(&config.storage_prefix),
            deflater: deflate::Deflater::new(),
            sched: Scheduler::new(policy),
            retry_after_until: None,
            wake: None,
            other_keys: Vec::new(),
            url,
            headers,
            stats: Stats::default(),
            cfg: config,
        };
        core.load(init.stored);
        core.finish();
        Ok(core)
    }

    fn key(&self, name: &str) -> String {
        text::cat(&[&self.cfg.storage_prefix, name])
    }

    fn load(&mut self, stored: Vec<(String, String)>) {
        let state_key = self.key("state");
        let consent_key = self.key("consent");
        let mut chunks = Vec::new();
        let mut state = None;
        for (k, v) in stored {
            if k == consent_key {
                if let Some(c) = Consent::parse(&v) {
                    self.consent = c;
                }
            } else if k == state_key {
                state = State::parse(&v);
                if state.is_none() {
                    self.other_keys.push(k);
                }
            } else if let Some(seq) = self.queue.seq_of(&k) {
                chunks.push((seq, v));
            } else if k.starts_with(&self.cfg.storage_prefix) {
                self.other_keys.push(k);
            }
        }
        if self.consent == Consent::Denied {
            // Nothing of ours may stay; normally nothing is there.
            let mut keys: Vec<String> = chunks.iter().map(|(s, _)| self.queue.key(*s)).collect();
            if state.is_some() {
                keys.push(state_key);
            }
            keys.append(&mut self.other_keys);
            self.effects
                .extend(keys.into_iter().map(|key| Effect::Remove { key }));
            return;
        }
        for key in self.queue.load(chunks) {
            self.effects.push(Effect::Remove { key });
        }
        match state {
            Some(s) => self.state = s,
            None => self.first_visit = true,
        }
        if self.consent == Consent::Granted {
            self.ensure_identity();
        }
        if self.queue.queued() > 0 {
            self.sched.request_flush();
        }
    }

    /// Creates the anonymous id (and first day) if missing and persists them. Only called
    /// with consent granted.
    fn ensure_identity(&mut self) {
        if self.state.anonymous_id.is_none() {
            self.state.anonymous_id = Some(self.ids.uuid());
            self.state
                .first_day
                .get_or_insert(local_day(self.ts, self.cfg.timezone_offset_min));
            self.save_state();
        }
    }

    fn persist(&mut self, key: String, value: String) {
        self.stats.storage_bytes_written += value.len() as u64;
        self.effects.push(Effect::Persist { key, value });
    }

    fn save_state(&mut self) {
        if self.consent != Consent::Granted {
            return;
        }
        let value = self.state.to_json();
        let key = self.key("state");
        self.persist(key, value);
    }

    fn log(&mut self, level: Level, message: String) {
        if level == Level::Warn || self.cfg.debug {
            self.effects.push(Effect::Log { level, message });
        }
    }

    /// A debug-mode log line; the text is only built in debug mode.
    fn debug(&mut self, message: impl FnOnce() -> String) {
        if self.cfg.debug {
            self.effects.push(Effect::Log {
                level: Level::Debug,
                message: message(),
            });
        }
    }

    fn clock(&mut self, now: f64) {
        let now = to_ms(now);
        self.ts = now;
        self.mono = self.mono.max(now);
    }

    // ---------------------------------------------------------------- building messages

    /// The context of an event at `ts`: the static part with this moment's dynamic fields,
    /// set in place (every dynamic field is assigned, so nothing of an earlier call stays).
    fn context(&mut self, ts: i64) -> &Context {
        let first_day = self.state.first_day == Some(local_day(ts, self.cfg.timezone_offset_min));
        let c = &mut self.static_ctx;
        if let Some(mp) = &mut c.mini_program {
            mp.scene = self.scene;
            mp.launch_path.clone_from(&self.launch_path);
        }
        c.page = self.page.as_ref().map(|p| Page {
            path: Some(p.path.clone()),
            query: p.query.clone(),
            referrer: p.referrer.clone(),
            title: p.title.clone(),
            url: None,
        });
        c.campaign.clone_from(&self.campaign);
        c.share.clone_from(&self.share);
        c.network = self.network.clone().map(|kind| Network { kind });
        c.session_id.clone_from(&self.state.session.id);
        c.first_day = first_day.then_some(true);
        c
    }

    /// The JSON text of `self.context(ts)` (empty when the context is empty), rebuilt only when
    /// one of its inputs changed since the last event.
    fn cached_context(&mut self, ts: i64) -> &str {
        let first_day = self.state.first_day == Some(local_day(ts, self.cfg.timezone_offset_min));
        let fresh = self.context_cache.as_ref().is_some_and(|(k, _)| {
            k.session_id == self.state.session.id && k.first_day == first_day
        });
        if !fresh {
            let key = ContextKey {
                session_id: self.state.session.id.clone(),
                first_day,
            };
            let density = self.density.clone();
            let text = json_write::context_text(self.context(ts), density.as_deref());
            self.context_cache = Some((key, text));
        }
        // Every test checks the cache against a fresh build on every event.
        #[cfg(test)]
        {
            let density = self.density.clone();
            let rebuilt = json_write::context_text(self.context(ts), density.as_deref());
            let cached = self.context_cache.as_ref().map_or("", |(_, t)| t.as_str());
            assert_eq!(cached, rebuilt);
        }
        self.context_cache.as_ref().map_or("", |(_, t)| t.as_str())
    }

    /// Builds one message and routes it: pending buffer, or the current chunk group.
    fn record(&mut self, ts: i64, kind: MessageType, name: &str, props: Obj) {
        self.record_full(ts, kind, name, props, Obj::new(), None);
    }

    fn record_full(
        &mut self,
        ts: i64,
        kind: MessageType,
        name: &str,
        props: Obj,
        traits: Obj,
        previous_id: Option<String>,
    ) {
        if self.consent == Consent::Denied {
            return;
        }
        let is_event = matches!(kind, MessageType::Track | MessageType::Page);
        if is_event && name != reserved::SDK_DIAGNOSTIC {
            let rate = self.cfg.sample_rate(name);
            if rate < 1.0 && self.ids.unit() >= rate {
                self.state.dropped.sampled_out += 1;
                return;
            }
        }
        if self
            .state
            .session
            .touch(ts, i64::from(self.cfg.session_timeout_ms), &mut self.ids)
        {
            self.exposures.new_session();
        }
        // Super properties, then run properties, then the call's own (later keys win). Without
        // super or run properties the call's map is used as it is (rebuilding it cost ≈ 2k
        // instructions per event).
        let mut properties = if !is_event {
            Obj::new()
        } else if self.state.super_props.is_empty() && self.run_props.is_empty() {
            props
        } else {
            let mut properties = self.state.super_props.clone();
            properties.extend(self.run_props.clone());
            properties.extend(props);
            properties
        };
        let mut traits = traits;
        redact::apply(&self.cfg.redact, &self.cfg.hash_salt, &mut properties);
        redact::apply(&self.cfg.redact, &self.cfg.hash_salt, &mut traits);
        let msg = json_write::Event {
            message_id: self.ids.uuid(),
            kind,
            name: matches!(kind, MessageType::Track | MessageType::Page).then(|| name.to_owned()),
            anonymous_id: self.state.anonymous_id.clone(),
            user_id: self.state.user_id.clone(),
            previous_id,
            timestamp: format_rfc3339_millis(ts),
            // The context is written from its cached text, here and (kept with the event) at
            // grant for pending events.
            properties,
            traits,
        };
        if self.consent == Consent::Pending {
            let max = self.cfg.max_pending_events as usize;
            let context = self.cached_context(ts).to_owned();
            let event = PendingEvent {
                message: msg,
                context,
            };
            self.state.dropped.pending_overflow += self.pending.push(event, max);
            return;
        }
        let json = json_write::event(&msg, self.cached_context(ts));
        self.enqueue_json(json);
    }

    fn enqueue_json(&mut self, json: String) {
        if json.len() > self.limits.max_event_bytes {
            self.state.dropped.invalid += 1;
            self.log(
                Level::Warn,
                text::cat(&[
                    "event dropped: ",
                    &text::dec(json.len() as u64),
                    " bytes, limit ",
                    &text::dec(self.limits.max_event_bytes as u64),
                ]),
            );
            return;
        }
        if self.cfg.debug {
            self.debug_validate(&json);
        }
        self.group.push(json);
    }

    #[cfg(feature = "debug-validate")]
    fn debug_validate(&mut self, json: &str) {
        let ck = maidian_protocol::Checker {
            limits: &self.limits,
            received_at: self.ts,
            sent_at: None,
            implied_type: None,
        };
        let msg = match maidian_protocol::validate_event(json, &ck) {
            Ok(_) => format!("valid: {json}"),
            Err(r) => format!("invalid ({}): {} — {json}", r.reason, r.message),
        };
        let level = if msg.starts_with("valid") {
            Level::Debug
        } else {
            Level::Warn
        };
        self.log(level, msg);
    }

    #[cfg(not(feature = "debug-validate"))]
    fn debug_validate(&mut self, json: &str) {
        self.log(Level::Debug, text::cat(&["event: ", json]));
    }

    /// Ends every input: persists this call's events as one chunk, enforces the queue bounds,
    /// runs the scheduler and announces the next wake-up.
    fn finish(&mut self) {
        if !self.group.is_empty() {
            self.stats.events_queued += self.group.len() as u64;
            let max_chunk = self.cfg.max_chunk_bytes as usize;
            // Drained, not taken: the group keeps its allocation for the next call.
            let persist = self
                .queue
                .append(self.mono, self.group.drain(..), max_chunk);
            for (key, value) in persist {
                self.persist(key, value);
            }
            let (dropped, keys) = self.queue.enforce(
                self.cfg.max_queue_events as usize,
                self.cfg.max_queue_bytes as usize,
            );
            if dropped > 0 {
                self.state.dropped.queue_overflow += dropped as u64;
            }
            self.effects
                .extend(keys.into_iter().map(|key| Effect::Remove { key }));
        }
        self.pump();
        let page_wake = self
            .page
            .as_ref()
            .and_then(|_| self.exposures.next_wake(&self.rule));
        let send_wake = if self.consent == Consent::Granted {
            self.sched
                .next_wake(self.queue.queued(), self.queue.oldest_queued_at())
        } else {
            None
        };
        let wake = match (page_wake, send_wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if wake != self.wake {
            // `at: None` cancels the pending wake-up (nothing is due), so a Node host can exit.
            self.effects.push(Effect::WakeAt { at: wake });
        }
        self.wake = wake;
    }

    fn pump(&mut self) {
        if self.consent != Consent::Granted {
            return;
        }
        if self.sched.timed_out(self.mono) {
            if let Some(f) = self.sched.in_flight() {
                self.debug(|| text::cat(&["batch ", &text::dec(f.batch_id.into()), " timed out"]));
                self.apply_outcome(f.batch_id, 0, None);
            }
        }
        let now = self.mono;
        if !self
            .sched
            .due(now, self.queue.queued(), self.queue.oldest_queued_at())
        {
            return;
        }
        let sent_at = format_rfc3339_millis(self.ts);
        let Some(taken) = self.queue.take(
            self.sched.batch_limit(),
            self.cfg.max_batch_bytes as usize,
            &sent_at,
        ) else {
            return;
        };
        let body = if self.cfg.gzip {
            gzip::gzip_with(
                &mut self.deflater,
                taken.body.as_bytes(),
                self.cfg.gzip_level,
            )
        } else {
            taken.body.into_bytes()
        };
        let batch_id = self.sched.start(now, taken.events);
        self.stats.requests += 1;
        self.stats.wire_bytes += body.len() as u64;
        // The device id rides along as a load-balancer routing key (header, and query for
        // proxies that hash on it), so one device's retries reach the same collector and that
        // collector's dedup holds. See examples/deploy/nginx.conf.
        let mut url = self.url.clone();
        let mut headers = self.headers.clone();
        if let Some(device) = self.state.anonymous_id.as_deref() {
            headers.insert(DEVICE_HEADER.into(), device.into());
            if device
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                url.push_str("?device=");
                url.push_str(device);
            }
        }
        self.effects.push(Effect::Send {
            batch_id,
            url,
            body,
            headers,
            events: taken.events as u32,
        });
    }

    fn apply_outcome(&mut self, batch_id: u32, status: u16, retry_after_ms: Option<i64>) {
        let now = self.mono;
        let unit = self.ids.unit();
        let in_flight = self.sched.in_flight();
        let Some(verdict) = self
            .sched
            .outcome(now, batch_id, status, retry_after_ms, unit)
        else {
            self.debug(|| text::cat(&["outcome for unknown batch ", &text::dec(batch_id.into())]));
            return;
        };
        let n = in_flight.map_or(0, |f| f.events) as u64;
        match verdict {
            Verdict::Delivered => {
                let (keys, bytes) = self.queue.ack();
                self.stats.events_delivered += n;
                self.stats.delivered_event_bytes += bytes as u64;
                self.effects
                    .extend(keys.into_iter().map(|key| Effect::Remove { key }));
                // Storage was just freed: write again what the host refused before.
                for (key, value) in self.queue.take_unsaved() {
                    self.persist(key, value);
                }
                self.retry_after_until = None;
                if !self.state.dropped.is_zero() {
                    let props = self.state.dropped.to_properties();
                    self.state.dropped = Counters::default();
                    let ts = self.ts;
                    self.record(ts, MessageType::Track, reserved::SDK_DIAGNOSTIC, props);
                    self.save_state();
                }
            }
            Verdict::Dropped => {
                let (keys, _) = self.queue.ack();
                self.state.dropped.rejected += n;
                self.effects
                    .extend(keys.into_iter().map(|key| Effect::Remove { key }));
                self.log(
                    Level::Warn,
                    text::cat(&[
                        "collector refused ",
                        &text::dec(n),
                        " events for good (HTTP ",
                        &text::dec(status.into()),
                        ")",
                    ]),
                );
            }
            Verdict::Retry => {
                self.queue.release();
                if let Some(ra) = retry_after_ms {
                    self.retry_after_until = Some(now + ra);
                }
                let wait = self.sched.not_before().saturating_sub(now).max(0);
                self.debug(|| {
                    text::cat(&[
                        "batch ",
                        &text::dec(batch_id.into()),
                        ": HTTP ",
                        &text::dec(status.into()),
                        ", retry in ",
                        &text::dec(wait.unsigned_abs()),
                        " ms",
                    ])
                });
            }
        }
    }

    // ---------------------------------------------------------------- public inputs

    /// Drains the effects produced so far, in order.
    pub fn poll_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The host could not write `key` (storage quota, a value over the per-key limit): a
    /// `persist` effect failed. Queue chunks stay in memory and are still sent (a flush is
    /// requested, as the backoff gate allows, since they are lost if the app is killed); they
    /// are written again after the next delivery frees storage. Every failure is counted in
    /// the `$sdk_diagnostic` report (`persist_failed`).
    pub fn persist_failed(&mut self, now: f64, key: &str) {
        self.clock(now);
        self.state.dropped.persist_failed += 1;
        if let Some(bytes) = self.queue.mark_unsaved(key) {
            self.stats.storage_bytes_written = self
                .stats
                .storage_bytes_written
                .saturating_sub(bytes as u64);
            if self.consent == Consent::Granted {
                self.sched.request_flush();
            }
        }
        self.log(Level::Warn, text::cat(&["storage refused `", key, "`"]));
        self.finish();
    }

    /// A code-tracked event. `$`-prefixed names are reserved for the SDK and refused.
    pub fn track(&mut self, now: f64, name: &str, props: Obj) {
        self.clock(now);
        let bad = if name.starts_with('$') {
            Some("names starting with `$` are reserved")
        } else {
            check_event_name(name, self.limits.max_event_name_bytes)
                .err()
                .map(|_| "must be 1..=255 bytes without control characters")
        };
        if let Some(why) = bad {
            self.state.dropped.invalid += 1;
            self.log(
                Level::Warn,
                text::cat(&["track(\"", name, "\") refused: ", why]),
            );
        } else {
            self.record(self.ts, MessageType::Track, name, props);
        }
        self.finish();
    }

    /// A code-tracked page view (the automatic one comes from [`Core::page_show`]).
    pub fn page(&mut self, now: f64, name: &str, props: Obj) {
        self.clock(now);
        if name.is_empty() || name.len() > self.limits.max_event_name_bytes {
            self.state.dropped.invalid += 1;
            self.log(Level::Warn, "page name must be 1..=255 bytes".into());
        } else {
            self.record(self.ts, MessageType::Page, name, props);
        }
        self.finish();
    }

    /// Sets the user id (when given) and sends an `identify` with `traits`.
    pub fn identify(&mut self, now: f64, user_id: Option<&str>, traits: Obj) {
        self.clock(now);
        if let Some(uid) = user_id {
            if !is_valid_identity(uid, self.limits.max_identity_bytes) {
                self.log(Level::Warn, "identify: invalid userId".into());
                self.finish();
                return;
            }
            self.state.user_id = Some(uid.to_owned());
            self.save_state();
        }
        self.record_full(self.ts, MessageType::Identify, "", Obj::new(), traits, None);
        self.finish();
    }

    /// Merges `previous_id` (default: the current user id, else the anonymous id) into
    /// `user_id`, which becomes the current user id.
    pub fn alias(&mut self, now: f64, user_id: &str, previous_id: Option<&str>) {
        self.clock(now);
        let previous = previous_id
            .map(str::to_owned)
            .or_else(|| self.state.user_id.clone())
            .or_else(|| self.state.anonymous_id.clone());
        if !is_valid_identity(user_id, self.limits.max_identity_bytes) {
            self.log(Level::Warn, "alias: invalid userId".into());
        } else if let Some(previous) = previous {
            self.state.user_id = Some(user_id.to_owned());
            self.save_state();
            self.record_full(
                self.ts,
                MessageType::Alias,
                "",
                Obj::new(),
                Obj::new(),
                Some(previous),
            );
        }
        self.finish();
    }

    /// Logout: forgets the user id and super properties, starts a new anonymous id and session.
    pub fn reset(&mut self, now: f64) {
        self.clock(now);
        self.state.user_id = None;
        self.state.super_props.clear();
        self.run_props.clear();
        self.state.session = Default::default();
        self.state.anonymous_id = None;
        if self.consent == Consent::Granted {
            self.ensure_identity();
        }
        self.save_state();
        self.finish();
    }

    /// Persisted super properties, added to every event (event properties win).
    pub fn register(&mut self, props: Obj) {
        let mut props = props;
        redact::apply(&self.cfg.redact, &self.cfg.hash_salt, &mut props);
        self.state.super_props.extend(props);
        self.save_state();
        self.finish();
    }

    /// Removes a persisted super property.
    pub fn unregister(&mut self, key: &str) {
        if self.state.super_props.remove(key).is_some() {
            self.save_state();
        }
        self.finish();
    }

    /// Super properties for this run only (not persisted).
    pub fn register_run(&mut self, props: Obj) {
        let mut props = props;
        redact::apply(&self.cfg.redact, &self.cfg.hash_salt, &mut props);
        self.run_props.extend(props);
    }

    /// The user consented: ids are created, buffered events replayed (original timestamps).
    pub fn grant(&mut self, now: f64) {
        self.clock(now);
        let was = self.consent;
        self.consent = Consent::Granted;
        if was != Consent::Granted || !self.cfg.consent_required {
            let key = self.key("consent");
            self.persist(key, "granted".into());
        }
        self.ensure_identity();
        self.save_state();
        let anon = self.state.anonymous_id.clone();
        for PendingEvent {
            message: mut m,
            context,
        } in self.pending.drain()
        {
            if m.anonymous_id.is_none() {
                m.anonymous_id.clone_from(&anon);
            }
            self.enqueue_json(json_write::event(&m, &context));
        }
        self.finish();
    }

    /// The user refused: buffer dropped, every SDK key purged, tracking stopped.
    pub fn deny(&mut self, now: f64) {
        self.clock(now);
        self.consent = Consent::Denied;
        self.pending.clear();
        self.group.clear();
        let mut keys = self.queue.purge();
        keys.push(self.key("state"));
        keys.append(&mut self.other_keys);
        self.effects
            .extend(keys.into_iter().map(|key| Effect::Remove { key }));
        let key = self.key("consent");
        self.persist(key, "denied".into());
        self.state = State::default();
        self.run_props.clear();
        self.exposures.clear();
        self.sched = Scheduler::new(self.sched_policy());
        self.retry_after_until = None;
        self.wake = None;
        self.finish();
    }

    fn sched_policy(&self) -> Policy {
        Policy {
            flush_at: self.cfg.flush_at as usize,
            flush_interval_ms: i64::from(self.cfg.flush_interval_ms),
            max_batch_events: self.cfg.max_batch_events as usize,
            retry_base_ms: i64::from(self.cfg.retry_base_ms),
            retry_max_ms: i64::from(self.cfg.retry_max_ms),
            max_retry_after_ms: i64::from(self.cfg.max_retry_after_ms),
            request_timeout_ms: i64::from(self.cfg.request_timeout_ms),
        }
    }

    /// Drops the cached context text: call after setting any field it is built from besides
    /// the session id and the first-day flag (which [`ContextKey`] compares).
    fn context_changed(&mut self) {
        self.context_cache = None;
    }

    fn apply_launch_options(&mut self, opts: &LaunchOptions) {
        self.context_changed();
        if opts.scene.is_some() {
            self.scene = opts.scene;
        }
        let pairs = channel::query_pairs(&opts.query);
        if let Some(c) = channel::campaign_from_query(&pairs) {
            self.campaign = Some(c);
        }
        if let Some(s) = channel::share_from_query(&pairs) {
            self.share = Some(s);
        }
    }

    /// `App.onLaunch`: cold start.
    pub fn app_launch(&mut self, now: f64, opts: &LaunchOptions) {
        self.clock(now);
        self.launch_path.clone_from(&opts.path);
        self.context_changed();
        self.apply_launch_options(opts);
        if self.cfg.autotrack.app_launch {
            let mut props = Obj::new();
            if self.first_visit {
                props.insert("first_visit".into(), true.into());
            }
            self.record(self.ts, MessageType::Track, reserved::APP_LAUNCH, props);
        }
        self.finish();
    }

    /// `App.onShow`: to the foreground (also after launch). Resumes uploads.
    pub fn app_show(&mut self, now: f64, opts: &LaunchOptions) {
        self.clock(now);
        self.resume();
        self.apply_launch_options(opts);
        self.foreground_since = Some(self.mono);
        if self.cfg.autotrack.app_show {
            self.record(self.ts, MessageType::Track, reserved::APP_SHOW, Obj::new());
        }
        self.finish();
    }

    /// Back from the background: events left from the last foreground go out now, as the
    /// backoff gate allows. (Events reloaded at start are flushed by `new`; a fresh launch with
    /// an empty queue waits for the normal triggers rather than sending `$app_launch` alone.)
    fn resume(&mut self) {
        if std::mem::take(&mut self.hidden) && self.queue.queued() > 0 {
            self.sched.request_flush();
        }
    }

    /// `App.onHide`: to the background. Everything waiting is flushed (as the gate allows).
    pub fn app_hide(&mut self, now: f64) {
        self.clock(now);
        self.fire_exposures_on_hide();
        if self.cfg.autotrack.app_hide {
            let mut props = Obj::new();
            if let Some(since) = self.foreground_since {
                props.insert("duration_ms".into(), (self.mono - since).into());
            }
            self.record(self.ts, MessageType::Track, reserved::APP_HIDE, props);
        }
        self.foreground_since = None;
        self.hidden = true;
        self.save_state();
        self.sched.request_flush();
        self.finish();
    }

    /// `Page.onShow`.
    pub fn page_show(&mut self, now: f64, view: &PageView) {
        self.clock(now);
        if self.page.is_some() {
            self.leave_page();
        }
        self.exposures.new_page_view();
        let pairs = channel::query_pairs(&view.query);
        self.context_changed();
        self.page = Some(ShownPage {
            path: view.path.clone(),
            query: (!pairs.is_empty()).then(|| channel::encode_query(&pairs)),
            title: view.title.clone(),
            referrer: self.last_path.clone(),
            shown_at: self.mono,
        });
        if self.cfg.autotrack.page_view && !view.path.is_empty() {
            self.record(self.ts, MessageType::Page, &view.path, Obj::new());
        }
        self.finish();
    }

    /// `Page.onHide` / `Page.onUnload`.
    pub fn page_hide(&mut self, now: f64) {
        self.clock(now);
        if self.page.is_some() {
            self.leave_page();
        }
        self.finish();
    }

    fn fire_exposures_on_hide(&mut self) {
        let Some(path) = self.page.as_ref().map(|p| p.path.clone()) else {
            return;
        };
        let fired = self.exposures.hidden(self.mono, &path, &self.rule);
        self.record_exposures(fired);
    }

    fn leave_page(&mut self) {
        self.fire_exposures_on_hide();
        let Some(p) = self.page.clone() else { return };
        if self.cfg.autotrack.page_leave {
            let mut props = Obj::new();
            props.insert("duration_ms".into(), (self.mono - p.shown_at).into());
            self.record(self.ts, MessageType::Track, reserved::PAGE_LEAVE, props);
        }
        self.last_path = Some(p.path);
        self.page = None;
        self.context_changed();
    }

    /// A tap / long-press handler was called.
    pub fn tap(&mut self, now: f64, tap: &Tap) {
        self.clock(now);
        if self.cfg.autotrack.click {
            let mut props = Obj::new();
            props.insert(
                "element_type".into(),
                tap.kind.clone().unwrap_or_else(|| "tap".into()).into(),
            );
            if let Some(id) = tap.element_id.as_ref().filter(|s| !s.is_empty()) {
                props.insert("element_id".into(), id.clone().into());
            }
            if let Some(h) = &tap.handler {
                props.insert("handler".into(), h.clone().into());
            }
            filter_dataset(
                &tap.dataset,
                &self.cfg.dataset_allow,
                &self.cfg.dataset_prefix,
                &mut props,
            );
            self.record(self.ts, MessageType::Track, reserved::CLICK, props);
        }
        self.finish();
    }

    /// Intersection-observer entries.
    pub fn exposure(&mut self, now: f64, entries: Vec<ExposureEntry>) {
        self.clock(now);
        if self.cfg.autotrack.exposure && self.consent != Consent::Denied {
            let page = self.page.as_ref().map(|p| p.path.clone());
            let mut fired = Vec::new();
            for e in entries {
                let mut ds = Obj::new();
                filter_dataset(
                    &e.dataset,
                    &self.cfg.dataset_allow,
                    &self.cfg.dataset_prefix,
                    &mut ds,
                );
                fired.extend(self.exposures.observe(
                    self.mono,
                    page.as_deref(),
                    &e.key,
                    e.ratio,
                    ds,
                    &self.rule,
                ));
            }
            self.record_exposures(fired);
            self.due_exposures();
        }
        self.finish();
    }

    fn due_exposures(&mut self) {
        if let Some(path) = self.page.as_ref().map(|p| p.path.clone()) {
            let fired = self.exposures.due(self.mono, &path, &self.rule);
            self.record_exposures(fired);
        }
    }

    fn record_exposures(&mut self, fired: Vec<autotrack::Fired>) {
        for f in fired {
            let mut props = Obj::new();
            props.insert("element_key".into(), f.key.into());
            // Rounded to hundredths and written as such (no float formatter in the wasm).
            let hundredths = (f.ratio * 100.0).round() as i64;
            props.insert("ratio".into(), Json::hundredths(hundredths));
            props.insert("dwell_ms".into(), f.dwell_ms.into());
            for (k, v) in f.dataset {
                props.insert_if_absent(k, v);
            }
            // The event happened when the element became visible.
            let ts = self.ts - (self.mono - f.visible_since);
            self.record(ts, MessageType::Track, reserved::EXPOSURE, props);
        }
    }

    /// The user shared (`onShareAppMessage` / `onShareTimeline`).
    pub fn share(&mut self, now: f64, input: &ShareInput) {
        self.clock(now);
        if self.cfg.autotrack.share {
            let mut props = Obj::new();
            if let Some(m) = &input.method {
                props.insert("method".into(), m.clone().into());
            }
            if let Some(f) = &input.from {
                props.insert("from".into(), f.clone().into());
            }
            if let Some(p) = &input.path {
                props.insert("path".into(), p.clone().into());
            }
            props.insert("share_depth".into(), self.outgoing_depth().into());
            self.record(self.ts, MessageType::Track, reserved::SHARE, props);
        }
        self.finish();
    }

    fn outgoing_depth(&self) -> u32 {
        self.share
            .as_ref()
            .and_then(|s| s.depth)
            .unwrap_or(0)
            .saturating_add(1)
    }

    /// The path to put in a share payload: with the share chain when `shareAugment` is on and
    /// consent is granted, otherwise `path` unchanged.
    pub fn share_path(&self, path: &str, method: Option<&str>) -> String {
        match (&self.state.anonymous_id, self.consent) {
            (Some(anon), Consent::Granted) if self.cfg.share_augment => {
                channel::augment_share_path(path, anon, self.outgoing_depth(), method)
            }
            _ => path.to_owned(),
        }
    }

    /// The host's network type changed (`wifi`, `4g`, `none`, ...). Coming back from `none`
    /// clears the retry backoff (a `Retry-After` still holds).
    pub fn set_network(&mut self, now: f64, kind: &str) {
        self.clock(now);
        let was_offline = self.network.as_deref() == Some("none");
        self.network = Some(kind.to_owned());
        self.context_changed();
        if was_offline && kind != "none" {
            self.sched
                .network_regained(self.mono, self.retry_after_until);
        }
        self.finish();
    }

    /// Send everything waiting as soon as the backoff gate allows.
    pub fn flush(&mut self, now: f64) {
        self.clock(now);
        self.sched.request_flush();
        self.finish();
    }

    /// A wake-up requested with [`Effect::WakeAt`] (calling it at other times is harmless).
    pub fn tick(&mut self, now: f64) {
        self.clock(now);
        if self.cfg.autotrack.exposure && self.consent != Consent::Denied {
            self.due_exposures();
        }
        self.finish();
    }

    /// The outcome of a `send`: HTTP `status` (0 when no response arrived) and the
    /// `Retry-After` header in seconds, if any.
    pub fn sent(&mut self, now: f64, batch_id: u32, status: u16, retry_after_s: Option<f64>) {
        self.clock(now);
        let ra = retry_after_s
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| (s * 1000.0) as i64);
        self.apply_outcome(batch_id, status, ra);
        self.finish();
    }

    /// More randomness from the host (optional; mixed into the generator).
    pub fn add_entropy(&mut self, bytes: &[u8]) {
        self.ids.reseed(bytes);
    }

    // ---------------------------------------------------------------- getters

    /// The consent state.
    pub fn consent(&self) -> Consent {
        self.consent
    }
    /// The anonymous id (None before consent).
    pub fn anonymous_id(&self) -> Option<&str> {
        self.state.anonymous_id.as_deref()
    }
    /// The user id.
    pub fn user_id(&self) -> Option<&str> {
        self.state.user_id.as_deref()
    }
    /// The current session id.
    pub fn session_id(&self) -> Option<&str> {
        self.state.session.id.as_deref()
    }
    /// Events waiting in the pending-consent buffer.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
    /// Events stored and not yet acknowledged.
    pub fn queue_len(&self) -> usize {
        self.queue.live()
    }
    /// Bytes the queue holds in storage.
    pub fn queue_bytes(&self) -> usize {
        self.queue.stored_bytes()
    }
    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }
    /// Unreported drop counters.
    pub fn dropped(&self) -> &Counters {
        &self.state.dropped
    }
    /// The next wake-up announced, if any.
    pub fn next_wake(&self) -> Option<i64> {
        self.wake
    }
}
