//! REST API integration tests: the real router on loopback, SQLite and PostgreSQL.

mod common;

use common::{ADMIN, APP, KEY, Server, explain, grant_alice, meeting, seed};
use reqwest::Method;
use serde_json::{Value, json};

fn outcome(d: &Value) -> (&str, Option<u64>, Option<&str>) {
    (
        d["outcome"]["kind"].as_str().unwrap_or_default(),
        d["outcome"]["status"].as_u64(),
        d["outcome"]["check"].as_str(),
    )
}

both_backends!(cvi_setup_grant_join_revoke, |s: Server| async move {
    seed(&s).await;
    // A meeting scheduled before any grant has no coordinates...
    let early = meeting(
        &s,
        json!({"organizer": "alice@contoso.com", "subject": "Before grant"}),
    )
    .await;
    assert!(early.get("videoTeleconferenceId").is_none(), "{early}");
    assert!(
        early["vtcStatus"]
            .as_str()
            .is_some_and(|t| t.contains("Global"))
    );
    grant_alice(&s, Some("polycomserviceproviderenabled")).await;
    // ...and gets them once the organizer is granted.
    let early = s
        .get(&format!(
            "/api/v1/tenants/Contoso/onlineMeetings/{}",
            early["id"].as_str().unwrap_or_default()
        ))
        .await
        .ok(200);
    assert_eq!(early["vtcStatus"], "enabled");
    let m = meeting(
        &s,
        json!({"organizer": "alice@contoso.com", "subject": "Weekly sync"}),
    )
    .await;
    let vid = m["videoTeleconferenceId"]
        .as_str()
        .expect("video id")
        .to_string();
    assert_eq!(vid.len(), 10);
    assert!(vid.bytes().all(|b| b.is_ascii_digit()));
    let text = m["joinInformation"]["text"].as_str().expect("text");
    assert!(text.starts_with("Join with a video conferencing device\n"));
    assert!(text.contains(&format!("{KEY} VTC Conference ID: {vid}")));
    assert!(text.contains(&format!("Alternate VTC dialing instructions <https://dialin.plcm.vc/teams/?key=813878896&conf={vid}>")));
    assert_eq!(
        m["vtcCoordinates"]["directDialStrings"][0],
        format!("813878896.{vid}@t.plcm.vc")
    );
    // Graph-style lookup.
    let found = s
        .get(&format!(
            "/api/v1/tenants/Contoso/onlineMeetings?$filter=VideoTeleconferenceId%20eq%20'{vid}'"
        ))
        .await
        .ok(200);
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    assert_eq!(found[0]["id"], m["id"]);
    // Decisions, both orders and the IVR form.
    let d = explain(&s, &format!("sip:813878896.{vid}@t.plcm.vc")).await;
    assert_eq!(outcome(&d).0, "join", "{d}");
    assert_eq!(d["outcome"]["order"], "keyConf");
    let d = explain(&s, &format!("sip:{vid}.813878896@t.plcm.vc")).await;
    assert_eq!(outcome(&d).0, "join");
    assert_eq!(d["outcome"]["order"], "confKey");
    assert_eq!(
        outcome(&explain(&s, "sip:813878896@t.plcm.vc").await).0,
        "ivr"
    );
    // Revoke: the very next decision fails at the policy check, and coordinates go away.
    grant_alice(&s, None).await;
    let d = explain(&s, &format!("sip:813878896.{vid}@t.plcm.vc")).await;
    assert_eq!(
        outcome(&d),
        ("reject", Some(403), Some("policyEnablesProvider"))
    );
    let m2 = s
        .get(&format!(
            "/api/v1/tenants/Contoso/onlineMeetings/{}",
            m["id"].as_str().unwrap_or_default()
        ))
        .await
        .ok(200);
    assert!(m2.get("videoTeleconferenceId").is_none());
    // A group grant brings them back.
    s.post("/api/v1/tenants/Contoso/grants", json!({"policyName": "PolycomServiceProviderEnabled", "grantee": {"kind": "group", "group": "eng", "rank": 1}}))
        .await
        .ok(200);
    assert_eq!(
        outcome(&explain(&s, &format!("sip:813878896.{vid}@t.plcm.vc")).await).0,
        "join"
    );
    // Revoked consent: 403 at consent.
    s.delete(&format!("/api/v1/tenants/Contoso/consents/{APP}"))
        .await
        .ok(204);
    let d = explain(&s, &format!("sip:813878896.{vid}@t.plcm.vc")).await;
    assert_eq!(outcome(&d), ("reject", Some(403), Some("tenantConsent")));
    // Deprovisioned organizer.
    s.post("/api/v1/tenants/Contoso/consents", json!({"appId": APP}))
        .await
        .ok(201);
    s.patch(
        "/api/v1/tenants/Contoso/users/alice@contoso.com",
        json!({"deprovisioned": true}),
    )
    .await
    .ok(200);
    let d = explain(&s, &format!("sip:813878896.{vid}@t.plcm.vc")).await;
    assert_eq!(
        outcome(&d),
        ("reject", Some(403), Some("organizerProvisioned"))
    );
    // Unknown key / unserved domain.
    assert_eq!(
        outcome(&explain(&s, &format!("sip:111.{vid}@t.plcm.vc")).await).1,
        Some(404)
    );
    assert_eq!(
        outcome(&explain(&s, &format!("sip:813878896.{vid}@other.example")).await).2,
        Some("domainServed")
    );
    // The audit log recorded who did what.
    let audit = s.get("/api/v1/audit?tenant=Contoso").await.ok(200);
    let actions: Vec<&str> = audit
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "tenant.new",
        "provider.new",
        "policy.grant",
        "policy.revoke",
        "consent.revoke",
        "meeting.new",
        "user.set",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(
        audit
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["actor"] == "operator")
    );
});

