//! Process CPU time (`getrusage`) and wall time around a piece of work.

use std::time::{Duration, Instant};

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// User + system CPU time of `who` (`libc::RUSAGE_SELF` or `libc::RUSAGE_CHILDREN`), and its peak RSS in KiB.
pub fn usage(who: libc::c_int) -> (Duration, u64) {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    (timeval(ru.ru_utime) + timeval(ru.ru_stime), ru.ru_maxrss as u64)
}

/// CPU time this process has used so far, every thread included.
pub fn process_cpu() -> Duration {
    usage(libc::RUSAGE_SELF).0
}

/// Wall and CPU time of a stretch of work.
#[derive(Debug, Clone, Copy)]
pub struct Meter {
    wall: Instant,
    cpu: Duration,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Measured {
    pub wall_s: f64,
    pub cpu_s: f64,
}

impl Meter {
    pub fn start() -> Meter {
        Meter { wall: Instant::now(), cpu: process_cpu() }
    }

    pub fn stop(self) -> Measured {
        let wall = self.wall.elapsed();
        let cpu = process_cpu().saturating_sub(self.cpu);
        Measured { wall_s: wall.as_secs_f64(), cpu_s: cpu.as_secs_f64() }
    }
}

/// What `wait4` reports about a child that ended: CPU time and peak RSS (KiB).
#[derive(Debug, Clone, Copy)]
pub struct ChildUsage {
    pub cpu: Duration,
    pub max_rss_kib: u64,
}

/// Reaps child `pid` and returns its resource usage.
pub fn wait_child(pid: u32) -> Option<ChildUsage> {
    let mut status = 0;
    // SAFETY: as above; wait4 writes into `status` and `ru`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
    (rc == pid as libc::pid_t)
        .then(|| ChildUsage { cpu: timeval(ru.ru_utime) + timeval(ru.ru_stime), max_rss_kib: ru.ru_maxrss as u64 })
}

/// `VmHWM` (peak resident set) and `VmRSS` of a live process, in KiB, from /proc.
pub fn proc_memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}
