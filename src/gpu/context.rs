//! The one place that talks to wgpu's setup API: picking an adapter, opening a device with the
//! adapter's real limits, turning wgpu's asynchronous/panicking error reporting into this
//! crate's [`Error`], and small helpers for buffers, shaders and readbacks.
//!
//! Keeping this in one file means the rest of the engine never has to know how wgpu 30 spells
//! adapter requests, error scopes or device polling.

use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use crate::error::{Error, Result};

/// Backends tried when `WGPU_BACKEND` is not set. GL is left out on purpose: its compute
/// support is limited and slow, so it should only be used when someone asks for it.
const DEFAULT_BACKENDS: wgpu::Backends = wgpu::Backends::VULKAN
    .union(wgpu::Backends::METAL)
    .union(wgpu::Backends::DX12);

/// What to tell a user who has no adapter at all.
const NO_ADAPTER_HINT: &str = "install a GPU driver, or Mesa's software Vulkan driver: \
     apt-get install mesa-vulkan-drivers libvulkan1";

/// The wgpu instance for the backends `WGPU_BACKEND` names (or the native ones).
fn instance() -> (wgpu::Instance, wgpu::Backends) {
    let backends = wgpu::Backends::from_env().unwrap_or(DEFAULT_BACKENDS);
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = backends;
    (wgpu::Instance::new(desc), backends)
}

/// Every adapter wgpu finds, with its limits (for `spikegpu devices`).
pub fn adapters() -> Vec<(wgpu::AdapterInfo, wgpu::Limits)> {
    let (instance, backends) = instance();
    pollster::block_on(instance.enumerate_adapters(backends)).iter().map(|a| (a.get_info(), a.limits())).collect()
}

/// An opened GPU device plus what we learned about it.
///
/// Holds the queue next to the device because every operation needs both, and keeps a record
/// of errors that wgpu reports asynchronously (uncaptured validation errors, device loss) so
/// callers can turn them into a [`Result`] at well-defined points instead of wgpu panicking.
pub struct GpuContext {
    /// The logical device; used to create every buffer, pipeline and command encoder.
    pub device: wgpu::Device,
    /// The device's only queue; all submissions and buffer writes go through it.
    pub queue: wgpu::Queue,
    /// Name, backend and driver of the adapter, kept for reports and diagnostics.
    pub adapter_info: wgpu::AdapterInfo,
    /// The limits the device was opened with (the adapter's own, not WebGPU's defaults), so
    /// sizing decisions can be made up front instead of failing in validation.
    pub limits: wgpu::Limits,
    /// The optional features the device was opened with (timestamp queries where the adapter has
    /// them).
    pub features: wgpu::Features,
    errors: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.adapter_info.name)
            .field("backend", &self.adapter_info.backend)
            .finish_non_exhaustive()
    }
}

/// Text for a wgpu error, including the lower-level cause where Display alone says too little
/// (out-of-memory errors only print "Out of Memory").
fn describe(err: &wgpu::Error) -> String {
    match err {
        wgpu::Error::OutOfMemory { source } => format!("out of GPU memory: {source}"),
        other => {
            let mut text = other.to_string();
            if text.trim().is_empty() {
                text = format!("{other:?}");
            }
            text.trim_end().to_string()
        }
    }
}

fn lock(errors: &Mutex<Vec<String>>) -> std::sync::MutexGuard<'_, Vec<String>> {
    // A poisoned lock only means a thread panicked while pushing a string; the data is fine.
    errors.lock().unwrap_or_else(|p| p.into_inner())
}

