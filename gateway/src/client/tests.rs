//! Argument parsing, list splitting and table formatting.

use super::output::{self, OutputFormat};
use super::*;
use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug)]
#[command(name = "cvi")]
struct Cli {
    #[command(flatten)]
    client: ClientOpts,
    #[command(subcommand)]
    cmd: ClientCommand,
}

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("cvi").chain(args.iter().copied()))
}

/// `"a b c"` → `["a", "b", "c"]`.
fn w(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn ok(args: &[&str]) -> Cli {
    match parse(args) {
        Ok(c) => c,
        Err(e) => panic!("{args:?} should parse: {e}"),
    }
}

#[test]
fn lists_split_on_semicolons_and_commas() {
    assert_eq!(split_list("a.com;b.com"), ["a.com", "b.com"]);
    assert_eq!(
        split_list("a.com, b.com ;c.com"),
        ["a.com", "b.com", "c.com"]
    );
    assert!(split_list("").is_empty());
    assert!(split_list(" ; ").is_empty());
    assert_eq!("x".parse::<List>(), Ok(List(vec!["x".into()])));
}

#[test]
fn global_options_go_anywhere() {
    let c = ok(&w("tenant get --output json --server http://gw:9000"));
    assert_eq!(c.client.output, OutputFormat::Json);
    assert_eq!(c.client.server, "http://gw:9000");
    let c = ok(&w("--output json tenant get"));
    assert_eq!(c.client.output, OutputFormat::Json);
    assert!(parse(&w("tenant get --output yaml")).is_err());
}

#[test]
fn tenant_new_with_domains() {
    let c = ok(&w(
        "tenant new --name Contoso --verified-domains contoso.com;contoso.net",
    ));
    assert_eq!(
        c.cmd_tenant(),
        Some(tenant::TenantCmd::New {
            name: "Contoso".into(),
            verified_domains: Some(List(vec!["contoso.com".into(), "contoso.net".into()])),
        })
    );
}

impl Cli {
    fn cmd_tenant(self) -> Option<tenant::TenantCmd> {
        match self.cmd {
            ClientCommand::Tenant(t) => Some(t),
            _ => None,
        }
    }
}

#[test]
fn user_booleans_and_homing() {
    let c = ok(&w(
        "user set --tenant T --identity bob@contoso.com --homing onPremises --hybrid-voice true --deprovisioned false --groups eng;rooms",
    ));
    let ClientCommand::User(user::UserCmd::Set {
        fields,
        deprovisioned,
        ..
    }) = c.cmd
    else {
        panic!("user set expected");
    };
    assert_eq!(deprovisioned, Some(false));
    let body = serde_json::Value::Object(fields_body(fields));
    assert_eq!(
        body,
        json!({"homing": "onPremises", "hybridVoice": true, "groups": ["eng", "rooms"]})
    );
    assert!(
        parse(&w(
            "user set --tenant T --identity b@c.com --homing on-premises"
        ))
        .is_err()
    );
    assert!(
        parse(&w(
            "user set --tenant T --identity b@c.com --hybrid-voice yes"
        ))
        .is_err()
    );
    assert!(
        parse(&w(
            "user new --tenant T --identity b@c.com --deprovisioned true"
        ))
        .is_err()
    );
}

fn fields_body(f: user::UserFields) -> serde_json::Map<String, serde_json::Value> {
    // Same code path as `user set`.
    user::fields_body_for_tests(f)
}

#[test]
fn provider_set_sends_only_given_fields_and_empty_uri_clears() {
    let c = ok(&[
        "provider",
        "set",
        "--tenant",
        "T",
        "--identity",
        "Polycom",
        "--instruction-uri",
        "",
        "--allow-app-guest-joins-as-authenticated",
        "false",
    ]);
    let ClientCommand::Provider(provider::ProviderCmd::Set { fields, .. }) = c.cmd else {
        panic!("provider set expected");
    };
    assert_eq!(
        serde_json::Value::Object(fields.body()),
        json!({"instructionUri": null, "allowAppGuestJoinsAsAuthenticated": false})
    );
    let c = ok(&w(
        "provider new --tenant T --identity Polycom --tenant-key 813878896@t.plcm.vc --aad-application-ids a,b --instruction-uri https://dialin.plcm.vc/teams/",
    ));
    let ClientCommand::Provider(provider::ProviderCmd::New { fields, .. }) = c.cmd else {
        panic!("provider new expected");
    };
    assert_eq!(
        serde_json::Value::Object(fields.body()),
        json!({"tenantKey": "813878896@t.plcm.vc", "aadApplicationIds": ["a", "b"],
               "instructionUri": "https://dialin.plcm.vc/teams/"})
    );
}

#[test]
fn policy_grant_needs_exactly_one_grantee() {
    let base = [
        "policy",
        "grant",
        "--tenant",
        "T",
        "--policy-name",
        "PolycomServiceProviderEnabled",
    ];
    let with = |extra: &[&str]| parse(&[&base[..], extra].concat());
    assert!(with(&[]).is_err(), "a grantee is required");
    assert!(with(&["--identity", "a@b.com", "--global"]).is_err());
    assert!(
        with(&["--identity", "a@b.com", "--rank", "1"]).is_err(),
        "rank only with a group"
    );
    let grantee = |extra: &[&str]| match with(extra).map(|c| c.cmd) {
        Ok(ClientCommand::Policy(policy::PolicyCmd::Grant {
            grantee,
            rank,
            policy_type,
            ..
        })) => {
            assert_eq!(policy_type, policy::PolicyType::VideoInterop);
            policy::grantee_json(&grantee, rank, false).unwrap_or_else(|e| panic!("{e}"))
        }
        other => panic!("{extra:?}: {other:?}"),
    };
    assert_eq!(
        grantee(&["--identity", "a@b.com"]),
        json!({"kind": "user", "identity": "a@b.com"})
    );
    assert_eq!(
        grantee(&["--group", "eng", "--rank", "2"]),
        json!({"kind": "group", "group": "eng", "rank": 2})
    );
    assert_eq!(grantee(&["--global"]), json!({"kind": "global"}));
    let Ok(ClientCommand::Policy(policy::PolicyCmd::Grant { grantee, rank, .. })) =
        with(&["--group", "eng"]).map(|c| c.cmd)
    else {
        panic!("--group without --rank parses");
    };
    assert!(
        policy::grantee_json(&grantee, rank, false).is_err(),
        "granting needs a rank"
    );
    assert_eq!(
        policy::grantee_json(&grantee, rank, true),
        Ok(json!({"kind": "group", "group": "eng", "rank": 0})),
        "removing does not"
    );
    let c = ok(&w("policy get --tenant T --type teamsInterop"));
    assert!(matches!(
        c.cmd,
        ClientCommand::Policy(policy::PolicyCmd::Get {
            policy_type: policy::PolicyType::TeamsInterop,
            ..
        })
    ));
}

#[test]
fn meeting_new_defaults_and_lists() {
    let c = ok(&[
        "meeting",
        "new",
        "--tenant",
        "T",
        "--organizer",
        "alice@contoso.com",
        "--subject",
        "Weekly sync",
        "--lobby-bypass",
        "organizersOnly",
        "--trusted-subnets",
        "10.0.0.0/8;192.0.2.0/24",
        "--allow-anonymous-join",
        "false",
    ]);
    let ClientCommand::Meeting(meeting::MeetingCmd::New(m)) = c.cmd else {
        panic!("meeting new expected");
    };
    let now = match chrono::DateTime::parse_from_rfc3339("2025-03-01T09:00:00Z") {
        Ok(t) => t.with_timezone(&chrono::Utc),
        Err(e) => panic!("{e}"),
    };
    let b = m.body(now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b["startDateTime"], "2025-03-01T09:00:00Z");
    assert_eq!(b["endDateTime"], "2025-03-01T10:00:00Z");
    assert_eq!(b["lobbyBypass"], "organizersOnly");
    assert_eq!(b["allowAnonymousJoin"], false);
    assert_eq!(b["trustedSubnets"], json!(["10.0.0.0/8", "192.0.2.0/24"]));
    assert!(b.get("expiryDateTime").is_none());
    assert!(
        parse(&w(
            "meeting new --tenant T --organizer a@b.com --subject s --start tomorrow"
        ))
        .is_err()
    );
    let c = ok(&w(
        "meeting new --tenant T --organizer a@b.com --subject s --start 2025-03-01T10:00:00+01:00 --end 2025-03-01T08:00:00Z",
    ));
    let ClientCommand::Meeting(meeting::MeetingCmd::New(m)) = c.cmd else {
        panic!("meeting new expected");
    };
    assert!(m.body(now).is_err(), "end before start");
}

#[test]
fn meeting_get_needs_one_id() {
    assert!(parse(&w("meeting get --tenant T")).is_err());
    assert!(parse(&w("meeting get --tenant T --id x --video-id 0179206841")).is_err());
    assert!(parse(&w("meeting get --tenant T --video-id 0179206841")).is_ok());
}

#[test]
fn explain_body() {
    let c = ok(&w(
        "explain --source-address 192.0.2.7 --from sip:room@x.com 813878896@t.plcm.vc",
    ));
    let ClientCommand::Explain(a) = c.cmd else {
        panic!("explain expected");
    };
    assert_eq!(
        a.body(),
        json!({"requestUri": "sip:813878896@t.plcm.vc", "from": "sip:room@x.com", "sourceAddress": "192.0.2.7"})
    );
    assert!(parse(&w("explain --source-address not-an-ip sip:a@b")).is_err());
    assert!(parse(&w("explain")).is_err());
}

#[test]
fn explain_renders_checks_and_exit_codes() {
    let d = json!({
        "outcome": {"kind": "reject", "status": 403, "reason": "Forbidden", "check": "policyEnablesProvider"},
        "trace": [
            {"check": "requestUri", "passed": true, "detail": "sip URI"},
            {"check": "policyEnablesProvider", "passed": false, "detail": "Global does not enable 'Polycom'"}
        ]
    });
    assert_eq!(
        explain::render(&d),
        "✓  requestUri             sip URI\n\
         ✗  policyEnablesProvider  Global does not enable 'Polycom'\n\
         decision: reject 403 Forbidden at policyEnablesProvider\n"
    );
    assert_eq!(explain::exit_code(&d), std::process::ExitCode::from(3));
    let join = json!({"outcome": {"kind": "join", "meeting_id": "m1", "provider": "Polycom",
        "tenant_key": "813878896@t.plcm.vc", "order": "keyConf", "trust": {"kind": "guest"}, "lobby": true}, "trace": []});
    assert_eq!(
        explain::render(&join),
        "decision: join meeting m1 through provider Polycom (813878896@t.plcm.vc, key.conf); caller guest, waits in the lobby\n"
    );
    assert_eq!(explain::exit_code(&join), std::process::ExitCode::SUCCESS);
}

#[test]
fn federation_flags_and_merge() {
    let c = ok(&w("federation config set --tenant T --enable-acs-users"));
    let ClientCommand::Federation(federation::FederationCmd::Config(federation::ConfigCmd::Set {
        enable_acs_users,
        allowed_acs_resources,
        ..
    })) = c.cmd
    else {
        panic!("federation config set expected");
    };
    assert_eq!(enable_acs_users, Some(true));
    let cur = json!({"enableAcsUsers": true, "allowedAcsResources": ["r1"],
                     "allowAllAcsResources": false, "blockedAcsResources": ["b1"]});
    let changes = federation::Changes {
        enable_acs_users,
        allowed_acs_resources,
        ..Default::default()
    };
    let mut expected = cur.clone();
    expected["enableAcsUsers"] = json!(true);
    assert_eq!(
        federation::merge_config(&cur, changes),
        expected,
        "unchanged fields are kept"
    );
    let changes = federation::Changes {
        enable_acs_users: Some(false),
        allowed_acs_resources: Some(List(vec!["r2".into(), "r3".into()])),
        blocked_acs_resources: Some(List(vec![])),
        ..Default::default()
    };
    assert_eq!(
        federation::merge_config(&cur, changes),
        json!({"enableAcsUsers": false, "allowedAcsResources": ["r2", "r3"],
               "allowAllAcsResources": false, "blockedAcsResources": []})
    );
    assert_eq!(
        federation::merge_config(&serde_json::Value::Null, federation::Changes::default()),
        json!({"enableAcsUsers": false, "allowedAcsResources": []})
    );
    let c = ok(&w(
        "federation config set --tenant T --enable-acs-users false",
    ));
    assert!(matches!(
        c.cmd,
        ClientCommand::Federation(federation::FederationCmd::Config(
            federation::ConfigCmd::Set {
                enable_acs_users: Some(false),
                ..
            }
        ))
    ));
}

#[test]
fn other_verbs_parse() {
    for args in [
        &["consent", "grant", "--tenant", "T", "--app-id", "x"][..],
        &["consent", "revoke", "--tenant", "T", "--app-id", "x"],
        &[
            "interop", "route", "--tenant", "T", "--user", "a@b.com", "--from", "sfb",
        ],
        &[
            "federation",
            "check",
            "--tenant",
            "T",
            "--user",
            "a@b.com",
            "--resource",
            "r",
        ],
        &["token", "new", "--tenant", "T", "--name", "ci"],
        &["audit", "--limit", "5"],
        &[
            "policy",
            "effective",
            "--tenant",
            "T",
            "--identity",
            "a@b.com",
        ],
        &["group", "new", "--tenant", "T", "--name", "eng"],
        &["provider", "get", "--tenant", "T", "--filter", "^Poly"],
        &[
            "provider",
            "remove",
            "--tenant",
            "T",
            "--identity",
            "Polycom",
        ],
    ] {
        ok(args);
    }
    assert!(parse(&w("interop route --tenant T --user a@b.com --from skype")).is_err());
}

#[test]
fn tables_are_aligned_without_trailing_spaces() {
    let t = output::table(
        &["identity", "tenant key"],
        &[
            vec!["Polycom".into(), "813878896@t.plcm.vc".into()],
            vec!["X".into(), "-".into()],
        ],
    );
    assert_eq!(
        t,
        "IDENTITY  TENANT KEY\n\
         Polycom   813878896@t.plcm.vc\n\
         X         -\n"
    );
    let v =
        json!([{"identity": "Polycom", "aadApplicationIds": ["a", "b"], "instructionUri": null}]);
    assert_eq!(
        output::list(
            &v,
            &[
                ("identity", "identity"),
                ("apps", "aadApplicationIds"),
                ("uri", "instructionUri")
            ]
        ),
        "IDENTITY  APPS  URI\nPolycom   a;b   -\n"
    );
    assert_eq!(output::list(&json!([]), &[("a", "a")]), "(none)\n");
    assert_eq!(
        output::kv(&[
            ("id", Some("1".into())),
            ("skipped", None),
            ("subject", Some("s".into()))
        ]),
        "id:      1\nsubject: s\n"
    );
}

#[test]
fn policy_set_takes_a_boolean_value() {
    let p = |extra: &[&str]| {
        let mut a = vec!["policy", "set", "--tenant", "T", "--policy-name", "AcsOn"];
        a.extend_from_slice(extra);
        parse(&a).map(|c| c.cmd)
    };
    assert!(matches!(
        p(&["--enable-acs-federation-access", "true"]),
        Ok(ClientCommand::Policy(policy::PolicyCmd::Set {
            enable_acs_federation_access: true,
            ..
        }))
    ));
    assert!(p(&["--enable-acs-federation-access"]).is_err());
    assert!(p(&[]).is_err());
}

#[test]
fn nested_objects_flatten_to_dotted_keys() {
    let v = json!({"user": "a@b.com", "call": {"client": "teams", "rule": "r"}, "empty": {}});
    assert_eq!(
        output::object(&v),
        "call.client: teams\ncall.rule:   r\nempty:       {}\nuser:        a@b.com\n"
    );
    let long = "x".repeat(150);
    let t = audit::table(
        &json!([{"at": "t", "actor": "operator", "action": "a", "detail": {"k": long}}]),
    );
    assert!(t.lines().nth(1).is_some_and(|l| l.ends_with('…')), "{t}");
}

#[test]
fn meeting_shows_the_invite_block() {
    let m = json!({
        "id": "m1", "subject": "Weekly sync", "organizer": "alice@contoso.com",
        "videoTeleconferenceId": "0179206841", "vtcStatus": "enabled",
        "joinInformation": {"text": "Join with a video conferencing device\n813878896@t.plcm.vc VTC Conference ID: 0179206841\n", "html": ""},
        "vtcCoordinates": {"provider": "Polycom", "ivrDialString": "813878896@t.plcm.vc",
            "directDialStrings": ["813878896.0179206841@t.plcm.vc", "0179206841.813878896@t.plcm.vc"]}
    });
    let s = meeting::show(&m);
    assert!(s.contains("vtc conference id: 0179206841\n"), "{s}");
    assert!(
        s.contains(
            "direct dial:       813878896.0179206841@t.plcm.vc  0179206841.813878896@t.plcm.vc\n"
        ),
        "{s}"
    );
    assert!(s.ends_with("\nJoin with a video conferencing device\n813878896@t.plcm.vc VTC Conference ID: 0179206841\n"), "{s}");
}

#[test]
fn problem_details_name_the_field() {
    let body = br#"{"type":"about:blank","title":"Conflict","status":409,"detail":"tenantKey: already used","field":"tenantKey"}"#;
    assert_eq!(
        http::problem_message(reqwest::StatusCode::CONFLICT, body, true),
        "409 Conflict: tenantKey: already used (field: tenantKey)"
    );
    assert_eq!(
        http::problem_message(reqwest::StatusCode::UNAUTHORIZED, b"", false),
        "401 Unauthorized — give a token with --token or CVI_TOKEN"
    );
    let e = http::ApiError {
        status: Some(404),
        message: String::new(),
    };
    assert_eq!(e.exit_code(), 2);
    let e = http::ApiError {
        status: Some(503),
        message: String::new(),
    };
    assert_eq!(e.exit_code(), 1);
    let e = http::ApiError {
        status: None,
        message: String::new(),
    };
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn urls_encode_segments_and_filters() {
    let opts = ClientOpts {
        server: "http://127.0.0.1:8080/".into(),
        token: None,
        output: OutputFormat::Table,
    };
    let api = match http::Api::new(&opts) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        api.url(
            &["tenants", "Contoso Ltd", "users", "alice@contoso.com"],
            &[]
        )
        .as_str(),
        "http://127.0.0.1:8080/api/v1/tenants/Contoso%20Ltd/users/alice@contoso.com"
    );
    let u = api.url(
        &["onlineMeetings"],
        &[("$filter", "VideoTeleconferenceId eq '0179206841'".into())],
    );
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        pairs,
        [(
            "$filter".to_string(),
            "VideoTeleconferenceId eq '0179206841'".to_string()
        )]
    );
    let bad = ClientOpts {
        server: "127.0.0.1:8080".into(),
        token: None,
        output: OutputFormat::Table,
    };
    assert!(http::Api::new(&bad).is_err());
}
