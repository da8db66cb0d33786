//! The comparison chart: throughput versus backlog for every system of a
//! `bench/compare.py` run, oncely's throughput versus concurrency, and its
//! pickup latency percentiles, as one PNG.
//!
//! Text is drawn with a TrueType font read at run time (DejaVu Sans or
//! Liberation Sans from the system, or `--chart-font`): nothing is embedded.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::FontStyle;
use serde::Deserialize;

/// Where a sans-serif font usually is.
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// The JSON `bench/compare.py --json` writes.
#[derive(Debug, Deserialize)]
pub struct Comparison {
    /// The server's settings, as one line.
    pub settings: String,
    /// One row per backlog size and system.
    pub rows: Vec<ComparisonRow>,
    /// oncely's drain at several concurrencies (same backlog).
    #[serde(default)]
    pub concurrency: Vec<ConcurrencyRow>,
    /// Pickup latency percentiles at a light steady rate, per system.
    #[serde(default)]
    pub latency: Vec<LatencyRow>,
}

/// A drain rate at one backlog.
#[derive(Debug, Deserialize)]
pub struct ComparisonRow {
    pub backlog: u64,
    pub system: String,
    pub jobs_per_sec: f64,
}

/// oncely's drain rate at one concurrency per client.
#[derive(Debug, Deserialize)]
pub struct ConcurrencyRow {
    pub concurrency: u32,
    pub jobs_per_sec: f64,
}

