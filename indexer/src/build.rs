//! Building a snapshot blob from a list of events (feature `build`).

use std::collections::HashSet;
use std::path::Path;

use onsale_model::Event;
use tantivy::directory::{Directory, RamDirectory};
use tantivy::store::Compressor;
use tantivy::{Index, IndexSettings, TantivyDocument};

use crate::documents;
use crate::error::{Error, Result};
use crate::format::{self, Entry};
use crate::schema::{self, Fields};
use crate::snapshot::{Catalogue, Snapshot};

/// Memory the single-segment writer starts with; it grows as needed (it never flushes
/// a second segment).
const WRITER_MEMORY: usize = 64 << 20;

/// Builds the snapshot blob of `version` holding `events`, in any order.
///
/// The events are sorted into list order (start time, then id) and indexed in that order
/// into one segment, so the index's doc ids are list positions. Ids must be unique.
pub fn build_snapshot(version: u64, events: &[Event]) -> Result<Vec<u8>> {
    build(version, events, Catalogue::default())
}

/// Builds a snapshot as [`build_snapshot`] does, its catalogue naming the region it holds
/// (`None`: every event) and every region published beside it.
pub(crate) fn build(version: u64, events: &[Event], mut catalogue: Catalogue) -> Result<Vec<u8>> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_unstable_by_key(|event| (event.starts_at, event.id));
    let mut seen = HashSet::with_capacity(sorted.len());
    if let Some(event) = sorted.iter().find(|event| !seen.insert(event.id)) {
        return Err(Error::DuplicateEvent(event.id));
    }

    let (schema, fields) = Fields::schema();
    let directory = RamDirectory::create();
    let settings = IndexSettings {
        // Readers may be built without tantivy's compression features (wasm32 is), and the
        // doc store is empty anyway: the documents live beside the index.
        docstore_compression: Compressor::None,
        ..IndexSettings::default()
    };
    let mut writer = Index::builder()
        .schema(schema)
        .settings(settings)
        .tokenizers(schema::tokenizers())
        .single_segment_index_writer::<TantivyDocument>(directory.clone(), WRITER_MEMORY)?;
    let mut analyzer = schema::text_analyzer();
    for event in &sorted {
        writer.add_document(fields.document(&mut analyzer, event))?;
    }
    let index = writer.finalize()?;

    let meta = Path::new("meta.json");
    let mut paths: Vec<_> = index
        .load_metas()?
        .list_segment_files()
        .into_iter()
        .collect();
    paths.push(meta.to_path_buf());
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        if !directory
            .exists(&path)
            .map_err(tantivy::TantivyError::from)?
        {
            continue;
        }
        let bytes = directory
            .open_read(&path)
            .map_err(tantivy::TantivyError::from)?
            .read_bytes()
            .map_err(tantivy::TantivyError::from)?;
        let name = path.to_str().ok_or(Error::Corrupt(
            "tantivy named a file in something other than UTF-8",
        ))?;
        files.push((name.to_string(), bytes));
    }

    let entries = sorted
        .iter()
        .map(|event| {
            let starts_at = i64::try_from(event.starts_at.unix_timestamp_nanos())
                .map_err(|_| Error::StartOutOfRange(event.id))?;
            Ok(Entry {
                id: event.id,
                starts_at,
            })
        })
        .collect::<Result<Vec<Entry>>>()?;
    let distinct = |field: fn(&Event) -> &String| {
        let mut values: Vec<String> = sorted.iter().map(|e| field(e).clone()).collect();
        values.sort_unstable();
        values.dedup();
        values
    };
    catalogue.categories = distinct(|e| &e.category);
    catalogue.cities = distinct(|e| &e.city);
    let blocks = documents::encode(&sorted)?;
    let write = |catalogue: &Catalogue| {
        format::write(&format::Contents {
            version,
            files: &files,
            catalogue: &serde_json::to_vec(catalogue).map_err(Error::Documents)?,
            entries: &entries,
            block_events: documents::BLOCK_EVENTS,
            blocks: &blocks,
        })
    };
    // The most common words are ranked by the snapshot itself (its head: ranking reads no
    // document), then written beside it.
    let blob = write(&catalogue)?;
    let head_len = format::parse(&blob, format::Have::Whole)?.head_len;
    catalogue.ranked = Snapshot::from_head(&blob[..head_len], 0)?.rank_common_words()?;
    if catalogue.ranked.is_empty() {
        return Ok(blob);
    }
    write(&catalogue)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::Snapshot;

    fn event(id: u64, name: &str) -> Event {
        Event {
            id,
            name: name.into(),
            category: "concert".into(),
            description: String::new(),
            performers: vec![],
            venue: "Hall".into(),
            city: "Oslo".into(),
            starts_at: datetime!(2027-01-01 20:00 UTC),
            image_url: String::new(),
            currency: "EUR".into(),
            price_min: 1000,
            price_max: 2000,
            seat_count: 10,
            waiting_room: false,
            time_zone: "UTC".into(),
            time_zone_abbreviation: "UTC".into(),
            max_seats_per_account: 8,
            published: true,
        }
    }

    #[test]
    fn refuses_duplicate_ids() {
        let events = [event(1, "a"), event(2, "b"), event(1, "c")];
        assert!(matches!(
            build_snapshot(1, &events),
            Err(Error::DuplicateEvent(1))
        ));
    }

    #[test]
    fn refuses_starts_a_snapshot_cannot_hold() {
        let far = Event {
            starts_at: datetime!(2300-01-01 20:00 UTC),
            ..event(4, "far")
        };
        assert!(matches!(
            build_snapshot(1, &[event(1, "a"), far]),
            Err(Error::StartOutOfRange(4))
        ));
    }

    #[test]
    fn an_empty_catalogue_is_a_valid_snapshot() {
        let snapshot = Snapshot::from_bytes(build_snapshot(3, &[]).unwrap()).unwrap();
        assert_eq!(snapshot.version(), 3);
        assert!(snapshot.is_empty());
        assert_eq!(snapshot.list(Default::default()).unwrap().total, 0);
        let found = snapshot
            .search(&crate::SearchQuery {
                q: Some("anything".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found.total, 0);
    }
}
