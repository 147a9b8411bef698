//! How a validated search becomes a tantivy query and is run against a snapshot (the
//! rules are in [`crate::search`]).

use onsale_model::{Event, Page, PageQuery};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use crate::doc_range::DocRangeQuery;
use crate::error::Result;
use crate::every_term::EveryTermQuery;
use crate::near_word::NearWord;
use crate::schema::{Fields, fuzzy_distance};
use crate::scored_within::{Bound, ScoredWithin};
use crate::search::{Criteria, SearchQuery};
use crate::snapshot::{Snapshot, offset};

/// Weight of an exact word in the performers.
const PERFORMERS_BOOST: f32 = 5.0;
/// Weight of an exact word in the event's name.
const NAME_BOOST: f32 = 3.0;
/// Weight of an exact word in the venue, the city or the category.
const PLACE_BOOST: f32 = 2.0;
/// Weight of an exact word in the description or the date words.
const DETAIL_BOOST: f32 = 1.0;
/// Weight of a query that is a performer's whole name: far above what its words score, so
/// that performer's events come first. (A weighted term rather than a constant, so that a
/// one-word query stays a union of terms, which tantivy can prune block by block.)
const WHOLE_PERFORMER_BOOST: f32 = 200.0;
/// How many of a common word's best matches a snapshot keeps ranked: 50 pages of 20.
#[cfg(feature = "build")]
const RANKED: usize = 1_000;
/// How many of the most common words a snapshot keeps ranked.
#[cfg(feature = "build")]
const RANKED_WORDS: usize = 32;
/// A word is common when at least one event in this many has it...
#[cfg(feature = "build")]
const COMMON_SHARE: u64 = 10;
/// ... and at least this many events (below that, ranking its matches is quick).
#[cfg(feature = "build")]
const COMMON_EVENTS: u64 = 2_000;
/// Constant score of a word a typo away from a performer's.
const NEAR_PERFORMER_SCORE: f32 = 1.0;
/// Constant score of a word a typo away from one in the event's name.
const NEAR_NAME_SCORE: f32 = 0.6;
/// Constant score of a word a typo away from one in the city or the venue.
const NEAR_PLACE_SCORE: f32 = 0.5;

/// How the words of `q` combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Words {
    /// Every word must match.
    All,
    /// At least one word must match.
    Any,
}

/// How one word of free text matches: the queries of its alternatives, each weighted.
struct Alternatives {
    /// Whether they are the word itself in each field (else, words a typo away).
    exact: bool,
    queries: Vec<Box<dyn Query>>,
    /// The most each query can add to a match's score, in the same order.
    bounds: Vec<Bound>,
}

/// Builds tantivy queries against one snapshot.
pub(crate) struct Plan<'a> {
    snapshot: &'a Snapshot,
    searcher: &'a Searcher,
    fields: &'a Fields,
}

impl<'a> Plan<'a> {
    /// Plans queries against `snapshot`.
    pub fn new(snapshot: &'a Snapshot) -> Self {
        Plan {
            snapshot,
            searcher: &snapshot.searcher,
            fields: &snapshot.fields,
        }
    }

