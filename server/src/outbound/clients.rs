//! The sender's outbound HTTP clients: the shared one (no proxy) and one per proxy URL in a
//! bounded cache. Every client dials only through the guarded resolver; a proxy written as
//! an IP address (which reqwest dials without resolving) is checked against the same policy
//! by [`check_proxy`] before each use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::guard::{GuardedResolver, Refused, TargetPolicy};

/// At most this many per-proxy clients are kept.
pub const PROXY_CLIENTS_MAX: usize = 32;
/// A per-proxy client unused this long is dropped.
pub const PROXY_CLIENT_IDLE: Duration = Duration::from_secs(10 * 60);

/// Why a webhook's proxy cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyProblem {
    /// Not a usable proxy URL.
    #[error("{0}")]
    Invalid(String),
    /// The guard refuses the proxy's address.
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// Checks the proxy URL `proxy`: `http(s)://` with a host, and when the host is an IP
/// address, one the policy allows (a named host is checked by the resolver when dialled).
/// Messages name the proxy by its host, never by credentials it may carry.
pub fn check_proxy(policy: &TargetPolicy, proxy: &str) -> Result<(), ProxyProblem> {
    let parsed = url::Url::parse(proxy)
        .map_err(|e| ProxyProblem::Invalid(format!("invalid proxy URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ProxyProblem::Invalid(
            "URL must start with http(s)://".to_string(),
        ));
    }
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => {
            return Err(ProxyProblem::Invalid(
                "invalid proxy URL: empty host".to_string(),
            ))
        }
    };
    policy
        .check(parsed.host_str().unwrap_or_default(), ip)
        .map_err(|refused| ProxyProblem::Refused(refused.of_proxy()))
}

/// A client that dials only checked addresses, through `proxy` when given.
pub fn build_client(
    policy: &Arc<TargetPolicy>,
    timeout: Duration,
    connect_timeout: Duration,
    proxy: Option<&str>,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver {
            policy: policy.clone(),
            for_proxy: proxy.is_some(),
        }))
        .user_agent(concat!("Uniform/", env!("CARGO_PKG_VERSION")));
    builder = match proxy {
        Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy)?),
        None => builder.no_proxy(),
    };
    builder.build()
}

/// Clients by proxy URL, at most `capacity`, each dropped after `idle` without use (the
/// least recently used goes first when full). Requests in flight keep their client alive.
pub struct ClientCache<C = reqwest::Client> {
    entries: Mutex<HashMap<String, (C, Instant)>>,
    capacity: usize,
    idle: Duration,
}

impl<C: Clone> ClientCache<C> {
    /// An empty cache.
    pub fn new(capacity: usize, idle: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            idle,
        }
    }

    /// The client for `key` at time `now`, made by `make` when not cached.
    pub fn get_or_make<E>(
        &self,
        key: &str,
        now: Instant,
        make: impl FnOnce() -> Result<C, E>,
    ) -> Result<C, E> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (_, used)| now.saturating_duration_since(*used) < self.idle);
        if let Some((client, used)) = entries.get_mut(key) {
            *used = now;
            return Ok(client.clone());
        }
        let client = make()?;
        while entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(oldest) => entries.remove(&oldest),
                None => break,
            };
        }
        entries.insert(key.to_string(), (client.clone(), now));
        Ok(client)
    }

    /// How many clients are cached.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no client is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(cache: &ClientCache<u32>, key: &str, now: Instant, value: u32) -> (u32, bool) {
        let mut fresh = false;
        let got = cache
            .get_or_make::<()>(key, now, || {
                fresh = true;
                Ok(value)
            })
            .unwrap();
        (got, fresh)
    }

    #[test]
    fn the_cache_reuses_a_client_and_never_grows_past_its_capacity() {
        let cache = ClientCache::new(3, Duration::from_secs(600));
        let start = Instant::now();
        for i in 0..100u32 {
            let at = start + Duration::from_millis(u64::from(i));
            made(&cache, &format!("http://proxy-{i}:3128"), at, i);
            assert!(cache.len() <= 3, "{} clients after {i}", cache.len());
        }
        assert_eq!(cache.len(), 3);
        // the three most recent stay; an older one is made anew
        let later = start + Duration::from_secs(1);
        assert_eq!(made(&cache, "http://proxy-99:3128", later, 0), (99, false));
        assert_eq!(made(&cache, "http://proxy-0:3128", later, 7), (7, true));
    }

    #[test]
    fn the_least_recently_used_client_goes_first() {
        let cache = ClientCache::new(2, Duration::from_secs(600));
        let t = Instant::now();
        made(&cache, "a", t, 1);
        made(&cache, "b", t + Duration::from_secs(1), 2);
        made(&cache, "a", t + Duration::from_secs(2), 0); // a used again
        made(&cache, "c", t + Duration::from_secs(3), 3); // evicts b
        assert_eq!(made(&cache, "a", t + Duration::from_secs(4), 0), (1, false));
        assert_eq!(made(&cache, "b", t + Duration::from_secs(5), 9), (9, true));
    }

    #[test]
    fn idle_clients_are_dropped() {
        let cache = ClientCache::new(10, Duration::from_secs(60));
        let t = Instant::now();
        made(&cache, "a", t, 1);
        made(&cache, "b", t + Duration::from_secs(30), 2);
        // at t+70 s, a (idle 70 s) is gone; b (idle 40 s) stays
        made(&cache, "c", t + Duration::from_secs(70), 3);
        assert_eq!(cache.len(), 2);
        assert_eq!(
            made(&cache, "b", t + Duration::from_secs(71), 0),
            (2, false)
        );
        assert_eq!(made(&cache, "a", t + Duration::from_secs(72), 5), (5, true));
    }

    #[test]
    fn a_failed_make_caches_nothing() {
        let cache: ClientCache<u32> = ClientCache::new(2, Duration::from_secs(60));
        let failed = cache.get_or_make("x", Instant::now(), || Err("bad"));
        assert_eq!(failed, Err("bad"));
        assert!(cache.is_empty());
    }

    #[test]
    fn a_literal_proxy_is_checked_and_named_without_credentials() {
        let policy = TargetPolicy::new(vec!["127.0.0.2/32".parse().unwrap()]);
        assert!(check_proxy(&policy, "http://127.0.0.2:3128").is_ok());
        assert!(check_proxy(&policy, "http://proxy.example:3128").is_ok());
        let refused = check_proxy(&policy, "http://user:pa55@127.0.0.1:3128").unwrap_err();
        assert!(matches!(refused, ProxyProblem::Refused(_)));
        assert_eq!(
            refused.to_string(),
            "refused proxy 127.0.0.1: 127.0.0.1 is a loopback address (allow it with UNIFORM_WEBHOOK_ALLOW_CIDRS)"
        );
        let v6 = check_proxy(&policy, "http://[::1]:3128").unwrap_err();
        assert!(v6
            .to_string()
            .starts_with("refused proxy [::1]: ::1 is a loopback"));
        for (proxy, message) in [
            ("http://", "invalid proxy URL: empty host"),
            ("http://:3128", "invalid proxy URL: empty host"),
            ("socks5://127.0.0.2:1080", "URL must start with http(s)://"),
            ("http://h:99999", "invalid proxy URL: invalid port number"),
        ] {
            let problem = check_proxy(&policy, proxy).unwrap_err();
            assert!(matches!(problem, ProxyProblem::Invalid(_)), "{proxy}");
            assert_eq!(problem.to_string(), message, "{proxy}");
        }
    }
}
