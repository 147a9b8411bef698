//! A tantivy query matching a contiguous range of doc ids.
//!
//! Documents are indexed in start-time order, so the events starting between two instants
//! are a contiguous range of doc ids, found by binary search over the events. Matching that
//! range directly is exact to the nanosecond, costs nothing per document (seeking is an
//! assignment) and needs no fast field in the index, where a range query over a timestamp
//! column would scan it.

use std::ops::Range;

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError};

/// Matches the documents whose ids are in `docs`, all with the same score.
#[derive(Debug, Clone)]
pub(crate) struct DocRangeQuery {
    docs: Range<DocId>,
}

impl DocRangeQuery {
    /// Matches the ids in `docs` (an empty range matches nothing).
    pub fn new(docs: Range<DocId>) -> Self {
        DocRangeQuery { docs }
    }
}

impl Query for DocRangeQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(DocRangeWeight {
            docs: self.docs.clone(),
        }))
    }
}

/// The weight of a [`DocRangeQuery`]: the range, cut to each segment.
struct DocRangeWeight {
    docs: Range<DocId>,
}

impl DocRangeWeight {
    /// The range within a segment's documents.
    fn within(&self, reader: &SegmentReader) -> Range<DocId> {
        let end = self.docs.end.min(reader.max_doc());
        self.docs.start.min(end)..end
    }
}

impl Weight for DocRangeWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = self.within(reader);
        let doc = if docs.is_empty() {
            TERMINATED
        } else {
            docs.start
        };
        Ok(Box::new(DocRangeScorer {
            doc,
            end: docs.end,
            score: boost,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if self.within(reader).contains(&doc) {
            Ok(Explanation::new("doc id in range", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document #{doc} is not in the range"
            )))
        }
    }

    /// The length of the range (snapshots have no deleted documents).
    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        Ok(self.within(reader).len() as u32)
    }
}

/// Walks a range of doc ids.
struct DocRangeScorer {
    /// The current doc, or `TERMINATED`.
    doc: DocId,
    /// One past the last doc.
    end: DocId,
    /// The score of every doc.
    score: Score,
}

impl DocSet for DocRangeScorer {
    fn advance(&mut self) -> DocId {
        self.seek(self.doc.saturating_add(1))
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.doc = if target < self.end {
            target
        } else {
            TERMINATED
        };
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        if self.doc == TERMINATED {
            0
        } else {
            self.end - self.doc
        }
    }
}

impl Scorer for DocRangeScorer {
    fn score(&mut self) -> Score {
        self.score
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every doc id of `docs`, in order.
    pub(crate) fn walk(mut docs: impl DocSet) -> Vec<DocId> {
        let mut walked = Vec::new();
        while docs.doc() != TERMINATED {
            walked.push(docs.doc());
            docs.advance();
        }
        walked
    }

    #[test]
    fn walks_and_seeks_within_the_range() {
        let scorer = |doc, end| DocRangeScorer {
            doc,
            end,
            score: 1.0,
        };
        assert_eq!(walk(scorer(3, 6)), [3, 4, 5]);
        assert_eq!(walk(scorer(TERMINATED, 6)), Vec::<DocId>::new());
        let mut seeking = scorer(3, 6);
        assert_eq!(seeking.size_hint(), 3);
        assert_eq!(seeking.seek(5), 5);
        assert_eq!(seeking.seek(6), TERMINATED);
        assert_eq!(seeking.advance(), TERMINATED);
        assert_eq!(seeking.size_hint(), 0);
    }
}