    /// The whole query: the words (scored), and every filter (scoring nothing).
    pub fn query(&self, criteria: &Criteria, words: Words) -> Result<Box<dyn Query>> {
        let fields = self.fields;
        let performer = Term::from_field_text(fields.performer_key, &criteria.phrase);
        let whole_performer: Option<Box<dyn Query>> = (!criteria.words.is_empty()).then(|| {
            let term = TermQuery::new(performer.clone(), IndexRecordOption::WithFreqs);
            Box::new(BoostQuery::new(Box::new(term), WHOLE_PERFORMER_BOOST)) as Box<dyn Query>
        });
        let filters = self.filters(criteria)?;

        let mut words_alternatives = Vec::with_capacity(criteria.words.len());
        for word in &criteria.words {
            words_alternatives.push(self.word(word)?);
        }

        // One word and nothing else: a flat union, so that its top hits can be found without
        // scoring every match.
        if let ([word], [alternatives], true) = (
            criteria.words.as_slice(),
            words_alternatives.as_slice(),
            filters.is_empty(),
        ) {
            let mut any: Vec<Box<dyn Query>> =
                alternatives.queries.iter().map(|q| q.box_clone()).collect();
            any.extend(whole_performer);
            let union = Box::new(BooleanQuery::union(any));
            // A word no event has (so no performer is named it either): matched a typo away,
            // each field's near words a bitset.
            if !alternatives.exact && self.searcher.doc_freq(&performer)? == 0 {
                let near = self.near_fields().to_vec();
                let distance = fuzzy_distance(word);
                return Ok(Box::new(NearWord::new(word, distance, near, union)));
            }
            return Ok(union);
        }

        // Several words, or words and filters: the matches are an intersection (each word
        // in the `any` field where the snapshot has it and the word is found as it is, else
        // in one of its alternatives' fields; and each filter), and only they are scored.
        let mut in_any: Vec<Vec<Term>> = Vec::new();
        let mut unions: Vec<Box<dyn Query>> = Vec::new();
        let mut scores: Vec<(Box<dyn Query>, Bound)> = Vec::new();
        for (word, alternatives) in criteria.words.iter().zip(words_alternatives) {
            match (alternatives.exact, fields.any) {
                (true, Some(any)) => in_any.push(vec![Term::from_field_text(any, word)]),
                _ => {
                    let each = alternatives.queries.iter().map(|q| q.box_clone()).collect();
                    unions.push(Box::new(BooleanQuery::union(each)));
                }
            }
            scores.extend(alternatives.queries.into_iter().zip(alternatives.bounds));
        }
        if let Some(whole_performer) = whole_performer {
            scores.push((
                whole_performer,
                Bound::Term(performer, WHOLE_PERFORMER_BOOST),
            ));
        }
        let mut groups: Vec<Vec<Term>> = Vec::new();
        let mut every: Vec<Box<dyn Query>> = Vec::new();
        for filter in filters {
            match filter {
                Filter::OneOf(terms) => groups.push(terms),
                Filter::Query(query) => every.push(query),
            }
        }
        match words {
            Words::All => {
                groups.extend(in_any);
                every.extend(unions);
            }
            Words::Any => {
                unions.extend(in_any.into_iter().map(one_of));
                every.push(Box::new(BooleanQuery::union(unions)));
            }
        }
        // Groups of terms are read side by side, unless a window of start times (a range of
        // doc ids, perhaps short) can lead tantivy's intersection and read less.
        if groups.len() > 1 && !criteria.has_window() {
            every.push(Box::new(EveryTermQuery::new(groups)));
        } else {
            every.extend(groups.into_iter().map(one_of));
        }
        let matches = Box::new(BooleanQuery::intersection(every));
        Ok(Box::new(ScoredWithin::new(matches, scores)))
    }

    /// The filters of a search.
    fn filters(&self, criteria: &Criteria) -> Result<Vec<Filter>> {
        let fields = self.fields;
        let mut filters = Vec::new();
        if let Some(category) = &criteria.category {
            let category = Term::from_field_text(fields.category_key, category);
            filters.push(Filter::OneOf(vec![category]));
        }
        if let Some(words) = &criteria.location {
            filters.extend(self.every_word_in(&[fields.city, fields.venue], words)?);
        }
        if let Some(words) = &criteria.performer {
            filters.extend(self.every_word_in(&[fields.performers], words)?);
        }
        if let Some(words) = &criteria.name {
            filters.extend(self.every_word_in(&[fields.name], words)?);
        }
        if criteria.has_window() {
            // Events are in start order: the ones in the window are a range of doc ids.
            let window = self.snapshot.starting_within(criteria.from, criteria.to);
            filters.push(Filter::Query(Box::new(DocRangeQuery::new(window))));
        }
        Ok(filters)
    }

