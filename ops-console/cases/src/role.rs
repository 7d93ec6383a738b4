//! Who acts, and what each role may do: the one role type of Tidewatch and its two tables,
//! checked at compile time (every `match` below is exhaustive, so a new role, permission or
//! action does not build until someone decides who may use it).
//!
//! - [`Role::can`]: what a role may see and do in the console (one [`Permission`] per
//!   endpoint family).
//! - [`Role::may_take`]: which case-file actions a role may take ([`ActionKind`]).

use serde::{Deserialize, Serialize};

use crate::casefile::ActionKind;

/// The roles of RULES.md
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operations-centre watch officer: the picture, first intake of alerts.
    WatchOfficer,
    /// SAR mission coordinator: owns search and rescue cases.
    #[serde(alias = "sar_mission_coordinator")]
    SarCoordinator,
    /// Patrol commander / boarding officer.
    BoardingOfficer,
    /// Investigator: builds the case against smugglers.
    Investigator,
    /// Liaison officer of a partner State: only what is released to their State.
    PartnerLiaison,
    /// Auditor / oversight: read-only, the complete audit log.
    Auditor,
    /// System administrator: accounts, no operational data.
    Admin,
    /// Officer of the authority designated under art. 8(6): sends and receives flag-State
    /// requests and replies.
    DutyOfficer,
    /// Legal adviser: art. 8(7) determinations, legal reviews.
    LegalAdviser,
    /// Protection officer / medical lead: vulnerability and asylum records, the only role
    /// that sees what a person said when asking for protection (R40).
    ProtectionOfficer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 10] = [
        Role::WatchOfficer,
        Role::SarCoordinator,
        Role::BoardingOfficer,
        Role::Investigator,
        Role::PartnerLiaison,
        Role::Auditor,
        Role::Admin,
        Role::DutyOfficer,
        Role::LegalAdviser,
        Role::ProtectionOfficer,
    ];

    /// The stable name (`watch_officer`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::WatchOfficer => "watch_officer",
            Role::SarCoordinator => "sar_coordinator",
            Role::BoardingOfficer => "boarding_officer",
            Role::Investigator => "investigator",
            Role::PartnerLiaison => "partner_liaison",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::DutyOfficer => "duty_officer",
            Role::LegalAdviser => "legal_adviser",
            Role::ProtectionOfficer => "protection_officer",
        }
    }

    /// May this role do `p`? The one table of who may do what.
    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            // The operational picture (tracks, units, alerts), and an incident's case file
            // (article-8 cases, persons, evidence), each part as the role may see it (R40,
            // R60; its actions are checked per role by `may_take`): every operational role
            // and oversight. A partner State's liaison sees only what is released to its State
            // (R52); the administrator has no data access.
            ViewPicture | ViewCase => matches!(
                self,
                WatchOfficer
                    | SarCoordinator
                    | BoardingOfficer
                    | Investigator
                    | Auditor
                    | DutyOfficer
                    | LegalAdviser
                    | ProtectionOfficer
            ),
            // First intake of alerts: the watch officer; the SMC for rescue alerts and
            // any other it picks up. The auditor is read-only.
            TriageAlerts => matches!(self, WatchOfficer | SarCoordinator),
            // Service health: the watch, the SMC, the administrator, oversight.
            ViewStatus => matches!(self, WatchOfficer | SarCoordinator | Admin | Auditor),
            ManageUsers => matches!(self, Admin),
            // The phases of a SAR case: its coordinator only (R19).
            CoordinateSar => matches!(self, SarCoordinator),
            // The complete audit log: oversight.
            ViewAudit => matches!(self, Auditor),
            // Asking to read an incident's personal data unmasked, and approving another
            // auditor's request: oversight (R58).
            Unmask => matches!(self, Auditor),
            // What happened in an incident, as it happens: the operational roles; the
            // auditor reads it, never writes (R59).
            RecordInterception => matches!(
                self,
                WatchOfficer
                    | SarCoordinator
                    | BoardingOfficer
                    | Investigator
                    | DutyOfficer
                    | LegalAdviser
                    | ProtectionOfficer
            ),
            // The investigator's export for a court (R49: intelligence-only items stay out).
            ExportCase => matches!(self, Investigator),
            // A partner State's liaison officer: only items released to their State (R52).
            ViewReleased => matches!(self, PartnerLiaison),
            // The second person for an account the administrator asks for with a role that
            // sees operational data: the SAR mission coordinator, who runs the operations
            // centre's watch and knows who joins it (separation of duties).
            ApproveAccounts => matches!(self, SarCoordinator),
        }
    }

    /// Does this role see operational data (the picture, case files, releases, the audit
    /// log)? Such an account asked for through the API stays inactive until someone with
    /// [`Permission::ApproveAccounts`] approves it; only an administrator's does not.
    pub fn needs_approval(self) -> bool {
        self.permissions()
            .iter()
            .any(|p| !matches!(p, Permission::ManageUsers | Permission::ViewStatus))
    }

    /// May this role take actions of this kind on a case file (R14, R21, R24, R36, R59, R60)?
    /// The one table of who does what to a case file; a role not named for a kind may not.
    pub fn may_take(self, kind: ActionKind) -> bool {
        use ActionKind::*;
        use Role::*;
        match kind {
            OpenArt8 => matches!(self, WatchOfficer | DutyOfficer | BoardingOfficer),
            // Messages with the flag State: the authority designated under art. 8(6).
            NotifyFlagState | RegistryReply | RequestAuthorization | RecordAuthorization
            | RecordRefusal | DeemedAuthorization | ReportResults | WithdrawArt8 | CloseArt8
            | DecideCompensation => {
                matches!(self, DutyOfficer)
            }
            StatelessDetermination => matches!(self, LegalAdviser),
            IncomingRequest | IncomingRegistry | IncomingDecision | IncomingRespond
            | IncomingResults => matches!(self, DutyOfficer),
            // On scene: the patrol commander / boarding officer.
            AcknowledgeCondition | Board | Search | SearchOutcome | FinaliseBoarding | Measure
            | ConditionCompliance => matches!(self, BoardingOfficer),
            // Rescue first: every operational role may record a life-saving action (R21).
            ImminentDanger => matches!(
                self,
                WatchOfficer | SarCoordinator | BoardingOfficer | DutyOfficer
            ),
            Rescue | Headcount | TransferOut | TransferReceived | Disembark | Medevac
            | PersonMissing | PersonFound | PersonDied => {
                matches!(self, SarCoordinator | BoardingOfficer)
            }
            Vulnerability => matches!(self, SarCoordinator | BoardingOfficer | ProtectionOfficer),
            Asylum | AsylumRestricted => matches!(self, ProtectionOfficer),
            // R24: a legal or protection override.
            ProtectionOverride => matches!(self, ProtectionOfficer | LegalAdviser),
            Referral => matches!(self, ProtectionOfficer | SarCoordinator | BoardingOfficer),
            PlaceOfSafety => matches!(self, SarCoordinator),
            Family | Age | Nationality => {
                matches!(self, SarCoordinator | BoardingOfficer | ProtectionOfficer)
            }
            // R37: detention is law enforcement's; R34: closing is the coordinator's or the
            // duty officer's.
            Detain => matches!(self, Investigator),
            CloseIncident => matches!(self, SarCoordinator | DutyOfficer),
            Suspect | MlaRequest | Interview | InfoItem | Release | OriginatorConsent
            | DisclosureNotice => matches!(self, Investigator),
            Seize | CustodyTransfer | CustodyReceive | Reseal => {
                matches!(self, BoardingOfficer | Investigator)
            }
            // Recorded in the name of whoever's action found it (never taken by a client).
            IntegrityIncident => matches!(self, BoardingOfficer | Investigator),
        }
    }

    /// The permissions this role has.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.can(*p))
            .collect()
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "no role {s:?}; roles: {}",
                    Role::ALL.map(Role::as_str).join(", ")
                )
            })
    }
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Tracks, units, alerts, vessel cards, replay.
    ViewPicture,
    /// Acknowledge, assign, dismiss, escalate alerts.
    TriageAlerts,
    /// The status page (ingest, fusion, broker health).
    ViewStatus,
    /// Create accounts, reset passwords, list users.
    ManageUsers,
    /// Read the audit log.
    ViewAudit,
    /// Ask to read an incident's personal data unmasked, or approve another auditor's
    /// request (R58).
    Unmask,
    /// Declare SAR phases, suspend, resume, terminate a SAR case.
    CoordinateSar,
    /// Record entries in an incident's interception log.
    RecordInterception,
    /// Read an incident's case file.
    ViewCase,
    /// Export an incident for a court.
    ExportCase,
    /// Read what was released to the user's State.
    ViewReleased,
    /// Approve an account the administrator asked for with an operational role, and
    /// receive its one-time password.
    ApproveAccounts,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 12] = [
        Permission::ViewPicture,
        Permission::TriageAlerts,
        Permission::ViewStatus,
        Permission::ManageUsers,
        Permission::ViewAudit,
        Permission::Unmask,
        Permission::CoordinateSar,
        Permission::RecordInterception,
        Permission::ViewCase,
        Permission::ExportCase,
        Permission::ViewReleased,
        Permission::ApproveAccounts,
    ];
}
