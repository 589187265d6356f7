//! Configuration: every knob of the core with its documented default, deserialized from the
//! JS `init(config)` object (camelCase keys) and validated once at start-up.
//!
//! Only `writeKey` and `endpoint` are required. Everything else has a default chosen from the
//! measurements in shared/notes/what-mini-program-sdks-do-today.md (see each field).

use super::jv::Json;
use maidian_protocol::Context;
use maidian_protocol::limits::DEFAULT_MAX_EVENTS_PER_BATCH;

use super::json;

/// How often an element may produce `$exposure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Frequency {
    /// Once per element per page view (default).
    #[default]
    PageView,
    /// Once per element per session.
    Session,
    /// Every time the element becomes visible long enough again.
    Always,
}

/// What to do with a property value before it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactAction {
    /// Remove the key.
    Drop,
    /// Replace the value by the lower-case hex SHA-256 of `hashSalt` ‖ value-as-text.
    Hash,
    /// Keep the last 4 characters, replace the others by `*`.
    Mask,
}

/// One redaction rule: applies to every key of that name in `properties`, `traits` and super
/// properties, at any depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactRule {
    /// The property key (exact match).
    pub key: String,
    /// What to do with its value.
    pub action: RedactAction,
}

/// Which automatic events the core produces from the host's raw events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autotrack {
    /// `$app_launch` (config `appLaunch`; `app` sets the three app events at once).
    pub app_launch: bool,
    /// `$app_show` (config `appShow`).
    pub app_show: bool,
    /// `$app_hide` (config `appHide`).
    pub app_hide: bool,
    /// `page` messages on page show.
    pub page_view: bool,
    /// `$page_leave` on page hide / unload.
    pub page_leave: bool,
    /// `$click` from tap / long-press handler calls.
    pub click: bool,
    /// `$exposure` from intersection entries.
    pub exposure: bool,
    /// `$share`.
    pub share: bool,
}

impl Default for Autotrack {
    fn default() -> Self {
        Self {
            app_launch: true,
            app_show: true,
            app_hide: true,
            page_view: true,
            page_leave: true,
            click: true,
            exposure: true,
            share: true,
        }
    }
}

