"""Jinja templates for reports, installed as seller_health.builtin_templates."""
