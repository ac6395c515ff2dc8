//! The OpenAPI 3.1 document, built from the route table below and the model's schemas.

use super::error::Problem;
use crate::store::{
    AuditEntry, EffectivePolicies, FederationCheck, IssuedToken, MeetingView, NewMeeting, NewUser,
    ProviderPatch, TokenSummary, UserPatch,
};
use axum::Json;
use cvi_provisioning::coordinates::{Coordinates, JoinInformation};
use cvi_provisioning::decide::Decision;
use cvi_provisioning::federation::{ExternalAccessPolicy, TenantAcsConfiguration};
use cvi_provisioning::interop::TeamsInteropPolicy;
use cvi_provisioning::model::{Consent, Group, Provider, Tenant, User};
use cvi_provisioning::video_policy::{Grant, VideoInteropPolicy};
use std::sync::OnceLock;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    Required, ResponseBuilder,
};

/// (method, path, summary, request schema, response schema). `[]` suffix: an array.
/// (method, path, summary, request schema, response schema).
type Route = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

pub(crate) const ROUTES: &[Route] = &[
    (
        "post",
        "/tenants",
        "New tenant (operator)",
        Some("NewTenant"),
        Some("Tenant"),
    ),
    ("get", "/tenants", "List tenants", None, Some("Tenant[]")),
    (
        "get",
        "/tenants/{tenant}",
        "Get a tenant by GUID or name",
        None,
        Some("Tenant"),
    ),
    (
        "post",
        "/tenants/{tenant}/tokens",
        "Issue a tenant-admin token (operator)",
        Some("NewToken"),
        Some("IssuedToken"),
    ),
    (
        "post",
        "/tenants/{tenant}/groups",
        "New group",
        Some("NewGroup"),
        Some("Group"),
    ),
    (
        "get",
        "/tenants/{tenant}/groups",
        "List groups",
        None,
        Some("Group[]"),
    ),
    (
        "post",
        "/tenants/{tenant}/users",
        "New user",
        Some("NewUser"),
        Some("User"),
    ),
    (
        "get",
        "/tenants/{tenant}/users",
        "List users",
        None,
        Some("User[]"),
    ),
    (
        "get",
        "/tenants/{tenant}/users/{upn}",
        "Get a user",
        None,
        Some("User"),
    ),
    (
        "patch",
        "/tenants/{tenant}/users/{upn}",
        "Set a user (given fields only)",
        Some("UserPatch"),
        Some("User"),
    ),
    (
        "get",
        "/tenants/{tenant}/users/{upn}/effectivePolicies",
        "Effective policy of each type",
        None,
        Some("EffectivePolicies"),
    ),
    (
        "post",
        "/tenants/{tenant}/providers",
        "New-CsVideoInteropServiceProvider",
        Some("NewProvider"),
        Some("Provider"),
    ),
    (
        "get",
        "/tenants/{tenant}/providers",
        "Get-CsVideoInteropServiceProvider (?filter=REGEX)",
        None,
        Some("Provider[]"),
    ),
    (
        "get",
        "/tenants/{tenant}/providers/{identity}",
        "Get one provider",
        None,
        Some("Provider"),
    ),
    (
        "patch",
        "/tenants/{tenant}/providers/{identity}",
        "Set-CsVideoInteropServiceProvider",
        Some("ProviderPatch"),
        Some("Provider"),
    ),
    (
        "delete",
        "/tenants/{tenant}/providers/{identity}",
        "Remove-CsVideoInteropServiceProvider",
        None,
        None,
    ),
    (
        "get",
        "/tenants/{tenant}/policies/{policy_type}",
        "Policy instances of a type",
        None,
        None,
    ),
    (
        "get",
        "/tenants/{tenant}/policies/{policy_type}/{name}",
        "One policy instance",
        None,
        None,
    ),
    (
        "put",
        "/tenants/{tenant}/policies/{policy_type}/{name}",
        "Create or set a custom external access policy",
        Some("PutPolicy"),
        Some("ExternalAccessPolicy"),
    ),
    (
        "get",
        "/tenants/{tenant}/grants",
        "Policy grants (?policyType=)",
        None,
        Some("Grant[]"),
    ),
    (
        "post",
        "/tenants/{tenant}/grants",
        "Grant a policy (policyName null/none removes)",
        Some("GrantRequest"),
        Some("Grant"),
    ),
    (
        "post",
        "/tenants/{tenant}/consents",
        "Consent to an application's permissions",
        Some("ConsentRequest"),
        Some("Consent"),
    ),
    (
        "get",
        "/tenants/{tenant}/consents",
        "List consents",
        None,
        Some("Consent[]"),
    ),
    (
        "delete",
        "/tenants/{tenant}/consents/{app_id}",
        "Revoke consent",
        None,
        None,
    ),
    (
        "post",
        "/tenants/{tenant}/onlineMeetings",
        "Schedule a meeting",
        Some("NewMeeting"),
        Some("MeetingView"),
    ),
    (
        "get",
        "/tenants/{tenant}/onlineMeetings",
        "List meetings, or $filter=VideoTeleconferenceId eq '…'",
        None,
        Some("MeetingView[]"),
    ),
    (
        "get",
        "/tenants/{tenant}/onlineMeetings/{id}",
        "Get a meeting",
        None,
        Some("MeetingView"),
    ),
    (
        "post",
        "/explain",
        "What the gateway decides for a dial string, check by check",
        Some("ExplainRequest"),
        Some("Decision"),
    ),
    (
        "post",
        "/tenants/{tenant}/interop/route",
        "TeamsInteropPolicy routing for a user",
        Some("RouteRequest"),
        Some("RouteAnswer"),
    ),
    (
        "get",
        "/tenants/{tenant}/federation/configuration",
        "ACS federation configuration",
        None,
        Some("TenantAcsConfiguration"),
    ),
    (
        "put",
        "/tenants/{tenant}/federation/configuration",
        "Set the ACS federation configuration",
        Some("TenantAcsConfiguration"),
        Some("TenantAcsConfiguration"),
    ),
    (
        "post",
        "/tenants/{tenant}/federation/check",
        "Is ACS federation enabled for a user and resource?",
        Some("CheckRequest"),
        Some("FederationCheck"),
    ),
    (
        "get",
        "/audit",
        "Audit log, newest first (?tenant=&limit=)",
        None,
        Some("AuditEntry[]"),
    ),
];

