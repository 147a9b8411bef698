//! Building, opening, listing and looking up; damaged blobs.

use onsale_indexer::{Error, Snapshot, build_snapshot};
use onsale_model::{Event, PageQuery};

use crate::common::{day, event, every_event, in_list_order, open};
use onsale_indexer::synthetic as catalogue;

#[test]
fn build_then_open_round_trips_every_event() {
    let events = catalogue::generate(2_000);
    let blob = build_snapshot(42, &events).unwrap();
    let snapshot = Snapshot::from_bytes(blob).unwrap();
    assert_eq!(snapshot.version(), 42);
    assert_eq!(snapshot.len(), events.len());
    for event in &events {
        assert_eq!(snapshot.get(event.id).unwrap().as_ref(), Some(event));
    }
    assert_eq!(snapshot.get(0).unwrap(), None);
    assert_eq!(snapshot.get(2_001).unwrap(), None);
    let listed: Vec<u64> = every_event(&snapshot)
        .iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(listed, in_list_order(&events));
}

#[test]
fn list_pages_in_start_time_then_id_order() {
    // Ties on the start time are broken by id, whatever order the events came in.
    let mut events: Vec<Event> = (1..=50)
        .map(|id| Event {
            starts_at: day((id % 7) as i64),
            ..event(id, "Show")
        })
        .collect();
    events.reverse();
    let snapshot = open(&events);
    let expected = in_list_order(&events);

    let mut listed = Vec::new();
    for page in 1..=8 {
        let found = snapshot.list(PageQuery { page, page_size: 7 }).unwrap();
        assert_eq!((found.page, found.page_size, found.total), (page, 7, 50));
        listed.extend(found.items.iter().map(|event| event.id));
    }
    assert_eq!(listed, expected);
    assert_eq!(listed[..3], [7, 14, 21], "day 0 holds ids 7, 14, ..., 49");
    // The same page twice is the same page.
    let third = PageQuery {
        page: 3,
        page_size: 7,
    };
    assert_eq!(snapshot.list(third).unwrap(), snapshot.list(third).unwrap());
}

#[test]
fn list_clamps_paging_it_cannot_serve() {
    let snapshot = open(&catalogue::generate(150));
    let past_the_end = snapshot
        .list(PageQuery {
            page: u32::MAX,
            page_size: 100,
        })
        .unwrap();
    assert!(past_the_end.items.is_empty());
    assert_eq!(past_the_end.total, 150);
    let clamped = snapshot
        .list(PageQuery {
            page: 0,
            page_size: 1_000,
        })
        .unwrap();
    assert_eq!((clamped.page, clamped.page_size), (1, 100));
    assert_eq!(clamped.items.len(), 100);
    assert_eq!(
        snapshot
            .list(PageQuery {
                page: 2,
                page_size: 100
            })
            .unwrap()
            .items
            .len(),
        50
    );
}

#[test]
fn truncated_or_damaged_blobs_are_errors() {
    let blob = build_snapshot(1, &catalogue::generate(200)).unwrap();
    let mut lengths: Vec<usize> = (0..64).collect();
    lengths.extend((64..blob.len()).step_by(97));
    lengths.extend(blob.len() - 64..blob.len());
    for len in lengths {
        assert!(
            Snapshot::from_bytes(&blob[..len]).is_err(),
            "truncated to {len}"
        );
    }
    for at in (0..blob.len()).step_by(89) {
        let mut damaged = blob.clone();
        damaged[at] ^= 0x01;
        assert!(
            Snapshot::from_bytes(damaged).is_err(),
            "flipped a bit at {at}"
        );
    }
    assert!(matches!(
        Snapshot::from_bytes(b"<html>not found</html>".as_slice()),
        Err(Error::NotASnapshot)
    ));
}

/// The container, taken apart as `format.rs` documents it, so that tests can change the
/// parts and seal it again with a valid head checksum.
struct Container {
    header: Vec<u8>,
    files: Vec<(String, Vec<u8>)>,
    catalogue: Vec<u8>,
    /// Each event's id and start (Unix nanoseconds), in list order.
    table: Vec<(u64, i64)>,
    /// Each block's decoded length and compressed bytes.
    blocks: Vec<(u32, Vec<u8>)>,
}

