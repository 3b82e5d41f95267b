//! `spikegpu probe`: the opened adapter, its limits and features, and its measured copy
//! bandwidth (the ceiling a memory-bound step is compared against), as one JSON object.

use spikegpu::{GpuContext, Result};

pub(crate) fn probe(mib: u64) -> Result<()> {
    let ctx = GpuContext::new()?;
    let bw = spikegpu::probe::copy_bandwidth(&ctx, mib << 20, 5)?;
    let l = &ctx.limits;
    let out = serde_json::json!({
        "adapter": ctx.adapter_name(),
        "backend": ctx.backend_name(),
        "driver": ctx.driver(),
        "software": ctx.is_software(),
        "device_type": format!("{:?}", ctx.adapter_info.device_type),
        "limits": {
            "max_buffer_size": l.max_buffer_size,
            "max_storage_buffer_binding_size": l.max_storage_buffer_binding_size,
            "max_storage_buffers_per_shader_stage": l.max_storage_buffers_per_shader_stage,
            "max_compute_workgroups_per_dimension": l.max_compute_workgroups_per_dimension,
            "max_compute_workgroup_storage_size": l.max_compute_workgroup_storage_size,
            "max_compute_invocations_per_workgroup": l.max_compute_invocations_per_workgroup,
        },
        "timestamps": ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY),
        "timestamp_period_ns": ctx.queue.get_timestamp_period(),
        "copy_bandwidth": bw,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(())
}