    /// One word of free text, as alternatives: exact in any field (weighted per field); or,
    /// if no event has it anywhere, a typo away in the performers, the name, the city or
    /// the venue.
    fn word(&self, word: &str) -> Result<Alternatives> {
        let f = self.fields;
        let weighted = [
            (f.performers, PERFORMERS_BOOST),
            (f.name, NAME_BOOST),
            (f.venue, PLACE_BOOST),
            (f.city, PLACE_BOOST),
            (f.category, PLACE_BOOST),
            (f.description, DETAIL_BOOST),
            (f.date, DETAIL_BOOST),
        ];
        let fields: Vec<Field> = weighted.iter().map(|&(field, _)| field).collect();
        let distance = fuzzy_distance(word);
        if distance == 0 || self.known(&fields, word)? {
            return Ok(Alternatives {
                exact: true,
                bounds: weighted
                    .iter()
                    .map(|&(field, boost)| Bound::Term(Term::from_field_text(field, word), boost))
                    .collect(),
                queries: weighted
                    .into_iter()
                    .map(|(field, boost)| -> Box<dyn Query> {
                        let exact = term(field, word, IndexRecordOption::WithFreqs);
                        Box::new(BoostQuery::new(exact, boost))
                    })
                    .collect(),
            });
        }
        let near = self.near_fields();
        Ok(Alternatives {
            exact: false,
            queries: near
                .into_iter()
                .map(|(field, score)| -> Box<dyn Query> {
                    let word = Term::from_field_text(field, word);
                    let near = FuzzyTermQuery::new(word, distance, true);
                    Box::new(BoostQuery::new(Box::new(near), score))
                })
                .collect(),
            bounds: near
                .into_iter()
                .map(|(_, score)| Bound::Constant(score))
                .collect(),
        })
    }

    /// The fields a word is looked for a typo away in, and what a near word in each adds.
    fn near_fields(&self) -> [(Field, Score); 4] {
        let f = self.fields;
        [
            (f.performers, NEAR_PERFORMER_SCORE),
            (f.name, NEAR_NAME_SCORE),
            (f.city, NEAR_PLACE_SCORE),
            (f.venue, NEAR_PLACE_SCORE),
        ]
    }

    /// Every word in at least one of `fields`, a filter each. A word that no event has
    /// exactly in any of them matches a typo away instead (if it is long enough to allow
    /// one).
    fn every_word_in(&self, fields: &[Field], words: &[String]) -> Result<Vec<Filter>> {
        let mut every = Vec::with_capacity(words.len());
        for word in words {
            let distance = if self.known(fields, word)? {
                0
            } else {
                fuzzy_distance(word)
            };
            every.push(if distance == 0 {
                let each = fields
                    .iter()
                    .map(|&field| Term::from_field_text(field, word));
                Filter::OneOf(each.collect())
            } else {
                let near = fields.iter().map(|&field| -> Box<dyn Query> {
                    let word = Term::from_field_text(field, word);
                    Box::new(FuzzyTermQuery::new(word, distance, true))
                });
                Filter::Query(Box::new(BooleanQuery::union(near.collect())))
            });
        }
        Ok(every)
    }

    /// How many events a one-word search without filters (`query`) matches, if the word is
    /// matched as it is (a typo's matches are counted on the scoring pass): the `any`
    /// field's document frequency where the snapshot has it, else a walk without scores.
    /// The query also matches a performer's whole name, but such events have the word
    /// among their performers' anyway.
    fn flat_count(&self, criteria: &Criteria, query: &dyn Query) -> Result<Option<usize>> {
        let ([word], false) = (criteria.words.as_slice(), criteria.has_filters()) else {
            return Ok(None);
        };
        let Some(any) = self.fields.any else {
            return Ok(if self.word(word)?.exact {
                Some(query.count(self.searcher)?)
            } else {
                None
            });
        };
        let events = self.searcher.doc_freq(&Term::from_field_text(any, word))?;
        let exact = events > 0 || fuzzy_distance(word) == 0;
        Ok(exact.then_some(events as usize))
    }

    /// Whether some event has `word` in one of `fields`.
    fn known(&self, fields: &[Field], word: &str) -> Result<bool> {
        has_word(self.searcher, fields, word)
    }
}

