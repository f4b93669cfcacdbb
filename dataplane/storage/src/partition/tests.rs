use super::*;
use crate::batch::{BatchBuilder, Value};
use crate::column::Values;

use crate::run_test as run;

fn batch(series: usize, t: i64) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for s in 0..series {
        b.point(format!("cpu,host=h{s:03}").as_bytes(), t).unwrap();
        b.field(b"usage", Value::Float(t as f64 / 100.0 + s as f64))
            .unwrap();
        b.field(b"uptime", Value::Integer(t)).unwrap();
        b.field(b"ok", Value::Boolean(t % 2 == 0)).unwrap();
        b.field(b"status", Value::Str(b"ok")).unwrap();
        b.field(b"big", Value::Unsigned(u64::MAX - t as u64))
            .unwrap();
    }
    b.finish()
}

fn small() -> PartitionConfig {
    PartitionConfig {
        cache_snapshot_bytes: 64 << 10,
        level0_files: 3,
        ..PartitionConfig::default()
    }
}

async fn check_all(p: &Partition, series: usize, points: i64) {
    let keys = p.series_keys();
    assert_eq!(keys.len(), series);
    for key in &keys {
        let fields = p.fields_of(key);
        assert_eq!(fields.len(), 5, "{fields:?}");
        let col = p
            .read_field(key, b"uptime", i64::MIN, i64::MAX)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(col.ts, (0..points).map(|t| t * 10).collect::<Vec<_>>());
        assert_eq!(
            col.values,
            Values::Integer((0..points).map(|t| t * 10).collect())
        );
        let col = p
            .read_field(key, b"big", i64::MIN, i64::MAX)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(col.len(), points as usize);
    }
}

/// The timestamps of a series' `uptime` points.
async fn uptimes_of(p: &Partition, key: &[u8]) -> Vec<i64> {
    p.read_field(key, b"uptime", i64::MIN, i64::MAX)
        .await
        .unwrap()
        .map(|c| c.ts)
        .unwrap_or_default()
}

#[test]
fn survives_flush_compaction_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (data, wal) = (dir.path().join("data"), dir.path().join("wal"));
    let (d2, w2) = (data.clone(), wal.clone());
    run(move || async move {
        let p = Partition::open(&d2, &w2, small()).await.unwrap();
        for i in 0..300 {
            p.write(&batch(20, i * 10)).await.unwrap();
        }
        check_all(&p, 20, 300).await;
        p.flush().await.unwrap();
        // Let background compactions finish.
        for _ in 0..100 {
            glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
        }
        let (files, _, cache, _) = p.stats();
        assert!(files >= 1, "flushed to files");
        assert_eq!(cache, 0);
        check_all(&p, 20, 300).await;
        // Overwrite one point: the newest write wins, across file and cache.
        let mut b = BatchBuilder::new();
        b.point(b"cpu,host=h000", 50).unwrap();
        b.field(b"uptime", Value::Integer(-1)).unwrap();
        p.write(&b.finish()).await.unwrap();
        let col = p
            .read_field(b"cpu,host=h000", b"uptime", 50, 50)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(col.values, Values::Integer(vec![-1]));
    });
    // Reopen: files plus WAL replay give back everything.
    run(move || async move {
        let p = Partition::open(&data, &wal, small()).await.unwrap();
        let col = p
            .read_field(b"cpu,host=h000", b"uptime", 40, 60)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(col.values, Values::Integer(vec![40, -1, 60]));
        // The series index and scan see files and WAL alike.
        assert_eq!(p.index().len(), 20);
        assert_eq!(p.index().tag_values(b"cpu", b"host").len(), 20);
        let pred = crate::index::TagPredicate::Eq(b"host".to_vec(), b"h003".to_vec());
        let got = p
            .scan(b"cpu", &pred, Some(&[b"uptime".to_vec()]), 0, 30)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].series_key, b"cpu,host=h003");
        assert_eq!(
            got[0].fields[0].1.values,
            Values::Integer(vec![0, 10, 20, 30])
        );
        let all = p
            .scan(b"cpu", &crate::index::TagPredicate::All, None, 0, 0)
            .await
            .unwrap();
        assert_eq!(all.len(), 20);
        assert_eq!(all[0].fields.len(), 5);
        p.compact_full().await.unwrap();
        assert_eq!(p.stats().0, 1, "one file after a full compaction");
        let col = p
            .read_field(b"cpu,host=h000", b"uptime", 40, 60)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(col.values, Values::Integer(vec![40, -1, 60]));
        let mut out = Vec::new();
        let lines = crate::export::export_partition(&p, 0, 20, &mut out)
            .await
            .unwrap();
        assert_eq!(lines, 20 * 5 * 3);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("cpu,host=h001 big=18446744073709551615u 0\n"),
            "{text}"
        );
        assert!(text.contains("cpu,host=h001 status=\"ok\" 10\n"), "{text}");
        assert!(text.contains("cpu,host=h001 usage=1.1 10\n"), "{text}");
    });
}

