//! Deserializing past the first problem, so a file's problems are all reported at once.
//!
//! serde stops at the first unknown key or wrong type. Here each problem's item — a
//! `key = value`, an array element, or a whole table — is blanked out of a working copy of
//! the text (its bytes become spaces, newlines stay), and the copy is deserialized again.
//! Blanking keeps every byte offset, so each error's span still points into the original
//! text. Items are found with the span-aware [`DeTable`] parser, not by a schema: this
//! works for any serde type.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

/// At most this many problems are collected from one file; a file with more is mostly
/// something else than a manifest, and each one costs a parse.
pub(super) const MAX_PROBLEMS: usize = 64;

/// The outcome of [`deserialize`].
pub(super) struct Recovered<T> {
    /// The value of the text without the blanked items; `None` when a problem could not be
    /// blanked out (a syntax error, a missing top-level key) or there were too many.
    pub value: Option<T>,
    /// Every problem found, with spans into the original text, in the order serde met them.
    pub errors: Vec<toml::de::Error>,
}

/// Deserializes `text` as a `T`, collecting every problem serde finds instead of the first.
pub(super) fn deserialize<T: DeserializeOwned>(text: &str) -> Recovered<T> {
    let mut working = text.to_string();
    let mut errors = Vec::new();
    // Spans of the tables that lost an entry to blanking. A problem reported at such a table
    // (a missing key) follows from the blanking: the entry's own problem is already reported.
    let mut emptied: Vec<Range<usize>> = Vec::new();
    while errors.len() < MAX_PROBLEMS {
        let error = match toml::from_str::<T>(&working) {
            Ok(value) => {
                return Recovered {
                    value: Some(value),
                    errors,
                };
            }
            Err(error) => error,
        };
        let Ok(document) = DeTable::parse(&working) else {
            // A syntax error in the file: nothing after it can be read. (Once something was
            // blanked, the text parsed before; should blanking ever break it, the problems
            // found so far stand.)
            if errors.is_empty() {
                errors.push(error);
            }
            break;
        };
        let consequence = error.span().is_some_and(|span| emptied.contains(&span));
        // The document's own span is empty: a problem there (a missing top-level key) has
        // nothing to blank.
        let item = error
            .span()
            .filter(|span| !span.is_empty())
            .and_then(|span| innermost(items(&document, &working), &span));
        if !consequence {
            errors.push(error);
        }
        let Some(item) = item else { break };
        emptied.push(item.parent);
        match blank(&working, &item.blank) {
            Some(blanked) if blanked != working => working = blanked,
            _ => break,
        }
    }
    Recovered {
        value: None,
        errors,
    }
}

/// Something that can be blanked out of the text.
struct Item {
    /// Where a problem lies for it to be this item's: a `key = value` from key to value,
    /// an array element, a table from its header to the next header, or the key of a table
    /// that only exists through its subtables (`web` in `[component.web.build]`).
    bounds: Range<usize>,
    /// The byte ranges that remove it, with its subtables and a comma that would dangle.
    blank: Vec<Range<usize>>,
    /// The span of the table or array holding it.
    parent: Range<usize>,
}

/// The item with the smallest bounds around `span`.
fn innermost(items: Vec<Item>, span: &Range<usize>) -> Option<Item> {
    items
        .into_iter()
        .filter(|item| item.bounds.start <= span.start && span.end <= item.bounds.end)
        .min_by_key(|item| item.bounds.len())
}

/// Every item of the document.
fn items(document: &Spanned<DeTable<'_>>, text: &str) -> Vec<Item> {
    let mut headers = Vec::new();
    header_starts(document.get_ref(), text, &mut headers);
    headers.sort_unstable();
    let walk = Walk { text, headers };
    let mut items = Vec::new();
    walk.table(document.get_ref(), &document.span(), &mut items);
    items
}

