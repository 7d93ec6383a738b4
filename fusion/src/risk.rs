//! A risk score per vessel: what its alerts, the watchlist and its type say, each with
//! the reason. Scores combine as independent evidence: 1 − Π(1 − wᵢ), each kind of alert
//! counted up to three times.

use crate::alert::AlertKind;
use crate::config::RiskConfig;
use crate::track::Vessel;
use serde::Serialize;

/// A vessel's risk score and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    /// The vessel.
    pub mmsi: u32,
    /// 0 (nothing known against it) to 1.
    pub score: f64,
    /// Each contribution, largest first: `"rendezvous ×2 (+0.58)"`.
    pub reasons: Vec<String>,
}

/// What one alert of each kind weighs.
fn weight(kind: AlertKind) -> f64 {
    match kind {
        AlertKind::Rendezvous => 0.35,
        AlertKind::IdentityConflict => 0.35,
        AlertKind::AisGap => 0.30,
        AlertKind::Loitering => 0.20,
        AlertKind::InvalidIdentity => 0.20,
        AlertKind::PositionJump => 0.15,
        AlertKind::ZoneEntry => 0.15,
        // Rescue and contacts without AIS say nothing against a vessel.
        _ => 0.0,
    }
}

/// The risk score of `v`.
pub fn score(v: &Vessel, cfg: &RiskConfig) -> Risk {
    let mut parts: Vec<(f64, String)> = Vec::new();
    for (i, kind) in AlertKind::ALL.iter().enumerate() {
        let n = v.alert_counts[i].min(3) as i32;
        let w = weight(*kind);
        if n == 0 || w == 0.0 {
            continue;
        }
        let p = 1.0 - (1.0 - w).powi(n);
        parts.push((p, format!("{kind} ×{} (+{p:.2})", v.alert_counts[i])));
    }
    if cfg.watchlist.contains(&v.mmsi) {
        parts.push((0.5, "on the watchlist (+0.50)".to_string()));
    }
    if v.ship_type().is_none() && v.static_info.is_some() {
        parts.push((0.05, "no ship type reported (+0.05)".to_string()));
    }
    parts.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let keep = parts.iter().fold(1.0, |k, (p, _)| k * (1.0 - p));
    Risk {
        mmsi: v.mmsi,
        score: ((1.0 - keep) * 100.0).round() / 100.0,
        reasons: parts.into_iter().map(|(_, r)| r).collect(),
    }
}
