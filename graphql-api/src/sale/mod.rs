//! What every sale request shares, before any domain looks at it: who is buying
//! ([`buyer`]), for which event ([`scope`]), and how ids in a sale request are read.

pub mod buyer;
pub mod scope;

pub use self::{
    buyer::{Buyer, SaleAuth, authenticate, token_from},
    scope::{SaleScope, parse_seat_ids, parse_uuid, sale_context},
};
