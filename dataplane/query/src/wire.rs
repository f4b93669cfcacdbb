//! A [`Partial`] as bytes, so that a data node can reduce the shards it owns and ship the
//! result to the node coordinating the query, which merges it like a local core's.
//!
//! Little-endian, length-prefixed; every length is checked against the bytes left before
//! anything is allocated, so hostile input is an error, never a panic or a huge
//! allocation. Reducer states use `tessera_functions::Reducer::encode`.

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_functions::Arg;

use crate::agg::Reducer;
use crate::exec::{AuxRow, ExplainStat, GroupKey, Partial, RawSeries};
use crate::value::Value;

const VERSION: u8 = 6;

/// Why bytes are not a partial.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bad partial result at byte {at}: {what}")]
pub struct WireError {
    pub at: usize,
    pub what: String,
}

/// Encodes a partial result.
pub fn encode(p: &Partial) -> Vec<u8> {
    let mut w = Vec::with_capacity(256);
    w.push(VERSION);
    put_u64(&mut w, p.points);
    put_u64(&mut w, p.series);
    put_len(&mut w, p.raw.len());
    for r in &p.raw {
        put_group(&mut w, &r.group);
        put_u64(&mut w, r.shard);
        put_bytes(&mut w, &r.series_key);
        put_tags(&mut w, &r.tags);
        put_len(&mut w, r.times.len());
        for t in &r.times {
            put_u64(&mut w, *t as u64);
        }
        put_len(&mut w, r.cols.len());
        for c in &r.cols {
            put_len(&mut w, c.len());
            for v in c {
                put_value(&mut w, v);
            }
        }
    }
    // Sorted, so that equal partials encode equally.
    let mut groups: Vec<_> = p.groups.iter().collect();
    groups.sort_by(|a, b| a.0.cmp(b.0));
    put_len(&mut w, groups.len());
    for (g, windows) in groups {
        put_group(&mut w, g);
        put_len(&mut w, windows.len());
        for (start, reducers) in windows {
            put_u64(&mut w, *start as u64);
            put_len(&mut w, reducers.len());
            for r in reducers {
                put_reducer(&mut w, r);
            }
        }
    }
    let mut aux: Vec<_> = p.aux.iter().collect();
    aux.sort_by_key(|(id, _)| **id);
    put_len(&mut w, aux.len());
    for (id, row) in aux {
        put_u64(&mut w, *id);
        put_len(&mut w, row.fields.len());
        for v in &row.fields {
            put_value(&mut w, v);
        }
        put_tags(&mut w, &row.tags);
    }
    put_len(&mut w, p.tag_sets.len());
    for g in &p.tag_sets {
        put_group(&mut w, g);
    }
    put_len(&mut w, p.explain.len());
    for e in &p.explain {
        put_u64(&mut w, e.shard);
        put_bytes(&mut w, e.measurement.as_bytes());
        put_u64(&mut w, e.series);
        put_len(&mut w, e.hashes.len());
        for h in &e.hashes {
            put_u64(&mut w, *h);
        }
        put_len(&mut w, e.fields.len());
        for (name, st) in &e.fields {
            put_bytes(&mut w, name.as_bytes());
            for v in [st.files, st.blocks, st.bytes, st.cached] {
                put_u64(&mut w, v);
            }
        }
    }
    put_u64(&mut w, p.selected);
    w.push(u8::from(p.presence_overflow));
    put_len(&mut w, p.presence.len());
    for s in &p.presence {
        put_u64(&mut w, s.shard);
        put_group(&mut w, &s.group);
        put_bytes(&mut w, &s.key);
        put_len(&mut w, s.windows.len());
        for t in &s.windows {
            put_u64(&mut w, *t as u64);
        }
        put_u64(&mut w, s.first as u64);
        put_u64(&mut w, s.last as u64);
    }
    w
}

