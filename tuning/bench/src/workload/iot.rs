//! An IoT shape: many devices, each its own series, reporting on unaligned clocks.
//!
//! `sensor,building=b_12,device=dev_48213,floor=3,kind=thermo temperature=21.53,humidity=45.20,pressure=…,battery=87i[,door_open=true][,fw="1.4.2"] <ts>`
//!
//! The `device` tag makes the cardinality (one series per device, a million by default),
//! which is what stresses a series index; a device's readings start at a per-device phase
//! inside the interval, so lines in one batch carry different timestamps.

use super::tables::{series_hash, Tables};
use super::{Precision, QueryContext, Workload};
use crate::numfmt::{push_i64, push_u64};
use serde::Serialize;

const KINDS: [&str; 4] = ["thermo", "hygro", "baro", "multi"];
const FIRMWARE: [&str; 4] = ["\"1.4.2\"", "\"1.4.2\"", "\"1.5.0\"", "\"2.0.0-rc1\""];
/// Devices per building; floors per building.
const DEVICES_PER_BUILDING: u64 = 250;
const FLOORS: u64 = 12;

/// The IoT generator's knobs (shared with the devops flags where they mean the same).
#[derive(Debug, Clone, Serialize)]
pub struct IotParams {
    pub devices: u64,
    pub points_per_device: u64,
    pub start_ns: i64,
    pub interval_ns: i64,
    pub precision: Precision,
    pub seed: u64,
    pub batch_size: u64,
    /// A `door_open` boolean every Nth reading (0 = never).
    pub bool_every: u64,
    /// A `fw` string every Nth reading (0 = never).
    pub string_every: u64,
}

pub struct Iot {
    p: IotParams,
    tables: Tables,
    blocks: u64,
}

impl Iot {
    pub fn new(p: IotParams) -> Iot {
        Iot {
            tables: Tables::new(p.seed ^ 0x696f74),
            blocks: p.devices.div_ceil(p.batch_size),
            p,
        }
    }

    fn line(&self, d: u64, i: u64, out: &mut Vec<u8>) -> u64 {
        let p = &self.p;
        let seed = p.seed;
        out.extend_from_slice(b"sensor,building=b_");
        push_u64(out, d / DEVICES_PER_BUILDING);
        out.extend_from_slice(b",device=dev_");
        push_u64(out, d);
        out.extend_from_slice(b",floor=");
        push_u64(out, series_hash(seed, 1, d) % FLOORS);
        out.extend_from_slice(b",kind=");
        out.extend_from_slice(KINDS[(d % KINDS.len() as u64) as usize].as_bytes());
        out.extend_from_slice(b" temperature=");
        self.tables.float(series_hash(seed, 10, d), i).push_to(out);
        out.extend_from_slice(b",humidity=");
        self.tables.float(series_hash(seed, 11, d), i).push_to(out);
        out.extend_from_slice(b",pressure=");
        self.tables
            .float(series_hash(seed, 12, d), 3 * i)
            .push_to(out);
        out.extend_from_slice(b",battery=");
        // Drains by one percent every 50 readings from a per-device level, then recharges.
        let level = 100 - ((series_hash(seed, 13, d) % 100 + i / 50) % 100);
        push_u64(out, level);
        out.push(b'i');
        let mut values = 4;
        if p.bool_every > 0 && (i + d).is_multiple_of(p.bool_every) {
            out.extend_from_slice(if (i / p.bool_every + d).is_multiple_of(5) {
                b",door_open=true"
            } else {
                b",door_open=false"
            });
            values += 1;
        }
        if p.string_every > 0 && (i + 3 * d).is_multiple_of(p.string_every) {
            out.extend_from_slice(b",fw=");
            out.extend_from_slice(FIRMWARE[(d % FIRMWARE.len() as u64) as usize].as_bytes());
            values += 1;
        }
        out.push(b' ');
        // The device's phase inside the interval: clocks are not aligned.
        let phase = (series_hash(seed, 14, d) % p.interval_ns.max(1) as u64) as i64;
        push_i64(
            out,
            (p.start_ns + i as i64 * p.interval_ns + phase) / p.precision.nanos(),
        );
        out.push(b'\n');
        values
    }
}

impl Workload for Iot {
    fn batches(&self) -> u64 {
        self.blocks * self.p.points_per_device
    }

    fn lines(&self) -> u64 {
        self.p.devices * self.p.points_per_device
    }

    fn render(&self, idx: u64, out: &mut Vec<u8>) -> (u64, u64) {
        out.clear();
        let i = idx / self.blocks;
        let b = idx % self.blocks;
        let d1 = ((b + 1) * self.p.batch_size).min(self.p.devices);
        let mut values = 0;
        for d in b * self.p.batch_size..d1 {
            values += self.line(d, i, out);
        }
        (d1 - b * self.p.batch_size, values)
    }

    fn precision(&self) -> Precision {
        self.p.precision
    }

    fn query_context(&self) -> Option<QueryContext> {
        let p = &self.p;
        let n = p.devices;
        Some(QueryContext {
            measurement: "sensor".into(),
            key_tag: "device".into(),
            key_values: (0..8.min(n))
                .map(|k| format!("dev_{}", (42 + k * 7919) % n))
                .collect(),
            group_tag: "building".into(),
            group_value: "b_0".into(),
            float_fields: vec!["temperature".into(), "humidity".into(), "pressure".into()],
            int_field: Some("battery".into()),
            string_field: (p.string_every > 0).then(|| ("fw".into(), "2.0.0-rc1".into())),
            start_ns: p.start_ns,
            // The last device's phase can reach almost a whole interval past its point.
            end_ns: p.start_ns + p.points_per_device as i64 * p.interval_ns,
        })
    }

    fn describe(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.p).unwrap_or_default();
        v["shape"] = "iot".into();
        v["lines"] = self.lines().into();
        v["batches"] = self.batches().into();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_series_per_device_and_deterministic() {
        let p = IotParams {
            devices: 1000,
            points_per_device: 3,
            start_ns: 1_577_836_800_000_000_000,
            interval_ns: 60_000_000_000,
            precision: Precision::Ms,
            seed: 5,
            batch_size: 300,
            bool_every: 4,
            string_every: 9,
        };
        let w = Iot::new(p.clone());
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut keys = std::collections::HashSet::new();
        for idx in 0..w.batches() {
            w.render(idx, &mut a);
            Iot::new(p.clone()).render(idx, &mut b);
            assert_eq!(a, b);
            for l in String::from_utf8(a.clone()).unwrap().lines() {
                keys.insert(l.split(' ').next().unwrap().to_string());
            }
        }
        assert_eq!(keys.len(), 1000);
    }
}
