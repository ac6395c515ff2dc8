//! Teams ↔ Azure Communication Services (ACS) external federation: whether an ACS user of a
//! given ACS resource may reach a Teams user, from the tenant configuration and the external
//! access policy assigned to that user.
//!
//! # Sources
//! - "Enable interoperability in your Teams tenant" (include file of the Azure Communication
//!   Services docs, ms.date 09/29/2023; MicrosoftDocs/azure-docs,
//!   `articles/communication-services/concepts/includes/enable-interoperability-for-teams-tenant.md`,
//!   shown e.g. in <https://learn.microsoft.com/azure/communication-services/quickstarts/voice-video-calling/get-started-teams-interop-group-calls>).
//!   "Interoperability with Communication Services resources is controlled via tenant configuration
//!   and assigned policy. Teams tenant has a single tenant configuration, and Teams users have
//!   assigned global policy or custom policy." The table (kept verbatim in [`TABLE`]; later
//!   revisions of the page dropped it):
//!
//! | Tenant configuration | Global policy | Custom policy | Assigned policy | Interoperability |
//! | --- | --- | --- | --- | --- |
//! | True | True | True | Global | **Enabled** |
//! | True | True | True | Custom | **Enabled** |
//! | True | True | False | Global | **Enabled** |
//! | True | True | False | Custom | Disabled |
//! | True | False | True | Global | Disabled |
//! | True | False | True | Custom | **Enabled** |
//! | True | False | False | Global | Disabled |
//! | True | False | False | Custom | Disabled |
//! | False | True | True | Global | Disabled |
//! | False | True | True | Custom | Disabled |
//! | False | True | False | Global | Disabled |
//! | False | True | False | Custom | Disabled |
//! | False | False | True | Global | Disabled |
//! | False | False | True | Custom | Disabled |
//! | False | False | False | Global | Disabled |
//! | False | False | False | Custom | Disabled |
//!
//!   "Tenant configuration" is `Set-CsTeamsAcsFederationConfiguration -EnableAcsUsers`; the two
//!   policy columns are `EnableAcsFederationAccess` of the Global and of the custom external access
//!   policy (`Set-CsExternalAccessPolicy`).
//! - `Set-CsTeamsAcsFederationConfiguration` (MicrosoftDocs/office-docs-powershell): `EnableAcsUsers`
//!   "When set to False, all other parameters are ignored."; `AllowedAcsResources` "The list of the
//!   ACS resources (at least one) for which federation is enabled, when EnableAcsUsers is set to
//!   true", listed by immutable resource id (a GUID); `AllowAllAcsResources` "DEPRECATED. Do not
//!   use."; `BlockedAcsResources` "List of blocked Azure Communication Services resources". An older
//!   revision: "All ACS resources can be allowed, with possible exclusions, or just selected ACS
//!   resources can be allowed"; `Get-CsTeamsAcsFederationConfiguration` example 2 shows
//!   `AllowAllAcsResources : True` with a `BlockedAcsResources` list.
//!
//! # Evaluation
//! 1. The table decides. A row that says Disabled is final.
//! 2. On an Enabled row the ACS resource must pass the tenant's resource lists. This
//!    module's own choices, not spelled out in the docs: ids are compared trimmed and
//!    case-insensitively (they are GUIDs); a blocked id is refused in both modes; an empty id is
//!    refused.
//! 3. A custom policy assigned but not supplied is not a table row: Disabled (fail closed). With
//!    the Global policy assigned the custom column never changes the result, so a missing custom
//!    policy is looked up as `False`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The tenant's single ACS federation configuration (`Get-CsTeamsAcsFederationConfiguration`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantAcsConfiguration {
    /// `EnableAcsUsers`: the "Tenant configuration" column. Default False.
    pub enable_acs_users: bool,
    /// `AllowedAcsResources`: immutable resource ids allowed to federate.
    #[serde(default)]
    pub allowed_acs_resources: Vec<String>,
    /// `AllowAllAcsResources` (DEPRECATED in the current doc): allow every resource except the
    /// blocked ones.
    #[serde(default)]
    pub allow_all_acs_resources: bool,
    /// `BlockedAcsResources`: immutable resource ids refused.
    #[serde(default)]
    pub blocked_acs_resources: Vec<String>,
}

