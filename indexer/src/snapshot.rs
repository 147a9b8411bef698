//! [`Snapshot`]: one catalogue version, opened read-only from its bytes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use onsale_model::page::MAX_PAGE_SIZE;
use onsale_model::{Event, Page, PageQuery};
use serde::{Deserialize, Serialize};
use tantivy::directory::Directory;
use tantivy::directory::OwnedBytes;
use tantivy::{Index, ReloadPolicy, Searcher, TantivyError};
use time::OffsetDateTime;

use crate::directory::SnapshotDirectory;
use crate::documents::Documents;
use crate::error::{Error, Result};
use crate::format::{self, Entry, Have};
use crate::schema::{self, Fields};
use crate::scored_within::TermMaxima;

/// One immutable catalogue version: the events in list order and a search index over them.
///
/// Opening does all the checking ([`Snapshot::from_bytes`]); after that every method only
/// reads memory, so a `Snapshot` can be shared by any number of threads (or requests) at
/// once, e.g. behind an `Arc`. The events' documents stay compressed in blocks; a page
/// decodes only the blocks its events are in.
pub struct Snapshot {
    /// The version the blob was published as.
    version: u64,
    /// Each event's id and start, in list order: an event's position is its doc id.
    pub(crate) entries: Vec<Entry>,
    /// Positions sorted by their event's id, for [`Snapshot::get`].
    by_id: Vec<u32>,
    /// Every category and every city the events have, each sorted, once.
    pub(crate) catalogue: Catalogue,
    /// The event documents.
    documents: Documents,
    /// How long the blob's head is.
    head_len: usize,
    /// The index, opened once; tantivy's searcher is cheap to share and never reloads.
    pub(crate) searcher: Searcher,
    /// The index's fields.
    pub(crate) fields: Fields,
    /// Each searched term's best BM25, found as searches need them.
    pub(crate) term_maxima: TermMaxima,
}

/// What the events have in common, written once at build time.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Catalogue {
    /// Every category, sorted, once.
    pub categories: Vec<String>,
    /// Every city, sorted, once.
    pub cities: Vec<String>,
    /// The region these events are, if the snapshot is one region's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Every region the operator named, sorted (empty if none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// The most common words' best matches searched alone, best first (doc ids), ranked at
    /// build time ([`Snapshot::rank_common_words`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ranked: BTreeMap<String, Vec<u32>>,
}

