//! A throw-away PKI for TLS tests, made with `rcgen` (ECDSA P-256), written as PEM files into
//! a temp dir that lives as long as the [`TestPki`].
//!
//! * CA: `ca.pem` (`CN=cvi-e2e test CA`).
//! * Server: `server.pem`, `server.key`, `server-combined.pem` (cert then key). SANs:
//!   IP `127.0.0.1`, DNS `localhost`, DNS `127.0.0.1` and the chosen DNS names.
//!   Quirk: linphone (belle-sip + mbedTLS) checks the host only against DNS SANs (or the CN
//!   when there are none) and reports `flags=[CN-mismatch]` for an IP SAN alone, hence the
//!   DNS-typed `127.0.0.1` entry; OpenSSL-based peers use the IP SAN.
//! * Client: `client.pem`, `client.key`, `client-combined.pem`, CN and DNS SAN = the chosen
//!   client domain (for "TLS peer domain" tests), with the clientAuth EKU.
//!
//! baresip's `sip_certificate` and socat's `cert=` take the combined file.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// PEM paths of one certificate and its key.
#[derive(Clone, Debug)]
pub struct CertFiles {
    /// The certificate.
    pub cert: PathBuf,
    /// The private key (PKCS#8).
    pub key: PathBuf,
    /// Certificate followed by key in one file.
    pub combined: PathBuf,
}

/// A CA with one server and one client certificate; see the module docs.
pub struct TestPki {
    dir: tempfile::TempDir,
    /// The CA certificate (`ca.pem`).
    pub ca: PathBuf,
    /// The server certificate.
    pub server: CertFiles,
    /// The client certificate.
    pub client: CertFiles,
    /// The server's extra DNS names as given.
    pub server_names: Vec<String>,
    /// The client certificate's domain.
    pub client_domain: String,
}

/// Names used by [`TestPki::generate_default`].
pub const DEFAULT_SERVER_NAME: &str = "gw.t.plcm.vc";
/// Client domain used by [`TestPki::generate_default`].
pub const DEFAULT_CLIENT_DOMAIN: &str = "client.t.plcm.vc";

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
    Ok(p)
}

impl TestPki {
    /// CA + server cert for 127.0.0.1/localhost/[`DEFAULT_SERVER_NAME`] + client cert for
    /// [`DEFAULT_CLIENT_DOMAIN`].
    pub fn generate_default() -> Result<Self> {
        Self::generate(&[DEFAULT_SERVER_NAME], DEFAULT_CLIENT_DOMAIN)
    }

    /// CA + server cert (127.0.0.1, localhost and `server_dns_names`) + client cert for
    /// `client_domain`.
    pub fn generate(server_dns_names: &[&str], client_domain: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("cvi-e2e-pki-")
            .tempdir()
            .context("creating the PKI temp dir")?;

        let ca_key = KeyPair::generate().context("CA key")?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).context("CA params")?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "cvi-e2e test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .context("self-signing the CA")?;
        let issuer = Issuer::new(ca_params, ca_key);

        // Server.
        let mut sans: Vec<String> = vec!["127.0.0.1".into(), "localhost".into()];
        sans.extend(server_dns_names.iter().map(|s| s.to_string()));
        let mut sp = CertificateParams::new(sans).context("server params")?;
        sp.subject_alt_names.push(rcgen::SanType::DnsName(
            "127.0.0.1".try_into().context("DNS SAN 127.0.0.1")?,
        ));
        let cn = server_dns_names.first().copied().unwrap_or("127.0.0.1");
        sp.distinguished_name.push(DnType::CommonName, cn);
        sp.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        sp.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let server_key = KeyPair::generate().context("server key")?;
        let server_cert = sp
            .signed_by(&server_key, &issuer)
            .context("signing the server cert")?;

        // Client.
        let mut cp =
            CertificateParams::new(vec![client_domain.to_string()]).context("client params")?;
        cp.distinguished_name
            .push(DnType::CommonName, client_domain);
        cp.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().context("client key")?;
        let client_cert = cp
            .signed_by(&client_key, &issuer)
            .context("signing the client cert")?;

        let d = dir.path();
        let ca = write(d, "ca.pem", &ca_cert.pem())?;
        let files = |prefix: &str, cert: &rcgen::Certificate, key: &KeyPair| -> Result<CertFiles> {
            let c = cert.pem();
            let k = key.serialize_pem();
            Ok(CertFiles {
                cert: write(d, &format!("{prefix}.pem"), &c)?,
                key: write(d, &format!("{prefix}.key"), &k)?,
                combined: write(d, &format!("{prefix}-combined.pem"), &format!("{c}{k}"))?,
            })
        };
        let server = files("server", &server_cert, &server_key)?;
        let client = files("client", &client_cert, &client_key)?;
        Ok(Self {
            dir,
            ca,
            server,
            client,
            server_names: server_dns_names.iter().map(|s| s.to_string()).collect(),
            client_domain: client_domain.to_string(),
        })
    }

    /// The directory holding the PEM files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
