//! The field registry of a shard: which type each field of each measurement has.
//!
//! InfluxDB refuses a point whose field has another type than the shard already holds
//! (`field type conflict`), and the check must hold across every partition of the shard.
//! So each shard's registry is kept by one core, its home ([`crate::router::home_core`]),
//! persisted as `fields.log` in the shard's directory (checksummed records appended and
//! fsynced before the registration is answered). Other cores cache what they learned and
//! ask the home core only about fields they have not seen.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use tessera_storage::batch::FieldType;

/// `(measurement, field)` with the measurement in its escaped series-key form and the field
/// name unescaped.
pub type FieldKey = (Box<[u8]>, Box<[u8]>);

/// A field to register with its type and the index of the point (of the request) that
/// brought it.
pub type FieldRequest = (FieldKey, FieldType, u32);

#[derive(Debug, Clone, thiserror::Error)]
#[error("field registry {path}: {reason}")]
pub struct FieldsError {
    pub path: String,
    pub reason: String,
}

/// Why a registration failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Failed(#[from] FieldsError),
    /// The first write into a new shard brings one field with two types (see
    /// [`ShardFields::register_first`]).
    #[error("field type conflict")]
    FirstWriteConflict,
}

/// The authoritative registry of one shard (on its home core).
pub struct ShardFields {
    path: PathBuf,
    types: HashMap<FieldKey, FieldType>,
}

fn encode(measurement: &[u8], field: &[u8], t: FieldType, out: &mut Vec<u8>) {
    let mut payload = Vec::with_capacity(measurement.len() + field.len() + 5);
    payload.extend_from_slice(&(measurement.len() as u16).to_le_bytes());
    payload.extend_from_slice(measurement);
    payload.extend_from_slice(&(field.len() as u16).to_le_bytes());
    payload.extend_from_slice(field);
    payload.push(t as u8);
    frame(&payload, out);
}

