//! Holds, bookings, booking seats and payments, and the keys that make a double sale
//! impossible in the database itself:
//!
//! - a seat's `hold_id` can only name an ACTIVE hold of the same event (composite foreign
//!   key over a generated column), and a seat has a hold exactly when it is HELD (CHECK);
//! - a BOOKED seat names a booking in which it is listed as confirmed (composite foreign
//!   key), and a seat is confirmed in at most one booking (partial unique index);
//! - one ACTIVE hold per fan and event; one live booking per hold; one captured payment
//!   per booking.

crate::sql::sql_migration!(up: UP, down: DOWN);

const UP: &str = r#"
CREATE TABLE holds (
    id              uuid PRIMARY KEY,
    event_id        bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id),
    status          text NOT NULL DEFAULT 'ACTIVE'
                    CHECK (status IN ('ACTIVE', 'RELEASED', 'EXPIRED', 'CONVERTED')),
    seat_count      integer NOT NULL CHECK (seat_count > 0),
    held_until      timestamptz NOT NULL,
    extensions_used integer NOT NULL DEFAULT 0 CHECK (extensions_used >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    CHECK ((status = 'ACTIVE') = (ended_at IS NULL)),
    UNIQUE (id, event_id, status)
);
CREATE UNIQUE INDEX holds_one_active_per_fan ON holds (event_id, user_id) WHERE status = 'ACTIVE';
-- The expiry worker's scan.
CREATE INDEX holds_active_by_expiry ON holds (held_until) WHERE status = 'ACTIVE';

ALTER TABLE seats
    ADD COLUMN hold_state text GENERATED ALWAYS AS
        (CASE WHEN hold_id IS NOT NULL THEN 'ACTIVE' END) STORED,
    ADD CONSTRAINT seats_hold_is_active FOREIGN KEY (hold_id, event_id, hold_state)
        REFERENCES holds (id, event_id, status) DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX seats_by_hold ON seats (hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX seats_held_by_expiry ON seats (event_id, held_until) WHERE status = 'HELD';

CREATE TABLE bookings (
    id             uuid PRIMARY KEY,
    -- What the fan reads out at the gate and to support, e.g. CLD-7K3F9Q.
    reference      text NOT NULL UNIQUE,
    event_id       bigint NOT NULL REFERENCES events (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    hold_id        uuid REFERENCES holds (id),
    status         text NOT NULL DEFAULT 'PENDING_PAYMENT' CHECK (status IN
                   ('PENDING_PAYMENT', 'PAYMENT_FAILED', 'CONFIRMED', 'CANCELLED', 'EXPIRED', 'REFUNDED')),
    amount_minor   bigint NOT NULL CHECK (amount_minor >= 0),
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The payment intent handed to the fan (and to a real provider).
    payment_intent text NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    confirmed_at   timestamptz,
    cancelled_at   timestamptz,
    CHECK ((status IN ('CONFIRMED', 'REFUNDED')) <= (confirmed_at IS NOT NULL)),
    UNIQUE (id, event_id)
);
CREATE UNIQUE INDEX bookings_one_live_per_hold ON bookings (hold_id)
    WHERE status IN ('PENDING_PAYMENT', 'PAYMENT_FAILED', 'CONFIRMED');
CREATE INDEX bookings_by_user ON bookings (user_id, created_at DESC);
CREATE INDEX bookings_by_event_status ON bookings (event_id, status);

CREATE TABLE booking_seats (
    booking_id  uuid NOT NULL,
    seat_id     bigint NOT NULL,
    event_id    bigint NOT NULL,
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    -- True while the booking is CONFIRMED; the seat's BOOKED state points at this row.
    confirmed   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (booking_id, seat_id),
    UNIQUE (booking_id, seat_id, confirmed),
    FOREIGN KEY (booking_id, event_id) REFERENCES bookings (id, event_id) ON DELETE CASCADE,
    FOREIGN KEY (seat_id, event_id) REFERENCES seats (id, event_id)
);
-- The last line of defence against overselling: one confirmed booking per seat.
CREATE UNIQUE INDEX booking_seats_one_confirmed_per_seat ON booking_seats (seat_id) WHERE confirmed;

ALTER TABLE seats
    ADD COLUMN booked_state boolean GENERATED ALWAYS AS
        (CASE WHEN booking_id IS NOT NULL THEN true END) STORED,
    ADD CONSTRAINT seats_booked_in_confirmed_booking FOREIGN KEY (booking_id, id, booked_state)
        REFERENCES booking_seats (booking_id, seat_id, confirmed) DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX seats_by_booking ON seats (booking_id) WHERE booking_id IS NOT NULL;

CREATE TABLE payments (
    id              uuid PRIMARY KEY,
    booking_id      uuid NOT NULL REFERENCES bookings (id),
    method          text NOT NULL CHECK (method IN ('CARD', 'UPI', 'NET_BANKING')),
    status          text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED')),
    amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    provider        text NOT NULL DEFAULT 'SIMULATED',
    provider_ref    text,
    failure_code    text,
    failure_message text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'FAILED') = (failure_code IS NOT NULL))
);
-- Money is captured once per booking, whatever retries and webhooks arrive.
CREATE UNIQUE INDEX payments_one_capture_per_booking ON payments (booking_id)
    WHERE status IN ('SUCCEEDED', 'REFUNDED');
CREATE UNIQUE INDEX payments_by_provider_ref ON payments (provider, provider_ref)
    WHERE provider_ref IS NOT NULL;
CREATE INDEX payments_by_booking ON payments (booking_id, created_at);
"#;

const DOWN: &str = r#"
DROP TABLE payments;
ALTER TABLE seats DROP COLUMN booked_state;
DROP TABLE booking_seats;
DROP TABLE bookings;
ALTER TABLE seats DROP COLUMN hold_state;
DROP TABLE holds;
"#;