/// Magic, format, version, event count, block events, block count, file count.
const HEADER_LEN: usize = 40;

impl Container {
    fn parse(blob: &[u8]) -> Container {
        let u32_at = |at: usize| u32::from_le_bytes(blob[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(blob[at..at + 8].try_into().unwrap());
        let header = blob[..HEADER_LEN].to_vec();
        let events = u64_at(20) as usize;
        let block_count = u32_at(32) as usize;
        let mut at = HEADER_LEN;
        let mut files = Vec::new();
        for _ in 0..u32_at(36) {
            let name_len = u16::from_le_bytes(blob[at..at + 2].try_into().unwrap()) as usize;
            let name = String::from_utf8(blob[at + 2..at + 2 + name_len].to_vec()).unwrap();
            at += 2 + name_len;
            let len = u64_at(at) as usize;
            files.push((name, blob[at + 8..at + 8 + len].to_vec()));
            at += 8 + len;
        }
        let len = u64_at(at) as usize;
        let catalogue = blob[at + 8..at + 8 + len].to_vec();
        at += 8 + len;
        let table_len = u64_at(at) as usize;
        let table = decode_table(&blob[at + 8..at + 8 + table_len], events);
        at += 8 + table_len;
        let directory = at;
        let mut data = directory + block_count * 12 + 4;
        let blocks = (0..block_count)
            .map(|i| {
                let len = u32_at(directory + i * 12) as usize;
                let block = (
                    u32_at(directory + i * 12 + 4),
                    blob[data..data + len].to_vec(),
                );
                data += len;
                block
            })
            .collect();
        Container {
            header,
            files,
            catalogue,
            table,
            blocks,
        }
    }

    fn seal(&self) -> Vec<u8> {
        let mut blob = self.header.clone();
        blob[20..28].copy_from_slice(&(self.table.len() as u64).to_le_bytes());
        blob[32..36].copy_from_slice(&(self.blocks.len() as u32).to_le_bytes());
        blob[36..40].copy_from_slice(&(self.files.len() as u32).to_le_bytes());
        for (name, data) in &self.files {
            blob.extend_from_slice(&(name.len() as u16).to_le_bytes());
            blob.extend_from_slice(name.as_bytes());
            blob.extend_from_slice(&(data.len() as u64).to_le_bytes());
            blob.extend_from_slice(data);
        }
        blob.extend_from_slice(&(self.catalogue.len() as u64).to_le_bytes());
        blob.extend_from_slice(&self.catalogue);
        let table = encode_table(&self.table);
        blob.extend_from_slice(&(table.len() as u64).to_le_bytes());
        blob.extend_from_slice(&table);
        for (decoded_len, data) in &self.blocks {
            blob.extend_from_slice(&(data.len() as u32).to_le_bytes());
            blob.extend_from_slice(&decoded_len.to_le_bytes());
            blob.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        }
        let checksum = crc32fast::hash(&blob);
        blob.extend_from_slice(&checksum.to_le_bytes());
        for (_, data) in &self.blocks {
            blob.extend_from_slice(data);
        }
        blob
    }

    /// Replaces the first block's decoded bytes.
    fn set_first_block(&mut self, decoded: &[u8]) {
        self.blocks[0] = (decoded.len() as u32, lz4_flex::block::compress(decoded));
    }

    /// The first block, decoded.
    fn first_block(&self) -> Vec<u8> {
        let (len, data) = &self.blocks[0];
        lz4_flex::block::decompress(data, *len as usize).unwrap()
    }
}

/// The table as `format.rs` documents it: per event, the change of id and of start from
/// the previous event's, zigzag, as LEB128 varints.
fn encode_table(table: &[(u64, i64)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut previous = (0i128, 0i128);
    for &(id, start) in table {
        for (value, before) in [
            (i128::from(id), previous.0),
            (i128::from(start), previous.1),
        ] {
            let delta = value - before;
            let mut zigzag = ((delta << 1) ^ (delta >> 127)) as u128;
            while zigzag >= 0x80 {
                out.push(zigzag as u8 | 0x80);
                zigzag >>= 7;
            }
            out.push(zigzag as u8);
        }
        previous = (i128::from(id), i128::from(start));
    }
    out
}

fn decode_table(bytes: &[u8], events: usize) -> Vec<(u64, i64)> {
    let mut at = 0;
    let mut next = |before: i128| {
        let mut zigzag = 0u128;
        let mut shift = 0;
        loop {
            let byte = bytes[at];
            at += 1;
            zigzag |= u128::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        before + (((zigzag >> 1) as i128) ^ -((zigzag & 1) as i128))
    };
    let mut previous = (0i128, 0i128);
    let mut table = Vec::with_capacity(events);
    for _ in 0..events {
        previous = (next(previous.0), next(previous.1));
        table.push((previous.0 as u64, previous.1 as i64));
    }
    table
}

#[test]
fn the_container_test_helper_reads_what_the_builder_writes() {
    let blob = build_snapshot(1, &catalogue::generate(100)).unwrap();
    let container = Container::parse(&blob);
    assert_eq!(container.blocks.len(), 13, "100 events in blocks of 8");
    assert_eq!(container.seal(), blob);
}

#[test]
fn inconsistent_contents_are_errors_even_with_a_valid_checksum() {
    let events = catalogue::generate(30);
    let blob = build_snapshot(1, &events).unwrap();

    let mut reordered = Container::parse(&blob);
    reordered.table.swap(0, 1);
    assert!(matches!(
        Snapshot::from_bytes(reordered.seal()),
        Err(Error::Corrupt(_))
    ));

    let mut fewer = Container::parse(&blob);
    fewer.table.remove(0);
    assert!(matches!(
        Snapshot::from_bytes(fewer.seal()),
        Err(Error::Corrupt(_))
    ));

    let mut twice = Container::parse(&blob);
    twice.table[1].0 = twice.table[0].0;
    assert!(Snapshot::from_bytes(twice.seal()).is_err());

    let mut unsorted = Container::parse(&blob);
    unsorted.catalogue = br#"{"categories":["b","a"],"cities":[]}"#.to_vec();
    assert!(matches!(
        Snapshot::from_bytes(unsorted.seal()),
        Err(Error::Corrupt(_))
    ));

    // A block is decoded only when a page needs it: then its damage is an error, not a
    // wrong answer.
    let mut not_json = Container::parse(&blob);
    let mut decoded = not_json.first_block();
    let count = u32::from_le_bytes(decoded[..4].try_into().unwrap()) as usize;
    decoded[(count + 2) * 4] = b'!';
    not_json.set_first_block(&decoded);
    let snapshot = Snapshot::from_bytes(not_json.seal()).unwrap();
    assert!(matches!(
        snapshot.list(PageQuery::default()),
        Err(Error::Documents(_))
    ));

    let mut cut_short = Container::parse(&blob);
    cut_short.set_first_block(&[1, 0, 0, 0]);
    let snapshot = Snapshot::from_bytes(cut_short.seal()).unwrap();
    assert!(matches!(
        snapshot.list(PageQuery::default()),
        Err(Error::Corrupt(_))
    ));

    // The table names an event its block does not hold.
    let mut other_id = Container::parse(&blob);
    other_id.table[0].0 = 0;
    let snapshot = Snapshot::from_bytes(other_id.seal()).unwrap();
    assert!(matches!(
        snapshot.list(PageQuery::default()),
        Err(Error::Corrupt(_))
    ));

    let mut no_meta = Container::parse(&blob);
    no_meta.files.retain(|(name, _)| name != "meta.json");
    assert!(matches!(
        Snapshot::from_bytes(no_meta.seal()),
        Err(Error::Index(_))
    ));

    let mut other_schema = Container::parse(&blob);
    for (name, data) in &mut other_schema.files {
        if name == "meta.json" {
            let text = String::from_utf8(data.clone()).unwrap();
            *data = text
                .replace("\"performer_key\"", "\"performer_id\"")
                .into_bytes();
        }
    }
    assert!(matches!(
        Snapshot::from_bytes(other_schema.seal()),
        Err(Error::Corrupt(_))
    ));
}

/// Opens a blob and, if it opens, lists and searches it: an error anywhere is fine, a panic
/// is not. Returns whether it opened.
fn opens_without_panicking(blob: Vec<u8>) -> bool {
    let Ok(snapshot) = Snapshot::from_bytes(blob) else {
        return false;
    };
    let _ = snapshot.list(PageQuery::default());
    for pairs in [
        "q=golden+nights",
        "q=gallager",
        "category=concert&location=berlin",
    ] {
        let _ = snapshot.search(&crate::common::query(pairs));
    }
    true
}

#[test]
fn missing_or_garbled_index_files_never_panic() {
    let blob = build_snapshot(1, &catalogue::generate(300)).unwrap();
    let names: Vec<String> = Container::parse(&blob)
        .files
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for name in &names {
        let mut without = Container::parse(&blob);
        without.files.retain(|(other, _)| other != name);
        let opened = opens_without_panicking(without.seal());
        // Only the positions file may go: no field is indexed with positions.
        assert_eq!(opened, name.ends_with(".pos"), "without {name}");

        for garble in [0x00, 0xff, 0x5a] {
            let mut garbled = Container::parse(&blob);
            for (other, data) in &mut garbled.files {
                if other == name {
                    data.iter_mut().for_each(|byte| *byte = garble);
                }
            }
            opens_without_panicking(garbled.seal());
        }
        if name == "meta.json" {
            continue;
        }
        for step in [3usize, 7, 31] {
            let mut garbled = Container::parse(&blob);
            for (other, data) in &mut garbled.files {
                if other == name {
                    // Garble the body, keep tantivy's footer (JSON, its length, a magic
                    // number): only the file's own checksum can tell.
                    let len = data.len();
                    let footer = u32::from_le_bytes(data[len - 8..len - 4].try_into().unwrap());
                    for at in (0..len - 8 - footer as usize).step_by(step) {
                        data[at] ^= 0xa5;
                    }
                }
            }
            let opened = opens_without_panicking(garbled.seal());
            assert!(!opened, "{name} garbled every {step} bytes");
        }
    }
}

#[test]
fn one_snapshot_serves_many_threads_at_once() {
    let snapshot = open(&catalogue::generate(500));
    let first = every_event(&snapshot)[0].clone();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(snapshot.get(first.id).unwrap().as_ref(), Some(&first));
                    let found = snapshot
                        .search(&onsale_indexer::SearchQuery {
                            q: Some(first.performers[0].clone()),
                            ..Default::default()
                        })
                        .unwrap();
                    assert!(found.items.iter().any(|event| event.id == first.id));
                }
            });
        }
    });
}

