//! Seeded mutation testing of the network file (issue 10, item 12): the examples and golden
//! networks, mutated in their bytes, fields, numbers, strings and array lengths, must each give
//! exit status 2 with a one-line message or a successful run: never a panic, a signal, a hang
//! (a time limit) or a partial output folder.
//!
//! Two layers: thousands of mutants parsed and checked in-process (the library's `preview`,
//! which never generates connectivity, under `catch_unwind`), and a share of them through the
//! real binary (`validate`, then `run` when the mutant is small enough to run in a moment).
//!
//! The seed is printed; `SPIKEGPU_FUZZ_SEED=N` replays a run, `SPIKEGPU_FUZZ_CASES=N` changes
//! its size (10000), `SPIKEGPU_FUZZ_BINARY_EVERY=K` sends every K-th mutant through the binary
//! (3). A failing mutant is saved under the system's temporary folder and named in the failure.

mod cli_support;
use cli_support::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A small, seedable generator (SplitMix64): the test needs no RNG crate and replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

fn corpus() -> Vec<(String, String)> {
    let mut files = vec![root().join("examples/ampa_seed.json"), root().join("benches/networks/B1.json")];
    for d in ["tests/golden", "tests/golden/models"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(d)).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
        found.sort();
        files.extend(found);
    }
    let mut c: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(p).unwrap();
            // a golden case's expected traces are megabytes the reader skips: mutate the network
            // (seed_E0, small, stays a whole case file, for the case-file path)
            let v: Value = serde_json::from_str(&text).unwrap();
            match v.get("network") {
                Some(n) if name != "seed_E0.json" => (name, n.to_string()),
                _ => (name, text),
            }
        })
        .collect();
    // generators and every monitor form, which the golden files do not use
    c.push(("generated".into(), busy_network(200, 50)));
    assert!(c.len() >= 8, "corpus too small");
    c
}

/// Numbers that find edges: zero, signs, the f32 and u32 limits, NaN-like overflow, fractions.
const NUMBERS: &[f64] = &[0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 1e-45, 1e-7, 1e7, 4294967295.0, 4294967296.0, 2147483648.0, 1e15, 9007199254740993.0, 3.5e38, 1e300, -1e300, 0.1, 1e-3, 100.0, 999.5];

const STRINGS: &[&str] = &["", "post", "pre", "post.V", "syn.g", "../evil", "a/b", ".hidden", "x.spike_events", "é", "\u{0}", "nan", "1e999", "csr", "fixed_prob", "lif", "ampa", "coba", "0:1", "5:2", "0:99999999999"];

fn random_value(r: &mut Rng, depth: usize) -> Value {
    match r.below(if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(r.chance(0.5)),
        2 => json!(NUMBERS[r.below(NUMBERS.len())]),
        3 => json!(r.below(100) as u64),
        4 => json!(STRINGS[r.below(STRINGS.len())]),
        5 => Value::Array((0..r.below(4)).map(|_| random_value(r, depth + 1)).collect()),
        _ => Value::Object((0..r.below(3)).map(|k| (format!("k{k}"), random_value(r, depth + 1))).collect()),
    }
}

