//! End to end: the CVI set-up document replayed with the real `cvi` binary against a real
//! `cvi serve` (SQLite in a temporary directory).
//!
//! This test runs the binary, it does not build it. Build it first:
//!
//! ```text
//! cargo build --bins && cargo test -p cvi-e2e
//! ```

use anyhow::{Context, Result, bail, ensure};
use cvi_e2e::cvi_bin;
use serde_json::Value;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SIP_DOMAIN: &str = "t.plcm.vc";
const TENANT_KEY: &str = "813878896@t.plcm.vc";
const KEY_LOCAL: &str = "813878896";
const APP_ID: &str = "b4e4d0c8-7e3b-4c44-8b4f-1a2b3c4d5e6f";
const INSTRUCTION_URI: &str = "https://dialin.plcm.vc/teams/";

/// A random hex string from the standard library's randomly seeded hasher.
fn random_token() -> String {
    let mut s = String::new();
    for i in 0..2u64 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u32(std::process::id());
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s
}

/// `"a b c"` → `["a", "b", "c"]` (command lines without quoted words).
fn w(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// A command with no `CVI_*` variables inherited from the environment.
fn clean_command(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CVI_") {
            c.env_remove(k);
        }
    }
    c
}

/// A running `cvi serve`; killed on drop.
struct Gateway {
    bin: PathBuf,
    child: Child,
    server: String,
    admin: String,
    dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one `cvi` run did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.stdout).with_context(|| format!("stdout is not JSON: {self:?}"))
    }
}

