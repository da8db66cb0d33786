//! CPU time a scenario cost: this process's own, and the whole machine's
//! (PostgreSQL, the benchmark and anything else running), from Linux's
//! `/proc` counters in clock ticks.
//!
//! On a machine whose speed moves with its neighbours, CPU per job is the
//! steadier figure to compare two builds by: a change that makes the drain
//! cheaper shows there even when the wall-clock rate is lost in the noise.
//! Ticks are of `USER_HZ` (100 per second on Linux), so a drain should last a
//! second or more for the figure to mean much.

use serde::Serialize;

/// Clock ticks per second of `/proc`'s counters (Linux's `USER_HZ`).
const TICKS_PER_SEC: f64 = 100.0;

/// CPU spent per job over a scenario.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuCost {
    /// This process (the benchmark's clients), µs of CPU per job.
    pub client_us_per_job: f64,
    /// Every core of the machine, busy µs per job (the database included).
    pub machine_us_per_job: f64,
}

/// The counters at one instant (`None` off Linux).
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    process_ticks: u64,
    machine_busy_ticks: u64,
}

impl CpuClock {
    /// Reads the counters now.
    pub fn now() -> Option<CpuClock> {
        Some(CpuClock {
            process_ticks: process_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)?,
            machine_busy_ticks: machine_busy_ticks(&std::fs::read_to_string("/proc/stat").ok()?)?,
        })
    }

    /// What the `jobs` done since `self` cost.
    pub fn since(self, jobs: u32) -> Option<CpuCost> {
        let now = CpuClock::now()?;
        let per_job = |ticks: u64| ticks as f64 / TICKS_PER_SEC * 1e6 / f64::from(jobs.max(1));
        Some(CpuCost {
            client_us_per_job: per_job(now.process_ticks.saturating_sub(self.process_ticks)),
            machine_us_per_job: per_job(
                now.machine_busy_ticks
                    .saturating_sub(self.machine_busy_ticks),
            ),
        })
    }
}

/// User plus system ticks of a process, from its `/proc/PID/stat` line (the
/// 14th and 15th fields, counted after the command name, which may hold
/// spaces and parentheses).
fn process_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Busy ticks of all cores, from `/proc/stat`'s first line: user, nice,
/// system, irq and softirq (not idle, I/O wait, or time a hypervisor stole).
fn machine_busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().next()?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let busy = [0, 1, 2, 5, 6]
        .iter()
        .map(|&i| ticks.get(i))
        .sum::<Option<u64>>()?;
    Some(busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_process_line_whose_name_has_spaces_and_parentheses() {
        let line = "4242 (tokio (rt) w) S 1 2 3 4 5 6 7 8 9 10 120 35 0 0 20 0 9 0";
        assert_eq!(process_ticks(line), Some(155));
        assert_eq!(process_ticks("garbage"), None);
    }

    #[test]
    fn machine_busy_leaves_out_idle_iowait_and_steal() {
        let stat = "cpu  100 5 50 1000 20 3 2 7 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n";
        assert_eq!(machine_busy_ticks(stat), Some(100 + 5 + 50 + 3 + 2));
        assert_eq!(machine_busy_ticks("cpu x"), None);
    }

    #[test]
    fn burning_cpu_moves_this_process_and_the_machine_counters() {
        let before = CpuClock::now().expect("/proc is readable on Linux");
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut x = 0u64;
        let cost = loop {
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            let cost = before.since(1).expect("counters");
            if cost.client_us_per_job > 0.0 || std::time::Instant::now() > give_up {
                break cost;
            }
        };
        std::hint::black_box(x);
        assert!(cost.client_us_per_job >= 10_000.0, "{cost:?}");
        assert!(cost.machine_us_per_job > 0.0, "{cost:?}");
    }
}