/// The SDK configuration. The JS object uses the camelCase form of each field name
/// (`writeKey`, `flushAt`, ...); see [`Config::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The project's write key (sent as `X-Write-Key`). Required.
    pub write_key: String,
    /// Collector base URL, e.g. `https://t.example.com`; the core posts to `{endpoint}/v1/batch`.
    /// Required.
    pub endpoint: String,
    /// Prefix of every storage key the SDK writes (and purges on consent denial).
    pub storage_prefix: String,
    /// `context.library.name`.
    pub library_name: String,
    /// Static context the host knows at start (app, device, os, screen, locale, timezone,
    /// miniProgram platform / base library / host version). Dynamic parts (page, campaign,
    /// share, session, network, scene) are filled in by the core.
    pub context: Context,
    /// `context.screen.density` as the host's JSON number literal, written out verbatim (the
    /// protocol's `Screen::density` is an `f64`, which would need a float formatter; it stays
    /// `None` in [`Config::context`]).
    pub screen_density: Option<Box<str>>,
    /// The host's UTC offset in minutes (`-new Date().getTimezoneOffset()`), for the first-day
    /// flag.
    pub timezone_offset_min: i32,

    /// Idle time after which the next event starts a new session. Default 30 min.
    pub session_timeout_ms: u32,

    /// When true, nothing is stored or sent until `grant()`; events wait in memory.
    pub consent_required: bool,
    /// Bound of that memory buffer (oldest dropped first, counted). Default 200.
    pub max_pending_events: u32,

    /// Most events kept on the device. Default 1000 (Sensors keeps 500).
    pub max_queue_events: u32,
    /// Most bytes of events kept on the device (storage is about 10 MB per mini-program, shared
    /// with the app). Default 1 MiB.
    pub max_queue_bytes: u32,
    /// Largest single storage value the queue writes (devices cap a key at about 1 MB).
    /// Default 64 KiB, at most 256 KiB.
    pub max_chunk_bytes: u32,

    /// Send when this many events wait. Default 50: events per request is what makes gzip pay.
    pub flush_at: u32,
    /// Send when the oldest waiting event is this old. Default 10 s.
    pub flush_interval_ms: u32,
    /// Most events per request. Default 100 (collector limit 500).
    pub max_batch_events: u32,
    /// Most uncompressed bytes per request. Default 512 KiB (collector inflated limit 4 MiB).
    pub max_batch_bytes: u32,
    /// First retry delay; doubles per consecutive failure, with jitter. Default 2 s.
    pub retry_base_ms: u32,
    /// Longest retry delay. Default 5 min.
    pub retry_max_ms: u32,
    /// Longest `Retry-After` honoured. Default 1 h.
    pub max_retry_after_ms: u32,
    /// A request with no outcome after this long is treated as failed. Default 60 s.
    pub request_timeout_ms: u32,
    /// gzip request bodies. Default true.
    pub gzip: bool,
    /// DEFLATE level 1-9. Default 6.
    pub gzip_level: u8,

    /// Which automatic events to produce.
    pub autotrack: Autotrack,
    /// `data-*` keys (as the dataset spells them, e.g. `goodsId`) copied into `$click` and
    /// `$exposure` properties. Never free text typed by the user: only what is listed here or
    /// starts with `datasetPrefix` is copied, and only scalar values.
    pub dataset_allow: Vec<String>,
    /// Dataset keys starting with this prefix are copied too (`data-md-pos` → `mdPos`).
    /// Default `md`; empty disables the prefix rule.
    pub dataset_prefix: String,
    /// Visible ratio at or above which an element counts as exposed. Default 0.5.
    pub exposure_ratio: f64,
    /// How long it must stay so. Default 500 ms.
    pub exposure_dwell_ms: u32,
    /// How often one element may produce `$exposure`.
    pub exposure_frequency: Frequency,
    /// Most elements tracked at once (long lists). Default 500.
    pub max_exposure_keys: u32,
    /// Add the share chain (`md_sharer`, `md_depth`, `md_method`) to share paths. Default false:
    /// share payloads are not rewritten unless asked.
    pub share_augment: bool,

    /// Redaction rules applied before anything is stored.
    pub redact: Vec<RedactRule>,
    /// Salt for [`RedactAction::Hash`].
    pub hash_salt: String,
    /// Keep rate per event name in [0, 1] (`"$exposure": 0.1`); `"*"` for every other name.
    pub sampling: Vec<(String, f64)>,
    /// Validate every event with the protocol crate and log reason codes.
    pub debug: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            write_key: String::new(),
            endpoint: String::new(),
            storage_prefix: "md_".into(),
            library_name: "maidian-miniprogram".into(),
            context: Context::default(),
            screen_density: None,
            timezone_offset_min: 0,
            session_timeout_ms: 30 * 60 * 1000,
            consent_required: false,
            max_pending_events: 200,
            max_queue_events: 1000,
            max_queue_bytes: 1 << 20,
            max_chunk_bytes: 64 << 10,
            flush_at: 50,
            flush_interval_ms: 10_000,
            max_batch_events: 100,
            max_batch_bytes: 512 << 10,
            retry_base_ms: 2_000,
            retry_max_ms: 5 * 60 * 1000,
            max_retry_after_ms: 3600 * 1000,
            request_timeout_ms: 60_000,
            gzip: true,
            gzip_level: super::gzip::DEFAULT_LEVEL,
            autotrack: Autotrack::default(),
            dataset_allow: Vec::new(),
            dataset_prefix: "md".into(),
            exposure_ratio: 0.5,
            exposure_dwell_ms: 500,
            exposure_frequency: Frequency::PageView,
            max_exposure_keys: 500,
            share_augment: false,
            redact: Vec::new(),
            hash_salt: String::new(),
            sampling: Vec::new(),
            debug: false,
        }
    }
}

/// A configuration the core refuses, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

fn check(ok: bool, msg: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError(msg.to_owned()))
    }
}

impl Config {
    /// A default configuration for `endpoint` and `write_key`.
    pub fn new(endpoint: &str, write_key: &str) -> Self {
        Self {
            endpoint: endpoint.into(),
            write_key: write_key.into(),
            ..Self::default()
        }
    }