both_backends!(expiry_is_a_404, |s: Server| async move {
    seed(&s).await;
    grant_alice(&s, Some("PolycomServiceProviderEnabled")).await;
    let m = meeting(
        &s,
        json!({"organizer": "alice@contoso.com", "subject": "Old", "startDateTime": "2020-01-01T10:00:00Z", "endDateTime": "2020-01-01T11:00:00Z", "expiryDateTime": "2020-01-02T00:00:00Z"}),
    )
    .await;
    let vid = m["videoTeleconferenceId"].as_str().expect("vid");
    let d = explain(&s, &format!("sip:813878896.{vid}@t.plcm.vc")).await;
    assert_eq!(outcome(&d), ("reject", Some(404), Some("notExpired")));
});

both_backends!(
    bad_input_is_refused_and_nothing_is_stored,
    |s: Server| async move {
        seed(&s).await;
        let before = s.audit_len().await;
        let providers_before = s.get("/api/v1/tenants/Contoso/providers").await.ok(200);
        s.raw(
            Method::POST,
            "/api/v1/tenants/Contoso/providers",
            "{\"identity\": ",
        )
        .await
        .problem(400, "body");
        s.raw(
            Method::POST,
            "/api/v1/tenants/Contoso/providers",
            "{\"identity\": \"X\", \"tenantKey\": 5}",
        )
        .await
        .problem(422, "tenantKey");
        s.raw(
            Method::POST,
            "/api/v1/tenants/Contoso/providers",
            "{\"identity\": \"X\"}",
        )
        .await
        .problem(422, "tenantKey");
        s.raw(
            Method::POST,
            "/api/v1/tenants/Contoso/providers",
            "{\"identity\": \"X\", \"tenantKey\": \"1@x.com\", \"bogus\": 1}",
        )
        .await
        .problem(422, "bogus");
        s.post(
            "/api/v1/tenants/Contoso/providers",
            json!({"identity": "X", "tenantKey": "not-a-key"}),
        )
        .await
        .problem(422, "tenantKey");
        s.post(
            "/api/v1/tenants/Contoso/providers",
            json!({"identity": "X", "tenantKey": "1.2@x.com"}),
        )
        .await
        .problem(422, "tenantKey");
        s.post(
            "/api/v1/tenants/Contoso/providers",
            json!({"identity": "X", "tenantKey": "1@x.com", "instructionUri": "http://x.com"}),
        )
        .await
        .problem(422, "instructionUri");
        s.post(
            "/api/v1/tenants/Contoso/providers",
            json!({"identity": "X", "tenantKey": "1@x.com", "aadApplicationIds": ["nope"]}),
        )
        .await
        .problem(422, "aadApplicationIds");
        s.post(
            "/api/v1/tenants/Contoso/providers",
            json!({"identity": "polycom", "tenantKey": "2@x.com"}),
        )
        .await
        .problem(409, "identity");
        s.post(
            "/api/v1/tenants/Contoso/providers",
            json!({"identity": "Other", "tenantKey": KEY}),
        )
        .await
        .problem(409, "tenantKey");
        // Another tenant can never claim the key either, and learns nothing about who holds it.
        s.post("/api/v1/tenants", json!({"name": "Fabrikam"}))
            .await
            .ok(201);
        let before_fab = s.audit_len().await;
        let r = s
            .post(
                "/api/v1/tenants/Fabrikam/providers",
                json!({"identity": "Polycom", "tenantKey": "813878896@T.PLCM.VC"}),
            )
            .await;
        r.problem(409, "tenantKey");
        assert!(!r.body.to_string().contains("Contoso"));
        s.post("/api/v1/tenants/Contoso/grants", json!({"policyName": "NoSuchPolicy", "grantee": {"kind": "user", "identity": "alice@contoso.com"}}))
        .await
        .problem(422, "policyName");
        s.post("/api/v1/tenants/Contoso/grants", json!({"policyName": "PolycomServiceProviderEnabled", "grantee": {"kind": "user", "identity": "bob@contoso.com"}}))
        .await
        .problem(422, "grantee.identity");
        s.post(
            "/api/v1/tenants/Contoso/grants",
            json!({"policyType": "nope", "policyName": "x", "grantee": {"kind": "global"}}),
        )
        .await
        .problem(422, "policyType");
        s.post("/api/v1/tenants", json!({"name": "contoso"}))
            .await
            .problem(409, "name");
        s.post(
            "/api/v1/tenants/NoSuchTenant/users",
            json!({"userPrincipalName": "a@b.com"}),
        )
        .await
        .problem_status(404);
        s.post(
            "/api/v1/tenants/Contoso/users",
            json!({"userPrincipalName": "no-at-sign"}),
        )
        .await
        .problem(422, "userPrincipalName");
        s.post(
            "/api/v1/tenants/Contoso/users",
            json!({"userPrincipalName": "bob@contoso.com", "groups": ["nope"]}),
        )
        .await
        .problem(422, "groups");
        s.post(
            "/api/v1/tenants/Contoso/users",
            json!({"userPrincipalName": "bob@contoso.com", "homing": "cloud"}),
        )
        .await
        .problem(422, "homing");
        s.post(
            "/api/v1/tenants/Contoso/onlineMeetings",
            json!({"organizer": "nobody@contoso.com", "subject": "x"}),
        )
        .await
        .problem(422, "organizer");
        s.post("/api/v1/tenants/Contoso/onlineMeetings", json!({"organizer": "alice@contoso.com", "subject": "x", "startDateTime": "2030-01-01T10:00:00Z", "endDateTime": "2030-01-01T09:00:00Z"}))
        .await
        .problem(422, "endDateTime");
        s.post("/api/v1/tenants/Contoso/onlineMeetings", json!({"organizer": "alice@contoso.com", "subject": "x", "trustedSubnets": ["10.0.0.0/99"]})).await.problem(422, "trustedSubnets[0]");
        s.post(
            "/api/v1/tenants/Contoso/consents",
            json!({"appId": APP, "permissions": ["Calls.Everything"]}),
        )
        .await
        .problem(422, "permissions");
        s.get("/api/v1/tenants/Contoso/providers?filter=(")
            .await
            .problem(422, "filter");
        s.get("/api/v1/tenants/Contoso/onlineMeetings?$filter=Subject%20eq%20'x'")
            .await
            .problem(400, "$filter");
        // Nothing was written by any of them.
        assert_eq!(s.audit_len().await, before_fab);
        assert_eq!(
            before_fab,
            before + 1,
            "only Fabrikam's creation was recorded"
        );
        assert_eq!(
            s.get("/api/v1/tenants/Contoso/providers").await.ok(200),
            providers_before
        );
        assert_eq!(
            s.get("/api/v1/tenants/Contoso/users")
                .await
                .ok(200)
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        assert_eq!(
            s.get("/api/v1/tenants/Contoso/grants").await.ok(200),
            json!([])
        );
    }
);

both_backends!(
    teams_interop_special_cases_save_nothing,
    |s: Server| async move {
        seed(&s).await;
        s.post(
            "/api/v1/tenants/Contoso/users",
            json!({"userPrincipalName": "onprem@contoso.com", "homing": "onPremises"}),
        )
        .await
        .ok(201);
        s.post(
            "/api/v1/tenants/Contoso/users",
            json!({"userPrincipalName": "hv@contoso.com", "hybridVoice": true, "groups": ["eng"]}),
        )
        .await
        .ok(201);
        let before = s.audit_len().await;
        let teams = "DisallowOverrideCallingTeamsChatTeams";
        let r = s
        .post("/api/v1/tenants/Contoso/grants", json!({"policyType": "teamsInterop", "policyName": teams, "grantee": {"kind": "user", "identity": "onprem@contoso.com"}}))
        .await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.body);
        assert!(
            r.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("onprem@contoso.com"))
        );
        // A group grant that would give a Hybrid Voice member Teams calling is refused too.
        let r = s
        .post("/api/v1/tenants/Contoso/grants", json!({"policyType": "teamsInterop", "policyName": teams, "grantee": {"kind": "group", "group": "eng", "rank": 1}}))
        .await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.body);
        assert_eq!(
            s.get("/api/v1/tenants/Contoso/grants?policyType=teamsInterop")
                .await
                .ok(200),
            json!([])
        );
        assert_eq!(s.audit_len().await, before);
        // A valid grant, then moving that user on-premises is refused and not saved.
        s.post("/api/v1/tenants/Contoso/grants", json!({"policyType": "teamsInterop", "policyName": teams, "grantee": {"kind": "user", "identity": "alice@contoso.com"}}))
        .await
        .ok(200);
        let r = s
            .patch(
                "/api/v1/tenants/Contoso/users/alice@contoso.com",
                json!({"homing": "onPremises", "displayName": "Changed"}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.body);
        let alice = s
            .get("/api/v1/tenants/Contoso/users/alice@contoso.com")
            .await
            .ok(200);
        assert_eq!(alice["homing"], "online");
        assert_eq!(alice["displayName"], "Alice");
        // Routing follows the table.
        let route = s
            .post(
                "/api/v1/tenants/Contoso/interop/route",
                json!({"user": "alice@contoso.com", "from": "pstn"}),
            )
            .await
            .ok(200);
        assert_eq!(route["call"]["client"], "teams");
        let route = s
            .post(
                "/api/v1/tenants/Contoso/interop/route",
                json!({"user": "onprem@contoso.com", "from": "teams"}),
            )
            .await
            .ok(200);
        assert!(route["policy"]["identity"].is_string());
        let eff = s
            .get("/api/v1/tenants/Contoso/users/alice@contoso.com/effectivePolicies")
            .await
            .ok(200);
        assert!(
            eff["teamsInterop"]["policyName"]
                .as_str()
                .is_some_and(|n| n.ends_with(teams)),
            "{eff}"
        );
    }
);

