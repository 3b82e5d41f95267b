//! BrainPy's `brainpy.dyn.AMPA` documentation example, built in Rust.
//!
//! One spike-time neuron fires at 10, 30, 50 and 70 ms; an AMPA synapse (COBA, E = 0 mV) drives
//! one `LifRef` neuron resting at -60 mV for 1000 steps of 0.1 ms. The example builds the network
//! with the builder, checks it equals `examples/ampa_seed.json`, runs it on the best engine
//! available (`api::open`: a hardware GPU, else the CPU engine), streams the traces as `.npy`
//! (plus `summary.json`) into `out/ampa_seed_rs/` chunk by chunk, and draws the three-panel figure
//! of BrainPy's docs (conductance, current, V) as `out/ampa_seed_rs/figure.png`.
//!
//! ```text
//! cargo run --release --example ampa_seed
//! ```

use spikegpu::api::{self, RunOptions};
use spikegpu::model::{file, Coba, Conn, LifRef, Network, NetworkBuilder, Synapse, VInit, Weights};
use spikegpu::runtime::output::{OutputDir, Summary};
use spikegpu::runtime::MonitorData;
use std::path::Path;
use std::time::Instant;

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
    assert_eq!(net, file::load(&json)?, "the builder's network differs from the network file {}", json.display());

    let opened = api::open(net, &RunOptions::default())?;
    for note in &opened.notes {
        eprintln!("notice: {note}");
    }
    let mut engine = opened.engine;
    // The folder `spikegpu run` writes: one .npy per monitor, summary.json, figure.png. The
    // monitors are also kept whole here, for the figure (three traces of 1000 values).
    let out = Path::new("out/ampa_seed_rs");
    let mut dir = OutputDir::create(out, &engine.plan().monitors, &[json.as_path()])?;
    let mut kept: Vec<MonitorData> = spikegpu::runtime::Chunk::new(&engine.plan().monitors, 0, 0).data;
    let start = Instant::now();
    let stats = engine.run(api::DEFAULT_CHUNK_STEPS, &mut |c| {
        dir.write_chunk(c)?;
        kept.iter_mut().zip(&c.data).for_each(|(a, b)| a.extend(b));
        Ok(())
    })?;
    let wall = start.elapsed().as_secs_f64();
    let plan = engine.plan();
    let trace = |name: &str| kept[plan.monitors.iter().position(|m| m.name == name).expect("monitor")].as_f32().expect("values").to_vec();
    let (g, current, v) = (trace("g"), trace("current"), trace("V"));
    spikegpu::runtime::plot::write_seed_figure(&dir.tmp_path().join("figure.png"), plan.dt, &g, &current, &v)?;
    let summary = Summary::new(plan, engine.describe(), &stats, wall);
    dir.finish(&summary)?;

    let (peak_step, peak_v) = v.iter().copied().enumerate().fold((0, f32::NEG_INFINITY), |a, (i, x)| if x > a.1 { (i, x) } else { a });
    println!("ran {} steps of {} ms on {} ({})", plan.steps, plan.dt_ms, summary.backend.device, summary.backend.backend);
    println!("wrote {}/{{g,V,current,current_used,spike}}.npy, summary.json and figure.png", out.display());
    println!(
        "peak V {peak_v:.3} mV at {:.1} ms (BrainPy's figure: about -56.19 mV at 76.7 ms); post spikes: {}",
        plan.time(peak_step),
        stats.spike_counts[1]
    );
    Ok(())
}
