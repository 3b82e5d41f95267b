//! PNG figures of monitored traces, drawn with `plotters` on a bitmap: no display and no
//! system fonts are needed, because the DejaVu Sans font (see `assets/DejaVuSans-LICENSE.txt`)
//! is compiled into the binary and registered with plotters' `ab_glyph` text renderer.
//!
//! [`write_figure`] draws one panel per monitor, stacked vertically over a shared time axis;
//! [`write_seed_figure`] draws the three-panel figure of BrainPy's `brainpy.dyn.AMPA` example.
//! Both go through the same panel-drawing code (`render`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::error::{Error, Result};

/// The one font every text on a figure uses.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FONT: &str = "sans-serif";

/// Figure width, height per panel and height of the figure's title band, in pixels.
const WIDTH: u32 = 1200;
const PANEL_HEIGHT: u32 = 300;
const TITLE_HEIGHT: u32 = 44;
/// Width of the column at the right of each panel that holds the legend.
const LEGEND_WIDTH: u32 = 130;
/// At most this many lines are drawn in a panel of a continuous trace.
const MAX_LINES: usize = 5;
/// Longer series are reduced to the minimum and maximum of this many buckets (so spikes in
/// a membrane potential stay visible); shorter ones are drawn point by point.
const DECIMATE_BUCKETS: usize = 2400;
/// Spike rasters are binned on a grid of this many time bins (and at most `RASTER_ROWS` rows),
/// about one bin per pixel of the plot, so a dense raster costs one mark per bin instead of
/// one per spike.
const RASTER_COLS: usize = 1100;
const RASTER_ROWS: usize = 220;

/// matplotlib's "tab10" colours, so figures look like BrainPy's.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The values of one monitor.
#[derive(Debug, Clone, Copy)]
pub enum TraceData<'a> {
    /// A continuous variable (e.g. a membrane potential).
    F32(&'a [f32]),
    /// Spikes: nonzero means the neuron spiked in that step.
    Spike(&'a [u8]),
}

/// One monitored variable: `shape` is `[steps, n]` or `[steps, batch, n]` and `data` is stored
/// row-major (C order), as in the monitor's `.npy` file.
#[derive(Debug, Clone, Copy)]
pub struct Trace<'a> {
    /// The monitor's name (e.g. `V`).
    pub name: &'a str,
    /// What it records (e.g. `post.V`).
    pub target: &'a str,
    /// Dimensions of `data`: `[rows, n]` or `[rows, batch, n]`.
    pub shape: &'a [usize],
    /// Steps between two rows (row `r` is step `r * every`).
    pub every: usize,
    /// The recorded values.
    pub data: TraceData<'a>,
}

/// Writes a PNG at `path` with one panel per trace, stacked vertically over a shared time
/// axis (`t = step * dt_ms`). Continuous traces show at most five neurons (spread evenly over
/// batch row 0 when there are more), spike traces a raster of batch row 0 with the total
/// spike count in the panel's title. The file appears only once it is complete.
pub fn write_figure(path: &Path, title: &str, dt_ms: f32, traces: &[Trace]) -> Result<()> {
    check_dt(path, dt_ms)?;
    if traces.is_empty() {
        return Err(Error::Output(format!(
            "{}: no traces to plot",
            path.display()
        )));
    }
    let mut panels = Vec::with_capacity(traces.len());
    let mut steps_max = 0;
    for trace in traces {
        let (steps, batch, n) = trace_dims(path, trace)?;
        let every = trace.every.max(1);
        steps_max = steps_max.max(steps * every);
        // one row every `every` steps
        let row_ms = dt_ms * every as f32;
        panels.push(match trace.data {
            TraceData::F32(data) => continuous_panel(trace, data, steps, batch, n, row_ms),
            TraceData::Spike(data) => raster_panel(trace, data, steps, batch, n, row_ms),
        });
    }
    render(path, title, x_end(steps_max, dt_ms), &panels)
}

