//! Meetings, their VTC conference IDs and the coordinates shown in invites.

use super::{
    Actor, Result, Store, StoreError, audit, from_ms, get_b, get_i, get_s, get_uuid, grants,
    json_list, ms, parse_list, providers, users,
};
use chrono::{DateTime, Duration, Utc};
use cvi_provisioning::FieldError;
use cvi_provisioning::coordinates::{Coordinates, JoinInformation, coordinates};
use cvi_provisioning::model::{
    LobbyBypass, Meeting, MeetingSettings, validate_domain, validate_upn,
};
use cvi_provisioning::video_policy::{self, PolicyType};
use cvi_provisioning::{dial, vtc_id};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long after its end a meeting's coordinates keep working, unless given.
pub const DEFAULT_EXPIRY_AFTER_END: Duration = Duration::days(60);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMeeting {
    pub organizer: String,
    pub subject: String,
    pub start_date_time: Option<DateTime<Utc>>,
    pub end_date_time: Option<DateTime<Utc>>,
    pub expiry_date_time: Option<DateTime<Utc>>,
    pub allow_anonymous_join: Option<bool>,
    pub lobby_bypass: Option<LobbyBypass>,
    #[schema(value_type = Option<Vec<String>>)]
    pub trusted_subnets: Option<Vec<ipnet::IpNet>>,
    pub trusted_tls_domains: Option<Vec<String>>,
    pub invited_rooms: Option<Vec<String>>,
}

/// A meeting as the API shows it (Graph's onlineMeeting names).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeetingView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub organizer: String,
    pub subject: String,
    pub start_date_time: DateTime<Utc>,
    pub end_date_time: DateTime<Utc>,
    pub expiry_date_time: DateTime<Utc>,
    pub settings: MeetingSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_teleconference_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_information: Option<JoinInformation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vtc_coordinates: Option<Coordinates>,
    /// `enabled`, or why the meeting has no VTC coordinates.
    pub vtc_status: String,
}

fn row(r: &AnyRow) -> Result<Meeting> {
    Ok(Meeting {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        organizer: get_s(r, "organizer")?,
        subject: get_s(r, "subject")?,
        start: from_ms(get_i(r, "start_at")?),
        end: from_ms(get_i(r, "end_at")?),
        expires_at: from_ms(get_i(r, "expires_at")?),
        settings: MeetingSettings {
            allow_anonymous_join: get_b(r, "allow_anonymous_join")?,
            lobby_bypass: LobbyBypass::parse(&get_s(r, "lobby_bypass")?).unwrap_or_default(),
            trusted_subnets: parse_list(&get_s(r, "trusted_subnets")?),
            trusted_tls_domains: parse_list(&get_s(r, "trusted_tls_domains")?),
            invited_rooms: parse_list(&get_s(r, "invited_rooms")?),
        },
        video_teleconference_id: get_s(r, "vtc_id")?,
        created_at: from_ms(get_i(r, "created_at")?),
    })
}

