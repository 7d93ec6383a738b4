//! Pack GeoJSON land polygons into the compact ring format Tidewatch ships
//! (`fusion/data/land-10m.rings.gz`; the build script files it by blocks of the grid):
//!
//! `cargo run -p fusion --example pack_land -- ../shared/geodata/land-10m-r5.geojson fusion/data/land-10m.rings.gz`

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = &args[..] else {
        eprintln!("usage: pack_land IN.geojson OUT.rings.gz");
        std::process::exit(2);
    };
    let bytes = std::fs::read(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let rings =
        fusion::geodata::LandMask::geojson_rings(input, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let packed = fusion::geodata::LandMask::pack_rings(&rings);
    let file = std::fs::File::create(output).unwrap_or_else(|e| panic!("{output}: {e}"));
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    gz.write_all(&packed).expect("write");
    gz.finish().expect("finish");
    eprintln!(
        "{} rings, {} points",
        rings.len(),
        rings.iter().map(Vec::len).sum::<usize>()
    );
}
