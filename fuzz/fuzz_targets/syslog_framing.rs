//! Any bytes, split anywhere, as a syslog TCP stream: the RFC 6587 framer (octet counting or
//! newline, detected per connection) never panics, and every message it yields is within the
//! size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_sensor::syslog::framing::{Frame, Framer};

fuzz_target!(|data: &[u8]| {
    let (cut, rest) = match data.split_first() {
        Some((c, r)) => (*c as usize, r),
        None => return,
    };
    let max = 1 + cut % 97;
    let mut f = Framer::new(max);
    let mut out = Vec::new();
    let mid = if rest.is_empty() { 0 } else { cut % (rest.len() + 1) };
    let ok = f.push(&rest[..mid], &mut out).is_ok() && f.push(&rest[mid..], &mut out).is_ok();
    if ok {
        f.finish(&mut out);
    }
    for fr in out {
        if let Frame::Message(m) = fr {
            assert!(m.len() <= max);
        }
    }
});
