//! Where an AWS call goes: the deployer's endpoint override
//! (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, unless
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else the regional host of
//! the resource's partition, with the FIPS and dual-stack variants
//! (`AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`) chosen as the
//! AWS SDKs' endpoint rules for Secrets Manager choose them. Pure: every
//! input comes through the lookup.

use crate::error::Error;

/// An AWS partition and its host name suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub name: &'static str,
    pub dns_suffix: &'static str,
    /// `None` where the partition has no dual-stack endpoints.
    pub dual_stack_suffix: Option<&'static str>,
}

/// The partitions an ARN may name.
pub const PARTITIONS: &[Partition] = &[
    Partition {
        name: "aws",
        dns_suffix: "amazonaws.com",
        dual_stack_suffix: Some("api.aws"),
    },
    Partition {
        name: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
        dual_stack_suffix: Some("api.amazonwebservices.com.cn"),
    },
    Partition {
        name: "aws-us-gov",
        dns_suffix: "amazonaws.com",
        dual_stack_suffix: Some("api.aws"),
    },
    Partition {
        name: "aws-iso",
        dns_suffix: "c2s.ic.gov",
        dual_stack_suffix: None,
    },
    Partition {
        name: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
        dual_stack_suffix: None,
    },
    Partition {
        name: "aws-iso-e",
        dns_suffix: "cloud.adc-e.uk",
        dual_stack_suffix: None,
    },
    Partition {
        name: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
        dual_stack_suffix: None,
    },
];

/// The partition named by an ARN (`arn:PARTITION:...`); any other is an error.
pub fn partition_of(arn: &str) -> Result<&'static Partition, Error> {
    let name = arn.split(':').nth(1).unwrap_or_default();
    PARTITIONS.iter().find(|p| p.name == name).ok_or_else(|| {
        let known: Vec<&str> = PARTITIONS.iter().map(|p| p.name).collect();
        Error::config(
            "InvalidSecretArn",
            format!(
                "oauthSecretArn names the partition {name:?}, which is not an AWS partition (expected one of {})",
                known.join(", ")
            ),
        )
    })
}

/// The Secrets Manager base URL (no trailing slash) for a secret in
/// `region` of `partition`.
pub fn secrets_manager(
    partition: &Partition,
    region: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Error> {
    if !flag(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")? {
        for var in ["AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"] {
            if let Some(url) = env(var).filter(|v| !v.trim().is_empty()) {
                return override_url(var, url.trim());
            }
        }
    }
    let fips = flag(env, "AWS_USE_FIPS_ENDPOINT")?;
    let dual_stack = flag(env, "AWS_USE_DUALSTACK_ENDPOINT")?;
    let service = if fips {
        "secretsmanager-fips"
    } else {
        "secretsmanager"
    };
    // Secrets Manager's own rule: in these partitions the usual host name
    // already answers over IPv6, so dual-stack keeps it.
    let keeps_usual_name = matches!(
        (fips, partition.name),
        (_, "aws" | "aws-us-gov") | (false, "aws-cn")
    );
    let suffix = if !dual_stack || keeps_usual_name {
        partition.dns_suffix
    } else {
        partition.dual_stack_suffix.ok_or_else(|| {
            Error::config(
                "InvalidSetting",
                format!(
                    "AWS_USE_DUALSTACK_ENDPOINT=true, but the {} partition has no dual-stack endpoints",
                    partition.name
                ),
            )
        })?
    };
    Ok(format!("https://{service}.{region}.{suffix}"))
}

/// `true`/`false` (any case); unset or empty is false.
fn flag(env: &dyn Fn(&str) -> Option<String>, var: &str) -> Result<bool, Error> {
    match env(var).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Error::config(
            "InvalidSetting",
            format!("{var}={other:?} is invalid: expected true or false"),
        )),
    }
}