both_backends!(provider_set_get_remove, |s: Server| async move {
    seed(&s).await;
    s.post(
        "/api/v1/tenants/Contoso/providers",
        json!({"identity": "Pexip", "tenantKey": "4242@pexip.example"}),
    )
    .await
    .ok(201);
    // Set changes only the given fields; null clears the instruction link.
    let p = s
        .patch(
            "/api/v1/tenants/Contoso/providers/Polycom",
            json!({"allowAppGuestJoinsAsAuthenticated": true}),
        )
        .await
        .ok(200);
    assert_eq!(p["tenantKey"], KEY);
    assert_eq!(p["instructionUri"], "https://dialin.plcm.vc/teams/");
    assert_eq!(p["allowAppGuestJoinsAsAuthenticated"], true);
    assert_eq!(p["language"], "en", "default prompt language");
    let p = s
        .patch(
            "/api/v1/tenants/Contoso/providers/Polycom",
            json!({"language": "de-CH"}),
        )
        .await
        .ok(200);
    assert_eq!(p["language"], "de-ch");
    s.patch(
        "/api/v1/tenants/Contoso/providers/Polycom",
        json!({"language": "deutsch"}),
    )
    .await
    .problem(422, "language");
    let p = s
        .patch(
            "/api/v1/tenants/Contoso/providers/polycom",
            json!({"instructionUri": null}),
        )
        .await
        .ok(200);
    assert_eq!(p["instructionUri"], Value::Null);
    assert_eq!(p["aadApplicationIds"], json!([APP]));
    s.patch(
        "/api/v1/tenants/Contoso/providers/Polycom",
        json!({"tenantKey": "4242@pexip.example"}),
    )
    .await
    .problem(409, "tenantKey");
    // Get by regex filter.
    let l = s
        .get("/api/v1/tenants/Contoso/providers?filter=%5Epex")
        .await
        .ok(200);
    assert_eq!(l.as_array().map(Vec::len), Some(1));
    assert_eq!(l[0]["identity"], "Pexip");
    // The policy instances follow the providers.
    let inst = s
        .get("/api/v1/tenants/Contoso/policies/videoInterop")
        .await
        .ok(200);
    let names: Vec<&str> = inst
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["identity"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Global",
            "ServiceProviderDisabled",
            "PexipServiceProviderEnabled",
            "PolycomServiceProviderEnabled"
        ]
    );
    // Remove is refused while granted.
    grant_alice(&s, Some("PexipServiceProviderEnabled")).await;
    s.delete("/api/v1/tenants/Contoso/providers/Pexip")
        .await
        .problem(409, "identity");
    grant_alice(&s, None).await;
    s.delete("/api/v1/tenants/Contoso/providers/Pexip")
        .await
        .ok(204);
    s.get("/api/v1/tenants/Contoso/providers/Pexip")
        .await
        .problem_status(404);
});

