//! The decision function, check by check, on an in-memory snapshot.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cvi_provisioning::decide::{Caller, Check, Decision, Outcome, Snapshot, Trust, decide};
use cvi_provisioning::dial::Order;
use cvi_provisioning::model::*;
use cvi_provisioning::video_policy::{Grant, Grantee, PolicyType};
use cvi_provisioning::vtc_id;
use uuid::Uuid;

const APP: &str = "b4e4d0c8-7e3b-4c44-8b4f-1a2b3c4d5e6f";

struct World {
    tenant: Uuid,
    vtc: String,
    meeting: Meeting,
    provider: Provider,
    organizer: User,
    grants: Vec<Grant>,
    consent: Option<Consent>,
    verified: Vec<String>,
    others: Vec<Provider>,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
        .single()
        .expect("time")
}

fn world() -> World {
    let tenant = Uuid::from_u128(1);
    let mut vtc = String::from("017920684");
    vtc.push(vtc_id::check_digit(&vtc).expect("digits"));
    let organizer = User {
        tenant_id: tenant,
        user_principal_name: "alice@contoso.com".into(),
        display_name: "Alice".into(),
        groups: vec!["eng".into()],
        homing: Homing::Online,
        hybrid_voice: false,
        deprovisioned: false,
    };
    World {
        tenant,
        meeting: Meeting {
            id: Uuid::from_u128(99),
            tenant_id: tenant,
            organizer: organizer.user_principal_name.clone(),
            subject: "Weekly".into(),
            start: now(),
            end: now() + Duration::hours(1),
            expires_at: now() + Duration::days(1),
            settings: MeetingSettings::default(),
            video_teleconference_id: vtc.clone(),
            created_at: now(),
        },
        vtc,
        provider: Provider {
            tenant_id: tenant,
            identity: "Polycom".into(),
            tenant_key: "813878896@t.plcm.vc".into(),
            aad_application_ids: vec![APP.into()],
            instruction_uri: None,
            allow_app_guest_joins_as_authenticated: false,
            language: "en".into(),
        },
        grants: vec![Grant {
            policy_type: PolicyType::VideoInterop,
            grantee: Grantee::User {
                identity: "alice@contoso.com".into(),
            },
            policy_name: "PolycomServiceProviderEnabled".into(),
        }],
        consent: Some(Consent {
            tenant_id: tenant,
            app_id: APP.into(),
            permissions: CONSENT_PERMISSIONS.iter().map(|s| s.to_string()).collect(),
            granted_at: now(),
            granted_by: "admin".into(),
        }),
        organizer,
        verified: vec!["contoso.com".into()],
        others: vec![],
    }
}

impl World {
    fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::new(vec!["t.plcm.vc".into()]);
        s.add_tenant(Tenant {
            id: self.tenant,
            name: "Contoso".into(),
            verified_domains: self.verified.clone(),
            created_at: now(),
        });
        s.add_provider(self.provider.clone());
        for p in &self.others {
            s.add_provider(p.clone());
        }
        s.add_user(self.organizer.clone());
        for g in &self.grants {
            s.add_grant(self.tenant, g.clone());
        }
        if let Some(c) = &self.consent {
            s.add_consent(c.clone());
        }
        s.add_meeting(self.meeting.clone());
        s
    }
    fn dial(&self, uri: &str) -> Decision {
        self.dial_as(uri, &Caller::default())
    }
    fn dial_as(&self, uri: &str, caller: &Caller) -> Decision {
        decide(&self.snapshot(), uri, caller, now())
    }
    fn key_conf(&self) -> String {
        format!("sip:813878896.{}@t.plcm.vc", self.vtc)
    }
}

fn rejected_at(d: &Decision) -> (u16, Check) {
    match &d.outcome {
        Outcome::Reject { status, check, .. } => (*status, *check),
        o => panic!("expected a rejection, got {o:?}"),
    }
}

fn join_of(d: &Decision) -> (Order, Trust, bool) {
    match &d.outcome {
        Outcome::Join {
            order,
            trust,
            lobby,
            ..
        } => (*order, trust.clone(), *lobby),
        o => panic!("expected a join, got {o:?}\n{:#?}", d.trace),
    }
}

#[test]
fn direct_dial_both_orders_join() {
    let w = world();
    let d = w.dial(&w.key_conf());
    assert_eq!(join_of(&d).0, Order::KeyConf);
    assert!(d.trace.iter().all(|s| s.passed));
    assert_eq!(d.trace.len(), 12, "every check is traced: {:#?}", d.trace);
    let d = w.dial(&format!("sip:{}.813878896@t.plcm.vc;transport=tls", w.vtc));
    assert_eq!(join_of(&d).0, Order::ConfKey);
}

