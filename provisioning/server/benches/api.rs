//! GET latency of the REST API and the per-INVITE cost of snapshot load + decision, on
//! loopback. Run by hand: `cargo bench -p cvi-provisioning-server --bench api`
//! (PostgreSQL too when CVI_TEST_POSTGRES_URL names a server). Prints figures only.
//!
//! Reference in the same run and process: a bare axum route returning a static JSON body
//! of the same size as the meeting — what HTTP + JSON cost without the store.

use axum::routing::get;
use cvi_provisioning::decide::{Caller, decide};
use cvi_provisioning::model::{Homing, Provider};
use cvi_provisioning::video_policy::{Grantee, PolicyType};
use cvi_provisioning_server::api::{AppState, router};
use cvi_provisioning_server::store::{NewMeeting, NewUser};
use cvi_provisioning_server::{Actor, Store};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench";

fn pct(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;
    (
        at(0.5),
        at(0.99),
        v.iter().map(Duration::as_secs_f64).sum::<f64>() / v.len() as f64 * 1e6,
    )
}

async fn seed(store: &Store, meetings: usize) -> (String, Vec<String>) {
    let a = Actor("bench".into());
    let t = store
        .create_tenant(&a, "Contoso", &[])
        .await
        .expect("tenant");
    store
        .create_user(
            &a,
            t.id,
            NewUser {
                user_principal_name: "alice@contoso.com".into(),
                display_name: None,
                groups: vec![],
                homing: Homing::Online,
                hybrid_voice: false,
            },
        )
        .await
        .expect("user");
    let app = "6d0f3c2a-5b8e-4f1d-9a7c-2e4b8d1f0a93";
    store
        .create_provider(
            &a,
            Provider {
                tenant_id: t.id,
                identity: "Polycom".into(),
                tenant_key: "813878896@t.plcm.vc".into(),
                aad_application_ids: vec![app.into()],
                instruction_uri: Some("https://dialin.plcm.vc/teams/".into()),
                allow_app_guest_joins_as_authenticated: false,
                language: "en".into(),
            },
        )
        .await
        .expect("provider");
    store
        .grant(
            &a,
            t.id,
            PolicyType::VideoInterop,
            Some("PolycomServiceProviderEnabled"),
            Grantee::Global,
        )
        .await
        .expect("grant");
    store
        .grant_consent(&a, t.id, app, None)
        .await
        .expect("consent");
    let mut ids = Vec::new();
    let mut dials = Vec::new();
    for i in 0..meetings {
        let m = store
            .create_meeting(
                &a,
                t.id,
                NewMeeting {
                    organizer: "alice@contoso.com".into(),
                    subject: format!("m{i}"),
                    start_date_time: None,
                    end_date_time: None,
                    expiry_date_time: None,
                    allow_anonymous_join: None,
                    lobby_bypass: None,
                    trusted_subnets: None,
                    trusted_tls_domains: None,
                    invited_rooms: None,
                },
            )
            .await
            .expect("meeting");
        dials.push(format!(
            "sip:{}",
            m.vtc_coordinates
                .as_ref()
                .map(|c| c.direct_dial_strings[0].clone())
                .unwrap_or_default()
        ));
        ids.push(m.id.to_string());
    }
    (ids[0].clone(), dials)
}

async fn run(label: &str, url: &str) {
    let store = Store::open(url).await.expect("store");
    let (meeting_id, dials) = seed(&store, 500).await;
    let state = AppState::new(store.clone(), vec!["t.plcm.vc".into()], Some(TOKEN));
    let meeting_path = format!("/api/v1/tenants/Contoso/onlineMeetings/{meeting_id}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let static_body: &'static str = Box::leak(String::from("x").repeat(1800).into_boxed_str());
    let app = router(state).route("/ref", get(move || async move { static_body }));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    let http = reqwest::Client::new();
    let n = 2000;
    for (name, path) in [
        (
            "reference: bare axum route, same body size",
            "/ref".to_string(),
        ),
        (
            "GET onlineMeetings/{id} (store + coordinates)",
            meeting_path.clone(),
        ),
        (
            "GET tenants/Contoso/providers",
            "/api/v1/tenants/Contoso/providers".into(),
        ),
    ] {
        let mut lat = Vec::with_capacity(n);
        for i in 0..n + 200 {
            let t = Instant::now();
            let r = http
                .get(format!("http://{addr}{path}"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("send");
            let _ = r.bytes().await.expect("body");
            if i >= 200 {
                lat.push(t.elapsed());
            }
        }
        let (p50, p99, mean) = pct(lat);
        println!("[{label}] {name:<48} p50 {p50:>7.0} µs  p99 {p99:>7.0} µs  mean {mean:>7.0} µs");
    }
    // Concurrent throughput: 8 clients.
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let http = http.clone();
        let url = format!("http://{addr}{meeting_path}");
        tasks.push(tokio::spawn(async move {
            for _ in 0..500 {
                let r = http
                    .get(&url)
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .expect("send");
                let _ = r.bytes().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    println!(
        "[{label}] GET meeting, 8 concurrent clients: {:.0} requests/s",
        4000.0 / t.elapsed().as_secs_f64()
    );
    // The SIP path: snapshot load + decide per INVITE.
    let caller = Caller::default();
    let served = vec!["t.plcm.vc".to_string()];
    let mut lat = Vec::with_capacity(dials.len() * 4);
    for i in 0..dials.len() * 4 {
        let d = &dials[i % dials.len()];
        let t = Instant::now();
        let snap = store
            .snapshot_for(d, &served, None)
            .await
            .expect("snapshot");
        let dec = decide(&snap, d, &caller, chrono::Utc::now());
        assert!(!dec.is_reject(), "{:?}", dec.trace);
        lat.push(t.elapsed());
    }
    let (p50, p99, mean) = pct(lat);
    println!(
        "[{label}] per INVITE: snapshot load + decide          p50 {p50:>7.0} µs  p99 {p99:>7.0} µs  mean {mean:>7.0} µs ({:.0}/s sequential)",
        1e6 / mean
    );
    store.close().await;
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    run(
        "sqlite",
        &format!("sqlite://{}", dir.path().join("bench.db").display()),
    )
    .await;
    if let Ok(pg) = std::env::var("CVI_TEST_POSTGRES_URL") {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&pg).await.expect("pg");
        let name = format!("cvi_bench_{}", std::process::id());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .expect("db");
        let (base, _) = pg.rsplit_once('/').expect("url");
        run("postgres", &format!("{base}/{name}")).await;
    }
}