/// A blob and its head, as a folder publishes them.
fn blob_and_head(events: &[Event]) -> (Vec<u8>, Vec<u8>) {
    let root = tempfile::tempdir().unwrap();
    let folder = onsale_indexer::SnapshotFolder::new(root.path());
    let version = folder.publish(&build_snapshot(3, events).unwrap()).unwrap();
    let head = std::fs::read(root.path().join(onsale_indexer::layout::head_path(version)));
    (folder.read(version).unwrap(), head.unwrap())
}

/// Answers `ask` from a head-only snapshot, fetching the blocks it names from `blob` until
/// it can; returns the answer and how many blocks were fetched.
fn fetching<T>(
    snapshot: &Snapshot,
    blob: &[u8],
    mut ask: impl FnMut(&Snapshot) -> Result<T, Error>,
) -> (T, usize) {
    let mut fetched = 0;
    loop {
        match ask(snapshot) {
            Err(Error::MissingBlocks(missing)) => {
                assert!(!missing.is_empty());
                for block in missing {
                    let range = block.range.start as usize..block.range.end as usize;
                    snapshot
                        .insert_block(block.number, blob[range].to_vec())
                        .unwrap();
                    fetched += 1;
                }
            }
            answer => return (answer.unwrap(), fetched),
        }
    }
}

