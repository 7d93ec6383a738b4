//! Case-file actions of requests where we are the flag State: received, the registry checked, decided, answered, results.

use super::*;

impl CaseFile {
    pub(super) fn apply_incoming(
        &mut self,
        action: &Action,
        cx: Cx<'_>,
    ) -> Result<Option<serde_json::Value>, Refused> {
        use Action::*;
        let Cx { who, at, .. } = cx;
        let json = |v: serde_json::Value| Ok(Some(v));
        match action {
            IncomingRequest {
                requesting_state,
                authority,
                their_ref,
                our_ref,
            } => {
                let r = crate::flag_state::IncomingRequest::received(
                    requesting_state.trim(),
                    authority.trim(),
                    their_ref.trim(),
                    our_ref.trim(),
                    at,
                )
                .map_err(|e| refuse("R15", e.0))?;
                self.incoming.push(r);
                json(serde_json::json!({"request": self.incoming.len()}))
            }
            IncomingRegistry {
                request,
                result,
                evidence,
            } => {
                self.incoming_request(*request)?
                    .registry_checked(*result, evidence)
                    .map_err(|e| refuse("state", e.0))?;
                Ok(None)
            }
            IncomingDecision {
                request,
                measures,
                conditions,
                jurisdiction_reserved,
            } => {
                self.incoming_request(*request)?
                    .decide(
                        &who.user,
                        measures.clone(),
                        conditions.clone(),
                        *jurisdiction_reserved,
                    )
                    .map_err(|e| refuse("R03", e.0))?;
                Ok(None)
            }
            IncomingRespond { request } => {
                self.incoming_request(*request)?
                    .respond(at)
                    .map_err(|e| refuse("state", e.0))?;
                Ok(None)
            }
            IncomingResults { request } => {
                self.incoming_request(*request)?
                    .results_received(at)
                    .map_err(|e| refuse("state", e.0))?;
                Ok(None)
            }
            _ => unreachable!("dispatched by CaseFile::apply_inner"),
        }
    }
}