pub(crate) async fn meeting_by_vtc(
    conn: &mut sqlx::AnyConnection,
    tenant: Uuid,
    vtc: &str,
) -> Result<Option<Meeting>> {
    sqlx::query("SELECT * FROM meetings WHERE tenant_id = $1 AND vtc_id = $2")
        .bind(tenant.to_string())
        .bind(vtc.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

impl Store {
    pub async fn create_meeting(
        &self,
        actor: &Actor,
        tenant: Uuid,
        new: NewMeeting,
    ) -> Result<MeetingView> {
        let organizer =
            validate_upn(&new.organizer).map_err(|e| FieldError::new("organizer", e.message))?;
        let subject = new.subject.trim().to_string();
        if subject.is_empty() || subject.len() > 256 || subject.chars().any(char::is_control) {
            return Err(FieldError::new("subject", "1 to 256 printable characters").into());
        }
        let start = new.start_date_time.unwrap_or_else(Utc::now);
        let end = new.end_date_time.unwrap_or(start + Duration::hours(1));
        if end <= start {
            return Err(FieldError::new("endDateTime", "must be after startDateTime").into());
        }
        let expires_at = new
            .expiry_date_time
            .unwrap_or(end + DEFAULT_EXPIRY_AFTER_END);
        if expires_at < end {
            return Err(FieldError::new("expiryDateTime", "must not be before endDateTime").into());
        }
        let mut tls = Vec::new();
        for d in new.trusted_tls_domains.unwrap_or_default() {
            tls.push(validate_domain(&d).map_err(|m| FieldError::new("trustedTlsDomains", m))?);
        }
        let rooms = new.invited_rooms.unwrap_or_default();
        for r in &rooms {
            dial::parse_sip_uri(r)
                .map_err(|e| FieldError::new("invitedRooms", format!("'{r}': {e}")))?;
        }
        let settings = MeetingSettings {
            allow_anonymous_join: new.allow_anonymous_join.unwrap_or(true),
            lobby_bypass: new.lobby_bypass.unwrap_or_default(),
            trusted_subnets: new.trusted_subnets.unwrap_or_default(),
            trusted_tls_domains: tls,
            invited_rooms: rooms,
        };
        let mut tx = self.write.begin().await?;
        match users::load_user(&mut tx, tenant, &organizer).await? {
            Some(u) if !u.deprovisioned => {}
            Some(_) => {
                return Err(FieldError::new("organizer", "the organizer is deprovisioned").into());
            }
            None => {
                return Err(FieldError::new(
                    "organizer",
                    format!("no user '{organizer}' in this tenant"),
                )
                .into());
            }
        }
        let mut vtc = None;
        for _ in 0..32 {
            let candidate = vtc_id::generate(&mut rand::thread_rng());
            if meeting_by_vtc(&mut tx, tenant, &candidate).await?.is_none() {
                vtc = Some(candidate);
                break;
            }
        }
        let Some(vtc) = vtc else {
            return Err(StoreError::Conflict {
                field: "videoTeleconferenceId".into(),
                message: "videoTeleconferenceId: no free ID found; try again".into(),
            });
        };
        let m = Meeting {
            id: Uuid::new_v4(),
            tenant_id: tenant,
            organizer,
            subject,
            start,
            end,
            expires_at,
            settings,
            video_teleconference_id: vtc,
            created_at: Utc::now(),
        };
        sqlx::query(
            "INSERT INTO meetings (id, tenant_id, organizer, subject, start_at, end_at, expires_at, allow_anonymous_join, lobby_bypass, \
             trusted_subnets, trusted_tls_domains, invited_rooms, vtc_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(m.id.to_string())
        .bind(tenant.to_string())
        .bind(m.organizer.clone())
        .bind(m.subject.clone())
        .bind(ms(m.start))
        .bind(ms(m.end))
        .bind(ms(m.expires_at))
        .bind(i64::from(m.settings.allow_anonymous_join))
        .bind(m.settings.lobby_bypass.as_str())
        .bind(json_list(&m.settings.trusted_subnets))
        .bind(json_list(&m.settings.trusted_tls_domains))
        .bind(json_list(&m.settings.invited_rooms))
        .bind(m.video_teleconference_id.clone())
        .bind(ms(m.created_at))
        .execute(&mut *tx)
        .await?;
        // The audit row names the meeting, never its conference ID with the tenant key.
        audit::record(
            &mut tx,
            actor,
            Some(tenant),
            "meeting.new",
            &m.id.to_string(),
            serde_json::json!({"organizer": m.organizer, "subject": m.subject}),
        )
        .await?;
        let view = view(&mut tx, m).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn meeting(&self, tenant: Uuid, id: &str) -> Result<MeetingView> {
        let id = Uuid::parse_str(id).map_err(|_| StoreError::NotFound("meeting".into()))?;
        let mut conn = self.read.acquire().await?;
        let m = sqlx::query("SELECT * FROM meetings WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .as_ref()
            .map(row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound("meeting".into()))?;
        view(&mut conn, m).await
    }

    /// A meeting by its id alone (the embedded meeting page's `/meet/{id}`): None when
    /// there is no such meeting or it has expired.
    pub async fn live_meeting(&self, id: &str, now: DateTime<Utc>) -> Result<Option<MeetingView>> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(None);
        };
        let mut conn = self.read.acquire().await?;
        let Some(m) = sqlx::query("SELECT * FROM meetings WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .as_ref()
            .map(row)
            .transpose()?
        else {
            return Ok(None);
        };
        let v = view(&mut conn, m).await?;
        Ok((v.expiry_date_time > now).then_some(v))
    }

    /// Graph's `onlineMeetings?$filter=VideoTeleconferenceId eq '…'`. Only meetings whose
    /// coordinates are live are found (the ID is not shown otherwise).
    pub async fn meetings_by_vtc(&self, tenant: Uuid, vtc: &str) -> Result<Vec<MeetingView>> {
        let mut conn = self.read.acquire().await?;
        let Some(m) = meeting_by_vtc(&mut conn, tenant, vtc.trim()).await? else {
            return Ok(vec![]);
        };
        let v = view(&mut conn, m).await?;
        Ok(if v.video_teleconference_id.is_some() {
            vec![v]
        } else {
            vec![]
        })
    }

    pub async fn meetings(&self, tenant: Uuid, limit: i64) -> Result<Vec<MeetingView>> {
        let mut conn = self.read.acquire().await?;
        let rows = sqlx::query(
            "SELECT * FROM meetings WHERE tenant_id = $1 ORDER BY start_at DESC LIMIT $2",
        )
        .bind(tenant.to_string())
        .bind(limit.clamp(1, 1000))
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(view(&mut conn, row(r)?).await?);
        }
        Ok(out)
    }
}

/// Coordinates are derived at read time from the organizer's effective policy, so a grant
/// gives existing meetings their coordinates and a revoke takes them away at once.
async fn view(conn: &mut sqlx::AnyConnection, m: Meeting) -> Result<MeetingView> {
    let organizer = users::load_user(conn, m.tenant_id, &m.organizer).await?;
    let grants = grants::load_grants(conn, m.tenant_id).await?;
    let providers = providers::load_providers(conn, m.tenant_id).await?;
    let (coords, status) = match organizer {
        None => (None, "organizer unknown".to_string()),
        Some(u) if u.deprovisioned => (None, "organizer deprovisioned".to_string()),
        Some(u) => {
            let eff = video_policy::effective(
                &grants,
                PolicyType::VideoInterop,
                &u,
                video_policy::GLOBAL,
            );
            match video_policy::enabled_provider(&eff.policy_name, &providers) {
                Some(p) => (
                    Some(coordinates(p, &m.video_teleconference_id)),
                    "enabled".to_string(),
                ),
                None => (
                    None,
                    format!(
                        "organizer's effective video interop policy is {}",
                        eff.policy_name
                    ),
                ),
            }
        }
    };
    Ok(MeetingView {
        id: m.id,
        tenant_id: m.tenant_id,
        organizer: m.organizer,
        subject: m.subject,
        start_date_time: m.start,
        end_date_time: m.end,
        expiry_date_time: m.expires_at,
        settings: m.settings,
        video_teleconference_id: coords.as_ref().map(|c| c.video_teleconference_id.clone()),
        join_information: coords.as_ref().map(|c| c.join_information.clone()),
        vtc_coordinates: coords,
        vtc_status: status,
    })
}