/// Every path (list of keys/indices) in a JSON tree.
fn paths(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match v {
        Value::Object(o) => {
            for (k, c) in o {
                at.push(Step::Key(k.clone()));
                paths(c, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            // long arrays: a few of their elements, not all (CSR index lists have thousands)
            let n = a.len();
            let mut picked = vec![0, 1, n / 2, n.saturating_sub(1)];
            picked.dedup();
            for i in picked.into_iter().filter(|&i| i < n) {
                at.push(Step::Index(i));
                paths(&a[i], at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn get_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match s {
            Step::Key(k) => cur.get_mut(k.as_str())?,
            Step::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// One structural mutation of the tree.
fn mutate_tree(v: &mut Value, r: &mut Rng) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = all[r.below(all.len())].clone();
    let parent_path = &path[..path.len().saturating_sub(1)];
    let kind = r.below(9);
    // the node's key in its parent, to delete or rename it
    if kind <= 1 && !path.is_empty() {
        if let (Some(Value::Object(o)), Some(Step::Key(k))) = (get_mut(v, parent_path), path.last()) {
            let x = o.remove(k);
            if kind == 1 {
                if let Some(x) = x {
                    // a misspelt key, or a key of another object
                    let names = ["tau_rf", "V_Th", "weigth", "indices", "times", "size", "model", "delay", "every", "neurons", "target"];
                    o.insert(names[r.below(names.len())].into(), x);
                }
            }
            return;
        }
    }
    let Some(node) = get_mut(v, &path) else { return };
    match kind {
        2 => *node = random_value(r, 0),
        3 => {
            if let Some(x) = node.as_f64() {
                let choices = [NUMBERS[r.below(NUMBERS.len())], -x, x * 10.0, x / 10.0, x + 1.0, x - 1.0, x.floor() + 0.5, (x * 1e6).round()];
                *node = json!(choices[r.below(choices.len())]);
            } else {
                *node = json!(NUMBERS[r.below(NUMBERS.len())]);
            }
        }
        4 => *node = json!(STRINGS[r.below(STRINGS.len())]),
        5 | 6 => {
            if let Value::Array(a) = node {
                match r.below(5) {
                    0 => a.clear(),
                    1 => {
                        let n = r.below(a.len() + 1);
                        a.truncate(n)
                    }
                    2 if !a.is_empty() => {
                        let x = a[r.below(a.len())].clone();
                        let n = 1 + r.below(3);
                        a.extend(std::iter::repeat_n(x, n));
                    }
                    3 if !a.is_empty() => {
                        let i = r.below(a.len());
                        a.remove(i);
                    }
                    _ => a.push(random_value(r, 1)),
                }
            } else {
                *node = Value::Array(vec![node.clone(); r.below(3)]);
            }
        }
        7 => {
            if let Value::Object(o) = node {
                o.insert(STRINGS[r.below(STRINGS.len())].into(), random_value(r, 1));
            } else {
                *node = json!({"value": node.clone()});
            }
        }
        _ => {
            if let Value::String(s) = node {
                let choices = [s.repeat(2), s.to_uppercase(), format!("{s}.V"), format!("{s}x"), s.chars().rev().collect(), "x".repeat(300)];
                *node = json!(choices[r.below(choices.len())]);
            } else {
                *node = Value::Null;
            }
        }
    }
}

/// One byte-level mutation of the text (may break JSON, UTF-8, or both).
fn mutate_bytes(b: &mut Vec<u8>, r: &mut Rng) {
    if b.is_empty() {
        b.push(b'{');
        return;
    }
    let i = r.below(b.len());
    match r.below(7) {
        0 => b[i] ^= 1 << r.below(8),
        1 => {
            let n = r.below(16).min(b.len() - i);
            b.drain(i..i + n);
        }
        2 => b.truncate(i),
        3 => {
            let junk: &[&[u8]] = &[b"\xff", b"\xc3", b"\"", b",", b"]", b"}", b"-", b"e9", b"\\u0000", b"9999999999999999999999", b"\xe2\x82"];
            let j = junk[r.below(junk.len())];
            b.splice(i..i, j.iter().copied());
        }
        4 => {
            let n = r.below(64).min(b.len() - i);
            let piece = b[i..i + n].to_vec();
            b.splice(i..i, piece);
        }
        5 => {
            if b[i].is_ascii_digit() {
                b[i] = b"0123456789"[r.below(10)];
            }
        }
        _ => b.insert(i, b" \n\t0-e."[r.below(7)]),
    }
}

/// The mutant's size, from its JSON: (steps x neurons x batch, synapses), when it parses.
fn work(text: &[u8]) -> Option<(f64, f64)> {
    let v: Value = serde_json::from_slice(text).ok()?;
    let v = if v.get("expected").is_some() { v.get("network")?.clone() } else { v };
    let steps = v["steps"].as_f64().unwrap_or(1.0);
    let batch = v["batch"].as_f64().unwrap_or(1.0).max(1.0);
    let pops = v["populations"].as_array()?;
    let size_of = |name: &Value| pops.iter().find(|p| p["name"] == *name).and_then(|p| p["size"].as_f64()).unwrap_or(1.0);
    let neurons: f64 = pops.iter().map(|p| p["size"].as_f64().unwrap_or(1.0)).sum();
    let mut syn = 0.0;
    for p in v["projections"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let c = &p["connectivity"];
        syn += match c["kind"].as_str() {
            Some("fixed_prob") => size_of(&p["pre"]) * (size_of(&p["post"]) * c["prob"].as_f64().unwrap_or(1.0)).round(),
            _ => c["indices"].as_array().map_or(0.0, |a| a.len() as f64),
        };
    }
    let monitors = v["monitors"].as_object().map_or(0, |m| m.len()) as f64;
    Some((steps * (neurons + syn) * batch * (1.0 + monitors / 4.0), syn))
}

#[derive(Debug)]
struct Failure {
    case: usize,
    what: String,
    file: PathBuf,
}

fn check_exit(r: &Ran, what: &str) -> Result<(), String> {
    if r.timed_out {
        return Err(format!("{what}: no answer within the time limit (a hang)"));
    }
    if r.stderr.contains("panicked") || r.stderr.contains("RUST_BACKTRACE") {
        return Err(format!("{what}: panicked: {}", r.stderr.trim()));
    }
    match r.code {
        Some(0) => Ok(()),
        Some(2) => {
            let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.starts_with("warning: ") && !l.starts_with("notice: ")).collect();
            if lines.len() == 1 && lines[0].starts_with("error: ") {
                Ok(())
            } else {
                Err(format!("{what}: exit 2 without a one-line message: {}", r.stderr.trim()))
            }
        }
        other => Err(format!("{what}: exit {other:?}: {}", r.stderr.trim())),
    }
}

#[test]
fn mutated_networks_fail_cleanly_or_run() {
    let seed: u64 = std::env::var("SPIKEGPU_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let cases: usize = std::env::var("SPIKEGPU_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    // every `binary_every`-th mutant also goes through the binary (a process costs ~10 ms)
    let binary_every: usize = std::env::var("SPIKEGPU_FUZZ_BINARY_EVERY").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    println!("fuzz seed {seed} ({cases} cases): replay with SPIKEGPU_FUZZ_SEED={seed}");
    eprintln!("fuzz seed {seed} ({cases} cases): replay with SPIKEGPU_FUZZ_SEED={seed}");
    let corpus = Arc::new(corpus());
    let keep = std::env::temp_dir().join(format!("spikegpu-fuzz-{seed}"));
    let failures = Arc::new(Mutex::new(Vec::<Failure>::new()));
    let counts = Arc::new(Mutex::new([0usize; 4])); // in-process, validate, run ok, run refused
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (corpus, failures, counts, keep) = (corpus.clone(), failures.clone(), counts.clone(), keep.clone());
            std::thread::spawn(move || {
                let scratch = Scratch::new(&format!("fuzz{t}"));
                for case in (t..cases).step_by(threads) {
                    let mut r = Rng(seed ^ (case as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
                    let (name, text) = &corpus[r.below(corpus.len())];
                    let mut bytes = text.clone().into_bytes();
                    let rounds = 1 + r.below(3);
                    for _ in 0..rounds {
                        if r.chance(0.3) {
                            mutate_bytes(&mut bytes, &mut r);
                        } else if let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) {
                            mutate_tree(&mut v, &mut r);
                            bytes = v.to_string().into_bytes();
                        } else {
                            mutate_bytes(&mut bytes, &mut r);
                        }
                    }
                    let fail = |what: String| {
                        let file = keep.join(format!("case{case}-{name}"));
                        let _ = std::fs::create_dir_all(&keep);
                        let _ = std::fs::write(&file, &bytes);
                        failures.lock().unwrap().push(Failure { case, what, file });
                    };
                    // in-process: the file reader and the preview never panic
                    let text_ok = std::str::from_utf8(&bytes).ok().map(String::from);
                    if let Some(t) = &text_ok {
                        let t2 = t.clone();
                        let got = std::panic::catch_unwind(move || spikegpu::model::estimate::parse_builder(&t2).and_then(|b| b.preview().map(|_| ())));
                        if got.is_err() {
                            fail("the library panicked in parse_builder/preview".into());
                            continue;
                        }
                    }
                    counts.lock().unwrap()[0] += 1;
                    if case % binary_every != 0 {
                        continue;
                    }
                    let net = scratch.join("net.json");
                    std::fs::write(&net, &bytes).unwrap();
                    let r1 = run_limited(cmd(scratch.path(), &["validate", "net.json"]), Duration::from_secs(30));
                    if let Err(e) = check_exit(&r1, "validate") {
                        fail(e);
                        continue;
                    }
                    counts.lock().unwrap()[1] += 1;
                    // run what is small enough to run in a moment
                    let small = work(&bytes).is_some_and(|(w, syn)| w < 3e7 && syn < 2e6);
                    if r1.code != Some(0) || !small {
                        continue;
                    }
                    let out = scratch.join("out");
                    let _ = std::fs::remove_dir_all(&out);
                    let r2 = run_limited(cmd(scratch.path(), &["run", "net.json", "--out", "out", "--backend", "cpu", "-q"]), Duration::from_secs(60));
                    if let Err(e) = check_exit(&r2, "run") {
                        fail(e);
                        continue;
                    }
                    let left: Vec<String> = entries(scratch.path()).into_iter().filter(|e| e.starts_with(".out.")).collect();
                    if !left.is_empty() {
                        fail(format!("run left {left:?}"));
                    } else if r2.code == Some(0) && !out.join("summary.json").is_file() {
                        fail("run succeeded without a summary".into());
                    } else if r2.code == Some(2) && out.exists() {
                        fail(format!("run failed but left {}: {}", out.display(), r2.stderr.trim()));
                    }
                    counts.lock().unwrap()[if r2.code == Some(0) { 2 } else { 3 }] += 1;
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let c = *counts.lock().unwrap();
    println!(
        "fuzz: {} in-process, {} through validate, {} runs ({} refused) in {:.1} s",
        c[0],
        c[1],
        c[2] + c[3],
        c[3],
        started.elapsed().as_secs_f64()
    );
    let f = failures.lock().unwrap();
    assert!(
        f.is_empty(),
        "seed {seed}: {} mutants misbehaved; the first:\n{}",
        f.len(),
        f.iter().take(10).map(|x| format!("case {} ({}): {}", x.case, x.file.display(), x.what)).collect::<Vec<_>>().join("\n")
    );
    let _ = std::fs::remove_dir_all(&keep);
    assert!(c[1] > cases / binary_every / 2 && c[2] > 20, "too few mutants reached the binary or ran: {c:?}");
}