#[test]
fn ivr_form() {
    let w = world();
    let d = w.dial("sip:813878896@t.plcm.vc");
    assert!(matches!(d.outcome, Outcome::Ivr { ref provider, .. } if provider == "Polycom"));
}

#[test]
fn ambiguous_reading_prefers_the_real_tenant_key() {
    // Both parts are digits; only the conf.key reading names a real key.
    let mut w = world();
    w.provider.tenant_key = "555000111@t.plcm.vc".into();
    let d = w.dial(&format!("sip:{}.555000111@t.plcm.vc", w.vtc));
    assert_eq!(join_of(&d).0, Order::ConfKey);
}

#[test]
fn unreadable_request_uri_is_404() {
    let w = world();
    assert_eq!(
        rejected_at(&w.dial("tel:+15551234")),
        (404, Check::RequestUri)
    );
}

#[test]
fn unknown_domain_is_404() {
    let w = world();
    let d = w.dial(&format!("sip:813878896.{}@evil.example", w.vtc));
    assert_eq!(rejected_at(&d), (404, Check::DomainServed));
}

#[test]
fn bad_dial_string_is_404() {
    let w = world();
    assert_eq!(
        rejected_at(&w.dial("sip:a.b.c@t.plcm.vc")),
        (404, Check::DialString)
    );
    assert_eq!(
        rejected_at(&w.dial("sip:t.plcm.vc")),
        (404, Check::DialString)
    );
}

#[test]
fn unknown_key_is_404() {
    let w = world();
    let d = w.dial(&format!("sip:999999999.{}@t.plcm.vc", w.vtc));
    assert_eq!(rejected_at(&d), (404, Check::TenantKeyKnown));
    assert_eq!(
        rejected_at(&w.dial("sip:999999999@t.plcm.vc")),
        (404, Check::TenantKeyKnown)
    );
}

#[test]
fn typo_in_conference_id_is_caught_before_lookup() {
    let w = world();
    let mut typo = w.vtc.clone().into_bytes();
    typo.swap(2, 3);
    let typo = String::from_utf8(typo).expect("ascii");
    let d = w.dial(&format!("sip:813878896.{typo}@t.plcm.vc"));
    assert_eq!(rejected_at(&d), (404, Check::ConferenceIdValid));
}

#[test]
fn unknown_meeting_is_404() {
    let w = world();
    let mut other = String::from("123456789");
    other.push(vtc_id::check_digit(&other).expect("digits"));
    let d = w.dial(&format!("sip:813878896.{other}@t.plcm.vc"));
    assert_eq!(rejected_at(&d), (404, Check::MeetingFound));
}

#[test]
fn meeting_of_another_tenant_is_not_found() {
    // Another tenant's key cannot reach this tenant's meeting.
    let mut w = world();
    w.others.push(Provider {
        tenant_id: Uuid::from_u128(2),
        identity: "Polycom".into(),
        tenant_key: "444555666@t.plcm.vc".into(),
        aad_application_ids: vec![APP.into()],
        instruction_uri: None,
        allow_app_guest_joins_as_authenticated: false,
        language: "en".into(),
    });
    let d = w.dial(&format!("sip:444555666.{}@t.plcm.vc", w.vtc));
    assert_eq!(rejected_at(&d), (404, Check::MeetingFound));
}

#[test]
fn expired_meeting_is_404() {
    let mut w = world();
    w.meeting.expires_at = now();
    assert_eq!(
        rejected_at(&w.dial(&w.key_conf())),
        (404, Check::NotExpired)
    );
}

#[test]
fn deprovisioned_organizer_is_403() {
    let mut w = world();
    w.organizer.deprovisioned = true;
    assert_eq!(
        rejected_at(&w.dial(&w.key_conf())),
        (403, Check::OrganizerProvisioned)
    );
}

#[test]
fn ungranted_organizer_is_403_at_policy() {
    let mut w = world();
    w.grants.clear();
    let d = w.dial(&w.key_conf());
    assert_eq!(rejected_at(&d), (403, Check::PolicyEnablesProvider));
    assert!(d.trace.last().is_some_and(|s| s.detail.contains("Global")));
}

#[test]
fn policy_for_another_provider_is_403() {
    let mut w = world();
    w.others.push(Provider {
        tenant_id: w.tenant,
        identity: "Pexip".into(),
        tenant_key: "777@t.plcm.vc".into(),
        aad_application_ids: vec![],
        instruction_uri: None,
        allow_app_guest_joins_as_authenticated: false,
        language: "en".into(),
    });
    w.grants[0].policy_name = "PexipServiceProviderEnabled".into();
    assert_eq!(
        rejected_at(&w.dial(&w.key_conf())),
        (403, Check::PolicyEnablesProvider)
    );
}