/// The part of an external access policy (`CsExternalAccessPolicy`) the table reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAccessPolicy {
    /// `Global` or the custom policy's identity.
    pub identity: String,
    /// `EnableAcsFederationAccess`.
    pub enable_acs_federation_access: bool,
}

/// Which external access policy the Teams user has ("Assigned policy").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AssignedPolicy {
    Global,
    Custom,
}

/// The "Interoperability" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FederationResult {
    Enabled,
    Disabled,
}

/// The outcome and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FederationDecision {
    pub result: FederationResult,
    /// The table row (1-based, doc order) and, when it was Enabled, the resource check.
    pub reason: String,
}

/// One row of the doc's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableRow {
    pub tenant_configuration: bool,
    pub global_policy: bool,
    pub custom_policy: bool,
    pub assigned_policy: AssignedPolicy,
    pub interoperability: FederationResult,
}

const fn r(
    tenant: bool,
    global: bool,
    custom: bool,
    assigned: AssignedPolicy,
    result: FederationResult,
) -> TableRow {
    TableRow {
        tenant_configuration: tenant,
        global_policy: global,
        custom_policy: custom,
        assigned_policy: assigned,
        interoperability: result,
    }
}

use AssignedPolicy::{Custom as C, Global as G};
use FederationResult::{Disabled as D, Enabled as E};

/// The doc's 16 rows, in the doc's order.
pub const TABLE: [TableRow; 16] = [
    r(true, true, true, G, E),
    r(true, true, true, C, E),
    r(true, true, false, G, E),
    r(true, true, false, C, D),
    r(true, false, true, G, D),
    r(true, false, true, C, E),
    r(true, false, false, G, D),
    r(true, false, false, C, D),
    r(false, true, true, G, D),
    r(false, true, true, C, D),
    r(false, true, false, G, D),
    r(false, true, false, C, D),
    r(false, false, true, G, D),
    r(false, false, true, C, D),
    r(false, false, false, G, D),
    r(false, false, false, C, D),
];

