//! Latency samples, percentiles, outcome counters and process CPU time (from /proc).

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Latency samples per outcome ("INVITE→200", "BYE→200", …), in microseconds.
#[derive(Debug, Default)]
pub(crate) struct Latencies(BTreeMap<String, Vec<u64>>);

/// Percentiles of one outcome, in milliseconds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub outcome: String,
    pub n: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latencies {
    pub(crate) fn record(&mut self, outcome: &str, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        match self.0.get_mut(outcome) {
            Some(v) => v.push(us),
            None => {
                self.0.insert(outcome.to_string(), vec![us]);
            }
        }
    }

    pub(crate) fn summaries(&self) -> Vec<Summary> {
        self.0
            .iter()
            .map(|(k, v)| {
                let mut s = v.clone();
                s.sort_unstable();
                let ms = |us: u64| us as f64 / 1000.0;
                Summary {
                    outcome: k.clone(),
                    n: s.len(),
                    p50_ms: ms(percentile(&s, 0.50)),
                    p90_ms: ms(percentile(&s, 0.90)),
                    p99_ms: ms(percentile(&s, 0.99)),
                    max_ms: ms(s.last().copied().unwrap_or(0)),
                }
            })
            .collect()
    }
}

/// Nearest-rank percentile of sorted samples (0 for none).
pub(crate) fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    sorted.get(idx).copied().unwrap_or(0)
}

/// Named counters (kept sorted for stable output).
#[derive(Debug, Default, Clone, Serialize)]
#[serde(transparent)]
pub(crate) struct Counters(pub BTreeMap<String, u64>);

impl Counters {
    pub(crate) fn add(&mut self, name: &str, n: u64) {
        match self.0.get_mut(name) {
            Some(v) => *v += n,
            None => {
                self.0.insert(name.to_string(), n);
            }
        }
    }
    pub(crate) fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// Linux reports utime/stime in USER_HZ ticks, which is 100 on every architecture the
/// kernel exports to user space (sysconf(_SC_CLK_TCK)).
const USER_HZ: f64 = 100.0;

/// User + system CPU time of a process (all its threads) from `/proc/PID/stat`.
pub(crate) fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&stat)
}

/// utime and stime are fields 14 and 15; the command name (field 2) may hold spaces and
/// parentheses, so counting starts after the last `)`.
pub(crate) fn parse_stat_cpu(stat: &str) -> Option<Duration> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut f = rest.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) as f64 / USER_HZ))
}

/// CPU used by a process over a wall-clock interval.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CpuUse {
    pub seconds: f64,
    /// Of one core (top's convention: 150 = one and a half cores busy).
    pub percent_of_one_core: f64,
    /// Of all the machine's cores.
    pub percent_of_machine: f64,
}

impl CpuUse {
    pub(crate) fn new(used: Duration, wall: Duration, cores: usize) -> Self {
        let secs = used.as_secs_f64();
        let wall = wall.as_secs_f64().max(1e-9);
        let one = 100.0 * secs / wall;
        CpuUse {
            seconds: secs,
            percent_of_one_core: one,
            percent_of_machine: one / cores.max(1) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.9), 90);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn proc_stat_cpu_fields() {
        let s =
            "4242 (cvi (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat_cpu(s), Some(Duration::from_secs(3)));
        assert_eq!(parse_stat_cpu("garbage"), None);
        assert!(cpu_time("self").is_some());
    }

    #[test]
    fn latencies_summarise_per_outcome() {
        let mut l = Latencies::default();
        for ms in 1..=10 {
            l.record("INVITE→200", Duration::from_millis(ms));
        }
        l.record("BYE→200", Duration::from_micros(1500));
        let s = l.summaries();
        assert_eq!(s.len(), 2);
        let inv = s.iter().find(|s| s.outcome == "INVITE→200").expect("row");
        assert_eq!((inv.n, inv.p50_ms, inv.max_ms), (10, 5.0, 10.0));
    }
}