fn schema_ref(name: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    match name.strip_suffix("[]") {
        Some(n) => utoipa::openapi::schema::ArrayBuilder::new()
            .items(Ref::from_schema_name(n))
            .build()
            .into(),
        None => Ref::from_schema_name(name).into(),
    }
}

fn build() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for (method, path, summary, req, resp) in ROUTES {
        let method = match *method {
            "get" => HttpMethod::Get,
            "post" => HttpMethod::Post,
            "put" => HttpMethod::Put,
            "patch" => HttpMethod::Patch,
            _ => HttpMethod::Delete,
        };
        let mut op = OperationBuilder::new().summary(Some(*summary));
        for seg in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(seg)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(
                        utoipa::openapi::schema::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::String)
                            .build(),
                    )),
            );
        }
        if let Some(r) = req {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(schema_ref(r))).build(),
                    )
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let ok = match resp {
            Some(r) => ResponseBuilder::new().description("OK").content(
                "application/json",
                ContentBuilder::new().schema(Some(schema_ref(r))).build(),
            ),
            None => ResponseBuilder::new().description("OK"),
        };
        let problem = ResponseBuilder::new()
            .description("Error (problem+json)")
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(schema_ref("Problem")))
                    .build(),
            );
        op = op
            .response("200", ok.build())
            .response("4XX", problem.build());
        paths = paths.path(format!("/api/v1{path}"), PathItem::new(method, op.build()));
    }
    let components = ComponentsBuilder::new()
        .schema_from::<Problem>()
        .schema_from::<Tenant>()
        .schema_from::<Group>()
        .schema_from::<User>()
        .schema_from::<NewUser>()
        .schema_from::<UserPatch>()
        .schema_from::<Provider>()
        .schema_from::<ProviderPatch>()
        .schema_from::<Consent>()
        .schema_from::<Grant>()
        .schema_from::<VideoInteropPolicy>()
        .schema_from::<TeamsInteropPolicy>()
        .schema_from::<ExternalAccessPolicy>()
        .schema_from::<TenantAcsConfiguration>()
        .schema_from::<Coordinates>()
        .schema_from::<JoinInformation>()
        .schema_from::<MeetingView>()
        .schema_from::<NewMeeting>()
        .schema_from::<Decision>()
        .schema_from::<EffectivePolicies>()
        .schema_from::<FederationCheck>()
        .schema_from::<IssuedToken>()
        .schema_from::<TokenSummary>()
        .schema_from::<AuditEntry>()
        .schema_from::<super::tenants::NewTenant>()
        .schema_from::<super::tenants::NewToken>()
        .schema_from::<super::tenants::NewGroup>()
        .schema_from::<super::providers::NewProvider>()
        .schema_from::<super::policies::PutPolicy>()
        .schema_from::<super::policies::GrantRequest>()
        .schema_from::<super::policies::RouteRequest>()
        .schema_from::<super::policies::RouteAnswer>()
        .schema_from::<super::policies::CheckRequest>()
        .schema_from::<super::meetings::ConsentRequest>()
        .schema_from::<super::explain::ExplainRequest>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("cvi-gateway provisioning API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .security(Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]))
        .build()
}

pub(crate) fn document() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(build)
}

pub(super) async fn serve() -> Json<&'static OpenApi> {
    Json(document())
}
