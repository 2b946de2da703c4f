"""The Mailchimp connector: audiences, merge fields, tags, member events. See ``connector.py``."""
