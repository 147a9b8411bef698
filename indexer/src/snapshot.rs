//! [`Snapshot`]: one catalogue version, opened read-only from its bytes.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use onsale_model::page::MAX_PAGE_SIZE;
use onsale_model::{Event, Page, PageQuery};
use tantivy::directory::Directory;
use tantivy::directory::OwnedBytes;
use tantivy::{Index, ReloadPolicy, Searcher, TantivyError};

use crate::directory::SnapshotDirectory;
use crate::error::{Error, Result};
use crate::format;
use crate::schema::{self, Fields};

/// One immutable catalogue version: the events in list order and a search index over them.
///
/// Opening does all the checking ([`Snapshot::from_bytes`]); after that every method only
/// reads memory, so a `Snapshot` can be shared by any number of threads (or requests) at
/// once, e.g. behind an `Arc`.
pub struct Snapshot {
    /// The version the blob was published as.
    version: u64,
    /// The events sorted by `(starts_at, id)`; an event's position is its doc id in the index.
    events: Vec<Event>,
    /// `(id, position)` sorted by id, for [`Snapshot::get`].
    ids: Vec<(u64, u32)>,
    /// Every category and every city the events have, each sorted, once.
    categories: Vec<String>,
    cities: Vec<String>,
    /// The index, opened once; tantivy's searcher is cheap to share and never reloads.
    pub(crate) searcher: Searcher,
    /// The index's fields.
    pub(crate) fields: Fields,
}

impl Snapshot {
    /// Opens a snapshot from the bytes of its blob.
    ///
    /// Checks the container (magic, format, checksum, lengths), decodes the events, opens the
    /// index over the rest of the same buffer without copying it, and checks that the index
    /// and the events agree. Any damage is an [`Error`], never a panic.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Snapshot> {
        let mut bytes = bytes.into();
        let parts = format::parse(&bytes)?;
        let events: Vec<Event> =
            serde_json::from_slice(&bytes[parts.documents.clone()]).map_err(Error::Documents)?;
        if events.len() as u64 != parts.event_count || events.len() > u32::MAX as usize {
            return Err(Error::Corrupt("the document count differs from the header"));
        }
        let ids = list_order_ids(&events)?;

        // The documents are parsed: keep only the index files' part of the buffer.
        bytes.truncate(parts.files_end);
        bytes.shrink_to_fit();
        let buffer = OwnedBytes::new(bytes);
        let files: HashMap<PathBuf, OwnedBytes> = parts
            .files
            .into_iter()
            .map(|(name, range)| (PathBuf::from(name), buffer.slice(range)))
            .collect();
        let mut index = Index::open(SnapshotDirectory::new(files))?;
        let (schema, fields) = Fields::schema();
        if index.schema() != schema {
            return Err(Error::Corrupt("the index has an unexpected schema"));
        }
        // tantivy trusts its files' contents (a damaged body can make it panic), so check
        // each file's own checksum too: it also covers a blob resealed around damaged files.
        let directory = index.directory();
        for path in index.load_metas()?.list_segment_files() {
            let exists = directory.exists(&path).map_err(TantivyError::from)?;
            if exists
                && !directory
                    .validate_checksum(&path)
                    .map_err(TantivyError::from)?
            {
                return Err(Error::Corrupt("an index file fails its checksum"));
            }
        }
        index.set_tokenizers(schema::tokenizers());
        let searcher = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?
            .searcher();

        let segments = searcher.segment_readers();
        let one_doc_per_event = match segments {
            [] => events.is_empty(),
            [segment] => {
                segment.max_doc() as usize == events.len() && segment.num_deleted_docs() == 0
            }
            _ => false,
        };
        if !one_doc_per_event {
            return Err(Error::Corrupt(
                "the index is not one segment with one document per event",
            ));
        }
        let distinct = |field: fn(&Event) -> &String| {
            let mut values: Vec<String> = events.iter().map(|e| field(e).clone()).collect();
            values.sort_unstable();
            values.dedup();
            values
        };
        let (categories, cities) = (distinct(|e| &e.category), distinct(|e| &e.city));
        Ok(Snapshot {
            version: parts.version,
            events,
            ids,
            categories,
            cities,
            searcher,
            fields,
        })
    }

    /// Every category the events have, sorted: what a search can filter by.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// Every city the events are in, sorted.
    pub fn cities(&self) -> &[String] {
        &self.cities
    }

    /// The version the snapshot was published as.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// How many events the snapshot holds.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the snapshot holds no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The event with this id.
    pub fn get(&self, id: u64) -> Option<&Event> {
        let at = self.ids.binary_search_by_key(&id, |&(id, _)| id).ok()?;
        self.events.get(self.ids[at].1 as usize)
    }

    /// Every event in list order: by start time, then id.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// One page of all events in list order (start time, then id).
    ///
    /// Out-of-range paging is clamped rather than refused (page 0 is page 1, `page_size` is
    /// kept within 1 to [`MAX_PAGE_SIZE`]), and the page says what was used; callers that want
    /// to refuse bad paging check [`PageQuery::validate`] first.
    pub fn list(&self, query: PageQuery) -> Page<Event> {
        let page = query.page.max(1);
        let page_size = query.page_size.clamp(1, MAX_PAGE_SIZE);
        let items = self
            .events
            .iter()
            .skip(offset(page, page_size))
            .take(page_size as usize)
            .cloned()
            .collect();
        Page {
            items,
            page,
            page_size,
            total: self.events.len() as u64,
        }
    }

    /// The events at these doc ids (positions), in the order given.
    pub(crate) fn at_positions(
        &self,
        positions: impl IntoIterator<Item = u32>,
    ) -> Result<Vec<Event>> {
        positions
            .into_iter()
            .map(|position| {
                self.events
                    .get(position as usize)
                    .cloned()
                    .ok_or(Error::Corrupt(
                        "the index returned a document with no event",
                    ))
            })
            .collect()
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

/// How many items come before a page, saturating instead of overflowing (a `usize` is 32 bits
/// on wasm32, too small for the largest page number times the largest page size).
pub(crate) fn offset(page: u32, page_size: u32) -> usize {
    let offset = u64::from(page.saturating_sub(1)) * u64::from(page_size);
    usize::try_from(offset).unwrap_or(usize::MAX)
}

/// Checks that events are in list order with unique ids, and returns `(id, position)` pairs
/// sorted by id.
fn list_order_ids(events: &[Event]) -> Result<Vec<(u64, u32)>> {
    if events
        .windows(2)
        .any(|pair| (pair[0].starts_at, pair[0].id) >= (pair[1].starts_at, pair[1].id))
    {
        return Err(Error::Corrupt("the events are not in list order"));
    }
    let mut ids: Vec<(u64, u32)> = events
        .iter()
        .zip(0u32..)
        .map(|(event, position)| (event.id, position))
        .collect();
    ids.sort_unstable();
    if ids.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(Error::Corrupt("an event id appears twice"));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_saturate() {
        assert_eq!(offset(1, 20), 0);
        assert_eq!(offset(3, 20), 40);
        assert_eq!(offset(0, 20), 0);
        let largest = u64::from(u32::MAX - 1) * 100;
        assert_eq!(
            offset(u32::MAX, 100),
            usize::try_from(largest).unwrap_or(usize::MAX)
        );
    }
}
