//! Entry points of the fuzz targets in `ops-console/fuzz` (cargo-fuzz): what a hostile client
//! can send, driven through the code that reads it. Not for anything else.

use std::cell::RefCell;

use crate::console::auth::Role;
use crate::console::store::Store;
use tidewatch_cases::casefile::{Action, Reference, Who};
use tidewatch_cases::log::{EventType, LogActor, LogPosition, NewEntry, TimeSource};

pub use tidewatch_broker::fuzz::mqtt_front;

thread_local! {
    static DESK: RefCell<Option<(Store, Reference, usize)>> = const { RefCell::new(None) };
}

/// A case action as a client sends it (JSON), applied by every role through the store's
/// case action, on an incident where persons were rescued: refused or applied, never a
/// panic. The store is made anew every 500 inputs, so that a long run stays fast.
pub fn case_action(data: &[u8]) {
    let Ok(action) = serde_json::from_slice::<Action>(data) else {
        return;
    };
    DESK.with(|d| {
        let mut d = d.borrow_mut();
        if d.as_ref().is_none_or(|(_, _, n)| *n >= 500) {
            let store = Store::in_memory().expect("an in-memory store");
            let reference = Reference::default_demo();
            let rescue = Action::Rescue {
                unit: "cp-302".into(),
                count: 5,
            };
            let _ = apply(&store, &reference, Role::BoardingOfficer, &rescue);
            *d = Some((store, reference, 0));
        }
        let (store, reference, n) = d.as_mut().expect("made above");
        *n += 1;
        for role in Role::ALL {
            let _ = apply(store, reference, role, &action);
        }
    });
}

fn apply(store: &Store, reference: &Reference, role: Role, action: &Action) -> Result<(), String> {
    let now = jiff::Timestamp::now();
    let entry = NewEntry {
        occurred_at: now,
        time_source: TimeSource::Ntp,
        actor: LogActor {
            user: role.as_str().into(),
            role: role.as_str().into(),
            unit: None,
            on_behalf_of: None,
        },
        event: EventType::Note,
        position: Some(LogPosition {
            lat: 35.2,
            lon: 12.9,
            accuracy_nm: 0.1,
        }),
        zone: None,
        why: "fuzz".into(),
        details: serde_json::Value::Null,
        corrects: None,
        late_reason: None,
        occurred_at_given: None,
    };
    let who = Who {
        user: role.as_str().into(),
        role,
    };
    match store.case_action("INC-FUZZ", &who, action, entry, now, reference) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(r)) => Err(r.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fuzz_entry_points_take_their_seeds() {
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        let mut n = 0;
        for (target, f) in [
            ("case_action", super::case_action as fn(&[u8])),
            ("mqtt_front", super::mqtt_front),
        ] {
            for e in std::fs::read_dir(seeds.join(target)).unwrap() {
                f(&std::fs::read(e.unwrap().path()).unwrap());
                n += 1;
            }
        }
        assert!(n >= 4, "{n}");
    }
}
