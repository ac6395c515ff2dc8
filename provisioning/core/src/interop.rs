//! TeamsInteropPolicy: the legacy Skype for Business ↔ Teams interop policy (which app
//! receives a user's calls and chats), its preconstructed instances and its special cases.
//!
//! # Sources
//! - "Microsoft Teams and Skype for Business interoperability" (Microsoft Docs, ms.date
//!   12/12/2017), <https://docs.microsoft.com/MicrosoftTeams/teams-and-skypeforbusiness-interoperability>:
//!   parameters, the calling table and the special cases below.
//! - `Get-CsTeamsInteropPolicy` / `Grant-CsTeamsInteropPolicy` (MicrosoftDocs/office-docs-powershell,
//!   `skype/skype-ps/skype/*-CsTeamsInteropPolicy.md`): the built-in instances.
//! - "Quick start guide: Configuring Calling Plans in Microsoft Teams" (same era): the `Global`
//!   default and the `Tag:` identity form (`Identity : Tag:DisallowOverrideCallingTeamsChatTeams`).
//!
//! Parameters: `ChatDefaultClient` and `CallingDefaultClient` take `Default, SfB, Teams`;
//! `AllowEndUserClientOverride` takes `True, False`. The global default is
//! `Identity: Global, AllowEndUserClientOverride: False, CallingDefaultClient: Default,
//! ChatDefaultClient: Default`.
//!
//! Built-in instances ("Ensure that users with TeamsInteropPolicy are assigned only one of these
//! three built-in instances for which CallingDefaultClient = ChatDefaultClient, and for which
//! AllowEndUserClientOverride = false. The other instances are no longer valid configurations and
//! will not be supported."): `DisallowOverrideCallingDefaultChatDefault` (False, Default, Default),
//! `DisallowOverrideCallingSfbChatSfb` (False, Sfb, Sfb), `DisallowOverrideCallingTeamsChatTeams`
//! (False, Teams, Teams). Not encoded: `AllowOverrideCallingDefaultChatTeams`, named only as a
//! `Grant-` example, with no values given and being one of the "no longer valid" instances.
//!
//! The calling table, encoded exactly in [`route_call`]:
//!
//! | Caller calling from | Setting: Default; call received on | Setting: Teams; call received on | Setting: SfB; call received on |
//! |---|---|---|---|
//! | **Skype for Business** | Skype for Business | Teams | Skype for Business |
//! | **Teams** | Teams | Teams | Skype for Business |
//! | **PSTN** | Skype for Business | Teams | Skype for Business |
//! | **Federated Skype for Business** | Skype for Business | Skype for Business | Skype for Business |
//!
//! **No chat table exists.** The doc says: "At the present time, the `ChatDefaultClient`
//! parameter is not respected by Teams. We will update this documentation to describe the expected
//! behavior once the parameter is respected by Teams." [`route_chat`] therefore applies the calling
//! table to `ChatDefaultClient` (the doc asks for the same value in both parameters); every chat
//! rule says `UNDOCUMENTED`.
//!
//! Special cases ([`validate_assignment`]): users homed on Skype for Business on-premises "should
//! never have their policy set to Teams for either `ChatDefaultClient` and `CallingDefaultClient`
//! parameters. If they do, they will be unable to receive chats and calls", with the definition
//! Chat `Default or SfB`, Calling `Default or SfB`, Override `False`. Hybrid Voice users (CCE or
//! OPCH) "cannot receive PSTN calls in Teams": Chat `Default or SfB or Teams`, Calling `Default or
//! SfB`, Override `False`. Users with specialized Skype for Business workflows are not modeled (no
//! input marks them). Routing reflects the administrator's setting; with
//! `allowEndUserClientOverride` the user may pick the other app, a choice that is not an input here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Identity of the global (organization-wide) default instance.
pub const GLOBAL: &str = "Global";
const TAG: &str = "Tag:";

/// A value of `ChatDefaultClient` / `CallingDefaultClient`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum ClientSetting {
    /// `Default`.
    Default,
    /// `SfB` (the cmdlet docs also write `Sfb`, accepted on input).
    #[serde(alias = "Sfb")]
    SfB,
    /// `Teams`.
    Teams,
}

/// One TeamsInteropPolicy instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamsInteropPolicy {
    /// `Global` or `Tag:<name>`.
    pub identity: String,
    pub chat_default_client: ClientSetting,
    pub calling_default_client: ClientSetting,
    pub allow_end_user_client_override: bool,
}