/// Pickup latency percentiles of one system, milliseconds.
#[derive(Debug, Deserialize)]
pub struct LatencyRow {
    pub system: String,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// Reads the comparison at `from` and draws it into the PNG at `to`.
pub fn draw(from: &Path, to: &Path, font: Option<&Path>) -> Result<(), String> {
    let text = std::fs::read_to_string(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let comparison: Comparison =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", from.display()))?;
    register_font(font)?;
    render(&comparison, to).map_err(|e| format!("drawing {}: {e}", to.display()))
}

fn register_font(font: Option<&Path>) -> Result<(), String> {
    let candidates: Vec<&Path> = match font {
        Some(path) => vec![path],
        None => FONTS.iter().map(Path::new).collect(),
    };
    let Some((path, bytes)) = candidates
        .iter()
        .find_map(|p| std::fs::read(p).ok().map(|b| (p, b)))
    else {
        return Err(format!(
            "no font for the chart's text: tried {candidates:?}; install the Debian package \
             fonts-dejavu-core or pass --chart-font FILE.ttf"
        ));
    };
    // The font lives as long as the process (the registry wants 'static).
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| format!("{}: not a usable TrueType font", path.display()))
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn render(c: &Comparison, to: &Path) -> DrawResult {
    let root = BitMapBackend::new(to, (1400, 1000)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(50);
    // The settings line is long: two lines, split at a comma near the middle.
    let settings = &c.settings;
    let cut = settings[..settings.len() / 2]
        .rfind(", ")
        .map_or(settings.len(), |at| at + 2);
    let font = ("sans-serif", 15).into_font().color(&BLACK);
    title.draw_text(
        &format!("Drain throughput, PostgreSQL: {}", &settings[..cut]),
        &font,
        (10, 6),
    )?;
    title.draw_text(&settings[cut..], &font, (10, 26))?;
    let (top, bottom) = body.split_vertically(560);
    let (left, right) = bottom.split_horizontally(700);
    backlog_panel(c, &top)?;
    concurrency_panel(c, &left)?;
    latency_panel(c, &right)?;
    root.present()?;
    Ok(())
}

fn backlog_panel(
    c: &Comparison,
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
) -> DrawResult {
    let mut systems: BTreeMap<&str, Vec<(u64, f64)>> = BTreeMap::new();
    for row in &c.rows {
        systems
            .entry(&row.system)
            .or_default()
            .push((row.backlog, row.jobs_per_sec));
    }
    let max_rate = c.rows.iter().map(|r| r.jobs_per_sec).fold(1.0, f64::max) * 1.1;
    let min_backlog = c.rows.iter().map(|r| r.backlog).min().unwrap_or(1).max(1);
    let max_backlog = c
        .rows
        .iter()
        .map(|r| r.backlog)
        .max()
        .unwrap_or(10)
        .max(min_backlog * 2);
    // The axis runs on past the largest backlog: the legend goes there, on
    // no data (a dozen systems' names would hide the right-hand points).
    let data_end = (max_backlog as f64) * 1.25;
    let legend_room = 40.0;
    let mut chart = ChartBuilder::on(area)
        .caption("jobs/s versus backlog (no-op jobs)", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            ((min_backlog as f64) * 0.8..data_end * legend_room).log_scale(),
            0.0..max_rate,
        )?;
    let x_label = move |v: &f64| {
        if *v <= data_end {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc("backlog (jobs, log scale)")
        .y_desc("jobs/s")
        .x_labels(8)
        .x_label_formatter(&x_label)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    for (i, (system, points)) in systems.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let mut points = points.clone();
        points.sort_by_key(|p| p.0);
        let line: Vec<(f64, f64)> = points.iter().map(|&(b, r)| (b as f64, r)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(3)))?
            .label(*system)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

fn concurrency_panel(
    c: &Comparison,
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
) -> DrawResult {
    let max_rate = c
        .concurrency
        .iter()
        .map(|r| r.jobs_per_sec)
        .fold(1.0, f64::max)
        * 1.1;
    let max_c = c
        .concurrency
        .iter()
        .map(|r| r.concurrency)
        .max()
        .unwrap_or(1)
        .max(2);
    let mut chart = ChartBuilder::on(area)
        .caption(
            "oncely: jobs/s versus concurrency per client",
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0u32..max_c + max_c / 10 + 1, 0.0..max_rate)?;
    chart
        .configure_mesh()
        .x_desc("concurrency per client")
        .y_desc("jobs/s")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    let line: Vec<(u32, f64)> = c
        .concurrency
        .iter()
        .map(|r| (r.concurrency, r.jobs_per_sec))
        .collect();
    chart.draw_series(LineSeries::new(line.clone(), BLUE.stroke_width(3)))?;
    chart.draw_series(line.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))?;
    Ok(())
}

/// The bottom of the latency panel's log scale.
const LATENCY_FLOOR_MS: f64 = 0.1;

fn latency_panel(
    c: &Comparison,
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
) -> DrawResult {
    if c.latency.is_empty() {
        area.draw_text(
            "no latency measured",
            &("sans-serif", 16).into_font().color(&BLACK),
            (20, 20),
        )?;
        return Ok(());
    }
    let names = ["p50", "p95", "p99"];
    let top = c
        .latency
        .iter()
        .flat_map(|l| [l.p50_ms, l.p95_ms, l.p99_ms])
        .fold(1.0, f64::max)
        * 1.2;
    let systems = c.latency.len() as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "insert-to-start latency at 200 jobs/s, ms",
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        // Log scale: the peers' latencies span 1 ms to half a second.
        .build_cartesian_2d(
            (0u32..3 * systems - 1).into_segmented(),
            (LATENCY_FLOOR_MS..top).log_scale(),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels((3 * systems) as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names[(*i % 3) as usize].to_string(),
            _ => String::new(),
        })
        .y_desc("ms (log scale)")
        .label_style(("sans-serif", 12))
        .draw()?;
    for (s, l) in c.latency.iter().enumerate() {
        let color = Palette99::pick(s).to_rgba();
        let s = s as u32;
        let values = [l.p50_ms, l.p95_ms, l.p99_ms];
        chart
            .draw_series(values.iter().enumerate().map(move |(p, &ms)| {
                let x = 3 * s + p as u32;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(x), LATENCY_FLOOR_MS),
                        (SegmentValue::Exact(x + 1), ms.max(LATENCY_FLOOR_MS)),
                    ],
                    color.filled(),
                );
                bar.set_margin(0, 0, 6, 6);
                bar
            }))?
            .label(l.system.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}
