//! Telling people an alert fired. The email: the rule's `alert` template (else the brand's,
//! else the global one, else the built-in English text) with the `${ALERT_…}` variables,
//! times in the rule owner's zone. The webhook: the event as the API shows it, `POST`ed
//! with `X-Callcsv-Signature: sha256=<HMAC-SHA256 of the body with the rule's secret>` and
//! `X-Callcsv-Event: <event id>`, only to public addresses (checked on the addresses the
//! host resolves to when sending, and the connection pinned to them) unless
//! `CALLCSV_WEBHOOK_ALLOW_PRIVATE`. Sending blocks: the runner calls it on a worker thread
//! and records the outcome on the event.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::alerts::{split_list, AlertEvent};
use crate::db::notification_templates::TemplateContent;
use crate::mail::compose::{self, Variables};
use crate::mail::Outgoing;

pub const DEFAULT_SUBJECT: &str = "Alert: ${ALERT_RULE} fired for ${ALERT_SUBJECT}";
pub const DEFAULT_BODY: &str = "The alert rule \"${ALERT_RULE}\" (${ALERT_KIND}) fired for ${ALERT_SUBJECT}.\n\nMeasured: ${ALERT_MEASURED}\nThreshold: ${ALERT_THRESHOLD}\nWindow: ${ALERT_WINDOW_FROM} to ${ALERT_WINDOW_TO}\nCalls: ${ALERT_CALLS}\n";

/// An event with the zone its times are shown in: the values of the `${ALERT_…}` variables.
pub struct AlertContext<'a> {
    pub event: &'a AlertEvent,
    pub zone: Tz,
}

impl AlertContext<'_> {
    fn local(&self, t: NaiveDateTime) -> String {
        t.and_utc()
            .with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

impl Variables for AlertContext<'_> {
    fn value(&self, name: &str) -> Option<String> {
        let e = self.event;
        Some(match name {
            "ALERT_RULE" => e.rule_name.clone(),
            "ALERT_KIND" => e.kind.clone(),
            "ALERT_SUBJECT" => match (&e.subject_type, &e.subject_id) {
                (Some(kind), Some(id)) => {
                    format!("{} ({kind})", e.subject_name.as_deref().unwrap_or(id))
                }
                _ => "every call the rule watches".into(),
            },
            "ALERT_MEASURED" => match &e.previous {
                Some(previous) => format!("{} (previous window: {previous})", e.measured),
                None => e.measured.clone(),
            },
            "ALERT_THRESHOLD" => e.threshold.clone(),
            "ALERT_WINDOW_FROM" => self.local(e.window_from),
            "ALERT_WINDOW_TO" => self.local(e.window_to),
            "ALERT_CALLS" => {
                let calls = split_list(&e.calls);
                if calls.is_empty() {
                    "none listed".into()
                } else {
                    calls.join(", ")
                }
            }
            _ => return None,
        })
    }
}

/// The email of an event to its recipients (`sent_to`), from the template's sender, else
/// the brand's address, else `default_from`.
pub fn email(
    event: &AlertEvent,
    zone: Tz,
    content: Option<&TemplateContent>,
    brand_email: Option<&str>,
    default_from: &str,
) -> Outgoing {
    let ctx = AlertContext { event, zone };
    let rendered = compose::render_with(content, (DEFAULT_SUBJECT, DEFAULT_BODY), &ctx);
    Outgoing {
        from: compose::sender(rendered.from, brand_email, default_from),
        to: split_list(&event.sent_to),
        subject: rendered.subject,
        body: rendered.body,
        html: None,
        // Fixed per event: a resend is recognisably the same message.
        message_id: format!("<alert-{}@callcsv>", event.id),
        attachment: None,
    }
}

/// How one attempt at a notification ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Worth retrying later (timeouts, refused connections, 5xx).
    Retry(String),
    /// Retrying cannot help (4xx, refused addresses, no webhook any more).
    Failed(String),
}

/// `sha256=<hex HMAC-SHA256 of body keyed with secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length: this never fails.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a webhook may not go to `ip` (unless private addresses are allowed): loopback,
/// private, link-local, or not a unicast address at all.
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => {
            let [first, second, ..] = a.octets();
            if a.is_loopback() {
                Some("loopback")
            } else if a.is_private() || (first == 100 && (64..128).contains(&second)) {
                Some("private")
            } else if a.is_link_local() {
                Some("link-local")
            } else if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || first == 0 {
                Some("not a unicast address")
            } else {
                None
            }
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return refused_address(IpAddr::V4(v4));
            }
            let first = a.segments()[0];
            if a.is_loopback() {
                Some("loopback")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if a.is_unspecified() || a.is_multicast() {
                Some("not a unicast address")
            } else {
                None
            }
        }
    }
}

/// A webhook's settings for one attempt.
pub struct Webhook<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub event_id: &'a str,
    pub allow_private: bool,
    pub timeout: Duration,
}

