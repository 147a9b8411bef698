//! A tantivy query whose matches come from one query and whose scores from others, each
//! asked only about the documents that match.
//!
//! A search of several words matches the events that have every word somewhere (an
//! intersection of the `any` field's postings, and the filters) and scores each by the
//! sum of its words' weighted BM25 in each field. Written as tantivy's boolean of unions,
//! every union scores every document that has its word (a common word's hundred thousand
//! of them) before the intersection throws most away; here the scoring queries are sought
//! to each match alone, so the cost follows the matches.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, Term};

/// Matches what `matches` matches; scores each match by the sum of the `scores` queries'
/// scores of it (those that do not match it add nothing).
#[derive(Debug)]
pub(crate) struct ScoredWithin {
    matches: Box<dyn Query>,
    scores: Vec<Box<dyn Query>>,
}

impl ScoredWithin {
    /// The documents of `matches`, scored by `scores`.
    pub fn new(matches: Box<dyn Query>, scores: Vec<Box<dyn Query>>) -> Self {
        ScoredWithin { matches, scores }
    }
}

impl Clone for ScoredWithin {
    fn clone(&self) -> Self {
        ScoredWithin {
            matches: self.matches.box_clone(),
            scores: self.scores.iter().map(|query| query.box_clone()).collect(),
        }
    }
}

impl Query for ScoredWithin {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        // The matches' own scores are never asked for.
        let matches = self
            .matches
            .weight(EnableScoring::disabled_from_schema(scoring.schema()))?;
        let scores = if scoring.is_scoring_enabled() {
            self.scores
                .iter()
                .map(|query| query.weight(scoring))
                .collect::<tantivy::Result<_>>()?
        } else {
            Vec::new()
        };
        Ok(Box::new(ScoredWithinWeight { matches, scores }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.matches.query_terms(visitor);
        for query in &self.scores {
            query.query_terms(visitor);
        }
    }
}

/// The weight of a [`ScoredWithin`].
struct ScoredWithinWeight {
    matches: Box<dyn Weight>,
    scores: Vec<Box<dyn Weight>>,
}

impl Weight for ScoredWithinWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ScoredWithinScorer {
            matches: self.matches.scorer(reader, boost)?,
            scores: self
                .scores
                .iter()
                .map(|weight| weight.scorer(reader, boost))
                .collect::<tantivy::Result<_>>()?,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document #{doc} does not match"
            )));
        }
        Ok(Explanation::new(
            "sum of the scoring queries",
            scorer.score(),
        ))
    }

    /// The matches' count: scoring changes nothing there.
    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.matches.count(reader)
    }
}

/// Walks the matches; sums the scoring queries at each.
struct ScoredWithinScorer {
    matches: Box<dyn Scorer>,
    scores: Vec<Box<dyn Scorer>>,
}

impl DocSet for ScoredWithinScorer {
    fn advance(&mut self) -> DocId {
        self.matches.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.matches.seek(target)
    }

    fn doc(&self) -> DocId {
        self.matches.doc()
    }

    fn size_hint(&self) -> u32 {
        self.matches.size_hint()
    }

    fn cost(&self) -> u64 {
        self.matches.cost()
    }
}

impl Scorer for ScoredWithinScorer {
    fn score(&mut self) -> Score {
        let doc = self.matches.doc();
        let mut sum = 0.0;
        for scorer in &mut self.scores {
            if scorer.doc() < doc {
                scorer.seek(doc);
            }
            if scorer.doc() == doc {
                sum += scorer.score();
            }
        }
        sum
    }
}
