use super::*;

use crate::run_test as run;

fn float_col(n: usize, start: i64) -> Column {
    Column::from_sorted(
        (0..n as i64).map(|i| start + i * 10).collect(),
        Values::Float((0..n).map(|i| (i as f64) * 0.25).collect()),
    )
}

#[test]
fn write_read_every_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000000000001-00.tsm");
    run(move || async move {
        let cols: Vec<(Box<[u8]>, Column)> = vec![
            (
                b"b".to_vec().into(),
                Column::from_sorted(vec![1, 2], Values::Boolean(vec![true, false])),
            ),
            (b"f".to_vec().into(), float_col(2500, 0)),
            (
                b"i".to_vec().into(),
                Column::from_sorted(vec![1, 5], Values::Integer(vec![i64::MIN, i64::MAX])),
            ),
            (
                b"s".to_vec().into(),
                Column::from_sorted(vec![3], Values::Str(vec![b"hi \"there\"".to_vec().into()])),
            ),
            (
                b"u".to_vec().into(),
                Column::from_sorted(vec![4], Values::Unsigned(vec![u64::MAX])),
            ),
        ];
        let mut w = TsmWriter::create(&path).await.unwrap();
        w.write_series(b"cpu,host=a", &cols).await.unwrap();
        w.write_series(b"cpu,host=b", &cols[1..2]).await.unwrap();
        let index = w.finish().await.unwrap();
        assert_eq!(index.series.len(), 2);
        assert_eq!(
            index.series[0].fields[1].blocks.len(),
            3,
            "2500 values in blocks of 1000"
        );
        let r = TsmReader::open(&path).await.unwrap();
        for (name, col) in &cols {
            let got = r
                .read_field(b"cpu,host=a", name, i64::MIN, i64::MAX)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&got, col, "field {}", String::from_utf8_lossy(name));
        }
        let part = r
            .read_field(b"cpu,host=b", b"f", 10_000, 10_100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(part.ts, (1000..=1010).map(|i| i * 10).collect::<Vec<i64>>());
        assert!(r
            .read_field(b"cpu,host=c", b"f", 0, 1)
            .await
            .unwrap()
            .is_none());
        assert!(r
            .read_field(b"cpu,host=a", b"nope", 0, 1)
            .await
            .unwrap()
            .is_none());
    });
}

#[test]
fn corruption_is_detected_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000000000001-00.tsm");
    let p = path.clone();
    run(move || async move {
        let mut w = TsmWriter::create(&p).await.unwrap();
        w.write_series(b"cpu", &[(b"f".to_vec().into(), float_col(100, 0))])
            .await
            .unwrap();
        w.finish().await.unwrap();
    });
    let good = std::fs::read(&path).unwrap();
    // A flipped byte inside a block: open succeeds, the read fails naming the file.
    let mut bad = good.clone();
    bad[20] ^= 0xff;
    std::fs::write(&path, &bad).unwrap();
    let p = path.clone();
    run(move || async move {
        let r = TsmReader::open(&p).await.unwrap();
        let err = r
            .read_field(b"cpu", b"f", i64::MIN, i64::MAX)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("000000000001-00.tsm") && err.contains("checksum"),
            "{err}"
        );
    });
    // A damaged index or truncated file: open fails.
    for damage in [good.len() - 30, good.len() - 2] {
        let mut bad = good.clone();
        bad[damage] ^= 0xff;
        std::fs::write(&path, &bad).unwrap();
        let p = path.clone();
        run(move || async move {
            let err = TsmReader::open(&p)
                .await
                .err()
                .expect("refused")
                .to_string();
            assert!(err.contains("corrupt"), "{err}");
        });
    }
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let p = path.clone();
    run(move || async move {
        assert!(TsmReader::open(&p).await.is_err());
    });
}
