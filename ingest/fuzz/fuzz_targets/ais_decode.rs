//! Fuzz target over the whole decode path: framing, tag blocks, fragment assembly,
//! message decoding, both JSON writers and the patrol telemetry parser.
//!
//! Run: `cd ingest/fuzz && cargo +nightly fuzz run ais_decode -- -rss_limit_mb=256`
//! (the RSS limit checks that memory stays bounded whatever the input).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ingest::ais::fuzz::decode_everything(data);
});
