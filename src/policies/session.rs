//! Where sessions and carts live, and what checking a token costs.

use crate::engine::SimDuration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a logged-in user's session lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SessionStoreKind {
    /// No sessions: requests are anonymous.
    None,
    /// In the RAM of the server that created it; dies with it, invisible to the others.
    ServerMemory,
    /// A reference token: one Redis lookup per request; revocable with DEL.
    Redis,
    /// A signed token verified on the server's CPU; valid until it expires.
    Jwt,
}

/// JWT signature algorithms, with verify and sign costs measured on a 2-vCPU Xeon VM
/// with the `jsonwebtoken` crate (PRODUCT.md section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum JwtAlgorithm {
    HS256,
    RS256,
    ES256,
    EdDSA,
}

impl JwtAlgorithm {
    /// Every algorithm, in the order of the model's `[jwt]` keys.
    pub const ALL: [JwtAlgorithm; 4] = [JwtAlgorithm::HS256, JwtAlgorithm::RS256, JwtAlgorithm::ES256, JwtAlgorithm::EdDSA];

    /// The key of its costs in the model's `[jwt]` section ("hs256", ...).
    pub fn key(self) -> &'static str {
        match self {
            JwtAlgorithm::HS256 => "hs256",
            JwtAlgorithm::RS256 => "rs256",
            JwtAlgorithm::ES256 => "es256",
            JwtAlgorithm::EdDSA => "eddsa",
        }
    }

    /// Default CPU time to verify a token (the model's `jwt.ALG.verify` overrides it).
    pub fn default_verify(self) -> SimDuration {
        SimDuration(match self {
            JwtAlgorithm::HS256 => 1_500,
            JwtAlgorithm::RS256 => 27_000,
            JwtAlgorithm::ES256 => 77_000,
            JwtAlgorithm::EdDSA => 54_000,
        })
    }
    /// Default CPU time to sign a token (the model's `jwt.ALG.sign` overrides it).
    pub fn default_sign(self) -> SimDuration {
        SimDuration(match self {
            JwtAlgorithm::HS256 => 1_300,
            JwtAlgorithm::RS256 => 665_000,
            JwtAlgorithm::ES256 => 42_000,
            JwtAlgorithm::EdDSA => 59_000,
        })
    }
}

/// How revoked JWTs are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BlocklistMode {
    /// No blocklist: a token is good until it expires.
    Off,
    /// One Redis lookup of the token's id on every request.
    PerRequest,
    /// A copy of the blocklist in each server's memory, fetched from Redis every `blocklist_refresh`.
    Cached,
}

/// What a request does when Redis does not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FailMode {
    /// Let the request through.
    Open,
    /// Reject the request.
    Closed,
}

/// Where a shopping cart lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CartStoreKind {
    /// No carts.
    None,
    /// In the RAM of the server that served the first item; dies with it.
    ServerMemory,
    /// A database row, written on every change.
    Database,
    /// In the client (cookie or localStorage); merged into the database at login.
    Client,
}
