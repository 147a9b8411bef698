//! Publishing to a folder: atomic files, the `latest` pointer, immutable versions.

use std::fs;

use onsale_indexer::{Error, SnapshotFolder, build_snapshot, layout};

use onsale_indexer::synthetic as catalogue;

/// Names in a folder, sorted.
fn names(folder: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn publishes_versions_and_moves_latest_forward() {
    let root = tempfile::tempdir().unwrap();
    let folder = SnapshotFolder::new(root.path().join("catalogue"));
    assert_eq!(folder.latest().unwrap(), None);
    assert!(folder.open_latest().unwrap().is_none());

    let events = catalogue::generate(100);
    let first = build_snapshot(1, &events).unwrap();
    assert_eq!(folder.publish(&first).unwrap(), 1);
    assert_eq!(folder.latest().unwrap(), Some(1));
    assert_eq!(folder.read(1).unwrap(), first);
    assert_eq!(
        fs::read_to_string(folder.root().join(layout::LATEST)).unwrap(),
        "1\n"
    );

    let second = build_snapshot(2, &events[..50]).unwrap();
    assert_eq!(folder.publish(&second).unwrap(), 2);
    let latest = folder.open_latest().unwrap().unwrap();
    assert_eq!((latest.version(), latest.len()), (2, 50));
    // Older versions stay readable by version.
    assert_eq!(folder.open(1).unwrap().len(), 100);
    assert_eq!(folder.path_of(2), folder.root().join("snapshots/2.snap"));

    // Only complete files are left: no temporary ones.
    assert_eq!(names(folder.root()), ["latest", "snapshots"]);
    assert_eq!(
        names(&folder.root().join("snapshots")),
        ["1.head", "1.snap", "2.head", "2.snap"]
    );
    // A head is the blob's first bytes.
    let head = fs::read(folder.root().join(layout::head_path(2))).unwrap();
    assert!(head.len() < second.len());
    assert!(second.starts_with(&head));
}

#[test]
fn versions_never_change_and_latest_never_moves_back() {
    let root = tempfile::tempdir().unwrap();
    let folder = SnapshotFolder::new(root.path());
    let events = catalogue::generate(30);
    let two = build_snapshot(2, &events).unwrap();
    folder.publish(&two).unwrap();

    // The same bytes again: nothing to do.
    assert_eq!(folder.publish(&two).unwrap(), 2);
    // Other bytes under a published version: refused, the original stays.
    let other_two = build_snapshot(2, &events[..10]).unwrap();
    assert!(matches!(
        folder.publish(&other_two),
        Err(Error::VersionConflict(2))
    ));
    assert_eq!(folder.read(2).unwrap(), two);
    // An older version than latest: refused, nothing written.
    let one = build_snapshot(1, &events).unwrap();
    assert!(matches!(
        folder.publish(&one),
        Err(Error::Stale {
            version: 1,
            latest: 2
        })
    ));
    assert!(!folder.path_of(1).exists());
    assert_eq!(folder.latest().unwrap(), Some(2));
}

#[test]
fn refuses_damaged_blobs_and_pointers() {
    let root = tempfile::tempdir().unwrap();
    let folder = SnapshotFolder::new(root.path());
    let mut blob = build_snapshot(5, &catalogue::generate(10)).unwrap();
    blob.truncate(blob.len() - 1);
    assert!(matches!(folder.publish(&blob), Err(Error::Corrupt(_))));
    assert!(names(root.path()).is_empty(), "nothing was written");

    fs::write(root.path().join(layout::LATEST), "soon").unwrap();
    assert!(matches!(folder.latest(), Err(Error::Corrupt(_))));
    assert!(matches!(folder.read(9), Err(Error::Io { .. })));
}
