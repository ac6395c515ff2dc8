//! VTC coordinates of a meeting and the invite block ("Join with a video conferencing device").

use crate::model::{Provider, TenantKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinInformation {
    pub text: String,
    pub html: String,
}

/// What an invite shows a VTC user, for one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Coordinates {
    pub provider: String,
    pub tenant_key: String,
    pub video_teleconference_id: String,
    /// `key@domain`: the IVR, which asks for the conference ID.
    pub ivr_dial_string: String,
    /// `key.conf@domain` and `conf.key@domain`: straight into the meeting.
    pub direct_dial_strings: Vec<String>,
    /// The provider's alternate dialing instructions, with `key` and `conf` filled in.
    pub instruction_link: Option<String>,
    pub join_information: JoinInformation,
}

/// The coordinates of a meeting whose VTC conference ID is `vtc_id`, through `provider`.
pub fn coordinates(provider: &Provider, vtc_id: &str) -> Coordinates {
    let key = TenantKey::parse(&provider.tenant_key);
    let (local, domain) = match &key {
        Ok(k) => (k.local().to_string(), k.domain().to_string()),
        // Providers are validated on write; fall back to the raw string if one is not.
        Err(_) => match provider.tenant_key.split_once('@') {
            Some((l, d)) => (l.to_string(), d.to_string()),
            None => (provider.tenant_key.clone(), String::new()),
        },
    };
    let tenant_key = format!("{local}@{domain}");
    let instruction_link = provider.instruction_uri.as_ref().map(|u| {
        let sep = if u.contains('?') { '&' } else { '?' };
        format!("{u}{sep}key={local}&conf={vtc_id}")
    });
    let mut text = format!(
        "Join with a video conferencing device\n{tenant_key} VTC Conference ID: {vtc_id}\n"
    );
    let mut html = format!(
        "<div class=\"vtc-join\"><p><strong>Join with a video conferencing device</strong></p>\
         <p>{} VTC Conference ID: {}</p>",
        escape(&tenant_key),
        escape(vtc_id)
    );
    if let Some(link) = &instruction_link {
        text.push_str(&format!("Alternate VTC dialing instructions <{link}>\n"));
        html.push_str(&format!(
            "<p><a href=\"{0}\">Alternate VTC dialing instructions</a></p>",
            escape(link)
        ));
    }
    html.push_str("</div>");
    Coordinates {
        provider: provider.identity.clone(),
        ivr_dial_string: tenant_key.clone(),
        direct_dial_strings: vec![
            format!("{local}.{vtc_id}@{domain}"),
            format!("{vtc_id}.{local}@{domain}"),
        ],
        tenant_key,
        video_teleconference_id: vtc_id.to_string(),
        instruction_link,
        join_information: JoinInformation { text, html },
    }
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn invite_block_has_the_documented_shape() {
        let p = Provider {
            tenant_id: Uuid::nil(),
            identity: "Polycom".into(),
            tenant_key: "813878896@t.plcm.vc".into(),
            aad_application_ids: vec![],
            instruction_uri: Some("https://dialin.plcm.vc/teams/".into()),
            allow_app_guest_joins_as_authenticated: false,
            language: "en".into(),
        };
        let c = coordinates(&p, "0179206841");
        assert_eq!(
            c.join_information.text,
            "Join with a video conferencing device\n\
             813878896@t.plcm.vc VTC Conference ID: 0179206841\n\
             Alternate VTC dialing instructions <https://dialin.plcm.vc/teams/?key=813878896&conf=0179206841>\n"
        );
        assert!(
            c.join_information
                .html
                .contains("key=813878896&amp;conf=0179206841")
        );
        assert_eq!(
            c.direct_dial_strings,
            [
                "813878896.0179206841@t.plcm.vc",
                "0179206841.813878896@t.plcm.vc"
            ]
        );
        assert_eq!(c.ivr_dial_string, "813878896@t.plcm.vc");
    }

    #[test]
    fn existing_query_and_no_instruction_uri() {
        let mut p = Provider {
            tenant_id: Uuid::nil(),
            identity: "X".into(),
            tenant_key: "k@x.com".into(),
            aad_application_ids: vec![],
            instruction_uri: Some("https://x.com/i?lang=en".into()),
            allow_app_guest_joins_as_authenticated: false,
            language: "en".into(),
        };
        assert_eq!(
            coordinates(&p, "1").instruction_link.as_deref(),
            Some("https://x.com/i?lang=en&key=k&conf=1")
        );
        p.instruction_uri = None;
        let c = coordinates(&p, "1");
        assert!(c.instruction_link.is_none());
        assert!(!c.join_information.text.contains("Alternate"));
    }
}
