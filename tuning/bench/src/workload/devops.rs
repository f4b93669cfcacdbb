//! The devops shape of `../shared/peer/gen_lp.py`:
//! `cpu,az=us-west-1a,host=host_1,region=us-west-1 usage_user=26.43,…,uptime=83712i[,status="ok"][,throttled=false] <ts>`.
//!
//! Series `g` is measurement `g % measurements` of host `g / measurements`; point `i` of
//! every series is at `start + i * interval` (aligned scrapes). The string field is on the
//! points where `(i + g) % string_every == 0`, the boolean where
//! `(i + 2g + 1) % bool_every == 0`, as in the Python generator, so the expected counts
//! match its manifest.

use super::tables::{series_hash, Tables};
use super::{Precision, QueryContext, Workload};
use crate::numfmt::{push_i64, push_u64};
use serde::Serialize;

const MEASUREMENTS: [&str; 10] = [
    "cpu",
    "mem",
    "disk",
    "diskio",
    "net",
    "kernel",
    "system",
    "processes",
    "swap",
    "netstat",
];
pub(super) const REGIONS: [&str; 8] = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
];
const FLOAT_FIELDS: [&str; 10] = [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_iowait",
    "usage_nice",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
];
const INT_FIELDS: [&str; 4] = ["uptime", "n_procs", "n_threads", "n_files"];
/// Mostly "ok": 13 of 16, as in gen_lp.py.
const STATUS: [&str; 16] = [
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"ok\"",
    "\"warn\"",
    "\"crit\"",
    "\"unknown\"",
];

/// Batch contents: one timestamp for a block of series (live agents), or consecutive
/// points of a few series (a backfill).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Time,
    Series,
}

/// The generator's knobs (the CLI's workload flags).
#[derive(Debug, Clone, Serialize)]
pub struct DevOpsParams {
    pub series: u64,
    pub measurements: u64,
    pub points_per_series: u64,
    pub fields: usize,
    pub int_fields: usize,
    pub string_every: u64,
    pub bool_every: u64,
    pub start_ns: i64,
    pub interval_ns: i64,
    pub precision: Precision,
    pub seed: u64,
    pub batch_size: u64,
    pub order: Order,
}

/// Series keys and table offsets computed once, when they fit in a modest amount of
/// memory: rendering a line is then copies and table lookups only.
struct SeriesCache {
    prefixes: Vec<u8>,
    /// Where series `g`'s key starts in `prefixes` (one more entry: the end).
    starts: Vec<u32>,
    /// Per series: the float fields' offsets, then the extra integer fields'.
    offsets: Vec<u16>,
    stride: usize,
    uptime: Vec<u32>,
}

/// Largest series count that gets a [`SeriesCache`] (about 80 bytes a series).
const CACHE_MAX_SERIES: u64 = 2_000_000;

/// Offset of float field `f` of series `g` in the walk table.
fn float_offset(seed: u64, f: usize, g: u64) -> u64 {
    series_hash(seed, f as u64, g) & super::tables::TABLE_MASK
}

/// Offset of extra integer field `k` (≥ 1) of series `g`.
fn int_offset(seed: u64, k: usize, g: u64) -> u64 {
    series_hash(seed, 2000 + k as u64, g) & super::tables::TABLE_MASK
}

/// The uptime counter's value at point 0.
fn uptime_base(seed: u64, g: u64) -> u64 {
    series_hash(seed, 1000, g) & 0xFF_FFFF
}

/// The devops workload, ready to render.
pub struct DevOps {
    cache: Option<SeriesCache>,
    /// Seconds the uptime counter advances per point.
    uptime_step: u64,
    p: DevOpsParams,
    tables: Tables,
    /// `,usage_user=` etc. (first without the comma), floats then integers.
    field_keys: Vec<Vec<u8>>,
    measurement_names: Vec<String>,
    /// Time order: batches per timestamp. Series order: series per batch and point chunks.
    blocks: u64,
    series_per_batch: u64,
    point_chunk: u64,
    point_chunks: u64,
}

