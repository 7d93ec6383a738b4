//! The SAR response to a critical alert: a search plan on the alert, the nearest
//! available patrol units with distance and ETA, a tasking to the nearest, and the units'
//! answers recorded. A unit that declines (with its reason, R20) is replaced by the next
//! nearest. No law-enforcement state is consulted here: nothing can hold a SAR tasking
//! back (R21).

use super::plan::{SearchInputs, SearchPlan, plan};
use crate::Position;
use crate::engine::{Ctx, FusionEvent, UnitFix};
use crate::geodesy::METERS_PER_NM;
use ingest::wire::Tasking;
use ingest::wire::patrol::UnitState;
use jiff::Timestamp;
use std::collections::BTreeMap;

/// What a SAR response starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// The alert.
    pub(crate) alert: &'a str,
    /// Last known position and its time.
    pub(crate) lkp: Position,
    pub(crate) lkp_time: Timestamp,
    /// Drift object class.
    pub(crate) object: &'static str,
    /// `SS` or `VS`.
    pub(crate) pattern: &'static str,
    /// Task units (positive information of distress), or only plan (a proposal for the
    /// SAR mission coordinator).
    pub(crate) task: bool,
}

/// One SAR alert's response.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "ResponseState", try_from = "ResponseState")]
struct Response {
    plan: SearchPlan,
    pattern: crate::snapshot::StaticName,
    /// Units tasked so far, in order, and whether they declined.
    tasked: Vec<(String, bool)>,
}

/// A response as a snapshot keeps it: the plan is made again from its inputs (R26: the
/// same inputs give the same plan).
#[derive(serde::Serialize, serde::Deserialize)]
struct ResponseState {
    inputs: SearchInputs,
    pattern: String,
    tasked: Vec<(String, bool)>,
}

impl From<Response> for ResponseState {
    fn from(r: Response) -> Self {
        ResponseState {
            inputs: r.plan.inputs,
            pattern: r.pattern.to_string(),
            tasked: r.tasked,
        }
    }
}

impl TryFrom<ResponseState> for Response {
    type Error = String;
    fn try_from(s: ResponseState) -> Result<Self, String> {
        let object = super::object(&s.inputs.object)
            .ok_or_else(|| format!("unknown drift object {:?}", s.inputs.object))?;
        Ok(Response {
            plan: plan(&s.inputs, object).map_err(|e| e.to_string())?,
            pattern: crate::snapshot::known(&s.pattern)?,
            tasked: s.tasked,
        })
    }
}

/// Responses under way, by alert id; taskings by id.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Responses {
    by_alert: BTreeMap<Box<str>, Response>,
    taskings: BTreeMap<String, Box<str>>,
}

impl Responses {
    /// A SAR alert: plan, put the plan on the alert, and (when `req.task` and tasking is
    /// automatic) task the nearest units.
    pub(crate) fn respond(
        &mut self,
        cx: &mut Ctx<'_>,
        units: &BTreeMap<String, UnitFix>,
        req: Request<'_>,
    ) {
        let Request {
            alert,
            lkp,
            lkp_time,
            object,
            pattern,
            task,
        } = req;
        let c = &cx.cfg.sar;
        let inputs = SearchInputs {
            lkp,
            lkp_time,
            at: cx.now.max(lkp_time),
            object: object.to_string(),
            wind_from_deg: c.wind_from_deg,
            wind_kn: c.wind_kn,
            current_to_deg: c.current_to_deg,
            current_kn: c.current_kn,
            x_nm: 0.1,
            y_nm: 0.1,
            de_nm: None,
            fs: c.fs,
            spacing_nm: c.spacing_nm,
        };
        let Some(obj) = super::object(object) else {
            return;
        };
        let Ok(plan) = plan(&inputs, obj) else { return };
        let plan_json = serde_json::to_value(&plan).ok();
        let radius = plan.datum.radius_nm;
        cx.revise(alert, |a| {
            a.search_plan = plan_json;
            a.reasons.push(format!(
                "search plan: datum {}, radius {:.1} NM, {} pattern ({} NM track)",
                plan.datum.position,
                radius,
                pattern,
                match pattern {
                    "VS" => plan.sector.track_nm,
                    _ => plan.expanding_square.track_nm,
                }
                .round()
            ));
        });
        // The nearest capable units, for the coordinator, whether tasked or not.
        let speed = cx.cfg.sar.unit_speed_kn;
        let mut near: Vec<(f64, &String)> = units
            .iter()
            .filter(|(_, u)| u.state != Some(UnitState::Unavailable))
            .filter_map(|(id, u)| {
                Some((
                    u.position?.distance_m(plan.datum.position) / METERS_PER_NM,
                    id,
                ))
            })
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        if !near.is_empty() {
            let list: Vec<String> = near
                .iter()
                .take(3)
                .map(|(d, id)| {
                    format!(
                        "{id} {d:.1} NM (ETA {:.0} min at {speed} kn)",
                        d / speed * 60.0
                    )
                })
                .collect();
            cx.revise(alert, |a| {
                a.reasons
                    .push(format!("nearest available units: {}", list.join(", ")))
            });
        }
        self.by_alert.insert(
            alert.into(),
            Response {
                plan,
                pattern,
                tasked: Vec::new(),
            },
        );
        if task && cx.cfg.sar.auto_task {
            for _ in 0..cx.cfg.sar.task_units {
                self.task_next(cx, units, alert);
            }
        }
    }

