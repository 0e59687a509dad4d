use super::*;

#[test]
fn a_setup_cut_short_is_a_new_state_and_another_format_is_refused() {
    let dir = std::env::temp_dir().join(format!("solo-crawl-setup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // What a kill between an earlier version's CREATE statements left:
    // tables, no format mark, nothing stored.
    Connection::open(dir.join(DB))
        .unwrap()
        .execute_batch(SCHEMA)
        .unwrap();
    Store::open(&dir, false).expect("an empty, unmarked schema is a new state");
    let format: i64 = Connection::open(dir.join(DB))
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(format, FORMAT);
    // A state of another format is still refused.
    Connection::open(dir.join(DB))
        .unwrap()
        .execute("UPDATE meta SET value = 1 WHERE key = 'format'", [])
        .unwrap();
    let e = Store::open(&dir, false).err().expect("another format");
    assert!(e.to_string().contains("another version"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `state.lock` deleted while a crawl holds the state (an operator
/// clearing what looks like a stale pid file): a second crawl is
/// still kept out, and it is let in once the first is gone.
#[test]
fn a_deleted_lock_file_lets_no_second_crawl_in() {
    let dir = std::env::temp_dir().join(format!("solo-crawl-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = Store::open(&dir, false).unwrap();
    std::fs::remove_file(dir.join(LOCK)).unwrap();
    let e = Store::open(&dir, false).err().expect("the state is in use");
    assert!(
        e.to_string().contains("is in use by another solo-crawl"),
        "{e}"
    );
    drop(first);
    Store::open(&dir, false).expect("free again");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ops_survive_reopening() {
    let dir = std::env::temp_dir().join(format!("solo-crawl-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let mut s = Store::open(&dir, false).unwrap();
        assert!(!s.load().unwrap().resumed);
        for (fp, spilled) in [(1u64, false), (u64::MAX, false), (3, true), (4, true)] {
            let data = format!("r{fp}");
            s.apply(&Op::Enqueue { fp, data, spilled }).unwrap();
        }
        s.apply(&Op::Done { fp: 1 }).unwrap();
        s.apply(&Op::PagesDone(7)).unwrap();
        s.commit().unwrap();
        assert_eq!(s.unspill(1).unwrap(), [(3, "r3".to_owned())]);
        s.apply(&Op::Done { fp: 2 }).unwrap(); // not there: a no-op
                                               // Uncommitted work is lost with the process.
        s.apply(&Op::Done { fp: u64::MAX }).unwrap();
    }
    let s = Store::open(&dir, false).unwrap();
    let r = s.load().unwrap();
    assert!(r.resumed);
    let mut seen = r.seen.clone();
    seen.sort();
    assert_eq!(seen, [1, 3, 4, u64::MAX]);
    assert_eq!(
        r.queued,
        [(u64::MAX, format!("r{}", u64::MAX)), (3, "r3".into())]
    );
    assert_eq!(r.spilled, 1);
    assert_eq!(r.pages_done, 7);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Stage keys: committed ones come back to the stage of that name
/// (wherever it is in the pipeline now), uncommitted ones do not, and
/// a recrawl pass starts without them.
#[test]
fn stage_keys_come_back_by_stage_name_when_committed() {
    let dir = std::env::temp_dir().join(format!("solo-crawl-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    {
        let mut s = Store::open(&dir, false).unwrap();
        assert_eq!(
            s.stage_keys(&names(&["a", "b"])).unwrap(),
            [Vec::<u64>::new(), vec![]]
        );
        s.apply(&Op::Keys(vec![(0, 1), (1, u64::MAX), (0, 1)]))
            .unwrap();
        s.commit().unwrap();
        s.apply(&Op::Keys(vec![(0, 2)])).unwrap(); // never committed
    }
    let mut s = Store::open(&dir, false).unwrap();
    let kept = s.stage_keys(&names(&["c", "b", "a"])).unwrap();
    assert_eq!(kept, [vec![], vec![u64::MAX], vec![1u64]]);
    s.apply(&Op::Keys(vec![(0, 5)])).unwrap(); // "c" now
    s.commit().unwrap();
    assert_eq!(s.stage_keys(&names(&["c"])).unwrap(), [vec![5]]);
    s.start_pass(0, false).unwrap();
    let kept = s.stage_keys(&names(&["a", "b", "c"])).unwrap();
    assert!(kept.iter().all(Vec::is_empty), "{kept:?}");
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pass_waits_in_the_store_as_spilled_requests() {
    let dir = std::env::temp_dir().join(format!("solo-crawl-pass-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = Store::open(&dir, false).unwrap();
    for (fp, at) in [(7u64, 30), (8, 10), (9, 500)] {
        s.apply(&Op::Page {
            fp,
            request: format!(r#"{{"url":"http://a.test/{fp}","retries":2}}"#),
            previous: r#"{"etag":"\"e\"","links":[]}"#.into(),
            at,
        })
        .unwrap();
    }
    s.commit().unwrap();
    // Pages fetched before 100 are asked again; the other stays seen.
    assert_eq!(s.start_pass(100, false).unwrap(), 2);
    let r = s.load().unwrap();
    assert!(r.queued.is_empty(), "nothing loaded into memory");
    assert_eq!(r.spilled, 2);
    assert_eq!(r.seen.len(), 3);
    let rows = s.unspill(10).unwrap();
    let first: serde_json::Value = serde_json::from_str(&rows[0].1).unwrap();
    assert_eq!(first["url"], "http://a.test/8", "oldest first");
    assert_eq!(first["previous"]["etag"], "\"e\"");
    assert_eq!(first["retries"], 0);
    assert_eq!(rows.len(), 2);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}
