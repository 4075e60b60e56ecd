//! Strategies: the raw text of strings (plausible, odd, control characters, huge), and
//! writing it as a GraphQL or a JSON string.

use std::fmt::Write as _;

use proptest::{
    prop_oneof,
    strategy::{Just, Strategy},
};

use super::{Gen, one_of, pick};

/// Text requests really carry: card numbers that decide a payment, UPI addresses, banks...
const PLAUSIBLE: &[&str] = &[
    "4242424242424242",
    "4000000000000002",
    "4000000000000119",
    "4000 0000 0000 0002",
    "fan@okicici",
    "timeout@upi",
    "fail@upi",
    "SBIN",
    "HDFC",
    "NOPE",
    "fan@example.com",
    "admin@tickets.test",
    "correct horse battery staple",
    "Priya",
    "123",
    "1234",
    "AVAILABLE",
    "CARD",
    "2027-01-01T00:00:00Z",
    "c3f1a9b0-0d4a-4c7b-9e51-2a6f0b9c8d7e",
];

/// Text that has broken parsers, databases and logs before.
const ODD: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "a\u{0}b",
    "\\",
    "\"",
    "'; DROP TABLE seats; --",
    "' OR '1'='1",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "%00",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "\u{feff}",
    "\u{202e}evil",
    "\u{fffd}",
    "\u{10ffff}",
    "🎟️👨‍👩‍👧‍👦",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "\r\n\r\nX-Injected: 1",
    "<script>alert(1)</script>",
    "NaN",
    "-0",
    "null",
    "__proto__",
];

/// The raw content of a string.
pub(in crate::fuzz) fn text() -> Gen<String> {
    one_of(vec![
        (4, "\\PC{0,16}".boxed()),
        (3, "[a-zA-Z0-9@._+ -]{0,24}".boxed()),
        (1, "[\\x00-\\x1f\\x7f]{1,6}".boxed()),
        (2, pick(PLAUSIBLE)),
        (2, pick(ODD)),
        (
            1,
            (
                prop_oneof![Just(10_000usize), 100..12_000usize],
                pick(&["x", "é", "🎟", "\\", "\u{0}", "{", "["]),
            )
                .prop_map(|(count, unit)| unit.repeat(count))
                .boxed(),
        ),
    ])
}

/// A GraphQL string literal for `raw`, escaped.
pub(super) fn graphql_string(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON string for `raw`.
pub(in crate::fuzz) fn json_string(raw: &str) -> String {
    serde_json::to_string(raw).expect("a string serializes")
}
