//! Fuzz target over a case action as a client sends it (JSON), applied by every role through
//! the store's case action: refused or applied, never a panic.
//!
//! Run: `cd ops-console/fuzz && cargo +nightly fuzz run case_action seeds/case_action -- -max_total_time=300 -rss_limit_mb=1024`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ops_console::fuzz::case_action(data);
});
