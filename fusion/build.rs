//! Files the shipped land's coast by blocks of the grid (`src/geodata/land/filing.rs`), so
//! that a start of Tidewatch reads the blocks its queries need instead of filing the
//! world's coast each time.

use std::io::Read;

#[allow(dead_code)]
#[path = "src/geodata/land/filing.rs"]
mod filing;

fn main() {
    const RINGS: &str = "data/land-10m.rings.gz";
    println!("cargo::rerun-if-changed={RINGS}");
    println!("cargo::rerun-if-changed=src/geodata/land/filing.rs");
    let gz = std::fs::read(RINGS).unwrap_or_else(|e| panic!("{RINGS}: {e}"));
    let mut packed = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut packed)
        .unwrap_or_else(|e| panic!("{RINGS}: {e}"));
    let rings = filing::unpack_rings(&packed).unwrap_or_else(|e| panic!("{RINGS}: {e}"));
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("land-10m.blocks");
    std::fs::write(&out, filing::file(&rings)).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
