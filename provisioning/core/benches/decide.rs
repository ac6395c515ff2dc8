//! Decisions per second of the pure decision function. Run by hand:
//! `cargo bench -p cvi-provisioning --bench decide`. Prints figures; asserts nothing.
//!
//! Reference measured in the same run: parsing the request-URI alone (the floor any
//! decision pays).

use chrono::{Duration, Utc};
use cvi_provisioning::decide::{Caller, Snapshot, decide};
use cvi_provisioning::dial::parse_sip_uri;
use cvi_provisioning::model::*;
use cvi_provisioning::video_policy::{Grant, Grantee, PolicyType};
use cvi_provisioning::vtc_id;
use rand::SeedableRng;
use std::hint::black_box;
use std::time::Instant;
use uuid::Uuid;

fn population(tenants: usize, meetings_per_tenant: usize) -> (Snapshot, Vec<String>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let now = Utc::now();
    let mut s = Snapshot::new(vec!["t.plcm.vc".into()]);
    let mut dials = Vec::new();
    for t in 0..tenants {
        let tid = Uuid::from_u128(t as u128 + 1);
        let app = Uuid::from_u128(1_000_000 + t as u128).to_string();
        s.add_tenant(Tenant {
            id: tid,
            name: format!("T{t}"),
            verified_domains: vec![],
            created_at: now,
        });
        let key = format!("{}@t.plcm.vc", 100_000_000 + t);
        s.add_provider(Provider {
            tenant_id: tid,
            identity: "Polycom".into(),
            tenant_key: key.clone(),
            aad_application_ids: vec![app.clone()],
            instruction_uri: None,
            allow_app_guest_joins_as_authenticated: false,
            language: "en".into(),
        });
        s.add_user(User {
            tenant_id: tid,
            user_principal_name: format!("org@t{t}.com"),
            display_name: "Org".into(),
            groups: vec![],
            homing: Homing::Online,
            hybrid_voice: false,
            deprovisioned: false,
        });
        s.add_grant(
            tid,
            Grant {
                policy_type: PolicyType::VideoInterop,
                grantee: Grantee::Global,
                policy_name: "PolycomServiceProviderEnabled".into(),
            },
        );
        s.add_consent(Consent {
            tenant_id: tid,
            app_id: app,
            permissions: CONSENT_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
            granted_at: now,
            granted_by: "b".into(),
        });
        for _ in 0..meetings_per_tenant {
            let vid = vtc_id::generate(&mut rng);
            s.add_meeting(Meeting {
                id: Uuid::new_v4(),
                tenant_id: tid,
                organizer: format!("org@t{t}.com"),
                subject: "m".into(),
                start: now,
                end: now + Duration::hours(1),
                expires_at: now + Duration::days(1),
                settings: MeetingSettings::default(),
                video_teleconference_id: vid.clone(),
                created_at: now,
            });
            if dials.len() < 10_000 {
                dials.push(format!("sip:{}.{vid}@t.plcm.vc", 100_000_000 + t));
            }
        }
    }
    (s, dials)
}

fn rate(name: &str, n: usize, f: impl Fn(usize)) {
    // Warm up, then best of 5 runs (the machine is shared).
    for i in 0..n.min(10_000) {
        f(i);
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for i in 0..n {
            f(i);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    let per = best / n as f64;
    println!(
        "{name:<52} {:>10.0} /s  {:>8.0} ns each",
        1.0 / per,
        per * 1e9
    );
}

fn main() {
    let caller = Caller {
        from: "sip:room@example.com".into(),
        source_address: Some("192.0.2.7".parse().expect("ip")),
        tls_peer_domain: None,
    };
    for (tenants, per) in [(10, 100), (1_000, 100)] {
        let (snap, dials) = population(tenants, per);
        let now = Utc::now();
        println!("population: {tenants} tenants × {per} meetings");
        rate("reference: parse_sip_uri only", 200_000, |i| {
            black_box(parse_sip_uri(black_box(&dials[i % dials.len()])).is_ok());
        });
        rate("decide: accepted direct dial (12 checks)", 200_000, |i| {
            black_box(decide(
                &snap,
                black_box(&dials[i % dials.len()]),
                &caller,
                now,
            ));
        });
        rate(
            "decide: rejected, unknown tenant key (404)",
            200_000,
            |_| {
                black_box(decide(&snap, "sip:999.0123456789@t.plcm.vc", &caller, now));
            },
        );
        rate(
            "decide: rejected, typo in conference ID (404)",
            200_000,
            |_| {
                black_box(decide(
                    &snap,
                    "sip:100000000.0123456788@t.plcm.vc",
                    &caller,
                    now,
                ));
            },
        );
        rate("decide: IVR form", 200_000, |_| {
            black_box(decide(&snap, "sip:100000000@t.plcm.vc", &caller, now));
        });
    }
}
