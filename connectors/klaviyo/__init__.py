"""Klaviyo: pull profiles and consent, push loyalty properties, lists and events."""
