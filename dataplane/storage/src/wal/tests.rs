use super::*;

use crate::run_test as run;

#[test]
fn append_replay_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let (wal, replay) = Wal::open(&path, DEFAULT_SEGMENT_SIZE).await.unwrap();
        assert!(replay.records.is_empty());
        for i in 0..100u32 {
            let payload = vec![i as u8; 1 + (i as usize * 37) % 9000];
            wal.append(&payload).await.unwrap();
        }
        let (_, syncs) = wal.stats();
        assert_eq!(syncs, 100, "sequential appends sync one by one");
        drop(wal);
        let (wal, replay) = Wal::open(&path, DEFAULT_SEGMENT_SIZE).await.unwrap();
        assert_eq!(replay.records.len(), 100);
        for (i, r) in replay.records.iter().enumerate() {
            assert_eq!(r.len(), 1 + (i * 37) % 9000);
            assert!(r.iter().all(|b| *b == i as u8));
        }
        assert_eq!(replay.discarded_bytes, 0);
        // A reopened WAL writes a new segment.
        wal.append(b"after").await.unwrap();
        let (_, replay) = Wal::open(&path, DEFAULT_SEGMENT_SIZE).await.unwrap();
        assert_eq!(replay.segments.len(), 2);
        assert_eq!(replay.records.last().unwrap(), b"after");
    });
}

#[test]
fn concurrent_appends_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let (wal, _) = Wal::open(&path, DEFAULT_SEGMENT_SIZE).await.unwrap();
        let tasks: Vec<_> = (0..64u8)
            .map(|i| {
                let wal = wal.clone();
                glommio::spawn_local(async move { wal.append(&[i; 100]).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let (_, syncs) = wal.stats();
        assert!(syncs < 64, "group commit: {syncs} fsyncs for 64 appends");
        let (_, replay) = Wal::open(&path, DEFAULT_SEGMENT_SIZE).await.unwrap();
        let mut firsts: Vec<u8> = replay.records.iter().map(|r| r[0]).collect();
        firsts.sort_unstable();
        assert_eq!(firsts, (0..64).collect::<Vec<u8>>());
    });
}

#[test]
fn torn_tail_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let p2 = path.clone();
    run(move || async move {
        let (wal, _) = Wal::open(&p2, DEFAULT_SEGMENT_SIZE).await.unwrap();
        wal.append(b"first").await.unwrap();
        wal.append(&[7u8; 5000]).await.unwrap();
    });
    // Damage the second record as a crash mid-write would.
    let seg = segment_path(&path, 1);
    let mut bytes = std::fs::read(&seg).unwrap();
    let second = HEADER + 5 + HEADER + 100;
    bytes[second] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    run(move || async move {
        let (wal, replay) = Wal::open(&path, DEFAULT_SEGMENT_SIZE).await.unwrap();
        assert_eq!(replay.records, vec![b"first".to_vec()]);
        assert!(replay.discarded_bytes > 0);
        wal.append(b"next").await.unwrap();
        let (_, replay) = Wal::open(&path, DEFAULT_SEGMENT_SIZE).await.unwrap();
        assert_eq!(replay.records, vec![b"first".to_vec(), b"next".to_vec()]);
    });
}

#[test]
fn segments_roll_and_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let (wal, _) = Wal::open(&path, 10_000).await.unwrap();
        for _ in 0..10 {
            wal.append(&[1u8; 4000]).await.unwrap();
        }
        let last = wal.rotate();
        assert!(last >= 3, "segments rolled: {last}");
        wal.append(b"kept").await.unwrap();
        wal.remove_through(last).unwrap();
        let (_, replay) = Wal::open(&path, 10_000).await.unwrap();
        assert_eq!(replay.records, vec![b"kept".to_vec()]);
    });
}