/// An error with its causes, for `webhookError`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Posts `body` (the event's JSON) to the webhook, once.
pub fn post(hook: &Webhook, body: &[u8]) -> Delivery {
    let url = match url::Url::parse(hook.url) {
        Ok(url) => url,
        Err(e) => return Delivery::Failed(format!("url: {e}")),
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let addrs: Vec<SocketAddr> = match url.socket_addrs(|| None) {
        Ok(addrs) if !addrs.is_empty() => addrs,
        Ok(_) => return Delivery::Retry(format!("{host}: no address")),
        Err(e) => return Delivery::Retry(format!("resolving {host}: {e}")),
    };
    if !hook.allow_private {
        if let Some((ip, why)) = addrs
            .iter()
            .find_map(|a| refused_address(a.ip()).map(|why| (a.ip(), why)))
        {
            return Delivery::Failed(format!(
                "{host} is {ip}, a {why} address: refused (CALLCSV_WEBHOOK_ALLOW_PRIVATE=true allows it)"
            ));
        }
    }
    // Connect to the addresses just checked, not to what a second lookup might say; never
    // follow a redirect elsewhere.
    let client = reqwest::blocking::Client::builder()
        .resolve_to_addrs(&host, &addrs)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(hook.timeout)
        .timeout(hook.timeout)
        .user_agent(concat!("callcsv/", env!("CARGO_PKG_VERSION")))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => return Delivery::Retry(format!("HTTP client: {}", chain(&e))),
    };
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Callcsv-Signature", signature(hook.secret, body))
        .header("X-Callcsv-Event", hook.event_id)
        .body(body.to_vec())
        .send();
    match sent {
        Err(e) => Delivery::Retry(format!("{host}: {}", chain(&e))),
        Ok(res) => {
            let status = res.status();
            let answer = format!("{host} answered HTTP {status}");
            if status.is_success() {
                Delivery::Sent
            } else if status.is_server_error() {
                Delivery::Retry(answer)
            } else if status.is_redirection() {
                Delivery::Failed(format!("{answer} (redirects are not followed)"))
            } else {
                Delivery::Failed(answer)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_addresses_are_refused() {
        for (addr, why) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "not a unicast address"),
            ("::1", "loopback"),
            ("fd00::1", "private"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
        ] {
            assert_eq!(refused_address(ip(addr)), Some(why), "{addr}");
        }
        for addr in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert_eq!(refused_address(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn signature_is_the_hmac_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn event() -> AlertEvent {
        let t = |s: &str| crate::fields::parse_time(s).unwrap();
        AlertEvent {
            id: "e1".into(),
            rule_id: "r1".into(),
            brand_id: "b1".into(),
            client_id: None,
            level: "brand".into(),
            rule_name: "Daily spend".into(),
            kind: "spend".into(),
            subject_type: Some("client".into()),
            subject_id: Some("c1".into()),
            subject_name: Some("Globex".into()),
            subject_key: "client:c1".into(),
            window_from: t("2026-10-24T22:00:00Z"),
            window_to: t("2026-10-25T23:00:00Z"),
            measured: "512.3000".into(),
            threshold: "500".into(),
            previous: None,
            fired_at: t("2026-10-25T12:00:00Z"),
            calls: "a,b".into(),
            sent_to: "noc@example.com,ops@example.com".into(),
            email_status: "pending".into(),
            email_attempts: 0,
            email_error: None,
            email_next_attempt: None,
            email_lease_until: None,
            webhook_status: "none".into(),
            webhook_attempts: 0,
            webhook_error: None,
            webhook_next_attempt: None,
            webhook_lease_until: None,
            created_at: t("2026-10-25T12:00:00Z"),
            updated_at: t("2026-10-25T12:00:00Z"),
        }
    }

    #[test]
    fn the_builtin_email_states_rule_value_threshold_and_window() {
        let zone: Tz = "Europe/Madrid".parse().unwrap();
        let mail = email(&event(), zone, None, None, "callcsv <no-reply@localhost>");
        assert_eq!(mail.subject, "Alert: Daily spend fired for Globex (client)");
        assert_eq!(
            mail.body,
            "The alert rule \"Daily spend\" (spend) fired for Globex (client).\n\n\
             Measured: 512.3000\nThreshold: 500\n\
             Window: 2026-10-25 00:00 CEST to 2026-10-26 00:00 CET\nCalls: a, b\n"
        );
        assert_eq!(mail.to, ["noc@example.com", "ops@example.com"]);
        assert_eq!(mail.message_id, "<alert-e1@callcsv>");
        assert!(mail.attachment.is_none());
        // A template's variables; a whole-scope event with a previous value.
        let mut e = event();
        e.subject_type = None;
        e.subject_id = None;
        e.previous = Some("400".into());
        e.calls = String::new();
        let content = TemplateContent {
            language: "en".into(),
            from_name: None,
            from_address: Some("alerts@acme.example".into()),
            subject: "[${ALERT_KIND}] ${ALERT_RULE}".into(),
            body: "${ALERT_SUBJECT}: ${ALERT_MEASURED} / ${ALERT_THRESHOLD}, ${ALERT_CALLS}".into(),
        };
        let mail = email(&e, zone, Some(&content), Some("b@acme.example"), "x@y");
        assert_eq!(mail.subject, "[spend] Daily spend");
        assert_eq!(
            mail.body,
            "every call the rule watches: 512.3000 (previous window: 400) / 500, none listed"
        );
        assert_eq!(mail.from, "alerts@acme.example");
    }
}
