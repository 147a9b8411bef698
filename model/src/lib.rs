//! onsale's domain and API types: what the coordinator, the indexer and the edge agree
//! on. No I/O, so it builds for wasm32 as well as natively.
//!
//! Layout:
//! - [`error`]: the table of error codes and the JSON error body.
//! - [`event`]: events, seat maps, seat states.
//! - [`user`]: sign-up, log-in, sessions.
//! - [`hold`]: seat holds.
//! - [`booking`]: bookings, tickets, notifications.
//! - [`change`]: change-log entries.
//! - [`queue`]: the waiting room: its settings, queue places and passes.
//! - [`page`]: paged lists.
//! - [`seat_csv`]: seat maps from CSV (`section,row,seat,price`).
//! - [`operator`]: operator accounts, roles, API keys, the audit trail, door check-in.
//!
//! Prices are integers in minor units (cents) of the event's currency; times are RFC 3339.

#![deny(missing_docs)]

pub mod booking;
pub mod change;
pub mod display;
pub mod error;
pub mod event;
pub mod hold;
pub mod operator;
pub mod page;
pub mod queue;
pub mod seat_csv;
pub mod user;

pub use booking::{
    BookedEvent, BookedSeat, Booking, BookingStatus, CheckoutQuery, CheckoutResponse, Notification,
    PayWith, RefundStatus, Ticket, TicketKey,
};
pub use change::{
    BadLogPosition, Catalogue, Change, LOG_POSITION_PATTERN, LogEntry, LogPosition, ReleaseReason,
};
pub use error::{ApiError, DEFAULT_RETRY_AFTER_SECONDS, ErrorBody, ErrorCode};
pub use event::{
    Availability, DEFAULT_MAX_SEATS_PER_ACCOUNT, DEFAULT_TIME_ZONE, Event, EventDetails,
    MAX_SEATS_PER_ACCOUNT_LIMIT, NewEvent, RowSpec, Seat, SeatMap, SeatMapSpec, SeatStatus,
    SeatView, SeatsResponse, SectionPlace, SectionPosition, SectionSpec,
};
pub use hold::{BestAvailable, Hold, HoldRequest};
pub use operator::{
    Actor, ActorKind, ApiKeyCreated, ApiKeyView, AuditEntry, BookingCounts, CheckIn, CheckInCount,
    CheckInRequest, EventImage, ImageFile, MinuteSales, NewApiKey, NewOperator, OperatorCreated,
    OperatorLogin, OperatorSession, OperatorView, Order, OrderDetail, PasswordChange,
    RefundRequest, Role, Sales, TicketAdmission, TierSales,
};
pub use page::{Page, PageQuery};
pub use queue::{QueueKeyView, QueueState, QueueStatus, WaitingRoom, WaitingRoomSettings};
pub use user::{Login, Session, SignUp, UserCreated, ValidSignUp};
