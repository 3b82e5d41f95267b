//! CPU twin of `shaders/shared/math.wgsl`: the f32 `exp` every kernel uses at run time (NMDA's
//! state-dependent exprel, the magnesium block). A polynomial of plain multiplications and
//! additions, so the CPU and the GPU compute it with the same operations and get the same bits
//! (a GPU's built-in `exp` may be a few ulp off, and differently on each driver). Constants that
//! do not depend on state use the correctly rounded exp instead ([`crate::plan::derived`]).
//!
//! Cody-Waite range reduction `x = n ln2 + r`, `|r| <= ln2/2`, then Cephes' degree-5
//! polynomial for `e^r`: within 2 ulp of the correctly rounded value over the clamped range
//! (tested below against f64).

/// `ln 2` split in two: `LN2_HI` has few significant bits, so `n * LN2_HI` is exact for the `n`
/// that occur, and `LN2_LO` carries the rest.
#[allow(clippy::excessive_precision)] // exact in f32 (355/512), written in full
const LN2_HI: f32 = 0.693_359_375;
const LN2_LO: f32 = -2.121_944_4e-4;
const LOG2E: f32 = std::f32::consts::LOG2_E;

#[allow(clippy::excessive_precision)] // the polynomial's coefficients as published, rounded by the compiler
/// `e^x` in f32. Arguments are clamped to `[-87, 88]` (the result stays normal and finite).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    // grouped as the GPU compiler regroups `a + r + 1` (constants together): the same bits on
    // both sides
    let y = p * (r * r) + (r + 1.0);
    // 2^n as the bits of a normal f32 (n is in [-126, 127] after the clamp)
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp() {
        let mut worst = 0i64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp() as f32;
            let got = exp(x);
            let ulps = (got.to_bits() as i64 - want.to_bits() as i64).abs();
            worst = worst.max(ulps);
            assert!(ulps <= 2, "exp({x}) = {got}, correctly rounded {want} ({ulps} ulp)");
            x += 0.000_731;
        }
        println!("largest error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
    }
}
