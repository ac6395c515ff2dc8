//! Printing answers: the server's JSON, or aligned text.

use serde_json::Value;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum OutputFormat {
    /// Aligned human-readable text.
    #[default]
    Table,
    /// The server's JSON, pretty-printed.
    Json,
}

/// Prints the server's JSON (pretty) in json mode, or what `table` renders otherwise.
/// Nothing is printed for an empty (204) answer in json mode.
pub(crate) fn emit(out: OutputFormat, v: &Value, table: impl FnOnce(&Value) -> String) {
    match out {
        OutputFormat::Json => {
            if !v.is_null() {
                println!("{}", pretty(v));
            }
        }
        OutputFormat::Table => {
            let s = table(v);
            if !s.is_empty() {
                print!("{s}");
                if !s.ends_with('\n') {
                    println!();
                }
            }
        }
    }
}

pub(crate) fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// A cell: strings bare, lists `;`-joined (as typed), null as `-`, objects as compact JSON.
pub(crate) fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(a)) if a.is_empty() => "-".into(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| cell(Some(x)))
            .collect::<Vec<_>>()
            .join(";"),
        Some(o @ Value::Object(_)) => o.to_string(),
    }
}

/// The string at `path` (`a.b.c`) or `-`.
pub(crate) fn at(v: &Value, path: &str) -> String {
    cell(get(v, path))
}

pub(crate) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| cur.get(k))
}

/// Aligned columns separated by two spaces; the header is uppercase. No trailing spaces.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let mut s = String::new();
        for (i, c) in cells.enumerate().take(cols) {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(&c);
            let pad = width[i].saturating_sub(c.chars().count());
            s.extend(std::iter::repeat_n(' ', pad));
        }
        let mut s = s.trim_end().to_string();
        s.push('\n');
        s
    };
    let mut out = line(&mut headers.iter().map(|h| h.to_uppercase()));
    for r in rows {
        out.push_str(&line(&mut r.iter().cloned()));
    }
    out
}

/// A table of a list of objects: one column per `(header, path)`.
pub(crate) fn list(v: &Value, columns: &[(&str, &str)]) -> String {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    if items.is_empty() {
        return "(none)\n".into();
    }
    let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|it| columns.iter().map(|(_, p)| at(it, p)).collect())
        .collect();
    table(&headers, &rows)
}

/// `key: value` lines, keys aligned. Pairs whose value is `None` are left out.
pub(crate) fn kv(pairs: &[(&str, Option<String>)]) -> String {
    let w = pairs
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            let pad = w - k.chars().count();
            out.push_str(&format!("{k}:{} {v}\n", " ".repeat(pad)));
        }
    }
    out
}

/// An object of unknown shape as `key: value` lines, nested objects flattened to dotted
/// keys (`call.client`), fields in the server's order.
pub(crate) fn object(v: &Value) -> String {
    match v {
        Value::Object(_) => {
            let mut flat = Vec::new();
            flatten("", v, &mut flat);
            let pairs: Vec<(&str, Option<String>)> = flat
                .iter()
                .map(|(k, x)| (k.as_str(), Some(x.clone())))
                .collect();
            kv(&pairs)
        }
        Value::Array(a) => generic_list(a),
        Value::Null => String::new(),
        other => format!("{}\n", cell(Some(other))),
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        other => out.push((prefix.to_string(), cell(Some(other)))),
    }
}

/// A table of objects of unknown shape: the columns are the first item's fields.
pub(crate) fn generic_list(a: &[Value]) -> String {
    let Some(Value::Object(first)) = a.first() else {
        return if a.is_empty() {
            "(none)\n".into()
        } else {
            a.iter().map(|x| format!("{}\n", cell(Some(x)))).collect()
        };
    };
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = a
        .iter()
        .map(|it| keys.iter().map(|k| cell(it.get(*k))).collect())
        .collect();
    table(&keys, &rows)
}