both_backends!(group_ranks_and_effective_policy, |s: Server| async move {
    seed(&s).await;
    s.post("/api/v1/tenants/Contoso/groups", json!({"name": "rooms"}))
        .await
        .ok(201);
    s.patch(
        "/api/v1/tenants/Contoso/users/alice@contoso.com",
        json!({"groups": ["eng", "rooms"]}),
    )
    .await
    .ok(200);
    s.post("/api/v1/tenants/Contoso/grants", json!({"policyName": "ServiceProviderDisabled", "grantee": {"kind": "group", "group": "eng", "rank": 5}})).await.ok(200);
    s.post("/api/v1/tenants/Contoso/grants", json!({"policyName": "PolycomServiceProviderEnabled", "grantee": {"kind": "group", "group": "rooms", "rank": 5}}))
        .await
        .problem(409, "grantee.rank");
    s.post("/api/v1/tenants/Contoso/grants", json!({"policyName": "PolycomServiceProviderEnabled", "grantee": {"kind": "group", "group": "rooms", "rank": 2}}))
        .await
        .ok(200);
    let eff = s
        .get("/api/v1/tenants/Contoso/users/alice@contoso.com/effectivePolicies")
        .await
        .ok(200);
    assert_eq!(
        eff["videoInterop"]["policyName"],
        "PolycomServiceProviderEnabled"
    );
    assert_eq!(
        eff["videoInterop"]["source"],
        json!({"kind": "group", "group": "rooms", "rank": 2})
    );
    s.post(
        "/api/v1/tenants/Contoso/grants",
        json!({"policyName": "none", "grantee": {"kind": "group", "group": "rooms", "rank": 2}}),
    )
    .await
    .ok(204);
    let eff = s
        .get("/api/v1/tenants/Contoso/users/alice@contoso.com/effectivePolicies")
        .await
        .ok(200);
    assert_eq!(eff["videoInterop"]["policyName"], "ServiceProviderDisabled");
    s.post(
        "/api/v1/tenants/Contoso/grants",
        json!({"policyName": "none", "grantee": {"kind": "group", "group": "eng", "rank": 5}}),
    )
    .await
    .ok(204);
    s.post(
        "/api/v1/tenants/Contoso/grants",
        json!({"policyName": "PolycomServiceProviderEnabled", "grantee": {"kind": "global"}}),
    )
    .await
    .ok(200);
    let eff = s
        .get("/api/v1/tenants/Contoso/users/alice@contoso.com/effectivePolicies")
        .await
        .ok(200);
    assert_eq!(eff["videoInterop"]["source"], json!({"kind": "global"}));
});

