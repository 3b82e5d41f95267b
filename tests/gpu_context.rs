//! Checks that a GPU device can be opened and runs WGSL correctly. On CI (or with
//! `SPIKEGPU_REQUIRE_GPU=1`) a missing GPU is a failure, never a skip.

mod common;

use spikegpu::GpuContext;

/// Opens the context, or returns `None` when there is no GPU and none is required (the one
/// policy of `common::engines`).
fn context_or_skip(test: &str) -> Option<GpuContext> {
    common::has_gpu(test).then(common::engines::gpu_context)
}

const DOUBLE_WGSL: &str = r#"
@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@group(0) @binding(1) var<uniform> n: vec4<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i < n.x) {
        data[i] = f32(i) * 2.0;
    }
}
"#;

#[test]
fn device_opens_and_runs_a_compute_shader() {
    let Some(ctx) = context_or_skip("device_opens_and_runs_a_compute_shader") else {
        return;
    };

    if std::env::var("WGPU_BACKEND")
        .map(|v| v.eq_ignore_ascii_case("vulkan"))
        .unwrap_or(false)
    {
        assert_eq!(
            ctx.backend_name(),
            "Vulkan",
            "WGPU_BACKEND=vulkan but got another backend"
        );
    }
    assert!(
        ctx.storage_binding_limit() >= 128 << 20,
        "device opened with tiny limits"
    );

    const N: u32 = 1000;
    // Poison with NaN so an element the shader did not write cannot pass by accident.
    let poison = vec![f32::NAN; N as usize];
    let data = ctx
        .storage_buffer_from("double.data", &poison, wgpu::BufferUsages::empty())
        .unwrap();
    let n = ctx.uniform_buffer("double.n", &[N, 0, 0, 0]).unwrap();

    let module = ctx.shader("double", DOUBLE_WGSL).unwrap();
    let pipeline = ctx
        .device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("double"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("double"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: data.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: n.as_entire_binding(),
            },
        ],
    });
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(N.div_ceil(64), 1, 1);
    }
    ctx.queue.submit(Some(encoder.finish()));

    let out: Vec<f32> = ctx.read_vec(&data, 0, N as u64).unwrap();
    for (i, v) in out.iter().enumerate() {
        assert_eq!(*v, i as f32 * 2.0, "element {i}");
    }
    // Unaligned partial readback: bytes 6..14 of the buffer.
    let bytes = ctx.read_buffer(&data, 6, 8).unwrap();
    let all: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(bytes, all[6..14]);

    ctx.take_errors().expect("no uncaptured GPU errors");
}

#[test]
fn invalid_wgsl_is_an_error_naming_the_shader() {
    let Some(ctx) = context_or_skip("invalid_wgsl_is_an_error_naming_the_shader") else {
        return;
    };
    let err = ctx
        .shader(
            "broken_kernel",
            "@compute @workgroup_size(64) fn main() { let x: f32 = ; }",
        )
        .expect_err("invalid WGSL must not compile");
    let msg = err.to_string();
    assert!(
        msg.contains("broken_kernel"),
        "message does not name the shader: {msg}"
    );
    // The error was captured by the scope, so nothing is left over.
    ctx.take_errors()
        .expect("shader error should not leak as uncaptured");
}

#[test]
fn oversized_buffer_is_a_resource_limit_error() {
    let Some(ctx) = context_or_skip("oversized_buffer_is_a_resource_limit_error") else {
        return;
    };
    let too_big = ctx.max_buffer_size().saturating_add(4);
    let err = ctx
        .zeroed_storage_buffer("huge", too_big, wgpu::BufferUsages::empty())
        .expect_err("a buffer over max_buffer_size must be refused");
    let dbg = format!("{err:?}");
    assert!(
        dbg.starts_with("ResourceLimit"),
        "expected ResourceLimit, got {dbg}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&ctx.max_buffer_size().to_string()), "{msg}");
    ctx.take_errors().unwrap();
}
