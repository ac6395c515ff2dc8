//! `cvi meeting new|get`: online meetings, their VTC coordinates and invite block.

use super::http::Api;
use super::output::{self, OutputFormat};
use super::{List, TenantArg};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LobbyBypass {
    #[value(name = "everyone")]
    Everyone,
    #[value(name = "organization")]
    Organization,
    #[value(name = "invited")]
    Invited,
    #[value(name = "organizersOnly")]
    OrganizersOnly,
}

impl LobbyBypass {
    fn as_str(self) -> &'static str {
        match self {
            LobbyBypass::Everyone => "everyone",
            LobbyBypass::Organization => "organization",
            LobbyBypass::Invited => "invited",
            LobbyBypass::OrganizersOnly => "organizersOnly",
        }
    }
}

/// An RFC 3339 time on the command line.
pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("'{s}' is not an RFC 3339 time (e.g. 2025-03-01T09:00:00Z): {e}"))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewMeeting {
    #[command(flatten)]
    tenant: TenantArg,
    /// The organizer's user principal name.
    #[arg(long)]
    organizer: String,
    #[arg(long)]
    subject: String,
    /// Start (RFC 3339); now when left out.
    #[arg(long, value_parser = parse_time)]
    start: Option<DateTime<Utc>>,
    /// End (RFC 3339); one hour after the start when left out.
    #[arg(long, value_parser = parse_time)]
    end: Option<DateTime<Utc>>,
    /// When the meeting's coordinates stop working (RFC 3339); the server's default when left out.
    #[arg(long, value_parser = parse_time)]
    expiry: Option<DateTime<Utc>>,
    /// `true` or `false`.
    #[arg(long)]
    allow_anonymous_join: Option<bool>,
    #[arg(long, value_enum)]
    lobby_bypass: Option<LobbyBypass>,
    /// Trusted caller subnets, `10.0.0.0/8;192.0.2.0/24`.
    #[arg(long)]
    trusted_subnets: Option<List>,
    /// Trusted TLS peer domains, `a.com;b.com`.
    #[arg(long)]
    trusted_tls_domains: Option<List>,
    /// SIP URIs of invited room systems, `sip:a@x;sip:b@y`.
    #[arg(long)]
    invited_rooms: Option<List>,
}

impl NewMeeting {
    /// The body of `POST /onlineMeetings`, `now` filling in the start.
    pub(crate) fn body(&self, now: DateTime<Utc>) -> Result<Value, String> {
        let start = self.start.unwrap_or(now);
        let end = self.end.unwrap_or(start + Duration::hours(1));
        if end <= start {
            return Err(format!(
                "--end ({}) is not after the start ({})",
                rfc3339(end),
                rfc3339(start)
            ));
        }
        let mut b = json!({
            "organizer": self.organizer,
            "subject": self.subject,
            "startDateTime": rfc3339(start),
            "endDateTime": rfc3339(end),
        });
        if let Some(x) = self.expiry {
            b["expiryDateTime"] = json!(rfc3339(x));
        }
        if let Some(a) = self.allow_anonymous_join {
            b["allowAnonymousJoin"] = json!(a);
        }
        if let Some(l) = self.lobby_bypass {
            b["lobbyBypass"] = json!(l.as_str());
        }
        for (k, v) in [
            ("trustedSubnets", &self.trusted_subnets),
            ("trustedTlsDomains", &self.trusted_tls_domains),
            ("invitedRooms", &self.invited_rooms),
        ] {
            if let Some(l) = v {
                b[k] = json!(l.0);
            }
        }
        Ok(b)
    }
}

#[derive(clap::Subcommand, Debug, PartialEq, Eq)]
pub(crate) enum MeetingCmd {
    /// Schedule a meeting and print its VTC coordinates.
    New(NewMeeting),
    /// Show a meeting by its ID or by its VTC conference ID.
    Get {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(
            long,
            required_unless_present = "video_id",
            conflicts_with = "video_id"
        )]
        id: Option<String>,
        /// The 10-digit VTC conference ID (videoTeleconferenceId).
        #[arg(long)]
        video_id: Option<String>,
    },
}

pub(crate) async fn run(api: &Api, out: OutputFormat, cmd: MeetingCmd) -> anyhow::Result<ExitCode> {
    let v = match cmd {
        MeetingCmd::New(m) => {
            let body = m.body(Utc::now()).map_err(super::usage)?;
            api.post(&["tenants", &m.tenant.tenant, "onlineMeetings"], &body)
                .await?
        }
        MeetingCmd::Get {
            tenant,
            id: Some(id),
            ..
        } => {
            api.get(&["tenants", &tenant.tenant, "onlineMeetings", &id], &[])
                .await?
        }
        MeetingCmd::Get {
            tenant, video_id, ..
        } => {
            let vid = video_id.unwrap_or_default();
            let filter = format!(
                "VideoTeleconferenceId eq '{}'",
                vid.trim().replace('\'', "''")
            );
            let v = api
                .get(
                    &["tenants", &tenant.tenant, "onlineMeetings"],
                    &[("$filter", filter)],
                )
                .await?;
            if v.as_array().is_some_and(Vec::is_empty) {
                eprintln!(
                    "error: no meeting of tenant '{}' has VTC conference ID {vid}",
                    tenant.tenant
                );
                return Ok(ExitCode::from(2));
            }
            v
        }
    };
    output::emit(out, &v, |v| match v {
        Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join("\n"),
        one => show(one),
    });
    Ok(ExitCode::SUCCESS)
}

/// The meeting, then its coordinates and invite block (or why there are none).
pub(crate) fn show(m: &Value) -> String {
    let c = output::get(m, "vtcCoordinates").filter(|c| c.is_object());
    let mut s = output::kv(&[
        ("id", Some(output::at(m, "id"))),
        ("subject", Some(output::at(m, "subject"))),
        ("organizer", Some(output::at(m, "organizer"))),
        ("start", Some(output::at(m, "startDateTime"))),
        ("end", Some(output::at(m, "endDateTime"))),
        ("expiry", Some(output::at(m, "expiryDateTime"))),
        (
            "anonymous join",
            Some(output::at(m, "settings.allowAnonymousJoin")),
        ),
        ("lobby bypass", Some(output::at(m, "settings.lobbyBypass"))),
        ("vtc status", Some(output::at(m, "vtcStatus"))),
        (
            "vtc conference id",
            output::get(m, "videoTeleconferenceId").map(|x| output::cell(Some(x))),
        ),
        ("provider", c.map(|c| output::at(c, "provider"))),
        ("ivr dial string", c.map(|c| output::at(c, "ivrDialString"))),
        (
            "direct dial",
            c.map(|c| output::at(c, "directDialStrings").replace(';', "  ")),
        ),
        (
            "instructions",
            c.and_then(|c| c.get("instructionLink"))
                .filter(|x| !x.is_null())
                .map(|x| output::cell(Some(x))),
        ),
    ]);
    let text = output::get(m, "joinInformation.text")
        .or_else(|| c.and_then(|c| output::get(c, "joinInformation.text")))
        .and_then(Value::as_str);
    if let Some(t) = text {
        s.push('\n');
        s.push_str(t);
        if !t.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}