/// Decodes a partial written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Partial, WireError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = r.u8()?;
    if v != VERSION {
        return Err(r.err(format!("unknown version {v}")));
    }
    let mut p = Partial {
        points: r.u64()?,
        series: r.u64()?,
        ..Partial::default()
    };
    let n = r.len(8)?;
    for _ in 0..n {
        let group = r.group()?;
        let shard = r.u64()?;
        let series_key = r.bytes()?.to_vec();
        let tags = r.tags()?;
        let nt = r.len(8)?;
        let mut times = Vec::with_capacity(nt);
        for _ in 0..nt {
            times.push(r.u64()? as i64);
        }
        let nc = r.len(1)?;
        let mut cols = Vec::with_capacity(nc);
        for _ in 0..nc {
            let nv = r.len(1)?;
            let mut col = Vec::with_capacity(nv);
            for _ in 0..nv {
                col.push(r.value()?);
            }
            cols.push(col);
        }
        p.raw.push(RawSeries {
            group,
            shard,
            series_key,
            tags,
            times,
            cols,
            seq: None,
            part: 0,
            measured: false,
        });
    }
    let ng = r.len(1)?;
    for _ in 0..ng {
        let g = r.group()?;
        let nw = r.len(9)?;
        let mut windows = BTreeMap::new();
        for _ in 0..nw {
            let start = r.u64()? as i64;
            let nr = r.len(1)?;
            let mut reducers = Vec::with_capacity(nr);
            for _ in 0..nr {
                reducers.push(r.reducer()?);
            }
            windows.insert(start, reducers);
        }
        p.groups.insert(g, windows);
    }
    let na = r.len(9)?;
    let mut aux = crate::exec::FastMap::with_capacity_and_hasher(na, Default::default());
    for _ in 0..na {
        let id = r.u64()?;
        let nf = r.len(1)?;
        let mut fields = Vec::with_capacity(nf);
        for _ in 0..nf {
            fields.push(r.value()?);
        }
        let tags = r.tags()?;
        aux.insert(id, AuxRow { fields, tags });
    }
    p.aux = aux;
    let ns = r.len(1)?;
    for _ in 0..ns {
        p.tag_sets.insert(r.group()?);
    }
    let ne = r.len(20)?;
    for _ in 0..ne {
        let shard = r.u64()?;
        let measurement = r.string()?;
        let series = r.u64()?;
        let nh = r.len(8)?;
        let mut hashes = Vec::with_capacity(nh);
        for _ in 0..nh {
            hashes.push(r.u64()?);
        }
        let nf = r.len(36)?;
        let mut fields = Vec::with_capacity(nf);
        for _ in 0..nf {
            let name = r.string()?;
            let st = tessera_storage::partition::FieldStats {
                files: r.u64()?,
                blocks: r.u64()?,
                bytes: r.u64()?,
                cached: r.u64()?,
            };
            fields.push((name, st));
        }
        p.explain.push(ExplainStat {
            shard,
            measurement,
            series,
            hashes,
            fields,
        });
    }
    p.selected = r.u64()?;
    p.presence_overflow = r.u8()? != 0;
    let np = r.len(40)?;
    for _ in 0..np {
        let shard = r.u64()?;
        let group = r.group()?;
        let key = r.bytes()?.to_vec();
        let nw = r.len(8)?;
        let mut windows = Vec::with_capacity(nw);
        for _ in 0..nw {
            windows.push(r.u64()? as i64);
        }
        p.presence.push(crate::exec::SeriesWindows {
            shard,
            group,
            key,
            windows,
            first: r.u64()? as i64,
            last: r.u64()? as i64,
        });
    }
    if r.pos != bytes.len() {
        return Err(r.err(format!("{} trailing bytes", bytes.len() - r.pos)));
    }
    Ok(p)
}

fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_len(w: &mut Vec<u8>, n: usize) {
    w.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put_len(w, b.len());
    w.extend_from_slice(b);
}

fn put_group(w: &mut Vec<u8>, g: &GroupKey) {
    put_bytes(w, g.measurement.as_bytes());
    put_len(w, g.tags.len());
    for t in &g.tags {
        put_bytes(w, t.as_bytes());
    }
}

fn put_tags(w: &mut Vec<u8>, tags: &[(String, String)]) {
    put_len(w, tags.len());
    for (k, v) in tags {
        put_bytes(w, k.as_bytes());
        put_bytes(w, v.as_bytes());
    }
}

fn put_value(w: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => w.push(0),
        Value::Float(f) => {
            w.push(1);
            put_u64(w, f.to_bits());
        }
        Value::Integer(i) => {
            w.push(2);
            put_u64(w, *i as u64);
        }
        Value::Unsigned(u) => {
            w.push(3);
            put_u64(w, *u);
        }
        Value::String(s) => {
            w.push(4);
            put_bytes(w, s.as_bytes());
        }
        Value::Boolean(b) => {
            w.push(5);
            w.push(*b as u8);
        }
        Value::Time(t) => {
            w.push(6);
            put_u64(w, *t as u64);
        }
        Value::Strings(v) => {
            w.push(7);
            put_len(w, v.len());
            for s in v {
                put_bytes(w, s.as_bytes());
            }
        }
    }
}

