//! Fuzz target over the embedded broker's front: what a client sends before and after it
//! is authenticated (framing, CONNECT, every client packet the ACL reads).
//!
//! Run: `cd ops-console/fuzz && cargo +nightly fuzz run mqtt_front seeds/mqtt_front -- -max_total_time=300 -rss_limit_mb=512`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ops_console::fuzz::mqtt_front(data);
});
