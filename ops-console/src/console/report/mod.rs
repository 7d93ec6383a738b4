//! What leaves the console for a court or a partner: the investigator's export (a bundle,
//! its files and an offline check, `tidewatch verify`), its printable HTML report and PDF.

pub mod export;
pub mod html;
pub mod pdf;
