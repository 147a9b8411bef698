//! A tantivy query matching the documents that have every one of some terms, found by
//! decoding their postings a block at a time rather than by seeking one list to each
//! document of another.
//!
//! A search of several words matches the events having each word somewhere (the `any`
//! field). Common words have long lists of postings of about the same length ("tour" and a
//! city: a twelfth of the events each); tantivy's leapfrog intersection seeks the other
//! list once for nearly every document of one, each seek a skip-list step and a search in a
//! block. Here the fewest list's documents are marked in a bitset and the other list is
//! read block by block, each document a bit test; a list much longer than the candidates
//! left is sought to each instead, as tantivy would.

use tantivy::postings::BlockSegmentPostings;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

/// A list longer than this many times the candidates left is sought to each candidate
/// rather than read whole.
const READ_WHOLE_UP_TO: usize = 16;

/// Matches the documents having every one of `terms` (each in its own field), all with the
/// same score.
#[derive(Debug, Clone)]
pub(crate) struct EveryTermQuery {
    terms: Vec<Term>,
}

impl EveryTermQuery {
    /// Matches the documents having every one of `terms`; no terms match nothing.
    pub fn new(terms: Vec<Term>) -> Self {
        EveryTermQuery { terms }
    }
}

impl Query for EveryTermQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(EveryTermWeight {
            terms: self.terms.clone(),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for term in &self.terms {
            visitor(term, false);
        }
    }
}

/// The weight of an [`EveryTermQuery`].
struct EveryTermWeight {
    terms: Vec<Term>,
}

impl Weight for EveryTermWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(DocsScorer {
            docs: docs_with_every(reader, &self.terms)?,
            at: 0,
            score: boost,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if docs_with_every(reader, &self.terms)?
            .binary_search(&doc)
            .is_ok()
        {
            Ok(Explanation::new("has every term", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document #{doc} does not have every term"
            )))
        }
    }
}

/// The doc ids of `reader` that have every one of `terms`, in order.
fn docs_with_every(reader: &SegmentReader, terms: &[Term]) -> tantivy::Result<Vec<DocId>> {
    let mut lists = Vec::with_capacity(terms.len());
    for term in terms {
        let postings = reader
            .inverted_index(term.field())?
            .read_block_postings(term, IndexRecordOption::Basic)?;
        match postings {
            Some(postings) => lists.push(postings),
            None => return Ok(Vec::new()),
        }
    }
    lists.sort_by_key(BlockSegmentPostings::doc_freq);
    let mut lists = lists.into_iter();
    let Some(mut fewest) = lists.next() else {
        return Ok(Vec::new());
    };
    let mut docs = Vec::with_capacity(fewest.doc_freq() as usize);
    read_blocks(&mut fewest, |block| docs.extend_from_slice(block));
    let mut marks = Vec::new();
    for mut list in lists {
        if docs.is_empty() {
            break;
        }
        if list.doc_freq() as usize > READ_WHOLE_UP_TO * docs.len() {
            docs.retain(|&doc| {
                let at = list.seek(doc);
                list.docs().get(at) == Some(&doc)
            });
        } else {
            // One bit per doc id up to the last candidate.
            let last = docs[docs.len() - 1];
            marks.clear();
            marks.resize(last as usize / 64 + 1, 0u64);
            for &doc in &docs {
                marks[doc as usize / 64] |= 1 << (doc % 64);
            }
            docs.clear();
            read_blocks(&mut list, |block| {
                for &doc in block {
                    if doc > last {
                        break;
                    }
                    if marks[doc as usize / 64] & (1 << (doc % 64)) != 0 {
                        docs.push(doc);
                    }
                }
            });
        }
    }
    Ok(docs)
}

/// Hands every block of `postings` to `each`, in order.
fn read_blocks(postings: &mut BlockSegmentPostings, mut each: impl FnMut(&[DocId])) {
    loop {
        let block = postings.docs();
        if block.is_empty() {
            return;
        }
        each(block);
        postings.advance();
    }
}

/// Walks a sorted list of doc ids.
struct DocsScorer {
    docs: Vec<DocId>,
    /// Where the current doc is in `docs` (its length once past the end).
    at: usize,
    /// The score of every doc.
    score: Score,
}

impl DocSet for DocsScorer {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let rest = &self.docs[self.at..];
        self.at += rest.partition_point(|&doc| doc < target);
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        (self.docs.len() - self.at) as u32
    }
}

impl Scorer for DocsScorer {
    fn score(&mut self) -> Score {
        self.score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(mut scorer: DocsScorer) -> Vec<DocId> {
        let mut docs = Vec::new();
        while scorer.doc() != TERMINATED {
            docs.push(scorer.doc());
            scorer.advance();
        }
        docs
    }

    #[test]
    fn walks_and_seeks_the_list() {
        let scorer = |docs: &[DocId]| DocsScorer {
            docs: docs.to_vec(),
            at: 0,
            score: 1.0,
        };
        assert_eq!(walk(scorer(&[2, 5, 9])), [2, 5, 9]);
        assert_eq!(walk(scorer(&[])), Vec::<DocId>::new());
        let mut seeking = scorer(&[2, 5, 9, 14]);
        assert_eq!(seeking.size_hint(), 4);
        assert_eq!(seeking.seek(2), 2);
        assert_eq!(seeking.seek(6), 9);
        assert_eq!(seeking.size_hint(), 2);
        assert_eq!(seeking.seek(9), 9);
        assert_eq!(seeking.advance(), 14);
        assert_eq!(seeking.seek(15), TERMINATED);
        assert_eq!(seeking.advance(), TERMINATED);
        assert_eq!(seeking.size_hint(), 0);
    }

    /// Both ways of narrowing the candidates (reading a list whole, seeking a long one)
    /// against tantivy's own intersection, on a generated catalogue.
    #[cfg(feature = "build")]
    #[test]
    fn finds_what_tantivys_intersection_finds() {
        use tantivy::collector::DocSetCollector;
        use tantivy::query::{BooleanQuery, TermQuery};

        use crate::{Snapshot, build_snapshot, synthetic};

        let events = synthetic::generate(20_000);
        let snapshot = Snapshot::from_bytes(build_snapshot(1, &events).unwrap()).unwrap();
        let any = snapshot.fields.any.unwrap();
        let performer = events[5].performers[0].to_lowercase();
        let rare = performer.split(' ').next_back().unwrap();
        let cases: [&[&str]; 7] = [
            &["tour", "berlin"],
            &["golden", "nights", "london"],
            &[rare, "tour"],
            &["concert", rare],
            &["the", "festival"],
            &["tour", "zzyzx"],
            &["live"],
        ];
        for words in cases {
            let terms: Vec<Term> = words
                .iter()
                .map(|word| Term::from_field_text(any, word))
                .collect();
            let found = snapshot
                .searcher
                .search(&EveryTermQuery::new(terms.clone()), &DocSetCollector)
                .unwrap();
            let each = terms.into_iter().map(|term| -> Box<dyn Query> {
                Box::new(TermQuery::new(term, IndexRecordOption::Basic))
            });
            let expected = snapshot
                .searcher
                .search(
                    &BooleanQuery::intersection(each.collect()),
                    &DocSetCollector,
                )
                .unwrap();
            assert_eq!(found, expected, "{words:?}");
            assert!(
                words.contains(&"zzyzx") || !found.is_empty(),
                "{words:?} tests nothing"
            );
        }
    }
}
