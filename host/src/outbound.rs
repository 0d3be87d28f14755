//! Which outgoing HTTP requests a component may make.

/// One allowed destination: scheme (`http`, `https` or `*`), host (a name, `*`, or
/// `*.example.com`) and port (`None` for any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRule {
    /// `http` or `https` (compared without case), or `*` for either.
    pub scheme: String,
    /// A lower-case host name or IP, `*` for any host, or `*.example.com` for any
    /// subdomain of `example.com` (not `example.com` itself).
    pub host: String,
    /// The one port allowed; `None` for any.
    pub port: Option<u16>,
}

impl OutboundRule {
    /// Whether a request to `scheme://host:port` matches this rule.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme == "*" || self.scheme.eq_ignore_ascii_case(scheme);
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host_ok = match self.host.strip_prefix("*.") {
            _ if self.host == "*" => true,
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => self.host == host,
        };
        let port_ok = self.port.is_none_or(|p| p == port);
        scheme_ok && host_ok && port_ok
    }
}

/// The rules of one component; empty means every request is denied.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    /// The allowed destinations; a request matching any one of them is allowed.
    pub rules: Vec<OutboundRule>,
}

impl OutboundPolicy {
    /// Checks a request URI; `Err` carries `scheme://host:port` for the log line.
    pub fn check(&self, uri: &http::Uri) -> Result<(), String> {
        let scheme = uri.scheme_str().unwrap_or("https");
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "http" { 80 } else { 443 });
        if self
            .rules
            .iter()
            .any(|rule| rule.allows(scheme, host, port))
        {
            Ok(())
        } else {
            Err(format!("{scheme}://{host}:{port}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &[(&str, &str, Option<u16>)]) -> OutboundPolicy {
        OutboundPolicy {
            rules: rules
                .iter()
                .map(|(scheme, host, port)| OutboundRule {
                    scheme: scheme.to_string(),
                    host: host.to_string(),
                    port: *port,
                })
                .collect(),
        }
    }

    fn check(policy: &OutboundPolicy, uri: &str) -> bool {
        policy.check(&uri.parse().unwrap()).is_ok()
    }

    #[test]
    fn deny_by_default() {
        assert!(!check(&policy(&[]), "https://example.com/"));
    }

    #[test]
    fn exact_host_scheme_and_port() {
        let p = policy(&[
            ("https", "api.example.com", Some(443)),
            ("http", "127.0.0.1", None),
        ]);
        assert!(check(&p, "https://api.example.com/v1"));
        assert!(check(&p, "https://API.example.com:443/"));
        assert!(!check(&p, "http://api.example.com/"));
        assert!(!check(&p, "https://api.example.com:8443/"));
        assert!(!check(&p, "https://evil.com/"));
        assert!(check(&p, "http://127.0.0.1:9999/"));
        assert!(!check(&p, "http://127.0.0.2:9999/"));
    }

    #[test]
    fn wildcards() {
        let p = policy(&[("*", "*.example.com", None)]);
        assert!(check(&p, "http://a.example.com:1/"));
        assert!(check(&p, "https://b.c.example.com/"));
        assert!(!check(&p, "https://example.com/"));
        assert!(!check(&p, "https://badexample.com/"));
        assert!(check(
            &policy(&[("https", "*", None)]),
            "https://anything.org:123/"
        ));
    }

    #[test]
    fn denial_names_the_destination() {
        assert_eq!(
            policy(&[]).check(&"http://10.0.0.1/x".parse().unwrap()),
            Err("http://10.0.0.1:80".into())
        );
    }
}