#[test]
fn corrupt_file_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let (data, wal) = (dir.path().join("data"), dir.path().join("wal"));
    let (d2, w2) = (data.clone(), wal.clone());
    run(move || async move {
        let p = Partition::open(&d2, &w2, small()).await.unwrap();
        p.write(&batch(5, 0)).await.unwrap();
        p.flush().await.unwrap();
    });
    let file = std::fs::read_dir(&data)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    run(move || async move {
        let err = Partition::open(&data, &wal, small())
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
    });
}

#[test]
fn deletes_survive_compaction_and_reopen_and_leave_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let (data, wal) = (dir.path().join("data"), dir.path().join("wal"));
    let (d2, w2) = (data.clone(), wal.clone());
    let uptimes = |c: Option<Column>| -> Vec<i64> { c.map(|c| c.ts).unwrap_or_default() };
    run(move || async move {
        let p = Partition::open(&d2, &w2, small()).await.unwrap();
        for t in 0..20 {
            p.write(&batch(3, t * 10)).await.unwrap();
        }
        p.flush().await.unwrap();
        for t in 20..30 {
            p.write(&batch(3, t * 10)).await.unwrap();
        }
        // A range of one series (data in a file and in the cache), all of another.
        p.delete_series(&[b"cpu,host=h000".to_vec()], 50, 249)
            .await
            .unwrap();
        p.delete_series(&[b"cpu,host=h001".to_vec()], i64::MIN, i64::MAX)
            .await
            .unwrap();
        let h0 = uptimes(
            p.read_field(b"cpu,host=h000", b"uptime", i64::MIN, i64::MAX)
                .await
                .unwrap(),
        );
        let want: Vec<i64> = (0..30)
            .map(|t| t * 10)
            .filter(|t| !(50..=249).contains(t))
            .collect();
        assert_eq!(h0, want);
        assert!(!p.index().contains(b"cpu,host=h001"));
        assert!(p.index().contains(b"cpu,host=h000"));
        // Written after the delete: kept.
        p.write(&batch(3, 1000)).await.unwrap();
        // The index learns series as they are written, not only at open.
        assert!(p.index().contains(b"cpu,host=h001"));
        p.compact_full().await.unwrap();
        let h1 = uptimes(
            p.read_field(b"cpu,host=h001", b"uptime", i64::MIN, i64::MAX)
                .await
                .unwrap(),
        );
        assert_eq!(h1, vec![1000]);
    });
    run(move || async move {
        let p = Partition::open(&data, &wal, small()).await.unwrap();
        let h0 = uptimes(
            p.read_field(b"cpu,host=h000", b"uptime", i64::MIN, i64::MAX)
                .await
                .unwrap(),
        );
        let mut want: Vec<i64> = (0..30)
            .map(|t| t * 10)
            .filter(|t| !(50..=249).contains(t))
            .collect();
        want.push(1000);
        assert_eq!(h0, want);
        let h1 = uptimes(
            p.read_field(b"cpu,host=h001", b"uptime", i64::MIN, i64::MAX)
                .await
                .unwrap(),
        );
        assert_eq!(h1, vec![1000]);
        assert!(p.index().contains(b"cpu,host=h001"));
        let h2 = uptimes(
            p.read_field(b"cpu,host=h002", b"uptime", i64::MIN, i64::MAX)
                .await
                .unwrap(),
        );
        assert_eq!(h2.len(), 31);
    });
}