/// Where each `[table]` and `[[array.of.tables]]` header starts.
fn header_starts(table: &DeTable<'_>, text: &str, starts: &mut Vec<usize>) {
    for value in table.values() {
        match value.get_ref() {
            DeValue::Table(inner) => {
                if is_header(text, &value.span()) {
                    starts.push(value.span().start);
                }
                header_starts(inner, text, starts);
            }
            DeValue::Array(array) => {
                for element in array.iter() {
                    if let DeValue::Table(inner) = element.get_ref() {
                        if is_header(text, &element.span()) {
                            starts.push(element.span().start);
                        }
                        header_starts(inner, text, starts);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A table's span is its header when it has one, `{ ... }` when inline, and its key when it
/// only exists through dotted keys or subtables.
fn is_header(text: &str, span: &Range<usize>) -> bool {
    text.as_bytes().get(span.start) == Some(&b'[')
}

struct Walk<'t> {
    text: &'t str,
    /// Sorted starts of all headers.
    headers: Vec<usize>,
}

impl Walk<'_> {
    /// Pushes an item for each entry of `table` (whose span is `span`) and everything in
    /// them; returns what blanks them all.
    fn table(
        &self,
        table: &DeTable<'_>,
        span: &Range<usize>,
        items: &mut Vec<Item>,
    ) -> Vec<Range<usize>> {
        let mut blank = Vec::new();
        for (key, value) in table.iter() {
            blank.extend(self.entry(&key.span(), value, span, items));
        }
        blank
    }

    fn entry(
        &self,
        key: &Range<usize>,
        value: &Spanned<DeValue<'_>>,
        parent: &Range<usize>,
        items: &mut Vec<Item>,
    ) -> Vec<Range<usize>> {
        let span = value.span();
        let (bounds, blank) = match value.get_ref() {
            DeValue::Table(table) if is_header(self.text, &span) => {
                (self.section(&span), self.header_table(table, &span, items))
            }
            // Only its entries (dotted keys, subtables) are in the text.
            DeValue::Table(table) if span == *key => (key.clone(), self.table(table, &span, items)),
            DeValue::Array(array) if self.is_array_of_tables(array) => {
                let mut blank = Vec::new();
                for element in array.iter() {
                    let DeValue::Table(table) = element.get_ref() else {
                        continue;
                    };
                    let element_blank = self.header_table(table, &element.span(), items);
                    items.push(Item {
                        bounds: self.section(&element.span()),
                        blank: element_blank.clone(),
                        parent: span.clone(),
                    });
                    blank.extend(element_blank);
                }
                (key.clone(), blank)
            }
            inline => {
                self.inside(inline, &span, items);
                (
                    key.start..span.end,
                    vec![self.statement(key.start, span.end)],
                )
            }
        };
        items.push(Item {
            bounds,
            blank: blank.clone(),
            parent: parent.clone(),
        });
        blank
    }

    /// A table with a header: its section and its subtables.
    fn header_table(
        &self,
        table: &DeTable<'_>,
        span: &Range<usize>,
        items: &mut Vec<Item>,
    ) -> Vec<Range<usize>> {
        let mut blank = vec![self.section(span)];
        blank.extend(self.table(table, span, items));
        blank
    }

    /// Items inside an inline table or array, each of which can go alone.
    fn inside(&self, value: &DeValue<'_>, span: &Range<usize>, items: &mut Vec<Item>) {
        match value {
            DeValue::Table(table) => {
                self.table(table, span, items);
            }
            DeValue::Array(array) => {
                for element in array.iter() {
                    let element_span = element.span();
                    self.inside(element.get_ref(), &element_span, items);
                    items.push(Item {
                        blank: vec![self.statement(element_span.start, element_span.end)],
                        bounds: element_span,
                        parent: span.clone(),
                    });
                }
            }
            _ => {}
        }
    }

    fn is_array_of_tables(&self, array: &DeArray<'_>) -> bool {
        !array.is_empty()
            && array.iter().all(|element| {
                matches!(element.get_ref(), DeValue::Table(_))
                    && is_header(self.text, &element.span())
            })
    }

    /// A header and the lines after it, up to the next header.
    fn section(&self, header: &Range<usize>) -> Range<usize> {
        let end = self
            .headers
            .iter()
            .copied()
            .find(|start| *start > header.start)
            .unwrap_or(self.text.len());
        header.start..end
    }

    /// From the start of an entry (with any dotted key before `start`) to `end`, with the
    /// comma that follows it in an inline table or array, so what is left stays TOML.
    fn statement(&self, start: usize, end: usize) -> Range<usize> {
        let bytes = self.text.as_bytes();
        let start = bytes[..start]
            .iter()
            .rposition(|byte| matches!(byte, b'\n' | b'{' | b'[' | b','))
            .map_or(0, |at| at + 1);
        let next = bytes[end..]
            .iter()
            .position(|byte| !byte.is_ascii_whitespace())
            .map(|at| end + at);
        match next {
            Some(comma) if bytes[comma] == b',' => start..comma + 1,
            _ => start..end,
        }
    }
}

/// `text` with the bytes of `ranges` replaced by spaces, newlines kept; `None` if a range
/// would cut a character (never for ranges from the parser's spans).
fn blank(text: &str, ranges: &[Range<usize>]) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    for range in ranges {
        for byte in bytes.get_mut(range.clone())? {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    String::from_utf8(bytes).ok()
}
