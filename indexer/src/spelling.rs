//! "Did you mean": for a search that found nothing, the same words with each one that no
//! event has replaced by the nearest word the catalogue does have (in the names, the
//! performers, the places or the categories), a few edits further than the search's own
//! typo tolerance reaches.

use tantivy::schema::Field;

use crate::error::Result;
use crate::query::has_word;
use crate::schema::{self, fuzzy_distance};
use crate::snapshot::Snapshot;

/// How many edits a suggestion may be from the word typed: one more than a search
/// forgives, so that a suggestion finds what the search could not.
fn suggestion_distance(word: &str) -> usize {
    usize::from(fuzzy_distance(word)) + 1
}

impl Snapshot {
    /// The words of `text` spelled as the catalogue spells them, or `None` when every
    /// word is one some event has (or no word has a near one). Only the words of a
    /// search: filters are not looked at.
    pub fn spelling_suggestion(&self, text: &str) -> Result<Option<String>> {
        let words = schema::terms(&mut schema::text_analyzer(), text);
        let f = self.fields;
        let vocabulary = [f.name, f.performers, f.venue, f.city, f.category];
        let mut known_anywhere = vocabulary.to_vec();
        known_anywhere.extend([f.description, f.date]);
        let mut changed = false;
        let mut suggested = Vec::with_capacity(words.len());
        for word in words {
            if has_word(&self.searcher, &known_anywhere, &word)? {
                suggested.push(word);
                continue;
            }
            match self.nearest_word(&vocabulary, &word)? {
                Some(near) => {
                    changed = true;
                    suggested.push(near);
                }
                None => suggested.push(word),
            }
        }
        Ok(changed.then(|| suggested.join(" ")))
    }

    /// The indexed word of `fields` fewest edits from `word` (within
    /// [`suggestion_distance`]); of those as near, the one most events have.
    fn nearest_word(&self, fields: &[Field], word: &str) -> Result<Option<String>> {
        let typed: Vec<char> = word.chars().collect();
        let limit = suggestion_distance(word);
        // (distance, events having it negated, the word): the least is the best.
        let mut best: Option<(usize, i64, String)> = None;
        for segment in self.searcher.segment_readers() {
            for &field in fields {
                let index = segment.inverted_index(field)?;
                let mut terms = index
                    .terms()
                    .stream()
                    .map_err(tantivy::TantivyError::from)?;
                while terms.advance() {
                    let Ok(candidate) = std::str::from_utf8(terms.key()) else {
                        continue;
                    };
                    let Some(distance) = bounded_edit_distance(&typed, candidate, limit) else {
                        continue;
                    };
                    let key = (distance, -i64::from(terms.value().doc_freq));
                    if best.as_ref().is_none_or(|(d, freq, _)| key < (*d, *freq)) {
                        best = Some((key.0, key.1, candidate.to_string()));
                    }
                }
            }
        }
        Ok(best.map(|(_, _, word)| word))
    }
}

/// The Levenshtein distance between `typed` and `candidate` if it is at most `limit`.
fn bounded_edit_distance(typed: &[char], candidate: &str, limit: usize) -> Option<usize> {
    let candidate: Vec<char> = candidate.chars().collect();
    if typed.len().abs_diff(candidate.len()) > limit {
        return None;
    }
    let mut previous: Vec<usize> = (0..=candidate.len()).collect();
    let mut current = vec![0; candidate.len() + 1];
    for (i, &a) in typed.iter().enumerate() {
        current[0] = i + 1;
        let mut row_min = current[0];
        for (j, &b) in candidate.iter().enumerate() {
            let substitution = previous[j] + usize::from(a != b);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            row_min = row_min.min(current[j + 1]);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[candidate.len()];
    (distance <= limit).then_some(distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: &str, b: &str, limit: usize) -> Option<usize> {
        bounded_edit_distance(&a.chars().collect::<Vec<_>>(), b, limit)
    }

    #[test]
    fn edit_distances_within_the_limit() {
        assert_eq!(distance("coldplay", "coldplay", 2), Some(0));
        assert_eq!(distance("kolplay", "coldplay", 2), Some(2));
        assert_eq!(distance("berlni", "berlin", 2), Some(2));
        assert_eq!(distance("oslo", "lisbon", 2), None);
        assert_eq!(distance("a", "abcd", 2), None, "lengths too far apart");
        assert_eq!(distance("münchen", "munchen", 1), Some(1));
    }
}
