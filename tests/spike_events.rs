//! `<population>.spike_events` monitors: the spikes as a list of (step, [batch row,] neuron)
//! rows, which must hold exactly the spikes of the dense `<population>.spike` monitor of the
//! same run, in step order, on both engines, through the command line.

mod common;

use common::*;

fn net(batch: usize) -> String {
    format!(
        r#"{{"dt": 0.1, "steps": 1500, "batch": {batch},
        "populations": [
            {{"name": "src", "model": "poisson", "size": 30, "rate_hz": 150, "seed": 4, "per_row": true}},
            {{"name": "post", "model": "lif_ref", "size": 13, "V_rest": -60, "V_th": -50, "V_reset": -60,
              "tau": 20, "tau_ref": 5, "R": 1, "V_init": -60}}],
        "projections": [{{"name": "syn", "pre": "src", "post": "post", "synapse": {{"model": "ampa"}}, "delay": null,
            "connectivity": {{"kind": "fixed_prob", "prob": 0.5, "seed": 3}}, "weight": 0.5,
            "output": {{"model": "coba", "E": 0.0}}}}],
        "monitors": {{"dense": "post.spike", "events": "post.spike_events", "src_events": "src.spike_events"}}}}"#
    )
}

#[test]
fn events_list_exactly_the_dense_spikes() {
    for batch in [1usize, 3] {
        let dir = scratch_dir(&format!("spike_events_{batch}"));
        let path = dir.join("net.json");
        std::fs::write(&path, net(batch)).unwrap();
        for kind in engines("events_list_exactly_the_dense_spikes") {
            let backend = kind.backend();
            let out = dir.join(format!("out_{backend}"));
            let status = cli().args(["run", "--quiet", "--backend", backend, "--out"]).arg(&out).arg(&path).status().unwrap();
            assert!(status.success(), "batch {batch}, {backend}: spikegpu run failed");
            let (dshape, dense) = read_npy(&out.join("dense.npy"));
            let Npy::U8(dense) = dense else { panic!("dense spikes are not u8") };
            let (eshape, events) = read_npy(&out.join("events.npy"));
            let Npy::I32(events) = events else { panic!("spike events are not int32") };
            let cols = if batch > 1 { 3 } else { 2 };
            assert_eq!(eshape.len(), 2, "batch {batch}, {backend}: events shape {eshape:?}");
            assert_eq!(eshape[1], cols, "batch {batch}, {backend}: events shape {eshape:?}");
            let n = *dshape.last().unwrap();
            let want: Vec<i32> = dense
                .iter()
                .enumerate()
                .filter(|(_, &s)| s != 0)
                .flat_map(|(k, _)| {
                    let (step, b, j) = (k / (batch * n), (k / n) % batch, k % n);
                    if batch > 1 { vec![step as i32, b as i32, j as i32] } else { vec![step as i32, j as i32] }
                })
                .collect();
            assert!(!want.is_empty(), "batch {batch}, {backend}: the network did not spike");
            assert_eq!(eshape[0] * cols, events.len(), "batch {batch}, {backend}: shape and data disagree");
            assert_eq!(events, want, "batch {batch}, {backend}: events differ from the dense spike monitor");
            let (sshape, _) = read_npy(&out.join("src_events.npy"));
            assert!(sshape[0] > 0, "batch {batch}, {backend}: no source events recorded");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
