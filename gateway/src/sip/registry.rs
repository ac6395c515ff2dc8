//! Live calls (for `GET /api/v1/calls`, hang-up, capacity) and SIP metrics.

use super::call::CallInput;
use super::media::MediaStats;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum CallState {
    Deciding,
    Ivr,
    Lobby,
    Connected,
    Ending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum DialMethod {
    Ivr,
    Direct,
    /// A room system that the meeting invited (its From URI is an invited room).
    OneTouch,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamInfo {
    pub kind: String,
    pub codec: String,
    pub local_port: u16,
    pub remote: Option<String>,
    pub direction: String,
    pub srtp: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallInfo {
    pub call_id: String,
    pub state: CallState,
    pub dial_method: Option<DialMethod>,
    pub tenant_id: Option<Uuid>,
    pub meeting_id: Option<Uuid>,
    pub provider: Option<String>,
    pub caller: String,
    pub transport: String,
    pub source: String,
    pub streams: Vec<StreamInfo>,
    /// Packet counts, latching, decoding, slate and prompt of the SIP leg (every second).
    pub media: Option<MediaStats>,
    pub started_at: DateTime<Utc>,
}

struct Entry {
    info: CallInfo,
    tx: mpsc::Sender<CallInput>,
}

/// Counters exposed at `/metrics` (Prometheus text format).
#[derive(Default)]
pub(crate) struct Metrics {
    pub attempts: AtomicU64,
    pub answered: AtomicU64,
    pub rejected: Mutex<BTreeMap<(u16, String), u64>>,
    pub parse_errors: AtomicU64,
    pub invalid_requests: AtomicU64,
    pub options: AtomicU64,
    pub cancelled: AtomicU64,
    pub overload_drops: AtomicU64,
    pub ivr_failed_attempts: AtomicU64,
    pub ivr_blocked_calls: AtomicU64,
}

#[derive(Default)]
pub(crate) struct Registry {
    calls: Mutex<HashMap<String, Entry>>,
    pub metrics: Metrics,
}

impl Registry {
    pub(crate) fn insert(&self, info: CallInfo, tx: mpsc::Sender<CallInput>) {
        if let Ok(mut m) = self.calls.lock() {
            m.insert(info.call_id.clone(), Entry { info, tx });
        }
    }

    pub(crate) fn update(&self, call_id: &str, f: impl FnOnce(&mut CallInfo)) {
        if let Ok(mut m) = self.calls.lock()
            && let Some(e) = m.get_mut(call_id)
        {
            f(&mut e.info);
        }
    }

    pub(crate) fn remove(&self, call_id: &str) {
        if let Ok(mut m) = self.calls.lock() {
            m.remove(call_id);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.calls.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub(crate) fn list(&self) -> Vec<CallInfo> {
        let mut v: Vec<CallInfo> = self
            .calls
            .lock()
            .map(|m| m.values().map(|e| e.info.clone()).collect())
            .unwrap_or_default();
        v.sort_by_key(|c| c.started_at);
        v
    }

    pub(crate) fn get(&self, call_id: &str) -> Option<CallInfo> {
        self.calls.lock().ok()?.get(call_id).map(|e| e.info.clone())
    }

    /// Asks the call to hang up. False when there is no such call.
    pub(crate) fn hangup(&self, call_id: &str) -> bool {
        self.send(call_id, CallInput::Hangup)
    }

    /// Passes an input to a call. False when there is no such call (or it is overloaded).
    pub(crate) fn send(&self, call_id: &str, input: CallInput) -> bool {
        let tx = self
            .calls
            .lock()
            .ok()
            .and_then(|m| m.get(call_id).map(|e| e.tx.clone()));
        match tx {
            Some(tx) => tx.try_send(input).is_ok(),
            None => false,
        }
    }

    pub(crate) fn count_reject(&self, status: u16, check: &str) {
        if let Ok(mut m) = self.metrics.rejected.lock() {
            *m.entry((status, check.to_string())).or_default() += 1;
        }
    }

    /// Prometheus text exposition.
    pub(crate) fn render_metrics(&self) -> String {
        let m = &self.metrics;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        };
        counter(
            "cvi_sip_call_attempts_total",
            "INVITEs that started a call attempt.",
            g(&m.attempts),
        );
        counter(
            "cvi_sip_calls_answered_total",
            "Calls answered with 200.",
            g(&m.answered),
        );
        counter(
            "cvi_sip_parse_errors_total",
            "Datagrams or stream data that did not parse as SIP.",
            g(&m.parse_errors),
        );
        counter(
            "cvi_sip_invalid_requests_total",
            "Requests refused with 400/416/483 before any transaction.",
            g(&m.invalid_requests),
        );
        counter(
            "cvi_sip_options_total",
            "Out-of-dialog OPTIONS answered.",
            g(&m.options),
        );
        counter(
            "cvi_sip_cancelled_total",
            "INVITEs cancelled before the answer.",
            g(&m.cancelled),
        );
        counter(
            "cvi_sip_overload_drops_total",
            "Datagrams dropped because the endpoint queue was full.",
            g(&m.overload_drops),
        );
        counter(
            "cvi_ivr_failed_attempts_total",
            "Conference IDs entered in the IVR that were wrong.",
            g(&m.ivr_failed_attempts),
        );
        counter(
            "cvi_ivr_blocked_calls_total",
            "IVR calls answered with try-again-later because their source failed too often.",
            g(&m.ivr_blocked_calls),
        );
        s.push_str("# HELP cvi_sip_calls_rejected_total Calls rejected, by status and failed check.\n# TYPE cvi_sip_calls_rejected_total counter\n");
        if let Ok(r) = m.rejected.lock() {
            for ((status, check), v) in r.iter() {
                s.push_str(&format!(
                    "cvi_sip_calls_rejected_total{{status=\"{status}\",check=\"{check}\"}} {v}\n"
                ));
            }
        }
        s.push_str(&format!("# HELP cvi_sip_active_calls Calls in progress.\n# TYPE cvi_sip_active_calls gauge\ncvi_sip_active_calls {}\n", self.len()));
        s
    }
}
