//! A word searched alone that no event has, matched a typo away: its matches counted and
//! ranked from bitsets.
//!
//! Each field's words a typo away are found in the term dictionary once (one automaton for
//! every field), their postings decoded into a bitset per field, and every match scored by
//! testing its bit in each: the events having near words in more fields, weighted, first.
//! tantivy's union of its fuzzy queries answers the same, walking every match through a
//! union of bitset scorers one document at a time, several times slower.

use tantivy::query::{DfaWrapper, EnableScoring, FuzzyTermQuery, Query, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Score, Searcher, SegmentReader, Term};

use crate::scored_within::Top;

/// A word a typo away in each of some fields, each field's match adding a constant score;
/// as a tantivy query, the union of its fields' fuzzy queries.
#[derive(Debug)]
pub(crate) struct NearWord {
    word: String,
    distance: u8,
    /// Each field and what a near word there adds, in the order the scores are added.
    fields: Vec<(Field, Score)>,
    /// The same as tantivy's union of fuzzy queries, each weighted.
    union: Box<dyn Query>,
}

impl NearWord {
    /// Matches the documents having a word within `distance` of `word` in one of `fields`,
    /// scoring each by the sum of its fields' constants; `union` is the same as a tantivy
    /// query.
    pub fn new(
        word: &str,
        distance: u8,
        fields: Vec<(Field, Score)>,
        union: Box<dyn Query>,
    ) -> Self {
        NearWord {
            word: word.to_string(),
            distance,
            fields,
            union,
        }
    }

    /// How many documents match, and the best `limit` of them, best first (equal scores in
    /// doc id order), as tantivy's `(Count, TopDocs)` over the union collects them.
    pub fn count_and_top(
        &self,
        searcher: &Searcher,
        limit: usize,
    ) -> tantivy::Result<(usize, Vec<DocId>)> {
        let mut count = 0;
        let mut top = Top::new(limit);
        let Some(&(first, _)) = self.fields.first() else {
            return Ok((count, Vec::new()));
        };
        // One automaton for every field: the word is the same, only the field differs.
        let word = Term::from_field_text(first, &self.word);
        let near = FuzzyTermQuery::new(word, self.distance, true).automaton()?;
        for reader in searcher.segment_readers() {
            let mut fields = Vec::with_capacity(self.fields.len());
            for &(field, score) in &self.fields {
                fields.push((near_in(reader, field, &near)?, score));
            }
            let words = reader.max_doc() as usize / 64 + 1;
            for at in 0..words {
                let mut any = fields.iter().fold(0, |any, (marks, _)| any | marks[at]);
                count += any.count_ones() as usize;
                while any != 0 {
                    let bit = any.trailing_zeros();
                    any &= any - 1;
                    let score = fields.iter().fold(0.0, |sum, (marks, score)| {
                        if marks[at] & (1 << bit) != 0 {
                            sum + score
                        } else {
                            sum
                        }
                    });
                    let doc = at as DocId * 64 + bit;
                    if top.threshold.is_none_or(|threshold| score > threshold) {
                        top.push(score, doc);
                    }
                }
            }
        }
        Ok((count, top.into_sorted()))
    }
}

/// One bit per doc id of `reader`: whether its `field` has a word that `near` accepts.
fn near_in(reader: &SegmentReader, field: Field, near: &DfaWrapper) -> tantivy::Result<Vec<u64>> {
    let mut marks = vec![0u64; reader.max_doc() as usize / 64 + 1];
    let index = reader.inverted_index(field)?;
    let mut words = index.terms().search(near).into_stream()?;
    while words.advance() {
        let mut postings =
            index.read_block_postings_from_terminfo(words.value(), IndexRecordOption::Basic)?;
        loop {
            let block = postings.docs();
            if block.is_empty() {
                break;
            }
            for &doc in block {
                marks[doc as usize / 64] |= 1 << (doc % 64);
            }
            postings.advance();
        }
    }
    Ok(marks)
}

impl Clone for NearWord {
    fn clone(&self) -> Self {
        NearWord {
            word: self.word.clone(),
            distance: self.distance,
            fields: self.fields.clone(),
            union: self.union.box_clone(),
        }
    }
}

impl Query for NearWord {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        self.union.weight(scoring)
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.union.query_terms(visitor);
    }
}
