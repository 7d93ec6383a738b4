//! The SAR case through the console's API, as the SAR mission coordinator takes it: its
//! suspension and termination (R22), judged on what the incident's case file records.

use serde_json::{Value, json};

use crate::console_api::{TestConsole, password};

/// A console with a SAR incident opened from a beacon; its id.
async fn sar_incident(t: &TestConsole) -> String {
    t.add_role_users();
    t.alert("sart-22", "sar_beacon", "critical", 1, 970022022)
        .await;
    let c = t.running.console.clone();
    t.wait(|| c.picture().alerts_at(None, true).len() == 1)
        .await;
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let r = wo.post("/api/alerts/sart-22/escalate", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["triage"]["incident"].as_str().unwrap().to_owned()
}

fn last_event(case: &Value) -> &Value {
    case["case"]["log"].as_array().unwrap().last().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_a_sar_case_is_terminated_only_when_everyone_reported_is_accounted_for_or_hope_is_gone()
{
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    let inc = sar_incident(&t).await;
    let status = format!("/api/sar/{inc}/status");
    let mut smc = t.client();
    smc.login("sar_coordinator", &password("sar_coordinator"))
        .await;

    // Only the coordinator, and never without a rationale.
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let r = wo
        .post(
            &status,
            json!({"action": "terminate_no_reasonable_hope", "rationale": "x"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = smc
        .post(
            &status,
            json!({"action": "terminate_all_accounted_for", "persons_reported": 12, "rationale": " "}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Twelve reported on board, none recorded yet: not everyone is accounted for.
    let r = smc
        .post(
            &status,
            json!({"action": "terminate_all_accounted_for", "persons_reported": 12,
                   "rationale": "all persons safe"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["error"], "refused");
    let m = r.json()["message"].as_str().unwrap().to_owned();
    assert!(m.starts_with("R22: 0 of the 12"), "{m}");
    // ... and the refusal changed nothing.
    let case = smc.get(&format!("/api/sar/{inc}")).await.json();
    assert_eq!(case["case"]["status"], "open");

    // Eleven rescued: still one short.
    let case_path = format!("/api/incidents/{inc}/case");
    let mut bo = t.client();
    bo.login("boarding_officer", &password("boarding_officer"))
        .await;
    let rescue = |n: u32| {
        json!({"action": {"type": "rescue", "unit": "cp-302", "count": n},
               "why": "taken on board from the sinking boat",
               "position": {"lat": 35.21, "lon": 12.88}})
    };
    assert_eq!(bo.post(&case_path, rescue(11)).await.status, 201);
    let r = smc
        .post(
            &status,
            json!({"action": "terminate_all_accounted_for", "persons_reported": 12,
                   "rationale": "all persons safe"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("R22: 11 of the 12"),
        "{}",
        r.text()
    );

    // The twelfth found: terminated, with the ground and the count in the case and the log.
    assert_eq!(bo.post(&case_path, rescue(1)).await.status, 201);
    let r = smc
        .post(
            &status,
            json!({"action": "terminate_all_accounted_for", "persons_reported": 12,
                   "rationale": "all twelve on board cp-302, condition stable"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let case = r.json();
    assert_eq!(case["case"]["status"], "terminated");
    let last = last_event(&case);
    assert_eq!(last["event"]["event"], "terminated");
    assert_eq!(last["event"]["ground"]["ground"], "all_accounted_for");
    assert_eq!(last["event"]["ground"]["accounted"], 12);
    assert_eq!(last["by"]["role"], "sar_coordinator");
    let log = smc.get(&format!("/api/incidents/{inc}/log")).await.json();
    let entry = log["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["details"]["status"], "terminated");
    assert_eq!(entry["details"]["accounted"], 12);
    assert_eq!(entry["why"], "all twelve on board cp-302, condition stable");

    // Terminated is for good: no resumption, no new phase.
    let r = smc
        .post(
            &status,
            json!({"action": "resume", "rationale": "new report"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let r = smc
        .post(
            &format!("/api/sar/{inc}/phase"),
            json!({"phase": "distress", "rationale": "new report"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_suspension_needs_a_rationale_and_is_undone_and_no_reasonable_hope_is_a_recorded_decision()
 {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    let inc = sar_incident(&t).await;
    let status = format!("/api/sar/{inc}/status");
    let mut smc = t.client();
    smc.login("sar_coordinator", &password("sar_coordinator"))
        .await;

    let r = smc
        .post(&status, json!({"action": "suspend", "rationale": ""}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = smc
        .post(&status, json!({"action": "resume", "rationale": "x"}))
        .await;
    assert_eq!(r.status, 409, "nothing to resume: {}", r.text());
    let r = smc
        .post(
            &status,
            json!({"action": "suspend", "rationale": "sea state 7, on-scene search impracticable until dawn"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["case"]["status"], "suspended");
    assert_eq!(last_event(&r.json())["event"]["event"], "suspended");
    let r = smc
        .post(&status, json!({"action": "suspend", "rationale": "again"}))
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let r = smc
        .post(
            &status,
            json!({"action": "resume", "rationale": "weather eased, aircraft on scene"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["case"]["status"], "open");

    // The ground is named, never implied by a field left out.
    let r = smc
        .post(
            &status,
            json!({"action": "terminate_all_accounted_for", "rationale": "x"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = smc
        .post(&status, json!({"action": "terminate", "rationale": "x"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // No one found, and the coordinator decides there is no longer any reasonable hope.
    let r = smc
        .post(
            &status,
            json!({"action": "terminate_no_reasonable_hope",
                   "rationale": "96 h of search in water at 16 C; survival time exceeded (IAMSAR table)"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["case"]["status"], "terminated");
    assert_eq!(
        last_event(&r.json())["event"]["ground"]["ground"],
        "no_reasonable_hope"
    );
    // Every change is in the audit log, by whom.
    let mut aud = t.client();
    aud.login("auditor", &password("auditor")).await;
    let audit = aud.get("/api/audit?limit=5000").await.json();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("sar_"))
        .collect();
    assert_eq!(
        actions,
        ["sar_suspend", "sar_resume", "sar_terminate"],
        "{audit}"
    );
}
