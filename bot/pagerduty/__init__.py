"""The PagerDuty integration's service side: settings, the webhook route and the wiring."""
