//! BrainPy's `brainpy.dyn.AMPA` documentation example, built in Rust.
//!
//! One spike-time neuron fires at 10, 30, 50 and 70 ms; an AMPA synapse (COBA, E = 0 mV) drives
//! one `LifRef` neuron resting at -60 mV for 1000 steps of 0.1 ms. The example builds the network
//! with the builder, checks it equals `examples/ampa_seed.json`, runs it on the best engine
//! available, writes the traces as `.npy` (plus `summary.json`) into `out/ampa_seed/` and the
//! three-panel figure of BrainPy's docs (conductance, current, V) as `out/ampa_seed/figure.png`.
//!
//! ```text
//! cargo run --release --example ampa_seed
//! ```

use spikegpu::api::{self, BackendChoice};
use spikegpu::model::builder::{Conn, NetworkBuilder};
use spikegpu::model::{file, Coba, LifRef, Network, Synapse, VInit, Weights};
use spikegpu::output::{OutputDir, Summary};
use spikegpu::sim::{Chunk, RunStats};
use std::path::Path;

fn build() -> spikegpu::Result<Network> {
    let mut b = NetworkBuilder::new(0.1, 1000);
    let pre = b.spike_time_group("pre", 1, &[0, 0, 0, 0], &[10.0, 30.0, 50.0, 70.0]);
    let post = b.lif_ref(
        "post",
        1,
        LifRef { v_rest: -60.0, v_th: -50.0, v_reset: -60.0, tau: 20.0, tau_ref: 5.0, r: 1.0, v_init: VInit::Scalar(-60.0) },
    );
    let syn = b.projection("syn", pre, post, Synapse::ampa(), Conn::csr(vec![0, 1], vec![0]), Weights::Shared(1.0), Coba { e: 0.0 });
    b.monitor("g", syn.g());
    b.monitor("V", post.v());
    b.monitor("current", post.current());
    b.monitor("current_used", post.input());
    b.monitor("spike", post.spike());
    b.build()
}

fn main() -> spikegpu::Result<()> {
    let net = build()?;
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ampa_seed.json");
    let from_file = file::load(&json)?;
    assert_eq!(net, from_file, "the builder's network differs from the network file {}", json.display());

    let traces = api::run(&net, BackendChoice::Auto)?;

    // The same folder `spikegpu run` writes: one .npy per monitor, summary.json, figure.png.
    let out = Path::new("out/ampa_seed");
    let mut dir = OutputDir::create(out, &net)?;
    dir.write_chunk(&Chunk { start: 0, steps: net.steps, data: traces.data().to_vec() })?;
    let (g, current, v) = (traces.f32("g").unwrap(), traces.f32("current").unwrap(), traces.f32("V").unwrap());
    spikegpu::plot::write_seed_figure(&dir.tmp_path().join("figure.png"), net.dt_f32(), g, current, v)?;
    let stats = RunStats { spike_counts: traces.spike_counts().iter().map(|&(_, c)| c).collect() };
    dir.finish(&Summary::new(&net, net.synapse_count(), traces.backend.clone(), &stats, traces.wall_seconds))?;

    let (peak_step, peak_v) = v.iter().copied().enumerate().fold((0, f32::NEG_INFINITY), |a, (i, x)| if x > a.1 { (i, x) } else { a });
    println!("ran {} steps of {} ms on {} ({})", net.steps, net.dt, traces.backend.device, traces.backend.backend);
    println!("wrote {}/{{g,V,current,current_used,spike}}.npy, summary.json and figure.png", out.display());
    println!(
        "peak V {peak_v:.3} mV at {:.1} ms (BrainPy's figure: about -56.19 mV at 76.7 ms); post spikes: {}",
        net.time_of_step(peak_step),
        traces.spike_count("post").unwrap_or(0)
    );
    Ok(())
}