both_backends!(auth_and_tenant_isolation, |s: Server| async move {
    seed(&s).await;
    s.post("/api/v1/tenants", json!({"name": "Fabrikam"}))
        .await
        .ok(201);
    s.post(
        "/api/v1/tenants/Fabrikam/users",
        json!({"userPrincipalName": "f@fabrikam.com"}),
    )
    .await
    .ok(201);
    assert_eq!(
        s.call(Method::GET, "/api/v1/tenants", None, None)
            .await
            .status
            .as_u16(),
        401
    );
    assert_eq!(
        s.call(Method::GET, "/api/v1/tenants", Some("wrong"), None)
            .await
            .status
            .as_u16(),
        401
    );
    let tok = s
        .post(
            "/api/v1/tenants/Contoso/tokens",
            json!({"name": "contoso-admin"}),
        )
        .await
        .ok(201);
    let tok = tok["token"].as_str().expect("token").to_string();
    let t = Some(tok.as_str());
    let mine = s
        .call(Method::GET, "/api/v1/tenants", t, None)
        .await
        .ok(200);
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    assert_eq!(mine[0]["name"], "Contoso");
    s.call(Method::GET, "/api/v1/tenants/Contoso/users", t, None)
        .await
        .ok(200);
    s.call(Method::GET, "/api/v1/tenants/Fabrikam/users", t, None)
        .await
        .problem_status(404);
    s.call(Method::GET, "/api/v1/tenants/Fabrikam", t, None)
        .await
        .problem_status(404);
    s.call(
        Method::POST,
        "/api/v1/tenants",
        t,
        Some(json!({"name": "Evil"})),
    )
    .await
    .problem_status(403);
    s.call(
        Method::POST,
        "/api/v1/tenants/Contoso/tokens",
        t,
        Some(json!({"name": "x"})),
    )
    .await
    .problem_status(403);
    // The tenant admin works on its own tenant, and the audit log names it.
    s.call(
        Method::POST,
        "/api/v1/tenants/Contoso/users",
        t,
        Some(json!({"userPrincipalName": "bob@contoso.com"})),
    )
    .await
    .ok(201);
    let audit = s.call(Method::GET, "/api/v1/audit", t, None).await.ok(200);
    assert_eq!(audit[0]["actor"], "tenantAdmin:contoso-admin");
    assert!(
        audit
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["tenantId"] == mine[0]["id"])
    );
    // Fabrikam's admin cannot explain its way into Contoso's key.
    let ftok = s
        .post("/api/v1/tenants/Fabrikam/tokens", json!({"name": "fab"}))
        .await
        .ok(201);
    let d = s
        .call(
            Method::POST,
            "/api/v1/explain",
            ftok["token"].as_str(),
            Some(json!({"requestUri": "sip:813878896@t.plcm.vc"})),
        )
        .await
        .ok(200);
    assert_eq!(d["outcome"]["check"], "tenantKeyKnown");
    // Tokens are listed without secrets and can be revoked: the next request gets 401.
    let listed = s.get("/api/v1/tenants/Contoso/tokens").await.ok(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert!(!listed.to_string().contains(&tok));
    s.call(Method::GET, "/api/v1/tenants/Contoso/tokens", t, None)
        .await
        .problem_status(403);
    let tid = listed[0]["id"].as_str().expect("id").to_string();
    s.delete(&format!("/api/v1/tenants/Contoso/tokens/{tid}"))
        .await
        .ok(204);
    assert_eq!(
        s.call(Method::GET, "/api/v1/tenants", t, None)
            .await
            .status
            .as_u16(),
        401
    );
    s.delete(&format!("/api/v1/tenants/Contoso/tokens/{tid}"))
        .await
        .problem_status(404);
    // The operator token is never stored; tokens are stored hashed.
    assert!(!s.get("/api/v1/audit").await.body.to_string().contains(&tok));
    assert!(
        !s.get("/api/v1/audit")
            .await
            .body
            .to_string()
            .contains(ADMIN)
    );
});