fn put_reducer(w: &mut Vec<u8>, r: &Reducer) {
    let (name, args, inner) = r.parts();
    put_bytes(w, name.as_bytes());
    put_len(w, args.len());
    for a in args {
        match a {
            Arg::Integer(i) => {
                w.push(0);
                put_u64(w, *i as u64);
            }
            Arg::Float(f) => {
                w.push(1);
                put_u64(w, f.to_bits());
            }
            Arg::Duration(d) => {
                w.push(2);
                put_u64(w, *d as u64);
            }
            Arg::Ident(s) => {
                w.push(3);
                put_bytes(w, s.as_bytes());
            }
            Arg::String(s) => {
                w.push(4);
                put_bytes(w, s.as_bytes());
            }
            Arg::Boolean(b) => {
                w.push(5);
                w.push(u8::from(*b));
            }
        }
    }
    match inner {
        None => w.push(0),
        Some(inner) => {
            w.push(1);
            let mut buf = Vec::new();
            inner.encode(&mut buf);
            put_bytes(w, &buf);
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: impl Into<String>) -> WireError {
        WireError {
            at: self.pos,
            what: what.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| self.err("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// A count of items each at least `min_size` bytes long: refused when the bytes left
    /// cannot hold them.
    fn len(&mut self, min_size: usize) -> Result<usize, WireError> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize;
        if n.saturating_mul(min_size.max(1)) > self.buf.len() - self.pos {
            return Err(self.err(format!("count {n} exceeds the bytes left")));
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.len(1)?;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, WireError> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| self.err("string is not UTF-8"))
    }

    fn group(&mut self) -> Result<GroupKey, WireError> {
        let measurement = self.string()?;
        let n = self.len(4)?;
        let mut tags = Vec::with_capacity(n);
        for _ in 0..n {
            tags.push(self.string()?);
        }
        Ok(GroupKey { measurement, tags })
    }

    fn tags(&mut self) -> Result<Arc<Vec<(String, String)>>, WireError> {
        let n = self.len(8)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push((self.string()?, self.string()?));
        }
        Ok(Arc::new(out))
    }

    fn value(&mut self) -> Result<Value, WireError> {
        Ok(match self.u8()? {
            0 => Value::Null,
            1 => Value::Float(f64::from_bits(self.u64()?)),
            2 => Value::Integer(self.u64()? as i64),
            3 => Value::Unsigned(self.u64()?),
            4 => Value::String(self.string()?),
            5 => Value::Boolean(self.u8()? != 0),
            6 => Value::Time(self.u64()? as i64),
            7 => {
                let n = self.len(4)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.string()?);
                }
                Value::Strings(v)
            }
            t => return Err(self.err(format!("unknown value type {t}"))),
        })
    }

    fn reducer(&mut self) -> Result<Reducer, WireError> {
        let name = self.string()?;
        let n = self.len(2)?;
        let mut args = Vec::with_capacity(n);
        for _ in 0..n {
            args.push(match self.u8()? {
                0 => Arg::Integer(self.u64()? as i64),
                1 => Arg::Float(f64::from_bits(self.u64()?)),
                2 => Arg::Duration(self.u64()? as i64),
                3 => Arg::Ident(self.string()?),
                4 => Arg::String(self.string()?),
                5 => Arg::Boolean(self.u8()? != 0),
                t => return Err(self.err(format!("unknown argument type {t}"))),
            });
        }
        let inner = match self.u8()? {
            0 => None,
            1 => {
                let b = self.bytes()?;
                let (r, used) = tessera_functions::Reducer::decode(b)
                    .map_err(|e| self.err(format!("reducer: {e}")))?;
                if used != b.len() {
                    return Err(self.err("reducer: trailing bytes"));
                }
                Some(r)
            }
            t => return Err(self.err(format!("unknown reducer flag {t}"))),
        };
        Ok(Reducer::from_parts(name, args, inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_functions::ValueType;

    fn sample() -> Partial {
        let mut p = Partial {
            points: 42,
            series: 3,
            ..Partial::default()
        };
        p.explain.push(ExplainStat {
            shard: 7,
            measurement: "cpu".into(),
            series: 2,
            hashes: vec![1, u64::MAX],
            fields: vec![(
                "usage".into(),
                tessera_storage::partition::FieldStats {
                    files: 1,
                    blocks: 3,
                    bytes: 677,
                    cached: 9,
                },
            )],
        });
        let g = GroupKey {
            measurement: "cpu".into(),
            tags: vec!["a".into()],
        };
        p.raw.push(RawSeries {
            group: g.clone(),
            shard: 7,
            series_key: b"cpu,host=a".to_vec(),
            tags: Arc::new(vec![("host".into(), "a".into())]),
            times: vec![1, 2, 3],
            cols: vec![
                vec![Value::Float(1.5), Value::Null, Value::Float(-0.0)],
                vec![
                    Value::String("x".into()),
                    Value::Boolean(true),
                    Value::Unsigned(7),
                ],
            ],
            seq: None,
            part: 0,
            measured: false,
        });
        let mut windows = BTreeMap::new();
        windows.insert(0, vec![Reducer::from_parts("count".into(), vec![], None)]);
        p.groups.insert(g, windows);
        p.aux.insert(
            9,
            AuxRow {
                fields: vec![Value::Integer(-4), Value::Time(5)],
                tags: Arc::new(vec![]),
            },
        );
        p.presence.push(crate::exec::SeriesWindows {
            shard: 3,
            group: GroupKey {
                measurement: "cpu".into(),
                tags: vec!["eu".into()],
            },
            key: b"cpu,host=a".to_vec(),
            windows: vec![-60, 0, 60],
            first: -59,
            last: 61,
        });
        p
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let bytes = encode(&p);
        let q = decode(&bytes).unwrap();
        assert_eq!(encode(&q), bytes);
        assert_eq!(q.points, 42);
        assert_eq!(q.raw[0].cols[0][2], Value::Float(-0.0));
        assert_eq!(q.aux[&9].fields[1], Value::Time(5));
        assert_eq!(q.presence, p.presence);
        assert!(!q.presence_overflow);
    }

    /// A percentile partial of the series `keys` (ties everywhere: value = time % 3).
    fn percentile_partial(keys: &[&str]) -> Reducer {
        let mut inner =
            tessera_functions::reducer("percentile", &[Arg::Float(50.0)], ValueType::Float)
                .unwrap();
        for k in keys {
            let times: Vec<i64> = (0..9).collect();
            let vals: Vec<f64> = times.iter().map(|t| (t % 3) as f64).collect();
            inner.set_series_key(k.as_bytes());
            let aux = u64::from(k.as_bytes()[k.len() - 1]) << 32;
            inner.push_floats(&times, &vals, aux).unwrap();
        }
        Reducer::from_parts("percentile".into(), vec![Arg::Float(50.0)], Some(inner))
    }

    #[test]
    fn shipped_partials_keep_series_key_order() {
        let want = percentile_partial(&["cpu,host=a", "cpu,host=b", "cpu,host=c"]).finish(0, false);
        let g = GroupKey {
            measurement: "cpu".into(),
            tags: vec![],
        };
        // A remote node holding c and a (in that order) ships its partial; the
        // coordinator merges it into its own share (b).
        let mut remote = Partial::default();
        let mut windows = BTreeMap::new();
        windows.insert(0, vec![percentile_partial(&["cpu,host=c", "cpu,host=a"])]);
        remote.groups.insert(g.clone(), windows);
        let bytes = encode(&remote);
        let mut local = Partial::default();
        let mut windows = BTreeMap::new();
        windows.insert(0, vec![percentile_partial(&["cpu,host=b"])]);
        local.groups.insert(g.clone(), windows);
        local.merge(decode(&bytes).unwrap());
        let got = local
            .groups
            .remove(&g)
            .unwrap()
            .remove(&0)
            .unwrap()
            .remove(0);
        let (got, want): (Vec<_>, Vec<_>) = (
            got.finish(0, false)
                .into_iter()
                .map(|o| (o.time, o.aux))
                .collect(),
            want.into_iter().map(|o| (o.time, o.aux)).collect(),
        );
        assert_eq!(got, want);
    }

    #[test]
    fn hostile_bytes_are_errors() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for i in 0..20_000 {
            let mut b = bytes.clone();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % b.len();
            b[at] = (seed >> 32) as u8;
            if i % 3 == 0 {
                b[(seed >> 16) as usize % bytes.len()] = 0xff;
            }
            let _ = decode(&b);
        }
    }
}