/// A record as the log holds it: length, checksum, payload.
fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The type byte of a record that forgets every field of its measurement (its field name
/// is empty): DROP MEASUREMENT.
const FORGET: u8 = 0xff;

/// A record of the log: a field registered, or a measurement forgotten.
enum Record {
    Field(FieldKey, FieldType),
    Forget(Box<[u8]>),
}

fn decode_record(payload: &[u8]) -> Option<Record> {
    let ml = u16::from_le_bytes(payload.get(0..2)?.try_into().ok()?) as usize;
    let m = payload.get(2..2 + ml)?;
    let at = 2 + ml;
    let fl = u16::from_le_bytes(payload.get(at..at + 2)?.try_into().ok()?) as usize;
    if fl == 0 && *payload.get(at + 2)? == FORGET {
        return Some(Record::Forget(m.into()));
    }
    let (key, t) = decode(payload)?;
    Some(Record::Field(key, t))
}

fn decode(payload: &[u8]) -> Option<(FieldKey, FieldType)> {
    let ml = u16::from_le_bytes(payload.get(0..2)?.try_into().ok()?) as usize;
    let m = payload.get(2..2 + ml)?;
    let at = 2 + ml;
    let fl = u16::from_le_bytes(payload.get(at..at + 2)?.try_into().ok()?) as usize;
    let f = payload.get(at + 2..at + 2 + fl)?;
    let t = FieldType::from_u8(*payload.get(at + 2 + fl)?)?;
    Some(((m.into(), f.into()), t))
}

impl ShardFields {
    /// Loads `dir/fields.log`; a torn last record (crash mid-append) is ignored.
    pub fn load(dir: &Path) -> Result<ShardFields, FieldsError> {
        let path = dir.join("fields.log");
        let err = |reason: String| FieldsError {
            path: path.display().to_string(),
            reason,
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(err(e.to_string())),
        };
        let mut types = HashMap::new();
        let mut pos = 0;
        while pos + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4")) as usize;
            let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4"));
            let Some(payload) = bytes.get(pos + 8..pos + 8 + len) else {
                break;
            };
            if crc32c::crc32c(payload) != crc {
                if pos + 8 + len < bytes.len() {
                    return Err(err(format!("corrupt record at byte {pos}")));
                }
                break;
            }
            match decode_record(payload).ok_or_else(|| err(format!("bad record at byte {pos}")))? {
                Record::Field(key, t) => {
                    types.insert(key, t);
                }
                Record::Forget(m) => types.retain(|(km, _), _| *km != m),
            }
            pos += 8 + len;
        }
        Ok(ShardFields { path, types })
    }

    /// Registers the fields not known yet and returns, for each requested field, the type
    /// the shard holds after the request (`None`: still unknown). Each field names the
    /// point it came from, and the points are validated in order as influxd validates a
    /// write: a point with a field held with another type (or brought so by an earlier
    /// point) is dropped and registers none of its new fields; the new fields of the other
    /// points are registered at once, so later points see them.
    pub fn register(
        &mut self,
        fields: &[FieldRequest],
    ) -> Result<Vec<Option<FieldType>>, RegisterError> {
        let mut record = Vec::new();
        let mut added: HashMap<FieldKey, FieldType> = HashMap::new();
        let mut at = 0;
        while at < fields.len() {
            let point = fields[at].2;
            let end = at + fields[at..].iter().take_while(|f| f.2 == point).count();
            let mut local: Vec<(&FieldKey, FieldType)> = Vec::new();
            let mut valid = true;
            for (key, t, _) in &fields[at..end] {
                match self.types.get(key).or_else(|| added.get(key)) {
                    Some(h) if h != t => {
                        valid = false;
                        break;
                    }
                    Some(_) => {}
                    // (A field given twice in the point keeps its first type; the point
                    // is then dropped by the writer, its fields registered all the same.)
                    None if local.iter().any(|(k, _)| *k == key) => {}
                    None => local.push((key, *t)),
                }
            }
            if valid {
                for (key, t) in local {
                    encode(&key.0, &key.1, t, &mut record);
                    added.insert(key.clone(), t);
                }
            }
            at = end;
        }
        if !record.is_empty() {
            self.append(&record)?;
            self.types.extend(added);
        }
        Ok(fields
            .iter()
            .map(|(key, _, _)| self.types.get(key).copied())
            .collect())
    }

    /// Registers the fields of the first write into a new shard as influxd creates them
    /// there: every field of every point, in order, without validating the points
    /// against each other first. The first field that comes again with another type stops
    /// it: the fields before it stay registered, and the whole write fails
    /// ([`RegisterError::FirstWriteConflict`], influxd's `field type conflict`).
    pub fn register_first(
        &mut self,
        fields: &[FieldRequest],
    ) -> Result<Vec<Option<FieldType>>, RegisterError> {
        let mut record = Vec::new();
        let mut added: HashMap<FieldKey, FieldType> = HashMap::new();
        let mut conflict = false;
        for (key, t, _) in fields {
            match self.types.get(key).or_else(|| added.get(key)) {
                Some(h) if h != t => {
                    conflict = true;
                    break;
                }
                Some(_) => {}
                None => {
                    encode(&key.0, &key.1, *t, &mut record);
                    added.insert(key.clone(), *t);
                }
            }
        }
        if !record.is_empty() {
            self.append(&record)?;
            self.types.extend(added);
        }
        if conflict {
            return Err(RegisterError::FirstWriteConflict);
        }
        Ok(fields
            .iter()
            .map(|(key, _, _)| self.types.get(key).copied())
            .collect())
    }

    /// Forgets every field of `measurement` (escaped), durably, as influxd does on DROP
    /// MEASUREMENT: the measurement may come back with other types. Whether any was known.
    pub fn forget(&mut self, measurement: &[u8]) -> Result<bool, FieldsError> {
        if !self.types.keys().any(|(m, _)| &**m == measurement) {
            return Ok(false);
        }
        let mut payload = Vec::with_capacity(measurement.len() + 5);
        payload.extend_from_slice(&(measurement.len() as u16).to_le_bytes());
        payload.extend_from_slice(measurement);
        payload.extend_from_slice(&0u16.to_le_bytes());
        payload.push(FORGET);
        let mut record = Vec::with_capacity(payload.len() + 8);
        frame(&payload, &mut record);
        self.append(&record)?;
        self.types.retain(|(m, _), _| &**m != measurement);
        Ok(true)
    }

    /// Appends records to the log and makes them durable.
    fn append(&self, record: &[u8]) -> Result<(), FieldsError> {
        let err = |e: std::io::Error| FieldsError {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(err)?;
        f.write_all(record).and_then(|_| f.sync_data()).map_err(err)
    }

    /// How many fields are registered.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Every registered field.
    pub fn all(&self) -> impl Iterator<Item = (&FieldKey, &FieldType)> {
        self.types.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(m: &str, f: &str) -> FieldKey {
        (m.as_bytes().into(), f.as_bytes().into())
    }

    #[test]
    fn forgotten_measurements_take_new_types_and_stay_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = ShardFields::load(dir.path()).unwrap();
        r.register(&[
            (key("cpu", "a"), FieldType::Float, 0),
            (key("mem", "a"), FieldType::Float, 1),
        ])
        .unwrap();
        assert!(r.forget(b"cpu").unwrap());
        assert!(!r.forget(b"cpu").unwrap());
        assert_eq!(
            r.register(&[(key("cpu", "a"), FieldType::String, 0)])
                .expect("registers after forget"),
            vec![Some(FieldType::String)]
        );
        let r = ShardFields::load(dir.path()).unwrap();
        let mut all: Vec<_> = r.all().map(|(k, t)| (k.clone(), *t)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            all,
            vec![
                (key("cpu", "a"), FieldType::String),
                (key("mem", "a"), FieldType::Float)
            ]
        );
    }

    #[test]
    fn first_type_wins_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = ShardFields::load(dir.path()).unwrap();
        // Points are validated in order: the first type of a new field wins and a later
        // point with another type registers nothing.
        assert_eq!(
            r.register(&[
                (key("cpu", "v"), FieldType::Float, 0),
                (key("cpu", "v"), FieldType::Integer, 1),
                (key("cpu", "s"), FieldType::String, 1),
                (key("cpu", "s"), FieldType::String, 2),
            ])
            .expect("registers"),
            vec![
                Some(FieldType::Float),
                Some(FieldType::Float),
                Some(FieldType::String),
                Some(FieldType::String)
            ]
        );
        let mut r = ShardFields::load(dir.path()).unwrap();
        assert_eq!(
            r.register(&[(key("cpu", "v"), FieldType::Boolean, 0)])
                .expect("registers"),
            vec![Some(FieldType::Float)]
        );
        assert_eq!(r.all().count(), 2);
        // A field twice in one point with two types keeps the first (the writer then
        // drops the point).
        assert_eq!(
            r.register(&[
                (key("cpu", "w"), FieldType::Float, 0),
                (key("cpu", "w"), FieldType::Integer, 0),
            ])
            .expect("registers"),
            vec![Some(FieldType::Float), Some(FieldType::Float)]
        );
        // A point conflicting with a held field registers none of its new fields; another
        // point's are registered.
        assert_eq!(
            r.register(&[
                (key("cpu", "n"), FieldType::Integer, 0),
                (key("cpu", "v"), FieldType::String, 0),
                (key("cpu", "m"), FieldType::Integer, 1),
            ])
            .expect("registers"),
            vec![None, Some(FieldType::Float), Some(FieldType::Integer)]
        );
        assert_eq!(r.all().count(), 4);
        // A torn tail is ignored.
        let path = dir.path().join("fields.log");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[9, 0, 0, 0, 1, 2]);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(
            ShardFields::load(dir.path())
                .expect("loads past a torn tail")
                .all()
                .count(),
            4
        );
    }

    #[test]
    fn a_first_write_stops_at_its_first_conflict() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut r = ShardFields::load(dir.path()).expect("empty registry");
        // Every field in order, points not validated against each other: `x` (after the
        // conflict) is not created, `a` (before it) is, durably.
        let first = r.register_first(&[
            (key("cpu", "v"), FieldType::Float, 0),
            (key("cpu", "a"), FieldType::Float, 0),
            (key("cpu", "v"), FieldType::String, 1),
            (key("cpu", "x"), FieldType::Integer, 2),
        ]);
        assert!(matches!(first, Err(RegisterError::FirstWriteConflict)));
        let r = ShardFields::load(dir.path()).expect("reloads");
        let mut names: Vec<_> = r.all().map(|(k, t)| (k.1.to_vec(), *t)).collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                (b"a".to_vec(), FieldType::Float),
                (b"v".to_vec(), FieldType::Float)
            ]
        );
        // Without a conflict it answers every field's type.
        let mut r = r;
        assert_eq!(
            r.register_first(&[
                (key("mem", "u"), FieldType::Integer, 0),
                (key("mem", "u"), FieldType::Integer, 1),
            ])
            .expect("no conflict"),
            vec![Some(FieldType::Integer), Some(FieldType::Integer)]
        );
    }
}