both_backends!(federation_check_follows_the_table, |s: Server| async move {
    seed(&s).await;
    let res = "a1b2c3d4-0000-4000-8000-000000000001";
    let r = s
        .post(
            "/api/v1/tenants/Contoso/federation/check",
            json!({"user": "alice@contoso.com", "resource": res}),
        )
        .await
        .ok(200);
    assert_eq!(r["decision"]["result"], "disabled", "{r}");
    s.put(
        "/api/v1/tenants/Contoso/federation/configuration",
        json!({"enableAcsUsers": true, "allowedAcsResources": [res]}),
    )
    .await
    .ok(200);
    let r = s
        .post(
            "/api/v1/tenants/Contoso/federation/check",
            json!({"user": "alice@contoso.com", "resource": res}),
        )
        .await
        .ok(200);
    assert_eq!(r["decision"]["result"], "enabled", "{r}");
    let r = s
        .post(
            "/api/v1/tenants/Contoso/federation/check",
            json!({"user": "alice@contoso.com", "resource": "other"}),
        )
        .await
        .ok(200);
    assert_eq!(r["decision"]["result"], "disabled", "{r}");
    // A custom policy with federation off, assigned to alice, disables it for her.
    s.put(
        "/api/v1/tenants/Contoso/policies/externalAccess/NoAcs",
        json!({"enableAcsFederationAccess": false}),
    )
    .await
    .ok(200);
    s.post("/api/v1/tenants/Contoso/grants", json!({"policyType": "externalAccess", "policyName": "NoAcs", "grantee": {"kind": "user", "identity": "alice@contoso.com"}}))
        .await
        .ok(200);
    let r = s
        .post(
            "/api/v1/tenants/Contoso/federation/check",
            json!({"user": "alice@contoso.com", "resource": res}),
        )
        .await
        .ok(200);
    assert_eq!(r["decision"]["result"], "disabled", "{r}");
    assert_eq!(r["assignedPolicy"], "NoAcs");
    s.put(
        "/api/v1/tenants/Contoso/policies/videoInterop/Global",
        json!({"enableAcsFederationAccess": false}),
    )
    .await
    .problem_status(405);
});

