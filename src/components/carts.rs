//! Shopping carts: in the memory of the server that made them, in the database, or in
//! the client (a cookie or local storage), and guest carts merged into the user's saved
//! cart at checkout.
//!
//! Its stage runs after the session check: an item added is remembered where the cart
//! lives (a database write for database carts), and a server-memory cart found missing
//! (another server, or its server restarted) is counted lost. A checkout login merges
//! the guest cart and writes the result to the database.

use super::core::{Core, Kind, Step};
use super::{Ctx, ReqId};
use crate::metrics::Metrics;
use crate::metrics::catalog::{self, Put};
use crate::metrics::series::{self, ColumnId};
use crate::policies::CartStoreKind;
use crate::scenario::model::{CartSpec, System};
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1};

pub struct Carts {
    pub spec: CartSpec,
    lost: u64,
    items_lost: u64,
    merges: u64,
    merge_conflicts: u64,
    visits_abandoned: u64,
    guest_writes_wasted: u64,
    /// The carts-lost column, where carts live in server memory.
    lost_column: Option<ColumnId>,
}

/// What a client's next request does to its cart or visit.
pub enum Visit {
    /// Go on browsing.
    Browse,
    /// A guest's visit ends in checkout: log in and merge the cart.
    Checkout,
}

impl Carts {
    pub fn new(system: &System, core: &mut Core) -> Carts {
        let lost_column = (system.carts.store == CartStoreKind::ServerMemory).then(|| core.rec.register(&series::CARTS_LOST));
        Carts { spec: system.carts.clone(), lost: 0, items_lost: 0, merges: 0, merge_conflicts: 0, visits_abandoned: 0, guest_writes_wasted: 0, lost_column }
    }

    /// Whether the next request adds an item to the cart.
    pub fn adds_item(&self, core: &mut Core) -> bool {
        self.spec.store != CartStoreKind::None && core.rng.behaviour.random::<f64>() < self.spec.add_share
    }

    /// A guest visit: browse and fill a cart, then check out (log in) or leave.
    pub fn guest_visit(&mut self, core: &mut Core, user: u32) -> Visit {
        let u = &mut core.users[user as usize];
        if u.visit_left == 0 {
            // Geometric with this mean: ceil(E / -ln(1 - p)), E exponential, p = 1 / mean.
            let p = 1.0 / self.spec.visit_requests.max(1.0);
            let e: f64 = Exp1.sample(&mut core.rng.behaviour);
            let k = (e / -(1.0 - p).ln()).ceil().max(1.0);
            u.visit_left = k.min(u16::MAX as f64) as u16;
        }
        u.visit_left -= 1;
        if u.visit_left == 0 {
            if core.rng.behaviour.random::<f64>() < self.spec.login_share {
                return Visit::Checkout;
            }
            // The guest leaves; the cart is abandoned.
            let u = &mut core.users[user as usize];
            self.visits_abandoned += 1;
            self.guest_writes_wasted += u.visit_writes as u64;
            u.visit_writes = 0;
            u.cart_items = 0;
        }
        Visit::Browse
    }

    /// The stage: the cart (a checkout merges it; an add remembers the item).
    pub fn stage(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId) -> Step {
        let user = core.requests[req].user;
        let kind = core.requests[req].kind;
        if kind == (Kind::Login { merge: true }) {
            // Checkout: the guest cart becomes the user's saved cart.
            self.check_cart_here(core, ctx, server, user);
            let u = &mut core.users[user as usize];
            self.merges += 1;
            if u.saved_items > 0 && u.cart_items > 0 {
                self.merge_conflicts += 1;
            }
            u.saved_items = u.saved_items.saturating_add(u.cart_items);
            u.cart_items = 0;
            u.visit_writes = 0;
            // The merged cart is written to the database (client and server-memory
            // carts are copied; a database guest cart is re-keyed to the user).
            return Self::write(core, ctx, server, req);
        }
        if self.spec.store == CartStoreKind::None {
            return Step::Next;
        }
        let epoch = core.epoch16(server);
        self.check_cart_here(core, ctx, server, user);
        let u = &mut core.users[user as usize];
        if kind == Kind::AddToCart {
            u.cart_items = u.cart_items.saturating_add(1);
            if self.spec.store == CartStoreKind::ServerMemory && u.cart_items == 1 {
                u.cart_server = server;
                u.cart_epoch = epoch;
            }
            if self.spec.store == CartStoreKind::Database {
                if self.spec.guests {
                    u.visit_writes = u.visit_writes.saturating_add(1);
                }
                return Self::write(core, ctx, server, req);
            }
        }
        if kind == Kind::Page && self.spec.page_reads {
            // The page shows the cart: a read, from a replica or the primary.
            let epoch = core.servers[server as usize].epoch;
            core.db.send(ctx, req, server, epoch, false, Some(user));
            return Step::Wait;
        }
        Step::Next
    }

    fn write(core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId) -> Step {
        let epoch = core.servers[server as usize].epoch;
        let user = core.requests[req].user;
        core.db.send(ctx, req, server, epoch, true, Some(user));
        Step::Wait
    }

    /// The database write (or the page's read of the cart) is done.
    pub fn on_db_reply(&mut self) -> Step {
        Step::Next
    }

    /// A server-memory cart is only where it was made: anywhere else, or after that
    /// server restarted, the user finds it empty.
    fn check_cart_here(&mut self, core: &mut Core, ctx: &Ctx, server: u16, user: u32) {
        let epoch = core.epoch16(server);
        let u = &mut core.users[user as usize];
        if self.spec.store == CartStoreKind::ServerMemory && u.cart_items > 0 && (u.cart_server != server || u.cart_epoch != epoch) {
            self.lost += 1;
            self.items_lost += u.cart_items as u64;
            u.cart_items = 0;
            if let Some(col) = self.lost_column {
                core.rec.add(col, ctx.now(), 1.0);
            }
        }
    }

    pub fn report(&self, m: &mut Metrics) {
        if self.spec.store != CartStoreKind::None {
            m.put(&catalog::CARTS_LOST, self.lost as f64);
            m.put(&catalog::CARTS_ITEMS_LOST, self.items_lost as f64);
            m.put(&catalog::CARTS_MERGES, self.merges as f64);
            m.put(&catalog::CARTS_MERGE_CONFLICTS, self.merge_conflicts as f64);
            m.put(&catalog::CARTS_VISITS_ABANDONED, self.visits_abandoned as f64);
            m.put(&catalog::CARTS_GUEST_WRITES_WASTED, self.guest_writes_wasted as f64);
        }
    }
}
