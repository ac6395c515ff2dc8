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

/// Columns shown first when present; the others follow in the server's order.
const PREFERRED: [&str; 8] = [
    "at",
    "timestamp",
    "time",
    "actor",
    "action",
    "tenantId",
    "target",
    "detail",
];

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
    let Some(Value::Object(first)) = items.first() else {
        return output::generic_list(items);
    };
    let mut keys: Vec<&str> = PREFERRED
        .iter()
        .copied()
        .filter(|k| first.contains_key(*k))
        .collect();
    keys.extend(
        first
            .keys()
            .map(String::as_str)
            .filter(|k| !PREFERRED.contains(k)),
    );
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|it| keys.iter().map(|k| output::cell(it.get(*k))).collect())
        .collect();
    output::table(&keys, &rows)
}
