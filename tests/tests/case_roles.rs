//! Who may take each case action, through the console's API, against a table written out
//! here (not read from the code it checks): a role the table refuses gets 403, a role it
//! allows is never refused for its role, and every operational role that may record a
//! life-saving action has it recorded (R21: rescue is never blocked).

use serde_json::{Value, json};
use tidewatch_cases::casefile::ActionKind;

use crate::console_api::{ROLES, TestConsole, password};

/// Each action a user takes, with the roles that may take it.
const TABLE: &[(&str, &[&str])] = &[
    (
        "open_art8",
        &["watch_officer", "duty_officer", "boarding_officer"],
    ),
    ("notify_flag_state", &["duty_officer"]),
    ("registry_reply", &["duty_officer"]),
    ("request_authorization", &["duty_officer"]),
    ("record_authorization", &["duty_officer"]),
    ("record_refusal", &["duty_officer"]),
    ("deemed_authorization", &["duty_officer"]),
    ("stateless_determination", &["legal_adviser"]),
    ("acknowledge_condition", &["boarding_officer"]),
    ("board", &["boarding_officer"]),
    ("search", &["boarding_officer"]),
    ("search_outcome", &["boarding_officer"]),
    ("finalise_boarding", &["boarding_officer"]),
    ("measure", &["boarding_officer"]),
    ("condition_compliance", &["boarding_officer"]),
    ("report_results", &["duty_officer"]),
    ("decide_compensation", &["duty_officer"]),
    ("close_art8", &["duty_officer"]),
    ("withdraw_art8", &["duty_officer"]),
    (
        "imminent_danger",
        &[
            "watch_officer",
            "sar_coordinator",
            "boarding_officer",
            "duty_officer",
        ],
    ),
    ("rescue", &["sar_coordinator", "boarding_officer"]),
    ("headcount", &["sar_coordinator", "boarding_officer"]),
    (
        "vulnerability",
        &["sar_coordinator", "boarding_officer", "protection_officer"],
    ),
    ("asylum", &["protection_officer"]),
    (
        "referral",
        &["protection_officer", "sar_coordinator", "boarding_officer"],
    ),
    ("transfer_out", &["sar_coordinator", "boarding_officer"]),
    (
        "transfer_received",
        &["sar_coordinator", "boarding_officer"],
    ),
    ("place_of_safety", &["sar_coordinator"]),
    (
        "protection_override",
        &["protection_officer", "legal_adviser"],
    ),
    ("disembark", &["sar_coordinator", "boarding_officer"]),
    ("medevac", &["sar_coordinator", "boarding_officer"]),
    ("person_missing", &["sar_coordinator", "boarding_officer"]),
    ("person_found", &["sar_coordinator", "boarding_officer"]),
    ("person_died", &["sar_coordinator", "boarding_officer"]),
    (
        "nationality",
        &["sar_coordinator", "boarding_officer", "protection_officer"],
    ),
    ("suspect", &["investigator"]),
    ("detain", &["investigator"]),
    (
        "family",
        &["sar_coordinator", "boarding_officer", "protection_officer"],
    ),
    (
        "age",
        &["sar_coordinator", "boarding_officer", "protection_officer"],
    ),
    ("close_incident", &["sar_coordinator", "duty_officer"]),
    ("seize", &["boarding_officer", "investigator"]),
    ("custody_transfer", &["boarding_officer", "investigator"]),
    ("mla_request", &["investigator"]),
    ("interview", &["investigator"]),
    ("info_item", &["investigator"]),
    ("release", &["investigator"]),
    ("originator_consent", &["investigator"]),
    ("disclosure_notice", &["investigator"]),
    ("incoming_request", &["duty_officer"]),
    ("incoming_registry", &["duty_officer"]),
    ("incoming_decision", &["duty_officer"]),
    ("incoming_respond", &["duty_officer"]),
    ("incoming_results", &["duty_officer"]),
    ("custody_receive", &["boarding_officer", "investigator"]),
    ("reseal", &["boarding_officer", "investigator"]),
];

/// The life-saving actions, with a body that succeeds on a fresh SAR incident: every role
/// the table allows has them recorded.
const LIFE_SAVING: &[&str] = &["imminent_danger", "rescue", "headcount", "vulnerability"];

fn msg() -> Value {
    json!({"authority": "Flag State MRCC", "channel": "e-mail", "our_ref": "IT-1",
           "content": "text of the message"})
}