impl DevOps {
    pub fn new(p: DevOpsParams) -> DevOps {
        let float_names = (0..p.fields).map(|k| {
            FLOAT_FIELDS
                .get(k)
                .map_or_else(|| format!("f{k}"), |s| s.to_string())
        });
        let int_names = (0..p.int_fields).map(|k| {
            INT_FIELDS
                .get(k)
                .map_or_else(|| format!("i{k}"), |s| s.to_string())
        });
        let field_keys = float_names
            .chain(int_names)
            .enumerate()
            .map(|(n, name)| {
                let sep = if n == 0 { "" } else { "," };
                format!("{sep}{name}=").into_bytes()
            })
            .collect();
        let measurement_names = (0..p.measurements)
            .map(|m| {
                if p.measurements as usize <= MEASUREMENTS.len() {
                    MEASUREMENTS[m as usize].to_string()
                } else {
                    format!("m{m}")
                }
            })
            .collect();
        let series_per_batch = (p.batch_size / p.points_per_series).max(1);
        let point_chunk = p.points_per_series.min(p.batch_size);
        let mut w = DevOps {
            cache: None,
            uptime_step: (p.interval_ns / 1_000_000_000).max(1) as u64,
            tables: Tables::new(p.seed),
            field_keys,
            measurement_names,
            blocks: p.series.div_ceil(p.batch_size),
            series_per_batch,
            point_chunk,
            point_chunks: p.points_per_series.div_ceil(point_chunk),
            p,
        };
        if w.p.series <= CACHE_MAX_SERIES {
            w.cache = Some(w.build_cache());
        }
        w
    }

    fn build_cache(&self) -> SeriesCache {
        let p = &self.p;
        let stride = p.fields + p.int_fields.saturating_sub(1);
        let n = p.series as usize;
        let mut c = SeriesCache {
            prefixes: Vec::with_capacity(n * 56),
            starts: Vec::with_capacity(n + 1),
            offsets: Vec::with_capacity(n * stride),
            stride,
            uptime: Vec::with_capacity(n),
        };
        for g in 0..p.series {
            c.starts.push(c.prefixes.len() as u32);
            self.prefix(g, &mut c.prefixes);
            c.offsets
                .extend((0..p.fields).map(|f| float_offset(p.seed, f, g) as u16));
            c.offsets
                .extend((1..p.int_fields).map(|k| int_offset(p.seed, k, g) as u16));
            c.uptime.push(uptime_base(p.seed, g) as u32);
        }
        c.starts.push(c.prefixes.len() as u32);
        c
    }

    pub fn params(&self) -> &DevOpsParams {
        &self.p
    }

    pub fn float_field_names(&self) -> Vec<String> {
        self.field_names()[..self.p.fields].to_vec()
    }

    fn field_names(&self) -> Vec<String> {
        self.field_keys
            .iter()
            .map(|k| {
                let s = String::from_utf8_lossy(k);
                s.trim_start_matches(',').trim_end_matches('=').to_string()
            })
            .collect()
    }

    /// Hosts: series / measurements, rounded up.
    pub fn hosts(&self) -> u64 {
        self.p.series.div_ceil(self.p.measurements)
    }

    fn timestamp(&self, point: u64) -> i64 {
        (self.p.start_ns + point as i64 * self.p.interval_ns) / self.p.precision.nanos()
    }

    /// Appends series `g`'s key and the space after it.
    fn prefix(&self, g: u64, out: &mut Vec<u8>) {
        let p = &self.p;
        let h = g / p.measurements;
        let region = REGIONS[(h % REGIONS.len() as u64) as usize];
        out.extend_from_slice(self.measurement_names[(g % p.measurements) as usize].as_bytes());
        out.extend_from_slice(b",az=");
        out.extend_from_slice(region.as_bytes());
        out.push(b"abc"[((h / REGIONS.len() as u64) % 3) as usize]);
        out.extend_from_slice(b",host=host_");
        push_u64(out, h);
        out.extend_from_slice(b",region=");
        out.extend_from_slice(region.as_bytes());
        out.push(b' ');
    }

