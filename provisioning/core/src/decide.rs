//! The decision the SIP side asks for every INVITE: IVR, join, or reject — with the trace of
//! every check, in order. Pure: it reads a [`Snapshot`] and `now`, nothing else.
//!
//! Checks, in order: request-URI → domain served → dial string → tenant key known →
//! conference ID well-formed (check digit, no lookup) → meeting found → not expired →
//! organizer provisioned → effective policy enables this provider → tenant consent →
//! anonymous join allowed or caller trusted → lobby or bypass.

use crate::dial::{self, DialString, DirectCandidate, Order};
use crate::model::{Consent, LobbyBypass, Meeting, Provider, Tenant, User};
use crate::video_policy::{self, Grant, PolicyType};
use crate::vtc_id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use utoipa::ToSchema;
use uuid::Uuid;

/// The rows a decision reads. The store loads just those a dial string can touch; tests and
/// benchmarks may hold a whole tenant population.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// SIP domains the gateway answers for (lowercase).
    pub served_domains: Vec<String>,
    tenants: HashMap<Uuid, Tenant>,
    providers_by_key: HashMap<String, Provider>,
    providers_by_tenant: HashMap<Uuid, Vec<Provider>>,
    users: HashMap<(Uuid, String), User>,
    grants: HashMap<Uuid, Vec<Grant>>,
    consents: HashMap<(Uuid, String), Consent>,
    meetings: HashMap<(Uuid, String), Meeting>,
}

impl Snapshot {
    pub fn new(served_domains: Vec<String>) -> Self {
        Self {
            served_domains: served_domains
                .into_iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            ..Self::default()
        }
    }
    pub fn add_tenant(&mut self, t: Tenant) {
        self.tenants.insert(t.id, t);
    }
    pub fn add_provider(&mut self, p: Provider) {
        self.providers_by_key
            .insert(p.tenant_key.to_ascii_lowercase(), p.clone());
        self.providers_by_tenant
            .entry(p.tenant_id)
            .or_default()
            .push(p);
    }
    pub fn add_user(&mut self, u: User) {
        self.users
            .insert((u.tenant_id, u.user_principal_name.to_ascii_lowercase()), u);
    }
    pub fn add_grant(&mut self, tenant_id: Uuid, g: Grant) {
        self.grants.entry(tenant_id).or_default().push(g);
    }
    pub fn add_consent(&mut self, c: Consent) {
        self.consents
            .insert((c.tenant_id, c.app_id.to_ascii_lowercase()), c);
    }
    pub fn add_meeting(&mut self, m: Meeting) {
        self.meetings
            .insert((m.tenant_id, m.video_teleconference_id.clone()), m);
    }
    fn provider(&self, key: &str) -> Option<&Provider> {
        self.providers_by_key.get(key)
    }
}

