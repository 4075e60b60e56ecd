//! Strategies: credentials (valid, tampered, forged, huge or text) and authorization schemes;
//! and resolving a credential against the tokens of the moment when the case is sent.

use proptest::{
    arbitrary::any,
    sample::{Index, select},
    strategy::{Just, Strategy},
};

use crate::fuzz::{
    World,
    values::{Gen, one_of, pick, text},
};

/// A credential, resolved against the tokens of the moment when the case is sent.
#[derive(Clone, Debug)]
pub(in crate::fuzz) enum Cred {
    /// The route's own valid token: the admission on sale routes, the fan's access token on
    /// the public one.
    Valid,
    /// An admin's access token.
    Admin,
    /// The other kind of valid token.
    OtherKind,
    /// The valid token with one byte XOR-ed.
    Flipped(Index, u8),
    /// The valid token cut short.
    Truncated(Index),
    /// Three random base64url parts.
    Triple(String, String, String),
    /// The valid token's claims under an `alg: none` header, unsigned.
    AlgNone,
    /// The valid token's claims and signature under an `HS512` header.
    AlgSwap,
    /// The valid token repeated to about this many bytes.
    Huge(usize),
    Text(String),
}

pub(in crate::fuzz) fn cred() -> Gen<Cred> {
    one_of(vec![
        (80, Just(Cred::Valid).boxed()),
        (2, Just(Cred::Admin).boxed()),
        (1, Just(Cred::OtherKind).boxed()),
        (
            2,
            (any::<Index>(), 1u8..=255)
                .prop_map(|(at, xor)| Cred::Flipped(at, xor))
                .boxed(),
        ),
        (1, any::<Index>().prop_map(Cred::Truncated).boxed()),
        (
            1,
            (
                "[A-Za-z0-9_-]{0,40}",
                "[A-Za-z0-9_-]{0,80}",
                "[A-Za-z0-9_=+/-]{0,60}",
            )
                .prop_map(|(a, b, c)| Cred::Triple(a, b, c))
                .boxed(),
        ),
        (1, Just(Cred::AlgNone).boxed()),
        (1, Just(Cred::AlgSwap).boxed()),
        (
            1,
            select(vec![10_240usize, 9_000, 12_000, 70_000])
                .prop_map(Cred::Huge)
                .boxed(),
        ),
        (1, text().prop_map(Cred::Text).boxed()),
    ])
}

pub(in crate::fuzz) fn scheme() -> Gen<String> {
    one_of(vec![
        (30, pick(&["Bearer "])),
        (
            1,
            pick(&[
                "bearer ", "", "Basic ", "Bearer  ", "Bearer\t", "Token ", "Bearer",
            ]),
        ),
    ])
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

impl World {
    pub(in crate::fuzz) fn resolve(&self, cred: &Cred, sale: bool) -> Vec<u8> {
        let (valid, other) = if sale {
            (&self.fan.admission, &self.fan.access)
        } else {
            (&self.fan.access, &self.fan.admission)
        };
        let parts: Vec<&str> = valid.split('.').collect();
        let payload = parts.get(1).copied().unwrap_or_default();
        let signature = parts.get(2).copied().unwrap_or_default();
        match cred {
            Cred::Valid => valid.clone().into_bytes(),
            Cred::Admin => self.fan.admin.clone().into_bytes(),
            Cred::OtherKind => other.clone().into_bytes(),
            Cred::Flipped(at, xor) => {
                let mut bytes = valid.clone().into_bytes();
                let at = at.index(bytes.len());
                bytes[at] ^= xor;
                bytes
            }
            Cred::Truncated(at) => valid.as_bytes()[..at.index(valid.len())].to_vec(),
            Cred::Triple(a, b, c) => format!("{a}.{b}.{c}").into_bytes(),
            Cred::AlgNone => {
                format!("{}.{payload}.", base64url(br#"{"alg":"none","typ":"JWT"}"#)).into_bytes()
            }
            Cred::AlgSwap => format!(
                "{}.{payload}.{signature}",
                base64url(br#"{"alg":"HS512","typ":"JWT"}"#)
            )
            .into_bytes(),
            Cred::Huge(size) => valid.repeat(size / valid.len().max(1) + 1).into_bytes(),
            Cred::Text(text) => text.clone().into_bytes(),
        }
    }
}
