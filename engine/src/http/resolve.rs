//! Connections spread over every address the endpoint's name resolves to: S3 answers a
//! lookup with several addresses (aws-c-s3 spreads its connections over them), and a pool
//! whose connections all go to the first one leans on one front end.
//!
//! [`RotatingResolver`] asks the system resolver, then rotates the answer by one place per
//! lookup, so each new connection tries a different address first (and the others after it,
//! as before).

use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// The system resolver, with each answer rotated one place further than the last.
#[derive(Debug, Clone)]
pub struct RotatingResolver {
    inner: GaiResolver,
    turn: Arc<AtomicUsize>,
}

impl RotatingResolver {
    /// A resolver over the system's `getaddrinfo`.
    pub fn new() -> Self {
        Self {
            inner: GaiResolver::new(),
            turn: Arc::default(),
        }
    }
}

impl Default for RotatingResolver {
    fn default() -> Self {
        Self::new()
    }
}

/// `addresses` rotated left by `turn` places (modulo their number).
pub fn rotated(mut addresses: Vec<SocketAddr>, turn: usize) -> Vec<SocketAddr> {
    if !addresses.is_empty() {
        let by = turn % addresses.len();
        addresses.rotate_left(by);
    }
    addresses
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, std::io::Error>> + Send>>;

impl tower_service::Service<Name> for RotatingResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let lookup = self.inner.call(name);
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = lookup.await?.collect();
            Ok(rotated(addresses, turn).into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], 443))
    }

    #[test]
    fn each_turn_puts_the_next_address_first_and_keeps_the_others() {
        let all = vec![addr(1), addr(2), addr(3)];
        let firsts: Vec<SocketAddr> = (0..4).map(|t| rotated(all.clone(), t)[0]).collect();
        assert_eq!(firsts, [addr(1), addr(2), addr(3), addr(1)]);
        let mut second = rotated(all.clone(), 1);
        second.sort();
        assert_eq!(second, all, "no address is dropped");
        assert!(rotated(Vec::new(), 5).is_empty());
    }

    #[tokio::test]
    async fn localhost_resolves_through_the_rotating_resolver() {
        use std::str::FromStr;
        let mut resolver = RotatingResolver::new();
        let name = Name::from_str("localhost").unwrap();
        let found: Vec<SocketAddr> = tower_service::Service::call(&mut resolver, name)
            .await
            .unwrap()
            .collect();
        assert!(found.iter().all(|a| a.ip().is_loopback()), "{found:?}");
        assert!(!found.is_empty());
    }
}