fn builtin(identity: &str, calling: ClientSetting, chat: ClientSetting) -> TeamsInteropPolicy {
    TeamsInteropPolicy {
        identity: identity.to_owned(),
        chat_default_client: chat,
        calling_default_client: calling,
        allow_end_user_client_override: false,
    }
}

/// The documented instances: `Global` (the default, first) and the three valid built-ins.
pub fn preconstructed_policies() -> Vec<TeamsInteropPolicy> {
    use ClientSetting::{Default, SfB, Teams};
    vec![
        builtin(GLOBAL, Default, Default),
        builtin(
            "Tag:DisallowOverrideCallingDefaultChatDefault",
            Default,
            Default,
        ),
        builtin("Tag:DisallowOverrideCallingSfbChatSfb", SfB, SfB),
        builtin("Tag:DisallowOverrideCallingTeamsChatTeams", Teams, Teams),
    ]
}

/// The identity of the global default instance: `Global`.
pub fn global_default_identity() -> &'static str {
    GLOBAL
}

/// Splits an optional, case-insensitive `Tag:` prefix off an identity.
fn split_tag(s: &str) -> (bool, &str) {
    match s.get(..TAG.len()) {
        Some(p) if p.eq_ignore_ascii_case(TAG) => (true, s.get(TAG.len()..).unwrap_or("")),
        _ => (false, s),
    }
}

/// Finds a preconstructed instance like the cmdlets do: case-insensitive, with or without the
/// `Tag:` prefix (`Grant-CsTeamsInteropPolicy -PolicyName X` names `Tag:X`). `Tag:Global` is
/// not an identity and finds nothing.
pub fn find_policy(name: &str) -> Option<TeamsInteropPolicy> {
    let (tagged, bare) = split_tag(name.trim());
    preconstructed_policies().into_iter().find(|p| {
        let (p_tagged, p_bare) = split_tag(&p.identity);
        p_bare.eq_ignore_ascii_case(bare) && (p_tagged || !tagged)
    })
}

/// Where the user is homed (the model's type).
pub use crate::model::Homing;

/// The "Caller calling from" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum CallerOrigin {
    #[serde(rename = "sfb")]
    SkypeForBusiness,
    #[serde(rename = "teams")]
    Teams,
    #[serde(rename = "pstn")]
    Pstn,
    #[serde(rename = "federated")]
    FederatedSkypeForBusiness,
}

/// The app that receives the call or chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Client {
    Teams,
    SkypeForBusiness,
}

/// Where a call or chat goes and the documented rule that sent it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub struct Routing {
    pub client: Client,
    /// The doc row and column that applied, human readable.
    pub rule: &'static str,
}

struct Cell {
    client: Client,
    call: &'static str,
    chat: &'static str,
}

/// One cell: `$to` is `Teams` or `SfB` (Skype for Business).
macro_rules! cell {
    ($from:literal, $set:literal, Teams) => {
        cell!(@ $from, $set, "Teams", Teams)
    };
    ($from:literal, $set:literal, SfB) => {
        cell!(@ $from, $set, "Skype for Business", SkypeForBusiness)
    };
    (@ $from:literal, $set:literal, $to:literal, $client:ident) => {
        Cell {
            client: Client::$client,
            call: concat!("Caller calling from ", $from, "; Setting: ", $set, "; call received on ", $to),
            chat: concat!(
                "UNDOCUMENTED (ChatDefaultClient not respected by Teams; calling table applied): ",
                "caller from ", $from, "; Setting: ", $set, "; chat received on ", $to
            ),
        }
    };
}

/// One doc row: the caller, then the columns Default, Teams, SfB.
macro_rules! row {
    ($from:literal, $default:ident, $teams:ident, $sfb:ident) => {
        [
            cell!($from, "Default", $default),
            cell!($from, "Teams", $teams),
            cell!($from, "SfB", $sfb),
        ]
    };
}

/// The calling table, rows in doc order.
#[rustfmt::skip]
const TABLE: [[Cell; 3]; 4] = [
    row!("Skype for Business",           SfB,   Teams, SfB),
    row!("Teams",                        Teams, Teams, SfB),
    row!("PSTN",                         SfB,   Teams, SfB),
    row!("Federated Skype for Business", SfB,   SfB,   SfB),
];

