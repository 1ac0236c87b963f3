//! Any bytes into the bounce decoder: it must never panic, hang or run out of memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = rebound_decode::decode(data) {
        // The Sisimai view and the printed form of every fact must be producible too.
        for r in &d.recipients {
            let _ = rebound_decode::sisimai::delivery_status(r);
        }
        let _ = format!("{d:?}");
    }
});
