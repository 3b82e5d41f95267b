//! `spikegpu validate`: what a network file holds and what a run of it needs.

use spikegpu::model::file;
use spikegpu::plan::{Plan, UpdateMode};
use spikegpu::Result;
use std::path::Path;

pub(crate) fn validate(path: &Path) -> Result<()> {
    let net = file::load(path)?;
    println!("{}: valid", path.display());
    println!("dt {} ms, {} steps ({} ms), batch {}", net.dt, net.steps, net.steps as f64 * net.dt, net.batch);
    for p in &net.populations {
        println!("population {:<12} {:<12} {} neurons", p.name, p.model_name(), p.size);
    }
    for p in &net.projections {
        let delay = match p.delay_ms {
            Some(d) => format!("delay {d} ms"),
            None => "no delay".into(),
        };
        println!(
            "projection {:<12} {} -> {}, {} aligned {}, {} synapses, {delay}, {} output",
            p.name,
            net.populations[p.pre].name,
            net.populations[p.post].name,
            p.synapse.model_name(),
            match p.align {
                spikegpu::model::Align::Pre => "pre",
                spikegpu::model::Align::Post => "post",
            },
            p.conn.nnz(),
            p.output.model_name()
        );
    }
    let plan = Plan::new(&net, UpdateMode::Dense)?;
    let mut monitor_row = 0u64;
    for m in &plan.monitors {
        match m.format {
            spikegpu::model::MonitorFormat::Dense => println!("monitor {:<12} {} {:?}", m.name, m.target, m.shape()),
            spikegpu::model::MonitorFormat::Events => {
                let cols = if net.batch > 1 { "3: step, batch row, neuron" } else { "2: step, neuron" };
                println!("monitor {:<12} {} [spikes, {cols}]", m.name, m.target)
            }
        }
        monitor_row += m.row_bytes();
    }
    let state = plan.state_bytes();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("synapses: {}", net.synapse_count());
    println!(
        "memory: CPU engine about {:.1} MiB (state and connectivity); \
         GPU engine about {:.1} MiB of GPU memory plus {:.1} MiB of monitor buffers per 1000-step chunk (x3: device and two staging buffers)",
        mib(state),
        mib(state),
        mib(monitor_row * 1000)
    );
    println!("outputs: {:.1} MiB of .npy files", mib(plan.monitors.iter().map(|m| m.output_bytes()).sum()));
    Ok(())
}