    /// Appends series `g`'s line for point `i` (timestamp already rendered) and returns
    /// its number of field values.
    #[inline]
    fn line(&self, g: u64, i: u64, ts: &[u8], out: &mut Vec<u8>) -> u64 {
        let p = &self.p;
        let seed = p.seed;
        let nf = p.fields;
        match &self.cache {
            Some(c) => {
                let k = g as usize;
                out.extend_from_slice(&c.prefixes[c.starts[k] as usize..c.starts[k + 1] as usize]);
                let offs = &c.offsets[k * c.stride..(k + 1) * c.stride];
                for (key, &off) in self.field_keys.iter().zip(&offs[..nf]) {
                    out.extend_from_slice(key);
                    self.tables.float(u64::from(off), i).push_to(out);
                }
                if p.int_fields > 0 {
                    out.extend_from_slice(&self.field_keys[nf]);
                    push_u64(out, u64::from(c.uptime[k]) + i * self.uptime_step);
                    out.push(b'i');
                    for j in 1..p.int_fields {
                        out.extend_from_slice(&self.field_keys[nf + j]);
                        self.tables
                            .int(u64::from(offs[nf + j - 1]), 7 * i)
                            .push_to(out);
                    }
                }
            }
            None => {
                self.prefix(g, out);
                for f in 0..nf {
                    out.extend_from_slice(&self.field_keys[f]);
                    self.tables.float(float_offset(seed, f, g), i).push_to(out);
                }
                if p.int_fields > 0 {
                    out.extend_from_slice(&self.field_keys[nf]);
                    push_u64(out, uptime_base(seed, g) + i * self.uptime_step);
                    out.push(b'i');
                    for j in 1..p.int_fields {
                        out.extend_from_slice(&self.field_keys[nf + j]);
                        self.tables.int(int_offset(seed, j, g), 7 * i).push_to(out);
                    }
                }
            }
        }
        let mut values = (p.fields + p.int_fields) as u64;
        if p.string_every > 0 && (i + g).is_multiple_of(p.string_every) {
            out.extend_from_slice(b",status=");
            out.extend_from_slice(STATUS[((i * 7 + g) % STATUS.len() as u64) as usize].as_bytes());
            values += 1;
        }
        if p.bool_every > 0 && (i + 2 * g + 1).is_multiple_of(p.bool_every) {
            let t = ((i / p.bool_every + g) & 3) == 0;
            out.extend_from_slice(if t {
                b",throttled=true"
            } else {
                b",throttled=false"
            });
            values += 1;
        }
        out.push(b' ');
        out.extend_from_slice(ts);
        out.push(b'\n');
        values
    }

    fn units_per_pass(&self) -> u64 {
        match self.p.order {
            Order::Time => self.blocks * self.p.points_per_series,
            Order::Series => self.p.series.div_ceil(self.series_per_batch) * self.point_chunks,
        }
    }
}

impl Workload for DevOps {
    fn batches(&self) -> u64 {
        self.units_per_pass()
    }

    fn lines(&self) -> u64 {
        self.p.series * self.p.points_per_series
    }

    fn render(&self, idx: u64, out: &mut Vec<u8>) -> (u64, u64) {
        out.clear();
        let p = &self.p;
        let mut ts = Vec::with_capacity(20);
        let mut lines = 0;
        let mut values = 0;
        match p.order {
            Order::Time => {
                // Past one pass the points simply continue: i = P, P+1, …
                let i = idx / self.blocks;
                let b = idx % self.blocks;
                push_i64(&mut ts, self.timestamp(i));
                let g1 = ((b + 1) * p.batch_size).min(p.series);
                for g in b * p.batch_size..g1 {
                    values += self.line(g, i, &ts, out);
                    lines += 1;
                }
            }
            Order::Series => {
                let per_pass = self.units_per_pass();
                let epoch = idx / per_pass;
                let r = idx % per_pass;
                let g0 = (r / self.point_chunks) * self.series_per_batch;
                let g1 = (g0 + self.series_per_batch).min(p.series);
                let p0 = (r % self.point_chunks) * self.point_chunk;
                let p1 = (p0 + self.point_chunk).min(p.points_per_series);
                let shift = epoch * p.points_per_series;
                for g in g0..g1 {
                    for i in p0 + shift..p1 + shift {
                        ts.clear();
                        push_i64(&mut ts, self.timestamp(i));
                        values += self.line(g, i, &ts, out);
                        lines += 1;
                    }
                }
            }
        }
        (lines, values)
    }

