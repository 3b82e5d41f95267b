//! A tiny `.npy` reader, independent of the library's writer (and of its reader in
//! `runtime::compare`), so a test checks the files as NumPy would read them; and the output
//! folder of a `spikegpu run` read back as in-memory monitors.

use spikegpu::runtime::compare::Layout;
use spikegpu::runtime::MonitorData;
use std::path::Path;

/// The contents of an `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub enum Npy {
    F32(Vec<f32>),
    U8(Vec<u8>),
    I32(Vec<i32>),
}

/// Where the data of an `.npy` file starts, and its dtype and shape.
fn header(raw: &[u8], path: &Path) -> (usize, String, Vec<usize>) {
    let fail = |m: &str| -> ! { panic!("{}: {m}", path.display()) };
    if raw.len() < 10 || &raw[..6] != b"\x93NUMPY" {
        fail("not an .npy file");
    }
    let (hlen, start) = match raw[6] {
        1 => (u16::from_le_bytes([raw[8], raw[9]]) as usize, 10),
        2 | 3 => (u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]) as usize, 12),
        v => fail(&format!("unknown .npy version {v}")),
    };
    assert_eq!((start + hlen) % 16, 0, "{}: header not 16-byte aligned", path.display());
    let header = std::str::from_utf8(&raw[start..start + hlen]).unwrap_or_else(|_| fail("header is not text"));
    let field = |key: &str| -> &str {
        let k = format!("'{key}':");
        let at = header.find(&k).unwrap_or_else(|| fail(&format!("header lacks {key}: {header}")));
        header[at + k.len()..].trim_start()
    };
    let descr = field("descr");
    let descr = descr[1..descr[1..].find('\'').unwrap() + 1].to_string();
    if !field("fortran_order").starts_with("False") {
        fail("fortran order is not supported");
    }
    let shape_txt = field("shape");
    let shape_txt = &shape_txt[1..shape_txt.find(')').unwrap()];
    let shape = shape_txt.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    (start + hlen, descr, shape)
}

/// Reads a C-order little-endian `<f4`, `|u1`, `|b1` or `<i4` `.npy` file (versions 1 to 3).
pub fn read_npy(path: &Path) -> (Vec<usize>, Npy) {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (start, descr, shape) = header(&raw, path);
    let n: usize = shape.iter().product();
    let body = &raw[start..];
    let need = |size: usize| assert_eq!(body.len(), size * n, "{}: {} data bytes for shape {shape:?}", path.display(), body.len());
    let data = match descr.as_str() {
        "<f4" => {
            need(4);
            Npy::F32(body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        "|u1" | "|b1" => {
            need(1);
            Npy::U8(body.to_vec())
        }
        "<i4" => {
            need(4);
            Npy::I32(body.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        other => panic!("{}: dtype {other} not supported", path.display()),
    };
    (shape, data)
}

/// Rewrites the data of an `.npy` file in place (same dtype and length), e.g. to corrupt an
/// output on purpose.
pub fn edit_npy(path: &Path, edit: impl FnOnce(&mut Npy)) {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (start, _, _) = header(&raw, path);
    let (_, mut data) = read_npy(path);
    edit(&mut data);
    let mut out = raw[..start].to_vec();
    match &data {
        Npy::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Npy::U8(v) => out.extend_from_slice(v),
        Npy::I32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
    }
    assert_eq!(out.len(), raw.len(), "{}: an edit must keep the length", path.display());
    std::fs::write(path, out).unwrap();
}

/// Reads `<name>.npy` of every monitor of `layout` from an output folder, checking shape and
/// dtype; spike-event files (`[k, 2]` or `[k, 3]` int32) become the dense flags the engine
/// hands over in memory.
pub fn read_output_dir(dir: &Path, layout: &Layout) -> Vec<MonitorData> {
    (0..layout.monitors.len())
        .map(|k| {
            let m = &layout.monitors[k];
            let path = dir.join(format!("{}.npy", m.name));
            let (shape, data) = read_npy(&path);
            if m.events {
                let Npy::I32(ev) = data else { panic!("{}: spike events are not int32", path.display()) };
                let cols = if layout.batch > 1 { 3 } else { 2 };
                assert_eq!(shape, vec![ev.len() / cols, cols], "{}: shape", path.display());
                let w = m.neurons.len();
                let mut flags = vec![0u8; m.rows * layout.batch * w];
                for e in ev.chunks_exact(cols) {
                    let (s, b, j) = if cols == 3 { (e[0], e[1], e[2]) } else { (e[0], 0, e[1]) };
                    assert_eq!(s as usize % m.every, 0, "{}: event {e:?} at a step that is not recorded", path.display());
                    let col = m.neurons.iter().position(|&x| x as i32 == j).unwrap_or_else(|| panic!("{}: event {e:?} of a neuron not recorded", path.display()));
                    flags[(s as usize / m.every * layout.batch + b as usize) * w + col] = 1;
                }
                return MonitorData::Spike(flags);
            }
            assert_eq!(shape, layout.shape(k), "{}: shape", path.display());
            match (m.kind, data) {
                (spikegpu::runtime::compare::Kind::Spike, Npy::U8(v)) => MonitorData::Spike(v),
                (spikegpu::runtime::compare::Kind::Spike, _) => panic!("{}: spikes are not u8", path.display()),
                (_, Npy::F32(v)) => MonitorData::F32(v),
                (kind, _) => panic!("{}: {kind:?} values are not f32", path.display()),
            }
        })
        .collect()
}