/// What a filter matches.
enum Filter {
    /// The documents having one of these terms.
    OneOf(Vec<Term>),
    /// What a query matches (words a typo away, a window of start times).
    Query(Box<dyn Query>),
}

/// A query matching the documents having one of `terms`.
fn one_of(mut terms: Vec<Term>) -> Box<dyn Query> {
    if terms.len() == 1
        && let Some(term) = terms.pop()
    {
        return Box::new(TermQuery::new(term, IndexRecordOption::Basic));
    }
    let each = terms
        .into_iter()
        .map(|term| -> Box<dyn Query> { Box::new(TermQuery::new(term, IndexRecordOption::Basic)) });
    Box::new(BooleanQuery::union(each.collect()))
}

/// Whether some document of `searcher` has `word` in one of `fields`.
pub(crate) fn has_word(searcher: &Searcher, fields: &[Field], word: &str) -> Result<bool> {
    for &field in fields {
        if searcher.doc_freq(&Term::from_field_text(field, word))? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// An exact term query.
fn term(field: Field, text: &str, option: IndexRecordOption) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), option))
}

impl Snapshot {
    /// Searches the snapshot: one page of matching events, best first, and how many match in
    /// all. Without `q`, matching events come in list order (start time, then id).
    ///
    /// A query that is not valid is [`crate::Error::Invalid`], carrying the
    /// `invalid_request` error to answer with.
    pub fn search(&self, query: &SearchQuery) -> Result<Page<Event>> {
        let criteria = Criteria::parse(query)?;
        // An empty catalogue has an empty segment, on which tantivy's fuzzy matching panics.
        if criteria.words.is_empty() && !criteria.has_filters() || self.is_empty() {
            return self.list(PageQuery {
                page: criteria.page,
                page_size: criteria.page_size,
            });
        }
        let plan = Plan::new(self);
        let mut page = self.run(&plan, &*plan.query(&criteria, Words::All)?, &criteria)?;
        if page.total == 0 && criteria.words.len() > 1 {
            page = self.run(&plan, &*plan.query(&criteria, Words::Any)?, &criteria)?;
        }
        Ok(page)
    }

    /// Runs a query and collects the requested page, in one pass over the matches where
    /// it can.
    fn run(&self, plan: &Plan, query: &dyn Query, criteria: &Criteria) -> Result<Page<Event>> {
        let skip = offset(criteria.page, criteria.page_size);
        let page_size = criteria.page_size as usize;
        let (total, positions): (usize, Vec<DocId>) = if criteria.by_date
            || criteria.words.is_empty()
        {
            // Doc ids are list positions, in start order, and matches come in doc id order:
            // the first ones are the soonest. Counting them on the way costs nothing more.
            let (total, first) = self.searcher.search(
                query,
                &CountAndFirst {
                    limit: skip.saturating_add(page_size),
                },
            )?;
            (total, first.into_iter().skip(skip).collect())
        } else if let Some(within) = query.downcast_ref::<ScoredWithin>() {
            // Several words, words and filters, or a typo: every match is counted, and
            // scored only as far as it could still reach the page.
            let limit = skip.saturating_add(page_size);
            let (total, top) = within.count_and_top(&self.searcher, &self.term_maxima, limit)?;
            (total, top.into_iter().skip(skip).collect())
        } else if let Some(near) = query.downcast_ref::<NearWord>() {
            // A word a typo away, alone: its matches counted and ranked from bitsets.
            let limit = skip.saturating_add(page_size);
            let (total, top) = near.count_and_top(&self.searcher, limit)?;
            (total, top.into_iter().skip(skip).collect())
        } else if let Some(ranked) = self.ranked_page(criteria, skip, page_size) {
            ranked
        } else if let Some(total) = plan.flat_count(criteria, query)? {
            // One word alone, found as it is: its count is known without a walk, and a top-n
            // alone skips the blocks of postings that cannot reach the page.
            let top = TopDocs::with_limit(page_size)
                .and_offset(skip)
                .order_by_score();
            let top = if skip >= total {
                Vec::new()
            } else {
                self.searcher.search(query, &top)?
            };
            (
                total,
                top.into_iter().map(|(_, address)| address.doc_id).collect(),
            )
        } else {
            // Any other query (a word a typo away, whose constant scores leave nothing to
            // skip): count on the scoring pass.
            let top = TopDocs::with_limit(page_size)
                .and_offset(skip)
                .order_by_score();
            let (total, top) = self.searcher.search(query, &(Count, top))?;
            (
                total,
                top.into_iter().map(|(_, address)| address.doc_id).collect(),
            )
        };
        Ok(Page {
            items: self.at_positions(positions)?,
            page: criteria.page,
            page_size: criteria.page_size,
            total: total as u64,
        })
    }
}

