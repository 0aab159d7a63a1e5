"""``python -m seller_health``: the ``seller-health`` command."""

from seller_health.app.cli import main

main(prog_name="seller-health")
