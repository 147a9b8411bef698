//! A tantivy query whose matches come from one query and whose scores from others, each
//! asked only about the documents that match.
//!
//! A search of several words matches the events that have every word somewhere (an
//! intersection of the `any` field's postings, and the filters) and scores each by the
//! sum of its words' weighted BM25 in each field. Written as tantivy's boolean of unions,
//! every union scores every document that has its word (a common word's hundred thousand
//! of them) before the intersection throws most away; here the scoring queries are sought
//! to each match alone, so the cost follows the matches.
//!
//! Only a page of the best is wanted, so a match is dropped as soon as what its remaining
//! scoring queries could add cannot lift it above the page's worst. A weighted term can add
//! at most the best BM25 its postings reach (found once per snapshot, [`TermMaxima`]), and
//! to a given match at most its BM25 at that match's length in the field with the term's
//! highest frequency: one byte read per field, where finding what the match really scores
//! is a seek in the term's postings. Most matches of common words are dropped that way
//! without a seek.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Mutex, PoisonError};

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings;
use tantivy::query::{Bm25Weight, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, TantivyError, Term};

/// How many terms' maxima a snapshot keeps before it forgets them all and starts again.
const MAX_TERM_MAXIMA: usize = 65_536;

/// The most a scoring query can add to a match's score.
#[derive(Debug, Clone)]
pub(crate) enum Bound {
    /// A term's BM25 in its field, times a weight: its best in the snapshot, times that.
    Term(Term, Score),
    /// A constant score (a word a typo away).
    Constant(Score),
}

/// Matches what `matches` matches; scores each match by the sum of the `scores` queries'
/// scores of it (those that do not match it add nothing).
#[derive(Debug)]
pub(crate) struct ScoredWithin {
    matches: Box<dyn Query>,
    scores: Vec<Box<dyn Query>>,
    bounds: Vec<Bound>,
}

impl ScoredWithin {
    /// The documents of `matches`, scored by `scores`, each with the most it can add.
    pub fn new(matches: Box<dyn Query>, scores: Vec<(Box<dyn Query>, Bound)>) -> Self {
        let (scores, bounds) = scores.into_iter().unzip();
        ScoredWithin {
            matches,
            scores,
            bounds,
        }
    }

    /// The weight of the query, scoring as `scoring` says.
    fn weights(&self, scoring: EnableScoring<'_>) -> tantivy::Result<ScoredWithinWeight> {
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
        Ok(ScoredWithinWeight { matches, scores })
    }

    /// How many documents match, and the best `limit` of them, best first (equal scores in
    /// doc id order): what tantivy's `(Count, TopDocs)` collects, but a match is dropped,
    /// without seeking the rest, as soon as what its remaining scoring queries could add
    /// cannot lift it into the best.
    ///
    /// A snapshot has one segment (checked when it is opened), so doc ids are positions.
    pub fn count_and_top(
        &self,
        searcher: &Searcher,
        maxima: &TermMaxima,
        limit: usize,
    ) -> tantivy::Result<(usize, Vec<DocId>)> {
        let weight = self.weights(EnableScoring::enabled_from_searcher(searcher))?;
        let mut count = 0;
        let mut top = Top::new(limit);
        for reader in searcher.segment_readers() {
            let mut matches = weight.matches.scorer(reader, 1.0)?;
            if matches.doc() == TERMINATED {
                continue;
            }
            let mut scorers: Vec<Bounded> = Vec::with_capacity(weight.scores.len());
            for (position, score) in weight.scores.iter().enumerate() {
                let scorer = score.scorer(reader, 1.0)?;
                if scorer.is::<EmptyScorer>() {
                    continue;
                }
                let (bound, by_length) = match &self.bounds[position] {
                    Bound::Term(term, boost) => {
                        let max = maxima.of(searcher, reader, term)?;
                        let weight = Bm25Weight::for_terms(searcher, std::slice::from_ref(term))?;
                        let bound = max.score * boost;
                        let weight = weight.boost_by(*boost);
                        let by_length = ByLength {
                            norms: norms_of(reader, term)?,
                            most: std::array::from_fn(|length| {
                                weight.score(length as u8, max.freq).min(bound)
                            }),
                        };
                        (bound, Some(by_length))
                    }
                    Bound::Constant(score) => (*score, None),
                };
                scorers.push(Bounded {
                    position,
                    bound,
                    by_length,
                    scorer,
                });
            }
            // The shortest lists first: a match is most likely missing from them, and what it
            // misses is what it can no longer reach, so it is dropped after the fewest seeks.
            scorers.sort_by_key(|bounded| bounded.scorer.size_hint());
            let mut rest = vec![0.0; scorers.len() + 1];
            let mut parts = vec![0.0; weight.scores.len()];
            let mut doc = matches.doc();
            while doc != TERMINATED {
                count += 1;
                let threshold = top.threshold;
                if let Some(score) =
                    score_above(&mut scorers, &mut rest, &mut parts, doc, threshold)
                {
                    top.push(score, doc);
                }
                doc = matches.advance();
            }
        }
        Ok((count, top.into_sorted()))
    }
}

/// The best BM25 each term scores in its field, over every document that has it, without
/// a weight: what bounds its score in [`ScoredWithin::count_and_top`]. Found by reading the
/// term's postings once, then kept for the snapshot's life.
#[derive(Debug, Default)]
pub(crate) struct TermMaxima(Mutex<HashMap<Term, TermMax>>);

/// The best a term does in its field.
#[derive(Debug, Clone, Copy)]
struct TermMax {
    /// Its best BM25, without a weight.
    score: Score,
    /// The most times one document has it.
    freq: u32,
}