impl Snapshot {
    /// The best matches of each of the most common words searched alone, ranked as
    /// [`Snapshot::search`] ranks them: a page of a word that most events have is then read
    /// from a list instead of ranking its matches (milliseconds at a million events).
    /// Words that at least [`COMMON_SHARE`] of the events (and [`COMMON_EVENTS`]) have, at
    /// most [`RANKED_WORDS`] of them, most common first; [`RANKED`] matches each.
    #[cfg(feature = "build")]
    pub(crate) fn rank_common_words(
        &self,
    ) -> Result<std::collections::BTreeMap<String, Vec<DocId>>> {
        let Some(any) = self.fields.any else {
            return Ok(Default::default());
        };
        let at_least = (self.searcher.num_docs() / COMMON_SHARE).max(COMMON_EVENTS);
        let mut common: Vec<(u32, String)> = Vec::new();
        for reader in self.searcher.segment_readers() {
            let dictionary = reader.inverted_index(any)?;
            let mut terms = dictionary
                .terms()
                .stream()
                .map_err(tantivy::TantivyError::from)?;
            while terms.advance() {
                let events = terms.value().doc_freq;
                if u64::from(events) >= at_least
                    && let Ok(word) = std::str::from_utf8(terms.key())
                {
                    common.push((events, word.to_string()));
                }
            }
        }
        common.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        common.truncate(RANKED_WORDS);
        let plan = Plan::new(self);
        let mut ranked = std::collections::BTreeMap::new();
        for (_, word) in common {
            let criteria = Criteria::parse(&SearchQuery {
                q: Some(word.clone()),
                ..SearchQuery::default()
            })?;
            if criteria.words != [word.as_str()] {
                continue;
            }
            let query = plan.query(&criteria, Words::All)?;
            let top = TopDocs::with_limit(RANKED).order_by_score();
            let best = self.searcher.search(&*query, &top)?;
            ranked.insert(word, best.into_iter().map(|(_, at)| at.doc_id).collect());
        }
        Ok(ranked)
    }

    /// A page of a one-word search from the word's ranked matches, if it has them and they
    /// reach the page; with the count.
    fn ranked_page(
        &self,
        criteria: &Criteria,
        skip: usize,
        page_size: usize,
    ) -> Option<(usize, Vec<DocId>)> {
        let ([word], false, Some(any)) = (
            criteria.words.as_slice(),
            criteria.has_filters(),
            self.fields.any,
        ) else {
            return None;
        };
        let ranked = self.catalogue.ranked.get(word)?;
        let total = self
            .searcher
            .doc_freq(&Term::from_field_text(any, word))
            .ok()? as usize;
        let end = skip.saturating_add(page_size).min(total);
        (end <= ranked.len()).then(|| (total, ranked[skip.min(end)..end].to_vec()))
    }
}

/// Counts the matches and keeps the first `limit` doc ids, in doc id order (list order),
/// in one pass without scores.
struct CountAndFirst {
    limit: usize,
}

/// [`CountAndFirst`] within a segment.
struct CountAndFirstInSegment {
    limit: usize,
    count: usize,
    first: Vec<DocId>,
}

impl Collector for CountAndFirst {
    type Fruit = (usize, Vec<DocId>);
    type Child = CountAndFirstInSegment;

