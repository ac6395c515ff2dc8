//! The decision function on arbitrary request-URIs and From headers (both come from the
//! network): it must never panic, and a rejection always carries a 4xx status.
#![no_main]

use chrono::{TimeZone, Utc};
use cvi_provisioning::decide::{Caller, Outcome, Snapshot, decide};
use cvi_provisioning::dial::{parse_dial_string, parse_sip_uri};
use cvi_provisioning::model::*;
use cvi_provisioning::video_policy::{Grant, Grantee, PolicyType};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

fn snapshot() -> Snapshot {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).single().unwrap_or_default();
    let t = Uuid::from_u128(1);
    let app = "b4e4d0c8-7e3b-4c44-8b4f-1a2b3c4d5e6f".to_string();
    let mut s = Snapshot::new(vec!["t.plcm.vc".into()]);
    s.add_tenant(Tenant { id: t, name: "C".into(), verified_domains: vec!["contoso.com".into()], created_at: now });
    s.add_provider(Provider { tenant_id: t, identity: "Polycom".into(), tenant_key: "813878896@t.plcm.vc".into(), aad_application_ids: vec![app.clone()], instruction_uri: None, allow_app_guest_joins_as_authenticated: false, language: "en".into() });
    s.add_user(User { tenant_id: t, user_principal_name: "a@contoso.com".into(), display_name: "A".into(), groups: vec![], homing: Homing::Online, hybrid_voice: false, deprovisioned: false });
    s.add_grant(t, Grant { policy_type: PolicyType::VideoInterop, grantee: Grantee::Global, policy_name: "PolycomServiceProviderEnabled".into() });
    s.add_consent(Consent { tenant_id: t, app_id: app, permissions: CONSENT_PERMISSIONS.iter().map(|p| p.to_string()).collect(), granted_at: now, granted_by: "x".into() });
    s.add_meeting(Meeting {
        id: Uuid::from_u128(2),
        tenant_id: t,
        organizer: "a@contoso.com".into(),
        subject: "m".into(),
        start: now,
        end: now,
        expires_at: now + chrono::Duration::days(1),
        settings: MeetingSettings { invited_rooms: vec!["sip:room@x.com".into()], lobby_bypass: LobbyBypass::Invited, ..MeetingSettings::default() },
        video_teleconference_id: "0179206841".into(),
        created_at: now,
    });
    s
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (uri, from) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(u) = parse_sip_uri(uri) {
        if let Some(user) = &u.user {
            let _ = parse_dial_string(user, &u.host);
        }
    }
    let caller = Caller { from: from.to_string(), source_address: None, tls_peer_domain: Some(from.to_string()) };
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).single().unwrap_or_default();
    let d = decide(&snapshot(), uri, &caller, now);
    if let Outcome::Reject { status, .. } = d.outcome {
        assert!((400..500).contains(&status));
    }
    assert!(!d.trace.is_empty());
});
