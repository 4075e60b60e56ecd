//! GraphQL documents, as the web client sends them.

pub const REGISTER: &str =
    "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id role } } }";
pub const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id role } } }";
pub const EVENTS: &str = "{ events { id name artist venue startsAt status salePath categories { name colour price { formatted } } } }";
pub const EVENT: &str = "query($id: ID!) { event(id: $id) { id name status gateEnabled maxSeatsPerFan salePath saleOpensAt } }";
pub const EVENT_BY_SLUG: &str = "query($s: String!) { eventBySlug(slug: $s) { id name status gateEnabled maxSeatsPerFan salePath saleOpensAt } }";
// The queue's statuses carry the ETA band the waiting room shows: the report judges it (`eta`).
pub const JOIN: &str = "mutation($e: ID!) { joinQueue(eventId: $e) { state supply ticketNumber position nowServing estimatedWaitSeconds eta { lowSeconds highSeconds revisedAt } admission { token expiresAt seatCap } } }";
pub const HEARTBEAT: &str = "mutation($e: ID!) { heartbeat(eventId: $e) { state supply ticketNumber position nowServing updatedAt estimatedWaitSeconds eta { lowSeconds highSeconds revisedAt } admission { token expiresAt seatCap } } }";
pub const LEAVE: &str = "mutation($e: ID!) { leaveQueue(eventId: $e) }";
pub const POSITION: &str = "subscription($e: ID!) { queuePosition(eventId: $e) { state supply ticketNumber position exact nowServing updatedAt estimatedWaitSeconds eta { lowSeconds highSeconds revisedAt } admission { token expiresAt seatCap } } }";
pub const SEAT_MAP: &str = "{ seatMap { seatCount sequence bounds { minX minY maxX maxY } \
    categories { id name colour price { amountMinor currency } } \
    sections { name categoryId seatCount labelX labelY } \
    runs { section row categoryId firstSeatId firstNumber count x y dx dy } status } }";
/// The seat states the web client asks for, its layout kept from `/events/{id}/layout.json`.
pub const SEAT_STATES: &str = "{ seatStates { sequence states layoutVersion } }";
pub const AVAILABILITY: &str =
    "{ availability { total available held booked categories { category { name } available } } }";
pub const SEATS_PAGE: &str = "query($after: String) { seats(first: 100, after: $after, status: AVAILABLE) { \
    edges { cursor node { id section row number status category { name } } } pageInfo { hasNextPage endCursor } } }";
pub const LOCK: &str = "mutation($s: [ID!]!, $k: String!) { lockSeats(seatIds: $s, idempotencyKey: $k) { id status expiresAt seats { id } total { amountMinor } } }";
pub const BOOK: &str = "mutation($h: ID!, $k: String!) { createBooking(holdId: $h, idempotencyKey: $k) { id status reference total { amountMinor currency } } }";
pub const PAY: &str = "mutation($b: ID!, $m: PaymentMethod!, $d: PaymentDetailsInput!, $k: String!) { confirmPayment(bookingId: $b, method: $m, details: $d, idempotencyKey: $k) { booking { id status seats { id } } payment { status } } }";
pub const RELEASE: &str = "mutation($h: ID!) { releaseSeats(holdId: $h) }";
pub const MY_BOOKINGS: &str = "{ myBookings { id reference status seats { id } } }";
pub const STATS: &str = "query($e: ID!) { queueStats(eventId: $e) { waiting admitted abandoned expired admittedTotal nowServing admissionRate admissionCapacity oldestWaitSeconds paused } }";
pub const SET_RATE: &str = "mutation($e: ID!, $r: Float!) { setAdmissionRate(eventId: $e, perSecond: $r) { admissionRate } }";
pub const SET_CAPACITY: &str = "mutation($e: ID!, $c: Int!) { setAdmissionCapacity(eventId: $e, capacity: $c) { admissionCapacity } }";
pub const PAUSE: &str = "mutation($e: ID!) { pauseQueue(eventId: $e) { paused } }";
pub const RESUME: &str = "mutation($e: ID!) { resumeQueue(eventId: $e) { paused } }";