/// Writes the three-panel figure of BrainPy's `brainpy.dyn.AMPA` documentation example:
/// the synaptic conductance `g`, the synaptic `current` and the postsynaptic potential `v`,
/// each one value per step, against time in ms.
pub fn write_seed_figure(
    path: &Path,
    dt_ms: f32,
    g: &[f32],
    current: &[f32],
    v: &[f32],
) -> Result<()> {
    check_dt(path, dt_ms)?;
    let panel = |caption: &str, y_desc: &str, values: &[f32]| Panel {
        caption: caption.to_string(),
        y_desc: y_desc.to_string(),
        data: PanelData::Curves(vec![Curve {
            label: String::new(),
            segments: curve_segments(values, values.len(), 1, 0, dt_ms),
        }]),
    };
    let panels = [
        panel("Synaptic conductance", "g", g),
        panel("Synaptic current", "current", current),
        panel("Post V (mV)", "V (mV)", v),
    ];
    let steps = g.len().max(current.len()).max(v.len());
    render(path, "AMPA synapse", x_end(steps, dt_ms), &panels)
}

// ---------------------------------------------------------------------------------------------
// Turning traces into panels.

/// What one panel shows, already reduced to what will be drawn.
struct Panel {
    caption: String,
    y_desc: String,
    data: PanelData,
}

enum PanelData {
    /// Lines; a curve with an empty label gets no legend entry.
    Curves(Vec<Curve>),
    /// Spike marks at (time, neuron) for neurons `0..n`.
    Raster { marks: Vec<(f32, f32)>, n: usize },
}

struct Curve {
    label: String,
    /// Runs of finite points; a non-finite value breaks the line.
    segments: Vec<Vec<(f32, f32)>>,
}

fn check_dt(path: &Path, dt_ms: f32) -> Result<()> {
    if dt_ms.is_finite() && dt_ms > 0.0 {
        Ok(())
    } else {
        Err(Error::Output(format!(
            "{}: dt must be a positive number of ms, got {dt_ms}",
            path.display()
        )))
    }
}

/// The end of the time axis: the time of the last step (at least one step wide).
fn x_end(steps: usize, dt_ms: f32) -> f32 {
    (steps.saturating_sub(1).max(1)) as f32 * dt_ms
}

/// `(steps, batch, n)` of a trace, after checking its shape against its data.
fn trace_dims(path: &Path, trace: &Trace) -> Result<(usize, usize, usize)> {
    let bad = |msg: String| {
        Error::Output(format!(
            "{}: trace {} ({}): {msg}",
            path.display(),
            trace.name,
            trace.target
        ))
    };
    let (steps, batch, n) = match *trace.shape {
        [steps, n] => (steps, 1, n),
        [steps, batch, n] => (steps, batch, n),
        _ => {
            return Err(bad(format!(
                "shape {:?} is neither [steps, n] nor [steps, batch, n]",
                trace.shape
            )))
        }
    };
    let len = match trace.data {
        TraceData::F32(d) => d.len(),
        TraceData::Spike(d) => d.len(),
    };
    let expected = steps.checked_mul(batch).and_then(|x| x.checked_mul(n));
    if expected != Some(len) {
        return Err(bad(format!(
            "shape {:?} does not match {len} values",
            trace.shape
        )));
    }
    Ok((steps, batch, n))
}

fn continuous_panel(
    trace: &Trace,
    data: &[f32],
    steps: usize,
    batch: usize,
    n: usize,
    dt_ms: f32,
) -> Panel {
    let row = batch * n;
    // (batch row, neuron) pairs to draw.
    let picked: Vec<(usize, usize)> = if row <= MAX_LINES {
        (0..batch)
            .flat_map(|b| (0..n).map(move |i| (b, i)))
            .collect()
    } else {
        let mut idx: Vec<usize> = (0..MAX_LINES)
            .map(|k| k * (n - 1) / (MAX_LINES - 1))
            .collect();
        idx.dedup();
        idx.into_iter().map(|i| (0, i)).collect()
    };
    let curves = picked
        .iter()
        .map(|&(b, i)| Curve {
            label: if batch > 1 {
                format!("b{b} n{i}")
            } else {
                format!("neuron {i}")
            },
            segments: curve_segments(data, steps, row, b * n + i, dt_ms),
        })
        .collect();
    let shown = if picked.len() == row {
        match (batch, row) {
            (1, 1) => "1 neuron".to_string(),
            (1, _) => format!("all {row} neurons"),
            _ => format!("all {batch} x {n} (batch x neuron)"),
        }
    } else if batch > 1 {
        format!("{} of {n} neurons, batch row 0 of {batch}", picked.len())
    } else {
        format!("{} of {n} neurons", picked.len())
    };
    Panel {
        caption: format!("{}  ({}): {shown}", trace.name, trace.target),
        y_desc: format!("{}  ({})", trace.name, trace.target),
        data: PanelData::Curves(curves),
    }
}

