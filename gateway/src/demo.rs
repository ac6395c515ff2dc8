//! `cvi demo`: the gateway with a demo tenant, provider, granted organizer, consent and
//! meeting, in a fresh database; prints the coordinates and how to reach the API.

use crate::config::ServeArgs;
use anyhow::Context;
use cvi_provisioning::model::{Homing, Provider};
use cvi_provisioning::video_policy::{Grantee, PolicyType};
use cvi_provisioning_server::store::{NewMeeting, NewUser};
use cvi_provisioning_server::{Actor, Store};
use rand::RngCore;

pub(crate) const DEMO_DOMAIN: &str = "t.plcm.vc";
pub(crate) const DEMO_KEY: &str = "813878896@t.plcm.vc";
const DEMO_APP: &str = "6d0f3c2a-5b8e-4f1d-9a7c-2e4b8d1f0a93";

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
}

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut serve = args.serve;
    let _dir;
    if serve.database.is_none() {
        let dir = tempfile::tempdir().context("creating a temp dir for the demo database")?;
        serve.database = Some(format!("sqlite://{}", dir.path().join("demo.db").display()));
        _dir = Some(dir);
    }
    if serve.sip_domains.is_empty() {
        serve.sip_domains = vec![DEMO_DOMAIN.into()];
    }
    if serve.admin_token.is_none() {
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        serve.admin_token = Some(format!("demo_{}", hex::encode(raw)));
    }
    let config = serve.resolve()?;
    let store = Store::open(&config.database).await?;
    let coords = seed(&store).await?;
    let secret = config.meet.secret.clone();
    let token = config.admin_token.clone().unwrap_or_default();
    let banner = move |bound: &crate::serve::Bound| {
        print_banner(&coords, bound, &secret, &token);
    };
    crate::serve::run_with(config, store, banner).await
}

/// What a new user needs: dial strings, the meeting page, the API (with the real ports,
/// also when the demo was asked for port 0).
fn print_banner(
    coords: &(String, Vec<String>, String, String),
    bound: &crate::serve::Bound,
    secret: &str,
    token: &str,
) {
    let loopback = |a: std::net::SocketAddr| {
        let host = if a.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            a.ip().to_string()
        };
        format!("{host}:{}", a.port())
    };
    let base = format!("http://{}", loopback(bound.http));
    println!("cvi demo — a demo tenant 'Contoso' with provider 'Polycom' ({DEMO_KEY}),");
    println!(
        "organizer alice@contoso.com granted PolycomServiceProviderEnabled, consent given, one meeting.\n"
    );
    println!("{}", coords.0);
    println!("Dial strings (IVR, key.conf, conf.key):");
    for d in &coords.1 {
        println!("  sip:{d}");
    }
    if let Some(sip) = bound.sip_udp {
        let user = coords
            .1
            .get(1)
            .and_then(|d| d.split('@').next())
            .unwrap_or_default();
        println!(
            "From a SIP client on this machine (the gateway's address stands for {DEMO_DOMAIN}):"
        );
        println!("  sip:{user}@{}", loopback(sip));
    }
    let meeting = &coords.3;
    println!("\nThe meeting page (open it in Chromium or Firefox on this machine):");
    println!(
        "  organizer (lobby, recording): {base}/meet/{meeting}?host={}",
        cvi_meet::host_key(secret, meeting)
    );
    println!("  guests:                       {base}/meet/{meeting}");
    println!("\nTry the API and the CLI (in another terminal):");
    println!("  export CVI_SERVER={base} CVI_TOKEN={token}");
    println!(
        "  cargo run -q -p cvi-gateway -- explain sip:{}",
        coords.1.get(1).map(String::as_str).unwrap_or(DEMO_KEY)
    );
    println!(
        "  cargo run -q -p cvi-gateway -- meeting get --tenant Contoso --video-id {}",
        coords.2
    );
    println!("  curl -s {base}/api/v1/openapi.json | head -c 300\n");
}

/// Creates the demo data; returns (invite text, dial strings, video ID, meeting ID).
async fn seed(store: &Store) -> anyhow::Result<(String, Vec<String>, String, String)> {
    let actor = Actor("demo".into());
    let tenant = store
        .create_tenant(&actor, "Contoso", &["contoso.com".into()])
        .await?;
    store
        .create_user(
            &actor,
            tenant.id,
            NewUser {
                user_principal_name: "alice@contoso.com".into(),
                display_name: Some("Alice Organizer".into()),
                groups: vec![],
                homing: Homing::Online,
                hybrid_voice: false,
            },
        )
        .await?;
    store
        .create_provider(
            &actor,
            Provider {
                tenant_id: tenant.id,
                identity: "Polycom".into(),
                tenant_key: DEMO_KEY.into(),
                aad_application_ids: vec![DEMO_APP.into()],
                instruction_uri: Some("https://dialin.plcm.vc/teams/".into()),
                allow_app_guest_joins_as_authenticated: false,
                language: "en".into(),
            },
        )
        .await?;
    store
        .grant(
            &actor,
            tenant.id,
            PolicyType::VideoInterop,
            Some("PolycomServiceProviderEnabled"),
            Grantee::User {
                identity: "alice@contoso.com".into(),
            },
        )
        .await?;
    store
        .grant_consent(&actor, tenant.id, DEMO_APP, None)
        .await?;
    let m = store
        .create_meeting(
            &actor,
            tenant.id,
            NewMeeting {
                organizer: "alice@contoso.com".into(),
                subject: "cvi demo meeting".into(),
                start_date_time: None,
                end_date_time: Some(chrono::Utc::now() + chrono::Duration::hours(8)),
                expiry_date_time: None,
                allow_anonymous_join: Some(true),
                lobby_bypass: Some(cvi_provisioning::model::LobbyBypass::Everyone),
                trusted_subnets: None,
                trusted_tls_domains: None,
                invited_rooms: None,
            },
        )
        .await?;
    let c = m
        .vtc_coordinates
        .context("the demo meeting has no coordinates")?;
    let mut dials = vec![c.ivr_dial_string.clone()];
    dials.extend(c.direct_dial_strings.iter().cloned());
    Ok((
        c.join_information.text,
        dials,
        c.video_teleconference_id,
        m.id.to_string(),
    ))
}
