// The f32 exp every kernel uses at run time (twin: src/cpu/reference/math.rs): a polynomial of
// plain multiplications and additions, so CPU and GPU compute the same bits; a GPU's built-in
// exp may be a few ulp off, differently on each driver.

fn exp_poly(x_in: f32) -> f32 {
    let x = clamp(x_in, -87.0, 88.0);
    let n = floor(x * 1.4426950408889634 + 0.5);
    let r = (x - n * 0.693359375) - n * -2.12194440e-4;
    var p = 1.9875691e-4;
    p = p * r + 1.3981999e-3;
    p = p * r + 8.333452e-3;
    p = p * r + 4.1665796e-2;
    p = p * r + 1.6666665e-1;
    p = p * r + 5.0000001e-1;
    // grouped as Mesa regroups `a + r + 1` (constants together), written so on both sides
    let y = p * (r * r) + (r + 1.0);
    return y * bitcast<f32>(u32(i32(n) + 127) << 23u);
}
