//! The wire encoding of a [`Reducer`]: a remote node reduces its shards,
//! encodes each partial, the coordinator decodes and merges them.
//!
//! ```text
//! reducer := version:u8 function:u8 input:u8 arguments state
//! ```
//! `function` indexes the names of `build` (so `count(distinct)` and
//! `count_distinct` stay apart), `input` is 0 float, 1 integer, 2 unsigned,
//! 3 string, 4 boolean. The arguments are those of the function: integral's
//! unit (zigzag ns), percentile's float, sample's N, top/bottom's N and tag
//! keys. Decoding rebuilds the function through [`super::reducer`] (the same
//! checks as at query start), which also fixes the state's shape, so the
//! state is written without tags: see the `save`/`load` pair of each state
//! type for its fields.

use super::build::{reducer, NAMES};
use super::column::Kept;
use super::edge::Edge;
use super::selector::Pick;
use super::{Func, Reducer, State};
use crate::error::FunctionError;
use crate::value::{Arg, ValueType};
use crate::wire::{self, Reader};

/// First byte of every encoding; bump on any change to the format.
/// 2: kept points carry each run's series key, a selected point its key.
/// 3: a selector's state starts with its form (0 one point, 1 first/last's edge points).
const VERSION: u8 = 3;

/// The input type codes, by index.
const TYPES: [ValueType; 5] = [
    ValueType::Float,
    ValueType::Integer,
    ValueType::Unsigned,
    ValueType::String,
    ValueType::Boolean,
];

impl Reducer {
    /// Appends this reducer's complete state (function, arguments, input
    /// type, running state) to `out`; [`Reducer::decode`] reads it back.
    /// The bytes are canonical: equal states encode identically.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let name = NAMES
            .iter()
            .position(|n| *n == self.name)
            .expect("a reducer's name comes from NAMES");
        let input = TYPES
            .iter()
            .position(|t| *t == self.input)
            .expect("TYPES lists every type");
        out.extend_from_slice(&[VERSION, name as u8, input as u8]);
        match &self.func {
            Func::Integral { unit } => wire::put_ivarint(out, *unit),
            Func::Percentile(p) => wire::put_f64(out, *p),
            Func::Sample(n) => wire::put_uvarint(out, *n as u64),
            Func::Top { n, tags } | Func::Bottom { n, tags } => {
                wire::put_uvarint(out, *n as u64);
                wire::put_uvarint(out, tags.len() as u64);
                for t in tags {
                    wire::put_str(out, t);
                }
            }
            _ => {}
        }
        match &self.state {
            State::Count(n) => wire::put_ivarint(out, *n),
            State::Sum(a) => a.save(out),
            State::Mean(m) => m.save(out),
            State::Spread(s) => s.save(out),
            State::Select(s) => {
                out.push(0);
                s.save(out);
            }
            State::Edge(e) => {
                out.push(1);
                e.save(out);
            }
            State::Distinct(d) => d.save(out),
            State::Kept(k) => k.save(out),
            State::TopBottom(t) => t.save(out),
            State::Sample(s) => s.save(out),
        }
    }

    /// Reads one reducer written by [`Reducer::encode`] from the front of
    /// `bytes`; returns it and the number of bytes consumed. Truncated,
    /// corrupt or foreign input gives [`FunctionError::Decode`], never a
    /// panic, and no length is trusted beyond what the input can hold.
    pub fn decode(bytes: &[u8]) -> Result<(Reducer, usize), FunctionError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(r.error("version", &format!("unknown format version {version}")));
        }
        let name = *NAMES
            .get(usize::from(r.u8("function")?))
            .ok_or_else(|| r.error("function", "unknown function code"))?;
        let input = *TYPES
            .get(usize::from(r.u8("input type")?))
            .ok_or_else(|| r.error("input type", "unknown type code"))?;
        let args = match name {
            "integral" => vec![Arg::Duration(r.ivarint("integral unit")?)],
            "percentile" => vec![Arg::Float(r.f64("percentile")?)],
            "sample" => vec![Arg::Integer(positive(&mut r, "sample size")?)],
            "top" | "bottom" => {
                let n = positive(&mut r, "top/bottom N")?;
                let k = r.count(1, "tag argument count")?;
                let mut args = Vec::with_capacity(k + 1);
                for _ in 0..k {
                    args.push(Arg::Ident(r.str("tag argument")?.to_string()));
                }
                args.push(Arg::Integer(n));
                args
            }
            _ => Vec::new(),
        };
        let mut red = reducer(name, &args, input)
            .map_err(|e| r.error("function", &format!("refused: {e}")))?;
        match &mut red.state {
            State::Count(n) => {
                *n = r.ivarint("count")?;
                if *n < 0 {
                    return Err(r.error("count", "negative"));
                }
            }
            State::Sum(a) => a.load(&mut r)?,
            State::Mean(m) => m.load(&mut r)?,
            State::Spread(s) => s.load(&mut r)?,
            State::Select(s) => match (r.u8("selector form")?, &red.func) {
                (0, _) => s.load(&mut r, input)?,
                (1, Func::Select(pick @ (Pick::First | Pick::Last))) => {
                    red.state = State::Edge(Edge::load(&mut r, *pick, input)?);
                }
                _ => return Err(r.error("selector form", "unknown")),
            },
            State::Edge(_) => return Err(r.error("selector form", "built as an edge state")),
            State::Distinct(d) => d.load(&mut r, input)?,
            State::Kept(k) => *k = Kept::load(&mut r, input)?,
            State::TopBottom(t) => t.load(&mut r, input)?,
            State::Sample(s) => s.load(&mut r, input)?,
        }
        Ok((red, r.position()))
    }
}

/// A varint in 1..=i64::MAX, as `reducer()` takes it from an integer literal.
fn positive(r: &mut Reader<'_>, what: &str) -> Result<i64, FunctionError> {
    match i64::try_from(r.uvarint(what)?) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(r.error(what, "not a positive integer")),
    }
}