fn tf(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn same_id(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Decides whether ACS users of `resource_id` may federate with a Teams user.
pub fn evaluate(
    tenant: &TenantAcsConfiguration,
    global: &ExternalAccessPolicy,
    custom: Option<&ExternalAccessPolicy>,
    assigned: AssignedPolicy,
    resource_id: &str,
) -> FederationDecision {
    let disabled = |reason: String| FederationDecision {
        result: FederationResult::Disabled,
        reason,
    };
    if assigned == AssignedPolicy::Custom && custom.is_none() {
        return disabled("a custom external access policy is assigned but none was supplied (no table row applies; fail closed)".into());
    }
    let custom_on = custom.is_some_and(|c| c.enable_acs_federation_access);
    let key = (
        tenant.enable_acs_users,
        global.enable_acs_federation_access,
        custom_on,
        assigned,
    );
    let Some((i, row)) = TABLE.iter().enumerate().find(|(_, t)| {
        (
            t.tenant_configuration,
            t.global_policy,
            t.custom_policy,
            t.assigned_policy,
        ) == key
    }) else {
        return disabled("no table row matches (fail closed)".into());
    };
    let assigned_id = match (assigned, custom) {
        (AssignedPolicy::Custom, Some(c)) => c.identity.as_str(),
        _ => global.identity.as_str(),
    };
    let row_text = format!(
        "table row {}: tenant configuration (EnableAcsUsers) {}, global policy {}, custom policy {}{}, assigned policy {:?} ({assigned_id}) -> {:?}",
        i + 1,
        tf(row.tenant_configuration),
        tf(row.global_policy),
        tf(row.custom_policy),
        if custom.is_none() {
            " (none supplied)"
        } else {
            ""
        },
        row.assigned_policy,
        row.interoperability,
    );
    if row.interoperability == FederationResult::Disabled {
        return disabled(row_text);
    }
    let id = resource_id.trim();
    let check = if id.is_empty() {
        Err("the ACS resource id is empty".to_owned())
    } else if tenant.blocked_acs_resources.iter().any(|b| same_id(b, id)) {
        Err(format!("ACS resource {id} is in BlockedAcsResources"))
    } else if tenant.allow_all_acs_resources {
        Ok(format!(
            "ACS resource {id} allowed by AllowAllAcsResources (deprecated) and not blocked"
        ))
    } else if tenant.allowed_acs_resources.iter().any(|a| same_id(a, id)) {
        Ok(format!("ACS resource {id} is in AllowedAcsResources"))
    } else {
        Err(format!("ACS resource {id} is not in AllowedAcsResources"))
    };
    match check {
        Ok(why) => FederationDecision {
            result: FederationResult::Enabled,
            reason: format!("{row_text}; {why}"),
        },
        Err(why) => disabled(format!("{row_text}, but {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RES: &str = "faced04c-2ced-433d-90db-063e424b87b1";

    fn tenant(enable: bool) -> TenantAcsConfiguration {
        TenantAcsConfiguration {
            enable_acs_users: enable,
            allowed_acs_resources: vec![RES.into()],
            ..Default::default()
        }
    }
    fn pol(identity: &str, on: bool) -> ExternalAccessPolicy {
        ExternalAccessPolicy {
            identity: identity.into(),
            enable_acs_federation_access: on,
        }
    }

    macro_rules! rows {
        ($($name:ident: $n:literal, $t:literal, $g:literal, $c:literal, $a:ident => $want:ident;)*) => {$(
            #[test]
            fn $name() {
                let custom = pol("Tag:AcsCustom", $c);
                let d = evaluate(&tenant($t), &pol("Global", $g), Some(&custom), $a, RES);
                assert_eq!(d.result, $want, "{}", d.reason);
                assert!(d.reason.starts_with(&format!("table row {}:", $n)), "{}", d.reason);
                assert_eq!(TABLE[$n - 1], r($t, $g, $c, $a, $want));
            }
        )*};
    }

    rows! {
        row_01_tenant_enabled_global_on_custom_on_assigned_global_enabled: 1, true, true, true, G => E;
        row_02_tenant_enabled_global_on_custom_on_assigned_custom_enabled: 2, true, true, true, C => E;
        row_03_tenant_enabled_global_on_custom_off_assigned_global_enabled: 3, true, true, false, G => E;
        row_04_tenant_enabled_global_on_custom_off_assigned_custom_disabled: 4, true, true, false, C => D;
        row_05_tenant_enabled_global_off_custom_on_assigned_global_disabled: 5, true, false, true, G => D;
        row_06_tenant_enabled_global_off_custom_on_assigned_custom_enabled: 6, true, false, true, C => E;
        row_07_tenant_enabled_global_off_custom_off_assigned_global_disabled: 7, true, false, false, G => D;
        row_08_tenant_enabled_global_off_custom_off_assigned_custom_disabled: 8, true, false, false, C => D;
        row_09_tenant_disabled_global_on_custom_on_assigned_global_disabled: 9, false, true, true, G => D;
        row_10_tenant_disabled_global_on_custom_on_assigned_custom_disabled: 10, false, true, true, C => D;
        row_11_tenant_disabled_global_on_custom_off_assigned_global_disabled: 11, false, true, false, G => D;
        row_12_tenant_disabled_global_on_custom_off_assigned_custom_disabled: 12, false, true, false, C => D;
        row_13_tenant_disabled_global_off_custom_on_assigned_global_disabled: 13, false, false, true, G => D;
        row_14_tenant_disabled_global_off_custom_on_assigned_custom_disabled: 14, false, false, true, C => D;
        row_15_tenant_disabled_global_off_custom_off_assigned_global_disabled: 15, false, false, false, G => D;
        row_16_tenant_disabled_global_off_custom_off_assigned_custom_disabled: 16, false, false, false, C => D;
    }

    #[test]
    fn table_is_tenant_and_assigned_policy() {
        for t in TABLE {
            let assigned = if t.assigned_policy == G {
                t.global_policy
            } else {
                t.custom_policy
            };
            assert_eq!(
                t.interoperability == E,
                t.tenant_configuration && assigned,
                "{t:?}"
            );
        }
    }

    #[test]
    fn resource_not_in_allow_list_is_disabled() {
        let d = evaluate(
            &tenant(true),
            &pol("Global", true),
            None,
            G,
            "00000000-0000-0000-0000-000000000000",
        );
        assert_eq!(d.result, D);
        assert!(
            d.reason.contains("table row 3:") && d.reason.contains("not in AllowedAcsResources"),
            "{}",
            d.reason
        );
    }
    #[test]
    fn resource_match_is_trimmed_and_case_insensitive() {
        let d = evaluate(
            &tenant(true),
            &pol("Global", true),
            None,
            G,
            " FACED04C-2CED-433D-90DB-063E424B87B1 ",
        );
        assert_eq!(d.result, E, "{}", d.reason);
    }
    #[test]
    fn empty_resource_id_or_allow_list_is_disabled() {
        assert_eq!(
            evaluate(&tenant(true), &pol("Global", true), None, G, "  ").result,
            D
        );
        let empty = TenantAcsConfiguration {
            enable_acs_users: true,
            ..Default::default()
        };
        assert_eq!(
            evaluate(&empty, &pol("Global", true), None, G, RES).result,
            D
        );
    }
    #[test]
    fn allow_all_mode_honours_block_list() {
        let t = TenantAcsConfiguration {
            enable_acs_users: true,
            allow_all_acs_resources: true,
            blocked_acs_resources: vec!["bf19b7db-6960-41e5-a139-2aa373474354".into()],
            ..Default::default()
        };
        assert_eq!(evaluate(&t, &pol("Global", true), None, G, RES).result, E);
        let d = evaluate(
            &t,
            &pol("Global", true),
            None,
            G,
            "BF19B7DB-6960-41e5-a139-2aa373474354",
        );
        assert!(
            d.result == D && d.reason.contains("BlockedAcsResources"),
            "{}",
            d.reason
        );
    }
    #[test]
    fn blocked_wins_over_allow_list() {
        let mut t = tenant(true);
        t.blocked_acs_resources = vec![RES.into()];
        assert_eq!(evaluate(&t, &pol("Global", true), None, G, RES).result, D);
    }
    #[test]
    fn tenant_disabled_ignores_resource_lists() {
        let t = TenantAcsConfiguration {
            enable_acs_users: false,
            allow_all_acs_resources: true,
            ..tenant(false)
        };
        let d = evaluate(&t, &pol("Global", true), None, G, RES);
        assert!(
            d.result == D && d.reason.starts_with("table row 11:"),
            "{}",
            d.reason
        );
    }
    #[test]
    fn custom_assigned_but_missing_fails_closed() {
        let d = evaluate(&tenant(true), &pol("Global", true), None, C, RES);
        assert!(
            d.result == D && d.reason.contains("fail closed"),
            "{}",
            d.reason
        );
    }
    #[test]
    fn reason_names_the_assigned_policy() {
        let custom = pol("Tag:AcsCustom", true);
        let d = evaluate(&tenant(true), &pol("Global", false), Some(&custom), C, RES);
        assert!(
            d.result == E
                && d.reason.contains("Custom (Tag:AcsCustom)")
                && d.reason.contains("in AllowedAcsResources"),
            "{}",
            d.reason
        );
    }
}