#[test]
fn a_head_alone_searches_and_answers_once_its_blocks_are_fetched() {
    let events = catalogue::generate(500);
    let (blob, head) = blob_and_head(&events);
    let whole = Snapshot::from_bytes(blob.clone()).unwrap();
    let lazy = Snapshot::from_head(head.clone(), 1 << 20).unwrap();
    assert_eq!((lazy.version(), lazy.len()), (3, 500));
    assert_eq!(
        lazy.held_bytes(),
        head.len() + 500 * 20,
        "the head and its table decoded, and no block yet"
    );
    assert!(whole.held_bytes() > head.len());

    // The head answers counts and categories alone; the documents need their blocks.
    assert_eq!(lazy.categories(), whole.categories());
    assert!(matches!(
        lazy.list(PageQuery::default()),
        Err(Error::MissingBlocks(_))
    ));
    let (page, fetched) = fetching(&lazy, &blob, |s| s.list(PageQuery::default()));
    assert_eq!(page, whole.list(PageQuery::default()).unwrap());
    assert_eq!(fetched, 3, "20 events in blocks of 8");
    let (_, again) = fetching(&lazy, &blob, |s| s.list(PageQuery::default()));
    assert_eq!(again, 0, "fetched blocks are kept");

    let query = crate::common::query("q=concert&page_size=50");
    let (found, _) = fetching(&lazy, &blob, |s| s.search(&query));
    assert_eq!(found, whole.search(&query).unwrap());
    let last = &events[events.len() - 1];
    let (got, _) = fetching(&lazy, &blob, |s| s.get(last.id));
    assert_eq!(got.as_ref(), Some(last));
    assert_eq!(lazy.get(0).unwrap(), None, "an unknown id needs no block");

    // A block is checked when it arrives: wrong bytes are refused and not kept.
    let lazy = Snapshot::from_head(head.clone(), 1 << 20).unwrap();
    let Err(Error::MissingBlocks(missing)) = lazy.list(PageQuery {
        page: 10,
        page_size: 20,
    }) else {
        panic!("a new snapshot has no block");
    };
    let block = &missing[0];
    let mut damaged = blob[block.range.start as usize..block.range.end as usize].to_vec();
    damaged[0] ^= 1;
    assert!(matches!(
        lazy.insert_block(block.number, damaged),
        Err(Error::Corrupt(_))
    ));
    assert!(lazy.insert_block(block.number, vec![0; 3]).is_err());
    assert!(lazy.insert_block(u32::MAX, vec![]).is_err());
    assert!(matches!(
        lazy.list(PageQuery {
            page: 10,
            page_size: 20
        }),
        Err(Error::MissingBlocks(_))
    ));

    // A head is not a whole blob, and a blob is not a head.
    assert!(Snapshot::from_bytes(head.clone()).is_err());
    assert!(Snapshot::from_head(blob.clone(), 1 << 20).is_err());
    assert!(Snapshot::from_head(&head[..head.len() - 1], 1 << 20).is_err());
}

