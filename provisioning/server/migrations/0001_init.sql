-- One schema for SQLite and PostgreSQL: TEXT and BIGINT only (booleans are 0/1, times are
-- Unix milliseconds, lists are JSON arrays in TEXT), application-generated keys.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL UNIQUE,
    verified_domains TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tenant_groups (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    upn TEXT NOT NULL,
    display_name TEXT NOT NULL,
    homing TEXT NOT NULL CHECK (homing IN ('online', 'onPremises')),
    hybrid_voice BIGINT NOT NULL CHECK (hybrid_voice IN (0, 1)),
    deprovisioned BIGINT NOT NULL CHECK (deprovisioned IN (0, 1)),
    PRIMARY KEY (tenant_id, upn)
);

CREATE TABLE user_groups (
    tenant_id TEXT NOT NULL,
    upn TEXT NOT NULL,
    group_name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, upn, group_name),
    FOREIGN KEY (tenant_id, upn) REFERENCES users(tenant_id, upn),
    FOREIGN KEY (tenant_id, group_name) REFERENCES tenant_groups(tenant_id, name)
);

CREATE TABLE providers (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    identity TEXT NOT NULL,
    identity_lower TEXT NOT NULL,
    -- Globally unique: two tenants can never claim one key.
    tenant_key TEXT NOT NULL UNIQUE,
    key_domain TEXT NOT NULL,
    aad_application_ids TEXT NOT NULL,
    instruction_uri TEXT,
    allow_app_guest_joins_as_authenticated BIGINT NOT NULL CHECK (allow_app_guest_joins_as_authenticated IN (0, 1)),
    PRIMARY KEY (tenant_id, identity_lower)
);

CREATE TABLE policy_grants (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    policy_type TEXT NOT NULL CHECK (policy_type IN ('videoInterop', 'teamsInterop', 'externalAccess')),
    scope TEXT NOT NULL CHECK (scope IN ('user', 'group', 'global')),
    principal TEXT NOT NULL,
    grant_rank BIGINT,
    policy_name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, policy_type, scope, principal)
);
-- Group grants of one policy type have distinct ranks.
CREATE UNIQUE INDEX policy_grants_group_rank ON policy_grants (tenant_id, policy_type, grant_rank) WHERE scope = 'group';

CREATE TABLE consents (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    app_id TEXT NOT NULL,
    permissions TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    granted_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, app_id)
);

CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    organizer TEXT NOT NULL,
    subject TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    allow_anonymous_join BIGINT NOT NULL CHECK (allow_anonymous_join IN (0, 1)),
    lobby_bypass TEXT NOT NULL CHECK (lobby_bypass IN ('everyone', 'organization', 'invited', 'organizersOnly')),
    trusted_subnets TEXT NOT NULL,
    trusted_tls_domains TEXT NOT NULL,
    invited_rooms TEXT NOT NULL,
    vtc_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Unique per tenant, hence per tenant key (a key belongs to one tenant).
    UNIQUE (tenant_id, vtc_id),
    FOREIGN KEY (tenant_id, organizer) REFERENCES users(tenant_id, upn)
);

CREATE TABLE external_access_policies (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    identity TEXT NOT NULL,
    enable_acs_federation_access BIGINT NOT NULL CHECK (enable_acs_federation_access IN (0, 1)),
    PRIMARY KEY (tenant_id, identity)
);

CREATE TABLE federation_configs (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    enable_acs_users BIGINT NOT NULL CHECK (enable_acs_users IN (0, 1)),
    allowed_acs_resources TEXT NOT NULL,
    allow_all_acs_resources BIGINT NOT NULL CHECK (allow_all_acs_resources IN (0, 1)),
    blocked_acs_resources TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('tenantAdmin')),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    tenant_id TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
