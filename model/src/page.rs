//! Paged lists.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
    /// Items in the whole list.
    pub total: u64,
}

/// `?page=&page_size=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct PageQuery {
    /// 1-based page number (default 1).
    #[serde(default = "first_page")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub page: u32,
    /// Items per page (default 20, at most [`MAX_PAGE_SIZE`]).
    #[serde(default = "default_page_size")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub page_size: u32,
}

fn first_page() -> u32 {
    1
}

fn default_page_size() -> u32 {
    20
}

impl Default for PageQuery {
    fn default() -> Self {
        PageQuery {
            page: first_page(),
            page_size: default_page_size(),
        }
    }
}

impl PageQuery {
    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.page == 0 {
            return Err(ApiError::invalid("page starts at 1"));
        }
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(ApiError::invalid(format!(
                "page_size must be 1-{MAX_PAGE_SIZE}"
            )));
        }
        Ok(())
    }

    /// How many items come before this page (saturating, so no page number overflows,
    /// even where `usize` is 32 bits).
    pub fn offset(&self) -> usize {
        (self.page.saturating_sub(1) as usize).saturating_mul(self.page_size as usize)
    }
}
