use std::cell::Cell;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::config::Clock;
use crate::drain::{drain_once, DrainOutcome, SendError};
use crate::run_test as run;

fn config(segment_size: u64, max_size: u64) -> QueueConfig {
    QueueConfig {
        max_size,
        segment_size,
        ..QueueConfig::default()
    }
}

/// Entry `i`: its number, then filler of a size that varies with it.
fn payload(i: u32) -> Vec<u8> {
    let mut p = i.to_le_bytes().to_vec();
    p.resize(4 + (i as usize * 37) % 500, i as u8);
    p
}

fn numbers(entries: &[Entry]) -> Vec<u32> {
    entries
        .iter()
        .map(|e| u32::from_le_bytes(e.payload[..4].try_into().unwrap()))
        .collect()
}

async fn all(q: &HandoffQueue) -> Vec<Entry> {
    q.peek(usize::MAX).await.unwrap()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hh"))
        .collect();
    files.sort();
    files
}

/// A settable clock.
fn fake_clock() -> (Clock, Rc<Cell<SystemTime>>) {
    let now = Rc::new(Cell::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    ));
    let n = Rc::clone(&now);
    (Clock::from_fn(move || n.get()), now)
}

#[test]
fn append_peek_advance_across_segments_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let q = HandoffQueue::open(&path, config(2000, u64::MAX))
            .await
            .unwrap();
        assert!(all(&q).await.is_empty());
        for i in 0..60 {
            q.append(&payload(i)).await.unwrap();
        }
        let st = q.stats();
        assert_eq!(st.pending_entries, 60);
        assert_eq!(
            (st.appends, st.syncs),
            (60, 60),
            "sequential appends sync one by one"
        );
        assert!(st.segments >= 5, "segments rolled: {}", st.segments);
        assert_eq!(numbers(&all(&q).await), (0..60).collect::<Vec<_>>());

        // Batches bounded by bytes, always at least one entry, in order.
        let one = q.peek(1).await.unwrap();
        assert_eq!(numbers(&one), [0]);
        let batch = q.peek(1500).await.unwrap();
        assert!(batch.len() > 1 && batch.iter().map(|e| e.payload.len()).sum::<usize>() <= 1500);
        assert!(batch.windows(2).all(|w| w[0].position < w[1].position));

        // Acknowledge through entry 24 (in a middle segment).
        let entries = all(&q).await;
        q.advance(entries[24].position).await.unwrap();
        assert_eq!(numbers(&q.peek(1).await.unwrap()), [25]);
        assert_eq!(q.stats().pending_entries, 35);
        assert!(
            segment_files(&path).len() < st.segments,
            "acknowledged segments deleted"
        );
        // Acknowledging an older position again changes nothing.
        q.advance(entries[3].position).await.unwrap();
        assert_eq!(q.stats().pending_entries, 35);

        drop(q);
        let q = HandoffQueue::open(&path, config(2000, u64::MAX))
            .await
            .unwrap();
        assert_eq!(numbers(&all(&q).await), (25..60).collect::<Vec<_>>());
        assert_eq!(q.stats().pending_entries, 35);
        assert_eq!(q.recovery(), RecoveryReport::default());
        q.append(&payload(60)).await.unwrap();
        let entries = all(&q).await;
        assert_eq!(numbers(&entries), (25..61).collect::<Vec<_>>());

        // Acknowledge everything: nothing pending, every old segment gone.
        q.advance(entries.last().unwrap().position).await.unwrap();
        assert!(all(&q).await.is_empty());
        let st = q.stats();
        assert_eq!((st.pending_entries, st.pending_bytes), (0, 0));
        assert_eq!(st.oldest_entry_age, None);
        assert!(segment_files(&path).len() <= 1);
        q.close().await;
        let q = HandoffQueue::open(&path, config(2000, u64::MAX))
            .await
            .unwrap();
        assert!(all(&q).await.is_empty());
        assert_eq!(segment_files(&path).len(), 0);
        q.append(b"after").await.unwrap();
        assert_eq!(&all(&q).await[0].payload[..], b"after");
    });
}