    fn precision(&self) -> Precision {
        self.p.precision
    }

    fn query_context(&self) -> Option<QueryContext> {
        let p = &self.p;
        let hosts = self.hosts();
        let names = self.field_names();
        let key_values = (0..8.min(hosts))
            .map(|k| format!("host_{}", (42 + k * 97) % hosts))
            .collect();
        Some(QueryContext {
            measurement: self.measurement_names[0].clone(),
            key_tag: "host".into(),
            key_values,
            group_tag: "region".into(),
            group_value: REGIONS[(1 % hosts.min(REGIONS.len() as u64)) as usize].into(),
            float_fields: if p.fields > 0 {
                names[..p.fields].to_vec()
            } else {
                names[..1].to_vec()
            },
            int_field: (p.int_fields > 0).then(|| names[p.fields].clone()),
            string_field: (p.string_every > 0).then(|| ("status".into(), "crit".into())),
            start_ns: p.start_ns,
            end_ns: p.start_ns + (p.points_per_series as i64 - 1) * p.interval_ns,
        })
    }

    fn describe(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.p).unwrap_or_default();
        v["shape"] = "devops".into();
        v["lines"] = self.lines().into();
        v["batches"] = self.batches().into();
        v["hosts"] = self.hosts().into();
        v["field_names"] = self.field_names().into();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn params() -> DevOpsParams {
        DevOpsParams {
            series: 25,
            measurements: 1,
            points_per_series: 7,
            fields: 5,
            int_fields: 2,
            string_every: 10,
            bool_every: 20,
            start_ns: 1_577_836_800_000_000_000,
            interval_ns: 10_000_000_000,
            precision: Precision::Ns,
            seed: 1,
            batch_size: 10,
            order: Order::Time,
        }
    }

    fn all_lines(w: &DevOps) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = Vec::new();
        for idx in 0..w.batches() {
            w.render(idx, &mut out);
            lines.extend(
                String::from_utf8(out.clone())
                    .unwrap()
                    .lines()
                    .map(String::from),
            );
        }
        lines
    }

    #[test]
    fn the_shape_of_a_line() {
        let w = DevOps::new(params());
        let mut out = Vec::new();
        let (lines, _) = w.render(0, &mut out);
        assert_eq!(lines, 10);
        let text = String::from_utf8(out).unwrap();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("cpu,az=us-east-1a,host=host_0,region=us-east-1 usage_user="),
            "{first}"
        );
        assert!(first.ends_with(" 1577836800000000000"), "{first}");
        assert!(first.contains(",uptime="), "{first}");
        assert!(first.contains(",n_procs="), "{first}");
    }

    #[test]
    fn values_do_not_depend_on_batching_or_order() {
        let mut sorted = Vec::new();
        for (batch, order) in [
            (10, Order::Time),
            (3, Order::Time),
            (4, Order::Series),
            (100, Order::Series),
        ] {
            let mut p = params();
            p.batch_size = batch;
            p.order = order;
            let w = DevOps::new(p);
            let mut lines = all_lines(&w);
            assert_eq!(lines.len() as u64, w.lines());
            lines.sort();
            sorted.push(lines);
        }
        assert!(sorted.windows(2).all(|w| w[0] == w[1]));
        let mut p = params();
        p.seed = 2;
        let mut other = all_lines(&DevOps::new(p));
        other.sort();
        assert_ne!(other, sorted[0], "another seed gives other values");
    }

    #[test]
    fn the_series_cache_changes_nothing() {
        let mut p = params();
        p.int_fields = 3;
        let mut w = DevOps::new(p);
        assert!(w.cache.is_some());
        let cached = all_lines(&w);
        w.cache = None;
        assert_eq!(all_lines(&w), cached);
    }

    #[test]
    fn past_one_pass_points_go_on_in_time() {
        let w = DevOps::new(params());
        let mut out = Vec::new();
        w.render(w.batches(), &mut out);
        let ts = 1_577_836_800_000_000_000i64 + 7 * 10_000_000_000;
        assert!(String::from_utf8(out)
            .unwrap()
            .lines()
            .all(|l| l.ends_with(&ts.to_string())));
    }
}