const ON_PREM_CALL: &str = "INVALID ASSIGNMENT: on-premises-homed user with \
    CallingDefaultClient=Teams; the table sends the call to Teams, but the doc says the user \
    \"will be unable to receive chats and calls\"";
const ON_PREM_CHAT: &str = "INVALID ASSIGNMENT: on-premises-homed user with \
    ChatDefaultClient=Teams; the (undocumented) chat routing sends the chat to Teams, but the \
    doc says the user \"will be unable to receive chats and calls\"";

fn route(setting: ClientSetting, homing: Homing, caller: CallerOrigin, chat: bool) -> Routing {
    let row = match caller {
        CallerOrigin::SkypeForBusiness => &TABLE[0],
        CallerOrigin::Teams => &TABLE[1],
        CallerOrigin::Pstn => &TABLE[2],
        CallerOrigin::FederatedSkypeForBusiness => &TABLE[3],
    };
    let cell = match setting {
        ClientSetting::Default => &row[0],
        ClientSetting::Teams => &row[1],
        ClientSetting::SfB => &row[2],
    };
    let invalid = homing == Homing::OnPremises
        && setting == ClientSetting::Teams
        && cell.client == Client::Teams;
    let rule = match (invalid, chat) {
        (true, false) => ON_PREM_CALL,
        (true, true) => ON_PREM_CHAT,
        (false, false) => cell.call,
        (false, true) => cell.chat,
    };
    Routing {
        client: cell.client,
        rule,
    }
}

/// Where an incoming call goes, by the doc's `CallingDefaultClient` table. An on-premises user
/// set to Teams still gets the table's answer, with a rule saying the assignment is invalid.
pub fn route_call(policy: &TeamsInteropPolicy, homing: Homing, caller: CallerOrigin) -> Routing {
    route(policy.calling_default_client, homing, caller, false)
}

/// Where an incoming chat goes: UNDOCUMENTED, the calling table applied to `ChatDefaultClient`.
pub fn route_chat(policy: &TeamsInteropPolicy, homing: Homing, caller: CallerOrigin) -> Routing {
    route(policy.chat_default_client, homing, caller, true)
}

/// A breach of the doc's special-case policy definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub enum InteropViolation {
    #[error(
        "chatDefaultClient is Teams, but the user is homed on Skype for Business on-premises: it must be Default or SfB, else the user is unable to receive chats"
    )]
    OnPremisesTeamsChat,
    #[error(
        "callingDefaultClient is Teams, but the user is homed on Skype for Business on-premises: it must be Default or SfB, else the user is unable to receive calls"
    )]
    OnPremisesTeamsCalling,
    #[error(
        "allowEndUserClientOverride is true, but the policy definition for users homed on Skype for Business on-premises requires False"
    )]
    OnPremisesEndUserOverride,
    #[error(
        "callingDefaultClient is Teams, but the user is enabled for Hybrid Voice (CCE or OPCH), which cannot receive PSTN calls in Teams: it must be Default or SfB"
    )]
    HybridVoiceTeamsCalling,
    #[error(
        "allowEndUserClientOverride is true, but the policy definition for Hybrid Voice users (CCE or OPCH) requires False"
    )]
    HybridVoiceEndUserOverride,
}