impl Snapshot {
    /// Opens a snapshot from the bytes of its whole blob.
    ///
    /// Checks the container (magic, format, checksums, lengths), the list-order table and
    /// the catalogue, opens the index over the same buffer without copying it, and checks
    /// that the index and the table agree. Any damage is an [`Error`], never a panic.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Snapshot> {
        let buffer = OwnedBytes::new(bytes.into());
        let parts = format::parse(&buffer, Have::Whole)?;
        format::check_blocks(&buffer, &parts.blocks)?;
        Snapshot::open(buffer.clone(), parts, |blocks, block_events| {
            Documents::whole(buffer, blocks, block_events)
        })
    }

    /// Opens a snapshot from its head alone (`snapshots/{version}.head`, the blob's first
    /// bytes): everything needed to search, list and look up, without the event documents.
    ///
    /// Answers that need documents are [`Error::MissingBlocks`] until the reader fetches
    /// those blocks' bytes from the blob and gives them to [`Snapshot::insert_block`]; up to
    /// `budget` bytes of fetched blocks are kept, the oldest going first.
    pub fn from_head(head: impl Into<Vec<u8>>, budget: usize) -> Result<Snapshot> {
        let buffer = OwnedBytes::new(head.into());
        let parts = format::parse(&buffer, Have::Head)?;
        Snapshot::open(buffer, parts, |blocks, block_events| {
            Documents::fetched(blocks, block_events, budget)
        })
    }

    /// Checks a fetched block (its length and checksum) and keeps it for the answers that
    /// need it. Blocks of a whole blob are all there already: giving one changes nothing.
    pub fn insert_block(&self, number: u32, compressed: Vec<u8>) -> Result<()> {
        self.documents.insert(number, compressed)
    }

    /// How many bytes this snapshot holds in memory: the head (index, table, directory),
    /// the table decoded for look-ups (16 bytes an event, and 4 more to find it by id),
    /// and the compressed blocks it keeps.
    pub fn held_bytes(&self) -> usize {
        let decoded = self.entries.len() * (size_of::<Entry>() + size_of::<u32>());
        self.head_len + decoded + self.documents.held_bytes()
    }

    /// The checks and index opening shared by both ways to open.
    fn open(
        buffer: OwnedBytes,
        parts: format::Parts,
        documents: impl FnOnce(Vec<format::Block>, u32) -> Documents,
    ) -> Result<Snapshot> {
        if parts.entries.len() > u32::MAX as usize {
            return Err(Error::Corrupt("more events than a snapshot can hold"));
        }
        let by_id = by_id(&parts.entries)?;
        let catalogue: Catalogue =
            serde_json::from_slice(&buffer[parts.catalogue.clone()]).map_err(Error::Documents)?;
        let sorted_once = |values: &[String]| values.windows(2).all(|pair| pair[0] < pair[1]);
        if !sorted_once(&catalogue.categories)
            || !sorted_once(&catalogue.cities)
            || !sorted_once(&catalogue.regions)
        {
            return Err(Error::Corrupt(
                "the catalogue's lists are not sorted and distinct",
            ));
        }
        let events = parts.entries.len();
        if (catalogue.ranked.values().flatten()).any(|&position| position as usize >= events) {
            return Err(Error::Corrupt(
                "a ranked word names an event the snapshot has not",
            ));
        }

        let files: HashMap<PathBuf, OwnedBytes> = parts
            .files
            .into_iter()
            .map(|(name, range)| (PathBuf::from(name), buffer.slice(range)))
            .collect();
        let mut index = Index::open(SnapshotDirectory::new(files))?;
        let fields = Fields::of(&index.schema())
            .ok_or(Error::Corrupt("the index has an unexpected schema"))?;
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
            [] => parts.entries.is_empty(),
            [segment] => {
                segment.max_doc() as usize == parts.entries.len() && segment.num_deleted_docs() == 0
            }
            _ => false,
        };
        if !one_doc_per_event {
            return Err(Error::Corrupt(
                "the index is not one segment with one document per event",
            ));
        }
        Ok(Snapshot {
            version: parts.version,
            entries: parts.entries,
            by_id,
            catalogue,
            documents: documents(parts.blocks, parts.block_events),
            head_len: parts.head_len,
            searcher,
            fields,
            term_maxima: TermMaxima::default(),
        })
    }

    /// Every category the events have, sorted: what a search can filter by.
    pub fn categories(&self) -> &[String] {
        &self.catalogue.categories
    }

    /// Every city the events are in, sorted.
    pub fn cities(&self) -> &[String] {
        &self.catalogue.cities
    }

    /// The region this snapshot holds the events of, or `None` for every event.
    pub fn region(&self) -> Option<&str> {
        self.catalogue.region.as_deref()
    }

    /// Every region the operator named when this version was published, sorted: the
    /// snapshots published beside this one ([`crate::layout::region_root`]).
    pub fn regions(&self) -> &[String] {
        &self.catalogue.regions
    }

    /// The version the snapshot was published as.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// How many events the snapshot holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the snapshot holds no events.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The event with this id, if the snapshot has it.
    pub fn get(&self, id: u64) -> Result<Option<Event>> {
        let id_at = |&position: &u32| self.entries[position as usize].id;
        let Ok(at) = self.by_id.binary_search_by_key(&id, id_at) else {
            return Ok(None);
        };
        Ok(self.at_positions([self.by_id[at]])?.pop())
    }

    /// One page of all events in list order (start time, then id).
    ///
    /// Out-of-range paging is clamped rather than refused (page 0 is page 1, `page_size` is
    /// kept within 1 to [`MAX_PAGE_SIZE`]), and the page says what was used; callers that want
    /// to refuse bad paging check [`PageQuery::validate`] first.
    pub fn list(&self, query: PageQuery) -> Result<Page<Event>> {
        let page = query.page.max(1);
        let page_size = query.page_size.clamp(1, MAX_PAGE_SIZE);
        let len = self.entries.len();
        let start = offset(page, page_size).min(len);
        let end = start.saturating_add(page_size as usize).min(len);
        Ok(Page {
            items: self.at_positions(start as u32..end as u32)?,
            page,
            page_size,
            total: len as u64,
        })
    }

    /// The positions of the events that start within `from..=to` (either end open): a
    /// range, since events are in start order.
    pub(crate) fn starting_within(
        &self,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> Range<u32> {
        let starts = |at: OffsetDateTime| at.unix_timestamp_nanos();
        let start_of = |entry: &Entry| i128::from(entry.starts_at);
        let start = from.map_or(0, |from| {
            self.entries
                .partition_point(|entry| start_of(entry) < starts(from))
        });
        let end = to.map_or(self.entries.len(), |to| {
            self.entries
                .partition_point(|entry| start_of(entry) <= starts(to))
        });
        start as u32..end.max(start) as u32
    }

    /// The events at these doc ids (positions), in the order given.
    pub(crate) fn at_positions(
        &self,
        positions: impl IntoIterator<Item = u32>,
    ) -> Result<Vec<Event>> {
        let positions: Vec<u32> = positions.into_iter().collect();
        self.documents.events(&self.entries, &positions)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field("events", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// How many items come before a page, saturating instead of overflowing (a `usize` is 32 bits
/// on wasm32, too small for the largest page number times the largest page size).
pub(crate) fn offset(page: u32, page_size: u32) -> usize {
    let offset = u64::from(page.saturating_sub(1)) * u64::from(page_size);
    usize::try_from(offset).unwrap_or(usize::MAX)
}

/// Checks that the table is in list order with unique ids, and returns the positions
/// sorted by id.
fn by_id(entries: &[Entry]) -> Result<Vec<u32>> {
    if entries
        .windows(2)
        .any(|pair| (pair[0].starts_at, pair[0].id) >= (pair[1].starts_at, pair[1].id))
    {
        return Err(Error::Corrupt("the events are not in list order"));
    }
    let mut by_id: Vec<u32> = (0..entries.len() as u32).collect();
    by_id.sort_unstable_by_key(|&position| entries[position as usize].id);
    if by_id
        .windows(2)
        .any(|pair| entries[pair[0] as usize].id == entries[pair[1] as usize].id)
    {
        return Err(Error::Corrupt("an event id appears twice"));
    }
    Ok(by_id)
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
