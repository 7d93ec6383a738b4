//! `invalid_identity`: an MMSI of a format ITU-R M.585 does not define or whose MID is not
//! allocated, or an IMO number failing its check digit.
//! Each MMSI is judged once, each IMO number it reports once.

use crate::alert::{AlertKind, Severity};
use crate::engine::Ctx;
use crate::track::Vessel;
use jiff::Timestamp;

/// What an MMSI's digits say it is (ITU-R M.585).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmsiFormat {
    /// `MIDXXXXXX`: a ship.
    Ship(u16),
    /// `0MIDXXXXX`: a group of ships.
    Group(u16),
    /// `00MIDXXXX`: a coast station.
    CoastStation(u16),
    /// `111MIDXXX`: a SAR aircraft.
    SarAircraft(u16),
    /// `99MIDXXXX`: an aid to navigation.
    AidToNavigation(u16),
    /// `98MIDXXXX`: a craft associated with a parent ship.
    AssociatedCraft(u16),
    /// `8MIDXXXXX`: a diver's or handheld radio.
    Handheld(u16),
    /// `970XXYYYY`: an AIS-SART.
    Sart,
    /// `972XXYYYY`: a man-overboard device.
    Mob,
    /// `974XXYYYY`: an EPIRB-AIS.
    Epirb,
    /// None of the above.
    Undefined,
}

impl MmsiFormat {
    /// Classify the nine digits of `mmsi`.
    pub fn of(mmsi: u32) -> MmsiFormat {
        if mmsi > 999_999_999 {
            return MmsiFormat::Undefined;
        }
        let d = |from: u32, n: u32| (mmsi / 10u32.pow(9 - from - n) % 10u32.pow(n)) as u16;
        let mid_at = |from| {
            let m = d(from, 3);
            (200..800).contains(&m).then_some(m)
        };
        let f = match d(0, 1) {
            0 if d(1, 1) == 0 => mid_at(2).map(MmsiFormat::CoastStation),
            0 => mid_at(1).map(MmsiFormat::Group),
            1 if d(0, 3) == 111 => mid_at(3).map(MmsiFormat::SarAircraft),
            2..=7 => mid_at(0).map(MmsiFormat::Ship),
            8 => mid_at(1).map(MmsiFormat::Handheld),
            9 => match d(0, 3) {
                970 => Some(MmsiFormat::Sart),
                972 => Some(MmsiFormat::Mob),
                974 => Some(MmsiFormat::Epirb),
                _ if d(0, 2) == 99 => mid_at(2).map(MmsiFormat::AidToNavigation),
                _ if d(0, 2) == 98 => mid_at(2).map(MmsiFormat::AssociatedCraft),
                _ => None,
            },
            _ => None,
        };
        f.unwrap_or(MmsiFormat::Undefined)
    }

    /// The MID it carries, if any.
    pub fn mid(self) -> Option<u16> {
        match self {
            MmsiFormat::Ship(m)
            | MmsiFormat::Group(m)
            | MmsiFormat::CoastStation(m)
            | MmsiFormat::SarAircraft(m)
            | MmsiFormat::AidToNavigation(m)
            | MmsiFormat::AssociatedCraft(m)
            | MmsiFormat::Handheld(m) => Some(m),
            _ => None,
        }
    }
}

/// True when `imo` is a 7-digit IMO number whose check digit is right.
pub fn imo_valid(imo: u32) -> bool {
    if !(1_000_000..=9_999_999).contains(&imo) {
        return false;
    }
    let digits: Vec<u32> = (0..7).rev().map(|i| imo / 10u32.pow(i) % 10).collect();
    let sum: u32 = digits[..6]
        .iter()
        .zip([7, 6, 5, 4, 3, 2])
        .map(|(d, w)| d * w)
        .sum();
    sum % 10 == digits[6]
}

/// Some transponders send the IMO number times 100 (`954861500` for IMO 9548615: seen
/// on AMSA's feed); such a value whose hundredth is a valid IMO number is taken as that
/// number, not as a false identity.
pub fn normalize_imo(imo: u32) -> u32 {
    if imo > 9_999_999 && imo.is_multiple_of(100) && imo_valid(imo / 100) {
        imo / 100
    } else {
        imo
    }
}

