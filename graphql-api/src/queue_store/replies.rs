//! The queue scripts' replies, read field by field into types. Redis hands scripts' tables
//! back as lists of strings; each reader names what it expected, so a script and its reader
//! that drift apart fail loudly instead of reading zeros.

use super::{AdmittedFan, Supply, scripts::number_of};
use crate::{
    error::ApiError,
    eta::{Pace, decode_pace},
};

/// A reply that is not what its script promises.
fn malformed(script: &str, reply: &[String]) -> ApiError {
    anyhow::anyhow!("the {script} script replied {reply:?}, which it never should").into()
}

/// Reads field `index` of a reply as `T`.
fn field<T: std::str::FromStr>(
    script: &str,
    reply: &[String],
    index: usize,
) -> Result<T, ApiError> {
    reply
        .get(index)
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| malformed(script, reply))
}

/// Reads a score (Redis may spell an integer score as `1e+12`).
fn score(script: &str, reply: &[String], index: usize) -> Result<i64, ApiError> {
    field::<f64>(script, reply, index).map(|score| score as i64)
}

/// Why a fan is no longer in line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutReason {
    /// Their admission ran out (or they were admitted and it lapsed).
    Expired,
    /// Their turn came while they were not listening.
    Abandoned,
    /// They left.
    Left,
    /// An admin ended their admission.
    Revoked,
    /// They bought.
    Booked,
}

impl OutReason {
    /// How the reason is stored in the event's `out` hash.
    pub fn as_str(self) -> &'static str {
        match self {
            OutReason::Expired => "expired",
            OutReason::Abandoned => "abandoned",
            OutReason::Left => "left",
            OutReason::Revoked => "revoked",
            OutReason::Booked => "booked",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        [
            OutReason::Expired,
            OutReason::Abandoned,
            OutReason::Left,
            OutReason::Revoked,
            OutReason::Booked,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == stored)
    }
}

/// An admission as the queue records it: `jti|expiry_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionRecord {
    pub jti: String,
    pub expires_ms: i64,
}

impl AdmissionRecord {
    fn parse(stored: &str) -> Option<Self> {
        let (jti, expires) = stored.split_once('|')?;
        Some(Self {
            jti: jti.to_owned(),
            expires_ms: expires.parse().ok()?,
        })
    }
}

/// Where a fan stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Admitted until the record's expiry (the record may be missing if it was just ended).
    Admitted(Option<AdmissionRecord>),
    /// In line with this order key and exact 0-based rank.
    Waiting { score: i64, rank: i64 },
    /// Waiting for the lottery.
    Presale,
    /// Not in line, and why, when the queue remembers.
    Out(Option<OutReason>),
}

/// The event's counters as a status reply carries them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueCounters {
    pub waiting: i64,
    pub presale: i64,
    pub admitted: i64,
    pub abandoned: i64,
    pub expired: i64,
    pub admitted_total: i64,
    pub serving: i64,
    pub lottery: i64,
    pub drawn: bool,
    pub paused: bool,
    /// Set by an admin or the autopilot; `None` means the configured default.
    pub rate: Option<f64>,
    pub capacity: Option<i64>,
    /// Fans let in per second lately (smoothed over about ten seconds); `None` before any.
    pub achieved: Option<f64>,
    /// Whether seats are left to sell, as the ticker last saw.
    pub supply: Supply,
}

/// What the join and status scripts answer.
#[derive(Clone, Debug, PartialEq)]
pub struct FanReply {
    pub place: Place,
    /// Only the fields a status reply carries: serving, lottery, drawn, paused, rate, presale.
    pub counters: QueueCounters,
    /// True when this call put the fan in line.
    pub new: bool,
    /// The forecast of the line's pace the fan's wait is shown from; `None` before the first.
    pub pace: Option<Pace>,
}

impl FanReply {
    /// Reads `{state, score, rank, detail, serving, lottery, drawn, paused, rate, presale, new,
    /// achieved, supply, eta}`.
    pub fn parse(reply: &[String]) -> Result<Self, ApiError> {
        const SCRIPT: &str = "status";
        if reply.len() != 14 {
            return Err(malformed(SCRIPT, reply));
        }
        let detail = reply[3].as_str();
        let place = match reply[0].as_str() {
            "ADMITTED" => Place::Admitted(AdmissionRecord::parse(detail)),
            "WAITING" => Place::Waiting {
                score: score(SCRIPT, reply, 1)?,
                rank: field(SCRIPT, reply, 2)?,
            },
            "PRESALE" => Place::Presale,
            "OUT" => Place::Out(OutReason::parse(detail)),
            _ => return Err(malformed(SCRIPT, reply)),
        };
        let rate = match reply[8].as_str() {
            "" => None,
            _ => Some(field(SCRIPT, reply, 8)?),
        };
        let achieved = match reply[11].as_str() {
            "" => None,
            _ => Some(field(SCRIPT, reply, 11)?),
        };
        let supply = Supply::parse(&reply[12]).ok_or_else(|| malformed(SCRIPT, reply))?;
        Ok(Self {
            place,
            counters: QueueCounters {
                achieved,
                supply,
                serving: field(SCRIPT, reply, 4)?,
                lottery: field(SCRIPT, reply, 5)?,
                drawn: reply[6] == "1",
                paused: reply[7] == "1",
                rate,
                presale: field(SCRIPT, reply, 9)?,
                ..QueueCounters::default()
            },
            new: reply[10] == "1",
            pace: match reply[13].as_str() {
                "" => None,
                stored => Some(decode_pace(stored).ok_or_else(|| malformed(SCRIPT, reply))?),
            },
        })
    }

