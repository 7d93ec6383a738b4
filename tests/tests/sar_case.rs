//! The SAR case through the console's API, as the SAR mission coordinator takes it: its
//! suspension and termination (R22), judged on what the incident's case file records.

use serde_json::{Value, json};

use crate::console_api::{TestConsole, password};

/// A console with a SAR incident opened from a beacon; its id.
async fn sar_incident(t: &TestConsole) -> String {
    t.add_role_users();
    t.sar_incident("sart-22", 970022022).await
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

    // The twelfth found, then one of them lost overboard: a person recorded missing is not
    // accounted for, whatever the count of tags says.
    assert_eq!(bo.post(&case_path, rescue(1)).await.status, 201);
    let act = |action: Value| {
        json!({"action": action, "why": "recorded on scene",
               "position": {"lat": 35.21, "lon": 12.88}})
    };
    let missing = |what: &str| {
        act(json!({"type": "person_missing", "tag": "cp-302-0003", "circumstances": what}))
    };
    let r = bo.post(&case_path, missing(" ")).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("R22"), "{}", r.text());
    let r = bo
        .post(&case_path, missing("washed off the deck by a wave"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let terminate = json!({"action": "terminate_all_accounted_for", "persons_reported": 12,
                           "rationale": "all persons safe"});
    let r = smc.post(&status, terminate.clone()).await;
    assert_eq!(r.status, 409, "{}", r.text());
    let m = r.json()["message"].as_str().unwrap().to_owned();
    assert!(
        m.starts_with("R22: 11 of the 12") && m.contains("1 missing"),
        "{m}"
    );
    // Found again; another died on board: the dead are accounted for.
    let found = act(json!({"type": "person_found", "tag": "cp-302-0003", "unit": "cp-302"}));
    assert_eq!(bo.post(&case_path, found).await.status, 201);
    let died = act(json!({"type": "person_died", "tag": "cp-302-0004",
                          "circumstances": "cardiac arrest after recovery"}));
    assert_eq!(bo.post(&case_path, died).await.status, 201);
    let file = bo.get(&case_path).await.json();
    let status_of = |tag: &str| {
        file["persons"]["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["tag"] == tag)
            .map(|p| p["status"].clone())
            .unwrap()
    };
    assert_eq!(status_of("cp-302-0003"), json!({"on_board": "cp-302"}));
    assert_eq!(status_of("cp-302-0004"), json!("died"));

    // Everyone found, but on board cp-302: the rescue is not over until they are delivered
    // to a place of safety (DOMAIN §3.3, invariant 3).
    let r = smc.post(&status, terminate.clone()).await;
    assert_eq!(r.status, 409, "{}", r.text());
    let m = r.json()["message"].as_str().unwrap().to_owned();
    assert!(
        m.starts_with("R22: 11 persons rescued are still on board"),
        "{m}"
    );
    let place = act(
        json!({"type": "place_of_safety", "name": "Porto Empedocle", "state": "IT",
                           "rationale": "the port the RCC assigned"}),
    );
    let r = smc.post(&case_path, place).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let land = act(json!({"type": "disembark", "unit": "cp-302"}));
    let r = bo.post(&case_path, land).await;
    assert_eq!(r.status, 201, "{}", r.text());

    // Terminated, with the ground and the count in the case and the log.
    let r = smc
        .post(
            &status,
            json!({"action": "terminate_all_accounted_for", "persons_reported": 12,
                   "rationale": "eleven landed at Porto Empedocle, one died on board"}),
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
    assert_eq!(
        entry["why"],
        "eleven landed at Porto Empedocle, one died on board"
    );

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

/// Review 23 (R19, R21): a distress report opens its SAR case in distress when the watch says
/// so, and an interception's incident, escalated without a SAR case, gets one from the SAR
/// mission coordinator's phase (it had none, and no way to open one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r19_a_distress_report_opens_in_distress_and_an_interception_gets_a_sar_case() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    t.alert("sight-1", "distress", "critical", 1, 970022023)
        .await;
    t.alert("rv-1", "rendezvous", "high", 1, 247000123).await;
    let c = t.running.console.clone();
    t.wait(|| c.picture().alerts_at(None, true).len() == 2)
        .await;
    let mut wo = t.client();
    wo.login("watch_officer", &password("watch_officer")).await;
    let mut smc = t.client();
    smc.login("sar_coordinator", &password("sar_coordinator"))
        .await;

    let r = wo
        .post(
            "/api/alerts/sight-1/escalate",
            json!({"sar_phase": "distress"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let inc = r.json()["triage"]["incident"].as_str().unwrap().to_owned();
    let case = smc.get(&format!("/api/sar/{inc}")).await.json();
    assert_eq!(case["case"]["phase"], "distress", "{case}");

    let r = wo.post("/api/alerts/rv-1/escalate", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let le = r.json()["triage"]["incident"].as_str().unwrap().to_owned();
    assert_eq!(smc.get(&format!("/api/sar/{le}")).await.status, 404);
    let phase = format!("/api/sar/{le}/phase");
    let declare =
        json!({"phase": "distress", "rationale": "the craft intercepted is taking water"});
    assert_eq!(wo.post(&phase, declare.clone()).await.status, 403);
    let r = smc
        .post(&phase, json!({"phase": "distress", "rationale": " "}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(smc.get(&format!("/api/sar/{le}")).await.status, 404);
    let r = smc.post(&phase, declare).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["case"]["phase"], "distress");
    // Its phases go on as any SAR case's; the opening is in the incident's log.
    let r = smc
        .post(
            &phase,
            json!({"phase": "alert", "rationale": "pumping holds, all aboard"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let log = smc.get(&format!("/api/incidents/{le}/log")).await.json();
    let whys: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["why"].as_str())
        .collect();
    assert!(
        whys.contains(&"the craft intercepted is taking water"),
        "{whys:?}"
    );
}
