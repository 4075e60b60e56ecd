//! Headers the gateway sets upstream for a verified fan (and strips when a client sends them).

/// The admitted fan's user id.
pub const FAN_ID: &str = "x-fan-id";
/// The event the admission is for.
pub const EVENT_ID: &str = "x-admission-event";
/// The admission token's id (`jti`).
pub const ADMISSION_ID: &str = "x-admission-id";
/// Every header the gateway owns.
pub const ALL: &[&str] = &[FAN_ID, EVENT_ID, ADMISSION_ID];
