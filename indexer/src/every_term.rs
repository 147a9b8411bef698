//! A tantivy query matching the documents that have, for each of some groups of terms, one
//! of the group's terms; found by decoding postings a block at a time rather than by
//! seeking one list to each document of another.
//!
//! A search of several words matches the events having each word somewhere (the `any`
//! field), and filters add groups of their own (a category; a place's word in the city or
//! the venue). Common words and filters have long lists of postings of about the same
//! length ("tour" and a city: a twelfth of the events each); tantivy's leapfrog
//! intersection seeks the other list once for nearly every document of one, each seek a
//! skip-list step and a search in a block. Here the candidates are the fewest group's
//! documents, and each other group's lists are read block by block into a bitset that the
//! candidates are tested against, a bit each; a group much longer than the candidates left
//! is sought to each instead, as tantivy would.

use tantivy::postings::BlockSegmentPostings;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

/// A group whose lists are longer than this many times the candidates left is sought to
/// each candidate rather than read whole.
const READ_WHOLE_UP_TO: usize = 16;

/// Matches the documents having, for every group, one of its terms (each in its own
/// field), all with the same score.
#[derive(Debug, Clone)]
pub(crate) struct EveryTermQuery {
    groups: Vec<Vec<Term>>,
}

impl EveryTermQuery {
    /// Matches the documents having one term of each of `groups`; no groups match nothing.
    pub fn new(groups: Vec<Vec<Term>>) -> Self {
        EveryTermQuery { groups }
    }
}

impl Query for EveryTermQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(EveryTermWeight {
            groups: self.groups.clone(),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for term in self.groups.iter().flatten() {
            visitor(term, false);
        }
    }
}

/// The weight of an [`EveryTermQuery`].
struct EveryTermWeight {
    groups: Vec<Vec<Term>>,
}

impl Weight for EveryTermWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(DocsScorer {
            docs: docs_with_every(reader, &self.groups)?,
            at: 0,
            score: boost,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if docs_with_every(reader, &self.groups)?
            .binary_search(&doc)
            .is_ok()
        {
            Ok(Explanation::new("has a term of every group", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document #{doc} lacks every term of a group"
            )))
        }
    }
}

/// The postings of one group's terms (those some document has).
struct Group {
    lists: Vec<BlockSegmentPostings>,
    /// How many postings the lists hold in all.
    postings: usize,
}