    fn for_segment(&self, _: SegmentOrdinal, _: &SegmentReader) -> tantivy::Result<Self::Child> {
        Ok(CountAndFirstInSegment {
            limit: self.limit,
            count: 0,
            first: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    /// A snapshot has one segment (checked when it is opened), so doc ids are positions.
    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let count = fruits.iter().map(|(count, _)| count).sum();
        let first = fruits.into_iter().flat_map(|(_, first)| first);
        Ok((count, first.take(self.limit).collect()))
    }
}

impl SegmentCollector for CountAndFirstInSegment {
    type Fruit = (usize, Vec<DocId>);

    fn collect(&mut self, doc: DocId, _: Score) {
        self.count += 1;
        if self.first.len() < self.limit {
            self.first.push(doc);
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.count, self.first)
    }
}

#[cfg(all(test, feature = "build"))]
mod tests {
    use tantivy::query::{ConstScoreQuery, Occur};

    use super::*;
    use crate::{build_snapshot, synthetic};

    /// How a search was written before [`ScoredWithin`]: a boolean query whose every word
    /// is a union of its alternatives, scored by tantivy.
    fn boolean_of_unions(plan: &Plan, criteria: &Criteria, words: Words) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let alternatives = |word: &String| plan.word(word).unwrap().queries;
        match words {
            Words::All => {
                for word in &criteria.words {
                    let any = BooleanQuery::union(alternatives(word));
                    clauses.push((Occur::Must, Box::new(any)));
                }
            }
            Words::Any => {
                let any = criteria.words.iter().flat_map(alternatives).collect();
                clauses.push((Occur::Must, Box::new(BooleanQuery::union(any))));
            }
        }
        let whole_performer = term(
            plan.fields.performer_key,
            &criteria.phrase,
            IndexRecordOption::WithFreqs,
        );
        let whole_performer = BoostQuery::new(whole_performer, WHOLE_PERFORMER_BOOST);
        clauses.push((Occur::Should, Box::new(whole_performer)));
        for filter in plan.filters(criteria).unwrap() {
            let filter = match filter {
                Filter::OneOf(terms) => one_of(terms),
                Filter::Query(query) => query,
            };
            let filter = ConstScoreQuery::new(filter, 0.0);
            clauses.push((Occur::Must, Box::new(filter)));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Every result of a search, a page at a time, and the total, with the query `write`
    /// makes.
    fn every_result(
        snapshot: &Snapshot,
        pairs: &str,
        write: impl Fn(&Criteria, Words) -> Box<dyn Query>,
    ) -> (Vec<u64>, u64) {
        let plan = Plan::new(snapshot);
        let mut ids = Vec::new();
        let mut total = 0;
        for page in 1.. {
            let query: SearchQuery =
                serde_urlencoded::from_str(&format!("{pairs}&page={page}&page_size=50")).unwrap();
            let criteria = Criteria::parse(&query).unwrap();
            let mut found = snapshot
                .run(&plan, &*write(&criteria, Words::All), &criteria)
                .unwrap();
            if found.total == 0 && criteria.words.len() > 1 {
                found = snapshot
                    .run(&plan, &*write(&criteria, Words::Any), &criteria)
                    .unwrap();
            }
            total = found.total;
            if found.items.is_empty() {
                break;
            }
            ids.extend(found.items.iter().map(|event| event.id));
        }
        (ids, total)
    }

    /// A common word's pages come from its ranking, and rank as tantivy's top-n ranks them
    /// page by page: the same scores in the same places (events of scores equal but for
    /// the last bits of a float sum may trade places: tantivy's own pages of different
    /// sizes order them differently too).
    #[test]
    fn common_words_answer_from_their_ranking_as_they_would_by_walking() {
        let events = synthetic::generate(30_000);
        let snapshot = Snapshot::from_bytes(build_snapshot(1, &events).unwrap()).unwrap();
        let words: Vec<&String> = snapshot.catalogue.ranked.keys().collect();
        assert!(words.len() >= 5, "{words:?}");
        assert!(snapshot.catalogue.ranked.contains_key("the"), "{words:?}");
        assert!(!snapshot.catalogue.ranked.contains_key("tour"), "{words:?}");
        let plan = Plan::new(&snapshot);
        for word in words {
            let criteria = Criteria::parse(&SearchQuery {
                q: Some(word.clone()),
                ..SearchQuery::default()
            })
            .unwrap();
            let query = plan.query(&criteria, Words::All).unwrap();
            let score = |doc: DocId| {
                let address = tantivy::DocAddress::new(0, doc);
                query.explain(&snapshot.searcher, address).unwrap().value()
            };
            for (skip, page_size) in [(0, 20), (120, 20), (980, 20), (900, 100), (14, 7)] {
                let (total, from_ranking) =
                    snapshot.ranked_page(&criteria, skip, page_size).unwrap();
                assert!(total >= 3_000, "{word}: {total}");
                let top = TopDocs::with_limit(page_size)
                    .and_offset(skip)
                    .order_by_score();
                let walked = snapshot.searcher.search(&*query, &top).unwrap();
                assert_eq!(from_ranking.len(), walked.len(), "{word} {skip}");
                for (&ranked, (walked_score, _)) in from_ranking.iter().zip(&walked) {
                    let ranked_score = score(ranked);
                    let apart = (ranked_score - walked_score).abs();
                    assert!(
                        apart <= 1e-5 * walked_score,
                        "{word} {skip}: {ranked_score} {walked_score}"
                    );
                }
            }
            assert!(
                snapshot.ranked_page(&criteria, 1_000, 20).is_none(),
                "{word}"
            );
        }
        let page = snapshot
            .search(&SearchQuery {
                q: Some("the".into()),
                page: 3,
                ..SearchQuery::default()
            })
            .unwrap();
        let ranked = &snapshot.catalogue.ranked["the"][40..60];
        let ids: Vec<u64> = page.items.iter().map(|event| event.id).collect();
        let expected: Vec<u64> = ranked
            .iter()
            .map(|&at| snapshot.entries[at as usize].id)
            .collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn scoring_only_the_matches_answers_as_the_boolean_of_unions() {
        let events = synthetic::generate(3_000);
        let snapshot = Snapshot::from_bytes(build_snapshot(1, &events).unwrap()).unwrap();
        let plan = Plan::new(&snapshot);
        let fields_before = Fields {
            any: None,
            ..snapshot.fields
        };
        let without_any = Plan {
            fields: &fields_before,
            ..Plan::new(&snapshot)
        };
        let name = &events[99].name;
        let performers =
            [0, 17, 123, 999, 2_500].map(|at| format!("q={}", events[at].performers[0]));
        for pairs in performers.into_iter().chain([
            "q=golden+tour".to_string(),
            "q=berlin+nights".to_string(),
            "q=the+who+at+the+garden".to_string(),
            format!("q={name}"),
            format!("q={name}&sort=date"),
            "q=concert&location=london".to_string(),
            "q=gallager+live".to_string(),
            "q=gallager".to_string(),
            "q=berlinn".to_string(),
            "q=gentel".to_string(),
            "q=tokio".to_string(),
            "q=zenitt".to_string(),
            "q=festival+berlin".to_string(),
            "q=the+tour".to_string(),
            "q=golden+zzyzx".to_string(),
            "q=tour&category=concert&from=2027-01-01&to=2027-12-31".to_string(),
        ]) {
            let found = every_result(&snapshot, &pairs, |c, w| plan.query(c, w).unwrap());
            assert_eq!(found.1, found.0.len() as u64, "{pairs}");
            assert!(found.1 > 0, "{pairs}: the case tests nothing");
            let before = every_result(&snapshot, &pairs, |c, w| boolean_of_unions(&plan, c, w));
            assert_eq!(found, before, "{pairs}");
            let older = every_result(&snapshot, &pairs, |c, w| without_any.query(c, w).unwrap());
            assert_eq!(found, older, "{pairs}: a snapshot without the any field");
        }
    }
}
