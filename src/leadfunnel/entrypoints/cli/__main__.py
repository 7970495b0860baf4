"""``python -m leadfunnel.entrypoints.cli``: the same CLI as the ``leadfunnel`` script."""

from leadfunnel.entrypoints.cli.app import run

run()