    /// The fan's dense number while waiting.
    pub fn number(&self) -> Option<i64> {
        match self.place {
            Place::Waiting { score, .. } => Some(number_of(score, self.counters.lottery)),
            _ => None,
        }
    }
}

/// What leaving did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaveOutcome {
    /// Left the line (or presale).
    Left,
    /// Ended an admission; its record, when it had one.
    Ended(Option<AdmissionRecord>),
    /// Neither in line nor admitted.
    NotInLine,
}

impl LeaveOutcome {
    /// Reads `{LEFT|ENDED|NONE, record}`.
    pub fn parse(reply: &[String]) -> Result<Self, ApiError> {
        match (reply.first().map(String::as_str), reply.get(1)) {
            (Some("LEFT"), Some(_)) => Ok(LeaveOutcome::Left),
            (Some("ENDED"), Some(record)) => {
                Ok(LeaveOutcome::Ended(AdmissionRecord::parse(record)))
            }
            (Some("NONE"), Some(_)) => Ok(LeaveOutcome::NotInLine),
            _ => Err(malformed("leave", reply)),
        }
    }
}

/// What an admission tick found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TickCode {
    /// Admitted what the rate and the cap allowed.
    #[default]
    Ok,
    Paused,
    /// No seat is free (all in carts, or sold out): nobody admitted.
    NoSeats,
    /// Before the opening: nothing moves.
    Presale,
    /// Opened but not drawn: draw the lottery, then tick again.
    NeedsDraw,
}

/// The result of one admission tick for one event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TickOutcome {
    pub code: TickCode,
    pub serving: i64,
    pub expired: i64,
    pub skipped: i64,
    pub admitted: Vec<AdmittedFan>,
}

