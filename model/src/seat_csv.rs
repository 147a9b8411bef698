//! Seat maps from CSV, as venues and ticketing exports give them: one line per seat,
//! `section,row,seat,price` (a header line is optional; prices in minor units). Each
//! section's rows must number their seats 1 to n with one price per row; the section's
//! price is its most common row price.

use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::event::{RowSpec, SeatMapSpec, SectionSpec};

/// The most lines a seat map CSV may have (one more than the most seats of an event).
pub const MAX_CSV_LINES: usize = 200_001;

/// One section as read, in the order its first seat appeared.
struct ReadSection {
    name: String,
    /// Rows in order of appearance: name, seat numbers, price.
    rows: Vec<(String, Vec<u32>, u64)>,
}

/// Reads a seat map from CSV; an error names the line at fault (`field`: `line 7`).
pub fn seat_map_from_csv(text: &str) -> Result<SeatMapSpec, ApiError> {
    let mut sections: Vec<ReadSection> = Vec::new();
    let mut lines = 0;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let at = |message: String| {
            ApiError::invalid(format!("line {number}: {message}")).at(format!("line {number}"))
        };
        lines += 1;
        if lines > MAX_CSV_LINES {
            return Err(at(format!(
                "a seat map has at most {} seats",
                MAX_CSV_LINES - 1
            )));
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let cells: Vec<&str> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"').trim())
            .collect();
        if cells.len() != 4 {
            return Err(at(format!(
                "expected section,row,seat,price, found {} cells",
                cells.len()
            )));
        }
        let (section, row, seat, price) = (cells[0], cells[1], cells[2], cells[3]);
        if number == 1 && seat.parse::<u32>().is_err() && price.parse::<u64>().is_err() {
            continue; // the header
        }
        let seat: u32 = seat
            .parse()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| at(format!("seat {seat:?} must be a number from 1")))?;
        let price: u64 = price
            .parse()
            .map_err(|_| at(format!("price {price:?} must be a whole number of cents")))?;
        if section.is_empty() || row.is_empty() {
            return Err(at("section and row must not be empty".into()));
        }
        let found = match sections.iter().position(|s| s.name == section) {
            Some(i) => i,
            None => {
                sections.push(ReadSection {
                    name: section.to_string(),
                    rows: Vec::new(),
                });
                sections.len() - 1
            }
        };
        let rows = &mut sections[found].rows;
        match rows.iter_mut().find(|(name, _, _)| name == row) {
            Some((_, seats, row_price)) => {
                if *row_price != price {
                    return Err(at(format!(
                        "row {row} of {section} has seats at {row_price} and at {price}: a row has one price"
                    )));
                }
                seats.push(seat);
            }
            None => rows.push((row.to_string(), vec![seat], price)),
        }
    }
    if sections.is_empty() {
        return Err(ApiError::invalid("the CSV has no seats").at("line 1"));
    }
    let mut ids = Vec::new();
    let mut spec = SeatMapSpec {
        sections: Vec::new(),
    };
    for section in sections {
        let id = section_id(&section.name, &ids);
        ids.push(id.clone());
        let mut prices: BTreeMap<u64, usize> = BTreeMap::new();
        for (_, _, price) in &section.rows {
            *prices.entry(*price).or_default() += 1;
        }
        let price = prices
            .iter()
            .max_by_key(|(price, count)| (**count, std::cmp::Reverse(**price)))
            .map_or(0, |(price, _)| *price);
        let mut rows = Vec::new();
        for (name, mut seats, row_price) in section.rows {
            seats.sort_unstable();
            let expected: Vec<u32> = (1..=seats.len() as u32).collect();
            if seats != expected {
                let missing = expected.iter().find(|n| !seats.contains(n));
                return Err(ApiError::invalid(match missing {
                    Some(n) => format!(
                        "row {name} of {}: seat {n} is missing (seats are numbered 1 to n)",
                        section.name
                    ),
                    None => format!("row {name} of {}: a seat is listed twice", section.name),
                })
                .at(format!("{} row {name}", section.name)));
            }
            rows.push(RowSpec {
                name,
                seats: seats.len() as u32,
                price: (row_price != price).then_some(row_price),
            });
        }
        spec.sections.push(SectionSpec {
            id,
            name: section.name,
            price,
            rows,
            position: None,
        });
    }
    Ok(spec)
}

/// A section id from its name: its letters and digits, upper case, at most 16, made
/// unique with a number.
fn section_id(name: &str, taken: &[String]) -> String {
    let base: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(12)
        .collect();
    let base = if base.is_empty() {
        "S".to_string()
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}{n}");
        n += 1;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_rows_and_prices() {
        let csv = "section,row,seat,price\nFloor,A,2,4500\nFloor,A,1,4500\nFloor,B,1,4000\nUpper Tier 1,1,1,2500\n";
        let spec = seat_map_from_csv(csv).unwrap();
        assert_eq!(spec.sections.len(), 2);
        let floor = &spec.sections[0];
        assert_eq!((floor.id.as_str(), floor.name.as_str()), ("FLOOR", "Floor"));
        assert_eq!(floor.price, 4000, "a tie goes to the cheaper price");
        assert_eq!(floor.rows[0].seats, 2);
        assert_eq!(floor.rows[0].price, Some(4500));
        assert_eq!(floor.rows[1].price, None);
        assert_eq!(spec.sections[1].id, "UPPERTIER1");
        assert!(crate::event::SeatMap::compile(&spec).is_ok());
    }

    #[test]
    fn errors_name_the_line() {
        for (csv, field) in [
            ("Floor,A,1,4500\nFloor,A,x,4500", "line 2"),
            ("Floor,A,1,4500\nFloor,A,2,3000", "line 2"),
            ("Floor,A,1", "line 1"),
            ("Floor,A,1,4500\nFloor,A,3,4500", "Floor row A"),
            ("", "line 1"),
        ] {
            let error = seat_map_from_csv(csv).unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field), "{csv}: {error}");
        }
    }
}
