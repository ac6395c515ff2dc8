//! The provisioning model: what an operator and a tenant admin create, and its validation.
//!
//! Serialized names follow the cmdlets and Microsoft Graph (camelCase).

use crate::error::FieldError;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;
use uuid::Uuid;

/// The four application permissions a tenant admin consents to (CVI document).
pub const CONSENT_PERMISSIONS: [&str; 4] = [
    "Calls.JoinGroupCall.All",
    "Calls.JoinGroupCallasGuest.All",
    "Calls.AccessMedia.All",
    "OnlineMeetings.Read.All",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub verified_domains: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub enum Homing {
    #[default]
    Online,
    OnPremises,
}

impl Homing {
    pub fn as_str(self) -> &'static str {
        match self {
            Homing::Online => "online",
            Homing::OnPremises => "onPremises",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "online" => Some(Homing::Online),
            "onPremises" => Some(Homing::OnPremises),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub tenant_id: Uuid,
    pub user_principal_name: String,
    pub display_name: String,
    pub groups: Vec<String>,
    pub homing: Homing,
    pub hybrid_voice: bool,
    pub deprovisioned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub tenant_id: Uuid,
    pub name: String,
    pub display_name: String,
}

/// VideoInteropServiceProvider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub tenant_id: Uuid,
    pub identity: String,
    pub tenant_key: String,
    pub aad_application_ids: Vec<String>,
    pub instruction_uri: Option<String>,
    pub allow_app_guest_joins_as_authenticated: bool,
    /// Language of the IVR's prompts for this provider's callers (`en`, `de`, `fr`, …;
    /// English when there are no prompts in it).
    #[serde(default = "default_language")]
    pub language: String,
}

fn default_language() -> String {
    "en".into()
}

/// A language tag: 2–3 letters, optionally `-` and a region or script (`en`, `de-CH`).
pub fn validate_language(s: &str) -> Result<String, FieldError> {
    let err = || FieldError::new("language", "a language tag such as en, de or fr-CA");
    let mut parts = s.trim().split('-');
    let primary = parts.next().unwrap_or_default();
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(err());
    }
    for p in parts {
        if !(2..=8).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(err());
        }
    }
    Ok(s.trim().to_ascii_lowercase())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub tenant_id: Uuid,
    pub app_id: String,
    pub permissions: Vec<String>,
    pub granted_at: DateTime<Utc>,
    pub granted_by: String,
}

impl Consent {
    /// True when every permission the CVI document requires is consented.
    pub fn is_complete(&self) -> bool {
        CONSENT_PERMISSIONS
            .iter()
            .all(|p| self.permissions.iter().any(|q| q.eq_ignore_ascii_case(p)))
    }
}

/// Who may skip the lobby.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub enum LobbyBypass {
    Everyone,
    #[default]
    Organization,
    Invited,
    OrganizersOnly,
}

impl LobbyBypass {
    pub fn as_str(self) -> &'static str {
        match self {
            LobbyBypass::Everyone => "everyone",
            LobbyBypass::Organization => "organization",
            LobbyBypass::Invited => "invited",
            LobbyBypass::OrganizersOnly => "organizersOnly",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "everyone" => Some(LobbyBypass::Everyone),
            "organization" => Some(LobbyBypass::Organization),
            "invited" => Some(LobbyBypass::Invited),
            "organizersOnly" => Some(LobbyBypass::OrganizersOnly),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeetingSettings {
    pub allow_anonymous_join: bool,
    pub lobby_bypass: LobbyBypass,
    /// Callers from these subnets are trusted (authenticated join).
    #[schema(value_type = Vec<String>)]
    pub trusted_subnets: Vec<IpNet>,
    /// Callers whose TLS certificate names one of these domains are trusted.
    pub trusted_tls_domains: Vec<String>,
    /// SIP URIs of invited room systems (one-touch join; `lobbyBypass: invited`).
    pub invited_rooms: Vec<String>,
}

impl Default for MeetingSettings {
    fn default() -> Self {
        Self {
            allow_anonymous_join: true,
            lobby_bypass: LobbyBypass::default(),
            trusted_subnets: Vec::new(),
            trusted_tls_domains: Vec::new(),
            invited_rooms: Vec::new(),
        }
    }
}

/// A scheduled meeting. `video_teleconference_id` is allocated at creation; it is shown
/// (as coordinates) only while the organizer's effective policy enables a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub organizer: String,
    pub subject: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub settings: MeetingSettings,
    pub video_teleconference_id: String,
    pub created_at: DateTime<Utc>,
}

/// A tenant key, `local@domain`, normalized to lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantKey {
    local: String,
    domain: String,
}

