//! Header name canonicalization: compact forms expanded (RFC 3261 §7.3.3 and the IANA
//! registry), well-known names in their usual spelling; unknown names kept as received.

/// The canonical spelling of `name`, or `None` if it is not a header we know.
pub(super) fn canonical(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let c = match lower.as_str() {
        "i" | "call-id" => "Call-ID",
        "f" | "from" => "From",
        "t" | "to" => "To",
        "v" | "via" => "Via",
        "m" | "contact" => "Contact",
        "l" | "content-length" => "Content-Length",
        "c" | "content-type" => "Content-Type",
        "e" | "content-encoding" => "Content-Encoding",
        "k" | "supported" => "Supported",
        "s" | "subject" => "Subject",
        "o" | "event" => "Event",
        "r" | "refer-to" => "Refer-To",
        "b" | "referred-by" => "Referred-By",
        "x" | "session-expires" => "Session-Expires",
        "u" | "allow-events" => "Allow-Events",
        "a" | "accept-contact" => "Accept-Contact",
        "j" | "reject-contact" => "Reject-Contact",
        "d" | "request-disposition" => "Request-Disposition",
        "y" | "identity" => "Identity",
        "n" | "identity-info" => "Identity-Info",
        "cseq" => "CSeq",
        "rack" => "RAck",
        "rseq" => "RSeq",
        "www-authenticate" => "WWW-Authenticate",
        "mime-version" => "MIME-Version",
        "min-se" => "Min-SE",
        "sip-etag" => "SIP-ETag",
        "sip-if-match" => "SIP-If-Match",
        "p-asserted-identity" => "P-Asserted-Identity",
        "p-preferred-identity" => "P-Preferred-Identity",
        _ => return title_case_known(&lower),
    };
    Some(c)
}

/// Names whose canonical form is plain Title-Case.
const TITLE_CASE: &[&str] = &[
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "Call-Info",
    "Content-Disposition",
    "Content-Language",
    "Date",
    "Diversion",
    "Error-Info",
    "Expires",
    "History-Info",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "Organization",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Reason",
    "Record-Route",
    "Replaces",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Service-Route",
    "Subscription-State",
    "Timestamp",
    "Unsupported",
    "User-Agent",
    "Warning",
];

fn title_case_known(lower: &str) -> Option<&'static str> {
    TITLE_CASE
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(lower))
}