impl TermMaxima {
    /// The best BM25 of `term` in `reader` (scored as `searcher` scores it), and its most
    /// frequent.
    fn of(
        &self,
        searcher: &Searcher,
        reader: &SegmentReader,
        term: &Term,
    ) -> tantivy::Result<TermMax> {
        let lock = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&max) = lock().get(term) {
            return Ok(max);
        }
        let weight = Bm25Weight::for_terms(searcher, std::slice::from_ref(term))?;
        let norms = norms_of(reader, term)?;
        let mut max = TermMax {
            score: 0.0,
            freq: 0,
        };
        let postings = reader
            .inverted_index(term.field())?
            .read_postings(term, IndexRecordOption::WithFreqs)?;
        if let Some(mut postings) = postings {
            while postings.doc() != TERMINATED {
                let freq = postings.term_freq();
                let score = weight.score(norms.fieldnorm_id(postings.doc()), freq);
                max.score = max.score.max(score);
                max.freq = max.freq.max(freq);
                postings.advance();
            }
        }
        let mut maxima = lock();
        if maxima.len() >= MAX_TERM_MAXIMA {
            maxima.clear();
        }
        maxima.insert(term.clone(), max);
        Ok(max)
    }
}

/// The lengths of the documents in `term`'s field (a field without lengths scores every
/// document as one of length one, as tantivy does).
fn norms_of(reader: &SegmentReader, term: &Term) -> tantivy::Result<FieldNormReader> {
    Ok(reader
        .fieldnorms_readers()
        .get_field(term.field())?
        .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1)))
}

/// The most a weighted term can add to a document of a given length: its BM25 there at
/// the term's highest frequency.
struct ByLength {
    norms: FieldNormReader,
    /// The most for each length (as tantivy codes lengths in a byte).
    most: [Score; 256],
}

impl ByLength {
    /// The most the term can add to `doc`.
    fn of(&self, doc: DocId) -> Score {
        self.most[usize::from(self.norms.fieldnorm_id(doc))]
    }
}

/// A scoring query's scorer, and the most it can add to a match.
struct Bounded {
    /// Where its query is among the scoring queries (the order its score is added in).
    position: usize,
    bound: Score,
    /// For a weighted term, the most it can add to a document of each length.
    by_length: Option<ByLength>,
    scorer: Box<dyn Scorer>,
}

/// The sum of the scorers' scores of `doc`, added in their queries' order (as
/// [`ScoredWithinScorer`] adds them), if it exceeds `threshold`; each scorer is sought only
/// while the sum still could.
fn score_above(
    scorers: &mut [Bounded],
    rest: &mut [Score],
    parts: &mut [Score],
    doc: DocId,
    threshold: Option<Score>,
) -> Option<Score> {
    if threshold.is_some() {
        // What the scorers from each one on could add at most to this document, rounded up
        // a little so that a sum in another order never exceeds it.
        for at in (0..scorers.len()).rev() {
            let bounded = &scorers[at];
            let bound = match &bounded.by_length {
                Some(by_length) => by_length.of(doc),
                None => bounded.bound,
            };
            rest[at] = (rest[at + 1] + bound) * 1.000_01;
        }
    }
    parts.fill(0.0);
    let mut partial = 0.0;
    for (at, bounded) in scorers.iter_mut().enumerate() {
        if threshold.is_some_and(|threshold| partial + rest[at] <= threshold) {
            return None;
        }
        let scorer = &mut bounded.scorer;
        if scorer.doc() < doc {
            scorer.seek(doc);
        }
        if scorer.doc() == doc {
            let score = scorer.score();
            parts[bounded.position] = score;
            partial += score;
        }
    }
    let sum = parts.iter().fold(0.0, |sum, part| sum + part);
    threshold
        .is_none_or(|threshold| sum > threshold)
        .then_some(sum)
}

/// The best `limit` documents seen, as tantivy's top-n keeps them: a document must score
/// above the worst kept once `limit` are kept (so, documents coming in doc id order, the
/// lower doc id wins a tie).
pub(crate) struct Top {
    limit: usize,
    heap: BinaryHeap<Reverse<Scored>>,
    /// The worst kept score, once `limit` are kept.
    pub threshold: Option<Score>,
}

impl Top {
    /// Keeps the best `limit`.
    pub fn new(limit: usize) -> Self {
        Top {
            limit,
            heap: BinaryHeap::with_capacity(limit),
            threshold: (limit == 0).then_some(Score::INFINITY),
        }
    }

    /// Keeps `doc`, which scores above the threshold if there is one.
    pub fn push(&mut self, score: Score, doc: DocId) {
        if self.heap.len() < self.limit {
            self.heap.push(Reverse(Scored { score, doc }));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            *worst = Reverse(Scored { score, doc });
        }
        if self.heap.len() == self.limit {
            self.threshold = self.heap.peek().map(|Reverse(worst)| worst.score);
        }
    }

    /// The doc ids kept, best first.
    pub fn into_sorted(self) -> Vec<DocId> {
        let mut kept: Vec<Scored> = self.heap.into_iter().map(|Reverse(kept)| kept).collect();
        kept.sort_by(|a, b| b.cmp(a));
        kept.into_iter().map(|kept| kept.doc).collect()
    }
}

/// A document and its score, ordered by score, then the lower doc id first.
#[derive(Clone, Copy)]
struct Scored {
    score: Score,
    doc: DocId,
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.doc.cmp(&self.doc))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scored {}

impl Clone for ScoredWithin {
    fn clone(&self) -> Self {
        ScoredWithin {
            matches: self.matches.box_clone(),
            scores: self.scores.iter().map(|query| query.box_clone()).collect(),
            bounds: self.bounds.clone(),
        }
    }
}

impl Query for ScoredWithin {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.weights(scoring)?))
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
