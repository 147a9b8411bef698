//! onsale indexer (being written).