impl TenantKey {
    /// Parses and validates a tenant key. The local part may not contain `.` (the direct-dial
    /// separator) and is at most 64 characters of letters, digits, `-` and `_`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let err = |m: &str| FieldError::new("tenantKey", m);
        let s = s.trim();
        let (local, domain) = s
            .split_once('@')
            .ok_or_else(|| err("a tenant key has the form local@domain"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(err("the local part has 1 to 64 characters"));
        }
        if !local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(err(
                "the local part has letters, digits, '-' and '_' only (no '.', it separates key and conference ID)",
            ));
        }
        let domain = validate_domain(domain).map_err(|m| err(&m))?;
        Ok(Self {
            local: local.to_ascii_lowercase(),
            domain,
        })
    }

    pub fn from_parts(local: &str, domain: &str) -> Result<Self, FieldError> {
        Self::parse(&format!("{local}@{domain}"))
    }

    pub fn local(&self) -> &str {
        &self.local
    }
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

impl fmt::Display for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// Validates a DNS domain name; returns it lowercased.
pub fn validate_domain(d: &str) -> Result<String, String> {
    let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() || d.len() > 253 {
        return Err("a domain has 1 to 253 characters".into());
    }
    for label in d.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!("'{d}' is not a valid domain name"));
        }
    }
    Ok(d)
}

/// Provider identities: 1..64 of letters, digits, `-`, `_`, `.`. The policy name
/// `<Identity>ServiceProviderEnabled` is derived from it.
pub fn validate_identity(s: &str) -> Result<(), FieldError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "identity",
            "an identity has 1 to 64 letters, digits, '-', '_' or '.'",
        ))
    }
}

/// InstructionUri must be an absolute https URL.
pub fn validate_instruction_uri(s: &str) -> Result<(), FieldError> {
    let err = || FieldError::new("instructionUri", "an absolute https:// URL is required");
    let rest = s.strip_prefix("https://").ok_or_else(err)?;
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    if host.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err());
    }
    validate_domain(host).map_err(|_| err())?;
    Ok(())
}

/// AAD application IDs are GUIDs.
pub fn validate_app_id(s: &str) -> Result<(), FieldError> {
    Uuid::parse_str(s)
        .map(|_| ())
        .map_err(|_| FieldError::new("aadApplicationIds", format!("'{s}' is not a GUID")))
}

/// User principal names look like `user@domain`.
pub fn validate_upn(s: &str) -> Result<String, FieldError> {
    let err = || FieldError::new("userPrincipalName", "a UPN has the form name@domain");
    let (local, domain) = s.trim().split_once('@').ok_or_else(err)?;
    if local.is_empty()
        || local.len() > 64
        || local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@')
    {
        return Err(err());
    }
    let domain = validate_domain(domain).map_err(|_| err())?;
    Ok(format!("{}@{domain}", local.to_lowercase()))
}

/// Names of tenants and groups: 1..128 printable characters.
pub fn validate_name(field: &str, s: &str) -> Result<(), FieldError> {
    if s.trim().is_empty() || s.len() > 128 || s.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(field, "1 to 128 printable characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys() {
        let k = TenantKey::parse("813878896@T.plcm.vc").expect("valid");
        assert_eq!(k.to_string(), "813878896@t.plcm.vc");
        assert_eq!(k.local(), "813878896");
        for bad in [
            "",
            "813878896",
            "@t.plcm.vc",
            "81.3@t.plcm.vc",
            "a@",
            "a@-x.com",
            "a b@x.com",
            "a@x..com",
        ] {
            let e = TenantKey::parse(bad).expect_err(bad);
            assert_eq!(e.field, "tenantKey");
        }
    }

    #[test]
    fn instruction_uris() {
        assert!(validate_instruction_uri("https://dialin.plcm.vc/teams/").is_ok());
        assert!(validate_instruction_uri("https://dialin.plcm.vc:8443/x?y=1").is_ok());
        for bad in [
            "http://x.com/",
            "https://",
            "dialin.plcm.vc",
            "https:// x.com",
            "https://x..com",
        ] {
            assert!(validate_instruction_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn languages() {
        assert_eq!(validate_language("de").expect("valid"), "de");
        assert_eq!(validate_language("fr-CA").expect("valid"), "fr-ca");
        for bad in ["", "e", "english", "de_CH", "fr-", "1a"] {
            assert!(validate_language(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn upns_and_ids() {
        assert_eq!(
            validate_upn("Alice@Contoso.com").expect("valid"),
            "alice@contoso.com"
        );
        assert!(validate_upn("alice").is_err());
        assert!(validate_identity("Polycom").is_ok());
        assert!(validate_identity("Poly com").is_err());
        assert!(validate_app_id("b4e4d0c8-7e3b-4c44-8b4f-1a2b3c4d5e6f").is_ok());
        assert!(validate_app_id("nope").is_err());
    }

    #[test]
    fn consent_completeness() {
        let mut c = Consent {
            tenant_id: Uuid::nil(),
            app_id: "x".into(),
            permissions: CONSENT_PERMISSIONS.iter().map(|s| s.to_string()).collect(),
            granted_at: DateTime::<Utc>::MIN_UTC,
            granted_by: "op".into(),
        };
        assert!(c.is_complete());
        c.permissions.pop();
        assert!(!c.is_complete());
    }
}
