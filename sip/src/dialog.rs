//! RFC 3261 §12 dialogs: identity, route set, remote target, CSeq — and building in-dialog
//! requests (BYE, re-INVITE, INFO, UPDATE) and the ACK to a 2xx.

use crate::headers::{CSeq, NameAddr};
use crate::message::{Headers, Method, Request, Response, split_list};
use crate::transaction::new_branch;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    /// Our URI and their URI as they appear in From/To (without tags).
    pub local_uri: String,
    pub remote_uri: String,
    /// The remote target (their Contact URI).
    pub remote_target: String,
    /// Route set, in the order requests must carry it.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: Option<u32>,
    /// Our Contact header value.
    pub local_contact: String,
    pub secure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("missing or unreadable {0} header")]
    Header(&'static str),
    #[error("the remote party sent no tag")]
    NoTag,
}

fn name_addr(h: &Headers, name: &'static str) -> Result<NameAddr, DialogError> {
    h.get(name)
        .and_then(|v| NameAddr::parse(v).ok())
        .ok_or(DialogError::Header(name))
}

impl Dialog {
    /// The UAS side of a dialog created by `invite`, answered with our `local_tag`.
    pub fn uas(
        invite: &Request,
        local_tag: &str,
        local_contact: &str,
    ) -> Result<Dialog, DialogError> {
        let from = name_addr(&invite.headers, "From")?;
        let to = name_addr(&invite.headers, "To")?;
        let remote_tag = from.tag().ok_or(DialogError::NoTag)?.to_string();
        let contact = name_addr(&invite.headers, "Contact")?;
        let cseq = invite
            .headers
            .get("CSeq")
            .and_then(|c| CSeq::parse(c).ok())
            .ok_or(DialogError::Header("CSeq"))?;
        let call_id = invite
            .headers
            .get("Call-ID")
            .ok_or(DialogError::Header("Call-ID"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: call_id.to_string(),
                local_tag: local_tag.to_string(),
                remote_tag,
            },
            local_uri: to.uri.clone(),
            remote_uri: from.uri.clone(),
            remote_target: contact.uri,
            // UAS: Record-Route in the order received.
            route_set: invite.headers.values("Record-Route"),
            local_cseq: rand::random::<u16>() as u32 + 1,
            remote_cseq: Some(cseq.seq),
            local_contact: local_contact.to_string(),
            secure: invite.uri.to_ascii_lowercase().starts_with("sips:"),
        })
    }

    /// The UAC side, from our INVITE and the 2xx (or 1xx with tag) that answered it.
    pub fn uac(invite: &Request, resp: &Response) -> Result<Dialog, DialogError> {
        let from = name_addr(&invite.headers, "From")?;
        let to = name_addr(&resp.headers, "To")?;
        let contact = name_addr(&resp.headers, "Contact")?;
        let cseq = invite
            .headers
            .get("CSeq")
            .and_then(|c| CSeq::parse(c).ok())
            .ok_or(DialogError::Header("CSeq"))?;
        let mut route_set = resp.headers.values("Record-Route");
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: invite
                    .headers
                    .get("Call-ID")
                    .ok_or(DialogError::Header("Call-ID"))?
                    .to_string(),
                local_tag: from.tag().ok_or(DialogError::Header("From"))?.to_string(),
                remote_tag: to.tag().ok_or(DialogError::NoTag)?.to_string(),
            },
            local_uri: from.uri,
            remote_uri: to.uri,
            remote_target: contact.uri,
            route_set,
            local_cseq: cseq.seq,
            remote_cseq: None,
            local_contact: invite
                .headers
                .get("Contact")
                .unwrap_or_default()
                .to_string(),
            secure: invite.uri.to_ascii_lowercase().starts_with("sips:"),
        })
    }

    /// Does this in-dialog request belong to us? (Call-ID, their From tag = remote tag, their
    /// To tag = our local tag.)
    pub fn matches(&self, req: &Request) -> bool {
        let h = &req.headers;
        h.get("Call-ID") == Some(self.id.call_id.as_str())
            && name_addr(h, "From")
                .ok()
                .and_then(|f| f.tag().map(str::to_string))
                .as_deref()
                == Some(self.id.remote_tag.as_str())
            && name_addr(h, "To")
                .ok()
                .and_then(|t| t.tag().map(str::to_string))
                .as_deref()
                == Some(self.id.local_tag.as_str())
    }

    /// RFC 3261 §12.2.2: a request with a lower CSeq than the last one is out of order (500).
    /// Updates the remote CSeq and target refresh (Contact of re-INVITE/UPDATE).
    pub fn accept_remote(&mut self, req: &Request) -> Result<(), u16> {
        let cseq = req
            .headers
            .get("CSeq")
            .and_then(|c| CSeq::parse(c).ok())
            .ok_or(400u16)?;
        if req.method != Method::Ack && req.method != Method::Cancel {
            if let Some(last) = self.remote_cseq
                && cseq.seq <= last
            {
                return Err(500);
            }
            self.remote_cseq = Some(cseq.seq);
        }
        if matches!(req.method, Method::Invite | Method::Update)
            && let Some(c) = req
                .headers
                .get("Contact")
                .and_then(|c| NameAddr::parse(c).ok())
        {
            self.remote_target = c.uri;
        }
        Ok(())
    }

    /// Builds an in-dialog request (BYE, re-INVITE, INFO, UPDATE). `via` is the sent-by of
    /// this endpoint for the transport used (`SIP/2.0/UDP host:port`).
    pub fn request(&mut self, method: Method, via_sent_by: &str, transport: &str) -> Request {
        self.local_cseq += 1;
        self.build(
            method,
            self.local_cseq,
            via_sent_by,
            transport,
            &new_branch(),
        )
    }

    /// The ACK to a 2xx of our INVITE with CSeq number `seq` (a new branch, RFC 3261 §13.2.2.4).
    pub fn ack(&self, seq: u32, via_sent_by: &str, transport: &str) -> Request {
        let mut r = self.build(Method::Ack, seq, via_sent_by, transport, &new_branch());
        r.headers.set("CSeq", format!("{seq} ACK"));
        r
    }

    fn build(
        &self,
        method: Method,
        seq: u32,
        via_sent_by: &str,
        transport: &str,
        branch: &str,
    ) -> Request {
        // Loose routing (lr) is assumed: request-URI = remote target, Route = route set.
        // A strict router first in the set gets the request-URI and the target goes last.
        let first_strict = self.route_set.first().is_some_and(|r| {
            NameAddr::parse(r)
                .map(|na| !na.uri.contains(";lr"))
                .unwrap_or(false)
        });
        let (uri, routes) = if first_strict {
            let mut rs: Vec<String> = self.route_set.iter().skip(1).cloned().collect();
            rs.push(format!("<{}>", self.remote_target));
            let first = self
                .route_set
                .first()
                .and_then(|r| NameAddr::parse(r).ok())
                .map(|na| na.uri)
                .unwrap_or_else(|| self.remote_target.clone());
            (first, rs)
        } else {
            (self.remote_target.clone(), self.route_set.clone())
        };
        let mut h = Headers::new();
        h.push(
            "Via",
            format!("SIP/2.0/{transport} {via_sent_by};branch={branch};rport"),
        );
        h.push("Max-Forwards", "70");
        for r in routes {
            h.push("Route", r);
        }
        h.push(
            "From",
            format!("<{}>;tag={}", self.local_uri, self.id.local_tag),
        );
        h.push(
            "To",
            format!("<{}>;tag={}", self.remote_uri, self.id.remote_tag),
        );
        h.push("Call-ID", self.id.call_id.clone());
        h.push("CSeq", format!("{seq} {method}"));
        if !self.local_contact.is_empty() {
            h.push("Contact", self.local_contact.clone());
        }
        Request {
            method,
            uri,
            headers: h,
            body: Vec::new(),
        }
    }
}

