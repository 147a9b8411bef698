//! The index schema and the text analysis that the write and read sides must agree on.
//!
//! Text is split on anything that is not a letter or digit, lower-cased and folded to ASCII
//! (so `Beyoncé` matches `beyonce`); there is no stemming, so that edit distances for typo
//! tolerance are measured on the words people type. The category and each performer are
//! also indexed whole, as their words joined by single spaces (a *phrase*: `Stand-up
//! Comedy` is `stand up comedy`, `AC/DC` is `ac dc`), for the exact category filter and to
//! rank a performer's events first when the query is that performer's name.

#[cfg(feature = "build")]
use onsale_model::Event;
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
    TokenizerManager,
};
#[cfg(feature = "build")]
use tantivy::{TantivyDocument, doc};
#[cfg(feature = "build")]
use time::OffsetDateTime;

/// Tokenizer of the free-text fields.
const TEXT: &str = "onsale_text";
/// Tokenizer of the phrase fields: the value as it is (it is a [`phrase`] already).
const RAW: &str = "raw";
/// Longest token kept; longer ones are noise (URLs, hashes) and would bloat the index.
const MAX_TOKEN_BYTES: usize = 40;

/// The index's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The event's name.
    pub name: Field,
    /// The category as words, for free text.
    pub category: Field,
    /// The category as one [`phrase`], for the category filter.
    pub category_key: Field,
    /// The description.
    pub description: Field,
    /// Every performer (one value each).
    pub performers: Field,
    /// Every performer as one [`phrase`] each, to recognise a query that names one.
    pub performer_key: Field,
    /// The venue's name.
    pub venue: Field,
    /// The city.
    pub city: Field,
    /// The start date in words (year, month, weekday), for free text like "march 2027".
    /// (Start-time ranges need no field: documents are in start order, see `doc_range`.)
    pub date: Field,
    /// Every word of the fields above, doc ids only: how many events have a word anywhere
    /// is its document frequency here, read without walking seven lists of postings.
    /// `None` in snapshots built before it existed (they answer the same, counting slower).
    pub any: Option<Field>,
}

impl Fields {
    /// The schema a snapshot is built with, and its fields.
    #[cfg(feature = "build")]
    pub fn schema() -> (Schema, Fields) {
        Fields::schema_of(true)
    }

    /// The fields of an index whose schema is `schema`: this build's, or the one before the
    /// `any` field; `None` for any other.
    pub fn of(schema: &Schema) -> Option<Fields> {
        [true, false].into_iter().find_map(|any| {
            let (expected, fields) = Fields::schema_of(any);
            (*schema == expected).then_some(fields)
        })
    }

    /// The schema, with the `any` field or without it.
    fn schema_of(any: bool) -> (Schema, Fields) {
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let phrase = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(RAW)
                .set_fieldnorms(false)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let mut builder = Schema::builder();
        let fields = Fields {
            name: builder.add_text_field("name", text.clone()),
            category: builder.add_text_field("category", text.clone()),
            category_key: builder.add_text_field("category_key", phrase.clone()),
            description: builder.add_text_field("description", text.clone()),
            performers: builder.add_text_field("performers", text.clone()),
            performer_key: builder.add_text_field("performer_key", phrase),
            venue: builder.add_text_field("venue", text.clone()),
            city: builder.add_text_field("city", text.clone()),
            date: builder.add_text_field("date", text),
            any: any.then(|| {
                let words = TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(TEXT)
                        .set_fieldnorms(false)
                        .set_index_option(IndexRecordOption::Basic),
                );
                builder.add_text_field("any", words)
            }),
        };
        (builder.build(), fields)
    }

    /// The index document of an event.
    #[cfg(feature = "build")]
    pub fn document(&self, analyzer: &mut TextAnalyzer, event: &Event) -> TantivyDocument {
        let mut document = doc!(
            self.name => event.name.as_str(),
            self.category => event.category.as_str(),
            self.category_key => phrase(analyzer, &event.category),
            self.description => event.description.as_str(),
            self.venue => event.venue.as_str(),
            self.city => event.city.as_str(),
            self.date => date_words(event.starts_at),
        );
        for performer in &event.performers {
            document.add_text(self.performers, performer);
            document.add_text(self.performer_key, phrase(analyzer, performer));
        }
        if let Some(any) = self.any {
            let date = date_words(event.starts_at);
            let texts = [
                &event.name,
                &event.category,
                &event.description,
                &event.venue,
            ];
            for text in texts.into_iter().chain([&event.city, &date]) {
                document.add_text(any, text);
            }
            for performer in &event.performers {
                document.add_text(any, performer);
            }
        }
        document
    }
}

