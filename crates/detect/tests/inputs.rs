//! Input robustness: JSON shapes, corrupt EVTX files (no panic; skipped records counted
//! with the file and offset named).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use mamori_detect::input::evtx::{read_evtx, read_evtx_bytes};
use mamori_detect::input::json::{read_json, read_json_bytes};
use mamori_detect::input::{Format, detect_format};

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mamori-inputs-{name}-{}", std::process::id()))
}

fn sample_evtx() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sigma/regression_data/rules/windows/process_creation");
    let dir = std::fs::read_dir(&p).ok()?;
    for e in dir.flatten() {
        for f in std::fs::read_dir(e.path()).ok()?.flatten() {
            if f.path().extension().is_some_and(|x| x == "evtx") {
                return Some(f.path());
            }
        }
    }
    None
}

#[test]
fn json_array_lines_and_winlogbeat() {
    let p = tmp("array.json");
    std::fs::write(
        &p,
        r##"[{"Event":{"System":{"Channel":"Security","EventID":{"#attributes":{"Qualifiers":0},"#text":4625}},"EventData":{"TargetUserName":"bob"}}},
           {"winlog":{"channel":"System","event_id":7045,"event_data":{"ServiceName":"evil"}}}]"##,
    )
    .unwrap();
    assert_eq!(detect_format(&p).unwrap(), Some(Format::Json));
    let mut evs = Vec::new();
    let st = read_json(&p, &mut |e| evs.push(e)).unwrap();
    assert_eq!(st.events, 2);
    assert_eq!(evs[0].event_id, Some(4625));
    assert_eq!(evs[0].channel.as_deref(), Some("security"));
    assert_eq!(evs[0].first("TargetUserName"), Some("bob"));
    assert_eq!(evs[1].event_id, Some(7045));
    assert_eq!(evs[1].first("ServiceName"), Some("evil"));
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn invalid_json_is_an_error_not_a_panic() {
    let p = tmp("bad.json");
    std::fs::write(&p, "{not json").unwrap();
    let err = read_json(&p, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("bad.json"));
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn json_from_memory_equals_json_from_file() {
    let text = b"{\"a\":1}\n{\"a\":2}\n{broken\n\n{\"a\":3}\n[{\"a\":4}]\n";
    let p = tmp("lines.jsonl");
    std::fs::write(&p, text).unwrap();
    let mut from_file = Vec::new();
    let a = read_json(&p, &mut |e| from_file.push(e.first("a").map(str::to_owned))).unwrap();
    let mut from_memory = Vec::new();
    let b = read_json_bytes("mem.jsonl", text, &mut |e| {
        from_memory.push(e.first("a").map(str::to_owned))
    })
    .unwrap();
    std::fs::remove_file(&p).unwrap();
    assert_eq!(from_file, from_memory);
    assert_eq!((a.events, a.skipped), (b.events, b.skipped));
    assert_eq!(a.skipped, 1, "{:?}", a.warnings);
    assert!(b.warnings[0].starts_with("mem.jsonl: "), "{:?}", b.warnings);
    let err = read_json_bytes("mem.json", b"{not json", &mut |_| {}).unwrap_err();
    assert!(err.to_string().starts_with("mem.json: "), "{err}");
}

#[test]
fn a_bad_json_line_is_skipped_once_and_no_event_twice() {
    let read = |text: &[u8]| {
        let mut got = Vec::new();
        let st = read_json_bytes("t", text, &mut |e| {
            got.push(e.first("a").unwrap_or("?").to_owned())
        })
        .unwrap();
        (got, st.skipped)
    };
    let ok = |v: &[&str], n| (v.iter().map(|s| s.to_string()).collect::<Vec<_>>(), n);
    // LF, CRLF and trailing blanks after the last good value before the bad line.
    assert_eq!(read(b"{\"a\":1}\n{bad\n{\"a\":2}\n"), ok(&["1", "2"], 1));
    assert_eq!(
        read(b"{\"a\":1}\r\n{bad\r\n{\"a\":2}\r\n"),
        ok(&["1", "2"], 1)
    );
    assert_eq!(read(b"{\"a\":1}   \n\n{bad\n{\"a\":2}"), ok(&["1", "2"], 1));
    // The bad value on the same line as a good one; two bad lines.
    assert_eq!(read(b"{\"a\":1} {bad\n{\"a\":2}\n"), ok(&["1", "2"], 1));
    assert_eq!(read(b"{\"a\":1}\n{bad\n]\n{\"a\":2}\n"), ok(&["1", "2"], 2));
}

#[test]
fn corrupt_evtx_is_skipped_with_warnings() {
    let Some(src) = sample_evtx() else {
        println!("SKIP corrupt_evtx: corpus ../shared/corpora/sigma not found");
        return;
    };
    let mut bytes = std::fs::read(&src).unwrap();
    let mut good = 0;
    read_evtx(&src, 1, Some, &mut |_| good += 1).unwrap();
    assert!(good > 0);
    // Garble the record area of the first chunk (keep file and chunk headers).
    for b in bytes.iter_mut().skip(4096 + 512 + 64).take(2048) {
        *b = 0xA5;
    }
    let p = tmp("corrupt.evtx");
    std::fs::write(&p, &bytes).unwrap();
    let mut n = 0;
    let st = read_evtx(&p, 1, Some, &mut |_| n += 1).unwrap();
    assert!(st.skipped > 0 || n < good, "corruption went unnoticed");
    if st.skipped > 0 {
        assert!(st.warnings[0].contains("corrupt.evtx"), "{:?}", st.warnings);
    }
    // Truncated file and garbage header: errors or warnings, never a panic.
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let _ = read_evtx(&p, 1, Some, &mut |_| {});
    std::fs::write(&p, b"ElfFile\0garbage").unwrap();
    let _ = read_evtx(&p, 1, Some, &mut |_| {});
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn evtx_from_memory_equals_evtx_from_file() {
    let Some(src) = sample_evtx() else {
        println!("SKIP evtx_from_memory: corpus ../shared/corpora/sigma not found");
        return;
    };
    let flat = |e: mamori_detect::EventView| -> Vec<(String, String)> {
        e.iter()
            .map(|(k, v)| (k.to_owned(), v.raw.to_string()))
            .collect()
    };
    let mut from_file = Vec::new();
    let a = read_evtx(&src, 1, Some, &mut |e| from_file.push(flat(e))).unwrap();
    let bytes = std::fs::read(&src).unwrap();
    let mut from_memory = Vec::new();
    let b = read_evtx_bytes("mem.evtx", bytes.clone(), 2, Some, &mut |e| {
        from_memory.push(flat(e))
    })
    .unwrap();
    assert!(a.events > 0);
    assert_eq!((a.events, a.skipped), (b.events, b.skipped));
    assert_eq!(from_file, from_memory);
    // Not an EVTX file: an error naming the source. Truncated: no panic.
    let err = read_evtx_bytes("junk", b"junk".to_vec(), 1, Some, &mut |_| {}).unwrap_err();
    assert!(err.to_string().starts_with("junk: "), "{err}");
    let _ = read_evtx_bytes(
        "half",
        bytes[..bytes.len() / 2].to_vec(),
        1,
        Some,
        &mut |_| {},
    );
}

#[test]
fn ecs_process_event_routes_to_process_creation() {
    use mamori_detect::input::json::event_from_value;
    let v: serde_json::Value = serde_json::from_str(
        r#"{"@timestamp":"2024-05-01T10:00:00Z","host":{"name":"ws1","os":{"type":"windows"}},
            "event":{"category":["process"],"type":["start"]},
            "process":{"executable":"C:\\Windows\\System32\\whoami.exe","command_line":"whoami /all",
                       "parent":{"executable":"C:\\Windows\\cmd.exe"}}}"#,
    )
    .unwrap();
    let mut ev = event_from_value(&v);
    let mut b = mamori_detect::RulesetBuilder::new();
    b.add_source(
        "r.yml",
        "title: w\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    Image|endswith: '\\whoami.exe'\n    ParentImage|endswith: '\\cmd.exe'\n  condition: s\n",
    );
    let (rs, _) = b.build();
    rs.prepare(&mut ev);
    assert_eq!(ev.event_id, Some(1));
    assert_eq!(ev.first("Computer"), Some("ws1"));
    let mut n = 0;
    rs.scan(
        &ev,
        &mut |_: usize, _: &mamori_detect::CompiledRule, _: &mamori_detect::EventView| {
            n += 1;
            true
        },
    );
    assert_eq!(n, 1);
}

#[test]
fn security_4688_maps_to_sysmon_names() {
    let mut ev = mamori_detect::EventView::new();
    ev.push_str("Channel", "Security");
    ev.push_str("EventID", "4688");
    ev.push_str("NewProcessName", "C:\\Windows\\System32\\whoami.exe");
    ev.finish();
    let mut b = mamori_detect::RulesetBuilder::new();
    b.add_source(
        "r.yml",
        "title: w\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    Image|endswith: '\\whoami.exe'\n  condition: s\n",
    );
    let (rs, _) = b.build();
    rs.prepare(&mut ev);
    let mut n = 0;
    rs.scan(
        &ev,
        &mut |_: usize, _: &mamori_detect::CompiledRule, _: &mamori_detect::EventView| {
            n += 1;
            true
        },
    );
    assert_eq!(n, 1);
}

#[test]
fn streaming_evtx_json_equals_value_path() {
    use mamori_detect::input::evtx::{event_from_json, event_from_json_str};
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma/regression_data");
    if !root.is_dir() {
        println!("SKIP streaming_evtx_json: corpus not found");
        return;
    }
    let mut stack = vec![root];
    let mut compared = 0;
    let flat = |e: &mamori_detect::EventView| -> Vec<(String, String, mamori_detect::ValueKind)> {
        e.iter()
            .map(|(k, v)| (k.to_owned(), v.raw.to_string(), v.kind))
            .collect()
    };
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let text = std::fs::read_to_string(&p).unwrap();
                for v in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>()
                {
                    let v = v.unwrap();
                    let a = event_from_json(&v);
                    let b = event_from_json_str(&v.to_string()).unwrap();
                    assert_eq!(flat(&a), flat(&b), "{}", p.display());
                    assert_eq!(
                        (a.channel, a.event_id, a.timestamp_ms),
                        (b.channel, b.event_id, b.timestamp_ms)
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared >= 200, "{compared}");
    // Odd shapes: null/scalar/array EventData, UserData nesting, #text EventID.
    for t in [
        r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"Channel":"System"},"EventData":null}}"##,
        r##"{"Event":{"System":{"EventID":1},"EventData":"plain"}}"##,
        r##"{"Event":{"System":{"EventID":1},"EventData":{"Data":["a","b"],"Binary":null}}}"##,
        r##"{"Event":{"System":{"EventID":1},"UserData":{"LogFileCleared":{"#attributes":{"xmlns":"x"},"SubjectUserName":"bob","Empty":{}}}}}"##,
    ] {
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        assert_eq!(
            flat(&event_from_json(&v)),
            flat(&event_from_json_str(t).unwrap()),
            "{t}"
        );
    }
    assert!(event_from_json_str("{\"Event\": [").is_err());
}