/// The Record-Route entries of a request, for copying into responses (RFC 3261 §12.1.1).
pub fn record_route(req: &Request) -> Vec<String> {
    req.headers
        .get_all("Record-Route")
        .flat_map(split_list)
        .collect()
}

/// An out-of-dialog INVITE from the gateway (dial-out, one-touch): a fresh Call-ID, From
/// tag and branch. `body` is the SDP offer (may be empty for a late offer).
pub struct OutgoingInvite<'a> {
    pub target: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub contact: &'a str,
    pub via_sent_by: &'a str,
    pub transport: &'a str,
    pub sdp: &'a [u8],
}

impl OutgoingInvite<'_> {
    pub fn build(&self) -> Request {
        let mut h = Headers::new();
        h.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={};rport",
                self.transport,
                self.via_sent_by,
                new_branch()
            ),
        );
        h.push("Max-Forwards", "70");
        h.push(
            "From",
            format!("<{}>;tag={:016x}", self.from, rand::random::<u64>()),
        );
        h.push("To", format!("<{}>", self.to));
        h.push("Call-ID", format!("{:032x}@cvi", rand::random::<u128>()));
        h.push("CSeq", "1 INVITE");
        h.push("Contact", self.contact.to_string());
        h.push("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE");
        h.push("Supported", "timer");
        if !self.sdp.is_empty() {
            h.push("Content-Type", "application/sdp");
        }
        Request {
            method: Method::Invite,
            uri: self.target.to_string(),
            headers: h,
            body: self.sdp.to_vec(),
        }
    }
}
