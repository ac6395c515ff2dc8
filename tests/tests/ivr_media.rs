//! What IVR and lobby callers see and hear: the gateway's slate video and prompt audio,
//! checked on the wire and, with baresip, decoded on the client side.

mod sip_support;

use anyhow::{Context, Result, ensure};
use cvi_e2e::baresip::{Baresip, BaresipOpts, Video};
use cvi_e2e::{CallEvent, Transport};
use serde_json::Value;
use sip_support::{Gateway, KEY_LOCAL, Opts};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

/// The call (first one, or `call_id`) once `pred` holds for it.
fn wait_call(gw: &Gateway, what: &str, pred: impl Fn(&Value) -> bool) -> Result<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let calls = gw.calls()?;
        if let Some(c) = calls.iter().find(|c| pred(c)) {
            return Ok(c.clone());
        }
        ensure!(
            Instant::now() < deadline,
            "no call with {what}: {calls:#?}\n{}",
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[test]
fn ivr_caller_gets_slate_video_and_prompt_audio() -> Result<()> {
    let gw = Gateway::start(Opts::default())?;
    let _vid = gw.provision()?;
    let b = Baresip::start(BaresipOpts {
        audio_codecs: Some("PCMU".into()),
        video: Video::Fake,
        ..BaresipOpts::default()
    })?;
    b.dial(&format!("sip:{KEY_LOCAL}@{}", gw.sip), Transport::Udp)?;
    b.wait_for(&CallEvent::Established, WAIT)?;
    let call = wait_call(&gw, "audio and video sent", |c| {
        n(&c["media"]["audio"]["packetsSent"]) > 50 && n(&c["media"]["video"]["packetsSent"]) > 10
    })?;
    println!("{call:#}");
    let slate = call["media"]["slate"].as_array().context("slate")?;
    ensure!(
        slate.iter().any(|l| l.as_str().is_some_and(|l| l.contains("conference ID"))),
        "{call:#}"
    );
    ensure!(call["media"]["playing"].as_str().is_some(), "{call:#}");
    b.hangup()?;
    Ok(())
}