/// Checks a policy against the doc's special cases for the user it is assigned to; returns
/// every violation, in the order of [`InteropViolation`].
pub fn validate_assignment(
    policy: &TeamsInteropPolicy,
    homing: Homing,
    hybrid_voice: bool,
) -> Result<(), Vec<InteropViolation>> {
    use InteropViolation as V;
    let teams_chat = policy.chat_default_client == ClientSetting::Teams;
    let teams_calling = policy.calling_default_client == ClientSetting::Teams;
    let on_prem = homing == Homing::OnPremises;
    let checks = [
        (on_prem && teams_chat, V::OnPremisesTeamsChat),
        (on_prem && teams_calling, V::OnPremisesTeamsCalling),
        (
            on_prem && policy.allow_end_user_client_override,
            V::OnPremisesEndUserOverride,
        ),
        (hybrid_voice && teams_calling, V::HybridVoiceTeamsCalling),
        (
            hybrid_voice && policy.allow_end_user_client_override,
            V::HybridVoiceEndUserOverride,
        ),
    ];
    let found: Vec<_> = checks
        .into_iter()
        .filter(|(hit, _)| *hit)
        .map(|(_, v)| v)
        .collect();
    if found.is_empty() { Ok(()) } else { Err(found) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallerOrigin as O;
    use Client::{SkypeForBusiness as S, Teams as T};
    use ClientSetting as C;
    use Homing::{OnPremises as PREM, Online as ON};
    use InteropViolation as V;

    fn p(calling: ClientSetting, chat: ClientSetting, over: bool) -> TeamsInteropPolicy {
        let identity = "Tag:Test".into();
        TeamsInteropPolicy {
            identity,
            chat_default_client: chat,
            calling_default_client: calling,
            allow_end_user_client_override: over,
        }
    }

    /// Validates `p(calling, chat, over)` for the given user.
    fn check(pol: [ClientSetting; 2], over: bool, h: Homing, hv: bool) -> Vec<InteropViolation> {
        validate_assignment(&p(pol[0], pol[1], over), h, hv)
            .err()
            .unwrap_or_default()
    }

    /// One doc row: the call received on for settings Default, Teams, SfB.
    fn row(caller: CallerOrigin, want: [Client; 3]) {
        for (setting, want) in [C::Default, C::Teams, C::SfB].into_iter().zip(want) {
            let r = route_call(&p(setting, setting, false), ON, caller);
            assert_eq!(r.client, want, "{caller:?} {setting:?}");
            assert!(r.rule.starts_with("Caller calling from"), "{}", r.rule);
        }
    }

    #[test]
    fn row_1_caller_skype_for_business_default_sfb_teams_teams_sfb_sfb() {
        row(O::SkypeForBusiness, [S, T, S]);
    }
    #[test]
    fn row_2_caller_teams_default_teams_teams_teams_sfb_sfb() {
        row(O::Teams, [T, T, S]);
    }
    #[test]
    fn row_3_caller_pstn_default_sfb_teams_teams_sfb_sfb() {
        row(O::Pstn, [S, T, S]);
    }
    #[test]
    fn row_4_caller_federated_sfb_default_sfb_teams_sfb_sfb_sfb() {
        row(O::FederatedSkypeForBusiness, [S, S, S]);
    }

    #[test]
    fn call_rule_names_the_cell() {
        let r = route_call(&p(C::Teams, C::Teams, false), ON, O::Pstn);
        assert_eq!(
            r.rule,
            "Caller calling from PSTN; Setting: Teams; call received on Teams"
        );
    }

    #[test]
    fn chat_mirrors_calling_table_and_is_marked_undocumented() {
        for caller in [
            O::SkypeForBusiness,
            O::Teams,
            O::Pstn,
            O::FederatedSkypeForBusiness,
        ] {
            for s in [C::Default, C::Teams, C::SfB] {
                let call = route_call(&p(s, s, false), ON, caller);
                let chat = route_chat(&p(C::SfB, s, false), ON, caller);
                assert_eq!(chat.client, call.client);
                assert!(chat.rule.starts_with("UNDOCUMENTED"), "{}", chat.rule);
            }
        }
        // Chat follows ChatDefaultClient, not CallingDefaultClient.
        let r = route_chat(&p(C::SfB, C::Teams, false), ON, O::SkypeForBusiness);
        assert_eq!(r.client, T);
    }

    #[test]
    fn on_premises_user_set_to_teams_is_flagged_in_routing() {
        let pol = p(C::Teams, C::Teams, false);
        let call = route_call(&pol, PREM, O::Pstn);
        assert_eq!((call.client, call.rule), (T, ON_PREM_CALL));
        assert_eq!(route_chat(&pol, PREM, O::Teams).rule, ON_PREM_CHAT);
        // The federated row goes to Skype for Business whatever the setting: not flagged.
        let fed = route_call(&pol, PREM, O::FederatedSkypeForBusiness);
        assert!(fed.rule.starts_with("Caller"), "{}", fed.rule);
        // Default is allowed on-premises: a Teams caller still lands in Teams per the table.
        let def = route_call(&p(C::Default, C::Default, false), PREM, O::Teams);
        assert_eq!((def.client, &def.rule[..6]), (T, "Caller"));
    }

    #[test]
    fn special_case_on_premises_teams_chat() {
        assert_eq!(
            check([C::Default, C::Teams], false, PREM, false),
            [V::OnPremisesTeamsChat]
        );
    }
    #[test]
    fn special_case_on_premises_teams_calling() {
        assert_eq!(
            check([C::Teams, C::SfB], false, PREM, false),
            [V::OnPremisesTeamsCalling]
        );
    }
    #[test]
    fn special_case_on_premises_override_must_be_false() {
        let got = check([C::SfB, C::SfB], true, PREM, false);
        assert_eq!(got, [V::OnPremisesEndUserOverride]);
    }
    #[test]
    fn special_case_on_premises_default_or_sfb_accepted() {
        for calling in [C::Default, C::SfB] {
            for chat in [C::Default, C::SfB] {
                assert_eq!(
                    validate_assignment(&p(calling, chat, false), PREM, false),
                    Ok(())
                );
            }
        }
    }
    #[test]
    fn special_case_hybrid_voice_teams_calling() {
        let got = check([C::Teams, C::Teams], false, ON, true);
        assert_eq!(got, [V::HybridVoiceTeamsCalling]);
    }
    #[test]
    fn special_case_hybrid_voice_teams_chat_allowed() {
        assert_eq!(
            validate_assignment(&p(C::SfB, C::Teams, false), ON, true),
            Ok(())
        );
    }
    #[test]
    fn special_case_hybrid_voice_override_must_be_false() {
        let got = check([C::Default, C::Default], true, ON, true);
        assert_eq!(got, [V::HybridVoiceEndUserOverride]);
    }
    #[test]
    fn special_cases_collect_every_violation_in_order() {
        let all = [
            V::OnPremisesTeamsChat,
            V::OnPremisesTeamsCalling,
            V::OnPremisesEndUserOverride,
            V::HybridVoiceTeamsCalling,
            V::HybridVoiceEndUserOverride,
        ];
        assert_eq!(check([C::Teams, C::Teams], true, PREM, true), all);
    }
    #[test]
    fn online_user_may_use_teams_and_override() {
        assert_eq!(
            validate_assignment(&p(C::Teams, C::Teams, true), ON, false),
            Ok(())
        );
    }
    #[test]
    fn violation_messages_name_the_field() {
        let field = |v: V| {
            v.to_string()
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(field(V::OnPremisesTeamsChat), "chatDefaultClient");
        assert_eq!(field(V::OnPremisesTeamsCalling), "callingDefaultClient");
        assert_eq!(field(V::HybridVoiceTeamsCalling), "callingDefaultClient");
        assert_eq!(
            field(V::OnPremisesEndUserOverride),
            "allowEndUserClientOverride"
        );
        assert_eq!(
            field(V::HybridVoiceEndUserOverride),
            "allowEndUserClientOverride"
        );
    }

    #[test]
    fn preconstructed_are_the_documented_four_with_global_first() {
        let all = preconstructed_policies();
        let ids: Vec<_> = all.iter().map(|p| p.identity.as_str()).collect();
        let want = [
            "Global",
            "Tag:DisallowOverrideCallingDefaultChatDefault",
            "Tag:DisallowOverrideCallingSfbChatSfb",
            "Tag:DisallowOverrideCallingTeamsChatTeams",
        ];
        assert_eq!(ids, want);
        assert_eq!(ids.first(), Some(&global_default_identity()));
        let settings: Vec<_> = all
            .iter()
            .map(|p| (p.calling_default_client, p.chat_default_client))
            .collect();
        let want = [
            (C::Default, C::Default),
            (C::Default, C::Default),
            (C::SfB, C::SfB),
            (C::Teams, C::Teams),
        ];
        assert_eq!(settings, want);
        assert!(all.iter().all(|p| !p.allow_end_user_client_override));
    }

    #[test]
    fn find_policy_is_case_insensitive_with_or_without_tag() {
        let names = [
            "DisallowOverrideCallingSfbChatSfb",
            "disallowoverridecallingSfBchatSfB",
            "Tag:DisallowOverrideCallingSfbChatSfb",
            "tag:disallowoverridecallingsfbchatsfb",
            "  DisallowOverrideCallingSfbChatSfb ",
        ];
        for name in names {
            let found = find_policy(name).map(|p| p.identity);
            assert_eq!(
                found.as_deref(),
                Some("Tag:DisallowOverrideCallingSfbChatSfb"),
                "{name}"
            );
        }
    }
    #[test]
    fn find_policy_global_and_misses() {
        assert_eq!(
            find_policy("global").map(|p| p.identity).as_deref(),
            Some(GLOBAL)
        );
        for miss in [
            "Tag:Global",
            "AllowOverrideCallingDefaultChatTeams",
            "",
            "Tag:",
        ] {
            assert_eq!(find_policy(miss), None, "{miss}");
        }
    }
}
