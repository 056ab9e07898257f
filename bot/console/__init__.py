"""The web console: incident cards rendered as HTML fragments for the console pages."""
