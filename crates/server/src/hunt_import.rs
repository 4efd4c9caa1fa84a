//! Reading `mamori hunt` output for a case timeline: JSON lines (`--format jsonl`, with `ts_ms`)
//! or CSV (`--format csv`, with its header line and RFC 3339 `timestamp`). Each detection
//! becomes one timeline text; lines that are not detections are counted and skipped.

/// One detection as a timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntEntry {
    pub at: i64,
    pub text: String,
}

/// At most this many detections are read from one upload.
pub const MAX_ENTRIES: usize = 100_000;

fn text(
    level: &str,
    title: &str,
    computer: &str,
    channel: &str,
    event: &str,
    record: &str,
) -> String {
    format!("[{level}] {title} on {computer} ({channel} {event} #{record})")
}

/// Parses hunt output in either format. Returns the entries and the number of skipped lines.
pub fn parse(body: &str) -> (Vec<HuntEntry>, usize) {
    let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first
        .trim_start_matches('\u{feff}')
        .starts_with("timestamp,computer,")
    {
        parse_csv(body)
    } else {
        parse_jsonl(body)
    }
}

fn parse_jsonl(body: &str) -> (Vec<HuntEntry>, usize) {
    let (mut out, mut bad) = (Vec::new(), 0usize);
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        if out.len() >= MAX_ENTRIES {
            bad += 1;
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            bad += 1;
            continue;
        };
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        let (Some(ts), Some(title)) = (
            v.get("ts_ms").and_then(|t| t.as_i64()),
            v.get("rule_title").and_then(|t| t.as_str()),
        ) else {
            bad += 1;
            continue;
        };
        out.push(HuntEntry {
            at: ts,
            text: text(
                v.get("level").and_then(|l| l.as_str()).unwrap_or("?"),
                title,
                v.get("computer").and_then(|l| l.as_str()).unwrap_or("?"),
                &s("channel"),
                &s("event_id"),
                &s("record_id"),
            ),
        });
    }
    (out, bad)
}

fn parse_csv(body: &str) -> (Vec<HuntEntry>, usize) {
    let (mut out, mut bad) = (Vec::new(), 0usize);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let header_ok = rdr
        .headers()
        .map(|h| h.iter().collect::<Vec<_>>().join(",") == mamori_detect::hunt::CSV_HEADER)
        .unwrap_or(false);
    if !header_ok {
        return (out, body.lines().count());
    }
    for rec in rdr.records() {
        let Ok(r) = rec else {
            bad += 1;
            continue;
        };
        let f = |i: usize| r.get(i).unwrap_or("");
        let at = mamori_detect::time::parse_timestamp_ms(f(0));
        match at {
            Some(at) if r.len() >= 9 && !f(7).is_empty() && out.len() < MAX_ENTRIES => {
                out.push(HuntEntry {
                    at,
                    text: text(f(8), f(7), f(1), f(2), f(3), f(4)),
                })
            }
            _ => bad += 1,
        }
    }
    (out, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_and_csv_give_the_same_entries() {
        let jsonl = "{\"timestamp\":\"2026-11-25T00:00:01Z\",\"ts_ms\":1795564801000,\"computer\":\"ws1\",\"channel\":\"Security\",\"event_id\":\"4688\",\"record_id\":\"7\",\"rule_title\":\"Whoami Execution\",\"level\":\"medium\"}\nnot json\n";
        let csv = "timestamp,computer,channel,event_id,record_id,file,rule_id,rule_title,level,tags,matched\n\
2026-11-25T00:00:01Z,ws1,Security,4688,7,a.evtx,r1,Whoami Execution,medium,attack.t1033,\"Image: C:\\\\whoami.exe, \"\"x\"\"\"\n\
not-a-time,ws1,Security,1,2,a.evtx,r1,X,low,,\n";
        let (a, bad_a) = parse(jsonl);
        let (b, bad_b) = parse(csv);
        assert_eq!((bad_a, bad_b), (1, 1));
        assert_eq!(a, b);
        assert_eq!(a[0].at, 1_795_564_801_000);
        assert_eq!(
            a[0].text,
            "[medium] Whoami Execution on ws1 (Security 4688 #7)"
        );
        let (none, bad) = parse("timestamp,computer,other\n1,2,3\n");
        assert!(none.is_empty() && bad == 2);
    }
}