#[test]
fn concurrent_appends_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let q = HandoffQueue::open(&path, config(1 << 20, u64::MAX))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..64u32)
            .map(|i| {
                let q = q.clone();
                glommio::spawn_local(async move { q.append(&payload(i)).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let st = q.stats();
        assert!(
            st.syncs < 64,
            "group commit: {} fsyncs for 64 appends",
            st.syncs
        );
        assert_eq!(st.appends, 64);
        let mut got = numbers(&all(&q).await);
        got.sort_unstable();
        assert_eq!(got, (0..64).collect::<Vec<_>>());
        q.close().await;
    });
}

/// Appends `n` entries to a fresh queue in `path` and closes it.
fn fill(path: &Path, n: u32, segment_size: u64) {
    let path = path.to_path_buf();
    run(move || async move {
        let q = HandoffQueue::open(&path, config(segment_size, u64::MAX))
            .await
            .unwrap();
        for i in 0..n {
            q.append(&payload(i)).await.unwrap();
        }
        q.close().await;
    });
}

/// Record sizes of entries `0..n`.
fn record_ends(n: u32) -> Vec<u64> {
    let mut end = 0;
    (0..n)
        .map(|i| {
            end += (HEADER + payload(i).len()) as u64;
            end
        })
        .collect()
}

#[test]
fn torn_tail_is_truncated() {
    for garbage in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        fill(&path, 5, 1 << 20);
        let seg = segment_files(&path).pop().unwrap();
        let ends = record_ends(5);
        if garbage {
            // A crash while the next group's blocks were half written.
            let mut bytes = std::fs::read(&seg).unwrap();
            let at = ends[4] as usize;
            bytes.resize(at + 5000, 0);
            bytes[at..at + 3].copy_from_slice(&record::MAGIC.to_le_bytes()[..3]);
            bytes[at + 100..at + 200].fill(0xab);
            std::fs::write(&seg, &bytes).unwrap();
        } else {
            // Cut inside the last record.
            let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
            f.set_len(ends[3] + 30).unwrap();
        }
        let p = path.clone();
        run(move || async move {
            let q = HandoffQueue::open(&p, config(1 << 20, u64::MAX))
                .await
                .unwrap();
            let want = if garbage { 0..5 } else { 0..4 };
            assert_eq!(numbers(&all(&q).await), want.clone().collect::<Vec<_>>());
            let rec = q.recovery();
            assert_eq!(rec.torn.len(), 1, "{rec:?}");
            assert_eq!(rec.torn[0].offset, ends[want.len() - 1]);
            assert!(rec.damaged.is_empty());
            assert_eq!(std::fs::metadata(&seg).unwrap().len(), ends[want.len() - 1]);
            q.append(&payload(99)).await.unwrap();
            drop(q);
            let q = HandoffQueue::open(&p, config(1 << 20, u64::MAX))
                .await
                .unwrap();
            let mut expect: Vec<u32> = want.collect();
            expect.push(99);
            assert_eq!(numbers(&all(&q).await), expect);
            assert_eq!(q.recovery(), RecoveryReport::default());
        });
    }
}

#[test]
fn damaged_middle_record_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    fill(&path, 40, 3000);
    let segs = segment_files(&path);
    assert!(segs.len() >= 4);
    let ends = record_ends(3);
    let mut bytes = std::fs::read(&segs[0]).unwrap();
    // A payload byte of entry 2, and the length of entry 1.
    bytes[ends[1] as usize + HEADER + 7] ^= 0x40;
    bytes[ends[0] as usize + 5] ^= 0x01;
    std::fs::write(&segs[0], &bytes).unwrap();
    let p = path.clone();
    let first = segs[0].clone();
    run(move || async move {
        let q = HandoffQueue::open(&p, config(3000, u64::MAX))
            .await
            .unwrap();
        let rec = q.recovery();
        assert_eq!(rec.damaged.len(), 1, "{rec:?}");
        assert_eq!(rec.damaged[0].path, first);
        assert_eq!(rec.damaged[0].offset, ends[0]);
        assert_eq!(rec.damaged[0].bytes, ends[2] - ends[0]);
        let got = numbers(&all(&q).await);
        let want: Vec<u32> = [0].into_iter().chain(3..40).collect();
        assert_eq!(got, want, "later records and segments are still read");
        assert_eq!(q.stats().pending_entries, 38);

        // Damage that appears while the queue is open is skipped at read time.
        let segs = segment_files(&p);
        let entries = all(&q).await;
        let victim = entries
            .iter()
            .find(|e| e.position.segment() == 2)
            .unwrap()
            .clone();
        let mut bytes = std::fs::read(&segs[1]).unwrap();
        bytes[victim.position.offset() as usize + HEADER] ^= 0xff;
        std::fs::write(&segs[1], &bytes).unwrap();
        let after = numbers(&all(&q).await);
        assert_eq!(after.len(), 37);
        assert!(!after.contains(&numbers(&[victim])[0]));
        assert_eq!(q.recovery().damaged.len(), 2);
        assert_eq!(q.stats().pending_entries, 37);
        // Draining across the damage works.
        let last = all(&q).await.last().unwrap().position;
        q.advance(last).await.unwrap();
        assert!(all(&q).await.is_empty());
    });
}

