//! `cvi explain <dial-string>`: what the gateway would do with an INVITE, check by check.

use super::http::Api;
use super::meeting::parse_time;
use super::output::{self, OutputFormat};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::process::ExitCode;

/// Exit code when the decision is a rejection.
pub(crate) const REJECTED: u8 = 3;

#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExplainArgs {
    /// The request-URI, e.g. `sip:813878896.0179206841@t.plcm.vc` (`sip:` may be left out).
    #[arg(value_name = "SIP_URI")]
    request_uri: String,
    /// The caller's From URI.
    #[arg(long)]
    from: Option<String>,
    /// The caller's IP address (checked against trusted subnets).
    #[arg(long)]
    source_address: Option<IpAddr>,
    /// The domain the caller's TLS certificate was verified for.
    #[arg(long)]
    tls_peer_domain: Option<String>,
    /// Decide as of this time (RFC 3339) instead of now.
    #[arg(long, value_parser = parse_time)]
    at: Option<DateTime<Utc>>,
}

impl ExplainArgs {
    pub(crate) fn body(&self) -> Value {
        let uri = self.request_uri.trim();
        let has_scheme = uri.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sip:"))
            || uri
                .get(..5)
                .is_some_and(|p| p.eq_ignore_ascii_case("sips:"));
        let uri = if has_scheme {
            uri.to_string()
        } else {
            format!("sip:{uri}")
        };
        let mut b = json!({ "requestUri": uri });
        if let Some(f) = &self.from {
            b["from"] = json!(f);
        }
        if let Some(a) = self.source_address {
            b["sourceAddress"] = json!(a.to_string());
        }
        if let Some(d) = &self.tls_peer_domain {
            b["tlsPeerDomain"] = json!(d);
        }
        if let Some(t) = self.at {
            b["at"] = json!(t.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
        b
    }
}

pub(crate) async fn run(
    api: &Api,
    out: OutputFormat,
    args: ExplainArgs,
) -> anyhow::Result<ExitCode> {
    let v = api.post(&["explain"], &args.body()).await?;
    output::emit(out, &v, render);
    Ok(exit_code(&v))
}

/// 0 for IVR or join, 3 for a rejection, 1 for an answer that is neither.
pub(crate) fn exit_code(decision: &Value) -> ExitCode {
    match decision["outcome"]["kind"].as_str() {
        Some("ivr" | "join") => ExitCode::SUCCESS,
        Some("reject") => ExitCode::from(REJECTED),
        _ => {
            eprintln!("error: the answer has no decision (outcome.kind)");
            ExitCode::FAILURE
        }
    }
}

/// A field of the outcome, camelCase or snake_case.
fn field(o: &Value, camel: &str, snake: &str) -> String {
    output::cell(o.get(camel).or_else(|| o.get(snake)))
}

/// Every check with ✓/✗, then the decision.
pub(crate) fn render(d: &Value) -> String {
    let steps: &[Value] = d["trace"].as_array().map(Vec::as_slice).unwrap_or_default();
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|s| {
            let mark = if s["passed"].as_bool() == Some(true) {
                "✓"
            } else {
                "✗"
            };
            vec![
                mark.to_string(),
                output::at(s, "check"),
                output::at(s, "detail"),
            ]
        })
        .collect();
    let mut s = if rows.is_empty() {
        String::new()
    } else {
        output::table(&["", "check", "detail"], &rows)
            .split_once('\n')
            .map(|(_, body)| body.to_string())
            .unwrap_or_default()
    };
    let o = &d["outcome"];
    let decision = match o["kind"].as_str() {
        Some("ivr") => format!(
            "IVR of provider {} ({}): the caller is asked for the conference ID",
            output::at(o, "provider"),
            field(o, "tenantKey", "tenant_key")
        ),
        Some("join") => {
            let trust = match o["trust"]["kind"].as_str() {
                Some("trusted") => format!("trusted ({})", output::at(&o["trust"], "evidence")),
                Some("appAuthenticated") => "guest joined as authenticated".into(),
                Some(k) => k.to_string(),
                None => "-".into(),
            };
            let lobby = if o["lobby"].as_bool() == Some(true) {
                "waits in the lobby"
            } else {
                "bypasses the lobby"
            };
            format!(
                "join meeting {} through provider {} ({}, {}); caller {trust}, {lobby}",
                field(o, "meetingId", "meeting_id"),
                output::at(o, "provider"),
                field(o, "tenantKey", "tenant_key"),
                match o["order"].as_str() {
                    Some("keyConf") => "key.conf".to_string(),
                    Some("confKey") => "conf.key".to_string(),
                    _ => output::at(o, "order"),
                },
            )
        }
        Some("reject") => format!(
            "reject {} {} at {}",
            output::at(o, "status"),
            output::at(o, "reason"),
            output::at(o, "check")
        ),
        _ => output::cell(Some(o)),
    };
    s.push_str(&format!("decision: {decision}\n"));
    s
}