fn raster_panel(
    trace: &Trace,
    data: &[u8],
    steps: usize,
    batch: usize,
    n: usize,
    dt_ms: f32,
) -> Panel {
    let total = data.iter().filter(|&&s| s != 0).count();
    // Bin batch row 0 onto a grid, one mark per occupied bin.
    let cols = steps.clamp(1, RASTER_COLS);
    let rows = n.clamp(1, RASTER_ROWS);
    let mut grid = vec![false; cols * rows];
    let mut marks = Vec::new();
    for t in 0..steps {
        let spikes = &data[t * batch * n..t * batch * n + n];
        let c = t * cols / steps;
        for (i, _) in spikes.iter().enumerate().filter(|(_, &s)| s != 0) {
            let r = i * rows / n;
            if !std::mem::replace(&mut grid[c * rows + r], true) {
                // The bin's first spike stands for it: exact when bins are single steps/neurons.
                marks.push((t as f32 * dt_ms, i as f32));
            }
        }
    }
    let plural = if total == 1 { "" } else { "s" };
    let (scope, y_desc) = if batch > 1 {
        (
            format!(" in {batch} batch rows, batch row 0 shown"),
            "neuron (batch row 0)".to_string(),
        )
    } else {
        (String::new(), "neuron".to_string())
    };
    Panel {
        caption: format!(
            "{}  ({}): {total} spike{plural}{scope}",
            trace.name, trace.target
        ),
        y_desc,
        data: PanelData::Raster { marks, n },
    }
}

/// The points of column `col` of a `[steps, row]` array: all of them for short series, else
/// the minimum and the maximum of each of `DECIMATE_BUCKETS` buckets in time order.
fn curve_segments(
    data: &[f32],
    steps: usize,
    row: usize,
    col: usize,
    dt_ms: f32,
) -> Vec<Vec<(f32, f32)>> {
    let value = |t: usize| data[t * row + col];
    let mut segments = Vec::new();
    let mut current: Vec<(f32, f32)> = Vec::new();
    let mut push = |point: Option<(f32, f32)>, current: &mut Vec<(f32, f32)>| match point {
        Some(p) => current.push(p),
        None if !current.is_empty() => segments.push(std::mem::take(current)),
        None => {}
    };
    if steps <= 2 * DECIMATE_BUCKETS {
        for t in 0..steps {
            let v = value(t);
            push(v.is_finite().then_some((t as f32 * dt_ms, v)), &mut current);
        }
    } else {
        for k in 0..DECIMATE_BUCKETS {
            let (lo, hi) = (
                k * steps / DECIMATE_BUCKETS,
                (k + 1) * steps / DECIMATE_BUCKETS,
            );
            // (step, value) of the bucket's smallest and largest finite value.
            let mut min: Option<(usize, f32)> = None;
            let mut max: Option<(usize, f32)> = None;
            for t in lo..hi {
                let v = value(t);
                if !v.is_finite() {
                    continue;
                }
                if min.is_none_or(|(_, m)| v < m) {
                    min = Some((t, v));
                }
                if max.is_none_or(|(_, m)| v > m) {
                    max = Some((t, v));
                }
            }
            match (min, max) {
                (Some(a), Some(b)) => {
                    let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
                    push(Some((first.0 as f32 * dt_ms, first.1)), &mut current);
                    if second.0 != first.0 {
                        push(Some((second.0 as f32 * dt_ms, second.1)), &mut current);
                    }
                }
                _ => push(None, &mut current),
            }
        }
    }
    push(None, &mut current);
    segments
}

// ---------------------------------------------------------------------------------------------
// Drawing.