#[test]
fn full_queue_refuses_then_accepts_after_advance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let rec = (HEADER + 100) as u64;
        let q = HandoffQueue::open(&path, config(4 * rec, 10 * rec))
            .await
            .unwrap();
        for i in 0..10u8 {
            q.append(&[i; 100]).await.unwrap();
        }
        let err = q.append(&[10; 100]).await.unwrap_err();
        assert!(err.is_full());
        assert_eq!(err.to_string(), "queue is full");
        assert!(q.append(&[0; 1]).await.unwrap_err().is_full());
        let entries = all(&q).await;
        assert_eq!(entries.len(), 10);
        assert!(entries
            .iter()
            .enumerate()
            .all(|(i, e)| e.payload[..] == [i as u8; 100]));
        assert_eq!(q.stats().pending_bytes, 10 * rec);

        q.advance(entries[2].position).await.unwrap();
        for i in 10..13u8 {
            q.append(&[i; 100]).await.unwrap();
        }
        assert!(q.append(&[13; 100]).await.unwrap_err().is_full());
        let got: Vec<u8> = all(&q).await.iter().map(|e| e.payload[0]).collect();
        assert_eq!(got, (3..13).collect::<Vec<u8>>());
        // The limit holds across a restart.
        drop(q);
        let q = HandoffQueue::open(&path, config(4 * rec, 10 * rec))
            .await
            .unwrap();
        assert!(q.append(&[13; 100]).await.unwrap_err().is_full());
    });
}

#[test]
fn purge_drops_only_old_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let (clock, now) = fake_clock();
        let cfg = QueueConfig {
            clock,
            max_age: Duration::from_secs(30),
            ..config(1000, u64::MAX)
        };
        let q = HandoffQueue::open(&path, cfg.clone()).await.unwrap();
        let start = now.get();
        // Entry i appended at start + i seconds.
        for i in 0..50 {
            now.set(start + Duration::from_secs(i as u64));
            q.append(&payload(i)).await.unwrap();
        }
        assert!(q.stats().segments > 3);
        now.set(start + Duration::from_secs(60));
        assert_eq!(q.stats().oldest_entry_age, Some(Duration::from_secs(60)));
        assert_eq!(
            q.purge_older_than(Duration::from_secs(3600)).await.unwrap(),
            0
        );
        // Entries 0..=29 are more than 30 s old.
        assert_eq!(q.purge_expired().await.unwrap(), 30);
        let left = all(&q).await;
        assert_eq!(numbers(&left), (30..50).collect::<Vec<_>>());
        assert_eq!(left[0].appended_at, start + Duration::from_secs(30));
        assert_eq!(q.stats().pending_entries, 20);
        assert_eq!(q.stats().oldest_entry_age, Some(Duration::from_secs(30)));
        assert_eq!(q.purge_expired().await.unwrap(), 0);
        drop(q);
        let q = HandoffQueue::open(&path, cfg).await.unwrap();
        assert_eq!(numbers(&all(&q).await), (30..50).collect::<Vec<_>>());
        // Everything old, the segment being written included.
        now.set(start + Duration::from_secs(1000));
        assert_eq!(q.purge_expired().await.unwrap(), 20);
        assert!(all(&q).await.is_empty());
        q.append(&payload(77)).await.unwrap();
        assert_eq!(numbers(&all(&q).await), [77]);
        // A clock that steps back never reorders timestamps.
        now.set(start);
        q.append(&payload(78)).await.unwrap();
        let e = all(&q).await;
        assert!(e[1].appended_at >= e[0].appended_at);
        // Purging the whole segment being written keeps it open for the next append.
        now.set(start + Duration::from_secs(2000));
        assert_eq!(q.purge_expired().await.unwrap(), 2);
        assert_eq!(q.stats().pending_entries, 0);
        q.append(&payload(79)).await.unwrap();
        assert_eq!(numbers(&all(&q).await), [79]);
        assert_eq!(q.stats().pending_entries, 1);
        assert_eq!(q.stats().segments, 1);
    });
}

#[test]
fn drain_once_advances_only_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let q = HandoffQueue::open(&path, config(2000, u64::MAX))
            .await
            .unwrap();
        assert_eq!(
            drain_once(&q, 1000, |_| async { Ok(()) }).await.unwrap(),
            DrainOutcome::Empty
        );
        for i in 0..30 {
            q.append(&payload(i)).await.unwrap();
        }
        let failed = drain_once(&q, 1000, |_| async {
            Err(SendError::new("connection refused"))
        })
        .await
        .unwrap();
        assert_eq!(
            failed,
            DrainOutcome::Failed(SendError::new("connection refused"))
        );
        assert_eq!(q.stats().pending_entries, 30);
        assert_eq!(numbers(&q.peek(1).await.unwrap()), [0]);

        let sent = Rc::new(std::cell::RefCell::new(Vec::new()));
        loop {
            let s = Rc::clone(&sent);
            let out = drain_once(&q, 1000, move |batch| {
                s.borrow_mut().extend(numbers(&batch));
                async { Ok(()) }
            })
            .await
            .unwrap();
            match out {
                DrainOutcome::Sent { entries, bytes } => assert!(entries >= 1 && bytes > 0),
                DrainOutcome::Empty => break,
                DrainOutcome::Failed(e) => panic!("{e}"),
            }
        }
        assert_eq!(*sent.borrow(), (0..30).collect::<Vec<_>>());
        assert_eq!(q.stats().pending_entries, 0);
    });
}