    /// Task the nearest available unit not yet tasked for `alert`.
    fn task_next(&mut self, cx: &mut Ctx<'_>, units: &BTreeMap<String, UnitFix>, alert: &str) {
        let Some(r) = self.by_alert.get_mut(alert) else {
            return;
        };
        let datum = r.plan.datum.position;
        let speed = cx.cfg.sar.unit_speed_kn;
        let nearest = units
            .iter()
            .filter(|(id, u)| {
                u.state != Some(UnitState::Unavailable) && !r.tasked.iter().any(|(t, _)| t == *id)
            })
            .filter_map(|(id, u)| Some((id, u.position?.distance_m(datum) / METERS_PER_NM)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)));
        let Some((unit, distance_nm)) = nearest else {
            let why = if r.tasked.is_empty() {
                "no patrol unit with a known position is available: task one by hand"
            } else {
                "no further patrol unit with a known position is available: task one by hand"
            };
            cx.revise(alert, |a| a.reasons.push(why.to_string()));
            return;
        };
        let eta_min = distance_nm / speed * 60.0;
        let pattern = match r.pattern {
            "VS" => &r.plan.sector,
            _ => &r.plan.expanding_square,
        };
        let id = format!("task-{alert}-{unit}");
        let tasking = Tasking {
            id: id.clone(),
            time: cx.now,
            unit: unit.clone(),
            kind: "sar".into(),
            alert: alert.to_string(),
            instructions: format!(
                "Proceed at best speed to the datum {} and search: {} pattern from there, first leg {:.0}°, spacing {:.1} NM. Persons may be in the water: rescue first. Answer `ack {id}` or `decline {id} REASON`.",
                r.plan.datum.position, pattern.code, pattern.first_leg_deg, pattern.spacing_nm
            ),
            datum,
            pattern: Some(pattern.code.to_string()),
            spacing_nm: Some(pattern.spacing_nm),
            waypoints: pattern.waypoints.clone(),
            distance_nm,
            eta_min,
        };
        r.tasked.push((unit.clone(), false));
        self.taskings.insert(id.clone(), alert.into());
        let unit = unit.clone();
        cx.revise(alert, |a| {
            a.reasons.push(format!(
                "tasked {unit}: {distance_nm:.1} NM from the datum, ETA {eta_min:.0} min at {speed} kn (tasking {id})"
            ));
        });
        cx.out.push(FusionEvent::Tasking(tasking));
    }

    /// A unit answered a tasking.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_ack(
        &mut self,
        cx: &mut Ctx<'_>,
        units: &BTreeMap<String, UnitFix>,
        unit: &str,
        tasking: &str,
        accepted: bool,
        reason: Option<&str>,
        time: Timestamp,
    ) {
        let Some(alert) = self.taskings.get(tasking).cloned() else {
            return;
        };
        let Some(r) = self.by_alert.get_mut(&alert) else {
            return;
        };
        let Some(entry) = r.tasked.iter_mut().find(|(u, _)| u == unit) else {
            return;
        };
        if accepted {
            cx.revise(&alert, |a| {
                a.reasons.push(format!(
                    "{unit} accepted tasking {tasking} at {time}: proceeding"
                ));
            });
            return;
        }
        entry.1 = true;
        let reason = reason.unwrap_or("no reason given").to_string();
        cx.revise(&alert, |a| {
            a.reasons.push(format!(
                "{unit} declined tasking {tasking} at {time}: {reason}"
            ));
        });
        if cx.cfg.sar.auto_task {
            self.task_next(cx, units, &alert);
        }
    }
}
