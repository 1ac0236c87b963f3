//! Any bytes as an mbox file: split, then every message decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if rebound_decode::mbox::is_mbox(data) {
        for m in rebound_decode::mbox::split(data) {
            let _ = rebound_decode::decode(&m);
        }
    }
});
