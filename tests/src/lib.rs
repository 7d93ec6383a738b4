//! Shared helpers for Tidewatch's integration tests.

pub mod ais_arbitrary;
pub mod conformance;

use std::io::Read;
use std::path::PathBuf;

/// The shared test data directory (`../shared` beside the repository, or
/// `$TIDEWATCH_SHARED`). Panics with a clear message when it is missing: tests that
/// need it must fail loudly, never skip.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("TIDEWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join("testdata").is_dir(),
        "shared test data not found at {} (set TIDEWATCH_SHARED)",
        dir.display()
    );
    dir
}

/// A file under `shared/testdata/ais/`, gunzipped when its name ends in `.gz`.
pub fn ais_testdata(rel: &str) -> Vec<u8> {
    let path = shared_dir().join("testdata/ais").join(rel);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if rel.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out
    } else {
        raw
    }
}

/// Find a program on `PATH`, or panic telling how `.ci/run` installs it.
pub fn require_program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{name}` is not installed: this test needs it (apt-get install -y --no-install-recommends {package}; tests/install-deps.sh does it)"
    );
}