impl TickOutcome {
    /// Reads `{code, serving, expired, skipped, "fan|jti|exp|number"...}`.
    pub fn parse(reply: &[String]) -> Result<Self, ApiError> {
        const SCRIPT: &str = "admit";
        let code = match reply.first().map(String::as_str) {
            Some("OK") => TickCode::Ok,
            Some("PAUSED") => TickCode::Paused,
            Some("NO_SEATS") => TickCode::NoSeats,
            Some("PRESALE") => TickCode::Presale,
            Some("NEEDS_DRAW") => TickCode::NeedsDraw,
            _ => return Err(malformed(SCRIPT, reply)),
        };
        let admitted = reply
            .iter()
            .skip(4)
            .map(
                |entry| match entry.split('|').collect::<Vec<_>>().as_slice() {
                    [fan, jti, expires, number] => Some(AdmittedFan {
                        fan: (*fan).to_owned(),
                        jti: (*jti).to_owned(),
                        expires_ms: expires.parse().ok()?,
                        number: number.parse().ok()?,
                    }),
                    _ => None,
                },
            )
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| malformed(SCRIPT, reply))?;
        Ok(Self {
            code,
            serving: field(SCRIPT, reply, 1)?,
            expired: field(SCRIPT, reply, 2)?,
            skipped: field(SCRIPT, reply, 3)?,
            admitted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn a_status_reply_reads_into_a_place_and_counters() {
        let reply = FanReply::parse(&strings(&[
            "WAITING",
            "1e+12",
            "4",
            "",
            "7",
            "3",
            "1",
            "0",
            "",
            "0",
            "1",
            "",
            "",
            "10000|1.5|2|4",
        ]));
        let Ok(reply) = reply else {
            panic!("a well-formed reply was refused: {reply:?}");
        };
        assert_eq!(
            reply.place,
            Place::Waiting {
                score: 1_000_000_000_000,
                rank: 4
            }
        );
        assert_eq!(reply.number(), Some(3));
        assert_eq!(reply.counters.serving, 7);
        assert!(reply.counters.drawn && !reply.counters.paused && reply.new);
        assert_eq!(reply.counters.rate, None);
        assert_eq!(reply.counters.supply, Supply::OnSale);
        assert_eq!(
            reply.pace,
            Some(Pace {
                at_ms: 10_000,
                slow: 1.5,
                likely: 2.0,
                fast: 4.0
            })
        );
    }

    #[test]
    fn an_admitted_reply_carries_its_record_and_an_out_reply_its_reason() {
        let admitted = FanReply::parse(&strings(&[
            "ADMITTED", "5000", "-1", "j1|5000", "1", "0", "1", "0", "2.5", "0", "0", "12.5",
            "carts", "",
        ]))
        .map(|reply| {
            (
                reply.place,
                reply.counters.rate,
                reply.counters.achieved,
                reply.counters.supply,
            )
        });
        assert_eq!(
            admitted.ok(),
            Some((
                Place::Admitted(Some(AdmissionRecord {
                    jti: "j1".into(),
                    expires_ms: 5000
                })),
                Some(2.5),
                Some(12.5),
                Supply::AllInCarts
            ))
        );
        let out = FanReply::parse(&strings(&[
            "OUT", "0", "-1", "booked", "1", "0", "1", "0", "", "0", "0", "", "sold_out", "",
        ]))
        .map(|reply| reply.place);
        assert_eq!(out.ok(), Some(Place::Out(Some(OutReason::Booked))));
    }

    #[test]
    fn replies_that_drifted_from_their_script_are_errors_not_zeros() {
        for reply in [
            strings(&[
                "WAITING", "x", "4", "", "7", "3", "1", "0", "", "0", "1", "", "", "",
            ]),
            strings(&[
                "SOMEWHERE",
                "1",
                "4",
                "",
                "7",
                "3",
                "1",
                "0",
                "",
                "0",
                "1",
                "",
                "",
                "",
            ]),
            strings(&[
                "WAITING", "1", "4", "", "7", "3", "1", "0", "", "0", "1", "fast", "", "",
            ]),
            strings(&[
                "WAITING", "1", "4", "", "7", "3", "1", "0", "", "0", "1", "", "gone", "",
            ]),
            strings(&[
                "WAITING", "1", "4", "", "7", "3", "1", "0", "", "0", "1", "",
            ]),
            strings(&["WAITING", "1", "4", "", "7"]),
            strings(&[
                "WAITING", "1", "4", "", "7", "3", "1", "0", "", "0", "1", "", "", "soon",
            ]),
            strings(&[
                "WAITING", "1", "4", "", "seven", "3", "1", "0", "", "0", "1", "", "", "",
            ]),
        ] {
            assert!(FanReply::parse(&reply).is_err(), "{reply:?}");
        }
        assert!(LeaveOutcome::parse(&strings(&["GONE", ""])).is_err());
        assert!(TickOutcome::parse(&strings(&["OK", "1", "0"])).is_err());
        assert!(TickOutcome::parse(&strings(&["SOLD", "1", "0", "0"])).is_err());
    }

    #[test]
    fn an_admission_reply_parses_into_its_fans() {
        let outcome = TickOutcome::parse(&strings(&[
            "OK",
            "12",
            "1",
            "2",
            "f1|j1|5000|11",
            "f2|j2|5000|12",
        ]));
        let Ok(outcome) = outcome else {
            panic!("a well-formed tick was refused: {outcome:?}");
        };
        assert_eq!(outcome.code, TickCode::Ok);
        assert_eq!(
            (outcome.serving, outcome.expired, outcome.skipped),
            (12, 1, 2)
        );
        assert_eq!(outcome.admitted.len(), 2);
        assert_eq!(outcome.admitted[1].number, 12);
        let idle = TickOutcome::parse(&strings(&["NO_SEATS", "12", "0", "0"]));
        assert_eq!(
            idle.map(|outcome| outcome.code).ok(),
            Some(TickCode::NoSeats)
        );
    }

    #[test]
    fn a_malformed_admission_entry_is_an_error() {
        assert!(TickOutcome::parse(&strings(&["OK", "1", "0", "0", "f1|j1|soon|1"])).is_err());
        assert!(TickOutcome::parse(&strings(&["OK", "1", "0", "0", "f1|j1"])).is_err());
    }

    #[test]
    fn leaving_reads_all_three_outcomes() {
        assert_eq!(
            LeaveOutcome::parse(&strings(&["LEFT", ""])).ok(),
            Some(LeaveOutcome::Left)
        );
        assert_eq!(
            LeaveOutcome::parse(&strings(&["ENDED", "j9|77"])).ok(),
            Some(LeaveOutcome::Ended(Some(AdmissionRecord {
                jti: "j9".into(),
                expires_ms: 77
            })))
        );
        assert_eq!(
            LeaveOutcome::parse(&strings(&["NONE", ""])).ok(),
            Some(LeaveOutcome::NotInLine)
        );
    }
}
