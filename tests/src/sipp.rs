//! SIPp as a UAS, for validating the client harness and as a far end in later tests.
//!
//! Facts (Debian 12, package `sip-tester` — the package is *not* called `sipp`; binary
//! `/usr/bin/sipp`, `SIPp v3.6.1-SCTP-PCAP-RTPSTREAM`):
//! * Built **without OpenSSL**: `-t l1` fails with "To use a TLS transport you must compile
//!   SIPp with OpenSSL". For [`Transport::Tls`] this module runs sipp on TCP behind a
//!   `socat OPENSSL-LISTEN:…,fork` front (package `socat`) that terminates TLS with the test
//!   server certificate. The generated scenarios put the TLS port and `transport=tls` in
//!   Contact/Via, so the client's ACK and BYE also go through TLS.
//! * Runs headless with `-nostdin` and piped stdout (it prints its statistics screen).
//! * `-m 1` makes it exit after one call: exit status 0 when the call ran the whole scenario
//!   (for `uas`: INVITE, 180, 200, ACK, **BYE**, 200 — so exit 0 proves the client's BYE
//!   arrived), 1 when a call failed; it keeps running while no call came.
//! * `-trace_msg -message_file F` logs every message as
//!   `----- <date>` / `UDP message received [N] bytes :` (or `… message sent (N bytes):`)
//!   / blank / the message; [`Sipp::received`] parses that.
//! * Media: it binds RTP on 6000, 6002… (next free even port) and a control socket on
//!   UDP 8888+ on 0.0.0.0, picking the next free one, so parallel instances do not clash.
//!   It sends no RTP in these scenarios.
//! * With `-i 127.0.0.1` its Contact/Via/SDP use 127.0.0.1.

use crate::Transport;
use crate::net::{self, Proto};
use crate::proc::{ChildGuard, require_binary};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// What sipp does with each INVITE.
#[derive(Clone, Debug)]
pub enum SippScenario {
    /// sipp's built-in `-sn uas`: 180, 200 (PCMU SDP), expects ACK, BYE, replies 200.
    /// Its Contact names sipp's own port and transport (under TLS: the TCP port behind socat).
    BuiltinUas,
    /// Like `BuiltinUas` but generated here (100, 180, 200; ACK; BYE → 200), with Contact
    /// and Via naming the public port and transport (correct under TLS).
    Answer,
    /// Answers every INVITE with a final `status reason` (e.g. 404 Not Found), expects ACK.
    Reject {
        /// Final status code (≥ 300).
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// Answers (180, 200), then after `after` sends BYE itself and expects 200.
    AnswerThenBye {
        /// Delay between the ACK and sipp's BYE.
        after: Duration,
    },
    /// Any scenario XML. `{contact}` and `{via}` in it are replaced by the public Contact
    /// header value and Via transport/host/port (e.g. `SIP/2.0/TLS 127.0.0.1:5071`).
    Xml(String),
}

impl SippScenario {
    /// `Reject` with the standard reason phrase for `status`.
    pub fn reject(status: u16) -> Self {
        let reason = match status {
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            408 => "Request Timeout",
            480 => "Temporarily Unavailable",
            486 => "Busy Here",
            488 => "Not Acceptable Here",
            500 => "Server Internal Error",
            503 => "Service Unavailable",
            603 => "Decline",
            _ => "Rejected",
        };
        SippScenario::Reject {
            status,
            reason: reason.into(),
        }
    }
}

/// TLS material for a TLS sipp (the socat front).
#[derive(Clone, Debug)]
pub struct SippTls {
    /// Server certificate followed by its key (PEM), e.g. `TestPki::server.combined`.
    pub cert_and_key: PathBuf,
    /// CA for verifying client certificates (used when `require_client_cert`).
    pub ca: PathBuf,
    /// Demand and verify a client certificate.
    pub require_client_cert: bool,
}

impl SippTls {
    /// Server side of `pki`, client certificates not required.
    pub fn from_pki(pki: &crate::tls::TestPki) -> Self {
        Self {
            cert_and_key: pki.server.combined.clone(),
            ca: pki.ca.clone(),
            require_client_cert: false,
        }
    }
}

/// Options for [`Sipp::start`].
#[derive(Clone, Debug)]
pub struct SippOpts {
    /// The scenario.
    pub scenario: SippScenario,
    /// Transport clients use to reach it.
    pub transport: Transport,
    /// Exit after this many calls (`-m`); 0 = never.
    pub calls: u32,
    /// Required for [`Transport::Tls`].
    pub tls: Option<SippTls>,
}

impl SippOpts {
    /// `scenario` on `transport`, one call. For TLS set [`SippOpts::tls`].
    pub fn new(scenario: SippScenario, transport: Transport) -> Self {
        Self {
            scenario,
            transport,
            calls: 1,
            tls: None,
        }
    }

