//! The count per step of a Poisson input as a table of integer thresholds: the count is the
//! number of thresholds a uniform 32-bit draw `u` reaches, plus the table's first count. Both
//! engines look counts up the same way (integer comparisons only), so they draw the same count
//! from the same `u` on any device, and no device needs `exp`, `log` or division at run time.
//!
//! Threshold `j` is `round(2^32 P(X <= first + j))`: a count `k` is drawn with probability
//! `P(X = k)` to within `2^-32`. Counts whose cumulative probability rounds to 0 or to 1 are
//! never drawn (each has probability below `2^-33`).

use super::CountLaw;

/// Most thresholds a table may have (a count spread over more values needs a standard deviation
/// above about 5,000 per step).
pub const MAX_THRESHOLDS: usize = 1 << 16;

/// The cumulative distribution of a count, as 32-bit thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountTable {
    /// The smallest count drawn.
    pub first: u32,
    /// Ascending thresholds: the count of a draw `u` is `first + #{t : u >= t}`.
    pub thresholds: Vec<u32>,
}

impl CountTable {
    /// The table of `law` with `n` sources firing with probability `p` each per step (`p` in
    /// `[0, 1]` for the binomial law; the Poisson law's mean is `n p`). `Err` says why it cannot
    /// be tabulated.
    pub fn new(law: CountLaw, n: u64, p: f64) -> Result<CountTable, String> {
        if !(p.is_finite() && p >= 0.0) || (law == CountLaw::Binomial && p > 1.0) {
            return Err(format!("the probability per source and step is {p}, outside [0, 1]"));
        }
        if n > u32::MAX as u64 / 2 {
            return Err(format!("{n} sources per neuron is more than {}", u32::MAX / 2));
        }
        let mean = n as f64 * p;
        let (mode, ratio): (u64, Box<dyn Fn(u64) -> f64>) = match law {
            // P(k+1)/P(k) = (n-k)/(k+1) p/(1-p)
            CountLaw::Binomial if p >= 1.0 => return Ok(CountTable { first: n as u32, thresholds: Vec::new() }),
            CountLaw::Binomial => (((n + 1) as f64 * p).floor().min(n as f64) as u64, Box::new(move |k| (n - k) as f64 / (k + 1) as f64 * (p / (1.0 - p)))),
            CountLaw::Poisson => (mean.floor() as u64, Box::new(move |k| mean / (k + 1) as f64)),
        };
        let top = match law {
            CountLaw::Binomial => n,
            CountLaw::Poisson => u32::MAX as u64 / 2,
        };
        let sd = match law {
            CountLaw::Binomial => (mean * (1.0 - p)).sqrt(),
            CountLaw::Poisson => mean.sqrt(),
        };
        if 13.0 * sd > MAX_THRESHOLDS as f64 {
            return Err(format!("the count per step has a standard deviation of {sd:.0}, too wide to tabulate (at most about 5,000)"));
        }
        // probabilities relative to the mode's, out to where they are negligible against 2^-32
        const NEGLIGIBLE: f64 = 1e-25;
        let mut up = Vec::new();
        let (mut k, mut w) = (mode, 1.0f64);
        while k < top {
            w *= ratio(k);
            k += 1;
            if w < NEGLIGIBLE {
                break;
            }
            up.push(w);
        }
        let mut down = Vec::new();
        let (mut k, mut w) = (mode, 1.0f64);
        while k > 0 {
            w /= ratio(k - 1);
            k -= 1;
            if w < NEGLIGIBLE {
                break;
            }
            down.push(w);
        }
        let lowest = mode - down.len() as u64;
        let weights: Vec<f64> = down.iter().rev().copied().chain(std::iter::once(1.0)).chain(up.iter().copied()).collect();
        let total: f64 = weights.iter().sum();
        let mut first = None;
        let mut thresholds = Vec::new();
        let mut cumulative = 0.0;
        // the count whose cumulative probability reaches 1 (rounded): the largest drawn
        let mut last = lowest + weights.len() as u64 - 1;
        for (j, w) in weights.iter().enumerate() {
            cumulative += w;
            let t = (cumulative / total * 4_294_967_296.0).round();
            if t >= 4_294_967_296.0 {
                last = lowest + j as u64;
                break;
            }
            if t > 0.0 {
                first.get_or_insert(lowest + j as u64);
                thresholds.push(t as u32);
            }
        }
        // no threshold: all the mass is on one count
        let first = first.unwrap_or(last);
        Ok(CountTable { first: first as u32, thresholds })
    }

