//! Search and rescue: drift objects and the first-order search plan (RULES.md).
//!
//! ```
//! use fusion::sar::{SearchInputs, object, plan};
//! use fusion::Position;
//! // RULES.md's worked example: 4 h, current 1 kn to 090°, wind 15 kn from 270°.
//! let inputs = SearchInputs {
//!     lkp: Position::new(35.0, 13.0).unwrap(),
//!     lkp_time: "2026-11-22T02:00:00Z".parse().unwrap(),
//!     at: "2026-11-22T06:00:00Z".parse().unwrap(),
//!     object: "flat_bottom_dinghy".into(),
//!     wind_from_deg: 270.0, wind_kn: 15.0, current_to_deg: 90.0, current_kn: 1.0,
//!     x_nm: 0.1, y_nm: 0.1, de_nm: None, fs: 1.1, spacing_nm: 1.0,
//! };
//! let p = plan(&inputs, object("flat_bottom_dinghy").unwrap()).unwrap();
//! assert!((p.datum.drift_nm - 6.2).abs() < 0.01);
//! assert!((p.datum.e_nm - 1.87).abs() < 0.01);
//! assert!((p.datum.radius_nm - 2.05).abs() < 0.01);
//! ```

mod drift;
mod plan;
mod response;

pub(crate) use response::{Request, Responses};

pub use drift::{DriftObject, OBJECTS, object};
pub use plan::{
    Datum, Pattern, PlanError, SearchArea, SearchInputs, SearchPlan, expanding_square,
    parallel_sweep, plan, sector,
};