    /// Reads the camelCase JS configuration object; absent or `null` fields keep their
    /// defaults, a field of the wrong type is an error naming it. Call [`Config::validate`]
    /// (done by `Core::new`) for the value ranges.
    pub fn from_json(v: &Json) -> Result<Self, ConfigError> {
        let m = match v {
            Json::Obj(m) => m,
            Json::Null => return Ok(Self::default()),
            _ => return Err(ConfigError("config must be an object".into())),
        };
        let mut c = Self::default();
        let bad = |k: &str| ConfigError(super::text::cat(&["config `", k, "` has the wrong type"]));
        let text = |k: &str, out: &mut String| -> Result<(), ConfigError> {
            match json::field(m, k) {
                None => Ok(()),
                Some(Json::Str(s)) => {
                    s.clone_into(out);
                    Ok(())
                }
                Some(_) => Err(bad(k)),
            }
        };
        text("writeKey", &mut c.write_key)?;
        text("endpoint", &mut c.endpoint)?;
        text("storagePrefix", &mut c.storage_prefix)?;
        text("libraryName", &mut c.library_name)?;
        text("datasetPrefix", &mut c.dataset_prefix)?;
        text("hashSalt", &mut c.hash_salt)?;
        if let Some(v) = json::field(m, "context") {
            if v.as_object().is_none() {
                return Err(bad("context"));
            }
            c.context = json::context(v);
            c.screen_density = json::density(v);
        }
        if let Some(v) = json::field(m, "timezoneOffsetMin") {
            let n = v.as_i64().ok_or_else(|| bad("timezoneOffsetMin"))?;
            c.timezone_offset_min = n.clamp(-24 * 60, 24 * 60) as i32;
        }
        for (k, out) in [
            ("sessionTimeoutMs", &mut c.session_timeout_ms),
            ("maxPendingEvents", &mut c.max_pending_events),
            ("maxQueueEvents", &mut c.max_queue_events),
            ("maxQueueBytes", &mut c.max_queue_bytes),
            ("maxChunkBytes", &mut c.max_chunk_bytes),
            ("flushAt", &mut c.flush_at),
            ("flushIntervalMs", &mut c.flush_interval_ms),
            ("maxBatchEvents", &mut c.max_batch_events),
            ("maxBatchBytes", &mut c.max_batch_bytes),
            ("retryBaseMs", &mut c.retry_base_ms),
            ("retryMaxMs", &mut c.retry_max_ms),
            ("maxRetryAfterMs", &mut c.max_retry_after_ms),
            ("requestTimeoutMs", &mut c.request_timeout_ms),
            ("exposureDwellMs", &mut c.exposure_dwell_ms),
            ("maxExposureKeys", &mut c.max_exposure_keys),
        ] {
            if let Some(v) = json::field(m, k) {
                *out = v
                    .as_u64()
                    .and_then(|x| u32::try_from(x).ok())
                    .ok_or_else(|| bad(k))?;
            }
        }
        if let Some(v) = json::field(m, "gzipLevel") {
            c.gzip_level = v
                .as_u64()
                .and_then(|x| u8::try_from(x).ok())
                .ok_or_else(|| bad("gzipLevel"))?;
        }
        for (k, out) in [
            ("consentRequired", &mut c.consent_required),
            ("gzip", &mut c.gzip),
            ("shareAugment", &mut c.share_augment),
            ("debug", &mut c.debug),
        ] {
            if let Some(v) = json::field(m, k) {
                *out = v.as_bool().ok_or_else(|| bad(k))?;
            }
        }
        if let Some(v) = json::field(m, "exposureRatio") {
            c.exposure_ratio = v.as_f64().ok_or_else(|| bad("exposureRatio"))?;
        }
        if let Some(v) = json::field(m, "exposureFrequency") {
            c.exposure_frequency = match v.as_str() {
                Some("page_view") => Frequency::PageView,
                Some("session") => Frequency::Session,
                Some("always") => Frequency::Always,
                _ => return Err(bad("exposureFrequency (page_view | session | always)")),
            };
        }
        if let Some(v) = json::field(m, "autotrack") {
            let a = v.as_object().ok_or_else(|| bad("autotrack"))?;
            let flag = |k: &str, d: bool| json::boolean(a, k).unwrap_or(d);
            let d = Autotrack::default();
            let app = flag("app", true);
            c.autotrack = Autotrack {
                app_launch: flag("appLaunch", app && d.app_launch),
                app_show: flag("appShow", app && d.app_show),
                app_hide: flag("appHide", app && d.app_hide),
                page_view: flag("pageView", d.page_view),
                page_leave: flag("pageLeave", d.page_leave),
                click: flag("click", d.click),
                exposure: flag("exposure", d.exposure),
                share: flag("share", d.share),
            };
        }
        if let Some(v) = json::field(m, "datasetAllow") {
            let a = v.as_array().ok_or_else(|| bad("datasetAllow"))?;
            c.dataset_allow = a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad("datasetAllow"))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = json::field(m, "redact") {
            let a = v.as_array().ok_or_else(|| bad("redact"))?;
            for r in a {
                let r = r.as_object().ok_or_else(|| bad("redact"))?;
                let action = match json::string(r, "action").as_deref() {
                    Some("drop") => RedactAction::Drop,
                    Some("hash") => RedactAction::Hash,
                    Some("mask") => RedactAction::Mask,
                    _ => return Err(bad("redact[].action (drop | hash | mask)")),
                };
                let key = json::string(r, "key").ok_or_else(|| bad("redact[].key"))?;
                c.redact.push(RedactRule { key, action });
            }
        }
        if let Some(v) = json::field(m, "sampling") {
            let o = v.as_object().ok_or_else(|| bad("sampling"))?;
            for (k, r) in o {
                let r = r.as_f64().ok_or_else(|| bad("sampling"))?;
                c.sampling.push((k.clone(), r));
            }
        }
        Ok(c)
    }

