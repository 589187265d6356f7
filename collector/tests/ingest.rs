//! Integration tests against the real collector binary on a loopback port: status codes,
//! encodings, auth forms, body shapes, limits, partial rejection, dedup (also across a
//! restart and between concurrent requests), rotation by each trigger, gzip + manifests,
//! recovery of a torn `.open` file, injected disk failures, a full queue, graceful shutdown.

// Test helpers outside #[test] fns: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use common::*;

fn h<'a>(pairs: &'a [(&'a str, &'a str)]) -> &'a [(&'a str, &'a str)] {
    pairs
}

#[test]
fn status_codes_and_auth_forms() {
    let dir = TempDir::new("status");
    let s = Server::start(dir.path(), &["--limit", "max_events_per_batch=3"]);
    let b = batch(&ids(1, 1));
    let auth = basic(KEY);

    // Auth forms.
    let r = s.post("/v1/batch", h(&[("authorization", &auth)]), b.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let b2 = batch(&ids(2, 1));
    assert_eq!(
        s.post("/v1/batch", h(&[("x-write-key", KEY)]), b2.as_bytes())
            .status,
        200
    );
    let b3 = batch(&ids(3, 1));
    assert_eq!(
        s.post("/v1/batch?key=demo-key", &[], b3.as_bytes()).status,
        200
    );
    let r = s.post("/v1/batch", &[], b.as_bytes());
    assert_eq!((r.status, r.error().as_str()), (401, "missing_write_key"));
    let r = s.post("/v1/batch", h(&[("x-write-key", "nope")]), b.as_bytes());
    assert_eq!((r.status, r.error().as_str()), (401, "invalid_write_key"));
    let r = s.post(
        "/v1/batch",
        h(&[("authorization", &basic("nope"))]),
        b.as_bytes(),
    );
    assert_eq!(r.status, 401);

    // Routing.
    let r = s.post("/v2/batch", h(&[("x-write-key", KEY)]), b.as_bytes());
    assert_eq!((r.status, r.error().as_str()), (404, "not_found"));
    let r = request(s.addr, "GET", "/v1/batch", &[], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST, OPTIONS")));
    let r = request(s.addr, "OPTIONS", "/v1/batch", &[], b"");
    assert_eq!(r.status, 204);
    assert!(
        r.header("access-control-allow-headers")
            .unwrap()
            .contains("x-write-key")
    );
    assert_eq!(request(s.addr, "GET", "/health", &[], b"").status, 200);

    // Bodies.
    for (body, code) in [
        ("hello", "malformed_body"),
        ("", "empty_batch"),
        (r#"{"batch":[]}"#, "empty_batch"),
        (r#"{"batch":[{}],"sentAt":"yesterday"}"#, "invalid_sent_at"),
    ] {
        let r = s.post_json("/v1/batch", body);
        assert_eq!((r.status, r.error()), (400, code.to_owned()), "{body}");
    }
    let r = s.post(
        "/v1/batch",
        h(&[("x-write-key", KEY), ("content-encoding", "gzip")]),
        b"\x1f\x8b\x08\x00garbage",
    );
    assert_eq!((r.status, r.error().as_str()), (400, "corrupt_encoding"));
    let r = s.post(
        "/v1/batch",
        h(&[("x-write-key", KEY), ("content-type", "image/png")]),
        b.as_bytes(),
    );
    assert_eq!(
        (r.status, r.error().as_str()),
        (415, "unsupported_media_type")
    );
    let r = s.post(
        "/v1/batch",
        h(&[("x-write-key", KEY), ("content-encoding", "br")]),
        b.as_bytes(),
    );
    assert_eq!(
        (r.status, r.error().as_str()),
        (415, "unsupported_encoding")
    );
    let r = s.post("/v1/batch?key=demo-key&compression=zstd", &[], b.as_bytes());
    assert_eq!(r.status, 415);
    let r = s.post_json("/v1/batch", &batch(&ids(4, 4)));
    assert_eq!((r.status, r.error().as_str()), (413, "too_many_events"));

    let m = request(s.addr, "GET", "/metrics", &[], b"").body;
    assert!(m.contains("maidian_events_accepted_total 3"), "{m}");
    assert!(
        m.contains(r#"maidian_requests_refused_total{error="missing_write_key",status="401"} 1"#)
    );
    s.stop();
    assert_eq!(stored_ids(dir.path(), "demo").len(), 3);
}

#[test]
fn encodings() {
    let dir = TempDir::new("enc");
    let s = Server::start(dir.path(), &[]);
    let mut want = Vec::new();
    let mut send =
        |n: u64, path: &str, headers: &[(&str, &str)], enc: &dyn Fn(&[u8]) -> Vec<u8>| {
            let id = ids(n, 2);
            let body = enc(batch(&id).as_bytes());
            let r = s.post(path, headers, &body);
            assert_eq!(r.status, 200, "{path} {headers:?}: {}", r.body);
            assert_eq!(r.accepted(), 2);
            want.extend(id);
        };
    let ident = |b: &[u8]| b.to_vec();
    let zlib = |b: &[u8]| {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    let raw_deflate = |b: &[u8]| {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    send(1, "/v1/batch", &[("x-write-key", KEY)], &ident);
    send(
        2,
        "/v1/batch",
        &[("x-write-key", KEY), ("content-encoding", "identity")],
        &ident,
    );
    send(
        3,
        "/v1/batch",
        &[("x-write-key", KEY), ("content-encoding", "gzip")],
        &gzip,
    );
    send(
        4,
        "/v1/batch",
        &[("x-write-key", KEY), ("content-encoding", "deflate")],
        &zlib,
    );
    send(
        5,
        "/v1/batch",
        &[("x-write-key", KEY), ("content-encoding", "deflate")],
        &raw_deflate,
    );
    send(6, "/v1/batch", &[("x-write-key", KEY)], &gzip); // magic bytes, no header
    send(
        7,
        "/v1/batch?key=demo-key&compression=gzip",
        &[("content-type", "text/plain")],
        &gzip,
    );
    s.stop();
    let mut got = stored_ids(dir.path(), "demo");
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn body_shapes_and_single_message_endpoints() {
    let dir = TempDir::new("shapes");
    let s = Server::start(dir.path(), &[]);
    let i = ids(1, 12);
    let key = h(&[("x-write-key", KEY)]);
    // Batch object with sentAt, array, NDJSON (with a bad line in the middle).
    let r = s.post_json(
        "/v1/batch",
        &format!(
            r#"{{"batch":[{}],"sentAt":"2020-01-01T00:00:00Z"}}"#,
            event(&i[0])
        ),
    );
    assert_eq!(r.accepted(), 1);
    let r = s.post_json("/v1/batch", &format!("[{},{}]", event(&i[1]), event(&i[2])));
    assert_eq!(r.accepted(), 2);
    let nd = format!("{}\n{{oops\n{}\n", event(&i[3]), event(&i[4]));
    let r = s.post(
        "/v1/batch",
        &[
            ("x-write-key", KEY),
            ("content-type", "application/x-ndjson"),
        ],
        nd.as_bytes(),
    );
    assert_eq!((r.status, r.accepted()), (200, 2));
    let rej = &r.json()["rejected"][0];
    assert_eq!(
        (rej["index"].as_u64(), rej["reason"].as_str()),
        (Some(1), Some("invalid_json"))
    );
    // Single-message endpoints imply the type.
    for (n, (path, extra)) in [
        ("/v1/track", r#""event":"view""#),
        ("/v1/page", r#""name":"home""#),
        ("/v1/screen", r#""name":"home""#),
        ("/v1/identify", r#""traits":{"plan":"pro"}"#),
        ("/v1/alias", r#""previousId":"old""#),
        ("/v1/group", r#""groupId":"g1""#),
    ]
    .iter()
    .enumerate()
    {
        let body = format!(
            r#"{{"messageId":"{}","anonymousId":"a",{extra}}}"#,
            i[5 + n]
        );
        let r = s.post(path, key, body.as_bytes());
        assert_eq!((r.status, r.accepted()), (200, 1), "{path}: {}", r.body);
    }
    // A message whose type contradicts the endpoint is rejected.
    let body = format!(
        r#"{{"messageId":"{}","type":"page","anonymousId":"a"}}"#,
        i[11]
    );
    let r = s.post("/v1/track", key, body.as_bytes());
    assert_eq!(r.json()["rejected"][0]["reason"], "invalid_type");
    s.stop();
    let lines = stored_lines(dir.path(), "demo", false);
    assert_eq!(lines.len(), 11);
    let by_id: HashMap<&str, &serde_json::Value> = lines
        .iter()
        .map(|l| (l["messageId"].as_str().unwrap(), l))
        .collect();
    assert_eq!(
        by_id[i[5].as_str()]["type"],
        serde_json::Value::Null,
        "type comes from the endpoint, not added"
    );
    let first = by_id[i[0].as_str()];
    for k in [
        "receivedAt",
        "timestamp",
        "projectId",
        "collectorId",
        "requestIp",
    ] {
        assert!(first.get(k).is_some(), "{k} missing: {first}");
    }
    assert_eq!(first["projectId"], "demo");
    assert_eq!(first["collectorId"], "t1");
    assert_eq!(first["sentAt"], "2020-01-01T00:00:00.000Z");
}

#[test]
fn limits_refuse_with_413_and_reject_oversized_events() {
    let dir = TempDir::new("limits");
    let s = Server::start(
        dir.path(),
        &[
            "--limit",
            "max_body_bytes=20000",
            "--limit",
            "max_event_bytes=600",
            "--limit",
            "max_properties=6",
            "--limit",
            "max_depth=3",
            "--rejected-raw-max-bytes",
            "40",
        ],
    );
    let key = h(&[("x-write-key", KEY)]);
    // Compressed body over max_body_bytes.
    let big = vec![b' '; 20001];
    let r = s.post("/v1/batch", key, &big);
    assert_eq!((r.status, r.error().as_str()), (413, "body_too_large"));
    // A gzip bomb: ~50 KB that inflates to 50 MB (concatenated gzip members) is refused at the
    // inflate cap (default 4 MiB) — the request returns promptly.
    let member = gzip(&vec![b' '; 1 << 20]);
    let bomb: Vec<u8> = (0..50).flat_map(|_| member.iter().copied()).collect();
    assert!(bomb.len() < 60_000, "bomb is {} bytes", bomb.len());
    let dir2 = TempDir::new("bomb");
    let s2 = Server::start(dir2.path(), &[]);
    let r = s2.post(
        "/v1/batch",
        h(&[("x-write-key", KEY), ("content-encoding", "gzip")]),
        &bomb,
    );
    assert_eq!((r.status, r.error().as_str()), (413, "inflated_too_large"));
    s2.stop();
    // Per-event limits: rejected individually, neighbours stored.
    let i = ids(1, 4);
    let too_big = format!(
        r#"{{"messageId":"{}","type":"track","event":"e","anonymousId":"a","properties":{{"s":"{}"}}}}"#,
        i[1],
        "x".repeat(700)
    );
    let too_many = format!(
        r#"{{"messageId":"{}","type":"track","event":"e","anonymousId":"a","properties":{{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}}}}"#,
        i[2]
    );
    let too_deep = format!(
        r#"{{"messageId":"{}","type":"track","event":"e","anonymousId":"a","properties":{{"a":{{"b":{{"c":1}}}}}}}}"#,
        i[3]
    );
    let body = format!(
        r#"{{"batch":[{},{too_big},{too_many},{too_deep}]}}"#,
        event(&i[0])
    );
    let r = s.post_json("/v1/batch", &body);
    assert_eq!((r.status, r.accepted()), (200, 1), "{}", r.body);
    let reasons: Vec<String> = r.json()["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("{}:{}", x["index"], x["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        ["1:event_too_large", "2:too_many_properties", "3:too_deep"]
    );
    s.stop();
    // The rejected stream holds each with reason, message, index and the raw event truncated.
    let rejected = stored_lines(dir.path(), "demo", true);
    assert_eq!(rejected.len(), 3);
    let r1 = rejected.iter().find(|l| l["index"] == 1).unwrap();
    assert_eq!(r1["reason"], "event_too_large");
    // (An oversized event is refused before it is parsed, so its id is unknown.)
    let r2 = rejected.iter().find(|l| l["index"] == 2).unwrap();
    assert_eq!(r2["messageId"], i[2].as_str());
    assert_eq!(r1["rawTruncated"], true);
    assert_eq!(r1["raw"].as_str().unwrap().len(), 40);
    assert!(r1["rawBytes"].as_u64().unwrap() > 700);
    assert!(r1["message"].as_str().unwrap().contains("600"));
    assert_eq!(stored_ids(dir.path(), "demo"), vec![i[0].clone()]);
}

#[test]
fn dedup_within_batch_across_requests_and_across_restart() {
    let dir = TempDir::new("dedup");
    let s = Server::start(dir.path(), &[]);
    let i = ids(1, 3);
    let text_id = "evt-000001".to_string();
    let mut b = i.clone();
    b.push(i[0].clone()); // within-batch duplicate
    b.push(text_id.clone());
    let r = s.post_json("/v1/batch", &batch(&b));
    assert_eq!((r.accepted(), r.duplicates()), (4, 1));
    let r = s.post_json(
        "/v1/batch",
        &batch(&[i[1].clone(), text_id.clone(), ids(2, 1)[0].clone()]),
    );
    assert_eq!((r.accepted(), r.duplicates()), (1, 2));
    let s = s.restart();
    let r = s.post_json("/v1/batch", &batch(&b));
    assert_eq!(
        (r.accepted(), r.duplicates()),
        (0, 5),
        "a retry after restart is recognised"
    );
    s.stop();
    let mut got = stored_ids(dir.path(), "demo");
    let n = got.len();
    got.sort();
    got.dedup();
    assert_eq!((n, got.len()), (5, 5));
}

#[test]
fn concurrent_requests_with_the_same_ids_store_them_once() {
    let dir = TempDir::new("concurrent");
    let s = Server::start(dir.path(), &[]);
    let i = ids(1, 50);
    let body = batch(&i);
    let addr = s.addr;
    let results: Vec<(u64, u64)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                sc.spawn(|| {
                    let r = request(
                        addr,
                        "POST",
                        "/v1/batch",
                        &[("x-write-key", KEY)],
                        body.as_bytes(),
                    );
                    assert_eq!(r.status, 200, "{}", r.body);
                    (r.accepted(), r.duplicates())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().map(|r| r.0).sum::<u64>(), 50, "{results:?}");
    assert!(results.iter().all(|r| r.0 + r.1 == 50));
    s.stop();
    assert_eq!(stored_ids(dir.path(), "demo").len(), 50);
}

fn sealed(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    files(dir)
        .into_iter()
        .filter(|f| {
            name(f).ends_with(suffix) && !f.components().any(|c| c.as_os_str() == "_rejected")
        })
        .collect()
}

fn manifests(dir: &std::path::Path) -> Vec<serde_json::Value> {
    sealed(dir, ".manifest.json")
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

#[test]
fn rotation_by_size_with_gzip_and_manifests() {
    let dir = TempDir::new("size");
    let s = Server::start(dir.path(), &["--rotate-max-bytes", "3000", "--gzip"]);
    let mut all = Vec::new();
    for n in 0..6 {
        let i = ids(n, 5); // ~2 KB of stored lines per request
        assert_eq!(s.post_json("/v1/batch", &batch(&i)).accepted(), 5);
        all.extend(i);
    }
    // Five files sealed by size while running; wait for the sealer.
    wait_until("size-sealed files", Duration::from_secs(20), || {
        sealed(dir.path(), ".ndjson.gz").len() >= 5
    });
    s.stop();
    let ms = manifests(dir.path());
    assert_eq!(ms.len(), 6);
    assert_eq!(
        ms.iter()
            .map(|m| m["events"].as_u64().unwrap())
            .sum::<u64>(),
        30
    );
    assert_eq!(ms.iter().filter(|m| m["trigger"] == "size").count(), 5);
    assert_eq!(ms.iter().filter(|m| m["trigger"] == "shutdown").count(), 1);
    for m in &ms {
        assert_eq!(m["format"], "ndjson+gzip");
        let f = files(dir.path())
            .into_iter()
            .find(|f| name(f) == m["file"].as_str().unwrap())
            .unwrap();
        let bytes = std::fs::read(&f).unwrap();
        assert_eq!(m["bytes"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(
            m["crc32"].as_str().unwrap(),
            format!("{:08x}", crc32fast::hash(&bytes))
        );
    }
    assert!(sealed(dir.path(), ".open").is_empty());
    let mut got = stored_ids(dir.path(), "demo");
    got.sort();
    all.sort();
    assert_eq!(got, all);
}

#[test]
fn rotation_by_idle_and_by_age() {
    let dir = TempDir::new("idle");
    let s = Server::start(dir.path(), &["--rotate-idle-ms", "200"]);
    assert_eq!(s.post_json("/v1/batch", &batch(&ids(1, 2))).accepted(), 2);
    wait_until("idle seal", Duration::from_secs(10), || {
        sealed(dir.path(), ".ndjson").len() == 1
    });
    assert_eq!(manifests(dir.path())[0]["trigger"], "idle");
    s.stop();

    let dir = TempDir::new("age");
    let s = Server::start(dir.path(), &["--rotate-max-age-ms", "300"]);
    // Keep writing (never idle) until the age trigger has sealed a file.
    let mut n = 0;
    wait_until("age seal", Duration::from_secs(10), || {
        n += 1;
        assert_eq!(s.post_json("/v1/batch", &batch(&ids(n, 1))).accepted(), 1);
        !sealed(dir.path(), ".ndjson").is_empty()
    });
    s.stop();
    let ms = manifests(dir.path());
    assert!(ms.iter().any(|m| m["trigger"] == "age"), "{ms:?}");
    assert_eq!(stored_ids(dir.path(), "demo").len() as u64, n);
}

#[test]
fn rotation_at_the_hour_boundary() {
    let dir = TempDir::new("hour");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Shift the collector's clock to 1.5 s before the next hour.
    let boundary = (now / 3_600_000 + 1) * 3_600_000;
    let offset = boundary - 1500 - now;
    let s = Server::start(dir.path(), &["--clock-offset-ms", &offset.to_string()]);
    let r = s.post_json("/v1/batch", &batch(&ids(1, 1)));
    assert_eq!(r.accepted(), 1);
    let server_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + offset
    };
    let first_at = server_now();
    wait_until("the hour to turn", Duration::from_secs(5), || {
        server_now() > boundary + 100
    });
    if first_at < boundary {
        // The file of the old hour is sealed by the boundary without any new write.
        wait_until("hour seal", Duration::from_secs(10), || {
            sealed(dir.path(), ".ndjson").len() == 1
        });
        assert_eq!(manifests(dir.path())[0]["trigger"], "hour");
    }
    assert_eq!(s.post_json("/v1/batch", &batch(&ids(2, 1))).accepted(), 1);
    s.stop();
    let lines = stored_lines(dir.path(), "demo", false);
    assert_eq!(lines.len(), 2);
    // Each event sits in the partition of its receivedAt hour.
    for f in sealed(dir.path(), ".ndjson") {
        let text = std::fs::read_to_string(&f).unwrap();
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let rx = v["receivedAt"].as_str().unwrap();
            let hour_dir = format!("{}/{}/{}/{}", &rx[0..4], &rx[5..7], &rx[8..10], &rx[11..13]);
            assert!(
                f.to_string_lossy().contains(&hour_dir),
                "{} not in {hour_dir}",
                f.display()
            );
        }
    }
}

#[test]
fn torn_open_file_is_recovered_and_its_ids_known() {
    let dir = TempDir::new("torn");
    let i = ids(1, 3);
    // A crashed run left an .open file: two whole lines and a torn third.
    let part = dir.path().join("demo/2026/11/24/17");
    std::fs::create_dir_all(&part).unwrap();
    let line = |id: &str| {
        format!(
            r#"{{"receivedAt":"{}","timestamp":"2026-11-24T17:10:46.123Z","projectId":"demo","collectorId":"old","messageId":"{id}","type":"track","event":"e","anonymousId":"a"}}"#,
            // Recent, so the ids are within the dedup window.
            rfc3339_now()
        ) + "\n"
    };
    let content = format!("{}{}{}", line(&i[0]), line(&i[1]), &line(&i[2])[..40]);
    std::fs::write(part.join("old-1-000001.ndjson.open"), &content).unwrap();
    std::fs::write(part.join("old-1-000002.manifest.json.partial"), "{").unwrap();
    let s = Server::start(dir.path(), &[]);
    let ms = manifests(dir.path());
    assert_eq!(ms.len(), 1);
    assert_eq!(
        (ms[0]["events"].as_u64(), ms[0]["tornLinesCut"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(ms[0]["trigger"], "recovery");
    assert!(
        files(dir.path())
            .iter()
            .all(|f| !name(f).ends_with(".open") && !name(f).ends_with(".partial"))
    );
    // The recovered ids are duplicates now; the torn one was never stored, so it is accepted.
    let r = s.post_json("/v1/batch", &batch(&i));
    assert_eq!((r.accepted(), r.duplicates()), (1, 2));
    s.stop();
    let mut got = stored_ids(dir.path(), "demo");
    got.sort();
    let mut want = i.clone();
    want.sort();
    assert_eq!(got, want);
}

fn rfc3339_now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    maidian_protocol::time::format_rfc3339_millis(ms)
}

#[test]
fn disk_failure_answers_503_stores_nothing_and_recovers() {
    let dir = TempDir::new("diskfull");
    let data = dir.path().join("data");
    let (s, fault) = Server::start_with_fault(&dir, &[]);
    let ok = ids(1, 10);
    assert_eq!(s.post_json("/v1/batch", &batch(&ok)).accepted(), 10);
    std::fs::write(&fault, "fail").unwrap();
    let failed = ids(2, 10);
    for _ in 0..3 {
        let r = s.post_json("/v1/batch", &batch(&failed));
        assert_eq!(
            (r.status, r.error().as_str()),
            (503, "unavailable"),
            "{}",
            r.body
        );
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    // Nothing of the failed requests is in the files, and no torn line.
    assert_eq!(stored_ids(&data, "demo").len(), 10);
    std::fs::remove_file(&fault).unwrap();
    // Space is back: the same batch is accepted (its ids were never remembered).
    let r = s.post_json("/v1/batch", &batch(&failed));
    assert_eq!(
        (r.status, r.accepted(), r.duplicates()),
        (200, 10, 0),
        "{}",
        r.body
    );
    s.stop();
    let mut got = stored_ids(&data, "demo");
    got.sort();
    let mut want = [ok, failed].concat();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn failed_syncs_under_concurrent_load_cut_back_exactly_the_unacknowledged_requests() {
    // Rounds are pipelined: while one is being synced, the next is already written behind it
    // in the same file. A failed sync must cut both back and fail both, and nothing else.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let dir = TempDir::new("syncfail");
    let data = dir.path().join("data");
    let (s, fault) = Server::start_with_fault(&dir, &[]);
    let addr = s.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let oks = Arc::new(AtomicUsize::new(0));
    let fails = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..8u64)
        .map(|t| {
            let (stop, oks, fails) = (stop.clone(), oks.clone(), fails.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut refused = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let batch_ids = ids(100 + t * 10_000 + n, 5);
                    let r = request(
                        addr,
                        "POST",
                        "/v1/batch",
                        &[("x-write-key", KEY)],
                        batch(&batch_ids).as_bytes(),
                    );
                    match r.status {
                        200 => {
                            assert_eq!(r.accepted(), 5, "{}", r.body);
                            oks.fetch_add(1, Ordering::Relaxed);
                            acked.extend(batch_ids);
                        }
                        503 => {
                            fails.fetch_add(1, Ordering::Relaxed);
                            refused.push(batch_ids);
                        }
                        other => panic!("unexpected status {other}: {}", r.body),
                    }
                    n += 1;
                }
                (acked, refused)
            })
        })
        .collect();
    for round in 0..3 {
        let ok_before = oks.load(Ordering::Relaxed);
        wait_until("acknowledged requests", Duration::from_secs(20), || {
            oks.load(Ordering::Relaxed) >= ok_before + 20
        });
        let failed_before = fails.load(Ordering::Relaxed);
        std::fs::write(&fault, "fail-sync").unwrap();
        wait_until(
            &format!("refused requests (round {round})"),
            Duration::from_secs(20),
            || fails.load(Ordering::Relaxed) >= failed_before + 20,
        );
        std::fs::remove_file(&fault).unwrap();
    }
    let ok_before = oks.load(Ordering::Relaxed);
    wait_until("recovery", Duration::from_secs(20), || {
        oks.load(Ordering::Relaxed) >= ok_before + 20
    });
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for t in senders {
        let (a, r) = t.join().unwrap();
        acked.extend(a);
        refused.extend(r);
    }
    // A refused batch was never remembered: sent again, it is stored in full.
    let again = refused[refused.len() / 2].clone();
    let r = s.post_json("/v1/batch", &batch(&again));
    assert_eq!(
        (r.status, r.accepted(), r.duplicates()),
        (200, 5, 0),
        "{}",
        r.body
    );
    acked.extend(again);
    s.stop();
    // Every acknowledged event exactly once, nothing else, no torn line (checked on reading).
    let mut got = stored_ids(&data, "demo");
    got.sort();
    acked.sort();
    assert_eq!(got.len(), acked.len(), "stored vs acknowledged");
    assert_eq!(got, acked);
}

#[test]
fn full_queue_answers_503_and_graceful_shutdown_finishes_in_flight_requests() {
    let dir = TempDir::new("queue");
    let fault = dir.path().join("FAULT");
    let data = dir.path().join("data");
    std::fs::write(&fault, "stall:400").unwrap();
    let s = Server::start(
        &data,
        &[
            "--queue-depth",
            "1",
            "--fault-file",
            fault.to_str().unwrap(),
        ],
    );
    let addr = s.addr;
    let results: Vec<(u16, Option<String>, Vec<String>)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|n| {
                sc.spawn(move || {
                    let i = ids(n, 3);
                    let r = request(
                        addr,
                        "POST",
                        "/v1/batch",
                        &[("x-write-key", KEY)],
                        batch(&i).as_bytes(),
                    );
                    (r.status, r.header("retry-after").map(str::to_owned), i)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let full: Vec<_> = results.iter().filter(|r| r.0 == 503).collect();
    assert!(
        !full.is_empty(),
        "no 503 with a queue of 1 and 8 concurrent requests"
    );
    assert!(full.iter().all(|r| r.1.as_deref() == Some("1")));
    assert!(results.iter().all(|r| r.0 == 200 || r.0 == 503));
    let mut acked: Vec<String> = results
        .iter()
        .filter(|r| r.0 == 200)
        .flat_map(|r| r.2.clone())
        .collect();

    // A request in flight when SIGTERM arrives is still answered and stored.
    let late = ids(99, 2);
    let body = batch(&late);
    let handle = std::thread::spawn(move || {
        request(
            addr,
            "POST",
            "/v1/batch",
            &[("x-write-key", KEY)],
            body.as_bytes(),
        )
    });
    // Wait until the writer is busy with it (it stalls 400 ms per group).
    wait_until("request in flight", Duration::from_secs(10), || {
        request(addr, "GET", "/metrics", &[], b"")
            .body
            .contains("maidian_requests_in_flight 1")
    });
    s.stop();
    let r = handle.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    acked.extend(late);
    let mut got = stored_ids(&data, "demo");
    got.sort();
    acked.sort();
    assert_eq!(got, acked);
    assert!(
        files(&data).iter().all(|f| !name(f).ends_with(".open")),
        "every file sealed"
    );
}

#[test]
fn slow_body_gets_408() {
    let dir = TempDir::new("slow");
    let s = Server::start(dir.path(), &["--read-timeout-ms", "300"]);
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.write_all(b"POST /v1/batch HTTP/1.1\r\nhost: x\r\nx-write-key: demo-key\r\ncontent-length: 100\r\n\r\n{\"batch\"")
        .unwrap();
    let mut raw = Vec::new();
    use std::io::Read;
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 4096];
    // Read until the response head has arrived.
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed without a response");
        raw.extend_from_slice(&buf[..n]);
    }
    let r = parse_response(&raw).unwrap();
    assert_eq!(r.status, 408);
    s.stop();
}