impl Gateway {
    fn start() -> Result<Self> {
        let bin = cvi_bin()?;
        let dir = tempfile::tempdir()?;
        let admin = random_token();
        let ready = dir.path().join("ready.json");
        let log = std::fs::File::create(dir.path().join("serve.log"))?;
        let db = format!("sqlite://{}", dir.path().join("cvi.db").display());
        let child = clean_command(&bin)
            .args(["serve", "--http-listen", "127.0.0.1:0", "--database", &db])
            .args([
                "--admin-token",
                &admin,
                "--sip-domain",
                SIP_DOMAIN,
                "--sip-listen",
                "127.0.0.1:0",
            ])
            .arg("--ready-file")
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {} serve", bin.display()))?;
        let mut gw = Gateway {
            bin,
            child,
            server: String::new(),
            admin,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(addr) = std::fs::read_to_string(&ready)
                .ok()
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                .and_then(|v| v["http"].as_str().map(str::to_string))
            {
                gw.server = format!("http://{addr}");
                return Ok(gw);
            }
            if let Some(status) = gw.child.try_wait()? {
                bail!(
                    "cvi serve exited ({status}) before it was ready:\n{}",
                    gw.log()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "cvi serve did not write {} within 30 s:\n{}",
                    ready.display(),
                    gw.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// Runs `cvi --server … [--token T] ARGS…`.
    fn cvi_with(&self, token: Option<&str>, args: &[&str]) -> Result<Run> {
        let mut c = clean_command(&self.bin);
        c.args(["--server", &self.server]);
        if let Some(t) = token {
            c.args(["--token", t]);
        }
        let out = c
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running cvi {args:?}"))?;
        Ok(Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// As the operator; the run must succeed.
    fn ok(&self, args: &[&str]) -> Result<Run> {
        let r = self.cvi_with(Some(&self.admin), args)?;
        ensure!(
            r.code == Some(0),
            "cvi {args:?} failed: {r:?}\n--- server log ---\n{}",
            self.log()
        );
        Ok(r)
    }

    /// As the operator with `--output json`; the run must succeed.
    fn json(&self, args: &[&str]) -> Result<Value> {
        let mut a = vec!["--output", "json"];
        a.extend_from_slice(args);
        self.ok(&a)?.json()
    }

    /// `cvi --output json explain URI` as the operator, with its exit code.
    fn explain(&self, uri: &str) -> Result<(Option<i32>, Value)> {
        let r = self.cvi_with(Some(&self.admin), &["--output", "json", "explain", uri])?;
        let v = r.json()?;
        Ok((r.code, v))
    }
}

/// Tenant, user, provider, grant, consent: the set-up document up to the meeting.
fn provision(gw: &Gateway) -> Result<()> {
    let t = gw.json(&w(
        "tenant new --name Contoso --verified-domains contoso.com",
    ))?;
    ensure!(t["name"] == "Contoso", "tenant: {t}");
    ensure!(
        t["verifiedDomains"] == serde_json::json!(["contoso.com"]),
        "tenant: {t}"
    );
    gw.ok(&w("user new --tenant Contoso --identity alice@contoso.com"))?;
    let p = gw.json(&w(&format!("provider new --tenant Contoso --identity Polycom --tenant-key {TENANT_KEY} --aad-application-ids {APP_ID} --instruction-uri {INSTRUCTION_URI}")))?;
    ensure!(p["tenantKey"] == TENANT_KEY, "provider: {p}");
    ensure!(
        p["aadApplicationIds"] == serde_json::json!([APP_ID]),
        "provider: {p}"
    );
    gw.ok(&w("policy grant --tenant Contoso --policy-name PolycomServiceProviderEnabled --identity alice@contoso.com"))?;
    gw.ok(&w(&format!(
        "consent grant --tenant Contoso --app-id {APP_ID}"
    )))?;
    Ok(())
}

#[test]
fn cvi_setup_document_end_to_end() -> Result<()> {
    let gw = Gateway::start()?;
    provision(&gw)?;

    let m = gw.json(&[
        "meeting",
        "new",
        "--tenant",
        "Contoso",
        "--organizer",
        "alice@contoso.com",
        "--subject",
        "Weekly sync",
    ])?;
    let id = m["videoTeleconferenceId"]
        .as_str()
        .with_context(|| format!("the meeting has no videoTeleconferenceId: {m}"))?
        .to_string();
    ensure!(
        id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()),
        "video ID {id:?} is not 10 digits"
    );
    let c = &m["vtcCoordinates"];
    ensure!(c["tenantKey"] == TENANT_KEY, "coordinates: {c}");
    ensure!(
        c["videoTeleconferenceId"] == id.as_str(),
        "coordinates: {c}"
    );
    let text = m["joinInformation"]["text"]
        .as_str()
        .with_context(|| format!("the meeting has no joinInformation.text: {m}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let expected = [
        "Join with a video conferencing device".to_string(),
        format!("{TENANT_KEY} VTC Conference ID: {id}"),
        format!("Alternate VTC dialing instructions <{INSTRUCTION_URI}?key={KEY_LOCAL}&conf={id}>"),
    ];
    ensure!(lines == expected, "joinInformation.text:\n{text}");

    // The Graph-style lookup by video ID, printed as a table with the invite block.
    let r = gw.ok(&["meeting", "get", "--tenant", "Contoso", "--video-id", &id])?;
    ensure!(r.stdout.contains(&expected[1]), "meeting get: {}", r.stdout);

    for uri in [
        format!("sip:{KEY_LOCAL}.{id}@{SIP_DOMAIN}"),
        format!("sip:{id}.{KEY_LOCAL}@{SIP_DOMAIN}"),
    ] {
        let (code, d) = gw.explain(&uri)?;
        ensure!(code == Some(0), "explain {uri}: exit {code:?}: {d}");
        ensure!(d["outcome"]["kind"] == "join", "explain {uri}: {d}");
    }
    let (code, d) = gw.explain(&format!("sip:{TENANT_KEY}"))?;
    ensure!(code == Some(0), "explain IVR: exit {code:?}: {d}");
    ensure!(d["outcome"]["kind"] == "ivr", "explain IVR: {d}");

    // The table form lists every check with a mark.
    let r = gw.ok(&["explain", &format!("sip:{KEY_LOCAL}.{id}@{SIP_DOMAIN}")])?;
    ensure!(
        r.stdout.contains("✓") && r.stdout.contains("decision: join"),
        "explain table:\n{}",
        r.stdout
    );

    // Take the policy away: the same dial string is refused at the policy check.
    gw.ok(&w(
        "policy grant --tenant Contoso --policy-name none --identity alice@contoso.com",
    ))?;
    let uri = format!("sip:{KEY_LOCAL}.{id}@{SIP_DOMAIN}");
    let (code, d) = gw.explain(&uri)?;
    ensure!(
        code == Some(3),
        "explain after revoking the policy: exit {code:?}: {d}"
    );
    let o = &d["outcome"];
    ensure!(
        o["kind"] == "reject" && o["status"] == 403 && o["check"] == "policyEnablesProvider",
        "explain after revoking the policy: {d}"
    );
    let r = gw.cvi_with(Some(&gw.admin), &["explain", &uri])?;
    ensure!(
        r.code == Some(3) && r.stdout.contains("✗"),
        "explain table: {r:?}"
    );
    Ok(())
}

#[test]
fn duplicate_tenant_key_and_tenant_admin_isolation() -> Result<()> {
    let gw = Gateway::start()?;
    provision(&gw)?;
    gw.ok(&w(
        "tenant new --name Fabrikam --verified-domains fabrikam.com",
    ))?;

    // A tenant key belongs to one provider of one tenant.
    for key in [TENANT_KEY, "813878896@T.PLCM.VC"] {
        let r = gw.cvi_with(
            Some(&gw.admin),
            &[
                "provider",
                "new",
                "--tenant",
                "Fabrikam",
                "--identity",
                "Polycom",
                "--tenant-key",
                key,
                "--aad-application-ids",
                APP_ID,
            ],
        )?;
        ensure!(
            r.code == Some(2),
            "duplicate key {key} was not refused with exit 2: {r:?}"
        );
        ensure!(
            r.stderr.contains("tenantKey"),
            "the error does not name tenantKey: {r:?}"
        );
    }

    // A tenant admin sees its own tenant only.
    let t = gw.json(&w("token new --tenant Fabrikam --name fabrikam-admin"))?;
    ensure!(t["role"] == "tenantAdmin", "token: {}", t["role"]);
    let fab = t["token"]
        .as_str()
        .context("the token answer has no token")?;
    let r = gw.cvi_with(Some(fab), &w("--output json tenant get --tenant Fabrikam"))?;
    ensure!(
        r.code == Some(0),
        "tenant admin reading its own tenant: {r:?}"
    );
    ensure!(r.json()?["name"] == "Fabrikam", "{r:?}");
    for args in [
        &w("tenant get --tenant Contoso")[..],
        &w("user get --tenant Contoso --identity alice@contoso.com"),
        &w("provider get --tenant Contoso"),
    ] {
        let r = gw.cvi_with(Some(fab), args)?;
        ensure!(
            r.code == Some(2) && r.stderr.contains("404"),
            "tenant admin of Fabrikam: {args:?} should be 404: {r:?}"
        );
        ensure!(
            !r.stderr.contains(fab) && !r.stdout.contains(fab),
            "the token was printed"
        );
    }
    let r = gw.cvi_with(Some(fab), &w("--output json tenant get"))?;
    let names: Vec<Value> = r
        .json()?
        .as_array()
        .map(|a| a.iter().map(|t| t["name"].clone()).collect())
        .unwrap_or_default();
    ensure!(
        names == [Value::from("Fabrikam")],
        "tenant admin's tenant list: {r:?}"
    );
    let r = gw.cvi_with(Some(fab), &w("tenant new --name Evil"))?;
    ensure!(
        r.code == Some(2) && r.stderr.contains("403"),
        "tenant admin creating a tenant: {r:?}"
    );
    let r = gw.cvi_with(None, &["tenant", "get"])?;
    ensure!(
        r.code == Some(2) && r.stderr.contains("401"),
        "no token: {r:?}"
    );
    Ok(())
}
