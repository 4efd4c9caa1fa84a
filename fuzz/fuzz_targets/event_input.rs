//! Any bytes as a hunt input file, read both as JSON (value, array or JSON lines) and as
//! EVTX, through the same readers `mamori hunt` uses: errors or skipped records, never a
//! panic; every event read is prepared and scanned by a small rule set.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mamori_detect::input::evtx::{event_from_json_str, read_evtx_bytes};
use mamori_detect::input::json::read_json_bytes;
use mamori_detect::{CompiledRule, EventView, Ruleset, RulesetBuilder};

const RULES: &str = r#"
title: proc
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\cmd.exe'
    CommandLine|contains|all: ['/c', 'whoami']
  condition: sel
---
title: logon
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
    IpAddress|cidr: '10.0.0.0/8'
  condition: sel
---
title: any
logsource: {product: windows}
detection:
  keywords: ['mimikatz']
  re:
    Data|re: '(?i)evil[0-9]+'
  condition: keywords or re
"#;

static RULESET: LazyLock<Ruleset> = LazyLock::new(|| {
    let mut b = RulesetBuilder::new();
    b.add_source("fuzz.yml", RULES);
    b.build().0
});

fn scan(mut ev: EventView) {
    let rs = &*RULESET;
    rs.prepare(&mut ev);
    rs.scan(&ev, &mut |_: usize, _: &CompiledRule, _: &EventView| true);
}

fuzz_target!(|data: &[u8]| {
    let _ = read_json_bytes("fuzz.json", data, &mut scan);
    let _ = read_evtx_bytes("fuzz.evtx", data.to_vec(), 1, Some, &mut scan);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(ev) = event_from_json_str(text)
    {
        scan(ev);
    }
});
