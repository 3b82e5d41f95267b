//! `spikegpu devices`: the GPU adapters wgpu finds and the limits that matter.

use spikegpu::Result;

pub(crate) fn devices() -> Result<()> {
    let list = spikegpu::adapters();
    if list.is_empty() {
        println!("no GPU adapter found: install a GPU driver, or Mesa's software Vulkan driver (apt-get install mesa-vulkan-drivers libvulkan1)");
        println!("spikegpu run --backend auto falls back to the CPU engine");
        return Ok(());
    }
    for (info, limits) in list {
        let software = if info.device_type == wgpu::DeviceType::Cpu { "; software: --backend auto runs the CPU engine instead" } else { "" };
        println!("{} ({:?}, {:?}, driver {} {}{software})", info.name, info.backend, info.device_type, info.driver, info.driver_info);
        println!(
            "  max buffer {} MiB, max storage binding {} MiB, storage buffers per stage {}, workgroups per dimension {}",
            limits.max_buffer_size >> 20,
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_storage_buffers_per_shader_stage,
            limits.max_compute_workgroups_per_dimension
        );
    }
    Ok(())
}
