//! The delivery workers' second queue: alert events' emails and webhooks, recorded with the
//! event (by the evaluation pass, or by ingestion for destination and velocity rules) and
//! then claimed like report emails: the claim records the attempt before anything is sent,
//! the outcome is recorded after, and a sender that vanished leaves a lease that runs out.
//! Temporary failures are retried with the report emails' backoff, emails for
//! `CALLCSV_MAIL_RETRY_SECONDS`, webhooks for [`WEBHOOK_RETRY_HOURS`].

use chrono::Duration;

use super::claims::{self, Channel, Finished, ALERT_EMAIL, ALERT_WEBHOOK};
use super::{backoff_seconds, owner_of, Runner};
use crate::alerts::events::AlertEventView;
use crate::alerts::notify::{self, Delivery, Webhook};
use crate::db::alerts::{self as store, AlertEvent};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::fault;
use crate::mail::compose;

/// How long a webhook that times out, is refused or answers 5xx is retried.
pub const WEBHOOK_RETRY_HOURS: i64 = 24;

impl Runner {
    /// Claims and sends one due alert notification (an email first, else a webhook):
    /// `None` when none is due, else whether it was sent.
    pub(super) fn notify_next(&self) -> AppResult<Option<bool>> {
        for channel in [ALERT_EMAIL, ALERT_WEBHOOK] {
            let claimed = {
                let mut conn = self.pool.get()?;
                let now = db::clock(&mut conn)?;
                claims::claim_alert(&mut conn, channel, now, self.lease(now))?
            };
            let Some((id, attempt)) = claimed else {
                continue;
            };
            fault::hit("before_alert_send");
            let outcome = match self.deliver_alert(channel, &id) {
                Ok(outcome) => outcome,
                Err(e) => Delivery::Retry(format!("preparing it: {}", e.message)),
            };
            if outcome == Delivery::Sent {
                fault::hit("after_alert_send");
            }
            return self.record_alert(channel, &id, attempt, outcome).map(Some);
        }
        Ok(None)
    }

    fn deliver_alert(&self, channel: Channel, id: &str) -> AppResult<Delivery> {
        let mut conn = self.pool.get()?;
        let event = store::find_event(&mut conn, id)?.ok_or_else(AppError::not_found)?;
        let rule = store::find_rule(&mut conn, &event.rule_id)?;
        if channel == ALERT_EMAIL {
            let message = self.alert_email(&mut conn, &event, rule.as_ref())?;
            drop(conn);
            return Ok(match self.mailer.send(&message) {
                Ok(()) => Delivery::Sent,
                Err(e) if e.is_permanent() => Delivery::Failed(e.message().to_string()),
                Err(e) => Delivery::Retry(e.message().to_string()),
            });
        }
        drop(conn);
        let Some((url, secret)) = rule.and_then(|r| Some((r.webhook_url?, r.webhook_secret?)))
        else {
            return Ok(Delivery::Failed(
                "the rule was deleted or has no webhook any more".into(),
            ));
        };
        let body = serde_json::to_vec(&AlertEventView::from(event))
            .map_err(|e| AppError::internal(format!("event as JSON: {e}")))?;
        let hook = Webhook {
            url: &url,
            secret: &secret,
            event_id: id,
            allow_private: self.config.webhook_allow_private,
            timeout: std::time::Duration::from_secs(self.config.webhook_timeout_seconds),
        };
        Ok(notify::post(&hook, &body))
    }

    /// The email of `event`, in the language and zone of the rule's owner (its client for
    /// a client-level rule, else the brand).
    fn alert_email(
        &self,
        conn: &mut DbConnection,
        event: &AlertEvent,
        rule: Option<&store::AlertRule>,
    ) -> AppResult<crate::mail::Outgoing> {
        let client = (event.level == crate::alerts::rules::CLIENT_LEVEL)
            .then_some(event.client_id.as_deref())
            .flatten();
        let owner = owner_of(conn, &event.brand_id, client)?;
        let content = compose::choose_content(
            conn,
            rule.and_then(|r| r.notification_template_id.as_deref()),
            &event.brand_id,
            compose::ALERT,
            &owner.language,
        )?;
        Ok(notify::email(
            event,
            owner.timezone,
            content.as_ref(),
            owner.brand_email.as_deref(),
            &self.config.mail_from,
        ))
    }

    /// Records an attempt's outcome on the event: sent; pending again after the backoff
    /// while the channel's retry time lasts; else failed. Returns whether it was sent.
    fn record_alert(
        &self,
        channel: Channel,
        id: &str,
        attempt: i32,
        outcome: Delivery,
    ) -> AppResult<bool> {
        let mut conn = self.pool.get()?;
        let now = db::clock(&mut conn)?;
        let event = store::find_event(&mut conn, id)?.ok_or_else(AppError::not_found)?;
        let retry_for = if channel == ALERT_EMAIL {
            Duration::seconds(self.config.mail_retry_seconds)
        } else {
            Duration::hours(WEBHOOK_RETRY_HOURS)
        };
        let (status, error, next) = match &outcome {
            Delivery::Sent => ("sent", None, None),
            Delivery::Retry(e) if now < event.created_at + retry_for => {
                let wait = backoff_seconds(self.config.mail_backoff_seconds, attempt);
                (
                    "pending",
                    Some(e.clone()),
                    Some(now + Duration::seconds(wait)),
                )
            }
            Delivery::Retry(e) => (
                "failed",
                Some(format!("{e} (given up after {attempt} attempts)")),
                None,
            ),
            Delivery::Failed(e) => ("failed", Some(e.clone()), None),
        };
        let finished = Finished {
            status,
            error: error.as_deref(),
            next,
        };
        let mine = claims::finish_alert(&mut conn, channel, (id, attempt), &finished, now)?;
        if !mine {
            tracing::warn!(event = %id, channel = channel.name, attempt, "alert notification taken over by another runner; its outcome is not recorded");
            return Ok(false);
        }
        match &error {
            None => tracing::info!(event = %id, channel = channel.name, attempt, "alert notified"),
            Some(e) => {
                tracing::warn!(event = %id, channel = channel.name, attempt, status, error = %e, "alert not notified")
            }
        }
        Ok(outcome == Delivery::Sent)
    }
}