#[test]
fn damaged_head_file_resends_rather_than_loses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let p = path.clone();
    run(move || async move {
        let q = HandoffQueue::open(&p, config(1 << 20, u64::MAX))
            .await
            .unwrap();
        for i in 0..10 {
            q.append(&payload(i)).await.unwrap();
        }
        let e = all(&q).await;
        q.advance(e[2].position).await.unwrap();
        q.advance(e[5].position).await.unwrap();
    });
    // Tear the newest slot: the previous head comes back.
    let head = path.join(crate::head::HEAD_FILE);
    let mut bytes = std::fs::read(&head).unwrap();
    bytes[14] ^= 0xff; // generation 2 went to slot 0
    std::fs::write(&head, &bytes).unwrap();
    let p = path.clone();
    run(move || async move {
        let q = HandoffQueue::open(&p, config(1 << 20, u64::MAX))
            .await
            .unwrap();
        assert_eq!(numbers(&all(&q).await), (3..10).collect::<Vec<_>>());
    });
    // An unreadable head file: everything is resent.
    std::fs::write(&head, b"junk").unwrap();
    run(move || async move {
        let q = HandoffQueue::open(&path, config(1 << 20, u64::MAX))
            .await
            .unwrap();
        assert_eq!(numbers(&all(&q).await), (0..10).collect::<Vec<_>>());
    });
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn randomized_against_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        for seed in [1u64, 7, 42] {
            let qdir = path.join(seed.to_string());
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let cfg = config(700 + rng.below(3000), 20_000);
            let mut q = HandoffQueue::open(&qdir, cfg.clone()).await.unwrap();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            let mut model_bytes = 0u64;
            let mut next = 0u32;
            for _ in 0..400 {
                match rng.below(11) {
                    0..=4 => {
                        let mut p = payload(next);
                        p.truncate(4 + rng.below(600) as usize);
                        next += 1;
                        let size = (HEADER + p.len()) as u64;
                        match q.append(&p).await {
                            Ok(()) => {
                                model_bytes += size;
                                model.push_back(p);
                            }
                            Err(e) => {
                                assert!(e.is_full(), "{e}");
                                assert!(model_bytes + size > cfg.max_size);
                            }
                        }
                    }
                    5..=7 => {
                        let batch = q.peek(rng.below(2000) as usize).await.unwrap();
                        assert_eq!(batch.is_empty(), model.is_empty());
                        let take = rng.below(batch.len() as u64 + 1) as usize;
                        for (e, m) in batch.iter().zip(&model) {
                            assert_eq!(&e.payload[..], &m[..]);
                        }
                        if take > 0 {
                            q.advance(batch[take - 1].position).await.unwrap();
                            for _ in 0..take {
                                let m = model.pop_front().unwrap();
                                model_bytes -= (HEADER + m.len()) as u64;
                            }
                        }
                    }
                    8 => {
                        drop(q);
                        q = HandoffQueue::open(&qdir, cfg.clone()).await.unwrap();
                        assert_eq!(q.recovery(), RecoveryReport::default());
                    }
                    9 => {
                        // Concurrent appends: one group commit, in submission order.
                        let n = 1 + rng.below(8) as u32;
                        let tasks: Vec<_> = (0..n)
                            .map(|k| {
                                let q = q.clone();
                                let p = payload(next + k);
                                glommio::spawn_local(async move {
                                    let r = q.append(&p).await;
                                    (p, r)
                                })
                            })
                            .collect();
                        next += n;
                        for t in tasks {
                            let (p, r) = t.await;
                            let size = (HEADER + p.len()) as u64;
                            match r {
                                Ok(()) => {
                                    model_bytes += size;
                                    model.push_back(p);
                                }
                                Err(e) => assert!(e.is_full(), "{e}"),
                            }
                        }
                    }
                    _ => {
                        let got: Vec<Vec<u8>> =
                            all(&q).await.iter().map(|e| e.payload.to_vec()).collect();
                        assert_eq!(got, Vec::from(model.clone()));
                    }
                }
                let st = q.stats();
                assert_eq!(st.pending_entries, model.len() as u64);
                assert_eq!(st.pending_bytes, model_bytes);
            }
            q.close().await;
        }
    });
}