/// A body of each type that the API reads (whether the rules then accept it is another
/// matter).
fn sample(kind: &str) -> Value {
    let welfare = json!({"injuries": "none", "medical_care": "none", "food_water": "given",
                         "use_of_force": "none"});
    match kind {
        "open_art8" => {
            json!({"target": "MV Aurora", "vessel_kind": "private", "grounds": "going dark"})
        }
        "notify_flag_state" => json!({"case": 1, "flag": "PA", "message": msg()}),
        "registry_reply" => json!({"case": 1, "confirmed": true, "message": msg()}),
        "request_authorization" => {
            json!({"case": 1, "measures": ["board"], "message": msg()})
        }
        "record_authorization" => json!({"case": 1, "reference": "PA-1", "issued_by": "Director",
            "measures": ["board"], "conditions": [], "registry_in_same_reply": false,
            "message": msg()}),
        "record_refusal" => {
            json!({"case": 1, "grounds": "the vessel's master is not suspected", "message": msg()})
        }
        "deemed_authorization" | "search" | "close_art8" => json!({"case": 1}),
        "stateless_determination" => json!({"case": 1, "facts": "no flag, no papers"}),
        "acknowledge_condition" => json!({"case": 1, "condition": 1}),
        "board" => json!({"case": 1, "unit": "cp-301"}),
        "search_outcome" => json!({"case": 1, "evidence": false}),
        "finalise_boarding" => json!({"case": 1, "welfare": welfare}),
        "measure" => json!({"case": 1, "kind": "divert_to_port", "unit": "cp-301"}),
        "condition_compliance" => json!({"case": 1, "condition": 1, "complied": true}),
        "report_results" => json!({"case": 1, "message": msg()}),
        "decide_compensation" => json!({"case": 1, "decision": "none due"}),
        "withdraw_art8" => json!({"case": 1, "reason": "vessel identified as ours"}),
        "imminent_danger" => json!({"action": "towed clear of the breakers",
            "danger": "engine fire on board", "persons_at_risk": 5}),
        "rescue" => json!({"unit": "cp-302", "count": 2}),
        "headcount" => json!({"unit": "cp-302", "alive": 2, "deceased": 0}),
        "vulnerability" => json!({"tag": "cp-302-0001", "flag": "MED_EMERG"}),
        "asylum" => {
            json!({"tag": "cp-302-0001", "summary": "fears return", "blocked_states": ["LY"]})
        }
        "referral" => json!({"tag": "cp-302-0001", "to": "UNHCR", "reasons": ["ASYLUM"]}),
        "transfer_out" => json!({"tags": ["cp-302-0001"], "from": "cp-302", "to": "cp-301"}),
        "transfer_received" => json!({"transfer": 1, "tags": ["cp-302-0001"]}),
        "place_of_safety" => json!({"name": "Porto Empedocle", "state": "IT",
            "rationale": "assigned by the RCC"}),
        "protection_override" => {
            json!({"tag": "cp-302-0001", "state": "LY", "justification": "fear withdrawn"})
        }
        "disembark" => json!({"unit": "cp-302"}),
        "suspect" => json!({"tag": "cp-302-0001", "offences": ["smuggling"], "grounds": "steered"}),
        "detain" => json!({"tag": "cp-302-0001", "legal_basis": "order 1/2026",
            "consular_not_applicable": "national of the arresting State"}),
        "family" => json!({"tags": ["cp-302-0001", "cp-302-0002"]}),
        "age" => json!({"tag": "cp-302-0001", "years": 30, "provenance": "declared"}),
        "close_incident" => json!({}),
        "medevac" => json!({"tags": ["cp-302-0001"], "unit": "cp-302",
            "facility": "helicopter to Palermo"}),
        "person_missing" | "person_died" => {
            json!({"tag": "cp-302-0001", "circumstances": "recorded in the role table"})
        }
        "person_found" => json!({"tag": "cp-302-0001", "unit": "cp-302"}),
        "nationality" => {
            json!({"tag": "cp-302-0001", "state": "SY", "provenance": "declared"})
        }
        "seize" => json!({"description": "phone", "found": "deck", "seal": "S-1",
            "place": "locker", "files": [], "legal_basis": "warrant 1/2026"}),
        "custody_transfer" => json!({"exhibit": "X/EX-0001", "to": "investigator",
            "seal": "S-1", "place": "quay"}),
        "mla_request" => json!({"to": "Ministry of Justice", "our_ref": "MLA-1",
            "requesting_authority": "Procura", "subject_and_nature": "smuggling",
            "facts_summary": "boat intercepted", "assistance_sought": "records",
            "purpose": "identify the owner", "state": "PA"}),
        "interview" => json!({"tag": "cp-302-0001", "as_suspect": false, "language": "en",
            "interviewer_languages": ["en"], "legal_advice_given": false}),
        "info_item" => json!({"content": "a phone number", "evidence": false,
            "originator": "MT", "originator_ref": "MT-1", "purposes": ["investigation"],
            "recipients": ["GR"]}),
        "release" => json!({"item": "IX-1", "to_state": "GR"}),
        "originator_consent" => {
            json!({"item": "IX-1", "purpose": "prosecution", "reference": "MT-C-1"})
        }
        "disclosure_notice" => json!({"item": "IX-1", "before": true, "text": "MT-N-1"}),
        "incoming_request" => json!({"requesting_state": "GR", "authority": "HCG JRCC",
            "their_ref": "GR-1", "our_ref": "IT-IN-1"}),
        "incoming_registry" => {
            json!({"request": 1, "result": "confirmed", "evidence": "registry extract"})
        }
        "incoming_decision" => json!({"request": 1, "measures": [], "conditions": [],
            "jurisdiction_reserved": false}),
        "incoming_respond" | "incoming_results" => json!({"request": 1}),
        "custody_receive" => json!({"exhibit": "X/EX-0001", "seal": "S-1"}),
        "reseal" => json!({"exhibit": "X/EX-0001", "seal": "S-2", "reason": "examined"}),
        other => panic!("no sample for {other}: add one"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_action_answers_every_role_as_its_own_table_says() {
    // The table names every action a user can take, and only those.
    let mut kinds: Vec<&str> = ActionKind::ALL
        .into_iter()
        .filter(|k| k.taken_by_users())
        .map(ActionKind::as_str)
        .collect();
    kinds.sort();
    let mut listed: Vec<&str> = TABLE.iter().map(|(k, _)| *k).collect();
    listed.sort();
    assert_eq!(listed, kinds, "the table and the actions users take differ");

    let dir = tempfile::tempdir().unwrap();
    let t = TestConsole::start(dir.path()).await;
    t.add_role_users();
    let mut clients = Vec::new();
    for role in ROLES {
        let mut c = t.client();
        c.login(role, &password(role)).await;
        clients.push((role, c));
    }
    let incident = |n: usize| {
        let t = &t;
        async move {
            let id = format!("sart-roles-{n}");
            t.alert(&id, "sar_beacon", "critical", 1, 970_000_000 + n as u32)
                .await;
            let c = t.running.console.clone();
            t.wait(|| c.picture().alerts_at(None, true).iter().any(|a| a.id == id))
                .await;
            let mut wo = t.client();
            wo.login("watch_officer", &password("watch_officer")).await;
            let r = wo
                .post(&format!("/api/alerts/{id}/escalate"), json!({}))
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()["triage"]["incident"].as_str().unwrap().to_owned()
        }
    };
    let inc = incident(0).await;
    let mut fresh = 1;
    let mut table = String::new();
    for (kind, allowed) in TABLE {
        for (role, c) in &clients {
            let may = allowed.contains(role);
            let life_saving = LIFE_SAVING.contains(kind) && may;
            // A life-saving action is taken on its own fresh incident with two persons
            // rescued, so that it can succeed.
            let on = if life_saving {
                let i = incident(fresh).await;
                fresh += 1;
                let mut smc = t.client();
                smc.login("sar_coordinator", &password("sar_coordinator"))
                    .await;
                let r = smc
                    .post(
                        &format!("/api/incidents/{i}/case"),
                        json!({"action": {"type": "rescue", "unit": "cp-302", "count": 2},
                               "why": "taken on board", "position": {"lat": 35.2, "lon": 12.9}}),
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.text());
                i
            } else {
                inc.clone()
            };
            let mut action = sample(kind);
            action["type"] = json!(kind);
            let r = c
                .post(
                    &format!("/api/incidents/{on}/case"),
                    json!({"action": action, "why": "role table",
                           "position": {"lat": 35.2, "lon": 12.9}}),
                )
                .await;
            let v = r.json();
            table.push_str(&format!("{role:<19} {kind:<24} {}\n", r.status));
            if !may {
                assert_eq!(r.status, 403, "{role} {kind} must be refused: {v}");
                assert_eq!(v["error"], "forbidden", "{role} {kind}: {v}");
            } else if life_saving {
                assert_eq!(r.status, 201, "{role} {kind} must be recorded (R21): {v}");
            } else {
                // Allowed: read, and never refused for the role (the rules may refuse
                // what the sample says, on this incident's state).
                assert_ne!(r.status, 403, "{role} {kind} must be allowed: {v}");
                assert_ne!(r.status, 400, "{role} {kind}: the sample must be read: {v}");
                let m = v["message"].as_str().unwrap_or_default();
                assert!(
                    !m.starts_with("role") && !m.starts_with("R59") && !m.starts_with("R60"),
                    "{role} {kind} refused for its role: {v}"
                );
            }
        }
    }
    eprintln!("{table}");
    t.stop().await;
}