#[test]
fn fetched_blocks_stay_within_their_budget() {
    let events = catalogue::generate(20_000);
    let (blob, head) = blob_and_head(&events);
    // Below what two pages of 100 scattered events can need: raised to that.
    let budget = 8 << 10;
    let lazy = Snapshot::from_head(head.clone(), budget).unwrap();
    let whole = Snapshot::from_bytes(blob.clone()).unwrap();
    let mut largest_block = 0;
    let mut most_held = 0;
    for page in (1..=200).step_by(3) {
        let query = PageQuery {
            page,
            page_size: 100,
        };
        let (found, _) = fetching(&lazy, &blob, |s| {
            let answer = s.list(query);
            if let Err(Error::MissingBlocks(missing)) = &answer {
                for block in missing {
                    largest_block = largest_block.max(block.range.end - block.range.start);
                }
            }
            answer
        });
        assert_eq!(found, whole.list(query).unwrap());
        // Less the head and its table decoded (20 bytes an event): the blocks.
        most_held = most_held.max(lazy.held_bytes() - head.len() - 20_000 * 20);
    }
    assert!(most_held > budget, "the budget was raised to two pages");
    assert!(most_held >= 2 * 100 * largest_block as usize / 2);
    assert!(
        most_held < (blob.len() - head.len()) / 4,
        "old blocks went: {most_held} bytes held"
    );
}