    /// The count of draw `u`.
    pub fn count(&self, u: u32) -> u32 {
        self.first + self.thresholds.partition_point(|&t| t <= u) as u32
    }

    /// The largest count it draws.
    pub fn max_count(&self) -> u32 {
        self.first + self.thresholds.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact probabilities from the tables against the laws' closed forms, over every draw
    /// (the thresholds are the CDF itself).
    fn pmf_of(t: &CountTable, k: u32) -> f64 {
        let lo = if k <= t.first { 0.0 } else { t.thresholds.get((k - t.first - 1) as usize).map_or(4_294_967_296.0, |&x| x as f64) };
        let hi = if k < t.first { 0.0 } else { t.thresholds.get((k - t.first) as usize).map_or(4_294_967_296.0, |&x| x as f64) };
        (hi - lo) / 4_294_967_296.0
    }

    fn ln_factorial(k: u64) -> f64 {
        (1..=k).map(|i| (i as f64).ln()).sum()
    }

    #[test]
    fn tables_match_closed_forms() {
        // the microcircuit's drive (K_ext 2100 at 8 Hz, dt 0.1 ms), BrainPy-sized and extremes
        for &(law, n, p) in &[
            (CountLaw::Binomial, 2100u64, 8e-4),
            (CountLaw::Poisson, 2100, 8e-4),
            (CountLaw::Binomial, 100, 0.01),
            (CountLaw::Binomial, 40, 0.5),
            (CountLaw::Poisson, 1000, 0.5),
            (CountLaw::Binomial, 1, 0.3),
        ] {
            let t = CountTable::new(law, n, p).unwrap();
            let mean = n as f64 * p;
            let mut got_mean = 0.0;
            for k in 0..=t.max_count() {
                let want = match law {
                    CountLaw::Binomial => {
                        (ln_factorial(n) - ln_factorial(k as u64) - ln_factorial(n - k as u64) + k as f64 * p.ln() + (n - k as u64) as f64 * (1.0 - p).ln()).exp()
                    }
                    CountLaw::Poisson => (k as f64 * mean.ln() - mean - ln_factorial(k as u64)).exp(),
                };
                let got = pmf_of(&t, k);
                assert!((got - want).abs() < 4e-9, "{law:?} n={n} p={p}: P({k}) = {got}, want {want}");
                got_mean += k as f64 * got;
            }
            assert!((got_mean - mean).abs() < 1e-6 * mean.max(1.0), "{law:?} n={n} p={p}: mean {got_mean}, want {mean}");
        }
    }

    #[test]
    fn degenerate_laws_draw_one_count() {
        let zero = CountTable::new(CountLaw::Binomial, 50, 0.0).unwrap();
        assert_eq!((zero.count(0), zero.count(u32::MAX)), (0, 0));
        let all = CountTable::new(CountLaw::Binomial, 50, 1.0).unwrap();
        assert_eq!((all.count(0), all.count(u32::MAX)), (50, 50));
        let coin = CountTable::new(CountLaw::Binomial, 1, 0.5).unwrap();
        assert_eq!((coin.first, coin.thresholds.clone()), (0, vec![1 << 31]));
        assert_eq!((coin.count((1 << 31) - 1), coin.count(1 << 31)), (0, 1));
    }

    #[test]
    fn refuses_what_it_cannot_tabulate() {
        assert!(CountTable::new(CountLaw::Binomial, 10, 1.5).unwrap_err().contains("outside [0, 1]"));
        assert!(CountTable::new(CountLaw::Poisson, 1_000_000_000, 0.5).unwrap_err().contains("standard deviation"));
    }
}
