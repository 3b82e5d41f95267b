//! The machine's free disk space and memory, checked against what a run needs before it starts
//! (a run whose outputs cannot fit fails in a second, not after writing 70 GB).

use spikegpu::model::estimate::Estimate;
use spikegpu::{Error, Result};
use std::path::Path;

/// Free bytes for an unprivileged writer on the file system that holds `path` (or its nearest
/// existing ancestor).
pub fn free_disk_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path;
    while !p.exists() {
        p = p.parent()?;
    }
    let mut c = p.as_os_str().as_bytes().to_vec();
    c.push(0);
    // SAFETY: a NUL-terminated path and a zeroed statvfs the call fills.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr().cast(), &mut s) != 0 {
            return None;
        }
        Some((s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
    }
}

/// Memory this process can still get, and what limits it: the least of the kernel's
/// `MemAvailable`, the cgroup's limit (containers, `systemd-run -p MemoryMax=`) less its use, and
/// the address-space limit (`ulimit -v`) less this process's size.
pub fn available_memory() -> Option<(u64, &'static str)> {
    let mut best: Option<(u64, &'static str)> = None;
    let mut take = |bytes: Option<u64>, what: &'static str| {
        if let Some(b) = bytes {
            if best.is_none_or(|(x, _)| b < x) {
                best = Some((b, what));
            }
        }
    };
    let kib = |text: &str, key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    take(meminfo.as_deref().and_then(|t| kib(t, "MemAvailable:")), "available memory (MemAvailable)");
    let read_u64 = |p: &str| std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse::<u64>().ok());
    if let (Some(max), Some(cur)) = (read_u64("/sys/fs/cgroup/memory.max"), read_u64("/sys/fs/cgroup/memory.current")) {
        take(Some(max.saturating_sub(cur)), "the cgroup's memory limit (memory.max)");
    }
    if let (Some(max), Some(cur)) =
        (read_u64("/sys/fs/cgroup/memory/memory.limit_in_bytes"), read_u64("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
    {
        if max < 1 << 60 {
            take(Some(max.saturating_sub(cur)), "the cgroup's memory limit (memory.limit_in_bytes)");
        }
    }
    // SAFETY: getrlimit fills the struct it is given.
    let rlim = unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        (libc::getrlimit(libc::RLIMIT_AS, &mut r) == 0).then_some(r.rlim_cur)
    };
    if let Some(lim) = rlim.filter(|&l| l != libc::RLIM_INFINITY) {
        let size = std::fs::read_to_string("/proc/self/status").ok().and_then(|t| kib(&t, "VmSize:")).unwrap_or(0);
        take(Some(lim.saturating_sub(size)), "the address-space limit (ulimit -v)");
    }
    best
}

fn mb(b: u64) -> String {
    if b >= 10_000_000_000 {
        format!("{:.0} GB", b as f64 / 1e9)
    } else if b >= 1_000_000_000 {
        format!("{:.1} GB", b as f64 / 1e9)
    } else {
        format!("{:.1} MB", b as f64 / 1e6)
    }
}

/// Disk and memory for a run of `e` into `dest_parent`: the dense monitors' files (plus two
/// checkpoints when checkpointing), and the host memory of [`Estimate::host_peak_bytes`] plus
/// what `--plot` keeps. Errors name the resource, the largest consumers and both sizes.
pub fn check(e: &Estimate, dest_parent: &Path, chunk: usize, plot_bytes: u64, checkpointing: bool) -> Result<()> {
    check_disk(e, dest_parent, checkpointing)?;
    check_memory(e, chunk, plot_bytes)
}

/// The disk half of [`check`].
pub fn check_disk(e: &Estimate, dest_parent: &Path, checkpointing: bool) -> Result<()> {
    let outputs = e.output_bytes();
    let checkpoints = if checkpointing { 2 * e.state_bytes() } else { 0 };
    let disk = outputs.saturating_add(checkpoints);
    if let Some(free) = free_disk_bytes(dest_parent) {
        if disk > free {
            let mut largest: Vec<(u64, &str)> = e.monitors.iter().filter_map(|m| Some((m.bytes()?, m.name.as_str()))).collect();
            largest.sort_by_key(|x| std::cmp::Reverse(x.0));
            let named: Vec<String> = largest.iter().take(3).map(|(b, n)| format!("{n}.npy {}", mb(*b))).collect();
            return Err(Error::ResourceLimit {
                what: format!(
                    "disk space at {} for the outputs ({}{}; record fewer neurons or steps with a monitor's \"neurons\" and \"every\")",
                    dest_parent.display(),
                    named.join(", "),
                    if checkpointing { format!(", checkpoints {}", mb(checkpoints)) } else { String::new() }
                ),
                requested: disk,
                available: free,
            });
        }
    }
    Ok(())
}

/// The memory half of [`check`].
pub fn check_memory(e: &Estimate, chunk: usize, plot_bytes: u64) -> Result<()> {
    let need = e.host_peak_bytes(chunk).saturating_add(plot_bytes);
    if let Some((avail, what)) = available_memory() {
        if need > avail {
            let mut parts: Vec<(u64, String)> =
                e.projections.iter().map(|p| (Estimate::connectivity_bytes_of(p), format!("projection \"{}\" {}", p.name, mb(Estimate::connectivity_bytes_of(p))))).collect();
            parts.push((e.state_bytes(), format!("state {}", mb(e.state_bytes()))));
            if plot_bytes > 0 {
                parts.push((plot_bytes, format!("--plot {}", mb(plot_bytes))));
            }
            parts.sort_by_key(|x| std::cmp::Reverse(x.0));
            let named: Vec<String> = parts.into_iter().take(3).map(|(_, s)| s).collect();
            return Err(Error::ResourceLimit {
                what: format!("host memory for the run, about {} ({}), more than {what}", mb(need), named.join(", ")),
                requested: need,
                available: avail,
            });
        }
    }
    Ok(())
}
