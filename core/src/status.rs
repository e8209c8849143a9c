//! Whether an object is active or cancelled: the store's objects and the journal's copies of
//! booked events both carry it.

/// Whether an object is active or cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// A live object (imip-agent's `objects/`, `recurrences/`).
    Active,
    /// A cancelled object (imip-agent's `cancellations/`).
    Cancelled,
}

impl Status {
    /// The value of the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Cancelled => "cancelled",
        }
    }
}