/// The deployer's endpoint: http or https, any host (a name, an IPv4
/// address or a bracketed IPv6 one), an optional port and path prefix; no
/// query, fragment or user info. Returned without a trailing slash.
pub fn override_url(var: &str, value: &str) -> Result<String, Error> {
    let bad = |why: &str| {
        Error::config(
            "InvalidUrl",
            format!("{var} {value:?} is not a usable endpoint URL: {why}"),
        )
    };
    let (scheme, rest) = value
        .split_once("://")
        .ok_or_else(|| bad("expected http:// or https:// and a host"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("a query or fragment is not allowed"));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(bad("user info is not allowed"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        host.parse::<std::net::Ipv6Addr>()
            .map_err(|_| bad("not an IPv6 address between [ ]"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("bad port"))?),
        };
        (format!("[{host}]"), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let valid = !host.is_empty()
            && !host.contains("..")
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
        if !valid {
            return Err(bad("no host, or characters a host name cannot have"));
        }
        (host.to_ascii_lowercase(), port)
    };
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad("the port is not a number from 1 to 65535"));
        }
    }
    let path = path.trim_end_matches('/');
    if path
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || !b.is_ascii())
    {
        return Err(bad("the path has characters a URL cannot have"));
    }
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{scheme}://{host}{port}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup as env;

    fn sm(arn_partition: &str, region: &str, pairs: &[(&str, &str)]) -> Result<String, Error> {
        let p = partition_of(&format!(
            "arn:{arn_partition}:secretsmanager:{region}:1:secret:x"
        ))?;
        secrets_manager(p, region, &env(pairs))
    }

    #[test]
    fn hosts_follow_the_partition() {
        for (partition, region, host) in [
            ("aws", "us-east-1", "secretsmanager.us-east-1.amazonaws.com"),
            (
                "aws-us-gov",
                "us-gov-west-1",
                "secretsmanager.us-gov-west-1.amazonaws.com",
            ),
            (
                "aws-cn",
                "cn-north-1",
                "secretsmanager.cn-north-1.amazonaws.com.cn",
            ),
            (
                "aws-iso",
                "us-iso-east-1",
                "secretsmanager.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "aws-iso-b",
                "us-isob-east-1",
                "secretsmanager.us-isob-east-1.sc2s.sgov.gov",
            ),
            (
                "aws-iso-e",
                "eu-isoe-west-1",
                "secretsmanager.eu-isoe-west-1.cloud.adc-e.uk",
            ),
            (
                "aws-iso-f",
                "us-isof-south-1",
                "secretsmanager.us-isof-south-1.csp.hci.ic.gov",
            ),
        ] {
            assert_eq!(
                sm(partition, region, &[]).unwrap(),
                format!("https://{host}")
            );
        }
        let e = sm("aws-moon", "moon-1", &[]).unwrap_err();
        assert_eq!(e.error_type(), "Config.InvalidSecretArn");
        assert!(e.message().contains("aws-moon"), "{e}");
    }

    #[test]
    fn fips_and_dual_stack_as_the_sdk_rules_choose() {
        let on = "true";
        let fips = [("AWS_USE_FIPS_ENDPOINT", on)];
        let ds = [("AWS_USE_DUALSTACK_ENDPOINT", "TRUE")];
        let both = [fips[0], ds[0]];
        for (partition, region, pairs, host) in [
            (
                "aws",
                "us-east-1",
                &fips[..],
                "secretsmanager-fips.us-east-1.amazonaws.com",
            ),
            (
                "aws",
                "us-east-1",
                &ds[..],
                "secretsmanager.us-east-1.amazonaws.com",
            ),
            (
                "aws",
                "us-east-1",
                &both[..],
                "secretsmanager-fips.us-east-1.amazonaws.com",
            ),
            (
                "aws-us-gov",
                "us-gov-east-1",
                &fips[..],
                "secretsmanager-fips.us-gov-east-1.amazonaws.com",
            ),
            (
                "aws-cn",
                "cn-north-1",
                &ds[..],
                "secretsmanager.cn-north-1.amazonaws.com.cn",
            ),
            (
                "aws-cn",
                "cn-north-1",
                &fips[..],
                "secretsmanager-fips.cn-north-1.amazonaws.com.cn",
            ),
            (
                "aws-cn",
                "cn-north-1",
                &both[..],
                "secretsmanager-fips.cn-north-1.api.amazonwebservices.com.cn",
            ),
            (
                "aws-iso",
                "us-iso-east-1",
                &fips[..],
                "secretsmanager-fips.us-iso-east-1.c2s.ic.gov",
            ),
        ] {
            assert_eq!(
                sm(partition, region, pairs).unwrap(),
                format!("https://{host}"),
                "{partition} {pairs:?}"
            );
        }
        let e = sm("aws-iso", "us-iso-east-1", &ds).unwrap_err();
        assert!(e.message().contains("dual-stack"), "{e}");
        let e = sm("aws", "us-east-1", &[("AWS_USE_FIPS_ENDPOINT", "yes")]).unwrap_err();
        assert!(e.message().contains("AWS_USE_FIPS_ENDPOINT"), "{e}");
    }

    #[test]
    fn overrides_are_the_deployers_choice_unless_ignored() {
        let over = |pairs: &[(&str, &str)]| sm("aws", "eu-west-1", pairs).unwrap();
        assert_eq!(
            over(&[("AWS_ENDPOINT_URL", "http://localstack:4566")]),
            "http://localstack:4566"
        );
        assert_eq!(
            over(&[
                ("AWS_ENDPOINT_URL", "http://localstack:4566"),
                (
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                    "https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com/"
                ),
            ]),
            "https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com"
        );
        assert_eq!(
            over(&[("AWS_ENDPOINT_URL", "http://[fd00::1]:8080/sm/prefix/")]),
            "http://[fd00::1]:8080/sm/prefix"
        );
        assert_eq!(
            over(&[
                ("AWS_ENDPOINT_URL", "http://localstack:4566"),
                ("AWS_USE_FIPS_ENDPOINT", "true"),
            ]),
            "http://localstack:4566",
            "an explicit endpoint wins over the FIPS flag"
        );
        assert_eq!(
            over(&[
                ("AWS_ENDPOINT_URL", "http://localstack:4566"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ]),
            "https://secretsmanager.eu-west-1.amazonaws.com"
        );
        for bad in [
            "localstack:4566",
            "ftp://h",
            "http://",
            "http://u:p@h",
            "http://h/?q",
            "http://h:0",
            "http://[zz]:1",
            "http://h/a b",
        ] {
            let e = sm("aws", "eu-west-1", &[("AWS_ENDPOINT_URL", bad)]).unwrap_err();
            assert_eq!(e.error_type(), "Config.InvalidUrl", "{bad}");
            assert!(e.message().contains("AWS_ENDPOINT_URL"), "{e}");
        }
    }
}