impl GpuContext {
    /// Opens a device on the best available adapter.
    ///
    /// Honors `WGPU_BACKEND` (e.g. `vulkan`, `gl`) and `WGPU_ADAPTER_NAME` (case-insensitive
    /// substring of the adapter name) so the same binary can be pointed at a specific GPU or
    /// at lavapipe without recompiling. Without them, Vulkan/Metal/DX12 are tried and the
    /// high-performance adapter wins. The device is opened with the adapter's real limits
    /// because WebGPU's defaults cap storage buffers far below what large networks need.
    pub fn new() -> Result<GpuContext> {
        let (instance, backends) = instance();
        let backend_note = match std::env::var("WGPU_BACKEND") {
            Ok(v) => format!("WGPU_BACKEND={v}"),
            Err(_) => format!("backends {backends:?}"),
        };

        let adapter = match std::env::var("WGPU_ADAPTER_NAME") {
            Ok(wanted) if !wanted.trim().is_empty() => {
                let adapters = pollster::block_on(instance.enumerate_adapters(backends));
                let needle = wanted.trim().to_lowercase();
                let names: Vec<String> = adapters
                    .iter()
                    .map(|a| {
                        let i = a.get_info();
                        format!("{} ({:?})", i.name, i.backend)
                    })
                    .collect();
                match adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&needle))
                {
                    Some(a) => a,
                    None if names.is_empty() => {
                        return Err(Error::NoAdapter(format!(
                            "no adapter at all ({backend_note}); {NO_ADAPTER_HINT}"
                        )))
                    }
                    None => {
                        return Err(Error::NoAdapter(format!(
                            "no adapter matches WGPU_ADAPTER_NAME={wanted:?} ({backend_note}); \
                             available: {}",
                            names.join(", ")
                        )))
                    }
                }
            }
            _ => pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                // Bucketing would hide the real limits; we want all of them.
                apply_limit_buckets: false,
            }))
            .map_err(|e| Error::NoAdapter(format!("{e} ({backend_note}); {NO_ADAPTER_HINT}")))?,
        };

        let adapter_info = adapter.get_info();
        let adapter_limits = adapter.limits();
        // timestamps, to report the GPU's own time per step, where the adapter has them
        let features = adapter.features() & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("spikegpu device"),
            required_features: features,
            required_limits: adapter_limits,
            ..Default::default()
        }))
        .map_err(|e| {
            Error::NoAdapter(format!(
                "adapter {} ({:?}) refused to open a device: {e}",
                adapter_info.name, adapter_info.backend
            ))
        })?;

        let errors: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            lock(&sink).push(describe(&e));
        }));
        let sink = Arc::clone(&errors);
        device.set_device_lost_callback(move |reason, msg| {
            // `Destroyed` is what we get when the device is dropped normally.
            if reason != wgpu::DeviceLostReason::Destroyed {
                lock(&sink).push(format!("device lost ({reason:?}): {msg}"));
            }
        });

        let limits = device.limits();
        Ok(GpuContext {
            device,
            queue,
            adapter_info,
            limits,
            features,
            errors,
        })
    }

    /// Turns errors wgpu reported asynchronously since the last call into an `Err`.
    ///
    /// wgpu reports most validation problems out of band; calling this after a submission
    /// (or at the end of a run) is how a bad dispatch becomes a visible failure instead of
    /// silently producing garbage. Clears the record.
    pub fn take_errors(&self) -> Result<()> {
        let taken = std::mem::take(&mut *lock(&self.errors));
        if taken.is_empty() {
            Ok(())
        } else {
            Err(Error::Gpu(taken.join("\n")))
        }
    }

    /// The backend's name (e.g. "Vulkan"), for reports: results from lavapipe and from a
    /// real GPU should be distinguishable.
    pub fn backend_name(&self) -> String {
        match self.adapter_info.backend {
            wgpu::Backend::Vulkan => "Vulkan".into(),
            wgpu::Backend::Metal => "Metal".into(),
            wgpu::Backend::Dx12 => "DX12".into(),
            wgpu::Backend::Gl => "GL".into(),
            wgpu::Backend::BrowserWebGpu => "WebGPU".into(),
            wgpu::Backend::Noop => "Noop".into(),
        }
    }

    /// Whether the adapter is a software renderer on the CPU (Mesa's lavapipe, WARP, ...):
    /// correct, but slower than the CPU engine.
    pub fn is_software(&self) -> bool {
        self.adapter_info.device_type == wgpu::DeviceType::Cpu
    }

    /// The driver and its version, for reports (`"llvmpipe: Mesa 22.3.6"`).
    pub fn driver(&self) -> String {
        format!("{} {}", self.adapter_info.driver, self.adapter_info.driver_info).trim().to_string()
    }

    /// The adapter's name (e.g. "llvmpipe (LLVM 15.0.7, 256 bits)"), for reports.
    pub fn adapter_name(&self) -> String {
        self.adapter_info.name.clone()
    }

    /// Largest storage buffer that can be bound at once; state arrays bigger than this must
    /// be split or bound in ranges.
    pub fn storage_binding_limit(&self) -> u64 {
        self.limits.max_storage_buffer_binding_size
    }

    /// Largest buffer the device can create at all.
    pub fn max_buffer_size(&self) -> u64 {
        self.limits.max_buffer_size
    }

    /// Fails with [`Error::ResourceLimit`] when a buffer of `size` bytes cannot be created,
    /// so callers get a readable message instead of a wgpu validation error or panic.
    pub fn check_buffer_size(&self, what: &str, size: u64) -> Result<()> {
        let available = self.max_buffer_size();
        if size > available {
            return Err(Error::ResourceLimit {
                what: format!("GPU buffer {what}"),
                requested: size,
                available,
            });
        }
        Ok(())
    }

    /// Fails with [`Error::ResourceLimit`] when `size` bytes cannot be bound as one storage
    /// buffer binding; for code that binds whole buffers.
    pub fn check_storage_binding(&self, what: &str, size: u64) -> Result<()> {
        let available = self.storage_binding_limit();
        if size > available {
            return Err(Error::ResourceLimit {
                what: format!("storage binding {what}"),
                requested: size,
                available,
            });
        }
        Ok(())
    }

    /// Creates an initialized storage buffer (also COPY_SRC | COPY_DST, plus `extra_usage`).
    ///
    /// Empty or unaligned data is padded with zeros to a multiple of 4 bytes (at least 4),
    /// because WGSL bindings of size zero are invalid and copies need 4-byte alignment; this
    /// lets callers pass e.g. an empty synapse list without special cases.
    pub fn storage_buffer(
        &self,
        label: &str,
        bytes: &[u8],
        extra_usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST
            | extra_usage;
        self.buffer_init(label, bytes, usage)
    }

    /// [`storage_buffer`](Self::storage_buffer) for typed data, so callers need not cast.
    pub fn storage_buffer_from<T: bytemuck::Pod>(
        &self,
        label: &str,
        data: &[T],
        extra_usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        self.storage_buffer(label, bytemuck::cast_slice(data), extra_usage)
    }

    /// A zero-filled storage buffer of `size` bytes (rounded up to a multiple of 4, at least
    /// 4) for outputs and scratch space; wgpu guarantees zero initialization, so no upload is
    /// needed.
    pub fn zeroed_storage_buffer(
        &self,
        label: &str,
        size: u64,
        extra_usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        let size = padded_size(size);
        self.check_buffer_size(label, size)?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST
                | extra_usage,
            mapped_at_creation: false,
        }))
    }

    /// A uniform buffer holding one `#[repr(C)]` value (also COPY_DST so it can be updated
    /// with `queue.write_buffer`). The caller is responsible for WGSL's uniform layout rules.
    pub fn uniform_buffer<T: bytemuck::Pod>(&self, label: &str, value: &T) -> Result<wgpu::Buffer> {
        self.buffer_init(
            label,
            bytemuck::bytes_of(value),
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// Creates a buffer with initial contents and arbitrary usage, padded like
    /// [`storage_buffer`](Self::storage_buffer), after checking the size limit.
    pub fn buffer_init(
        &self,
        label: &str,
        bytes: &[u8],
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        let size = padded_size(bytes.len() as u64);
        self.check_buffer_size(label, size)?;
        if size == bytes.len() as u64 {
            Ok(self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: bytes,
                    usage,
                }))
        } else {
            let mut padded = bytes.to_vec();
            padded.resize(size as usize, 0);
            Ok(self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: &padded,
                    usage,
                }))
        }
    }

    /// Copies `size` bytes starting at `offset` out of `buf` (which needs COPY_SRC) and
    /// returns them; blocks until the GPU is done.
    ///
    /// Meant for tests and small readbacks: it allocates a staging buffer per call. Offsets and
    /// sizes need not be 4-byte aligned; the copy is widened and trimmed internally.
    pub fn read_buffer(&self, buf: &wgpu::Buffer, offset: u64, size: u64) -> Result<Vec<u8>> {
        if size == 0 {
            return Ok(Vec::new());
        }
        let end = offset.saturating_add(size);
        if end > buf.size() {
            return Err(Error::Gpu(format!(
                "read_buffer: range {offset}..{end} is outside a buffer of {} bytes",
                buf.size()
            )));
        }
        if !buf.usage().contains(wgpu::BufferUsages::COPY_SRC) {
            return Err(Error::Gpu(
                "read_buffer: buffer was created without COPY_SRC".into(),
            ));
        }
        let align = wgpu::COPY_BUFFER_ALIGNMENT;
        let start = offset / align * align;
        let stop = end.div_ceil(align) * align;
        // A buffer's size is always a multiple of 4 once created through these helpers, but
        // not necessarily for buffers made elsewhere; never read past the end.
        let stop = stop.min(buf.size());
        let copy_len = stop - start;
        if !copy_len.is_multiple_of(align) {
            return Err(Error::Gpu(format!(
                "read_buffer: cannot copy {copy_len} bytes (not a multiple of {align})"
            )));
        }
        self.check_buffer_size("readback staging", copy_len)?;

        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("spikegpu readback staging"),
            size: copy_len,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        encoder.copy_buffer_to_buffer(buf, start, &staging, 0, copy_len);
        self.queue.submit(Some(encoder.finish()));

        let (sender, receiver) = futures_intrusive::channel::shared::oneshot_channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = sender.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("read_buffer: waiting for the GPU failed: {e}")))?;
        match pollster::block_on(receiver.receive()) {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                let recorded = lock(&self.errors).join("\n");
                return Err(Error::Gpu(format!(
                    "read_buffer: mapping failed: {e}. {recorded}"
                )));
            }
            None => return Err(Error::Gpu("read_buffer: mapping callback never ran".into())),
        }
        let bytes = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("read_buffer: {e}")))?;
            let lo = (offset - start) as usize;
            view[lo..lo + size as usize].to_vec()
        };
        staging.unmap();
        Ok(bytes)
    }

    /// [`read_buffer`](Self::read_buffer) for typed data; `count` is in elements, starting at
    /// element `first`.
    pub fn read_vec<T: bytemuck::Pod>(
        &self,
        buf: &wgpu::Buffer,
        first: u64,
        count: u64,
    ) -> Result<Vec<T>> {
        let elem = std::mem::size_of::<T>() as u64;
        let bytes = self.read_buffer(buf, first * elem, count * elem)?;
        // The Vec<u8> may not be aligned for T, so copy element-wise.
        Ok(bytes
            .chunks_exact(elem as usize)
            .map(bytemuck::pod_read_unaligned)
            .collect())
    }

    /// Compiles WGSL, returning a readable `Err` for invalid code instead of the panic or
    /// deferred uncaptured error wgpu would produce; the label names the shader in the message
    /// so generated-code bugs can be traced to their source.
    pub fn shader(&self, label: &str, wgsl_source: &str) -> Result<wgpu::ShaderModule> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(wgsl_source.into()),
            });
        match pollster::block_on(scope.pop()) {
            None => Ok(module),
            Some(e) => Err(Error::Gpu(format!("shader {label}: {}", describe(&e)))),
        }
    }
}

/// Rounds a byte count up to wgpu's copy alignment, with a minimum of one word.
fn padded_size(len: u64) -> u64 {
    len.max(1).div_ceil(wgpu::COPY_BUFFER_ALIGNMENT) * wgpu::COPY_BUFFER_ALIGNMENT
}