fn font_registered() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the bundled font assets/DejaVuSans.ttf could not be read".to_string())
        })
        .clone()
        .map_err(Error::Output)
}

/// A file beside `path` to draw into; it keeps the `.png` extension the encoder goes by.
fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Output(format!("{}: not a file name", path.display())))?;
    Ok(path.with_file_name(format!(
        ".{}.{}.tmp.png",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// Draws `panels` under `title` over the time axis `[0, x_max]` ms into a temporary PNG beside
/// `path`, then renames it to `path`; on failure the temporary file is removed.
fn render(path: &Path, title: &str, x_max: f32, panels: &[Panel]) -> Result<()> {
    font_registered()?;
    let tmp = temp_path(path)?;
    let drawn = draw(&tmp, title, x_max, panels)
        .map_err(|e| Error::Output(format!("{}: {e}", path.display())))
        .and_then(|()| {
            std::fs::rename(&tmp, path)
                .map_err(|e| Error::Output(format!("{}: {e}", path.display())))
        });
    if drawn.is_err() {
        // The bitmap backend may still have saved part of the figure when it was dropped.
        let _ = std::fs::remove_file(&tmp);
    }
    drawn
}

type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn draw(tmp: &Path, title: &str, x_max: f32, panels: &[Panel]) -> DrawResult {
    let height = TITLE_HEIGHT + PANEL_HEIGHT * panels.len() as u32;
    let root = BitMapBackend::new(tmp, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title_area, body) = root.split_vertically(TITLE_HEIGHT);
    title_area.draw(&Text::new(
        title.to_string(),
        ((WIDTH / 2) as i32, (TITLE_HEIGHT / 2) as i32),
        (FONT, 22)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    // Every panel gets the same legend column when any has a legend, so the time axes line up.
    let any_legend = panels.iter().any(|p| match &p.data {
        PanelData::Curves(curves) => curves.iter().any(|c| !c.label.is_empty()),
        PanelData::Raster { .. } => false,
    });
    for (panel, area) in panels.iter().zip(body.split_evenly((panels.len(), 1))) {
        let chart_area = if any_legend {
            let (chart_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
            if let PanelData::Curves(curves) = &panel.data {
                draw_legend(&legend_area, curves)?;
            }
            chart_area
        } else {
            area
        };
        draw_panel(&chart_area, panel, x_max)?;
    }
    root.present()?;
    Ok(())
}

fn draw_panel(area: &DrawingArea<BitMapBackend, Shift>, panel: &Panel, x_max: f32) -> DrawResult {
    let (y_min, y_max) = match &panel.data {
        PanelData::Curves(curves) => y_range(curves),
        PanelData::Raster { n, .. } => (-0.5, (*n).max(1) as f32 - 0.5),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.caption, (FONT, 17))
        .margin_top(4)
        .margin_left(10)
        .margin_right(20)
        .margin_bottom(6)
        .x_label_area_size(44)
        .y_label_area_size(80)
        // A little room left and right so marks at the first and last step are not clipped.
        .build_cartesian_2d(-0.01 * x_max..1.01 * x_max, y_min..y_max)?;
    let is_raster = matches!(panel.data, PanelData::Raster { .. });
    let y_labels = if is_raster { 8 } else { 6 };
    let y_step = nice_step((y_max - y_min) / y_labels as f32);
    let y_fmt = |v: &f32| {
        if is_raster {
            // Neuron indices only; other ticks stay unlabelled.
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        } else {
            tick_label(*v, y_step)
        }
    };
    let x_step = nice_step(x_max / 10.0);
    let x_fmt = |v: &f32| tick_label(*v, x_step);
    chart
        .configure_mesh()
        .x_desc("time (ms)")
        .y_desc(&panel.y_desc)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .x_labels(10)
        .y_labels(y_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    match &panel.data {
        PanelData::Curves(curves) => {
            for (k, curve) in curves.iter().enumerate() {
                let style = COLORS[k % COLORS.len()].stroke_width(2);
                // One element per line piece: plotters turns a wide polyline into one polygon
                // whose joins shoot far out of the chart where the line nearly doubles back
                // (as spikes in a membrane potential do), while a single piece is a plain band.
                for segment in &curve.segments {
                    if let [point] = segment[..] {
                        chart.draw_series(std::iter::once(Circle::new(
                            point,
                            1,
                            style.filled(),
                        )))?;
                    }
                    chart.draw_series(
                        segment
                            .windows(2)
                            .map(|w| PathElement::new(vec![w[0], w[1]], style)),
                    )?;
                }
            }
        }
        PanelData::Raster { marks, n } => {
            // Dots for few neurons, single pixels when the rows are a pixel apart.
            let style = COLORS[0].filled();
            if *n <= 150 {
                let radius = if *n <= 60 { 2 } else { 1 };
                chart.draw_series(marks.iter().map(|&p| Circle::new(p, radius, style)))?;
            } else {
                chart.draw_series(marks.iter().map(|&p| Pixel::new(p, style)))?;
            }
        }
    }
    Ok(())
}

/// A colour swatch and a label per curve, in the column right of the chart.
fn draw_legend(area: &DrawingArea<BitMapBackend, Shift>, curves: &[Curve]) -> DrawResult {
    let font = (FONT, 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (k, curve) in curves
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.label.is_empty())
    {
        let y = 60 + 22 * k as i32;
        let color = COLORS[k % COLORS.len()];
        area.draw(&PathElement::new(
            vec![(4, y), (30, y)],
            color.stroke_width(3),
        ))?;
        area.draw(&Text::new(curve.label.clone(), (38, y), font.clone()))?;
    }
    Ok(())
}

/// The y range of the finite values of `curves`, with a margin; flat or empty data gets a
/// range around its value so the line is not drawn on the frame.
fn y_range(curves: &[Curve]) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &(_, y) in curves.iter().flat_map(|c| c.segments.iter().flatten()) {
        lo = lo.min(y);
        hi = hi.max(y);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f32::EPSILON * lo.abs().max(hi.abs()) || span == 0.0 {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    (lo - 0.06 * span, hi + 0.06 * span)
}

/// The tick spacing plotters picks for about `raw` per tick: 1, 2 or 5 times a power of ten.
fn nice_step(raw: f32) -> f32 {
    if !(raw > 0.0 && raw.is_finite()) {
        return 1.0;
    }
    let power = 10f32.powf(raw.log10().floor());
    let m = raw / power;
    power
        * if m <= 1.0 {
            1.0
        } else if m <= 2.0 {
            2.0
        } else if m <= 5.0 {
            5.0
        } else {
            10.0
        }
}

/// A tick label with as many decimals as ticks `step` apart need; scientific notation for
/// very large or very small magnitudes.
fn tick_label(v: f32, step: f32) -> String {
    let step = step.abs();
    if v == 0.0 || v.abs() < step * 1e-3 {
        return "0".to_string();
    }
    if v.abs() >= 1e5 || (step > 0.0 && step < 1e-3) {
        return format!("{v:.1e}");
    }
    let decimals = if step > 0.0 {
        (-step.log10().floor()).clamp(0.0, 4.0) as usize
    } else {
        2
    };
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

    /// Synthetic data: a sine `[1000, 3]`, a raster `[1000, 40]` and a batched raster
    /// `[100, 2, 7]`.
    fn synthetic() -> (Vec<f32>, Vec<u8>, Vec<u8>) {
        let sine = (0..1000)
            .flat_map(|t| (0..3).map(move |i| -65.0 + 10.0 * ((t as f32) * 0.02 + i as f32).sin()))
            .collect();
        let raster = (0..1000 * 40)
            .map(|k| u8::from((k * 7919) % 211 == 0))
            .collect();
        let batched = (0..100 * 2 * 7)
            .map(|k| u8::from((k * 31) % 17 == 0))
            .collect();
        (sine, raster, batched)
    }

    fn figure(path: &Path) -> Result<()> {
        let (sine, raster, batched) = synthetic();
        let traces = [
            Trace {
                name: "V",
                target: "post.V",
                shape: &[1000, 3],
                every: 1,
                data: TraceData::F32(&sine),
            },
            Trace {
                name: "spike",
                target: "pre.spike",
                shape: &[1000, 40],
                every: 1,
                data: TraceData::Spike(&raster),
            },
            Trace {
                name: "spike",
                target: "post.spike",
                shape: &[100, 2, 7],
                every: 1,
                data: TraceData::Spike(&batched),
            },
        ];
        write_figure(path, "synthetic test figure", 0.1, &traces)
    }

    fn assert_png(path: &Path) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(bytes[..8], PNG_SIGNATURE, "{} is not a PNG", path.display());
        assert!(
            bytes.len() > 10_000,
            "{} has only {} bytes",
            path.display(),
            bytes.len()
        );
    }

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("spikegpu-plot-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_a_png() {
        let dir = scratch_dir("figure");
        let path = dir.join("figure.png");
        figure(&path).unwrap();
        assert_png(&path);
        // Only the figure is left: the temporary file was renamed.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_the_seed_figure() {
        let dir = scratch_dir("seed");
        let path = dir.join("seed.png");
        let g: Vec<f32> = (0..2000)
            .map(|t| (t as f32 * 0.05).sin().max(0.0) * 0.3)
            .collect();
        let current: Vec<f32> = g.iter().map(|g| -g * 65.0).collect();
        let v: Vec<f32> = g.iter().map(|g| -65.0 + 20.0 * g).collect();
        write_seed_figure(&path, 0.05, &g, &current, &v).unwrap();
        assert_png(&path);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn long_and_wide_traces_are_reduced() {
        let dir = scratch_dir("long");
        let path = dir.join("long.png");
        let (steps, n) = (20_000, 50);
        let mut v: Vec<f32> = (0..steps * n)
            .map(|k| ((k / n) as f32 * 0.01).sin())
            .collect();
        v[123 * n] = f32::NAN;
        let spikes: Vec<u8> = (0..steps * n).map(|k| u8::from(k % 13 == 0)).collect();
        let traces = [
            Trace {
                name: "V",
                target: "E.V",
                shape: &[steps, n],
                every: 1,
                data: TraceData::F32(&v),
            },
            Trace {
                name: "spike",
                target: "E.spike",
                shape: &[steps, n],
                every: 1,
                data: TraceData::Spike(&spikes),
            },
        ];
        write_figure(&path, "long", 0.1, &traces).unwrap();
        assert_png(&path);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directory_is_an_error_and_leaves_nothing() {
        let dir =
            std::env::temp_dir().join(format!("spikegpu-plot-missing-{}", std::process::id()));
        let path = dir.join("figure.png");
        assert!(!dir.exists());
        let err = figure(&path).unwrap_err();
        assert!(
            matches!(err, Error::Output(ref msg) if msg.contains("figure.png")),
            "{err}"
        );
        assert!(!dir.exists());
        assert!(!path.exists());
    }

    #[test]
    fn bad_shapes_are_errors() {
        let data = [0.0f32; 6];
        let path = std::env::temp_dir().join("spikegpu-plot-never-written.png");
        for shape in [&[2usize, 2][..], &[6][..], &[1, 2, 3, 1][..]] {
            let trace = Trace {
                name: "V",
                target: "p.V",
                shape,
                every: 1,
                data: TraceData::F32(&data),
            };
            assert!(matches!(
                write_figure(&path, "t", 0.1, &[trace]),
                Err(Error::Output(_))
            ));
        }
        assert!(write_figure(&path, "t", 0.1, &[]).is_err());
        assert!(!path.exists());
    }

    /// Writes the synthetic figure to /tmp/plot_check.png for a look by eye:
    /// `cargo test plot::tests::render_for_inspection -- --ignored`.
    #[test]
    #[ignore = "writes a figure for a person to look at; there is nothing in it to assert"]
    fn render_for_inspection() {
        figure(Path::new("/tmp/plot_check.png")).unwrap();
        let g: Vec<f32> = (0..3000)
            .map(|t| (t as f32 * 0.003).sin().max(0.0) * 0.3)
            .collect();
        let current: Vec<f32> = g.iter().map(|g| -g * 65.0).collect();
        let v: Vec<f32> = g.iter().map(|g| -65.0 + 20.0 * g).collect();
        write_seed_figure(Path::new("/tmp/plot_check_seed.png"), 0.1, &g, &current, &v).unwrap();
    }
}
