//! The world the cases run in: the API and the gateway, the kinds of case, the fan whose
//! tokens they send, the ids seen so far that strategies draw from, the open shared sockets.

use std::{path::PathBuf, sync::Arc, time::Instant};

use graphql_api::testing::TestApp;

use super::{model::Model, stats::Stats, values::Env, ws::Socket};
use crate::support::Gateway;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    PublicHttp,
    SaleHttp,
    PublicWs,
    SaleWs,
}

impl Kind {
    pub(super) fn of(case: u64) -> Self {
        [
            Self::PublicHttp,
            Self::SaleHttp,
            Self::PublicWs,
            Self::SaleWs,
        ][(case % 4) as usize]
    }

    pub(super) fn sale(self) -> bool {
        matches!(self, Self::SaleHttp | Self::SaleWs)
    }
}

/// The tokens of the moment.
pub(super) struct Fan {
    pub(super) user: uuid::Uuid,
    pub(super) admission: String,
    pub(super) access: String,
    pub(super) admin: String,
    pub(super) minted: Instant,
}

pub(super) struct World {
    pub(super) app: TestApp,
    pub(super) gateway: Gateway,
    pub(super) http: reqwest::Client,
    pub(super) event: i64,
    pub(super) other_event: i64,
    pub(super) fan: Fan,
    pub(super) ids: Vec<String>,
    /// How many of `ids` are never forgotten (events, seats, categories).
    pub(super) fixed_ids: usize,
    /// Bumped whenever `ids` changes (strategies are rebuilt then).
    pub(super) ids_version: u64,
    pub(super) seats: Arc<Vec<String>>,
    /// Holds and bookings made lately, newest first.
    pub(super) holds: Vec<String>,
    pub(super) bookings: Vec<String>,
    pub(super) public: Arc<Model>,
    pub(super) sale: Arc<Model>,
    pub(super) public_socket: Option<Socket>,
    pub(super) sale_socket: Option<Socket>,
    pub(super) stats: Stats,
    pub(super) last_case: PathBuf,
    /// `FUZZ_VERBOSE=1`: a line per answer.
    pub(super) verbose: bool,
}

impl World {
    pub(super) async fn mint_fan(app: &TestApp, event: i64) -> Fan {
        let user = uuid::Uuid::new_v4();
        let admin = uuid::Uuid::new_v4();
        app.ensure_user(admin).await;
        Fan {
            user,
            admission: app.admit(event, user).await,
            access: app.access_token(user, "FAN"),
            admin: app.access_token(admin, "ADMIN"),
            minted: Instant::now(),
        }
    }

    /// A new fan (new tokens): after a payment ended the admission, a revocation, or time.
    pub(super) async fn new_fan(&mut self) {
        self.fan = Self::mint_fan(&self.app, self.event).await;
        self.ids.push(self.fan.user.to_string());
        // The last fan's holds and bookings are not this one's (they stay among the ids).
        self.holds.clear();
        self.bookings.clear();
        self.ids_version += 1;
        self.public_socket = None;
        self.sale_socket = None;
    }

    pub(super) fn env(&self, sale: bool) -> Env {
        Env {
            model: if sale {
                self.sale.clone()
            } else {
                self.public.clone()
            },
            ids: Arc::new(self.ids.clone()),
            seats: self.seats.clone(),
            holds: Arc::new(self.holds.clone()),
            bookings: Arc::new(self.bookings.clone()),
            sale,
        }
    }

    /// Writes the case about to be sent, so a crash leaves it behind.
    pub(super) fn record(&self, number: u64, kind: Kind, description: &str) {
        let _ = std::fs::write(
            &self.last_case,
            format!("case {number} ({kind:?})\n{description}\n"),
        );
    }
}
