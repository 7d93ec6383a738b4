//! Streaming decode of an NMEA file, decode only (no output), for the benchmark in
//! `tests/bench/decode.py`: `decode_bench ours|ais FILE` (`-` for stdin). Prints what it decoded to stderr.
//!
//! `ours` is `ingest::ais::Decoder`; `ais` is the `ais` crate (0.12), the fastest Rust
//! peer, run the same way on the same lines. A line the `ais` crate panics on (it does on
//! some ship types) is caught and counted, so the run completes.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(which), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: decode_bench ours|ais FILE");
        std::process::exit(2);
    };
    let reader: Box<dyn std::io::Read> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(&path).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        }))
    };
    let mut input = BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::with_capacity(256);
    let (mut lines, mut messages, mut errors, mut panics) = (0u64, 0u64, 0u64, 0u64);
    match which.as_str() {
        "ours" => {
            let mut d = ingest::ais::Decoder::new();
            while input.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                lines += 1;
                match d.decode_line(&line, 0) {
                    Ok(Some(m)) => {
                        black_box(&m);
                        messages += 1;
                    }
                    Ok(None) => {}
                    Err(_) => errors += 1,
                }
                line.clear();
            }
        }
        "ais" => {
            std::panic::set_hook(Box::new(|_| {}));
            let mut p = ais::AisParser::new();
            while input.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                lines += 1;
                let trimmed = line.trim_ascii_end();
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    p.parse(trimmed, true)
                        .map(|f| black_box(f).is_complete_message())
                })) {
                    Ok(Ok(true)) => messages += 1,
                    Ok(Ok(false)) => {}
                    Ok(Err(_)) => errors += 1,
                    Err(_) => {
                        panics += 1;
                        p = ais::AisParser::new();
                    }
                }
                line.clear();
            }
        }
        other => {
            eprintln!("unknown decoder {other:?}: use ours or ais");
            std::process::exit(2);
        }
    }
    eprintln!("{which}: {lines} lines, {messages} messages, {errors} errors, {panics} panics");
}

/// The `ais` crate's fragments: complete with a message, or not.
trait Complete {
    fn is_complete_message(&self) -> bool;
}

impl Complete for ais::AisFragments {
    fn is_complete_message(&self) -> bool {
        matches!(self, ais::AisFragments::Complete(s) if s.message.is_some())
    }
}