/// Who is calling, as the transport saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    /// The From URI (name-addr form accepted).
    pub from: String,
    #[schema(value_type = Option<String>)]
    pub source_address: Option<IpAddr>,
    /// The domain the caller's TLS certificate was verified for, if it came over TLS.
    pub tls_peer_domain: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Check {
    RequestUri,
    DomainServed,
    DialString,
    TenantKeyKnown,
    ConferenceIdValid,
    MeetingFound,
    NotExpired,
    OrganizerProvisioned,
    PolicyEnablesProvider,
    TenantConsent,
    AnonymousJoin,
    Lobby,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceStep {
    pub check: Check,
    pub passed: bool,
    pub detail: String,
}

/// How the caller is known to the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Trust {
    /// Authenticated by transport evidence (TLS domain or trusted subnet).
    Trusted {
        evidence: String,
    },
    /// A guest the provider is allowed to join as authenticated (AllowAppGuestJoinsAsAuthenticated).
    AppAuthenticated,
    Guest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Outcome {
    Ivr {
        tenant_id: Uuid,
        provider: String,
        tenant_key: String,
        /// The provider's prompt language.
        language: String,
    },
    Join {
        tenant_id: Uuid,
        meeting_id: Uuid,
        provider: String,
        tenant_key: String,
        order: Order,
        trust: Trust,
        lobby: bool,
        /// The caller's From URI is one of the meeting's invited rooms (one-touch join from a
        /// room calendar).
        invited_room: bool,
    },
    Reject {
        status: u16,
        reason: String,
        check: Check,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub outcome: Outcome,
    pub trace: Vec<TraceStep>,
}

impl Decision {
    pub fn is_reject(&self) -> bool {
        matches!(self.outcome, Outcome::Reject { .. })
    }
}

struct Tracer {
    trace: Vec<TraceStep>,
}

impl Tracer {
    fn pass(&mut self, check: Check, detail: impl Into<String>) {
        self.trace.push(TraceStep {
            check,
            passed: true,
            detail: detail.into(),
        });
    }
    fn reject(
        mut self,
        check: Check,
        status: u16,
        reason: &str,
        detail: impl Into<String>,
    ) -> Decision {
        self.trace.push(TraceStep {
            check,
            passed: false,
            detail: detail.into(),
        });
        Decision {
            outcome: Outcome::Reject {
                status,
                reason: reason.to_string(),
                check,
            },
            trace: self.trace,
        }
    }
}

/// Decides what to do with an INVITE to `request_uri` from `caller` at `now`.
pub fn decide(snap: &Snapshot, request_uri: &str, caller: &Caller, now: DateTime<Utc>) -> Decision {
    let mut t = Tracer { trace: Vec::new() };
    let uri = match dial::parse_sip_uri(request_uri) {
        Ok(u) => u,
        Err(e) => {
            return t.reject(
                Check::RequestUri,
                404,
                "Not Found",
                format!("request-URI unreadable: {e}"),
            );
        }
    };
    t.pass(Check::RequestUri, "sip URI");
    if !snap.served_domains.contains(&uri.host) {
        return t.reject(
            Check::DomainServed,
            404,
            "Not Found",
            format!("'{}' is not a SIP domain this gateway serves", uri.host),
        );
    }
    t.pass(Check::DomainServed, format!("'{}' is served", uri.host));
    let Some(user) = uri.user.as_deref() else {
        return t.reject(
            Check::DialString,
            404,
            "Not Found",
            "the request-URI has no user part",
        );
    };
    let dial = match dial::parse_dial_string(user, &uri.host) {
        Ok(d) => d,
        Err(e) => return t.reject(Check::DialString, 404, "Not Found", e),
    };
    match dial {
        DialString::Ivr(key) => {
            t.pass(Check::DialString, "key@domain: IVR");
            let Some(p) = snap.provider(&key.to_string()) else {
                return t.reject(
                    Check::TenantKeyKnown,
                    404,
                    "Not Found",
                    "no provider has this tenant key",
                );
            };
            t.pass(Check::TenantKeyKnown, format!("provider '{}'", p.identity));
            Decision {
                outcome: Outcome::Ivr {
                    tenant_id: p.tenant_id,
                    provider: p.identity.clone(),
                    tenant_key: p.tenant_key.clone(),
                    language: p.language.clone(),
                },
                trace: t.trace,
            }
        }
        DialString::Direct(cands) => {
            let known: Vec<(&DirectCandidate, &Provider)> = cands
                .iter()
                .filter_map(|c| snap.provider(&c.key.to_string()).map(|p| (c, p)))
                .collect();
            let forms = if cands.len() == 2 {
                "key.conf or conf.key"
            } else if cands.first().is_some_and(|c| c.order == Order::KeyConf) {
                "key.conf"
            } else {
                "conf.key"
            };
            t.pass(Check::DialString, format!("direct dial ({forms})"));
            // When both readings name a real tenant key, the one with a meeting wins; then key.conf.
            let chosen = known
                .iter()
                .find(|(c, p)| {
                    snap.meetings
                        .contains_key(&(p.tenant_id, c.conference_id.clone()))
                })
                .or_else(|| known.first());
            let Some(&(cand, provider)) = chosen else {
                return t.reject(
                    Check::TenantKeyKnown,
                    404,
                    "Not Found",
                    "no provider has this tenant key",
                );
            };
            let order = match cand.order {
                Order::KeyConf => "key.conf",
                Order::ConfKey => "conf.key",
            };
            t.pass(
                Check::TenantKeyKnown,
                format!("provider '{}' (read as {order})", provider.identity),
            );
            join(snap, t, cand, provider, caller, now)
        }
    }
}

fn join(
    snap: &Snapshot,
    mut t: Tracer,
    cand: &DirectCandidate,
    provider: &Provider,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Decision {
    if let Err(e) = vtc_id::validate(&cand.conference_id) {
        return t.reject(Check::ConferenceIdValid, 404, "Not Found", e.message());
    }
    t.pass(Check::ConferenceIdValid, "10 digits, check digit correct");
    let tenant_id = provider.tenant_id;
    let Some(meeting) = snap.meetings.get(&(tenant_id, cand.conference_id.clone())) else {
        return t.reject(
            Check::MeetingFound,
            404,
            "Not Found",
            "no meeting of this tenant has this conference ID",
        );
    };
    t.pass(Check::MeetingFound, format!("meeting {}", meeting.id));
    if now >= meeting.expires_at {
        return t.reject(
            Check::NotExpired,
            404,
            "Not Found",
            format!("the meeting expired at {}", meeting.expires_at.to_rfc3339()),
        );
    }
    t.pass(
        Check::NotExpired,
        format!("expires at {}", meeting.expires_at.to_rfc3339()),
    );
    let organizer = snap
        .users
        .get(&(tenant_id, meeting.organizer.to_ascii_lowercase()))
        .filter(|u| !u.deprovisioned);
    let Some(organizer) = organizer else {
        return t.reject(
            Check::OrganizerProvisioned,
            403,
            "Forbidden",
            "the organizer is deprovisioned or unknown",
        );
    };
    t.pass(Check::OrganizerProvisioned, "organizer provisioned");
    let grants = snap
        .grants
        .get(&tenant_id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let eff = video_policy::effective(
        grants,
        PolicyType::VideoInterop,
        organizer,
        video_policy::GLOBAL,
    );
    let tenant_providers = snap
        .providers_by_tenant
        .get(&tenant_id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let enabled = video_policy::enabled_provider(&eff.policy_name, tenant_providers);
    let source = match &eff.source {
        video_policy::GrantSource::User => "user grant".to_string(),
        video_policy::GrantSource::Group { group, rank } => format!("group '{group}' rank {rank}"),
        video_policy::GrantSource::Global => "tenant Global grant".to_string(),
        video_policy::GrantSource::Default => "no grant".to_string(),
    };
    match enabled {
        Some(p) if p.identity == provider.identity => t.pass(
            Check::PolicyEnablesProvider,
            format!(
                "organizer's effective policy {} ({source})",
                eff.policy_name
            ),
        ),
        _ => {
            return t.reject(
                Check::PolicyEnablesProvider,
                403,
                "Forbidden",
                format!(
                    "organizer's effective policy {} ({source}) does not enable provider '{}'",
                    eff.policy_name, provider.identity
                ),
            );
        }
    }
    let consent = provider.aad_application_ids.iter().find(|app| {
        snap.consents
            .get(&(tenant_id, app.to_ascii_lowercase()))
            .is_some_and(Consent::is_complete)
    });
    match consent {
        Some(app) => t.pass(
            Check::TenantConsent,
            format!("tenant consented to application {app}"),
        ),
        None => {
            return t.reject(
                Check::TenantConsent,
                403,
                "Forbidden",
                "the tenant has not consented to the provider's application permissions",
            );
        }
    }
    let trust = trust_of(snap.tenants.get(&tenant_id), meeting, provider, caller);
    let settings = &meeting.settings;
    match (&trust, settings.allow_anonymous_join) {
        (_, true) => t.pass(Check::AnonymousJoin, "anonymous join allowed"),
        (Trust::Guest, false) => {
            return t.reject(
                Check::AnonymousJoin,
                403,
                "Forbidden",
                "anonymous join is off and the caller is not trusted",
            );
        }
        (Trust::Trusted { evidence }, false) => {
            t.pass(Check::AnonymousJoin, format!("trusted caller ({evidence})"))
        }
        (Trust::AppAuthenticated, false) => t.pass(
            Check::AnonymousJoin,
            "provider joins guests as authenticated",
        ),
    }
    let from_invited = dial::parse_sip_uri(&caller.from).ok().is_some_and(|f| {
        settings
            .invited_rooms
            .iter()
            .any(|r| dial::parse_sip_uri(r).is_ok_and(|r| r.user == f.user && r.host == f.host))
    });
    let authenticated = !matches!(trust, Trust::Guest);
    let bypass = match settings.lobby_bypass {
        LobbyBypass::Everyone => true,
        LobbyBypass::Organization => authenticated,
        LobbyBypass::Invited => {
            matches!(trust, Trust::AppAuthenticated) || (authenticated && from_invited)
        }
        LobbyBypass::OrganizersOnly => false,
    };
    t.pass(
        Check::Lobby,
        format!(
            "lobbyBypass={}: {}",
            settings.lobby_bypass.as_str(),
            if bypass {
                "bypasses the lobby"
            } else {
                "waits in the lobby"
            }
        ),
    );
    Decision {
        outcome: Outcome::Join {
            tenant_id,
            meeting_id: meeting.id,
            provider: provider.identity.clone(),
            tenant_key: provider.tenant_key.clone(),
            order: cand.order,
            trust,
            lobby: !bypass,
            invited_room: from_invited,
        },
        trace: t.trace,
    }
}

fn trust_of(
    tenant: Option<&Tenant>,
    meeting: &Meeting,
    provider: &Provider,
    caller: &Caller,
) -> Trust {
    if let Some(d) = caller.tls_peer_domain.as_deref() {
        let d = d.to_ascii_lowercase();
        let verified = tenant.is_some_and(|t| t.verified_domains.contains(&d));
        let listed = meeting
            .settings
            .trusted_tls_domains
            .iter()
            .any(|v| v.eq_ignore_ascii_case(&d));
        if verified || listed {
            return Trust::Trusted {
                evidence: format!("TLS peer {d}"),
            };
        }
    }
    if let Some(ip) = caller.source_address
        && let Some(net) = meeting
            .settings
            .trusted_subnets
            .iter()
            .find(|n| n.contains(&ip))
    {
        return Trust::Trusted {
            evidence: format!("source in {net}"),
        };
    }
    if provider.allow_app_guest_joins_as_authenticated {
        return Trust::AppAuthenticated;
    }
    Trust::Guest
}
