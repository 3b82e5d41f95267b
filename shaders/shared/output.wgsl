// How an input slot's conductance becomes current (twin: src/cpu/reference/output.rs), shared
// by lif_update.wgsl (old V) and record.wgsl (new V).

const OUTPUT_COBA: u32 = 0u;
const OUTPUT_CUBA: u32 = 1u;
const OUTPUT_MG_BLOCK: u32 = 2u;

struct SlotOutput {
    kind: u32,
    e: f32,
    k: f32,        // MgBlock: cc_Mg / beta
    alpha: f32,
    v_offset: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

fn output_current(o: SlotOutput, g: f32, v: f32) -> f32 {
    switch o.kind {
        case OUTPUT_CUBA: {
            return g;
        }
        case OUTPUT_MG_BLOCK: {
            // the product is rounded, then divided by the block (as BrainPy computes it)
            return g * (o.e - v) / (1.0 + o.k * exp_poly(o.alpha * (o.v_offset - v)));
        }
        default: {
            return g * (o.e - v);
        }
    }
}