both_backends!(concurrent_writes_all_land, |s: Server| async move {
    let mut tasks = Vec::new();
    for i in 0..24 {
        let http = s.http.clone();
        let base = s.base.clone();
        tasks.push(tokio::spawn(async move {
            http.post(format!("{base}/api/v1/tenants"))
                .bearer_auth(ADMIN)
                .json(&json!({"name": format!("T{i}")}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.ok().and_then(Result::ok), Some(201));
    }
    assert_eq!(
        s.get("/api/v1/tenants")
            .await
            .ok(200)
            .as_array()
            .map(Vec::len),
        Some(24)
    );
});

both_backends!(every_documented_route_exists, |s: Server| async move {
    let doc = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .ok(200);
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20);
    for (path, item) in paths {
        for method in item.as_object().expect("item").keys() {
            let p = path
                .replace("{tenant}", "NoSuch")
                .replace('{', "x")
                .replace('}', "");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = s.call(m, &p, Some(ADMIN), Some(json!({}))).await;
            let routed = !(r.status.as_u16() == 404 && r.body["detail"] == "no such route")
                && r.status.as_u16() != 405;
            assert!(routed, "{method} {path}: {} {}", r.status, r.body);
        }
    }
    assert_eq!(
        s.call(Method::GET, "/healthz", None, None)
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        s.call(Method::GET, "/readyz", None, None)
            .await
            .status
            .as_u16(),
        200
    );
});

trait StatusOnly {
    fn problem_status(&self, want: u16);
}
impl StatusOnly for common::Resp {
    #[track_caller]
    fn problem_status(&self, want: u16) {
        assert_eq!(self.status.as_u16(), want, "body: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json");
    }
}