/// The doc ids of `reader` that have a term of each of `groups`, in order.
fn docs_with_every(reader: &SegmentReader, groups: &[Vec<Term>]) -> tantivy::Result<Vec<DocId>> {
    let mut opened = Vec::with_capacity(groups.len());
    for terms in groups {
        let mut lists = Vec::with_capacity(terms.len());
        for term in terms {
            let postings = reader
                .inverted_index(term.field())?
                .read_block_postings(term, IndexRecordOption::Basic)?;
            lists.extend(postings);
        }
        let postings = lists.iter().map(|list| list.doc_freq() as usize).sum();
        if postings == 0 {
            return Ok(Vec::new());
        }
        opened.push(Group { lists, postings });
    }
    opened.sort_by_key(|group| group.postings);
    let mut groups = opened.into_iter();
    let Some(mut fewest) = groups.next() else {
        return Ok(Vec::new());
    };
    let mut marks = Vec::new();
    let mut docs = Vec::with_capacity(fewest.postings);
    if let [list] = &mut fewest.lists[..] {
        read_blocks(list, DocId::MAX, |block| docs.extend_from_slice(block));
    } else {
        mark(fewest.lists, reader.max_doc().saturating_sub(1), &mut marks);
        for (at, &word) in marks.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                docs.push(at as DocId * 64 + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
    }
    for mut group in groups {
        let Some(&last) = docs.last() else {
            break;
        };
        if group.postings > READ_WHOLE_UP_TO * docs.len() {
            docs.retain(|&doc| {
                group.lists.iter_mut().any(|list| {
                    let at = list.seek(doc);
                    list.docs().get(at) == Some(&doc)
                })
            });
        } else {
            mark(group.lists, last, &mut marks);
            docs.retain(|&doc| is_marked(&marks, doc));
        }
    }
    Ok(docs)
}

/// Marks in `marks` (one bit per doc id, cleared first) every doc id up to `last` that one
/// of `lists` has.
fn mark(lists: Vec<BlockSegmentPostings>, last: DocId, marks: &mut Vec<u64>) {
    marks.clear();
    marks.resize(last as usize / 64 + 1, 0);
    for mut list in lists {
        read_blocks(&mut list, last, |block| {
            for &doc in block.iter().take_while(|&&doc| doc <= last) {
                marks[doc as usize / 64] |= 1 << (doc % 64);
            }
        });
    }
}

/// Whether `doc` is marked in `marks`.
fn is_marked(marks: &[u64], doc: DocId) -> bool {
    marks[doc as usize / 64] & (1 << (doc % 64)) != 0
}

/// Hands the blocks of `postings` to `each`, in order, up to the one holding `last`.
fn read_blocks(postings: &mut BlockSegmentPostings, last: DocId, mut each: impl FnMut(&[DocId])) {
    loop {
        let block = postings.docs();
        let Some(&block_last) = block.last() else {
            return;
        };
        each(block);
        if block_last >= last {
            return;
        }
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
    use crate::doc_range::tests::walk;

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

    /// Every way of narrowing the candidates (a group read whole, a long group sought, a
    /// group of several lists first or later) against tantivy's own intersection of
    /// unions, on a generated catalogue.
    #[cfg(feature = "build")]
    #[test]
    fn finds_what_tantivys_intersection_finds() {
        use tantivy::collector::DocSetCollector;
        use tantivy::query::{BooleanQuery, TermQuery};

        use crate::{Snapshot, build_snapshot, synthetic};

        let events = synthetic::generate(20_000);
        let snapshot = Snapshot::from_bytes(build_snapshot(1, &events).unwrap()).unwrap();
        let fields = &snapshot.fields;
        let any = fields.any.unwrap();
        let performer = events[5].performers[0].to_lowercase();
        let rare = performer.split(' ').next_back().unwrap();
        let word = |word: &str| vec![Term::from_field_text(any, word)];
        let place = |word: &str| {
            vec![
                Term::from_field_text(fields.city, word),
                Term::from_field_text(fields.venue, word),
            ]
        };
        let category = |name: &str| vec![Term::from_field_text(fields.category_key, name)];
        let cases: [Vec<Vec<Term>>; 10] = [
            vec![word("tour"), word("berlin")],
            vec![word("golden"), word("nights"), word("london")],
            vec![word(rare), word("tour")],
            vec![word("concert"), word(rare)],
            vec![word("the"), word("festival")],
            vec![word("tour"), word("zzyzx")],
            vec![word("live")],
            vec![category("concert"), place("new"), place("york")],
            vec![place("paris"), category("opera")],
            vec![place("tokyo"), place("dome"), word(rare)],
        ];
        for groups in cases {
            let found = snapshot
                .searcher
                .search(&EveryTermQuery::new(groups.clone()), &DocSetCollector)
                .unwrap();
            let each = groups.iter().map(|terms| -> Box<dyn Query> {
                let each = terms.iter().map(|term| -> Box<dyn Query> {
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic))
                });
                Box::new(BooleanQuery::union(each.collect()))
            });
            let expected = snapshot
                .searcher
                .search(
                    &BooleanQuery::intersection(each.collect()),
                    &DocSetCollector,
                )
                .unwrap();
            assert_eq!(found, expected, "{groups:?}");
            let zzyzx = groups
                .iter()
                .flatten()
                .any(|t| t.value().as_str() == Some("zzyzx"));
            assert!(zzyzx || !found.is_empty(), "{groups:?} tests nothing");
        }
    }
}