    /// `scenario` over TLS with the server certificate of `pki`, one call.
    pub fn tls(scenario: SippScenario, pki: &crate::tls::TestPki) -> Self {
        Self {
            tls: Some(SippTls::from_pki(pki)),
            ..Self::new(scenario, Transport::Tls)
        }
    }
}

/// A running sipp UAS (and its TLS front); killed on drop.
pub struct Sipp {
    front: Option<ChildGuard>,
    proc: ChildGuard,
    port: u16,
    sipp_port: u16,
    transport: Transport,
    messages: PathBuf,
    _dir: tempfile::TempDir,
}

const HEAD: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
"#;

const RECV_INVITE: &str = r#"  <recv request="INVITE" rrs="true"/>
"#;

// sipp refuses a scenario that assigns a variable it never uses ("Variable $x is referenced
// 1 times!"), so only the BYE-sending scenario captures From/To.
const RECV_INVITE_CAPTURE: &str = r#"  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote_from"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="local_to"/>
    </action>
  </recv>
"#;

const SEND_100: &str = r#"  <send>
    <![CDATA[

SIP/2.0 100 Trying
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
"#;

const SEND_180_200: &str = r#"  <send>
    <![CDATA[

SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: {contact}
Content-Length: 0

]]>
  </send>
  <send retrans="500">
    <![CDATA[

SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: {contact}
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15

]]>
  </send>
  <recv request="ACK"/>
"#;

const RECV_BYE: &str = r#"  <recv request="BYE"/>
  <send>
    <![CDATA[

SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: {contact}
Content-Length: 0

]]>
  </send>
"#;

fn answer_xml() -> String {
    format!(
        "{HEAD}<scenario name=\"cvi-e2e answer\">\n{RECV_INVITE}{SEND_100}{SEND_180_200}{RECV_BYE}\
         <timewait milliseconds=\"500\"/>\n</scenario>\n"
    )
}

fn reject_xml(status: u16, reason: &str) -> String {
    format!(
        r#"{HEAD}<scenario name="cvi-e2e reject {status}">
{RECV_INVITE}{SEND_100}  <send>
    <![CDATA[

SIP/2.0 {status} {reason}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
  <recv request="ACK"/>
  <timewait milliseconds="500"/>
</scenario>
"#
    )
}

fn answer_then_bye_xml(after: Duration) -> String {
    format!(
        r#"{HEAD}<scenario name="cvi-e2e answer then BYE">
{RECV_INVITE_CAPTURE}{SEND_100}{SEND_180_200}  <pause milliseconds="{ms}"/>
  <send retrans="500">
    <![CDATA[

BYE [next_url] SIP/2.0
Via: {{via}};branch=[branch]
From: [$local_to];tag=[pid]SIPpTag01[call_number]
To: [$remote_from]
Call-ID: [call_id]
CSeq: 1 BYE
Contact: {{contact}}
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <recv response="200"/>
  <timewait milliseconds="500"/>
</scenario>
"#,
        ms = after.as_millis()
    )
}

/// The scenario XML sipp is given for `scenario` when clients reach it on `port` with
/// `transport` (`None` for [`SippScenario::BuiltinUas`]).
pub fn scenario_xml(scenario: &SippScenario, transport: Transport, port: u16) -> Option<String> {
    let contact = format!("<sip:127.0.0.1:{port};transport={}>", transport.param());
    let via = format!("SIP/2.0/{} 127.0.0.1:{port}", transport.via());
    let xml = match scenario {
        SippScenario::BuiltinUas => return None,
        SippScenario::Answer => answer_xml(),
        SippScenario::Reject { status, reason } => reject_xml(*status, reason),
        SippScenario::AnswerThenBye { after } => answer_then_bye_xml(*after),
        SippScenario::Xml(x) => x.clone(),
    };
    Some(xml.replace("{contact}", &contact).replace("{via}", &via))
}

impl Sipp {
    /// Starts sipp (and for TLS its socat front) on free loopback ports and waits until it
    /// listens.
    pub fn start(opts: SippOpts) -> Result<Sipp> {
        require_binary("sipp", "sip-tester")?;
        let dir = tempfile::Builder::new()
            .prefix("cvi-e2e-sipp-")
            .tempdir()
            .context("sipp temp dir")?;
        let (sipp_port, public_port) = match opts.transport {
            Transport::Udp => {
                let p = net::free_udp_port();
                (p, p)
            }
            Transport::Tcp => {
                let p = net::free_tcp_port();
                (p, p)
            }
            Transport::Tls => (net::free_tcp_port(), net::free_tcp_port()),
        };
        let xml = scenario_xml(&opts.scenario, opts.transport, public_port);
        let messages = dir.path().join("messages.log");
        let mut args: Vec<String> = Vec::new();
        match xml {
            None => args.extend(["-sn".into(), "uas".into()]),
            Some(x) => {
                let path = dir.path().join("scenario.xml");
                std::fs::write(&path, x).context("writing the sipp scenario")?;
                args.extend(["-sf".into(), path.display().to_string()]);
            }
        }
        let t = match opts.transport {
            Transport::Udp => "u1",
            Transport::Tcp | Transport::Tls => "t1",
        };
        args.extend(
            [
                "-i",
                "127.0.0.1",
                "-p",
                &sipp_port.to_string(),
                "-t",
                t,
                "-nostdin",
                "-trace_msg",
                "-message_file",
                &messages.display().to_string(),
                "-trace_err",
                "-error_file",
                &dir.path().join("errors.log").display().to_string(),
            ]
            .map(String::from),
        );
        if opts.calls > 0 {
            args.extend(["-m".into(), opts.calls.to_string()]);
        }
        let cwd = dir.path().to_path_buf();
        let proc =
            ChildGuard::spawn_with("sipp", "sipp", &args, crate::proc::DEFAULT_LIFETIME, |c| {
                c.current_dir(&cwd);
            })?;
        let proto = if opts.transport == Transport::Udp {
            Proto::Udp
        } else {
            Proto::Tcp
        };
        if !net::wait_listening(proto, sipp_port, Duration::from_secs(10)) {
            proc.ensure_running()?;
            bail!(
                "sipp did not bind 127.0.0.1:{sipp_port} within 10 s; output:\n{}",
                proc.log_tail(40)
            );
        }
        let front = if opts.transport == Transport::Tls {
            let tls = opts
                .tls
                .as_ref()
                .context("SippOpts.tls is required for Transport::Tls")?;
            require_binary("socat", "socat")?;
            let verify = if tls.require_client_cert { 1 } else { 0 };
            let listen = format!(
                "OPENSSL-LISTEN:{public_port},bind=127.0.0.1,reuseaddr,fork,cert={},cafile={},verify={verify}",
                tls.cert_and_key.display(),
                tls.ca.display()
            );
            let front = ChildGuard::spawn(
                "sipp-tls-front",
                "socat",
                ["-d", &listen, &format!("TCP:127.0.0.1:{sipp_port}")],
            )?;
            if !net::wait_listening(Proto::Tcp, public_port, Duration::from_secs(10)) {
                front.ensure_running()?;
                bail!("socat did not listen on 127.0.0.1:{public_port} within 10 s");
            }
            Some(front)
        } else {
            None
        };
        Ok(Sipp {
            front,
            proc,
            port: public_port,
            sipp_port,
            transport: opts.transport,
            messages,
            _dir: dir,
        })
    }

    /// Port clients dial (the TLS front's port under TLS).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// sipp's own SIP port (differs from [`Sipp::port`] only under TLS).
    pub fn sipp_port(&self) -> u16 {
        self.sipp_port
    }

    /// Transport clients must use.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// `sip:{user}@127.0.0.1:{port}` (no transport parameter; the clients' `dial` adds it).
    pub fn uri(&self, user: &str) -> String {
        format!("sip:{user}@127.0.0.1:{}", self.port)
    }

    /// The sipp process (its output is the statistics screen).
    pub fn process(&self) -> &ChildGuard {
        &self.proc
    }

    /// The raw message log so far.
    pub fn message_log(&self) -> String {
        std::fs::read_to_string(&self.messages).unwrap_or_default()
    }

    /// Start lines of every message sipp received so far, e.g. `INVITE sip:… SIP/2.0`,
    /// `ACK …`, `BYE …`, `SIP/2.0 200 OK`.
    pub fn received(&self) -> Vec<String> {
        Self::start_lines(&self.message_log(), "message received")
    }

    /// Start lines of every message sipp sent so far.
    pub fn sent(&self) -> Vec<String> {
        Self::start_lines(&self.message_log(), "message sent")
    }

    fn start_lines(log: &str, marker: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = log.lines();
        while let Some(l) = lines.next() {
            if l.contains(marker)
                && let Some(first) = lines.by_ref().find(|x| !x.trim().is_empty())
            {
                out.push(first.trim().to_string());
            }
        }
        out
    }

    /// Methods of the requests received so far (`INVITE`, `ACK`, `BYE`, …).
    pub fn received_methods(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|l| !l.starts_with("SIP/2.0"))
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect()
    }

    /// Waits until a request with this method has been received.
    pub fn wait_for_request(&self, method: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.received_methods().iter().any(|m| m == method) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for sipp to exit by itself (after `calls` calls).
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        self.proc.wait_exit(timeout)
    }

    /// Waits for sipp to exit and fails unless it exited 0 (every call ran its whole
    /// scenario), with the message log in the error.
    pub fn wait_success(&self, timeout: Duration) -> Result<()> {
        match self.wait_exit(timeout) {
            Some(s) if s.success() => Ok(()),
            Some(s) => bail!(
                "sipp exited with {s} (a call did not follow the scenario); received: {:?}\n{}",
                self.received(),
                self.proc.log_tail(40)
            ),
            None => bail!(
                "sipp still running after {timeout:?}; received so far: {:?}",
                self.received()
            ),
        }
    }

    /// The TLS front, if any.
    pub fn tls_front(&self) -> Option<&ChildGuard> {
        self.front.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_scenarios_name_the_public_port_and_transport() {
        let x = scenario_xml(&SippScenario::Answer, Transport::Tls, 5071).expect("xml");
        assert!(
            x.contains("Contact: <sip:127.0.0.1:5071;transport=tls>"),
            "{x}"
        );
        let x = scenario_xml(
            &SippScenario::AnswerThenBye {
                after: Duration::from_millis(10),
            },
            Transport::Tcp,
            5072,
        )
        .expect("xml");
        assert!(
            x.contains("Via: SIP/2.0/TCP 127.0.0.1:5072;branch=[branch]"),
            "{x}"
        );
        let x = scenario_xml(&SippScenario::reject(404), Transport::Udp, 1).expect("xml");
        assert!(x.contains("SIP/2.0 404 Not Found"), "{x}");
        assert!(
            !x.contains("assign_to"),
            "unused variables make sipp refuse it"
        );
        assert!(scenario_xml(&SippScenario::BuiltinUas, Transport::Udp, 1).is_none());
    }
}