#[test]
fn compaction_with_a_file_newer_than_a_tombstone_keeps_the_delete() {
    // The merged file takes its newest input's generation: were the deleted points of
    // the older inputs copied into it, the tombstone (which masks only files older than
    // itself) would no longer mask them, and the series would come back.
    let dir = tempfile::tempdir().unwrap();
    let (data, wal) = (dir.path().join("data"), dir.path().join("wal"));
    let (d2, w2) = (data.clone(), wal.clone());
    run(move || async move {
        let p = Partition::open(&d2, &w2, small()).await.unwrap();
        for t in 0..20 {
            p.write(&batch(3, t * 10)).await.unwrap();
        }
        p.flush().await.unwrap();
        p.delete_series(&[b"cpu,host=h001".to_vec()], i64::MIN, i64::MAX)
            .await
            .unwrap();
        p.delete_series(&[b"cpu,host=h002".to_vec()], 50, 99)
            .await
            .unwrap();
        // Written after the deletes, then flushed: a file newer than the tombstones.
        p.write(&batch(2, 1000)).await.unwrap();
        p.flush().await.unwrap();
        p.compact_full().await.unwrap();
        let h1 = uptimes_of(&p, b"cpu,host=h001").await;
        assert_eq!(h1, vec![1000]);
        let h2 = uptimes_of(&p, b"cpu,host=h002").await;
        let want: Vec<i64> = (0..20)
            .map(|t| t * 10)
            .filter(|t| !(50..=99).contains(t))
            .collect();
        assert_eq!(h2, want);
    });
    run(move || async move {
        let p = Partition::open(&data, &wal, small()).await.unwrap();
        let h1 = uptimes_of(&p, b"cpu,host=h001").await;
        assert_eq!(h1, vec![1000]);
        let h2 = uptimes_of(&p, b"cpu,host=h002").await;
        assert_eq!(h2.len(), 15);
    });
}