/// The tokenizers the schema names; an index must have them to be written or queried.
pub(crate) fn tokenizers() -> TokenizerManager {
    let manager = TokenizerManager::default();
    manager.register(TEXT, text_analyzer());
    manager.register(RAW, RawTokenizer::default());
    manager
}

/// The analyzer of the free-text fields, also used to split queries into words.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The words `analyzer` makes of `text`.
pub(crate) fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while let Some(token) = stream.next() {
        terms.push(token.text.clone());
    }
    terms
}

/// The words of `text` joined by single spaces: how the phrase fields hold a category or a
/// performer, so that `Stand-up  Comedy` and `stand up comedy` are the same. (A search
/// joins the words it already has the same way.)
#[cfg(feature = "build")]
pub(crate) fn phrase(analyzer: &mut TextAnalyzer, text: &str) -> String {
    terms(analyzer, text).join(" ")
}

/// The start date in words, in the event's own offset: year, month and weekday.
#[cfg(feature = "build")]
pub(crate) fn date_words(at: OffsetDateTime) -> String {
    format!("{} {} {}", at.year(), at.month(), at.weekday())
}

/// How many edits a word may be from an indexed word and still match it: none up to 3
/// characters, one for 4 to 7, two from 8 on.
pub(crate) fn fuzzy_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_lower_cased_and_folded() {
        let mut analyzer = text_analyzer();
        assert_eq!(
            terms(&mut analyzer, "Beyoncé & the Ça-Va Band!"),
            ["beyonce", "the", "ca", "va", "band"]
        );
        assert!(terms(&mut analyzer, "  -- !! ").is_empty());
    }

    #[cfg(feature = "build")]
    #[test]
    fn phrases_ignore_case_accents_and_punctuation() {
        let mut analyzer = text_analyzer();
        assert_eq!(
            phrase(&mut analyzer, "  Stand-up   Comedy "),
            "stand up comedy"
        );
        assert_eq!(phrase(&mut analyzer, "THÉÂTRE"), "theatre");
        assert_eq!(phrase(&mut analyzer, "AC/DC"), "ac dc");
        assert_eq!(phrase(&mut analyzer, "--"), "");
    }

    #[cfg(feature = "build")]
    #[test]
    fn dates_in_words_in_the_events_own_offset() {
        use time::macros::datetime;

        assert_eq!(
            date_words(datetime!(2027-03-14 20:00 +01:00)),
            "2027 March Sunday"
        );
        assert_eq!(
            date_words(datetime!(2027-03-15 00:30 +02:00)),
            "2027 March Monday"
        );
    }

    #[test]
    fn opens_indexes_with_or_without_the_any_field_and_nothing_else() {
        let (current, _) = Fields::schema_of(true);
        assert!(Fields::of(&current).expect("this build's").any.is_some());
        let (before, _) = Fields::schema_of(false);
        assert!(Fields::of(&before).expect("the one before").any.is_none());
        let mut other = Schema::builder();
        other.add_text_field("name", tantivy::schema::TEXT);
        assert!(Fields::of(&other.build()).is_none());
    }

    #[test]
    fn typo_budget_grows_with_length() {
        assert_eq!(fuzzy_distance("abc"), 0);
        assert_eq!(fuzzy_distance("adele"), 1);
        assert_eq!(fuzzy_distance("beyonce"), 1);
        assert_eq!(fuzzy_distance("metallica"), 2);
        assert_eq!(fuzzy_distance("çaça"), 1);
    }
}
