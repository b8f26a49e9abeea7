use store::{Limits, Store};
use store_sqlite::SqliteStore;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("zl-store-sqlite-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn wal_and_synchronous_full_are_in_force() {
    let dir = temp_dir("wal");
    let s = SqliteStore::open(&dir, Limits::default()).unwrap();
    let d = s.durability().unwrap();
    assert_eq!(d.journal_mode.to_ascii_lowercase(), "wal");
    assert_eq!(d.synchronous, 2, "synchronous must be FULL (2)");
    assert_eq!(s.backend_name(), "sqlite");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn conformance() {
    let dirs = std::sync::Mutex::new(Vec::new());
    let make = || {
        let d = temp_dir("conf");
        dirs.lock().unwrap().push(d.clone());
        SqliteStore::open(&d, Limits::default()).unwrap()
    };
    store::conformance::run_all(&make);
    for d in dirs.into_inner().unwrap() {
        let _ = std::fs::remove_dir_all(d);
    }
}
