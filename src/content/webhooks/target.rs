//! Where a webhook may post: `http` or `https` URLs whose host is a public
//! address. Private, loopback, link-local and other special addresses are refused
//! unless the setting allows them (a hostname is resolved, and every address it
//! has must be public), so that nobody with an admin token can make the server
//! probe the network it runs in. Checked when a webhook is written; at each
//! attempt the sender connects only to public addresses ([`PublicOnly`] for
//! names, so one that resolves elsewhere the second time (DNS rebinding) reaches
//! nothing private; [`sendable`] for addresses written as such).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::Url;

use crate::error::{AppError, AppResult};

/// The longest a target's name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest target URL.
const MAX_URL_CHARS: usize = 2000;

fn invalid(message: impl Into<String>) -> AppError {
    AppError::validation("url", message)
}

/// `url` as stored, if a webhook may post to it.
pub async fn check_target(url: &str, allow_private: bool) -> AppResult<String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(invalid(format!("at most {MAX_URL_CHARS} characters")));
    }
    let parsed = Url::parse(url.trim()).map_err(|e| invalid(format!("is not a URL ({e})")))?;
    // Normalized (percent-encoded), it may have grown.
    if parsed.as_str().len() > MAX_URL_CHARS {
        return Err(invalid(format!("at most {MAX_URL_CHARS} characters")));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("must be an http or https URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("must not carry a user name or password"));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| invalid("has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if !allow_private {
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(address) => vec![address],
            Err(_) => {
                let lookup = tokio::net::lookup_host((host.as_str(), port));
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                    Ok(Err(_)) | Err(_) => {
                        return Err(invalid(format!("the host `{host}` does not resolve")))
                    }
                }
            }
        };
        if addresses.is_empty() {
            return Err(invalid(format!("the host `{host}` does not resolve")));
        }
        if let Some(address) = addresses.iter().find(|a| !is_public(a)) {
            return Err(invalid(format!(
                "`{host}` is a private, loopback or otherwise non-public address \
                 ({address}); set CMS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow them"
            )));
        }
    }
    Ok(parsed.to_string())
}

/// Whether an attempt may go to `url` without resolving it: a host written as an
/// address must be public (unless allowed); a name is judged as it is resolved.
pub fn sendable(url: &str, allow_private: bool) -> bool {
    match Url::parse(url).ok().as_ref().and_then(Url::host) {
        _ if allow_private => true,
        Some(url::Host::Ipv4(v4)) => is_public(&IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => is_public(&IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => true,
        None => false,
    }
}

/// Whether an address is on the public internet.
fn is_public(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(&v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(a: &Ipv4Addr) -> bool {
    let [first, second, third, _] = a.octets();
    !(a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || first == 0
        // Shared address space (carrier-grade NAT), benchmarking, reserved.
        || (first == 100 && (64..128).contains(&second))
        || (first == 198 && (18..20).contains(&second))
        || (first == 192 && second == 0 && third == 0)
        || first >= 240)
}

fn is_public_v6(a: &Ipv6Addr) -> bool {
    let s = a.segments();
    let first = s[0];
    // Forms that carry an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16, the
    // old IPv4-compatible ::/96) reach what that address reaches.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if first == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(&embedded(s[6], s[7]));
    }
    if first == 0x2002 {
        return is_public_v4(&embedded(s[1], s[2]));
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        return false;
    }
    !(a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        // Unique local (fc00::/7), link-local (fe80::/10), site-local (fec0::/10).
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // Discard-only (100::/64) and documentation (2001:db8::/32).
        || (first == 0x0100 && s[1..4] == [0, 0, 0])
        || (first == 0x2001 && s[1] == 0x0db8))
}

/// A resolver for the webhook sender that hands out only public addresses: a
/// name with none is an error, whatever it resolved to when it was checked.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((host.as_str(), 0));
            let found = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
                .await
                .map_err(|_| format!("resolving `{host}` timed out"))??;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(&a.ip())).collect();
            if public.is_empty() {
                return Err(format!("`{host}` has no public address").into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_and_odd_targets_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:192.168.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[::7f00:1]/",
            "http://[fec0::1]/",
            "http://192.0.0.8/",
            "http://localhost/",
            "ftp://example.com/",
            "http://user:pw@93.184.215.14/",
            "not a url",
        ] {
            assert!(check_target(url, false).await.is_err(), "{url}");
        }
        assert!(check_target("http://93.184.215.14/hook", false)
            .await
            .is_ok());
        assert!(check_target("http://127.0.0.1:8080/hook", true)
            .await
            .is_ok());
        assert!(check_target("ftp://127.0.0.1/", true).await.is_err());
        assert!(!sendable("http://10.0.0.1/", false));
        assert!(!sendable("http://[64:ff9b::a00:1]/", false));
        assert!(sendable("http://93.184.215.14/", false));
        assert!(sendable("http://10.0.0.1/", true));
    }
}