    /// Checks every field; the core calls this in `Core::new`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(!self.write_key.is_empty(), "writeKey is required")?;
        check(
            self.endpoint.starts_with("https://") || self.endpoint.starts_with("http://"),
            "endpoint must be an http(s) URL",
        )?;
        check(
            !self.storage_prefix.is_empty() && self.storage_prefix.len() <= 16,
            "storagePrefix must be 1..=16 bytes",
        )?;
        check(self.flush_at >= 1, "flushAt must be at least 1")?;
        check(
            (1..=DEFAULT_MAX_EVENTS_PER_BATCH as u32).contains(&self.max_batch_events),
            "maxBatchEvents must be 1..=500",
        )?;
        check(
            self.max_batch_bytes >= 1024,
            "maxBatchBytes must be at least 1024",
        )?;
        check(
            (1024..=256 << 10).contains(&self.max_chunk_bytes),
            "maxChunkBytes must be 1 KiB..=256 KiB",
        )?;
        check(
            self.max_queue_events >= 1 && self.max_queue_bytes >= self.max_chunk_bytes,
            "maxQueueEvents must be >= 1 and maxQueueBytes >= maxChunkBytes",
        )?;
        check(
            self.max_queue_bytes <= 5 << 20,
            "maxQueueBytes must be at most 5 MiB (host storage is about 10 MB)",
        )?;
        check(
            self.retry_base_ms >= 100 && self.retry_max_ms >= self.retry_base_ms,
            "retryBaseMs must be >= 100 and retryMaxMs >= retryBaseMs",
        )?;
        check(
            self.request_timeout_ms >= 1000,
            "requestTimeoutMs must be >= 1000",
        )?;
        check(
            (1..=9).contains(&self.gzip_level),
            "gzipLevel must be 1..=9",
        )?;
        check(
            self.exposure_ratio > 0.0 && self.exposure_ratio <= 1.0,
            "exposureRatio must be in (0, 1]",
        )?;
        check(
            self.sampling.iter().all(|(_, r)| (0.0..=1.0).contains(r)),
            "sampling rates must be in [0, 1]",
        )?;
        check(
            self.session_timeout_ms >= 1000,
            "sessionTimeoutMs must be >= 1000",
        )?;
        Ok(())
    }

    /// The keep rate for events named `name`.
    pub fn sample_rate(&self, name: &str) -> f64 {
        let rate = |n: &str| self.sampling.iter().find(|(k, _)| k == n).map(|(_, r)| *r);
        rate(name).or_else(|| rate("*")).unwrap_or(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_once_required_fields_are_set() {
        assert!(Config::default().validate().is_err());
        assert_eq!(
            Config::new("https://t.example.com", "wk").validate(),
            Ok(())
        );
        let bad = Config {
            exposure_ratio: 0.0,
            ..Config::new("https://t", "k")
        };
        assert!(bad.validate().is_err());
        let bad = Config {
            max_chunk_bytes: 2 << 20,
            ..Config::new("https://t", "k")
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn deserializes_camel_case_with_defaults() {
        let v = super::super::json_text::parse(
            r#"{"writeKey":"k","endpoint":"https://t","flushAt":5,
                "exposureFrequency":"session","redact":[{"key":"phone","action":"hash"}],
                "sampling":{"$exposure":0.25},"autotrack":{"click":false},"gzip":null,
                "context":{"app":{"id":"wx123"},"os":{"name":"iOS","version":"17.1"},
                "screen":{"width":390,"height":844,"density":3}}}"#,
        )
        .unwrap();
        let c = Config::from_json(&v).unwrap();
        assert!(c.gzip);
        for bad in [
            r#"{"flushAt":"5"}"#,
            r#"{"flushAt":-1}"#,
            r#"{"gzip":1}"#,
            r#"{"exposureFrequency":"often"}"#,
            r#"{"redact":[{"key":"a","action":"zap"}]}"#,
            r#"[]"#,
        ] {
            let v = super::super::json_text::parse(bad).unwrap();
            assert!(Config::from_json(&v).is_err(), "{bad}");
        }
        assert_eq!(c.flush_at, 5);
        assert_eq!(c.screen_density.as_deref(), Some("3"));
        assert_eq!(c.flush_interval_ms, 10_000);
        assert_eq!(c.exposure_frequency, Frequency::Session);
        assert_eq!(c.redact[0].action, RedactAction::Hash);
        assert!(!c.autotrack.click && c.autotrack.page_view);
        assert_eq!(c.sample_rate("$exposure"), 0.25);
        assert_eq!(c.sample_rate("x"), 1.0);
        assert_eq!(
            c.context.app.as_ref().and_then(|a| a.id.as_deref()),
            Some("wx123")
        );
        assert_eq!(c.validate(), Ok(()));
    }
}
