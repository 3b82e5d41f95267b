//! The Potjans-Diesmann microcircuit at 10% (benches/networks/pd14_10pct.json: 7,717 neurons,
//! 29.9 million synapses with per-synapse delays, weights and connectivity drawn by the engine):
//! it builds from the file, its 64 projections' scatters run on both CPU threads (the engine
//! shares large runs of scatters out by accumulator) and the GPU engine gives the same bits; the
//! same with the Poisson background (pd14_10pct_poisson.json: a Poisson count per neuron and step
//! drawn by each engine).

mod common;

use common::*;
use spikegpu::model::file;
use spikegpu::{CpuEngine, ScatterThreads, UpdateMode};

#[test]
fn pd14_at_ten_percent_is_the_same_on_every_engine() {
    same_on_every_engine("pd14_10pct.json");
}

#[test]
fn pd14_at_ten_percent_with_poisson_drive_is_the_same_on_every_engine() {
    same_on_every_engine("pd14_10pct_poisson.json");
}

fn same_on_every_engine(file_name: &str) {
    let path = format!("{}/benches/networks/{file_name}", env!("CARGO_MANIFEST_DIR"));
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("a benches/networks file")).unwrap();
    // 60 steps past the initial transient's first spikes; spikes of every population recorded
    v["steps"] = serde_json::json!(120);
    let net = file::parse(&v.to_string()).unwrap();
    let synapses: usize = net.projections.iter().map(|p| p.conn.nnz()).sum();
    assert_eq!(synapses, 29_888_097, "the 10% microcircuit's synapse count");
    assert!(net.projections.iter().all(|p| p.delay_slots.is_some()), "every projection has per-synapse delays");
    // the CPU engine with its scatters on the pool (one accumulator per thread) and on one thread
    let cpu = |threads| {
        let mut e = CpuEngine::new(&net, UpdateMode::Dense).unwrap().with_scatter_threads(threads);
        run_engine(&mut e, &net, 60, &format!("cpu, scatters {threads:?}"))
    };
    let (pool, one) = (cpu(ScatterThreads::Pool), cpu(ScatterThreads::One));
    let spikes: usize = pool.stats.spike_counts.iter().sum::<u64>() as usize;
    assert!(spikes > 200, "{file_name}: only {spikes} spikes in 12 ms");
    pool.assert_bit_identical(&one, &format!("{file_name}: cpu, scatters on the pool against one thread"));
    for k in engines("pd14_at_ten_percent_is_the_same_on_every_engine") {
        if k != EngineKind::Cpu {
            pool.assert_bit_identical(&run(k, &net, UpdateMode::Dense, 60), &format!("{file_name}: cpu against {k}"));
        }
    }
}
