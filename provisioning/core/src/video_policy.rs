//! Policy grants and the effective policy of a user (all policy types), and the
//! preconstructed TeamsVideoInteropServicePolicy instances.
//!
//! A user has exactly one effective policy of each type: their own grant, else the grant of
//! the group they belong to with the lowest rank, else the tenant's Global grant, else the
//! type's built-in default (for video interop: `Global`, which is disabled).

use crate::model::{Provider, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The built-in policy every tenant starts with: video interop disabled.
pub const GLOBAL: &str = "Global";
/// Explicitly disabled.
pub const DISABLED: &str = "ServiceProviderDisabled";
/// Suffix of the per-provider enabled policy, `<Identity>ServiceProviderEnabled`.
pub const ENABLED_SUFFIX: &str = "ServiceProviderEnabled";

/// The policy types the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PolicyType {
    /// TeamsVideoInteropServicePolicy.
    VideoInterop,
    /// TeamsInteropPolicy (chat/calling default client).
    TeamsInterop,
    /// External access policy (ACS federation).
    ExternalAccess,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::VideoInterop => "videoInterop",
            PolicyType::TeamsInterop => "teamsInterop",
            PolicyType::ExternalAccess => "externalAccess",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "videoInterop" => Some(PolicyType::VideoInterop),
            "teamsInterop" => Some(PolicyType::TeamsInterop),
            "externalAccess" => Some(PolicyType::ExternalAccess),
            _ => None,
        }
    }
}

/// To whom a policy is granted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Grantee {
    User { identity: String },
    Group { group: String, rank: u32 },
    Global,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub policy_type: PolicyType,
    pub grantee: Grantee,
    pub policy_name: String,
}

/// Where a user's effective policy came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum GrantSource {
    User,
    Group {
        group: String,
        rank: u32,
    },
    Global,
    /// No grant at all: the type's built-in default.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    pub policy_name: String,
    pub source: GrantSource,
}

/// The effective policy of `policy_type` for `user`, from the tenant's grants.
/// Group ties on rank (which the store forbids) break by group name for determinism.
pub fn effective(
    grants: &[Grant],
    policy_type: PolicyType,
    user: &User,
    default: &str,
) -> Effective {
    let of_type = grants.iter().filter(|g| g.policy_type == policy_type);
    let mut best_group: Option<(&str, u32, &str)> = None;
    let mut global: Option<&str> = None;
    for g in of_type {
        match &g.grantee {
            Grantee::User { identity }
                if identity.eq_ignore_ascii_case(&user.user_principal_name) =>
            {
                return Effective {
                    policy_name: g.policy_name.clone(),
                    source: GrantSource::User,
                };
            }
            Grantee::User { .. } => {}
            Grantee::Group { group, rank } => {
                if user.groups.iter().any(|m| m.eq_ignore_ascii_case(group)) {
                    let better = match best_group {
                        None => true,
                        Some((bg, br, _)) => (*rank, group.as_str()) < (br, bg),
                    };
                    if better {
                        best_group = Some((group, *rank, &g.policy_name));
                    }
                }
            }
            Grantee::Global => global = Some(&g.policy_name),
        }
    }
    if let Some((group, rank, name)) = best_group {
        return Effective {
            policy_name: name.to_string(),
            source: GrantSource::Group {
                group: group.to_string(),
                rank,
            },
        };
    }
    match global {
        Some(name) => Effective {
            policy_name: name.to_string(),
            source: GrantSource::Global,
        },
        None => Effective {
            policy_name: default.to_string(),
            source: GrantSource::Default,
        },
    }
}

/// A TeamsVideoInteropServicePolicy instance. Preconstructed and read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoInteropPolicy {
    pub identity: String,
    pub enabled: bool,
    /// The provider identity this instance enables, if any.
    pub provider_name: Option<String>,
}

/// Every instance a tenant has: Global (disabled), ServiceProviderDisabled, and one
/// `<Identity>ServiceProviderEnabled` for each of its providers.
pub fn instances(providers: &[Provider]) -> Vec<VideoInteropPolicy> {
    let mut v = vec![
        VideoInteropPolicy {
            identity: GLOBAL.into(),
            enabled: false,
            provider_name: None,
        },
        VideoInteropPolicy {
            identity: DISABLED.into(),
            enabled: false,
            provider_name: None,
        },
    ];
    v.extend(providers.iter().map(|p| VideoInteropPolicy {
        identity: format!("{}{ENABLED_SUFFIX}", p.identity),
        enabled: true,
        provider_name: Some(p.identity.clone()),
    }));
    v
}

/// Finds an instance by name (case-insensitive, like the cmdlets; a `Tag:` prefix is accepted).
pub fn resolve(name: &str, providers: &[Provider]) -> Option<VideoInteropPolicy> {
    let name = strip_tag(name);
    instances(providers)
        .into_iter()
        .find(|p| p.identity.eq_ignore_ascii_case(name))
}

/// `Tag:Foo` → `Foo`.
pub fn strip_tag(name: &str) -> &str {
    let n = name.trim();
    match n.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("tag:") => &n[4..],
        _ => n,
    }
}

