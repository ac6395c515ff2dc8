//! `cvi audit`: the audit log, newest first.

use super::http::Api;
use super::output::{self, OutputFormat};
use serde_json::Value;
use std::process::ExitCode;

#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditArgs {
    /// Only this tenant's entries (GUID or name).
    #[arg(long)]
    tenant: Option<String>,
    /// At most this many entries.
    #[arg(long)]
    limit: Option<u32>,
}

/// The columns of the table; the JSON output has every field.
const COLUMNS: [(&str, &str); 6] = [
    ("at", "at"),
    ("actor", "actor"),
    ("action", "action"),
    ("tenant", "tenantId"),
    ("target", "target"),
    ("detail", "detail"),
];

/// Longest detail shown in the table.
const DETAIL_CHARS: usize = 100;

pub(crate) async fn run(api: &Api, out: OutputFormat, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let mut q: Vec<(&str, String)> = Vec::new();
    if let Some(t) = args.tenant {
        q.push(("tenant", t));
    }
    if let Some(l) = args.limit {
        q.push(("limit", l.to_string()));
    }
    let v = api.get(&["audit"], &q).await?;
    output::emit(out, &v, table);
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn table(v: &Value) -> String {
    let Some(items) = v.as_array() else {
        return output::object(v);
    };
    if items.is_empty() {
        return "(none)\n".into();
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|it| {
            COLUMNS
                .iter()
                .map(|(_, k)| {
                    let c = output::at(it, k);
                    if *k == "detail" && c.chars().count() > DETAIL_CHARS {
                        let mut s: String = c.chars().take(DETAIL_CHARS - 1).collect();
                        s.push('…');
                        s
                    } else {
                        c
                    }
                })
                .collect()
        })
        .collect();
    let headers: Vec<&str> = COLUMNS.iter().map(|(h, _)| *h).collect();
    output::table(&headers, &rows)
}
