"""The built-in rule packs: YAML data, installed as seller_health.builtin_rules."""