/// The provider identity an effective video-interop policy name enables, if any.
pub fn enabled_provider<'a>(policy_name: &str, providers: &'a [Provider]) -> Option<&'a Provider> {
    let name = strip_tag(policy_name);
    providers.iter().find(|p| {
        name.len() == p.identity.len() + ENABLED_SUFFIX.len()
            && name
                .get(..p.identity.len())
                .is_some_and(|a| a.eq_ignore_ascii_case(&p.identity))
            && name
                .get(p.identity.len()..)
                .is_some_and(|b| b.eq_ignore_ascii_case(ENABLED_SUFFIX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Homing;
    use uuid::Uuid;

    fn user(groups: &[&str]) -> User {
        User {
            tenant_id: Uuid::nil(),
            user_principal_name: "alice@contoso.com".into(),
            display_name: "Alice".into(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            homing: Homing::Online,
            hybrid_voice: false,
            deprovisioned: false,
        }
    }
    fn grant(grantee: Grantee, name: &str) -> Grant {
        Grant {
            policy_type: PolicyType::VideoInterop,
            grantee,
            policy_name: name.into(),
        }
    }
    fn provider(identity: &str) -> Provider {
        Provider {
            tenant_id: Uuid::nil(),
            identity: identity.into(),
            tenant_key: "1@x.com".into(),
            aad_application_ids: vec![],
            instruction_uri: None,
            allow_app_guest_joins_as_authenticated: false,
            language: "en".into(),
        }
    }

    #[test]
    fn no_grant_is_global_disabled() {
        let e = effective(&[], PolicyType::VideoInterop, &user(&[]), GLOBAL);
        assert_eq!(e.policy_name, "Global");
        assert_eq!(e.source, GrantSource::Default);
        assert!(enabled_provider(&e.policy_name, &[provider("Polycom")]).is_none());
    }

    #[test]
    fn user_grant_beats_group_and_global() {
        let grants = vec![
            grant(Grantee::Global, "PolycomServiceProviderEnabled"),
            grant(
                Grantee::Group {
                    group: "eng".into(),
                    rank: 1,
                },
                "PexipServiceProviderEnabled",
            ),
            grant(
                Grantee::User {
                    identity: "ALICE@contoso.com".into(),
                },
                "ServiceProviderDisabled",
            ),
        ];
        let e = effective(&grants, PolicyType::VideoInterop, &user(&["eng"]), GLOBAL);
        assert_eq!(e.policy_name, "ServiceProviderDisabled");
        assert_eq!(e.source, GrantSource::User);
    }

    #[test]
    fn lowest_rank_group_wins_then_global() {
        let grants = vec![
            grant(Grantee::Global, "PolycomServiceProviderEnabled"),
            grant(
                Grantee::Group {
                    group: "eng".into(),
                    rank: 5,
                },
                "ServiceProviderDisabled",
            ),
            grant(
                Grantee::Group {
                    group: "rooms".into(),
                    rank: 2,
                },
                "PexipServiceProviderEnabled",
            ),
            grant(
                Grantee::Group {
                    group: "other".into(),
                    rank: 1,
                },
                "ServiceProviderDisabled",
            ),
        ];
        let e = effective(
            &grants,
            PolicyType::VideoInterop,
            &user(&["eng", "rooms"]),
            GLOBAL,
        );
        assert_eq!(e.policy_name, "PexipServiceProviderEnabled");
        assert_eq!(
            e.source,
            GrantSource::Group {
                group: "rooms".into(),
                rank: 2
            }
        );
        let e = effective(&grants, PolicyType::VideoInterop, &user(&[]), GLOBAL);
        assert_eq!(e.policy_name, "PolycomServiceProviderEnabled");
        assert_eq!(e.source, GrantSource::Global);
    }

    #[test]
    fn grants_of_other_types_are_ignored() {
        let mut g = grant(Grantee::Global, "PolycomServiceProviderEnabled");
        g.policy_type = PolicyType::TeamsInterop;
        let e = effective(&[g], PolicyType::VideoInterop, &user(&[]), GLOBAL);
        assert_eq!(e.source, GrantSource::Default);
    }

    #[test]
    fn instances_and_resolution() {
        let ps = [provider("Polycom"), provider("Pexip")];
        let names: Vec<_> = instances(&ps).into_iter().map(|p| p.identity).collect();
        assert_eq!(
            names,
            [
                "Global",
                "ServiceProviderDisabled",
                "PolycomServiceProviderEnabled",
                "PexipServiceProviderEnabled"
            ]
        );
        assert!(resolve("tag:polycomserviceproviderenabled", &ps).is_some_and(|p| p.enabled));
        assert!(resolve("CiscoServiceProviderEnabled", &ps).is_none());
        assert_eq!(
            enabled_provider("PexipServiceProviderEnabled", &ps).map(|p| p.identity.as_str()),
            Some("Pexip")
        );
        assert!(enabled_provider("Pexip", &ps).is_none());
    }
}
