//! Any bytes as a DNS query to the gateway: answered or dropped, never a panic (the upstream
//! is a closed loopback port, so forwarding fails fast).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return;
    };
    let (tx, _rx) = tokio::sync::mpsc::channel(4);
    let g = mamori_gateway::Gateway::new(
        mamori_gateway::Settings {
            listen: ([127, 0, 0, 1], 0).into(),
            upstream: ([127, 0, 0, 1], 9).into(),
            sinkhole: None,
            upstream_timeout: std::time::Duration::from_millis(1),
            cache_entries: 16,
        },
        mamori_gateway::BlockSet::from_text("malware.example\n"),
        tx,
    );
    let _ = rt.block_on(g.answer(data, ([127, 0, 0, 1], 1).into()));
});