pub(crate) fn check_mmsi(cx: &mut Ctx<'_>, v: &mut Vessel, time: Timestamp) {
    let f = MmsiFormat::of(v.mmsi);
    let reason = match f {
        MmsiFormat::Undefined => format!(
            "MMSI {:09} is of no format ITU-R M.585 defines for a ship, station or device",
            v.mmsi
        ),
        _ => match f.mid() {
            Some(mid) if cx.geo.mid.country(mid).is_none() => format!(
                "MMSI {:09} carries MID {mid}, which is allocated to no administration",
                v.mmsi
            ),
            _ => return,
        },
    };
    v.invalid_mmsi = true;
    flag(cx, v, time, "mmsi", reason);
}

pub(crate) fn check_imo(cx: &mut Ctx<'_>, v: &mut Vessel, imo: u32, time: Timestamp) {
    if v.imo_checked == Some(imo) {
        return;
    }
    v.imo_checked = Some(imo);
    if imo_valid(imo) {
        return;
    }
    let reason = if (1_000_000..=9_999_999).contains(&imo) {
        format!(
            "{} reports IMO {imo}, whose check digit is wrong",
            v.label()
        )
    } else {
        format!(
            "{} reports IMO {imo}, which is not a 7-digit IMO number",
            v.label()
        )
    };
    flag(cx, v, time, &format!("imo{imo}"), reason);
}

fn flag(cx: &mut Ctx<'_>, v: &mut Vessel, time: Timestamp, what: &str, reason: String) {
    let Some(position) = v.last_fix().map(|f| f.position) else {
        // Judged at once, placed where the vessel is first seen: wait for a position.
        return defer(v, what, reason);
    };
    let mut a = cx.alert(
        AlertKind::InvalidIdentity,
        &format!("{}-{what}", v.mmsi),
        time,
        Severity::Low,
        vec![v.mmsi],
        position,
        0.9,
        vec![reason],
    );
    a.end = Some(time);
    cx.open(a);
    v.count(AlertKind::InvalidIdentity, 1);
}

/// No position yet: check again with the first position (the engine re-runs the checks).
fn defer(v: &mut Vessel, what: &str, _reason: String) {
    if what == "mmsi" {
        v.mmsi_checked = false;
    } else {
        v.imo_checked = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_of_itu_r_m585() {
        assert_eq!(MmsiFormat::of(247_123_456), MmsiFormat::Ship(247));
        assert_eq!(MmsiFormat::of(2_470_001), MmsiFormat::CoastStation(247));
        assert_eq!(MmsiFormat::of(24_700_001), MmsiFormat::Group(247));
        assert_eq!(MmsiFormat::of(111_247_001), MmsiFormat::SarAircraft(247));
        assert_eq!(
            MmsiFormat::of(992_471_234),
            MmsiFormat::AidToNavigation(247)
        );
        assert_eq!(
            MmsiFormat::of(982_471_234),
            MmsiFormat::AssociatedCraft(247)
        );
        assert_eq!(MmsiFormat::of(824_712_345), MmsiFormat::Handheld(247));
        assert_eq!(MmsiFormat::of(970_123_456), MmsiFormat::Sart);
        assert_eq!(MmsiFormat::of(972_123_456), MmsiFormat::Mob);
        assert_eq!(MmsiFormat::of(974_123_456), MmsiFormat::Epirb);
        assert_eq!(MmsiFormat::of(123_456_789), MmsiFormat::Undefined);
        assert_eq!(MmsiFormat::of(0), MmsiFormat::Undefined);
        assert_eq!(MmsiFormat::of(1_000_000_000), MmsiFormat::Undefined);
        assert_eq!(MmsiFormat::of(646_123_456), MmsiFormat::Ship(646));
    }

    #[test]
    fn an_imo_sent_times_100_is_read_as_the_imo() {
        assert_eq!(normalize_imo(954_861_500), 9_548_615);
        assert_eq!(
            normalize_imo(954_861_600),
            954_861_600,
            "9548616 fails its check digit"
        );
        assert_eq!(normalize_imo(9_074_729), 9_074_729);
    }

    #[test]
    fn imo_check_digit() {
        assert!(
            imo_valid(9_074_729),
            "IMO 9074729: 9×7+0×6+7×5+4×4+7×3+2×2 = 139"
        );
        assert!(!imo_valid(9_074_728));
        assert!(!imo_valid(247_123_456));
        assert!(!imo_valid(0));
    }
}