#[test]
fn a_series_deleted_and_written_again_with_another_type_survives_compaction() {
    // DROP MEASUREMENT lets a field come back with another type: the deleted float points
    // must neither hide the new string ones nor make the merge drop them.
    let dir = tempfile::tempdir().unwrap();
    let (data, wal) = (dir.path().join("data"), dir.path().join("wal"));
    let (d2, w2) = (data.clone(), wal.clone());
    let key = b"m,h=1";
    let one = |t: i64, v: Value| {
        let mut b = BatchBuilder::new();
        b.point(key, t).unwrap();
        b.field(b"a", v).unwrap();
        b.finish()
    };
    run(move || async move {
        let p = Partition::open(&d2, &w2, small()).await.unwrap();
        p.write(&one(10, Value::Float(1.5))).await.unwrap();
        p.flush().await.unwrap();
        p.delete_series(&[key.to_vec()], i64::MIN, i64::MAX)
            .await
            .unwrap();
        p.write(&one(20, Value::Str(b"s"))).await.unwrap();
        p.flush().await.unwrap();
        let col = p.read_field(key, b"a", i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(
            col.map(|c| (c.field_type(), c.ts)),
            Some((FieldType::String, vec![20]))
        );
        assert_eq!(p.fields_of(key), vec![(b"a".to_vec(), FieldType::String)]);
        p.compact_full().await.unwrap();
        let col = p.read_field(key, b"a", i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(
            col.map(|c| (c.field_type(), c.ts)),
            Some((FieldType::String, vec![20]))
        );
    });
    run(move || async move {
        let p = Partition::open(&data, &wal, small()).await.unwrap();
        let col = p.read_field(key, b"a", i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(
            col.map(|c| (c.field_type(), c.ts)),
            Some((FieldType::String, vec![20]))
        );
    });
}

#[test]
fn series_index_is_persisted_and_rebuilt_when_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let (data, wal) = (dir.path().join("data"), dir.path().join("wal"));
    fn series(p: &Partition) -> Vec<Vec<u8>> {
        let index = p.index();
        let mut out: Vec<Vec<u8>> = index
            .select(b"cpu", &TagPredicate::All)
            .iter()
            .filter_map(|id| index.key(id).map(<[u8]>::to_vec))
            .collect();
        out.sort();
        out
    }
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (d, w, s) = (data.clone(), wal.clone(), std::sync::Arc::clone(&seen));
    run(move || async move {
        let p = Partition::open(&d, &w, small()).await.unwrap();
        for t in 0..5 {
            p.write(&batch(20, t * 10)).await.unwrap();
        }
        p.flush().await.unwrap();
        p.delete_series(&[b"cpu,host=h007".to_vec()], i64::MIN, i64::MAX)
            .await
            .unwrap();
        // Series only in the WAL at the restart (h020..h024), h007 not written again.
        let mut b = BatchBuilder::new();
        for s in 20..25 {
            b.point(format!("cpu,host=h{s:03}").as_bytes(), 100)
                .unwrap();
            b.field(b"uptime", Value::Integer(100)).unwrap();
        }
        p.write(&b.finish()).await.unwrap();
        *s.lock().unwrap() = series(&p);
    });
    let before = seen.lock().unwrap().clone();
    assert_eq!(before.len(), 24, "25 series, h007 deleted");
    assert!(!before.contains(&b"cpu,host=h007".to_vec()));
    assert!(data.join(crate::index::INDEX_FILE).exists());
    for damage in [false, true] {
        if damage {
            // A damaged index file is not trusted: the partition rebuilds it from its files.
            let path = data.join(crate::index::INDEX_FILE);
            let mut bytes = std::fs::read(&path).unwrap();
            let n = bytes.len();
            bytes[n - 3] ^= 0x5a;
            std::fs::write(&path, &bytes).unwrap();
        }
        let (d, w, s) = (data.clone(), wal.clone(), std::sync::Arc::clone(&seen));
        run(move || async move {
            let p = Partition::open(&d, &w, small()).await.unwrap();
            *s.lock().unwrap() = series(&p);
        });
        assert_eq!(*seen.lock().unwrap(), before, "damaged: {damage}");
    }
}

#[test]
fn nth_time_bounds_a_series_first_points() {
    // Points in files (two flushes, one compacted), in the cache, one series with a
    // deleted range: wherever a bound is given, reading up to it yields the field's
    // first n points (last n, descending) exactly as a full read does.
    let dir = tempfile::tempdir().unwrap();
    let (data, wal) = (dir.path().join("data"), dir.path().join("wal"));
    run(move || async move {
        let p = Partition::open(&data, &wal, small()).await.unwrap();
        for t in 0..20 {
            p.write(&batch(3, t * 10)).await.unwrap();
        }
        p.flush().await.unwrap();
        for t in 20..40 {
            p.write(&batch(3, t * 10)).await.unwrap();
        }
        p.flush().await.unwrap();
        for t in 40..55 {
            p.write(&batch(3, t * 10)).await.unwrap();
        }
        p.delete_series(&[b"cpu,host=h001".to_vec()], 30, 120)
            .await
            .unwrap();
        let mut bounded = 0;
        for key in [&b"cpu,host=h000"[..], b"cpu,host=h001", b"cpu,host=h002"] {
            for (min, max) in [(i64::MIN, i64::MAX), (35, 400), (0, 99)] {
                let full = p
                    .read_field(key, b"uptime", min, max)
                    .await
                    .unwrap()
                    .map(|c| c.ts)
                    .unwrap_or_default();
                for n in 1..60 {
                    for descending in [false, true] {
                        let want = Some(FieldType::Integer);
                        let Some(b) = p.nth_time(key, b"uptime", (min, max), n, descending, want)
                        else {
                            continue;
                        };
                        bounded += 1;
                        let (lo, hi) = if descending { (b, max) } else { (min, b) };
                        let got = p
                            .read_field(key, b"uptime", lo, hi)
                            .await
                            .unwrap()
                            .map(|c| c.ts)
                            .unwrap_or_default();
                        assert!(got.len() >= n, "{key:?} {n} {descending} {b}");
                        if descending {
                            assert_eq!(got[got.len() - n..], full[full.len() - n..]);
                        } else {
                            assert_eq!(got[..n], full[..n]);
                        }
                    }
                }
                // Another type than the stored one: no bound.
                assert_eq!(
                    p.nth_time(key, b"uptime", (min, max), 1, false, Some(FieldType::Float)),
                    None
                );
            }
        }
        assert!(bounded > 100, "{bounded}");
        // More points than the series holds: no bound.
        assert_eq!(
            p.nth_time(
                b"cpu,host=h000",
                b"uptime",
                (i64::MIN, i64::MAX),
                56,
                false,
                None
            ),
            None
        );
    });
}