#[test]
fn group_and_global_grants_enable() {
    let mut w = world();
    w.grants = vec![Grant {
        policy_type: PolicyType::VideoInterop,
        grantee: Grantee::Group {
            group: "eng".into(),
            rank: 1,
        },
        policy_name: "PolycomServiceProviderEnabled".into(),
    }];
    join_of(&w.dial(&w.key_conf()));
    w.grants[0].grantee = Grantee::Global;
    join_of(&w.dial(&w.key_conf()));
    // A user-level ServiceProviderDisabled beats the Global grant.
    w.grants.push(Grant {
        policy_type: PolicyType::VideoInterop,
        grantee: Grantee::User {
            identity: "alice@contoso.com".into(),
        },
        policy_name: "ServiceProviderDisabled".into(),
    });
    assert_eq!(
        rejected_at(&w.dial(&w.key_conf())),
        (403, Check::PolicyEnablesProvider)
    );
}

#[test]
fn missing_or_partial_consent_is_403() {
    let mut w = world();
    w.consent = None;
    assert_eq!(
        rejected_at(&w.dial(&w.key_conf())),
        (403, Check::TenantConsent)
    );
    let mut w = world();
    if let Some(c) = w.consent.as_mut() {
        c.permissions.retain(|p| p != "Calls.AccessMedia.All");
    }
    assert_eq!(
        rejected_at(&w.dial(&w.key_conf())),
        (403, Check::TenantConsent)
    );
}

#[test]
fn anonymous_join_off_rejects_guests_admits_trusted() {
    let mut w = world();
    w.meeting.settings.allow_anonymous_join = false;
    assert_eq!(
        rejected_at(&w.dial(&w.key_conf())),
        (403, Check::AnonymousJoin)
    );
    // TLS peer in a verified domain of the tenant.
    let tls = Caller {
        from: "sip:room@contoso.com".into(),
        source_address: None,
        tls_peer_domain: Some("Contoso.com".into()),
    };
    let (_, trust, lobby) = join_of(&w.dial_as(&w.key_conf(), &tls));
    assert!(matches!(trust, Trust::Trusted { .. }));
    assert!(!lobby, "organization bypass for trusted callers");
    // Source in a trusted subnet.
    w.meeting.settings.trusted_subnets = vec!["10.1.0.0/16".parse().expect("net")];
    let lan = Caller {
        from: "sip:room@x".into(),
        source_address: Some("10.1.2.3".parse().expect("ip")),
        tls_peer_domain: None,
    };
    assert!(matches!(
        join_of(&w.dial_as(&w.key_conf(), &lan)).1,
        Trust::Trusted { .. }
    ));
    // The provider's AllowAppGuestJoinsAsAuthenticated.
    w.provider.allow_app_guest_joins_as_authenticated = true;
    let (_, trust, lobby) = join_of(&w.dial(&w.key_conf()));
    assert_eq!(trust, Trust::AppAuthenticated);
    assert!(!lobby);
}

#[test]
fn lobby_rules() {
    let mut w = world();
    let guest = Caller {
        from: "sip:room@rooms.contoso.com".into(),
        ..Caller::default()
    };
    let trusted = Caller {
        from: "sip:room@rooms.contoso.com".into(),
        source_address: None,
        tls_peer_domain: Some("contoso.com".into()),
    };
    let lobby = |w: &World, c: &Caller| join_of(&w.dial_as(&w.key_conf(), c)).2;
    w.meeting.settings.lobby_bypass = LobbyBypass::Everyone;
    assert!(!lobby(&w, &guest));
    w.meeting.settings.lobby_bypass = LobbyBypass::Organization;
    assert!(lobby(&w, &guest));
    assert!(!lobby(&w, &trusted));
    w.meeting.settings.lobby_bypass = LobbyBypass::Invited;
    assert!(lobby(&w, &trusted), "trusted but not invited");
    w.meeting.settings.invited_rooms = vec!["sip:room@rooms.contoso.com".into()];
    assert!(!lobby(&w, &trusted));
    let d = w.dial_as(&w.key_conf(), &trusted);
    assert!(
        matches!(
            d.outcome,
            Outcome::Join {
                invited_room: true,
                ..
            }
        ),
        "one-touch room"
    );
    assert!(
        lobby(&w, &guest),
        "invited URI alone is spoofable: not enough"
    );
    w.meeting.settings.lobby_bypass = LobbyBypass::OrganizersOnly;
    assert!(lobby(&w, &trusted));
}

#[test]
fn rejections_reveal_nothing_about_other_tenants() {
    let w = world();
    let d = w.dial(&format!("sip:999999999.{}@t.plcm.vc", w.vtc));
    let text = serde_json::to_string(&d).expect("json");
    assert!(!text.contains("Contoso") && !text.contains("Polycom"));
}
