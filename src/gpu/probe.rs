//! What the device can do, measured: the ceiling a memory-bound step is compared against.
//! A buffer-to-buffer copy of `bytes` moves `2 * bytes` through device memory; timed with
//! timestamp queries when the adapter has them (else host time around the submission).

use super::GpuContext;
use crate::error::{Error, Result};

/// A copy-bandwidth measurement.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CopyBandwidth {
    /// Bytes copied per repetition.
    pub bytes: u64,
    /// Repetitions timed (after one warm-up).
    pub repeats: u32,
    /// Device memory traffic per second (read + write), GB/s, the best repetition.
    pub gb_per_s: f64,
    /// Whether the time came from the GPU's timestamps (else from the host).
    pub timestamps: bool,
}

/// Copies `bytes` between two device buffers `repeats` times and reports the best rate.
pub fn copy_bandwidth(ctx: &GpuContext, bytes: u64, repeats: u32) -> Result<CopyBandwidth> {
    let bytes = bytes.min(ctx.max_buffer_size() / 2).next_multiple_of(4);
    ctx.check_buffer_size("bandwidth probe", bytes)?;
    let mk = |label| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let (a, b) = (mk("probe a"), mk("probe b"));
    // a timestamp either side of a copy needs timestamps inside encoders
    let timestamps = ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);
    let set = timestamps.then(|| ctx.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("probe"), ty: wgpu::QueryType::Timestamp, count: 2 }));
    let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("probe timestamps"),
        size: 16,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut best = f64::INFINITY;
    for r in 0..=repeats {
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        if let Some(set) = &set {
            enc.write_timestamp(set, 0);
        }
        enc.copy_buffer_to_buffer(&a, 0, &b, 0, bytes);
        if let Some(set) = &set {
            enc.write_timestamp(set, 1);
            enc.resolve_query_set(set, 0..2, &resolve, 0);
        }
        let t0 = std::time::Instant::now();
        ctx.queue.submit([enc.finish()]);
        ctx.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| Error::Gpu(format!("bandwidth probe: {e}")))?;
        let host = t0.elapsed().as_secs_f64();
        let secs = if timestamps {
            let t: Vec<u64> = ctx.read_vec(&resolve, 0, 2)?;
            t[1].saturating_sub(t[0]) as f64 * ctx.queue.get_timestamp_period() as f64 * 1e-9
        } else {
            host
        };
        if r > 0 && secs > 0.0 {
            best = best.min(secs);
        }
    }
    ctx.take_errors()?;
    Ok(CopyBandwidth { bytes, repeats, gb_per_s: 2.0 * bytes as f64 / best / 1e9, timestamps })
}
